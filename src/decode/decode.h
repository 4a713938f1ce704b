/*
 * Decoding front door: version sniffing and dispatch of one export datagram
 * to the NetFlow v5, NetFlow v9, IPFIX or sFlow v5 decoder, which emit
 * normalized records to a sink.
 *
 * Sniffing (first 16-bit word, then the 32-bit sFlow version):
 *   0x0005 NetFlow v5, 0x0009 NetFlow v9, 0x000a IPFIX,
 *   0x00000005 followed by agent address type 1 or 2: sFlow v5.
 *
 * Decoders never log: they return an fc_err; fc_decode_datagram counts it
 * per protocol and reason. A datagram may emit flows and still return an
 * error for a later part it could not decode.
 *
 * Thread affinity: a decoder (and its per-exporter state) belongs to one
 * pipeline thread.
 */
#ifndef FC_DECODE_H
#define FC_DECODE_H

#include <stdint.h>

#include "fc/dgram.h"
#include "fc/flow.h"

struct fc_config;
struct fc_metrics;
struct fc_counter; /* sFlow counter sample, include/fc/counter.h */

enum fc_proto {
	FC_PROTO_UNKNOWN = 0,
	FC_PROTO_NF5,
	FC_PROTO_NF9,
	FC_PROTO_IPFIX,
	FC_PROTO_SFLOW,
	FC_PROTO_COUNT,
};

const char *fc_proto_name(enum fc_proto p);

/* Where decoded records go. Called synchronously from fc_decode_datagram
 * (or fc_decoder_tick when held data is released); the record is borrowed
 * for the call. The sink may modify the flow (enrichment). */
struct fc_sink {
	void (*flow)(void *ctx, struct fc_flow *f);
	void (*counter)(void *ctx, const struct fc_counter *c);
	void *ctx;
};

/* Per-protocol counter slots (registered in the metrics registry). */
struct fc_proto_metrics {
	uint64_t *datagrams;
	uint64_t *flows;
	uint64_t *errors[12]; /* by fc_err_index */
};

struct fc_tmpl_engine; /* NetFlow v9 / IPFIX state, src/template */
struct fc_sflow_state; /* sFlow sequence state, src/decode/sflow.c */

struct fc_exporter_slot; /* per-exporter counters, decode.c */

struct fc_decoder {
	const struct fc_config *cfg;
	struct fc_metrics *metrics;
	struct fc_sink sink;
	struct fc_proto_metrics pm[FC_PROTO_COUNT];
	uint64_t *exporters_over_cap; /* datagrams from exporters past the cap */
	struct fc_exporter_slot *exporters; /* open-addressing table */
	size_t n_exporters, cap_exporters;
	struct fc_exporter_slot *cur; /* exporter of the datagram being decoded */
	enum fc_proto cur_proto;
	struct fc_nf5_state *nf5;
	struct fc_tmpl_engine *tmpl;
	struct fc_sflow_state *sflow;
};

/* For decoders: hands a finished flow to the sink, counting it for the
 * protocol and the current exporter. */
void fc_decode_emit_flow(struct fc_decoder *d, enum fc_proto p, struct fc_flow *f);
void fc_decode_emit_counter(struct fc_decoder *d, const struct fc_counter *c);

/* Creates a decoder; cfg and metrics must outlive it. NULL on ENOMEM. */
struct fc_decoder *fc_decoder_new(const struct fc_config *cfg, struct fc_metrics *m,
				  const struct fc_sink *sink);
void fc_decoder_free(struct fc_decoder *d);

/* Tells which protocol a datagram carries, from its first bytes only. */
enum fc_proto fc_decode_sniff(const uint8_t *data, size_t len);

/* Decodes one datagram; counts it. Returns 0 or the first fc_err met. */
int fc_decode_datagram(struct fc_decoder *d, const struct fc_dgram *g);

/* Periodic work: expiry of templates and held data. now_ns is the
 * datagram clock (capture time in --pcap). */
void fc_decoder_tick(struct fc_decoder *d, uint64_t now_ns);

/* Called once at exit: release held data (counted as given up) and save
 * state where configured. */
void fc_decoder_finish(struct fc_decoder *d);

#endif
