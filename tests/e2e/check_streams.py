#!/usr/bin/env python3
"""One message type per stream, read the way a stranger reads it (issue 10).

Every file the collector writes (`--output file:`/`json:` and
`--counters-output file:`/`json:`) is read back with goflow2's own message
definition (../shared/testdata/goflow2/flow.proto, compiled with protoc and
read with Debian's python3-protobuf): each message of a flow file must be a
goflow2 FlowMessage with a flow type (1..4) and no field goflow2 knows under
another wire type (only our own fields, numbered 1000 and up, are unknown to
it); each message of a counter file must decode as our CounterMessage and
must NOT pass for a flow, which also proves the flow check can fail.

Acceptance of issue 10, on pmacct-sfprobe-counters.pcap: the flow file holds
exactly the 1,245 flows, the counter file the one counter sample, and
`flowcat -f F` exits 0. Then every capture of testdata/pcap and a flowgen
sFlow capture go through the same checks, with and without a counters
output (without one, counter samples are dropped and counted).

  check_streams.py --collector C --flowcat F --flowgen G --source-root DIR
Exit 0 pass, 1 fail, 77 skip (testdata, protoc or python3-protobuf absent).
"""
import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile


def skip(msg):
    print("SKIP: " + msg)
    sys.exit(77)


def testdata_dir():
    d = os.environ.get("FC_TESTDATA") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "testdata")
    return os.path.abspath(d)


def import_protobuf():
    try:
        import google.protobuf  # noqa: F401
    except ImportError:
        # python3 may be another interpreter than Debian's (pyenv): use
        # Debian's python3-protobuf when it is installed.
        sys.path.append("/usr/lib/python3/dist-packages")
        try:
            import google.protobuf  # noqa: F401
        except ImportError:
            skip("python3-protobuf is not installed (apt-get install python3-protobuf)")


def compile_proto(proto_path, out_dir):
    if not shutil.which("protoc"):
        skip("protoc is not installed (apt-get install protobuf-compiler)")
    d, name = os.path.split(proto_path)
    sub = os.path.join(out_dir, os.path.basename(d) or "p")
    os.makedirs(sub, exist_ok=True)
    subprocess.run(["protoc", "-I" + d, "--python_out=" + sub, proto_path], check=True)
    sys.path.insert(0, sub)
    mod = __import__(name.replace(".proto", "_pb2"))
    sys.path.remove(sub)
    sys.modules.pop(name.replace(".proto", "_pb2"), None)
    return mod


def frames(data):
    """Splits a length-delimited stream; raises on a broken frame."""
    out, off = [], 0
    while off < len(data):
        n, shift = 0, 0
        while True:
            if off >= len(data) or shift > 63:
                raise ValueError("varint cut at offset %d" % off)
            b = data[off]
            off += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        if n > len(data) - off:
            raise ValueError("frame of %d bytes runs past the end" % n)
        out.append(data[off:off + n])
        off += n
    return out


class Checker:
    def __init__(self, g2, ours):
        self.g2 = g2
        self.ours = ours
        self.ok = True

    def fail(self, msg):
        print("FAIL: " + msg)
        self.ok = False

    def not_a_flow(self, raw):
        """Why raw is not a flow for a goflow2 reader, or None if it is."""
        m = self.g2.FlowMessage()
        try:
            m.ParseFromString(raw)
        except Exception as e:  # noqa: BLE001 - any refusal means "not a flow"
            return "goflow2's FlowMessage refuses it: %s" % e
        if m.type not in (1, 2, 3, 4):
            return "no flow type (type=%d)" % m.type
        low = sorted({u.field_number for u in m.UnknownFields() if u.field_number < 1000})
        if low:
            return "fields goflow2 numbers differently: %s" % low
        return None

    def flow_file(self, path, label):
        msgs = frames(open(path, "rb").read())
        for i, raw in enumerate(msgs):
            why = self.not_a_flow(raw)
            if why:
                self.fail("%s: message %d of %s is not a flow: %s" % (label, i, path, why))
                break
        return len(msgs)

    def counter_file(self, path, label):
        msgs = frames(open(path, "rb").read())
        for i, raw in enumerate(msgs):
            c = self.ours.CounterMessage()
            c.ParseFromString(raw)
            if not c.sampler_address or not c.record_formats:
                self.fail("%s: counter message %d has no agent or records" % (label, i))
            if self.not_a_flow(raw) is None:
                self.fail("%s: counter message %d would pass for a flow" % (label, i))
        return len(msgs)

    def json_file(self, path, want_flows, label):
        n = 0
        for line in open(path):
            if not line.strip():
                continue
            o = json.loads(line)
            n += 1
            if ("type" in o) != want_flows:
                self.fail("%s: %s holds a %s: %s" % (label, path,
                          "counter sample" if want_flows else "flow", line[:200]))
                break
        return n


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    return r.returncode, r.stdout, r.stderr


def metric(stderr, name, labels=""):
    m = re.search(r"^flowcollector_%s%s (\d+)$" % (re.escape(name), re.escape(labels)),
                  stderr, re.M)
    return int(m.group(1)) if m else None


def check_capture(a, ck, pcap, tmp, want_flows=None, want_counters=None):
    label = os.path.basename(pcap)
    F, C = os.path.join(tmp, "F"), os.path.join(tmp, "C")
    J, JC = os.path.join(tmp, "J.json"), os.path.join(tmp, "C.json")
    G = os.path.join(tmp, "G.json")
    rc, _, err = run([a.collector, "--log-level", "warn", "--pcap", pcap,
                      "--output", "file:" + F, "--output", "json:" + J,
                      "--counters-output", "file:" + C, "--counters-output", "json:" + JC])
    if rc != 0:
        ck.fail("%s: collector exited %d: %s" % (label, rc, err[-2000:]))
        return
    nf = ck.flow_file(F, label)
    nc = ck.counter_file(C, label)
    nj = ck.json_file(J, True, label)
    njc = ck.json_file(JC, False, label)
    pub_f = metric(err, "flows_published_total")
    pub_c = metric(err, "counters_published_total")
    print("%s: %d flows (json %d, published %s), %d counter samples (json %d, published %s)"
          % (label, nf, nj, pub_f, nc, njc, pub_c))
    if nf != nj or nf != (pub_f or 0):
        ck.fail("%s: flow counts differ between file, json and the counter" % label)
    if nc != njc or nc != (pub_c or 0):
        ck.fail("%s: counter sample counts differ between file, json and the counter" % label)
    if want_flows is not None and nf != want_flows:
        ck.fail("%s: %d flows, want %d" % (label, nf, want_flows))
    if want_counters is not None and nc != want_counters:
        ck.fail("%s: %d counter samples, want %d" % (label, nc, want_counters))
    rc, _, err2 = run([a.flowcat, "-q", "-f", F])
    if rc != 0:
        ck.fail("%s: flowcat -f F exited %d: %s" % (label, rc, err2))
    rc, _, err2 = run([a.flowcat, "-q", "--counters", "-f", C])
    if rc != 0:
        ck.fail("%s: flowcat --counters -f C exited %d: %s" % (label, rc, err2))
    if nc:
        # The rule holds in flowcat too: a counter stream read as flows fails.
        rc, _, _ = run([a.flowcat, "-q", "-f", C])
        if rc == 0:
            ck.fail("%s: flowcat read a counter stream as flows and exited 0" % label)

    # The goflow2 JSON style: flows only, one line per flow, goflow2's shape.
    rc, out, err = run([a.collector, "--log-level", "warn", "--pcap", pcap,
                        "--output", "json:" + G, "--json-style", "goflow2"])
    ng = ck.json_file(G, True, label + " (goflow2 style)") if rc == 0 else -1
    if ng != nf:
        ck.fail("%s: goflow2-style JSON has %d lines, want %d" % (label, ng, nf))
    # flowcat prints the flow file in that style exactly as the collector does.
    rc, out, _ = run([a.flowcat, "-q", "--json-style", "goflow2", "-f", F])
    if rc != 0 or out != open(G).read():
        ck.fail("%s: flowcat --json-style goflow2 differs from the collector's" % label)

    # No counters output: flows unchanged, counter samples dropped and counted.
    rc, _, err = run([a.collector, "--pcap", pcap, "--output", "file:" + F])
    if rc != 0 or ck.flow_file(F, label + " (no counters output)") != nf:
        ck.fail("%s: without --counters-output the flow file changed" % label)
    dropped = metric(err, "counters_dropped_total", '{reason="no_counters_output"}')
    if dropped != nc:
        ck.fail("%s: %s counter samples counted as dropped, want %d" % (label, dropped, nc))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--collector", required=True)
    ap.add_argument("--flowcat", required=True)
    ap.add_argument("--flowgen", required=True)
    ap.add_argument("--source-root", required=True)
    a = ap.parse_args()

    td = testdata_dir()
    g2_proto = os.path.join(td, "goflow2", "flow.proto")
    accept = os.path.join(td, "pcap", "pmacct-sfprobe-counters.pcap")
    if not os.path.exists(g2_proto) or not os.path.exists(accept):
        skip("goflow2/flow.proto or pcap/pmacct-sfprobe-counters.pcap not found under %s "
             "(../shared/testdata, see its MANIFEST.md)" % td)
    import_protobuf()
    with tempfile.TemporaryDirectory() as tmp:
        g2 = compile_proto(g2_proto, os.path.join(tmp, "g2"))
        ours = compile_proto(os.path.join(a.source_root, "proto", "counter.proto"),
                             os.path.join(tmp, "ours"))
        ck = Checker(g2, ours)

        # Acceptance of issue 10.
        check_capture(a, ck, accept, tmp, want_flows=1245, want_counters=1)

        # Both streams into one file would mix them again: refused.
        same = os.path.join(tmp, "same")
        rc, _, err = run([a.collector, "--pcap", accept, "--output", "file:" + same,
                          "--counters-output", "file:" + same])
        if rc == 0 or "same file" not in err:
            ck.fail("--output and --counters-output on one file were not refused")

        # Every other capture, and flowgen's sFlow (counter samples every
        # fourth datagram).
        pcaps = sorted(p for p in glob.glob(os.path.join(td, "pcap", "*.pcap")) +
                       glob.glob(os.path.join(td, "vendor", "*.pcap")) if p != accept)
        gen = os.path.join(tmp, "flowgen-sflow.pcap")
        r = subprocess.run([a.flowgen, "--proto", "sflow", "--count", "200", "--seed", "3",
                            "--pcap-out", gen], capture_output=True, text=True, timeout=60)
        m = re.search(r"counter_samples=(\d+)", r.stderr)
        if r.returncode != 0 or not m:
            ck.fail("flowgen failed: %s" % r.stderr)
        else:
            check_capture(a, ck, gen, tmp, want_flows=200, want_counters=int(m.group(1)))
        for p in pcaps:
            check_capture(a, ck, p, tmp)
    print("streams: %s" % ("ok" if ck.ok else "FAIL"))
    return 0 if ck.ok else 1


if __name__ == "__main__":
    sys.exit(main())
