#!/usr/bin/env python3
"""Include-layering check for src/ (and include/fc/).

Owns the layer order of docs/DESIGN.md §2 and §6 written down as data, and
checks every `#include "..."` line of src/ against it:

  * a module may include its own files and modules of a LOWER layer only;
    two different modules of the same layer never include each other;
  * the collector's modules and flowsink's modules never include each other
    (both sit on the shared layers);
  * the graph of compilation units (foo.c + foo.h count as one node) has no
    cycle, also inside one module.

Usage: check_layers.py [SRCDIR]   (default: src/ next to this script's parent)
Prints one line per violation and exits 1 when there is any; otherwise
prints a summary and exits 0.
"""
import os
import re
import sys

# Bottom to top. Same number = peers that must not include each other.
# The shared layers (core, fc, proto, metrics, http) sit below both programs.
LAYERS = {
    # 0: the bottom: cursor, errors, log, address helpers, cross-module contracts
    "core": 0,
    # 1: shared below both programs (generated protobuf code, metrics, HTTP)
    "proto": 1, "metrics": 1, "http": 1,
    # collector: the option table every engine reads as a filled config
    "config": 2,
    # one L2-L4 header parser, used by pcap input and by sFlow
    "packet": 3,
    # v9/IPFIX template store below the decoders that use it
    "template": 4,
    # decoders; enrichment and encoding are peers of them and of each other
    "decode": 5, "enrich": 5, "encode": 5,
    # outputs (use encode) and inputs (use packet)
    "output": 6, "input": 6,
    # the worker data path that wires decode, enrich, encode and outputs
    "pipeline": 7,
    # main.c knows every module
    "main": 9,
    # flowsink (planned): its own tree, on the shared layers only
    "flowsink": 2,
}
COLLECTOR = {"config", "packet", "template", "decode", "enrich", "encode",
             "output", "input", "pipeline", "main"}
FLOWSINK = {"flowsink"}
PROTO_HEADERS = re.compile(r"^[a-z_]+\.pb-c\.h$")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def module_of(rel):
    """Module of a path relative to src/ (or an include target)."""
    if PROTO_HEADERS.match(os.path.basename(rel)) and "/" not in rel:
        return "proto"
    parts = rel.split("/")
    if parts[0] == "fc":
        return "core"  # include/fc/: core's public contracts, one layer with it
    if len(parts) == 1:
        return "main" if parts[0] == "main.c" else parts[0]
    return parts[0]


def unit_of(rel):
    return os.path.splitext(rel)[0]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "src")
    src = os.path.normpath(src)
    problems = []
    edges = {}
    n_lines = 0
    for root, _, files in os.walk(src):
        for name in sorted(files):
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(root, name)
            rel = os.path.relpath(path, src)
            mod = module_of(rel)
            with open(path, encoding="utf-8") as f:
                for lineno, line in enumerate(f, 1):
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    n_lines += 1
                    target = m.group(1)
                    tmod = module_of(target)
                    where = f"src/{rel}:{lineno}"
                    if mod not in LAYERS:
                        problems.append(f"{where}: module '{mod}' has no layer in check_layers.py")
                        continue
                    if tmod not in LAYERS:
                        problems.append(f"{where}: includes {target}: module '{tmod}' has no layer")
                        continue
                    if not target.startswith("fc/") and tmod != "proto":
                        edges.setdefault(unit_of(rel), set()).add(unit_of(target))
                    if tmod == mod:
                        continue
                    if (mod in COLLECTOR and tmod in FLOWSINK) or \
                       (mod in FLOWSINK and tmod in COLLECTOR):
                        problems.append(f"{where}: {mod} includes {target}: "
                                        "collector and flowsink never include each other")
                    elif LAYERS[tmod] >= LAYERS[mod]:
                        kind = "a peer" if LAYERS[tmod] == LAYERS[mod] else "a higher layer"
                        problems.append(f"{where}: {mod} (layer {LAYERS[mod]}) includes "
                                        f"{target}, {kind} ({tmod}, layer {LAYERS[tmod]})")
    problems += find_cycles(edges)
    for p in problems:
        print(p)
    if problems:
        print(f"check_layers: {len(problems)} problem(s) in {n_lines} include lines")
        return 1
    print(f"check_layers: {n_lines} include lines, {len(edges)} units: no upward include, "
          "no cycle")
    return 0


def find_cycles(edges):
    """Every elementary cycle is not needed: one per strongly connected
    component (Tarjan), named by its members, is enough to act on."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]
    nodes = set(edges) | {t for ts in edges.values() for t in ts}

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w == v:
                continue
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append("include cycle between units: " + " <-> ".join(sorted(comp)))

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            strong(v)
    return out


if __name__ == "__main__":
    sys.exit(main())
