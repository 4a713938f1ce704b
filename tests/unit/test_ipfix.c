/*
 * Unit tests for the IPFIX decoder (src/decode/ipfix.c and the shared
 * walker nfv9_ipfix.c, IE table fields.c): reduced-size encoding, variable
 * length fields (1- and 3-byte lengths), enterprise fields, RFC 5103
 * bi-flows, every time form (150-160, 21/22 with systemInitTime), sampling
 * by selector / sampler id (incl. 305/306), interface names from options,
 * several messages per datagram, and a malformed-input table.
 */
#include "nfx_build.h"

static void one_field_tmpl(struct pkt *p, uint16_t tid, uint16_t ie, uint16_t len)
{
	size_t s = set_begin(p, 2);

	TMPL_REC(p, tid, 8, 4, ie, len);
	set_end(p, s);
}

/* octetDeltaCount in every reduced-size encoding 1..8 (RFC 7011 §6.2) */
START_TEST(reduced_size_counters)
{
	struct tctx t;
	struct pkt p;
	unsigned len = (unsigned)_i;
	size_t s;

	tctx_init(&t);
	ipfix_header(&p, 1700000000, 0, 0);
	one_field_tmpl(&p, 256, 1, (uint16_t)len);
	s = set_begin(&p, 256);
	p32(&p, 0x0a000001);
	pN(&p, 0x8070605040302010ull >> (8 * (8 - len)), len);
	set_end(&p, s);
	ipfix_end(&p);
	ck_assert_int_eq(tctx_feed(&t, &p, 1, 4739, T0), 0);
	ck_assert_int_eq(t.n, 1);
	ck_assert_uint_eq(t.flows[0].bytes, 0x8070605040302010ull >> (8 * (8 - len)));
	ck_assert_uint_eq(t.flows[0].type, FC_FLOW_IPFIX);
	tctx_fini(&t);
}
END_TEST

START_TEST(unexpected_length_counted)
{
	struct tctx t;
	struct pkt p;
	size_t s;

	tctx_init(&t);
	ipfix_header(&p, 1700000000, 0, 0);
	one_field_tmpl(&p, 256, 7, 3); /* sourceTransportPort in 3 bytes */
	s = set_begin(&p, 256);
	p32(&p, 0x0a000001);
	pN(&p, 0x010203, 3);
	set_end(&p, s);
	ipfix_end(&p);
	tctx_feed(&t, &p, 1, 4739, T0);
	ck_assert_int_eq(t.n, 1);
	ck_assert_uint_eq(t.flows[0].src_port, 0);
	ck_assert_uint_eq(metric(&t, "ie_bad_length_total", NULL), 1);
	tctx_fini(&t);
}
END_TEST

/* interfaceName (82) as a varlen field with a 1-byte and a 3-byte length,
 * an enterprise field (PEN 9999, varlen) and fields after each: nothing
 * misaligned. */
START_TEST(varlen_and_enterprise)
{
	struct tctx t;
	struct pkt p;
	uint8_t big[300];
	size_t s;

	memset(big, 'x', sizeof(big));
	tctx_init(&t);
	ipfix_header(&p, 1700000000, 0, 0);
	s = set_begin(&p, 2);
	p16(&p, 256);
	p16(&p, 5);
	p16(&p, 82), p16(&p, 0xffff);
	p16(&p, 7), p16(&p, 2);
	p16(&p, 0x8000 | 1), p16(&p, 0xffff), p32(&p, 9999); /* enterprise, varlen */
	p16(&p, 0x8000 | 2), p16(&p, 4), p32(&p, 9999);      /* enterprise, fixed */
	p16(&p, 11), p16(&p, 2);
	set_end(&p, s);
	s = set_begin(&p, 256);
	p8(&p, 3), pbytes(&p, "eth", 3);
	p16(&p, 1111);
	p8(&p, 255), p16(&p, sizeof(big)), pbytes(&p, big, sizeof(big));
	p32(&p, 0xdeadbeef);
	p16(&p, 2222);
	/* second record: empty string, 1-byte enterprise value */
	p8(&p, 0);
	p16(&p, 3333);
	p8(&p, 1), p8(&p, 7);
	p32(&p, 0);
	p16(&p, 4444);
	set_end(&p, s);
	ipfix_end(&p);
	ck_assert_int_eq(tctx_feed(&t, &p, 1, 4739, T0), 0);
	ck_assert_int_eq(t.n, 2);
	ck_assert_uint_eq(t.flows[0].src_port, 1111);
	ck_assert_uint_eq(t.flows[0].dst_port, 2222);
	ck_assert_uint_eq(t.flows[0].bytes, 0); /* PEN 9999 id 1 is not octetDeltaCount */
	ck_assert_uint_eq(t.flows[1].src_port, 3333);
	ck_assert_uint_eq(t.flows[1].dst_port, 4444);
	tctx_fini(&t);
}
END_TEST

START_TEST(biflow_reverse)
{
	struct tctx t;
	struct pkt p;
	size_t s;

	tctx_init(&t);
	ipfix_header(&p, 1700000000, 0, 0);
	s = set_begin(&p, 2);
	p16(&p, 256);
	p16(&p, 8);
	p16(&p, 8), p16(&p, 4);
	p16(&p, 12), p16(&p, 4);
	p16(&p, 7), p16(&p, 2);
	p16(&p, 11), p16(&p, 2);
	p16(&p, 1), p16(&p, 8);
	p16(&p, 2), p16(&p, 8);
	p16(&p, 0x8000 | 1), p16(&p, 8), p32(&p, 29305);
	p16(&p, 0x8000 | 2), p16(&p, 8), p32(&p, 29305);
	set_end(&p, s);
	s = set_begin(&p, 256);
	/* with reverse traffic */
	p32(&p, 0x0a000001), p32(&p, 0x0a000002), p16(&p, 40000), p16(&p, 443);
	pN(&p, 1000, 8), pN(&p, 10, 8), pN(&p, 5000, 8), pN(&p, 7, 8);
	/* without */
	p32(&p, 0x0a000001), p32(&p, 0x0a000003), p16(&p, 40001), p16(&p, 53);
	pN(&p, 60, 8), pN(&p, 1, 8), pN(&p, 0, 8), pN(&p, 0, 8);
	set_end(&p, s);
	ipfix_end(&p);
	tctx_feed(&t, &p, 1, 4739, T0);
	ck_assert_int_eq(t.n, 3);
	ck_assert(!t.flows[0].reverse);
	ck_assert_uint_eq(t.flows[0].bytes, 1000);
	ck_assert(t.flows[1].reverse);
	ck_assert_uint_eq(t.flows[1].bytes, 5000);
	ck_assert_uint_eq(t.flows[1].packets, 7);
	ck_assert_uint_eq(t.flows[1].src_port, 443);
	ck_assert_uint_eq(t.flows[1].dst_port, 40000);
	ck_assert_uint_eq(t.flows[1].src_addr.a[3], 2);
	ck_assert(!t.flows[2].reverse);
	ck_assert_uint_eq(metric(&t, "reverse_flows_total", NULL), 1);
	tctx_fini(&t);
}
END_TEST

/* Time forms: (start IE, end IE, length, start value, end value, expected
 * start ns, expected end ns). Export time 1700000000 s. */
struct time_case {
	uint16_t ie_s, ie_e, len;
	uint64_t vs, ve;
	uint64_t want_s, want_e;
};

#define NTP_OFF 2208988800ull
static const struct time_case time_cases[] = {
	{150, 151, 4, 1699999990, 1699999995, 1699999990 * SEC, 1699999995 * SEC},
	{152, 153, 8, 1699999990123ull, 1699999995456ull, 1699999990123000000ull,
	 1699999995456000000ull},
	/* NTP: seconds since 1900, fraction 0x80000000 = .5 s */
	{154, 155, 8, ((1699999990 + NTP_OFF) << 32) | 0x80000000u, (1699999995 + NTP_OFF) << 32,
	 1699999990500000000ull, 1699999995 * SEC},
	{156, 157, 8, ((1699999990 + NTP_OFF) << 32) | 0x40000000u, (1699999995 + NTP_OFF) << 32,
	 1699999990250000000ull, 1699999995 * SEC},
	/* delta µs before export time */
	{158, 159, 4, 10000000, 5000000, 1699999990 * SEC, 1699999995 * SEC},
};

START_TEST(time_forms)
{
	const struct time_case *tc = &time_cases[_i];
	struct tctx t;
	struct pkt p;
	size_t s;

	tctx_init(&t);
	ipfix_header(&p, 1700000000, 0, 0);
	s = set_begin(&p, 2);
	p16(&p, 256);
	p16(&p, 3);
	p16(&p, 8), p16(&p, 4);
	p16(&p, tc->ie_s), p16(&p, tc->len);
	p16(&p, tc->ie_e), p16(&p, tc->len);
	set_end(&p, s);
	s = set_begin(&p, 256);
	p32(&p, 0x0a000001);
	pN(&p, tc->vs, tc->len);
	pN(&p, tc->ve, tc->len);
	set_end(&p, s);
	ipfix_end(&p);
	tctx_feed(&t, &p, 1, 4739, T0);
	ck_assert_int_eq(t.n, 1);
	ck_assert_uint_eq(t.flows[0].time_flow_start_ns, tc->want_s);
	ck_assert_uint_eq(t.flows[0].time_flow_end_ns, tc->want_e);
	tctx_fini(&t);
}
END_TEST

/* flowStart/EndSysUpTime (22/21) relative to systemInitTimeMilliseconds
 * (160) announced in options data, as softflowd does. */
START_TEST(sysuptime_with_init_time)
{
	struct tctx t;
	struct pkt p;
	size_t s;

	tctx_init(&t);
	ipfix_header(&p, 1700000000, 0, 0);
	s = set_begin(&p, 3);
	IPFIX_OPT_REC(&p, 300, 1, 149, 4, 160, 8);
	set_end(&p, s);
	s = set_begin(&p, 300);
	p32(&p, 0);
	pN(&p, 1690000000000ull, 8);
	set_end(&p, s);
	s = set_begin(&p, 2);
	TMPL_REC(&p, 256, 8, 4, 22, 4, 21, 4);
	set_end(&p, s);
	s = set_begin(&p, 256);
	p32(&p, 0x0a000001);
	p32(&p, 1500);
	p32(&p, 2500);
	set_end(&p, s);
	ipfix_end(&p);
	tctx_feed(&t, &p, 1, 4739, T0);
	ck_assert_int_eq(t.n, 1);
	ck_assert_uint_eq(t.flows[0].time_flow_start_ns, 1690000001500000000ull);
	ck_assert_uint_eq(t.flows[0].time_flow_end_ns, 1690000002500000000ull);
	tctx_fini(&t);
}
END_TEST

/* Two selectors with different rates (305/306 pair and 34), data records
 * naming their selector (302) get the matching rate. */
START_TEST(sampling_by_selector)
{
	struct tctx t;
	struct pkt p;
	size_t s;

	tctx_init(&t);
	ipfix_header(&p, 1700000000, 0, 5);
	s = set_begin(&p, 3);
	IPFIX_OPT_REC(&p, 300, 1,
	              302, 4, /* scope: selectorId */
	              305, 4,
	              306, 4);
	set_end(&p, s);
	s = set_begin(&p, 300);
	p32(&p, 1), p32(&p, 1), p32(&p, 99);   /* 1 in 100 */
	p32(&p, 2), p32(&p, 10), p32(&p, 990); /* 10 in 1000 = 1 in 100 too... */
	p32(&p, 3), p32(&p, 1), p32(&p, 1023); /* 1 in 1024 */
	set_end(&p, s);
	s = set_begin(&p, 2);
	TMPL_REC(&p, 256, 8, 4, 302, 4);
	set_end(&p, s);
	s = set_begin(&p, 256);
	p32(&p, 0x0a000001), p32(&p, 3);
	p32(&p, 0x0a000002), p32(&p, 1);
	p32(&p, 0x0a000003), p32(&p, 77); /* unknown selector */
	set_end(&p, s);
	ipfix_end(&p);
	tctx_feed(&t, &p, 1, 4739, T0);
	ck_assert_int_eq(t.n, 3);
	ck_assert_uint_eq(t.flows[0].sampling_rate, 1024);
	ck_assert_uint_eq(t.flows[0].sampler_id, 3);
	ck_assert_uint_eq(t.flows[1].sampling_rate, 100);
	ck_assert_uint_eq(t.flows[2].sampling_rate, 0);
	ck_assert_uint_eq(metric(&t, "options_records_total", NULL), 3);
	tctx_fini(&t);
}
END_TEST

START_TEST(interface_names)
{
	struct tctx t;
	struct pkt p;
	size_t s;

	tctx_init(&t);
	ipfix_header(&p, 1700000000, 0, 0);
	s = set_begin(&p, 3);
	IPFIX_OPT_REC(&p, 300, 1, 10, 4, 82, 0xffff);
	set_end(&p, s);
	s = set_begin(&p, 300);
	p32(&p, 7), p8(&p, 9), pbytes(&p, "Gi0/0/0/1", 9);
	set_end(&p, s);
	s = set_begin(&p, 2);
	TMPL_REC(&p, 256, 8, 4, 10, 4);
	set_end(&p, s);
	s = set_begin(&p, 256);
	p32(&p, 0x0a000001), p32(&p, 7);
	set_end(&p, s);
	ipfix_end(&p);
	tctx_feed(&t, &p, 1, 4739, T0);
	ck_assert_int_eq(t.n, 1);
	ck_assert_str_eq(t.in_names[0], "Gi0/0/0/1");
	tctx_fini(&t);
}
END_TEST

START_TEST(two_messages_in_one_datagram)
{
	struct tctx t;
	struct pkt p, q;

	tctx_init(&t);
	ipfix_header(&p, 1700000000, 0, 0);
	one_field_tmpl(&p, 256, 7, 2);
	ipfix_end(&p);
	ipfix_header(&q, 1700000000, 0, 0);
	{
		size_t s = set_begin(&q, 256);

		p32(&q, 0x0a000001);
		p16(&q, 99);
		set_end(&q, s);
	}
	ipfix_end(&q);
	pbytes(&p, q.b, q.n);
	tctx_feed(&t, &p, 1, 4739, T0);
	ck_assert_int_eq(t.n, 1);
	ck_assert_uint_eq(t.flows[0].src_port, 99);
	tctx_fini(&t);
}
END_TEST

/* Malformed inputs: each must be rejected with an error, emit nothing it
 * cannot justify, and not read out of bounds (ASan/UBSan builds). */
struct bad_case {
	const char *name;
	uint8_t b[64];
	size_t n;
};

static const struct bad_case bad[] = {
	{"short header", {0, 10, 0, 16, 0, 0}, 6},
	{"length below header", {0, 10, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 16},
	{"set length 2", {0, 10, 0, 24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2, 0, 0, 0, 0},
	 24},
	{"template field count past set",
	 {0, 10, 0, 28, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 12, 1, 0, 0, 200, 0, 8, 0, 4},
	 28},
	{"options scope count 0",
	 {0, 10, 0, 30, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 14, 1, 0, 0, 1, 0, 0, 0, 8, 0,
	  4},
	 30},
	{"options scope count > field count",
	 {0, 10, 0, 30, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 14, 1, 0, 0, 1, 0, 2, 0, 8, 0,
	  4},
	 30},
	{"enterprise bit without PEN",
	 {0, 10, 0, 28, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 12, 1, 0, 0, 1, 0x80, 8, 0, 4},
	 28},
	{"template id below 256",
	 {0, 10, 0, 28, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 12, 0, 9, 0, 1, 0, 8, 0, 4},
	 28},
	{"set past message", {0, 10, 0, 24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 80, 0, 0, 0, 0},
	 24},
};

START_TEST(malformed_table)
{
	expect_refused(bad[_i].name, bad[_i].b, bad[_i].n, 4739, T0);
}
END_TEST

/* A varlen field whose length runs past the set: the record is dropped. */
START_TEST(varlen_past_set)
{
	struct tctx t;
	struct pkt p;
	size_t s;

	tctx_init(&t);
	ipfix_header(&p, 1700000000, 0, 0);
	one_field_tmpl(&p, 256, 82, 0xffff);
	s = set_begin(&p, 256);
	p32(&p, 0x0a000001);
	p8(&p, 255), p16(&p, 1000), p8(&p, 'x');
	set_end(&p, s);
	ipfix_end(&p);
	ck_assert_int_eq(tctx_feed(&t, &p, 1, 4739, T0), FC_ETRUNC);
	ck_assert_int_eq(t.n, 0);
	ck_assert_uint_eq(metric(&t, "records_truncated_total", NULL), 1);
	tctx_fini(&t);
}
END_TEST

static Suite *ipfix_suite(void)
{
	Suite *s = suite_create("ipfix");
	TCase *tc;

	tc = tcase_create("fields");
	tcase_add_loop_test(tc, reduced_size_counters, 1, 9);
	tcase_add_test(tc, unexpected_length_counted);
	tcase_add_test(tc, varlen_and_enterprise);
	suite_add_tcase(s, tc);
	tc = tcase_create("biflow");
	tcase_add_test(tc, biflow_reverse);
	suite_add_tcase(s, tc);
	tc = tcase_create("time");
	tcase_add_loop_test(tc, time_forms, 0, sizeof(time_cases) / sizeof(time_cases[0]));
	tcase_add_test(tc, sysuptime_with_init_time);
	suite_add_tcase(s, tc);
	tc = tcase_create("options");
	tcase_add_test(tc, sampling_by_selector);
	tcase_add_test(tc, interface_names);
	suite_add_tcase(s, tc);
	tc = tcase_create("header");
	tcase_add_test(tc, two_messages_in_one_datagram);
	suite_add_tcase(s, tc);
	tc = tcase_create("malformed");
	tcase_add_loop_test(tc, malformed_table, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, varlen_past_set);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fc_check_run(ipfix_suite());
}
