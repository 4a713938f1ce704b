"""Servers for the flowsink tests and benchmark, started on loopback by the
test itself and stopped by PID (also on failure, from a finally):

  - redis-server (Debian's) in a temporary directory, AOF on with
    appendfsync always, a random free port, --bind 127.0.0.1;
  - the collector's embedded mock Kafka: `collector --listen 127.0.0.1:P`
    with no --kafka-brokers prints the mock cluster's bootstrap address;
    flows are fed with `collector --pcap F --kafka-brokers ADDR`.

A minimal RESP client (no Python Redis module on the machine) reads what
flowsink wrote.
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


class Redis:
    """Just enough RESP2 for tests: commands in, decoded replies out."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = bytearray()
        self.pos = 0  # read position in buf: no copying per line

    def close(self):
        self.sock.close()

    def _fill(self):
        if self.pos > (1 << 20):
            del self.buf[:self.pos]
            self.pos = 0
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("redis closed the connection")
        self.buf += chunk

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n", self.pos)
            if i >= 0:
                line = bytes(self.buf[self.pos:i])
                self.pos = i + 2
                return line
            self._fill()

    def _exact(self, n):
        while len(self.buf) - self.pos < n + 2:
            self._fill()
        data = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n + 2
        return data

    def _reply(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n).decode()
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise RuntimeError("bad RESP reply %r" % line)

    def cmd(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        return self._reply()

    def hgetall(self, key):
        r = self.cmd("HGETALL", key) or []
        return {r[i]: r[i + 1] for i in range(0, len(r), 2)}


class Servers:
    """Owns every process a test starts; stop() ends them by PID."""

    def __init__(self, prefix="fc-flowsink-"):
        self.work = tempfile.mkdtemp(prefix=prefix)
        self.procs = []
        self.redis_port = None
        self.kafka = None

    def spawn(self, cmd, name, **kw):
        err = open(os.path.join(self.work, name + ".err"), "a")  # a restart appends
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, **kw)
        p.errpath = err.name
        err.close()
        self.procs.append(p)
        return p

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.work, ignore_errors=True)

    def start_redis(self, appendfsync="always"):
        exe = shutil.which("redis-server")
        if not exe:
            skip("redis-server not found (apt-get install redis-server)")
        self.redis_port = free_port()
        rdir = os.path.join(self.work, "redis")
        os.mkdir(rdir)
        p = self.spawn([exe, "--port", str(self.redis_port), "--bind", "127.0.0.1",
                        "--dir", rdir, "--appendonly", "yes", "--appendfsync", appendfsync,
                        "--save", "", "--daemonize", "no", "--protected-mode", "yes"], "redis")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if p.poll() is not None:
                fail("redis-server exited: " + open(p.errpath).read()[-2000:])
            try:
                r = Redis(self.redis_port)
                if r.cmd("PING") == "PONG":
                    return r
            except OSError:
                time.sleep(0.05)
        fail("redis-server did not answer PING within 10 s")
        return None

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

    def feed(self, collector, pcap, json_out, extra=()):
        """Replays a capture into the topic; its flows also go to json_out."""
        r = subprocess.run([collector, "--pcap", pcap, "--kafka-brokers", self.kafka,
                            "--kafka-key", "none", "--output", "kafka",
                            "--output", "json:" + json_out] + list(extra),
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            fail("collector --pcap %s exited %d: %s" % (pcap, r.returncode, r.stderr[-2000:]))
        m = re.search(r"flowcollector_kafka_delivered_total(?:\{[^}]*\})? (\d+)", r.stderr)
        return int(m.group(1)) if m else None


def kill(p, sig=signal.SIGTERM, timeout=30):
    if p.poll() is None:
        p.send_signal(sig)
    try:
        return p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        gdb = shutil.which("gdb")
        if gdb:  # where it hangs, for the failure report
            bt = subprocess.run([gdb, "-p", str(p.pid), "-batch", "-ex", "thread apply all bt"],
                                capture_output=True, text=True, timeout=60)
            print(bt.stdout[-6000:], flush=True)
        p.kill()
        p.wait()
        fail("process %d did not exit within %d s of signal %d" % (p.pid, timeout, sig))
    return None
