/*
 * NetFlow v5 (Cisco "NetFlow Export Datagram Format", version 5): fixed
 * 24-byte header followed by count 48-byte records.
 *
 *   header                              record
 *   0  version        2  count          0  srcaddr     4  dstaddr
 *   4  sysUptime (ms)                   8  nexthop    12  input  14 output
 *   8  unix_secs                       16  dPkts      20  dOctets
 *  12  unix_nsecs                      24  first (ms) 28  last (ms)
 *  16  flow_sequence                   32  srcport    34  dstport
 *  20  engine_type 21 engine_id        36  pad  37 tcp_flags 38 prot 39 tos
 *  22  sampling: mode(2b) interval(14b) 40  src_as  42 dst_as  44 src_mask
 *                                      45  dst_mask 46 pad2
 *
 * flow_sequence counts flows (not datagrams): the next datagram of the same
 * engine should carry sequence + count. Gaps are counted as lost flows.
 */
#include "decode/netflow5.h"

#include <stdlib.h>

#include "core/hash.h"
#include "core/uptime.h"
#include "fc/cursor.h"
#include "fc/err.h"
#include "metrics/metrics.h"

#define SEQ_SLOTS 1024 /* engines tracked; beyond, the oldest slot is reused */

struct seq_slot {
	bool used;
	struct fc_addr addr;
	uint16_t port;
	uint16_t engine; /* engine_type << 8 | engine_id */
	uint32_t next;
};

struct fc_nf5_state {
	struct seq_slot slots[SEQ_SLOTS];
	uint64_t *lost_flows;
	uint64_t *seq_resets;
	uint64_t *bad_count;
	uint64_t *trailing;
};

struct fc_nf5_state *fc_nf5_state_new(struct fc_metrics *m)
{
	struct fc_nf5_state *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->lost_flows = fc_metrics_counter(m, "sequence_lost_flows_total", "proto=\"nf5\"",
					   "flows missing according to sequence numbers");
	s->seq_resets = fc_metrics_counter(m, "sequence_resets_total", "proto=\"nf5\"",
					   "sequence numbers that jumped back (exporter restart)");
	s->bad_count = fc_metrics_counter(m, "nf5_count_mismatch_total", NULL,
					  "v5 datagrams whose header count disagrees with their length");
	s->trailing = fc_metrics_counter(m, "nf5_trailing_bytes_total", NULL,
					 "v5 datagrams with bytes after the last record (ignored)");
	return s;
}

void fc_nf5_state_free(struct fc_nf5_state *s)
{
	free(s);
}

/* Returns the flows lost before this datagram (0 for a new engine). */
static uint64_t track_sequence(struct fc_nf5_state *s, const struct fc_dgram *g,
			       uint16_t engine, uint32_t seq, uint32_t count)
{
	uint64_t h = fc_hash(FC_HASH_SEED, &engine, sizeof(engine));
	uint64_t lost = 0;
	struct seq_slot *slot;

	h = fc_hash(h, &g->src_port, sizeof(g->src_port));
	h = fc_hash(h, g->src.a, fc_addr_len(&g->src));
	slot = &s->slots[h % SEQ_SLOTS];
	if (slot->used && slot->port == g->src_port && slot->engine == engine &&
	    fc_addr_eq(&slot->addr, &g->src)) {
		int32_t gap = (int32_t)(seq - slot->next);

		if (gap > 0)
			lost = (uint64_t)gap;
		else if (gap < 0)
			(*s->seq_resets)++;
	}
	slot->used = true;
	slot->addr = g->src;
	slot->port = g->src_port;
	slot->engine = engine;
	slot->next = seq + count;
	*s->lost_flows += lost;
	return lost;
}

/* One 48-byte record (r holds exactly it) into f. */
static void read_record(struct fc_cur *r, uint64_t export_ns, uint32_t uptime, struct fc_flow *f)
{
	uint8_t a[4];
	uint32_t first, last;

	fc_cur_copy(r, a, 4);
	fc_addr_set4(&f->src_addr, a);
	fc_cur_copy(r, a, 4);
	fc_addr_set4(&f->dst_addr, a);
	fc_cur_copy(r, a, 4);
	fc_addr_set4(&f->next_hop, a);
	f->in_if = fc_cur_be16(r);
	f->out_if = fc_cur_be16(r);
	f->packets = fc_cur_be32(r);
	f->bytes = fc_cur_be32(r);
	first = fc_cur_be32(r);
	last = fc_cur_be32(r);
	f->time_flow_start_ns = fc_uptime_to_unix_ns(export_ns, uptime, first);
	f->time_flow_end_ns = fc_uptime_to_unix_ns(export_ns, uptime, last);
	f->src_port = fc_cur_be16(r);
	f->dst_port = fc_cur_be16(r);
	fc_cur_skip(r, 1); /* pad1 */
	f->tcp_flags = fc_cur_u8(r);
	f->proto = fc_cur_u8(r);
	f->ip_tos = fc_cur_u8(r);
	f->src_as = fc_cur_be16(r);
	f->dst_as = fc_cur_be16(r);
	f->src_net = fc_cur_u8(r);
	f->dst_net = fc_cur_u8(r);
	if (f->proto == 1 || f->proto == 58) {
		/* ICMP type/code travel in dstport as type << 8 | code */
		f->icmp_type = f->dst_port >> 8;
		f->icmp_code = f->dst_port & 0xff;
	}
}

int fc_nf5_decode(struct fc_nf5_state *s, const struct fc_emit *out, const struct fc_dgram *g)
{
	struct fc_cur c;
	uint16_t count, sampling;
	uint32_t uptime, secs, nsecs, seq;
	uint8_t engine_type, engine_id;
	uint64_t export_ns, rate;
	size_t fit;
	int rc = 0;

	fc_cur_init(&c, g->data, g->len);
	(void)fc_cur_be16(&c); /* version, checked by the sniffer */
	count = fc_cur_be16(&c);
	uptime = fc_cur_be32(&c);
	secs = fc_cur_be32(&c);
	nsecs = fc_cur_be32(&c);
	seq = fc_cur_be32(&c);
	engine_type = fc_cur_u8(&c);
	engine_id = fc_cur_u8(&c);
	sampling = fc_cur_be16(&c);
	if (c.err)
		return FC_ETRUNC;
	if (count == 0)
		return FC_EMALFORMED;

	/* Never trust count: decode what fits, report the rest. */
	fit = fc_cur_left(&c) / FC_NF5_RECORD_LEN;
	if (count > fit) {
		(*s->bad_count)++;
		rc = FC_ETRUNC;
	} else {
		if (fc_cur_left(&c) > (size_t)count * FC_NF5_RECORD_LEN)
			(*s->trailing)++;
		fit = count;
	}

	export_ns = (uint64_t)secs * 1000000000ull + (nsecs < 1000000000u ? nsecs : 0);
	rate = sampling & 0x3fff; /* low 14 bits: interval; top 2: mode */
	*out->exp_seq_lost += track_sequence(s, g, (uint16_t)(engine_type << 8 | engine_id), seq,
					     count);

	for (size_t i = 0; i < fit; i++) {
		struct fc_flow f;
		struct fc_cur r;

		fc_cur_sub(&c, FC_NF5_RECORD_LEN, &r); /* fits: checked above */
		fc_flow_reset(&f);
		f.type = FC_FLOW_NF5;
		f.time_received_ns = g->time_ns;
		f.sequence_num = seq;
		f.sampling_rate = rate;
		f.sampler_address = g->src;
		f.exporter_port = g->src_port;
		f.etype = 0x0800;
		read_record(&r, export_ns, uptime, &f);
		fc_emit_flow(out, &f);
	}
	return rc;
}
