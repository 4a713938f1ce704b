#!/usr/bin/env python3
"""Acceptance: collector -> Kafka -> flowsink -> Redis, on real servers.

The test starts redis-server (AOF, appendfsync always) and the collector's
embedded mock Kafka on loopback (harness.py), generates captures with
flowgen (IPFIX and NetFlow v9 with IPv4 and IPv6, NetFlow v5), and
replays them with `collector --pcap F --kafka-brokers ADDR --output json:J`,
so the JSON holds exactly the flows in the topic. From the JSON it computes
what Redis must hold and compares it all after flowsink has consumed:

  - SCARD/SMEMBERS ipaddress (default rule) = the distinct src/dst
    addresses of the flows;
  - counter rule `cnt`: hashes cnt:bytes, cnt:packets, cnt:flows, field =
    address, value = the exact sum over the flows holding the address
    (bytes_scaled/packets_scaled when the collector set them);
  - a filtered set `tcpsrc:{exporter}` (addr=src, proto=6);
  - a per-address counter rule `udp:{ip}` (addr=dst, proto=17).

Scenarios (--scenario):
  basic    one member; then a restart on the same group must change nothing
  kill     SIGKILL of flowsink in the middle of the stream, then a restart
  members  two members of one group consuming together

Exit codes: 0 pass, 1 fail, 77 skip (redis-server missing).
"""
import argparse
import collections
import json
import os
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import fail  # noqa: E402

RULES = ["--redis-counters", "cnt",
         "--redis-set", "ipaddress",
         "--redis-set", "tcpsrc:{exporter},addr=src,proto=6",
         "--redis-counters", "udp:{ip},addr=dst,proto=17"]


def load_flows(paths):
    flows = []
    for p in paths:
        with open(p) as f:
            flows += [json.loads(line) for line in f if line.strip()]
    return flows


def expected(flows):
    ipset = set()
    cnt = collections.defaultdict(lambda: [0, 0, 0])
    tcpsrc = collections.defaultdict(set)
    udp = collections.defaultdict(lambda: [0, 0, 0])
    for fl in flows:
        src, dst = fl.get("src_addr"), fl.get("dst_addr")
        b = fl.get("bytes_scaled") or fl.get("bytes", 0)
        p = fl.get("packets_scaled") or fl.get("packets", 0)
        ips = [a for a in (src, dst) if a]
        if len(ips) == 2 and ips[0] == ips[1]:
            ips = ips[:1]
        for a in ips:
            ipset.add(a)
            c = cnt[a]
            c[0] += b
            c[1] += p
            c[2] += 1
        if fl.get("proto") == 6 and src:
            exp = fl.get("exporter_name") or fl.get("sampler_address") or "unknown"
            tcpsrc["tcpsrc:" + exp].add(src)
        if fl.get("proto") == 17 and dst:
            c = udp["udp:" + dst]
            c[0] += b
            c[1] += p
            c[2] += 1
    return ipset, cnt, tcpsrc, udp


def flows_total(r):
    return sum(int(v) for v in r.hgetall("cnt:flows").values())


def verify(r, exp, label):
    ipset, cnt, tcpsrc, udp = exp
    bad = []
    got = set(r.cmd("SMEMBERS", "ipaddress"))
    scard = r.cmd("SCARD", "ipaddress")
    if scard != len(ipset) or got != ipset:
        bad.append("SCARD ipaddress = %d, want %d (missing %s, extra %s)" %
                   (scard, len(ipset), sorted(ipset - got)[:3], sorted(got - ipset)[:3]))
    for i, field in enumerate(("bytes", "packets", "flows")):
        h = {k: int(v) for k, v in r.hgetall("cnt:" + field).items()}
        want = {k: v[i] for k, v in cnt.items()}
        if h != want:
            diff = [k for k in set(h) | set(want) if h.get(k) != want.get(k)]
            bad.append("cnt:%s differs for %d addresses, e.g. %s: got %s want %s" %
                       (field, len(diff), diff[0], h.get(diff[0]), want.get(diff[0])))
    keys = set(r.cmd("KEYS", "tcpsrc:*"))
    if keys != set(tcpsrc):
        bad.append("tcpsrc keys %s, want %s" % (sorted(keys)[:5], sorted(tcpsrc)[:5]))
    for k, want in tcpsrc.items():
        if set(r.cmd("SMEMBERS", k)) != want:
            bad.append("%s differs" % k)
    keys = set(r.cmd("KEYS", "udp:*"))
    if keys != set(udp):
        bad.append("udp:{ip} keys: %d, want %d" % (len(keys), len(udp)))
    else:
        for k, v in udp.items():
            h = r.hgetall(k)
            if [int(h.get("bytes", -1)), int(h.get("packets", -1)), int(h.get("flows", -1))] != v:
                bad.append("%s = %s, want %s" % (k, h, v))
                break
    if bad:
        fail("%s:\n  %s" % (label, "\n  ".join(bad)))
    print("%s: SCARD ipaddress = %d = distinct addresses of the JSON; %d counter triples, "
          "%d tcpsrc sets, %d udp:{ip} hashes all exact" %
          (label, scard, len(cnt), len(tcpsrc), len(udp)), flush=True)


def wait_done(r, want_flows, procs, timeout=90):
    deadline = time.monotonic() + timeout
    got = 0
    while time.monotonic() < deadline:
        got = flows_total(r)
        if got >= want_flows:
            time.sleep(1.0)  # anything applied twice would show now
            return
        for p in procs:
            if p.poll() is not None:
                fail("flowsink exited %d early:\n%s" % (p.returncode, open(p.errpath).read()[-3000:]))
        time.sleep(0.2)
    fail("flowsink applied %d of %d flow-address counts within %d s" % (got, want_flows, timeout))


def wait_log(p, text, times, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if open(p.errpath).read().count(text) >= times:
            return
        if p.poll() is not None:
            break
        time.sleep(0.1)
    fail("%s: no '%s' in its log within %d s:\n%s" % (os.path.basename(p.errpath), text, timeout,
                                                     open(p.errpath).read()[-3000:]))


def final_counters(path):
    out = {}
    for line in open(path):
        m = re.match(r"^flowsink_([a-z_]+)(\{[^}]*\})? (\d+)$", line.strip())
        if m:
            out[m.group(1) + (m.group(2) or "")] = int(m.group(3))
    return out


def stop_member(p, label):
    rc = harness.kill(p)
    c = final_counters(p.errpath)
    if rc != 0:
        fail("%s exited %d on SIGTERM:\n%s" % (label, rc, open(p.errpath).read()[-3000:]))
    bad = {k: v for k, v in c.items() if k.startswith("bad_frames") and v}
    errs = {k: v for k, v in c.items()
            if re.search(r"(errors|too_long)_total$", k) and v and k != "commit_errors_total"}
    if bad or errs:
        fail("%s counters: %s %s" % (label, bad, errs))
    print("%s: %d commit(s) refused by Kafka (rebalance; the sink's offsets rule), "
          "%d records of revoked partitions left to their next owner" %
          (label, c.get("commit_errors_total", 0), c.get("records_dropped_on_revoke_total", 0)),
          flush=True)
    return c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--collector", required=True)
    ap.add_argument("--flowsink", required=True)
    ap.add_argument("--flowgen", required=True)
    ap.add_argument("--scenario", choices=["basic", "kill", "members"], required=True)
    ap.add_argument("--count", type=int, default=15000, help="flows per capture")
    args = ap.parse_args()

    s = harness.Servers()
    try:
        r = s.start_redis()
        brokers = s.start_kafka(args.collector)
        print("redis-server on 127.0.0.1:%d, mock Kafka at %s" % (s.redis_port, brokers), flush=True)

        parts = []
        for i, proto in enumerate(("ipfix", "nf9", "nf5")):
            pcap = os.path.join(s.work, "%s.pcap" % proto)
            g = subprocess.run([args.flowgen, "--proto", proto, "--count", str(args.count),
                                "--seed", str(11 + i), "--pcap-out", pcap],
                               capture_output=True, text=True, timeout=60)
            if g.returncode != 0:
                fail("flowgen: " + g.stderr)
            parts.append(pcap)
        jsons = [os.path.join(s.work, "part%d.json" % i) for i in range(len(parts))]
        # The NetFlow v9 part goes as 10 messages per Kafka record.
        extras = [[], ["--kafka-msgs-per-record", "10"], []]

        def member(name, extra=()):
            return s.spawn([args.flowsink, "--prometheus-listen", "off", "--brokers", brokers, "--redis",
                            "127.0.0.1:%d" % s.redis_port, "--group", "acceptance"] + RULES +
                           list(extra) + os.environ.get("FLOWSINK_EXTRA", "").split(), name)

        if args.scenario == "basic":
            for i in range(3):
                s.feed(args.collector, parts[i], jsons[i], extras[i])
            exp = expected(load_flows(jsons))
            want = sum(c[2] for c in exp[1].values())
            fs = member("flowsink")
            wait_done(r, want, [fs])
            c = stop_member(fs, "flowsink")
            print("flowsink: %d records, %d flows applied in %d transactions" %
                  (c["redis_records_applied_total"], c["redis_flows_applied_total"],
                   c["redis_batches_total"]), flush=True)
            verify(r, exp, "after one pass")
            # Same group again: everything is applied and committed, so a
            # new member must apply nothing and change nothing.
            fs = member("flowsink-again")
            deadline = time.monotonic() + 20
            while "assigned" not in open(fs.errpath).read() and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(2.0)
            c = stop_member(fs, "flowsink (restart)")
            if c.get("redis_records_applied_total", -1) != 0:
                fail("restart applied %s records again" % c.get("redis_records_applied_total"))
            verify(r, exp, "after a restart on the same group")
        elif args.scenario == "kill":
            # Small batches so that the second part takes a while to apply,
            # and the SIGKILL lands in the middle of it.
            small = ["--batch-records", "20", "--batch-ms", "5"]
            fs = member("flowsink-1", small)
            s.feed(args.collector, parts[0], jsons[0], extras[0])
            want0 = sum(c[2] for c in expected(load_flows(jsons[:1]))[1].values())
            wait_done(r, want0, [fs])
            feeder = threading.Thread(target=s.feed,
                                      args=(args.collector, parts[1], jsons[1], extras[1]))
            offkey = "flowsink:offsets:acceptance:flows"
            base = r.hgetall(offkey)
            feeder.start()
            deadline = time.monotonic() + 60
            # The offsets hash is small: polling it is cheap enough to
            # catch the first transactions of the second part.
            while r.hgetall(offkey) == base:
                if time.monotonic() > deadline or fs.poll() is not None:
                    fail("flowsink applied nothing of the second part:\n" + open(fs.errpath).read())
                time.sleep(0.005)
            fs.kill()
            fs.wait()
            feeder.join()
            mid = flows_total(r)
            want2 = sum(c[2] for c in expected(load_flows(jsons[:2]))[1].values())
            print("SIGKILL with %d of %d flow-address counts of the first two parts applied" %
                  (mid, want2), flush=True)
            if mid >= want2:
                fail("the kill did not land mid-stream: everything was applied already")
            s.feed(args.collector, parts[2], jsons[2], extras[2])
            exp = expected(load_flows(jsons))
            want = sum(c[2] for c in exp[1].values())
            fs = member("flowsink-2")
            wait_done(r, want, [fs])
            c = stop_member(fs, "flowsink (after SIGKILL)")
            print("restarted member: %d records applied, %d skipped as already applied" %
                  (c["redis_records_applied_total"], c["redis_records_skipped_total"]), flush=True)
            verify(r, exp, "after SIGKILL and restart")
        else:
            # The second member joins a group that is already steady (as
            # when an operator scales out). librdkafka 2.0's mock cluster
            # tells the first member of the rebalance only through its
            # heartbeat, and with default timings did not finish it within
            # 30 s here; faster heartbeats make it take a second.
            fast = ["-X", "heartbeat.interval.ms=300", "-X", "session.timeout.ms=6000"]
            # Member a applies in small batches, so it is in the middle of
            # the first part when b joins: the rebalance revokes a's
            # partitions with records read but not applied.
            a = member("flowsink-a", fast + ["--batch-records", "20", "--batch-ms", "5"])
            wait_log(a, "assigned", 1, 30)
            s.feed(args.collector, parts[0], jsons[0], extras[0])
            b = member("flowsink-b", fast)
            wait_log(b, "assigned", 1, 30)
            for i in range(1, 3):
                s.feed(args.collector, parts[i], jsons[i], extras[i])
            exp = expected(load_flows(jsons))
            want = sum(c[2] for c in exp[1].values())
            wait_done(r, want, [a, b])
            ca = stop_member(a, "member a")
            cb = stop_member(b, "member b")
            print("member a applied %d records, member b %d; %d rebalance callbacks in a, "
                  "%d records skipped as already applied" %
                  (ca["redis_records_applied_total"], cb["redis_records_applied_total"],
                   ca["rebalances_total"],
                   ca["redis_records_skipped_total"] + cb["redis_records_skipped_total"]),
                  flush=True)
            if ca["redis_records_applied_total"] == 0 or cb["redis_records_applied_total"] == 0:
                fail("one member applied nothing: the group did not share the partitions")
            verify(r, exp, "two members of one group")
        offsets = r.hgetall("flowsink:offsets:acceptance:flows")
        print("stored offsets per partition: %s" % offsets, flush=True)
    finally:
        if os.environ.get("FLOWSINK_KEEP"):
            s.stop()
            print("kept " + s.work)
        else:
            s.cleanup()
    print("PASS", flush=True)


if __name__ == "__main__":
    main()
