#!/usr/bin/env python3
"""`meson install --destdir` into a temporary folder, then the tree is
checked against the layout meson.build promises: binaries that run, man
pages that render without groff warnings and list every option the program's
--help lists, README and LICENSE, the schemas, the example config, and a
systemd unit whose ExecStart and Documentation= point at installed files.

  check_install.py MESON BUILD_ROOT key=path...   (paths from meson.build)

Exit 0 pass, 1 fail."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

fails = []


def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg)
    if not cond:
        fails.append(msg)


def options(help_text):
    return sorted(set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]+)", help_text)))


def main():
    meson, build = sys.argv[1:3]
    p = dict(a.split("=", 1) for a in sys.argv[3:])
    with tempfile.TemporaryDirectory() as dest:
        r = subprocess.run([meson, "install", "-C", build, "--destdir", dest, "--no-rebuild",
                            "--quiet"], capture_output=True, text=True)
        check(r.returncode == 0, "meson install --destdir exits 0 " + r.stderr.strip()[-300:])
        root = lambda path: dest + path
        progs = p["programs"].split(",")
        for prog in progs:
            exe = root(os.path.join(p["bindir"], prog))
            check(os.access(exe, os.X_OK), "%s installed in %s" % (prog, p["bindir"]))
            if not os.access(exe, os.X_OK):
                continue
            v = subprocess.run([exe, "--version"], capture_output=True, text=True)
            check(v.returncode == 0 and v.stdout.startswith(prog + " ") and
                  "librdkafka" in v.stdout and "commit: " in v.stdout,
                  "installed %s --version: %s" % (prog, v.stdout.splitlines()[:1]))
            if p["man"] != "true":
                continue
            page = root(os.path.join(p["mandir"], "man1", prog + ".1"))
            check(os.path.isfile(page), "%s(1) installed" % prog)
            if not os.path.isfile(page):
                continue
            m = subprocess.run(["man", "--warnings", "-l", page], capture_output=True, text=True,
                               env=dict(os.environ, MANWIDTH="80", MAN_DISABLE_SECCOMP="1"))
            check(m.returncode == 0 and m.stderr.strip() == "",
                  "man --warnings -l %s.1: no warnings %s" % (prog, m.stderr.strip()[:300]))
            h = subprocess.run([exe, "--help"], capture_output=True, text=True)
            text = re.sub(r"\u2010|\u2011", "-", m.stdout)
            missing = [o for o in options(h.stdout) if o not in text]
            check(h.returncode == 0 and options(h.stdout) and not missing,
                  "%s(1) lists every option of %s --help %s" % (prog, prog, missing or ""))
        for f in ("README.md", "LICENSE"):
            check(os.path.isfile(root(os.path.join(p["docdir"], f))), "%s in %s" % (f, p["docdir"]))
        for f in ("proto/flow.proto", "proto/counter.proto", "clickhouse/schema.sql",
                  "clickhouse/queries.sql", "postgres/schema.sql", "postgres/queries.sql"):
            check(os.path.isfile(root(os.path.join(p["pkgdatadir"], f))),
                  "%s in %s" % (f, p["pkgdatadir"]))
        ini = root(os.path.join(p["sysconfdir"], "flowcollector", "collector.ini"))
        check(os.path.isfile(ini), "example config in %s/flowcollector" % p["sysconfdir"])
        for unit in p["units"].split(","):
            path = root(os.path.join(p["unitdir"], unit))
            check(os.path.isfile(path), "%s in %s" % (unit, p["unitdir"]))
            if not os.path.isfile(path):
                continue
            text = open(path).read()
            check("@" not in re.sub(r"(?m)^#.*$", "", text), "%s: every @path@ filled in" % unit)
            execs = re.findall(r"(?m)^ExecStart=(\S+)", text)
            check(execs and all(os.access(root(e), os.X_OK) for e in execs),
                  "%s: ExecStart %s is an installed binary" % (unit, execs))
            conf = re.findall(r"--config (\S+)", text)
            check(all(os.path.isfile(root(c)) for c in conf),
                  "%s: --config %s is installed" % (unit, conf))
            docs = re.findall(r"(?m)^Documentation=(.*)$", text)
            targets = " ".join(docs).split()
            check(targets, "%s has Documentation=" % unit)
            for d in targets:
                if d.startswith("file://"):
                    ok = os.path.isfile(root(d[len("file://"):]))
                elif d.startswith("man:"):
                    mm = re.match(r"man:([\w.-]+)\((\d)\)", d)
                    ok = bool(mm) and (p["man"] != "true" or os.path.isfile(root(os.path.join(
                        p["mandir"], "man" + mm.group(2), mm.group(1) + "." + mm.group(2)))))
                else:
                    ok = False
                check(ok, "%s: Documentation=%s is installed" % (unit, d))
    print("%d failed" % len(fails))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
