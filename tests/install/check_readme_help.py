#!/usr/bin/env python3
"""README.md's option block is a verbatim copy of `collector --help`: the
indented block that starts with collector's Usage line, de-indented, must
equal the program's output byte for byte (regenerate it from the built
binary when an option changes).

  check_readme_help.py COLLECTOR README.md

Exit 0 pass, 1 fail (with a unified diff)."""
import difflib
import subprocess
import sys

collector, readme = sys.argv[1:3]
help_text = subprocess.run([collector, "--help"], capture_output=True, text=True,
                           check=True).stdout
lines = open(readme).read().split("\n")
start = next((i for i, l in enumerate(lines) if l.startswith("    Usage: collector ")), None)
if start is None:
    print("FAIL: README.md has no indented block starting with '    Usage: collector '")
    sys.exit(1)
block = []
for l in lines[start:]:
    if l.startswith("    ") or l == "":
        block.append(l[4:])
    else:
        break
while block and block[-1] == "":
    block.pop()
got = "\n".join(block) + "\n"
if got == help_text:
    print("ok: README's option block equals collector --help (%d lines)" % len(block))
    sys.exit(0)
sys.stdout.writelines(difflib.unified_diff(got.splitlines(True), help_text.splitlines(True),
                                           "README.md", "collector --help"))
print("FAIL: README's option block differs from collector --help")
sys.exit(1)
