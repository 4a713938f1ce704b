/*
 * The data path of one worker: datagrams -> decode -> sampling policy ->
 * enrich -> encode -> every output. A pipeline owns its decoder (and with
 * it the per-exporter state of the exporters whose datagrams reach this
 * worker) and borrows the outputs, which may be shared by several
 * pipelines.
 *
 * Thread affinity: one pipeline per thread. Nothing here allocates per flow.
 */
#ifndef FC_PIPELINE_H
#define FC_PIPELINE_H

#include <stdint.h>
#include <stdio.h>

#include "core/log.h"
#include "encode/pb.h"
#include "encode/pb_counter.h"
#include "encode/pb_flow.h"
#include "fc/dgram.h"
#include "fc/output.h"

struct fc_config;
struct fc_metrics;
struct fc_decoder;
struct fc_enrich;

#define FC_PIPELINE_MAX_OUTPUTS 8

struct fc_output_inst {
	const struct fc_output_ops *ops;
	void *priv;
	/* The stream it serves: FC_MSG_FLOW (--output; 0, the default) or
	 * FC_MSG_COUNTER (--counters-output). See include/fc/output.h. */
	enum fc_msg_kind stream;
};

struct fc_sampling_rule {
	struct fc_addr prefix;
	unsigned len;
	uint64_t rate;
};

struct fc_pipeline {
	const struct fc_config *cfg;
	struct fc_metrics *m;
	struct fc_decoder *dec;
	struct fc_enrich *enrich;
	const struct fc_output_inst *outs;
	size_t n_outs;
	struct fc_sampling_rule rules[32];
	size_t n_rules;
	/* log lines about exporters, templates and undecodable datagrams; the
	 * decoders report, the pipeline logs with the exporter as context */
	struct fc_ratelimit rl_exporter, rl_template, rl_refused, rl_undecodable;
	struct fc_ratelimit rl_evicted; /* template sessions evicted, held data given up */
	/* per-exporter template gauges, refreshed once a second: the slots
	 * set at the last refresh (zeroed first at the next one, so an
	 * exporter whose sessions went away reads 0) */
	uint64_t **exp_slots;
	size_t n_exp_slots, cap_exp_slots;
	uint64_t next_exp_ns;
	uint64_t *flows_out;
	uint64_t *counters_out;
	uint64_t *counters_unrouted; /* no output takes counter samples */
	bool counters_routed;
	uint64_t *encode_errors;
	uint64_t *output_drops;
	/* by enum fc_msg_kind: some output of that stream reads msg->pb */
	bool needs_pb[2];
	struct fc_pb_flow pbf; /* filled only when needs_pb */
	struct fc_pb_counter pbc;
	uint8_t frame[FC_PB_MAX_FRAMED];
};

/* Parses "PREFIX/LEN=RATE" (or "ADDR=RATE" for one host). 0 or FC_EINVAL. */
int fc_sampling_rule_parse(const char *s, struct fc_sampling_rule *out);

/* Prepares p. outs must outlive it. On failure writes a message to err and
 * returns an fc_err; fc_pipeline_fini is safe to call either way. */
int fc_pipeline_init(struct fc_pipeline *p, const struct fc_config *cfg, struct fc_metrics *m,
		     const struct fc_output_inst *outs, size_t n_outs, char *err, size_t errlen);
void fc_pipeline_fini(struct fc_pipeline *p);

/* Worker index of p (0..cfg->workers - 1; default 0): names the template
 * file this worker saves (PATH.wN with several workers). */
void fc_pipeline_set_worker(struct fc_pipeline *p, unsigned worker);

/* Decodes and publishes a batch, then serves the outputs' callbacks. */
void fc_pipeline_run(struct fc_pipeline *p, const struct fc_dgram *g, int n);

/* Serves the outputs (delivery reports, timed batches) when idle. */
void fc_pipeline_poll(struct fc_pipeline *p);

/* Once a second or so: template/held-data expiry, enrichment reloads. */
void fc_pipeline_tick(struct fc_pipeline *p, uint64_t datagram_clock_ns, uint64_t mono_ns);

/* SIGHUP: reload enrichment files. */
void fc_pipeline_reload(struct fc_pipeline *p);

/* End of input: releases held data, saves state. */
void fc_pipeline_finish(struct fc_pipeline *p);

/* For the HTTP endpoint: writes a JSON array to out. Called on the thread
 * that owns p (the worker), so the state read is consistent. Return 0, or
 * FC_ESYS when writing to out failed.
 *
 * fc_pipeline_exporters_json: one object per exporter address with
 * counters of its own: {"address", "port", "protocol" (of its latest
 * datagram: nf5|nf9|ipfix|sflow|unknown), "first_seen", "last_seen" (Unix
 * seconds, datagram clock), "datagrams", "flows", "sequence_lost",
 * "decode_errors": {reason: count, ...} (reasons with a count only)}.
 *
 * fc_pipeline_templates_json: one object per NetFlow v9 / IPFIX template:
 * {"exporter", "port" (0 with --template-ignore-port), "protocol"
 * (nf9|ipfix), "domain", "id", "fields", "kind" (data|options),
 * "age_seconds" (since first announced with these fields),
 * "refreshed_seconds_ago" (since last announced)}; ages are measured on
 * the datagram clock (capture time in --pcap). */
int fc_pipeline_exporters_json(struct fc_pipeline *p, FILE *out);
int fc_pipeline_templates_json(struct fc_pipeline *p, FILE *out);

#endif
