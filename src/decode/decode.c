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
#include "decode/netflow5.h"
#include "decode/netflow9.h"
#include "decode/ipfix.h"
#include "template/cache.h"
#include "decode/sflow.h"
#include "fc/err.h"
#include "metrics/metrics.h"

#define EXPORTERS_MAX 65536

struct fc_exporter_slot {
	bool used;
	struct fc_addr addr;
	uint64_t *datagrams;
	uint64_t *flows;
	uint64_t *errors;
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
		for (int e = 1; e < FC_ERR_COUNT; e++) {
			snprintf(labels, sizeof(labels), "proto=\"%s\",reason=\"%s\"", proto_names[p],
				 fc_err_name(-e));
			d->pm[p].errors[e] = fc_metrics_counter(
				d->metrics, "decode_errors_total", labels,
				"datagrams or sets skipped by the decoders, by protocol and reason");
		}
		d->pm[p].errors[0] = d->pm[p].errors[1];
	}
	d->exporters_over_cap = fc_metrics_counter(
		d->metrics, "exporters_over_cap_total", NULL,
		"datagrams from exporters beyond the per-exporter counter cap (still decoded)");
}

struct fc_decoder *fc_decoder_new(const struct fc_config *cfg, struct fc_metrics *m,
				  const struct fc_sink *sink)
{
	struct fc_decoder *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->cfg = cfg;
	d->metrics = m;
	d->sink = *sink;
	register_proto_metrics(d);
	d->cap_exporters = 64;
	d->exporters = calloc(d->cap_exporters, sizeof(*d->exporters));
	if (!d->exporters)
		goto fail;
	d->nf5 = fc_nf5_state_new(m);
	if (!d->nf5)
		goto fail;
	d->tmpl = fc_tmpl_engine_new(cfg, m);
	if (!d->tmpl)
		goto fail;
	d->sflow = fc_sflow_state_new(m);
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
	fc_tmpl_engine_free(d->tmpl);
	fc_sflow_state_free(d->sflow);
	free(d->exporters);
	free(d);
}

static uint64_t addr_hash(const struct fc_addr *a)
{
	uint64_t h = 1469598103934665603ull ^ a->family;

	for (unsigned i = 0; i < fc_addr_len(a); i++)
		h = (h ^ a->a[i]) * 1099511628211ull;
	return h;
}

static int exporters_grow(struct fc_decoder *d)
{
	size_t ncap = d->cap_exporters * 2;
	struct fc_exporter_slot *n = calloc(ncap, sizeof(*n));

	if (!n)
		return FC_ENOMEM;
	for (size_t i = 0; i < d->cap_exporters; i++) {
		struct fc_exporter_slot *s = &d->exporters[i];
		size_t j;

		if (!s->used)
			continue;
		j = addr_hash(&s->addr) & (ncap - 1);
		while (n[j].used)
			j = (j + 1) & (ncap - 1);
		n[j] = *s;
	}
	free(d->exporters);
	d->exporters = n;
	d->cap_exporters = ncap;
	return 0;
}

/* Per-exporter counters, keyed by address only: port changes (NAT) must not
 * mint new label sets. NULL past the cap or on ENOMEM. */
static struct fc_exporter_slot *exporter_get(struct fc_decoder *d, const struct fc_addr *a)
{
	size_t mask = d->cap_exporters - 1;
	size_t i = addr_hash(a) & mask;
	char ip[FC_ADDR_STRLEN], labels[96];
	struct fc_exporter_slot *s;

	while (d->exporters[i].used) {
		if (fc_addr_eq(&d->exporters[i].addr, a))
			return &d->exporters[i];
		i = (i + 1) & mask;
	}
	if (d->n_exporters >= EXPORTERS_MAX)
		return NULL;
	if ((d->n_exporters + 1) * 2 > d->cap_exporters) {
		if (exporters_grow(d) != 0)
			return NULL;
		return exporter_get(d, a);
	}
	s = &d->exporters[i];
	s->used = true;
	s->addr = *a;
	d->n_exporters++;
	snprintf(labels, sizeof(labels), "exporter=\"%s\"", fc_addr_str(a, ip));
	s->datagrams = fc_metrics_counter(d->metrics, "exporter_datagrams_total", labels,
					  "export datagrams by exporter");
	s->flows = fc_metrics_counter(d->metrics, "exporter_flows_total", labels,
				      "flow records decoded by exporter");
	s->errors = fc_metrics_counter(d->metrics, "exporter_decode_errors_total", labels,
				       "decode errors by exporter");
	return s;
}

void fc_decode_emit_flow(struct fc_decoder *d, enum fc_proto p, struct fc_flow *f)
{
	(*d->pm[p].flows)++;
	if (d->cur)
		(*d->cur->flows)++;
	d->sink.flow(d->sink.ctx, f);
}

void fc_decode_emit_counter(struct fc_decoder *d, const struct fc_counter *c)
{
	if (d->sink.counter)
		d->sink.counter(d->sink.ctx, c);
}

int fc_decode_datagram(struct fc_decoder *d, const struct fc_dgram *g)
{
	enum fc_proto p = fc_decode_sniff(g->data, g->len);
	int rc;

	d->cur = exporter_get(d, &g->src);
	if (d->cur)
		(*d->cur->datagrams)++;
	else
		(*d->exporters_over_cap)++;
	(*d->pm[p].datagrams)++;
	d->cur_proto = p;

	switch (p) {
	case FC_PROTO_NF5:
		rc = fc_nf5_decode(d, g);
		break;
	case FC_PROTO_SFLOW:
		rc = fc_sflow_decode(d, g);
		break;
	case FC_PROTO_NF9:
		rc = fc_nf9_decode(d, g);
		break;
	case FC_PROTO_IPFIX:
		rc = fc_ipfix_decode(d, g);
		break;
	default:
		rc = FC_EVERSION;
		break;
	}
	if (rc < 0) {
		(*d->pm[p].errors[fc_err_index(rc)])++;
		if (d->cur)
			(*d->cur->errors)++;
	}
	d->cur = NULL;
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
