#!/usr/bin/env python3
"""End to end: flowgen -> UDP -> collector -> embedded Kafka -> kcat and flowcat.

Starts `collector --listen 127.0.0.1:PORT --kafka-topic T` on its embedded
in-memory Kafka (address parsed from its start-up line), starts kcat and
flowcat reading the topic from the beginning, sends flows with flowgen at a
rate, then checks:
  - kcat read exactly as many records as flows sent (one message per
    record; skipped with --msgs-per-record > 1, where records != flows),
  - flowcat printed exactly the flows flowgen says it sent, field by field
    (order-independent; time_received_ns, sequence_num, sampler_address and
    the collector's derived fields are ignored),
  - `flowcat -e` and `kcat -e` stop at the end of the topic,
  - on SIGTERM the collector's final counters agree: datagrams received =
    sent, flows decoded = published = Kafka delivered = sent, every drop,
    loss and failure counter 0.

Consumers read while the flows are sent because the embedded cluster keeps
only the newest ~5 MB per partition (see src/output/kafka.c).

Exit codes: 0 pass, 1 fail, 77 skip (kcat missing), with a visible SKIP line.
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

IGNORED = {"time_received_ns", "sequence_num", "sampler_address"}
# Fields the collector derives that flowgen does not predict.
DERIVED = {"bytes_scaled", "packets_scaled"}
BANNER = re.compile(r"embedded Kafka \(in-memory, for trials\) at (\S+), topic (\S+)")


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(path, pattern, timeout, proc):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(path, encoding="utf-8", errors="replace") as f:
            m = pattern.search(f.read())
        if m:
            return m
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    with open(path, encoding="utf-8", errors="replace") as f:
        fail("collector did not print %r; stderr:\n%s" % (pattern.pattern, f.read()[-3000:]))
    return None


def counters(text):
    """Prometheus text -> {name: {labels: value}}."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^flowcollector_([a-zA-Z0-9_]+)(\{[^}]*\})?\s+(\d+)\s*$", line)
        if m:
            out.setdefault(m.group(1), {})[m.group(2) or ""] = int(m.group(3))
    return out


def total(c, name):
    return sum(c.get(name, {}).values())


def canon(flow):
    return json.dumps({k: v for k, v in flow.items() if k not in IGNORED and k not in DERIVED},
                      sort_keys=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--collector", required=True)
    ap.add_argument("--flowgen", required=True)
    ap.add_argument("--flowcat", required=True)
    ap.add_argument("--proto", default="nf5")
    ap.add_argument("--count", type=int, default=200000)
    ap.add_argument("--rate", type=int, default=100000)
    ap.add_argument("--msgs-per-record", type=int, default=1)
    args = ap.parse_args()

    kcat = shutil.which("kcat") or shutil.which("kafkacat")
    if not kcat:
        print("SKIP: kcat not found (apt-get install kcat)", flush=True)
        sys.exit(77)

    work = tempfile.mkdtemp(prefix="fc-e2e-")
    port = free_udp_port()
    topic = "e2e-flows"
    n = args.count
    coll_err = os.path.join(work, "collector.err")
    procs = []

    def cleanup():
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()

    try:
        cmd = [args.collector, "--listen", "127.0.0.1:%d" % port, "--http-listen", "off",
               "--kafka-topic", topic,
               "--kafka-msgs-per-record", str(args.msgs_per_record)]
        with open(coll_err, "w") as ferr:
            coll = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=ferr)
        procs.append(coll)
        addr = wait_for(coll_err, BANNER, 10, coll).group(1)
        wait_for(coll_err, re.compile(r"listening on udp 127\.0\.0\.1:%d" % port), 10, coll)
        print("collector: embedded Kafka at %s, UDP 127.0.0.1:%d" % (addr, port), flush=True)

        kcat_out = os.path.join(work, "kcat.out")
        flowcat_out = os.path.join(work, "recv.jsonl")
        kcat_cmd = [kcat, "-b", addr, "-C", "-t", topic, "-o", "beginning", "-q",
                    "-f", "%p %o %S\\n", "-X", "fetch.wait.max.ms=20"]
        if args.msgs_per_record == 1:
            kcat_cmd += ["-c", str(n)]
        with open(kcat_out, "w") as f:
            kc = subprocess.Popen(kcat_cmd, stdout=f, stderr=subprocess.DEVNULL)
        procs.append(kc)
        with open(flowcat_out, "w") as f:
            fcat = subprocess.Popen([args.flowcat, "-b", addr, "-t", topic, "-c", str(n),
                                     "-X", "fetch.wait.max.ms=20"],
                                    stdout=f, stderr=subprocess.PIPE, text=True)
        procs.append(fcat)
        time.sleep(1.0)  # both consumers connected and at the start of the topic

        sent = os.path.join(work, "sent.jsonl")
        t0 = time.monotonic()
        fg = subprocess.run([args.flowgen, "--proto", args.proto, "--count", str(n),
                             "--rate", str(args.rate), "--to", "127.0.0.1:%d" % port,
                             "--json", sent], capture_output=True, text=True, timeout=60)
        if fg.returncode != 0:
            fail("flowgen exited %d: %s" % (fg.returncode, fg.stderr))
        print(fg.stderr.strip(), flush=True)
        m = re.search(r"datagrams=(\d+) flows=(\d+)", fg.stderr)
        if not m or int(m.group(2)) != n:
            fail("flowgen did not report %d flows: %s" % (n, fg.stderr))
        sent_datagrams = int(m.group(1))

        try:
            _, fcat_err = fcat.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            fcat.kill()
            _, fcat_err = fcat.communicate()
            fail("flowcat did not receive %d flows in 30 s: %s" % (n, fcat_err.strip()))
        print(fcat_err.strip(), flush=True)
        print("received %d flows in %.1f s" % (n, time.monotonic() - t0), flush=True)
        if args.msgs_per_record == 1:
            try:
                kc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                kc.kill()
        else:
            kc.kill()
        kc.wait()

        # flowcat: every flow sent, field by field.
        with open(sent) as f:
            want = sorted(canon(json.loads(line)) for line in f if line.strip())
        with open(flowcat_out) as f:
            got = sorted(canon(json.loads(line)) for line in f if line.strip())
        if len(want) != n:
            fail("sent.jsonl holds %d flows, flowgen said %d" % (len(want), n))
        if want != got:
            missing = sorted(set(want) - set(got))[:3]
            extra = sorted(set(got) - set(want))[:3]
            fail("flowcat output differs from sent (%d vs %d lines)\nmissing: %s\nextra: %s" %
                 (len(got), len(want), "\n".join(missing), "\n".join(extra)))
        print("flowcat: %d flows identical to sent.jsonl" % n, flush=True)

        # kcat: one record per flow.
        with open(kcat_out) as f:
            recs = [line for line in f if line.strip()]
        if args.msgs_per_record == 1:
            if len(recs) != n:
                fail("kcat read %d records, %d flows were sent" % (len(recs), n))
            print("kcat: %d records" % len(recs), flush=True)

        # -e: both stop at the end of the topic (last 100 records of each
        # partition; one exporter key, so one partition holds them all).
        tail = min(100, len(recs)) if args.msgs_per_record == 1 else 5
        r = subprocess.run([args.flowcat, "-b", addr, "-t", topic, "-o", "-%d" % tail, "-e", "-q"],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0 or not r.stdout.strip():
            fail("flowcat -e: exit %d, %d lines: %s" % (r.returncode, len(r.stdout.splitlines()),
                                                        r.stderr))
        if args.msgs_per_record == 1 and len(r.stdout.splitlines()) != tail:
            fail("flowcat -e -o -%d printed %d lines" % (tail, len(r.stdout.splitlines())))
        r = subprocess.run([kcat, "-b", addr, "-C", "-t", topic, "-o", "-%d" % tail, "-e", "-q",
                            "-f", "%o\\n"], capture_output=True, text=True, timeout=30)
        if r.returncode != 0 or len(r.stdout.splitlines()) != tail:
            fail("kcat -e: exit %d, %d lines" % (r.returncode, len(r.stdout.splitlines())))
        print("flowcat -e and kcat -e stop at the end of the topic", flush=True)

        # Final counters on SIGTERM.
        coll.send_signal(signal.SIGTERM)
        try:
            rc = coll.wait(timeout=20)
        except subprocess.TimeoutExpired:
            fail("collector did not exit within 20 s of SIGTERM")
        with open(coll_err) as f:
            c = counters(f.read())
        if rc != 0:
            fail("collector exited %d" % rc)
        checks = [
            ("udp_datagrams_total", sent_datagrams),
            ("flows_decoded_total", n),
            ("flows_published_total", n),
            ("kafka_produced_total", n),
            ("kafka_delivered_total", n),
        ]
        zero = [name for name in c if re.search(r"drop|lost|failed|errors", name)]
        bad = ["%s = %d, want %d" % (k, total(c, k), v) for k, v in checks if total(c, k) != v]
        bad += ["%s = %d, want 0" % (k, total(c, k)) for k in zero if total(c, k) != 0]
        if bad:
            fail("collector counters disagree:\n  " + "\n  ".join(bad))
        print("collector counters agree: %d datagrams, %d flows decoded, published, delivered; "
              "%d drop/loss/error counters all 0" % (sent_datagrams, n, len(zero)), flush=True)
    finally:
        cleanup()
    shutil.rmtree(work, ignore_errors=True)
    print("PASS", flush=True)


if __name__ == "__main__":
    main()
