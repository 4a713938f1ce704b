/*
 * The one interface every flowsink sink implements (DESIGN §6): open,
 * apply a batch durably, report the last applied offset per partition,
 * close. The consumer (consumer.c) hands each batch to every sink and
 * commits a Kafka offset only when every sink has applied the records
 * before it; a sink that stores its last applied offset atomically with its
 * data (the Redis sink does, in the same MULTI/EXEC) skips records at or
 * below it, which turns Kafka's at-least-once delivery into an exactly-once
 * effect. New sinks are added to the registry in main.c, not as branches.
 *
 * Ownership: a batch and everything it points to belong to the consumer
 * and are valid for the apply call only.
 * Thread affinity: the consumer thread calls every function; a sink is not
 * called concurrently.
 */
#ifndef FC_FLOWSINK_SINK_H
#define FC_FLOWSINK_SINK_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "flowsink/options.h"
#include "flowsink/record.h"

/* One Kafka record of a batch: its flows are flows[first .. first+count). */
struct fc_sink_record {
	int32_t partition;
	int64_t offset;
	size_t first, count;
};

/* Records of one topic, in the order they were consumed (so offsets grow
 * within each partition). */
struct fc_sink_batch {
	const char *topic;
	const struct fc_sink_record *recs;
	size_t n_recs;
	const struct fc_sink_flow *flows;
	size_t n_flows;
};

struct fc_sink_ops {
	const char *name;
	/* Opens the sink from the options. stop is raised when the process
	 * should exit: a sink that retries must give up then. On success
	 * stores the sink in *out_priv and returns 0; on failure returns an
	 * fc_err code with a message in err and nothing to close. */
	int (*open)(void **out_priv, const struct fc_fsopts *o, const volatile sig_atomic_t *stop,
		    char *err, size_t errlen);
	/* Last applied offset of each (topic, partitions[i]) into
	 * out_offsets[i], -1 where the sink has applied none. NULL for a sink
	 * that keeps no offsets (in memory): it has no say in the start. Returns 0 or an
	 * fc_err code (out_offsets untouched then). */
	int (*applied)(void *priv, const char *topic, const int32_t *partitions, size_t n,
		       int64_t *out_offsets);
	/* Applies the batch durably and atomically with its offsets; records at
	 * or below the stored offset of their partition are skipped. Returns 0
	 * when every record is applied (now or before), an fc_err code when the
	 * sink gave up (nothing of the batch may be committed then). */
	int (*apply)(void *priv, const struct fc_sink_batch *b);
	/* Counters in the Prometheus text format, names prefixed "flowsink_". */
	void (*print_stats)(void *priv, FILE *out);
	void (*close)(void *priv);
};

extern const struct fc_sink_ops fc_sink_redis;

#endif
