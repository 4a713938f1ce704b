#!/usr/bin/env python3
"""docs/fields.md lists every field of proto/flow.proto and proto/counter.proto
with its number (a row "| N | `name` |"), so a field added to the schema
without a word in the document fails here.

  check_fields_doc.py SOURCE_ROOT
"""
import os
import re
import sys


def fields(path):
    out = []
    for line in open(path):
        m = re.match(r"\s*(repeated\s+)?[\w.]+\s+(\w+)\s*=\s*(\d+)\s*;", line.split("//")[0])
        if m:
            out.append((m.group(2), m.group(3)))
    return out


def main():
    root = sys.argv[1]
    doc = open(os.path.join(root, "docs", "fields.md")).read()
    missing = []
    total = 0
    for proto in ("flow.proto", "counter.proto"):
        for name, num in fields(os.path.join(root, "proto", proto)):
            total += 1
            if not re.search(r"^\| %s \| `%s` \|" % (num, re.escape(name)), doc, re.M):
                missing.append("%s %s = %s" % (proto, name, num))
    if missing:
        print("FAIL: docs/fields.md does not list: %s" % ", ".join(missing))
        return 1
    print("docs/fields.md lists all %d fields" % total)
    return 0


if __name__ == "__main__":
    sys.exit(main())
