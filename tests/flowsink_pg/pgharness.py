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
import socket
import subprocess
import sys
import tempfile
import time

PGBIN = "/usr/lib/postgresql/15/bin"
BANNER = re.compile(r"embedded Kafka \(in-memory, for trials\) at (\S+), topic (\S+)")


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def skip(msg):
    print("SKIP: " + msg, flush=True)
    sys.exit(77)


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def kill(p, sig=signal.SIGTERM, timeout=30):
    if p.poll() is None:
        p.send_signal(sig)
    try:
        return p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        fail("process %d did not exit within %d s of signal %d" % (p.pid, timeout, sig))
    return None


class Servers:
    """Owns every process a test starts; cleanup() ends them by PID."""

    def __init__(self):
        self.work = tempfile.mkdtemp(prefix="fc-flowsink-pg-")
        os.chmod(self.work, 0o755)
        self.procs = []
        self.kafka = None
        self.pg = None
        self.conninfo = None

    def spawn(self, cmd, name, **kw):
        err = open(os.path.join(self.work, name + ".err"), "a")
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, **kw)
        p.errpath = err.name
        err.close()
        self.procs.append(p)
        return p

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

    def start_kafka(self, collector):
        p = self.spawn([collector, "--http-listen", "off", "--listen", "127.0.0.1:%d" % free_port(socket.SOCK_DGRAM)],
                       "kafka-holder")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            m = BANNER.search(open(p.errpath).read())
            if m:
                self.kafka = m.group(1)
                return self.kafka
            if p.poll() is not None:
                break
            time.sleep(0.05)
        fail("collector did not print its embedded Kafka address: " + open(p.errpath).read())
        return None

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
