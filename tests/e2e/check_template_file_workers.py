#!/usr/bin/env python3
"""--template-file with several workers, across a real restart (issue 9).

Run 1: `collector --workers 2 --template-file PATH` on loopback. Sixteen
IPFIX exporters (one UDP socket each, so SO_REUSEPORT spreads them over the
workers) send their template, then data. On SIGTERM each worker saves its
own file, PATH.w0 and PATH.w1.

Between the runs a temporary file of a "killed save" (4 KiB of random bytes,
PATH.w0.tmp-XXXXXX) is planted.

Run 2: `collector --workers 3` on the same PATH: the kernel hashes the same
exporters over three workers now, so most land on a worker other than the
one that learned their template. They send data only, no template. Every
flow must be decoded at once (every worker loaded every file), nothing held
for a missing template, the planted temporary removed (and logged), and the
third worker's file PATH.w2 saved at exit.

Run 3: 4 KiB of random bytes over PATH.w0: refused whole, logged, moved
aside as PATH.w0.bad-<time> byte for byte, and a fresh PATH.w0 saved.

Checked through the JSON output (one line per flow) and the final counters
the collector prints on exit. Loopback only; every process is stopped by
PID, also on failure. Exit 0 pass, 1 fail.
"""
import argparse
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

EXPORTERS = 16
RECORDS = 50  # flows per data message
MESSAGES = 4  # data messages per exporter and run


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# Template 256: sourceIPv4Address, destinationIPv4Address, sourceTransportPort,
# destinationTransportPort, protocolIdentifier, octetDeltaCount(4), packetDeltaCount(4)
FIELDS = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (1, 4), (2, 4)]


def ipfix(seq, sets):
    body = b"".join(sets)
    return struct.pack(">HHIII", 10, 16 + len(body), int(time.time()), seq, 1) + body


def template_msg():
    rec = struct.pack(">HH", 256, len(FIELDS)) + b"".join(struct.pack(">HH", i, n) for i, n in FIELDS)
    return ipfix(0, [struct.pack(">HH", 2, 4 + len(rec)) + rec])


def data_msg(exporter, seq, first):
    recs = b"".join(struct.pack(">IIHHBII", 0x0a000000 | exporter, 0x0a0000fe, first + i, 443,
                                6, 1000 + i, 1) for i in range(RECORDS))
    return ipfix(seq, [struct.pack(">HH", 256, 4 + len(recs)) + recs])


def counters(text):
    out = {}
    for line in text.splitlines():
        m = re.match(r"^flowcollector_([a-zA-Z0-9_]+)(\{[^}]*\})?\s+(\d+)\s*$", line)
        if m:
            out.setdefault(m.group(1), {})[m.group(2) or ""] = int(m.group(3))
    return out


def total(c, name, labels=None):
    v = c.get(name, {})
    return v.get(labels, 0) if labels is not None else sum(v.values())


def count_lines(path):
    try:
        with open(path, encoding="utf-8") as f:
            return sum(1 for line in f if line.strip())
    except FileNotFoundError:
        return 0


class Collector:
    def __init__(self, binary, tmp, name, port, workers, path):
        self.out = os.path.join(tmp, name + ".json")
        self.err_path = os.path.join(tmp, name + ".stderr")
        self.err = open(self.err_path, "w")
        self.proc = subprocess.Popen(
            [binary, "--listen", "127.0.0.1:%d" % port, "--http-listen", "off",
             "--workers", str(workers),
             "--template-file", path, "--output", "json:" + self.out, "--log-level", "info"],
            stdout=subprocess.DEVNULL, stderr=self.err)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.stderr().count("listening on udp") >= workers:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        fail("%s: collector did not start: %s" % (name, self.stderr()[-2000:]))

    def stderr(self):
        with open(self.err_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def wait_flows(self, want, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and count_lines(self.out) < want:
            time.sleep(0.05)
        return count_lines(self.out)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.err.close()
        return self.proc.returncode


def send_all(socks, port, with_template, seq0):
    for i, s in enumerate(socks):
        if with_template:
            s.sendto(template_msg(), ("127.0.0.1", port))
    time.sleep(0.2)  # templates first: nothing is held in run 1 either
    for m in range(MESSAGES):
        for i, s in enumerate(socks):
            s.sendto(data_msg(i + 1, seq0 + m * RECORDS, 1000 + m * RECORDS), ("127.0.0.1", port))
        time.sleep(0.01)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--collector", required=True)
    a = ap.parse_args()
    want = EXPORTERS * MESSAGES * RECORDS
    socks = []
    running = []
    try:
        with tempfile.TemporaryDirectory(prefix="fc_tmplworkers_") as tmp:
            path = os.path.join(tmp, "templates")
            for _ in range(EXPORTERS):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.bind(("127.0.0.1", 0))  # one source port per exporter, kept for both runs
                socks.append(s)

            port = free_udp_port()
            c1 = Collector(a.collector, tmp, "run1", port, 2, path)
            running.append(c1)
            send_all(socks, port, True, 0)
            got = c1.wait_flows(want, 20)
            rc = c1.stop()
            running.remove(c1)
            k1 = counters(c1.stderr())
            print("run 1 (--workers 2): exit %s, %d flows, files %s" % (
                rc, got, sorted(f for f in os.listdir(tmp) if f.startswith("templates"))))
            if rc != 0:
                fail("run 1 exited %s: %s" % (rc, c1.stderr()[-2000:]))
            if got != want:
                fail("run 1 decoded %d flows, want %d" % (got, want))
            for w in ("w0", "w1"):
                f = path + "." + w
                if not os.path.exists(f) or os.path.getsize(f) <= 21:
                    fail("%s missing or without a session (both workers had exporters)" % f)
            if os.path.exists(path):
                fail("a single PATH was written with two workers")
            if total(k1, "template_file_saves_total") != 2:
                fail("template_file_saves_total %d, want 2" % total(k1, "template_file_saves_total"))

            stale = path + ".w0.tmp-Zq8xW1"
            with open(stale, "wb") as f:
                f.write(os.urandom(4096))

            port = free_udp_port()
            c2 = Collector(a.collector, tmp, "run2", port, 3, path)
            running.append(c2)
            send_all(socks, port, False, MESSAGES * RECORDS)
            got = c2.wait_flows(want, 20)
            rc = c2.stop()
            running.remove(c2)
            err = c2.stderr()
            k2 = counters(err)
            held = total(k2, "data_sets_held_total")
            loads = total(k2, "template_file_loads_total")
            print("run 2 (--workers 3, data only): exit %s, %d flows, %d data sets held, "
                  "%d file loads, %d stale removed" % (
                      rc, got, held, loads, total(k2, "template_file_stale_removed_total")))
            if rc != 0:
                fail("run 2 exited %s: %s" % (rc, err[-2000:]))
            if got != want or held != 0:
                fail("run 2 decoded %d flows (want %d), %d data sets waited for a template"
                     % (got, want, held))
            # every worker loaded both files of run 1
            if loads != 3 * 2:
                fail("template_file_loads_total %d, want 6 (3 workers x 2 files)" % loads)
            if os.path.exists(stale) or "left by a save that was killed" not in err:
                fail("the stale temporary file was not removed and logged")
            for w in ("w0", "w1", "w2"):
                if not os.path.exists(path + "." + w):
                    fail("%s.%s not saved at exit" % (path, w))
            per = {}
            with open(c2.out, encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        src = json.loads(line).get("src_addr")
                        per[src] = per.get(src, 0) + 1
            want_per = {"10.0.0.%d" % (i + 1): MESSAGES * RECORDS for i in range(EXPORTERS)}
            if per != want_per:
                fail("run 2 flows per exporter %r, want %d each" % (per, MESSAGES * RECORDS))

            # Run 3: a damaged file (4 KiB of random bytes over PATH.w0) is
            # refused whole, logged, moved aside intact, never overwritten.
            junk = os.urandom(4096)
            with open(path + ".w0", "wb") as f:
                f.write(junk)
            port = free_udp_port()
            c3 = Collector(a.collector, tmp, "run3", port, 3, path)
            running.append(c3)
            rc = c3.stop()
            running.remove(c3)
            err = c3.stderr()
            k3 = counters(err)
            aside = [f for f in os.listdir(tmp) if f.startswith("templates.w0.bad-")]
            print("run 3 (damaged PATH.w0): exit %s, refused %d, moved to %s" % (
                rc, total(k3, "template_file_refused_total"), aside))
            if rc != 0 or total(k3, "template_file_refused_total") != 1 or len(aside) != 1:
                fail("the damaged file was not refused once and moved aside")
            with open(os.path.join(tmp, aside[0]), "rb") as f:
                if f.read() != junk:
                    fail("the file moved aside is not the damaged file, byte for byte")
            if "refused whole" not in err:
                fail("no log line for the refused file")
            if os.path.getsize(path + ".w0") == 4096:
                fail("PATH.w0 was not saved afresh")
            print("PASS")
    finally:
        for c in running:
            c.stop()
        for s in socks:
            s.close()


if __name__ == "__main__":
    main()
