/*
 * Tests for the Kafka output (src/output/kafka.c) against librdkafka mock
 * clusters started by the test itself (rdkafka_mock.h): records arrive
 * byte-identical, batching packs framed messages, keys and topics follow
 * the message, the embedded cluster works, a full queue drops and counts in
 * live mode and waits in replay mode, configuration errors are refused.
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "config/config.h"
#include "core/log.h"
#include "fc/err.h"
#include "metrics/metrics.h"
#include "output/kafka.h"

#include "../unit/check_run.h"
#include "kafka_mock.h"

#define TOPIC "t-flows"
#define CTOPIC "t-counters"

/* Builds a config the way the option table's defaults would, without
 * depending on config.c. */
static void cfg_init(struct fc_config *c, const char *brokers)
{
	memset(c, 0, sizeof(*c));
	c->kafka_brokers = fc_test_str(brokers);
	c->kafka_topic = fc_test_str(TOPIC);
	c->kafka_counter_topic = fc_test_str(CTOPIC);
	c->kafka_key = (char *)"none";
	c->kafka_flush_ms = 10000;
	c->kafka_msgs_per_record = 1;
}

static void cfg_prop(struct fc_config *c, const char *kv)
{
	c->kafka_props.v[c->kafka_props.n++] = fc_test_str(kv);
}

/* Framed message i: varint length (one byte, < 128) + payload whose bytes
 * depend on i, lengths varying between 3 and 80. */
static size_t make_framed(uint32_t i, uint8_t *out)
{
	size_t len = 3 + i % 78;

	out[0] = (uint8_t)len;
	for (size_t j = 0; j < len; j++)
		out[1 + j] = (uint8_t)(i * 31u + j * 7u + (i >> 8));
	return len + 1;
}

static int out_write(struct out *o, enum fc_msg_kind kind, uint32_t i, const uint8_t *key,
		     size_t key_len)
{
	uint8_t buf[128];
	struct fc_msg msg = {0};

	msg.kind = kind;
	msg.framed = buf;
	msg.framed_len = make_framed(i, buf);
	msg.key = key;
	msg.key_len = key_len;
	return fc_output_kafka.write(o->priv, &msg);
}

static void out_close(struct out *o)
{
	fc_output_kafka.close(o->priv);
}

static uint64_t metric(struct out *o, const char *name)
{
	return fc_metrics_sum(o->m, name);
}

/* Reads partition 0 of topic from the beginning to its end. Returns the
 * concatenated values (caller frees), the record count and the last key. */
struct consumed {
	uint8_t *bytes;
	size_t len;
	size_t records;
	uint8_t key[64];
	size_t key_len;
};

static void take_record(void *ctx, int32_t part, const rd_kafka_message_t *m)
{
	struct consumed *out = ctx;

	(void)part;
	out->bytes = realloc(out->bytes, out->len + m->len + 1);
	ck_assert_ptr_nonnull(out->bytes);
	memcpy(out->bytes + out->len, m->payload, m->len);
	out->len += m->len;
	out->records++;
	out->key_len = m->key_len < sizeof(out->key) ? m->key_len : sizeof(out->key);
	if (m->key_len)
		memcpy(out->key, m->key, out->key_len);
}

/* Reads partitions 0..nparts-1 of topic in turn, each from its beginning to
 * its end. */
static void consume_all(const char *bootstraps, const char *topic, int32_t nparts,
			struct consumed *out)
{
	rd_kafka_t *rk = consumer_new(bootstraps);
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);

	memset(out, 0, sizeof(*out));
	for (int32_t p = 0; p < nparts; p++)
		consume_partition(rkt, p, take_record, out);
	rd_kafka_topic_destroy(rkt);
	rd_kafka_destroy(rk);
}

/* The bytes messages first..first+n-1 should produce, concatenated. */
static uint8_t *expected(uint32_t first, uint32_t n, size_t *len)
{
	uint8_t *b = malloc((size_t)n * 128);

	*len = 0;
	for (uint32_t i = first; i < first + n; i++)
		*len += make_framed(i, b + *len);
	return b;
}

/* Consumes topic as consume_all does and checks that it holds `records`
 * records whose values, concatenated, are messages first..first+n-1 in
 * order. c keeps the record count and the last key; its bytes are freed. */
static void consume_expect(const char *bootstraps, const char *topic, int32_t nparts,
			   size_t records, uint32_t first, uint32_t n, struct consumed *c)
{
	size_t elen;
	uint8_t *e;

	consume_all(bootstraps, topic, nparts, c);
	ck_assert_uint_eq(c->records, records);
	e = expected(first, n, &elen);
	ck_assert_uint_eq(c->len, elen);
	ck_assert(memcmp(c->bytes, e, elen) == 0);
	free(e);
	free(c->bytes);
	c->bytes = NULL;
}

/* Polls the output every sleep_ms until `want` records are delivered,
 * at most `tries` times: delivery reports only arrive through poll. */
static void poll_until_delivered(struct out *o, uint64_t want, int tries, long sleep_ms)
{
	for (int t = 0; t < tries && metric(o, "kafka_delivered_total") < want; t++) {
		struct timespec ts = {0, sleep_ms * 1000 * 1000};

		nanosleep(&ts, NULL);
		fc_output_kafka.poll(o->priv);
	}
}

START_TEST(records_arrive_identical)
{
	const uint32_t n = 2000;
	struct mock mk;
	struct fc_config cfg;
	struct out o;
	struct consumed c;

	mock_start(&mk, TOPIC, 1, CTOPIC);
	cfg_init(&cfg, mk.bootstraps);
	ck_assert_int_eq(out_open(&o, &cfg), 0);
	ck_assert_ptr_null(fc_output_kafka_embedded_bootstraps(o.priv));
	for (uint32_t i = 0; i < n; i++) {
		ck_assert_int_eq(out_write(&o, FC_MSG_FLOW, i, NULL, 0), 0);
		if (i % 100 == 0)
			fc_output_kafka.poll(o.priv);
	}
	out_close(&o);
	ck_assert_uint_eq(metric(&o, "kafka_produced_total"), n);
	ck_assert_uint_eq(metric(&o, "kafka_delivered_total"), n);
	ck_assert_uint_eq(metric(&o, "kafka_delivery_failed_total"), 0);
	ck_assert_uint_eq(metric(&o, "kafka_flush_lost_total"), 0);
	ck_assert_uint_eq(metric(&o, "kafka_queue_full_drops_total"), 0);

	consume_expect(mk.bootstraps, TOPIC, 1, n, 0, n, &c);
	ck_assert_uint_eq(c.key_len, 0);
	out_free(&o);
	mock_stop(&mk);
}
END_TEST

START_TEST(batches_pack_framed_messages)
{
	const uint32_t n = 95;
	struct mock mk;
	struct fc_config cfg;
	struct out o;
	struct consumed c;

	mock_start(&mk, TOPIC, 1, CTOPIC);
	cfg_init(&cfg, mk.bootstraps);
	cfg.kafka_msgs_per_record = 10;
	ck_assert_int_eq(out_open(&o, &cfg), 0);
	for (uint32_t i = 0; i < n; i++)
		ck_assert_int_eq(out_write(&o, FC_MSG_FLOW, i, NULL, 0), 0);
	/* 9 full records produced; the partial one waits for poll/close. */
	ck_assert_uint_eq(metric(&o, "kafka_produced_total"), 90);
	out_close(&o);
	ck_assert_uint_eq(metric(&o, "kafka_produced_total"), n);
	ck_assert_uint_eq(metric(&o, "kafka_delivered_total"), n);

	consume_expect(mk.bootstraps, TOPIC, 1, 10, 0, n, &c);
	out_free(&o);
	mock_stop(&mk);
}
END_TEST

START_TEST(partial_batch_sent_on_poll)
{
	struct mock mk;
	struct fc_config cfg;
	struct out o;

	mock_start(&mk, TOPIC, 1, CTOPIC);
	cfg_init(&cfg, mk.bootstraps);
	cfg.kafka_msgs_per_record = 1000;
	ck_assert_int_eq(out_open(&o, &cfg), 0);
	for (uint32_t i = 0; i < 5; i++)
		ck_assert_int_eq(out_write(&o, FC_MSG_FLOW, i, NULL, 0), 0);
	fc_output_kafka.poll(o.priv);
	ck_assert_uint_eq(metric(&o, "kafka_produced_total"), 0);
	poll_until_delivered(&o, 5, 50, 20);
	ck_assert_uint_eq(metric(&o, "kafka_produced_total"), 5);
	ck_assert_uint_eq(metric(&o, "kafka_delivered_total"), 5);
	out_close(&o);
	out_free(&o);
	mock_stop(&mk);
}
END_TEST

START_TEST(key_and_topic_follow_message)
{
	static const uint8_t key[] = {192, 0, 2, 1};
	struct mock mk;
	struct fc_config cfg;
	struct out o;
	struct consumed c;

	mock_start(&mk, TOPIC, 1, CTOPIC);
	cfg_init(&cfg, mk.bootstraps);
	cfg.kafka_key = (char *)"exporter";
	ck_assert_int_eq(out_open(&o, &cfg), 0);
	ck_assert_int_eq(out_write(&o, FC_MSG_FLOW, 1, key, sizeof(key)), 0);
	ck_assert_int_eq(out_write(&o, FC_MSG_COUNTER, 2, key, sizeof(key)), 0);
	out_close(&o);

	consume_expect(mk.bootstraps, TOPIC, 1, 1, 1, 1, &c);
	ck_assert_uint_eq(c.key_len, sizeof(key));
	ck_assert(memcmp(c.key, key, sizeof(key)) == 0);

	consume_expect(mk.bootstraps, CTOPIC, 1, 1, 2, 1, &c);
	out_free(&o);
	mock_stop(&mk);
}
END_TEST

START_TEST(embedded_cluster_serves_topic)
{
	static const uint8_t key[] = {198, 51, 100, 7};
	const uint32_t n = 300;
	struct fc_config cfg;
	struct out o;
	struct consumed c;
	const char *bs;

	cfg_init(&cfg, NULL);
	cfg.kafka_key = (char *)"exporter";
	ck_assert_int_eq(out_open(&o, &cfg), 0);
	bs = fc_output_kafka_embedded_bootstraps(o.priv);
	ck_assert_ptr_nonnull(bs);
	ck_assert(strncmp(bs, "127.0.0.1:", 10) == 0);
	for (uint32_t i = 0; i < n; i++)
		ck_assert_int_eq(out_write(&o, FC_MSG_FLOW, i, key, sizeof(key)), 0);
	poll_until_delivered(&o, n, 500, 10);
	ck_assert_uint_eq(metric(&o, "kafka_delivered_total"), n);
	/* The cluster lives until close: a consumer reads it meanwhile. One
	 * key puts every record in one of its partitions, in order. */
	consume_expect(bs, TOPIC, 4, n, 0, n, &c);
	out_close(&o);
	out_free(&o);
}
END_TEST

START_TEST(live_queue_full_drops_and_counts)
{
	const uint32_t n = 100;
	struct fc_config cfg;
	struct out o;

	/* Nothing listens on port 1: records stay queued. */
	cfg_init(&cfg, "127.0.0.1:1");
	cfg.kafka_flush_ms = 200;
	cfg_prop(&cfg, "queue.buffering.max.messages=10");
	cfg_prop(&cfg, "reconnect.backoff.max.ms=100");
	ck_assert_int_eq(out_open(&o, &cfg), 0);
	/* Flows are gathered and handed over on poll (once per receive
	 * batch): every write is taken, the drops are counted then. */
	for (uint32_t i = 0; i < n; i++)
		ck_assert_int_eq(out_write(&o, FC_MSG_FLOW, i, NULL, 0), 0);
	ck_assert_uint_eq(metric(&o, "kafka_produced_total"), 0);
	fc_output_kafka.poll(o.priv);
	ck_assert_uint_eq(metric(&o, "kafka_queue_full_drops_total"), n - 10);
	ck_assert_uint_eq(metric(&o, "kafka_produced_total"), 10);
	ck_assert_uint_eq(metric(&o, "kafka_queue_records"), 10);
	out_close(&o);
	/* The flush bound expired with the 10 queued: lost, counted once. */
	ck_assert_uint_eq(metric(&o, "kafka_flush_lost_total"), 10);
	ck_assert_uint_eq(metric(&o, "kafka_delivered_total"), 0);
	ck_assert_uint_eq(metric(&o, "kafka_delivery_failed_total"), 0);
	out_free(&o);
}
END_TEST

START_TEST(live_broker_down_drops_and_counts)
{
	const uint32_t n = 50;
	struct mock mk;
	struct fc_config cfg;
	struct out o;

	mock_start(&mk, TOPIC, 1, CTOPIC);
	ck_assert_int_eq(rd_kafka_mock_broker_set_down(mk.mc, 1), 0);
	cfg_init(&cfg, mk.bootstraps);
	cfg.kafka_flush_ms = 200;
	cfg_prop(&cfg, "queue.buffering.max.messages=20");
	ck_assert_int_eq(out_open(&o, &cfg), 0);
	for (uint32_t i = 0; i < n; i++)
		(void)out_write(&o, FC_MSG_FLOW, i, NULL, 0);
	fc_output_kafka.poll(o.priv);
	ck_assert_uint_eq(metric(&o, "kafka_queue_full_drops_total"), n - 20);
	out_close(&o);
	ck_assert_uint_eq(metric(&o, "kafka_flush_lost_total"), 20);
	out_free(&o);
	mock_stop(&mk);
}
END_TEST

START_TEST(replay_waits_and_loses_nothing)
{
	const uint32_t n = 3000;
	struct mock mk;
	struct fc_config cfg;
	struct out o;
	struct consumed c;

	mock_start(&mk, TOPIC, 1, CTOPIC);
	cfg_init(&cfg, mk.bootstraps);
	cfg.pcap = (char *)"replay.pcap";
	cfg_prop(&cfg, "queue.buffering.max.messages=10");
	ck_assert_int_eq(out_open(&o, &cfg), 0);
	for (uint32_t i = 0; i < n; i++)
		ck_assert_int_eq(out_write(&o, FC_MSG_FLOW, i, NULL, 0), 0);
	out_close(&o);
	ck_assert_uint_eq(metric(&o, "kafka_queue_full_drops_total"), 0);
	ck_assert_uint_eq(metric(&o, "kafka_produced_total"), n);
	ck_assert_uint_eq(metric(&o, "kafka_delivered_total"), n);

	consume_expect(mk.bootstraps, TOPIC, 1, n, 0, n, &c);
	out_free(&o);
	mock_stop(&mk);
}
END_TEST

/* Configurations open must refuse: a librdkafka property (NULL: none)
 * and a --kafka-key (NULL: the default). */
static const struct {
	const char *prop;
	const char *key;
} refused[] = {
	{"no.such.property=1", NULL},
	{"novalue", NULL},
	{"compression.codec=bogus", NULL},
	{NULL, "random"},
};

START_TEST(bad_property_is_refused)
{
	struct fc_config cfg;
	struct out o;

	cfg_init(&cfg, "127.0.0.1:1");
	if (refused[_i].prop)
		cfg_prop(&cfg, refused[_i].prop);
	if (refused[_i].key)
		cfg.kafka_key = fc_test_str(refused[_i].key);
	ck_assert_int_eq(out_open(&o, &cfg), FC_EINVAL);
	out_free(&o);
}
END_TEST

static Suite *kafka_suite(void)
{
	Suite *s = suite_create("kafka_output");
	TCase *tc;

	tc = tcase_create("delivery");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, records_arrive_identical);
	tcase_add_test(tc, key_and_topic_follow_message);
	tcase_add_test(tc, embedded_cluster_serves_topic);
	suite_add_tcase(s, tc);

	tc = tcase_create("batching");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, batches_pack_framed_messages);
	tcase_add_test(tc, partial_batch_sent_on_poll);
	suite_add_tcase(s, tc);

	tc = tcase_create("backpressure");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, live_queue_full_drops_and_counts);
	tcase_add_test(tc, live_broker_down_drops_and_counts);
	tcase_add_test(tc, replay_waits_and_loses_nothing);
	suite_add_tcase(s, tc);

	tc = tcase_create("config");
	tcase_add_loop_test(tc, bad_property_is_refused, 0,
			    (int)(sizeof(refused) / sizeof(refused[0])));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(kafka_suite());
	int failed;

	fc_log_set_level("error");
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
