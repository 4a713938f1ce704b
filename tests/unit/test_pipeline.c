/*
 * The pipeline: sampling policy (--sampling-override / --sampling-default),
 * and that every decoded flow reaches every output, framed and keyed by its
 * exporter. A capturing output stands in for Kafka/files.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "encode/pb.h"
#include "fc/err.h"
#include "flow.pb-c.h"
#include "metrics/metrics.h"
#include "pipeline/pipeline.h"
#include "check_run.h"

#define MAX_MSGS 16

static struct {
	int n;
	uint64_t rate[MAX_MSGS];
	size_t key_len[MAX_MSGS];
	uint8_t key[MAX_MSGS][16];
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
	}
	cap.n++;
	flowpb__flow_message__free_unpacked(m, NULL);
	return 0;
}

static const struct fc_output_ops cap_ops = {.name = "capture", .write = cap_write};

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

int main(void)
{
	Suite *s = suite_create("pipeline");
	TCase *tc = tcase_create("sampling");

	tcase_add_test(tc, sampling_policy);
	tcase_add_loop_test(tc, rule_parsing, 0, (int)(sizeof(rules) / sizeof(rules[0])));
	tcase_add_test(tc, bad_override_refused_at_start);
	suite_add_tcase(s, tc);
	return fc_check_run(s);
}
