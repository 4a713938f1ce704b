/*
 * Unit tests for the template store (src/template/) driven through the
 * decoders with packets built here: scoping by port and observation
 * domain, --template-ignore-port, withdrawal (one / all), TTL expiry, caps
 * (fields, templates per session, sessions), zero-length templates, data
 * held before its template (released, aged out, over the byte cap, given up
 * at exit, holding off), persistence, sequence accounting (also after held
 * data is released); and the session table itself (deletion keeps every
 * other session reachable).
 */
#include <stdio.h>
#include <unistd.h>

#include "nfx_build.h"
#include "template/store.h"

/* IPFIX template 256: src4, dst4, sport, dport, proto, octets(4), packets(4) */
static void tmpl256(struct pkt *p)
{
	size_t s = set_begin(p, 2);

	TMPL_REC(p, 256, 8, 4, 12, 4, 7, 2, 11, 2, 4, 1, 1, 4, 2, 4);
	set_end(p, s);
}

static void rec256(struct pkt *p, uint16_t sport, uint32_t bytes)
{
	p32(p, 0x0a000001);
	p32(p, 0x0a000002);
	p16(p, sport);
	p16(p, 80);
	p8(p, 6);
	p32(p, bytes);
	p32(p, 1);
}

static void data256(struct pkt *p, uint16_t sport, uint32_t bytes)
{
	size_t s = set_begin(p, 256);

	rec256(p, sport, bytes);
	set_end(p, s);
}

static void msg_tmpl(struct pkt *p, uint32_t domain)
{
	ipfix_header(p, 1700000000, 0, domain);
	tmpl256(p);
	ipfix_end(p);
}

static void msg_data(struct pkt *p, uint32_t domain, uint32_t seq, uint16_t sport)
{
	ipfix_header(p, 1700000000, seq, domain);
	data256(p, sport, 100);
	ipfix_end(p);
}

START_TEST(scoped_by_port)
{
	struct tctx t;
	struct pkt p;

	tctx_init(&t);
	msg_tmpl(&p, 1);
	tctx_feed(&t, &p, 1, 1000, T0);
	msg_data(&p, 1, 0, 5555);
	tctx_feed(&t, &p, 1, 1001, T0); /* other port: other transport session */
	ck_assert_int_eq(t.n, 0);
	ck_assert_uint_eq(metric(&t, "data_sets_held_total", NULL), 1);
	tctx_feed(&t, &p, 1, 1000, T0);
	ck_assert_int_eq(t.n, 1);
	ck_assert_uint_eq(t.flows[0].src_port, 5555);
	ck_assert_uint_eq(t.flows[0].exporter_port, 1000);
	tctx_fini(&t);
}
END_TEST

START_TEST(ignore_port)
{
	struct tctx t;
	struct pkt p;

	tctx_zero(&t);
	t.cfg.template_ignore_port = true;
	tctx_start(&t);
	msg_tmpl(&p, 1);
	tctx_feed(&t, &p, 1, 1000, T0);
	msg_data(&p, 1, 0, 5555);
	tctx_feed(&t, &p, 1, 1001, T0);
	ck_assert_int_eq(t.n, 1);
	ck_assert_uint_eq(t.flows[0].exporter_port, 1001);
	tctx_fini(&t);
}
END_TEST

START_TEST(scoped_by_domain_and_address)
{
	struct tctx t;
	struct pkt p;

	tctx_init(&t);
	msg_tmpl(&p, 1);
	tctx_feed(&t, &p, 1, 1000, T0);
	msg_data(&p, 2, 0, 1);
	tctx_feed(&t, &p, 1, 1000, T0); /* other domain */
	tctx_feed(&t, &p, 2, 1000, T0); /* other exporter */
	ck_assert_int_eq(t.n, 0);
	msg_data(&p, 1, 0, 1);
	tctx_feed(&t, &p, 1, 1000, T0);
	ck_assert_int_eq(t.n, 1);
	ck_assert_uint_eq(t.flows[0].observation_domain_id, 1);
	tctx_fini(&t);
}
END_TEST

START_TEST(withdraw_one_and_all)
{
	struct tctx t;
	struct pkt p;
	size_t s;

	tctx_init(&t);
	msg_tmpl(&p, 1);
	tctx_feed(&t, &p, 1, 1000, T0);
	/* withdrawal: template record with field count 0 (RFC 7011 §8.1) */
	ipfix_header(&p, 1700000000, 0, 1);
	s = set_begin(&p, 2);
	p16(&p, 256);
	p16(&p, 0);
	set_end(&p, s);
	ipfix_end(&p);
	ck_assert_int_eq(tctx_feed(&t, &p, 1, 1000, T0), 0);
	ck_assert_uint_eq(metric(&t, "templates_withdrawn_total", NULL), 1);
	msg_data(&p, 1, 0, 1);
	tctx_feed(&t, &p, 1, 1000, T0);
	ck_assert_int_eq(t.n, 0); /* held, not decoded with a withdrawn template */

	/* re-announce (releases the held set), then withdraw all: id 2, count 0 */
	msg_tmpl(&p, 1);
	tctx_feed(&t, &p, 1, 1000, T0);
	ck_assert_int_eq(t.n, 1);
	ipfix_header(&p, 1700000000, 0, 1);
	s = set_begin(&p, 2);
	p16(&p, 2);
	p16(&p, 0);
	set_end(&p, s);
	ipfix_end(&p);
	tctx_feed(&t, &p, 1, 1000, T0);
	ck_assert_uint_eq(metric(&t, "templates_withdrawn_total", NULL), 2);
	msg_data(&p, 1, 0, 1);
	tctx_feed(&t, &p, 1, 1000, T0);
	ck_assert_int_eq(t.n, 1);
	tctx_fini(&t);
}
END_TEST

START_TEST(ttl_expiry)
{
	struct tctx t;
	struct pkt p;

	tctx_zero(&t);
	t.cfg.template_ttl = 10;
	tctx_start(&t);
	msg_tmpl(&p, 1);
	tctx_feed(&t, &p, 1, 1000, T0);
	fc_decoder_tick(t.d, T0 + 5 * SEC);
	msg_data(&p, 1, 0, 1);
	tctx_feed(&t, &p, 1, 1000, T0 + 5 * SEC);
	ck_assert_int_eq(t.n, 1);
	fc_decoder_tick(t.d, T0 + 20 * SEC);
	ck_assert_uint_eq(metric(&t, "templates_expired_total", NULL), 1);
	tctx_feed(&t, &p, 1, 1000, T0 + 20 * SEC);
	ck_assert_int_eq(t.n, 1);
	tctx_fini(&t);
}
END_TEST

START_TEST(cap_fields)
{
	struct tctx t;
	struct pkt p;

	tctx_zero(&t);
	t.cfg.template_max_fields = 4;
	tctx_start(&t);
	msg_tmpl(&p, 1); /* 7 fields */
	ck_assert_int_eq(tctx_feed(&t, &p, 1, 1000, T0), FC_ELIMIT);
	ck_assert_uint_eq(metric(&t, "templates_rejected_total", "reason=\"field_cap\""), 1);
	tctx_fini(&t);
}
END_TEST

START_TEST(cap_templates_and_sessions)
{
	struct tctx t;
	struct pkt p;
	size_t s;

	tctx_zero(&t);
	t.cfg.template_max_per_exporter = 1;
	t.cfg.template_max_exporters = 1;
	tctx_start(&t);
	ipfix_header(&p, 1700000000, 0, 1);
	tmpl256(&p);
	s = set_begin(&p, 2);
	TMPL_REC(&p, 257, 8, 4);
	set_end(&p, s);
	ipfix_end(&p);
	ck_assert_int_eq(tctx_feed(&t, &p, 1, 1000, T0), FC_ELIMIT);
	ck_assert_uint_eq(metric(&t, "templates_rejected_total", "reason=\"template_cap\""), 1);
	/* a second exporter past the session cap evicts the idlest session
	 * rather than being locked out (its own 257 still meets the template cap) */
	ck_assert_int_eq(tctx_feed(&t, &p, 2, 1000, T0 + SEC), FC_ELIMIT);
	ck_assert_uint_eq(metric(&t, "template_sessions_rejected_total", "reason=\"session_cap\""),
			  0);
	ck_assert_uint_eq(metric(&t, "template_sessions_evicted_total", "reason=\"session_cap\""),
			  1);
	ck_assert_uint_eq(metric(&t, "templates_evicted_total", NULL), 1);
	ck_assert_uint_eq(metric(&t, "templates_rejected_total", "reason=\"template_cap\""), 2);
	tctx_fini(&t);
}
END_TEST

START_TEST(zero_length_template_rejected)
{
	struct tctx t;
	struct pkt p;
	size_t s;

	tctx_init(&t);
	/* v9 template whose fields are all 0 bytes long: min record length 0 */
	v9_header(&p, 1000, 1700000000, 1, 0);
	s = set_begin(&p, 0);
	TMPL_REC(&p, 300, 1, 0, 2, 0);
	set_end(&p, s);
	s = set_begin(&p, 300);
	p32(&p, 0);
	set_end(&p, s);
	ck_assert_int_eq(tctx_feed(&t, &p, 1, 2055, T0), FC_EMALFORMED);
	ck_assert_uint_eq(metric(&t, "templates_rejected_total", "reason=\"zero_length\""), 1);
	ck_assert_int_eq(t.n, 0);
	tctx_fini(&t);
}
END_TEST

START_TEST(held_then_released)
{
	struct tctx t;
	struct pkt p;

	tctx_init(&t);
	msg_data(&p, 1, 7, 1111);
	ck_assert_int_eq(tctx_feed(&t, &p, 1, 1000, T0), 0);
	msg_data(&p, 1, 8, 2222);
	tctx_feed(&t, &p, 1, 1000, T0 + 1);
	ck_assert_int_eq(t.n, 0);
	msg_tmpl(&p, 1);
	tctx_feed(&t, &p, 1, 1000, T0 + 2);
	ck_assert_int_eq(t.n, 2);
	/* in arrival order, each with its own message context */
	ck_assert_uint_eq(t.flows[0].src_port, 1111);
	ck_assert_uint_eq(t.flows[0].sequence_num, 7);
	ck_assert_uint_eq(t.flows[1].src_port, 2222);
	ck_assert_uint_eq(t.flows[1].time_received_ns, T0 + 1);
	ck_assert_uint_eq(metric(&t, "data_sets_released_total", NULL), 2);
	tctx_fini(&t);
}
END_TEST

START_TEST(held_aged_capped_and_given_up_at_exit)
{
	struct tctx t;
	struct pkt p;

	tctx_zero(&t);
	t.cfg.hold_seconds = 5;
	t.cfg.hold_bytes = 60; /* two 21-byte sets fit, not three */
	tctx_start(&t);
	msg_data(&p, 1, 0, 1);
	tctx_feed(&t, &p, 1, 1000, T0);
	fc_decoder_tick(t.d, T0 + 10 * SEC);
	ck_assert_uint_eq(metric(&t, "data_sets_given_up_total", "reason=\"age\""), 1);
	tctx_feed(&t, &p, 1, 1000, T0 + 10 * SEC);
	tctx_feed(&t, &p, 1, 1000, T0 + 10 * SEC);
	tctx_feed(&t, &p, 1, 1000, T0 + 10 * SEC);
	ck_assert_uint_eq(metric(&t, "data_sets_given_up_total", "reason=\"hold_bytes\""), 1);
	fc_decoder_finish(t.d);
	ck_assert_uint_eq(metric(&t, "data_sets_given_up_total", "reason=\"exit\""), 2);
	msg_tmpl(&p, 1);
	tctx_feed(&t, &p, 1, 1000, T0 + 11 * SEC);
	ck_assert_int_eq(t.n, 0);
	tctx_fini(&t);
}
END_TEST

START_TEST(persistence)
{
	char path[] = "/tmp/fc_tmpl_test_XXXXXX";
	int fd = mkstemp(path);
	struct tctx t;
	struct pkt p;
	size_t s;

	ck_assert_int_ge(fd, 0);
	close(fd);
	unlink(path);
	tctx_zero(&t);
	t.cfg.template_file = strdup(path);
	tctx_start(&t);
	/* template + options template with a session-wide sampling interval */
	ipfix_header(&p, 1700000000, 0, 1);
	tmpl256(&p);
	s = set_begin(&p, 3);
	IPFIX_OPT_REC(&p, 400, 1,
	              149, 4, /* scope: observationDomainId */
	              34, 4);
	set_end(&p, s);
	s = set_begin(&p, 400);
	p32(&p, 1);
	p32(&p, 512);
	set_end(&p, s);
	ipfix_end(&p);
	tctx_feed(&t, &p, 1, 1000, T0);
	fc_decoder_finish(t.d);
	ck_assert_uint_eq(metric(&t, "template_file_saves_total", NULL), 1);
	tctx_fini(&t);

	/* a restarted collector decodes data without waiting for templates */
	tctx_zero(&t);
	t.cfg.template_file = strdup(path);
	tctx_start(&t);
	ck_assert_uint_eq(metric(&t, "template_file_loads_total", NULL), 1);
	msg_data(&p, 1, 0, 4242);
	tctx_feed(&t, &p, 1, 1000, T0 + SEC);
	ck_assert_int_eq(t.n, 1);
	ck_assert_uint_eq(t.flows[0].src_port, 4242);
	ck_assert_uint_eq(t.flows[0].sampling_rate, 512);
	tctx_fini(&t);
	unlink(path);
}
END_TEST

START_TEST(persistence_damaged_file)
{
	char path[] = "/tmp/fc_tmpl_bad_XXXXXX";
	int fd = mkstemp(path);
	static const char junk[] = "FCTMPL01S\x0a\x04garbage";
	struct tctx t;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, junk, sizeof(junk) - 1), (ssize_t)(sizeof(junk) - 1));
	close(fd);
	tctx_zero(&t);
	t.cfg.template_file = strdup(path);
	tctx_start(&t);
	ck_assert_uint_eq(metric(&t, "template_file_errors_total", "op=\"load\""), 1);
	tctx_fini(&t);
	unlink(path);
}
END_TEST

START_TEST(sequence_v9_packets)
{
	struct tctx t;
	struct pkt p;
	static const uint32_t seqs[] = {10, 11, 14, 13, 0xffff0000u};

	tctx_init(&t);
	for (unsigned i = 0; i < 5; i++) {
		v9_header(&p, 1000, 1700000000, seqs[i], 3);
		tctx_feed(&t, &p, 1, 2055, T0);
	}
	ck_assert_uint_eq(metric(&t, "sequence_lost_packets_total", "proto=\"nf9\""), 2);
	ck_assert_uint_eq(metric(&t, "sequence_reordered_total", "proto=\"nf9\""), 1);
	/* far behind what was expected: an exporter restart */
	ck_assert_uint_eq(metric(&t, "sequence_resets_total", "proto=\"nf9\""), 1);
	tctx_fini(&t);
}
END_TEST

START_TEST(sequence_ipfix_records)
{
	struct tctx t;
	struct pkt p;
	size_t s;

	tctx_init(&t);
	/* seq 0 with template + 2 records: next expected 2 */
	ipfix_header(&p, 1700000000, 0, 1);
	tmpl256(&p);
	s = set_begin(&p, 256);
	rec256(&p, 1, 1);
	rec256(&p, 2, 1);
	set_end(&p, s);
	ipfix_end(&p);
	tctx_feed(&t, &p, 1, 1000, T0);
	msg_data(&p, 1, 2, 3); /* in order */
	tctx_feed(&t, &p, 1, 1000, T0);
	msg_data(&p, 1, 6, 4); /* 3..5 lost */
	tctx_feed(&t, &p, 1, 1000, T0);
	ck_assert_uint_eq(metric(&t, "sequence_lost_flows_total", "proto=\"ipfix\""), 3);
	msg_data(&p, 1, 100000, 4); /* gap */
	tctx_feed(&t, &p, 1, 1000, T0);
	msg_data(&p, 1, 5, 4); /* far back: exporter restart */
	tctx_feed(&t, &p, 1, 1000, T0);
	ck_assert_uint_eq(metric(&t, "sequence_resets_total", "proto=\"ipfix\""), 1);
	tctx_fini(&t);
}
END_TEST

/* IPFIX counts data records (RFC 7011 §3.1). A message whose data was held
 * cannot be counted; the message with the template that releases it must
 * not count the released records as its own. */
START_TEST(sequence_ipfix_after_release)
{
	struct tctx t;
	struct pkt p;

	tctx_init(&t);
	msg_data(&p, 1, 0, 1);    /* seq 0, one record, held */
	tctx_feed(&t, &p, 1, 1000, T0);
	msg_tmpl(&p, 1);          /* seq 1 (one record before it): releases it */
	p.b[8] = 0;
	p.b[11] = 1;
	tctx_feed(&t, &p, 1, 1000, T0 + 1);
	ck_assert_int_eq(t.n, 1);
	msg_data(&p, 1, 1, 2);    /* the template message carried no record */
	tctx_feed(&t, &p, 1, 1000, T0 + 2);
	msg_data(&p, 1, 2, 3);
	tctx_feed(&t, &p, 1, 1000, T0 + 3);
	msg_data(&p, 1, 5, 4);    /* 3 and 4 lost */
	tctx_feed(&t, &p, 1, 1000, T0 + 4);
	ck_assert_int_eq(t.n, 4);
	ck_assert_uint_eq(metric(&t, "sequence_lost_flows_total", "proto=\"ipfix\""), 2);
	ck_assert_uint_eq(metric(&t, "sequence_reordered_total", "proto=\"ipfix\""), 0);
	ck_assert_uint_eq(metric(&t, "sequence_resets_total", "proto=\"ipfix\""), 0);
	tctx_fini(&t);
}
END_TEST

/* --hold-seconds 0 (and --hold-bytes 0) hold nothing. */
START_TEST(hold_off)
{
	for (int which = 0; which < 2; which++) {
		struct tctx t;
		struct pkt p;

		tctx_zero(&t);
		if (which)
			t.cfg.hold_bytes = 0;
		else
			t.cfg.hold_seconds = 0;
		tctx_start(&t);
		msg_data(&p, 1, 0, 1);
		ck_assert_int_eq(tctx_feed(&t, &p, 1, 1000, T0), FC_ENOTEMPLATE);
		ck_assert_uint_eq(metric(&t, "data_sets_held_total", NULL), 0);
		ck_assert_uint_eq(metric(&t, "data_sets_given_up_total", "reason=\"hold_off\""), 1);
		msg_tmpl(&p, 1);
		tctx_feed(&t, &p, 1, 1000, T0 + 1);
		ck_assert_int_eq(t.n, 0);
		tctx_fini(&t);
	}
}
END_TEST

static void resolve_none(struct fc_tmpl *t)
{
	for (uint16_t i = 0; i < t->nfields; i++)
		t->f[i].ie = NULL;
}

/* The session table directly: 300 sessions (the table grows several
 * times), every third with a template; the idle empty ones expire. Each
 * survivor must still be found as the same session (backward-shift
 * deletion keeps probe runs whole), and nothing is re-created. */
START_TEST(session_table_delete_keeps_the_rest)
{
	struct fc_config cfg;
	struct fc_metrics *m = fc_metrics_new();
	struct fc_tmpl_hooks hooks = {.resolve = resolve_none};
	struct fc_tmpl_store *e;
	struct fc_tmpl_session *kept[300] = {0};
	size_t n_kept = 0;
	int err = 0;

	fc_config_init(&cfg);
	cfg.template_ttl = 0; /* templates never expire: only empty sessions go */
	e = fc_tmpl_store_new(&cfg, m, &hooks);
	ck_assert_ptr_nonnull(e);
	for (unsigned i = 0; i < 300; i++) {
		struct fc_tmpl_key k = {.version = 10, .port = (uint16_t)(1000 + i % 7), .domain = i};
		struct fc_tmpl_session *s;

		k.addr.family = 4;
		k.addr.a[0] = 10;
		k.addr.a[3] = (uint8_t)(i % 5);
		s = fc_tmpl_session_get(e, &k, T0, &err);
		ck_assert_ptr_nonnull(s);
		if (i % 3 == 0) {
			size_t cap;
			struct fc_tmpl *t = fc_tmpl_scratch(e, &cap);

			t->id = 256;
			t->nfields = 1;
			t->f[0].id = 8;
			t->f[0].len = 4;
			ck_assert_int_eq(fc_tmpl_add(e, s, t, T0), 0);
			ck_assert_uint_gt(fc_tmpl_session_bytes(s), 0);
			kept[n_kept++] = s;
		}
	}
	ck_assert_uint_eq(fc_tmpl_session_count(e), 300);
	fc_tmpl_expire(e, T0 + 2 * 86400 * SEC);
	ck_assert_uint_eq(fc_tmpl_session_count(e), n_kept);
	for (unsigned i = 0, j = 0; i < 300; i += 3, j++) {
		struct fc_tmpl_key k = {.version = 10, .port = (uint16_t)(1000 + i % 7), .domain = i};

		k.addr.family = 4;
		k.addr.a[0] = 10;
		k.addr.a[3] = (uint8_t)(i % 5);
		ck_assert_ptr_eq(fc_tmpl_session_get(e, &k, T0, &err), kept[j]);
		ck_assert_ptr_nonnull(fc_tmpl_find(kept[j], 256));
	}
	ck_assert_uint_eq(fc_tmpl_session_count(e), n_kept);
	fc_tmpl_store_free(e);
	fc_metrics_free(m);
	fc_config_fini(&cfg);
}
END_TEST

static Suite *template_suite(void)
{
	Suite *s = suite_create("template");
	TCase *tc;

	tc = tcase_create("scoping");
	tcase_add_test(tc, scoped_by_port);
	tcase_add_test(tc, ignore_port);
	tcase_add_test(tc, scoped_by_domain_and_address);
	suite_add_tcase(s, tc);
	tc = tcase_create("lifecycle");
	tcase_add_test(tc, withdraw_one_and_all);
	tcase_add_test(tc, ttl_expiry);
	suite_add_tcase(s, tc);
	tc = tcase_create("caps");
	tcase_add_test(tc, cap_fields);
	tcase_add_test(tc, cap_templates_and_sessions);
	tcase_add_test(tc, zero_length_template_rejected);
	suite_add_tcase(s, tc);
	tc = tcase_create("held");
	tcase_add_test(tc, held_then_released);
	tcase_add_test(tc, held_aged_capped_and_given_up_at_exit);
	tcase_add_test(tc, hold_off);
	suite_add_tcase(s, tc);
	tc = tcase_create("persistence");
	tcase_add_test(tc, persistence);
	tcase_add_test(tc, persistence_damaged_file);
	suite_add_tcase(s, tc);
	tc = tcase_create("sequence");
	tcase_add_test(tc, sequence_v9_packets);
	tcase_add_test(tc, sequence_ipfix_records);
	tcase_add_test(tc, sequence_ipfix_after_release);
	suite_add_tcase(s, tc);
	tc = tcase_create("session table");
	tcase_add_test(tc, session_table_delete_keeps_the_rest);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fc_check_run(template_suite());
}
