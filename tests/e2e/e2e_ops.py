#!/usr/bin/env python3
"""The collector as operators run it: HTTP endpoints, exit codes, signals.

One script, one case per meson test (--case NAME):

  prometheus  Debian's prometheus server (loopback, temp dir, random port)
              scrapes the collector; through Prometheus' HTTP API the target
              is up and sum(flowcollector_flows_decoded_total) equals the
              flows tools/flowgen sent; `promtool check metrics` prints
              nothing for the scraped text (embedded Kafka + a file output,
              so the output families are in it).
  healthz     /healthz is 200 while a collector publishes to a second
              collector's embedded Kafka, and 503 naming Kafka within 10 s
              of that second collector being killed, still 503 30 s later; a json:/dev/full output
              turns /healthz 503 too; /exporters lists the exporter.
  exitcodes   each bad case of issue 8: --config DIR, empty broker list,
              empty topic, a missing enrichment database -> exit 2 with one
              line; replay into a dead broker and json:/dev/full -> exit 3
              (output_messages_total 0 for /dev/full); a capture cut
              mid-packet and a replay stopped by SIGTERM -> exit 4.
  signals     the daemon as a process: SIGUSR1 prints the counters with the
              flows sent; SIGHUP reloads the networks file
              (enrich_reloads_total on /metrics goes up, the new label shows
              in the output); --template-file across a real restart (a
              second process decodes v9 data whose templates only the first
              one saw).
  tsan        --workers 3, flows to every worker, /metrics and /exporters
              scraped while they run, SIGUSR1, then SIGTERM: the flows add
              up, /exporters (joined from every worker) accounts for every
              datagram, /templates holds the v9 and IPFIX templates (meant
              for a -Db_sanitize=thread build, where any report fails).

Every server listens on 127.0.0.1 and is killed by PID in a finally block.
Exit codes: 0 pass, 1 fail, 77 skip (a needed program is missing).
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
import urllib.error
import urllib.parse
import urllib.request

PROCS = []


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def skip(msg):
    print("SKIP: " + msg, flush=True)
    sys.exit(77)


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def spawn(cmd, stderr_path, **kw):
    f = open(stderr_path, "wb")
    p = subprocess.Popen(cmd, stdout=kw.pop("stdout", subprocess.DEVNULL), stderr=f, **kw)
    PROCS.append(p)
    return p


def kill_all():
    for p in PROCS:
        if p.poll() is None:
            p.kill()
            p.wait()


def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def wait_line(path, pattern, proc, timeout=15):
    rx = re.compile(pattern)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = rx.search(read(path))
        if m:
            return m
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    fail("no %r from the collector; stderr:\n%s" % (pattern, read(path)[-3000:]))
    return None


def http_get(url, timeout=5):
    """(status, body) or (None, error text)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except (urllib.error.URLError, OSError) as e:
        return None, str(e)


def metric_sum(text, name):
    total = 0
    found = False
    for line in text.splitlines():
        m = re.match(r"^flowcollector_%s(\{[^}]*\})?\s+(\d+)\s*$" % re.escape(name), line)
        if m:
            total += int(m.group(2))
            found = True
    return total if found else None


def start_collector(a, tmp, name, extra, http=True):
    """Starts a live collector; returns (proc, http_port, udp_port, stderr path)."""
    udp = free_port(socket.SOCK_DGRAM)
    hp = free_port() if http else None
    cmd = [a.collector, "--listen", "127.0.0.1:%d" % udp,
           "--http-listen", ("127.0.0.1:%d" % hp) if http else "off"] + extra
    err = os.path.join(tmp, name + ".err")
    p = spawn(cmd, err)
    wait_line(err, r"listening on udp", p)
    if http:
        wait_line(err, r"http on port", p)
    return p, hp, udp, err


def flowgen(a, udp, count, proto="nf5", extra=()):
    r = subprocess.run([a.flowgen, "--proto", proto, "--to", "127.0.0.1:%d" % udp,
                        "--count", str(count), "--rate", "20000"] + list(extra),
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        fail("flowgen failed: " + r.stderr)
    m = re.search(r"flows=(\d+)", r.stderr)
    return int(m.group(1))


def wait_metric(hp, name, want, timeout=15):
    deadline = time.monotonic() + timeout
    got = None
    while time.monotonic() < deadline:
        st, body = http_get("http://127.0.0.1:%d/metrics" % hp)
        if st == 200:
            got = metric_sum(body, name)
            if got == want:
                return body
        time.sleep(0.2)
    fail("%s is %r on /metrics, expected %d" % (name, got, want))
    return None


def stop(p, timeout=30):
    p.send_signal(signal.SIGTERM)
    try:
        return p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        fail("collector did not stop within %d s of SIGTERM" % timeout)
    return None


# --- cases ---

def case_prometheus(a, tmp):
    prom = shutil.which("prometheus")
    promtool = shutil.which("promtool")
    if not prom or not promtool:
        skip("prometheus/promtool not installed (Debian package prometheus)")
    coll, hp, udp, _ = start_collector(a, tmp, "coll", ["--output", "kafka",
                                                         "--output", "json:/dev/null"])
    pport = free_port()
    conf = os.path.join(tmp, "prometheus.yml")
    with open(conf, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                "scrape_configs:\n  - job_name: collector\n    static_configs:\n"
                "      - targets: ['127.0.0.1:%d']\n" % hp)
    p = spawn([prom, "--config.file", conf, "--storage.tsdb.path", os.path.join(tmp, "tsdb"),
               "--web.listen-address", "127.0.0.1:%d" % pport], os.path.join(tmp, "prom.err"))
    sent = flowgen(a, udp, 3000) + flowgen(a, udp, 2000, "ipfix")
    scraped = wait_metric(hp, "flows_decoded_total", sent)
    # promtool reads the exposition from stdin and prints every problem.
    r = subprocess.run([promtool, "check", "metrics"], input=scraped, capture_output=True,
                       text=True, timeout=30)
    if r.returncode != 0 or r.stdout.strip() or r.stderr.strip():
        fail("promtool check metrics: rc=%d\n%s%s" % (r.returncode, r.stdout, r.stderr))
    api = "http://127.0.0.1:%d/api/v1/query?query=" % pport

    def query(q):
        st, body = http_get(api + urllib.parse.quote(q))
        if st != 200:
            return None
        m = re.search(r'"value":\[[0-9.]+,"([0-9.e+]+)"\]', body)
        return float(m.group(1)) if m else None

    deadline = time.monotonic() + 30
    up = total = None
    while time.monotonic() < deadline:
        if p.poll() is not None:
            fail("prometheus exited: " + read(os.path.join(tmp, "prom.err"))[-2000:])
        up = query('up{job="collector"}')
        total = query('sum(flowcollector_flows_decoded_total{job="collector"})')
        if up == 1 and total == sent:
            break
        time.sleep(0.5)
    if up != 1:
        fail("Prometheus says up=%r for the collector" % up)
    if total != sent:
        fail("Prometheus has flows_decoded_total=%r, flowgen sent %d" % (total, sent))
    print("ok: prometheus scraped up=1, flows=%d, promtool clean" % sent)
    rc = stop(coll)
    if rc != 0:
        fail("collector exit status %d after a clean run" % rc)


def wait_health(hp, want, timeout):
    deadline = time.monotonic() + timeout
    st = body = None
    while time.monotonic() < deadline:
        st, body = http_get("http://127.0.0.1:%d/healthz" % hp)
        if st == want:
            return body
        time.sleep(0.2)
    fail("/healthz is %r (%r), expected %d within %d s" % (st, body, want, timeout))
    return None


def case_healthz(a, tmp):
    broker, _, _, berr = start_collector(a, tmp, "broker", [], http=False)
    addr = wait_line(berr, r"embedded Kafka \(in-memory, for trials\) at (\S+),", broker).group(1)
    coll, hp, udp, _ = start_collector(a, tmp, "coll", ["--kafka-brokers", addr,
                                                         "--kafka-flush-ms", "1000"])
    sent = flowgen(a, udp, 600)
    wait_metric(hp, "kafka_delivered_total", sent)
    wait_health(hp, 200, 10)
    st, body = http_get("http://127.0.0.1:%d/exporters" % hp)
    if st != 200 or '"127.0.0.1"' not in body:
        fail("/exporters: %r %r" % (st, body))
    broker.kill()
    broker.wait()
    t0 = time.monotonic()
    body = wait_health(hp, 503, 10)
    if "kafka" not in body.lower() or body.count("\n") != 1:
        fail("/healthz 503 body is not one line naming Kafka: %r" % body)
    print("ok: /healthz 503 %.1f s after the broker died: %s" % (time.monotonic() - t0,
                                                                 body.strip()))
    # librdkafka reports "all brokers down" once and folds repeats: the
    # check must stay failing without new events and without traffic.
    time.sleep(30)
    st, body = http_get("http://127.0.0.1:%d/healthz" % hp)
    if st != 503:
        fail("/healthz went back to %r with the broker still dead: %r" % (st, body))
    print("ok: still 503 30 s later: %s" % body.strip())
    stop(coll)

    full, hp2, udp2, _ = start_collector(a, tmp, "full", ["--output", "json:/dev/full"])
    wait_health(hp2, 200, 10)
    flowgen(a, udp2, 300)
    body = wait_health(hp2, 503, 10)
    if "/dev/full" not in body:
        fail("/healthz 503 does not name the output: %r" % body)
    print("ok: /healthz 503 on a full disk: %s" % body.strip())
    rc = stop(full)
    if rc != 3:
        fail("json:/dev/full run exited %d, expected 3" % rc)


def run(cmd, timeout=60):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def case_exitcodes(a, tmp):
    c = a.collector
    pcap = os.path.join(tmp, "a.pcap")
    r = run([a.flowgen, "--proto", "nf5", "--count", "3000", "--pcap-out", pcap])
    if r.returncode != 0:
        fail("flowgen --pcap-out: " + r.stderr)
    checks = [
        ("--config DIR", [c, "--config", tmp], 2, r"not a regular file"),
        ("empty broker list", [c, "--kafka-brokers", ""], 2, r"--kafka-brokers is empty"),
        ("empty topic", [c, "--kafka-topic", ""], 2, r"--kafka-topic is empty"),
        ("missing database", [c, "--pcap", pcap, "--output", "file:/dev/null",
                              "--geoip-asn", os.path.join(tmp, "none.mmdb")], 2, r"none\.mmdb"),
        ("dead broker", [c, "--pcap", pcap, "--kafka-brokers", "127.0.0.1:1",
                         "--kafka-flush-ms", "500"], 3, r"3000 messages were not written"),
        ("/dev/full", [c, "--pcap", pcap, "--output", "json:/dev/full"], 3,
         r"write failed: No space left on device"),
    ]
    for name, cmd, want, rx in checks:
        r = run(cmd)
        if r.returncode != want or not re.search(rx, r.stderr):
            fail("%s: exit %d (want %d), stderr:\n%s" % (name, r.returncode, want,
                                                         r.stderr[-2000:]))
        if want == 2 and len(r.stderr.strip().splitlines()) != 1:
            fail("%s: expected one line, got:\n%s" % (name, r.stderr))
        if name == "/dev/full" and metric_sum(r.stderr, "output_messages_total") != 0:
            fail("/dev/full: output_messages_total counts messages never written")
        print("ok: %s -> exit %d" % (name, want))
    # A capture cut in the middle of a record.
    data = open(pcap, "rb").read()
    cut = os.path.join(tmp, "cut.pcap")
    with open(cut, "wb") as f:
        f.write(data[:len(data) // 2 + 7])
    r = run([c, "--pcap", cut, "--output", "file:/dev/null"])
    if r.returncode != 4 or "truncated" not in r.stderr:
        fail("truncated capture: exit %d, stderr:\n%s" % (r.returncode, r.stderr[-2000:]))
    if not metric_sum(r.stderr, "flows_decoded_total"):
        fail("truncated capture: nothing before the cut was decoded")
    print("ok: truncated capture -> exit 4")
    # A replay long enough to be interrupted: 30 x 200000 flows.
    big = os.path.join(tmp, "big.pcap")
    r = run([a.flowgen, "--proto", "nf5", "--count", "200000", "--pcap-out", big])
    cmd = [c, "--output", "file:/dev/null", "--log-level", "warn"]
    for _ in range(30):
        cmd += ["--pcap", big]
    p = spawn(cmd, os.path.join(tmp, "replay.err"))
    time.sleep(0.7)
    if p.poll() is not None:
        fail("the replay ended before it could be interrupted (exit %d):\n%s"
             % (p.returncode, read(os.path.join(tmp, "replay.err"))[-2000:]))
    rc = stop(p, timeout=10)
    if rc != 4 or "interrupted" not in read(os.path.join(tmp, "replay.err")):
        fail("replay stopped by SIGTERM exited %d, want 4" % rc)
    print("ok: replay stopped by SIGTERM -> exit 4")


def case_signals(a, tmp):
    nets = os.path.join(tmp, "nets.csv")
    with open(nets, "w") as f:
        f.write("10.0.0.0/8,before,internal,lab,64500,LAB\n")
    out = os.path.join(tmp, "out.json")
    coll, hp, udp, err = start_collector(a, tmp, "coll", [
        "--output", "json:" + out, "--networks", nets, "--reload-interval", "0"])
    sent = flowgen(a, udp, 900)
    wait_metric(hp, "flows_published_total", sent)
    coll.send_signal(signal.SIGUSR1)
    m = wait_line(err, r"# counters .*\n(?:.*\n)*?flowcollector_flows_published_total (\d+)", coll)
    if int(m.group(1)) != sent:
        fail("SIGUSR1 printed flows_published_total %s, sent %d" % (m.group(1), sent))
    print("ok: SIGUSR1 printed the counters")
    before = metric_sum(http_get("http://127.0.0.1:%d/metrics" % hp)[1], "enrich_reloads_total")
    with open(nets, "w") as f:
        f.write("0.0.0.0/0,after,internal,lab,64500,LAB\n")
    coll.send_signal(signal.SIGHUP)
    wait_metric(hp, "enrich_reloads_total", (before or 0) + 1)
    flowgen(a, udp, 30, extra=["--seed", "7"])
    wait_metric(hp, "flows_published_total", sent + 30)
    if stop(coll) != 0:
        fail("collector exit status not 0")
    if '"after"' not in read(out):
        fail("flows after SIGHUP do not carry the reloaded network name")
    print("ok: SIGHUP reloaded the networks file")

    # --template-file across a restart: the first process replays a v9
    # capture whose first datagram carries the templates and saves them at
    # exit; the second process replays the capture without that datagram.
    tf = os.path.join(tmp, "templates.bin")
    full = os.path.join(tmp, "nf9.pcap")
    r = run([a.flowgen, "--proto", "nf9", "--count", "2000", "--pcap-out", full,
             "--template-every", "1000000"])
    if r.returncode != 0:
        fail("flowgen: " + r.stderr)
    rest = os.path.join(tmp, "nf9-data-only.pcap")
    n_rest = drop_first_record(full, rest)
    base = [a.collector, "--output", "file:/dev/null", "--hold-seconds", "0"]
    r = run(base + ["--pcap", full, "--template-file", tf])
    if r.returncode != 0 or not os.path.exists(tf):
        fail("first run: exit %d, template file %s:\n%s"
             % (r.returncode, os.path.exists(tf), r.stderr[-2000:]))
    control = run(base + ["--pcap", rest])
    r = run(base + ["--pcap", rest, "--template-file", tf])
    got = metric_sum(r.stderr, "flows_decoded_total")
    if r.returncode != 0 or got != n_rest:
        fail("after restart: exit %d, %r flows decoded, want %d:\n%s"
             % (r.returncode, got, n_rest, r.stderr[-2000:]))
    if metric_sum(control.stderr, "flows_decoded_total") == n_rest:
        fail("control run without --template-file decoded the data: test proves nothing")
    print("ok: --template-file across a restart: %d flows decoded from data only" % got)


def drop_first_record(src, dst):
    """Copies a pcap without its first record; returns v9 flows left
    (flowgen: 20 per datagram)."""
    import struct
    data = open(src, "rb").read()
    magic = data[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    off = 24
    incl = struct.unpack(endian + "I", data[off + 8:off + 12])[0]
    nxt = off + 16 + incl
    records = 0
    p = nxt
    while p + 16 <= len(data):
        records += 1
        p += 16 + struct.unpack(endian + "I", data[p + 8:p + 12])[0]
    with open(dst, "wb") as f:
        f.write(data[:24] + data[nxt:])
    return records * 20


def case_tsan(a, tmp):
    coll, hp, udp, err = start_collector(a, tmp, "coll", ["--workers", "3",
                                                          "--output", "json:/dev/null"])
    total = 0
    for i in range(6):
        # Different source ports land on different SO_REUSEPORT sockets.
        total += flowgen(a, udp, 600, ["nf5", "nf9", "ipfix"][i % 3])
        http_get("http://127.0.0.1:%d/metrics" % hp)
        http_get("http://127.0.0.1:%d/exporters" % hp)
    coll.send_signal(signal.SIGUSR1)
    body = wait_metric(hp, "flows_decoded_total", total, timeout=30)
    workers = set(re.findall(r'udp_datagrams_total\{[^}]*worker="(\d+)"', body))
    # Each worker renders its own exporters and templates; the server joins
    # them into one array. Every datagram is accounted for, and the v9 and
    # IPFIX templates are there.
    st, text = http_get("http://127.0.0.1:%d/exporters" % hp)
    exporters = json.loads(text)
    got = sum(e["datagrams"] for e in exporters if e["address"] == "127.0.0.1")
    want = metric_sum(body, "udp_datagrams_total")
    if st != 200 or got != want:
        fail("/exporters: %r datagrams from 127.0.0.1, udp_datagrams_total %r: %s"
             % (got, want, text[:500]))
    st, text = http_get("http://127.0.0.1:%d/templates" % hp)
    protos = {t["protocol"] for t in json.loads(text)}
    if st != 200 or protos != {"nf9", "ipfix"}:
        fail("/templates: protocols %r: %s" % (protos, text[:500]))
    rc = stop(coll)
    text = read(err)
    if "ThreadSanitizer" in text or "AddressSanitizer" in text:
        fail("sanitizer report:\n" + text[-4000:])
    if rc != 0:
        fail("exit status %d" % rc)
    print("ok: 3 workers, %d flows, sockets of workers %s, no sanitizer report"
          % (total, sorted(workers)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--collector", required=True)
    ap.add_argument("--flowgen", required=True)
    ap.add_argument("--case", required=True,
                    choices=["prometheus", "healthz", "exitcodes", "signals", "tsan"])
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="fc-ops-")
    try:
        globals()["case_" + a.case](a, tmp)
    finally:
        kill_all()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
