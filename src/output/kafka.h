/*
 * Kafka output (librdkafka producer), registered as "kafka" in fc_outputs.
 * See kafka.c for the behaviour (topics, keys, batching, backpressure,
 * delivery reports, flush on close, the embedded in-memory cluster).
 */
#ifndef FC_OUTPUT_KAFKA_H
#define FC_OUTPUT_KAFKA_H

#include "fc/output.h"

extern const struct fc_output_ops fc_output_kafka;

/* Bootstrap address ("127.0.0.1:PORT") of the embedded in-memory cluster
 * that open() started because no broker was named, or NULL when the output
 * talks to real brokers. priv is the output's state after a successful
 * open; the string is owned by it and valid until close. For tests and for
 * start-up messages. */
const char *fc_output_kafka_embedded_bootstraps(const void *priv);

/* Partition count of the flow topic as the reachability probe last read
 * it, 0 before it has (or in a replay, which runs no probe). While it is
 * known and librdkafka's default partitioner is in force, flow records are
 * handed over grouped by the partition that partitioner would give them.
 * For tests. */
int fc_output_kafka_partitions(const void *priv);

#endif
