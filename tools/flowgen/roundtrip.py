#!/usr/bin/env python3
"""End-to-end check: what flowgen sends is what the collector decodes.

  flowgen --proto P --pcap-out F --json SENT
  collector --pcap F --output json:- --counters-output json:C  > RECEIVED

then compares the flows one by one, field by field. Rules:
  - time_received_ns and sequence_num are ignored (the sender does not
    model them);
  - every field the sender wrote must come back with the same value;
  - a field only the receiver has is an error, unless the collector derives
    it from what was sent (DERIVED below) - then it is checked where a rule
    exists (bytes_scaled = bytes * sampling_rate...).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

IGNORED = {"time_received_ns", "sequence_num"}

# Fields a collector adds from the datagram or its own parsing.
DERIVED = {
    "nf5": set(),
    "nf9": set(),
    "ipfix": set(),
    # sFlow: flows carry no times (the collector stamps the receive time);
    # the sampled header's layer list and the data source (observation point)
    "sflow": {"time_flow_start_ns", "time_flow_end_ns", "layer_stack", "layer_size",
              "observation_point_id"},
}
ALWAYS_DERIVED = {"bytes_scaled", "packets_scaled", "sampling_rate_unknown"}

ENUMS = {"flow_direction": {"DIRECTION_UNKNOWN": 0, "INGRESS": 1, "EGRESS": 2}}


def norm(k, v):
    if k in ENUMS and isinstance(v, str):
        return ENUMS[k].get(v, v)
    if isinstance(v, str) and re.fullmatch(r"\d+", v):
        return int(v)  # uint64 as a JSON string is the same number
    return v


def compare(proto, sent, recv):
    diffs = []
    derived = DERIVED[proto] | ALWAYS_DERIVED
    keys = (set(sent) | set(recv)) - IGNORED
    for k in sorted(keys):
        a, b = norm(k, sent.get(k)), norm(k, recv.get(k))
        if k in derived and k not in sent:
            continue
        if a != b:
            diffs.append("%s: sent %r, received %r" % (k, a, b))
    rate = recv.get("sampling_rate", 0)
    for k, base in (("bytes_scaled", "bytes"), ("packets_scaled", "packets")):
        # present on every flow: the raw value when the rate is 1 or unknown
        want = int(recv.get(base, 0)) * max(int(rate), 1)
        if int(recv.get(k, 0)) != want:
            diffs.append("%s: %r, want %s * sampling_rate = %d" % (k, recv.get(k), base, want))
    if bool(recv.get("sampling_rate_unknown", False)) != (int(rate) == 0):
        diffs.append("sampling_rate_unknown %r with sampling_rate %r"
                     % (recv.get("sampling_rate_unknown"), rate))
    # sFlow: the receive time stands in for the flow times, if present
    if proto == "sflow" and "time_flow_start_ns" in recv:
        if recv.get("time_flow_start_ns") != recv.get("time_received_ns"):
            diffs.append("time_flow_start_ns %r is not the receive time" % recv.get("time_flow_start_ns"))
    return diffs


def key(f):
    return (f.get("src_addr"), f.get("dst_addr"), f.get("src_port"), f.get("dst_port"),
            f.get("proto"), str(f.get("bytes")), str(f.get("packets")))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--flowgen", required=True)
    ap.add_argument("--collector", required=True)
    ap.add_argument("--proto", required=True, choices=["nf5", "nf9", "ipfix", "sflow"])
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--keep", help="directory to keep the pcap and both JSON files in")
    a = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        d = a.keep or tmp
        os.makedirs(d, exist_ok=True)
        pcap = os.path.join(d, "rt-%s.pcap" % a.proto)
        sent_path = os.path.join(d, "rt-%s.sent.json" % a.proto)
        r = subprocess.run([a.flowgen, "--proto", a.proto, "--count", str(a.count),
                            "--seed", str(a.seed), "--pcap-out", pcap, "--json", sent_path],
                           capture_output=True, text=True, timeout=120)
        sys.stderr.write(r.stderr)
        gen_err = r.stderr
        if r.returncode != 0:
            print("FAIL: flowgen exited %d" % r.returncode)
            return 1
        counters_path = os.path.join(d, "rt-%s.counters.json" % a.proto)
        r = subprocess.run([a.collector, "--pcap", pcap, "--output", "json:-",
                            "--counters-output", "json:" + counters_path],
                           capture_output=True, text=True, timeout=300)
        if a.keep:
            with open(os.path.join(d, "rt-%s.recv.json" % a.proto), "w") as f:
                f.write(r.stdout)
        if r.returncode != 0:
            sys.stderr.write(r.stderr[-4000:])
            print("FAIL: collector exited %d" % r.returncode)
            return 1
        with open(sent_path) as f:
            sent = [json.loads(line) for line in f if line.strip()]
        recv = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
        with open(counters_path) as f:
            counters = [json.loads(line) for line in f if line.strip()]

    # One message type per stream: every message of the flow stream is a
    # flow (FlowMessages always carry their type), every counter sample is
    # in the counter stream; their number matches flowgen's summary.
    strays = [f for f in recv if "type" not in f] + [c for c in counters if "type" in c]
    if strays:
        print("FAIL: a stream holds a message of the other type: %s" % strays[0])
        return 1
    m = re.search(r"counter_samples=(\d+)", gen_err)
    want_counters = int(m.group(1)) if m else 0
    if counters or want_counters:
        print("roundtrip %s: %d counter samples sent, %d received" % (a.proto, want_counters, len(counters)))
        if len(counters) != want_counters:
            print("FAIL: counter sample counts differ")
            return 1
        for c in counters:
            if c.get("if_speed") not in (10000000000, "10000000000") or c.get("if_type") != 6 \
                    or not 1 <= int(c.get("if_index", 0)) <= 4 or "if_in_octets" not in c:
                print("FAIL: counter sample differs from what flowgen sends: %s" % c)
                return 1
    print("roundtrip %s: %d flows sent, %d received" % (a.proto, len(sent), len(recv)))
    if len(sent) != len(recv):
        sk = {key(f) for f in sent}
        rk = {key(f) for f in recv}
        for k in list(sk - rk)[:5]:
            print("  missing: %s" % (k,))
        for k in list(rk - sk)[:5]:
            print("  unexpected: %s" % (k,))
        print("FAIL: flow counts differ")
        return 1
    if [key(f) for f in sent] != [key(f) for f in recv]:
        # Same flows in another order is fine: compare by key.
        print("note: flows arrived in another order; matching by 5-tuple and counters")
        sent.sort(key=lambda f: json.dumps(key(f)))
        recv.sort(key=lambda f: json.dumps(key(f)))
    bad = 0
    fields = {}
    for i, (s, rv) in enumerate(zip(sent, recv)):
        diffs = compare(a.proto, s, rv)
        if diffs:
            bad += 1
            for d_ in diffs:
                fields[d_.split(":")[0].split(" ")[0]] = fields.get(d_.split(":")[0].split(" ")[0], 0) + 1
            if bad <= 5:
                print("flow %d differs:\n  %s" % (i, "\n  ".join(diffs)))
    if bad:
        print("FAIL: %d of %d flows differ (by field: %s)" % (bad, len(sent), fields))
        return 1
    print("PASS: all %d flows match field by field" % len(sent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
