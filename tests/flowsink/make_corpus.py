#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_record (tests/corpus/flowsink_record/):
Kafka record values, good and bad, built here from the protobuf wire rules
(field numbers of proto/flow.proto), so no file is copied from anywhere.
Run it again after changing the seeds; the files are committed."""
import os
import struct
import sys


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_varint(num, v):
    return varint(num << 3) + varint(v)


def field_bytes(num, b):
    return varint(num << 3 | 2) + varint(len(b)) + b


def flow(src, dst, exporter=b"\x0a\x00\x00\x01", proto=6, name=b"", country=b""):
    m = field_varint(1, 4) + field_bytes(11, exporter) + field_varint(9, 1500)
    m += field_varint(10, 3) + field_bytes(6, src) + field_bytes(7, dst)
    m += field_varint(20, proto) + field_varint(21, 443) + field_varint(22, 51000)
    m += field_varint(112, 1700000000 * 10**9) + field_varint(1021, 96000)
    if name:
        m += field_bytes(1012, name)
    if country:
        m += field_bytes(1000, country) + field_bytes(1001, country)
    return m


def frame(m):
    return varint(len(m)) + m


V4A, V4B = bytes([192, 0, 2, 1]), bytes([198, 51, 100, 7])
V6A = bytes.fromhex("20010db8000000000000000000000001")
V6M = bytes.fromhex("00000000000000000000ffffc0000202")

seeds = {
    "good-v4": frame(flow(V4A, V4B)),
    "good-v6": frame(flow(V6A, V4B, exporter=V6A, proto=17)),
    "good-v4mapped": frame(flow(V6M, V6A)),
    "good-named-exporter": frame(flow(V4A, V4B, name=b"edge-1\x01\xff", country=b"DE")),
    "good-ten-frames": b"".join(frame(flow(V4A, bytes([10, 0, 0, i]))) for i in range(10)),
    "good-empty-message": frame(b""),
    "bad-empty-record": b"",
    "bad-varint-unterminated": b"\xff" * 11,
    "bad-varint-cut": b"\x80",
    "bad-length-past-end": varint(200) + flow(V4A, V4B)[:20],
    "bad-length-too-big": varint(1 << 20) + b"\x00" * 16,
    "bad-protobuf-wiretype": frame(b"\x0f\x01\x02"),
    "bad-address-length": frame(field_bytes(6, b"\x01\x02\x03\x04\x05")),
    "bad-then-good": frame(b"\x0f") + frame(flow(V4A, V4B)),
    "bad-repeated-overflow": frame(field_bytes(102, b"\xff\xff\xff\xff\x0f" * 50)),
}

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "corpus", "flowsink_record")
os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
with open(os.path.join(out, "README"), "w") as f:
    f.write("Seeds of tests/flowsink/fuzz_record.c: Kafka record values (varint-framed\n"
            "FlowMessages), written by tests/flowsink/make_corpus.py. good-* decode to\n"
            "flows, bad-* exercise one failure each (named after what they break).\n")
print("%d seeds in %s" % (len(seeds), out))
