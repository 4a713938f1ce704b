#!/usr/bin/env python3
"""flowsink --postgres against a real PostgreSQL 15 and the collector's
embedded Kafka (servers from pgharness.py, stopped by PID also on failure).

crash mode (flowgen captures, always runs):
  deploy/postgres/schema.sql is loaded (twice: it must be re-runnable);
  10 000 flows (NetFlow v5 stamped within the last 25 minutes, IPFIX 3 hours
  ago) go collector -> Kafka; flowsink copies them in small batches and is
  killed with SIGKILL twice mid-stream and restarted, the last time with
  --postgres-retention 30 and a second member joining the group midway. Then the table must hold exactly the flows sent,
  each once (compared row by row with the collector's JSON), the stored
  offsets must account for every record, the day partitions must exist
  ahead, the 40-day-old partition planted before must be gone, and the
  queries of deploy/postgres/queries.sql (shown verbatim in deploy/README.md)
  must return what the flows imply.
truth mode (SKIP without ../shared/testdata):
  the ground-truth captures replayed collector -> Kafka -> flowsink ->
  PostgreSQL: SELECT count(*), sum(bytes) must equal the truth's flow count
  and the sum of its CSV's bytes.

  e2e_flowsink_pg.py MODE --collector C --flowsink S --flowgen G --source-root DIR
Exit 0 pass, 1 fail, 77 skip.
"""
import argparse
import csv
import ipaddress
import json
import os
import re
import signal
import sys
import time
from collections import Counter, defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pgharness as h  # noqa: E402

# ../shared/testdata beside the source tree (FC_TESTDATA from meson says where)
TESTDATA = os.path.join(os.environ.get("FC_TESTDATA") or
                        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                     "shared", "testdata"), "pcap")
# Unsampled captures whose truth counts every flow the collector emits
# (flowsink stores bytes_scaled, equal to bytes without sampling).
TRUTH_CAPTURES = ["fprobe-v5", "softflowd-v5", "pmacct-nfprobe-v5", "pmacct-nfprobe-v9",
                  "pmacct-nfprobe-ipfix", "softflowd-ipfix", "nfdump-nfreplay-v9"]

ROW_SQL = ("SELECT (extract(epoch FROM time) * 1000000)::bigint, host(exporter), host(src_addr), "
           "host(dst_addr), proto, src_port, dst_port, src_as, dst_as, bytes, packets FROM flows")


def ip(s):
    return ipaddress.ip_address(s).compressed if s else ""


def expected_row(f):
    """What flowsink writes for a flow of the collector's JSON."""
    t = f.get("time_flow_end_ns") or f.get("time_received_ns", 0)
    return (t // 1000, ip(f.get("sampler_address")), ip(f.get("src_addr")),
            ip(f.get("dst_addr")), f.get("proto", 0), f.get("src_port", 0),
            f.get("dst_port", 0), f.get("src_as", 0), f.get("dst_as", 0),
            f.get("bytes_scaled") or f.get("bytes", 0),
            f.get("packets_scaled") or f.get("packets", 0))


def pg_row(r):
    return (int(r[0]), ip(r[1]), ip(r[2]), ip(r[3])) + tuple(int(v) for v in r[4:])


def count(s):
    return int(s.psql("SELECT count(*) FROM flows")[0][0])


def wait_count(s, want, procs, timeout):
    deadline = time.monotonic() + timeout
    n = -1
    while time.monotonic() < deadline:
        n = count(s)
        if n >= want:
            return n
        for p in procs:
            if p.poll() is not None:
                h.fail("flowsink exited %s: %s" % (p.returncode, open(p.errpath).read()[-3000:]))
        time.sleep(0.02)
    return n


def readme_queries(path):
    out, name, buf = {}, None, []
    for line in open(path):
        m = re.match(r"-- name: (\S+)", line)
        if m:
            name, buf = m.group(1), []
            continue
        if name is None or line.startswith("--"):
            continue
        buf.append(line)
        if line.rstrip().endswith(";"):
            out[name] = "".join(buf).strip()
            name = None
    return out


def check_queries(s, root, flows, failures):
    queries = readme_queries(os.path.join(root, "deploy", "postgres", "queries.sql"))
    readme = open(os.path.join(root, "deploy", "README.md")).read()
    if sorted(queries) != ["bytes-per-as-pair", "top-talkers-last-hour"]:
        failures.append("postgres/queries.sql names %s" % sorted(queries))
    for name, q in queries.items():
        if q not in readme:
            failures.append("deploy/README.md does not show postgres query %s verbatim" % name)
    rows = {name: s.psql(q) for name, q in queries.items()}
    t_query = time.time()
    rws = [expected_row(f) for f in flows]
    talk = defaultdict(lambda: [0, 0, 0])
    for r in rws:
        if r[0] >= (t_query - 3600) * 10**6:
            v = talk[r[2]]
            v[0] += r[9]
            v[1] += r[10]
            v[2] += 1
    top = rows["top-talkers-last-hour"]
    want_top = sorted((v[0] for v in talk.values()), reverse=True)[:10]
    if [int(r[1]) for r in top] != want_top or \
            any(talk.get(ip(r[0])) != [int(x) for x in r[1:]] for r in top):
        failures.append("postgres top talkers %s, expected volumes %s" % (top, want_top))
    else:
        print("top-talkers-last-hour: %d rows as expected (%d sources in the last hour)" %
              (len(top), len(talk)))
    pair = defaultdict(lambda: [0, 0, 0])
    for r in rws:
        if r[0] // 10**6 // 300 * 300 >= t_query - 86400:
            v = pair[(r[7], r[8])]
            v[0] += r[9]
            v[1] += r[10]
            v[2] += 1
    got = {(int(r[0]), int(r[2])): [int(x) for x in r[4:]] for r in rows["bytes-per-as-pair"]}
    want_pair = sorted((v[0] for v in pair.values()), reverse=True)[:20]
    if [v[0] for v in got.values()] != want_pair or any(pair.get(k) != v for k, v in got.items()):
        failures.append("postgres bytes per AS pair %s, expected volumes %s" % (got, want_pair))
    else:
        print("bytes-per-as-pair: %d rows as expected (%d AS pairs in the last day)" %
              (len(got), len(pair)))
    if not talk or len(talk) == len(rws):
        failures.append("the flows do not exercise the last-hour window")


def crash(a, s, failures):
    schema = os.path.join(a.source_root, "deploy", "postgres", "schema.sql")
    s.psql(file=schema)
    s.psql(file=schema)
    now = int(time.time())
    pcaps, sent = [], 0
    for proto, n, rate, start in (("nf5", 6000, 5, now - 1500), ("ipfix", 4000, 2, now - 3 * 3600)):
        p = os.path.join(s.work, proto + ".pcap")
        r = h.subprocess.run([a.flowgen, "--proto", proto, "--count", str(n), "--rate", str(rate),
                              "--seed", "13", "--start-time", str(start), "--pcap-out", p],
                             capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            h.fail("flowgen: " + r.stderr)
        pcaps.append(p)
        sent += n
    # an exporter name with COPY's escape character, quotes and non-ASCII
    # (flowsink's decoder keeps printable ASCII: each byte of é becomes ?)
    names = os.path.join(s.work, "exporters.csv")
    open(names, "w", encoding="utf-8").write('127.0.0.1,edge\\rtr-\u00e9 "x"\n')
    j = os.path.join(s.work, "sent.json")
    delivered = s.feed(a.collector, pcaps, j, ["--exporter-names", names])
    flows = [json.loads(l) for l in open(j)]
    if delivered != sent or len(flows) != sent:
        h.fail("Kafka acknowledged %s flows, JSON has %d, flowgen sent %d" %
               (delivered, len(flows), sent))
    # a partition 40 days old, for --postgres-retention 30 to drop
    s.psql("SELECT flows_partition_create(current_date - 40); "
           "INSERT INTO flows (time, bytes, packets) VALUES (now() - interval '40 days', 1, 1)")
    # A killed member stays in the group until its session times out, and
    # the next one waits for that: keep the session short.
    small = ["--batch-records", "25", "--batch-ms", "20", "-X", "session.timeout.ms=6000",
             "-X", "heartbeat.interval.ms=500"]
    at_kill = []
    for i, want in enumerate((sent // 5, sent // 2)):
        p = s.start_flowsink(a.flowsink, small)
        n = wait_count(s, want + (1 if i == 0 else 0), [p], 120)
        p.send_signal(signal.SIGKILL)
        p.wait()
        n = count(s)
        at_kill.append(n)
        print("flowsink SIGKILLed with %d rows in flows" % n)
    # the rest with two members of the group: partitions move between them
    # while they copy (a rebalance mid-stream)
    p = s.start_flowsink(a.flowsink, small + ["--postgres-retention", "30"])
    wait_count(s, at_kill[-1] + 500, [p], 120)
    q = s.start_flowsink(a.flowsink, small + ["--postgres-retention", "30"], name="flowsink-2")
    n = wait_count(s, sent, [p, q], 180)
    time.sleep(1)  # anything beyond would be a duplicate
    # The second member leaves first; its last commit to Kafka may meet the
    # rebalance its leaving starts (flowsink then exits 1: the rows and
    # offsets in PostgreSQL are already committed, so only a death by signal
    # counts here). The first, alone again after the rebalance, must exit 0.
    rc = h.kill(q, signal.SIGTERM)
    err = open(q.errpath).read()
    if rc is None or rc < 0 or rc > 1:
        failures.append("the second flowsink exited %s after SIGTERM" % rc)
    time.sleep(8)
    rc = h.kill(p, signal.SIGTERM)
    err += open(p.errpath).read()
    if rc != 0:
        failures.append("flowsink exited %s after SIGTERM: %s" %
                        (rc, "\n".join(l for l in open(p.errpath).read().splitlines()
                                       if not l.startswith(("#", "flowsink_")))[-3000:]))
    n = count(s)
    print("after two SIGKILLs, a restart and a second member: %d rows, %d flows sent" % (n, sent))
    if not all(0 < k < sent for k in at_kill) or at_kill[0] >= at_kill[1]:
        failures.append("the kills did not land mid-stream (rows at kill: %s)" % at_kill)
    want_rows = Counter(expected_row(f) for f in flows)
    got_rows = Counter(pg_row(r) for r in s.psql(ROW_SQL))
    dup = sum(v - 1 for v in got_rows.values() if v > 1)
    if got_rows != want_rows:
        extra = got_rows - want_rows
        missing = want_rows - got_rows
        failures.append("flows differ from what was sent: %d rows extra (duplicates: %d), %d "
                        "missing; e.g. extra %s missing %s" %
                        (sum(extra.values()), dup, sum(missing.values()), list(extra)[:1],
                         list(missing)[:1]))
    else:
        print("flows: exactly the %d flows sent, each once (row by row: time, exporter, "
              "addresses, proto, ports, AS, bytes, packets)" % n)
    en = s.psql("SELECT DISTINCT exporter_name FROM flows")
    if en != [['edge\\rtr-?? "x"']]:
        failures.append("exporter names %s, want edge\\rtr-?? \"x\"" % en)
    off = s.psql("SELECT count(*), sum(last_offset + 1) FROM flowsink_offsets WHERE topic = 'flows'")
    if int(off[0][1] or 0) != sent:
        failures.append("stored offsets account for %s records, %d sent (1 flow per record)" %
                        (off[0][1], sent))
    else:
        print("flowsink_offsets: %s partitions, offsets account for all %d records" %
              (off[0][0], sent))
    parts = {r[0] for r in s.psql("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON "
                                  "c.oid = i.inhrelid WHERE i.inhparent = 'flows'::regclass")}
    ahead = {time.strftime("flows_%Y%m%d", time.gmtime(now + d * 86400)) for d in range(3)}
    old = time.strftime("flows_%Y%m%d", time.gmtime(now - 40 * 86400))
    if not ahead <= parts or old in parts:
        failures.append("partitions %s: want %s, and not %s" % (sorted(parts), sorted(ahead), old))
    else:
        print("partitions: %d, today and 2 days ahead present, the 40-day-old one dropped" %
              len(parts))
    skipped = sum(int(v) for v in
                  re.findall(r"^flowsink_postgres_records_skipped_total (\d+)", err, re.M))
    if not re.search(r"^flowsink_postgres_rows_total [1-9]", err, re.M):
        failures.append("flowsink printed no postgres counters")
    print("records skipped as already applied (replays after the rebalance): %d" % skipped)
    check_queries(s, a.source_root, flows, failures)


def truth(a, s, failures):
    if not os.path.isdir(TESTDATA):
        h.skip("no testdata at %s" % TESTDATA)
    s.psql(file=os.path.join(a.source_root, "deploy", "postgres", "schema.sql"))
    want_n = want_b = 0
    for name in TRUTH_CAPTURES:
        s.feed(a.collector, [os.path.join(TESTDATA, name + ".pcap")],
               os.path.join(s.work, name + ".json"))
        want_n += json.load(open(os.path.join(TESTDATA, name + ".json")))["flow_count"]
        want_b += sum(int(r["bytes"]) for r in
                      csv.DictReader(open(os.path.join(TESTDATA, name + ".csv"))))
    p = s.start_flowsink(a.flowsink)
    wait_count(s, want_n, [p], 120)
    time.sleep(1)
    rc = h.kill(p, signal.SIGTERM)
    n, b = s.psql("SELECT count(*), sum(bytes) FROM flows")[0]
    print("%d captures replayed collector -> Kafka -> flowsink -> PostgreSQL: count(*) %s, "
          "sum(bytes) %s; ground truth %d flows, %d bytes" % (len(TRUTH_CAPTURES), n, b,
                                                               want_n, want_b))
    if rc != 0:
        failures.append("flowsink exited %s" % rc)
    if int(n) != want_n or int(b or 0) != want_b:
        failures.append("count/sum(bytes) differ from the ground truth")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["crash", "truth"])
    ap.add_argument("--collector", required=True)
    ap.add_argument("--flowsink", required=True)
    ap.add_argument("--flowgen", required=True)
    ap.add_argument("--source-root", required=True)
    a = ap.parse_args()
    a.source_root = os.path.abspath(a.source_root)
    s = h.Servers()
    failures = []
    try:
        s.start_postgres()
        s.start_kafka(a.collector)
        (crash if a.mode == "crash" else truth)(a, s, failures)
    finally:
        s.cleanup()
    for f in failures:
        print("FAIL: " + f)
    print("flowsink postgres %s: %s" % (a.mode, "FAIL" if failures else "ok"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
