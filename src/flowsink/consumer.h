/*
 * The consumer core of flowsink (DESIGN §6): one librdkafka high-level
 * consumer, member of a group (scale by running more members), reading one
 * topic of length-delimited FlowMessages. Its cycle: fill a batch (up to
 * --batch-records records / --batch-flows flows / --batch-ms), decode it
 * (record.c), hand it to every sink, and only when every sink has applied
 * it, commit the next offsets to Kafka. Kafka's committed offset is a hint:
 * on assignment each partition starts after the lowest offset every sink
 * reports as applied, and each sink skips what it has already applied.
 *
 * On a rebalance the records not yet applied of the revoked partitions are
 * dropped (their new owner reads them again) and what was applied is
 * committed before the partitions are given up. fc_consumer_close drains:
 * the batch in hand is applied, its offsets committed synchronously, the
 * consumer unsubscribes and polls until its partitions are revoked and no
 * commit is pending (closing in the middle of a rebalance aborts
 * librdkafka 2.0), and only then leaves the group.
 *
 * Ownership: the consumer borrows the sinks (the caller opens and closes
 * them, after fc_consumer_free). Thread affinity: one thread.
 */
#ifndef FC_FLOWSINK_CONSUMER_H
#define FC_FLOWSINK_CONSUMER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "flowsink/options.h"
#include "flowsink/record.h"
#include "flowsink/sink.h"

struct fc_consumer_sink {
	const struct fc_sink_ops *ops;
	void *priv;
};

/* The consumer's counters; the future /metrics reads these (and each
 * sink's print_stats). */
struct fc_consumer_stats {
	uint64_t records;          /* Kafka records consumed */
	uint64_t record_bytes;
	uint64_t flows;            /* good FlowMessages decoded */
	uint64_t flows_no_address; /* good messages with neither address: nothing to apply */
	uint64_t bad[FC_RECORD_BAD_COUNT]; /* bad frames by reason, skipped */
	uint64_t kafka_errors;     /* consumer errors (broker down, ...) */
	uint64_t batches;          /* batches applied by every sink */
	uint64_t batch_ns_sum, batch_ns_max; /* apply + commit time */
	uint64_t commits, commit_errors;
	uint64_t rebalances;
	uint64_t dropped_on_revoke; /* records of revoked partitions not applied */
	uint64_t first_record_ns;   /* monotonic: first record consumed, 0 none */
	uint64_t last_applied_ns;   /* monotonic: end of the last batch applied */
};

struct fc_consumer;

/* Creates the consumer and subscribes to o->topic. stop is the process's
 * stop flag (sinks give up retrying when it is raised). On failure returns
 * an fc_err code with a message in err, and *out is untouched. */
int fc_consumer_new(struct fc_consumer **out, const struct fc_fsopts *o,
		    const struct fc_consumer_sink *sinks, size_t n_sinks,
		    const volatile sig_atomic_t *stop, char *err, size_t errlen);

/* One cycle: fills a batch (returns early when stop is raised), applies
 * and commits it. Returns 0, or an fc_err code when a sink gave up or
 * Kafka failed fatally (the process should exit non-zero). */
int fc_consumer_step(struct fc_consumer *c);

/* Drains (applies and commits the batch in hand), commits synchronously
 * and leaves the group. Returns 0 or the first error. */
int fc_consumer_close(struct fc_consumer *c);

void fc_consumer_free(struct fc_consumer *c);

/* fn(arg) runs on the consumer thread after every poll (at least every
 * 100 ms while fc_consumer_step waits for records): the place to publish
 * snapshots of the counters for other threads. */
void fc_consumer_set_tick(struct fc_consumer *c, void (*fn)(void *), void *arg);

const struct fc_consumer_stats *fc_consumer_stats(const struct fc_consumer *c);

/* Prometheus text, names prefixed "flowsink_", with the lag of each
 * assigned partition. Consumer thread only (the HTTP /metrics will take a
 * snapshot of this text made by the consumer thread). */
void fc_consumer_print_stats(const struct fc_consumer *c, FILE *out);

#endif
