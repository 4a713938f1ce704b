/*
 * Counter registry (see metrics.h). Slots live in one array sized at
 * creation; registration is a linear search, done only at init or when a
 * new exporter appears, never per datagram.
 */
#include "metrics/metrics.h"

#include <stdlib.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#define FC_METRICS_MAX 8192

struct slot {
	char *name;
	char *labels;
	const char *help; /* static strings only */
	enum fc_metric_kind kind;
	uint64_t value;
};

struct fc_metrics {
	/* Guards registration and whole-registry reads: outputs shared by
	 * workers may register a new reason from another worker's thread. */
	pthread_mutex_t lock;
	size_t n;
	struct slot *slots;
	uint64_t dummy;
	uint64_t *overflow;
};

struct fc_metrics *fc_metrics_new(void)
{
	struct fc_metrics *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->slots = calloc(FC_METRICS_MAX, sizeof(*m->slots));
	if (!m->slots || pthread_mutex_init(&m->lock, NULL) != 0) {
		free(m->slots);
		free(m);
		return NULL;
	}
	m->overflow = fc_metrics_counter(m, "metrics_registry_full_total", NULL,
					 "counters that could not be registered");
	return m;
}

void fc_metrics_free(struct fc_metrics *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->slots[i].name);
		free(m->slots[i].labels);
	}
	free(m->slots);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static struct slot *find(const struct fc_metrics *m, const char *name, const char *labels)
{
	for (size_t i = 0; i < m->n; i++) {
		if (strcmp(m->slots[i].name, name) == 0 && strcmp(m->slots[i].labels, labels) == 0)
			return &m->slots[i];
	}
	return NULL;
}

static uint64_t *reg_locked(struct fc_metrics *m, const char *name, const char *labels,
			    const char *help, enum fc_metric_kind kind)
{
	struct slot *s;

	if (!labels)
		labels = "";
	s = find(m, name, labels);
	if (s)
		return &s->value;
	if (m->n >= FC_METRICS_MAX)
		goto full;
	s = &m->slots[m->n];
	s->name = strdup(name);
	s->labels = strdup(labels);
	if (!s->name || !s->labels) {
		free(s->name);
		free(s->labels);
		s->name = s->labels = NULL;
		goto full;
	}
	s->help = help ? help : "";
	s->kind = kind;
	s->value = 0;
	m->n++;
	return &s->value;
full:
	if (m->overflow)
		(*m->overflow)++;
	return &m->dummy;
}

static uint64_t *reg(struct fc_metrics *m, const char *name, const char *labels, const char *help,
		     enum fc_metric_kind kind)
{
	uint64_t *slot;

	pthread_mutex_lock(&m->lock);
	slot = reg_locked(m, name, labels, help, kind);
	pthread_mutex_unlock(&m->lock);
	return slot;
}

uint64_t *fc_metrics_counter(struct fc_metrics *m, const char *name, const char *labels,
			     const char *help)
{
	return reg(m, name, labels, help, FC_METRIC_COUNTER);
}

uint64_t *fc_metrics_gauge(struct fc_metrics *m, const char *name, const char *labels,
			   const char *help)
{
	return reg(m, name, labels, help, FC_METRIC_GAUGE);
}

uint64_t fc_metrics_get(const struct fc_metrics *m, const char *name, const char *labels)
{
	const struct slot *s = find(m, name, labels ? labels : "");

	return s ? s->value : 0;
}

uint64_t fc_metrics_sum(const struct fc_metrics *m, const char *name)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < m->n; i++) {
		if (strcmp(m->slots[i].name, name) == 0)
			sum += m->slots[i].value;
	}
	return sum;
}

void fc_metrics_merge(struct fc_metrics *dst, struct fc_metrics *src)
{
	pthread_mutex_lock(&src->lock);
	for (size_t i = 0; i < src->n; i++) {
		const struct slot *s = &src->slots[i];

		*reg(dst, s->name, s->labels, s->help, s->kind) += s->value;
	}
	pthread_mutex_unlock(&src->lock);
}

void fc_metrics_print(const struct fc_metrics *m, FILE *out)
{
	/* Group by name in first-registration order, as the text format
	 * wants one HELP/TYPE block per metric family. */
	for (size_t i = 0; i < m->n; i++) {
		const struct slot *s = &m->slots[i];
		bool first = true;

		for (size_t j = 0; j < i; j++) {
			if (strcmp(m->slots[j].name, s->name) == 0) {
				first = false;
				break;
			}
		}
		if (!first)
			continue;
		fprintf(out, "# HELP flowcollector_%s %s\n# TYPE flowcollector_%s %s\n", s->name,
			s->help, s->name, s->kind == FC_METRIC_GAUGE ? "gauge" : "counter");
		for (size_t j = i; j < m->n; j++) {
			const struct slot *t = &m->slots[j];

			if (strcmp(t->name, s->name) != 0)
				continue;
			if (t->labels[0])
				fprintf(out, "flowcollector_%s{%s} %llu\n", t->name, t->labels,
					(unsigned long long)t->value);
			else
				fprintf(out, "flowcollector_%s %llu\n", t->name,
					(unsigned long long)t->value);
		}
	}
}
