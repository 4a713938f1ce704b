/*
 * Unit tests for the template store (src/template/) driven through the
 * decoders with packets built here: scoping by port and observation
 * domain, --template-ignore-port, withdrawal (one / all), TTL expiry, caps
 * (fields, templates per session, sessions), zero-length templates, data
 * held before its template (released, aged out, over the byte cap, given up
 * at exit, holding off), persistence, sequence accounting (also after held
 * data is released); and the session table itself (deletion keeps every
 * other session reachable). Bounded state: a burst of one-off sessions
 * never locks a new exporter out (LRU eviction), the memory budget holds
 * under a flood of wide templates and held data, and everything accounted
 * is given back. The template file: damaged, truncated, foreign and
 * half-good files refused whole and moved aside, stale temporary files
 * removed, several files merged.
 */
#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>
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


static uint64_t ipfix_flows(struct tctx *t)
{
	return metric(t, "flows_decoded_total", "proto=\"ipfix\"");
}

/* n records of template 256 in one message. */
static void msg_data_n(struct pkt *p, uint32_t domain, uint32_t seq, unsigned n)
{
	size_t s;

	ipfix_header(p, 1700000000, seq, domain);
	s = set_begin(p, 256);
	for (unsigned i = 0; i < n; i++)
		rec256(p, (uint16_t)i, 100);
	set_end(p, s);
	ipfix_end(p);
}

/* A new exporter announces its template, then sends 30,000 flows. */
static void new_exporter_decodes_all(struct tctx *t, uint8_t host, uint64_t now)
{
	struct pkt p;
	uint64_t before = ipfix_flows(t);

	msg_tmpl(&p, 1);
	ck_assert_int_eq(tctx_feed(t, &p, host, 4739, now), 0);
	msg_data_n(&p, 1, 0, 100); /* built once (Check asserts on every byte) */
	for (unsigned i = 0; i < 300; i++) {
		uint32_t seq = i * 100;

		p.b[8] = (uint8_t)(seq >> 24);
		p.b[9] = (uint8_t)(seq >> 16);
		p.b[10] = (uint8_t)(seq >> 8);
		p.b[11] = (uint8_t)seq;
		if (tctx_feed(t, &p, host, 4739, now) != 0)
			ck_abort_msg("message %u refused", i);
	}
	ck_assert_uint_eq(ipfix_flows(t) - before, 30000);
}

/* Issue 9: a burst of 8,192 one-off template sessions (the default session
 * cap) used to lock every later exporter out, until a day after the
 * burst's templates had expired. The idlest session now makes room. */
START_TEST(burst_never_locks_out_a_new_exporter)
{
	struct tctx t;
	struct pkt p;

	tctx_init(&t); /* the binary's defaults: 8192 sessions, TTL 1800 s */
	msg_tmpl(&p, 1);
	for (unsigned i = 0; i < 8192; i++)
		if (tctx_feed(&t, &p, 1, (uint16_t)(10000 + i), T0) != 0)
			ck_abort_msg("burst session %u refused", i);
	ck_assert_uint_eq(fc_tmpl_session_count(fc_decoder_templates(t.d)), 8192);
	/* right after the burst */
	new_exporter_decodes_all(&t, 2, T0 + SEC);
	ck_assert_uint_eq(metric(&t, "template_sessions_evicted_total", "reason=\"session_cap\""),
			  1);
	ck_assert_uint_eq(metric(&t, "template_sessions_rejected_total", "reason=\"session_cap\""),
			  0);
	/* after the burst's templates expired */
	fc_decoder_tick(t.d, T0 + 3600 * SEC);
	ck_assert_uint_ge(metric(&t, "templates_expired_total", NULL), 8191);
	new_exporter_decodes_all(&t, 3, T0 + 3601 * SEC);
	ck_assert_uint_eq(fc_tmpl_session_count(fc_decoder_templates(t.d)), 8192);
	tctx_fini(&t);
}
END_TEST

/* IPFIX template id with n one-byte fields (paddingOctets, IE 210). */
static void wide_tmpl(struct pkt *p, uint16_t id, unsigned n)
{
	size_t s = set_begin(p, 2);

	p16(p, id);
	p16(p, n);
	for (unsigned i = 0; i < n; i++) {
		p16(p, 210);
		p16(p, 1);
	}
	set_end(p, s);
}

/* Issue 9: one budget for templates, options state and held data. A flood
 * of 2,000 sessions, each with a 512-field template (~8 KB) and 4 KB held
 * for a template that never comes, against a 1 MiB budget: the accounted
 * total never exceeds it, the excess is given up and evicted (counted),
 * a new exporter still decodes, and all of it is given back. */
START_TEST(memory_budget_under_a_flood)
{
	const size_t budget = 1u << 20;
	const struct fc_tmpl_store *st;
	struct tctx t;
	struct pkt p;
	size_t peak = 0, set;

	tctx_zero(&t);
	t.cfg.template_memory = budget;
	tctx_start(&t);
	st = fc_decoder_templates(t.d);
	ipfix_header(&p, 1700000000, 0, 1);
	wide_tmpl(&p, 256, 512);
	set = set_begin(&p, 999); /* its template never comes: held */
	for (unsigned k = 0; k < 1000; k++)
		p32(&p, k);
	set_end(&p, set);
	ipfix_end(&p);
	for (unsigned i = 0; i < 2000; i++) {
		tctx_feed(&t, &p, (uint8_t)(1 + i % 200), (uint16_t)(2000 + i / 200),
			  T0 + i * 1000000ull);
		if (fc_tmpl_store_memory(st) > budget ||
		    metric(&t, "template_memory_bytes", NULL) != fc_tmpl_store_memory(st))
			ck_abort_msg("after %u: %zu bytes accounted, gauge %llu, budget %zu", i,
				     fc_tmpl_store_memory(st),
				     (unsigned long long)metric(&t, "template_memory_bytes", NULL),
				     budget);
		if (fc_tmpl_store_memory(st) > peak)
			peak = fc_tmpl_store_memory(st);
	}
	ck_assert_uint_gt(peak, budget - 16384); /* the budget was used, not a smaller cap */
	ck_assert_uint_gt(metric(&t, "data_sets_given_up_total", "reason=\"memory\""), 0);
	ck_assert_uint_gt(metric(&t, "template_sessions_evicted_total", "reason=\"memory\""), 0);
	ck_assert_uint_gt(metric(&t, "templates_evicted_total", NULL), 0);
	ck_assert_uint_lt(fc_tmpl_session_count(st), 2000);
	/* a new exporter is not locked out by the full budget */
	msg_tmpl(&p, 1);
	tctx_feed(&t, &p, 250, 4739, T0 + 3 * SEC);
	msg_data(&p, 1, 0, 4242);
	ck_assert_int_eq(tctx_feed(&t, &p, 250, 4739, T0 + 3 * SEC), 0);
	ck_assert_int_eq(t.n, 1);
	ck_assert_uint_le(fc_tmpl_store_memory(st), budget);
	/* everything given back once it has all expired */
	fc_decoder_tick(t.d, T0 + 3 * 86400 * SEC);
	ck_assert_uint_eq(fc_tmpl_session_count(st), 0);
	ck_assert_uint_eq(fc_tmpl_store_memory(st), 0);
	ck_assert_uint_eq(metric(&t, "template_memory_bytes", NULL), 0);
	tctx_fini(&t);
}
END_TEST

/* Held data alone never evicts a session with templates. */
START_TEST(memory_held_data_never_evicts)
{
	struct tctx t;
	struct pkt p;

	tctx_zero(&t);
	t.cfg.template_memory = 64 * 1024;
	tctx_start(&t);
	size_t s;

	msg_tmpl(&p, 1);
	tctx_feed(&t, &p, 1, 1000, T0);
	ipfix_header(&p, 1700000000, 0, 1);
	s = set_begin(&p, 999);
	for (unsigned k = 0; k < 500; k++)
		p32(&p, k);
	set_end(&p, s);
	ipfix_end(&p);
	for (unsigned i = 0; i < 200; i++) {
		tctx_feed(&t, &p, 2, (uint16_t)(3000 + i % 4), T0 + SEC);
		if (fc_tmpl_store_memory(fc_decoder_templates(t.d)) > 64 * 1024)
			ck_abort_msg("over the budget after %u", i);
	}
	ck_assert_uint_gt(metric(&t, "data_sets_given_up_total", "reason=\"memory\""), 0);
	ck_assert_uint_eq(metric(&t, "template_sessions_evicted_total", "reason=\"memory\""), 0);
	msg_data(&p, 1, 0, 7);
	tctx_feed(&t, &p, 1, 1000, T0 + 2 * SEC);
	ck_assert_int_eq(t.n, 1);
	tctx_fini(&t);
}
END_TEST

/* Held data that could not fit even if every held set were given up is
 * refused alone: nothing else is given up in vain. */
START_TEST(memory_hold_refused_without_collateral)
{
	const size_t budget = 64 * 1024, hsz = sizeof(struct fc_tmpl_held);
	const struct fc_tmpl_store *st;
	struct tctx t;
	struct pkt p;
	size_t set, mem, floor, big;

	tctx_zero(&t);
	t.cfg.template_memory = budget;
	tctx_start(&t);
	st = fc_decoder_templates(t.d);
	ipfix_header(&p, 1700000000, 0, 1);
	wide_tmpl(&p, 256, 512); /* ~8 KB each: 7 fill most of the budget */
	ipfix_end(&p);
	for (uint8_t host = 1; host <= 7; host++)
		ck_assert_int_eq(tctx_feed(&t, &p, host, 1000, T0 + host), 0);
	ck_assert_uint_eq(metric(&t, "template_sessions_evicted_total", "reason=\"memory\""), 0);
	ipfix_header(&p, 1700000000, 0, 1);
	set = set_begin(&p, 999);
	for (unsigned k = 0; k < 250; k++)
		p32(&p, k);
	set_end(&p, set);
	ipfix_end(&p);
	tctx_feed(&t, &p, 20, 1000, T0 + 10);
	tctx_feed(&t, &p, 20, 1000, T0 + 11);
	ck_assert_uint_eq(metric(&t, "data_sets_held_total", NULL), 2);
	mem = fc_tmpl_store_memory(st);
	floor = mem - 2 * (hsz + 1000);
	big = (budget - floor - hsz + 8) & ~(size_t)3; /* fits only past the floor */
	ck_assert_uint_gt(big, 1000);
	ck_assert_uint_lt(big, 7000);
	ipfix_header(&p, 1700000000, 0, 1);
	set = set_begin(&p, 999);
	for (unsigned k = 0; k < big / 4; k++)
		p32(&p, k);
	set_end(&p, set);
	ipfix_end(&p);
	ck_assert_int_eq(tctx_feed(&t, &p, 20, 1000, T0 + 12), FC_ENOTEMPLATE);
	ck_assert_uint_eq(metric(&t, "data_sets_given_up_total", "reason=\"memory\""), 1);
	ck_assert_uint_eq(metric(&t, "data_sets_held_total", NULL), 2);
	ck_assert_uint_eq(fc_tmpl_store_memory(st), mem);
	tctx_fini(&t);
}
END_TEST

/* Options state (interface names, samplers) grows within the budget too,
 * and what it cannot keep is counted. */
START_TEST(memory_options_state_within_budget)
{
	struct fc_config cfg;
	struct fc_metrics *m = fc_metrics_new();
	struct fc_tmpl_hooks hooks = {.resolve = resolve_none};
	struct fc_tmpl_store *e;
	struct fc_tmpl_key k = {.version = 10, .port = 4739, .domain = 1};
	struct fc_tmpl_session *s;
	int err = 0, refused = 0;

	fc_config_init(&cfg);
	cfg.template_memory = 64 * 1024;
	e = fc_tmpl_store_new(&cfg, m, &hooks);
	ck_assert_ptr_nonnull(e);
	k.addr.family = 4;
	k.addr.a[0] = 10;
	s = fc_tmpl_session_get(e, &k, T0, &err);
	ck_assert_ptr_nonnull(s);
	for (uint32_t i = 0; i < 4096; i++) {
		if (fc_tmpl_set_ifname(s, i + 1, (const uint8_t *)"eth0", 4) == FC_ELIMIT)
			refused++;
		ck_assert_uint_le(fc_tmpl_store_memory(e), 64 * 1024);
	}
	for (uint64_t i = 0; i < 300; i++)
		fc_tmpl_set_sampling(s, true, i, 100 + i);
	ck_assert_int_gt(refused, 0);
	ck_assert_uint_ge(fc_metrics_get(m, "options_state_refused_total", "reason=\"memory\""),
			  (uint64_t)refused);
	ck_assert_str_eq(fc_tmpl_ifname(s, 1), "eth0");
	ck_assert_uint_eq(fc_tmpl_sampling_rate(s, true, 3), 103);
	ck_assert_uint_le(fc_tmpl_store_memory(e), 64 * 1024);
	ck_assert_uint_eq(fc_tmpl_store_memory(e), fc_tmpl_session_bytes(s));
	fc_tmpl_store_free(e);
	fc_metrics_free(m);
	fc_config_fini(&cfg);
}
END_TEST

/* --- the template file --- */

struct tdir {
	char dir[64];
	char path[128];
};

static void tdir_make(struct tdir *d)
{
	strcpy(d->dir, "/tmp/fc_tmplfile_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(d->dir));
	snprintf(d->path, sizeof(d->path), "%s/templates", d->dir);
}

static void tdir_remove(struct tdir *d)
{
	DIR *dir = opendir(d->dir);
	struct dirent *de;
	char full[512];

	while (dir && (de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (snprintf(full, sizeof(full), "%s/%s", d->dir, de->d_name) < (int)sizeof(full))
			unlink(full);
	}
	if (dir)
		closedir(dir);
	rmdir(d->dir);
}

/* Name of the one entry starting with prefix (empty when none); count. */
static int tdir_find(const struct tdir *d, const char *prefix, char *out, size_t len)
{
	DIR *dir = opendir(d->dir);
	struct dirent *de;
	int n = 0;

	out[0] = '\0';
	while (dir && (de = readdir(dir)) != NULL) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
			continue;
		if (snprintf(out, len, "%s/%s", d->dir, de->d_name) < (int)len)
			n++;
	}
	if (dir)
		closedir(dir);
	return n;
}

static size_t read_all(const char *path, uint8_t *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

static void write_all(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

/* Saves template 256 of exporter host (port 1000, domain 1) to path. */
static void save_one(const char *path, uint8_t host, unsigned workers, unsigned worker)
{
	struct tctx t;
	struct pkt p;

	tctx_zero(&t);
	t.cfg.template_file = strdup(path);
	t.cfg.workers = workers;
	tctx_start(&t);
	fc_decoder_set_worker(t.d, worker);
	msg_tmpl(&p, 1);
	tctx_feed(&t, &p, host, 1000, T0);
	fc_decoder_finish(t.d);
	ck_assert_uint_eq(metric(&t, "template_file_saves_total", NULL), 1);
	tctx_fini(&t);
}

/* Starts on path; returns flows decoded from a data message of host
 * (0: its template was not loaded). Counters through *out_refused. */
static int start_and_decode(const char *path, uint8_t host, unsigned workers,
			    uint64_t *out_refused, uint64_t *out_loaded)
{
	struct tctx t;
	struct pkt p;
	int n;

	tctx_zero(&t);
	t.cfg.template_file = strdup(path);
	t.cfg.workers = workers;
	tctx_start(&t);
	msg_data(&p, 1, 0, 4242);
	tctx_feed(&t, &p, host, 1000, T0 + SEC);
	n = t.n;
	*out_refused = metric(&t, "template_file_refused_total", NULL);
	*out_loaded = metric(&t, "template_file_loads_total", NULL);
	fc_decoder_finish(t.d);
	tctx_fini(&t);
	return n;
}

enum damage { FLIP, HALF, APPEND, FOREIGN, OTHER_VERSION, HALF_GOOD_V1, N_DAMAGE };

/* Issue 9: a damaged or foreign file is refused whole (nothing of it is
 * used), counted, moved aside as PATH.bad-<time> with its bytes intact,
 * and the next save writes a fresh PATH instead of overwriting it. */
START_TEST(file_refused_whole_and_moved_aside)
{
	int kind = _i;
	struct tdir d;
	uint8_t good[4096], bad[8192], kept[8192];
	size_t n, bn = 0;
	char aside[256];
	uint64_t refused, loaded;

	tdir_make(&d);
	save_one(d.path, 1, 1, 0);
	n = read_all(d.path, good, sizeof(good));
	ck_assert_uint_gt(n, 20);
	ck_assert_int_eq(memcmp(good, "FCTMPL02", 8), 0);
	memcpy(bad, good, n);
	switch (kind) {
	case FLIP:
		bad[n / 2] ^= 0x20; /* one bit in the body */
		bn = n;
		break;
	case HALF:
		bn = n / 2;
		break;
	case APPEND:
		bad[n] = 0;
		bn = n + 1;
		break;
	case FOREIGN:
		srand(9);
		for (bn = 0; bn < 4096; bn++)
			bad[bn] = (uint8_t)rand();
		break;
	case OTHER_VERSION:
		bad[7] = '9';
		bn = n;
		break;
	case HALF_GOOD_V1:
		/* version 01 has no checksum: a good session followed by a
		 * damaged one must not be half applied */
		memcpy(bad, "FCTMPL01", 8);
		memcpy(bad + 8, good + 12, n - 20 - 1); /* the body without 'E' */
		bn = 8 + n - 21;
		memcpy(bad + bn, "S\x0a\x04\x01\x02", 5);
		bn += 5;
		break;
	}
	write_all(d.path, bad, bn);
	ck_assert_int_eq(start_and_decode(d.path, 1, 1, &refused, &loaded), 0);
	ck_assert_uint_eq(refused, 1);
	ck_assert_uint_eq(loaded, 0);
	/* moved aside, bytes intact, a fresh file saved beside it */
	ck_assert_int_eq(tdir_find(&d, "templates.bad-", aside, sizeof(aside)), 1);
	ck_assert_uint_eq(read_all(aside, kept, sizeof(kept)), bn);
	ck_assert_int_eq(memcmp(kept, bad, bn), 0);
	ck_assert_int_eq(access(d.path, F_OK), 0);
	ck_assert_int_eq(start_and_decode(d.path, 1, 1, &refused, &loaded), 0);
	ck_assert_uint_eq(refused, 0);
	ck_assert_uint_eq(loaded, 1);
	ck_assert_int_eq(tdir_find(&d, "templates.bad-", aside, sizeof(aside)), 1);
	tdir_remove(&d);
}
END_TEST

/* The same file cut at every length: refused each time, never half used. */
START_TEST(file_truncated_at_every_length)
{
	struct tdir d;
	uint8_t good[4096];
	size_t n;
	char aside[256];
	uint64_t refused, loaded;

	tdir_make(&d);
	save_one(d.path, 1, 1, 0);
	n = read_all(d.path, good, sizeof(good));
	for (size_t cut = 0; cut < n; cut++) {
		write_all(d.path, good, cut);
		ck_assert_int_eq(start_and_decode(d.path, 1, 1, &refused, &loaded), 0);
		ck_assert_msg(refused == 1 && loaded == 0, "cut at %zu: accepted", cut);
		ck_assert_int_eq(tdir_find(&d, "templates.bad-", aside, sizeof(aside)), 1);
		unlink(aside);
	}
	write_all(d.path, good, n);
	ck_assert_int_eq(start_and_decode(d.path, 1, 1, &refused, &loaded), 1);
	ck_assert_uint_eq(loaded, 1);
	tdir_remove(&d);
}
END_TEST

/* Temporary files of a killed save go at start; nothing else does. */
START_TEST(file_stale_temporaries_removed)
{
	struct tdir d;
	char path[256], found[256];
	uint8_t junk[4096];
	struct tctx t;
	static const char *const stale[] = {".tmp-Ab3dE9", ".w1.tmp-x0X0x0"};
	static const char *const keep[] = {".backup", ".tmp-short", ".notes.txt", ".Ab3dE9"};

	tdir_make(&d);
	memset(junk, 0x5a, sizeof(junk));
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s%s", d.path, stale[i]);
		write_all(path, junk, sizeof(junk));
	}
	/* a temporary of the former naming (PATH.XXXXXX) that is ours */
	snprintf(path, sizeof(path), "%s.Q1w2E3", d.path);
	write_all(path, "FCTMPL01S", 9);
	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s%s", d.path, keep[i]);
		write_all(path, junk, sizeof(junk));
	}
	tctx_zero(&t);
	t.cfg.template_file = strdup(d.path);
	tctx_start(&t);
	ck_assert_uint_eq(metric(&t, "template_file_stale_removed_total", NULL), 3);
	ck_assert_uint_eq(metric(&t, "template_file_refused_total", NULL), 0);
	tctx_fini(&t);
	ck_assert_int_eq(tdir_find(&d, "templates.tmp-A", found, sizeof(found)), 0);
	ck_assert_int_eq(tdir_find(&d, "templates.w1.tmp-", found, sizeof(found)), 0);
	ck_assert_int_eq(tdir_find(&d, "templates.Q1w2E3", found, sizeof(found)), 0);
	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s%s", d.path, keep[i]);
		ck_assert_msg(access(path, F_OK) == 0, "%s removed", keep[i]);
	}
	tdir_remove(&d);
}
END_TEST

/* Several workers: each saves PATH.wN, every worker loads all files (an
 * exporter may land on another worker after a restart), and the files of
 * a former worker count are merged in and then removed. */
START_TEST(file_per_worker_merged_at_start)
{
	struct tdir d, src;
	char w0[160], w5[160], w1[160], name[160];
	uint64_t refused, loaded;

	tdir_make(&d);
	tdir_make(&src); /* each file written alone, then put in place */
	snprintf(w0, sizeof(w0), "%s.w0", d.path);
	snprintf(w1, sizeof(w1), "%s.w1", d.path);
	snprintf(w5, sizeof(w5), "%s.w5", d.path);
	save_one(src.path, 1, 2, 0); /* worker 0 of 2: exporter 1 */
	snprintf(name, sizeof(name), "%s.w0", src.path);
	ck_assert_int_ne(access(src.path, F_OK), 0);
	ck_assert_int_eq(rename(name, w0), 0);
	save_one(src.path, 2, 6, 5); /* worker 5 of a former 6: exporter 2 */
	snprintf(name, sizeof(name), "%s.w5", src.path);
	ck_assert_int_eq(rename(name, w5), 0);
	save_one(src.path, 3, 1, 0); /* a former single worker: exporter 3 */
	ck_assert_int_eq(rename(src.path, d.path), 0);
	tdir_remove(&src);
	/* worker 1 of 2 starts with all three files (then its own too): every
	 * exporter decodes */
	for (uint8_t host = 1; host <= 3; host++) {
		struct tctx t;
		struct pkt p;

		tctx_zero(&t);
		t.cfg.template_file = strdup(d.path);
		t.cfg.workers = 2;
		tctx_start(&t);
		fc_decoder_set_worker(t.d, 1);
		ck_assert_uint_eq(metric(&t, "template_file_loads_total", NULL), host == 1 ? 3 : 4);
		msg_data(&p, 1, 0, 4242);
		tctx_feed(&t, &p, host, 1000, T0 + SEC);
		ck_assert_int_eq(t.n, 1);
		fc_decoder_finish(t.d); /* worker 1 saves PATH.w1, removes nothing */
		tctx_fini(&t);
	}
	ck_assert_int_eq(access(w1, F_OK), 0);
	ck_assert_int_eq(access(w5, F_OK), 0);
	/* worker 0's first save removes the former count's files */
	ck_assert_int_eq(start_and_decode(d.path, 2, 2, &refused, &loaded), 1);
	ck_assert_int_ne(access(w5, F_OK), 0);
	ck_assert_int_ne(access(d.path, F_OK), 0);
	ck_assert_int_eq(access(w0, F_OK), 0);
	/* what they held lives on in the current files */
	for (uint8_t host = 1; host <= 3; host++) {
		ck_assert_int_eq(start_and_decode(d.path, host, 2, &refused, &loaded), 1);
		ck_assert_uint_eq(loaded, 2);
	}
	tdir_remove(&d);
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
	tcase_add_loop_test(tc, file_refused_whole_and_moved_aside, 0, N_DAMAGE);
	tcase_add_test(tc, file_truncated_at_every_length);
	tcase_add_test(tc, file_stale_temporaries_removed);
	tcase_add_test(tc, file_per_worker_merged_at_start);
	suite_add_tcase(s, tc);
	tc = tcase_create("bounded");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, burst_never_locks_out_a_new_exporter);
	tcase_add_test(tc, memory_budget_under_a_flood);
	tcase_add_test(tc, memory_held_data_never_evicts);
	tcase_add_test(tc, memory_hold_refused_without_collateral);
	tcase_add_test(tc, memory_options_state_within_budget);
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
