/*
 * One L2->L4 header parser (see packet.h): Ethernet II (IEEE 802.3 type
 * field), 802.1Q / 802.1ad tags, MPLS label stack (RFC 3032), IPv4 (RFC 791)
 * with options and fragments, IPv6 (RFC 8200) with hop-by-hop, routing
 * (SRv6 SRH, RFC 8754), fragment, destination-options and AH (RFC 4302)
 * extension headers, UDP (RFC 768), TCP (RFC 9293), ICMP (RFC 792),
 * ICMPv6 (RFC 4443) and one level of VXLAN (RFC 7348, UDP port 4789).
 *
 * Owns nothing: every pointer it hands out (l3_payload, l4_payload) is a
 * view into the caller's buffer. All reads go through the bounded cursor;
 * a header that is cut short stops the walk with FC_ETRUNC and leaves what
 * was read so far in the result (sFlow cuts sampled headers at 128 bytes,
 * so that is the common case, not an exception).
 */
#include "packet/packet.h"

#include <string.h>

#include "fc/cursor.h"
#include "fc/err.h"

#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86dd
#define ETH_VLAN 0x8100
#define ETH_QINQ 0x88a8
#define ETH_QINQ_OLD 0x9100 /* pre-standard QinQ, still seen on switches */
#define ETH_MPLS 0x8847
#define ETH_MPLS_MC 0x8848

#define IPPROTO_V_ICMP 1
#define IPPROTO_V_TCP 6
#define IPPROTO_V_UDP 17
#define IPPROTO_V_ICMPV6 58
#define IP6_HOPOPTS 0
#define IP6_ROUTING 43
#define IP6_FRAGMENT 44
#define IP6_AH 51
#define IP6_DSTOPTS 60

#define VXLAN_PORT 4789
#define MAX_TAGS 8       /* VLAN tags walked before giving up */
#define MAX_EXT_HDRS 16  /* IPv6 extension headers walked before giving up */
#define MAX_MPLS_WALK 32 /* labels walked; the first FC_FLOW_MAX_MPLS are kept */

static void push_layer(struct fc_pkt *p, enum fc_layer l, size_t size)
{
	if (p->n_layers >= FC_FLOW_MAX_LAYERS)
		return;
	p->layer_stack[p->n_layers] = (uint8_t)l;
	p->layer_size[p->n_layers] = (uint32_t)size;
	p->n_layers++;
}

static uint64_t read_mac(struct fc_cur *c)
{
	uint64_t v = (uint64_t)fc_cur_be16(c) << 32;

	return v | fc_cur_be32(c);
}

static int parse_l4(struct fc_cur *c, struct fc_pkt *p, bool allow_vxlan);
static int parse_ip(struct fc_cur *c, struct fc_pkt *p, bool allow_vxlan);

/* Source and destination port (TCP and UDP alike): kept only when both
 * made it in. */
static bool read_ports(struct fc_cur *c, struct fc_pkt *p)
{
	uint16_t sport = fc_cur_be16(c), dport = fc_cur_be16(c);

	if (c->err)
		return false;
	p->src_port = sport;
	p->dst_port = dport;
	return true;
}

/* Source then destination address of len bytes (4 or 16): a header
 * without its destination is not one we can report, so nothing is kept
 * unless both are in. */
static bool read_addrs(struct fc_cur *c, struct fc_pkt *p, size_t len)
{
	uint8_t sa[16], da[16];

	fc_cur_copy(c, sa, len);
	fc_cur_copy(c, da, len);
	if (c->err)
		return false;
	if (len == 4) {
		fc_addr_set4(&p->src, sa);
		fc_addr_set4(&p->dst, da);
	} else {
		fc_addr_set6(&p->src, sa);
		fc_addr_set6(&p->dst, da);
	}
	return true;
}

/*
 *  TCP (RFC 9293 §3.1)
 *  0 src port  2 dst port  4 seq  8 ack  12 data offset(4b) rsvd(3b) NS
 *  13 CWR ECE URG ACK PSH RST SYN FIN  14 window ...
 */
static int parse_tcp(struct fc_cur *c, struct fc_pkt *p)
{
	uint8_t off_ns, flags;

	if (!read_ports(c, p))
		return FC_ETRUNC;
	fc_cur_skip(c, 8); /* sequence, acknowledgment */
	off_ns = fc_cur_u8(c);
	flags = fc_cur_u8(c);
	if (c->err)
		return FC_ETRUNC;
	p->tcp_flags = (uint32_t)(off_ns & 1) << 8 | flags;
	push_layer(p, FC_LAYER_TCP, (size_t)(off_ns >> 4) * 4);
	return 0;
}

/*
 *  VXLAN (RFC 7348 §5)
 *  0 flags (I = 0x08)  1 reserved(24)  4 VNI(24)  7 reserved(8)
 * The inner frame is parsed into a scratch result and only its addresses,
 * ports, protocol and ethertype are kept: one level, no deeper nesting.
 */
static void parse_vxlan(struct fc_cur *c, struct fc_pkt *p)
{
	struct fc_pkt in;
	struct fc_cur ic;
	uint8_t flags;
	uint32_t vni;

	flags = fc_cur_u8(c);
	fc_cur_skip(c, 3);
	vni = fc_cur_be24(c);
	fc_cur_skip(c, 1);
	if (c->err || !(flags & 0x08))
		return;
	p->vxlan_vni = vni;
	memset(&in, 0, sizeof(in));
	ic = *c;
	/* Inner Ethernet: reuse the outer walker without VXLAN recursion. */
	in.dst_mac = read_mac(&ic);
	in.src_mac = read_mac(&ic);
	in.etype = fc_cur_be16(&ic);
	while (!ic.err && (in.etype == ETH_VLAN || in.etype == ETH_QINQ) && in.n_vlans < 2) {
		in.vlans[in.n_vlans++] = fc_cur_be16(&ic) & 0x0fff;
		in.etype = fc_cur_be16(&ic);
	}
	if (ic.err)
		return;
	p->has_inner = true;
	p->inner_etype = in.etype;
	if (in.etype != ETH_IPV4 && in.etype != ETH_IPV6)
		return;
	(void)parse_ip(&ic, &in, false);
	p->inner_src = in.src;
	p->inner_dst = in.dst;
	p->inner_proto = in.proto;
	p->inner_src_port = in.src_port;
	p->inner_dst_port = in.dst_port;
}

/*
 *  UDP (RFC 768)
 *  0 src port  2 dst port  4 length  6 checksum
 * The payload view is bounded by the length field and by what the buffer
 * holds (c is already bounded by the IP payload length).
 */
static int parse_udp(struct fc_cur *c, struct fc_pkt *p, bool allow_vxlan)
{
	uint16_t ulen;
	size_t n;

	if (!read_ports(c, p))
		return FC_ETRUNC;
	ulen = fc_cur_be16(c);
	fc_cur_skip(c, 2); /* checksum */
	if (c->err)
		return FC_ETRUNC;
	push_layer(p, FC_LAYER_UDP, 8);
	n = fc_cur_left(c);
	/* A length below 8 is invalid; 0 is the IPv6 jumbogram form. Either
	 * way the buffer bound is all that is left to go by. */
	if (ulen >= 8 && (size_t)(ulen - 8) < n)
		n = (size_t)(ulen - 8);
	p->l4_payload = c->p;
	p->l4_payload_len = n;
	if (allow_vxlan && p->dst_port == VXLAN_PORT) {
		struct fc_cur v;

		fc_cur_init(&v, c->p, n);
		parse_vxlan(&v, p);
	}
	return 0;
}

static int parse_l4(struct fc_cur *c, struct fc_pkt *p, bool allow_vxlan)
{
	/* Ports and flags are only in the first fragment. */
	if (p->frag_offset != 0)
		return 0;
	switch (p->proto) {
	case IPPROTO_V_TCP:
		return parse_tcp(c, p);
	case IPPROTO_V_UDP:
		return parse_udp(c, p, allow_vxlan);
	case IPPROTO_V_ICMP:
	case IPPROTO_V_ICMPV6:
		p->icmp_type = fc_cur_u8(c);
		p->icmp_code = fc_cur_u8(c);
		if (c->err) {
			p->icmp_type = p->icmp_code = 0;
			return FC_ETRUNC;
		}
		push_layer(p, p->proto == IPPROTO_V_ICMP ? FC_LAYER_ICMP : FC_LAYER_ICMPV6, 8);
		return 0;
	default:
		return 0;
	}
}

/*
 *  IPv4 (RFC 791 §3.1)
 *  0 version(4) IHL(4)  1 ToS  2 total length  4 identification
 *  6 flags(3) fragment offset(13, 8-byte units)  8 TTL  9 protocol
 *  10 checksum  12 source  16 destination  20 options (IHL*4 - 20)
 */
static int parse_ipv4(struct fc_cur *c, struct fc_pkt *p, bool allow_vxlan)
{
	uint8_t vihl;
	uint16_t total, ff;
	size_t hl, n;
	struct fc_cur pl;

	vihl = fc_cur_u8(c);
	if (c->err)
		return FC_ETRUNC;
	if (vihl >> 4 != 4)
		return FC_EMALFORMED;
	hl = (size_t)(vihl & 0x0f) * 4;
	p->tos = fc_cur_u8(c);
	total = fc_cur_be16(c);
	p->frag_id = fc_cur_be16(c);
	ff = fc_cur_be16(c);
	p->ttl = fc_cur_u8(c);
	p->proto = fc_cur_u8(c);
	fc_cur_skip(c, 2); /* header checksum */
	if (!read_addrs(c, p, 4)) {
		/* Keep nothing half-read: not an IPv4 header we can report. */
		p->tos = p->frag_id = p->ttl = p->proto = 0;
		return FC_ETRUNC;
	}
	p->ip_version = 4;
	p->etype = ETH_IPV4;
	p->ip_total_len = total;
	p->ip_flags = ff >> 13;
	p->frag_offset = (uint32_t)(ff & 0x1fff) * 8;
	p->more_fragments = (ff & 0x2000) != 0;
	if (hl < 20)
		return FC_EMALFORMED; /* bogus IHL: addresses kept, no L4 */
	push_layer(p, FC_LAYER_IPV4, hl);
	fc_cur_skip(c, hl - 20); /* options */
	if (c->err)
		return FC_ETRUNC;

	/* Payload: bounded by total length (when sane; 0 is seen with TSO
	 * offload in captures) and by the buffer. */
	n = fc_cur_left(c);
	if (total >= hl && (size_t)(total - hl) < n)
		n = (size_t)(total - hl);
	p->l3_payload = c->p;
	p->l3_payload_len = n;
	fc_cur_init(&pl, c->p, n);
	return parse_l4(&pl, p, allow_vxlan);
}

/*
 *  IPv6 (RFC 8200 §3)
 *  0 version(4) traffic class(8) flow label(20)  4 payload length
 *  6 next header  7 hop limit  8 source(16)  24 destination(16)
 *
 *  extension headers (RFC 8200 §4): next header(8) hdr ext len(8) ...
 *    hop-by-hop / destination options / routing: (len + 1) * 8 bytes
 *    routing: 2 routing type  3 segments left; type 4 = SRH (RFC 8754):
 *             4 last entry  5 flags  6 tag  8 segment list (16 each)
 *    fragment: 8 bytes: 2 offset(13) res(2) M(1)  4 identification
 *    AH (RFC 4302): (len + 2) * 4 bytes
 */
static bool is_ext_hdr(uint8_t nh)
{
	return nh == IP6_HOPOPTS || nh == IP6_ROUTING || nh == IP6_FRAGMENT || nh == IP6_AH ||
	       nh == IP6_DSTOPTS;
}

static int parse_ipv6(struct fc_cur *c, struct fc_pkt *p, bool allow_vxlan)
{
	uint32_t vtf;
	uint16_t plen;
	uint8_t nh, a[16];
	struct fc_cur pl;
	size_t n;

	vtf = fc_cur_be32(c);
	if (c->err)
		return FC_ETRUNC;
	if (vtf >> 28 != 6)
		return FC_EMALFORMED;
	plen = fc_cur_be16(c);
	nh = fc_cur_u8(c);
	p->ttl = fc_cur_u8(c);
	if (!read_addrs(c, p, 16)) {
		p->ttl = 0;
		return FC_ETRUNC;
	}
	p->ip_version = 6;
	p->etype = ETH_IPV6;
	p->tos = (vtf >> 20) & 0xff;
	p->flow_label = vtf & 0xfffff;
	p->ip_total_len = (uint32_t)plen + 40;
	p->proto = nh;
	push_layer(p, FC_LAYER_IPV6, 40);

	/* The payload length bounds the extension headers too; 0 means a
	 * jumbogram (RFC 2675) and leaves only the buffer bound. */
	n = fc_cur_left(c);
	if (plen != 0 && plen < n)
		n = plen;
	fc_cur_init(&pl, c->p, n);

	for (int i = 0; i < MAX_EXT_HDRS; i++) {
		uint8_t next, hlen;
		size_t len;
		struct fc_cur h;

		if (!is_ext_hdr(nh))
			break;
		next = fc_cur_u8(&pl);
		hlen = fc_cur_u8(&pl);
		if (pl.err)
			return FC_ETRUNC;
		if (nh == IP6_FRAGMENT)
			len = 8;
		else if (nh == IP6_AH)
			len = ((size_t)hlen + 2) * 4;
		else
			len = ((size_t)hlen + 1) * 8;
		/* The two bytes just read belong to this header. */
		if (!fc_cur_sub(&pl, len - 2, &h))
			return FC_ETRUNC;
		if (nh == IP6_FRAGMENT) {
			uint16_t off = fc_cur_be16(&h);

			p->frag_offset = (uint32_t)(off >> 3) * 8;
			p->more_fragments = (off & 1) != 0;
			p->frag_id = fc_cur_be32(&h);
			push_layer(p, FC_LAYER_IPV6_FRAGMENT, len);
		} else if (nh == IP6_ROUTING) {
			uint8_t type = fc_cur_u8(&h);
			uint8_t segleft = fc_cur_u8(&h);

			push_layer(p, FC_LAYER_IPV6_ROUTING, len);
			if (type == 4) {
				p->srh_seg_left = segleft;
				fc_cur_skip(&h, 4); /* last entry, flags, tag */
				while (p->n_srh < FC_FLOW_MAX_SRH && fc_cur_has(&h, 16)) {
					fc_cur_copy(&h, a, 16);
					fc_addr_set6(&p->srh_addr[p->n_srh++], a);
				}
			}
		}
		nh = next;
		p->proto = nh;
	}
	if (is_ext_hdr(nh))
		return FC_ELIMIT; /* more extension headers than we walk */

	p->l3_payload = pl.p;
	p->l3_payload_len = fc_cur_left(&pl);
	return parse_l4(&pl, p, allow_vxlan);
}

static int parse_ip(struct fc_cur *c, struct fc_pkt *p, bool allow_vxlan)
{
	uint8_t v;

	if (!fc_cur_has(c, 1))
		return FC_ETRUNC;
	v = c->p[0] >> 4; /* peek: the version nibble picks the header */
	if (v == 4)
		return parse_ipv4(c, p, allow_vxlan);
	if (v == 6)
		return parse_ipv6(c, p, allow_vxlan);
	return FC_EMALFORMED;
}

/*
 *  MPLS label stack entry (RFC 3032 §2.1)
 *  label(20) TC(3) S(1) TTL(8)
 * After the bottom of stack the payload type is not signalled; the first
 * nibble tells IPv4 (4) from IPv6 (6), anything else (pseudowire control
 * word, Ethernet) ends the walk.
 */
static int parse_mpls(struct fc_cur *c, struct fc_pkt *p)
{
	size_t start = fc_cur_left(c);
	bool bos = false;

	for (int i = 0; i < MAX_MPLS_WALK && !bos; i++) {
		uint32_t e = fc_cur_be32(c);

		if (c->err)
			break;
		if (p->n_mpls < FC_FLOW_MAX_MPLS) {
			p->mpls_label[p->n_mpls] = e >> 12;
			p->mpls_ttl[p->n_mpls] = e & 0xff;
			p->n_mpls++;
		}
		bos = (e & 0x100) != 0;
	}
	if (start != fc_cur_left(c))
		push_layer(p, FC_LAYER_MPLS, start - fc_cur_left(c));
	if (c->err)
		return FC_ETRUNC;
	if (!bos)
		return FC_ELIMIT;
	if (!fc_cur_has(c, 1))
		return FC_ETRUNC;
	if (c->p[0] >> 4 != 4 && c->p[0] >> 4 != 6)
		return 0; /* not IP under the labels: nothing more we parse */
	return parse_ip(c, p, true);
}

/*
 *  Ethernet II
 *  0 destination MAC  6 source MAC  12 type
 *  802.1Q / 802.1ad tag: TPID(16) PCP(3) DEI(1) VID(12), then the type.
 * A type below 0x0600 is an 802.3 length (LLC): nothing for us above it.
 */
static int parse_ethernet(struct fc_cur *c, struct fc_pkt *p)
{
	uint16_t type;
	int tags = 0;

	p->dst_mac = read_mac(c);
	p->src_mac = read_mac(c);
	type = fc_cur_be16(c);
	if (c->err) {
		p->dst_mac = p->src_mac = 0;
		return FC_ETRUNC;
	}
	push_layer(p, FC_LAYER_ETHERNET, 14);
	while (type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ_OLD) {
		uint16_t tci;

		if (tags++ >= MAX_TAGS)
			return FC_ELIMIT;
		tci = fc_cur_be16(c);
		type = fc_cur_be16(c);
		if (c->err)
			return FC_ETRUNC;
		if (p->n_vlans < 2)
			p->vlans[p->n_vlans++] = tci & 0x0fff;
		push_layer(p, FC_LAYER_DOT1Q, 4);
	}
	p->etype = type;
	switch (type) {
	case ETH_IPV4:
	case ETH_IPV6: {
		int rc = type == ETH_IPV4 ? parse_ipv4(c, p, true) : parse_ipv6(c, p, true);

		/* An Ethernet type that disagrees with the version nibble
		 * is malformed; keep the type the frame declared. */
		if (p->ip_version == 0)
			p->etype = type;
		return rc;
	}
	case ETH_MPLS:
	case ETH_MPLS_MC:
		return parse_mpls(c, p);
	default:
		return 0;
	}
}

int fc_pkt_parse(const uint8_t *data, size_t len, enum fc_pkt_start start, struct fc_pkt *out)
{
	struct fc_cur c;

	memset(out, 0, sizeof(*out));
	fc_cur_init(&c, data, data ? len : 0);
	switch (start) {
	case FC_PKT_ETHERNET:
		return parse_ethernet(&c, out);
	case FC_PKT_IPV4:
		return parse_ipv4(&c, out, true);
	case FC_PKT_IPV6:
		return parse_ipv6(&c, out, true);
	case FC_PKT_IP:
		return parse_ip(&c, out, true);
	case FC_PKT_MPLS:
		return parse_mpls(&c, out);
	default:
		return FC_EINVAL;
	}
}

void fc_pkt_to_flow(const struct fc_pkt *p, struct fc_flow *f)
{
	if (p->src_mac || p->dst_mac) {
		f->src_mac = p->src_mac;
		f->dst_mac = p->dst_mac;
	}
	if (p->n_vlans)
		f->vlan_id = p->vlans[0];
	if (p->etype)
		f->etype = p->etype;
	if (p->n_mpls) {
		f->n_mpls = p->n_mpls;
		memcpy(f->mpls_label, p->mpls_label, sizeof(f->mpls_label));
		memcpy(f->mpls_ttl, p->mpls_ttl, sizeof(f->mpls_ttl));
	}
	if (p->ip_version) {
		f->src_addr = p->src;
		f->dst_addr = p->dst;
		f->proto = p->proto;
		f->ip_tos = p->tos;
		f->ip_ttl = p->ttl;
		f->ip_flags = p->ip_flags;
		f->fragment_id = p->frag_id;
		/* FlowMessage (goflow2) and IPFIX IE 88 count in 8-byte units. */
		f->fragment_offset = p->frag_offset / 8;
		f->ipv6_flow_label = p->flow_label;
		f->src_port = p->src_port;
		f->dst_port = p->dst_port;
		f->tcp_flags = p->tcp_flags;
		f->icmp_type = p->icmp_type;
		f->icmp_code = p->icmp_code;
	}
	if (p->n_srh) {
		f->n_srh = p->n_srh;
		memcpy(f->srh_addr, p->srh_addr, sizeof(f->srh_addr));
		f->srh_seg_left = p->srh_seg_left;
	}
	if (p->n_layers) {
		f->n_layers = p->n_layers;
		memcpy(f->layer_stack, p->layer_stack, sizeof(f->layer_stack));
		memcpy(f->layer_size, p->layer_size, sizeof(f->layer_size));
	}
	if (p->vxlan_vni || p->has_inner) {
		f->vxlan_vni = p->vxlan_vni;
		f->inner_src_addr = p->inner_src;
		f->inner_dst_addr = p->inner_dst;
		f->inner_proto = p->inner_proto;
		f->inner_src_port = p->inner_src_port;
		f->inner_dst_port = p->inner_dst_port;
		f->inner_etype = p->inner_etype;
	}
}
