#!/usr/bin/env python3
"""Enrichment end to end: replays a capture from ../shared/testdata/pcap with
`--geoip-asn` and `--geoip-geo` and checks, for both ends of every flow, the
ASN, AS name, country and city in the JSON output against the MaxMind test
databases' *source* JSON (testdata/mmdb/*.json), matched here by longest
prefix: an oracle independent of libmaxminddb and of our lookup cache.

  check_enrich.py COLLECTOR CAPTURE ASN_DB GEO_DB

Addresses the databases do not know (the 10.1.0.0/24 and 2001:db8:1::/64
clients) must come out with no enrichment. Exit 0 pass, 1 fail, 77 skip.
"""
import ipaddress
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_truth as ct  # noqa: E402


def load_networks(path):
    """Source JSON -> list of (network, record), IPv4 networks as IPv4."""
    nets = []
    for entry in json.load(open(path)):
        for cidr, rec in entry.items():
            n = ipaddress.ip_network(cidr, strict=False)
            if n.version == 6 and n.prefixlen >= 96 and int(n.network_address) >> 32 == 0:
                # IPv4 data stored in the IPv6 tree as ::a.b.c.d/96+n
                n = ipaddress.ip_network("%s/%d" % (ipaddress.IPv4Address(
                    int(n.network_address) & 0xffffffff), n.prefixlen - 96))
            nets.append((n, rec))
    return nets


def lookup(nets, addr):
    a = ipaddress.ip_address(addr)
    best = None
    for n, rec in nets:
        if n.version == a.version and a in n and (best is None or n.prefixlen > best[0].prefixlen):
            best = (n, rec)
    return best[1] if best else None


def expect(asn_nets, geo_nets, addr, side, exported_as):
    e = {}
    a = lookup(asn_nets, addr)
    if a and "autonomous_system_number" in a and not exported_as:
        e[side + "_as"] = a["autonomous_system_number"]
        if "autonomous_system_organization" in a:
            e[side + "_as_name"] = a["autonomous_system_organization"]
    g = lookup(geo_nets, addr)
    if g:
        if "iso_code" in g.get("country", {}):
            e[side + "_country"] = g["country"]["iso_code"]
        if "en" in g.get("city", {}).get("names", {}):
            e[side + "_city"] = g["city"]["names"]["en"]
    return e


def main():
    if len(sys.argv) != 5:
        print(__doc__)
        return 2
    collector, capture, asn_db, geo_db = sys.argv[1:]
    td = ct.testdata_dir()
    pcap = os.path.join(td, "pcap", capture + ".pcap")
    asn_path = os.path.join(td, "mmdb", asn_db)
    geo_path = os.path.join(td, "mmdb", geo_db)
    for p in (pcap, asn_path + ".mmdb", geo_path + ".mmdb", asn_path + ".json", geo_path + ".json"):
        if not os.path.exists(p):
            ct.skip("%s not found" % p)
    asn_nets = load_networks(asn_path + ".json")
    geo_nets = load_networks(geo_path + ".json")
    msgs, _ = ct.run_collector(collector, [pcap], ["--geoip-asn", asn_path + ".mmdb",
                                                   "--geoip-geo", geo_path + ".mmdb"])
    plain, _ = ct.run_collector(collector, [pcap])
    fields = ("as", "as_name", "country", "city")
    bad = enriched = 0
    for m, p in zip(msgs, plain):
        want = {}
        for side in ("src", "dst"):
            want.update(expect(asn_nets, geo_nets, m[side + "_addr"], side, p.get(side + "_as")))
        got = {k: m[k] for side in ("src", "dst") for f in fields
               for k in [side + "_" + f] if k in m and not (f == "as" and p.get(k))}
        if want:
            enriched += 1
        if got != want:
            bad += 1
            if bad <= 5:
                print("mismatch for %s -> %s:\n  want %s\n  got  %s" %
                      (m["src_addr"], m["dst_addr"], want, got))
    ok = bad == 0 and len(msgs) == len(plain) and enriched > 0
    print("%s: %d flows, %d with enrichment expected, %d mismatches -> %s" %
          (capture, len(msgs), enriched, bad, "ok" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
