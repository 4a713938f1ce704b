#!/usr/bin/env python3
"""The pcap input across link types, transports and IP fragments.

Builds one NetFlow v5 datagram (30 records), wraps it in captures of every
link type `--pcap` supports (Ethernet with and without 802.1Q / QinQ, Linux
cooked v1 and v2, raw IP, LINKTYPE_IPV4/IPV6, BSD loopback in both byte
orders), over IPv4 and IPv6, whole and split into IP fragments delivered out
of order, with unrelated frames around it; then checks that `collector
--pcap F --output json:-` decodes the same 30 flows from each, with the
exporter address, port and capture time from the frame. A corrupt and a
missing capture must fail with a message and a non-zero exit.

  check_pcap_input.py COLLECTOR
"""
import ipaddress
import json
import os
import struct
import subprocess
import sys
import tempfile

SRC4, DST4 = "198.51.100.7", "203.0.113.9"
SRC6, DST6 = "2001:db8:5::7", "2001:db8:6::9"
SPORT, DPORT = 40123, 2055
TS = 1700000000


def v5_datagram(n=30):
    hdr = struct.pack(">HHIIIIBBH", 5, n, 100000, TS, 0, 1, 0, 0, 0)
    recs = b"".join(struct.pack(">IIIHHIIIIHHBBBBHHBBH", 0x0a000000 + i, 0x0a010000 + i, 0,
                                1, 2, 3, 100 + i, 90000, 99000, 1000 + i, 80, 0, 0x10, 6, 0,
                                0, 0, 0, 0, 0) for i in range(n))
    return hdr + recs


def udp(payload, sport=SPORT, dport=DPORT):
    return struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload


def ipv4(payload, proto=17, ident=0x1234, off=0, mf=False, total=None):
    flags = (0x2000 if mf else 0) | (off // 8)
    return struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, flags, 64, proto,
                       0, ipaddress.ip_address(SRC4).packed,
                       ipaddress.ip_address(DST4).packed) + payload


def ipv6(payload, nh=17):
    return struct.pack(">IHBB16s16s", 6 << 28, len(payload), nh, 64,
                       ipaddress.ip_address(SRC6).packed,
                       ipaddress.ip_address(DST6).packed) + payload


def ipv6_frag(payload, off, mf, ident=0xabcdef):
    fh = struct.pack(">BBHI", 17, 0, off | (1 if mf else 0), ident)
    return ipv6(fh + payload, nh=44)


def fragments(l4, size):
    """Splits an L4 payload into (offset, chunk, more) of size bytes (x8)."""
    out = []
    for off in range(0, len(l4), size):
        out.append((off, l4[off:off + size], off + size < len(l4)))
    return out


def eth(l3, etype, tags=()):
    h = b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02"
    for tpid, vid in tags:
        h += struct.pack(">HH", tpid, vid)
    return h + struct.pack(">H", etype) + l3


def sll(l3, etype):
    return struct.pack(">HHH8sH", 0, 1, 6, b"\x02" * 6 + b"\0\0", etype) + l3


def sll2(l3, etype):
    return struct.pack(">HHIHBB8s", etype, 0, 1, 1, 0, 6, b"\x02" * 6 + b"\0\0") + l3


def write_pcap(path, linktype, frames, snaplen=65535):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, snaplen, linktype))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", TS + i, 500000, len(fr), len(fr)) + fr)


def cases():
    d = v5_datagram()
    u = udp(d)
    v4, v6 = ipv4(u), ipv6(u)
    tcp_noise = eth(ipv4(b"\0" * 20, proto=6), 0x0800)
    arp_noise = eth(b"\0" * 28, 0x0806)
    frag4 = [ipv4(c, off=o, mf=m) for o, c, m in fragments(u, 512)]
    frag6 = [ipv6_frag(c, o, m) for o, c, m in fragments(u, 512)]
    yield "ethernet", 1, [arp_noise, eth(v4, 0x0800), tcp_noise], SRC4
    yield "802.1q", 1, [eth(v4, 0x0800, [(0x8100, 10)])], SRC4
    yield "qinq", 1, [eth(v4, 0x0800, [(0x88a8, 100), (0x8100, 10)])], SRC4
    yield "ethernet-ipv6", 1, [eth(v6, 0x86dd)], SRC6
    yield "linux-sll", 113, [sll(v4, 0x0800)], SRC4
    yield "linux-sll2-ipv6", 276, [sll2(v6, 0x86dd)], SRC6
    yield "raw-ipv4", 101, [v4], SRC4
    yield "raw-ipv6", 101, [v6], SRC6
    yield "linktype-ipv4", 228, [v4], SRC4
    yield "linktype-ipv6", 229, [v6], SRC6
    yield "bsd-null", 0, [struct.pack("<I", 2) + v4], SRC4
    yield "bsd-loop", 108, [struct.pack(">I", 2) + v4], SRC4
    yield "ipv4-fragments-reordered", 1, [eth(f, 0x0800) for f in reversed(frag4)], SRC4
    yield "ipv6-fragments", 1, [eth(f, 0x86dd) for f in frag6], SRC6


def run(collector, path):
    return subprocess.run([collector, "--log-level", "warn", "--pcap", path, "--output", "json:-"],
                          capture_output=True, text=True, timeout=60)


def main():
    collector = sys.argv[1]
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for name, lt, frames, exporter in cases():
            path = os.path.join(tmp, name + ".pcap")
            write_pcap(path, lt, frames)
            r = run(collector, path)
            flows = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
            good = (r.returncode == 0 and len(flows) == 30 and
                    all(f["sampler_address"] == exporter and f["exporter_port"] == SPORT and
                        f["bytes"] == 100 + i and f["src_port"] == 1000 + i
                        for i, f in enumerate(flows)))
            ok &= good
            print("%-26s %d flows -> %s" % (name, len(flows), "ok" if good else "FAIL"))
            if not good:
                print(r.stderr[-1500:])
        # Hostile captures: decoded as far as valid, never a crash.
        # 80 frames of 262000 bytes whose IP and UDP lengths are 0 (as in
        # offloaded captures): longer than any UDP payload, so skipped.
        big = os.path.join(tmp, "oversize.pcap")
        frame = eth(struct.pack(">BBHHHBBH4s4s", 0x45, 0, 0, 1, 0, 64, 17, 0,
                                ipaddress.ip_address(SRC4).packed,
                                ipaddress.ip_address(DST4).packed) +
                    struct.pack(">HHHH", SPORT, DPORT, 0, 0) + b"\0" * 261958, 0x0800)
        write_pcap(big, 1, [frame] * 80 + [eth(ipv4(udp(v5_datagram())), 0x0800)], 262144)
        # Two fragments that touch every 8-byte block but leave bytes 1-7
        # missing: not a datagram.
        u = udp(v5_datagram())
        holes = os.path.join(tmp, "holes.pcap")
        write_pcap(holes, 1, [eth(ipv4(u[:1], mf=True), 0x0800),
                              eth(ipv4(u[8:], off=8), 0x0800)])
        for name, path, want in (("oversize-lengths-0", big, 30), ("fragment-holes", holes, 0)):
            r = run(collector, path)
            n = len([x for x in r.stdout.splitlines() if x.strip()])
            good = r.returncode == 0 and n == want
            ok &= good
            print("%-26s %d flows, exit %d -> %s" % (name, n, r.returncode, "ok" if good else "FAIL"))
        bad = os.path.join(tmp, "corrupt.pcap")
        with open(bad, "wb") as f:
            f.write(b"\xd4\xc3\xb2\xa1\x02\x00")
        for name, path in (("corrupt", bad), ("missing", os.path.join(tmp, "nope.pcap"))):
            r = run(collector, path)
            good = r.returncode != 0 and "cannot read capture" in r.stderr
            ok &= good
            print("%-26s exit %d -> %s" % (name, r.returncode, "ok" if good else "FAIL"))
    print("pcap input: %s" % ("ok" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
