/*
 * NetFlow v5 decoder: header, records, times (incl. sysUptime wrap),
 * sampling, sequence accounting, and a table of malformed datagrams.
 * Datagrams are built here byte by byte (Cisco v5 layout).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "decode/decode.h"
#include "decode/netflow5.h"
#include "fc/err.h"
#include "metrics/metrics.h"
#include "check_run.h"

#define MAXF 64

static struct fc_flow got[MAXF];
static int n_got;

static void sink(void *ctx, struct fc_flow *f)
{
	(void)ctx;
	if (n_got < MAXF)
		got[n_got] = *f;
	n_got++;
}

static struct fc_config cfg;
static struct fc_metrics *m;
static struct fc_decoder *d;

static void setup(void)
{
	struct fc_sink s = {.flow = sink};

	fc_config_init(&cfg);
	m = fc_metrics_new();
	d = fc_decoder_new(&cfg, m, &s);
	ck_assert_ptr_nonnull(d);
	n_got = 0;
}

static void teardown(void)
{
	fc_decoder_free(d);
	fc_metrics_free(m);
	fc_config_fini(&cfg);
}

static size_t put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return 2;
}

static size_t put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
	return 4;
}

static size_t header(uint8_t *p, uint16_t count, uint32_t uptime, uint32_t secs, uint32_t nsecs,
		     uint32_t seq, uint16_t sampling)
{
	size_t o = 0;

	o += put16(p + o, 5);
	o += put16(p + o, count);
	o += put32(p + o, uptime);
	o += put32(p + o, secs);
	o += put32(p + o, nsecs);
	o += put32(p + o, seq);
	p[o++] = 1; /* engine type */
	p[o++] = 2; /* engine id */
	o += put16(p + o, sampling);
	return o;
}

static size_t record(uint8_t *p, uint32_t src, uint32_t dst, uint32_t first, uint32_t last,
		     uint16_t sport, uint16_t dport, uint8_t proto)
{
	size_t o = 0;

	o += put32(p + o, src);
	o += put32(p + o, dst);
	o += put32(p + o, 0xc0000201); /* nexthop 192.0.2.1 */
	o += put16(p + o, 7);          /* input */
	o += put16(p + o, 9);          /* output */
	o += put32(p + o, 12);         /* packets */
	o += put32(p + o, 3456);       /* octets */
	o += put32(p + o, first);
	o += put32(p + o, last);
	o += put16(p + o, sport);
	o += put16(p + o, dport);
	p[o++] = 0;    /* pad */
	p[o++] = 0x1b; /* tcp flags */
	p[o++] = proto;
	p[o++] = 0xb8; /* tos */
	o += put16(p + o, 64512);
	o += put16(p + o, 65000);
	p[o++] = 24;
	p[o++] = 16;
	o += put16(p + o, 0);
	return o;
}

static int feed(const uint8_t *b, size_t len, uint16_t port)
{
	struct fc_dgram g = {.data = b, .len = len, .src_port = port, .time_ns = 42};

	fc_addr_set4u(&g.src, 0xc6336401);
	return fc_decode_datagram(d, &g);
}

START_TEST(decodes_every_field)
{
	uint8_t b[24 + 2 * 48];
	size_t o = header(b, 2, 100000, 1700000000, 500000000, 77, 0);
	char s[FC_ADDR_STRLEN];

	o += record(b + o, 0x0a000001, 0x0a000002, 90000, 99000, 443, 51000, 6);
	o += record(b + o, 0x0a000003, 0x0a000004, 95000, 95000, 0, 0x0303, 1);
	ck_assert_int_eq(feed(b, o, 2055), 0);
	ck_assert_int_eq(n_got, 2);
	ck_assert_int_eq(got[0].type, FC_FLOW_NF5);
	ck_assert_str_eq(fc_addr_str(&got[0].src_addr, s), "10.0.0.1");
	ck_assert_str_eq(fc_addr_str(&got[0].dst_addr, s), "10.0.0.2");
	ck_assert_str_eq(fc_addr_str(&got[0].next_hop, s), "192.0.2.1");
	ck_assert_str_eq(fc_addr_str(&got[0].sampler_address, s), "198.51.100.1");
	ck_assert_uint_eq(got[0].exporter_port, 2055);
	ck_assert_uint_eq(got[0].in_if, 7);
	ck_assert_uint_eq(got[0].out_if, 9);
	ck_assert_uint_eq(got[0].packets, 12);
	ck_assert_uint_eq(got[0].bytes, 3456);
	ck_assert_uint_eq(got[0].src_port, 443);
	ck_assert_uint_eq(got[0].dst_port, 51000);
	ck_assert_uint_eq(got[0].proto, 6);
	ck_assert_uint_eq(got[0].tcp_flags, 0x1b);
	ck_assert_uint_eq(got[0].ip_tos, 0xb8);
	ck_assert_uint_eq(got[0].src_as, 64512);
	ck_assert_uint_eq(got[0].dst_as, 65000);
	ck_assert_uint_eq(got[0].src_net, 24);
	ck_assert_uint_eq(got[0].dst_net, 16);
	ck_assert_uint_eq(got[0].sequence_num, 77);
	ck_assert_uint_eq(got[0].etype, 0x0800);
	ck_assert_uint_eq(got[0].time_received_ns, 42);
	/* export 1700000000.5 s at uptime 100 s: first 90 s -> 10 s earlier */
	ck_assert_uint_eq(got[0].time_flow_start_ns, 1699999990500000000ull);
	ck_assert_uint_eq(got[0].time_flow_end_ns, 1699999999500000000ull);
	/* ICMP: type/code ride in the destination port */
	ck_assert_uint_eq(got[1].icmp_type, 3);
	ck_assert_uint_eq(got[1].icmp_code, 3);
}
END_TEST

START_TEST(uptime_wrap)
{
	uint8_t b[24 + 48];
	size_t o = header(b, 1, 3381, 1700000000, 0, 1, 0);

	/* FIRST stamped 1 ms before the 32-bit ms uptime wrapped. */
	o += record(b + o, 1, 2, 0xffffffffu, 2577, 1, 2, 17);
	ck_assert_int_eq(feed(b, o, 2055), 0);
	ck_assert_int_eq(n_got, 1);
	ck_assert_uint_eq(got[0].time_flow_start_ns, 1700000000000000000ull - 3382000000ull);
	ck_assert_uint_eq(got[0].time_flow_end_ns, 1700000000000000000ull - 804000000ull);
}
END_TEST

START_TEST(sampling_from_header)
{
	uint8_t b[24 + 48];
	size_t o = header(b, 1, 1000, 1700000000, 0, 1, (uint16_t)(1u << 14 | 1000));

	o += record(b + o, 1, 2, 0, 0, 1, 2, 17);
	ck_assert_int_eq(feed(b, o, 2055), 0);
	ck_assert_uint_eq(got[0].sampling_rate, 1000);
}
END_TEST

START_TEST(sequence_gaps_are_counted)
{
	uint8_t b[24 + 48];
	size_t o;

	o = header(b, 1, 1000, 1700000000, 0, 10, 0);
	o += record(b + o, 1, 2, 0, 0, 1, 2, 17);
	feed(b, o, 2055);
	o = header(b, 1, 1000, 1700000000, 0, 11, 0); /* in order */
	o += record(b + o, 1, 2, 0, 0, 1, 2, 17);
	feed(b, o, 2055);
	o = header(b, 1, 1000, 1700000000, 0, 20, 0); /* 8 flows lost */
	o += record(b + o, 1, 2, 0, 0, 1, 2, 17);
	feed(b, o, 2055);
	ck_assert_uint_eq(fc_metrics_get(m, "sequence_lost_flows_total", "proto=\"nf5\""), 8);
	o = header(b, 1, 1000, 1700000000, 0, 5, 0); /* went back: restart */
	o += record(b + o, 1, 2, 0, 0, 1, 2, 17);
	feed(b, o, 2055);
	ck_assert_uint_eq(fc_metrics_get(m, "sequence_resets_total", "proto=\"nf5\""), 1);
	/* another source port is another exporter session: no gap */
	o = header(b, 1, 1000, 1700000000, 0, 1000, 0);
	o += record(b + o, 1, 2, 0, 0, 1, 2, 17);
	feed(b, o, 2056);
	ck_assert_uint_eq(fc_metrics_get(m, "sequence_lost_flows_total", "proto=\"nf5\""), 8);
}
END_TEST

START_TEST(count_beyond_datagram_decodes_what_fits)
{
	uint8_t b[24 + 2 * 48];
	size_t o = header(b, 55582, 1000, 1700000000, 0, 1, 0);

	o += record(b + o, 1, 2, 0, 0, 1, 2, 17);
	o += record(b + o, 3, 4, 0, 0, 1, 2, 17);
	ck_assert_int_eq(feed(b, o, 2055), FC_ETRUNC);
	ck_assert_int_eq(n_got, 2);
	ck_assert_uint_eq(fc_metrics_get(m, "nf5_count_mismatch_total", NULL), 1);
	ck_assert_uint_eq(fc_metrics_get(m, "decode_errors_total",
					 "proto=\"nf5\",reason=\"trunc\""), 1);
}
END_TEST

/* Malformed datagrams: each must be rejected with the given code, emit no
 * more than the given flows, and never read out of bounds (ASan build). */
static const struct {
	const char *what;
	size_t len;      /* bytes of the well-formed 2-record datagram kept */
	uint16_t count;  /* header count written */
	int rc;
	int flows;
} bad[] = {
	{"empty", 0, 2, FC_EVERSION, 0},
	{"version only", 2, 2, FC_ETRUNC, 0},
	{"header cut", 23, 2, FC_ETRUNC, 0},
	{"header, no records", 24, 2, FC_ETRUNC, 0},
	{"zero count", 24 + 96, 0, FC_EMALFORMED, 0},
	{"half a record", 24 + 47, 1, FC_ETRUNC, 0},
	{"one of two records", 24 + 48 + 20, 2, FC_ETRUNC, 1},
	{"count 65535", 24 + 96, 65535, FC_ETRUNC, 2},
};

START_TEST(malformed)
{
	uint8_t full[24 + 96];
	size_t o = header(full, bad[_i].count, 1000, 1700000000, 0, 1, 0);
	uint8_t *copy;
	int rc;

	o += record(full + o, 1, 2, 0, 0, 1, 2, 17);
	record(full + o, 1, 2, 0, 0, 1, 2, 17);
	/* An exact-size heap copy, so ASan sees any read past the end. */
	copy = malloc(bad[_i].len ? bad[_i].len : 1);
	memcpy(copy, full, bad[_i].len);
	rc = feed(copy, bad[_i].len, 2055);
	free(copy);
	ck_assert_msg(rc == bad[_i].rc, "%s: rc %d, want %d", bad[_i].what, rc, bad[_i].rc);
	ck_assert_msg(n_got == bad[_i].flows, "%s: %d flows, want %d", bad[_i].what, n_got,
		      bad[_i].flows);
}
END_TEST

START_TEST(sniffer)
{
	static const uint8_t nf5[] = {0, 5}, nf9[] = {0, 9}, ipfix[] = {0, 10};
	static const uint8_t sflow4[] = {0, 0, 0, 5, 0, 0, 0, 1}, sflow6[] = {0, 0, 0, 5, 0, 0, 0, 2};
	static const uint8_t sflow_bad[] = {0, 0, 0, 5, 0, 0, 0, 3}, junk[] = {0x45, 0};

	ck_assert_int_eq(fc_decode_sniff(nf5, 2), FC_PROTO_NF5);
	ck_assert_int_eq(fc_decode_sniff(nf9, 2), FC_PROTO_NF9);
	ck_assert_int_eq(fc_decode_sniff(ipfix, 2), FC_PROTO_IPFIX);
	ck_assert_int_eq(fc_decode_sniff(sflow4, 8), FC_PROTO_SFLOW);
	ck_assert_int_eq(fc_decode_sniff(sflow6, 8), FC_PROTO_SFLOW);
	ck_assert_int_eq(fc_decode_sniff(sflow_bad, 8), FC_PROTO_UNKNOWN);
	ck_assert_int_eq(fc_decode_sniff(sflow4, 7), FC_PROTO_UNKNOWN);
	ck_assert_int_eq(fc_decode_sniff(junk, 2), FC_PROTO_UNKNOWN);
	ck_assert_int_eq(fc_decode_sniff(nf5, 1), FC_PROTO_UNKNOWN);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("nf5");
	TCase *tc_data = tcase_create("data");
	TCase *tc_bad = tcase_create("malformed");
	TCase *tc_sniff = tcase_create("sniff");

	tcase_add_checked_fixture(tc_data, setup, teardown);
	tcase_add_test(tc_data, decodes_every_field);
	tcase_add_test(tc_data, uptime_wrap);
	tcase_add_test(tc_data, sampling_from_header);
	tcase_add_test(tc_data, sequence_gaps_are_counted);
	tcase_add_test(tc_data, count_beyond_datagram_decodes_what_fits);
	tcase_add_checked_fixture(tc_bad, setup, teardown);
	tcase_add_loop_test(tc_bad, malformed, 0, (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc_sniff, sniffer);
	suite_add_tcase(s, tc_data);
	suite_add_tcase(s, tc_bad);
	suite_add_tcase(s, tc_sniff);
	return fc_check_run(s);
}
