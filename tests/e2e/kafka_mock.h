/*
 * What the Kafka output's tests share: a librdkafka mock cluster started
 * in the test's own process (rdkafka_mock.h, the Kafka protocol on
 * loopback TCP), the output opened on a config the test builds, and a
 * consumer that reads a partition from its beginning to its end, handing
 * each record to the test.
 */
#ifndef FC_TEST_KAFKA_MOCK_H
#define FC_TEST_KAFKA_MOCK_H

#include <check.h>
#include <stdlib.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "config/config.h"
#include "metrics/metrics.h"
#include "output/kafka.h"

struct mock {
	rd_kafka_t *rk;
	rd_kafka_mock_cluster_t *mc;
	const char *bootstraps;
};

/* One broker holding topic (nparts partitions) and ctopic (one). */
static inline void mock_start(struct mock *mk, const char *topic, int nparts, const char *ctopic)
{
	char errstr[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();

	rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
	mk->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	ck_assert_msg(mk->rk != NULL, "%s", errstr);
	mk->mc = rd_kafka_mock_cluster_new(mk->rk, 1);
	ck_assert_ptr_nonnull(mk->mc);
	ck_assert_int_eq(rd_kafka_mock_topic_create(mk->mc, topic, nparts, 1), 0);
	ck_assert_int_eq(rd_kafka_mock_topic_create(mk->mc, ctopic, 1, 1), 0);
	mk->bootstraps = rd_kafka_mock_cluster_bootstraps(mk->mc);
}

static inline void mock_stop(struct mock *mk)
{
	rd_kafka_mock_cluster_destroy(mk->mc);
	rd_kafka_destroy(mk->rk);
}

/* The Kafka output under test, with its own metrics. */
struct out {
	void *priv;
	struct fc_metrics *m;
};

/* Opens the output on cfg; on failure it is already closed (out_free
 * still frees the memory). */
static inline int out_open(struct out *o, const struct fc_config *cfg)
{
	int rc;

	o->m = fc_metrics_new();
	ck_assert_ptr_nonnull(o->m);
	o->priv = calloc(1, fc_output_kafka.priv_size);
	ck_assert_ptr_nonnull(o->priv);
	rc = fc_output_kafka.open(o->priv, NULL, cfg, o->m);
	if (rc)
		fc_output_kafka.close(o->priv);
	return rc;
}

static inline void out_free(struct out *o)
{
	free(o->priv);
	fc_metrics_free(o->m);
}

/* A consumer of the mock cluster that reports the end of each partition. */
static inline rd_kafka_t *consumer_new(const char *bootstraps)
{
	char errstr[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk;

	rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, errstr, sizeof(errstr));
	rd_kafka_conf_set(conf, "enable.partition.eof", "true", errstr, sizeof(errstr));
	rd_kafka_conf_set(conf, "fetch.wait.max.ms", "20", errstr, sizeof(errstr));
	rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	ck_assert_msg(rk != NULL, "%s", errstr);
	return rk;
}

/* Reads partition part of rkt from its beginning to its end, calling
 * on_record for each record; fails the test after 10 s without any. */
static inline void consume_partition(rd_kafka_topic_t *rkt, int32_t part,
				     void (*on_record)(void *ctx, int32_t part,
						       const rd_kafka_message_t *m),
				     void *ctx)
{
	int idle = 0;

	ck_assert_int_eq(rd_kafka_consume_start(rkt, part, RD_KAFKA_OFFSET_BEGINNING), 0);
	for (;;) {
		rd_kafka_message_t *m = rd_kafka_consume(rkt, part, 500);

		if (!m) {
			ck_assert_msg(++idle < 20, "consumer got nothing for 10 s");
			continue;
		}
		idle = 0;
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			rd_kafka_message_destroy(m);
			break;
		}
		ck_assert_msg(m->err == 0, "consume: %s", rd_kafka_err2str(m->err));
		on_record(ctx, part, m);
		rd_kafka_message_destroy(m);
	}
	rd_kafka_consume_stop(rkt, part);
}

#endif
