#!/usr/bin/env python3
"""Differential enrichment test (issue 16): every capture in
../shared/testdata/pcap is replayed through the collector (`--pcap`, the
same pipeline as live traffic) with MaxMind test databases, and the ASN, AS
name, country and city of both ends of every flow are compared with
libmaxminddb's own answers for that address (mmdb_oracle: MMDB_lookup_string
and MMDB_get_value, no cache, nothing of src/enrich). The collector's cache
is made small (--geoip-cache-bytes 4096) so that eviction happens, and
default-sized; both must agree with the oracle on every address.

  check_enrich_diff.py COLLECTOR MMDB_ORACLE

The ASN is expected only where the exporter sent none (the collector keeps
an exported ASN), and a name only with the ASN it belongs to. Exit 0 pass,
1 fail, 77 skip (testdata absent).
"""
import glob
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_truth as ct  # noqa: E402

COMBOS = [("GeoLite2-ASN-Test", "GeoIP2-City-Test"),
          ("GeoIP2-ISP-Test", "GeoLite2-Country-Test"),
          ("GeoLite2-ASN-Test", "GeoLite2-City-Test")]
CACHES = ["4096", "4194304"]


def oracle(tool, asn, geo, addrs):
    r = subprocess.run([tool, asn, geo], input="\n".join(addrs) + "\n", capture_output=True,
                       text=True, timeout=120, check=True)
    return {d["addr"]: d for d in map(json.loads, r.stdout.splitlines())}


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    collector, tool = sys.argv[1:]
    td = ct.testdata_dir()
    pcaps = sorted(glob.glob(os.path.join(td, "pcap", "*.pcap")))
    dbs = {n: os.path.join(td, "mmdb", n + ".mmdb") for c in COMBOS for n in c}
    if not pcaps or not all(os.path.exists(p) for p in dbs.values()):
        ct.skip("captures or MaxMind test databases not found under %s" % td)
    bad = total_addrs = total_found = 0
    for asn_db, geo_db in COMBOS:
        for pcap in pcaps:
            plain, _ = ct.run_collector(collector, [pcap])
            addrs = sorted({m[s + "_addr"] for m in plain for s in ("src", "dst")
                            if m.get(s + "_addr")})
            if not addrs:
                continue
            want_by_addr = oracle(tool, dbs[asn_db], dbs[geo_db], addrs)
            total_addrs += len(addrs)
            total_found += sum(1 for a in addrs if len(want_by_addr[a]) > 1)
            for cache in CACHES:
                msgs, _ = ct.run_collector(collector, [pcap], [
                    "--geoip-asn", dbs[asn_db], "--geoip-geo", dbs[geo_db],
                    "--geoip-cache-bytes", cache])
                if len(msgs) != len(plain):
                    print("FAIL %s: %d flows enriched, %d plain" %
                          (os.path.basename(pcap), len(msgs), len(plain)))
                    bad += 1
                    continue
                for m, p in zip(msgs, plain):
                    for side in ("src", "dst"):
                        a = p.get(side + "_addr")
                        if not a:
                            continue
                        o = want_by_addr[a]
                        want = {}
                        if "country" in o:
                            want["country"] = o["country"]
                        if "city" in o:
                            want["city"] = o["city"]
                        exported = p.get(side + "_as", 0)
                        if exported:
                            want["as"] = exported
                        elif o.get("asn"):
                            want["as"] = o["asn"]
                            if "as_name" in o:
                                want["as_name"] = o["as_name"]
                        got = {f: m[side + "_" + f] for f in ("as", "as_name", "country", "city")
                               if side + "_" + f in m}
                        if got != want:
                            bad += 1
                            if bad <= 10:
                                print("mismatch %s %s+%s cache %s, %s %s:\n  want %s\n  got  %s"
                                      % (os.path.basename(pcap), asn_db, geo_db, cache, side,
                                         a, want, got))
    print("%d captures x %d database pairs x %d cache sizes: %d distinct addresses "
          "(summed over the pairs; %d known to a database), %d mismatches -> %s" %
          (len(pcaps), len(COMBOS), len(CACHES), total_addrs, total_found, bad,
           "ok" if bad == 0 and total_found > 0 else "FAIL"))
    return 0 if bad == 0 and total_found > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
