/*
 * NetFlow v5 datagram builder (Cisco "NetFlow Export Datagram Format",
 * version 5): 24-byte header, then count 48-byte records.
 *
 *   header                              record
 *   0  version        2  count          0  srcaddr     4  dstaddr
 *   4  sysUptime (ms)                   8  nexthop    12  input  14 output
 *   8  unix_secs                       16  dPkts      20  dOctets
 *  12  unix_nsecs                      24  first (ms) 28  last (ms)
 *  16  flow_sequence                   32  srcport    34  dstport
 *  20  engine_type 21 engine_id        36  pad  37 tcp_flags 38 prot 39 tos
 *  22  sampling: mode(2b) interval(14b) 40  src_as  42 dst_as  44 src_mask
 *                                      45  dst_mask 46 pad2
 *
 * flow_sequence counts flows sent before this datagram. ICMP type and code
 * travel in dstport as type << 8 | code, as Cisco exports them.
 */
#include "flowgen.h"

#define NF5_SAMPLING_INTERVAL 10 /* announced with mode 1 (deterministic) */

static void project(struct fg_gen *g, struct fc_flow *f)
{
	f->type = FC_FLOW_NF5;
	f->sequence_num = g->nf5_flow_seq;
	f->sampling_rate = NF5_SAMPLING_INTERVAL;
	f->etype = 0x0800;
	f->in_if &= 0xffff;
	f->out_if &= 0xffff;
	/* 4-byte AS numbers do not fit: exporters send AS_TRANS (RFC 6793) */
	if (f->src_as > 0xffff)
		f->src_as = 23456;
	if (f->dst_as > 0xffff)
		f->dst_as = 23456;
	if (f->packets > 0xffffffffu)
		f->packets = 0xffffffffu;
	if (f->bytes > 0xffffffffu)
		f->bytes = 0xffffffffu;
	if (f->proto == 1) {
		f->src_port = 0;
		f->dst_port = f->icmp_type << 8 | f->icmp_code;
	}
	/* not in the v5 record */
	f->src_mac = f->dst_mac = 0;
	f->src_vlan = f->dst_vlan = 0;
	f->flow_direction = 0;
	f->ip_ttl = f->ip_flags = f->fragment_id = f->ipv6_flow_label = 0;
}

int fg_build_nf5(struct fg_gen *g, struct fc_flow *flows, size_t n, uint64_t t_ms,
		 struct fg_wbuf *w)
{
	uint32_t uptime = (uint32_t)(t_ms - g->boot_ms);

	fg_w_be16(w, 5);
	fg_w_be16(w, (uint16_t)n);
	fg_w_be32(w, uptime);
	fg_w_be32(w, (uint32_t)(t_ms / 1000));
	fg_w_be32(w, (uint32_t)(t_ms % 1000) * 1000000u);
	fg_w_be32(w, g->nf5_flow_seq);
	fg_w_u8(w, 0); /* engine_type */
	fg_w_u8(w, 1); /* engine_id */
	fg_w_be16(w, 1u << 14 | NF5_SAMPLING_INTERVAL);
	for (size_t i = 0; i < n; i++) {
		struct fc_flow *f = &flows[i];

		project(g, f);
		fg_w_addr(w, &f->src_addr);
		fg_w_addr(w, &f->dst_addr);
		fg_w_addr(w, &f->next_hop);
		fg_w_be16(w, (uint16_t)f->in_if);
		fg_w_be16(w, (uint16_t)f->out_if);
		fg_w_be32(w, (uint32_t)f->packets);
		fg_w_be32(w, (uint32_t)f->bytes);
		/* sysUptime-relative ms: the decoder maps them back through
		 * the header's uptime and unix time, exactly (all in ms). */
		fg_w_be32(w, (uint32_t)(f->time_flow_start_ns / 1000000 - g->boot_ms));
		fg_w_be32(w, (uint32_t)(f->time_flow_end_ns / 1000000 - g->boot_ms));
		fg_w_be16(w, (uint16_t)f->src_port);
		fg_w_be16(w, (uint16_t)f->dst_port);
		fg_w_u8(w, 0);
		fg_w_u8(w, (uint8_t)f->tcp_flags);
		fg_w_u8(w, (uint8_t)f->proto);
		fg_w_u8(w, (uint8_t)f->ip_tos);
		fg_w_be16(w, (uint16_t)f->src_as);
		fg_w_be16(w, (uint16_t)f->dst_as);
		fg_w_u8(w, (uint8_t)f->src_net);
		fg_w_u8(w, (uint8_t)f->dst_net);
		fg_w_be16(w, 0);
	}
	g->nf5_flow_seq += (uint32_t)n;
	return w->err ? -1 : 0;
}
