#!/usr/bin/env python3
"""Prompt shutdown: SIGTERM while Kafka cannot be reached.

Scenario "replay": `collector --pcap` replays 200000 flows (written by
flowgen) into a broker that refuses connections (127.0.0.1:1), with a
1000-message producer queue so the replay soon waits for room in it. One
second later the collector gets SIGTERM. It must exit within a generous
5 s bound (the design bound is 2 s: the receive loop notices within
100 ms, the exit flush gives up after 1 s without a delivery report; the
actual time is printed, not asserted tightly), exit non-zero (the
replay was interrupted and messages were not delivered), and count what
it could not deliver: kafka_flush_lost_total (in the queue at exit) plus
kafka_stop_drops_total (refused while stopping) must be > 0, and every
message handed to the producer is either delivered (0 here) or lost.

Scenario "live": a listening collector whose broker is dead gets 20000
flows, then SIGTERM: exit within the same 5 s bound (printed), every
message handed to the producer counted as lost at exit
(kafka_flush_lost_total = kafka_produced_total). Before the fix the exit
flush waited the whole --kafka-flush-ms (10 s) for a broker that was
never coming.

Before the fix the replay looped on the full queue without looking at
the stop flag and ignored SIGTERM for message.timeout.ms (300 s).

Exit codes: 0 pass, 1 fail.
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


def stop_and_time(proc, bound):
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout=bound)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        fail("collector still running %.0f s after SIGTERM" % bound)
    return rc, time.monotonic() - t0


def scenario_replay(args, work):
    pcap = os.path.join(work, "flows.pcap")
    fg = subprocess.run([args.flowgen, "--proto", "nf5", "--count", "200000", "--pcap-out", pcap],
                        capture_output=True, text=True, timeout=60)
    if fg.returncode != 0:
        fail("flowgen: %s" % fg.stderr)
    err_path = os.path.join(work, "collector.err")
    with open(err_path, "w") as ferr:
        coll = subprocess.Popen([args.collector, "--pcap", pcap, "--kafka-brokers", "127.0.0.1:1",
                                 "-X", "queue.buffering.max.messages=1000"],
                                stdout=subprocess.DEVNULL, stderr=ferr)
    try:
        time.sleep(1.0)
        if coll.poll() is not None:
            fail("collector ended before SIGTERM (exit %d)" % coll.returncode)
        rc, dt = stop_and_time(coll, 5.0)
    finally:
        if coll.poll() is None:
            coll.kill()
            coll.wait()
    with open(err_path) as f:
        text = f.read()
    print("SIGTERM during a replay to a dead broker: exit %d after %.2f s" % (rc, dt), flush=True)
    c = counters(text)
    lost, stopped = total(c, "kafka_flush_lost_total"), total(c, "kafka_stop_drops_total")
    produced, delivered = total(c, "kafka_produced_total"), total(c, "kafka_delivered_total")
    print("produced %d, delivered %d, lost at exit %d, refused while stopping %d" %
          (produced, delivered, lost, stopped), flush=True)
    if rc == 0 or rc < 0:
        fail("exit status %d, want a non-zero exit (replay interrupted, messages lost)" % rc)
    if lost + stopped == 0:
        fail("nothing counted as undelivered")
    if delivered + lost != produced:
        fail("produced %d != delivered %d + lost %d" % (produced, delivered, lost))
    if "replay interrupted" not in text:
        fail("no log line says the replay was interrupted")


def scenario_live(args, work):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    err_path = os.path.join(work, "collector.err")
    with open(err_path, "w") as ferr:
        coll = subprocess.Popen([args.collector, "--http-listen", "off", "--listen", "127.0.0.1:%d" % port,
                                 "--kafka-brokers", "127.0.0.1:1"],
                                stdout=subprocess.DEVNULL, stderr=ferr)
    try:
        deadline = time.monotonic() + 10
        while True:
            with open(err_path) as f:
                if "listening on udp" in f.read():
                    break
            if time.monotonic() > deadline or coll.poll() is not None:
                fail("collector did not start")
            time.sleep(0.05)
        fg = subprocess.run([args.flowgen, "--proto", "nf5", "--count", "20000", "--rate", "0",
                             "--to", "127.0.0.1:%d" % port], capture_output=True, text=True,
                            timeout=60)
        if fg.returncode != 0:
            fail("flowgen: %s" % fg.stderr)
        time.sleep(0.5)
        rc, dt = stop_and_time(coll, 5.0)
    finally:
        if coll.poll() is None:
            coll.kill()
            coll.wait()
    with open(err_path) as f:
        c = counters(f.read())
    produced, lost = total(c, "kafka_produced_total"), total(c, "kafka_flush_lost_total")
    print("SIGTERM while the broker is unreachable: exit %d after %.2f s; produced %d, lost at "
          "exit %d" % (rc, dt, produced, lost), flush=True)
    if produced == 0 or lost != produced:
        fail("want every produced message counted as lost at exit")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--collector", required=True)
    ap.add_argument("--flowgen", required=True)
    ap.add_argument("--scenario", choices=["replay", "live"], default="replay")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="fc-shutdown-")
    try:
        {"replay": scenario_replay, "live": scenario_live}[args.scenario](args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("PASS", flush=True)


if __name__ == "__main__":
    main()
