#!/usr/bin/env python3
"""README.md's option blocks are verbatim copies of each program's `--help`:
the indented block that starts with the program's usage line, de-indented,
must equal the program's output byte for byte (regenerate it from the built
binary when an option changes).

  check_readme_help.py PROGRAM README.md

Exit 0 pass, 1 fail (with a unified diff)."""
import difflib
import subprocess
import sys

program, readme = sys.argv[1:3]
name = program.rsplit("/", 1)[-1]
help_text = subprocess.run([program, "--help"], capture_output=True, text=True,
                           check=True).stdout
first = "    " + help_text.split("\n", 1)[0]
lines = open(readme).read().split("\n")
start = next((i for i, l in enumerate(lines) if l == first), None)
if start is None:
    print("FAIL: README.md has no indented block starting with %r" % first)
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
    print("ok: README's option block equals %s --help (%d lines)" % (name, len(block)))
    sys.exit(0)
sys.stdout.writelines(difflib.unified_diff(got.splitlines(True), help_text.splitlines(True),
                                           "README.md", name + " --help"))
print("FAIL: README's option block differs from %s --help" % name)
sys.exit(1)
