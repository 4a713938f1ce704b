#!/usr/bin/env python3
"""A MaxMind database changed under a running collector (issue 9, item 2):
truncated to 0 bytes, then overwritten in place with random bytes, while the
collector receives NetFlow v5 over loopback UDP and enriches with it. The
process must survive (no SIGBUS: it maps a private copy, never the user's
file), keep enriching with the last good data, and log each refusal; a SIGHUP
meanwhile is refused the same way. Then a good file of another kind
(GeoIP2-ISP) written in place is picked up by the periodic check.

  check_enrich_swap.py COLLECTOR

Each batch of flows comes from an address of a network not looked up
before (taken from the ASN database's source JSON), so the lookup must read
the database and cannot be answered by a cache; the destination is always
89.160.20.112. Flows carry no exporter AS, so the output shows the
database's answers, checked against the source JSON of the database in
service. Exit 0 pass, 1 fail, 77 skip (testdata absent). Loopback only; the
collector is stopped by PID, also on failure.
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_truth as ct  # noqa: E402
import check_enrich as ce  # noqa: E402

DST = "89.160.20.112"


def fresh_sources(asn_nets, isp_nets):
    """One address in each of many distinct IPv4 networks of the ASN
    database that both databases give an ASN for."""
    out, seen = [], []
    for n, rec in asn_nets:
        if n.version != 4 or n.prefixlen > 30 or "autonomous_system_number" not in rec:
            continue
        if any(n.overlaps(m) for m in seen):
            continue
        a = str(n.network_address + 1)
        isp = ce.lookup(isp_nets, a)
        if not isp or "autonomous_system_number" not in isp:
            continue
        seen.append(n)
        out.append(a)
    return out


def nf5(seq, src, n=2):
    """A NetFlow v5 datagram of n flows src -> DST, no AS numbers."""
    now = int(time.time())
    hdr = struct.pack("!HHIIIIBBH", 5, n, 100000, now, 0, seq, 0, 0, 0)
    recs = b""
    for i in range(n):
        recs += struct.pack("!4s4s4sHHIIIIHHBBBBHHBBH", socket.inet_aton(src),
                            socket.inet_aton(DST), socket.inet_aton("0.0.0.0"), 1, 2,
                            10, 1000, 90000, 99000, 40000 + i, 443, 0, 0x18, 6, 0, 0, 0,
                            24, 24, 0)
    return hdr + recs


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Run:
    def __init__(self, collector, tmp, asn, geo):
        self.port = free_port()
        self.out = os.path.join(tmp, "out.json")
        self.log = open(os.path.join(tmp, "collector.log"), "w+")
        self.seq = 0
        self.read = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.proc = subprocess.Popen(
            [collector, "--http-listen", "off", "--listen", "127.0.0.1:%d" % self.port, "--output", "json:" + self.out,
             "--geoip-asn", asn, "--geoip-geo", geo, "--reload-interval", "1"],
            stdout=subprocess.DEVNULL, stderr=self.log)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.sock.close()

    def logtext(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def alive(self, what):
        if self.proc.poll() is not None:
            raise SystemExit("FAIL: collector exited (status %s) %s\n%s" %
                             (self.proc.returncode, what, self.logtext()[-2000:]))

    def flows(self, label, src, datagrams=5, timeout=10):
        """Sends datagrams from src and returns the new flows, once all
        arrived."""
        want = 2 * datagrams
        for _ in range(datagrams):
            self.seq += 2
            self.sock.sendto(nf5(self.seq, src), ("127.0.0.1", self.port))
        deadline = time.time() + timeout
        got = []
        while time.time() < deadline:
            self.alive(label)
            if os.path.exists(self.out):
                with open(self.out) as f:
                    text = f.read()
                # The collector's stdio may have written part of a line
                # (its buffer fills mid-line): only complete lines count.
                lines = text[:text.rfind("\n") + 1].splitlines()
                got = [json.loads(x) for x in lines[self.read:] if x.strip()]
                if len(got) >= want:
                    self.read += len(got)
                    return got
            time.sleep(0.1)
        raise SystemExit("FAIL: %s: %d of %d flows arrived" % (label, len(got), want))

    def wait_log(self, text, count, label, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.alive(label)
            if self.logtext().count(text) >= count:
                return
            time.sleep(0.1)
        raise SystemExit("FAIL: %s: no log line '%s' (x%d)\n%s" %
                         (label, text, count, self.logtext()[-2000:]))


def check(flows, label, nets):
    """Every flow enriched as the database whose source is nets says."""
    src = flows[0]["src_addr"]
    rec = ce.lookup(nets, src)
    want = {"src_as": rec["autonomous_system_number"], "dst_as": 29518,
            "dst_as_name": "Bredband2 AB", "dst_country": "SE",
            "src_as_name": rec.get("autonomous_system_organization")}
    for f in flows:
        got = {k: f.get(k) for k in want}
        if got != want:
            raise SystemExit("FAIL: %s: want %s, got %s" % (label, want, f))
    print("%s: %d flows from %s enriched as expected (AS%d %s)" %
          (label, len(flows), src, want["src_as"], want["src_as_name"]))


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    collector = sys.argv[1]
    mm = os.path.join(ct.testdata_dir(), "mmdb")
    srcs = [os.path.join(mm, n + ".mmdb") for n in
            ("GeoLite2-ASN-Test", "GeoIP2-ISP-Test", "GeoLite2-City-Test")]
    for p in srcs:
        if not os.path.exists(p):
            ct.skip("%s not found" % p)
    asn_nets = ce.load_networks(os.path.join(mm, "GeoLite2-ASN-Test.json"))
    isp_nets = ce.load_networks(os.path.join(mm, "GeoIP2-ISP-Test.json"))
    srcs_fresh = fresh_sources(asn_nets, isp_nets)
    # the last batch: a source the two databases name differently, so the
    # output shows which one is in service
    differ = [a for a in srcs_fresh if ce.lookup(asn_nets, a).get(
        "autonomous_system_organization") != ce.lookup(isp_nets, a).get(
        "autonomous_system_organization")]
    if len(srcs_fresh) < 6 or not differ:
        print("FAIL: too few usable networks in the test databases")
        return 1
    last = differ[0]
    srcs_fresh.remove(last)
    tmp = tempfile.mkdtemp(prefix="fc-swap-")
    asn, geo = os.path.join(tmp, "asn.mmdb"), os.path.join(tmp, "city.mmdb")
    shutil.copyfile(srcs[0], asn)
    shutil.copyfile(srcs[2], geo)
    old = time.time() - 3600  # settled: the first check does not wait
    os.utime(asn, (old, old))
    run = Run(collector, tmp, asn, geo)
    try:
        time.sleep(0.5)
        check(run.flows("before", srcs_fresh[0]), "before", asn_nets)

        # 1. truncated in place while in use (today: SIGBUS, exit 135)
        os.truncate(asn, 0)
        run.wait_log("reload refused", 1, "after truncation")
        check(run.flows("truncated", srcs_fresh[1]), "truncated", asn_nets)
        run.proc.send_signal(signal.SIGHUP)
        run.wait_log("SIGHUP: reload refused", 1, "SIGHUP on the truncated file")
        check(run.flows("truncated+SIGHUP", srcs_fresh[2]), "truncated+SIGHUP", asn_nets)

        # 2. random bytes written over it in place (same inode, old size)
        size = os.path.getsize(srcs[0])
        with open(asn, "r+b") as f:
            f.write(os.urandom(size))
        run.wait_log("reload refused", 3, "after random bytes")
        check(run.flows("random bytes", srcs_fresh[3]), "random bytes", asn_nets)

        # 3. a good database written in place is picked up
        with open(srcs[1], "rb") as s, open(asn, "r+b") as f:
            f.truncate(0)
            f.write(s.read())
        run.wait_log("enrichment files changed on disk: reloaded", 1, "good file")
        check(run.flows("replaced", last), "replaced", isp_nets)
        log = run.logtext()
        print("log lines:\n  " + "\n  ".join(
            x for x in log.splitlines() if "reload" in x))
    finally:
        run.stop()
    if run.proc.returncode not in (0,):
        print("FAIL: collector exit status %d" % run.proc.returncode)
        return 1
    shutil.rmtree(tmp, ignore_errors=True)
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
