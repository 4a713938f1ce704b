/*
 * The Kafka output's record key policy (--kafka-key) and compression
 * (--kafka-compression), against a librdkafka mock cluster whose flow topic
 * has 4 partitions, the layout of the embedded default:
 *   exporter  every flow of one exporter in one partition, keyed by its address
 *   flow      one exporter's flows spread over all 4 partitions; both
 *             directions of a conversation share a key and a partition
 *   none      no key; records spread over time (one partition per hand-over)
 * Keyed records must sit in the partition librdkafka's default partitioner
 * gives their key, now that the output groups them by partition itself.
 * and every codec round-trips through librdkafka's consumer, an unknown
 * codec or key policy is refused at open.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>
#include <zlib.h>
#include <librdkafka/rdkafka_mock.h>

#include "config/config.h"
#include "core/log.h"
#include "encode/pb.h"
#include "fc/err.h"
#include "fc/flow.h"
#include "flow.pb-c.h"
#include "metrics/metrics.h"
#include "output/kafka.h"

#include "../unit/check_run.h"
#include "kafka_mock.h"

#define TOPIC "k-flows"
#define CTOPIC "k-counters"
#define NPARTS 4
#define NFLOWS 2000u

/* struct fc_config owns its strings (char *): copies, freed by cfg_fini. */
static char *keep(const char *s)
{
	char *d = s ? strdup(s) : NULL;

	ck_assert(!s || d);
	return d;
}

static void cfg_init(struct fc_config *c, const char *brokers, const char *key,
		     const char *codec)
{
	memset(c, 0, sizeof(*c));
	c->kafka_brokers = keep(brokers);
	c->kafka_topic = keep(TOPIC);
	c->kafka_counter_topic = keep(CTOPIC);
	c->kafka_key = keep(key);
	c->kafka_compression = keep(codec);
	c->kafka_flush_ms = 10000;
	c->kafka_msgs_per_record = 1;
}

static void cfg_fini(struct fc_config *c)
{
	free(c->kafka_brokers);
	free(c->kafka_topic);
	free(c->kafka_counter_topic);
	free(c->kafka_key);
	free(c->kafka_compression);
}

/* How write_flow hands the flow to the output: as the protobuf-c message
 * (what a caller without the record does), or as the record with no
 * protobuf-c message (what the pipeline does). */
static bool from_record;

/* Flow i of one exporter (192.0.2.1): many clients talking to a few
 * servers; odd i is the reverse direction of flow i - 1. */
static void write_flow(struct out *o, uint32_t i)
{
	static const uint8_t exporter[4] = {192, 0, 2, 1};
	uint8_t client[4] = {10, (uint8_t)(i >> 9), (uint8_t)(i >> 1), 7};
	uint8_t server[4] = {198, 51, 100, (uint8_t)(1 + (i >> 1) % 3)};
	uint16_t cport = (uint16_t)(30000 + (i >> 1) % 20000);
	bool rev = i & 1;
	Flowpb__FlowMessage m;
	uint8_t buf[FC_PB_MAX_FRAMED];
	struct fc_msg msg = {.kind = FC_MSG_FLOW, .key = exporter, .key_len = 4};

	flowpb__flow_message__init(&m);
	m.type = FLOWPB__FLOW_MESSAGE__FLOW_TYPE__IPFIX;
	m.bytes = 100 + i;
	m.packets = 1;
	m.proto = 6;
	m.src_addr.len = m.dst_addr.len = 4;
	m.src_addr.data = rev ? server : client;
	m.dst_addr.data = rev ? client : server;
	m.src_port = rev ? 443 : cport;
	m.dst_port = rev ? cport : 443;
	struct fc_flow fl;

	memset(&fl, 0, sizeof(fl));
	fl.src_addr.family = fl.dst_addr.family = 4;
	memcpy(fl.src_addr.a, m.src_addr.data, 4);
	memcpy(fl.dst_addr.a, m.dst_addr.data, 4);
	fl.src_port = m.src_port;
	fl.dst_port = m.dst_port;
	fl.proto = m.proto;
	msg.framed = buf;
	msg.framed_len = fc_pb_frame(&m.base, buf, sizeof(buf));
	ck_assert_uint_gt(msg.framed_len, 0);
	if (from_record)
		msg.flow = &fl;
	else
		msg.pb = &m.base;
	ck_assert_int_eq(fc_output_kafka.write(o->priv, &msg), 0);
}

struct spread {
	size_t per_part[NPARTS];
	size_t records;
	size_t keyed;          /* records that carried a key */
	size_t exporter_keyed; /* ... whose key was the exporter's address */
	size_t pairs_split;    /* reverse flows in another partition than their forward */
	size_t part_mismatch;  /* keyed records not where librdkafka's partitioner puts them */
	size_t key_mismatch;   /* reverse flows whose key differs from their forward's */
	size_t out_of_order;   /* flows that arrived in a partition before an earlier one */
	uint64_t keys_digest;  /* FNV-1a over every flow's key, in flow order */
};

/* Where each flow (by its bytes field, 100 + i) arrived, and with which
 * key. */
struct arrivals {
	struct spread *s;
	int *part_of;
	uint8_t (*key_of)[64];
	size_t *klen_of;
	int64_t last_of[NPARTS]; /* the latest flow seen in each partition */
};

static void take_flow(void *ctx, int32_t p, const rd_kafka_message_t *msg)
{
	struct arrivals *a = ctx;
	struct spread *s = a->s;
	uint64_t len;
	size_t hl;
	Flowpb__FlowMessage *f;
	uint32_t i;

	hl = fc_pb_varint_decode(msg->payload, msg->len, &len);
	ck_assert_uint_gt(hl, 0);
	ck_assert_uint_eq(hl + len, msg->len);
	f = flowpb__flow_message__unpack(NULL, len, (const uint8_t *)msg->payload + hl);
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_ge(f->bytes, 100);
	i = (uint32_t)(f->bytes - 100);
	ck_assert_uint_lt(i, NFLOWS);
	flowpb__flow_message__free_unpacked(f, NULL);
	/* the output groups records by partition: each group must keep the
	 * order they were written in */
	s->out_of_order += (int64_t)i <= a->last_of[p];
	a->last_of[p] = i;
	a->part_of[i] = p;
	a->klen_of[i] = msg->key_len < 64 ? msg->key_len : 64;
	if (msg->key_len)
		memcpy(a->key_of[i], msg->key, a->klen_of[i]);
	s->per_part[p]++;
	s->records++;
	s->keyed += msg->key_len > 0;
	s->exporter_keyed += msg->key_len == 4 && memcmp(msg->key, "\xc0\x00\x02\x01", 4) == 0;
	/* consistent_random, librdkafka's default: CRC-32 of the key modulo
	 * the partition count (zlib's CRC-32, computed here apart from the
	 * output, which groups records by it). */
	if (msg->key_len)
		s->part_mismatch += crc32(0, msg->key, (uInt)msg->key_len) % NPARTS != (uLong)p;
}

/* Reads every partition to its end and sums up where the flows went. */
static void consume(const char *bootstraps, struct spread *s)
{
	rd_kafka_t *rk = consumer_new(bootstraps);
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, TOPIC, NULL);
	struct arrivals a = {s, calloc(NFLOWS, sizeof(int)), calloc(NFLOWS, 64),
			     calloc(NFLOWS, sizeof(size_t)), {0}};

	ck_assert(a.part_of && a.key_of && a.klen_of);
	for (int p = 0; p < NPARTS; p++)
		a.last_of[p] = -1;
	memset(s, 0, sizeof(*s));
	for (int32_t p = 0; p < NPARTS; p++)
		consume_partition(rkt, p, take_flow, &a);
	s->keys_digest = 14695981039346656037ull;
	for (uint32_t i = 0; i < NFLOWS; i++) {
		for (size_t j = 0; j < a.klen_of[i]; j++)
			s->keys_digest = (s->keys_digest ^ a.key_of[i][j]) * 1099511628211ull;
		s->keys_digest = (s->keys_digest ^ a.klen_of[i]) * 1099511628211ull;
	}
	for (uint32_t i = 1; i < NFLOWS; i += 2) {
		s->pairs_split += a.part_of[i] != a.part_of[i - 1];
		s->key_mismatch += a.klen_of[i] != a.klen_of[i - 1] ||
				   memcmp(a.key_of[i], a.key_of[i - 1], a.klen_of[i]) != 0;
	}
	rd_kafka_topic_destroy(rkt);
	rd_kafka_destroy(rk);
	free(a.part_of);
	free(a.key_of);
	free(a.klen_of);
}

/* Produces the NFLOWS flows with the given policy in 100 bursts 25 ms
 * apart (longer than librdkafka's sticky-partition window, so keyless
 * records get the chance to move), then reads them back. */
static void run_policy(const char *policy, struct spread *s)
{
	struct mock mk;
	struct fc_config cfg;
	struct out o;

	mock_start(&mk, TOPIC, NPARTS, CTOPIC);
	cfg_init(&cfg, mk.bootstraps, policy, NULL);
	ck_assert_int_eq(out_open(&o, &cfg), 0);
	/* Once the probe has read the partition count, the output groups
	 * records by partition itself: wait for it, so that path is the one
	 * under test. */
	for (int t = 0; t < 100 && fc_output_kafka_partitions(o.priv) != NPARTS; t++) {
		struct timespec ts = {0, 50 * 1000 * 1000};

		nanosleep(&ts, NULL);
	}
	ck_assert_int_eq(fc_output_kafka_partitions(o.priv), NPARTS);
	for (uint32_t i = 0; i < NFLOWS; i++) {
		write_flow(&o, i);
		if (i % (NFLOWS / 100) == NFLOWS / 100 - 1) {
			struct timespec ts = {0, 25 * 1000 * 1000};

			fc_output_kafka.poll(o.priv);
			nanosleep(&ts, NULL);
		}
	}
	fc_output_kafka.close(o.priv);
	ck_assert_uint_eq(fc_metrics_sum(o.m, "kafka_delivered_total"), NFLOWS);
	out_free(&o);
	cfg_fini(&cfg);
	consume(mk.bootstraps, s);
	mock_stop(&mk);
	printf("# --kafka-key %-8s partitions: %zu %zu %zu %zu\n", policy, s->per_part[0],
	       s->per_part[1], s->per_part[2], s->per_part[3]);
	ck_assert_uint_eq(s->records, NFLOWS);
	ck_assert_uint_eq(s->out_of_order, 0);
}

START_TEST(key_exporter_one_partition)
{
	struct spread s;
	size_t full = 0;

	run_policy("exporter", &s);
	ck_assert_uint_eq(s.exporter_keyed, NFLOWS);
	ck_assert_uint_eq(s.part_mismatch, 0);
	for (int p = 0; p < NPARTS; p++)
		full += s.per_part[p] == NFLOWS;
	ck_assert_uint_eq(full, 1); /* one partition holds them all */
}
END_TEST

START_TEST(key_flow_spreads_pairs_together)
{
	struct spread s;

	run_policy("flow", &s);
	ck_assert_uint_eq(s.keyed, NFLOWS);
	ck_assert_uint_eq(s.exporter_keyed, 0);
	/* 1000 conversations hashed over 4 partitions: each gets a fair share
	 * (the expected 500 is about 14 standard deviations above 300). */
	for (int p = 0; p < NPARTS; p++)
		ck_assert_uint_gt(s.per_part[p], NFLOWS / 4 * 6 / 10);
	ck_assert_uint_eq(s.key_mismatch, 0);
	ck_assert_uint_eq(s.pairs_split, 0);
	ck_assert_uint_eq(s.part_mismatch, 0);
}
END_TEST

/* The pipeline hands the record, not the protobuf-c message: the key read
 * from it is the same, byte for byte, for every flow. */
START_TEST(key_flow_from_record_same_keys)
{
	struct spread pb, rec;

	from_record = false;
	run_policy("flow", &pb);
	from_record = true;
	run_policy("flow", &rec);
	from_record = false;
	ck_assert_uint_eq(rec.keyed, NFLOWS);
	ck_assert_uint_eq(rec.exporter_keyed, 0);
	ck_assert_uint_eq(rec.key_mismatch, 0);
	ck_assert_uint_eq(rec.pairs_split, 0);
	ck_assert_uint_eq(rec.keys_digest, pb.keys_digest);
	for (int p = 0; p < NPARTS; p++)
		ck_assert_uint_eq(rec.per_part[p], pb.per_part[p]);
}
END_TEST

START_TEST(key_none_spreads)
{
	struct spread s;

	run_policy("none", &s);
	ck_assert_uint_eq(s.keyed, 0);
	/* 100 bursts, each on a partition librdkafka picks at random: every
	 * partition gets some (missing one has odds of about 1e-12). */
	for (int p = 0; p < NPARTS; p++)
		ck_assert_uint_gt(s.per_part[p], 0);
}
END_TEST

/* Every codec librdkafka offers goes through its consumer unchanged. */
START_TEST(compression_codecs)
{
	static const char *const codecs[] = {"none", "gzip", "snappy", "lz4", "zstd"};
	const char *codec = codecs[_i];
	struct mock mk;
	struct fc_config cfg;
	struct out o;
	struct spread s;

	mock_start(&mk, TOPIC, NPARTS, CTOPIC);
	cfg_init(&cfg, mk.bootstraps, "exporter", codec);
	ck_assert_msg(out_open(&o, &cfg) == 0, "codec %s refused", codec);
	for (uint32_t i = 0; i < NFLOWS; i++)
		write_flow(&o, i);
	fc_output_kafka.close(o.priv);
	ck_assert_uint_eq(fc_metrics_sum(o.m, "kafka_delivered_total"), NFLOWS);
	out_free(&o);
	cfg_fini(&cfg);
	consume(mk.bootstraps, &s);
	ck_assert_uint_eq(s.records, NFLOWS);
	mock_stop(&mk);
}
END_TEST

START_TEST(bad_policy_or_codec_refused)
{
	struct fc_config cfg;
	struct out o;

	cfg_init(&cfg, "127.0.0.1:1", "5tuple", NULL);
	ck_assert_int_eq(out_open(&o, &cfg), FC_EINVAL);
	out_free(&o);
	cfg_fini(&cfg);
	cfg_init(&cfg, "127.0.0.1:1", "flow", "brotli");
	ck_assert_int_eq(out_open(&o, &cfg), FC_EINVAL);
	out_free(&o);
	cfg_fini(&cfg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kafka_keys");
	TCase *tc = tcase_create("keys");
	TCase *tz = tcase_create("compression");

	tcase_set_timeout(tc, 60);
	tcase_set_timeout(tz, 60);
	tcase_add_test(tc, key_exporter_one_partition);
	tcase_add_test(tc, key_flow_spreads_pairs_together);
	tcase_add_test(tc, key_flow_from_record_same_keys);
	tcase_add_test(tc, key_none_spreads);
	tcase_add_test(tc, bad_policy_or_codec_refused);
	tcase_add_loop_test(tz, compression_codecs, 0, 5);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tz);
	fc_log_set_level("error");
	return fc_check_run(s);
}
