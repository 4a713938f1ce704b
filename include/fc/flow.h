/*
 * The normalized flow record. Every decoder (NetFlow v5, v9, IPFIX, sFlow)
 * fills one struct fc_flow per flow; enrichment adds to it; the encoder turns
 * it into a protobuf FlowMessage (proto/flow.proto). Field meanings follow
 * that schema; a zero value means "not present", as in proto3.
 *
 * Ownership: a decoder hands a flow to its sink by pointer for the duration
 * of the call only. String pointers (names) point into memory owned by the
 * component that set them (template store, enrichment snapshot) and stay
 * valid until the sink returns. Nothing in a flow points into packet bytes.
 */
#ifndef FC_FLOW_H
#define FC_FLOW_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Address: family 0 = absent, 4 = IPv4 in a[0..3], 6 = IPv6 in a[0..15].
 * An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is stored as IPv4. */
struct fc_addr {
	uint8_t family;
	uint8_t a[16];
};

enum fc_flow_type {
	FC_FLOW_UNKNOWN = 0,
	FC_FLOW_SFLOW5 = 1,
	FC_FLOW_NF5 = 2,
	FC_FLOW_NF9 = 3,
	FC_FLOW_IPFIX = 4,
};

/* Values of layer_stack, as in FlowMessage.LayerStack. */
enum fc_layer {
	FC_LAYER_ETHERNET = 0,
	FC_LAYER_IPV4 = 1,
	FC_LAYER_IPV6 = 2,
	FC_LAYER_TCP = 3,
	FC_LAYER_UDP = 4,
	FC_LAYER_MPLS = 5,
	FC_LAYER_DOT1Q = 6,
	FC_LAYER_ICMP = 7,
	FC_LAYER_ICMPV6 = 8,
	FC_LAYER_GRE = 9,
	FC_LAYER_IPV6_ROUTING = 10,
	FC_LAYER_IPV6_FRAGMENT = 11,
	FC_LAYER_GENEVE = 12,
	FC_LAYER_TEREDO = 13,
	FC_LAYER_CUSTOM = 99,
};

#define FC_FLOW_MAX_MPLS 10
#define FC_FLOW_MAX_ASPATH 32
#define FC_FLOW_MAX_COMMUNITIES 32
#define FC_FLOW_MAX_LAYERS 16
#define FC_FLOW_MAX_SRH 8

struct fc_flow {
	enum fc_flow_type type;
	uint64_t time_received_ns;
	uint32_t sequence_num;
	uint64_t sampling_rate;
	struct fc_addr sampler_address; /* exporter or sFlow agent */
	uint16_t exporter_port;

	uint64_t time_flow_start_ns; /* Unix ns */
	uint64_t time_flow_end_ns;

	uint64_t bytes; /* as exported, never scaled */
	uint64_t packets;

	struct fc_addr src_addr, dst_addr;
	uint32_t etype; /* 0x0800, 0x86dd, ... */
	uint32_t proto;
	uint32_t src_port, dst_port;
	uint32_t in_if, out_if;
	uint64_t src_mac, dst_mac; /* 48-bit, network order in the low bytes */
	uint32_t src_vlan, dst_vlan, vlan_id;

	uint32_t ip_tos;
	uint32_t forwarding_status;
	uint32_t ip_ttl;
	uint32_t ip_flags;
	uint32_t tcp_flags;
	uint32_t icmp_type, icmp_code;
	uint32_t ipv6_flow_label;
	uint32_t fragment_id, fragment_offset;

	uint32_t src_as, dst_as;
	struct fc_addr next_hop;
	uint32_t next_hop_as;
	uint32_t src_net, dst_net; /* prefix lengths */
	struct fc_addr bgp_next_hop;

	uint32_t n_bgp_communities;
	uint32_t bgp_communities[FC_FLOW_MAX_COMMUNITIES];
	uint32_t n_as_path;
	uint32_t as_path[FC_FLOW_MAX_ASPATH];

	uint32_t n_mpls; /* labels, ttls (and ips when known) in stack order */
	uint32_t mpls_label[FC_FLOW_MAX_MPLS];
	uint32_t mpls_ttl[FC_FLOW_MAX_MPLS];
	uint32_t n_mpls_ip;
	struct fc_addr mpls_ip[FC_FLOW_MAX_MPLS];

	uint32_t observation_domain_id;
	uint32_t observation_point_id;

	uint32_t n_layers;
	uint8_t layer_stack[FC_FLOW_MAX_LAYERS]; /* enum fc_layer */
	uint32_t layer_size[FC_FLOW_MAX_LAYERS];

	uint32_t n_srh;
	struct fc_addr srh_addr[FC_FLOW_MAX_SRH];
	uint32_t srh_seg_left;

	/* ---- flowcollector's own fields (proto numbers >= 1000) ---- */
	char src_country[4], dst_country[4]; /* ISO 3166 alpha-2, NUL-terminated */
	const char *src_city, *dst_city;
	const char *src_as_name, *dst_as_name;
	const char *src_net_name, *dst_net_name;
	const char *src_net_role, *dst_net_role;
	const char *src_net_site, *dst_net_site;
	const char *exporter_name;
	const char *in_if_name, *out_if_name;

	uint32_t flow_direction; /* 0 unknown, 1 ingress, 2 egress */
	bool reverse;            /* built from RFC 5103 reverse IEs */
	uint32_t flow_end_reason;
	uint64_t sampler_id;

	struct fc_addr src_addr_nat, dst_addr_nat;
	uint32_t src_port_nat, dst_port_nat;
	uint32_t nat_event;
	uint32_t firewall_event;
	uint32_t ingress_vrf_id, egress_vrf_id;

	uint32_t vxlan_vni;
	struct fc_addr inner_src_addr, inner_dst_addr;
	uint32_t inner_proto, inner_src_port, inner_dst_port, inner_etype;
};

static inline void fc_flow_reset(struct fc_flow *f)
{
	memset(f, 0, sizeof(*f));
}

/* Forgets what enrichment added about either end (a flow re-emitted with
 * its ends swapped must be looked up again, not keep the other end's
 * labels). The exporter's name describes neither end and stays. */
static inline void fc_flow_clear_enrichment(struct fc_flow *f)
{
	f->src_country[0] = f->dst_country[0] = '\0';
	f->src_city = f->dst_city = NULL;
	f->src_as_name = f->dst_as_name = NULL;
	f->src_net_name = f->dst_net_name = NULL;
	f->src_net_role = f->dst_net_role = NULL;
	f->src_net_site = f->dst_net_site = NULL;
}

/* Helpers to set addresses from wire bytes already read by a cursor. */
static inline void fc_addr_set4(struct fc_addr *a, const uint8_t b[4])
{
	a->family = 4;
	memcpy(a->a, b, 4);
	memset(a->a + 4, 0, 12);
}

/* Stores an IPv6 address; an IPv4-mapped one becomes IPv4. */
void fc_addr_set6(struct fc_addr *a, const uint8_t b[16]);

/* Sets from a host-order IPv4 value. */
static inline void fc_addr_set4u(struct fc_addr *a, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	fc_addr_set4(a, b);
}

/* Number of meaningful bytes: 0, 4 or 16. */
static inline unsigned fc_addr_len(const struct fc_addr *a)
{
	return a->family == 4 ? 4u : a->family == 6 ? 16u : 0u;
}

/* Formats as text ("192.0.2.1", "2001:db8::1"); "" when absent.
 * buf must hold FC_ADDR_STRLEN bytes. Returns buf. */
#define FC_ADDR_STRLEN 46
char *fc_addr_str(const struct fc_addr *a, char *buf);

/* Parses text into a; returns 0 or FC_EINVAL. */
int fc_addr_parse(struct fc_addr *a, const char *s);

bool fc_addr_eq(const struct fc_addr *x, const struct fc_addr *y);

#endif
