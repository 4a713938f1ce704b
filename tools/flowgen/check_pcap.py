#!/usr/bin/env python3
"""Self-check of flowgen's pcap output, without the collector.

Runs `flowgen --proto P --pcap-out F --json J` and re-reads F with a small
independent parser: every frame must be Ethernet/IPv4/UDP from 127.0.0.1
with consistent IP and UDP lengths and a valid IP header checksum,
timestamps must increase, and the export headers must add up to the flows
requested (NetFlow v5 record counts, NetFlow v9 record counts and
flowset lengths, IPFIX message and set lengths, sFlow flow-sample counts).
The JSON file must hold one line per flow. Exit 0 on success, 1 on failure.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, _, _, _, _, snap, link = struct.unpack("<IHHiIII", data[:24])
    assert magic == 0xA1B2C3D4, "not a little-endian microsecond pcap"
    assert link == 1, "linktype %d, want Ethernet" % link
    off, frames = 24, []
    while off < len(data):
        sec, usec, caplen, wirelen = struct.unpack("<IIII", data[off:off + 16])
        off += 16
        assert caplen == wirelen and off + caplen <= len(data), "truncated frame"
        frames.append((sec * 1000000 + usec, data[off:off + caplen]))
        off += caplen
    return frames


def udp_payload(frame):
    assert struct.unpack("!H", frame[12:14])[0] == 0x0800, "not IPv4"
    ip = frame[14:34]
    assert ip[0] == 0x45 and ip[9] == 17, "not IPv4/UDP without options"
    assert csum(ip) == 0xFFFF, "bad IPv4 header checksum"
    assert ip[12:16] == bytes([127, 0, 0, 1]), "exporter is not 127.0.0.1"
    total = struct.unpack("!H", ip[2:4])[0]
    assert total == len(frame) - 14, "IP total length %d vs frame %d" % (total, len(frame))
    ulen = struct.unpack("!H", frame[38:40])[0]
    assert ulen == total - 20, "UDP length"
    return frame[42:]


def flows_nf5(p):
    ver, count = struct.unpack("!HH", p[:4])
    assert ver == 5 and 1 <= count <= 30 and len(p) == 24 + 48 * count, "v5 header"
    return count


def flows_nf9(p):
    ver, count = struct.unpack("!HH", p[:4])
    assert ver == 9, "v9 version"
    off, records, data = 20, 0, 0
    while off < len(p):
        fid, flen = struct.unpack("!HH", p[off:off + 4])
        assert flen >= 4 and flen % 4 == 0 and off + flen <= len(p), "flowset length"
        body = p[off + 4:off + flen]
        if fid == 0:
            i = 0
            while i + 4 <= len(body):
                tid, n = struct.unpack("!HH", body[i:i + 4])
                if tid == 0:
                    break
                i += 4 + 4 * n
                records += 1
        elif fid == 1:
            records += 1
        elif fid == 258:
            records += len(body) // 10
        else:
            rl = 73 if fid == 256 else 95  # record lengths of templates 256/257
            n = len(body) // rl
            records += n
            data += n
        off += flen
    assert records == count, "v9 header count %d, records %d" % (count, records)
    return data


def flows_ipfix(p):
    ver, length = struct.unpack("!HH", p[:4])
    assert ver == 10 and length == len(p), "IPFIX message length"
    off, data = 16, 0
    while off < len(p):
        sid, slen = struct.unpack("!HH", p[off:off + 4])
        assert slen >= 4 and off + slen <= len(p), "set length"
        body = p[off + 4:off + slen]
        if sid == 256:
            assert len(body) % 85 == 0, "IPv4 set length"  # template 256: 85 bytes
            data += len(body) // 85
        elif sid == 257:
            i = 0
            while len(body) - i >= 112:  # 107 fixed bytes, varlen (>= 1), 4-byte PEN field
                i += 107
                vl = body[i]
                i += 1
                if vl == 255:
                    vl = struct.unpack("!H", body[i:i + 2])[0]
                    i += 2
                i += vl + 4
                data += 1
            assert len(body) - i < 4, "IPv6 set: %d bytes left over" % (len(body) - i)
        off += slen
    return data


def flows_sflow(p):
    ver, at = struct.unpack("!II", p[:8])
    assert ver == 5 and at == 1, "sFlow header"
    nsamples = struct.unpack("!I", p[24:28])[0]
    off, flows = 28, 0
    for _ in range(nsamples):
        fmt, slen = struct.unpack("!II", p[off:off + 8])
        assert slen % 4 == 0 and off + 8 + slen <= len(p), "sample length"
        if fmt in (1, 3):
            flows += 1
        off += 8 + slen
    assert off == len(p), "bytes after the last sample"
    return flows


def main():
    flowgen, proto = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    parse = {"nf5": flows_nf5, "nf9": flows_nf9, "ipfix": flows_ipfix, "sflow": flows_sflow}[proto]
    with tempfile.TemporaryDirectory() as d:
        pcap, js = os.path.join(d, "out.pcap"), os.path.join(d, "out.json")
        r = subprocess.run([flowgen, "--proto", proto, "--count", str(count), "--seed", "7",
                            "--pcap-out", pcap, "--json", js],
                           capture_output=True, text=True, timeout=60)
        sys.stderr.write(r.stderr)
        if r.returncode != 0:
            print("FAIL: flowgen exited %d" % r.returncode)
            return 1
        frames = read_pcap(pcap)
        total, last_ts = 0, -1
        for ts, fr in frames:
            assert ts > last_ts, "timestamps must increase"
            last_ts = ts
            total += parse(udp_payload(fr))
        with open(js) as f:
            lines = [json.loads(line) for line in f]
    print("%s: %d frames, %d flows in the pcap, %d JSON lines" % (proto, len(frames), total, len(lines)))
    if total != count or len(lines) != count:
        print("FAIL: wanted %d flows" % count)
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AssertionError as e:
        print("FAIL: %s" % e)
        sys.exit(1)
