#!/usr/bin/env python3
"""Benchmark: flows/s into PostgreSQL through flowsink, next to the ceiling,
`psql \\copy` of the same rows from a CSV file, on the same server.

N NetFlow v5 flows (flowgen, stamped in the last 10 minutes) are put on the
collector's embedded Kafka (4 partitions, --kafka-key flow); flowsink
--postgres (default batches) copies them into a fresh deploy/postgres
schema. Its rate is the flows over flowsink's own flowsink_active_seconds
(first record consumed to the end of the last batch applied; where flowsink
has no such counter, from the first batch committed to the last, polling
the offsets table), so start-up and the group join are left out. The
rows are then exported with \\copy TO a CSV file, the table truncated, and
the CSV loaded with \\copy FROM into the same partitioned table: that rate
is the ceiling. Each is run --runs times (flowsink in a new group on an
emptied table, reading the whole topic again) and the best of each is
compared, to damp the noise of a shared machine. Prints both and the ratio
(goal: at least 70 %).

  bench_flowsink_pg.py --collector C --flowsink S --flowgen G --source-root DIR [--count N]
Exit 0 (figures printed), 1 fail, 77 skip.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pgharness as h  # noqa: E402

COLS = ("time, exporter, exporter_name, src_addr, dst_addr, proto, src_port, dst_port, "
        "src_as, dst_as, src_country, dst_country, bytes, packets")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--collector", required=True)
    ap.add_argument("--flowsink", required=True)
    ap.add_argument("--flowgen", required=True)
    ap.add_argument("--source-root", required=True)
    ap.add_argument("--count", type=int, default=80000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--flowsink-arg", action="append", default=[],
                    help="extra flowsink argument (repeatable), e.g. --flowsink-arg=--batch-records=20000")
    a = ap.parse_args()
    s = h.Servers()
    try:
        s.start_postgres()
        s.start_kafka(a.collector)
        s.psql(file=os.path.join(os.path.abspath(a.source_root), "deploy", "postgres",
                                 "schema.sql"))
        pcap = os.path.join(s.work, "bench.pcap")
        r = subprocess.run([a.flowgen, "--proto", "nf5", "--count", str(a.count), "--rate", "1000",
                            "--start-time", str(int(time.time()) - 600), "--pcap-out", pcap],
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            h.fail("flowgen: " + r.stderr)
        delivered = s.feed(a.collector, [pcap], os.path.join(s.work, "sent.json"))
        if delivered != a.count:
            h.fail("Kafka acknowledged %s of %d flows" % (delivered, a.count))
        sink_runs, copy_runs = [], []
        for run in range(a.runs):
            # a fresh table and a new group each run: the whole topic again
            s.psql("TRUNCATE flows; DELETE FROM flowsink_offsets")
            p = s.spawn([a.flowsink, "--prometheus-listen", "off", "--brokers", s.kafka, "--postgres", s.conninfo,
                         "--group", "bench-%d" % run] + a.flowsink_arg, "flowsink-%d" % run)
            n0 = t0 = None
            n = 0
            deadline = time.monotonic() + 600
            while n < a.count and time.monotonic() < deadline:
                # the offsets table (4 rows), not count(*) over the growing
                # table: one record holds one flow here
                n = int(s.psql("SELECT coalesce(sum(last_offset + 1), 0) "
                               "FROM flowsink_offsets")[0][0])
                now = time.monotonic()
                if n and t0 is None:
                    n0, t0 = n, now
                if p.poll() is not None:
                    h.fail("flowsink exited: " + open(p.errpath).read()[-2000:])
                time.sleep(0.25)
            t1 = time.monotonic()
            h.kill(p)
            n = int(s.psql("SELECT count(*) FROM flows")[0][0])
            if n != a.count:
                h.fail("flowsink stored %d of %d flows" % (n, a.count))
            # flowsink's own clock when it has one: first record consumed to
            # the end of the last batch applied (no polling granularity)
            m = re.search(r"^flowsink_active_seconds ([0-9.]+)", open(p.errpath).read(), re.M)
            if m and float(m.group(1)) > 0:
                sink_runs.append(a.count / float(m.group(1)))
                how = "%d rows in %.2f s (flowsink_active_seconds)" % (a.count,
                                                                       float(m.group(1)))
            else:
                sink_runs.append((a.count - n0) / (t1 - t0))
                how = "%d rows in %.2f s after the first batch (polled)" % (a.count - n0, t1 - t0)
            print("run %d: flowsink %.0f flows/s (%s)" % (run + 1, sink_runs[-1], how))
        csvf = os.path.join(s.work, "flows.csv")
        s.psql("\\copy (SELECT %s FROM flows) TO '%s' CSV" % (COLS, csvf))
        for run in range(a.runs):
            s.psql("TRUNCATE flows")
            t = time.monotonic()
            s.psql("\\copy flows (%s) FROM '%s' CSV" % (COLS, csvf))
            dt = time.monotonic() - t
            if int(s.psql("SELECT count(*) FROM flows")[0][0]) != a.count:
                h.fail("\\copy loaded a different number of rows")
            copy_runs.append(a.count / dt)
            print("run %d: psql \\copy %.0f flows/s (%.2f s)" % (run + 1, copy_runs[-1], dt))
        sink_rate, copy_rate = max(sink_runs), max(copy_runs)
        print("best of %d: flowsink --postgres %.0f flows/s; psql \\copy from CSV (ceiling) "
              "%.0f flows/s" % (a.runs, sink_rate, copy_rate))
        print("ratio: %.0f %% of the ceiling (goal >= 70 %%)" % (100 * sink_rate / copy_rate))
        print(json.dumps({"flows": a.count, "flowsink_flows_per_s": round(sink_rate),
                          "psql_copy_flows_per_s": round(copy_rate),
                          "ratio": round(sink_rate / copy_rate, 3)}))
    finally:
        s.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
