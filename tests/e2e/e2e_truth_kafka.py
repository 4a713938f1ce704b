#!/usr/bin/env python3
"""End to end over Kafka with ground truth: a first collector provides the
embedded Kafka (and nothing else); a second one replays a capture from
../shared/testdata with `--pcap FILE --kafka-brokers` into it; flowcat reads
the flow topic and the counter topic back, and the truth checker of that
protocol (tests/integration/check_*.py) compares every flow and every sFlow
counter sample, value by value, with tshark's ground truth.

  e2e_truth_kafka.py --collector C --flowcat F CHECKER KIND NAME

Exit 0 pass, 1 fail, 77 skip (test data absent), with a visible SKIP line.
"""
import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

BANNER = re.compile(r"embedded Kafka \(in-memory, for trials\) at (\S+),")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--collector", required=True)
    ap.add_argument("--flowcat", required=True)
    ap.add_argument("checker")
    ap.add_argument("kind")
    ap.add_argument("name")
    a = ap.parse_args()

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "broker.log")
        with open(log, "w") as lf:
            broker = subprocess.Popen([a.collector, "--listen", "127.0.0.1:%d" % port,
                                       "--http-listen", "off"],
                                      stdout=subprocess.DEVNULL, stderr=lf)
        try:
            deadline = time.monotonic() + 20
            m = None
            while time.monotonic() < deadline and not m:
                time.sleep(0.1)
                m = BANNER.search(open(log).read())
                if broker.poll() is not None:
                    break
            if not m:
                print(open(log).read())
                print("FAIL: the embedded Kafka did not come up")
                return 1
            env = dict(os.environ, FC_TRUTH_VIA_KAFKA=m.group(1), FC_FLOWCAT=a.flowcat)
            print("embedded Kafka at %s; replaying %s %s into it" % (m.group(1), a.kind, a.name))
            r = subprocess.run([sys.executable, a.checker, a.collector, a.kind, a.name], env=env)
            return r.returncode
        finally:
            broker.send_signal(signal.SIGTERM)
            try:
                broker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                broker.kill()


if __name__ == "__main__":
    sys.exit(main())
