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
 * per protocol, per exporter and per reason, and the caller logs. A
 * datagram may emit flows and still return an error for a later part it
 * could not decode. The protocol decoders see only a narrow context
 * (emit.h), never struct fc_decoder.
 *
 * Thread affinity: a decoder (and its per-exporter state) belongs to one
 * pipeline thread.
 */
#ifndef FC_DECODE_H
#define FC_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fc/dgram.h"
#include "fc/err.h"
#include "fc/flow.h"

struct fc_config;
struct fc_metrics;
struct fc_counter; /* sFlow counter sample, include/fc/counter.h */
struct fc_tmpl_store; /* src/template/store.h */

enum fc_proto {
	FC_PROTO_UNKNOWN = 0,
	FC_PROTO_NF5,
	FC_PROTO_NF9,
	FC_PROTO_IPFIX,
	FC_PROTO_SFLOW,
	FC_PROTO_COUNT,
};

const char *fc_proto_name(enum fc_proto p);

struct fc_tmpl_event; /* src/template/store.h */

/* Where decoded records and reports go. Called synchronously from
 * fc_decode_datagram (held data is released, and decoded, by the datagram
 * that brings its template), tmpl_event also from fc_decoder_tick
 * (expiry) and fc_decoder_new (templates loaded from the file); the record
 * is borrowed for the call. The sink may modify the flow
 * (enrichment). flow is required, the others may be NULL. The decoders
 * never log: exporter_new and tmpl_event are how the caller learns what to
 * log (with the exporter as context). */
struct fc_sink {
	void (*flow)(void *ctx, struct fc_flow *f);
	void (*counter)(void *ctx, const struct fc_counter *c);
	/* first datagram from an address (g: that datagram) */
	void (*exporter_new)(void *ctx, const struct fc_dgram *g, enum fc_proto p);
	/* template learned/changed/withdrawn/expired, template or session refused */
	void (*tmpl_event)(void *ctx, const struct fc_tmpl_event *ev);
	void *ctx;
};

/* Exporters with counters of their own; datagrams from more addresses are
 * still decoded and counted in exporters_over_cap_total. */
#define FC_DECODE_EXPORTERS_MAX 65536

struct fc_decoder;

/* Creates a decoder with the limits of cfg (a config filled by
 * fc_config_init, then parsed); cfg and metrics must outlive it; sink is
 * copied. NULL on ENOMEM (nothing is left allocated). */
struct fc_decoder *fc_decoder_new(const struct fc_config *cfg, struct fc_metrics *m,
				  const struct fc_sink *sink);
/* Accepts NULL. */
void fc_decoder_free(struct fc_decoder *d);

/* Which worker (0..cfg->workers - 1) this decoder serves: names the
 * template file it saves (see src/template/store.h). Default 0. */
void fc_decoder_set_worker(struct fc_decoder *d, unsigned worker);

/* Lowers the exporter cap (tests, embedders); n >= 1. */
void fc_decoder_set_max_exporters(struct fc_decoder *d, size_t n);

/* Tells which protocol a datagram carries, from its first bytes only. */
enum fc_proto fc_decode_sniff(const uint8_t *data, size_t len);

/* Decodes one datagram; counts it per protocol and per exporter, and a
 * failure per protocol, per exporter and per reason (codes outside enum
 * fc_err as reason "unknown"). Returns 0 or the first fc_err met. */
int fc_decode_datagram(struct fc_decoder *d, const struct fc_dgram *g);

/* Periodic work: expiry of templates and held data. now_ns is the
 * datagram clock (capture time in --pcap). */
void fc_decoder_tick(struct fc_decoder *d, uint64_t now_ns);

/* Called once at exit: release held data (counted as given up) and save
 * state where configured. */
void fc_decoder_finish(struct fc_decoder *d);

/* What the decoder knows of one exporter address (port and protocol: of
 * its latest datagram). Times are the datagram clock, Unix ns. */
struct fc_exporter_info {
	struct fc_addr addr;
	uint16_t port;
	enum fc_proto proto;
	uint64_t first_ns, last_ns;
	uint64_t datagrams, flows, seq_lost;
	uint64_t errors[FC_ERR_COUNT]; /* by fc_err_index; [0] = unknown code */
};

/* Calls fn for every exporter with counters of its own, then returns how
 * many there are. Introspection: the decoder's thread only. */
size_t fc_decoder_visit_exporters(const struct fc_decoder *d,
				  void (*fn)(void *ctx, const struct fc_exporter_info *x),
				  void *ctx);

/* The limits the decoders hold, as they took them from the config (tests:
 * every default of the option table reaches the engine). */
struct fc_decode_limits {
	uint64_t template_max_exporters, template_max_per_exporter, template_max_fields;
	uint64_t hold_bytes, hold_seconds, template_ttl, template_save_interval;
	uint64_t template_memory; /* this decoder's share (template_memory / workers) */
	uint64_t sflow_max_samples, sflow_max_records;
	bool template_ignore_port;
};
void fc_decoder_limits(const struct fc_decoder *d, struct fc_decode_limits *out);

/* The template store (introspection: fc_tmpl_visit), and the latest
 * datagram clock seen (0 before the first datagram). */
const struct fc_tmpl_store *fc_decoder_templates(const struct fc_decoder *d);
uint64_t fc_decoder_clock_ns(const struct fc_decoder *d);

#endif
