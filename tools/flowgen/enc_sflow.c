/*
 * sFlow version 5 datagram builder (sflow.org "sFlow Version 5", XDR:
 * big-endian 32-bit words, opaque data padded to 4 bytes).
 *
 *   datagram: version=5, agent address type (1 = IPv4), agent address,
 *             sub-agent id, sequence, uptime (ms), number of samples
 *   sample:   data_format (enterprise << 12 | format), length, body
 *     1 flow sample:      seq, source_id (type << 24 | index), rate, pool,
 *                         drops, input, output, n records
 *     3 expanded flow:    seq, source type, source index, rate, pool, drops,
 *                         input format, input, output format, output, n
 *     2 counter sample:   seq, source_id, n records
 *     4 expanded counter: seq, source type, source index, n records
 *   flow records: 1 raw packet header (protocol 1 = Ethernet, frame length,
 *     stripped, header length, header bytes), 1001 extended switch,
 *     1002 extended router. Counter records: 1 generic interface (88 bytes),
 *     2 Ethernet (52 bytes).
 *
 * The sampled headers are built here: Ethernet II (802.1Q tag on some),
 * IPv4 (with a valid checksum) or IPv6, then TCP, UDP, ICMP or ICMPv6, cut
 * at 128 bytes like agents do. Flow samples and expanded flow samples
 * alternate at random; every fourth datagram also carries a counter sample.
 */
#include "flowgen.h"

#define SFLOW_HDR_MAX 128
#define N_SOURCES 4

static const uint32_t source_rate[N_SOURCES] = {256, 512, 1024, 2048};

static void project(struct fg_gen *g, struct fc_flow *f, uint32_t seq)
{
	uint32_t min_len;

	f->type = FC_FLOW_SFLOW5;
	f->sequence_num = seq;
	f->sampler_address = g->sflow_agent;
	f->in_if = 1 + f->in_if % N_SOURCES; /* the sampling data source */
	f->sampling_rate = source_rate[f->in_if - 1];
	f->time_flow_start_ns = f->time_flow_end_ns = 0;
	f->src_as = f->dst_as = 0;
	f->flow_direction = 0;
	if (f->proto == 1 || f->proto == 58)
		f->src_port = f->dst_port = 0;
	/* bytes = the sampled frame's length, FCS included; packets = 1 */
	min_len = 14u + 4u + (f->src_addr.family == 6 ? 40u : 20u) + (f->proto == 6 ? 20u : 8u) + 4u;
	f->bytes = fg_range(&g->rng, min_len < 64 ? 64 : min_len, 1518);
	f->packets = 1;
	f->vlan_id = fg_chance(&g->rng, 50) ? f->src_vlan : 0;
}

/* Ethernet frame header bytes (up to SFLOW_HDR_MAX) into hdr; returns length. */
static size_t build_header(const struct fc_flow *f, uint8_t *hdr)
{
	struct fg_wbuf w;
	uint32_t frame = (uint32_t)f->bytes - 4; /* without FCS */
	uint32_t l3len = frame - 14 - (f->vlan_id ? 4 : 0);
	uint32_t l4len = l3len - (f->src_addr.family == 6 ? 40 : 20);
	uint8_t full[1600];
	size_t ip;

	fg_w_init(&w, full, sizeof(full));
	fg_w_beN(&w, f->dst_mac, 6);
	fg_w_beN(&w, f->src_mac, 6);
	if (f->vlan_id) {
		fg_w_be16(&w, 0x8100);
		fg_w_be16(&w, (uint16_t)f->vlan_id); /* PCP 0, DEI 0 */
	}
	fg_w_be16(&w, (uint16_t)f->etype);
	ip = fg_w_mark(&w);
	if (f->src_addr.family == 4) {
		fg_w_u8(&w, 0x45);
		fg_w_u8(&w, (uint8_t)f->ip_tos);
		fg_w_be16(&w, (uint16_t)l3len);
		fg_w_be16(&w, (uint16_t)f->fragment_id);
		fg_w_be16(&w, (uint16_t)(f->ip_flags << 13)); /* flags, offset 0 */
		fg_w_u8(&w, (uint8_t)f->ip_ttl);
		fg_w_u8(&w, (uint8_t)f->proto);
		fg_w_be16(&w, 0);
		fg_w_addr(&w, &f->src_addr);
		fg_w_addr(&w, &f->dst_addr);
		if (!w.err)
			fg_w_patch16(&w, ip + 10, fg_inet_csum(full + ip, 20));
	} else {
		fg_w_be32(&w, 6u << 28 | (f->ip_tos & 0xff) << 20 | (f->ipv6_flow_label & 0xfffff));
		fg_w_be16(&w, (uint16_t)l4len);
		fg_w_u8(&w, (uint8_t)f->proto);
		fg_w_u8(&w, (uint8_t)f->ip_ttl);
		fg_w_addr(&w, &f->src_addr);
		fg_w_addr(&w, &f->dst_addr);
	}
	switch (f->proto) {
	case 6:
		fg_w_be16(&w, (uint16_t)f->src_port);
		fg_w_be16(&w, (uint16_t)f->dst_port);
		fg_w_be32(&w, 0x01020304); /* seq */
		fg_w_be32(&w, (f->tcp_flags & 0x10) ? 0x0a0b0c0d : 0);
		fg_w_u8(&w, 5 << 4);
		fg_w_u8(&w, (uint8_t)f->tcp_flags);
		fg_w_be16(&w, 65535);
		fg_w_be32(&w, 0); /* checksum (not computed), urgent pointer */
		break;
	case 17:
		fg_w_be16(&w, (uint16_t)f->src_port);
		fg_w_be16(&w, (uint16_t)f->dst_port);
		fg_w_be16(&w, (uint16_t)l4len);
		fg_w_be16(&w, 0);
		break;
	default: /* ICMP / ICMPv6 */
		fg_w_u8(&w, (uint8_t)f->icmp_type);
		fg_w_u8(&w, (uint8_t)f->icmp_code);
		fg_w_be16(&w, 0);
		fg_w_be32(&w, 0x00010001);
		break;
	}
	/* payload bytes up to the agent's cut */
	while (!w.err && fg_w_mark(&w) < frame && fg_w_mark(&w) < SFLOW_HDR_MAX)
		fg_w_u8(&w, (uint8_t)fg_w_mark(&w));
	if (w.err)
		return 0;
	{
		size_t n = fg_w_mark(&w) < SFLOW_HDR_MAX ? fg_w_mark(&w) : SFLOW_HDR_MAX;

		for (size_t i = 0; i < n; i++)
			hdr[i] = full[i];
		return n;
	}
}

static void write_flow_records(struct fg_wbuf *w, const struct fc_flow *f)
{
	uint8_t hdr[SFLOW_HDR_MAX];
	size_t hlen = build_header(f, hdr);
	size_t rec;

	if (hlen == 0) {
		w->err = true;
		return;
	}
	fg_w_be32(w, 3); /* records */

	/* 1: raw packet header */
	fg_w_be32(w, 1);
	rec = fg_w_mark(w);
	fg_w_be32(w, 0);
	fg_w_be32(w, 1); /* header protocol: Ethernet (ISO 8023) */
	fg_w_be32(w, (uint32_t)f->bytes);
	fg_w_be32(w, 4); /* stripped: the FCS */
	fg_w_be32(w, (uint32_t)hlen);
	fg_w_bytes(w, hdr, hlen);
	fg_w_pad(w, 4);
	fg_w_patch32(w, rec, (uint32_t)(fg_w_mark(w) - rec - 4));

	/* 1001: extended switch */
	fg_w_be32(w, 1001);
	fg_w_be32(w, 16);
	fg_w_be32(w, f->src_vlan);
	fg_w_be32(w, 0);
	fg_w_be32(w, f->dst_vlan);
	fg_w_be32(w, 0);

	/* 1002: extended router */
	fg_w_be32(w, 1002);
	fg_w_be32(w, f->next_hop.family == 6 ? 28 : 16);
	fg_w_be32(w, f->next_hop.family == 6 ? 2 : 1);
	fg_w_addr(w, &f->next_hop);
	fg_w_be32(w, f->src_net);
	fg_w_be32(w, f->dst_net);
}

static void write_flow_sample(struct fg_gen *g, struct fg_wbuf *w, const struct fc_flow *f)
{
	unsigned src = f->in_if - 1;
	uint32_t seq = ++g->sflow_sample_seq[src];
	bool expanded = fg_chance(&g->rng, 50);
	size_t len;

	fg_w_be32(w, expanded ? 3 : 1);
	len = fg_w_mark(w);
	fg_w_be32(w, 0);
	fg_w_be32(w, seq);
	if (expanded) {
		fg_w_be32(w, 0); /* source type: ifIndex */
		fg_w_be32(w, f->in_if);
	} else {
		fg_w_be32(w, f->in_if); /* type 0 << 24 | index */
	}
	fg_w_be32(w, (uint32_t)f->sampling_rate);
	fg_w_be32(w, seq * (uint32_t)f->sampling_rate); /* sample pool */
	fg_w_be32(w, 0);                                 /* drops */
	if (expanded) {
		fg_w_be32(w, 0);
		fg_w_be32(w, f->in_if);
		fg_w_be32(w, 0);
		fg_w_be32(w, f->out_if);
	} else {
		fg_w_be32(w, f->in_if);  /* format 0: single ifIndex */
		fg_w_be32(w, f->out_if);
	}
	write_flow_records(w, f);
	fg_w_patch32(w, len, (uint32_t)(fg_w_mark(w) - len - 4));
}

static void write_counter_sample(struct fg_gen *g, struct fg_wbuf *w, uint64_t t_ms)
{
	unsigned src = (unsigned)(g->counter_samples % N_SOURCES);
	bool expanded = g->counter_samples % 2 == 1;
	uint64_t up_s = (t_ms - g->boot_ms) / 1000;
	uint64_t in_oct = up_s * 1250000ull * (src + 1), out_oct = in_oct / 3;
	size_t len;

	g->counter_samples++;
	fg_w_be32(w, expanded ? 4 : 2);
	len = fg_w_mark(w);
	fg_w_be32(w, 0);
	fg_w_be32(w, (uint32_t)g->counter_samples);
	if (expanded) {
		fg_w_be32(w, 0);
		fg_w_be32(w, src + 1);
	} else {
		fg_w_be32(w, src + 1);
	}
	fg_w_be32(w, 2);

	/* 1: generic interface counters */
	fg_w_be32(w, 1);
	fg_w_be32(w, 88);
	fg_w_be32(w, src + 1);               /* ifIndex */
	fg_w_be32(w, 6);                     /* ifType: ethernetCsmacd */
	fg_w_be64(w, 10000000000ull);        /* ifSpeed */
	fg_w_be32(w, 1);                     /* ifDirection: full duplex */
	fg_w_be32(w, 3);                     /* ifStatus: admin up, oper up */
	fg_w_be64(w, in_oct);                /* ifInOctets */
	fg_w_be32(w, (uint32_t)(in_oct / 800)); /* ifInUcastPkts */
	fg_w_be32(w, (uint32_t)up_s);        /* ifInMulticastPkts */
	fg_w_be32(w, (uint32_t)(up_s / 10)); /* ifInBroadcastPkts */
	fg_w_be32(w, 0);                     /* ifInDiscards */
	fg_w_be32(w, (uint32_t)(up_s / 100)); /* ifInErrors */
	fg_w_be32(w, 0);                     /* ifInUnknownProtos */
	fg_w_be64(w, out_oct);               /* ifOutOctets */
	fg_w_be32(w, (uint32_t)(out_oct / 700)); /* ifOutUcastPkts */
	fg_w_be32(w, (uint32_t)up_s);
	fg_w_be32(w, (uint32_t)(up_s / 10));
	fg_w_be32(w, 0);                     /* ifOutDiscards */
	fg_w_be32(w, 0);                     /* ifOutErrors */
	fg_w_be32(w, 0);                     /* ifPromiscuousMode */

	/* 2: Ethernet interface counters, 13 words */
	fg_w_be32(w, 2);
	fg_w_be32(w, 52);
	for (uint32_t i = 0; i < 13; i++)
		fg_w_be32(w, i == 0 ? (uint32_t)(up_s / 1000) : 0);

	fg_w_patch32(w, len, (uint32_t)(fg_w_mark(w) - len - 4));
}

int fg_build_sflow(struct fg_gen *g, struct fc_flow *flows, size_t n, uint64_t t_ms,
		   struct fg_wbuf *w)
{
	uint32_t seq = (uint32_t)g->datagrams + 1;
	bool counters = g->datagrams % 4 == 0;

	fg_w_be32(w, 5);
	fg_w_be32(w, 1); /* agent address: IPv4 */
	fg_w_addr(w, &g->sflow_agent);
	fg_w_be32(w, 0); /* sub-agent id */
	fg_w_be32(w, seq);
	fg_w_be32(w, (uint32_t)(t_ms - g->boot_ms));
	fg_w_be32(w, (uint32_t)n + (counters ? 1 : 0));
	for (size_t i = 0; i < n; i++) {
		project(g, &flows[i], seq);
		write_flow_sample(g, w, &flows[i]);
	}
	if (counters)
		write_counter_sample(g, w, t_ms);
	return w->err ? -1 : 0;
}
