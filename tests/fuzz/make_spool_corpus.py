#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_spool (tests/corpus/spool/): segment and
state files of the Kafka spool (format: src/output/spool.c), valid ones
and ones broken the ways a crash or a damaged disk breaks them. The first
byte of each file is fuzz_spool's selector (0: segment, 1: state)."""
import os
import struct
import sys
import zlib


def record(kind, n, key, payload, crc_xor=0, length=None):
    head = struct.pack(">IBBHII", 0x46435352, kind, 0, len(key),
                       len(payload) if length is None else length, n)
    crc = zlib.crc32(head + key + payload) ^ crc_xor
    return head + struct.pack(">I", crc) + key + payload


def segment(seq=1, magic=b"FCSPOOL1"):
    return magic + struct.pack(">Q", seq)


def state(seg, off, skips, crc_xor=0, count=None):
    body = b"FCSPSTA1" + struct.pack(">QQI", seg, off, len(skips) if count is None else count)
    for s, o in skips:
        body += struct.pack(">QQ", s, o)
    return body + struct.pack(">I", zlib.crc32(body) ^ crc_xor)


# The three records fuzz_spool writes beside a state file: offsets 16, 48, 88.
A = record(0, 1, b"k1", b"A" * 10)
B = record(1, 1, b"", b"B" * 20)
C = record(0, 2, b"exporter", b"C" * 30)

FILES = {
    "seg-three-records": b"\0" + segment() + A + B + C,
    "seg-truncated-tail": b"\0" + segment() + A + B + C[:25],
    "seg-bad-crc": b"\0" + segment() + A + record(1, 1, b"", b"B" * 20, crc_xor=1) + C,
    "seg-bad-magic": b"\0" + segment(magic=b"FCSPOOL9") + A,
    "seg-wrong-seq": b"\0" + segment(seq=7) + A,
    "seg-huge-length": b"\0" + segment() + record(0, 1, b"", b"x" * 8, length=0xFFFFFFFF),
    "seg-header-only": b"\0" + segment(),
    "state-at-start": b"\1" + state(1, 16, []),
    "state-skip-middle": b"\1" + state(1, 16, [(1, 48)]),
    "state-at-end": b"\1" + state(1, 146, []),
    "state-past-end": b"\1" + state(1, 5000, []),
    "state-bad-crc": b"\1" + state(1, 48, [], crc_xor=4),
    "state-count-huge": b"\1" + state(1, 16, [], count=0xFFFFFFFF),
    "state-skips-backwards": b"\1" + state(1, 48, [(1, 16)]),
}

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "corpus",
                                                           "spool")
os.makedirs(out, exist_ok=True)
for name, data in FILES.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
