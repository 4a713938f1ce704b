/*
 * IPFIX message builder (RFC 7011, IEs from RFC 7012 / the IANA registry).
 * Message header (§3.1):
 *
 *   0 version=10  2 length (whole message)  4 export time (s)
 *   8 sequence (data records sent before this message)  12 domain id
 *
 * Sets (§3.3): 2 = templates, 3 = options templates, >= 256 = data.
 *
 * Templates sent with the first message and every template_every messages:
 *  - 256, IPv4: counters (octets 8 bytes, packets reduced to 4, §6.2), the
 *    2-byte tcpControlBits, MACs, flowDirection, icmpTypeCodeIPv4,
 *    flowStart/EndMilliseconds (152/153), selectorId (302, reduced to 4);
 *  - 257, IPv6: flowLabelIPv6, icmpTypeCodeIPv6, flowStart/End
 *    DeltaMicroseconds (158/159, relative to the export time),
 *    applicationName (96, variable length: 1-byte and, for some records,
 *    the 3-byte form of §7), and one enterprise-specific field (PEN 32473,
 *    the documentation PEN of RFC 5612) that a collector must skip;
 *  - 258, options: scope selectorId (8 bytes), selectorAlgorithm (304),
 *    samplingPacketInterval / samplingPacketSpace (305/306, RFC 5477),
 *    one record per selector: rate = (interval + space) / interval.
 */
#include <stdio.h>
#include <string.h>

#include "flowgen.h"

#define IPFIX_DOMAIN_ID 42
#define PEN_DOC 32473u

struct fg_ie {
	uint16_t id, len;
	uint32_t pen;
};

static const struct fg_ie t256[] = {
	{1, 8, 0}, {2, 4, 0}, {4, 1, 0}, {5, 1, 0}, {6, 2, 0}, {7, 2, 0}, {8, 4, 0},
	{9, 1, 0}, {10, 4, 0}, {11, 2, 0}, {12, 4, 0}, {13, 1, 0}, {14, 4, 0}, {15, 4, 0},
	{16, 4, 0}, {17, 4, 0}, {32, 2, 0}, {56, 6, 0}, {80, 6, 0}, {61, 1, 0},
	{152, 8, 0}, {153, 8, 0}, {302, 4, 0},
};

static const struct fg_ie t257[] = {
	{1, 8, 0}, {2, 8, 0}, {4, 1, 0}, {5, 1, 0}, {6, 1, 0}, {7, 2, 0}, {11, 2, 0},
	{27, 16, 0}, {28, 16, 0}, {29, 1, 0}, {30, 1, 0}, {62, 16, 0}, {31, 4, 0},
	{10, 4, 0}, {14, 4, 0}, {16, 4, 0}, {17, 4, 0}, {139, 2, 0}, {158, 4, 0},
	{159, 4, 0}, {302, 4, 0}, {96, 65535, 0}, {1, 4, PEN_DOC},
};

static const struct fg_ie t258[] = {
	{302, 8, 0}, {304, 2, 0}, {305, 4, 0}, {306, 4, 0},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void write_template(struct fg_wbuf *w, uint16_t id, const struct fg_ie *f, size_t n,
			   int scope)
{
	fg_w_be16(w, id);
	fg_w_be16(w, (uint16_t)n);
	if (scope >= 0)
		fg_w_be16(w, (uint16_t)scope);
	for (size_t i = 0; i < n; i++) {
		fg_w_be16(w, (uint16_t)(f[i].id | (f[i].pen ? 0x8000u : 0)));
		fg_w_be16(w, f[i].len);
		if (f[i].pen)
			fg_w_be32(w, f[i].pen);
	}
}

static unsigned write_templates(struct fg_gen *g, struct fg_wbuf *w)
{
	size_t set = fg_set_begin(w, 2);

	write_template(w, 256, t256, N(t256), -1);
	write_template(w, 257, t257, N(t257), -1);
	fg_set_end(w, set);

	set = fg_set_begin(w, 3);
	write_template(w, 258, t258, N(t258), 1);
	fg_w_pad(w, 4); /* optional padding (§3.3.1), exercised here */
	fg_set_end(w, set);

	set = fg_set_begin(w, 258);
	for (int i = 0; i < FG_NSAMPLERS; i++) {
		fg_w_be64(w, g->samplers[i].id);
		fg_w_be16(w, 1); /* systematic count-based sampling (RFC 5475) */
		fg_w_be32(w, 1);
		fg_w_be32(w, g->samplers[i].rate - 1);
	}
	fg_set_end(w, set);
	g->template_datagrams++;
	return FG_NSAMPLERS;
}

static void project(struct fg_gen *g, struct fc_flow *f, uint32_t seq)
{
	fg_project_tmpl(g, f, FC_FLOW_IPFIX, seq, IPFIX_DOMAIN_ID);
	/* packetDeltaCount is reduced to 4 bytes in template 256 only */
	if (f->src_addr.family == 4 && f->packets > 0xffffffffu)
		f->packets = 0xffffffffu;
}

static void write_app_name(struct fg_gen *g, struct fg_wbuf *w, const struct fc_flow *f)
{
	static const char *const apps[] = {"", "http", "https", "dns", "ssh", "quic",
					   "ntp", "smtp-submission-over-tls"};
	const char *name = apps[(f->src_port + f->dst_port + f->proto) % N(apps)];
	size_t len = strlen(name);

	/* Mostly the 1-byte length; sometimes the 3-byte form (255, then a
	 * 16-bit length), which RFC 7011 §7 also allows for short values. */
	if (fg_chance(&g->rng, 15)) {
		fg_w_u8(w, 255);
		fg_w_be16(w, (uint16_t)len);
	} else {
		fg_w_u8(w, (uint8_t)len);
	}
	fg_w_bytes(w, name, len);
}

static void write_data_set(struct fg_gen *g, struct fg_wbuf *w, struct fc_flow *flows, size_t n,
			   bool v6, uint64_t export_s)
{
	size_t set;

	if (n == 0)
		return;
	set = fg_set_begin(w, v6 ? 257 : 256);
	for (size_t i = 0; i < n; i++) {
		const struct fc_flow *f = &flows[i];
		uint16_t icmp = (uint16_t)(f->icmp_type << 8 | f->icmp_code);

		fg_w_be64(w, f->bytes);
		if (!v6) {
			fg_w_be32(w, (uint32_t)f->packets);
			fg_w_u8(w, (uint8_t)f->proto);
			fg_w_u8(w, (uint8_t)f->ip_tos);
			fg_w_be16(w, (uint16_t)f->tcp_flags);
			fg_w_be16(w, (uint16_t)f->src_port);
			fg_w_v4_addressing(w, f);
			fg_w_be16(w, icmp);
			fg_w_l2_direction(w, f);
			fg_w_be64(w, f->time_flow_start_ns / 1000000);
			fg_w_be64(w, f->time_flow_end_ns / 1000000);
			fg_w_be32(w, (uint32_t)f->sampler_id);
		} else {
			fg_w_be64(w, f->packets);
			fg_w_u8(w, (uint8_t)f->proto);
			fg_w_u8(w, (uint8_t)f->ip_tos);
			fg_w_u8(w, (uint8_t)f->tcp_flags);
			fg_w_be16(w, (uint16_t)f->src_port);
			fg_w_be16(w, (uint16_t)f->dst_port);
			fg_w_addr(w, &f->src_addr);
			fg_w_addr(w, &f->dst_addr);
			fg_w_u8(w, (uint8_t)f->src_net);
			fg_w_u8(w, (uint8_t)f->dst_net);
			fg_w_addr(w, &f->next_hop);
			fg_w_be32(w, f->ipv6_flow_label);
			fg_w_be32(w, f->in_if);
			fg_w_be32(w, f->out_if);
			fg_w_be32(w, f->src_as);
			fg_w_be32(w, f->dst_as);
			fg_w_be16(w, icmp);
			/* deltas back from the export time, µs (exact: whole ms) */
			fg_w_be32(w, (uint32_t)(export_s * 1000000 - f->time_flow_start_ns / 1000));
			fg_w_be32(w, (uint32_t)(export_s * 1000000 - f->time_flow_end_ns / 1000));
			fg_w_be32(w, (uint32_t)f->sampler_id);
			write_app_name(g, w, f);
			fg_w_be32(w, (uint32_t)fg_rand(&g->rng)); /* enterprise field */
		}
	}
	if (v6)
		fg_w_pad(w, 4);
	fg_set_end(w, set);
}

int fg_build_ipfix(struct fg_gen *g, struct fc_flow *flows, size_t n, uint64_t t_ms,
		   struct fg_wbuf *w)
{
	uint64_t secs = t_ms / 1000;
	uint32_t seq = g->ipfix_rec_seq;
	unsigned records = (unsigned)n;
	size_t n4;

	fg_w_be16(w, 10);
	fg_w_be16(w, 0); /* length, patched below */
	fg_w_be32(w, (uint32_t)secs);
	fg_w_be32(w, seq);
	fg_w_be32(w, IPFIX_DOMAIN_ID);
	if (g->datagrams % g->template_every == 0)
		records += write_templates(g, w);

	n4 = fg_partition_v4(flows, n);
	for (size_t i = 0; i < n; i++)
		project(g, &flows[i], seq);
	write_data_set(g, w, flows, n4, false, secs);
	write_data_set(g, w, flows + n4, n - n4, true, secs);
	fg_w_patch16(w, 2, (uint16_t)fg_w_mark(w));
	/* §3.1: options data records are data records too */
	g->ipfix_rec_seq += records;
	return w->err || fg_w_mark(w) > 0xffff ? -1 : 0;
}
