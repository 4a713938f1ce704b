#!/usr/bin/env python3
"""A Kafka client that is not librdkafka reads the collector's default output.

Starts `collector` on its defaults (embedded Kafka on loopback, no
compression, exporter keys) listening on one loopback UDP port, sends it
NetFlow v5 and sFlow flows with flowgen, and consumes the flow topic with
kafkajs (tests/e2e/kafkajs, installed by tools/bootstrap.sh with `npm ci`):
every record must decode as length-delimited FlowMessages, and the number of
flows kafkajs counts must equal what the collector published. The collector
is stopped by its PID, also on failure.

  e2e_kafkajs.py --collector C --flowgen G [--node node] [--count N]
                 [--compression CODEC]
Exit 0 pass, 1 fail, 77 skip (node or kafkajs not installed).
"""
import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
JSDIR = os.path.join(HERE, "kafkajs")


def skip(msg):
    print("SKIP: " + msg)
    sys.exit(77)


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--collector", required=True)
    ap.add_argument("--flowgen", required=True)
    ap.add_argument("--node", default=shutil.which("node"))
    ap.add_argument("--count", type=int, default=3000)
    ap.add_argument("--compression", help="--kafka-compression for the collector "
                    "(default: the collector's default, none)")
    a = ap.parse_args()

    if not a.node:
        skip("node is not installed")
    if not os.path.isdir(os.path.join(JSDIR, "node_modules", "kafkajs")):
        skip("kafkajs is not installed: npm ci --prefix tests/e2e/kafkajs (tools/bootstrap.sh)")

    port = free_udp_port()
    log = tempfile.TemporaryFile(mode="w+")
    # No HTTP server: several of these run at once.
    cmd = [a.collector, "--listen", "127.0.0.1:%d" % port, "--http-listen", "off"]
    if a.compression:
        cmd += ["--kafka-compression", a.compression]
    proc = subprocess.Popen(cmd,
                            stdout=subprocess.DEVNULL, stderr=log)
    ok = False
    try:
        broker = None
        for _ in range(100):
            log.seek(0)
            m = re.search(r"embedded Kafka .* at ([0-9.:]+),", log.read())
            if m:
                broker = m.group(1)
                break
            if proc.poll() is not None:
                break
            time.sleep(0.1)
        if not broker:
            log.seek(0)
            print(log.read()[-2000:])
            print("FAIL: the collector did not announce its embedded Kafka")
            return 1
        sent = 0
        for proto in ("nf5", "sflow"):
            r = subprocess.run([a.flowgen, "--proto", proto, "--count", str(a.count),
                                "--rate", "20000", "--to", "127.0.0.1:%d" % port],
                               capture_output=True, text=True, timeout=60)
            m = re.search(r"flows=(\d+)", r.stderr)
            if r.returncode != 0 or not m:
                print("FAIL: flowgen: %s" % r.stderr)
                return 1
            sent += int(m.group(1))
        r = subprocess.run([a.node, os.path.join(JSDIR, "consume.js"), broker, "flows",
                            str(sent), "60000"], capture_output=True, text=True, timeout=120,
                           cwd=JSDIR)
        print(r.stdout.strip())
        if r.stderr.strip():
            print(r.stderr.strip()[-2000:])
        ok = r.returncode == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    log.seek(0)
    err = log.read()
    m = re.search(r"^flowcollector_flows_published_total (\d+)$", err, re.M)
    published = int(m.group(1)) if m else -1
    m = re.search(r"kafkajs: \d+ records, (\d+) flows", r.stdout)
    got = int(m.group(1)) if m else -1
    print("sent %d flows; collector published %d; kafkajs counted %d" % (sent, published, got))
    if published != sent:
        print("FAIL: the collector did not publish every flow it was sent (UDP loss on loopback?)")
        ok = False
    if got != published:
        print("FAIL: kafkajs did not count every published flow")
        ok = False
    print("kafkajs: %s" % ("ok" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
