#!/usr/bin/env python3
"""Replays third-party exporter captures through `collector --pcap ... --output
json:-` and compares every decoded flow with the tshark ground truth that sits
next to each capture in ../shared/testdata (see the MANIFEST.md files there).

  check_truth.py COLLECTOR pcap NAME      # testdata/pcap/NAME.{pcap,csv,json}
  check_truth.py COLLECTOR vendor FILE    # testdata/vendor/FILE(.truth.json)
  check_truth.py COLLECTOR KIND all:PROTO # every capture of PROTO found now

Flows are matched as a multiset (a decoder that holds data until its template
arrives emits them later than tshark lists them). Every truth flow must match
one decoded flow on every field the truth has; decoded flows beyond the truth
are accepted only where the truth itself reports data sets it could not decode
(data before its template), and are then printed. Exit 0 pass, 1 fail,
77 skip (testdata absent), with a visible SKIP line.
"""
import csv
import datetime
import ipaddress
import json
import os
import struct
import subprocess
import sys
import tempfile
from decimal import Decimal

NS = Decimal(1000000000)


def testdata_dir():
    d = os.environ.get("FC_TESTDATA") or os.path.join(
        os.path.dirname(__file__), "..", "..", "..", "shared", "testdata")
    return os.path.abspath(d)


def skip(msg):
    print("SKIP: %s (the shared test data set is read from ../shared/testdata or "
          "$FC_TESTDATA; each folder's MANIFEST.md names its source)" % msg)
    sys.exit(77)


def ip(s):
    return str(ipaddress.ip_address(s)) if s else ""


def run_collector(collector, pcaps, extra=()):
    """Replays pcaps and returns the decoded messages (flows and counter
    samples) as dicts. By default they come from `--output json:-` and
    `--counters-output json:FILE` (each stream holds one message type; a
    message in the wrong stream fails the check). With
    FC_TRUTH_VIA_KAFKA=BROKERS (and FC_FLOWCAT=path) they are produced to
    Kafka instead and read back from the flow and counter topics with
    flowcat, so the same truth checks the whole path to the topics."""
    cmd = [collector, "--log-level", "warn"]
    for p in pcaps:
        cmd += ["--pcap", p]
    brokers = os.environ.get("FC_TRUTH_VIA_KAFKA")
    tmp = tempfile.TemporaryDirectory()
    counters_path = os.path.join(tmp.name, "counters.json")
    if brokers:
        cmd += ["--kafka-brokers", brokers]
    else:
        cmd += ["--output", "json:-", "--counters-output", "json:" + counters_path]
    cmd += list(extra)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        print(r.stderr[-4000:])
        raise SystemExit("collector exited with %d: %s" % (r.returncode, " ".join(cmd)))
    out = r.stdout
    if not brokers:
        flows = [json.loads(line) for line in out.splitlines() if line.strip()]
        with open(counters_path) as f:
            counters = [json.loads(line) for line in f if line.strip()]
        tmp.cleanup()
        # FlowMessages always carry their type; CounterMessages have none.
        stray = [m for m in flows if "type" not in m] + [m for m in counters if "type" in m]
        if stray:
            raise SystemExit("a stream holds a message of the other type: %s" % stray[0])
        return flows + counters, r.stderr
    tmp.cleanup()
    if brokers:
        flowcat = os.environ["FC_FLOWCAT"]
        out = ""
        for topic, opts in ((os.environ.get("FC_TRUTH_TOPIC", "flows"), []),
                            (os.environ.get("FC_TRUTH_COUNTER_TOPIC", "flow-counters"),
                             ["--counters"])):
            c = subprocess.run([flowcat, "-b", brokers, "-t", topic, "-o", "beginning", "-e"]
                               + opts, capture_output=True, text=True, timeout=60)
            if c.returncode != 0:
                print(c.stderr[-2000:])
                raise SystemExit("flowcat failed on topic %s" % topic)
            out += c.stdout
    msgs = [json.loads(line) for line in out.splitlines() if line.strip()]
    return msgs, r.stderr


# ---- pcap writer for raw payload files (no IP/UDP header in the file) ----

def split_raw(data):
    """Splits files holding several datagrams back to back (MANIFEST)."""
    out = []
    while data:
        n = len(data)
        if len(data) >= 4:
            ver = struct.unpack(">H", data[:2])[0]
            if ver == 5:
                count = struct.unpack(">H", data[2:4])[0]
                n = 24 + 48 * count
            elif ver == 10:
                n = struct.unpack(">H", data[2:4])[0] or len(data)
        n = min(n, len(data))
        out.append(data[:n])
        data = data[n:]
    return out


def write_pcap(path, payloads, src="192.0.2.1", sport=40000, dst="192.0.2.2", dport=2055):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        t = 1700000000
        for i, p in enumerate(payloads):
            udp = struct.pack(">HHHH", sport, dport, 8 + len(p), 0) + p
            iph = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xffff, 0, 64, 17, 0,
                              ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed)
            frame = b"\x00" * 12 + b"\x08\x00" + iph + udp
            f.write(struct.pack("<IIII", t + i // 1000, (i % 1000) * 1000, len(frame), len(frame)))
            f.write(frame)


# ---- matching ----

def match(expected, got, allow_extra, label):
    """expected: list of dicts field->value; got: list of flow dicts."""
    pool = list(got)
    missing = []
    for e in expected:
        for i, g in enumerate(pool):
            if all(g.get(k, 0 if not isinstance(v, str) else "") == v for k, v in e.items()):
                del pool[i]
                break
        else:
            missing.append(e)
    ok = True
    if missing:
        ok = False
        print("%s: %d of %d truth flows not decoded identically; first ones:" %
              (label, len(missing), len(expected)))
        for e in missing[:3]:
            print("  truth:", e)
            best = max(got, key=lambda g: sum(g.get(k) == v for k, v in e.items()), default=None)
            if best is not None:
                print("  closest decoded:", {k: best.get(k) for k in e})
    if pool:
        if allow_extra:
            print("%s: %d flows decoded beyond the truth (data tshark could not decode "
                  "before its template)" % (label, len(pool)))
        else:
            ok = False
            print("%s: %d decoded flows are not in the truth, e.g. %s" % (label, len(pool), pool[:2]))
    print("%s: truth %d flows, decoded %d, matched %d -> %s" %
          (label, len(expected), len(got), len(expected) - len(missing), "ok" if ok else "FAIL"))
    return ok


# ---- testdata/pcap (CSV truth) ----

def parse_tshark_time(s):
    s = s.replace(" UTC", "")
    date, frac = s.rsplit(".", 1) if "." in s else (s, "0")
    dt = datetime.datetime.strptime(" ".join(date.split()), "%b %d, %Y %H:%M:%S")
    dt = dt.replace(tzinfo=datetime.timezone.utc)
    return Decimal(int(dt.timestamp())) + Decimal("0." + frac)


def check_pcap(collector, name):
    base = os.path.join(testdata_dir(), "pcap", name)
    if not os.path.exists(base + ".pcap"):
        skip("%s.pcap not found under %s" % (name, testdata_dir()))
    meta = json.load(open(base + ".json"))
    rows = list(csv.DictReader(open(base + ".csv")))
    msgs, _ = run_collector(collector, [base + ".pcap"])
    if meta["protocol"] == "sflow-v5":
        return check_pcap_sflow(meta, rows, msgs, name)
    pkts = {p["frame"]: p for p in meta["packets"]}
    sys_init = None
    for o in meta.get("options_records", []):
        if "sys_init_time" in o.get("extra", {}):
            sys_init = parse_tshark_time(o["extra"]["sys_init_time"])
    fwd = [m for m in msgs if not m.get("reverse")]
    rev = [m for m in msgs if m.get("reverse")]
    expected, expected_rev = [], []
    for r in rows:
        e = {}
        for col, ours, conv in (
                ("src_addr", "src_addr", ip), ("dst_addr", "dst_addr", ip),
                ("src_port", "src_port", int), ("dst_port", "dst_port", int),
                ("proto", "proto", int), ("bytes", "bytes", int), ("packets", "packets", int),
                ("tcp_flags", "tcp_flags", lambda v: int(v, 16)),
                ("tos", "ip_tos", lambda v: int(v, 16)),
                ("input_if", "in_if", int), ("output_if", "out_if", int)):
            if r[col] != "":
                e[ours] = conv(r[col])
        if r["start"]:
            if r["time_kind"] == "epoch":
                base_t = Decimal(0)
            else:
                p = pkts[int(r["export_frame"])]
                if p.get("sysuptime") is not None:
                    base_t = Decimal(p["export_time"]) - Decimal(p["sysuptime"])
                elif sys_init is not None:
                    base_t = sys_init
                else:
                    base_t = None
            if base_t is not None:
                e["time_flow_start_ns"] = int((base_t + Decimal(r["start"])) * NS)
                e["time_flow_end_ns"] = int((base_t + Decimal(r["end"])) * NS)
        expected.append(e)
        if r.get("rev_packets") and int(r["rev_packets"]) > 0:
            expected_rev.append({
                "src_addr": e["dst_addr"], "dst_addr": e["src_addr"],
                "src_port": e.get("dst_port", 0), "dst_port": e.get("src_port", 0),
                "proto": e["proto"],
                "bytes": int(r["rev_bytes"]), "packets": int(r["rev_packets"]),
            })
    rates = set(meta.get("sampling") or [])
    if len(rates) == 1:
        # One interval announced (v5 header or options data): every flow
        # carries it, counters left as exported.
        for e in expected:
            e["sampling_rate"] = int(next(iter(rates)))
    allow_extra = meta.get("undecoded_data_sets", 0) > 0
    ok = match(expected, fwd, allow_extra, name)
    if expected_rev or rev:
        ok &= match(expected_rev, rev, allow_extra, name + " (reverse)")
    return ok


def check_pcap_sflow(meta, rows, msgs, name):
    expected = []
    for r in rows:
        e = {"sampler_address": ip(r["agent"]), "sampling_rate": int(r["sampling_rate"]),
             "bytes": int(r["frame_length"]), "packets": 1,
             "in_if": int(r["input_if"] or 0), "out_if": int(r["output_if"] or 0)}
        if r["src_addr"]:
            e.update({"src_addr": ip(r["src_addr"]), "dst_addr": ip(r["dst_addr"]),
                      "proto": int(r["proto"] or 0)})
        if r["src_port"]:
            e.update({"src_port": int(r["src_port"]), "dst_port": int(r["dst_port"])})
        if r["tcp_flags"]:
            e["tcp_flags"] = int(r["tcp_flags"], 16)
        if r["tos"]:
            e["ip_tos"] = int(r["tos"], 16)
        expected.append(e)
    return match(expected, msgs, False, name)


# ---- testdata/vendor (tshark field dicts) ----

V_FIELDS = [
    # (tshark field, our field, converter)
    ("cflow.srcaddr", "src_addr", ip), ("cflow.srcaddrv6", "src_addr", ip),
    ("cflow.dstaddr", "dst_addr", ip), ("cflow.dstaddrv6", "dst_addr", ip),
    ("cflow.srcport", "src_port", int), ("cflow.dstport", "dst_port", int),
    ("cflow.protocol", "proto", int),
    ("cflow.octets", "bytes", int), ("cflow.packets", "packets", int),
    ("cflow.tcpflags", "tcp_flags", lambda s: int(s, 16)),
    ("cflow.tos", "ip_tos", lambda s: int(s, 16)),
    ("cflow.inputint", "in_if", int), ("cflow.outputint", "out_if", int),
    ("cflow.srcas", "src_as", int), ("cflow.dstas", "dst_as", int),
    ("cflow.nexthop", "next_hop", ip),
    ("cflow.srcmask", "src_net", int), ("cflow.dstmask", "dst_net", int),
]


V_MAP = {tf: (ours, conv) for tf, ours, conv in V_FIELDS}


def vendor_expected(truth, biflow=False):
    out = []
    for p in truth["packets"]:
        hdr = p.get("header", {})
        for fl in p.get("flows", []):
            e = {}
            # In record order, last occurrence wins, as in the decoder: a
            # template may carry a field twice (e.g. SRv6 captures with
            # outer and inner protocol, IPv6 and IPv4 addresses). In RFC
            # 5103 bi-flows tshark lists the reverse IE (PEN 29305) under
            # the same name after the forward one: there the first is ours.
            for tf, raw in fl.items():
                if tf not in V_MAP:
                    continue
                ours, conv = V_MAP[tf]
                if isinstance(raw, list):
                    raw = (raw[0] if biflow else raw[-1]) if raw else None
                if not isinstance(raw, str) or raw == "":
                    continue
                try:
                    v = conv(raw)
                except ValueError:
                    continue
                if ours == "next_hop" and v == "0.0.0.0":
                    continue  # proto3: absent and 0.0.0.0 look alike
                if v in ("::", "0.0.0.0") and ours in e:
                    continue  # an unset twin of a set address field
                e[ours] = v
            if p.get("version") == 5 and "cflow.timestart" in fl:
                export = Decimal(hdr["cflow.unix_secs"]) + Decimal(hdr["cflow.unix_nsecs"]) / NS
                uptime = Decimal(hdr["cflow.sysuptime"])
                boot = export - uptime
                # Truth defect: tshark adds FIRST/LAST to the boot time as
                # unsigned values, so a flow stamped before sysUptime wrapped
                # past 2^32 ms comes out 49.7 days in the future (and after
                # its own end). Both are 32-bit ms counters (Cisco v5
                # layout): what counts is their distance, modulo 2^32, to
                # the header's uptime. Corrected here, and said so.
                for key, name in (("cflow.timestart", "time_flow_start_ns"),
                                  ("cflow.timeend", "time_flow_end_ns")):
                    v = Decimal(fl[key])
                    dist = (int(uptime * 1000) - int(v * 1000)) % 2 ** 32
                    if dist >= 2 ** 31:
                        dist -= 2 ** 32
                    fixed = uptime - Decimal(dist) / 1000
                    if fixed != v:
                        print("note: truth %s %s is %s ms from sysUptime %s modulo 2^32: "
                              "the counter wrapped, using %s" % (key, v, dist, uptime, fixed))
                    e[name] = int((boot + fixed) * NS)
            out.append(e)
    return out


# Files where tshark stops early and we decode more; each is proven by a
# unit test that walks the bytes of the same datagram.
TRUTH_DEFECTS = {
    "logstash_netflow9_test_h3c_data3281.dat":
        "tshark stops after the first of 16 one-record flowsets "
        "(test_nf9: truth_h3c_has_16_records)",
    "logstash_netflow9_test_invalid01.dat":
        "tshark reads only the Count flowsets and misses the data flowsets "
        "after them (test_nf9: truth_invalid01_has_data_after_count)",
}


def check_vendor(collector, fname):
    vdir = os.path.join(testdata_dir(), "vendor")
    if not os.path.exists(os.path.join(vdir, fname)):
        skip("%s not found under %s" % (fname, vdir))
    index = {e["file"]: e for e in json.load(open(os.path.join(vdir, "INDEX.json")))}
    chain = index[fname]["replay_after"] + [fname]
    with tempfile.TemporaryDirectory() as tmp:
        pcaps = []
        for i, f in enumerate(chain):
            path = os.path.join(vdir, f)
            if index[f]["format"] == "pcap":
                pcaps.append(path)
            else:
                out = os.path.join(tmp, "%d.pcap" % i)
                write_pcap(out, split_raw(open(path, "rb").read()))
                pcaps.append(out)
        msgs, _ = run_collector(collector, pcaps)
    expected, undecoded = [], 0
    truths = [json.load(open(os.path.join(vdir, f + ".truth.json"))) for f in chain]
    biflow = any(fld.get("template_ipfix_field_pen") == "29305"
                 for t in truths for p in t["packets"] for tp in p.get("templates", [])
                 for fld in tp.get("fields", []))
    for t in truths:
        expected += vendor_expected(t, biflow)
        undecoded += t.get("total_undecoded_sets", 0)
    msgs = [m for m in msgs if not m.get("reverse")]
    if fname in TRUTH_DEFECTS:
        print("note: %s: truth is a lower bound: %s" % (fname, TRUTH_DEFECTS[fname]))
    return match(expected, msgs, undecoded > 0 or fname in TRUTH_DEFECTS, fname)


def cli(pcap_check, vendor_check):
    """The command line every truth checker shares: COLLECTOR pcap|vendor NAME."""
    if len(sys.argv) != 4 or sys.argv[2] not in ("pcap", "vendor"):
        print(sys.modules["__main__"].__doc__)
        return 2
    collector, kind, name = sys.argv[1:]
    check = pcap_check if kind == "pcap" else vendor_check
    if not name.startswith("all:"):
        return 0 if check(collector, name) else 1
    # The test meson registers when the data was absent at configure time:
    # the captures are looked up now.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import list_truth
    found = list_truth.names(testdata_dir(), kind, name[4:])
    if not found:
        skip("no %s %s captures under %s" % (kind, name[4:], testdata_dir()))
    failed = [n for n in found if not check(collector, n)]
    print("%d of %d captures match%s" % (len(found) - len(failed), len(found),
                                        ("; failed: " + " ".join(failed)) if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(cli(check_pcap, check_vendor))
