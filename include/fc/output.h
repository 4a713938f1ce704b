/*
 * Output interface (dav1d muxer style): a vtable per kind of output and a
 * NULL-terminated registry (fc_outputs). New outputs are added to that
 * array, not as new branches in the pipeline.
 *
 * Each message arrives as its record (struct fc_flow or struct fc_counter,
 * for outputs that read fields, e.g. Kafka's flow key) and as its
 * length-delimited encoding (varint length + bytes, for Kafka and files),
 * written by the schema-specific encoders (encode/pb_flow.h). The
 * protobuf-c message is built only for outputs whose ops set needs_pb
 * (JSON renders from it): building it costs about as much as encoding, so
 * the pipeline skips it when no output of that stream asks. All are
 * borrowed for the call only.
 *
 * One message kind per stream: a reader of a stream finds only the kind it
 * expects. An output instance serves one stream (flows, or sFlow counter
 * samples) and is handed only that kind, unless its ops set own_streams:
 * then it keeps each kind in a stream of its own (Kafka: a topic per kind)
 * and is handed every kind.
 *
 * Thread affinity: open and close are called from the main thread; one
 * output instance is shared by every worker, so write and poll may be
 * called concurrently from several pipeline threads and must be safe to
 * (the file output locks; the Kafka output locks its batch).
 *
 * Counters: open receives a registry of the output's own (not a worker's).
 * The output writes its slots under its lock and names that lock with
 * fc_metrics_set_guard(m, &lock), so the HTTP thread can publish the
 * registry at any time. fc_metrics_health(m) is the program's health set
 * (NULL in tests): an output marks itself failing there (metrics/health.h)
 * when it cannot accept data, which /healthz reports.
 */
#ifndef FC_OUTPUT_H
#define FC_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

struct fc_config;
struct fc_counter;
struct fc_flow;
struct fc_metrics;

enum fc_msg_kind {
	FC_MSG_FLOW = 0,    /* flowpb.FlowMessage */
	FC_MSG_COUNTER = 1, /* flowpb.CounterMessage (sFlow counter samples) */
};

struct fc_msg {
	enum fc_msg_kind kind;
	/* the record: flow set for FC_MSG_FLOW, counter for FC_MSG_COUNTER
	 * (either may be NULL when a caller hands only pb) */
	const struct fc_flow *flow;
	const struct fc_counter *counter;
	/* the protobuf-c message; NULL unless an output taking this kind sets
	 * needs_pb */
	const ProtobufCMessage *pb;
	const uint8_t *framed; /* varint length prefix + message */
	size_t framed_len;
	/* the exporter address (4 or 16 bytes), always set; the output
	 * decides whether to use it (Kafka: --kafka-key) */
	const uint8_t *key;
	size_t key_len;
};

struct fc_output_ops {
	const char *name; /* the scheme in --output NAME[:ARG] */
	size_t priv_size;
	/* true: routes each enum fc_msg_kind to a stream of its own. */
	bool own_streams;
	/* true: write reads msg->pb, so the pipeline builds it. */
	bool needs_pb;
	/* Returns 0 or an fc_err; close is called on failure too. */
	int (*open)(void *priv, const char *arg, const struct fc_config *cfg, struct fc_metrics *m);
	/* Returns 0, or an fc_err when the message was dropped (already
	 * counted by the output). */
	int (*write)(void *priv, const struct fc_msg *msg);
	/* Serves callbacks (delivery reports); called once per batch. */
	void (*poll)(void *priv);
	/* Flushes with a bound and releases everything. */
	void (*close)(void *priv);
};

extern const struct fc_output_ops *const fc_outputs[];

/* Looks up an output by its scheme; NULL when unknown. */
const struct fc_output_ops *fc_output_find(const char *name, size_t name_len);

#endif
