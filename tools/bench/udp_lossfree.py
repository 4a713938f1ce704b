#!/usr/bin/env python3
"""udp_lossfree: the highest UDP rate the collector takes without loss, with
and without a Prometheus-like scraper fetching /metrics every second.

For each mode, a bisection over the flow rate: one trial starts a collector
(--output file:/dev/null, --http-listen on a free loopback port), sends
rate x --seconds NetFlow v5 flows with tools/flowgen at the rate, waits for the
counters to settle, and calls the trial loss-free when
flows_decoded_total == flows sent and udp_kernel_drops_total == 0. In
"scrape" mode a thread GETs /metrics every --scrape-interval seconds while
flowgen runs. Modes alternate trial by trial so a busy machine affects both
alike. Prints the loss-free rate of each mode and their ratio.

With --cpu-rate R it measures instead the collector's own CPU time
(utime + stime of /proc/PID/stat, all threads) per flow decoded at the
fixed rate R, alternating --cpu-runs runs without and with scraping: on a
machine whose cores are shared with other work this isolates what scraping
costs the collector from what the neighbours cost it.

Loopback only; every collector is killed by PID in a finally block.
"""
import os
import argparse
import re
import socket
import subprocess
import threading
import time
import urllib.request


def free_port(kind):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def metric(text, name):
    return sum(int(m.group(2)) for m in re.finditer(
        r"^flowcollector_%s(\{[^}]*\})? (\d+)$" % name, text, re.M))


def get(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read().decode()


def cpu_seconds(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def trial(a, rate, scrape):
    udp = free_port(socket.SOCK_DGRAM)
    hp = free_port(socket.SOCK_STREAM)
    c = subprocess.Popen([a.collector, "--listen", "127.0.0.1:%d" % udp, "--http-listen",
                          "127.0.0.1:%d" % hp, "--output", "file:/dev/null",
                          "--log-level", "warn"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stop = threading.Event()
    scrapes = [0]

    def scraper():
        while not stop.wait(a.scrape_interval):
            try:
                get("http://127.0.0.1:%d/metrics" % hp)
                scrapes[0] += 1
            except OSError:
                pass

    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                get("http://127.0.0.1:%d/healthz" % hp)
                break
            except OSError:
                time.sleep(0.05)
        t = threading.Thread(target=scraper) if scrape else None
        cpu0 = cpu_seconds(c.pid)
        if t:
            t.start()
        r = subprocess.run([a.flowgen, "--proto", "nf5", "--to", "127.0.0.1:%d" % udp,
                            "--count", str(int(rate * a.seconds)), "--rate", str(rate)],
                           capture_output=True, text=True)
        sent = int(re.search(r"flows=(\d+)", r.stderr).group(1))
        stop.set()
        if t:
            t.join()
        decoded = drops = -1
        for _ in range(30):  # counters are published once a second
            time.sleep(0.2)
            text = get("http://127.0.0.1:%d/metrics" % hp)
            decoded = metric(text, "flows_decoded_total")
            drops = metric(text, "udp_kernel_drops_total")
            if decoded + drops * 30 >= sent:
                break
        a.last_cpu = cpu_seconds(c.pid) - cpu0
        return decoded == sent and drops == 0, decoded, drops, scrapes[0]
    finally:
        c.kill()
        c.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--collector", required=True)
    ap.add_argument("--flowgen", required=True)
    ap.add_argument("--seconds", type=float, default=4.0, help="sending time per trial")
    ap.add_argument("--low", type=int, default=50000)
    ap.add_argument("--high", type=int, default=2000000)
    ap.add_argument("--steps", type=int, default=7)
    ap.add_argument("--scrape-interval", type=float, default=1.0)
    ap.add_argument("--cpu-rate", type=int, default=0,
                    help="measure CPU per flow at this fixed rate instead")
    ap.add_argument("--cpu-runs", type=int, default=4)
    a = ap.parse_args()
    if a.cpu_rate:
        cpu = {False: [0.0, 0], True: [0.0, 0]}
        for _ in range(a.cpu_runs):
            for scrape in (False, True):
                ok, dec, drops, n = trial(a, a.cpu_rate, scrape)
                cpu[scrape][0] += a.last_cpu
                cpu[scrape][1] += dec
                print("%-9s rate=%d cpu=%.2f s decoded=%d drops=%d scrapes=%d"
                      % ("scrape" if scrape else "no-scrape", a.cpu_rate, a.last_cpu, dec,
                         drops, n), flush=True)
        ns = {k: 1e9 * v[0] / max(v[1], 1) for k, v in cpu.items()}
        print("collector CPU per flow at %d flows/s: without scraping %.0f ns, scraping "
              "/metrics every %.1f s %.0f ns (%+.1f %%)" % (a.cpu_rate, ns[False],
                                                          a.scrape_interval, ns[True],
                                                          100.0 * (ns[True] - ns[False]) /
                                                          ns[False]))
        return
    lo = {False: a.low, True: a.low}
    hi = {False: a.high, True: a.high}
    for _ in range(a.steps):
        for scrape in (False, True):
            rate = (lo[scrape] + hi[scrape]) // 2
            ok, dec, drops, n = trial(a, rate, scrape)
            print("%-9s rate=%7d flows/s  %s  decoded=%d kernel_drops=%d scrapes=%d"
                  % ("scrape" if scrape else "no-scrape", rate, "ok  " if ok else "LOSS",
                     dec, drops, n), flush=True)
            if ok:
                lo[scrape] = rate
            else:
                hi[scrape] = rate
    print("loss-free rate: without scraping %d flows/s, scraping /metrics every %.1f s %d "
          "flows/s (%+.1f %%)" % (lo[False], a.scrape_interval, lo[True],
                                  100.0 * (lo[True] - lo[False]) / lo[False]))


if __name__ == "__main__":
    main()
