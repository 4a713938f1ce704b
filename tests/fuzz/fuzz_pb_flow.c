/*
 * libFuzzer target: the schema-specific FlowMessage encoder
 * (src/encode/pb_flow.c) against the reference, protobuf-c's generic
 * packer (fc_pb_flow_fill + fc_pb_frame, src/encode/pb.c). The input is
 * read through the bounded cursor into a struct fc_flow: each numeric
 * field as a width byte (0..8, modulo 9) then that many big-endian bytes,
 * addresses as a family byte and 16 bytes, array counts as a byte (beyond
 * the arrays, so the clamping runs), strings as a selector byte (NULL, "",
 * a 20000-byte label, or up to 252 bytes of input). The first two bytes
 * pick the buffer size: the full FC_PB_MAX_FRAMED or any smaller cap, so
 * refusals and the reference fallback run too. Both encoders must return
 * the same length and bytes, and the fast one must not write past the cap
 * (the buffer is allocated at exactly cap bytes so ASan sees any overrun).
 * The rest of the input fills an sFlow counter sample (struct fc_counter),
 * which goes through fc_pb_counter_frame and fc_pb_counter_fill +
 * fc_pb_frame at the same cap, with the same check. A short input leaves
 * the remaining fields zero.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "encode/pb.h"
#include "encode/pb_counter.h"
#include "encode/pb_flow.h"
#include "fc/counter.h"
#include "fc/cursor.h"
#include "fc/flow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_STRINGS 13
#define BIG 20000

static uint64_t num(struct fc_cur *c)
{
	size_t n = fc_cur_u8(c) % 9;

	return n ? fc_cur_beN(c, n) : 0;
}

static uint32_t num32(struct fc_cur *c)
{
	return (uint32_t)num(c);
}

static void addr(struct fc_cur *c, struct fc_addr *a)
{
	uint8_t fam = fc_cur_u8(c);

	/* mostly 0, 4 and 6; any other value means "absent" to both */
	a->family = fam < 240 ? (uint8_t)(fam % 3 == 0 ? 0 : fam % 3 == 1 ? 4 : 6) : fam;
	fc_cur_copy(c, a->a, sizeof(a->a));
}

static const char *str(struct fc_cur *c, char *slot)
{
	static char big[BIG + 1];
	uint8_t sel = fc_cur_u8(c);
	size_t n;
	const uint8_t *p;

	if (sel == 0)
		return NULL;
	if (sel == 1)
		return "";
	if (sel == 2) {
		if (!big[0])
			memset(big, 'L', BIG);
		return big;
	}
	n = (size_t)(sel - 3);
	if (n > fc_cur_left(c))
		n = fc_cur_left(c);
	p = fc_cur_view(c, n);
	if (p && n)
		memcpy(slot, p, n);
	slot[n] = '\0'; /* an embedded NUL ends it early, for both encoders */
	return slot;
}

static void country(struct fc_cur *c, char out[4])
{
	memset(out, 0, 4);
	fc_cur_copy(c, out, fc_cur_u8(c) % 4);
}

static void flow_from(struct fc_cur *c, struct fc_flow *f)
{
	static char slots[N_STRINGS][256];

	fc_flow_reset(f);
	f->type = (enum fc_flow_type)(fc_cur_u8(c) % 8);
	f->time_received_ns = num(c);
	f->sequence_num = num32(c);
	f->sampling_rate = num(c);
	addr(c, &f->sampler_address);
	f->exporter_port = (uint16_t)num(c);
	f->time_flow_start_ns = num(c);
	f->time_flow_end_ns = num(c);
	f->bytes = num(c);
	f->packets = num(c);
	addr(c, &f->src_addr);
	addr(c, &f->dst_addr);
	f->etype = num32(c);
	f->proto = num32(c);
	f->src_port = num32(c);
	f->dst_port = num32(c);
	f->in_if = num32(c);
	f->out_if = num32(c);
	f->src_mac = num(c);
	f->dst_mac = num(c);
	f->src_vlan = num32(c);
	f->dst_vlan = num32(c);
	f->vlan_id = num32(c);
	f->ip_tos = num32(c);
	f->forwarding_status = num32(c);
	f->ip_ttl = num32(c);
	f->ip_flags = num32(c);
	f->tcp_flags = num32(c);
	f->icmp_type = num32(c);
	f->icmp_code = num32(c);
	f->ipv6_flow_label = num32(c);
	f->fragment_id = num32(c);
	f->fragment_offset = num32(c);
	f->src_as = num32(c);
	f->dst_as = num32(c);
	addr(c, &f->next_hop);
	f->next_hop_as = num32(c);
	f->src_net = num32(c);
	f->dst_net = num32(c);
	addr(c, &f->bgp_next_hop);
	f->n_bgp_communities = fc_cur_u8(c) % (FC_FLOW_MAX_COMMUNITIES + 4);
	for (uint32_t i = 0; i < f->n_bgp_communities && i < FC_FLOW_MAX_COMMUNITIES; i++)
		f->bgp_communities[i] = num32(c);
	f->n_as_path = fc_cur_u8(c) % (FC_FLOW_MAX_ASPATH + 4);
	for (uint32_t i = 0; i < f->n_as_path && i < FC_FLOW_MAX_ASPATH; i++)
		f->as_path[i] = num32(c);
	f->n_mpls = fc_cur_u8(c) % (FC_FLOW_MAX_MPLS + 4);
	for (uint32_t i = 0; i < f->n_mpls && i < FC_FLOW_MAX_MPLS; i++) {
		f->mpls_label[i] = num32(c);
		f->mpls_ttl[i] = num32(c);
	}
	f->n_mpls_ip = fc_cur_u8(c) % (FC_FLOW_MAX_MPLS + 4);
	for (uint32_t i = 0; i < f->n_mpls_ip && i < FC_FLOW_MAX_MPLS; i++)
		addr(c, &f->mpls_ip[i]);
	f->observation_domain_id = num32(c);
	f->observation_point_id = num32(c);
	f->n_layers = fc_cur_u8(c) % (FC_FLOW_MAX_LAYERS + 4);
	for (uint32_t i = 0; i < f->n_layers && i < FC_FLOW_MAX_LAYERS; i++) {
		f->layer_stack[i] = fc_cur_u8(c);
		f->layer_size[i] = num32(c);
	}
	f->n_srh = fc_cur_u8(c) % (FC_FLOW_MAX_SRH + 4);
	for (uint32_t i = 0; i < f->n_srh && i < FC_FLOW_MAX_SRH; i++)
		addr(c, &f->srh_addr[i]);
	f->srh_seg_left = num32(c);
	country(c, f->src_country);
	country(c, f->dst_country);
	f->src_city = str(c, slots[0]);
	f->dst_city = str(c, slots[1]);
	f->src_as_name = str(c, slots[2]);
	f->dst_as_name = str(c, slots[3]);
	f->src_net_name = str(c, slots[4]);
	f->dst_net_name = str(c, slots[5]);
	f->src_net_role = str(c, slots[6]);
	f->dst_net_role = str(c, slots[7]);
	f->src_net_site = str(c, slots[8]);
	f->dst_net_site = str(c, slots[9]);
	f->exporter_name = str(c, slots[10]);
	f->in_if_name = str(c, slots[11]);
	f->out_if_name = str(c, slots[12]);
	f->flow_direction = num32(c);
	f->reverse = fc_cur_u8(c) & 1;
	f->flow_end_reason = num32(c);
	f->sampler_id = num(c);
	addr(c, &f->src_addr_nat);
	addr(c, &f->dst_addr_nat);
	f->src_port_nat = num32(c);
	f->dst_port_nat = num32(c);
	f->nat_event = num32(c);
	f->firewall_event = num32(c);
	f->ingress_vrf_id = num32(c);
	f->egress_vrf_id = num32(c);
	f->vxlan_vni = num32(c);
	addr(c, &f->inner_src_addr);
	addr(c, &f->inner_dst_addr);
	f->inner_proto = num32(c);
	f->inner_src_port = num32(c);
	f->inner_dst_port = num32(c);
	f->inner_etype = num32(c);
}

static float fl(struct fc_cur *c)
{
	uint32_t b = fc_cur_be32(c);
	float v;

	memcpy(&v, &b, sizeof(v));
	return v;
}

/* Fields in declaration order; each record filled whether flagged or not. */
static void counter_from(struct fc_cur *c, struct fc_counter *k)
{
	uint8_t flags;
	uint32_t *u32[] = {
		&k->sub_agent_id, &k->sequence_num, &k->uptime_ms, &k->sample_sequence_num,
		&k->source_id_type, &k->source_id_index, &k->ifc.if_index, &k->ifc.if_type,
		&k->ifc.if_direction, &k->ifc.if_status, &k->ifc.if_in_ucast_pkts,
		&k->ifc.if_in_multicast_pkts, &k->ifc.if_in_broadcast_pkts, &k->ifc.if_in_discards,
		&k->ifc.if_in_errors, &k->ifc.if_in_unknown_protos, &k->ifc.if_out_ucast_pkts,
		&k->ifc.if_out_multicast_pkts, &k->ifc.if_out_broadcast_pkts,
		&k->ifc.if_out_discards, &k->ifc.if_out_errors, &k->ifc.if_promiscuous_mode,
		&k->eth.dot3_stats_alignment_errors, &k->eth.dot3_stats_fcs_errors,
		&k->eth.dot3_stats_single_collision_frames,
		&k->eth.dot3_stats_multiple_collision_frames, &k->eth.dot3_stats_sqe_test_errors,
		&k->eth.dot3_stats_deferred_transmissions, &k->eth.dot3_stats_late_collisions,
		&k->eth.dot3_stats_excessive_collisions,
		&k->eth.dot3_stats_internal_mac_transmit_errors,
		&k->eth.dot3_stats_carrier_sense_errors, &k->eth.dot3_stats_frame_too_longs,
		&k->eth.dot3_stats_internal_mac_receive_errors, &k->eth.dot3_stats_symbol_errors,
		&k->vlan.vlan_id, &k->vlan.ucast_pkts, &k->vlan.multicast_pkts,
		&k->vlan.broadcast_pkts, &k->vlan.discards, &k->cpu.cpu_5s, &k->cpu.cpu_1m,
		&k->cpu.cpu_5m, &k->host_cpu.proc_run, &k->host_cpu.proc_total,
		&k->host_cpu.cpu_num, &k->host_cpu.cpu_speed, &k->host_cpu.uptime,
		&k->host_cpu.cpu_user, &k->host_cpu.cpu_nice, &k->host_cpu.cpu_system,
		&k->host_cpu.cpu_idle, &k->host_cpu.cpu_wio, &k->host_cpu.cpu_intr,
		&k->host_cpu.cpu_sintr, &k->host_cpu.interrupts, &k->host_cpu.contexts,
		&k->host_mem.page_in, &k->host_mem.page_out, &k->host_mem.swap_in,
		&k->host_mem.swap_out,
	};
	uint64_t *u64[] = {
		&k->ifc.if_speed, &k->ifc.if_in_octets, &k->ifc.if_out_octets, &k->vlan.octets,
		&k->cpu.total_memory, &k->cpu.free_memory, &k->host_mem.mem_total,
		&k->host_mem.mem_free, &k->host_mem.mem_shared, &k->host_mem.mem_buffers,
		&k->host_mem.mem_cached, &k->host_mem.swap_total, &k->host_mem.swap_free,
	};

	memset(k, 0, sizeof(*k));
	k->time_received_ns = num(c);
	addr(c, &k->agent);
	k->exporter_port = (uint16_t)num(c);
	k->n_formats = fc_cur_u8(c) % (FC_COUNTER_MAX_FORMATS + 4);
	for (uint32_t i = 0; i < k->n_formats && i < FC_COUNTER_MAX_FORMATS; i++)
		k->formats[i] = num32(c);
	flags = fc_cur_u8(c);
	k->has_if = flags & 1;
	k->has_eth = flags & 2;
	k->has_vlan = flags & 4;
	k->has_cpu = flags & 8;
	k->has_host_cpu = flags & 16;
	k->has_host_mem = flags & 32;
	k->has_port_name = flags & 64;
	k->has_hostname = flags & 128;
	for (size_t i = 0; i < sizeof(u32) / sizeof(u32[0]); i++)
		*u32[i] = num32(c);
	for (size_t i = 0; i < sizeof(u64) / sizeof(u64[0]); i++)
		*u64[i] = num(c);
	k->host_cpu.load_one = fl(c);
	k->host_cpu.load_five = fl(c);
	k->host_cpu.load_fifteen = fl(c);
	fc_cur_copy(c, k->port_name, fc_cur_u8(c));
	fc_cur_copy(c, k->hostname, fc_cur_u8(c) % sizeof(k->hostname));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fc_flow f;
	static struct fc_pb_flow s;
	static struct fc_counter k;
	static struct fc_pb_counter ks;
	static uint8_t ref[FC_PB_MAX_FRAMED];
	struct fc_cur c;
	uint16_t sel;
	size_t cap, rn, fn;
	uint8_t *fast;

	fc_cur_init(&c, data, size);
	sel = fc_cur_be16(&c);
	cap = sel & 0x8000 ? (size_t)(sel & 0x7fff) : FC_PB_MAX_FRAMED;
	flow_from(&c, &f);

	fc_pb_flow_fill(&f, &s);
	rn = fc_pb_frame(&s.msg.base, ref, cap);
	fast = malloc(cap ? cap : 1);
	if (!fast)
		return 0;
	fn = fc_pb_flow_frame(&f, fast, cap);
	if (fn != rn || (rn && memcmp(fast, ref, rn) != 0))
		abort();

	counter_from(&c, &k);
	fc_pb_counter_fill(&k, &ks);
	rn = fc_pb_frame(&ks.msg.base, ref, cap);
	fn = fc_pb_counter_frame(&k, fast, cap);
	if (fn != rn || (rn && memcmp(fast, ref, rn) != 0))
		abort();
	free(fast);
	return 0;
}
