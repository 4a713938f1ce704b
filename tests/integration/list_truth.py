#!/usr/bin/env python3
"""Lists the ground-truth captures of one protocol in ../shared/testdata:
list_truth.py TESTDATA pcap|vendor nf5|nf9|ipfix|sflow. Prints nothing when
the test data is absent (the test then reports SKIP)."""
import json
import os
import sys

testdata, kind, proto = sys.argv[1:4]
names = {"nf5": ("netflow-v5", "NetFlow v5"), "nf9": ("netflow-v9", "NetFlow v9"),
         "ipfix": ("ipfix", "IPFIX"), "sflow": ("sflow-v5", "sFlow v5")}[proto]
if kind == "pcap":
    d = os.path.join(testdata, "pcap")
    if os.path.isdir(d):
        for f in sorted(os.listdir(d)):
            if f.endswith(".json"):
                meta = json.load(open(os.path.join(d, f)))
                if meta.get("protocol") == names[0] and os.path.exists(os.path.join(d, f[:-5] + ".pcap")):
                    print(f[:-5])
else:
    idx = os.path.join(testdata, "vendor", "INDEX.json")
    if os.path.exists(idx):
        for e in json.load(open(idx)):
            if e["protocol"] == names[1]:
                print(e["file"])
