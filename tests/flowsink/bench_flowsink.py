#!/usr/bin/env python3
"""Benchmark: flows/s from the topic into Redis, next to the ceiling.

Starts redis-server (AOF, appendfsync everysec: Redis's default, the same
for both measurements) and the collector's mock Kafka on loopback, fills
the topic with --count IPFIX flows (collector --pcap of a flowgen capture;
the mock keeps ~5 MB per partition, so not many more than the default),
then runs flowsink with the default rule (both addresses into the set
`ipaddress`) over the whole topic and reads its own measure of active time
(first record consumed to last batch applied). The ceiling is
`redis-benchmark -t sadd -P 64` against the same server: SADD alone,
pipelined 64 deep. Prints both and the ratio (goal: at least 0.5).

Run with `meson test -C build --benchmark` or directly. Exit 77 (skip)
without redis-server or redis-benchmark.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import fail  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--collector", required=True)
    ap.add_argument("--flowsink", required=True)
    ap.add_argument("--flowgen", required=True)
    ap.add_argument("--count", type=int, default=100000)
    ap.add_argument("--extra", default="", help="more flowsink arguments")
    args = ap.parse_args()
    rb = shutil.which("redis-benchmark")
    if not rb:
        harness.skip("redis-benchmark not found (package redis-tools)")

    s = harness.Servers(prefix="fc-flowsink-bench-")
    try:
        r = s.start_redis(appendfsync="everysec")
        brokers = s.start_kafka(args.collector)
        pcap = os.path.join(s.work, "bench.pcap")
        g = subprocess.run([args.flowgen, "--proto", "ipfix", "--count", str(args.count),
                            "--pcap-out", pcap], capture_output=True, text=True, timeout=120)
        if g.returncode != 0:
            fail("flowgen: " + g.stderr)
        s.feed(args.collector, pcap, os.path.join(s.work, "flows.json"))

        fs = s.spawn([args.flowsink, "--prometheus-listen", "off", "--brokers", brokers, "--redis",
                      "127.0.0.1:%d" % s.redis_port, "--group", "bench"] + args.extra.split(),
                     "flowsink")
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            offs = r.hgetall("flowsink:offsets:bench:flows")
            if sum(int(v) + 1 for v in offs.values()) >= args.count:
                break
            if fs.poll() is not None:
                fail("flowsink exited: " + open(fs.errpath).read()[-2000:])
            time.sleep(0.2)
        else:
            fail("flowsink did not consume %d records within 300 s" % args.count)
        harness.kill(fs)
        c = {}
        for line in open(fs.errpath):
            m = re.match(r"^flowsink_([a-z_]+) ([0-9.]+)$", line.strip())
            if m:
                c[m.group(1)] = float(m.group(2))
        flows, ns = int(c.get("flows_total", 0)), c.get("active_seconds", 0) * 1e9
        if flows != args.count or ns <= 0:
            fail("flowsink counted %d flows in %d ns" % (flows, int(ns)))
        rate = flows / (ns / 1e9)
        scard = r.cmd("SCARD", "ipaddress")

        b = subprocess.run([rb, "-h", "127.0.0.1", "-p", str(s.redis_port), "-t", "sadd",
                            "-P", "64", "-n", "2000000", "-r", "10000000", "-q"],
                           capture_output=True, text=True, timeout=300)
        m = re.search(r"SADD: ([\d.]+) requests per second", b.stdout.replace("\r", "\n"))
        if not m:
            fail("redis-benchmark printed no SADD rate: " + b.stdout[-500:] + b.stderr)
        ceiling = float(m.group(1))
        print("flowsink: %d flows (%d distinct addresses) in %.3f s active: %.0f flows/s "
              "(%d batches, %d SADD members sent)" %
              (flows, scard, ns / 1e9, rate, c.get("batches_total", 0),
               c.get("redis_set_members_total", 0)), flush=True)
        print("redis-benchmark -t sadd -P 64: %.0f SADD/s (the ceiling)" % ceiling, flush=True)
        print("ratio flowsink flows/s / SADD/s = %.2f (goal >= 0.5)" % (rate / ceiling), flush=True)
    finally:
        s.cleanup()


if __name__ == "__main__":
    main()
