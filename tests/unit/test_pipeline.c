/*
 * The pipeline: sampling policy (--sampling-override / --sampling-default),
 * and that every decoded flow reaches every output, framed and keyed by its
 * exporter. A capturing output stands in for Kafka/files.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "decode/decode.h"
#include "encode/pb.h"
#include "fc/err.h"
#include "flow.pb-c.h"
#include "metrics/metrics.h"
#include "pipeline/pipeline.h"
#include <stdio.h>
#include <unistd.h>
#include "check_run.h"

#define MAX_MSGS 16

static struct {
	int n;
	uint64_t rate[MAX_MSGS];
	size_t key_len[MAX_MSGS];
	uint8_t key[MAX_MSGS][16];
	bool had_pb[MAX_MSGS];
	bool had_flow[MAX_MSGS];
	uint64_t pb_rate[MAX_MSGS]; /* sampling_rate in msg->pb, when set */
} cap;

static int cap_write(void *priv, const struct fc_msg *msg)
{
	uint64_t len;
	size_t hl = fc_pb_varint_decode(msg->framed, msg->framed_len, &len);
	Flowpb__FlowMessage *m;

	(void)priv;
	ck_assert_uint_gt(hl, 0);
	ck_assert_uint_eq(hl + len, msg->framed_len);
	m = flowpb__flow_message__unpack(NULL, len, msg->framed + hl);
	ck_assert_ptr_nonnull(m);
	if (cap.n < MAX_MSGS) {
		cap.rate[cap.n] = m->sampling_rate;
		cap.key_len[cap.n] = msg->key_len;
		memcpy(cap.key[cap.n], msg->key, msg->key_len);
		cap.had_pb[cap.n] = msg->pb != NULL;
		cap.had_flow[cap.n] = msg->flow != NULL;
		cap.pb_rate[cap.n] =
			msg->pb ? ((const Flowpb__FlowMessage *)(const void *)msg->pb)->sampling_rate : 0;
	}
	cap.n++;
	flowpb__flow_message__free_unpacked(m, NULL);
	return 0;
}

static const struct fc_output_ops cap_ops = {.name = "capture", .write = cap_write};
static const struct fc_output_ops cap_pb_ops = {
	.name = "capture-pb", .needs_pb = true, .write = cap_write};

/* One NetFlow v5 datagram with one record and the given header interval. */
static size_t v5(uint8_t *b, uint16_t interval)
{
	memset(b, 0, 72);
	b[1] = 5;
	b[3] = 1;
	b[22] = (uint8_t)(interval >> 8);
	b[23] = (uint8_t)interval;
	b[24 + 38] = 17; /* proto */
	return 72;
}

static uint64_t rate_for(const char *exporter, uint16_t interval, struct fc_config *cfg)
{
	struct fc_output_inst out = {.ops = &cap_ops};
	struct fc_metrics *m = fc_metrics_new();
	struct fc_pipeline *p = calloc(1, sizeof(*p));
	uint8_t b[72];
	struct fc_dgram g = {.data = b, .src_port = 2055, .time_ns = 1};
	char err[128];

	g.len = v5(b, interval);
	ck_assert_int_eq(fc_addr_parse(&g.src, exporter), 0);
	ck_assert_int_eq(fc_pipeline_init(p, cfg, m, &out, 1, err, sizeof(err)), 0);
	cap.n = 0;
	fc_pipeline_run(p, &g, 1);
	ck_assert_int_eq(cap.n, 1);
	ck_assert_uint_eq(cap.key_len[0], fc_addr_len(&g.src));
	ck_assert_mem_eq(cap.key[0], g.src.a, cap.key_len[0]);
	fc_pipeline_fini(p);
	free(p);
	fc_metrics_free(m);
	return cap.rate[0];
}

START_TEST(sampling_policy)
{
	struct fc_config cfg;

	fc_config_init(&cfg);
	/* Nothing configured: what the exporter said, or nothing. */
	ck_assert_uint_eq(rate_for("192.0.2.1", 0, &cfg), 0);
	ck_assert_uint_eq(rate_for("192.0.2.1", 100, &cfg), 100);
	/* A default fills in only where the exporter announced none. */
	cfg.sampling_default = 512;
	ck_assert_uint_eq(rate_for("192.0.2.1", 0, &cfg), 512);
	ck_assert_uint_eq(rate_for("192.0.2.1", 100, &cfg), 100);
	/* An override wins inside its prefix, and only there. */
	cfg.sampling_override.v[cfg.sampling_override.n++] = strdup("192.0.2.0/25=2000");
	cfg.sampling_override.v[cfg.sampling_override.n++] = strdup("2001:db8::/32=4000");
	ck_assert_uint_eq(rate_for("192.0.2.1", 100, &cfg), 2000);
	ck_assert_uint_eq(rate_for("192.0.2.200", 100, &cfg), 100);
	ck_assert_uint_eq(rate_for("192.0.2.200", 0, &cfg), 512);
	ck_assert_uint_eq(rate_for("2001:db8:1::1", 0, &cfg), 4000);
	ck_assert_uint_eq(rate_for("2001:db9::1", 7, &cfg), 7);
	fc_config_fini(&cfg);
}
END_TEST

/* The protobuf-c message is built only when an output asks for it
 * (needs_pb); every output gets the record and the same bytes. */
START_TEST(pb_built_only_when_asked)
{
	struct fc_output_inst outs[2] = {{.ops = &cap_ops}, {.ops = &cap_pb_ops}};
	struct fc_config cfg;
	struct fc_metrics *m = fc_metrics_new();
	struct fc_pipeline *p = calloc(1, sizeof(*p));
	uint8_t b[72];
	struct fc_dgram g = {.data = b, .src_port = 2055, .time_ns = 1};
	char err[128];

	fc_config_init(&cfg);
	g.len = v5(b, 100);
	ck_assert_int_eq(fc_addr_parse(&g.src, "192.0.2.1"), 0);
	for (size_t n = 1; n <= 2; n++) {
		ck_assert_int_eq(fc_pipeline_init(p, &cfg, m, outs, n, err, sizeof(err)), 0);
		cap.n = 0;
		fc_pipeline_run(p, &g, 1);
		ck_assert_int_eq(cap.n, (int)n);
		for (int i = 0; i < cap.n; i++) {
			ck_assert(cap.had_flow[i]);
			ck_assert(cap.had_pb[i] == (n == 2));
			ck_assert_uint_eq(cap.rate[i], 100);
			if (cap.had_pb[i])
				ck_assert_uint_eq(cap.pb_rate[i], 100);
		}
		fc_pipeline_fini(p);
	}
	free(p);
	fc_metrics_free(m);
	fc_config_fini(&cfg);
}
END_TEST

static const struct {
	const char *rule;
	int rc;
	unsigned len;
	uint64_t rate;
} rules[] = {
	{"10.0.0.0/8=100", 0, 8, 100},
	{"10.1.2.3=5", 0, 32, 5},
	{"2001:db8::/48=1000", 0, 48, 1000},
	{"::ffff:10.0.0.0/8=3", 0, 8, 3}, /* mapped: an IPv4 rule */
	{"10.0.0.0/33=1", FC_EINVAL, 0, 0},
	{"10.0.0.0/8=0", FC_EINVAL, 0, 0},
	{"10.0.0.0/8=", FC_EINVAL, 0, 0},
	{"10.0.0.0/8", FC_EINVAL, 0, 0},
	{"host.example=10", FC_EINVAL, 0, 0},
	{"10.0.0.0/x=10", FC_EINVAL, 0, 0},
	{"10.0.0.0/8=10x", FC_EINVAL, 0, 0},
};

START_TEST(rule_parsing)
{
	struct fc_sampling_rule r;
	int rc = fc_sampling_rule_parse(rules[_i].rule, &r);

	ck_assert_msg(rc == rules[_i].rc, "%s: rc %d", rules[_i].rule, rc);
	if (rc == 0) {
		ck_assert_uint_eq(r.len, rules[_i].len);
		ck_assert_uint_eq(r.rate, rules[_i].rate);
	}
}
END_TEST

START_TEST(bad_override_refused_at_start)
{
	struct fc_config cfg;
	struct fc_metrics *m = fc_metrics_new();
	struct fc_pipeline *p = calloc(1, sizeof(*p));
	char err[128] = "";

	fc_config_init(&cfg);
	cfg.sampling_override.v[cfg.sampling_override.n++] = strdup("10.0.0.0/8");
	ck_assert_int_eq(fc_pipeline_init(p, &cfg, m, NULL, 0, err, sizeof(err)), FC_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "10.0.0.0/8"));
	fc_pipeline_fini(p);
	free(p);
	fc_metrics_free(m);
	fc_config_fini(&cfg);
}
END_TEST

/* Appends big-endian n bytes of v. */
static size_t put(uint8_t *b, size_t at, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		b[at + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	return at + n;
}

/* A NetFlow v5 datagram with one record, sequence seq. */
static size_t nf5_dgram(uint8_t *b, uint32_t seq)
{
	size_t n = 0;

	memset(b, 0, 24 + 48);
	n = put(b, n, 5, 2);
	n = put(b, n, 1, 2);
	n = put(b, n, 1000, 4);
	n = put(b, n, 1700000000, 4);
	n = put(b, n, 0, 4);
	n = put(b, n, seq, 4);
	(void)n;
	b[24] = 10; /* srcaddr 10.0.0.1 */
	b[27] = 1;
	return 24 + 48;
}

/* An IPFIX message with one template (id 300: IE 8, 4 bytes). */
static size_t ipfix_tmpl_dgram(uint8_t *b)
{
	size_t n = 0;

	n = put(b, n, 10, 2);
	n = put(b, n, 16 + 12, 2);
	n = put(b, n, 1700000000, 4);
	n = put(b, n, 0, 4);
	n = put(b, n, 7, 4); /* domain */
	n = put(b, n, 2, 2); /* template set */
	n = put(b, n, 12, 2);
	n = put(b, n, 300, 2);
	n = put(b, n, 1, 2);
	n = put(b, n, 8, 2);
	n = put(b, n, 4, 2);
	return n;
}

/* An IPFIX message of one set (id set_id) holding body (n bytes). */
static size_t ipfix_set_dgram(uint8_t *b, uint16_t set_id, const uint8_t *body, size_t n)
{
	size_t at = 0;

	at = put(b, at, 10, 2);
	at = put(b, at, 16 + 4 + n, 2);
	at = put(b, at, 1700000000, 4);
	at = put(b, at, 0, 4);
	at = put(b, at, 7, 4); /* domain */
	at = put(b, at, set_id, 2);
	at = put(b, at, 4 + n, 2);
	memcpy(b + at, body, n);
	return at + n;
}

static void feed(struct fc_pipeline *p, const uint8_t *b, size_t len, uint8_t host,
		 uint64_t t_ns)
{
	struct fc_dgram g;

	memset(&g, 0, sizeof(g));
	g.data = b;
	g.len = len;
	g.src.family = 4;
	g.src.a[0] = 192;
	g.src.a[2] = 2;
	g.src.a[3] = host;
	g.src_port = 2055;
	g.time_ns = t_ns;
	fc_pipeline_run(p, &g, 1);
}

/* Runs python3's json module over text and returns what the check script
 * printed (a summary), so the test sees parsed values, not substrings. */
static void json_check(const char *text, const char *script, char *out, size_t outlen)
{
	char tmp[] = "/tmp/fc_json_XXXXXX", cmd[4096];
	int fd = mkstemp(tmp);
	FILE *f, *pp;
	size_t n;

	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "python3 -c '%s' < %s", script, tmp);
	pp = popen(cmd, "r");
	ck_assert_ptr_nonnull(pp);
	n = fread(out, 1, outlen - 1, pp);
	out[n] = 0;
	ck_assert_int_eq(pclose(pp), 0);
	unlink(tmp);
}

START_TEST(exporters_and_templates_json)
{
	struct fc_config cfg;
	struct fc_metrics *m = fc_metrics_new();
	struct fc_pipeline *p = calloc(1, sizeof(*p));
	char err[256], got[1024];
	uint8_t b[128];
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	ck_assert_ptr_nonnull(m);
	ck_assert_ptr_nonnull(p);
	fc_config_init(&cfg);
	(void)fc_log_set_level("error");
	ck_assert_int_eq(fc_pipeline_init(p, &cfg, m, NULL, 0, err, sizeof(err)), 0);
	/* exporter .1: v5 sequence 0 then 5 (4 flows lost), one truncated
	 * datagram; exporter .2: an IPFIX template */
	feed(p, b, nf5_dgram(b, 0), 1, 1700000000000000000ull);
	feed(p, b, nf5_dgram(b, 5), 1, 1700000003000000000ull);
	feed(p, b, 30, 1, 1700000004000000000ull);
	feed(p, b, 1, 1, 1700000004000000000ull); /* 1 byte: no version */
	feed(p, b, ipfix_tmpl_dgram(b), 2, 1700000005000000000ull);
	/* the header alone, its Length still 28: truncated; clock +60 s */
	feed(p, b, 16, 2, 1700000065000000000ull);

	f = open_memstream(&text, &len);
	ck_assert_int_eq(fc_pipeline_exporters_json(p, f), 0);
	fclose(f);
	json_check(text,
		   "import json,sys; a=json.load(sys.stdin); "
		   "d={x[\"address\"]:x for x in a}; x=d[\"192.0.2.1\"]; y=d[\"192.0.2.2\"]; "
		   "print(len(a), x[\"protocol\"], x[\"port\"], x[\"first_seen\"], x[\"last_seen\"], "
		   "x[\"datagrams\"], x[\"flows\"], x[\"sequence_lost\"], "
		   "sorted(x[\"decode_errors\"].items()), y[\"protocol\"], y[\"decode_errors\"])",
		   got, sizeof(got));
	ck_assert_str_eq(got, "2 unknown 2055 1700000000 1700000004 4 2 4 "
			      "[(\x27trunc\x27, 1), (\x27version\x27, 1)] ipfix {\x27trunc\x27: 1}\n");
	free(text);

	text = NULL;
	f = open_memstream(&text, &len);
	ck_assert_int_eq(fc_pipeline_templates_json(p, f), 0);
	fclose(f);
	json_check(text,
		   "import json,sys; a=json.load(sys.stdin); t=a[0]; "
		   "print(len(a), t[\"exporter\"], t[\"port\"], t[\"protocol\"], t[\"domain\"], "
		   "t[\"id\"], t[\"fields\"], t[\"kind\"], t[\"age_seconds\"])",
		   got, sizeof(got));
	ck_assert_str_eq(got, "1 192.0.2.2 2055 ipfix 7 300 1 data 60\n");
	free(text);
	/* per exporter and per reason, also in the registry */
	ck_assert_uint_eq(fc_metrics_get(m, "exporter_decode_errors_total",
					 "exporter=\"192.0.2.1\",reason=\"trunc\""), 1);
	ck_assert_uint_eq(fc_metrics_get(m, "exporter_sequence_lost_total",
					 "exporter=\"192.0.2.1\""), 4);

	fc_pipeline_fini(p);
	free(p);
	fc_metrics_free(m);
	fc_config_fini(&cfg);
}
END_TEST

START_TEST(exporter_template_gauges)
{
	static const uint8_t withdraw[4] = {0x01, 0x2c, 0, 0}; /* template 300, 0 fields */
	static const uint8_t record[8] = {10, 0, 0, 1, 10, 0, 0, 2};
	struct fc_config cfg;
	struct fc_metrics *m = fc_metrics_new();
	struct fc_pipeline *p = calloc(1, sizeof(*p));
	const uint64_t t = 1700000000000000000ull, s = 1000000000ull;
	char err[256];
	uint8_t b[128];

	ck_assert_ptr_nonnull(m);
	ck_assert_ptr_nonnull(p);
	fc_config_init(&cfg);
	(void)fc_log_set_level("error");
	ck_assert_int_eq(fc_pipeline_init(p, &cfg, m, NULL, 0, err, sizeof(err)), 0);
	/* .2 announces template 300; .3 sends data of a template not known
	 * yet (held) */
	feed(p, b, ipfix_tmpl_dgram(b), 2, t);
	feed(p, b, ipfix_set_dgram(b, 301, record, sizeof(record)), 3, t);
	fc_pipeline_tick(p, t, 10 * s);
	ck_assert_uint_eq(fc_metrics_get(m, "exporter_templates", "exporter=\"192.0.2.2\""), 1);
	ck_assert_uint_eq(fc_metrics_get(m, "exporter_held_bytes", "exporter=\"192.0.2.2\""), 0);
	ck_assert_uint_eq(fc_metrics_get(m, "exporter_templates", "exporter=\"192.0.2.3\""), 0);
	ck_assert_uint_gt(fc_metrics_get(m, "exporter_held_bytes", "exporter=\"192.0.2.3\""), 0);
	/* the withdrawal shows at the next refresh, not before a second */
	feed(p, b, ipfix_set_dgram(b, 2, withdraw, sizeof(withdraw)), 2, t + s);
	fc_pipeline_tick(p, t + s, 10 * s + s / 2);
	ck_assert_uint_eq(fc_metrics_get(m, "exporter_templates", "exporter=\"192.0.2.2\""), 1);
	fc_pipeline_tick(p, t + s, 12 * s);
	ck_assert_uint_eq(fc_metrics_get(m, "exporter_templates", "exporter=\"192.0.2.2\""), 0);

	fc_pipeline_fini(p);
	free(p);
	fc_metrics_free(m);
	fc_config_fini(&cfg);
}
END_TEST

static void count_flow(void *ctx, struct fc_flow *f)
{
	(void)f;
	(*(int *)ctx)++;
}

/* The decoder front door: the exporter table grows past its first size
 * without losing an exporter, and stops at its cap while still decoding. */
START_TEST(exporter_table_growth_and_cap)
{
	struct fc_config cfg;
	struct fc_metrics *m = fc_metrics_new();
	int flows = 0;
	struct fc_sink sink = {.flow = count_flow, .ctx = &flows};
	struct fc_decoder *d;
	uint8_t b[128];
	size_t n = nf5_dgram(b, 0);
	char labels[64];

	fc_config_init(&cfg);
	d = fc_decoder_new(&cfg, m, &sink);
	ck_assert_ptr_nonnull(d);
	fc_decoder_set_max_exporters(d, 300);
	for (int round = 0; round < 2; round++) {
		for (unsigned i = 0; i < 400; i++) {
			struct fc_dgram g = {.data = b, .len = n, .src_port = 2055, .time_ns = 1};

			g.src.family = 4;
			g.src.a[0] = 10;
			g.src.a[2] = (uint8_t)(i >> 8);
			g.src.a[3] = (uint8_t)i;
			ck_assert_int_eq(fc_decode_datagram(d, &g), 0);
		}
	}
	ck_assert_int_eq(flows, 800); /* past the cap still decoded */
	ck_assert_uint_eq(fc_metrics_get(m, "exporters_over_cap_total", NULL), 200);
	/* each of the first 300 kept its own counters through the growth */
	for (unsigned i = 0; i < 300; i += 37) {
		snprintf(labels, sizeof(labels), "exporter=\"10.0.%u.%u\"", i >> 8, i & 255);
		ck_assert_uint_eq(fc_metrics_get(m, "exporter_datagrams_total", labels), 2);
		ck_assert_uint_eq(fc_metrics_get(m, "exporter_flows_total", labels), 2);
	}
	snprintf(labels, sizeof(labels), "exporter=\"10.0.1.144\""); /* 400th: over the cap */
	ck_assert_uint_eq(fc_metrics_get(m, "exporter_datagrams_total", labels), 0);
	fc_decoder_free(d);
	fc_metrics_free(m);
	fc_config_fini(&cfg);
}
END_TEST

/* Item 2 of issue 14: each default of the option table reaches the
 * decoders as it is (no engine fallback in between). Every template-*,
 * hold-* and sflow-* option must be checked here. */
START_TEST(option_defaults_reach_the_engine)
{
	struct fc_config cfg;
	struct fc_metrics *m = fc_metrics_new();
	struct fc_sink sink = {.flow = count_flow};
	struct fc_decode_limits l;
	struct fc_decoder *d;
	size_t checked = 0;

	fc_config_init(&cfg);
	d = fc_decoder_new(&cfg, m, &sink);
	ck_assert_ptr_nonnull(d);
	fc_decoder_limits(d, &l);
	const struct {
		const char *name;
		uint64_t got;
	} engine[] = {
		{"template-ignore-port", l.template_ignore_port},
		{"template-ttl", l.template_ttl},
		{"template-save-interval", l.template_save_interval},
		{"template-max-per-exporter", l.template_max_per_exporter},
		{"template-max-exporters", l.template_max_exporters},
		{"template-max-fields", l.template_max_fields},
		{"hold-bytes", l.hold_bytes},
		{"hold-seconds", l.hold_seconds},
		{"template-memory", l.template_memory},
		{"sflow-max-samples", l.sflow_max_samples},
		{"sflow-max-records", l.sflow_max_records},
	};
	for (size_t i = 0; i < fc_config_option_count(); i++) {
		const char *name = fc_config_option_name(i), *def = fc_config_option_default(i);
		bool mine = !strncmp(name, "template-", 9) || !strncmp(name, "hold-", 5) ||
			    !strncmp(name, "sflow-", 6);
		size_t k;

		if (!mine || !strcmp(name, "template-file"))
			continue;
		for (k = 0; k < sizeof(engine) / sizeof(engine[0]); k++)
			if (!strcmp(engine[k].name, name))
				break;
		ck_assert_msg(k < sizeof(engine) / sizeof(engine[0]),
			      "option %s: not checked against the engine", name);
		ck_assert_ptr_nonnull(def);
		ck_assert_msg(engine[k].got == (!strcmp(def, "false") ? 0
					       : !strcmp(def, "true") ? 1
					       : strtoull(def, NULL, 10)),
			      "option %s: default %s, engine has %llu", name, def,
			      (unsigned long long)engine[k].got);
		checked++;
	}
	ck_assert_uint_eq(checked, sizeof(engine) / sizeof(engine[0]));
	fc_decoder_free(d);
	fc_metrics_free(m);
	fc_config_fini(&cfg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pipeline");
	TCase *tc = tcase_create("sampling");

	tcase_add_test(tc, sampling_policy);
	tcase_add_test(tc, pb_built_only_when_asked);
	tcase_add_loop_test(tc, rule_parsing, 0, (int)(sizeof(rules) / sizeof(rules[0])));
	tcase_add_test(tc, bad_override_refused_at_start);
	suite_add_tcase(s, tc);
	tc = tcase_create("introspection");
	tcase_add_test(tc, exporters_and_templates_json);
	tcase_add_test(tc, exporter_template_gauges);
	tcase_add_test(tc, exporter_table_growth_and_cap);
	tcase_add_test(tc, option_defaults_reach_the_engine);
	suite_add_tcase(s, tc);
	return fc_check_run(s);
}
