/*
 * Unit tests for the NetFlow v9 decoder (src/decode/netflow9.c + shared
 * walker): header Count ignored, sysUptime-relative times with wrap,
 * flowset padding, options template with interface scope + ifName, sampler
 * options (48/49/50) and FLOW_SAMPLER_ID in data, exporter-wide sampling
 * (34), Cisco NSEL (231/232/298/299/233) and NAT (225-228), a malformed
 * table, and two ground-truth files where tshark decodes less than the
 * datagram holds.
 */
#include <stdio.h>

#include "nfx_build.h"

/* template 256: src4, dst4, pkts(4), bytes(4), first(22), last(21), sport, dport, proto */
static void tmpl256(struct pkt *p)
{
	size_t s = set_begin(p, 0);

	TMPL_REC(p, 256, 8, 4, 12, 4, 2, 4, 1, 4, 22, 4, 21, 4, 7, 2, 11, 2, 4, 1);
	p16(p, 0); /* padding to 32 bits (RFC 3954 §5.2) */
	set_end(p, s);
}

static void rec256(struct pkt *p, uint16_t sport, uint32_t first, uint32_t last)
{
	p32(p, 0xc0a80001);
	p32(p, 0xc0a80002);
	p32(p, 3);
	p32(p, 300);
	p32(p, first);
	p32(p, last);
	p16(p, sport);
	p16(p, 53);
	p8(p, 17);
}

START_TEST(template_data_count_ignored)
{
	struct tctx t;
	struct pkt p;
	size_t s;

	tctx_init(&t);
	v9_header(&p, 100000, 1700000000, 1, 42);
	p.b[3] = 1; /* Count 1, as softflowd writes when templates are present */
	tmpl256(&p);
	s = set_begin(&p, 256);
	rec256(&p, 1000, 90000, 95000);
	rec256(&p, 1001, 90000, 95000);
	rec256(&p, 1002, 90000, 95000);
	p8(&p, 0), p8(&p, 0), p8(&p, 0); /* padding */
	set_end(&p, s);
	ck_assert_int_eq(tctx_feed(&t, &p, 1, 2055, T0), 0);
	ck_assert_int_eq(t.n, 3);
	ck_assert_uint_eq(t.flows[2].src_port, 1002);
	ck_assert_uint_eq(t.flows[0].type, FC_FLOW_NF9);
	ck_assert_uint_eq(t.flows[0].bytes, 300);
	ck_assert_uint_eq(t.flows[0].packets, 3);
	ck_assert_uint_eq(t.flows[0].etype, 0x0800);
	ck_assert_uint_eq(t.flows[0].observation_domain_id, 42);
	ck_assert_uint_eq(t.flows[0].sequence_num, 1);
	ck_assert_uint_eq(t.flows[0].time_received_ns, T0);
	/* export 1700000000 s at uptime 100 s: first = 90 s -> 10 s earlier */
	ck_assert_uint_eq(t.flows[0].time_flow_start_ns, 1699999990 * SEC);
	ck_assert_uint_eq(t.flows[0].time_flow_end_ns, 1699999995 * SEC);
	tctx_fini(&t);
}
END_TEST

START_TEST(uptime_wrap)
{
	struct tctx t;
	struct pkt p;
	size_t s;

	tctx_init(&t);
	/* uptime wrapped to 1000 ms; flow started 2000 ms before the wrap */
	v9_header(&p, 1000, 1700000000, 1, 0);
	tmpl256(&p);
	s = set_begin(&p, 256);
	rec256(&p, 1, 0xffffffffu - 1999, 500);
	set_end(&p, s);
	tctx_feed(&t, &p, 1, 2055, T0);
	ck_assert_int_eq(t.n, 1);
	ck_assert_uint_eq(t.flows[0].time_flow_start_ns, 1700000000 * SEC - 3000000000ull);
	ck_assert_uint_eq(t.flows[0].time_flow_end_ns, 1700000000 * SEC - 500000000ull);
	tctx_fini(&t);
}
END_TEST

START_TEST(options_interface_and_sampler)
{
	struct tctx t;
	struct pkt p;
	size_t s;

	tctx_init(&t);
	v9_header(&p, 1000, 1700000000, 1, 0);
	/* options 257: scope Interface (type 2, 4 bytes); IF_NAME (82, 8 bytes) */
	s = set_begin(&p, 1);
	V9_OPT_REC(&p, 257, 1, 2, 4, 82, 8);
	p16(&p, 0);
	set_end(&p, s);
	/* options 258: scope System; FLOW_SAMPLER_ID(48,1) MODE(49,1) INTERVAL(50,4) */
	s = set_begin(&p, 1);
	V9_OPT_REC(&p, 258, 1, 1, 4, 48, 1, 49, 1, 50, 4);
	set_end(&p, s);
	s = set_begin(&p, 257);
	p32(&p, 5), pbytes(&p, "ge-0/0/5", 8);
	set_end(&p, s);
	s = set_begin(&p, 258);
	p32(&p, 0), p8(&p, 1), p8(&p, 2), p32(&p, 1000);
	p32(&p, 0), p8(&p, 2), p8(&p, 2), p32(&p, 64);
	set_end(&p, s);
	/* data 259: src4, in_if (10, 2 bytes), FLOW_SAMPLER_ID */
	s = set_begin(&p, 0);
	TMPL_REC(&p, 259, 8, 4, 10, 2, 48, 1);
	set_end(&p, s);
	s = set_begin(&p, 259);
	p32(&p, 0x0a000001), p16(&p, 5), p8(&p, 2);
	p32(&p, 0x0a000002), p16(&p, 6), p8(&p, 1);
	set_end(&p, s);
	tctx_feed(&t, &p, 1, 2055, T0);
	ck_assert_int_eq(t.n, 2);
	ck_assert_uint_eq(t.flows[0].sampling_rate, 64);
	ck_assert_uint_eq(t.flows[0].sampler_id, 2);
	ck_assert_str_eq(t.in_names[0], "ge-0/0/5");
	ck_assert_uint_eq(t.flows[1].sampling_rate, 1000);
	ck_assert_ptr_null(t.flows[1].in_if_name);
	tctx_fini(&t);
}
END_TEST

/* Exporter-wide samplingInterval (34) in options without a sampler id,
 * announced AFTER the data template but before the data. */
START_TEST(options_exporter_wide_sampling)
{
	struct tctx t;
	struct pkt p;
	size_t s;

	tctx_init(&t);
	v9_header(&p, 100000, 1700000000, 1, 0);
	tmpl256(&p);
	s = set_begin(&p, 1);
	V9_OPT_REC(&p, 300, 1, 1, 4, 34, 4, 35, 1);
	p16(&p, 0); /* padding */
	set_end(&p, s);
	s = set_begin(&p, 300);
	p32(&p, 0), p32(&p, 4), p8(&p, 1);
	set_end(&p, s);
	s = set_begin(&p, 256);
	rec256(&p, 1, 0, 0);
	set_end(&p, s);
	tctx_feed(&t, &p, 1, 2055, T0);
	ck_assert_int_eq(t.n, 1);
	ck_assert_uint_eq(t.flows[0].sampling_rate, 4);
	tctx_fini(&t);
}
END_TEST

/* Cisco ASA NSEL: no IN_BYTES; initiator/responder octets and packets,
 * firewall event, NAT translations into our own fields. */
START_TEST(nsel_and_nat)
{
	struct tctx t;
	struct pkt p;
	size_t s;

	tctx_init(&t);
	v9_header(&p, 1000, 1700000000, 1, 0);
	s = set_begin(&p, 0);
	TMPL_REC(&p, 263,
	         8, 4, 12, 4, 7, 2, 11, 2, 4, 1, 233, 1, 231, 4, 232, 4, 298, 8, 299, 8, 225, 4,
	         227, 2, 323, 8);
	set_end(&p, s);
	s = set_begin(&p, 263);
	p32(&p, 0x0a000005), p32(&p, 0x08080808), p16(&p, 50000), p16(&p, 53), p8(&p, 17);
	p8(&p, 2); /* flow deleted */
	p32(&p, 70), p32(&p, 130);
	pN(&p, 1, 8), pN(&p, 2, 8);
	p32(&p, 0xcb007101), p16(&p, 1024);
	pN(&p, 1699999999000ull, 8);
	set_end(&p, s);
	tctx_feed(&t, &p, 1, 2055, T0);
	ck_assert_int_eq(t.n, 2);
	ck_assert_uint_eq(t.flows[0].bytes, 70);
	ck_assert_uint_eq(t.flows[0].packets, 1);
	ck_assert_uint_eq(t.flows[0].firewall_event, 2);
	ck_assert_uint_eq(t.flows[0].src_addr_nat.family, 4);
	ck_assert_uint_eq(t.flows[0].src_addr_nat.a[0], 0xcb);
	ck_assert_uint_eq(t.flows[0].src_port_nat, 1024);
	ck_assert_uint_eq(t.flows[0].time_flow_start_ns, 1699999999 * SEC);
	ck_assert(t.flows[1].reverse);
	ck_assert_uint_eq(t.flows[1].bytes, 130);
	ck_assert_uint_eq(t.flows[1].packets, 2);
	ck_assert_uint_eq(t.flows[1].src_port, 53);
	tctx_fini(&t);
}
END_TEST

/* IPv4 and IPv6 address fields in one template (IOS XR): the zero
 * address of the unused family does not hide the real one, and post-*
 * counters are used only when the delta element is absent. */
START_TEST(mixed_family_and_counter_fallback)
{
	struct tctx t;
	struct pkt p;
	uint8_t zero16[16] = {0};
	size_t s;

	tctx_init(&t);
	v9_header(&p, 1000, 1700000000, 1, 0);
	s = set_begin(&p, 0);
	TMPL_REC(&p, 256, 8, 4, 27, 16, 1, 4, 23, 4);
	TMPL_REC(&p, 257, 8, 4, 23, 4);
	set_end(&p, s);
	s = set_begin(&p, 256);
	p32(&p, 0x0a000001), pbytes(&p, zero16, 16), p32(&p, 0), p32(&p, 99);
	set_end(&p, s);
	s = set_begin(&p, 257);
	p32(&p, 0x0a000001), p32(&p, 99);
	set_end(&p, s);
	tctx_feed(&t, &p, 1, 2055, T0);
	ck_assert_int_eq(t.n, 2);
	ck_assert_uint_eq(t.flows[0].src_addr.family, 4);
	ck_assert_uint_eq(t.flows[0].bytes, 0);  /* delta present and 0 */
	ck_assert_uint_eq(t.flows[1].bytes, 99); /* no delta: OUT_BYTES */
	tctx_fini(&t);
}
END_TEST

struct bad_case {
	const char *name;
	uint8_t b[48];
	size_t n;
};

#define V9H 0, 9, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0
static const struct bad_case bad[] = {
	{"short header", {0, 9, 0, 1, 0, 0}, 6},
	{"flowset length 0", {V9H, 0, 0, 0, 0}, 24},
	{"flowset past datagram", {V9H, 1, 0, 0, 100, 0, 0, 0, 0}, 28},
	{"template count past flowset", {V9H, 0, 0, 0, 12, 1, 0, 0, 50, 0, 8, 0, 4}, 32},
	{"options scope length not /4", {V9H, 0, 1, 0, 14, 1, 0, 0, 3, 0, 4, 0, 8, 0, 4}, 34},
	{"options lengths past flowset", {V9H, 0, 1, 0, 14, 1, 0, 0, 4, 0, 40, 0, 1, 0, 4}, 34},
	{"varlen length in v9", {V9H, 0, 0, 0, 12, 1, 0, 0, 1, 0, 8, 0xff, 0xff}, 32},
};

START_TEST(malformed_table)
{
	expect_refused(bad[_i].name, bad[_i].b, bad[_i].n, 2055, T0);
}
END_TEST

static size_t read_testdata(const char *name, uint8_t *buf, size_t cap)
{
	char path[1024];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/vendor/%s", fc_testdata_dir(), name);
	f = fopen(path, "rb");
	if (!f)
		return 0;
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

/* Truth defect: logstash_netflow9_test_h3c_data3281.dat holds 16 flowsets of
 * exactly one 80-byte record each for template 3281; tshark stops after the
 * first on a 2-byte field it expects to be an IPv4 address (MANIFEST
 * "limitations"), so the truth lists 1 flow. All 16 decode. */
START_TEST(truth_h3c_has_16_records)
{
	uint8_t tpl[2048], data[2048];
	size_t nt = read_testdata("logstash_netflow9_test_h3c_tpl3281.dat", tpl, sizeof(tpl));
	size_t nd = read_testdata("logstash_netflow9_test_h3c_data3281.dat", data, sizeof(data));
	struct tctx t;
	struct pkt p;

	ck_assert_msg(nt && nd, "h3c test data unreadable");
	tctx_init(&t);
	memcpy(p.b, tpl, nt);
	p.n = nt;
	tctx_feed(&t, &p, 1, 2055, T0);
	memcpy(p.b, data, nd);
	p.n = nd;
	ck_assert_int_eq(tctx_feed(&t, &p, 1, 2055, T0), 0);
	/* 20-byte header + 16 * (4-byte flowset header + 80-byte record) */
	ck_assert_uint_eq(nd, 20 + 16 * 84);
	ck_assert_int_eq(t.n, 16);
	ck_assert_uint_eq(metric(&t, "records_truncated_total", NULL), 0);
	/* the 2-byte field at IE 43 is skipped by length, not misread */
	ck_assert_uint_eq(t.flows[0].src_addr.family, 4);
	tctx_fini(&t);
}
END_TEST

/* Truth defect: logstash_netflow9_test_invalid01.dat has Count = 2 and two
 * template flowsets, then an options template, options data and two data
 * flowsets (templates 2048 and 1024) that tshark never looks at because it
 * stops after Count flowsets. Walking by length finds both records. */
START_TEST(truth_invalid01_has_data_after_count)
{
	uint8_t buf[2048];
	size_t n = read_testdata("logstash_netflow9_test_invalid01.dat", buf, sizeof(buf));
	struct tctx t;
	struct pkt p;

	ck_assert_msg(n, "invalid01 test data unreadable");
	tctx_init(&t);
	memcpy(p.b, buf, n);
	p.n = n;
	ck_assert_uint_eq(p.b[3], 2); /* Count */
	tctx_feed(&t, &p, 1, 2055, T0);
	ck_assert_int_eq(t.n, 2);
	ck_assert_uint_eq(t.flows[0].src_port, 123); /* IPv6 NTP */
	ck_assert_uint_eq(t.flows[0].src_addr.family, 6);
	ck_assert_uint_eq(t.flows[1].src_port, 53); /* IPv4 DNS */
	ck_assert_uint_eq(t.flows[1].sampling_rate, 100); /* options: interval 100 */
	tctx_fini(&t);
}
END_TEST

static Suite *nf9_suite(void)
{
	Suite *s = suite_create("nf9");
	TCase *tc;

	tc = tcase_create("data");
	tcase_add_test(tc, template_data_count_ignored);
	tcase_add_test(tc, uptime_wrap);
	tcase_add_test(tc, mixed_family_and_counter_fallback);
	suite_add_tcase(s, tc);
	tc = tcase_create("options");
	tcase_add_test(tc, options_interface_and_sampler);
	tcase_add_test(tc, options_exporter_wide_sampling);
	suite_add_tcase(s, tc);
	tc = tcase_create("nsel");
	tcase_add_test(tc, nsel_and_nat);
	suite_add_tcase(s, tc);
	tc = tcase_create("malformed");
	tcase_add_loop_test(tc, malformed_table, 0, sizeof(bad) / sizeof(bad[0]));
	suite_add_tcase(s, tc);
	tc = tcase_create("truth");
	tcase_set_tags(tc, FC_TESTDATA_TAG);
	tcase_add_test(tc, truth_h3c_has_16_records);
	tcase_add_test(tc, truth_invalid01_has_data_after_count);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	static const char *const need[] = {"vendor/logstash_netflow9_test_h3c_tpl3281.dat",
					   "vendor/logstash_netflow9_test_h3c_data3281.dat",
					   "vendor/logstash_netflow9_test_invalid01.dat", NULL};

	if (fc_check_skip_without_testdata(need))
		return FC_CHECK_SKIP;
	return fc_check_run(nf9_suite());
}
