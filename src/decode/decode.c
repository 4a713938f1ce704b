/*
 * Version sniffing and dispatch (see decode.h), per-protocol and
 * per-exporter datagram/flow/error counters.
 *
 * Sniffing follows the version fields of the specs: NetFlow v5 (Cisco
 * layout) and v9 (RFC 3954 §5.1) and IPFIX (RFC 7011 §3.1) start with a
 * 16-bit version; sFlow v5 (sflow.org sFlow Version 5, §5.4) starts with a
 * 32-bit version 5 followed by the agent address type (1 = IPv4, 2 = IPv6).
 */
#include "decode/decode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/hash.h"
#include "decode/ipfix.h"
#include "decode/netflow5.h"
#include "decode/netflow9.h"
#include "decode/nfv9_ipfix.h"
#include "decode/sflow.h"
#include "metrics/metrics.h"
#include "template/store.h"

/* Per-protocol counter slots (registered in the metrics registry). */
struct proto_metrics {
	uint64_t *datagrams;
	uint64_t *flows;
	uint64_t *errors[FC_ERR_COUNT]; /* by fc_err_index; [0] = unknown code */
};

/* Per-exporter state, keyed by address only: port changes (NAT) must not
 * mint new label sets. The plain numbers feed fc_decoder_visit_exporters;
 * the registry slots feed /metrics (and may be the registry's shared
 * overflow slot). */
struct exporter_slot {
	bool used;
	struct fc_exporter_info info;
	uint64_t hash;
	uint64_t *datagrams, *flows, *seq_lost;
	uint64_t *errors[FC_ERR_COUNT]; /* registered on first use */
};

struct fc_decoder {
	struct fc_metrics *metrics;
	struct fc_sink sink;
	struct proto_metrics pm[FC_PROTO_COUNT];
	uint64_t *exporters_over_cap; /* datagrams from exporters past the cap */
	struct exporter_slot *exporters; /* open addressing, linear probing */
	size_t n_exporters, cap_exporters, max_exporters;
	uint64_t clock_ns;
	uint64_t scratch_flows, scratch_lost; /* exporter counters past the cap */
	struct fc_nf5_state *nf5;
	struct fc_tmpl_store *tmpl;
	struct fc_nfx_state *nfx;
	struct fc_sflow_state *sflow;
};

static const char *const proto_names[FC_PROTO_COUNT] = {"unknown", "nf5", "nf9", "ipfix", "sflow"};

const char *fc_proto_name(enum fc_proto p)
{
	return (unsigned)p < FC_PROTO_COUNT ? proto_names[p] : "unknown";
}

enum fc_proto fc_decode_sniff(const uint8_t *data, size_t len)
{
	if (len < 2)
		return FC_PROTO_UNKNOWN;
	switch ((unsigned)data[0] << 8 | data[1]) {
	case 5:
		return FC_PROTO_NF5;
	case 9:
		return FC_PROTO_NF9;
	case 10:
		return FC_PROTO_IPFIX;
	case 0:
		/* sFlow: 00 00 00 05, then address type 00 00 00 01|02 */
		if (len >= 8 && data[2] == 0 && data[3] == 5 && data[4] == 0 && data[5] == 0 &&
		    data[6] == 0 && (data[7] == 1 || data[7] == 2))
			return FC_PROTO_SFLOW;
		return FC_PROTO_UNKNOWN;
	default:
		return FC_PROTO_UNKNOWN;
	}
}

static void register_proto_metrics(struct fc_decoder *d)
{
	char labels[96];

	for (int p = 0; p < FC_PROTO_COUNT; p++) {
		snprintf(labels, sizeof(labels), "proto=\"%s\"", proto_names[p]);
		d->pm[p].datagrams = fc_metrics_counter(d->metrics, "datagrams_total", labels,
							"export datagrams by protocol");
		d->pm[p].flows = fc_metrics_counter(d->metrics, "flows_decoded_total", labels,
						    "flow records decoded by protocol");
		/* e = 0 is a code outside enum fc_err: its own "unknown" label */
		for (int e = 0; e < FC_ERR_COUNT; e++) {
			snprintf(labels, sizeof(labels), "proto=\"%s\",reason=\"%s\"",
				 proto_names[p], e ? fc_err_name(-e) : "unknown");
			d->pm[p].errors[e] = fc_metrics_counter(
				d->metrics, "decode_errors_total", labels,
				"datagrams or sets skipped by the decoders, by protocol and reason");
		}
	}
	d->exporters_over_cap = fc_metrics_counter(
		d->metrics, "exporters_over_cap_total", NULL,
		"datagrams from exporters beyond the per-exporter counter cap (still decoded)");
}

static void on_tmpl_event(void *ctx, const struct fc_tmpl_event *ev)
{
	struct fc_decoder *d = ctx;

	if (d->sink.tmpl_event)
		d->sink.tmpl_event(d->sink.ctx, ev);
}

struct fc_decoder *fc_decoder_new(const struct fc_config *cfg, struct fc_metrics *m,
				  const struct fc_sink *sink)
{
	struct fc_decoder *d = calloc(1, sizeof(*d));
	struct fc_tmpl_hooks hooks = {.resolve = fc_nfx_resolve, .event = on_tmpl_event};

	if (!d)
		return NULL;
	hooks.ctx = d;
	d->metrics = m;
	d->sink = *sink;
	register_proto_metrics(d);
	d->max_exporters = FC_DECODE_EXPORTERS_MAX;
	d->cap_exporters = 64;
	d->exporters = calloc(d->cap_exporters, sizeof(*d->exporters));
	if (!d->exporters)
		goto fail;
	d->nf5 = fc_nf5_state_new(m);
	if (!d->nf5)
		goto fail;
	d->tmpl = fc_tmpl_store_new(cfg, m, &hooks);
	if (!d->tmpl)
		goto fail;
	d->nfx = fc_nfx_state_new(m, d->tmpl);
	if (!d->nfx)
		goto fail;
	d->sflow = fc_sflow_state_new(m, cfg->sflow_max_samples, cfg->sflow_max_records);
	if (!d->sflow)
		goto fail;
	return d;
fail:
	fc_decoder_free(d);
	return NULL;
}

void fc_decoder_free(struct fc_decoder *d)
{
	if (!d)
		return;
	fc_nf5_state_free(d->nf5);
	fc_nfx_state_free(d->nfx);
	fc_tmpl_store_free(d->tmpl);
	fc_sflow_state_free(d->sflow);
	free(d->exporters);
	free(d);
}

void fc_decoder_set_worker(struct fc_decoder *d, unsigned worker)
{
	fc_tmpl_store_set_worker(d->tmpl, worker);
}

void fc_decoder_set_max_exporters(struct fc_decoder *d, size_t n)
{
	d->max_exporters = n ? n : 1;
}

static uint64_t addr_hash(const struct fc_addr *a)
{
	uint64_t h = fc_hash(FC_HASH_SEED, &a->family, sizeof(a->family));

	return fc_hash(h, a->a, fc_addr_len(a));
}

/* Doubles the table; on failure the old one stays as it was. */
static int exporters_grow(struct fc_decoder *d)
{
	size_t ncap = d->cap_exporters * 2;
	struct exporter_slot *n = calloc(ncap, sizeof(*n));

	if (!n)
		return FC_ENOMEM;
	for (size_t i = 0; i < d->cap_exporters; i++) {
		const struct exporter_slot *s = &d->exporters[i];
		size_t j;

		if (!s->used)
			continue;
		j = s->hash & (ncap - 1);
		while (n[j].used)
			j = (j + 1) & (ncap - 1);
		n[j] = *s;
	}
	free(d->exporters);
	d->exporters = n;
	d->cap_exporters = ncap;
	return 0;
}

static void exporter_register(struct fc_decoder *d, struct exporter_slot *s)
{
	char ip[FC_ADDR_STRLEN], labels[96];

	snprintf(labels, sizeof(labels), "exporter=\"%s\"", fc_addr_str(&s->info.addr, ip));
	s->datagrams = fc_metrics_counter(d->metrics, "exporter_datagrams_total", labels,
					  "export datagrams by exporter");
	s->flows = fc_metrics_counter(d->metrics, "exporter_flows_total", labels,
				      "flow records decoded by exporter");
	s->seq_lost = fc_metrics_counter(d->metrics, "exporter_sequence_lost_total", labels,
		"sequence losses by exporter, in the unit its protocol numbers "
		"(v5/IPFIX flows, v9 packets, sFlow datagrams)");
}

/* Counters of exporter g->src, created on its first datagram. NULL past
 * the cap or on ENOMEM (the datagram is still decoded). */
static struct exporter_slot *exporter_get(struct fc_decoder *d, const struct fc_dgram *g,
					  enum fc_proto p)
{
	uint64_t h = addr_hash(&g->src);
	size_t mask = d->cap_exporters - 1;
	size_t i = h & mask;
	struct exporter_slot *s;

	while (d->exporters[i].used) {
		if (d->exporters[i].hash == h && fc_addr_eq(&d->exporters[i].info.addr, &g->src))
			return &d->exporters[i];
		i = (i + 1) & mask;
	}
	if (d->n_exporters >= d->max_exporters)
		return NULL;
	if ((d->n_exporters + 1) * 2 > d->cap_exporters) {
		if (exporters_grow(d) != 0)
			return NULL;
		return exporter_get(d, g, p);
	}
	s = &d->exporters[i];
	s->used = true;
	s->hash = h;
	s->info.addr = g->src;
	s->info.first_ns = g->time_ns;
	d->n_exporters++;
	exporter_register(d, s);
	if (d->sink.exporter_new)
		d->sink.exporter_new(d->sink.ctx, g, p);
	return s;
}

static int dispatch(struct fc_decoder *d, enum fc_proto p, const struct fc_emit *out,
		    const struct fc_dgram *g)
{
	switch (p) {
	case FC_PROTO_NF5:
		return fc_nf5_decode(d->nf5, out, g);
	case FC_PROTO_SFLOW:
		return fc_sflow_decode(d->sflow, out, g);
	case FC_PROTO_NF9:
		return fc_nf9_decode(d->nfx, out, g);
	case FC_PROTO_IPFIX:
		return fc_ipfix_decode(d->nfx, out, g);
	default:
		return FC_EVERSION;
	}
}

int fc_decode_datagram(struct fc_decoder *d, const struct fc_dgram *g)
{
	enum fc_proto p = fc_decode_sniff(g->data, g->len);
	struct exporter_slot *x = exporter_get(d, g, p);
	struct fc_emit out = {
		.flow = d->sink.flow, .counter = d->sink.counter, .ctx = d->sink.ctx,
		.flows = d->pm[p].flows,
	};
	uint64_t flows = 0, lost = 0;
	int rc;

	if (g->time_ns > d->clock_ns)
		d->clock_ns = g->time_ns;
	(*d->pm[p].datagrams)++;
	if (!x)
		(*d->exporters_over_cap)++;
	out.exp_flows = &flows;
	out.exp_seq_lost = &lost;
	rc = dispatch(d, p, &out, g);
	if (rc < 0)
		(*d->pm[p].errors[fc_err_index(rc)])++;
	if (!x)
		return rc;
	x->info.port = g->src_port;
	x->info.proto = p;
	x->info.last_ns = g->time_ns;
	x->info.datagrams++;
	x->info.flows += flows;
	x->info.seq_lost += lost;
	(*x->datagrams)++;
	*x->flows += flows;
	*x->seq_lost += lost;
	if (rc < 0) {
		unsigned e = fc_err_index(rc);

		x->info.errors[e]++;
		if (!x->errors[e]) {
			char ip[FC_ADDR_STRLEN], labels[128];

			snprintf(labels, sizeof(labels), "exporter=\"%s\",reason=\"%s\"",
				 fc_addr_str(&x->info.addr, ip), e ? fc_err_name(rc) : "unknown");
			x->errors[e] = fc_metrics_counter(d->metrics, "exporter_decode_errors_total",
							  labels, "decode errors by exporter and reason");
		}
		(*x->errors[e])++;
	}
	return rc;
}

void fc_decoder_tick(struct fc_decoder *d, uint64_t now_ns)
{
	fc_tmpl_expire(d->tmpl, now_ns);
}

void fc_decoder_finish(struct fc_decoder *d)
{
	fc_tmpl_finish(d->tmpl);
}

size_t fc_decoder_visit_exporters(const struct fc_decoder *d,
				  void (*fn)(void *ctx, const struct fc_exporter_info *x),
				  void *ctx)
{
	for (size_t i = 0; i < d->cap_exporters; i++)
		if (d->exporters[i].used)
			fn(ctx, &d->exporters[i].info);
	return d->n_exporters;
}

void fc_decoder_limits(const struct fc_decoder *d, struct fc_decode_limits *out)
{
	struct fc_tmpl_limits t;

	fc_tmpl_store_limits(d->tmpl, &t);
	out->template_max_exporters = t.max_sessions;
	out->template_max_per_exporter = t.max_templates;
	out->template_max_fields = t.max_fields;
	out->hold_bytes = t.hold_bytes;
	out->hold_seconds = t.hold_seconds;
	out->template_ttl = t.ttl_seconds;
	out->template_save_interval = t.save_seconds;
	out->template_memory = t.memory_bytes;
	out->template_ignore_port = t.ignore_port;
	fc_sflow_limits(d->sflow, &out->sflow_max_samples, &out->sflow_max_records);
}

const struct fc_tmpl_store *fc_decoder_templates(const struct fc_decoder *d)
{
	return d->tmpl;
}

uint64_t fc_decoder_clock_ns(const struct fc_decoder *d)
{
	return d->clock_ns;
}
