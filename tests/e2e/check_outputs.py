#!/usr/bin/env python3
"""Several outputs at once, and the output and encode drop counters (issue 14
item 7, the outputs part). Needs no testdata: flowgen writes the captures.

1. One replay into two file outputs, two JSON outputs (one per style) and
   two counters outputs: each flow output holds every published flow
   (the two files byte-identical, the two JSON files the same flows), each
   counters output every counter sample, the counters agree.
2. A flow output that cannot be written (/dev/full): every flow it loses,
   including those stdio had buffered, is counted in
   output_errors_total{output="file"} (none in output_messages_total), the
   writes refused at once also in drops_total{reason="output"},
   and the other output of the same run still receives every flow.
3. Labels as long as the networks and exporter-names files allow (a 4 KiB
   line for each): ~12 KiB of text per flow must still encode;
   drops_total{reason="encode"} stays 0 and every flow is published.

  check_outputs.py --collector C --flowgen G
Exit 0 pass, 1 fail.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

OK = True


def fail(msg):
    global OK
    print("FAIL: " + msg)
    OK = False


def metric(stderr, name, labels=""):
    m = re.search(r"^flowcollector_%s%s (\d+)$" % (re.escape(name), re.escape(labels)),
                  stderr, re.M)
    return int(m.group(1)) if m else None


def frames(path):
    data, n, off = open(path, "rb").read(), 0, 0
    while off < len(data):
        ln, shift = 0, 0
        while True:
            b = data[off]
            off += 1
            ln |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        off += ln
        n += 1
    if off != len(data):
        fail("%s: the last frame runs past the end" % path)
    return n


def lines(path):
    return [json.loads(x) for x in open(path) if x.strip()]


def collector(a, *args):
    r = subprocess.run([a.collector] + list(args), capture_output=True, text=True, timeout=120)
    return r.returncode, r.stderr


def gen(a, tmp, proto, count):
    path = os.path.join(tmp, proto + ".pcap")
    r = subprocess.run([a.flowgen, "--proto", proto, "--count", str(count), "--seed", "5",
                        "--pcap-out", path], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise SystemExit("flowgen failed: " + r.stderr)
    m = re.search(r"counter_samples=(\d+)", r.stderr)
    return path, int(m.group(1)) if m else 0


def several_outputs(a, tmp):
    pcap, want_c = gen(a, tmp, "sflow", 400)
    p = {k: os.path.join(tmp, k) for k in ("F1", "F2", "J1", "J2", "C1", "C2")}
    rc, err = collector(a, "--pcap", pcap, "--output", "file:" + p["F1"],
                        "--output", "file:" + p["F2"], "--output", "json:" + p["J1"],
                        "--output", "json:" + p["J2"], "--counters-output", "file:" + p["C1"],
                        "--counters-output", "json:" + p["C2"])
    if rc != 0:
        fail("collector with six outputs exited %d: %s" % (rc, err[-1000:]))
        return
    published = metric(err, "flows_published_total")
    counters = metric(err, "counters_published_total")
    print("several outputs: %s flows and %s counter samples published" % (published, counters))
    if published != 400 or counters != want_c:
        fail("published %s flows / %s counter samples, want 400 / %d"
             % (published, counters, want_c))
    if open(p["F1"], "rb").read() != open(p["F2"], "rb").read():
        fail("the two file outputs differ")
    if frames(p["F1"]) != 400:
        fail("file output holds %d flows, want 400" % frames(p["F1"]))
    if lines(p["J1"]) != lines(p["J2"]) or len(lines(p["J1"])) != 400:
        fail("the two JSON outputs differ or miss flows")
    if frames(p["C1"]) != want_c or len(lines(p["C2"])) != want_c:
        fail("counters outputs hold %d / %d samples, want %d"
             % (frames(p["C1"]), len(lines(p["C2"])), want_c))
    # Every message is counted once per output that wrote it.
    written_file = metric(err, "output_messages_total", '{output="file"}')
    written_json = metric(err, "output_messages_total", '{output="json"}')
    if written_file != 2 * 400 + want_c or written_json != 2 * 400 + want_c:
        fail("output_messages_total file=%s json=%s, want %d each"
             % (written_file, written_json, 2 * 400 + want_c))
    for name, labels in (("drops_total", '{reason="output"}'),
                         ("drops_total", '{reason="encode"}'),
                         ("output_errors_total", '{output="file"}')):
        if metric(err, name, labels) != 0:
            fail("%s%s is %s, want 0" % (name, labels, metric(err, name, labels)))


def output_drops(a, tmp):
    if not os.path.exists("/dev/full"):
        print("note: no /dev/full, output drop check not run")
        return
    pcap, _ = gen(a, tmp, "nf5", 3000)
    j = os.path.join(tmp, "ok.json")
    rc, err = collector(a, "--pcap", pcap, "--output", "file:/dev/full", "--output", "json:" + j)
    errors = metric(err, "output_errors_total", '{output="file"}')
    drops = metric(err, "drops_total", '{reason="output"}')
    written = metric(err, "output_messages_total", '{output="file"}')
    print("/dev/full: output_errors_total=%s drops_total{reason=output}=%s written=%s exit=%d"
          % (errors, drops, written, rc))
    if not errors or not drops:
        fail("a failing file output was not counted")
    if drops > errors:
        fail("more drops than output errors")
    # Nothing reached /dev/full: every flow is counted lost, none written.
    if written != 0 or errors != 3000:
        fail("/dev/full: written=%s errors=%s, want 0 and 3000" % (written, errors))
    if len(lines(j)) != 3000:
        fail("the healthy output got %d flows, want 3000" % len(lines(j)))


def long_labels(a, tmp):
    pcap, _ = gen(a, tmp, "nf5", 600)
    nets = os.path.join(tmp, "networks.csv")
    names = os.path.join(tmp, "exporters.csv")
    label = "n" * 1000
    with open(nets, "w") as f:
        # Every IPv4 address, four ~1000-byte labels: under the 4 KiB line cap.
        f.write("0.0.0.0/0,%s,%s,%s,64500,%s\n" % (label, "r" * 1000, "s" * 1000, "a" * 1000))
    with open(names, "w") as f:
        f.write("127.0.0.1,%s\n" % ("e" * 4000))
    j = os.path.join(tmp, "labels.json")
    rc, err = collector(a, "--pcap", pcap, "--networks", nets, "--exporter-names", names,
                        "--output", "json:" + j)
    encode = metric(err, "drops_total", '{reason="encode"}')
    got = lines(j) if rc == 0 else []
    v4 = [f for f in got if f.get("src_net_name") == label and f.get("dst_net_name") == label]
    print("long labels: exit %d, %d flows, %d fully labelled, drops_total{reason=encode}=%s"
          % (rc, len(got), len(v4), encode))
    if rc != 0 or encode != 0 or len(got) != 600 or not v4:
        fail("flows with long labels were not all encoded")
    if v4 and len(v4[0].get("exporter_name", "")) != 4000:
        fail("the exporter name did not come through whole")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--collector", required=True)
    ap.add_argument("--flowgen", required=True)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        several_outputs(a, tmp)
        output_drops(a, tmp)
        long_labels(a, tmp)
    print("outputs: %s" % ("ok" if OK else "FAIL"))
    return 0 if OK else 1


if __name__ == "__main__":
    sys.exit(main())
