/*
 * bench: decode (+ enrich) + encode throughput of the collector's hot path
 * on one core, from a pcap held in memory.
 *
 * Load: every frame of the capture(s) goes through the project's L2->L4
 * parser (src/packet, fc_pkt_parse) to find its UDP payload, which is
 * copied once into an arena with its exporter address, port and capture
 * time (struct fc_dgram). IP fragments are not reassembled here: they are
 * counted and left out (flowgen never fragments).
 *
 * Run: the datagrams are fed to one decoder (fc_decoder_new /
 * fc_decode_datagram) over and over, for --iterations passes or --seconds
 * of wall time. The sink, like the pipeline's, optionally enriches each
 * flow (fc_enrich_flow) and encodes it (fc_pb_flow_fill + fc_pb_frame into
 * a reused buffer; sFlow counter samples with fc_pb_counter_fill); nothing
 * is output. Template and sequence state carry over between passes, as
 * they would for an exporter that loops.
 *
 * Phases: "decode" (sink counts only), then "decode+encode" (plus enrich
 * when --enrich-asn / --enrich-geo name MaxMind databases). For each it
 * prints flows/s and datagrams/s per core (from the process CPU time, so a
 * busy machine does not flatter or punish it) and ns per flow.
 */
#include <getopt.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "decode/decode.h"
#include "encode/pb.h"
#include "encode/pb_counter.h"
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

struct sink_ctx {
	bool encode;
	struct fc_enrich *enrich;
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
	if (!s->encode)
		return;
	if (s->enrich)
		fc_enrich_flow(s->enrich, f);
	fc_pb_flow_fill(f, &s->pbf);
	n = fc_pb_frame(&s->pbf.msg.base, s->frame, sizeof(s->frame));
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
	fc_pb_counter_fill(c, &s->pbc);
	n = fc_pb_frame(&s->pbc.msg.base, s->frame, sizeof(s->frame));
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
	struct fc_enrich *enrich;
	const char *name;
};

static int run_phase(const struct phase_opts *o)
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
	s->enrich = o->enrich;
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
	printf("%-22s passes=%" PRIu64 " datagrams=%" PRIu64 " flows=%" PRIu64
	       " counters=%" PRIu64 " errors=%" PRIu64 " wall=%.3fs cpu=%.3fs\n"
	       "%-22s %.0f flows/s/core  %.0f datagrams/s/core  %.1f ns/flow",
	       o->name, passes, dgrams, s->flows, s->counters, errors, wall, cpu, "",
	       (double)s->flows / cpu, (double)dgrams / cpu,
	       s->flows ? cpu * 1e9 / (double)s->flows : 0.0);
	if (o->encode)
		printf("  %.1f MB/s encoded (%.1f bytes/flow, %" PRIu64 " encode errors)",
		       (double)s->encoded_bytes / cpu / 1e6,
		       s->flows ? (double)s->encoded_bytes / (double)s->flows : 0.0, s->encode_errors);
	printf("\n");
	rc = s->flows || s->counters ? 0 : 1;
done:
	fc_decoder_free(d);
	fc_metrics_free(m);
	free(s);
	return rc;
}

static void usage(FILE *o)
{
	fprintf(o, "usage: bench [--iterations N | --seconds T] [--decode-only | --encode-only]\n"
		   "             [--enrich-asn MMDB] [--enrich-geo MMDB] PCAP...\n"
		   "  --iterations N   passes over the capture (default: run for --seconds)\n"
		   "  --seconds T      wall time per phase (default 2)\n"
		   "  --decode-only    skip the decode+encode phase\n"
		   "  --encode-only    skip the decode-only phase\n"
		   "  --enrich-asn F   enrich with this MaxMind ASN database in the encode phase\n"
		   "  --enrich-geo F   enrich with this MaxMind City/Country database\n");
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
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct fc_config cfg;
	struct corpus cp = {0};
	struct phase_opts po = {0};
	struct fc_metrics *em = NULL;
	struct fc_enrich *enrich = NULL;
	bool decode_only = false, encode_only = false;
	uint64_t bytes = 0;
	char err[256];
	int c, rc = 1;

	fc_config_init(&cfg);
	po.seconds = 2;
	while ((c = getopt_long(argc, argv, "i:s:dea:g:h", lo, NULL)) != -1) {
		switch (c) {
		case 'i':
			po.iterations = strtoull(optarg, NULL, 10);
			break;
		case 's':
			po.seconds = strtod(optarg, NULL);
			break;
		case 'd':
			decode_only = true;
			break;
		case 'e':
			encode_only = true;
			break;
		case 'a':
			free(cfg.geoip_asn);
			cfg.geoip_asn = strdup(optarg);
			break;
		case 'g':
			free(cfg.geoip_geo);
			cfg.geoip_geo = strdup(optarg);
			break;
		case 'h':
			usage(stdout);
			fc_config_fini(&cfg);
			return 0;
		default:
			usage(stderr);
			fc_config_fini(&cfg);
			return 2;
		}
	}
	if (optind >= argc || po.seconds <= 0 || po.seconds > 3600) {
		usage(stderr);
		fc_config_fini(&cfg);
		return 2;
	}
	for (int i = optind; i < argc; i++)
		if (load_pcap(&cp, argv[i]))
			goto done;
	if (cp.n == 0) {
		fprintf(stderr, "bench: no UDP datagrams in the capture\n");
		goto done;
	}
	for (size_t i = 0; i < cp.n; i++) {
		cp.d[i].data = cp.arena + (uintptr_t)cp.d[i].data;
		bytes += cp.d[i].len;
	}
	printf("bench: %" PRIu64 " frames, %zu UDP datagrams (%" PRIu64 " bytes) in memory, "
	       "%" PRIu64 " skipped, %" PRIu64 " fragments left out\n",
	       cp.frames, cp.n, bytes, cp.skipped, cp.fragments);

	po.cfg = &cfg;
	po.cp = &cp;
	po.name = "decode";
	if (!encode_only && run_phase(&po))
		goto done;
	if (!decode_only) {
		if (cfg.geoip_asn || cfg.geoip_geo) {
			em = fc_metrics_new();
			enrich = em ? fc_enrich_new(&cfg, em, err, sizeof(err)) : NULL;
			if (!enrich) {
				fprintf(stderr, "bench: enrichment: %s\n", em ? err : "out of memory");
				goto done;
			}
		}
		po.encode = true;
		po.enrich = enrich;
		po.name = enrich ? "decode+enrich+encode" : "decode+encode";
		if (run_phase(&po))
			goto done;
	}
	rc = 0;
done:
	fc_enrich_free(enrich);
	fc_metrics_free(em);
	free(cp.d);
	free(cp.arena);
	fc_config_fini(&cfg);
	return rc;
}
