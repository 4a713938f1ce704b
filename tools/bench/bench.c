/*
 * bench: decode (+ enrich) + encode throughput of the collector's hot path
 * on one core, from pcaps held in memory, each capture measured on its own.
 *
 * Load: every frame of a capture goes through the project's L2->L4 parser
 * (src/packet, fc_pkt_parse) to find its UDP payload, which is copied once
 * into an arena with its exporter address, port and capture time (struct
 * fc_dgram). IP fragments are not reassembled here: they are counted and
 * left out (flowgen never fragments).
 *
 * Run: the datagrams are fed to one decoder (fc_decoder_new /
 * fc_decode_datagram) over and over, for --iterations passes or --seconds
 * of wall time. The sink, like the pipeline's, optionally enriches each
 * flow (fc_enrich_flow) and encodes it into a reused buffer with the
 * schema-specific encoders (fc_pb_flow_frame, fc_pb_counter_frame for sFlow
 * counter samples) or, with --reference-encoder, with protobuf-c's generic
 * packer (fc_pb_flow_fill / fc_pb_counter_fill + fc_pb_frame), which is what
 * the collector used before; nothing is output. Template and sequence state carry over between passes, as
 * they would for an exporter that loops.
 *
 * Phases, per capture: "decode" (sink counts only), then for each address
 * mix "decode+encode" and, when --enrich-asn / --enrich-geo name MaxMind
 * databases, "decode+enrich+encode" right after it. A mix decides the
 * source and destination addresses the sink sees (the same in the plain and
 * the enriched phase, so their difference is the cost of enrichment):
 *   capture  the addresses the capture carries;
 *   hit      9 in 10 drawn from the networks the given databases hold
 *            (found by walking their search trees), 1 in 10 random;
 *   miss     9 in 10 random public addresses (IPv4, and 3 in 10 IPv6 in
 *            2000::/3), 1 in 10 from the databases' networks.
 * Each mix is a fixed pool of --pool distinct addresses, used in a fixed
 * order with Zipf-like popularity (exponent 1: a few addresses in many
 * flows, most in few, as in real traffic) or, with --uniform, all equally
 * often (no locality at all: the cache's worst case). For each
 * phase it prints flows/s and datagrams/s per core (from the process CPU
 * time, so a busy machine does not flatter or punish it) and ns per flow;
 * for each enriched mix the enrichment cost (enriched - plain, ns per flow),
 * that cost as a multiple of the decode-only cost, the cache hit ratio and
 * how many lookups each database answered (of the timed run: an enriched
 * phase starts after one untimed pass over the capture, so it shows a
 * collector that has been running, not its cold start). With --split it also runs each
 * mix decoded with and without enrichment but not encoded, which tells the
 * lookups' own cost from the cost of encoding the fields they add.
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <maxminddb.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "decode/decode.h"
#include "encode/pb.h"
#include "encode/pb_counter.h"
#include "encode/pb_flow.h"
#include "enrich/enrich.h"
#include "fc/dgram.h"
#include "fc/err.h"
#include "metrics/metrics.h"
#include "packet/packet.h"

struct corpus {
	struct fc_dgram *d;
	size_t n, cap;
	uint8_t *arena;
	size_t used, arena_cap;
	uint64_t frames, skipped, fragments;
};

/* Addresses a mix substitutes: seq, a power-of-two sequence of indices
 * into the n distinct addresses of a, is cycled through. */
struct addr_pool {
	struct fc_addr *a;
	size_t n;
	uint32_t *seq;
	size_t nseq, next;
};

struct sink_ctx {
	bool encode;
	bool reference; /* protobuf-c's packer instead of fc_pb_*_frame */
	struct fc_enrich *enrich;
	struct addr_pool *pool; /* NULL: the capture's own addresses */
	uint64_t flows, counters, encoded_bytes, encode_errors;
	struct fc_pb_flow pbf;
	struct fc_pb_counter pbc;
	uint8_t frame[FC_PB_MAX_FRAMED];
};

static void on_flow(void *ctx, struct fc_flow *f)
{
	struct sink_ctx *s = ctx;
	size_t n;

	s->flows++;
	if (!s->encode && !s->pool && !s->enrich)
		return;
	if (s->pool) {
		struct addr_pool *p = s->pool;

		f->src_addr = p->a[p->seq[p->next++ & (p->nseq - 1)]];
		f->dst_addr = p->a[p->seq[p->next++ & (p->nseq - 1)]];
	}
	if (s->enrich)
		fc_enrich_flow(s->enrich, f);
	if (!s->encode)
		return;
	if (s->reference) {
		fc_pb_flow_fill(f, &s->pbf);
		n = fc_pb_frame(&s->pbf.msg.base, s->frame, sizeof(s->frame));
	} else {
		n = fc_pb_flow_frame(f, s->frame, sizeof(s->frame));
	}
	if (n == 0)
		s->encode_errors++;
	s->encoded_bytes += n;
}

static void on_counter(void *ctx, const struct fc_counter *c)
{
	struct sink_ctx *s = ctx;
	size_t n;

	s->counters++;
	if (!s->encode)
		return;
	if (s->reference) {
		fc_pb_counter_fill(c, &s->pbc);
		n = fc_pb_frame(&s->pbc.msg.base, s->frame, sizeof(s->frame));
	} else {
		n = fc_pb_counter_frame(c, s->frame, sizeof(s->frame));
	}
	if (n == 0)
		s->encode_errors++;
	s->encoded_bytes += n;
}

static int corpus_add(struct corpus *cp, const struct fc_pkt *k, uint64_t ts)
{
	if (cp->n == cp->cap) {
		size_t nc = cp->cap ? cp->cap * 2 : 1024;
		struct fc_dgram *nd = realloc(cp->d, nc * sizeof(*nd));

		if (!nd)
			return -1;
		cp->d = nd;
		cp->cap = nc;
	}
	if (k->l4_payload_len > cp->arena_cap - cp->used) {
		size_t nc = cp->arena_cap ? cp->arena_cap * 2 : 1 << 20;
		uint8_t *na;

		while (nc - cp->used < k->l4_payload_len)
			nc *= 2;
		na = realloc(cp->arena, nc);
		if (!na)
			return -1;
		cp->arena = na;
		cp->arena_cap = nc;
	}
	memcpy(cp->arena + cp->used, k->l4_payload, k->l4_payload_len);
	cp->d[cp->n] = (struct fc_dgram){
		.data = NULL, /* set once the arena stops moving */
		.len = k->l4_payload_len,
		.src = k->src,
		.src_port = (uint16_t)k->src_port,
		.dst = k->dst,
		.dst_port = (uint16_t)k->dst_port,
		.time_ns = ts,
	};
	/* remember the offset in data's place until then */
	cp->d[cp->n].data = (const uint8_t *)(uintptr_t)cp->used;
	cp->used += k->l4_payload_len;
	cp->n++;
	return 0;
}

static int load_pcap(struct corpus *cp, const char *path)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	struct pcap_pkthdr *h;
	const u_char *data;
	enum fc_pkt_start start;
	int rc;

	if (!pc) {
		fprintf(stderr, "bench: %s: %s\n", path, errbuf);
		return -1;
	}
	switch (pcap_datalink(pc)) {
	case DLT_EN10MB:
		start = FC_PKT_ETHERNET;
		break;
	case DLT_RAW:
#ifdef DLT_IPV4
	case DLT_IPV4:
	case DLT_IPV6:
#endif
		start = FC_PKT_IP;
		break;
	default:
		fprintf(stderr, "bench: %s: link type %d not handled (Ethernet or raw IP)\n", path,
			pcap_datalink(pc));
		pcap_close(pc);
		return -1;
	}
	while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
		struct fc_pkt k;
		uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;

		cp->frames++;
		fc_pkt_parse(data, h->caplen, start, &k);
		if (k.more_fragments || k.frag_offset) {
			cp->fragments++;
			continue;
		}
		if (k.ip_version == 0 || k.proto != 17 || !k.l4_payload) {
			cp->skipped++;
			continue;
		}
		if (corpus_add(cp, &k, ts)) {
			fprintf(stderr, "bench: out of memory\n");
			pcap_close(pc);
			return -1;
		}
	}
	if (rc == PCAP_ERROR)
		fprintf(stderr, "bench: %s: %s (using the frames read so far)\n", path, pcap_geterr(pc));
	pcap_close(pc);
	return 0;
}

static double now_s(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct phase_opts {
	const struct fc_config *cfg;
	const struct corpus *cp;
	uint64_t iterations; /* 0: run for seconds */
	double seconds;
	bool encode;
	bool reference; /* protobuf-c's packer instead of fc_pb_*_frame */
	struct fc_enrich *enrich;
	struct addr_pool *pool;
	const char *name;
	bool quiet; /* a warm-up: nothing printed */
};

/* Runs one phase; *out_ns_per_flow gets its CPU ns per flow. */
static int run_phase(const struct phase_opts *o, double *out_ns_per_flow)
{
	struct fc_metrics *m = fc_metrics_new();
	struct sink_ctx *s = calloc(1, sizeof(*s));
	struct fc_sink sink = {.flow = on_flow, .counter = on_counter, .ctx = s};
	struct fc_decoder *d = NULL;
	uint64_t passes = 0, dgrams = 0, errors = 0;
	double w0, c0, wall, cpu;
	int rc = -1;

	if (!m || !s)
		goto done;
	s->encode = o->encode;
	s->reference = o->reference;
	s->enrich = o->enrich;
	s->pool = o->pool;
	d = fc_decoder_new(o->cfg, m, &sink);
	if (!d)
		goto done;
	w0 = now_s(CLOCK_MONOTONIC);
	c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
	for (;;) {
		for (size_t i = 0; i < o->cp->n; i++) {
			if (fc_decode_datagram(d, &o->cp->d[i]) != 0)
				errors++;
		}
		dgrams += o->cp->n;
		passes++;
		if (o->iterations ? passes >= o->iterations
				  : now_s(CLOCK_MONOTONIC) - w0 >= o->seconds)
			break;
	}
	wall = now_s(CLOCK_MONOTONIC) - w0;
	cpu = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
	if (cpu <= 0)
		cpu = wall;
	*out_ns_per_flow = s->flows ? cpu * 1e9 / (double)s->flows : 0.0;
	if (o->quiet)
		goto quiet;
	printf("%-28s passes=%" PRIu64 " datagrams=%" PRIu64 " flows=%" PRIu64
	       " counters=%" PRIu64 " errors=%" PRIu64 " wall=%.3fs cpu=%.3fs\n"
	       "%-28s %.0f flows/s/core  %.0f datagrams/s/core  %.1f ns/flow",
	       o->name, passes, dgrams, s->flows, s->counters, errors, wall, cpu, "",
	       (double)s->flows / cpu, (double)dgrams / cpu, *out_ns_per_flow);
	if (o->encode)
		printf("  %.1f MB/s encoded (%.1f bytes/flow, %" PRIu64 " encode errors)",
		       (double)s->encoded_bytes / cpu / 1e6,
		       s->flows ? (double)s->encoded_bytes / (double)s->flows : 0.0, s->encode_errors);
	printf("\n");
quiet:
	rc = s->flows || s->counters ? 0 : 1;
done:
	fc_decoder_free(d);
	fc_metrics_free(m);
	free(s);
	return rc;
}

/* ---- address mixes ---- */

struct netlist {
	struct fc_addr *net; /* network address */
	uint8_t *plen;
	size_t n, cap;
};

static int netlist_add(struct netlist *l, const uint8_t bits[16], unsigned depth, bool v4)
{
	struct fc_addr a = {0};

	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 256;
		struct fc_addr *nn = realloc(l->net, nc * sizeof(*nn));
		uint8_t *np;

		if (!nn)
			return -1;
		l->net = nn;
		np = realloc(l->plen, nc);
		if (!np)
			return -1;
		l->plen = np;
		l->cap = nc;
	}
	if (v4) {
		a.family = 4;
		memcpy(a.a, bits + 12, 4);
		l->plen[l->n] = (uint8_t)(depth - 96);
	} else {
		a.family = 6;
		memcpy(a.a, bits, 16);
		l->plen[l->n] = (uint8_t)depth;
	}
	l->net[l->n++] = a;
	return 0;
}

/* Depth-first walk of an MMDB search tree collecting the networks that
 * hold data. IPv4 data is the subtree at ::/96; the aliases of it an IPv6
 * tree carries (::ffff:0:0/96, 2002::/16) and the rest of ::/8 are left
 * out, so each IPv4 network is listed once. */
static int walk_tree(MMDB_s *db, uint32_t node, unsigned depth, uint8_t bits[16],
		     struct netlist *l)
{
	MMDB_search_node_s sn;
	bool v6tree = db->metadata.ip_version == 6;

	if (depth >= (v6tree ? 128u : 32u) || MMDB_read_node(db, node, &sn) != MMDB_SUCCESS)
		return 0;
	for (unsigned side = 0; side < 2; side++) {
		uint8_t type = side ? sn.right_record_type : sn.left_record_type;
		uint64_t rec = side ? sn.right_record : sn.left_record;
		unsigned pos = v6tree ? depth : depth + 96;
		bool v4;

		/* bit pos = side, every later bit 0 */
		for (unsigned b = pos; b < 128; b++)
			bits[b / 8] = (uint8_t)(bits[b / 8] & ~(0x80u >> (b % 8)));
		if (side)
			bits[pos / 8] = (uint8_t)(bits[pos / 8] | (0x80u >> (pos % 8)));
		if (v6tree && depth + 1 == 16 && bits[0] == 0x20 && bits[1] == 0x02)
			continue;
		if (v6tree && depth + 1 == 8 && bits[0] == 0) {
			/* ::/8: only its ::/96 (IPv4) part */
			uint32_t n = (uint32_t)rec;

			for (unsigned d = depth + 1; d < 96 && type == MMDB_RECORD_TYPE_SEARCH_NODE; d++) {
				MMDB_search_node_s s2;

				if (MMDB_read_node(db, n, &s2) != MMDB_SUCCESS)
					return 0;
				type = s2.left_record_type;
				n = (uint32_t)s2.left_record;
			}
			if (type == MMDB_RECORD_TYPE_SEARCH_NODE && walk_tree(db, n, 96, bits, l))
				return -1;
			continue;
		}
		v4 = !v6tree || (depth + 1 > 96 && memcmp(bits, "\0\0\0\0\0\0\0\0\0\0\0\0", 12) == 0);
		if (type == MMDB_RECORD_TYPE_DATA) {
			if (netlist_add(l, bits, v6tree ? depth + 1 : depth + 1 + 96, v4))
				return -1;
		} else if (type == MMDB_RECORD_TYPE_SEARCH_NODE) {
			if (walk_tree(db, (uint32_t)rec, depth + 1, bits, l))
				return -1;
		}
	}
	return 0;
}

static int collect_networks(const char *path, struct netlist *l)
{
	MMDB_s db;
	uint8_t bits[16] = {0};
	int rc;

	if (MMDB_open(path, MMDB_MODE_MMAP, &db) != MMDB_SUCCESS) {
		fprintf(stderr, "bench: %s: cannot open as a MaxMind DB\n", path);
		return -1;
	}
	rc = walk_tree(&db, 0, 0, bits, l);
	MMDB_close(&db);
	return rc;
}

/* splitmix64: the same pools on every run. */
static uint64_t mix_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void addr_in_network(const struct netlist *l, uint64_t *rng, struct fc_addr *out)
{
	size_t i = (size_t)(mix_rand(rng) % l->n);
	unsigned plen = l->plen[i], width = l->net[i].family == 4 ? 32 : 128;
	uint64_t r1 = mix_rand(rng), r2 = mix_rand(rng);

	*out = l->net[i];
	for (unsigned b = plen; b < width; b++) {
		uint64_t bit = (b < 64 ? r1 >> b : r2 >> (b - 64)) & 1u;

		if (bit)
			out->a[b / 8] = (uint8_t)(out->a[b / 8] | (0x80u >> (b % 8)));
	}
}

static void addr_random(uint64_t *rng, struct fc_addr *out)
{
	uint64_t r = mix_rand(rng);

	memset(out, 0, sizeof(*out));
	if (r % 10 < 3) {
		uint64_t hi = mix_rand(rng), lo = mix_rand(rng);

		out->family = 6;
		for (int i = 0; i < 8; i++) {
			out->a[i] = (uint8_t)(hi >> (56 - 8 * i));
			out->a[8 + i] = (uint8_t)(lo >> (56 - 8 * i));
		}
		out->a[0] = (uint8_t)(0x20 | (out->a[0] & 0x1f)); /* 2000::/3 */
		if (out->a[1] == 0x02 && out->a[0] == 0x20)
			out->a[1] = 0x03; /* not 6to4 */
	} else {
		uint32_t v = 0x01000000u + (uint32_t)((r >> 8) % (0xe0000000u - 0x01000000u));

		if ((v >> 24) == 10 || (v >> 24) == 127)
			v ^= 0x40000000u;
		out->family = 4;
		out->a[0] = (uint8_t)(v >> 24);
		out->a[1] = (uint8_t)(v >> 16);
		out->a[2] = (uint8_t)(v >> 8);
		out->a[3] = (uint8_t)v;
	}
}

/* n distinct addresses, hit_pct of them from the networks (when there are
 * any), the rest random; then the order they are used in: uniform (every
 * address as often) or, by default, Zipf-like with exponent 1 (address k
 * about 1/(k+1) as often as the first), the heavy tail of real traffic. */
static int make_pool(struct addr_pool *p, size_t n, const struct netlist *l, unsigned hit_pct,
		     bool uniform, uint64_t seed)
{
	uint64_t rng = seed;

	p->a = calloc(n, sizeof(*p->a));
	p->nseq = 1u << 20;
	p->seq = calloc(p->nseq, sizeof(*p->seq));
	if (!p->a || !p->seq)
		return -1;
	p->n = n;
	for (size_t i = 0; i < n; i++) {
		if (l->n && mix_rand(&rng) % 100 < hit_pct)
			addr_in_network(l, &rng, &p->a[i]);
		else
			addr_random(&rng, &p->a[i]);
	}
	for (size_t i = 0; i < p->nseq; i++) {
		double u = (double)(mix_rand(&rng) >> 11) / 9007199254740992.0; /* [0,1) */
		size_t k = uniform ? (size_t)(mix_rand(&rng) % n) : (size_t)pow((double)n, u) - 1;

		p->seq[i] = (uint32_t)(k < n ? k : n - 1);
	}
	return 0;
}

static void usage(FILE *o)
{
	fprintf(o, "usage: bench [--iterations N | --seconds T] [--decode-only | --encode-only]\n"
		   "             [--enrich-asn MMDB] [--enrich-geo MMDB] [--mix LIST]\n"
		   "             [--pool N] [--uniform] [--cache-bytes B] [--rounds N] [--split]\n"
		   "             [--reference-encoder]\n"
		   "             PCAP...\n"
		   "  --iterations N   passes over the capture (default: run for --seconds)\n"
		   "  --seconds T      wall time per phase (default 2)\n"
		   "  --decode-only    skip the decode+encode phases\n"
		   "  --encode-only    skip the decode-only phase\n"
		   "  --enrich-asn F   enrich with this MaxMind ASN database in the encode phases\n"
		   "  --enrich-geo F   enrich with this MaxMind City/Country database\n"
		   "  --mix LIST       address mixes, comma-separated: capture, hit, miss\n"
		   "                   (default: hit,miss with enrichment, else capture)\n"
		   "  --pool N         distinct addresses per mix, a power of two (default 65536)\n"
		   "  --uniform        use them all equally often (default: Zipf, exponent 1)\n"
		   "  --cache-bytes B  the collector's --geoip-cache-bytes (default its default)\n"
		   "  --rounds N       plain and enriched phases alternated N times, fastest\n"
		   "                   kept (default 3)\n"
		   "  --split          also decode with and without enrichment but no encoding:\n"
		   "                   the lookups' own cost, apart from encoding their fields\n"
		   "  --reference-encoder  encode with protobuf-c's generic packer\n"
		   "                   (fc_pb_*_fill + fc_pb_frame), not fc_pb_*_frame\n"
		   "Each PCAP is measured on its own.\n");
}

enum { MIX_CAPTURE, MIX_HIT, MIX_MISS, MIX_COUNT };
static const char *const mix_name[MIX_COUNT] = {"capture", "hit", "miss"};

static int parse_mix(const char *arg, bool on[MIX_COUNT])
{
	char buf[128], *save = NULL, *t;

	if (strlen(arg) >= sizeof(buf))
		return -1;
	strcpy(buf, arg);
	memset(on, 0, MIX_COUNT * sizeof(on[0]));
	for (t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		unsigned i;

		for (i = 0; i < MIX_COUNT && strcmp(t, mix_name[i]) != 0; i++)
			;
		if (i == MIX_COUNT)
			return -1;
		on[i] = true;
	}
	return 0;
}

struct bench {
	struct fc_config cfg;
	struct phase_opts po;
	bool decode_only, encode_only, enriching;
	unsigned rounds;
	bool split;
	bool mix[MIX_COUNT];
	struct addr_pool pool[MIX_COUNT];
};

/* The enriched phase of one mix, with its own counters and cache;
 * its ns per flow in *out_ns, the counters' story in note. */
static int run_enriched(struct bench *b, unsigned mix, bool encode, double *out_ns, char *note,
			size_t notelen)
{
	struct fc_metrics *em = fc_metrics_new();
	struct fc_enrich *enrich = NULL;
	char err[512], name[64];
	uint64_t c0[6];
	int rc = -1;

	if (!em || fc_enrich_new(&b->cfg, em, &enrich, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench: enrichment: %s\n", em ? err : "out of memory");
		goto done;
	}
	snprintf(name, sizeof(name), "decode+enrich%s/%s", encode ? "+encode" : "", mix_name[mix]);
	b->po.encode = encode;
	b->po.enrich = enrich;
	b->po.pool = mix == MIX_CAPTURE ? NULL : &b->pool[mix];
	b->po.name = name;
	/* One untimed pass first: the numbers are those of a collector that
	 * has been running, not of its first second (the addresses go on where
	 * the pass left them, so the timed run still meets new ones). */
	{
		struct phase_opts warm = b->po;
		double ignored;

		warm.iterations = 1;
		warm.quiet = true;
		if (run_phase(&warm, &ignored))
			goto done;
	}
	c0[0] = fc_metrics_get(em, "enrich_cache_hits_total", NULL);
	c0[1] = fc_metrics_get(em, "enrich_cache_misses_total", NULL);
	c0[2] = fc_metrics_get(em, "enrich_lookups_total", "db=\"asn\"");
	c0[3] = fc_metrics_get(em, "enrich_misses_total", "db=\"asn\"");
	c0[4] = fc_metrics_get(em, "enrich_lookups_total", "db=\"geo\"");
	c0[5] = fc_metrics_get(em, "enrich_misses_total", "db=\"geo\"");
	if (run_phase(&b->po, out_ns))
		goto done;
	{
		uint64_t hits = fc_metrics_get(em, "enrich_cache_hits_total", NULL) - c0[0];
		uint64_t misses = fc_metrics_get(em, "enrich_cache_misses_total", NULL) - c0[1];
		uint64_t la = fc_metrics_get(em, "enrich_lookups_total", "db=\"asn\"") - c0[2];
		uint64_t ma = fc_metrics_get(em, "enrich_misses_total", "db=\"asn\"") - c0[3];
		uint64_t lg = fc_metrics_get(em, "enrich_lookups_total", "db=\"geo\"") - c0[4];
		uint64_t mg = fc_metrics_get(em, "enrich_misses_total", "db=\"geo\"") - c0[5];
		int n = snprintf(note, notelen, "cache hits %.1f%%",
				 hits + misses ? 100.0 * (double)hits / (double)(hits + misses) : 0.0);

		if (la && n > 0 && (size_t)n < notelen)
			n += snprintf(note + n, notelen - (size_t)n, ", asn found %.1f%%",
				      100.0 * (double)(la - ma) / (double)la);
		if (lg && n > 0 && (size_t)n < notelen)
			n += snprintf(note + n, notelen - (size_t)n, ", geo found %.1f%%",
				      100.0 * (double)(lg - mg) / (double)lg);
		if (n > 0 && (size_t)n < notelen)
			snprintf(note + n, notelen - (size_t)n, ", %" PRIu64 " lookup errors",
				 fc_metrics_sum(em, "enrich_errors_total"));
	}
	rc = 0;
done:
	fc_enrich_free(enrich);
	fc_metrics_free(em);
	return rc;
}

static int bench_capture(struct bench *b, const char *path)
{
	struct corpus cp = {0};
	uint64_t bytes = 0;
	double decode_ns = 0;
	int rc = -1;

	if (load_pcap(&cp, path))
		goto done;
	if (cp.n == 0) {
		fprintf(stderr, "bench: %s: no UDP datagrams in the capture\n", path);
		goto done;
	}
	for (size_t i = 0; i < cp.n; i++) {
		cp.d[i].data = cp.arena + (uintptr_t)cp.d[i].data;
		bytes += cp.d[i].len;
	}
	printf("bench: %s: %" PRIu64 " frames, %zu UDP datagrams (%" PRIu64 " bytes) in memory, "
	       "%" PRIu64 " skipped, %" PRIu64 " fragments left out\n",
	       path, cp.frames, cp.n, bytes, cp.skipped, cp.fragments);
	b->po.cp = &cp;
	b->po.encode = false;
	b->po.enrich = NULL;
	b->po.pool = NULL;
	b->po.name = "decode";
	if (!b->encode_only && run_phase(&b->po, &decode_ns))
		goto done;
	for (unsigned mix = 0; mix < MIX_COUNT && !b->decode_only; mix++) {
		double plain = 0, enriched = 0, dec_mix = 0, dec_enr = 0, ns;
		char name[64], name2[64], note[160] = "", note2[160];

		if (!b->mix[mix])
			continue;
		snprintf(name, sizeof(name), "decode+encode%s/%s", b->po.reference ? "(ref)" : "",
			 mix_name[mix]);
		/* Alternate plain and enriched and keep the fastest of each: on
		 * a shared machine the slow runs are other people's work. */
		for (unsigned r = 0; r < b->rounds; r++) {
			b->po.encode = true;
			b->po.enrich = NULL;
			b->po.pool = mix == MIX_CAPTURE ? NULL : &b->pool[mix];
			b->po.name = name;
			if (run_phase(&b->po, &ns))
				goto done;
			plain = r == 0 || ns < plain ? ns : plain;
			if (!b->enriching)
				continue;
			if (run_enriched(b, mix, true, &ns, note, sizeof(note)))
				goto done;
			enriched = r == 0 || ns < enriched ? ns : enriched;
			if (!b->split)
				continue;
			/* the same without encoding: what the lookups alone cost */
			snprintf(name2, sizeof(name2), "decode/%s", mix_name[mix]);
			b->po.encode = false;
			b->po.enrich = NULL;
			b->po.name = name2;
			if (run_phase(&b->po, &ns))
				goto done;
			dec_mix = r == 0 || ns < dec_mix ? ns : dec_mix;
			if (run_enriched(b, mix, false, &ns, note2, sizeof(note2)))
				goto done;
			dec_enr = r == 0 || ns < dec_enr ? ns : dec_enr;
		}
		if (!b->enriching)
			continue;
		printf("RESULT %s mix=%s plain=%.1f enriched=%.1f ns/flow: enrich cost %.1f ns/flow",
		       path, mix_name[mix], plain, enriched, enriched - plain);
		if (decode_ns > 0)
			printf(" = %.2f x decode (%.1f ns/flow)", (enriched - plain) / decode_ns,
			       decode_ns);
		printf("; %s\n", note);
		if (b->split)
			printf("SPLIT %s mix=%s lookups alone %.1f ns/flow (decode+enrich %.1f - "
			       "decode %.1f, no encode); encoding what they added %.1f ns/flow\n",
			       path, mix_name[mix], dec_enr - dec_mix, dec_enr, dec_mix,
			       (enriched - plain) - (dec_enr - dec_mix));
	}
	rc = 0;
done:
	free(cp.d);
	free(cp.arena);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"iterations", required_argument, NULL, 'i'},
		{"seconds", required_argument, NULL, 's'},
		{"decode-only", no_argument, NULL, 'd'},
		{"encode-only", no_argument, NULL, 'e'},
		{"enrich-asn", required_argument, NULL, 'a'},
		{"enrich-geo", required_argument, NULL, 'g'},
		{"mix", required_argument, NULL, 'm'},
		{"pool", required_argument, NULL, 'p'},
		{"cache-bytes", required_argument, NULL, 'c'},
		{"rounds", required_argument, NULL, 'r'},
		{"uniform", no_argument, NULL, 'u'},
		{"split", no_argument, NULL, 'S'},
		{"reference-encoder", no_argument, NULL, 'R'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static struct bench b;
	struct netlist nets = {0};
	const char *mix_arg = NULL;
	size_t pool_n = 65536;
	bool uniform = false;
	int c, rc = 1;

	fc_config_init(&b.cfg);
	b.po.seconds = 2;
	b.rounds = 3;
	while ((c = getopt_long(argc, argv, "i:s:dea:g:m:p:c:r:uSRh", lo, NULL)) != -1) {
		switch (c) {
		case 'i':
			b.po.iterations = strtoull(optarg, NULL, 10);
			break;
		case 's':
			b.po.seconds = strtod(optarg, NULL);
			break;
		case 'd':
			b.decode_only = true;
			break;
		case 'e':
			b.encode_only = true;
			break;
		case 'R':
			b.po.reference = true;
			break;
		case 'a':
			free(b.cfg.geoip_asn);
			b.cfg.geoip_asn = strdup(optarg);
			break;
		case 'g':
			free(b.cfg.geoip_geo);
			b.cfg.geoip_geo = strdup(optarg);
			break;
		case 'm':
			mix_arg = optarg;
			break;
		case 'p':
			pool_n = (size_t)strtoull(optarg, NULL, 10);
			break;
		case 'c':
			b.cfg.geoip_cache_bytes = strtoull(optarg, NULL, 10);
			break;
		case 'u':
			uniform = true;
			break;
		case 'S':
			b.split = true;
			break;
		case 'r':
			b.rounds = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'h':
			usage(stdout);
			fc_config_fini(&b.cfg);
			return 0;
		default:
			usage(stderr);
			fc_config_fini(&b.cfg);
			return 2;
		}
	}
	b.enriching = b.cfg.geoip_asn || b.cfg.geoip_geo;
	if (mix_arg ? parse_mix(mix_arg, b.mix) != 0 : false) {
		fprintf(stderr, "bench: --mix: capture, hit or miss, comma-separated\n");
		fc_config_fini(&b.cfg);
		return 2;
	}
	if (!mix_arg) {
		b.mix[MIX_CAPTURE] = !b.enriching;
		b.mix[MIX_HIT] = b.mix[MIX_MISS] = b.enriching;
	}
	if (optind >= argc || b.po.seconds <= 0 || b.po.seconds > 3600 || pool_n == 0 ||
	    (pool_n & (pool_n - 1)) != 0 || pool_n > (1u << 24) ||
	    b.rounds == 0 || b.rounds > 100) {
		usage(stderr);
		fc_config_fini(&b.cfg);
		return 2;
	}
	b.po.cfg = &b.cfg;
	if ((b.cfg.geoip_asn && collect_networks(b.cfg.geoip_asn, &nets)) ||
	    (b.cfg.geoip_geo && collect_networks(b.cfg.geoip_geo, &nets)))
		goto done;
	if ((b.mix[MIX_HIT] || b.mix[MIX_MISS]) && nets.n == 0)
		fprintf(stderr, "bench: no database networks (no --enrich-*): the hit and miss "
				"mixes are all random addresses\n");
	if (b.mix[MIX_HIT] || b.mix[MIX_MISS])
		printf("bench: %zu database networks; mixes of %zu addresses\n", nets.n, pool_n);
	if ((b.mix[MIX_HIT] && make_pool(&b.pool[MIX_HIT], pool_n, &nets, 90, uniform, 1)) ||
	    (b.mix[MIX_MISS] && make_pool(&b.pool[MIX_MISS], pool_n, &nets, 10, uniform, 2))) {
		fprintf(stderr, "bench: out of memory\n");
		goto done;
	}
	for (int i = optind; i < argc; i++)
		if (bench_capture(&b, argv[i]))
			goto done;
	rc = 0;
done:
	for (unsigned i = 0; i < MIX_COUNT; i++) {
		free(b.pool[i].a);
		free(b.pool[i].seq);
	}
	free(nets.net);
	free(nets.plen);
	fc_config_fini(&b.cfg);
	return rc;
}
