#!/usr/bin/env python3
"""`--json-style goflow2` against goflow2's own schema and renderers.

Replays captures (flowgen's four protocols, plus testdata/pcap when present)
twice, with `--output json:-` in the native style and in the goflow2 style,
and checks every flow pair:
  - the goflow2-style keys begin with every field of goflow2's FlowMessage,
    in the order of ../shared/testdata/goflow2/flow.proto (the order of its
    Go struct, which goflow2's formatter walks), each present even when zero;
    the keys after them are our own fields;
  - the values are what goflow2 v2's renderers make of the native values:
    etype/proto by name, src_net/dst_net as the address cut to the mask,
    addresses as text ("" when absent), MACs as text, enums by name, arrays
    ("[]" when empty), numbers as numbers;
  - our own fields are the same in both styles.

  check_json_goflow2.py --collector C --flowgen G
Exit 0 pass, 1 fail, 77 skip (goflow2's flow.proto absent).
"""
import argparse
import glob
import ipaddress
import json
import os
import re
import subprocess
import sys
import tempfile

ETYPES = {0x800: "IPv4", 0x806: "ARP", 0x86DD: "IPv6"}
PROTOS = {0: "HOPOPT", 1: "ICMP", 6: "TCP", 17: "UDP", 41: "IPv6", 47: "GRE", 50: "ESP",
          58: "IPv6-ICMP", 132: "SCTP"}
IP_FIELDS = {"sampler_address", "src_addr", "dst_addr", "next_hop", "bgp_next_hop", "mpls_ip",
             "ipv6_routing_header_addresses"}
REPEATED = {"bgp_communities", "as_path", "mpls_ttl", "mpls_label", "mpls_ip", "layer_stack",
            "layer_size", "ipv6_routing_header_addresses"}


def testdata_dir():
    d = os.environ.get("FC_TESTDATA") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "testdata")
    return os.path.abspath(d)


def goflow2_fields(proto_path):
    """Field names of message FlowMessage in declaration order."""
    names, depth, inside = [], 0, False
    for line in open(proto_path):
        line = line.split("//")[0].strip()
        if line.startswith("message FlowMessage"):
            inside, depth = True, 0
        if not inside:
            continue
        depth += line.count("{") - line.count("}")
        m = re.match(r"(repeated\s+)?[\w.]+\s+(\w+)\s*=\s*\d+\s*;", line)
        if m and depth == 1:
            names.append(m.group(2))
        if depth == 0 and "}" in line:
            break
    return names


def go_ip(s):
    """goflow2's text for an address we print natively: Go's netip keeps
    ::ffff:a.b.c.d dotted but prints ::a.b.c.d as hex groups."""
    if not s:
        return ""
    a = ipaddress.ip_address(s)
    if a.version == 4:
        return str(a)
    if a.ipv4_mapped is not None:
        return "::ffff:" + str(a.ipv4_mapped)
    return compressed6(a)


def compressed6(a):
    """RFC 5952 text as Go's netip writes it (first longest zero run)."""
    w = [int.from_bytes(a.packed[i:i + 2], "big") for i in range(0, 16, 2)]
    best, bl, i = -1, 0, 0
    while i < 8:
        if w[i]:
            i += 1
            continue
        j = i
        while j < 8 and w[j] == 0:
            j += 1
        if j - i >= 2 and j - i > bl:
            best, bl = i, j - i
        i = j
    if best < 0:
        return ":".join("%x" % x for x in w)
    left = ":".join("%x" % x for x in w[:best])
    right = ":".join("%x" % x for x in w[best + bl:])
    return left + "::" + right


def go_net(addr, plen):
    if not addr:
        return "invalid Prefix"
    a = ipaddress.ip_address(addr)
    if plen > a.max_prefixlen:
        return "invalid Prefix"
    n = ipaddress.ip_network("%s/%d" % (addr, plen), strict=False)
    base = str(n.network_address) if a.version == 4 else compressed6(n.network_address)
    return "%s/%d" % (base, plen)


def mac(v):
    v = int(v)
    return ":".join("%02x" % ((v >> s) & 0xFF) for s in range(40, -8, -8))


def expected(name, native):
    v = native.get(name)
    if name == "etype":
        return ETYPES.get(int(v or 0), "")
    if name == "proto":
        p = int(v or 0)
        return PROTOS.get(p)  # None: any name; checked for non-empty below
    if name in ("src_net", "dst_net"):
        return go_net(native.get(name[:3] + "_addr", ""), int(v or 0))
    if name.endswith("_mac"):
        return mac(v or 0) if not isinstance(v, str) else v
    if name in REPEATED:
        items = v or []
        return [go_ip(x) for x in items] if name in IP_FIELDS else items
    if name in IP_FIELDS:
        return go_ip(v or "")
    if name == "type":
        return v or "FLOWUNKNOWN"
    return v if v is not None else 0


def replay(collector, pcap, style):
    r = subprocess.run([collector, "--log-level", "warn", "--pcap", pcap, "--output", "json:-",
                        "--json-style", style], capture_output=True, timeout=120)
    if r.returncode != 0:
        raise SystemExit("collector failed on %s: %s" % (pcap, r.stderr[-1000:]))
    # Raw bytes: key order matters, json.loads keeps it.
    return [json.loads(x) for x in r.stdout.decode().splitlines() if x.strip()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--collector", required=True)
    ap.add_argument("--flowgen", required=True)
    a = ap.parse_args()
    proto = os.path.join(testdata_dir(), "goflow2", "flow.proto")
    if not os.path.exists(proto):
        print("SKIP: %s not found (../shared/testdata, see its MANIFEST.md)" % proto)
        return 77
    g2 = goflow2_fields(proto)
    if len(g2) < 50:
        print("FAIL: read only %d fields from %s" % (len(g2), proto))
        return 1
    ok, checked = True, 0
    with tempfile.TemporaryDirectory() as tmp:
        pcaps = []
        for p in ("nf5", "nf9", "ipfix", "sflow"):
            path = os.path.join(tmp, p + ".pcap")
            subprocess.run([a.flowgen, "--proto", p, "--count", "300", "--seed", "9",
                            "--pcap-out", path], check=True, capture_output=True, timeout=60)
            pcaps.append(path)
        pcaps += sorted(glob.glob(os.path.join(testdata_dir(), "pcap", "*.pcap")))
        for pcap in pcaps:
            native = replay(a.collector, pcap, "native")
            styled = replay(a.collector, pcap, "goflow2")
            if len(native) != len(styled):
                print("FAIL: %s: %d native flows, %d goflow2-style" % (pcap, len(native),
                                                                       len(styled)))
                ok = False
                continue
            for i, (n, g) in enumerate(zip(native, styled)):
                keys = list(g)
                errs = []
                if keys[:len(g2)] != g2:
                    errs.append("keys do not start with goflow2's fields in order: %s"
                                % keys[:len(g2)])
                for k in g2:
                    want = expected(k, n)
                    got = g.get(k)
                    if k == "proto" and want is None:
                        if not isinstance(got, str) or not got:
                            errs.append("proto %r for %r" % (got, n.get("proto")))
                    elif got != want:
                        errs.append("%s: %r, want %r (native %r)" % (k, got, want, n.get(k)))
                ours = {k: v for k, v in g.items() if k not in g2}
                if ours != {k: v for k, v in n.items() if k not in g2}:
                    errs.append("own fields differ: %s vs %s" % (ours, n))
                if errs:
                    print("FAIL: %s flow %d: %s" % (os.path.basename(pcap), i, "; ".join(errs[:4])))
                    ok = False
                    break
                checked += 1
            print("%s: %d flows" % (os.path.basename(pcap), len(styled)))
    print("goflow2 style: %d flows checked: %s" % (checked, "ok" if ok else "FAIL"))
    return 0 if ok and checked else 1


if __name__ == "__main__":
    sys.exit(main())
