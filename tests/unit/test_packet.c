/*
 * Unit tests for the L2->L4 parser (src/packet/packet.c). Frames are built
 * here, header by header, so every path (Ethernet, 802.1Q/QinQ, MPLS, IPv4
 * options and fragments, IPv6 extension headers and SRH, UDP, TCP, ICMP,
 * ICMPv6, VXLAN) has a known expected result, then cut at every length.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fc/err.h"
#include "packet/packet.h"
#include "check_run.h"

struct frame {
	uint8_t b[512];
	size_t n;
};

static void put(struct frame *f, const void *p, size_t n)
{
	ck_assert_uint_le(f->n + n, sizeof(f->b));
	memcpy(f->b + f->n, p, n);
	f->n += n;
}

static void put8(struct frame *f, unsigned v)
{
	uint8_t b = (uint8_t)v;

	put(f, &b, 1);
}

static void put16(struct frame *f, unsigned v)
{
	put8(f, v >> 8);
	put8(f, v);
}

static void put32(struct frame *f, uint32_t v)
{
	put16(f, v >> 16);
	put16(f, v & 0xffff);
}

static const uint8_t MAC_D[6] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55};
static const uint8_t MAC_S[6] = {0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb};
static const uint8_t V4_S[4] = {192, 0, 2, 1};
static const uint8_t V4_D[4] = {198, 51, 100, 7};
static const uint8_t V6_S[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t V6_D[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
static const uint8_t V6_SEG[16] = {0xfc, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};

static void eth(struct frame *f, unsigned type)
{
	put(f, MAC_D, 6);
	put(f, MAC_S, 6);
	put16(f, type);
}

/* IPv4 header with ihl words (options zero-filled); total = header + l4len. */
static void ipv4(struct frame *f, unsigned ihl, unsigned proto, unsigned l4len, unsigned ff)
{
	put8(f, 0x40 | ihl);
	put8(f, 0xb8); /* ToS: EF */
	put16(f, ihl * 4 + l4len);
	put16(f, 0x1234);
	put16(f, ff);
	put8(f, 63);
	put8(f, proto);
	put16(f, 0);
	put(f, V4_S, 4);
	put(f, V4_D, 4);
	for (unsigned i = 5; i < ihl; i++)
		put32(f, 0x01010101); /* NOP options */
}

static void ipv6(struct frame *f, unsigned nh, unsigned plen)
{
	put32(f, 6u << 28 | 0x2eu << 20 | 0xabcde);
	put16(f, plen);
	put8(f, nh);
	put8(f, 64);
	put(f, V6_S, 16);
	put(f, V6_D, 16);
}

static void tcp(struct frame *f, unsigned flags)
{
	put16(f, 44321);
	put16(f, 443);
	put32(f, 1);
	put32(f, 2);
	put8(f, 5 << 4);
	put8(f, flags);
	put16(f, 65535);
	put32(f, 0);
}

static void udp(struct frame *f, unsigned sport, unsigned dport, unsigned paylen)
{
	put16(f, sport);
	put16(f, dport);
	put16(f, 8 + paylen);
	put16(f, 0);
}

/* ---- header paths ---- */

START_TEST(ethernet_ipv4_tcp)
{
	struct frame f = {0};
	struct fc_pkt p;
	struct fc_flow fl;

	eth(&f, 0x0800);
	ipv4(&f, 5, 6, 20, 0x4000);
	tcp(&f, 0x12);
	ck_assert_int_eq(fc_pkt_parse(f.b, f.n, FC_PKT_ETHERNET, &p), 0);
	ck_assert_uint_eq(p.dst_mac, 0x001122334455ull);
	ck_assert_uint_eq(p.src_mac, 0x66778899aabbull);
	ck_assert_uint_eq(p.etype, 0x0800);
	ck_assert_int_eq(p.ip_version, 4);
	ck_assert_mem_eq(p.src.a, V4_S, 4);
	ck_assert_mem_eq(p.dst.a, V4_D, 4);
	ck_assert_uint_eq(p.proto, 6);
	ck_assert_uint_eq(p.tos, 0xb8);
	ck_assert_uint_eq(p.ttl, 63);
	ck_assert_uint_eq(p.ip_flags, 2);
	ck_assert_uint_eq(p.frag_id, 0x1234);
	ck_assert_uint_eq(p.src_port, 44321);
	ck_assert_uint_eq(p.dst_port, 443);
	ck_assert_uint_eq(p.tcp_flags, 0x12);
	ck_assert_uint_eq(p.n_layers, 3);
	ck_assert_uint_eq(p.layer_stack[0], FC_LAYER_ETHERNET);
	ck_assert_uint_eq(p.layer_stack[1], FC_LAYER_IPV4);
	ck_assert_uint_eq(p.layer_stack[2], FC_LAYER_TCP);
	ck_assert_uint_eq(p.layer_size[2], 20);
	ck_assert_uint_eq(p.l3_payload_len, 20);

	fc_flow_reset(&fl);
	fl.src_vlan = 7; /* set by someone else: must survive */
	fc_pkt_to_flow(&p, &fl);
	ck_assert_uint_eq(fl.src_vlan, 7);
	ck_assert_uint_eq(fl.src_addr.family, 4);
	ck_assert_uint_eq(fl.dst_port, 443);
	ck_assert_uint_eq(fl.tcp_flags, 0x12);
	ck_assert_uint_eq(fl.ip_tos, 0xb8);
	ck_assert_uint_eq(fl.etype, 0x0800);
	ck_assert_uint_eq(fl.n_layers, 3);
	ck_assert_uint_eq(fl.src_mac, 0x66778899aabbull);
}
END_TEST

START_TEST(vlan_and_qinq)
{
	struct frame f = {0};
	struct fc_pkt p;

	eth(&f, 0x88a8);
	put16(&f, 0x2000 | 100); /* PCP 1, VID 100 */
	put16(&f, 0x8100);
	put16(&f, 200);
	put16(&f, 0x0800);
	ipv4(&f, 5, 17, 8 + 4, 0);
	udp(&f, 53, 5353, 4);
	put32(&f, 0xdeadbeef);
	ck_assert_int_eq(fc_pkt_parse(f.b, f.n, FC_PKT_ETHERNET, &p), 0);
	ck_assert_uint_eq(p.n_vlans, 2);
	ck_assert_uint_eq(p.vlans[0], 100);
	ck_assert_uint_eq(p.vlans[1], 200);
	ck_assert_uint_eq(p.src_port, 53);
	ck_assert_uint_eq(p.dst_port, 5353);
	ck_assert_uint_eq(p.l4_payload_len, 4);
	ck_assert_uint_eq(p.l4_payload[0], 0xde);
	ck_assert_uint_eq(p.n_layers, 5);
	ck_assert_uint_eq(p.layer_stack[1], FC_LAYER_DOT1Q);
	ck_assert_uint_eq(p.layer_stack[2], FC_LAYER_DOT1Q);
	ck_assert_uint_eq(p.layer_stack[4], FC_LAYER_UDP);
}
END_TEST

START_TEST(mpls_stack)
{
	struct frame f = {0};
	struct fc_pkt p;
	struct fc_flow fl;

	eth(&f, 0x8847);
	put32(&f, 16000u << 12 | 0 << 9 | 0 << 8 | 255);
	put32(&f, 299776u << 12 | 1 << 8 | 64);
	ipv4(&f, 5, 1, 8, 0);
	put8(&f, 8);
	put8(&f, 0);
	put16(&f, 0);
	put32(&f, 0);
	ck_assert_int_eq(fc_pkt_parse(f.b, f.n, FC_PKT_ETHERNET, &p), 0);
	ck_assert_uint_eq(p.n_mpls, 2);
	ck_assert_uint_eq(p.mpls_label[0], 16000);
	ck_assert_uint_eq(p.mpls_ttl[0], 255);
	ck_assert_uint_eq(p.mpls_label[1], 299776);
	ck_assert_uint_eq(p.mpls_ttl[1], 64);
	ck_assert_uint_eq(p.etype, 0x0800);
	ck_assert_uint_eq(p.proto, 1);
	ck_assert_uint_eq(p.icmp_type, 8);
	ck_assert_uint_eq(p.layer_stack[1], FC_LAYER_MPLS);
	ck_assert_uint_eq(p.layer_size[1], 8);
	ck_assert_uint_eq(p.layer_stack[3], FC_LAYER_ICMP);
	fc_flow_reset(&fl);
	fc_pkt_to_flow(&p, &fl);
	ck_assert_uint_eq(fl.n_mpls, 2);
	ck_assert_uint_eq(fl.mpls_label[1], 299776);
	ck_assert_uint_eq(fl.icmp_type, 8);

	/* Starting at the label stack (sFlow has no such header protocol, but
	 * the pcap input may). */
	ck_assert_int_eq(fc_pkt_parse(f.b + 14, f.n - 14, FC_PKT_MPLS, &p), 0);
	ck_assert_uint_eq(p.n_mpls, 2);
	ck_assert_uint_eq(p.icmp_type, 8);
}
END_TEST

START_TEST(ipv4_options_and_udp_length)
{
	struct frame f = {0};
	struct fc_pkt p;

	ipv4(&f, 7, 17, 8 + 3, 0);
	udp(&f, 1000, 2055, 3);
	put8(&f, 1);
	put8(&f, 2);
	put8(&f, 3);
	put32(&f, 0xffffffff); /* Ethernet padding past the IP total length */
	ck_assert_int_eq(fc_pkt_parse(f.b, f.n, FC_PKT_IPV4, &p), 0);
	ck_assert_uint_eq(p.layer_size[0], 28);
	ck_assert_uint_eq(p.ip_total_len, 28 + 11);
	ck_assert_uint_eq(p.l3_payload_len, 11);
	ck_assert_uint_eq(p.l4_payload_len, 3);
	ck_assert_uint_eq(p.l4_payload[2], 3);
	ck_assert_uint_eq(p.dst_port, 2055);

	/* UDP length larger than what the buffer holds: bounded by buffer. */
	f.n = 0;
	ipv4(&f, 5, 17, 8 + 100, 0);
	udp(&f, 1000, 6343, 100);
	put32(&f, 5);
	ck_assert_int_eq(fc_pkt_parse(f.b, f.n, FC_PKT_IP, &p), 0);
	ck_assert_uint_eq(p.l4_payload_len, 4);
}
END_TEST

START_TEST(ipv4_fragments)
{
	struct frame f = {0};
	struct fc_pkt p;
	struct fc_flow fl;

	/* First fragment: MF set, offset 0, ports present. */
	ipv4(&f, 5, 17, 16, 0x2000);
	udp(&f, 6343, 6343, 1400);
	ck_assert_int_eq(fc_pkt_parse(f.b, f.n, FC_PKT_IPV4, &p), 0);
	ck_assert(p.more_fragments);
	ck_assert_uint_eq(p.frag_offset, 0);
	ck_assert_uint_eq(p.ip_flags, 1);
	ck_assert_uint_eq(p.src_port, 6343);
	ck_assert_uint_eq(p.l3_payload_len, 8);

	/* Later fragment: offset 185 * 8 bytes, no ports even if bytes look like a header. */
	f.n = 0;
	ipv4(&f, 5, 17, 8, 185);
	udp(&f, 1, 2, 0);
	ck_assert_int_eq(fc_pkt_parse(f.b, f.n, FC_PKT_IPV4, &p), 0);
	ck_assert(!p.more_fragments);
	ck_assert_uint_eq(p.frag_offset, 1480);
	ck_assert_uint_eq(p.frag_id, 0x1234);
	ck_assert_uint_eq(p.src_port, 0);
	ck_assert_ptr_null(p.l4_payload);
	ck_assert_uint_eq(p.l3_payload_len, 8);
	fc_flow_reset(&fl);
	fc_pkt_to_flow(&p, &fl);
	ck_assert_uint_eq(fl.fragment_offset, 185);
	ck_assert_uint_eq(fl.fragment_id, 0x1234);
}
END_TEST

START_TEST(ipv6_extension_headers)
{
	struct frame f = {0};
	struct fc_pkt p;
	struct fc_flow fl;

	/* hop-by-hop (8) + SRH with 2 segments (8 + 32) + fragment (8) +
	 * destination options (16) + TCP (20) */
	eth(&f, 0x86dd);
	ipv6(&f, 0, 8 + 40 + 8 + 16 + 20);
	put8(&f, 43); put8(&f, 0); put16(&f, 0x0104); put32(&f, 0); /* PadN */
	put8(&f, 44); put8(&f, 4); put8(&f, 4); put8(&f, 1);
	put8(&f, 1); put8(&f, 0); put16(&f, 0);
	put(&f, V6_SEG, 16);
	put(&f, V6_D, 16);
	put8(&f, 60); put8(&f, 0); put16(&f, 0); put32(&f, 0xcafe);  /* offset 0, M=0 */
	put8(&f, 6); put8(&f, 1); put16(&f, 0x010c); put32(&f, 0); put32(&f, 0); put32(&f, 0);
	tcp(&f, 0x02);
	ck_assert_int_eq(fc_pkt_parse(f.b, f.n, FC_PKT_ETHERNET, &p), 0);
	ck_assert_int_eq(p.ip_version, 6);
	ck_assert_uint_eq(p.etype, 0x86dd);
	ck_assert_mem_eq(p.src.a, V6_S, 16);
	ck_assert_mem_eq(p.dst.a, V6_D, 16);
	ck_assert_uint_eq(p.flow_label, 0xabcde);
	ck_assert_uint_eq(p.tos, 0x2e);
	ck_assert_uint_eq(p.ttl, 64);
	ck_assert_uint_eq(p.proto, 6);
	ck_assert_uint_eq(p.n_srh, 2);
	ck_assert_mem_eq(p.srh_addr[0].a, V6_SEG, 16);
	ck_assert_uint_eq(p.srh_seg_left, 1);
	ck_assert_uint_eq(p.frag_id, 0xcafe);
	ck_assert_uint_eq(p.src_port, 44321);
	ck_assert_uint_eq(p.tcp_flags, 0x02);
	ck_assert_uint_eq(p.n_layers, 5);
	ck_assert_uint_eq(p.layer_stack[2], FC_LAYER_IPV6_ROUTING);
	ck_assert_uint_eq(p.layer_size[2], 40);
	ck_assert_uint_eq(p.layer_stack[3], FC_LAYER_IPV6_FRAGMENT);
	ck_assert_uint_eq(p.layer_stack[4], FC_LAYER_TCP);
	fc_flow_reset(&fl);
	fc_pkt_to_flow(&p, &fl);
	ck_assert_uint_eq(fl.ipv6_flow_label, 0xabcde);
	ck_assert_uint_eq(fl.n_srh, 2);
	ck_assert_uint_eq(fl.srh_seg_left, 1);
	ck_assert_uint_eq(fl.src_addr.family, 6);
}
END_TEST

START_TEST(ipv6_fragment_and_icmpv6)
{
	struct frame f = {0};
	struct fc_pkt p;

	ipv6(&f, 44, 8 + 8);
	put8(&f, 17); put8(&f, 0); put16(&f, 100 << 3 | 1); put32(&f, 77);
	udp(&f, 1, 2, 0);
	ck_assert_int_eq(fc_pkt_parse(f.b, f.n, FC_PKT_IPV6, &p), 0);
	ck_assert_uint_eq(p.frag_offset, 800);
	ck_assert(p.more_fragments);
	ck_assert_uint_eq(p.frag_id, 77);
	ck_assert_uint_eq(p.proto, 17);
	ck_assert_uint_eq(p.src_port, 0); /* not the first fragment */

	f.n = 0;
	ipv6(&f, 58, 8);
	put8(&f, 128); put8(&f, 0); put16(&f, 0); put32(&f, 0);
	ck_assert_int_eq(fc_pkt_parse(f.b, f.n, FC_PKT_IP, &p), 0);
	ck_assert_uint_eq(p.proto, 58);
	ck_assert_uint_eq(p.icmp_type, 128);
	ck_assert_uint_eq(p.layer_stack[1], FC_LAYER_ICMPV6);
}
END_TEST

START_TEST(vxlan_inner)
{
	struct frame f = {0};
	struct fc_pkt p;
	struct fc_flow fl;

	eth(&f, 0x0800);
	ipv4(&f, 5, 17, 8 + 8 + 14 + 40 + 8, 0);
	udp(&f, 54321, 4789, 8 + 14 + 40 + 8);
	put8(&f, 0x08); put8(&f, 0); put16(&f, 0);
	put32(&f, 5001u << 8);
	eth(&f, 0x86dd);
	ipv6(&f, 17, 8);
	udp(&f, 5000, 53, 0);
	ck_assert_int_eq(fc_pkt_parse(f.b, f.n, FC_PKT_ETHERNET, &p), 0);
	ck_assert_uint_eq(p.dst_port, 4789);
	ck_assert_uint_eq(p.vxlan_vni, 5001);
	ck_assert(p.has_inner);
	ck_assert_uint_eq(p.inner_etype, 0x86dd);
	ck_assert_uint_eq(p.inner_src.family, 6);
	ck_assert_mem_eq(p.inner_dst.a, V6_D, 16);
	ck_assert_uint_eq(p.inner_proto, 17);
	ck_assert_uint_eq(p.inner_dst_port, 53);
	/* outer addresses untouched by the inner parse */
	ck_assert_uint_eq(p.src.family, 4);
	fc_flow_reset(&fl);
	fc_pkt_to_flow(&p, &fl);
	ck_assert_uint_eq(fl.vxlan_vni, 5001);
	ck_assert_uint_eq(fl.inner_src_port, 5000);
}
END_TEST

/* ---- truncation and malformed ---- */

static void build_all(struct frame *f, int which)
{
	f->n = 0;
	switch (which) {
	case 0:
		eth(f, 0x8100);
		put16(f, 10);
		put16(f, 0x0800);
		ipv4(f, 6, 6, 20, 0);
		tcp(f, 0x18);
		break;
	case 1:
		eth(f, 0x8847);
		put32(f, 100u << 12 | 1 << 8 | 9);
		ipv6(f, 0, 8 + 8);
		put8(f, 17); put8(f, 0); put16(f, 0); put32(f, 0);
		udp(f, 9, 10, 0);
		break;
	case 2:
		eth(f, 0x0800);
		ipv4(f, 5, 17, 8 + 8 + 14 + 20 + 8, 0);
		udp(f, 1, 4789, 8 + 14 + 20 + 8);
		put32(f, 0x08000000); put32(f, 7u << 8);
		eth(f, 0x0800);
		ipv4(f, 5, 17, 8, 0);
		udp(f, 3, 4, 0);
		break;
	default:
		ipv6(f, 43, 8 + 16 + 8);
		put8(f, 58); put8(f, 2); put8(f, 4); put8(f, 0); put32(f, 0);
		put(f, V6_SEG, 16);
		put8(f, 1); put8(f, 0); put16(f, 0); put32(f, 0);
		break;
	}
}

START_TEST(truncated_at_every_length)
{
	struct frame f;
	struct fc_pkt full, p;
	enum fc_pkt_start st = _i == 3 ? FC_PKT_IPV6 : FC_PKT_ETHERNET;

	build_all(&f, _i);
	ck_assert_int_eq(fc_pkt_parse(f.b, f.n, st, &full), 0);
	for (size_t len = 0; len < f.n; len++) {
		/* A copy of exactly len bytes, so ASan sees any overread. */
		uint8_t *cut = malloc(len ? len : 1);
		int rc;

		ck_assert_ptr_nonnull(cut);
		memcpy(cut, f.b, len);
		rc = fc_pkt_parse(cut, len, st, &p);
		ck_assert(rc == 0 || rc == FC_ETRUNC);
		/* Whatever is reported is what the full frame says. */
		if (p.ip_version) {
			ck_assert(fc_addr_eq(&p.src, &full.src));
			ck_assert(fc_addr_eq(&p.dst, &full.dst));
		}
		if (p.src_port)
			ck_assert_uint_eq(p.src_port, full.src_port);
		if (p.dst_port)
			ck_assert_uint_eq(p.dst_port, full.dst_port);
		ck_assert_uint_le(p.l3_payload_len, len);
		ck_assert_uint_le(p.l4_payload_len, len);
		ck_assert_uint_le(p.n_layers, full.n_layers);
		free(cut);
	}
	ck_assert_int_eq(fc_pkt_parse(NULL, 0, st, &p), FC_ETRUNC);
}
END_TEST

/* Malformed and over-limit frames: one builder per frame, one table row per
 * parse of it with the return code and up to two fields that must hold. */
enum bad_frame {
	BF_IHL_SHORT,    /* IHL 3 words: shorter than the fixed header */
	BF_IHL_LONG,     /* IHL 15 words = 60 bytes: past the 40-byte frame */
	BF_VERSION5,     /* IPv4 header with version 5 */
	BF_ETH6_IP4,     /* Ethernet says IPv6, the header says 4 */
	BF_TOTAL0,       /* total length 0 (TSO captures) */
	BF_HBH_LONG,     /* hop-by-hop claims 255*8+8 bytes */
	BF_PLEN_SHORT,   /* payload length smaller than its extension header */
	BF_DSTOPT_CHAIN, /* endless chain of destination-options headers */
	BF_SRH_ODD,      /* SRH whose length is odd (half an address) */
	BF_MPLS_NO_BOS,  /* 40 labels, none the bottom of stack */
	BF_MPLS_CW,      /* bottom of stack, then a pseudowire control word */
	BF_VLAN_MANY,    /* 20 VLAN tags */
	BF_LLC,          /* 802.3 length field instead of a type */
};

static void build_bad(struct frame *f, enum bad_frame which)
{
	f->n = 0;
	switch (which) {
	case BF_IHL_SHORT:
	case BF_IHL_LONG:
	case BF_VERSION5:
		ipv4(f, 5, 6, 20, 0);
		tcp(f, 0x02);
		f->b[0] = which == BF_IHL_SHORT ? 0x43 : which == BF_IHL_LONG ? 0x4f : 0x55;
		break;
	case BF_ETH6_IP4:
		eth(f, 0x86dd);
		ipv4(f, 5, 6, 0, 0);
		break;
	case BF_TOTAL0:
		ipv4(f, 5, 17, 0, 0);
		f->b[2] = f->b[3] = 0;
		udp(f, 1, 2, 0);
		break;
	case BF_HBH_LONG:
		ipv6(f, 0, 16);
		put8(f, 6); put8(f, 255); put16(f, 0); put32(f, 0);
		put32(f, 0); put32(f, 0);
		break;
	case BF_PLEN_SHORT:
		ipv6(f, 60, 4);
		put8(f, 6); put8(f, 0); put16(f, 0); put32(f, 0);
		tcp(f, 1);
		break;
	case BF_DSTOPT_CHAIN:
		ipv6(f, 60, 8 * 40);
		for (int i = 0; i < 40; i++) {
			put8(f, 60); put8(f, 0); put16(f, 0); put32(f, 0);
		}
		break;
	case BF_SRH_ODD:
		ipv6(f, 43, 16);
		put8(f, 59); put8(f, 1); put8(f, 4); put8(f, 0); put32(f, 0);
		put32(f, 1); put32(f, 2);
		break;
	case BF_MPLS_NO_BOS:
		eth(f, 0x8847);
		for (int i = 0; i < 40; i++)
			put32(f, (uint32_t)i << 12 | 5);
		break;
	case BF_MPLS_CW:
		eth(f, 0x8847);
		put32(f, 1u << 12 | 1 << 8 | 5);
		put32(f, 0);
		break;
	case BF_VLAN_MANY:
		eth(f, 0x8100);
		for (int i = 0; i < 20; i++) {
			put16(f, (unsigned)i);
			put16(f, 0x8100);
		}
		break;
	case BF_LLC:
		eth(f, 0x0040);
		break;
	}
}

/* The fields a malformed case may check. */
enum pkt_field { PF_NONE, PF_SRC_PORT, PF_DST_PORT, PF_N_LAYERS, PF_IP_VERSION, PF_ETYPE,
		 PF_PROTO, PF_L3_LEN, PF_N_SRH, PF_N_MPLS, PF_N_VLANS };

static uint64_t pkt_field(const struct fc_pkt *p, enum pkt_field f)
{
	switch (f) {
	case PF_SRC_PORT:
		return p->src_port;
	case PF_DST_PORT:
		return p->dst_port;
	case PF_N_LAYERS:
		return p->n_layers;
	case PF_IP_VERSION:
		return (uint64_t)p->ip_version;
	case PF_ETYPE:
		return p->etype;
	case PF_PROTO:
		return p->proto;
	case PF_L3_LEN:
		return p->l3_payload_len;
	case PF_N_SRH:
		return p->n_srh;
	case PF_N_MPLS:
		return p->n_mpls;
	case PF_N_VLANS:
		return p->n_vlans;
	default:
		return 0;
	}
}

struct bad_case {
	const char *what;
	enum bad_frame frame;
	enum fc_pkt_start start;
	int rc;
	struct {
		enum pkt_field field;
		uint64_t value;
	} want[2];
};

static const struct bad_case bad_cases[] = {
	{"IHL below 5", BF_IHL_SHORT, FC_PKT_IPV4, FC_EMALFORMED,
	 {{PF_SRC_PORT, 0}, {PF_N_LAYERS, 0}}},
	{"IHL past the frame", BF_IHL_LONG, FC_PKT_IPV4, FC_ETRUNC, {{PF_SRC_PORT, 0}}},
	{"version 5 as IPv4", BF_VERSION5, FC_PKT_IPV4, FC_EMALFORMED, {{PF_IP_VERSION, 0}}},
	{"version 5 sniffed", BF_VERSION5, FC_PKT_IP, FC_EMALFORMED, {{PF_IP_VERSION, 0}}},
	/* the type the frame declared is kept */
	{"Ethernet IPv6, header IPv4", BF_ETH6_IP4, FC_PKT_ETHERNET, FC_EMALFORMED,
	 {{PF_ETYPE, 0x86dd}}},
	/* the buffer bounds the payload */
	{"total length 0", BF_TOTAL0, FC_PKT_IPV4, 0, {{PF_L3_LEN, 8}, {PF_DST_PORT, 2}}},
	{"hop-by-hop past the payload", BF_HBH_LONG, FC_PKT_IPV6, FC_ETRUNC,
	 {{PF_IP_VERSION, 6}, {PF_SRC_PORT, 0}}},
	{"payload length below extension header", BF_PLEN_SHORT, FC_PKT_IPV6, FC_ETRUNC,
	 {{PF_SRC_PORT, 0}}},
	/* stops at the cap */
	{"endless destination options", BF_DSTOPT_CHAIN, FC_PKT_IPV6, FC_ELIMIT, {{PF_NONE, 0}}},
	/* only whole addresses */
	{"SRH odd length", BF_SRH_ODD, FC_PKT_IPV6, 0, {{PF_N_SRH, 0}, {PF_PROTO, 59}}},
	{"MPLS without bottom of stack", BF_MPLS_NO_BOS, FC_PKT_ETHERNET, FC_ELIMIT,
	 {{PF_N_MPLS, 10}}},
	{"MPLS then control word", BF_MPLS_CW, FC_PKT_ETHERNET, 0,
	 {{PF_IP_VERSION, 0}, {PF_ETYPE, 0x8847}}},
	{"too many VLAN tags", BF_VLAN_MANY, FC_PKT_ETHERNET, FC_ELIMIT, {{PF_N_VLANS, 2}}},
	/* stops quietly */
	{"802.3 length field", BF_LLC, FC_PKT_ETHERNET, 0, {{PF_IP_VERSION, 0}}},
};

START_TEST(malformed_table)
{
	const struct bad_case *c = &bad_cases[_i];
	struct frame f;
	struct fc_pkt p;
	int rc;

	build_bad(&f, c->frame);
	rc = fc_pkt_parse(f.b, f.n, c->start, &p);
	ck_assert_msg(rc == c->rc, "%s: rc %d, want %d", c->what, rc, c->rc);
	for (size_t i = 0; i < sizeof(c->want) / sizeof(c->want[0]); i++) {
		uint64_t v = pkt_field(&p, c->want[i].field);

		if (c->want[i].field == PF_NONE)
			continue;
		ck_assert_msg(v == c->want[i].value, "%s: field %d is %llu, want %llu", c->what,
			      (int)c->want[i].field, (unsigned long long)v,
			      (unsigned long long)c->want[i].value);
	}
}
END_TEST

static Suite *packet_suite(void)
{
	Suite *s = suite_create("packet");
	TCase *tc = tcase_create("headers");

	tcase_add_test(tc, ethernet_ipv4_tcp);
	tcase_add_test(tc, vlan_and_qinq);
	tcase_add_test(tc, mpls_stack);
	tcase_add_test(tc, ipv4_options_and_udp_length);
	tcase_add_test(tc, ipv4_fragments);
	tcase_add_test(tc, ipv6_extension_headers);
	tcase_add_test(tc, ipv6_fragment_and_icmpv6);
	tcase_add_test(tc, vxlan_inner);
	suite_add_tcase(s, tc);

	tc = tcase_create("malformed");
	tcase_add_loop_test(tc, truncated_at_every_length, 0, 4);
	tcase_add_loop_test(tc, malformed_table, 0, (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fc_check_run(packet_suite());
}
