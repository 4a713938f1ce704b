/*
 * The information-element table (see fields.h): NetFlow v9 field types (RFC
 * 3954 §8, Cisco's v9 field list) and IPFIX information elements (RFC 7012
 * and the IANA registry), which share their numbers below 128 and agree on
 * the common ones above, plus the RFC 5103 reverse elements (PEN 29305).
 *
 * Lengths: counters accept every reduced-size encoding 1..8 (RFC 7011 §6.2);
 * addresses exactly 4 or 16; MACs 6. A field whose length is not accepted is
 * skipped by length and counted, never reinterpreted.
 *
 * Time elements are kept raw in the record and turned into Unix ns by the
 * walker once the whole record (and the header's export time and uptime)
 * is known: 21/22 sysUpTime ms, 150/151 s, 152/153 ms, 154/155 NTP µs,
 * 156/157 NTP ns, 158/159 µs before export, 160 systemInitTimeMilliseconds.
 */
#include "decode/fields.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>

/* Length masks. */
#define LN(n) (1u << (n))
#define L_R8 0x1feu /* 1..8 */
#define L_R4 0x1eu  /* 1..4 */
#define L_R2 0x6u   /* 1..2 */
#define L_1 LN(1)
#define L_V4 LN(4)
#define L_V6 LN(16)
#define L_ADDR (LN(4) | LN(16))
#define L_MAC LN(6)
#define L_ANY 0u

#define OFF(fld) ((uint16_t)offsetof(struct fc_nfx_rec, fld))
#define E_U32(nm, l, fld) {nm, l, FC_IEK_U32, OFF(fld), 0, NULL, 0}
#define E_U64S(nm, l, fld, bit) {nm, l, FC_IEK_U64, OFF(fld), 0, NULL, bit}
#define E_U64(nm, l, fld) {nm, l, FC_IEK_U64, OFF(fld), 0, NULL, 0}
#define E_U32Z(nm, l, fld) {nm, l, FC_IEK_U32_IFZERO, OFF(fld), 0, NULL, 0}
#define E_U64Z(nm, l, fld) {nm, l, FC_IEK_U64_IFZERO, OFF(fld), 0, NULL, 0}
#define E_ADDR(nm, l, fld) {nm, l, FC_IEK_ADDR, OFF(fld), 0, NULL, 0}
#define E_MAC(nm, fld) {nm, L_MAC, FC_IEK_MAC, OFF(fld), 0, NULL, 0}
#define E_MACZ(nm, fld) {nm, L_MAC, FC_IEK_MAC_IFZERO, OFF(fld), 0, NULL, 0}
#define E_FN(nm, l, f, a) {nm, l, FC_IEK_FN, 0, a, f, 0}

uint64_t fc_ie_ntp_to_unix_ns(uint64_t ntp, bool micro)
{
	uint64_t secs = ntp >> 32, frac = ntp & 0xffffffffu;

	/* 2208988800 s from 1900-01-01 (NTP era 0) to 1970-01-01 */
	if (secs < 2208988800u)
		return 0;
	if (micro)
		frac &= ~(uint64_t)0x7ff; /* RFC 7011 §6.1.9: low 11 bits ignored */
	return (secs - 2208988800u) * 1000000000ull + ((frac * 1000000000ull) >> 32);
}

/* ---- special setters ---- */

enum {
	T_UP_START, T_UP_END, T_S_START, T_S_END, T_MS_START, T_MS_END, T_US_START, T_US_END,
	T_NS_START, T_NS_END, T_DELTA_START, T_DELTA_END, T_INIT, T_OBS_MS,
};

static void set_time(struct fc_nfx_rec *r, const struct fc_ie *ie, const uint8_t *v, size_t len)
{
	uint64_t x = fc_ie_uint(v, len);

	switch (ie->arg) {
	case T_UP_START:
		r->up_start = (uint32_t)x;
		r->seen |= FC_SEEN_UP_START;
		break;
	case T_UP_END:
		r->up_end = (uint32_t)x;
		r->seen |= FC_SEEN_UP_END;
		break;
	case T_S_START:
		r->abs_start_ns = x * 1000000000ull;
		r->seen |= FC_SEEN_ABS_START;
		break;
	case T_S_END:
		r->abs_end_ns = x * 1000000000ull;
		r->seen |= FC_SEEN_ABS_END;
		break;
	case T_MS_START:
		r->abs_start_ns = x * 1000000ull;
		r->seen |= FC_SEEN_ABS_START;
		break;
	case T_MS_END:
		r->abs_end_ns = x * 1000000ull;
		r->seen |= FC_SEEN_ABS_END;
		break;
	case T_US_START:
	case T_NS_START:
		r->abs_start_ns = fc_ie_ntp_to_unix_ns(x, ie->arg == T_US_START);
		r->seen |= FC_SEEN_ABS_START;
		break;
	case T_US_END:
	case T_NS_END:
		r->abs_end_ns = fc_ie_ntp_to_unix_ns(x, ie->arg == T_US_END);
		r->seen |= FC_SEEN_ABS_END;
		break;
	case T_DELTA_START:
		r->delta_start_us = x;
		r->seen |= FC_SEEN_DELTA_START;
		break;
	case T_DELTA_END:
		r->delta_end_us = x;
		r->seen |= FC_SEEN_DELTA_END;
		break;
	case T_INIT:
		r->init_ms = x;
		r->seen |= FC_SEEN_INIT;
		break;
	case T_OBS_MS:
		r->obs_ms = x;
		r->seen |= FC_SEEN_OBS_MS;
		break;
	default:
		break;
	}
}

/* icmpTypeCodeIPv4/IPv6 (32, 139): type << 8 | code */
static void set_icmp_tc(struct fc_nfx_rec *r, const struct fc_ie *ie, const uint8_t *v, size_t len)
{
	uint64_t x = fc_ie_uint(v, len);

	(void)ie;
	r->f.icmp_type = (uint32_t)(x >> 8) & 0xff;
	r->f.icmp_code = (uint32_t)x & 0xff;
}

/* flowLabelIPv6 (31): 20 bits, sent in 3 or 4 bytes */
static void set_flow_label(struct fc_nfx_rec *r, const struct fc_ie *ie, const uint8_t *v,
			   size_t len)
{
	(void)ie;
	r->f.ipv6_flow_label = (uint32_t)fc_ie_uint(v, len) & 0xfffff;
}

/* tcpControlBits (6): 1 byte (v9, old IPFIX) or 2 bytes (RFC 7125); the top
 * 4 bits of the 2-byte form are the header length and not flags. */
static void set_tcp_flags(struct fc_nfx_rec *r, const struct fc_ie *ie, const uint8_t *v,
			  size_t len)
{
	uint32_t x = (uint32_t)fc_ie_uint(v, len) & 0x0fff;

	if (ie->arg)
		r->rev_tcp_flags = x;
	else
		r->f.tcp_flags = x;
}

/* mplsTopLabelStackSection .. mplsLabelStackSection10 (70..79): 20-bit label,
 * 3-bit TC, bottom-of-stack bit. arg = depth. */
static void set_mpls(struct fc_nfx_rec *r, const struct fc_ie *ie, const uint8_t *v, size_t len)
{
	uint32_t x = (uint32_t)fc_ie_uint(v, len);
	uint32_t i = ie->arg;

	if (len == 4)
		x >>= 8; /* label in the top 3 bytes */
	if (x == 0 && i > 0)
		return; /* unused deeper entries are zero */
	r->f.mpls_label[i] = x >> 4;
	if (r->f.n_mpls < i + 1)
		r->f.n_mpls = i + 1;
}

/* vlanId (58): the VLAN of the flow; also the generic vlan_id */
static void set_vlan(struct fc_nfx_rec *r, const struct fc_ie *ie, const uint8_t *v, size_t len)
{
	uint32_t x = (uint32_t)fc_ie_uint(v, len) & 0xfff;

	(void)ie;
	r->f.src_vlan = x;
	if (r->f.vlan_id == 0)
		r->f.vlan_id = x;
}

/* ipVersion (60) */
static void set_ipver(struct fc_nfx_rec *r, const struct fc_ie *ie, const uint8_t *v, size_t len)
{
	uint64_t x = fc_ie_uint(v, len);

	(void)ie;
	if (x == 4)
		r->f.etype = 0x0800;
	else if (x == 6)
		r->f.etype = 0x86dd;
}

/* flowDirection (61): 0 ingress, 1 egress -> ours: 1 ingress, 2 egress */
static void set_direction(struct fc_nfx_rec *r, const struct fc_ie *ie, const uint8_t *v,
			  size_t len)
{
	uint64_t x = fc_ie_uint(v, len);

	(void)ie;
	if (x <= 1)
		r->f.flow_direction = (uint32_t)x + 1;
}

/* samplerId / FLOW_SAMPLER_ID (48), selectorId (302) */
static void set_sampler(struct fc_nfx_rec *r, const struct fc_ie *ie, const uint8_t *v,
			size_t len)
{
	(void)ie;
	r->f.sampler_id = fc_ie_uint(v, len);
	r->seen |= FC_SEEN_SAMPLER;
}

/* interfaceName (82) / interfaceDescription (83): strings, kept as views */
static void set_ifname(struct fc_nfx_rec *r, const struct fc_ie *ie, const uint8_t *v, size_t len)
{
	if (ie->arg) {
		r->ifdesc = v;
		r->ifdesc_len = len;
		r->seen |= FC_SEEN_IFDESC;
	} else {
		r->ifname = v;
		r->ifname_len = len;
		r->seen |= FC_SEEN_IFNAME;
	}
}

/* ingressInterface (10): also the ifIndex scope of interface options */
static void set_in_if(struct fc_nfx_rec *r, const struct fc_ie *ie, const uint8_t *v, size_t len)
{
	(void)ie;
	r->f.in_if = (uint32_t)fc_ie_uint(v, len);
	r->seen |= FC_SEEN_IFINDEX;
}

/* layer2SegmentId (351): top byte = segment type (1 = VxLAN), then the id */
static void set_l2seg(struct fc_nfx_rec *r, const struct fc_ie *ie, const uint8_t *v, size_t len)
{
	uint64_t x = fc_ie_uint(v, len);

	(void)ie;
	if (len == 8 && (x >> 56) == 1)
		r->f.vxlan_vni = (uint32_t)(x & 0xffffff);
}

/* IANA elements (pen 0) and NetFlow v9 field types, indexed by id. */
#define STD_MAX 512
static const struct fc_ie ie_std[STD_MAX] = {
	[1] = E_U64S("octetDeltaCount", L_R8, f.bytes, FC_SEEN_BYTES),
	[2] = E_U64S("packetDeltaCount", L_R8, f.packets, FC_SEEN_PACKETS),
	[4] = E_U32("protocolIdentifier", L_1, f.proto),
	[5] = E_U32("ipClassOfService", L_1, f.ip_tos),
	[6] = E_FN("tcpControlBits", L_R2, set_tcp_flags, 0),
	[7] = E_U32("sourceTransportPort", L_R2, f.src_port),
	[8] = E_ADDR("sourceIPv4Address", L_V4, f.src_addr),
	[9] = E_U32("sourceIPv4PrefixLength", L_1, f.src_net),
	[10] = E_FN("ingressInterface", L_R8, set_in_if, 0),
	[11] = E_U32("destinationTransportPort", L_R2, f.dst_port),
	[12] = E_ADDR("destinationIPv4Address", L_V4, f.dst_addr),
	[13] = E_U32("destinationIPv4PrefixLength", L_1, f.dst_net),
	[14] = E_U32("egressInterface", L_R8, f.out_if),
	[15] = E_ADDR("ipNextHopIPv4Address", L_V4, f.next_hop),
	[16] = E_U32("bgpSourceAsNumber", L_R4, f.src_as),
	[17] = E_U32("bgpDestinationAsNumber", L_R4, f.dst_as),
	[18] = E_ADDR("bgpNextHopIPv4Address", L_V4, f.bgp_next_hop),
	[21] = E_FN("flowEndSysUpTime", L_V4, set_time, T_UP_END),
	[22] = E_FN("flowStartSysUpTime", L_V4, set_time, T_UP_START),
	[23] = E_U64("postOctetDeltaCount", L_R8, post_bytes),
	[24] = E_U64("postPacketDeltaCount", L_R8, post_packets),
	[27] = E_ADDR("sourceIPv6Address", L_V6, f.src_addr),
	[28] = E_ADDR("destinationIPv6Address", L_V6, f.dst_addr),
	[29] = E_U32("sourceIPv6PrefixLength", L_1, f.src_net),
	[30] = E_U32("destinationIPv6PrefixLength", L_1, f.dst_net),
	[31] = E_FN("flowLabelIPv6", LN(3) | LN(4), set_flow_label, 0),
	[32] = E_FN("icmpTypeCodeIPv4", L_R2, set_icmp_tc, 0),
	[34] = E_U64("samplingInterval", L_R8, samp_interval),
	[35] = E_U64("samplingAlgorithm", L_R4, samp_algorithm),
	[48] = E_FN("samplerId", L_R8, set_sampler, 0),
	[50] = E_U64("samplerRandomInterval", L_R8, samp_random),
	[52] = E_U32("minimumTTL", L_1, f.ip_ttl),
	[54] = E_U32("fragmentIdentification", L_R4, f.fragment_id),
	[56] = E_MAC("sourceMacAddress", f.src_mac),
	[57] = E_MACZ("postDestinationMacAddress", f.dst_mac),
	[58] = E_FN("vlanId", L_R2, set_vlan, 0),
	[59] = E_U32("postVlanId", L_R2, f.dst_vlan),
	[60] = E_FN("ipVersion", L_1, set_ipver, 0),
	[61] = E_FN("flowDirection", L_1, set_direction, 0),
	[62] = E_ADDR("ipNextHopIPv6Address", L_V6, f.next_hop),
	[63] = E_ADDR("bgpNextHopIPv6Address", L_V6, f.bgp_next_hop),
	[70] = E_FN("mplsTopLabelStackSection", LN(3) | LN(4), set_mpls, 0),
	[71] = E_FN("mplsLabelStackSection2", LN(3) | LN(4), set_mpls, 1),
	[72] = E_FN("mplsLabelStackSection3", LN(3) | LN(4), set_mpls, 2),
	[73] = E_FN("mplsLabelStackSection4", LN(3) | LN(4), set_mpls, 3),
	[74] = E_FN("mplsLabelStackSection5", LN(3) | LN(4), set_mpls, 4),
	[75] = E_FN("mplsLabelStackSection6", LN(3) | LN(4), set_mpls, 5),
	[76] = E_FN("mplsLabelStackSection7", LN(3) | LN(4), set_mpls, 6),
	[77] = E_FN("mplsLabelStackSection8", LN(3) | LN(4), set_mpls, 7),
	[78] = E_FN("mplsLabelStackSection9", LN(3) | LN(4), set_mpls, 8),
	[79] = E_FN("mplsLabelStackSection10", LN(3) | LN(4), set_mpls, 9),
	[80] = E_MAC("destinationMacAddress", f.dst_mac),
	[81] = E_MACZ("postSourceMacAddress", f.src_mac),
	[82] = E_FN("interfaceName", L_ANY, set_ifname, 0),
	[83] = E_FN("interfaceDescription", L_ANY, set_ifname, 1),
	[85] = E_U64("octetTotalCount", L_R8, total_bytes),
	[86] = E_U64("packetTotalCount", L_R8, total_packets),
	[88] = E_U32("fragmentOffset", L_R2, f.fragment_offset),
	[89] = E_U32("forwardingStatus", L_R4, f.forwarding_status),
	[128] = E_U32("bgpNextAdjacentAsNumber", L_R4, f.next_hop_as),
	[136] = E_U32("flowEndReason", L_1, f.flow_end_reason),
	[138] = E_U32("observationPointId", L_R8, f.observation_point_id),
	[139] = E_FN("icmpTypeCodeIPv6", L_R2, set_icmp_tc, 0),
	[150] = E_FN("flowStartSeconds", L_V4, set_time, T_S_START),
	[151] = E_FN("flowEndSeconds", L_V4, set_time, T_S_END),
	[152] = E_FN("flowStartMilliseconds", L_R8, set_time, T_MS_START),
	[153] = E_FN("flowEndMilliseconds", L_R8, set_time, T_MS_END),
	[154] = E_FN("flowStartMicroseconds", LN(8), set_time, T_US_START),
	[155] = E_FN("flowEndMicroseconds", LN(8), set_time, T_US_END),
	[156] = E_FN("flowStartNanoseconds", LN(8), set_time, T_NS_START),
	[157] = E_FN("flowEndNanoseconds", LN(8), set_time, T_NS_END),
	[158] = E_FN("flowStartDeltaMicroseconds", L_R4, set_time, T_DELTA_START),
	[159] = E_FN("flowEndDeltaMicroseconds", L_R4, set_time, T_DELTA_END),
	[160] = E_FN("systemInitTimeMilliseconds", L_R8, set_time, T_INIT),
	[176] = E_U32("icmpTypeIPv4", L_1, f.icmp_type),
	[177] = E_U32("icmpCodeIPv4", L_1, f.icmp_code),
	[178] = E_U32("icmpTypeIPv6", L_1, f.icmp_type),
	[179] = E_U32("icmpCodeIPv6", L_1, f.icmp_code),
	[192] = E_U32("ipTTL", L_1, f.ip_ttl),
	[197] = E_U32("fragmentFlags", L_1, f.ip_flags),
	[225] = E_ADDR("postNATSourceIPv4Address", L_V4, f.src_addr_nat),
	[226] = E_ADDR("postNATDestinationIPv4Address", L_V4, f.dst_addr_nat),
	[227] = E_U32("postNAPTSourceTransportPort", L_R2, f.src_port_nat),
	[228] = E_U32("postNAPTDestinationTransportPort", L_R2, f.dst_port_nat),
	[230] = E_U32("natEvent", L_1, f.nat_event),
	[231] = E_U64("initiatorOctets", L_R8, init_octets),
	[232] = E_U64("responderOctets", L_R8, resp_octets),
	[233] = E_U32("firewallEvent", L_1, f.firewall_event),
	[234] = E_U32("ingressVRFID", L_R4, f.ingress_vrf_id),
	[235] = E_U32("egressVRFID", L_R4, f.egress_vrf_id),
	[243] = E_U32Z("dot1qVlanId", L_R2, f.vlan_id),
	[252] = E_U32Z("ingressPhysicalInterface", L_R4, f.in_if),
	[253] = E_U32Z("egressPhysicalInterface", L_R4, f.out_if),
	[254] = E_U32Z("postDot1qVlanId", L_R2, f.dst_vlan),
	[281] = E_ADDR("postNATSourceIPv6Address", L_V6, f.src_addr_nat),
	[282] = E_ADDR("postNATDestinationIPv6Address", L_V6, f.dst_addr_nat),
	[298] = E_U64("initiatorPackets", L_R8, init_packets),
	[299] = E_U64("responderPackets", L_R8, resp_packets),
	[302] = E_FN("selectorId", L_R8, set_sampler, 0),
	[305] = E_U64("samplingPacketInterval", L_R8, pkt_interval),
	[306] = E_U64("samplingPacketSpace", L_R8, pkt_space),
	[323] = E_FN("observationTimeMilliseconds", L_R8, set_time, T_OBS_MS),
	[351] = E_FN("layer2SegmentId", LN(8), set_l2seg, 0),
};

/* RFC 5103 reverse elements: the same ids under PEN 29305. */
#define REV_MAX 87
static const struct fc_ie ie_rev[REV_MAX] = {
	[1] = E_U64("reverseOctetDeltaCount", L_R8, rev_bytes),
	[2] = E_U64("reversePacketDeltaCount", L_R8, rev_packets),
	[5] = E_U32("reverseIpClassOfService", L_1, rev_tos),
	[6] = E_FN("reverseTcpControlBits", L_R2, set_tcp_flags, 1),
	[85] = E_U64Z("reverseOctetTotalCount", L_R8, rev_bytes),
	[86] = E_U64Z("reversePacketTotalCount", L_R8, rev_packets),
};

const struct fc_ie *fc_ie_lookup(uint32_t pen, uint16_t id)
{
	const struct fc_ie *e = NULL;

	if (pen == 0 && id < STD_MAX)
		e = &ie_std[id];
	else if (pen == FC_PEN_REVERSE && id < REV_MAX)
		e = &ie_rev[id];
	return e && e->name ? e : NULL;
}

static void put_u32(struct fc_nfx_rec *r, uint16_t off, uint32_t v, bool ifzero)
{
	uint32_t *p = (uint32_t *)((char *)r + off);

	if (!ifzero || *p == 0)
		*p = v;
}

static void put_u64(struct fc_nfx_rec *r, uint16_t off, uint64_t v, bool ifzero)
{
	uint64_t *p = (uint64_t *)((char *)r + off);

	if (!ifzero || *p == 0)
		*p = v;
}

static bool accepts(const struct fc_ie *ie, size_t len)
{
	return ie->lengths == 0 || (len <= 31 && (ie->lengths & LN(len)));
}

void fc_ie_apply(const struct fc_ie *ie, struct fc_nfx_rec *r, const uint8_t *v, size_t len)
{
	if (!accepts(ie, len)) {
		r->bad_len++;
		return;
	}
	r->seen |= ie->seen;
	switch (ie->kind) {
	case FC_IEK_U32:
	case FC_IEK_U32_IFZERO:
		put_u32(r, ie->off, (uint32_t)fc_ie_uint(v, len), ie->kind == FC_IEK_U32_IFZERO);
		break;
	case FC_IEK_U64:
	case FC_IEK_U64_IFZERO:
		put_u64(r, ie->off, fc_ie_uint(v, len), ie->kind == FC_IEK_U64_IFZERO);
		break;
	case FC_IEK_ADDR: {
		struct fc_addr *a = (struct fc_addr *)((char *)r + ie->off);

		/* Templates that carry both IPv4 and IPv6 address fields send the
		 * unused family as zeros: it must not hide the real address. */
		if (a->family != 0 && fc_ie_uint(v, len > 8 ? 8 : len) == 0 &&
		    (len != 16 || fc_ie_uint(v + 8, 8) == 0))
			break;
		if (len == 4)
			fc_addr_set4(a, v);
		else
			fc_addr_set6(a, v);
		break;
	}
	case FC_IEK_MAC:
	case FC_IEK_MAC_IFZERO:
		put_u64(r, ie->off, fc_ie_uint(v, 6), ie->kind == FC_IEK_MAC_IFZERO);
		break;
	case FC_IEK_FN:
		ie->fn(r, ie, v, len);
		break;
	default:
		break;
	}
}

/* ---- the compiled plan ---- */

/* How a step is applied: fc_ie_apply's cases, split by length where a
 * fixed-width read replaces the byte loop, and the commonest setters
 * inlined. Anything else goes through fc_ie_apply (OP_APPLY). OP_VARLEN is
 * a variable-length field (RFC 7011 §7), then the fixed part after it. */
enum {
	OP_APPLY = 1,
	OP_U32_1, OP_U32_2, OP_U32_4,
	OP_U64_1, OP_U64_2, OP_U64_4, OP_U64_8,
	OP_ADDR4, OP_ADDR6,
	OP_MAC,
	OP_UP_START, OP_UP_END, /* set_time, 4-byte sysUpTime (21/22) */
	OP_IN_IF,               /* set_in_if */
	OP_TCP_FLAGS,           /* set_tcp_flags, forward */
	OP_SAMPLER,             /* set_sampler */
	OP_FN,                  /* any other setter, called directly */
	OP_VARLEN,
};

static uint8_t plan_op(const struct fc_ie *ie, size_t len)
{
	switch (ie->kind) {
	case FC_IEK_U32:
		return len == 1 ? OP_U32_1 : len == 2 ? OP_U32_2 : len == 4 ? OP_U32_4 : OP_APPLY;
	case FC_IEK_U64:
		return len == 1 ? OP_U64_1 : len == 2 ? OP_U64_2 : len == 4 ? OP_U64_4
		       : len == 8 ? OP_U64_8 : OP_APPLY;
	case FC_IEK_ADDR:
		return len == 4 ? OP_ADDR4 : len == 16 ? OP_ADDR6 : OP_APPLY;
	case FC_IEK_MAC:
		return len == 6 ? OP_MAC : OP_APPLY;
	case FC_IEK_FN:
		if (ie->fn == set_time && len == 4 && ie->arg == T_UP_START)
			return OP_UP_START;
		if (ie->fn == set_time && len == 4 && ie->arg == T_UP_END)
			return OP_UP_END;
		if (ie->fn == set_in_if)
			return OP_IN_IF;
		if (ie->fn == set_tcp_flags && ie->arg == 0)
			return OP_TCP_FLAGS;
		if (ie->fn == set_sampler)
			return OP_SAMPLER;
		return OP_FN;
	default:
		return OP_APPLY;
	}
}

void fc_ie_plan_compile(struct fc_tmpl *t)
{
	struct fc_tmpl_step *steps = fc_tmpl_steps(t);
	struct fc_tmpl_step *var = NULL; /* the last OP_VARLEN step */
	uint32_t off = 0, lead = 0, seen = 0, bad = 0;
	uint16_t n = 0;

	t->plan = false;
	t->nsteps = 0;
	t->fixlen = 0;
	t->plan_seen = 0;
	t->plan_bad = 0;
	for (uint16_t k = 0; k < t->nfields; k++) {
		const struct fc_tmpl_field *fd = &t->f[k];
		const struct fc_ie *ie = fd->ie;
		struct fc_tmpl_step *st;

		if (fd->len == FC_TMPL_VARLEN) {
			/* closes the fixed part before it; its own length and
			 * value are read (checked) from each record */
			if (var)
				var->len = (uint16_t)off;
			else
				lead = off;
			var = &steps[n++];
			var->field = k;
			var->off = 0;
			var->len = 0;
			var->dst = 0;
			var->op = OP_VARLEN;
			off = 0;
			continue;
		}
		if (ie && fd->len > 0) {
			if (!accepts(ie, fd->len)) {
				bad++;
			} else {
				st = &steps[n++];
				st->field = k;
				st->off = (uint16_t)off;
				st->len = fd->len;
				st->dst = ie->off;
				st->op = plan_op(ie, fd->len);
				seen |= ie->seen;
			}
		}
		off += fd->len;
		/* such a record never fits a set (RFC 7011 §3.3.1: 16-bit
		 * length); no plan keeps the step offsets 16-bit */
		if (off > UINT16_MAX)
			return;
	}
	if (var)
		var->len = (uint16_t)off;
	else if (off == 0)
		return; /* refused by the store (minimum length 0) */
	else
		lead = off;
	t->plan = true;
	t->nsteps = n;
	t->fixlen = lead;
	t->plan_seen = seen;
	t->plan_bad = bad;
}

static uint32_t be16(const uint8_t *v)
{
	return (uint32_t)v[0] << 8 | v[1];
}

static uint32_t be32(const uint8_t *v)
{
	return (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | (uint32_t)v[2] << 8 | v[3];
}

static uint64_t be64(const uint8_t *v)
{
	return (uint64_t)be32(v) << 32 | be32(v + 4);
}

/* One fixed-length step on its len bytes at v: what fc_ie_apply does for
 * that element and length, minus the checks done at compile time. Forced
 * inline: it is the body of both record loops. */
static inline __attribute__((always_inline)) void step_apply(const struct fc_tmpl *t, struct fc_nfx_rec *r,
			      const struct fc_tmpl_step *st, const uint8_t *v)
{
	char *dst = (char *)r + st->dst;

	switch (st->op) {
	case OP_U32_1:
		*(uint32_t *)(void *)dst = v[0];
		break;
	case OP_U32_2:
		*(uint32_t *)(void *)dst = be16(v);
		break;
	case OP_U32_4:
		*(uint32_t *)(void *)dst = be32(v);
		break;
	case OP_U64_1:
		*(uint64_t *)(void *)dst = v[0];
		break;
	case OP_U64_2:
		*(uint64_t *)(void *)dst = be16(v);
		break;
	case OP_U64_4:
		*(uint64_t *)(void *)dst = be32(v);
		break;
	case OP_U64_8:
		*(uint64_t *)(void *)dst = be64(v);
		break;
	case OP_ADDR4: {
		struct fc_addr *a = (struct fc_addr *)(void *)dst;

		/* the unused family of a dual-stack template is zeros */
		if (a->family == 0 || be32(v) != 0)
			fc_addr_set4(a, v);
		break;
	}
	case OP_ADDR6: {
		struct fc_addr *a = (struct fc_addr *)(void *)dst;

		if (a->family == 0 || be64(v) != 0 || be64(v + 8) != 0)
			fc_addr_set6(a, v);
		break;
	}
	case OP_MAC:
		*(uint64_t *)(void *)dst = (uint64_t)be16(v) << 32 | be32(v + 2);
		break;
	case OP_UP_START:
		r->up_start = be32(v);
		r->seen |= FC_SEEN_UP_START;
		break;
	case OP_UP_END:
		r->up_end = be32(v);
		r->seen |= FC_SEEN_UP_END;
		break;
	case OP_IN_IF:
		r->f.in_if = (uint32_t)fc_ie_uint(v, st->len);
		r->seen |= FC_SEEN_IFINDEX;
		break;
	case OP_TCP_FLAGS:
		r->f.tcp_flags = (uint32_t)fc_ie_uint(v, st->len) & 0x0fff;
		break;
	case OP_SAMPLER:
		r->f.sampler_id = fc_ie_uint(v, st->len);
		r->seen |= FC_SEEN_SAMPLER;
		break;
	case OP_FN: {
		const struct fc_ie *ie = t->f[st->field].ie;

		ie->fn(r, ie, v, st->len);
		break;
	}
	default:
		fc_ie_apply(t->f[st->field].ie, r, v, st->len);
		break;
	}
}

void fc_ie_plan_run(const struct fc_tmpl *t, struct fc_nfx_rec *r, const struct fc_view *rec)
{
	/* the one check of the record: every step lies inside fixlen bytes */
	assert(t->plan && !t->varlen && rec->n == t->fixlen);
	/* fc_ie_apply marks an element seen before it applies the value */
	r->seen |= t->plan_seen;
	r->bad_len += t->plan_bad;
	const struct fc_tmpl_step *steps = fc_tmpl_steps_const(t);

	for (uint16_t i = 0; i < t->nsteps; i++) {
		const struct fc_tmpl_step *st = &steps[i];

		step_apply(t, r, st, fc_view_at(rec, st->off, st->len));
	}
}

/* Length of a variable-length field (RFC 7011 §7): one byte < 255, or 255
 * followed by a 16-bit length. On a short read 0 with c->err set. */
static size_t varlen(struct fc_cur *c)
{
	size_t len = fc_cur_u8(c);

	if (len == 255)
		len = fc_cur_be16(c);
	return len;
}

bool fc_ie_fields_run(const struct fc_tmpl *t, struct fc_nfx_rec *r, struct fc_cur *c)
{
	for (uint16_t i = 0; i < t->nfields; i++) {
		const struct fc_tmpl_field *fd = &t->f[i];
		size_t len = fd->len == FC_TMPL_VARLEN ? varlen(c) : fd->len;
		const uint8_t *v = fc_cur_view(c, len);

		if (!v)
			return false;
		if (fd->ie && len > 0)
			fc_ie_apply(fd->ie, r, v, len);
	}
	return true;
}

bool fc_ie_plan_run_var(const struct fc_tmpl *t, struct fc_nfx_rec *r, struct fc_cur *c)
{
	struct fc_view part;

	assert(t->plan && t->varlen);
	if (!fc_cur_take(c, t->fixlen, &part))
		return false;
	r->seen |= t->plan_seen;
	r->bad_len += t->plan_bad;
	const struct fc_tmpl_step *steps = fc_tmpl_steps_const(t);

	for (uint16_t i = 0; i < t->nsteps; i++) {
		const struct fc_tmpl_step *st = &steps[i];

		if (st->op == OP_VARLEN) {
			const struct fc_ie *ie = t->f[st->field].ie;
			size_t len = varlen(c);
			const uint8_t *v = fc_cur_view(c, len);

			if (!v)
				return false;
			if (ie && len > 0)
				fc_ie_apply(ie, r, v, len);
			/* the fixed part up to the next variable-length field */
			if (!fc_cur_take(c, st->len, &part))
				return false;
			continue;
		}
		step_apply(t, r, st, fc_view_at(&part, st->off, st->len));
	}
	return true;
}
