"""Servers for the flowsink PostgreSQL tests and benchmark, started on
loopback by the test itself and stopped by PID (also on failure, from a
finally):

  - a PostgreSQL 15 cluster (Debian's postgresql-15: initdb in a temporary
    folder, trust auth, a random free port on 127.0.0.1, its socket in that
    folder). PostgreSQL refuses to run as root, so as root the cluster
    runs as user nobody (the folder is handed to it);
  - the collector's embedded mock Kafka: `collector --listen 127.0.0.1:P`
    without --kafka-brokers prints the mock cluster's address; flows are
    fed with `collector --pcap F --kafka-brokers ADDR`;
  - flowsink itself (start/kill).

psql runs the SQL (no Python PostgreSQL module on the machine).
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import time

# fail/skip/free_port/kill and the process bookkeeping are the Redis
# tests' (tests/flowsink/harness.py); only PostgreSQL is added here.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "flowsink"))
from harness import fail, free_port, kill, skip  # noqa: E402,F401
import harness  # noqa: E402

PGBIN = "/usr/lib/postgresql/15/bin"


class Servers(harness.Servers):
    """Owns every process a test starts; cleanup() ends them by PID."""

    def __init__(self):
        super().__init__(prefix="fc-flowsink-pg-")
        os.chmod(self.work, 0o755)  # the cluster may run as nobody
        self.pg = None
        self.conninfo = None

    def cleanup(self):
        # postgres last: a fast shutdown (SIGINT) lets it remove its files
        for p in self.procs:
            if p is not self.pg and p.poll() is None:
                p.kill()
                p.wait()
        if self.pg and self.pg.poll() is None:
            self.pg.send_signal(signal.SIGINT)
            try:
                self.pg.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.pg.kill()
                self.pg.wait()
        shutil.rmtree(self.work, ignore_errors=True)

    def start_postgres(self):
        if not os.access(os.path.join(PGBIN, "initdb"), os.X_OK) or not shutil.which("psql"):
            skip("PostgreSQL 15 not found in %s (apt-get install postgresql-15)" % PGBIN)
        user = None
        pgdir = os.path.join(self.work, "pg")
        os.mkdir(pgdir, 0o700)
        if os.geteuid() == 0:
            user = "nobody"
            shutil.chown(pgdir, user)
        r = subprocess.run([os.path.join(PGBIN, "initdb"), "-D", os.path.join(pgdir, "data"),
                            "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"],
                           capture_output=True, text=True, user=user, cwd=pgdir, timeout=120)
        if r.returncode != 0:
            fail("initdb: " + r.stderr[-2000:])
        port = free_port()
        self.pg = self.spawn([os.path.join(PGBIN, "postgres"), "-D", os.path.join(pgdir, "data"),
                              "-p", str(port), "-c", "listen_addresses=127.0.0.1",
                              "-c", "unix_socket_directories=" + pgdir,
                              "-c", "max_wal_size=1GB"],
                             "postgres", user=user, cwd=pgdir)
        self.conninfo = "host=127.0.0.1 port=%d user=postgres dbname=postgres" % port
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.pg.poll() is not None:
                fail("postgres exited: " + open(self.pg.errpath).read()[-2000:])
            r = subprocess.run(["psql", self.conninfo, "-Atc", "SELECT 1"],
                               capture_output=True, text=True)
            if r.returncode == 0:
                return self.conninfo
            time.sleep(0.1)
        fail("postgres did not accept connections within 30 s")
        return None

    def psql(self, sql=None, file=None, check=True):
        cmd = ["psql", self.conninfo, "-v", "ON_ERROR_STOP=1", "-qAt", "-F", "\t"]
        cmd += ["-f", file] if file else ["-c", sql]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if check and r.returncode != 0:
            fail("psql %s: %s" % (file or sql[:80], r.stderr[-2000:]))
        return [l.split("\t") for l in r.stdout.splitlines()] if r.stdout else []

    def feed(self, collector, pcaps, json_out, extra=()):
        """Replays captures into the topic; their flows also go to json_out.
        Returns how many flows Kafka acknowledged."""
        cmd = [collector]
        for p in pcaps:
            cmd += ["--pcap", p]
        r = subprocess.run(cmd + ["--kafka-brokers", self.kafka, "--kafka-key", "flow",
                                  "--output", "kafka", "--output", "json:" + json_out]
                           + list(extra), capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            fail("collector --pcap exited %d: %s" % (r.returncode, r.stderr[-2000:]))
        m = re.search(r"flowcollector_kafka_delivered_total(?:\{[^}]*\})? (\d+)", r.stderr)
        return int(m.group(1)) if m else None

    def start_flowsink(self, flowsink, extra=(), name="flowsink"):
        return self.spawn([flowsink, "--prometheus-listen", "off", "--brokers", self.kafka, "--postgres", self.conninfo,
                           "--group", "pg-test"] + list(extra), name)
