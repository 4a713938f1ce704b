/*
 * sFlow version 5 (sflow.org "sFlow Version 5", July 2004; structure
 * registry at sflow.org/developers/structures.php; host-sflow records from
 * "sFlow Host Structures", 2010). XDR (RFC 4506): every field is a
 * big-endian 32-bit word or a multiple of 4 bytes; opaque data is padded to
 * 4 bytes. Owns the sFlow sequence state (per agent + sub-agent, per source
 * id) and the sFlow metric slots; borrows the datagram.
 *
 *   datagram                         sample / record envelope
 *   0  version (5)                   0  data_format: enterprise(20) format(12)
 *   4  agent address type (1 v4, 2 v6) 4  length (bytes that follow)
 *   8  agent address (4 or 16)
 *   .. sub_agent_id, sequence_number, uptime (ms), num_samples, samples
 *
 *   flow sample (0:1)                expanded flow sample (0:3)
 *   sequence_number                  sequence_number
 *   source_id: type(8) index(24)     source_id_type, source_id_index
 *   sampling_rate, sample_pool, drops  (same)
 *   input, output: format(2) value(30) input format, value; output format, value
 *   num records, flow records        num records, flow records
 *
 *   counter sample (0:2): sequence_number, source_id, num records, records
 *   expanded counter sample (0:4): sequence_number, source_id_type,
 *     source_id_index, num records, records
 *
 * Every sample and record is read through its own sub-cursor of exactly the
 * length it declares, so a record that lies about its contents can never
 * make the reader leave it, and a length past its parent stops the walk of
 * that parent only. Declared counts are bounded by what remains (8 bytes per
 * envelope at least) and by the configured caps.
 */
#include "decode/sflow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/text.h"
#include "fc/counter.h"
#include "fc/cursor.h"
#include "fc/err.h"
#include "metrics/metrics.h"
#include "packet/packet.h"

#define AGENT_SLOTS 1024  /* agent + sub-agent pairs tracked (direct-mapped) */
#define SOURCE_SLOTS 4096 /* agent + sub-agent + source id pairs tracked */
#define FORMAT_SLOTS 64   /* distinct skipped formats counted by name */

#define IF_FORMAT_SINGLE 0
#define IF_FORMAT_DISCARD 1
#define IF_FORMAT_MULTIPLE 2

/* FlowMessage forwarding_status (IPFIX IE 89): 0b10 status = dropped,
 * reason 0 = unknown. */
#define FWD_DROPPED 128

enum sample_kind { KIND_FLOW = 0, KIND_COUNTER = 1 };

struct agent_slot {
	bool used;
	struct fc_addr agent;
	uint32_t sub_agent;
	uint32_t next;
};

struct source_slot {
	bool used;
	uint8_t kind;
	struct fc_addr agent;
	uint32_t sub_agent;
	uint32_t source_type, source_index;
	uint32_t next;
};

/* A skipped format and its counter slot, registered on first sight. */
struct format_slot {
	uint32_t format; /* enterprise << 12 | format */
	uint64_t *count;
};

struct format_table {
	const char *name; /* metric name */
	const char *help;
	unsigned n;
	struct format_slot slot[FORMAT_SLOTS];
	uint64_t *other; /* once the table is full */
};

struct fc_sflow_state {
	uint64_t max_samples, max_records; /* caps from the filled config */
	struct fc_metrics *m;
	struct agent_slot agents[AGENT_SLOTS];
	struct source_slot sources[SOURCE_SLOTS];

	uint64_t *lost_datagrams, *lost_samples;
	uint64_t *datagram_resets, *sample_resets;
	uint64_t *samples[5]; /* by sample format 1..4 */
	uint64_t *counters;
	uint64_t *samples_over_cap, *records_over_cap;
	uint64_t *bad_length, *bad_count, *bad_record;
	uint64_t *header_unsupported, *header_malformed;
	struct format_table skipped_samples, skipped_flow_records, skipped_counter_records;
};

/* Everything a sample needs from its datagram. */
struct dgram_ctx {
	const struct fc_dgram *g;
	const struct fc_emit *out;
	struct fc_addr agent;
	uint32_t sub_agent, seq, uptime;
	uint64_t max_records;
};

static void format_table_init(struct format_table *t, struct fc_metrics *m, const char *name,
			      const char *help)
{
	t->name = name;
	t->help = help;
	t->n = 0;
	t->other = fc_metrics_counter(m, name, "format=\"other\"", help);
}

/* Counts a skipped format. The slot is registered the first time a format
 * is met (rare: a handful per agent model), later hits are a table scan. */
static void count_format(struct fc_sflow_state *s, struct format_table *t, uint32_t format)
{
	char label[48];

	for (unsigned i = 0; i < t->n; i++) {
		if (t->slot[i].format == format) {
			(*t->slot[i].count)++;
			return;
		}
	}
	if (t->n >= FORMAT_SLOTS) {
		(*t->other)++;
		return;
	}
	snprintf(label, sizeof(label), "format=\"%u:%u\"", format >> 12, format & 0xfff);
	t->slot[t->n].format = format;
	t->slot[t->n].count = fc_metrics_counter(s->m, t->name, label, t->help);
	(*t->slot[t->n].count)++;
	t->n++;
}

struct fc_sflow_state *fc_sflow_state_new(struct fc_metrics *m, uint64_t max_samples,
					 uint64_t max_records)
{
	struct fc_sflow_state *s = calloc(1, sizeof(*s));
	char label[32];

	if (!s)
		return NULL;
	s->m = m;
	s->max_samples = max_samples;
	s->max_records = max_records;
	s->lost_datagrams = fc_metrics_counter(
		m, "sequence_lost_datagrams_total", "proto=\"sflow\"",
		"datagrams missing according to sequence numbers (sFlow: per agent + sub-agent)");
	s->lost_samples = fc_metrics_counter(m, "sequence_lost_samples_total", "proto=\"sflow\"",
					     "sFlow samples missing according to per-source sample sequence numbers");
	s->datagram_resets = fc_metrics_counter(
		m, "sequence_resets_total", "proto=\"sflow\",scope=\"datagram\"",
		"sequence numbers that jumped back (exporter restart)");
	s->sample_resets = fc_metrics_counter(m, "sequence_resets_total",
					      "proto=\"sflow\",scope=\"sample\"",
					      "sequence numbers that jumped back (exporter restart)");
	for (int i = 1; i <= 4; i++) {
		snprintf(label, sizeof(label), "format=\"%d\"", i);
		s->samples[i] = fc_metrics_counter(m, "sflow_samples_total", label,
						   "sFlow samples decoded, by sample format");
	}
	s->counters = fc_metrics_counter(m, "sflow_counters_emitted_total", NULL,
					 "sFlow counter samples handed to the outputs");
	s->samples_over_cap = fc_metrics_counter(m, "sflow_over_cap_total", "what=\"samples\"",
						 "sFlow samples or records skipped past a configured cap");
	s->records_over_cap = fc_metrics_counter(m, "sflow_over_cap_total", "what=\"records\"",
						 "sFlow samples or records skipped past a configured cap");
	s->bad_length = fc_metrics_counter(m, "sflow_malformed_total", "what=\"length\"",
					   "sFlow structures whose length runs past their parent");
	s->bad_count = fc_metrics_counter(m, "sflow_malformed_total", "what=\"count\"",
					  "sFlow structures whose length runs past their parent");
	s->bad_record = fc_metrics_counter(m, "sflow_malformed_total", "what=\"record\"",
					   "sFlow structures whose length runs past their parent");
	s->header_unsupported = fc_metrics_counter(
		m, "sflow_sampled_headers_unparsed_total", "reason=\"protocol\"",
		"sampled headers not parsed (header protocol we do not parse, or malformed)");
	s->header_malformed = fc_metrics_counter(
		m, "sflow_sampled_headers_unparsed_total", "reason=\"malformed\"",
		"sampled headers not parsed (header protocol we do not parse, or malformed)");
	format_table_init(&s->skipped_samples, m, "sflow_samples_skipped_total",
			  "sFlow samples skipped by length (format not decoded), by enterprise:format");
	format_table_init(&s->skipped_flow_records, m, "sflow_flow_records_skipped_total",
			  "sFlow flow records skipped by length, by enterprise:format");
	format_table_init(&s->skipped_counter_records, m, "sflow_counters_skipped_total",
			  "sFlow counter records skipped by length, by enterprise:format");
	return s;
}

void fc_sflow_limits(const struct fc_sflow_state *s, uint64_t *out_max_samples,
		     uint64_t *out_max_records)
{
	*out_max_samples = s->max_samples;
	*out_max_records = s->max_records;
}

void fc_sflow_state_free(struct fc_sflow_state *s)
{
	free(s);
}

/* A sequence number against the one expected: a jump forward is that many
 * lost, a jump back (serial arithmetic) an exporter restart. Returns the
 * number lost. */
static uint64_t count_gap(uint32_t seq, uint32_t next, uint64_t *lost, uint64_t *resets)
{
	int32_t gap = (int32_t)(seq - next);

	if (gap > 0) {
		*lost += (uint64_t)gap;
		return (uint64_t)gap;
	}
	if (gap < 0)
		(*resets)++;
	return 0;
}

static uint64_t agent_hash(uint64_t h, uint32_t sub_agent, const struct fc_addr *agent)
{
	h = fc_hash(h, &sub_agent, sizeof(sub_agent));
	return fc_hash(h, agent->a, fc_addr_len(agent));
}

/* Datagram sequence: +1 per datagram of one agent + sub-agent. */
static void track_datagram(struct fc_sflow_state *s, const struct dgram_ctx *x)
{
	uint64_t h = agent_hash(FC_HASH_SEED, x->sub_agent, &x->agent);
	struct agent_slot *a = &s->agents[h % AGENT_SLOTS];

	if (a->used && a->sub_agent == x->sub_agent && fc_addr_eq(&a->agent, &x->agent))
		*x->out->exp_seq_lost +=
			count_gap(x->seq, a->next, s->lost_datagrams, s->datagram_resets);
	a->used = true;
	a->agent = x->agent;
	a->sub_agent = x->sub_agent;
	a->next = x->seq + 1;
}

/* Sample sequence: +1 per sample of one source id (flow and counter
 * samples of a source are numbered separately). */
static void track_sample(struct fc_sflow_state *s, const struct dgram_ctx *x, enum sample_kind k,
			 uint32_t type, uint32_t index, uint32_t seq)
{
	uint64_t id = (uint64_t)k << 40 | (uint64_t)type << 32 | index;
	uint64_t h = agent_hash(fc_hash(FC_HASH_SEED, &id, sizeof(id)), x->sub_agent, &x->agent);
	struct source_slot *o;

	o = &s->sources[h % SOURCE_SLOTS];
	if (o->used && o->kind == k && o->source_type == type && o->source_index == index &&
	    o->sub_agent == x->sub_agent && fc_addr_eq(&o->agent, &x->agent))
		count_gap(seq, o->next, s->lost_samples, s->sample_resets);
	o->used = true;
	o->kind = (uint8_t)k;
	o->agent = x->agent;
	o->sub_agent = x->sub_agent;
	o->source_type = type;
	o->source_index = index;
	o->next = seq + 1;
}

/* XDR address union: type 0 unknown (no body), 1 IPv4, 2 IPv6. */
static int read_address(struct fc_cur *c, struct fc_addr *out)
{
	uint32_t type = fc_cur_be32(c);
	uint8_t b[16];

	if (c->err)
		return FC_ETRUNC;
	switch (type) {
	case 0:
		out->family = 0;
		return 0;
	case 1:
	case 2:
		fc_cur_copy(c, b, type == 1 ? 4 : 16);
		if (c->err)
			return FC_ETRUNC;
		if (type == 1)
			fc_addr_set4(out, b);
		else
			fc_addr_set6(out, b);
		return 0;
	default:
		return FC_EMALFORMED;
	}
}

/* Remembers the first error of a walk. */
static void keep_err(int *rc, int e)
{
	if (*rc == 0 && e < 0)
		*rc = e;
}

/* Bounds a declared count of samples or records twice: by what remains in
 * c (each needs its 8-byte envelope at least) and by the configured cap.
 * Each cut is counted and remembered in *rc; the walk goes on with what
 * is left. */
static uint32_t bound_count(struct fc_sflow_state *s, const struct fc_cur *c, uint32_t n,
			    uint64_t cap, uint64_t *over_cap, int *rc)
{
	if (n > fc_cur_left(c) / 8) {
		(*s->bad_count)++;
		keep_err(rc, FC_ETRUNC);
		n = (uint32_t)(fc_cur_left(c) / 8);
	}
	if (n > cap) {
		*over_cap += n - cap;
		keep_err(rc, FC_ELIMIT);
		n = (uint32_t)cap;
	}
	return n;
}

/* Decodes one record of a sample into arg (a struct flow_ctx or a struct
 * fc_counter); < 0 when the record does not parse. */
typedef int (*record_fn)(struct fc_sflow_state *s, uint32_t format, struct fc_cur *r, void *arg);

/* Walks the nrec records of a flow or counter sample, each through its own
 * sub-cursor of exactly the length it declares. A length past the sample
 * ends the walk; a record that does not parse is counted and the next one
 * is still read. Enterprise formats (format >> 12 != 0) never match a
 * standard format (all below 4096), so the decoders' default case counts
 * them as skipped by length like unknown standard ones. */
static int walk_records(struct fc_sflow_state *s, const struct dgram_ctx *x, struct fc_cur *c,
			uint32_t nrec, record_fn decode_record, void *arg)
{
	int rc = 0;

	nrec = bound_count(s, c, nrec, x->max_records, s->records_over_cap, &rc);
	for (uint32_t i = 0; i < nrec; i++) {
		uint32_t format = fc_cur_be32(c), len = fc_cur_be32(c);
		struct fc_cur r;

		if (c->err || !fc_cur_sub(c, len, &r)) {
			(*s->bad_length)++;
			keep_err(&rc, FC_ETRUNC);
			break;
		}
		if (decode_record(s, format, &r, arg) < 0) {
			(*s->bad_record)++;
			keep_err(&rc, FC_EMALFORMED);
		}
	}
	return rc;
}

/* source_id: one word (type in the top 8 bits, index below) in the compact
 * samples, two words in the expanded ones (0:3, 0:4). */
static void read_source_id(struct fc_cur *c, bool expanded, uint32_t *type, uint32_t *index)
{
	uint32_t id;

	if (expanded) {
		*type = fc_cur_be32(c);
		*index = fc_cur_be32(c);
		return;
	}
	id = fc_cur_be32(c);
	*type = id >> 24;
	*index = id & 0x00ffffff;
}

/* How the frame length behind f.bytes was learned: a sampled header beats a
 * sampled Ethernet record, which beats a sampled IPv4/IPv6 record. */
enum bytes_rank { BYTES_NONE = 0, BYTES_IP, BYTES_ETH, BYTES_HEADER };

struct flow_ctx {
	struct fc_flow f;
	enum bytes_rank rank;
	bool have_ip; /* addresses came from a sampled header */
};

/* A frame length learned from a record of the given rank: kept unless a
 * better-ranked record already said it. */
static void offer_bytes(struct flow_ctx *fx, uint32_t len, enum bytes_rank rank)
{
	if (fx->rank < rank) {
		fx->f.bytes = len;
		fx->rank = rank;
	}
}

/*
 *  sampled_header (0:1)
 *  0 header_protocol  4 frame_length  8 stripped  12 header length  16 header
 */
static int rec_sampled_header(struct fc_sflow_state *s, struct fc_cur *r, struct flow_ctx *fx)
{
	uint32_t proto, frame_len, hlen;
	const uint8_t *hdr;
	enum fc_pkt_start start;
	struct fc_pkt p;
	int rc;

	proto = fc_cur_be32(r);
	frame_len = fc_cur_be32(r);
	(void)fc_cur_be32(r); /* stripped: bytes removed (FCS) before sampling */
	hlen = fc_cur_be32(r);
	if (r->err)
		return FC_ETRUNC;
	hdr = fc_cur_view(r, hlen);
	if (!hdr)
		return FC_ETRUNC;
	fx->f.bytes = frame_len;
	fx->rank = BYTES_HEADER;
	switch (proto) {
	case 1: /* ETHERNET-ISO88023 */
		start = FC_PKT_ETHERNET;
		break;
	case 11:
		start = FC_PKT_IPV4;
		break;
	case 12:
		start = FC_PKT_IPV6;
		break;
	case 13:
		start = FC_PKT_MPLS;
		break;
	default:
		(*s->header_unsupported)++;
		return 0;
	}
	/* Headers are cut at the agent's snap length (128 bytes typically), so
	 * FC_ETRUNC from the parser is normal and what was read is used. */
	rc = fc_pkt_parse(hdr, hlen, start, &p);
	if (rc != 0 && rc != FC_ETRUNC)
		(*s->header_malformed)++;
	fc_pkt_to_flow(&p, &fx->f);
	if (p.ip_version)
		fx->have_ip = true;
	return 0;
}

/*
 *  sampled_ethernet (0:2)
 *  0 length  4 src_mac (6 + 2 pad)  12 dst_mac (6 + 2 pad)  20 type
 */
static int rec_sampled_ethernet(struct fc_cur *r, struct flow_ctx *fx)
{
	uint32_t len, type;
	uint64_t src, dst;

	len = fc_cur_be32(r);
	src = (uint64_t)fc_cur_be16(r) << 32;
	src |= fc_cur_be32(r);
	fc_cur_skip(r, 2);
	dst = (uint64_t)fc_cur_be16(r) << 32;
	dst |= fc_cur_be32(r);
	fc_cur_skip(r, 2);
	type = fc_cur_be32(r);
	if (r->err)
		return FC_ETRUNC;
	offer_bytes(fx, len, BYTES_ETH);
	if (fx->f.src_mac == 0 && fx->f.dst_mac == 0) {
		fx->f.src_mac = src;
		fx->f.dst_mac = dst;
	}
	if (fx->f.etype == 0)
		fx->f.etype = type;
	return 0;
}

/*
 *  sampled_ipv4 (0:3)                sampled_ipv6 (0:4)
 *  0 length  4 protocol              0 length  4 protocol
 *  8 src_ip  12 dst_ip               8 src_ip(16)  24 dst_ip(16)
 *  16 src_port 20 dst_port           40 src_port 44 dst_port
 *  24 tcp_flags 28 tos               48 tcp_flags 52 priority
 */
static int rec_sampled_ip(struct fc_cur *r, struct flow_ctx *fx, bool v6)
{
	uint32_t len, proto, sport, dport, flags, tos;
	uint8_t sa[16], da[16];
	size_t alen = v6 ? 16 : 4;

	len = fc_cur_be32(r);
	proto = fc_cur_be32(r);
	fc_cur_copy(r, sa, alen);
	fc_cur_copy(r, da, alen);
	sport = fc_cur_be32(r);
	dport = fc_cur_be32(r);
	flags = fc_cur_be32(r);
	tos = fc_cur_be32(r);
	if (r->err)
		return FC_ETRUNC;
	offer_bytes(fx, len, BYTES_IP);
	if (fx->have_ip)
		return 0; /* the sampled header already said all of this */
	if (v6) {
		fc_addr_set6(&fx->f.src_addr, sa);
		fc_addr_set6(&fx->f.dst_addr, da);
	} else {
		fc_addr_set4(&fx->f.src_addr, sa);
		fc_addr_set4(&fx->f.dst_addr, da);
	}
	fx->f.etype = v6 ? 0x86dd : 0x0800;
	fx->f.proto = proto;
	fx->f.src_port = sport;
	fx->f.dst_port = dport;
	fx->f.tcp_flags = flags;
	fx->f.ip_tos = tos;
	if (proto == 1 || proto == 58) {
		/* sFlow puts ICMP type and code in the port fields */
		fx->f.icmp_type = sport;
		fx->f.icmp_code = dport;
	}
	fx->have_ip = true;
	return 0;
}

/*
 *  extended_gateway (0:1003)
 *  next_hop (address), as (this router), src_as, src_peer_as,
 *  dst_as_path<>: segments { type (1 set, 2 sequence), as<> },
 *  communities<>, localpref
 *
 * As goflow2 maps it: dst_as is the last AS of the path (the router's own
 * AS when the path is empty: the destination is local), next_hop_as is
 * the first; src_as is the router's AS when src_as is 0 (locally
 * originated). The next hop is the BGP next hop.
 */
static int rec_gateway(struct fc_cur *r, struct flow_ctx *fx)
{
	struct fc_flow *f = &fx->f;
	uint32_t my_as, src_as, nseg, ncomm, last = 0, first = 0;
	bool any = false;
	int rc;

	rc = read_address(r, &f->bgp_next_hop);
	if (rc)
		return rc;
	my_as = fc_cur_be32(r);
	src_as = fc_cur_be32(r);
	(void)fc_cur_be32(r); /* src_peer_as */
	nseg = fc_cur_be32(r);
	if (r->err)
		return FC_ETRUNC;
	f->n_as_path = 0;
	/* Each segment needs 8 bytes at least: bounded by what remains. */
	if (nseg > fc_cur_left(r) / 8)
		return FC_ETRUNC;
	for (uint32_t i = 0; i < nseg; i++) {
		uint32_t n;

		(void)fc_cur_be32(r); /* segment type */
		n = fc_cur_be32(r);
		if (r->err || n > fc_cur_left(r) / 4)
			return FC_ETRUNC;
		for (uint32_t j = 0; j < n; j++) {
			uint32_t as = fc_cur_be32(r);

			if (!any)
				first = as;
			any = true;
			last = as;
			if (f->n_as_path < FC_FLOW_MAX_ASPATH)
				f->as_path[f->n_as_path++] = as;
		}
	}
	f->src_as = src_as ? src_as : my_as;
	f->dst_as = any ? last : my_as;
	f->next_hop_as = first;
	ncomm = fc_cur_be32(r);
	if (r->err || ncomm > fc_cur_left(r) / 4)
		return FC_ETRUNC;
	f->n_bgp_communities = 0;
	for (uint32_t i = 0; i < ncomm; i++) {
		uint32_t v = fc_cur_be32(r);

		if (f->n_bgp_communities < FC_FLOW_MAX_COMMUNITIES)
			f->bgp_communities[f->n_bgp_communities++] = v;
	}
	(void)fc_cur_be32(r); /* localpref */
	return r->err ? FC_ETRUNC : 0;
}

/*
 *  extended_mpls (0:1006)
 *  nexthop (address), in_stack: label<>, out_stack: label<>
 * Labels from the sampled header (the packet as received) win; otherwise
 * the in-stack is reported, each entry as an RFC 3032 label stack entry.
 */
static int rec_mpls(struct fc_cur *r, struct flow_ctx *fx)
{
	struct fc_flow *f = &fx->f;
	struct fc_addr nh;
	uint32_t n;
	bool fill = f->n_mpls == 0;
	int rc;

	rc = read_address(r, &nh);
	if (rc)
		return rc;
	for (int stack = 0; stack < 2; stack++) {
		n = fc_cur_be32(r);
		if (r->err || n > fc_cur_left(r) / 4)
			return FC_ETRUNC;
		for (uint32_t i = 0; i < n; i++) {
			uint32_t e = fc_cur_be32(r);

			if (stack == 0 && fill && f->n_mpls < FC_FLOW_MAX_MPLS) {
				f->mpls_label[f->n_mpls] = e >> 12;
				f->mpls_ttl[f->n_mpls] = e & 0xff;
				f->n_mpls++;
			}
		}
	}
	if (nh.family && f->n_mpls_ip < FC_FLOW_MAX_MPLS)
		f->mpls_ip[f->n_mpls_ip++] = nh;
	return 0;
}

/* record_fn for flow samples: arg is the struct flow_ctx being filled. */
static int decode_flow_record(struct fc_sflow_state *s, uint32_t format, struct fc_cur *r,
			      void *arg)
{
	struct flow_ctx *fx = arg;
	struct fc_flow *f = &fx->f;
	int rc;

	switch (format) {
	case 1:
		return rec_sampled_header(s, r, fx);
	case 2:
		return rec_sampled_ethernet(r, fx);
	case 3:
		return rec_sampled_ip(r, fx, false);
	case 4:
		return rec_sampled_ip(r, fx, true);
	case 1001: /* extended_switch: src_vlan, src_priority, dst_vlan, dst_priority */
		f->src_vlan = fc_cur_be32(r);
		(void)fc_cur_be32(r);
		f->dst_vlan = fc_cur_be32(r);
		(void)fc_cur_be32(r);
		return r->err ? FC_ETRUNC : 0;
	case 1002: /* extended_router: next_hop, src_mask_len, dst_mask_len */
		rc = read_address(r, &f->next_hop);
		if (rc)
			return rc;
		f->src_net = fc_cur_be32(r);
		f->dst_net = fc_cur_be32(r);
		return r->err ? FC_ETRUNC : 0;
	case 1003:
		return rec_gateway(r, fx);
	case 1006:
		return rec_mpls(r, fx);
	case 1007: /* extended_nat: src_address, dst_address */
		rc = read_address(r, &f->src_addr_nat);
		if (rc)
			return rc;
		return read_address(r, &f->dst_addr_nat);
	default:
		count_format(s, &s->skipped_flow_records, format);
		return 0;
	}
}

/* Interface in the compact form: format in the top 2 bits, value below. */
static void set_interfaces(struct fc_flow *f, uint32_t in_fmt, uint32_t in_val, uint32_t out_fmt,
			   uint32_t out_val)
{
	/* Input: only the single-interface form is meaningful. */
	f->in_if = in_fmt == IF_FORMAT_SINGLE ? in_val : 0;
	switch (out_fmt) {
	case IF_FORMAT_SINGLE:
		/* 0x3FFFFFFF (internal/local) is kept as sent: it tells
		 * traffic to the agent itself apart from unknown (0). */
		f->out_if = out_val;
		break;
	case IF_FORMAT_DISCARD:
		/* value = discard reason: no output interface */
		f->out_if = 0;
		f->forwarding_status = FWD_DROPPED;
		break;
	default:
		/* multiple (value = count, 0 unknown): no single ifIndex */
		f->out_if = 0;
		break;
	}
}

static int decode_flow_sample(struct fc_sflow_state *s,
			      const struct dgram_ctx *x, struct fc_cur *c, bool expanded)
{
	struct flow_ctx fx;
	uint32_t seq, stype, sindex, rate, in_fmt, in_val, out_fmt, out_val, nrec;
	int rc;

	seq = fc_cur_be32(c);
	read_source_id(c, expanded, &stype, &sindex);
	rate = fc_cur_be32(c);
	(void)fc_cur_be32(c); /* sample_pool */
	(void)fc_cur_be32(c); /* drops */
	if (expanded) {
		in_fmt = fc_cur_be32(c);
		in_val = fc_cur_be32(c);
		out_fmt = fc_cur_be32(c);
		out_val = fc_cur_be32(c);
	} else {
		uint32_t in = fc_cur_be32(c), out = fc_cur_be32(c);

		in_fmt = in >> 30;
		in_val = in & 0x3fffffff;
		out_fmt = out >> 30;
		out_val = out & 0x3fffffff;
	}
	nrec = fc_cur_be32(c);
	if (c->err) {
		(*s->bad_length)++;
		return FC_ETRUNC;
	}
	track_sample(s, x, KIND_FLOW, stype, sindex, seq);

	memset(&fx, 0, sizeof(fx));
	fx.f.type = FC_FLOW_SFLOW5;
	fx.f.time_received_ns = x->g->time_ns;
	/* sFlow samples one packet: it starts and ends when it is received */
	fx.f.time_flow_start_ns = x->g->time_ns;
	fx.f.time_flow_end_ns = x->g->time_ns;
	fx.f.sequence_num = x->seq;
	fx.f.sampling_rate = rate;
	fx.f.sampler_address = x->agent;
	fx.f.exporter_port = x->g->src_port;
	fx.f.packets = 1;
	fx.f.observation_domain_id = x->sub_agent;
	fx.f.observation_point_id = sindex;
	set_interfaces(&fx.f, in_fmt, in_val, out_fmt, out_val);

	rc = walk_records(s, x, c, nrec, decode_flow_record, &fx);
	fc_emit_flow(x->out, &fx.f);
	return rc;
}

/* XDR float: IEEE 754 single precision, big-endian. */
static float read_float(struct fc_cur *c)
{
	uint32_t v = fc_cur_be32(c);
	float out;

	memcpy(&out, &v, sizeof(out));
	return out;
}

/* XDR string<max>: length, bytes, padding (bounded by the record). */
static int read_string(struct fc_cur *c, char *out, size_t cap)
{
	uint32_t n = fc_cur_be32(c);
	size_t keep;
	const uint8_t *p;

	if (c->err)
		return FC_ETRUNC;
	p = fc_cur_view(c, n);
	if (!p)
		return FC_ETRUNC;
	keep = n < cap - 1 ? n : cap - 1;
	fc_text_copy_printable(out, p, keep);
	/* A missing final padding (some agents end the record there) is
	 * tolerated: skip it only when present. */
	if (fc_cur_has(c, (4 - (n & 3)) & 3))
		fc_cur_skip(c, (4 - (n & 3)) & 3);
	return 0;
}

static int rec_generic_if(struct fc_cur *r, struct fc_counter_if *i)
{
	i->if_index = fc_cur_be32(r);
	i->if_type = fc_cur_be32(r);
	i->if_speed = fc_cur_be64(r);
	i->if_direction = fc_cur_be32(r);
	i->if_status = fc_cur_be32(r);
	i->if_in_octets = fc_cur_be64(r);
	i->if_in_ucast_pkts = fc_cur_be32(r);
	i->if_in_multicast_pkts = fc_cur_be32(r);
	i->if_in_broadcast_pkts = fc_cur_be32(r);
	i->if_in_discards = fc_cur_be32(r);
	i->if_in_errors = fc_cur_be32(r);
	i->if_in_unknown_protos = fc_cur_be32(r);
	i->if_out_octets = fc_cur_be64(r);
	i->if_out_ucast_pkts = fc_cur_be32(r);
	i->if_out_multicast_pkts = fc_cur_be32(r);
	i->if_out_broadcast_pkts = fc_cur_be32(r);
	i->if_out_discards = fc_cur_be32(r);
	i->if_out_errors = fc_cur_be32(r);
	i->if_promiscuous_mode = fc_cur_be32(r);
	return r->err ? FC_ETRUNC : 0;
}

static int rec_ethernet(struct fc_cur *r, struct fc_counter_eth *e)
{
	e->dot3_stats_alignment_errors = fc_cur_be32(r);
	e->dot3_stats_fcs_errors = fc_cur_be32(r);
	e->dot3_stats_single_collision_frames = fc_cur_be32(r);
	e->dot3_stats_multiple_collision_frames = fc_cur_be32(r);
	e->dot3_stats_sqe_test_errors = fc_cur_be32(r);
	e->dot3_stats_deferred_transmissions = fc_cur_be32(r);
	e->dot3_stats_late_collisions = fc_cur_be32(r);
	e->dot3_stats_excessive_collisions = fc_cur_be32(r);
	e->dot3_stats_internal_mac_transmit_errors = fc_cur_be32(r);
	e->dot3_stats_carrier_sense_errors = fc_cur_be32(r);
	e->dot3_stats_frame_too_longs = fc_cur_be32(r);
	e->dot3_stats_internal_mac_receive_errors = fc_cur_be32(r);
	e->dot3_stats_symbol_errors = fc_cur_be32(r);
	return r->err ? FC_ETRUNC : 0;
}

static int rec_host_cpu(struct fc_cur *r, struct fc_counter_host_cpu *h)
{
	h->load_one = read_float(r);
	h->load_five = read_float(r);
	h->load_fifteen = read_float(r);
	h->proc_run = fc_cur_be32(r);
	h->proc_total = fc_cur_be32(r);
	h->cpu_num = fc_cur_be32(r);
	h->cpu_speed = fc_cur_be32(r);
	h->uptime = fc_cur_be32(r);
	h->cpu_user = fc_cur_be32(r);
	h->cpu_nice = fc_cur_be32(r);
	h->cpu_system = fc_cur_be32(r);
	h->cpu_idle = fc_cur_be32(r);
	h->cpu_wio = fc_cur_be32(r);
	h->cpu_intr = fc_cur_be32(r);
	h->cpu_sintr = fc_cur_be32(r);
	h->interrupts = fc_cur_be32(r);
	h->contexts = fc_cur_be32(r);
	/* newer agents append steal/guest times: ignored */
	return r->err ? FC_ETRUNC : 0;
}

static int rec_host_mem(struct fc_cur *r, struct fc_counter_host_mem *h)
{
	h->mem_total = fc_cur_be64(r);
	h->mem_free = fc_cur_be64(r);
	h->mem_shared = fc_cur_be64(r);
	h->mem_buffers = fc_cur_be64(r);
	h->mem_cached = fc_cur_be64(r);
	h->swap_total = fc_cur_be64(r);
	h->swap_free = fc_cur_be64(r);
	h->page_in = fc_cur_be32(r);
	h->page_out = fc_cur_be32(r);
	h->swap_in = fc_cur_be32(r);
	h->swap_out = fc_cur_be32(r);
	return r->err ? FC_ETRUNC : 0;
}

/* record_fn for counter samples: arg is the struct fc_counter being
 * filled. Every record's format is listed, decoded or not; a record that
 * does not parse leaves its has_* flag false. */
static int decode_counter_record(struct fc_sflow_state *s, uint32_t format, struct fc_cur *r,
				 void *arg)
{
	struct fc_counter *k = arg;
	int rc;

	if (k->n_formats < FC_COUNTER_MAX_FORMATS)
		k->formats[k->n_formats++] = format;
	switch (format) {
	case 1:
		rc = rec_generic_if(r, &k->ifc);
		k->has_if = rc == 0;
		return rc;
	case 2:
		rc = rec_ethernet(r, &k->eth);
		k->has_eth = rc == 0;
		return rc;
	case 5: /* vlan_id, octets, ucastPkts, multicastPkts, broadcastPkts, discards */
		k->vlan.vlan_id = fc_cur_be32(r);
		k->vlan.octets = fc_cur_be64(r);
		k->vlan.ucast_pkts = fc_cur_be32(r);
		k->vlan.multicast_pkts = fc_cur_be32(r);
		k->vlan.broadcast_pkts = fc_cur_be32(r);
		k->vlan.discards = fc_cur_be32(r);
		k->has_vlan = r->err == 0;
		return r->err ? FC_ETRUNC : 0;
	case 1001: /* 5s_cpu, 1m_cpu, 5m_cpu, total_memory, free_memory */
		k->cpu.cpu_5s = fc_cur_be32(r);
		k->cpu.cpu_1m = fc_cur_be32(r);
		k->cpu.cpu_5m = fc_cur_be32(r);
		k->cpu.total_memory = fc_cur_be64(r);
		k->cpu.free_memory = fc_cur_be64(r);
		k->has_cpu = r->err == 0;
		return r->err ? FC_ETRUNC : 0;
	case 1005: /* port name: string ifName<255> */
		rc = read_string(r, k->port_name, sizeof(k->port_name));
		k->has_port_name = rc == 0;
		return rc;
	case 2000: /* host descr: hostname<64>, uuid, machine_type, os_name, os_release */
		rc = read_string(r, k->hostname, sizeof(k->hostname));
		k->has_hostname = rc == 0;
		return rc;
	case 2003:
		rc = rec_host_cpu(r, &k->host_cpu);
		k->has_host_cpu = rc == 0;
		return rc;
	case 2004:
		rc = rec_host_mem(r, &k->host_mem);
		k->has_host_mem = rc == 0;
		return rc;
	default:
		count_format(s, &s->skipped_counter_records, format);
		return 0;
	}
}

static int decode_counter_sample(struct fc_sflow_state *s,
				 const struct dgram_ctx *x, struct fc_cur *c, bool expanded)
{
	struct fc_counter k;
	uint32_t nrec;
	int rc;

	memset(&k, 0, sizeof(k));
	k.sample_sequence_num = fc_cur_be32(c);
	read_source_id(c, expanded, &k.source_id_type, &k.source_id_index);
	nrec = fc_cur_be32(c);
	if (c->err) {
		(*s->bad_length)++;
		return FC_ETRUNC;
	}
	track_sample(s, x, KIND_COUNTER, k.source_id_type, k.source_id_index,
		     k.sample_sequence_num);
	k.time_received_ns = x->g->time_ns;
	k.agent = x->agent;
	k.exporter_port = x->g->src_port;
	k.sub_agent_id = x->sub_agent;
	k.sequence_num = x->seq;
	k.uptime_ms = x->uptime;

	rc = walk_records(s, x, c, nrec, decode_counter_record, &k);
	(*s->counters)++;
	fc_emit_counter(x->out, &k);
	return rc;
}

int fc_sflow_decode(struct fc_sflow_state *s, const struct fc_emit *out, const struct fc_dgram *g)
{
	struct dgram_ctx x;
	struct fc_cur c;
	uint32_t version, nsamples;
	int rc = 0;

	memset(&x, 0, sizeof(x));
	x.g = g;
	x.out = out;
	x.max_records = s->max_records;

	fc_cur_init(&c, g->data, g->len);
	version = fc_cur_be32(&c);
	if (c.err)
		return FC_ETRUNC;
	if (version != 5)
		return FC_EVERSION;
	rc = read_address(&c, &x.agent);
	if (rc)
		return rc;
	if (x.agent.family == 0)
		return FC_EMALFORMED; /* the agent address is not optional */
	x.sub_agent = fc_cur_be32(&c);
	x.seq = fc_cur_be32(&c);
	x.uptime = fc_cur_be32(&c);
	nsamples = fc_cur_be32(&c);
	if (c.err)
		return FC_ETRUNC;
	track_datagram(s, &x);

	nsamples = bound_count(s, &c, nsamples, s->max_samples, s->samples_over_cap, &rc);
	for (uint32_t i = 0; i < nsamples; i++) {
		uint32_t format = fc_cur_be32(&c), len = fc_cur_be32(&c);
		bool last = i + 1 == nsamples;
		struct fc_cur sc;
		int e;

		if (c.err) {
			/* fewer samples than announced */
			(*s->bad_count)++;
			keep_err(&rc, FC_ETRUNC);
			break;
		}
		if (len > fc_cur_left(&c) || last) {
			/* The last sample gets the rest of the datagram: agents
			 * (and hand-built test data) that get a sample length
			 * wrong are decoded as far as the bytes are valid,
			 * still bounded by the datagram. A length past the
			 * datagram is counted; so is one that the records
			 * overrun, when they do. */
			if (len > fc_cur_left(&c)) {
				(*s->bad_length)++;
				keep_err(&rc, FC_ETRUNC);
				last = true;
			}
			fc_cur_sub(&c, fc_cur_left(&c), &sc);
		} else {
			fc_cur_sub(&c, len, &sc);
		}
		if (format >> 12 != 0 || format < 1 || format > 4) {
			/* drop events (0:5) and anything else: skip by length */
			count_format(s, &s->skipped_samples, format);
			continue;
		}
		(*s->samples[format])++;
		if (format == 1 || format == 3)
			e = decode_flow_sample(s, &x, &sc, format == 3);
		else
			e = decode_counter_sample(s, &x, &sc, format == 4);
		keep_err(&rc, e);
		if (last)
			break;
	}
	return rc;
}
