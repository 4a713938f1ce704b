/*
 * Encoder from the normalized flow record to flowpb.FlowMessage
 * (proto/flow.proto, wire-compatible with goflow2 v2) and the varint
 * length framing used on Kafka and in files.
 */
#include "encode/pb.h"

#include <stdbool.h>
#include <string.h>

/* protobuf-c's structs have non-const pointers because unpacking writes
 * through them; packing only reads, so views into the const flow are never
 * written. The one place const is dropped. */
static void *view(const void *p)
{
	union {
		const void *c;
		void *m;
	} u = {.c = p};

	return u.m;
}

static void bin(ProtobufCBinaryData *b, const struct fc_addr *a)
{
	b->len = fc_addr_len(a);
	b->data = b->len ? view(a->a) : NULL;
}

static char *str(const char *s)
{
	return view((s && s[0]) ? s : protobuf_c_empty_string);
}

void fc_pb_flow_fill(const struct fc_flow *f, struct fc_pb_flow *s)
{
	Flowpb__FlowMessage *m = &s->msg;
	uint32_t n;

	flowpb__flow_message__init(m);
	m->type = (Flowpb__FlowMessage__FlowType)f->type;
	m->time_received_ns = f->time_received_ns;
	m->sequence_num = f->sequence_num;
	m->sampling_rate = f->sampling_rate;
	bin(&m->sampler_address, &f->sampler_address);
	m->time_flow_start_ns = f->time_flow_start_ns;
	m->time_flow_end_ns = f->time_flow_end_ns;
	m->bytes = f->bytes;
	m->packets = f->packets;
	bin(&m->src_addr, &f->src_addr);
	bin(&m->dst_addr, &f->dst_addr);
	m->etype = f->etype;
	m->proto = f->proto;
	m->src_port = f->src_port;
	m->dst_port = f->dst_port;
	m->in_if = f->in_if;
	m->out_if = f->out_if;
	m->src_mac = f->src_mac;
	m->dst_mac = f->dst_mac;
	m->src_vlan = f->src_vlan;
	m->dst_vlan = f->dst_vlan;
	m->vlan_id = f->vlan_id;
	m->ip_tos = f->ip_tos;
	m->forwarding_status = f->forwarding_status;
	m->ip_ttl = f->ip_ttl;
	m->ip_flags = f->ip_flags;
	m->tcp_flags = f->tcp_flags;
	m->icmp_type = f->icmp_type;
	m->icmp_code = f->icmp_code;
	m->ipv6_flow_label = f->ipv6_flow_label;
	m->fragment_id = f->fragment_id;
	m->fragment_offset = f->fragment_offset;
	m->src_as = f->src_as;
	m->dst_as = f->dst_as;
	bin(&m->next_hop, &f->next_hop);
	m->next_hop_as = f->next_hop_as;
	m->src_net = f->src_net;
	m->dst_net = f->dst_net;
	bin(&m->bgp_next_hop, &f->bgp_next_hop);

	/* Repeated fields point at f's arrays; counts are clamped to the
	 * arrays' sizes so a decoder bug cannot make us read past them. */
	n = f->n_bgp_communities < FC_FLOW_MAX_COMMUNITIES ? f->n_bgp_communities
							    : FC_FLOW_MAX_COMMUNITIES;
	m->n_bgp_communities = n;
	m->bgp_communities = view(f->bgp_communities);
	n = f->n_as_path < FC_FLOW_MAX_ASPATH ? f->n_as_path : FC_FLOW_MAX_ASPATH;
	m->n_as_path = n;
	m->as_path = view(f->as_path);
	n = f->n_mpls < FC_FLOW_MAX_MPLS ? f->n_mpls : FC_FLOW_MAX_MPLS;
	m->n_mpls_label = n;
	m->mpls_label = view(f->mpls_label);
	m->n_mpls_ttl = n;
	m->mpls_ttl = view(f->mpls_ttl);
	n = f->n_mpls_ip < FC_FLOW_MAX_MPLS ? f->n_mpls_ip : FC_FLOW_MAX_MPLS;
	for (uint32_t i = 0; i < n; i++)
		bin(&s->mpls_ip[i], &f->mpls_ip[i]);
	m->n_mpls_ip = n;
	m->mpls_ip = s->mpls_ip;

	m->observation_domain_id = f->observation_domain_id;
	m->observation_point_id = f->observation_point_id;

	n = f->n_layers < FC_FLOW_MAX_LAYERS ? f->n_layers : FC_FLOW_MAX_LAYERS;
	for (uint32_t i = 0; i < n; i++)
		s->layers[i] = (Flowpb__FlowMessage__LayerStack)f->layer_stack[i];
	m->n_layer_stack = n;
	m->layer_stack = s->layers;
	m->n_layer_size = n;
	m->layer_size = view(f->layer_size);
	n = f->n_srh < FC_FLOW_MAX_SRH ? f->n_srh : FC_FLOW_MAX_SRH;
	for (uint32_t i = 0; i < n; i++)
		bin(&s->srh[i], &f->srh_addr[i]);
	m->n_ipv6_routing_header_addresses = n;
	m->ipv6_routing_header_addresses = s->srh;
	m->ipv6_routing_header_seg_left = f->srh_seg_left;

	m->src_country = str(f->src_country);
	m->dst_country = str(f->dst_country);
	m->src_city = str(f->src_city);
	m->dst_city = str(f->dst_city);
	m->src_as_name = str(f->src_as_name);
	m->dst_as_name = str(f->dst_as_name);
	m->src_net_name = str(f->src_net_name);
	m->dst_net_name = str(f->dst_net_name);
	m->src_net_role = str(f->src_net_role);
	m->dst_net_role = str(f->dst_net_role);
	m->src_net_site = str(f->src_net_site);
	m->dst_net_site = str(f->dst_net_site);
	m->exporter_name = str(f->exporter_name);
	m->exporter_port = f->exporter_port;
	/* Always filled, so sums over bytes_scaled include unsampled
	 * exporters; an unknown rate counts as 1 and says so. */
	m->bytes_scaled = fc_pb_scaled(f->bytes, f->sampling_rate);
	m->packets_scaled = fc_pb_scaled(f->packets, f->sampling_rate);
	m->sampling_rate_unknown = f->sampling_rate == 0;
	m->flow_direction = (Flowpb__FlowMessage__FlowDirection)f->flow_direction;
	m->reverse = f->reverse;
	m->flow_end_reason = f->flow_end_reason;
	m->in_if_name = str(f->in_if_name);
	m->out_if_name = str(f->out_if_name);
	m->sampler_id = f->sampler_id;
	bin(&m->src_addr_nat, &f->src_addr_nat);
	bin(&m->dst_addr_nat, &f->dst_addr_nat);
	m->src_port_nat = f->src_port_nat;
	m->dst_port_nat = f->dst_port_nat;
	m->nat_event = f->nat_event;
	m->firewall_event = f->firewall_event;
	m->ingress_vrf_id = f->ingress_vrf_id;
	m->egress_vrf_id = f->egress_vrf_id;
	m->vxlan_vni = f->vxlan_vni;
	bin(&m->inner_src_addr, &f->inner_src_addr);
	bin(&m->inner_dst_addr, &f->inner_dst_addr);
	m->inner_proto = f->inner_proto;
	m->inner_src_port = f->inner_src_port;
	m->inner_dst_port = f->inner_dst_port;
	m->inner_etype = f->inner_etype;
}

size_t fc_pb_varint_encode(uint64_t v, uint8_t *out)
{
	size_t n = 0;

	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

size_t fc_pb_varint_decode(const uint8_t *p, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	for (size_t i = 0; i < len && i < 10; i++) {
		v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80)) {
			*out = v;
			return i + 1;
		}
	}
	return 0;
}

/* protobuf-c's packer writes wherever it is told; this sink refuses to go
 * past cap, so a message that does not fit is reported instead of
 * overflowing. One pass over the fields: protobuf_c_message_pack would
 * need protobuf_c_message_get_packed_size first, a second full walk of
 * the ~100 fields, which profiling showed to be half the encoding time. */
struct bounded_sink {
	ProtobufCBuffer base; /* first: protobuf-c passes &base back */
	uint8_t *p;
	size_t len, cap;
	bool overflow;
};

static void bounded_append(ProtobufCBuffer *b, size_t len, const uint8_t *data)
{
	struct bounded_sink *o = (struct bounded_sink *)b;

	if (o->overflow || len > o->cap - o->len) {
		o->overflow = true;
		return;
	}
	/* protobuf-c appends (0, NULL) for an empty repeated bytes element
	 * (an absent MPLS or SRH address): memcpy must not see NULL. */
	if (len)
		memcpy(o->p + o->len, data, len);
	o->len += len;
}

size_t fc_pb_frame(const ProtobufCMessage *m, uint8_t *buf, size_t cap)
{
	enum { MAX_VARINT = 10 };
	struct bounded_sink o = {.base = {.append = bounded_append}};
	uint8_t hdr[MAX_VARINT];
	size_t hl;

	if (cap <= MAX_VARINT)
		return 0;
	/* Pack after room for the longest length prefix, then slide the
	 * message up against the prefix it turned out to need. */
	o.p = buf + MAX_VARINT;
	o.cap = cap - MAX_VARINT;
	protobuf_c_message_pack_to_buffer(m, &o.base);
	if (o.overflow)
		return 0;
	hl = fc_pb_varint_encode(o.len, hdr);
	memmove(buf + hl, buf + MAX_VARINT, o.len);
	memcpy(buf, hdr, hl);
	return hl + o.len;
}
