#!/usr/bin/env python3
"""deploy/clickhouse/schema.sql on a real ClickHouse, fed the collector's output.

Builds captures (flowgen, or the ground-truth captures of ../shared/testdata
with --testdata), replays them through `collector --pcap ... --output
file:F --output json:J`, and hands F -- length-delimited FlowMessages, the
framing of the Kafka topic -- to tests/e2e/chdb/load.js, which runs
schema.sql on the ClickHouse embedded in the npm package chdb with only the
Kafka engine table swapped for a Null table of the same columns, inserts F
into it (format Protobuf, proto/flow.proto) so the materialized views fill
flows.flows and flows.flows_5m, then runs the checks below and the queries
of deploy/clickhouse/queries.sql. Checked against what was sent:

- every flow, field by field (addresses, the three times, byte and packet
  counters, AS numbers and names, ports) equals the collector's JSON of the
  same replay; row count, sum(bytes) and sum(bytes_scaled) equal flowgen's
  record of what it sent (or the testdata ground truth: flow_count and the
  CSV's bytes);
- flows.flows_5m holds the 5-minute per-AS-pair sums of those flows;
- the README queries (top talkers over the last hour, bytes per AS pair)
  return what the flows imply; deploy/README.md shows them verbatim;
- no record went to flows_kafka_errors.

Flowgen captures are stamped 30 h, 3 h and 25 min before now, with networks
giving AS numbers and names, so both time windows cut through the data.

With --kafka the Kafka engine table itself is tested: schema.sql runs
unchanged but for kafka_broker_list, pointed at the embedded Kafka of a
collector listening on loopback; flowgen sends it flows over UDP once the
tables exist, ClickHouse's Kafka engine consumes the topic (format
Protobuf, kafka_schema flow.proto), and the same checks run against the
collector's JSON of what it published.

  e2e_clickhouse.py --collector C --flowgen G --source-root DIR [--testdata | --kafka]
Exit 0 pass, 1 fail, 77 skip (node, chdb or, with --testdata, testdata absent).
"""
import argparse
import csv
import ipaddress
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
JSDIR = os.path.join(HERE, "chdb")
# ../shared/testdata beside the source tree (FC_TESTDATA from meson says where)
TESTDATA = os.path.join(os.environ.get("FC_TESTDATA") or
                        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                     "shared", "testdata"), "pcap")
# Captures whose ground truth counts every flow the collector emits
# (biflow and sFlow truths count differently).
TRUTH_CAPTURES = ["fprobe-v5", "softflowd-v5", "pmacct-nfprobe-v5", "pmacct-nfprobe-v9",
                  "pmacct-nfprobe-ipfix", "softflowd-ipfix", "softflowd-v9-sampled",
                  "nfdump-nfreplay-v9"]
NETWORKS = ("0.0.0.0/2,net-a,,,64500,Alpha Net\n64.0.0.0/2,net-b,,,64501,Beta-Net\n"
            "128.0.0.0/2,net-c,,,64502,Gamma 'Net'\n192.0.0.0/2,net-d,,,64503,\n"
            "::/0,net-v6,,,64504,V6 Net\n")

ROWS_SQL = """SELECT IPv6NumToString(src_addr), IPv6NumToString(dst_addr),
 IPv6NumToString(sampler_address), IPv6NumToString(next_hop),
 toString(toUnixTimestamp64Nano(time_received)), toString(toUnixTimestamp64Nano(time_flow_start)),
 toString(toUnixTimestamp64Nano(time_flow_end)), toString(bytes), toString(packets),
 toString(bytes_scaled), toString(packets_scaled), src_as, dst_as, src_as_name, dst_as_name,
 type, proto, src_port, dst_port FROM flows.flows"""
SUMS_SQL = ("SELECT toString(count()), toString(sum(bytes)), toString(sum(bytes_scaled)), "
            "toString(sum(packets)) FROM flows.flows")
AGG_SQL = """SELECT toString(toUnixTimestamp(window_start)), src_as, dst_as, src_as_name,
 dst_as_name, toString(sum(bytes)), toString(sum(packets)), toString(sum(bytes_scaled)),
 toString(sum(packets_scaled)), toString(sum(flows)) FROM flows.flows_5m
 GROUP BY window_start, src_as, dst_as, src_as_name, dst_as_name"""
ERRORS_SQL = "SELECT toString(count()) FROM flows.flows_kafka_errors"


def skip(msg):
    print("SKIP: " + msg)
    sys.exit(77)


def addr(s):
    """A JSON address as ClickHouse's IPv6NumToString prints the column."""
    if not s:
        return "::"
    a = ipaddress.ip_address(s)
    if a.version == 4:
        return "::ffff:" + str(a)
    return a.compressed


def row_of(f):
    g = lambda k: f.get(k, 0)
    return (addr(f.get("src_addr")), addr(f.get("dst_addr")), addr(f.get("sampler_address")),
            addr(f.get("next_hop")), g("time_received_ns"), g("time_flow_start_ns"),
            g("time_flow_end_ns"), g("bytes"), g("packets"), g("bytes_scaled"),
            g("packets_scaled"), g("src_as"), g("dst_as"), f.get("src_as_name", ""),
            f.get("dst_as_name", ""), f.get("type", "FLOWUNKNOWN"), g("proto"),
            g("src_port"), g("dst_port"))


def ch_row(r):
    """A ClickHouse row with 64-bit values (quoted in JSON) made ints."""
    return tuple(int(v) if i in range(4, 11) else v for i, v in enumerate(r))


def readme_queries(path):
    """name -> SQL of deploy/clickhouse/queries.sql (each after '-- name: X')."""
    out = {}
    name = None
    buf = []
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


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (cmd[0], r.returncode, r.stderr[-2000:]))
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--collector", required=True)
    ap.add_argument("--flowgen", required=True)
    ap.add_argument("--source-root", required=True)
    ap.add_argument("--node", default=shutil.which("node"))
    ap.add_argument("--testdata", action="store_true",
                    help="replay ../shared/testdata captures instead of flowgen's")
    ap.add_argument("--kafka", action="store_true",
                    help="through the Kafka engine table, from the collector's embedded Kafka")
    a = ap.parse_args()
    if not a.node:
        skip("node is not installed")
    if not os.path.isdir(os.path.join(JSDIR, "node_modules", "chdb")):
        skip("chdb is not installed: npm ci --prefix tests/e2e/chdb (tools/bootstrap.sh)")
    if a.testdata and not os.path.isdir(TESTDATA):
        skip("no testdata at %s" % TESTDATA)

    root = os.path.abspath(a.source_root)
    schema = os.path.join(root, "deploy", "clickhouse", "schema.sql")
    queries = readme_queries(os.path.join(root, "deploy", "clickhouse", "queries.sql"))
    failures = []
    readme = open(os.path.join(root, "deploy", "README.md")).read()
    for name, q in queries.items():
        if q not in readme:
            failures.append("deploy/README.md does not show query %s verbatim" % name)
    if sorted(queries) != ["bytes-per-as-pair", "top-talkers-last-hour"]:
        failures.append("queries.sql names %s" % sorted(queries))

    tmp = tempfile.mkdtemp(prefix="fc-ch-")
    collector = node = None
    try:
        data = os.path.join(tmp, "flows.bin")
        flows = []
        now = int(time.time())
        if a.testdata:
            want_count = want_bytes = 0
            with open(data, "wb") as out:
                for n in TRUTH_CAPTURES:
                    j = os.path.join(tmp, n + ".json")
                    b = os.path.join(tmp, n + ".bin")
                    run([a.collector, "--pcap", os.path.join(TESTDATA, n + ".pcap"),
                         "--output", "file:" + b, "--output", "json:" + j])
                    out.write(open(b, "rb").read())
                    flows += [json.loads(l) for l in open(j)]
                    truth = json.load(open(os.path.join(TESTDATA, n + ".json")))
                    want_count += truth["flow_count"]
                    want_bytes += sum(int(r["bytes"]) for r in
                                      csv.DictReader(open(os.path.join(TESTDATA, n + ".csv"))))
            want_scaled = None
        elif a.kafka:
            nets = os.path.join(tmp, "networks.csv")
            open(nets, "w").write(NETWORKS)
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            u.close()
            j = os.path.join(tmp, "collector.json")
            clog = open(os.path.join(tmp, "collector.err"), "w+")
            collector = subprocess.Popen([a.collector, "--listen", "127.0.0.1:%d" % port,
                                          "--http-listen", "off",
                                          "--networks", nets, "--geoip-asn-override",
                                          "--output", "kafka", "--output", "json:" + j],
                                         stdout=subprocess.DEVNULL, stderr=clog)
            broker = None
            for _ in range(100):
                clog.seek(0)
                m = re.search(r"embedded Kafka .* at ([0-9.:]+),", clog.read())
                if m or collector.poll() is not None:
                    broker = m.group(1) if m else None
                    break
                time.sleep(0.1)
            if not broker:
                raise RuntimeError("the collector did not announce its embedded Kafka")
            plan = (("nf5", 3000), ("ipfix", 2000), ("sflow", 1000))
            want_count = sum(n for _, n in plan)
            data = "kafka:%s:%d" % (broker, want_count)
        else:
            nets = os.path.join(tmp, "networks.csv")
            open(nets, "w").write(NETWORKS)
            sent = []
            pcaps = []
            for proto, count, rate, start in (("nf5", 1500, 1, now - 1600),
                                              ("ipfix", 1000, 1, now - 1500),
                                              ("nf9", 800, 2, now - 3 * 3600),
                                              ("sflow", 700, 2, now - 30 * 3600)):
                p = os.path.join(tmp, proto + ".pcap")
                j = os.path.join(tmp, proto + ".sent.json")
                run([a.flowgen, "--proto", proto, "--count", str(count), "--rate", str(rate),
                     "--seed", "13", "--start-time", str(start), "--pcap-out", p, "--json", j])
                sent += [json.loads(l) for l in open(j)]
                pcaps += ["--pcap", p]
            j = os.path.join(tmp, "collector.json")
            run([a.collector] + pcaps + ["--networks", nets, "--geoip-asn-override",
                                         "--output", "file:" + data, "--output", "json:" + j])
            flows = [json.loads(l) for l in open(j)]
            want_count = len(sent)
            want_bytes = sum(f.get("bytes", 0) for f in sent)
            want_scaled = sum(f.get("bytes_scaled", 0) for f in sent)
            if not any(f.get("src_as_name") for f in flows):
                failures.append("no flow carries an AS name: the networks file did not apply")

        qfile = os.path.join(tmp, "queries.json")
        checks = {"rows": ROWS_SQL, "sums": SUMS_SQL, "agg": AGG_SQL, "errors": ERRORS_SQL}
        checks.update(queries)
        json.dump(checks, open(qfile, "w"))
        node = subprocess.Popen([a.node, os.path.join(JSDIR, "load.js"), schema,
                                 os.path.join(root, "proto"), data, qfile],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                cwd=JSDIR)
        if a.kafka:
            # flows go out once ClickHouse has its tables (and consumer)
            line = ""
            if select.select([node.stderr], [], [], 60)[0]:
                line = node.stderr.readline()
            if line.strip() != "ready":
                raise RuntimeError("load.js did not get ready: " + line + node.stderr.read()[-2000:])
            sent = []
            for proto, n in plan:
                sj = os.path.join(tmp, proto + ".sent.json")
                run([a.flowgen, "--proto", proto, "--count", str(n), "--rate", "20000",
                     "--seed", "13", "--to", "127.0.0.1:%d" % port, "--json", sj])
                sent += [json.loads(l) for l in open(sj)]
        out, err = node.communicate(timeout=240)
        if a.kafka:
            collector.send_signal(signal.SIGTERM)
            collector.wait(timeout=60)
            flows = [json.loads(l) for l in open(j)]
            want_bytes = sum(f.get("bytes", 0) for f in sent)
            want_scaled = sum(f.get("bytes_scaled", 0) for f in sent)
            if len(flows) != len(sent):
                failures.append("the collector published %d of the %d flows sent (UDP loss on "
                                "loopback?)" % (len(flows), len(sent)))
        if node.returncode != 0:
            print(err[-3000:])
            print("FAIL: load.js")
            return 1
        r = subprocess.CompletedProcess(node.args, 0, out, err)
        res = json.loads(r.stdout)
        t_query = time.time()
        if a.kafka:
            if "kafka_consumers" in res:
                print("Kafka engine consumers: " + res["kafka_consumers"][:3000])
            print("ClickHouse %s (chdb): %d statements of schema.sql run, the Kafka engine table "
                  "consumed the topic in %.1f s" % (res["version"], res["statements"],
                                                    res["consumed_ms"] / 1000))
        else:
            print("ClickHouse %s (chdb): %d statements of schema.sql run, %d Kafka table swapped, "
                  "%d bytes of length-delimited FlowMessages loaded" %
                  (res["version"], res["statements"], res["kafka_tables"], os.path.getsize(data)))
        n_create = len(re.findall(r"^CREATE ", open(schema).read(), re.M))
        if res["statements"] != n_create or res["kafka_tables"] != 1:
            failures.append("ran %d statements (schema.sql has %d CREATE), swapped %d Kafka tables"
                            % (res["statements"], n_create, res["kafka_tables"]))
        R = res["results"]

        count, sbytes, sscaled, _ = (int(v) for v in R["sums"][0])
        print("flows.flows: %d rows, sum(bytes) %d, sum(bytes_scaled) %d; sent %d flows, "
              "%d bytes%s" % (count, sbytes, sscaled, want_count, want_bytes,
                              "" if want_scaled is None else ", %d scaled" % want_scaled))
        if count != want_count or sbytes != want_bytes:
            failures.append("count/sum(bytes) %d/%d, sent %d/%d" % (count, sbytes, want_count,
                                                                    want_bytes))
        if want_scaled is not None and sscaled != want_scaled:
            failures.append("sum(bytes_scaled) %d, sent %d" % (sscaled, want_scaled))
        if len(flows) != want_count:
            failures.append("the collector emitted %d flows of %d" % (len(flows), want_count))

        want_rows = sorted(row_of(f) for f in flows)
        got_rows = sorted(ch_row(r) for r in R["rows"])
        bad = [(w, g) for w, g in zip(want_rows, got_rows) if w != g]
        if len(want_rows) != len(got_rows) or bad:
            failures.append("%d of %d rows differ from the collector's JSON, e.g. %s" %
                            (len(bad), len(want_rows), bad[:2]))
        else:
            print("flows.flows: all %d rows equal the collector's JSON field by field "
                  "(addresses, times, counters, AS, names, ports)" % len(got_rows))

        agg = defaultdict(lambda: [0, 0, 0, 0, 0])
        for f in flows:
            k = (str(f.get("time_received_ns", 0) // 10**9 // 300 * 300), f.get("src_as", 0),
                 f.get("dst_as", 0), f.get("src_as_name", ""), f.get("dst_as_name", ""))
            v = agg[k]
            for i, key in enumerate(("bytes", "packets", "bytes_scaled", "packets_scaled")):
                v[i] += f.get(key, 0)
            v[4] += 1
        got_agg = {tuple(r[:5]): [int(x) for x in r[5:]] for r in R["agg"]}
        if got_agg != dict(agg):
            diff = [k for k in set(agg) | set(got_agg) if agg.get(k) != got_agg.get(k)]
            failures.append("flows_5m: %d of %d groups differ, e.g. %s: %s vs %s" %
                            (len(diff), len(agg), diff[0], got_agg.get(diff[0]), agg.get(diff[0])))
        else:
            print("flows.flows_5m: %d (5-minute window, AS pair) groups equal the flows' sums"
                  % len(got_agg))
        if R["errors"] != [["0"]]:
            failures.append("flows_kafka_errors holds %s" % R["errors"])

        # top talkers: the last hour before the query ran (the captures keep
        # every flow far from that edge)
        cut = (t_query - 3600) * 10**9
        talk = defaultdict(lambda: [0, 0, 0])
        for f in flows:
            if f.get("time_received_ns", 0) >= cut:
                v = talk[addr(f.get("src_addr"))]
                v[0] += f.get("bytes_scaled", 0)
                v[1] += f.get("packets_scaled", 0)
                v[2] += 1
        top = R["top-talkers-last-hour"]
        want_top = sorted((v[0] for v in talk.values()), reverse=True)[:10]
        if [int(r[1]) for r in top] != want_top or \
                any(talk.get(r[0]) != [int(x) for x in r[1:]] for r in top):
            failures.append("top talkers %s, expected volumes %s" % (top, want_top))
        else:
            print("top-talkers-last-hour: %d rows as expected (%d sources in the last hour, "
                  "%d flows older)" % (len(top), len(talk),
                                       sum(1 for f in flows if f.get("time_received_ns", 0) < cut)))
        pair = defaultdict(lambda: [0, 0, 0])
        for f in flows:
            if f.get("time_received_ns", 0) // 10**9 // 300 * 300 >= t_query - 86400:
                v = pair[(f.get("src_as", 0), f.get("src_as_name", ""), f.get("dst_as", 0),
                          f.get("dst_as_name", ""))]
                v[0] += f.get("bytes_scaled", 0)
                v[1] += f.get("packets_scaled", 0)
                v[2] += 1
        got_pair = {tuple(r[:4]): [int(x) for x in r[4:]] for r in R["bytes-per-as-pair"]}
        want_pair = sorted((v[0] for v in pair.values()), reverse=True)[:20]
        if [v[0] for v in got_pair.values()] != want_pair or \
                any(pair.get(k) != v for k, v in got_pair.items()):
            failures.append("bytes per AS pair %s, expected %s" % (got_pair, dict(pair)))
        else:
            print("bytes-per-as-pair: %d rows as expected (%d AS pairs in the last day)" %
                  (len(got_pair), len(pair)))
        if not a.testdata and not a.kafka and \
                (len(talk) == 0 or len(talk) == len(flows) or len(pair) < 2):
            failures.append("the captures do not exercise the time windows")
    except (RuntimeError, subprocess.TimeoutExpired, KeyError, ValueError) as e:
        failures.append(str(e))
    finally:
        for p in (node, collector):
            if p and p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    for f in failures:
        print("FAIL: " + f)
    print("clickhouse: %s" % ("FAIL" if failures else "ok"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
