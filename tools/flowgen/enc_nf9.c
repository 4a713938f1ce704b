/*
 * NetFlow v9 datagram builder (RFC 3954). Header (§5.1):
 *
 *   0 version=9   2 count (all records: templates + options + data)
 *   4 sysUptime (ms)   8 unix_secs   12 package sequence   16 source id
 *
 * then FlowSets (§5.2-5.4): id 0 = templates, id 1 = options templates,
 * id >= 256 = data of that template; each padded to 4 bytes.
 *
 * Every template_every datagrams (and the first) starts with the IPv4
 * template 256, the IPv6 template 257, the options template 258 (scope
 * System, FLOW_SAMPLER_ID / MODE / RANDOM_INTERVAL) and one options record
 * per sampler; each data record names its sampler with FLOW_SAMPLER_ID, so
 * the collector must apply that sampler's rate (issue 3, sampling by
 * sampler id). Times are FIRST/LAST_SWITCHED relative to sysUptime, which
 * is written consistent with unix_secs so the decoder's mapping is exact.
 */
#include "flowgen.h"

#define NF9_SOURCE_ID 1

struct fg_field {
	uint16_t id, len;
};

static const struct fg_field t256[] = {
	{1, 8}, {2, 4}, {4, 1}, {5, 1}, {6, 1}, {7, 2}, {8, 4}, {9, 1}, {10, 4}, {11, 2},
	{12, 4}, {13, 1}, {14, 4}, {15, 4}, {16, 4}, {17, 4}, {21, 4}, {22, 4}, {32, 2},
	{48, 1}, {56, 6}, {80, 6}, {61, 1},
};

static const struct fg_field t257[] = {
	{1, 8}, {2, 4}, {4, 1}, {5, 1}, {6, 1}, {7, 2}, {11, 2}, {27, 16}, {28, 16},
	{29, 1}, {30, 1}, {62, 16}, {31, 3}, {10, 2}, {14, 2}, {16, 4}, {17, 4}, {22, 4},
	{21, 4}, {32, 2}, {48, 1},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void write_template(struct fg_wbuf *w, uint16_t id, const struct fg_field *f, size_t n)
{
	fg_w_be16(w, id);
	fg_w_be16(w, (uint16_t)n);
	for (size_t i = 0; i < n; i++) {
		fg_w_be16(w, f[i].id);
		fg_w_be16(w, f[i].len);
	}
}

static unsigned write_templates(struct fg_gen *g, struct fg_wbuf *w)
{
	/* Template FlowSet */
	size_t set = fg_set_begin(w, 0);

	write_template(w, 256, t256, N(t256));
	write_template(w, 257, t257, N(t257));
	fg_w_pad(w, 4);
	fg_set_end(w, set);

	/* Options Template FlowSet: scope System (1), 4 bytes */
	set = fg_set_begin(w, 1);
	fg_w_be16(w, 258);
	fg_w_be16(w, 4);  /* option scope length, bytes */
	fg_w_be16(w, 12); /* option length, bytes */
	fg_w_be16(w, 1);
	fg_w_be16(w, 4);
	fg_w_be16(w, 48); /* FLOW_SAMPLER_ID */
	fg_w_be16(w, 1);
	fg_w_be16(w, 49); /* FLOW_SAMPLER_MODE */
	fg_w_be16(w, 1);
	fg_w_be16(w, 50); /* FLOW_SAMPLER_RANDOM_INTERVAL */
	fg_w_be16(w, 4);
	fg_w_pad(w, 4);
	fg_set_end(w, set);

	/* Options data: one record per sampler */
	set = fg_set_begin(w, 258);
	for (int i = 0; i < FG_NSAMPLERS; i++) {
		fg_w_be32(w, 0x7f000001); /* scope System: the exporter */
		fg_w_u8(w, (uint8_t)g->samplers[i].id);
		fg_w_u8(w, 2); /* random sampling */
		fg_w_be32(w, g->samplers[i].rate);
	}
	fg_w_pad(w, 4);
	fg_set_end(w, set);
	g->template_datagrams++;
	return 3 + FG_NSAMPLERS;
}

static void project(struct fg_gen *g, struct fc_flow *f, uint32_t seq)
{
	fg_project_tmpl(g, f, FC_FLOW_NF9, seq, NF9_SOURCE_ID);
	/* IN_PKTS is 4 bytes in both templates; template 257 has 2-byte
	 * interfaces */
	if (f->packets > 0xffffffffu)
		f->packets = 0xffffffffu;
	if (f->src_addr.family != 4) {
		f->in_if &= 0xffff;
		f->out_if &= 0xffff;
	}
}

static void write_data_set(struct fg_gen *g, struct fg_wbuf *w, struct fc_flow *flows, size_t n,
			   bool v6)
{
	size_t set;

	if (n == 0)
		return;
	set = fg_set_begin(w, v6 ? 257 : 256);
	for (size_t i = 0; i < n; i++) {
		const struct fc_flow *f = &flows[i];
		uint32_t first = (uint32_t)(f->time_flow_start_ns / 1000000 - g->boot_ms);
		uint32_t last = (uint32_t)(f->time_flow_end_ns / 1000000 - g->boot_ms);

		fg_w_be64(w, f->bytes);
		fg_w_be32(w, (uint32_t)f->packets);
		fg_w_u8(w, (uint8_t)f->proto);
		fg_w_u8(w, (uint8_t)f->ip_tos);
		fg_w_u8(w, (uint8_t)f->tcp_flags);
		fg_w_be16(w, (uint16_t)f->src_port);
		if (!v6) {
			fg_w_v4_addressing(w, f);
			fg_w_be32(w, last);
			fg_w_be32(w, first);
			fg_w_be16(w, (uint16_t)(f->icmp_type << 8 | f->icmp_code));
			fg_w_u8(w, (uint8_t)f->sampler_id);
			fg_w_l2_direction(w, f);
		} else {
			fg_w_be16(w, (uint16_t)f->dst_port);
			fg_w_addr(w, &f->src_addr);
			fg_w_addr(w, &f->dst_addr);
			fg_w_u8(w, (uint8_t)f->src_net);
			fg_w_u8(w, (uint8_t)f->dst_net);
			fg_w_addr(w, &f->next_hop);
			fg_w_be24(w, f->ipv6_flow_label);
			fg_w_be16(w, (uint16_t)f->in_if);
			fg_w_be16(w, (uint16_t)f->out_if);
			fg_w_be32(w, f->src_as);
			fg_w_be32(w, f->dst_as);
			fg_w_be32(w, first);
			fg_w_be32(w, last);
			fg_w_be16(w, (uint16_t)(f->icmp_type << 8 | f->icmp_code));
			fg_w_u8(w, (uint8_t)f->sampler_id);
		}
	}
	fg_w_pad(w, 4);
	fg_set_end(w, set);
}

int fg_build_nf9(struct fg_gen *g, struct fc_flow *flows, size_t n, uint64_t t_ms,
		 struct fg_wbuf *w)
{
	uint32_t seq = (uint32_t)g->datagrams;
	uint64_t secs = t_ms / 1000;
	unsigned records = (unsigned)n;
	size_t n4;

	fg_w_be16(w, 9);
	fg_w_be16(w, 0); /* count, patched below */
	/* sysUptime as of unix_secs exactly, so uptime-relative times map
	 * back to the same Unix ms (the header has no sub-second part) */
	fg_w_be32(w, (uint32_t)(secs * 1000 - g->boot_ms));
	fg_w_be32(w, (uint32_t)secs);
	fg_w_be32(w, seq);
	fg_w_be32(w, NF9_SOURCE_ID);
	if (g->datagrams % g->template_every == 0)
		records += write_templates(g, w);

	n4 = fg_partition_v4(flows, n);
	for (size_t i = 0; i < n; i++)
		project(g, &flows[i], seq);
	write_data_set(g, w, flows, n4, false);
	write_data_set(g, w, flows + n4, n - n4, true);
	fg_w_patch16(w, 2, (uint16_t)records);
	return w->err ? -1 : 0;
}
