#!/usr/bin/env python3
"""The UDP input as a process sees it (src/input/udp.c), over loopback.

Scenarios (--scenario):
  dualstack   `--listen [::]:P` receives IPv4 and IPv6 exporters; flows from
              127.0.0.1 carry sampler_address "127.0.0.1" (not ::ffff:…),
              flows from ::1 carry "::1".
  port-in-use a second collector on a port already held fails at once with
              exit 2 and one "address in use" error line: against a
              collector with one worker, one with three workers (whose own
              sockets share the port), and a plain socket of another
              program; with --reuseport on both sides the second one runs.
  workers     --workers 3 on one port: every datagram is received once
              (udp_datagrams_total summed over the workers = sent).
  kernel-drops a tiny --rcvbuf, the collector stopped (SIGSTOP) during a
              burst: udp_kernel_drops_total > 0 and, once one more datagram
              has carried the kernel's count, received + dropped = sent.
  rotation    three ports with small buffers: a flood on the first must not
              starve the other two (their paced datagrams all arrive, none
              dropped by the kernel).
  truncated   --max-datagram 512: 1464-byte NetFlow v5 datagrams are counted
              in drops_total{reason="udp_truncated"} and not decoded;
              504-byte ones are decoded.

Each collector is stopped with SIGTERM (killed in a finally on failure) and
its final counters are read from stderr. Exit codes: 0 pass, 1 fail,
77 skip (no IPv6 on loopback, for dualstack only).
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def counters(text):
    out = {}
    for line in text.splitlines():
        m = re.match(r"^flowcollector_([a-zA-Z0-9_]+)(\{[^}]*\})?\s+(\d+)\s*$", line)
        if m:
            out.setdefault(m.group(1), {})[m.group(2) or ""] = int(m.group(3))
    return out


def total(c, name):
    return sum(c.get(name, {}).values())


def free_port():
    """A port free for UDP on both 127.0.0.1 and [::] (binding [::] dual-stack
    checks both)."""
    for _ in range(50):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        try:
            t = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            t.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            t.bind(("::", port))
            t.close()
        except OSError:
            continue
        return port
    fail("no free UDP port")
    return 0


class Collector:
    def __init__(self, args, work, name, extra):
        self.err_path = os.path.join(work, name + ".err")
        self.cmd = [args.collector, "--http-listen", "off"] + extra
        with open(self.err_path, "w") as ferr:
            self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=ferr)

    def text(self):
        with open(self.err_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def wait_listening(self, n=1, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(re.findall(r"listening on udp", self.text())) >= n:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        fail("collector %s is not listening:\n%s" % (" ".join(self.cmd), self.text()[-2000:]))

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            fail("collector did not stop within 20 s of SIGTERM")
        return rc, counters(self.text())

    def kill(self):
        if self.proc.poll() is None:
            if self.proc.returncode is None:
                try:
                    os.kill(self.proc.pid, signal.SIGCONT)
                except OSError:
                    pass
            self.proc.kill()
            self.proc.wait()


def flowgen(args, to, count, extra=(), rate=0):
    r = subprocess.run([args.flowgen, "--proto", "nf5", "--count", str(count), "--rate", str(rate),
                        "--to", to] + list(extra), capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        fail("flowgen: %s" % r.stderr)
    m = re.search(r"datagrams=(\d+) flows=(\d+)", r.stderr)
    if not m:
        fail("flowgen printed no summary: %s" % r.stderr)
    return int(m.group(1)), int(m.group(2))


def scenario_dualstack(args, work, procs):
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.bind(("::1", 0))
        s.close()
    except OSError:
        print("SKIP: no IPv6 on loopback", flush=True)
        sys.exit(77)
    port = free_port()
    out = os.path.join(work, "flows.json")
    c = Collector(args, work, "dual", ["--listen", "[::]:%d" % port, "--output", "json:" + out])
    procs.append(c)
    c.wait_listening()
    flowgen(args, "127.0.0.1:%d" % port, 30)
    flowgen(args, "[::1]:%d" % port, 20)
    time.sleep(0.5)
    rc, cnt = c.stop()
    if rc != 0:
        fail("collector exited %d" % rc)
    seen = {}
    with open(out) as f:
        for line in f:
            if line.strip():
                a = json.loads(line).get("sampler_address")
                seen[a] = seen.get(a, 0) + 1
    print("flows by exporter address: %s" % seen, flush=True)
    if seen != {"127.0.0.1": 30, "::1": 20}:
        fail("want 30 flows from 127.0.0.1 and 20 from ::1 on [::]:%d, got %s" % (port, seen))


def second_must_fail(args, work, name, port, extra=()):
    t0 = time.monotonic()
    r = subprocess.run([args.collector, "--http-listen", "off", "--listen", "127.0.0.1:%d" % port, "--output",
                        "file:/dev/null"] + list(extra), capture_output=True, text=True, timeout=20)
    dt = time.monotonic() - t0
    errors = [l for l in r.stderr.splitlines() if l.strip()]
    print("%s: exit %d after %.2f s: %s" % (name, r.returncode, dt, " | ".join(errors)), flush=True)
    if r.returncode != 2:
        fail("%s: second collector exit %d, want 2" % (name, r.returncode))
    if len(errors) != 1 or "address in use" not in errors[0]:
        fail("%s: want one line saying 'address in use', got:\n%s" % (name, r.stderr[-2000:]))


def scenario_port_in_use(args, work, procs):
    # 1. against a one-worker collector
    port = free_port()
    a = Collector(args, work, "a1", ["--listen", "127.0.0.1:%d" % port, "--output", "file:/dev/null"])
    procs.append(a)
    a.wait_listening()
    second_must_fail(args, work, "vs one worker", port)
    second_must_fail(args, work, "vs one worker, asking to share", port, ["--reuseport"])
    a.stop()
    # 2. against a three-worker collector
    port = free_port()
    a = Collector(args, work, "a3", ["--listen", "127.0.0.1:%d" % port, "--output", "file:/dev/null",
                                     "--workers", "3"])
    procs.append(a)
    a.wait_listening(3)
    second_must_fail(args, work, "vs three workers", port)
    a.stop()
    # 3. against another program's socket
    port = free_port()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    try:
        second_must_fail(args, work, "vs a plain socket", port)
        second_must_fail(args, work, "vs a plain socket, three workers", port, ["--workers", "3"])
    finally:
        s.close()
    # 4. both sides ask to share: both run
    port = free_port()
    a = Collector(args, work, "s1", ["--listen", "127.0.0.1:%d" % port, "--output", "file:/dev/null",
                                     "--reuseport"])
    procs.append(a)
    a.wait_listening()
    b = Collector(args, work, "s2", ["--listen", "127.0.0.1:%d" % port, "--output", "file:/dev/null",
                                     "--reuseport"])
    procs.append(b)
    b.wait_listening()
    time.sleep(0.3)
    if b.proc.poll() is not None:
        fail("second collector with --reuseport exited %d" % b.proc.returncode)
    for c in (a, b):
        rc, _ = c.stop()
        if rc != 0:
            fail("sharing collector exited %d" % rc)
    print("both collectors with --reuseport share the port", flush=True)


def scenario_workers(args, work, procs):
    port = free_port()
    c = Collector(args, work, "w3", ["--listen", "127.0.0.1:%d" % port, "--output", "file:/dev/null",
                                     "--workers", "3"])
    procs.append(c)
    c.wait_listening(3)
    dgrams, flows = flowgen(args, "127.0.0.1:%d" % port, 30000, rate=100000)
    time.sleep(1.0)
    rc, cnt = c.stop()
    got = total(cnt, "udp_datagrams_total")
    decoded = total(cnt, "flows_decoded_total")
    drops = total(cnt, "udp_kernel_drops_total")
    print("3 workers: sent %d datagrams, received %d, decoded %d flows, kernel drops %d" %
          (dgrams, got, decoded, drops), flush=True)
    if rc != 0 or got != dgrams or decoded != flows or drops != 0:
        fail("want every datagram once (exit %d)" % rc)


def scenario_kernel_drops(args, work, procs):
    port = free_port()
    c = Collector(args, work, "kd", ["--listen", "127.0.0.1:%d" % port, "--output", "file:/dev/null",
                                     "--rcvbuf", "4096"])
    procs.append(c)
    c.wait_listening()
    os.kill(c.proc.pid, signal.SIGSTOP)
    try:
        d1, _ = flowgen(args, "127.0.0.1:%d" % port, 3000)  # 100 datagrams, nothing reads
    finally:
        os.kill(c.proc.pid, signal.SIGCONT)
    time.sleep(0.5)
    d2, _ = flowgen(args, "127.0.0.1:%d" % port, 30)  # carries the kernel's drop count
    time.sleep(0.5)
    rc, cnt = c.stop()
    got = total(cnt, "udp_datagrams_total")
    drops = total(cnt, "udp_kernel_drops_total")
    print("--rcvbuf 4096, burst while stopped: sent %d, received %d, kernel drops %d" %
          (d1 + d2, got, drops), flush=True)
    if rc != 0:
        fail("collector exited %d" % rc)
    if drops == 0:
        fail("udp_kernel_drops_total is 0 after a burst into a 4 KiB buffer")
    if got + drops != d1 + d2:
        fail("received %d + dropped %d != sent %d" % (got, drops, d1 + d2))


def scenario_rotation(args, work, procs):
    ports = [free_port() for _ in range(3)]
    extra = []
    for p in ports:
        extra += ["--listen", "127.0.0.1:%d" % p]
    c = Collector(args, work, "rot", extra + ["--output", "file:/dev/null", "--rcvbuf", "65536"])
    procs.append(c)
    c.wait_listening(3)
    flood = subprocess.Popen([args.flowgen, "--proto", "nf5", "--count", "3000000", "--rate", "0",
                              "--to", "127.0.0.1:%d" % ports[0]],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.3)
        # 100 datagrams to each of the other two ports over one second,
        # while the flood runs.
        light = [subprocess.Popen([args.flowgen, "--proto", "nf5", "--count", "3000", "--rate",
                                   "3000", "--to", "127.0.0.1:%d" % p, "--seed", str(p)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                 for p in ports[1:]]
        for p in light:
            _, err = p.communicate(timeout=60)
            if p.returncode != 0:
                fail("flowgen: %s" % err)
        still_flooding = flood.poll() is None
    finally:
        if flood.poll() is None:
            flood.kill()
        flood.wait()
    time.sleep(0.5)
    rc, cnt = c.stop()
    recv = cnt.get("udp_datagrams_total", {})
    drops = cnt.get("udp_kernel_drops_total", {})
    def of(c, p):
        """The port's series, whatever other labels (worker) they carry."""
        want = 'listen="127.0.0.1:%d"' % p
        return sum(v for lab, v in c.items() if want in lab)

    for p in ports:
        print("port %d: received %d, kernel drops %d" % (p, of(recv, p), of(drops, p)),
              flush=True)
    if not still_flooding:
        print("note: the flood ended before the light senders did", flush=True)
    for p in ports[1:]:
        if of(recv, p) != 100 or of(drops, p) != 0:
            fail("port %d starved beside a flood: received %d of 100, %d dropped" %
                 (p, of(recv, p), of(drops, p)))
    if rc != 0:
        fail("collector exited %d" % rc)


def scenario_truncated(args, work, procs):
    port = free_port()
    c = Collector(args, work, "tr", ["--listen", "127.0.0.1:%d" % port, "--output", "file:/dev/null",
                                     "--max-datagram", "512"])
    procs.append(c)
    c.wait_listening()
    big, _ = flowgen(args, "127.0.0.1:%d" % port, 3000, ["--flows-per-datagram", "30"], rate=30000)
    small, small_flows = flowgen(args, "127.0.0.1:%d" % port, 1000, ["--flows-per-datagram", "10"],
                                 rate=30000)
    time.sleep(0.5)
    rc, cnt = c.stop()
    trunc = cnt.get("drops_total", {}).get('{reason="udp_truncated"}', 0)
    decoded = total(cnt, "flows_decoded_total")
    print("--max-datagram 512: %d datagrams of 1464 bytes, %d of 504; truncated %d, flows decoded %d"
          % (big, small, trunc, decoded), flush=True)
    if rc != 0 or trunc != big or decoded != small_flows:
        fail("want %d truncated and %d flows decoded" % (big, small_flows))


SCENARIOS = {"dualstack": scenario_dualstack, "port-in-use": scenario_port_in_use,
             "workers": scenario_workers, "kernel-drops": scenario_kernel_drops,
             "rotation": scenario_rotation, "truncated": scenario_truncated}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--collector", required=True)
    ap.add_argument("--flowgen", required=True)
    ap.add_argument("--scenario", choices=sorted(SCENARIOS), required=True)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="fc-udp-")
    procs = []
    try:
        SCENARIOS[args.scenario](args, work, procs)
    finally:
        for c in procs:
            c.kill()
        shutil.rmtree(work, ignore_errors=True)
    print("PASS", flush=True)


if __name__ == "__main__":
    main()
