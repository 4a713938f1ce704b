#!/usr/bin/env python3
"""Lists the ground-truth captures of one protocol in ../shared/testdata:
list_truth.py TESTDATA pcap|vendor nf5|nf9|ipfix|sflow. Prints nothing when
the test data is absent. meson reads it at configure time to name one test
per capture; the checkers call names() at run time for the catch-all test
registered when the data was absent then (so data added later is found)."""
import json
import os
import sys


def names(testdata, kind, proto):
    label = {"nf5": ("netflow-v5", "NetFlow v5"), "nf9": ("netflow-v9", "NetFlow v9"),
             "ipfix": ("ipfix", "IPFIX"), "sflow": ("sflow-v5", "sFlow v5")}[proto]
    out = []
    if kind == "pcap":
        d = os.path.join(testdata, "pcap")
        if os.path.isdir(d):
            for f in sorted(os.listdir(d)):
                if f.endswith(".json"):
                    meta = json.load(open(os.path.join(d, f)))
                    if meta.get("protocol") == label[0] and \
                            os.path.exists(os.path.join(d, f[:-5] + ".pcap")):
                        out.append(f[:-5])
    else:
        idx = os.path.join(testdata, "vendor", "INDEX.json")
        if os.path.exists(idx):
            for e in json.load(open(idx)):
                if e["protocol"] == label[1]:
                    out.append(e["file"])
    return out


if __name__ == "__main__":
    for n in names(*sys.argv[1:4]):
        print(n)
