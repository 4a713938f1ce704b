/*
 * flowgen: synthesizes NetFlow v5, NetFlow v9 (RFC 3954), IPFIX (RFC 7011)
 * or sFlow v5 export datagrams from a seeded PRNG, and sends them over UDP
 * to one ADDR:PORT (--to) or writes them to a pcap file (--pcap-out,
 * Ethernet / IPv4 / UDP from 127.0.0.1). --json FILE prints each flow it
 * sent, in the collector's --output json format, for end-to-end checks.
 *
 * Traffic goes only where --to says, for --count flows, paced to --rate
 * flows/s by sleeping between batches (never a busy loop). A summary goes
 * to stderr at the end.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/sockaddr.h"
#include "core/version.h"
#include "flowgen.h"

#define MAX_COUNT 10000000000ull
#define MAX_PAYLOAD 65507 /* largest UDP payload over IPv4 */
#define DEFAULT_START_S 1700000000ull /* pcap clock: 2023-11-14T22:13:20Z */

struct opts {
	enum fg_proto proto;
	uint64_t count;
	uint64_t rate;
	const char *to;
	const char *pcap_out;
	const char *json;
	size_t fpd;
	uint64_t seed;
	uint64_t start_s;
	unsigned template_every;
};

struct out {
	int fd;            /* UDP socket or -1 */
	pcap_t *pcap;
	pcap_dumper_t *dumper;
	uint16_t dst_port; /* pcap framing */
	uint8_t frame[14 + 20 + 8 + MAX_PAYLOAD];
};

static void usage(FILE *o)
{
	fprintf(o,
		"Usage: flowgen --proto nf5|nf9|ipfix|sflow (--to ADDR:PORT | --pcap-out FILE) [OPTIONS]\n"
		"Sends synthetic NetFlow v5/v9, IPFIX or sFlow v5 exports, or writes them to a capture.\n"
		"\n"
		"  --proto P               export protocol (default nf5)\n"
		"  --to ADDR:PORT          send UDP to ADDR:PORT ([v6]:PORT for IPv6)\n"
		"  --pcap-out FILE         write Ethernet/IPv4/UDP frames from 127.0.0.1 to FILE\n"
		"  --count N               flows to send (default 1000)\n"
		"  --rate R                flows per second, 0 = as fast as possible (default 0);\n"
		"                          with --pcap-out it spaces the capture timestamps\n"
		"  --flows-per-datagram N  default nf5 30, nf9/ipfix 20, sflow 7\n"
		"  --seed N                PRNG seed (default 1): same seed, same flows\n"
		"  --json FILE             one JSON line per flow sent ('-' = stdout)\n"
		"  --template-every N      v9/IPFIX: templates every N datagrams (default 20)\n"
		"  --start-time S          pcap clock start, Unix seconds (default %llu)\n"
		"  --help                  this text\n"
		"  --version               version, commit, library versions, features\n",
		(unsigned long long)DEFAULT_START_S);
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || v > max || s[0] == '-')
		return -1;
	*out = v;
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{"proto", required_argument, NULL, 'p'},
		{"count", required_argument, NULL, 'c'},
		{"rate", required_argument, NULL, 'r'},
		{"to", required_argument, NULL, 't'},
		{"pcap-out", required_argument, NULL, 'w'},
		{"json", required_argument, NULL, 'j'},
		{"flows-per-datagram", required_argument, NULL, 'f'},
		{"seed", required_argument, NULL, 's'},
		{"template-every", required_argument, NULL, 'T'},
		{"start-time", required_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	uint64_t v;
	int c;

	memset(o, 0, sizeof(*o));
	o->count = 1000;
	o->seed = 1;
	o->start_s = DEFAULT_START_S;
	o->template_every = 20;
	while ((c = getopt_long(argc, argv, "p:c:r:t:w:j:f:s:T:S:h", lo, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (!strcmp(optarg, "nf5"))
				o->proto = FG_NF5;
			else if (!strcmp(optarg, "nf9"))
				o->proto = FG_NF9;
			else if (!strcmp(optarg, "ipfix"))
				o->proto = FG_IPFIX;
			else if (!strcmp(optarg, "sflow"))
				o->proto = FG_SFLOW;
			else
				goto bad;
			break;
		case 'c':
			if (parse_u64(optarg, MAX_COUNT, &o->count))
				goto bad;
			break;
		case 'r':
			if (parse_u64(optarg, 1000000000, &o->rate))
				goto bad;
			break;
		case 't':
			o->to = optarg;
			break;
		case 'w':
			o->pcap_out = optarg;
			break;
		case 'j':
			o->json = optarg;
			break;
		case 'f':
			if (parse_u64(optarg, 100000, &v) || v == 0)
				goto bad;
			o->fpd = (size_t)v;
			break;
		case 's':
			if (parse_u64(optarg, UINT64_MAX, &o->seed))
				goto bad;
			break;
		case 'T':
			if (parse_u64(optarg, 1000000, &v) || v == 0)
				goto bad;
			o->template_every = (unsigned)v;
			break;
		case 'S':
			if (parse_u64(optarg, 4000000000ull, &o->start_s) || o->start_s < 86400 * 30)
				goto bad;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			fc_version_print(stdout, "flowgen");
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc || !o->to == !o->pcap_out) {
		fprintf(stderr, "flowgen: exactly one of --to and --pcap-out is required\n");
		usage(stderr);
		return -1;
	}
	if (!o->fpd)
		o->fpd = fg_default_flows_per_datagram(o->proto);
	if (o->fpd > fg_max_flows_per_datagram(o->proto)) {
		fprintf(stderr, "flowgen: --flows-per-datagram at most %zu for this protocol\n",
			fg_max_flows_per_datagram(o->proto));
		return -1;
	}
	return 0;
bad:
	fprintf(stderr, "flowgen: bad value for an option: %s\n", optarg ? optarg : "");
	return -1;
}

/* Connects a UDP socket to ADDR:PORT ("[v6]:port" for IPv6) and tells the
 * local address and port the collector will see. */
static int open_udp(const char *to, struct fg_gen *g)
{
	char host[256];
	const char *port;
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *res = NULL;
	struct sockaddr_storage local;
	socklen_t llen = sizeof(local);
	int fd = -1, rc;

	/* Unbracketed, only one ':' is allowed: "::1:2055" must be written
	 * "[::1]:2055" here. */
	if (fc_hostport_split(to, host, sizeof(host), &port) != 0 ||
	    (to[0] != '[' && strchr(host, ':')))
		goto bad;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc) {
		fprintf(stderr, "flowgen: %s: %s\n", to, gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) < 0 ||
	    getsockname(fd, (struct sockaddr *)&local, &llen) < 0) {
		fprintf(stderr, "flowgen: %s: %s\n", to, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	fc_addr_from_sockaddr(&local, &g->exporter, &g->exporter_port);
	return fd;
bad:
	fprintf(stderr, "flowgen: --to wants ADDR:PORT or [IPv6]:PORT, got %s\n", to);
	return -1;
}

/* Ethernet / IPv4 / UDP framing around one datagram, 127.0.0.1 ->
 * 127.0.0.1, with valid IP and UDP checksums. */
static size_t frame_datagram(struct out *o, const struct fg_gen *g, const uint8_t *p, size_t n)
{
	static const uint8_t macs[12] = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
	struct fg_wbuf w;
	uint32_t sum = 0;
	size_t udp;

	fg_w_init(&w, o->frame, sizeof(o->frame));
	fg_w_bytes(&w, macs, sizeof(macs));
	fg_w_be16(&w, 0x0800);
	fg_w_u8(&w, 0x45);
	fg_w_u8(&w, 0);
	fg_w_be16(&w, (uint16_t)(20 + 8 + n));
	fg_w_be16(&w, (uint16_t)g->datagrams);
	fg_w_be16(&w, 0x4000); /* DF */
	fg_w_u8(&w, 64);
	fg_w_u8(&w, 17);
	fg_w_be16(&w, 0);
	fg_w_be32(&w, 0x7f000001);
	fg_w_be32(&w, 0x7f000001);
	fg_w_patch16(&w, 14 + 10, fg_inet_csum(o->frame + 14, 20));
	udp = fg_w_mark(&w);
	fg_w_be16(&w, g->exporter_port);
	fg_w_be16(&w, o->dst_port);
	fg_w_be16(&w, (uint16_t)(8 + n));
	fg_w_be16(&w, 0);
	fg_w_bytes(&w, p, n);
	if (w.err)
		return 0;
	/* UDP checksum over the pseudo-header (src, dst, proto, length) */
	sum = 0x7f00 + 0x0001 + 0x7f00 + 0x0001 + 17 + (uint32_t)(8 + n);
	{
		uint16_t c = fg_inet_csum(o->frame + udp, 8 + n);
		uint32_t s2 = (uint16_t)~c + sum;

		while (s2 >> 16)
			s2 = (s2 & 0xffff) + (s2 >> 16);
		c = (uint16_t)~s2;
		fg_w_patch16(&w, udp + 6, c ? c : 0xffff);
	}
	return fg_w_mark(&w);
}

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t mono_ns)
{
	struct timespec ts = {.tv_sec = (time_t)(mono_ns / 1000000000ull),
			      .tv_nsec = (long)(mono_ns % 1000000000ull)};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

int main(int argc, char **argv)
{
	static const char *const names[] = {"nf5", "nf9", "ipfix", "sflow"};
	static uint8_t dgram[MAX_PAYLOAD];
	struct opts o;
	struct fg_gen g;
	struct out out = {.fd = -1};
	struct fc_flow *flows = NULL;
	FILE *json = NULL;
	char line[4096];
	uint64_t tried = 0, sent_flows = 0, sent_bytes = 0, sent_dgrams = 0, send_errors = 0;
	uint64_t t0, start_ms, pcap_us = 0, spacing_us;
	double elapsed;
	int rc = 1;

	if (parse_opts(argc, argv, &o))
		return 2;
	start_ms = o.to ? now_ns(CLOCK_REALTIME) / 1000000 : o.start_s * 1000;
	fg_gen_init(&g, o.proto, o.seed, start_ms);
	g.template_every = o.template_every;
	/* pcap clock: one datagram every fpd/rate seconds, 1 ms at rate 0 */
	spacing_us = o.rate ? (o.fpd * 1000000 + o.rate - 1) / o.rate : 1000;
	if (spacing_us == 0)
		spacing_us = 1;

	flows = calloc(o.fpd, sizeof(*flows));
	if (!flows) {
		fprintf(stderr, "flowgen: out of memory\n");
		goto done;
	}
	if (o.json) {
		json = strcmp(o.json, "-") ? fopen(o.json, "w") : stdout;
		if (!json) {
			fprintf(stderr, "flowgen: %s: %s\n", o.json, strerror(errno));
			goto done;
		}
	}
	if (o.to) {
		out.fd = open_udp(o.to, &g);
		if (out.fd < 0)
			goto done;
	} else {
		out.dst_port = o.proto == FG_SFLOW ? 6343 : 2055;
		out.pcap = pcap_open_dead(DLT_EN10MB, 65535);
		out.dumper = out.pcap ? pcap_dump_open(out.pcap, o.pcap_out) : NULL;
		if (!out.dumper) {
			fprintf(stderr, "flowgen: %s: %s\n", o.pcap_out,
				out.pcap ? pcap_geterr(out.pcap) : "pcap_open_dead failed");
			goto done;
		}
		pcap_us = start_ms * 1000;
	}

	t0 = now_ns(CLOCK_MONOTONIC);
	while (tried < o.count) {
		size_t n = o.count - tried < o.fpd ? (size_t)(o.count - tried) : o.fpd;
		uint64_t t_ms = o.to ? now_ns(CLOCK_REALTIME) / 1000000 : pcap_us / 1000;
		struct fg_wbuf w;
		int brc;

		for (size_t i = 0; i < n; i++)
			fg_synth_flow(&g, &flows[i], o.proto != FG_NF5, t_ms);
		fg_w_init(&w, dgram, sizeof(dgram));
		switch (o.proto) {
		case FG_NF5:
			brc = fg_build_nf5(&g, flows, n, t_ms, &w);
			break;
		case FG_NF9:
			brc = fg_build_nf9(&g, flows, n, t_ms, &w);
			break;
		case FG_IPFIX:
			brc = fg_build_ipfix(&g, flows, n, t_ms, &w);
			break;
		default:
			brc = fg_build_sflow(&g, flows, n, t_ms, &w);
			break;
		}
		g.datagrams++;
		tried += n;
		if (brc) {
			fprintf(stderr, "flowgen: datagram did not fit %zu bytes; lower "
					"--flows-per-datagram\n", sizeof(dgram));
			goto done;
		}
		if (out.fd >= 0) {
			if (send(out.fd, w.buf, w.len, 0) < 0) {
				/* ECONNREFUSED (nobody listening yet), ENOBUFS:
				 * counted; these flows were not sent */
				send_errors++;
				goto pace;
			}
		} else {
			struct pcap_pkthdr h;
			size_t flen = frame_datagram(&out, &g, w.buf, w.len);

			if (!flen)
				goto done;
			h.ts.tv_sec = (time_t)(pcap_us / 1000000);
			h.ts.tv_usec = (suseconds_t)(pcap_us % 1000000);
			h.caplen = h.len = (bpf_u_int32)flen;
			pcap_dump((u_char *)out.dumper, &h, out.frame);
			pcap_us += spacing_us;
		}
		sent_dgrams++;
		sent_bytes += w.len;
		sent_flows += n;
		for (size_t i = 0; json && i < n; i++) {
			size_t l = fg_flow_json(&flows[i], line, sizeof(line));

			if (l) {
				fwrite(line, 1, l, json);
				fputc('\n', json);
			}
		}
pace:
		if (o.rate && out.fd >= 0) {
			/* Pace by batches: keep sending while less than 1 ms
			 * ahead of schedule, then sleep until on time. */
			uint64_t due = t0 + (uint64_t)((double)tried * 1e9 / (double)o.rate);
			uint64_t now = now_ns(CLOCK_MONOTONIC);

			if (due > now + 1000000)
				sleep_until(due);
		}
	}
	elapsed = (double)(now_ns(CLOCK_MONOTONIC) - t0) / 1e9;
	rc = 0;
	fprintf(stderr,
		"flowgen: proto=%s datagrams=%" PRIu64 " flows=%" PRIu64 " bytes=%" PRIu64
		" template_datagrams=%" PRIu64 " counter_samples=%" PRIu64 " send_errors=%" PRIu64
		" elapsed=%.3fs rate=%.0f flows/s (%.0f datagrams/s, %.2f Mbit/s)\n",
		names[o.proto], sent_dgrams, sent_flows, sent_bytes,
		g.template_datagrams, g.counter_samples, send_errors, elapsed,
		elapsed > 0 ? (double)sent_flows / elapsed : 0,
		elapsed > 0 ? (double)sent_dgrams / elapsed : 0,
		elapsed > 0 ? (double)sent_bytes * 8 / elapsed / 1e6 : 0);
done:
	if (json && json != stdout && fclose(json) != 0)
		rc = 1;
	else if (json == stdout)
		fflush(stdout);
	if (out.dumper)
		pcap_dump_close(out.dumper);
	if (out.pcap)
		pcap_close(out.pcap);
	if (out.fd >= 0)
		close(out.fd);
	free(flows);
	return rc;
}
