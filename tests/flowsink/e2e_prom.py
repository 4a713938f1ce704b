#!/usr/bin/env python3
"""Acceptance of flowsink's HTTP listener and per-AS exporter, on real servers.

The test starts redis-server and the collector's mock Kafka on loopback
(harness.py), replays flowgen captures (IPFIX with sampling, NetFlow v5)
through `collector --networks F --geoip-asn-override`, so the flows carry
AS numbers and names, and writes the same flows to JSON. One flowsink
member runs with --asn 64500 --asn 64502 and --prometheus-listen
127.0.0.1:0. Then:

  - `curl /metrics | promtool check metrics` is clean;
  - every flow_receive_bytes_total / flow_transmit_bytes_total series
    equals the sum computed from the JSON (bytes_scaled, else bytes) for
    its labels source_as, source_as_name, destination_as,
    destination_as_name, hostname (exporter name, else sampler address),
    and no other series exists;
  - flowsink's own counters are there (records, lag per partition);
  - /healthz answers 200 "ok".
It also checks /sets/ipaddress (txt and json) against SMEMBERS/SCARD and
/ips/{ip} against the counter hashes and the JSON's sums. A second run with
--prometheus-max-series 2 checks the overflow series and its counter:
every byte still counted, in two series plus "other". A third runs the
exporter alone (no --redis) in its own group: the same sums.

Exit codes: 0 pass, 1 fail, 77 skip (redis-server or promtool missing).
"""
import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import fail  # noqa: E402

OURS = (64500, 64502)
NETWORKS = ('0.0.0.0/2,net-a,,,64500,Alpha Net\n64.0.0.0/2,net-b,,,64501,Beta-Net\n'
            '128.0.0.0/2,net-c,,,64502,Gamma "Net"\n192.0.0.0/2,net-d,,,64503,\n'
            '::/0,net-v6,,,64504,V6 Net\n')
LABELS = ("source_as", "source_as_name", "destination_as", "destination_as_name", "hostname")
SERIES = re.compile(r'^(flow_(?:receive|transmit)_bytes_total)\{(.*)\} (\d+)$')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def expected(flows):
    want = collections.Counter()
    for fl in flows:
        if not fl.get("src_addr") and not fl.get("dst_addr"):
            continue
        sa, da = fl.get("src_as", 0), fl.get("dst_as", 0)
        key = (str(sa), fl.get("src_as_name", ""), str(da), fl.get("dst_as_name", ""),
               fl.get("exporter_name") or fl.get("sampler_address", ""))
        b = fl.get("bytes_scaled") or fl.get("bytes", 0)
        if da in OURS:
            want[("flow_receive_bytes_total",) + key] += b
        if sa in OURS:
            want[("flow_transmit_bytes_total",) + key] += b
    return want


def parse(text):
    got = {}
    for line in text.splitlines():
        m = SERIES.match(line)
        if not m:
            continue
        labels = {k: v.replace('\\"', '"').replace("\\\\", "\\")
                  for k, v in LABEL.findall(m.group(2))}
        if tuple(sorted(labels)) != tuple(sorted(LABELS)):
            fail("series with labels %s, want exactly %s" % (sorted(labels), LABELS))
        key = (m.group(1),) + tuple(labels[k] for k in LABELS)
        if key in got:
            fail("series %s twice" % (key,))
        got[key] = int(m.group(3))
    return got


def get(port, path):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=10) as r:
        return r.status, r.read().decode()


def metric(text, name):
    m = re.search(r"^%s (\d+)$" % re.escape(name), text, re.M)
    return int(m.group(1)) if m else None


def run_member(s, args, brokers, name, group, extra, redis=True):
    rd = ["--redis", "127.0.0.1:%d" % s.redis_port] if redis else []
    fs = s.spawn([args.flowsink, "--brokers", brokers] + rd +
                 ["--group", group, "--prometheus-listen", "127.0.0.1:0"] +
                 sum([["--asn", str(a)] for a in OURS], []) + extra, name)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        m = re.search(r"http: listening on port (\d+)", open(fs.errpath).read())
        if m:
            return fs, int(m.group(1))
        if fs.poll() is not None:
            break
        time.sleep(0.05)
    fail("flowsink did not report its HTTP port:\n" + open(fs.errpath).read()[-3000:])
    return None, None


def wait_flows(port, fs, want, timeout=90):
    deadline = time.monotonic() + timeout
    got = None
    while time.monotonic() < deadline:
        if fs.poll() is not None:
            fail("flowsink exited %d:\n%s" % (fs.returncode, open(fs.errpath).read()[-3000:]))
        _, text = get(port, "/metrics")
        got = metric(text, "flowsink_prom_flows_total")
        if got is not None and got >= want:
            time.sleep(0.5)
            return get(port, "/metrics")[1]
        time.sleep(0.2)
    fail("exporter saw %s of %d flows within %d s" % (got, want, timeout))
    return None


def check_query(r, port, flows):
    """/sets/{key} (txt and json) against SMEMBERS, /ips/{ip} against the
    hashes and the JSON's sums."""
    members = set(r.cmd("SMEMBERS", "ipaddress"))
    scard = r.cmd("SCARD", "ipaddress")
    status, txt = get(port, "/sets/ipaddress?format=txt")
    lines = txt.splitlines()
    if status != 200 or len(lines) != scard or set(lines) != members:
        fail("/sets/ipaddress?format=txt: %d lines (SCARD %d), equal to SMEMBERS: %s" %
             (len(lines), scard, set(lines) == members))
    status, js = get(port, "/sets/ipaddress?format=json")
    doc = json.loads(js)
    if doc["key"] != "ipaddress" or doc["count"] != scard or set(doc["members"]) != members:
        fail("/sets/ipaddress?format=json: count %s, SCARD %d" % (doc.get("count"), scard))
    status, js = get(port, "/sets/no-such-key?format=txt")
    if status != 200 or js != "":
        fail("/sets of a missing key: %d %r" % (status, js))
    sums = collections.defaultdict(lambda: [0, 0, 0])
    for fl in flows:
        ips = {a for a in (fl.get("src_addr"), fl.get("dst_addr")) if a}
        for a in ips:
            c = sums[a]
            c[0] += fl.get("bytes_scaled") or fl.get("bytes", 0)
            c[1] += fl.get("packets_scaled") or fl.get("packets", 0)
            c[2] += 1
    sample = sorted(members)[:5] + [a for a in sorted(members) if ":" in a][:3]
    for ip in sample:
        status, js = get(port, "/ips/" + ip)
        doc = json.loads(js)
        cnt = [c for c in doc["counters"] if c["key"] == "cnt"]
        if (status != 200 or doc["ip"] != ip or doc["sets"] != ["ipaddress"] or len(cnt) != 1 or
                [cnt[0]["bytes"], cnt[0]["packets"], cnt[0]["flows"]] != sums[ip]):
            fail("/ips/%s = %s, want sets [ipaddress] and cnt %s" % (ip, js, sums[ip]))
    status, js = get(port, "/ips/192.0.2.250")
    if json.loads(js) != {"ip": "192.0.2.250", "sets": [], "counters": []}:
        fail("/ips of an unknown address: %s" % js)
    try:
        get(port, "/ips/not-an-ip")
        fail("/ips/not-an-ip answered 200")
    except urllib.error.HTTPError as e:
        if e.code != 400:
            fail("/ips/not-an-ip: %d, want 400" % e.code)
    print("/sets/ipaddress?format=txt: %d lines = SCARD ipaddress; json likewise; /ips/{ip} "
          "of %d addresses: sets and counters exact" % (scard, len(sample)), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--collector", required=True)
    ap.add_argument("--flowsink", required=True)
    ap.add_argument("--flowgen", required=True)
    ap.add_argument("--count", type=int, default=5000, help="flows per capture")
    args = ap.parse_args()
    promtool = shutil.which("promtool")
    if not promtool:
        harness.skip("promtool not found (apt-get install prometheus)")

    s = harness.Servers()
    try:
        r = s.start_redis()
        brokers = s.start_kafka(args.collector)
        nets = os.path.join(s.work, "networks.csv")
        open(nets, "w").write(NETWORKS)
        jsons = []
        for i, proto in enumerate(("ipfix", "nf5")):
            pcap = os.path.join(s.work, proto + ".pcap")
            g = subprocess.run([args.flowgen, "--proto", proto, "--count", str(args.count),
                                "--seed", str(21 + i), "--pcap-out", pcap],
                               capture_output=True, text=True, timeout=60)
            if g.returncode != 0:
                fail("flowgen: " + g.stderr)
            j = os.path.join(s.work, proto + ".json")
            s.feed(args.collector, pcap, j, ["--http-listen", "off", "--networks", nets,
                                             "--geoip-asn-override"])
            jsons.append(j)
        flows = [json.loads(line) for j in jsons for line in open(j) if line.strip()]
        n = sum(1 for f in flows if f.get("src_addr") or f.get("dst_addr"))
        if not any(f.get("src_as_name") for f in flows):
            fail("no flow carries an AS name: the networks file did not apply")
        want = expected(flows)

        fs, port = run_member(s, args, brokers, "flowsink", "prom",
                              ["--redis-set", "ipaddress", "--redis-counters", "cnt"])
        text = wait_flows(port, fs, n)
        chk = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                             text=True, timeout=60)
        if chk.returncode != 0 or chk.stdout.strip() or chk.stderr.strip():
            fail("promtool check metrics:\n%s%s" % (chk.stdout, chk.stderr))
        got = parse(text)
        if got != dict(want):
            diff = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
            fail("%d series differ, e.g. %s: got %s want %s" %
                 (len(diff), diff[0], got.get(diff[0]), want.get(diff[0])))
        rx = sum(v for k, v in got.items() if k[0] == "flow_receive_bytes_total")
        tx = sum(v for k, v in got.items() if k[0] == "flow_transmit_bytes_total")
        print("promtool clean; %d per-AS series equal the JSON's sums (receive %d bytes, "
              "transmit %d bytes over %d flows)" % (len(got), rx, tx, n), flush=True)
        for name in ("flowsink_records_total", "flowsink_batches_total"):
            if not metric(text, name):
                fail("/metrics has no %s > 0" % name)
        if not re.search(r'^flowsink_partition_lag\{partition="\d+"\} 0$', text, re.M):
            fail("/metrics has no flowsink_partition_lag{partition=...} 0 after the drain")
        status, body = get(port, "/healthz")
        if status != 200 or body.strip() != "ok":
            fail("/healthz: %d %r" % (status, body))
        check_query(r, port, flows)
        if harness.kill(fs) != 0:
            fail("flowsink exited %d on SIGTERM" % fs.returncode)

        # The cap: two series kept, the rest in "other", no byte lost.
        fs, port = run_member(s, args, brokers, "flowsink-capped", "prom-capped",
                              ["--prometheus-max-series", "2"])
        text = wait_flows(port, fs, n)
        got = parse(text)
        other = ("other",) * 5
        for name in ("flow_receive_bytes_total", "flow_transmit_bytes_total"):
            total = sum(v for k, v in want.items() if k[0] == name)
            gsum = sum(v for k, v in got.items() if k[0] == name)
            if gsum != total or (name,) + other not in got:
                fail("%s capped: sum %d (want %d), overflow series %s" %
                     (name, gsum, total, (name,) + other in got))
        keys = {k[1:] for k in got if k[1:] != other}
        over = metric(text, "flowsink_prom_overflow_flows_total")
        if len(keys) != 2 or not over:
            fail("capped: %d label sets kept (want 2), overflow flows %s" % (len(keys), over))
        print("capped at 2 series: sums unchanged, %d flows in the overflow series" % over,
              flush=True)
        harness.kill(fs)

        # The exporter alone (no Redis): same sums, /sets is not served.
        fs, port = run_member(s, args, brokers, "flowsink-alone", "prom-alone", [], redis=False)
        text = wait_flows(port, fs, n)
        if parse(text) != dict(want):
            fail("the exporter alone: series differ from the JSON's sums")
        try:
            get(port, "/sets/ipaddress")
            fail("/sets served without --redis")
        except urllib.error.HTTPError as e:
            if e.code != 404:
                fail("/sets without --redis: %d, want 404" % e.code)
        if harness.kill(fs) != 0:
            fail("the exporter alone exited %d on SIGTERM" % fs.returncode)
        print("the exporter alone (no --redis): the same sums", flush=True)
    finally:
        s.cleanup()
    print("PASS", flush=True)


if __name__ == "__main__":
    main()
