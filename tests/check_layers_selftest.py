#!/usr/bin/env python3
"""Shows that tools/check_layers.py can fail: it is run over small src/
trees written here, each with one planted fault (an upward include, a
peer include, a collector module including flowsink, a cycle inside a
module), and must report each one and exit 1; a clean tree must pass."""
import os
import subprocess
import sys
import tempfile

CHECK = sys.argv[1]

CASES = {
    "clean": ({"core/a.h": "", "decode/d.c": '#include "core/a.h"\n#include "fc/err.h"\n'}, 0,
              "no cycle"),
    "upward": ({"core/a.c": '#include "decode/d.h"\n', "decode/d.h": ""}, 1, "a higher layer"),
    "peer": ({"enrich/e.c": '#include "encode/pb.h"\n', "encode/pb.h": ""}, 1, "a peer"),
    "programs": ({"flowsink/s.c": '#include "decode/d.h"\n', "decode/d.h": ""}, 1,
                 "never include each other"),
    "cycle": ({"decode/a.c": '#include "decode/b.h"\n', "decode/a.h": "",
               "decode/b.c": '#include "decode/a.h"\n', "decode/b.h": ""}, 1, "cycle"),
}

failed = 0
for name, (files, want_rc, want_text) in CASES.items():
    with tempfile.TemporaryDirectory() as d:
        for rel, text in files.items():
            os.makedirs(os.path.join(d, os.path.dirname(rel)), exist_ok=True)
            with open(os.path.join(d, rel), "w") as f:
                f.write(text)
        r = subprocess.run([sys.executable, CHECK, d], capture_output=True, text=True)
        ok = r.returncode == want_rc and want_text in r.stdout
        print(("ok " if ok else "FAIL ") + name + ": " + r.stdout.strip().replace("\n", " | "))
        failed += not ok
sys.exit(1 if failed else 0)
