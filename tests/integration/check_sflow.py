#!/usr/bin/env python3
"""sFlow v5 ground-truth check: replays a capture through `collector --pcap
... --output json:-` (via check_truth.py's helpers) and compares

  * every flow sample (formats 1 and 3) of the tshark truth with one decoded
    FlowMessage: agent, datagram sequence, sampling rate, interfaces (single
    format: the value; discarded: out_if 0 and forwarding_status 128;
    multiple: out_if 0), source id index (observation_point_id), frame
    length (bytes), packets = 1, the sampled header's addresses, ports,
    protocol, ToS, TTL, TCP flags, ICMP type/code, MACs, flow label, VLAN,
    and the extended switch / router / gateway records;
  * every counter sample (formats 2 and 4) with one decoded CounterMessage:
    agent, sequences, source id and the generic-interface, Ethernet and
    processor counter values. Counter values are not compared for datagrams
    tshark itself flagged malformed (its dissector mis-parses some records,
    see vendor/MANIFEST.md); their counts still are.

  check_sflow.py COLLECTOR pcap NAME      # testdata/pcap/NAME.{pcap,csv,json}
  check_sflow.py COLLECTOR vendor FILE    # testdata/vendor/FILE(.truth.json)

Flows and counters are matched as multisets. NetFlow v5 datagrams that a
capture also sends to port 6343 (tcpdump's 30-PDU file) are not sFlow and
are ignored here. Exit 0 pass, 1 fail, 77 skip.
"""
import csv
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_truth as ct  # noqa: E402


def I(v):
    v = str(v)
    return int(v, 16) if v.startswith("0x") else int(v)


def mac(s):
    return "" if s == "00:00:00:00:00:00" else s.lower()


def split(msgs):
    """FlowMessages always carry their type (SFLOW_5 is not 0); a
    CounterMessage has no type field."""
    flows = [m for m in msgs if m.get("type") == "SFLOW_5"]
    counters = [m for m in msgs if "type" not in m]
    return flows, counters


GENERIC = [("sflow_245.ifindex", "if_index"), ("sflow_245.iftype", "if_type"),
           ("sflow_245.ifspeed", "if_speed"), ("sflow_245.ifdirection", "if_direction"),
           ("sflow_245.ifinoct", "if_in_octets"), ("sflow_245.ifinpkt", "if_in_ucast_pkts"),
           ("sflow_245.ifinmcast", "if_in_multicast_pkts"),
           ("sflow_245.ifinbcast", "if_in_broadcast_pkts"),
           ("sflow_245.ifindisc", "if_in_discards"), ("sflow_245.ifinerr", "if_in_errors"),
           ("sflow_245.ifinunk", "if_in_unknown_protos"),
           ("sflow_245.ifoutoct", "if_out_octets"), ("sflow_245.ifoutpkt", "if_out_ucast_pkts"),
           ("sflow_245.ifoutmcast", "if_out_multicast_pkts"),
           ("sflow_245.ifoutbcast", "if_out_broadcast_pkts"),
           ("sflow_245.ifoutdisc", "if_out_discards"), ("sflow_245.ifouterr", "if_out_errors"),
           ("sflow_245.ifpromisc", "if_promiscuous_mode")]
ETHER = ["AlignmentErrors", "FCSErrors", "SingleCollisionFrames", "MultipleCollisionFrames",
         "SQETestErrors", "DeferredTransmissions", "LateCollisions", "ExcessiveCollisions",
         "InternalMacTransmitErrors", "CarrierSenseErrors", "FrameTooLongs",
         "InternalMacReceiveErrors", "SymbolErrors"]
ETHER_OURS = ["alignment_errors", "fcs_errors", "single_collision_frames",
              "multiple_collision_frames", "sqe_test_errors", "deferred_transmissions",
              "late_collisions", "excessive_collisions", "internal_mac_transmit_errors",
              "carrier_sense_errors", "frame_too_longs", "internal_mac_receive_errors",
              "symbol_errors"]
CPU = [("sflow_5.cpu_5s", "cpu_5s"), ("sflow_5.cpu_1m", "cpu_1m"), ("sflow_5.cpu_5m", "cpu_5m"),
       ("sflow_5.total_memory", "total_memory"), ("sflow_5.free_memory", "free_memory")]


COUNTER_IDS = [("sequence_number", "sample_sequence_num"), ("source_id_type", "source_id_type"),
               ("source_id_index", "source_id_index")]


def counter_ids(agent, seq, s):
    """What identifies one counter sample: the agent, the datagram sequence
    and the sample's own sequence and source id (tshark fields of s)."""
    e = {"sampler_address": ct.ip(agent), "sequence_num": I(seq)}
    for tf, ours in COUNTER_IDS:
        e[ours] = I(s["sflow.counters_sample." + tf])
    return e


def counter_values(rec, e):
    """Adds the counters of one truth record (a dict of tshark fields)."""
    if "sflow_245.ifindex" in rec:
        for tf, ours in GENERIC:
            e[ours] = I(rec[tf])
        e["if_status"] = I(rec["sflow_245.ifadmin_status"]) | I(rec["sflow_245.ifoper_status"]) << 1
    if "sflow_245.dot3StatsFCSErrors" in rec:
        for tf, ours in zip(ETHER, ETHER_OURS):
            e["dot3_stats_" + ours] = I(rec["sflow_245.dot3Stats" + tf])
    if "sflow_5.cpu_5s" in rec:
        for tf, ours in CPU:
            e[ours] = I(rec[tf])


def expected_counter(hdr, s, malformed):
    e = counter_ids(hdr["sflow_245.agent"], hdr["sflow_245.sequence_number"], s)
    if not malformed:
        for r in s.get("records", []):
            counter_values(r, e)
    return e


def expected_flow(hdr, s):
    e = {"sampler_address": ct.ip(hdr["sflow_245.agent"]),
         "sequence_num": I(hdr["sflow_245.sequence_number"]),
         "sampling_rate": I(s["sflow.flow_sample.sampling_rate"]), "packets": 1}
    if s["kind"] == "flow_sample":
        inp = I(s["sflow.flow_sample.input_interface"])
        e["in_if"] = inp & 0x3fffffff if inp >> 30 == 0 else 0
        fmt = I(s["sflow.flow_sample.output_interface_format"])
        e["observation_point_id"] = I(s["sflow.flow_sample.index"])
    else:
        e["in_if"] = I(s["sflow.flow_sample.input_interface_value"])
        fmt = I(s["sflow.flow_sample.output_interface.format"])
        e["observation_point_id"] = I(s["sflow.flow_sample.source_id_index"])
    val = I(s["sflow.flow_sample.output_interface_value"])
    e["out_if"] = val if fmt == 0 else 0
    if fmt == 1:
        e["forwarding_status"] = 128
    recs = {r["label"]: r for r in s.get("records", [])}
    nbytes = 0
    if "IPv4 data" in recs:
        r4 = recs["IPv4 data"]
        nbytes = I(r4["sflow_245.ip.length"])
        e.update({"src_addr": ct.ip(r4["sflow_245.ipv4_src"]),
                  "dst_addr": ct.ip(r4["sflow_245.ipv4_dst"]),
                  "src_port": I(r4["sflow_245.ip.source_port"]),
                  "dst_port": I(r4["sflow.ip.destination_port"]),
                  "proto": I(r4["sflow.ip_protocol"])})
    if "Ethernet frame data" in recs:
        eth = recs["Ethernet frame data"]
        nbytes = I(eth["sflow_245.ethernet.length"])
        e.update({"src_mac": mac(eth["sflow_245.ethernet.source_mac_address"]),
                  "dst_mac": mac(eth["sflow_245.ethernet.destination_mac_address"]),
                  "etype": I(eth["sflow_245.ethernet.packet_type"])})
    raw = recs.get("Raw packet header")
    if raw:
        nbytes = I(raw["sflow_245.header.frame_length"])
        dh = raw.get("decoded_header", {})
        conv = [("eth.src", "src_mac", mac), ("eth.dst", "dst_mac", mac),
                ("eth.type", "etype", I),
                ("ip.src", "src_addr", ct.ip), ("ip.dst", "dst_addr", ct.ip),
                ("ipv6.src", "src_addr", ct.ip), ("ipv6.dst", "dst_addr", ct.ip),
                ("ip.proto", "proto", I), ("ip.ttl", "ip_ttl", I), ("ip.dsfield", "ip_tos", I),
                ("ipv6.hlim", "ip_ttl", I), ("ipv6.tclass", "ip_tos", I),
                ("ipv6.flow", "ipv6_flow_label", I),
                ("tcp.srcport", "src_port", I), ("tcp.dstport", "dst_port", I),
                ("udp.srcport", "src_port", I), ("udp.dstport", "dst_port", I),
                ("tcp.flags", "tcp_flags", I),
                ("icmp.type", "icmp_type", I), ("icmp.code", "icmp_code", I),
                ("icmpv6.type", "icmp_type", I), ("icmpv6.code", "icmp_code", I)]
        for tf, ours, f in conv:
            if tf in dh:
                e[ours] = f(dh[tf])
        if dh.get("ipv6.nxt") in ("1", "6", "17", "58"):
            e["proto"] = I(dh["ipv6.nxt"])
        if "vlan.id" in dh:
            v = dh["vlan.id"]
            e["vlan_id"] = I(v[0] if isinstance(v, list) else str(v).split(",")[0])
        if "eth.type" in dh and "vlan.etype" in dh:
            v = dh["vlan.etype"]
            e["etype"] = I(v[-1] if isinstance(v, list) else str(v).split(",")[-1])
    e["bytes"] = nbytes
    sw = recs.get("Extended switch data")
    if sw:
        e["src_vlan"] = I(sw["sflow_245.vlan.in"])
        e["dst_vlan"] = I(sw["sflow_245.vlan.out"])
    rt = recs.get("Extended router data")
    if rt:
        nh = rt.get("sflow_245.nexthop", rt.get("sflow_245.nexthop.v6"))
        if nh and ct.ip(nh) not in ("0.0.0.0", "::"):
            e["next_hop"] = ct.ip(nh)
        e["src_net"] = I(rt["sflow_245.nexthop.src_mask"])
        e["dst_net"] = I(rt["sflow_245.nexthop.dst_mask"])
    gw = recs.get("Extended gateway data")
    if gw:
        # goflow2 mapping: src_as is the router's AS when the wire says 0
        sa = I(gw["sflow_245.srcAS"])
        e["src_as"] = sa if sa else I(gw["sflow_245.as"])
    return {k: v for k, v in e.items() if v != ""}


def check_vendor(collector, fname):
    vdir = os.path.join(ct.testdata_dir(), "vendor")
    if not os.path.exists(os.path.join(vdir, fname)):
        ct.skip("%s not found under %s" % (fname, vdir))
    truth = json.load(open(os.path.join(vdir, fname + ".truth.json")))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(vdir, fname)
        if truth["format"] != "pcap":
            out = os.path.join(tmp, "0.pcap")
            ct.write_pcap(out, ct.split_raw(open(path, "rb").read()), dport=6343)
            path = out
        msgs, _ = ct.run_collector(collector, [path])
    ef, ec = [], []
    for p in truth["packets"]:
        if p.get("protocol") != "sflow-v5":
            continue
        for s in p.get("samples", []):
            if s["kind"] in ("flow_sample", "expanded_flow_sample"):
                ef.append(expected_flow(p["header"], s))
            elif s["kind"] in ("counters_sample", "expanded_counters_sample"):
                ec.append(expected_counter(p["header"], s, p.get("tshark_malformed")))
    flows, counters = split(msgs)
    ok = ct.match(ef, flows, False, fname + " (flow samples)")
    ok &= ct.match(ec, counters, False, fname + " (counter samples)")
    return ok


def check_pcap(collector, name):
    base = os.path.join(ct.testdata_dir(), "pcap", name)
    if not os.path.exists(base + ".pcap"):
        ct.skip("%s.pcap not found under %s" % (name, ct.testdata_dir()))
    meta = json.load(open(base + ".json"))
    rows = [r for r in csv.DictReader(open(base + ".csv")) if r["sample_type"] == "flow"]
    msgs, _ = ct.run_collector(collector, [base + ".pcap"])
    flows, counters = split(msgs)
    ok = ct.check_pcap_sflow(meta, rows, flows, name)
    ec = []
    for c in meta.get("counters", []):
        e = counter_ids(meta["agents"][0], c["datagram_seq"], c)
        counter_values(c, e)
        ec.append(e)
    ok &= ct.match(ec, counters, False, name + " (counter samples)")
    return ok


if __name__ == "__main__":
    sys.exit(ct.cli(check_pcap, check_vendor))
