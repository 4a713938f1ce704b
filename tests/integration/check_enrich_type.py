#!/usr/bin/env python3
"""A MaxMind database of the wrong kind for its option (issue 8, item 4) is
refused at start-up with a one-line error naming the file and its
database_type, and exit status 2: City and Country databases given to
--geoip-asn, ASN and ISP databases given to --geoip-geo. The right kinds
start (replaying a capture to the end, exit 0).

  check_enrich_type.py COLLECTOR

Exit 0 pass, 1 fail, 77 skip (testdata absent).
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_truth as ct  # noqa: E402

WRONG = [("--geoip-asn", "GeoLite2-City-Test", "GeoLite2-City"),
         ("--geoip-asn", "GeoIP2-Country-Test", "GeoIP2-Country"),
         ("--geoip-geo", "GeoLite2-ASN-Test", "GeoLite2-ASN"),
         ("--geoip-geo", "GeoIP2-ISP-Test", "GeoIP2-ISP")]
RIGHT = [("--geoip-asn", "GeoIP2-ISP-Test"), ("--geoip-asn", "GeoLite2-ASN-Test"),
         ("--geoip-geo", "GeoIP2-City-Test"), ("--geoip-geo", "GeoLite2-Country-Test")]


def run(collector, pcap, opt, db):
    return subprocess.run([collector, "--pcap", pcap, "--output", "json:/dev/null",
                           "--log-level", "warn", opt, db],
                          capture_output=True, text=True, timeout=60)


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    collector = sys.argv[1]
    td = ct.testdata_dir()
    pcap = os.path.join(td, "pcap", "softflowd-v5.pcap")
    mm = os.path.join(td, "mmdb")
    for p in [pcap] + [os.path.join(mm, n + ".mmdb") for _, n, _ in WRONG]:
        if not os.path.exists(p):
            ct.skip("%s not found" % p)
    bad = 0
    for opt, name, dbtype in WRONG:
        db = os.path.join(mm, name + ".mmdb")
        r = run(collector, pcap, opt, db)
        lines = [x for x in r.stderr.splitlines() if ": error: " in x]
        ok = (r.returncode == 2 and len(lines) == 1 and db in lines[0] and
              "'%s'" % dbtype in lines[0])
        print("%s %s: exit %d, %s -> %s" % (opt, name, r.returncode,
                                            lines[0] if lines else "no error line",
                                            "ok" if ok else "FAIL"))
        bad += not ok
    for opt, name in RIGHT:
        r = run(collector, pcap, opt, os.path.join(mm, name + ".mmdb"))
        ok = r.returncode == 0
        print("%s %s: exit %d -> %s" % (opt, name, r.returncode, "ok" if ok else "FAIL"))
        if not ok:
            print(r.stderr[-1000:])
        bad += not ok
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
