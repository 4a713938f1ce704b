/*
 * One L2->L4 header parser, used by the pcap input (to find the exported UDP
 * datagram) and by sFlow (sampled headers): Ethernet II, 802.1Q / 802.1ad
 * (QinQ), MPLS label stack, IPv4 (options, fragments), IPv6 (extension
 * headers: hop-by-hop, routing incl. SRv6, fragment, destination options),
 * UDP, TCP, ICMP, ICMPv6. References: IEEE 802.1Q, RFC 3032 (MPLS),
 * RFC 791, RFC 8200, RFC 8754 (SRH), RFC 768, RFC 9293, RFC 792, RFC 4443,
 * RFC 7348 (VXLAN).
 *
 * Parsing never fails hard: it fills what it could read and reports how far
 * it got; truncated headers (sFlow samples are cut at 128 bytes) are normal.
 */
#ifndef FC_PACKET_H
#define FC_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fc/flow.h"

enum fc_pkt_start {
	FC_PKT_ETHERNET = 1, /* starts at an Ethernet II header */
	FC_PKT_IPV4 = 2,
	FC_PKT_IPV6 = 3,
	FC_PKT_IP = 4,       /* IPv4 or IPv6, told by the version nibble */
	FC_PKT_MPLS = 5,
};

struct fc_pkt {
	/* L2 */
	uint64_t src_mac, dst_mac;
	uint32_t n_vlans;
	uint32_t vlans[2]; /* outer first (VID only) */
	uint32_t etype;    /* innermost ethertype seen (0x0800, 0x86dd...) */
	uint32_t n_mpls;
	uint32_t mpls_label[FC_FLOW_MAX_MPLS];
	uint32_t mpls_ttl[FC_FLOW_MAX_MPLS];

	/* L3 */
	int ip_version; /* 0 when no IP header was found */
	struct fc_addr src, dst;
	uint32_t proto; /* IPv4 protocol / IPv6 final next header */
	uint32_t tos;   /* IPv4 ToS / IPv6 traffic class */
	uint32_t ttl;   /* TTL / hop limit */
	uint32_t ip_total_len; /* IPv4 total length / IPv6 payload length + 40 */
	uint32_t ip_flags;     /* IPv4 flags bits (DF=2, MF=1) */
	uint32_t frag_id;      /* IPv4 id / IPv6 fragment header id */
	uint32_t frag_offset;  /* in bytes */
	bool more_fragments;
	uint32_t flow_label;
	uint32_t n_srh;
	struct fc_addr srh_addr[FC_FLOW_MAX_SRH];
	uint32_t srh_seg_left;

	/* L4: ports/flags only in the first fragment */
	uint32_t src_port, dst_port;
	uint32_t tcp_flags;
	uint32_t icmp_type, icmp_code;

	/* View of the bytes after the IP header (and extension headers), as
	 * far as the buffer holds them: what the pcap input reassembles. */
	const uint8_t *l3_payload;
	size_t l3_payload_len;
	/* View of the UDP payload when proto is UDP in a first fragment. */
	const uint8_t *l4_payload;
	size_t l4_payload_len;

	/* layer_stack / layer_size as in FlowMessage */
	uint32_t n_layers;
	uint8_t layer_stack[FC_FLOW_MAX_LAYERS];
	uint32_t layer_size[FC_FLOW_MAX_LAYERS];

	/* VXLAN (UDP 4789): the inner frame, parsed once (no deeper nesting). */
	uint32_t vxlan_vni;
	bool has_inner;
	struct fc_addr inner_src, inner_dst;
	uint32_t inner_proto, inner_src_port, inner_dst_port, inner_etype;
};

/* Parses len bytes starting with the given header. Fills *out (zeroed
 * first) with everything it could read. Returns 0, or FC_ETRUNC /
 * FC_EMALFORMED when it stopped early (out still holds what was read). */
int fc_pkt_parse(const uint8_t *data, size_t len, enum fc_pkt_start start, struct fc_pkt *out);

/* Copies the parsed fields into a flow (addresses, ports, proto, tos, ttl,
 * flags, MACs, VLAN, MPLS, fragment, flow label, layers, VXLAN inner). */
void fc_pkt_to_flow(const struct fc_pkt *p, struct fc_flow *f);

#endif
