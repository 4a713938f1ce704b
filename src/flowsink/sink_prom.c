/*
 * The per-AS Prometheus exporter of flowsink, a sink (sink.h) whose state
 * is in memory: two counters, flow_receive_bytes_total and
 * flow_transmit_bytes_total, labelled source_as, source_as_name,
 * destination_as, destination_as_name and hostname (the exporter's name,
 * else its address), in the Prometheus text exposition format 0.0.4. The
 * direction comes from --asn (our own AS numbers): a flow whose
 * destination AS is ours is received, one whose source AS is ours is
 * transmitted (both when both are; neither is counted as not ours). Bytes
 * are the renormalized ones (bytes_scaled when the collector set it).
 *
 * Cardinality is capped by --prometheus-max-series: once that many label
 * sets exist, new ones are added to one overflow series whose labels are
 * all "other", and flowsink_prom_overflow_flows_total counts the flows.
 *
 * Offsets: an in-memory sink cannot store its offsets with its data, so
 * it reports none applied (the other sinks, or Kafka's committed offset,
 * decide where the group resumes) and its counters start at zero with the
 * process, counting from where the group resumes. Prometheus reads a
 * restart as a counter reset (rate() handles it); a record re-delivered
 * after a rebalance can be counted by two members (at least once).
 *
 * Thread affinity: apply runs on the consumer thread, render on the HTTP
 * thread; the table is guarded by the sink's own mutex, held for a batch
 * or one rendering.
 */
#include "flowsink/sink_prom.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fc/err.h"

#define MAX_ASN FC_FSOPTS_MAX_LIST

struct series {
	bool used;
	uint32_t src_as, dst_as;
	char src_name[FC_SINK_FLOW_NAME_MAX], dst_name[FC_SINK_FLOW_NAME_MAX];
	char host[FC_SINK_FLOW_NAME_MAX];
	uint64_t rx, tx;
};

struct prom {
	pthread_mutex_t mu;
	uint32_t asn[MAX_ASN];
	size_t n_asn;
	struct series *tab; /* open addressing, cap a power of two >= 2 * max */
	size_t cap, n, max;
	uint64_t over_rx, over_tx;
	uint64_t overflow_flows, not_ours_flows, flows;
};

static bool ours(const struct prom *p, uint32_t as)
{
	for (size_t i = 0; i < p->n_asn; i++) {
		if (p->asn[i] == as)
			return true;
	}
	return false;
}

static uint64_t hash_str(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static uint64_t key_hash(uint32_t sa, uint32_t da, const char *sn, const char *dn, const char *host)
{
	uint64_t h = 1469598103934665603ull;

	h = (h ^ sa) * 1099511628211ull;
	h = (h ^ da) * 1099511628211ull;
	h = hash_str(h, sn);
	h = hash_str(h ^ 1u, dn);
	return hash_str(h ^ 2u, host);
}

/* The series of the label set, added when room remains; NULL: overflow. */
static struct series *lookup(struct prom *p, uint32_t sa, uint32_t da, const char *sn,
			     const char *dn, const char *host)
{
	size_t i = (size_t)key_hash(sa, da, sn, dn, host) & (p->cap - 1);

	for (;;) {
		struct series *s = &p->tab[i];

		if (!s->used) {
			if (p->n >= p->max)
				return NULL;
			s->used = true;
			s->src_as = sa;
			s->dst_as = da;
			snprintf(s->src_name, sizeof(s->src_name), "%s", sn);
			snprintf(s->dst_name, sizeof(s->dst_name), "%s", dn);
			snprintf(s->host, sizeof(s->host), "%s", host);
			p->n++;
			return s;
		}
		if (s->src_as == sa && s->dst_as == da && !strcmp(s->src_name, sn) &&
		    !strcmp(s->dst_name, dn) && !strcmp(s->host, host))
			return s;
		i = (i + 1) & (p->cap - 1);
	}
}

static int prom_open(void **out_priv, const struct fc_fsopts *o, const volatile sig_atomic_t *stop,
		     char *err, size_t errlen)
{
	struct prom *p;

	(void)stop;
	p = calloc(1, sizeof(*p));
	if (!p)
		return FC_ENOMEM;
	for (size_t i = 0; i < o->asn.n; i++) {
		char *end;
		unsigned long long v;

		errno = 0;
		v = strtoull(o->asn.v[i], &end, 10);
		if (errno || end == o->asn.v[i] || *end || o->asn.v[i][0] == '-' || v > UINT32_MAX) {
			snprintf(err, errlen, "--asn %s: expected an AS number 0..4294967295",
				 o->asn.v[i]);
			free(p);
			return FC_EINVAL;
		}
		p->asn[p->n_asn++] = (uint32_t)v;
	}
	p->max = (size_t)o->prometheus_max_series;
	p->cap = 16;
	while (p->cap < 2 * p->max)
		p->cap *= 2;
	p->tab = calloc(p->cap, sizeof(*p->tab));
	if (!p->tab) {
		snprintf(err, errlen, "out of memory for %zu series", p->max);
		free(p);
		return FC_ENOMEM;
	}
	pthread_mutex_init(&p->mu, NULL);
	*out_priv = p;
	return 0;
}

static int prom_apply(void *priv, const struct fc_sink_batch *b)
{
	struct prom *p = priv;
	char host[FC_SINK_FLOW_NAME_MAX];

	pthread_mutex_lock(&p->mu);
	for (size_t i = 0; i < b->n_flows; i++) {
		const struct fc_sink_flow *f = &b->flows[i];
		bool rx = ours(p, f->dst_as), tx = ours(p, f->src_as);
		struct series *s;

		p->flows++;
		if (!rx && !tx) {
			p->not_ours_flows++;
			continue;
		}
		if (f->exporter_name[0]) {
			snprintf(host, sizeof(host), "%s", f->exporter_name);
		} else if (f->exporter.family) {
			char a[64];

			snprintf(host, sizeof(host), "%s", fc_addr_str(&f->exporter, a));
		} else {
			host[0] = '\0';
		}
		s = lookup(p, f->src_as, f->dst_as, f->src_as_name, f->dst_as_name, host);
		if (!s) {
			p->overflow_flows++;
			p->over_rx += rx ? f->bytes : 0;
			p->over_tx += tx ? f->bytes : 0;
			continue;
		}
		s->rx += rx ? f->bytes : 0;
		s->tx += tx ? f->bytes : 0;
	}
	pthread_mutex_unlock(&p->mu);
	return 0;
}

/* A label value: the names are printable ASCII (record.c); backslash and
 * quote are escaped as the text format requires. */
static void label(FILE *out, const char *name, const char *v, bool last)
{
	fprintf(out, "%s=\"", name);
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', out);
		fputc(*v, out);
	}
	fputs(last ? "\"" : "\",", out);
}

static void print_counter(struct prom *p, FILE *out, const char *name, const char *help, bool rx)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
	for (size_t i = 0; i < p->cap; i++) {
		const struct series *s = &p->tab[i];
		uint64_t v = rx ? s->rx : s->tx;
		char as[16];

		/* A label set seen in one direction only has no series in
		 * the other. */
		if (!s->used || v == 0)
			continue;
		fprintf(out, "%s{", name);
		snprintf(as, sizeof(as), "%" PRIu32, s->src_as);
		label(out, "source_as", as, false);
		label(out, "source_as_name", s->src_name, false);
		snprintf(as, sizeof(as), "%" PRIu32, s->dst_as);
		label(out, "destination_as", as, false);
		label(out, "destination_as_name", s->dst_name, false);
		label(out, "hostname", s->host, true);
		fprintf(out, "} %" PRIu64 "\n", v);
	}
	if (p->overflow_flows)
		fprintf(out, "%s{source_as=\"other\",source_as_name=\"other\",destination_as=\"other\","
			     "destination_as_name=\"other\",hostname=\"other\"} %" PRIu64 "\n",
			name, rx ? p->over_rx : p->over_tx);
}

static void prom_stats(void *priv, FILE *out)
{
	struct prom *p = priv;

	pthread_mutex_lock(&p->mu);
	fprintf(out,
		"# HELP flowsink_prom_flows_total flows seen by the per-AS exporter\n"
		"# TYPE flowsink_prom_flows_total counter\nflowsink_prom_flows_total %" PRIu64 "\n"
		"# HELP flowsink_prom_not_ours_flows_total flows with neither AS in --asn (not counted)\n"
		"# TYPE flowsink_prom_not_ours_flows_total counter\n"
		"flowsink_prom_not_ours_flows_total %" PRIu64 "\n"
		"# HELP flowsink_prom_overflow_flows_total flows counted in the overflow series "
		"(--prometheus-max-series reached)\n"
		"# TYPE flowsink_prom_overflow_flows_total counter\n"
		"flowsink_prom_overflow_flows_total %" PRIu64 "\n"
		"# HELP flowsink_prom_series per-AS label sets held\n"
		"# TYPE flowsink_prom_series gauge\nflowsink_prom_series %zu\n",
		p->flows, p->not_ours_flows, p->overflow_flows, p->n);
	pthread_mutex_unlock(&p->mu);
}

void fc_sink_prom_render(void *priv, FILE *out)
{
	struct prom *p = priv;

	pthread_mutex_lock(&p->mu);
	print_counter(p, out, "flow_receive_bytes_total",
		      "bytes (renormalized) of flows whose destination AS is ours", true);
	print_counter(p, out, "flow_transmit_bytes_total",
		      "bytes (renormalized) of flows whose source AS is ours", false);
	pthread_mutex_unlock(&p->mu);
}

static void prom_close(void *priv)
{
	struct prom *p = priv;

	if (!p)
		return;
	pthread_mutex_destroy(&p->mu);
	free(p->tab);
	free(p);
}

const struct fc_sink_ops fc_sink_prom = {
	.name = "prometheus",
	.open = prom_open,
	.applied = NULL, /* keeps no offsets: the other sinks decide the start */
	.apply = prom_apply,
	.print_stats = prom_stats,
	.close = prom_close,
};
