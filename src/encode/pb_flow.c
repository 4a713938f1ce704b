/*
 * Schema-specific FlowMessage encoder (see pb_flow.h): one pass over struct
 * fc_flow, writing each field that differs from its proto3 default as
 * tag + value (Protocol Buffers encoding guide: varint, length-delimited
 * and packed repeated fields), in ascending field number as protobuf-c's
 * packer walks its sorted descriptor. Replaces, on the hot path, the
 * message init, fill and descriptor-driven pack of encode/pb.c, which
 * cost about four times the decoder per flow.
 *
 * Bounds: every field except the 15 strings has a fixed worst case
 * (FIXED_MAX below); the strings' lengths are measured first. When that
 * worst case fits in the buffer, nothing is checked per field; when it
 * might not (megabytes of labels, or a small cap), the flow goes to the
 * reference encoder instead, which checks every append and gives the same
 * bytes or the same refusal.
 */
#include "encode/pb_flow.h"

#include <assert.h>
#include <string.h>

#include "encode/pb.h"
#include "encode/pb_wire.h"

enum {
	/* tag (<= 3 bytes for numbers < 2^18) + value, summed over the
	 * non-string fields with their arrays full: 11 uint64 and 45
	 * uint32/enum/bool fields at 13, 9 addresses at 20, communities and
	 * AS path 165 each, MPLS TTLs and labels 54 each, 10 MPLS addresses
	 * and 8 SRH addresses at 20, layer stack 37, layer sizes 85: 1828. */
	FIXED_MAX = 2048,
	STR_OVERHEAD = 3 + FC_PB_MAX_VARINT,
	N_STR = 15,
};

static inline uint32_t clamp(uint32_t n, uint32_t max)
{
	return n < max ? n : max;
}

/* strnlen(c, 4) without a library call per flow and side. */
static inline size_t country_len(const char c[4])
{
	return !c[0] ? 0u : !c[1] ? 1u : !c[2] ? 2u : !c[3] ? 3u : 4u;
}

struct strs {
	const char *s[N_STR];
	size_t len[N_STR];
	size_t total;
};

static inline void str_at(struct strs *t, unsigned i, const char *s)
{
	size_t len = s ? strlen(s) : 0;

	t->s[i] = s;
	t->len[i] = len;
	t->total += len + STR_OVERHEAD;
}

static inline uint8_t *put_str(uint8_t *p, uint32_t tag, const struct strs *t, unsigned i)
{
	return t->len[i] ? put_raw(p, tag, t->s[i], t->len[i]) : p;
}

/* Everything between the length prefix and the end; returns the end. */
static uint8_t *put_body(uint8_t *p, const struct fc_flow *f, const struct strs *t)
{
	uint32_t n;

	p = put_enum(p, TAG(1, WT_VARINT), (uint32_t)f->type);
	p = put_u64(p, TAG(3, WT_VARINT), f->sampling_rate);
	p = put_u64(p, TAG(4, WT_VARINT), f->sequence_num);
	p = put_addr(p, TAG(6, WT_LEN), &f->src_addr);
	p = put_addr(p, TAG(7, WT_LEN), &f->dst_addr);
	p = put_u64(p, TAG(9, WT_VARINT), f->bytes);
	p = put_u64(p, TAG(10, WT_VARINT), f->packets);
	p = put_addr(p, TAG(11, WT_LEN), &f->sampler_address);
	p = put_addr(p, TAG(12, WT_LEN), &f->next_hop);
	p = put_u64(p, TAG(13, WT_VARINT), f->next_hop_as);
	p = put_u64(p, TAG(14, WT_VARINT), f->src_as);
	p = put_u64(p, TAG(15, WT_VARINT), f->dst_as);
	p = put_u64(p, TAG(16, WT_VARINT), f->src_net);
	p = put_u64(p, TAG(17, WT_VARINT), f->dst_net);
	p = put_u64(p, TAG(18, WT_VARINT), f->in_if);
	p = put_u64(p, TAG(19, WT_VARINT), f->out_if);
	p = put_u64(p, TAG(20, WT_VARINT), f->proto);
	p = put_u64(p, TAG(21, WT_VARINT), f->src_port);
	p = put_u64(p, TAG(22, WT_VARINT), f->dst_port);
	p = put_u64(p, TAG(23, WT_VARINT), f->ip_tos);
	p = put_u64(p, TAG(24, WT_VARINT), f->forwarding_status);
	p = put_u64(p, TAG(25, WT_VARINT), f->ip_ttl);
	p = put_u64(p, TAG(26, WT_VARINT), f->tcp_flags);
	p = put_u64(p, TAG(27, WT_VARINT), f->src_mac);
	p = put_u64(p, TAG(28, WT_VARINT), f->dst_mac);
	p = put_u64(p, TAG(29, WT_VARINT), f->vlan_id);
	p = put_u64(p, TAG(30, WT_VARINT), f->etype);
	p = put_u64(p, TAG(31, WT_VARINT), f->icmp_type);
	p = put_u64(p, TAG(32, WT_VARINT), f->icmp_code);
	p = put_u64(p, TAG(33, WT_VARINT), f->src_vlan);
	p = put_u64(p, TAG(34, WT_VARINT), f->dst_vlan);
	p = put_u64(p, TAG(35, WT_VARINT), f->fragment_id);
	p = put_u64(p, TAG(36, WT_VARINT), f->fragment_offset);
	p = put_u64(p, TAG(37, WT_VARINT), f->ipv6_flow_label);
	p = put_u64(p, TAG(38, WT_VARINT), f->ip_flags);
	p = put_u64(p, TAG(70, WT_VARINT), f->observation_domain_id);
	p = put_u64(p, TAG(71, WT_VARINT), f->observation_point_id);
	/* Counts clamped to the arrays, as encode/pb.c does. */
	n = clamp(f->n_mpls, FC_FLOW_MAX_MPLS);
	p = put_packed_u32(p, TAG(80, WT_LEN), f->mpls_ttl, n);
	p = put_packed_u32(p, TAG(81, WT_LEN), f->mpls_label, n);
	p = put_addrs(p, TAG(82, WT_LEN), f->mpls_ip, clamp(f->n_mpls_ip, FC_FLOW_MAX_MPLS));
	p = put_addr(p, TAG(100, WT_LEN), &f->bgp_next_hop);
	p = put_packed_u32(p, TAG(101, WT_LEN), f->bgp_communities,
			   clamp(f->n_bgp_communities, FC_FLOW_MAX_COMMUNITIES));
	p = put_packed_u32(p, TAG(102, WT_LEN), f->as_path, clamp(f->n_as_path, FC_FLOW_MAX_ASPATH));
	n = clamp(f->n_layers, FC_FLOW_MAX_LAYERS);
	p = put_packed_u8(p, TAG(103, WT_LEN), f->layer_stack, n);
	p = put_packed_u32(p, TAG(104, WT_LEN), f->layer_size, n);
	p = put_addrs(p, TAG(105, WT_LEN), f->srh_addr, clamp(f->n_srh, FC_FLOW_MAX_SRH));
	p = put_u64(p, TAG(106, WT_VARINT), f->srh_seg_left);
	p = put_u64(p, TAG(110, WT_VARINT), f->time_received_ns);
	p = put_u64(p, TAG(111, WT_VARINT), f->time_flow_start_ns);
	p = put_u64(p, TAG(112, WT_VARINT), f->time_flow_end_ns);
	for (unsigned i = 0; i < 13; i++)
		p = put_str(p, TAG(1000 + i, WT_LEN), t, i);
	p = put_u64(p, TAG(1020, WT_VARINT), f->exporter_port);
	/* Always present (see proto/flow.proto), via the same rule as pb.c. */
	p = put_u64(p, TAG(1021, WT_VARINT), fc_pb_scaled(f->bytes, f->sampling_rate));
	p = put_u64(p, TAG(1022, WT_VARINT), fc_pb_scaled(f->packets, f->sampling_rate));
	p = put_enum(p, TAG(1023, WT_VARINT), f->flow_direction);
	p = put_u64(p, TAG(1024, WT_VARINT), f->reverse ? 1u : 0u);
	p = put_u64(p, TAG(1025, WT_VARINT), f->flow_end_reason);
	p = put_str(p, TAG(1026, WT_LEN), t, 13);
	p = put_str(p, TAG(1027, WT_LEN), t, 14);
	p = put_u64(p, TAG(1028, WT_VARINT), f->sampler_id);
	p = put_addr(p, TAG(1030, WT_LEN), &f->src_addr_nat);
	p = put_addr(p, TAG(1031, WT_LEN), &f->dst_addr_nat);
	p = put_u64(p, TAG(1032, WT_VARINT), f->src_port_nat);
	p = put_u64(p, TAG(1033, WT_VARINT), f->dst_port_nat);
	p = put_u64(p, TAG(1034, WT_VARINT), f->nat_event);
	p = put_u64(p, TAG(1035, WT_VARINT), f->firewall_event);
	p = put_u64(p, TAG(1036, WT_VARINT), f->ingress_vrf_id);
	p = put_u64(p, TAG(1037, WT_VARINT), f->egress_vrf_id);
	p = put_u64(p, TAG(1040, WT_VARINT), f->vxlan_vni);
	p = put_addr(p, TAG(1041, WT_LEN), &f->inner_src_addr);
	p = put_addr(p, TAG(1042, WT_LEN), &f->inner_dst_addr);
	p = put_u64(p, TAG(1043, WT_VARINT), f->inner_proto);
	p = put_u64(p, TAG(1044, WT_VARINT), f->inner_src_port);
	p = put_u64(p, TAG(1045, WT_VARINT), f->inner_dst_port);
	p = put_u64(p, TAG(1046, WT_VARINT), f->inner_etype);
	p = put_u64(p, TAG(1047, WT_VARINT), f->sampling_rate == 0 ? 1u : 0u);
	return p;
}

static size_t frame_reference(const struct fc_flow *f, uint8_t *buf, size_t cap)
{
	struct fc_pb_flow s;

	fc_pb_flow_fill(f, &s);
	return fc_pb_frame(&s.msg.base, buf, cap);
}

size_t fc_pb_flow_frame(const struct fc_flow *f, uint8_t *buf, size_t cap)
{
	/* Numbered 1000..1012, then 1026 and 1027. The country codes are
	 * char[4] holding at most 3 letters; strnlen keeps a missing NUL
	 * inside the array. */
	struct strs t = {.total = 0};
	size_t worst, len;
	uint8_t *end;

	t.s[0] = f->src_country;
	t.len[0] = country_len(f->src_country);
	t.s[1] = f->dst_country;
	t.len[1] = country_len(f->dst_country);
	t.total = 2 * (sizeof(f->src_country) + STR_OVERHEAD);
	str_at(&t, 2, f->src_city);
	str_at(&t, 3, f->dst_city);
	str_at(&t, 4, f->src_as_name);
	str_at(&t, 5, f->dst_as_name);
	str_at(&t, 6, f->src_net_name);
	str_at(&t, 7, f->dst_net_name);
	str_at(&t, 8, f->src_net_role);
	str_at(&t, 9, f->dst_net_role);
	str_at(&t, 10, f->src_net_site);
	str_at(&t, 11, f->dst_net_site);
	str_at(&t, 12, f->exporter_name);
	str_at(&t, 13, f->in_if_name);
	str_at(&t, 14, f->out_if_name);

	/* fc_pb_frame succeeds iff message + 10 <= cap. The worst case also
	 * stays under 2^21, so the length prefix takes at most 3 bytes. */
	worst = FIXED_MAX + t.total;
	if (cap <= FC_PB_MAX_VARINT || worst > cap - FC_PB_MAX_VARINT || worst >= (size_t)1 << 21)
		return frame_reference(f, buf, cap);

	/* Written after a 2-byte prefix (128..16383-byte messages, nearly
	 * all of them), then slid if the prefix turns out shorter or longer. */
	end = put_body(buf + 2, f, &t);
	len = (size_t)(end - (buf + 2));
	assert(len <= worst);
	return fc_pb_wire_frame(buf, len);
}
