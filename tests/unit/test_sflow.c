/*
 * Unit tests for the sFlow v5 decoder (src/decode/sflow.c) through
 * fc_decode_datagram, and for the counter encoder (src/encode/pb_counter.c).
 * Datagrams are built here with XDR helpers: every sample format, every
 * flow and counter record path, then lengths and counts that lie.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "decode/decode.h"
#include "encode/pb_counter.h"
#include "fc/counter.h"
#include "fc/err.h"
#include "metrics/metrics.h"
#include "check_run.h"

/* ---- XDR builder ---- */

struct buf {
	uint8_t b[4096];
	size_t n;
};

static void put(struct buf *x, const void *p, size_t n)
{
	ck_assert_uint_le(x->n + n, sizeof(x->b));
	memcpy(x->b + x->n, p, n);
	x->n += n;
}

static void u32(struct buf *x, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

	put(x, b, 4);
}

static void u64(struct buf *x, uint64_t v)
{
	u32(x, (uint32_t)(v >> 32));
	u32(x, (uint32_t)v);
}

/* Opens an envelope (format, length placeholder); returns its offset. */
static size_t open_env(struct buf *x, uint32_t format)
{
	u32(x, format);
	u32(x, 0);
	return x->n;
}

static void close_env(struct buf *x, size_t at)
{
	uint32_t len = (uint32_t)(x->n - at);

	x->b[at - 4] = (uint8_t)(len >> 24);
	x->b[at - 3] = (uint8_t)(len >> 16);
	x->b[at - 2] = (uint8_t)(len >> 8);
	x->b[at - 1] = (uint8_t)len;
}

static const uint8_t AGENT4[4] = {192, 0, 2, 10};
static const uint8_t AGENT6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a};

/* XDR address union: type 1 (IPv4, 4 bytes) or 2 (IPv6, 16 bytes). */
static void addr(struct buf *x, const uint8_t *a, size_t len)
{
	u32(x, len == 4 ? 1 : 2);
	put(x, a, len);
}

static void dgram_header(struct buf *x, bool v6, uint32_t sub, uint32_t seq, uint32_t nsamples)
{
	x->n = 0;
	u32(x, 5);
	if (v6)
		addr(x, AGENT6, 16);
	else
		addr(x, AGENT4, 4);
	u32(x, sub);
	u32(x, seq);
	u32(x, 123456); /* uptime */
	u32(x, nsamples);
}

/* Ethernet / IPv4 / TCP frame, 54 bytes, padded to 56 in XDR. */
static const uint8_t FRAME_V4_TCP[] = {
	0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x08, 0x00,
	0x45, 0x10, 0x00, 0x28, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00,
	10, 1, 0, 10, 1, 128, 0, 1,
	0xc3, 0x51, 0x01, 0xbb, 0, 0, 0, 1, 0, 0, 0, 2, 0x50, 0x12, 0xff, 0xff, 0, 0, 0, 0};

/* IPv6 / UDP frame with no L2 (header protocol 12). */
static const uint8_t FRAME_V6_UDP[] = {
	0x60, 0x00, 0x00, 0x07, 0x00, 0x08, 0x11, 0x40,
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
	0x00, 0x35, 0x13, 0x88, 0x00, 0x08, 0x00, 0x00};

static void rec_header(struct buf *x, uint32_t proto, uint32_t frame_len, const uint8_t *h,
		       size_t hlen)
{
	size_t e = open_env(x, 1);
	static const uint8_t pad[4];

	u32(x, proto);
	u32(x, frame_len);
	u32(x, 4);
	u32(x, (uint32_t)hlen);
	put(x, h, hlen);
	put(x, pad, (4 - (hlen & 3)) & 3);
	close_env(x, e);
}

static void rec_switch(struct buf *x, uint32_t src_vlan, uint32_t dst_vlan)
{
	size_t e = open_env(x, 1001);

	u32(x, src_vlan);
	u32(x, 0);
	u32(x, dst_vlan);
	u32(x, 0);
	close_env(x, e);
}

static void rec_router(struct buf *x)
{
	size_t e = open_env(x, 1002);
	static const uint8_t nh[4] = {192, 0, 2, 254};

	addr(x, nh, 4);
	u32(x, 16);
	u32(x, 24);
	close_env(x, e);
}

static void rec_gateway(struct buf *x, uint32_t src_as, bool empty_path)
{
	size_t e = open_env(x, 1003);

	addr(x, AGENT6, 16); /* BGP next hop */
	u32(x, 65000);      /* router AS */
	u32(x, src_as);
	u32(x, 65001); /* src peer AS */
	if (empty_path) {
		u32(x, 0);
	} else {
		u32(x, 2);
		u32(x, 2); /* AS_SEQUENCE */
		u32(x, 2);
		u32(x, 174);
		u32(x, 3356);
		u32(x, 1); /* AS_SET */
		u32(x, 1);
		u32(x, 15169);
	}
	u32(x, 2);
	u32(x, 65000u << 16 | 100);
	u32(x, 65000u << 16 | 200);
	u32(x, 100); /* localpref */
	close_env(x, e);
}

static void rec_mpls(struct buf *x)
{
	size_t e = open_env(x, 1006);
	static const uint8_t nh[4] = {192, 0, 2, 253};

	addr(x, nh, 4);
	u32(x, 2);
	u32(x, 16000u << 12 | 64);
	u32(x, 24001u << 12 | 1 << 8 | 63);
	u32(x, 0);
	close_env(x, e);
}

static void rec_nat(struct buf *x)
{
	size_t e = open_env(x, 1007);
	static const uint8_t a[4] = {203, 0, 113, 5}, b[4] = {203, 0, 113, 6};

	addr(x, a, 4);
	addr(x, b, 4);
	close_env(x, e);
}

/* Compact flow sample with the given records appended by fn. */
static size_t flow_sample_open(struct buf *x, uint32_t seq, uint32_t index, uint32_t in,
			       uint32_t out, uint32_t nrec)
{
	size_t e = open_env(x, 1);

	u32(x, seq);
	u32(x, index); /* source id: type 0, index */
	u32(x, 1000);  /* sampling rate */
	u32(x, 50000); /* sample pool */
	u32(x, 0);     /* drops */
	u32(x, in);
	u32(x, out);
	u32(x, nrec);
	return e;
}

static size_t xflow_sample_open(struct buf *x, uint32_t seq, uint32_t out_fmt, uint32_t out_val,
				uint32_t nrec)
{
	size_t e = open_env(x, 3);

	u32(x, seq);
	u32(x, 0);
	u32(x, 70000); /* index beyond 24 bits: expanded form */
	u32(x, 4096);
	u32(x, 1);
	u32(x, 0);
	u32(x, 0);
	u32(x, 70001);
	u32(x, out_fmt);
	u32(x, out_val);
	u32(x, nrec);
	return e;
}

/* Compact counter sample (source id: type in the top 8 bits, index below)
 * whose nrec records the caller appends. */
static size_t counter_sample_open(struct buf *x, uint32_t seq, uint32_t source_id, uint32_t nrec)
{
	size_t e = open_env(x, 2);

	u32(x, seq);
	u32(x, source_id);
	u32(x, nrec);
	return e;
}

/* ---- sink ---- */

#define MAX_OUT 16
static struct fc_flow flows[MAX_OUT];
static struct fc_counter counters[MAX_OUT];
static unsigned n_flows, n_counters;

static void sink_flow(void *ctx, struct fc_flow *f)
{
	(void)ctx;
	if (n_flows < MAX_OUT)
		flows[n_flows] = *f;
	n_flows++;
}

static void sink_counter(void *ctx, const struct fc_counter *c)
{
	(void)ctx;
	if (n_counters < MAX_OUT)
		counters[n_counters] = *c;
	n_counters++;
}

static struct fc_config cfg;
static struct fc_metrics *m;
static struct fc_decoder *d;

static void setup(void)
{
	struct fc_sink sink = {.flow = sink_flow, .counter = sink_counter};

	fc_config_init(&cfg); /* the binary's defaults */
	m = fc_metrics_new();
	ck_assert_ptr_nonnull(m);
	d = fc_decoder_new(&cfg, m, &sink);
	ck_assert_ptr_nonnull(d);
	n_flows = n_counters = 0;
}

static void teardown(void)
{
	fc_decoder_free(d);
	fc_metrics_free(m);
	fc_config_fini(&cfg);
}

/* A decoder takes its caps from cfg when it is created. */
static void restart_decoder(void)
{
	struct fc_sink sink = {.flow = sink_flow, .counter = sink_counter};

	fc_decoder_free(d);
	d = fc_decoder_new(&cfg, m, &sink);
	ck_assert_ptr_nonnull(d);
}

static int decode(const struct buf *x)
{
	struct fc_dgram g = {.data = x->b, .len = x->n, .src_port = 6343, .time_ns = 42};

	g.src.family = 4;
	g.src.a[0] = 198;
	g.src.a[3] = 1;
	return fc_decode_datagram(d, &g);
}

/* Decodes from an exact-size heap copy so ASan sees any overread. */
static int decode_exact(const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);
	struct fc_dgram g = {.len = n, .src_port = 6343, .time_ns = 42};
	int rc;

	ck_assert_ptr_nonnull(c);
	memcpy(c, p, n);
	g.data = c;
	g.src.family = 4;
	rc = fc_decode_datagram(d, &g);
	free(c);
	return rc;
}

static uint64_t metric(const char *name, const char *labels)
{
	return fc_metrics_get(m, name, labels);
}

/* ---- datagram header ---- */

START_TEST(header_ipv4_and_ipv6_agents)
{
	struct buf x;
	size_t e;

	dgram_header(&x, false, 7, 100, 1);
	e = flow_sample_open(&x, 1, 3, 3, 4, 0);
	close_env(&x, e);
	ck_assert_int_eq(decode(&x), 0);
	ck_assert_uint_eq(n_flows, 1);
	ck_assert_uint_eq(flows[0].type, FC_FLOW_SFLOW5);
	ck_assert_uint_eq(flows[0].sampler_address.family, 4);
	ck_assert_mem_eq(flows[0].sampler_address.a, AGENT4, 4);
	ck_assert_uint_eq(flows[0].sequence_num, 100);
	ck_assert_uint_eq(flows[0].observation_domain_id, 7);
	ck_assert_uint_eq(flows[0].exporter_port, 6343);
	ck_assert_uint_eq(flows[0].time_received_ns, 42);

	dgram_header(&x, true, 0, 5, 1);
	e = flow_sample_open(&x, 1, 3, 3, 4, 0);
	close_env(&x, e);
	ck_assert_int_eq(decode(&x), 0);
	ck_assert_uint_eq(n_flows, 2);
	ck_assert_uint_eq(flows[1].sampler_address.family, 6);
	ck_assert_mem_eq(flows[1].sampler_address.a, AGENT6, 16);
	ck_assert_uint_eq(metric("datagrams_total", "proto=\"sflow\""), 2);
}
END_TEST

START_TEST(header_rejects)
{
	struct buf x;

	dgram_header(&x, false, 0, 1, 0);
	x.b[3] = 4; /* version 4: sniffed as unknown */
	ck_assert_int_eq(decode(&x), FC_EVERSION);
	dgram_header(&x, false, 0, 1, 0);
	ck_assert_int_eq(decode(&x), 0); /* zero samples: fine */
	/* Truncated at every length inside the header. */
	dgram_header(&x, true, 0, 1, 0);
	for (size_t n = 0; n < x.n; n++)
		ck_assert_int_ne(decode_exact(x.b, n), 0);
	ck_assert_uint_eq(n_flows, 0);
}
END_TEST

/* ---- flow samples ---- */

START_TEST(flow_sample_full)
{
	struct buf x;
	size_t e;
	const struct fc_flow *f = &flows[0];

	dgram_header(&x, false, 1, 10, 1);
	e = flow_sample_open(&x, 77, 5, 5, 9, 6);
	rec_header(&x, 1, 58, FRAME_V4_TCP, sizeof(FRAME_V4_TCP));
	rec_switch(&x, 100, 200);
	rec_router(&x);
	rec_gateway(&x, 64512, false);
	rec_mpls(&x);
	rec_nat(&x);
	close_env(&x, e);
	ck_assert_int_eq(decode(&x), 0);
	ck_assert_uint_eq(n_flows, 1);
	ck_assert_uint_eq(f->bytes, 58);
	ck_assert_uint_eq(f->packets, 1);
	ck_assert_uint_eq(f->sampling_rate, 1000);
	ck_assert_uint_eq(f->in_if, 5);
	ck_assert_uint_eq(f->out_if, 9);
	ck_assert_uint_eq(f->observation_point_id, 5);
	ck_assert_uint_eq(f->dst_mac, 0x001122334455ull);
	ck_assert_uint_eq(f->etype, 0x0800);
	ck_assert_uint_eq(f->src_addr.a[0], 10);
	ck_assert_uint_eq(f->dst_addr.a[1], 128);
	ck_assert_uint_eq(f->proto, 6);
	ck_assert_uint_eq(f->src_port, 50001);
	ck_assert_uint_eq(f->dst_port, 443);
	ck_assert_uint_eq(f->tcp_flags, 0x12);
	ck_assert_uint_eq(f->ip_tos, 0x10);
	ck_assert_uint_eq(f->ip_ttl, 64);
	ck_assert_uint_eq(f->src_vlan, 100);
	ck_assert_uint_eq(f->dst_vlan, 200);
	ck_assert_uint_eq(f->next_hop.a[3], 254);
	ck_assert_uint_eq(f->src_net, 16);
	ck_assert_uint_eq(f->dst_net, 24);
	ck_assert_uint_eq(f->bgp_next_hop.family, 6);
	ck_assert_uint_eq(f->src_as, 64512);
	ck_assert_uint_eq(f->dst_as, 15169);
	ck_assert_uint_eq(f->next_hop_as, 174);
	ck_assert_uint_eq(f->n_as_path, 3);
	ck_assert_uint_eq(f->as_path[1], 3356);
	ck_assert_uint_eq(f->n_bgp_communities, 2);
	ck_assert_uint_eq(f->bgp_communities[1], 65000u << 16 | 200);
	ck_assert_uint_eq(f->n_mpls, 2);
	ck_assert_uint_eq(f->mpls_label[1], 24001);
	ck_assert_uint_eq(f->mpls_ttl[0], 64);
	ck_assert_uint_eq(f->n_mpls_ip, 1);
	ck_assert_uint_eq(f->src_addr_nat.a[3], 5);
	ck_assert_uint_eq(f->dst_addr_nat.a[3], 6);
	ck_assert_uint_eq(metric("sflow_samples_total", "format=\"1\""), 1);
}
END_TEST

START_TEST(gateway_empty_path_and_local_source)
{
	struct buf x;
	size_t e;

	dgram_header(&x, false, 0, 1, 1);
	e = flow_sample_open(&x, 1, 1, 1, 2, 1);
	rec_gateway(&x, 0, true);
	close_env(&x, e);
	ck_assert_int_eq(decode(&x), 0);
	/* As goflow2: the router's AS stands in for both ends. */
	ck_assert_uint_eq(flows[0].src_as, 65000);
	ck_assert_uint_eq(flows[0].dst_as, 65000);
	ck_assert_uint_eq(flows[0].next_hop_as, 0);
	ck_assert_uint_eq(flows[0].n_as_path, 0);
}
END_TEST

START_TEST(expanded_flow_ipv6_header_and_interface_formats)
{
	struct buf x;
	size_t e;

	dgram_header(&x, false, 0, 1, 3);
	/* discarded: out_if 0, forwarding status dropped */
	e = xflow_sample_open(&x, 1, 1, 258, 1);
	rec_header(&x, 12, 48, FRAME_V6_UDP, sizeof(FRAME_V6_UDP));
	close_env(&x, e);
	/* multiple: out_if 0 */
	e = xflow_sample_open(&x, 2, 2, 3, 0);
	close_env(&x, e);
	/* compact form: internal interface 0x3FFFFFFF kept as sent;
	 * discarded in compact form too */
	e = flow_sample_open(&x, 9, 1, 0x3fffffff, 1u << 30 | 259, 0);
	close_env(&x, e);
	ck_assert_int_eq(decode(&x), 0);
	ck_assert_uint_eq(n_flows, 3);
	ck_assert_uint_eq(flows[0].in_if, 70001);
	ck_assert_uint_eq(flows[0].out_if, 0);
	ck_assert_uint_eq(flows[0].forwarding_status, 128);
	ck_assert_uint_eq(flows[0].observation_point_id, 70000);
	ck_assert_uint_eq(flows[0].sampling_rate, 4096);
	ck_assert_uint_eq(flows[0].bytes, 48);
	ck_assert_uint_eq(flows[0].etype, 0x86dd);
	ck_assert_uint_eq(flows[0].src_addr.family, 6);
	ck_assert_uint_eq(flows[0].proto, 17);
	ck_assert_uint_eq(flows[0].dst_port, 5000);
	ck_assert_uint_eq(flows[0].ipv6_flow_label, 7);
	ck_assert_uint_eq(flows[1].out_if, 0);
	ck_assert_uint_eq(flows[1].forwarding_status, 0);
	ck_assert_uint_eq(flows[2].in_if, 0x3fffffff);
	ck_assert_uint_eq(flows[2].out_if, 0);
	ck_assert_uint_eq(flows[2].forwarding_status, 128);
	ck_assert_uint_eq(metric("sflow_samples_total", "format=\"3\""), 2);
}
END_TEST

START_TEST(header_protocol_ipv4_and_unsupported)
{
	struct buf x;
	size_t e;

	dgram_header(&x, false, 0, 1, 2);
	e = flow_sample_open(&x, 1, 1, 1, 2, 1);
	rec_header(&x, 11, 40, FRAME_V4_TCP + 14, sizeof(FRAME_V4_TCP) - 14);
	close_env(&x, e);
	e = flow_sample_open(&x, 2, 1, 1, 2, 1);
	rec_header(&x, 7, 40, FRAME_V4_TCP + 14, sizeof(FRAME_V4_TCP) - 14); /* PPP */
	close_env(&x, e);
	ck_assert_int_eq(decode(&x), 0);
	ck_assert_uint_eq(n_flows, 2);
	ck_assert_uint_eq(flows[0].dst_port, 443);
	ck_assert_uint_eq(flows[0].src_mac, 0);
	ck_assert_uint_eq(flows[1].bytes, 40);
	ck_assert_uint_eq(flows[1].src_addr.family, 0);
	ck_assert_uint_eq(metric("sflow_sampled_headers_unparsed_total", "reason=\"protocol\""), 1);
}
END_TEST

START_TEST(sampled_ethernet_ipv4_ipv6)
{
	struct buf x;
	size_t e, r;
	static const uint8_t mac_s[8] = {0, 1, 2, 3, 4, 5, 0, 0}, mac_d[8] = {6, 7, 8, 9, 10, 11, 0, 0};
	static const uint8_t v4s[4] = {10, 0, 0, 1}, v4d[4] = {10, 0, 0, 2};

	dgram_header(&x, false, 0, 1, 2);
	e = flow_sample_open(&x, 1, 1, 1, 2, 2);
	r = open_env(&x, 2);
	u32(&x, 1514);
	put(&x, mac_s, 8);
	put(&x, mac_d, 8);
	u32(&x, 0x0800);
	close_env(&x, r);
	r = open_env(&x, 3);
	u32(&x, 1500);
	u32(&x, 1);
	put(&x, v4s, 4);
	put(&x, v4d, 4);
	u32(&x, 8); /* ICMP type in src port */
	u32(&x, 0);
	u32(&x, 0);
	u32(&x, 0xb8);
	close_env(&x, r);
	close_env(&x, e);
	e = flow_sample_open(&x, 2, 1, 1, 2, 1);
	r = open_env(&x, 4);
	u32(&x, 1280);
	u32(&x, 6);
	put(&x, AGENT6, 16);
	put(&x, AGENT6, 16);
	u32(&x, 22);
	u32(&x, 40000);
	u32(&x, 0x18);
	u32(&x, 0);
	close_env(&x, r);
	close_env(&x, e);
	ck_assert_int_eq(decode(&x), 0);
	ck_assert_uint_eq(n_flows, 2);
	/* Ethernet length beats IPv4 length */
	ck_assert_uint_eq(flows[0].bytes, 1514);
	ck_assert_uint_eq(flows[0].src_mac, 0x000102030405ull);
	ck_assert_uint_eq(flows[0].dst_mac, 0x060708090a0bull);
	ck_assert_uint_eq(flows[0].etype, 0x0800);
	ck_assert_uint_eq(flows[0].proto, 1);
	ck_assert_uint_eq(flows[0].icmp_type, 8);
	ck_assert_uint_eq(flows[0].ip_tos, 0xb8);
	ck_assert_uint_eq(flows[0].dst_addr.a[3], 2);
	ck_assert_uint_eq(flows[1].bytes, 1280);
	ck_assert_uint_eq(flows[1].etype, 0x86dd);
	ck_assert_uint_eq(flows[1].src_port, 22);
	ck_assert_uint_eq(flows[1].tcp_flags, 0x18);
}
END_TEST

START_TEST(skipped_formats_counted)
{
	struct buf x;
	size_t e, r;

	dgram_header(&x, false, 0, 1, 3);
	e = open_env(&x, 5); /* drop event: skipped by length */
	u32(&x, 1);
	u32(&x, 2);
	close_env(&x, e);
	e = open_env(&x, 4413u << 12 | 1); /* enterprise sample */
	u32(&x, 0);
	close_env(&x, e);
	e = flow_sample_open(&x, 1, 1, 1, 2, 3);
	r = open_env(&x, 1005); /* extended URL: skipped */
	u32(&x, 0);
	close_env(&x, r);
	r = open_env(&x, 9u << 12 | 1); /* enterprise record */
	close_env(&x, r);
	rec_switch(&x, 3, 4);
	close_env(&x, e);
	ck_assert_int_eq(decode(&x), 0);
	ck_assert_uint_eq(n_flows, 1);
	ck_assert_uint_eq(flows[0].src_vlan, 3);
	ck_assert_uint_eq(metric("sflow_samples_skipped_total", "format=\"0:5\""), 1);
	ck_assert_uint_eq(metric("sflow_samples_skipped_total", "format=\"4413:1\""), 1);
	ck_assert_uint_eq(metric("sflow_flow_records_skipped_total", "format=\"0:1005\""), 1);
	ck_assert_uint_eq(metric("sflow_flow_records_skipped_total", "format=\"9:1\""), 1);
}
END_TEST

/* ---- counter samples ---- */

static void counter_records(struct buf *x)
{
	size_t r;

	r = open_env(x, 1);
	u32(x, 17);
	u32(x, 6);
	u64(x, 10000000000ull);
	u32(x, 1);
	u32(x, 3);
	u64(x, 1ull << 40);
	for (int i = 0; i < 6; i++)
		u32(x, 100u + (uint32_t)i);
	u64(x, 5ull << 33);
	for (int i = 0; i < 5; i++)
		u32(x, 200u + (uint32_t)i);
	u32(x, 1);
	close_env(x, r);
	r = open_env(x, 2);
	for (uint32_t i = 0; i < 13; i++)
		u32(x, i + 1);
	close_env(x, r);
	r = open_env(x, 5);
	u32(x, 42);
	u64(x, 9999);
	u32(x, 1);
	u32(x, 2);
	u32(x, 3);
	u32(x, 4);
	close_env(x, r);
	r = open_env(x, 1001);
	u32(x, 1500);
	u32(x, 2500);
	u32(x, 3500);
	u64(x, 8ull << 30);
	u64(x, 1ull << 30);
	close_env(x, r);
	r = open_env(x, 1005);
	u32(x, 5);
	put(x, "eth0\0\0\0", 8);
	close_env(x, r);
	r = open_env(x, 2000);
	u32(x, 4);
	put(x, "h\xff\x01t", 4); /* not text: must not reach JSON or proto3 strings */
	close_env(x, r);
	r = open_env(x, 2003);
	u32(x, 0x3fc00000); /* 1.5f */
	u32(x, 0);
	u32(x, 0);
	for (uint32_t i = 0; i < 14; i++)
		u32(x, i);
	close_env(x, r);
	r = open_env(x, 2004);
	for (int i = 0; i < 7; i++)
		u64(x, (uint64_t)(i + 1) << 20);
	for (uint32_t i = 0; i < 4; i++)
		u32(x, i);
	close_env(x, r);
	r = open_env(x, 7); /* LAG: not decoded, skipped and counted */
	u32(x, 0);
	close_env(x, r);
}

START_TEST(counter_sample_records)
{
	struct buf x;
	size_t e;
	const struct fc_counter *c = &counters[0];

	dgram_header(&x, false, 3, 9, 2);
	e = counter_sample_open(&x, 55, 1u << 24 | 17, 9); /* source id: type 1, index 17 */
	counter_records(&x);
	close_env(&x, e);
	e = open_env(&x, 4); /* expanded */
	u32(&x, 56);
	u32(&x, 0);
	u32(&x, 0x01000000); /* index needing more than 24 bits */
	u32(&x, 0);
	close_env(&x, e);
	ck_assert_int_eq(decode(&x), 0);
	ck_assert_uint_eq(n_counters, 2);
	ck_assert_uint_eq(n_flows, 0);
	ck_assert_mem_eq(c->agent.a, AGENT4, 4);
	ck_assert_uint_eq(c->sub_agent_id, 3);
	ck_assert_uint_eq(c->sequence_num, 9);
	ck_assert_uint_eq(c->uptime_ms, 123456);
	ck_assert_uint_eq(c->sample_sequence_num, 55);
	ck_assert_uint_eq(c->source_id_type, 1);
	ck_assert_uint_eq(c->source_id_index, 17);
	ck_assert_uint_eq(c->n_formats, 9);
	ck_assert_uint_eq(c->formats[8], 7);
	ck_assert(c->has_if && c->has_eth && c->has_vlan && c->has_cpu);
	ck_assert(c->has_port_name && c->has_hostname && c->has_host_cpu && c->has_host_mem);
	ck_assert_uint_eq(c->ifc.if_index, 17);
	ck_assert_uint_eq(c->ifc.if_speed, 10000000000ull);
	ck_assert_uint_eq(c->ifc.if_status, 3);
	ck_assert_uint_eq(c->ifc.if_in_octets, 1ull << 40);
	ck_assert_uint_eq(c->ifc.if_in_unknown_protos, 105);
	ck_assert_uint_eq(c->ifc.if_out_octets, 5ull << 33);
	ck_assert_uint_eq(c->ifc.if_out_errors, 204);
	ck_assert_uint_eq(c->ifc.if_promiscuous_mode, 1);
	ck_assert_uint_eq(c->eth.dot3_stats_alignment_errors, 1);
	ck_assert_uint_eq(c->eth.dot3_stats_symbol_errors, 13);
	ck_assert_uint_eq(c->vlan.vlan_id, 42);
	ck_assert_uint_eq(c->vlan.octets, 9999);
	ck_assert_uint_eq(c->vlan.discards, 4);
	ck_assert_uint_eq(c->cpu.cpu_1m, 2500);
	ck_assert_uint_eq(c->cpu.total_memory, 8ull << 30);
	ck_assert_str_eq(c->port_name, "eth0");
	ck_assert_str_eq(c->hostname, "h??t");
	ck_assert(c->host_cpu.load_one == 1.5f);
	ck_assert_uint_eq(c->host_cpu.contexts, 13);
	ck_assert_uint_eq(c->host_mem.swap_free, 7ull << 20);
	ck_assert_uint_eq(c->host_mem.swap_out, 3);
	ck_assert_uint_eq(counters[1].source_id_index, 0x01000000);
	ck_assert(!counters[1].has_if);
	ck_assert_uint_eq(metric("sflow_counters_skipped_total", "format=\"0:7\""), 1);
	ck_assert_uint_eq(metric("sflow_samples_total", "format=\"2\""), 1);
	ck_assert_uint_eq(metric("sflow_samples_total", "format=\"4\""), 1);
}
END_TEST

START_TEST(counter_message_roundtrip)
{
	struct buf x;
	size_t e, n;
	struct fc_pb_counter s;
	uint8_t out[2048];
	Flowpb__CounterMessage *u;

	dgram_header(&x, true, 0, 1, 1);
	e = counter_sample_open(&x, 1, 17, 9);
	counter_records(&x);
	close_env(&x, e);
	ck_assert_int_eq(decode(&x), 0);
	ck_assert_uint_eq(n_counters, 1);
	fc_pb_counter_fill(&counters[0], &s);
	n = protobuf_c_message_pack(&s.msg.base, out);
	ck_assert_uint_gt(n, 0);
	u = flowpb__counter_message__unpack(NULL, n, out);
	ck_assert_ptr_nonnull(u);
	ck_assert_uint_eq(u->sampler_address.len, 16);
	ck_assert_uint_eq(u->if_index, 17);
	ck_assert_uint_eq(u->if_in_octets, 1ull << 40);
	ck_assert_uint_eq(u->dot3_stats_symbol_errors, 13);
	ck_assert_uint_eq(u->vlan_octets, 9999);
	ck_assert_uint_eq(u->cpu_5m, 3500);
	ck_assert_str_eq(u->port_name, "eth0");
	ck_assert_str_eq(u->hostname, "h??t");
	ck_assert(u->load_one == 1.5f);
	ck_assert_uint_eq(u->mem_total, 1ull << 20);
	ck_assert_uint_eq(u->n_record_formats, 9);
	ck_assert_uint_eq(u->record_formats[3], 1001);
	flowpb__counter_message__free_unpacked(u, NULL);
}
END_TEST

/* ---- sequence accounting ---- */

static void one_counter_dgram(struct buf *x, uint32_t sub, uint32_t seq, uint32_t sample_seq)
{
	size_t e;

	dgram_header(x, false, sub, seq, 1);
	e = counter_sample_open(x, sample_seq, 1, 0);
	close_env(x, e);
}

START_TEST(sequence_accounting)
{
	struct buf x;

	one_counter_dgram(&x, 0, 10, 100);
	decode(&x);
	one_counter_dgram(&x, 0, 11, 101); /* in order */
	decode(&x);
	one_counter_dgram(&x, 0, 14, 105); /* 2 datagrams, 3 samples lost */
	decode(&x);
	one_counter_dgram(&x, 1, 500, 1); /* other sub-agent: own sequence */
	decode(&x);
	one_counter_dgram(&x, 0, 1, 1); /* agent restart */
	decode(&x);
	ck_assert_uint_eq(metric("sequence_lost_datagrams_total", "proto=\"sflow\""), 2);
	ck_assert_uint_eq(metric("sequence_lost_samples_total", "proto=\"sflow\""), 3);
	ck_assert_uint_eq(metric("sequence_resets_total", "proto=\"sflow\",scope=\"datagram\""), 1);
	ck_assert_uint_eq(metric("sequence_resets_total", "proto=\"sflow\",scope=\"sample\""), 1);
	ck_assert_uint_eq(n_counters, 5);
}
END_TEST

/* ---- malformed ---- */

/* A datagram with two flow samples, built once; each case corrupts one
 * word (offset in 32-bit words from the start) and states the expected
 * return code, flows emitted and metric that must move. */
struct bad_case {
	const char *what;
	unsigned word;
	uint32_t value;
	int rc;
	unsigned flows;
	const char *metric, *labels;
};

static const struct bad_case bad_cases[] = {
	/* words: 0 version 1 type 2 agent 3 sub 4 seq 5 uptime 6 nsamples
	 * 7 fmt 8 len | 9 seq 10 src 11 rate 12 pool 13 drops 14 in 15 out
	 * 16 nrec 17 recfmt(1001) 18 reclen 19..22 switch | 23 fmt 24 len ... */
	{"nsamples huge", 6, 0xffffffff, FC_ETRUNC, 2, "sflow_malformed_total", "what=\"count\""},
	{"sample longer than datagram", 8, 0x7fffffff, FC_ETRUNC, 1, "sflow_malformed_total",
	 "what=\"length\""},
	{"record count huge", 16, 0xfffffff0, FC_ETRUNC, 2, "sflow_malformed_total",
	 "what=\"count\""},
	{"record longer than sample", 18, 0x1000, FC_ETRUNC, 2, "sflow_malformed_total",
	 "what=\"length\""},
	{"record length odd", 18, 15, FC_EMALFORMED, 2, "sflow_malformed_total", "what=\"record\""},
	{"agent address type 3", 1, 3, FC_EVERSION, 0, "decode_errors_total",
	 "proto=\"unknown\",reason=\"version\""},
	{"version 6", 0, 6, FC_EVERSION, 0, "decode_errors_total",
	 "proto=\"unknown\",reason=\"version\""},
};

static void two_samples(struct buf *x)
{
	size_t e;

	dgram_header(x, false, 0, 1, 2);
	e = flow_sample_open(x, 1, 1, 1, 2, 1);
	rec_switch(x, 1, 2);
	close_env(x, e);
	e = flow_sample_open(x, 2, 1, 1, 2, 1);
	rec_switch(x, 3, 4);
	close_env(x, e);
}

START_TEST(malformed_table)
{
	const struct bad_case *c = &bad_cases[_i];
	struct buf x;
	int rc;

	two_samples(&x);
	ck_assert_uint_eq(x.b[8 * 4 + 3], 56); /* layout as the table assumes */
	x.b[c->word * 4] = (uint8_t)(c->value >> 24);
	x.b[c->word * 4 + 1] = (uint8_t)(c->value >> 16);
	x.b[c->word * 4 + 2] = (uint8_t)(c->value >> 8);
	x.b[c->word * 4 + 3] = (uint8_t)c->value;
	rc = decode_exact(x.b, x.n);
	ck_assert_msg(rc == c->rc, "%s: rc %d, want %d", c->what, rc, c->rc);
	ck_assert_msg(n_flows == c->flows, "%s: %u flows, want %u", c->what, n_flows, c->flows);
	ck_assert_msg(metric(c->metric, c->labels) >= 1, "%s: %s{%s} not counted", c->what,
		      c->metric, c->labels);
}
END_TEST

START_TEST(gateway_lies)
{
	struct buf x;
	size_t e, r;

	/* AS path segment count and segment length past the record */
	dgram_header(&x, false, 0, 1, 1);
	e = flow_sample_open(&x, 1, 1, 1, 2, 2);
	r = open_env(&x, 1003);
	u32(&x, 1); /* IPv4 next hop */
	u32(&x, 0x01020304);
	u32(&x, 1);
	u32(&x, 2);
	u32(&x, 3);
	u32(&x, 1); /* one segment */
	u32(&x, 2);
	u32(&x, 0x40000000); /* of 2^30 ASes */
	u32(&x, 5);
	close_env(&x, r);
	rec_switch(&x, 9, 9);
	close_env(&x, e);
	ck_assert_int_eq(decode(&x), FC_EMALFORMED);
	ck_assert_uint_eq(n_flows, 1);
	ck_assert_uint_eq(flows[0].src_vlan, 9); /* next record still read */
	ck_assert_uint_eq(metric("sflow_malformed_total", "what=\"record\""), 1);
}
END_TEST

START_TEST(caps)
{
	struct buf x;
	size_t e;

	cfg.sflow_max_samples = 2;
	cfg.sflow_max_records = 1;
	restart_decoder();
	dgram_header(&x, false, 0, 1, 3);
	for (uint32_t i = 0; i < 3; i++) {
		e = flow_sample_open(&x, i, 1, 1, 2, 2);
		rec_switch(&x, 10 + i, 0);
		rec_switch(&x, 20 + i, 0);
		close_env(&x, e);
	}
	ck_assert_int_eq(decode(&x), FC_ELIMIT);
	ck_assert_uint_eq(n_flows, 2);
	ck_assert_uint_eq(flows[0].src_vlan, 10); /* second record past the cap */
	ck_assert_uint_eq(metric("sflow_over_cap_total", "what=\"samples\""), 1);
	ck_assert_uint_eq(metric("sflow_over_cap_total", "what=\"records\""), 2);
}
END_TEST

START_TEST(truncated_at_every_length)
{
	struct buf x;
	size_t e;

	dgram_header(&x, false, 0, 1, 3);
	e = flow_sample_open(&x, 1, 1, 1, 2, 4);
	rec_header(&x, 1, 58, FRAME_V4_TCP, sizeof(FRAME_V4_TCP));
	rec_router(&x);
	rec_gateway(&x, 1, false);
	rec_mpls(&x);
	close_env(&x, e);
	e = xflow_sample_open(&x, 2, 0, 1, 1);
	rec_header(&x, 12, 48, FRAME_V6_UDP, sizeof(FRAME_V6_UDP));
	close_env(&x, e);
	e = counter_sample_open(&x, 1, 1, 9);
	counter_records(&x);
	close_env(&x, e);
	ck_assert_int_eq(decode(&x), 0);
	ck_assert_uint_eq(n_flows, 2);
	ck_assert_uint_eq(n_counters, 1);
	for (size_t n = 0; n < x.n; n++) {
		int rc = decode_exact(x.b, n);

		ck_assert_msg(rc < 0, "cut at %zu decoded cleanly", n);
	}
}
END_TEST

/* One tcase per concern, each test with a fresh decoder and registry. */
static TCase *add_tcase(Suite *s, const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup, teardown);
	suite_add_tcase(s, tc);
	return tc;
}

static Suite *sflow_suite(void)
{
	Suite *s = suite_create("sflow");
	TCase *tc;

	tc = add_tcase(s, "header");
	tcase_add_test(tc, header_ipv4_and_ipv6_agents);
	tcase_add_test(tc, header_rejects);

	tc = add_tcase(s, "flow");
	tcase_add_test(tc, flow_sample_full);
	tcase_add_test(tc, gateway_empty_path_and_local_source);
	tcase_add_test(tc, expanded_flow_ipv6_header_and_interface_formats);
	tcase_add_test(tc, header_protocol_ipv4_and_unsupported);
	tcase_add_test(tc, sampled_ethernet_ipv4_ipv6);
	tcase_add_test(tc, skipped_formats_counted);

	tc = add_tcase(s, "counter");
	tcase_add_test(tc, counter_sample_records);
	tcase_add_test(tc, counter_message_roundtrip);

	tc = add_tcase(s, "sequence");
	tcase_add_test(tc, sequence_accounting);

	tc = add_tcase(s, "malformed");
	tcase_add_loop_test(tc, malformed_table, 0, (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_test(tc, gateway_lies);
	tcase_add_test(tc, caps);
	tcase_add_test(tc, truncated_at_every_length);
	return s;
}

int main(void)
{
	return fc_check_run(sflow_suite());
}
