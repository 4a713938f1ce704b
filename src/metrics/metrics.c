/*
 * Counter registry (see metrics.h). Slots live in fixed-size chunks so a
 * pointer handed out stays valid while the registry grows; an
 * open-addressing index over (name, labels) keeps registration O(1) with
 * hundreds of thousands of per-exporter series. Published values are a
 * flat copy indexed like the slots, so a reader holds the publishing
 * mutex only for a memcpy-sized moment.
 *
 * Text format reference: Prometheus exposition formats, text 0.0.4 (HELP
 * escapes \ and newline; label values escape \, " and newline; one
 * HELP/TYPE block per family; histogram _bucket{le} cumulative, then _sum
 * and _count).
 */
#include "metrics/metrics.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_SHIFT 10
#define CHUNK_SLOTS (1u << CHUNK_SHIFT)

struct slot {
	char *name;   /* sample name, e.g. x_bucket */
	char *family; /* metric family, e.g. x (== name unless histogram) */
	char *labels;
	const char *help;
	enum fc_metric_kind kind;
	uint64_t value;
};

struct fc_metrics {
	/* Guards registration and the slot table's shape. */
	pthread_mutex_t lock;
	size_t n;
	struct slot **chunks;
	size_t n_chunks;
	uint32_t *index; /* slot number + 1, 0 = empty */
	size_t index_cap;
	uint64_t dummy;
	uint64_t *overflow;
	pthread_mutex_t *guard;
	struct fc_health *health;

	pthread_mutex_t pub_lock;
	uint64_t *pub;
	size_t pub_n, pub_cap;
};

static struct slot *slot_at(const struct fc_metrics *m, size_t i)
{
	return &m->chunks[i >> CHUNK_SHIFT][i & (CHUNK_SLOTS - 1)];
}

static uint64_t hash2(const char *a, const char *b)
{
	uint64_t h = 1469598103934665603ull;

	for (; *a; a++)
		h = (h ^ (unsigned char)*a) * 1099511628211ull;
	h = (h ^ 0xffu) * 1099511628211ull;
	for (; *b; b++)
		h = (h ^ (unsigned char)*b) * 1099511628211ull;
	return h;
}

static uint64_t *reg(struct fc_metrics *m, const char *name, const char *family,
		     const char *labels, const char *help, enum fc_metric_kind kind);

struct fc_metrics *fc_metrics_new(void)
{
	struct fc_metrics *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	if (pthread_mutex_init(&m->lock, NULL) != 0) {
		free(m);
		return NULL;
	}
	if (pthread_mutex_init(&m->pub_lock, NULL) != 0) {
		pthread_mutex_destroy(&m->lock);
		free(m);
		return NULL;
	}
	m->overflow = reg(m, "metrics_registry_full_total", NULL, NULL,
			  "counters that could not be registered (registry full or out of memory)",
			  FC_METRIC_COUNTER);
	if (m->overflow == &m->dummy) {
		fc_metrics_free(m);
		return NULL;
	}
	return m;
}

void fc_metrics_free(struct fc_metrics *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++) {
		struct slot *s = slot_at(m, i);

		if (s->family != s->name)
			free(s->family);
		free(s->name);
		free(s->labels);
	}
	for (size_t i = 0; i < m->n_chunks; i++)
		free(m->chunks[i]);
	free(m->chunks);
	free(m->index);
	free(m->pub);
	pthread_mutex_destroy(&m->lock);
	pthread_mutex_destroy(&m->pub_lock);
	free(m);
}

void fc_metrics_set_guard(struct fc_metrics *m, pthread_mutex_t *guard)
{
	pthread_mutex_lock(&m->lock);
	m->guard = guard;
	pthread_mutex_unlock(&m->lock);
}

void fc_metrics_set_health(struct fc_metrics *m, struct fc_health *h)
{
	pthread_mutex_lock(&m->lock);
	m->health = h;
	pthread_mutex_unlock(&m->lock);
}

struct fc_health *fc_metrics_health(struct fc_metrics *m)
{
	struct fc_health *h;

	if (!m)
		return NULL;
	pthread_mutex_lock(&m->lock);
	h = m->health;
	pthread_mutex_unlock(&m->lock);
	return h;
}

static struct slot *find_locked(const struct fc_metrics *m, const char *name, const char *labels)
{
	size_t mask, i;

	if (!m->index_cap)
		return NULL;
	mask = m->index_cap - 1;
	i = (size_t)hash2(name, labels) & mask;
	while (m->index[i]) {
		struct slot *s = slot_at(m, m->index[i] - 1);

		if (strcmp(s->name, name) == 0 && strcmp(s->labels, labels) == 0)
			return s;
		i = (i + 1) & mask;
	}
	return NULL;
}

static int index_put(uint32_t *index, size_t cap, const struct slot *s, uint32_t v)
{
	size_t mask = cap - 1, i = (size_t)hash2(s->name, s->labels) & mask;

	while (index[i])
		i = (i + 1) & mask;
	index[i] = v;
	return 0;
}

/* Keeps the index at most half full. */
static bool index_reserve(struct fc_metrics *m)
{
	size_t ncap;
	uint32_t *n;

	if ((m->n + 1) * 2 <= m->index_cap)
		return true;
	ncap = m->index_cap ? m->index_cap * 2 : 256;
	n = calloc(ncap, sizeof(*n));
	if (!n)
		return false;
	for (size_t i = 0; i < m->n; i++)
		(void)index_put(n, ncap, slot_at(m, i), (uint32_t)(i + 1));
	free(m->index);
	m->index = n;
	m->index_cap = ncap;
	return true;
}

static bool chunk_reserve(struct fc_metrics *m)
{
	struct slot **nc;
	size_t need = (m->n >> CHUNK_SHIFT) + 1;

	if (need <= m->n_chunks)
		return true;
	nc = realloc(m->chunks, need * sizeof(*nc));
	if (!nc)
		return false;
	m->chunks = nc;
	nc[m->n_chunks] = calloc(CHUNK_SLOTS, sizeof(struct slot));
	if (!nc[m->n_chunks])
		return false;
	m->n_chunks++;
	return true;
}

static uint64_t *reg_locked(struct fc_metrics *m, const char *name, const char *family,
			    const char *labels, const char *help, enum fc_metric_kind kind)
{
	struct slot *s;

	if (!labels)
		labels = "";
	s = find_locked(m, name, labels);
	if (s)
		return &s->value;
	if (m->n >= FC_METRICS_MAX_SLOTS || !chunk_reserve(m) || !index_reserve(m))
		goto full;
	s = slot_at(m, m->n);
	s->name = strdup(name);
	s->labels = strdup(labels);
	s->family = family && strcmp(family, name) != 0 ? strdup(family) : s->name;
	if (!s->name || !s->labels || !s->family) {
		if (s->family != s->name)
			free(s->family);
		free(s->name);
		free(s->labels);
		memset(s, 0, sizeof(*s));
		goto full;
	}
	s->help = help ? help : "";
	s->kind = kind;
	s->value = 0;
	(void)index_put(m->index, m->index_cap, s, (uint32_t)(m->n + 1));
	m->n++;
	return &s->value;
full:
	/* The overflow counter is written under the lock by whichever
	 * thread registers; it is published with the rest. */
	if (m->overflow)
		(*m->overflow)++;
	return &m->dummy;
}

static uint64_t *reg(struct fc_metrics *m, const char *name, const char *family,
		     const char *labels, const char *help, enum fc_metric_kind kind)
{
	uint64_t *slot;

	pthread_mutex_lock(&m->lock);
	slot = reg_locked(m, name, family, labels, help, kind);
	pthread_mutex_unlock(&m->lock);
	return slot;
}

uint64_t *fc_metrics_counter(struct fc_metrics *m, const char *name, const char *labels,
			     const char *help)
{
	return reg(m, name, NULL, labels, help, FC_METRIC_COUNTER);
}

uint64_t *fc_metrics_gauge(struct fc_metrics *m, const char *name, const char *labels,
			   const char *help)
{
	return reg(m, name, NULL, labels, help, FC_METRIC_GAUGE);
}

void fc_metrics_histogram(struct fc_metrics *m, struct fc_metrics_hist *out, const char *name,
			  const char *labels, const char *help, const uint64_t *bounds, size_t n)
{
	char sample[128], lab[512];
	const char *sep = labels && labels[0] ? "," : "";

	if (!labels)
		labels = "";
	if (n > FC_METRICS_HIST_MAX)
		n = FC_METRICS_HIST_MAX;
	memset(out, 0, sizeof(*out));
	out->n = n;
	snprintf(sample, sizeof(sample), "%s_bucket", name);
	for (size_t i = 0; i <= n; i++) {
		if (i < n) {
			out->bounds[i] = bounds[i];
			snprintf(lab, sizeof(lab), "%s%sle=\"%llu\"", labels, sep,
				 (unsigned long long)bounds[i]);
		} else {
			snprintf(lab, sizeof(lab), "%s%sle=\"+Inf\"", labels, sep);
		}
		out->bucket[i] = reg(m, sample, name, lab, help, FC_METRIC_HISTOGRAM);
	}
	snprintf(sample, sizeof(sample), "%s_sum", name);
	out->sum = reg(m, sample, name, labels, help, FC_METRIC_HISTOGRAM);
	snprintf(sample, sizeof(sample), "%s_count", name);
	out->count = reg(m, sample, name, labels, help, FC_METRIC_HISTOGRAM);
}

void fc_metrics_observe(struct fc_metrics_hist *h, uint64_t v)
{
	/* Buckets are cumulative: every bound >= v counts the value. */
	for (size_t i = 0; i < h->n; i++) {
		if (v <= h->bounds[i])
			(*h->bucket[i])++;
	}
	(*h->bucket[h->n])++;
	*h->sum += v;
	(*h->count)++;
}

void fc_metrics_publish(struct fc_metrics *m)
{
	pthread_mutex_t *guard;

	pthread_mutex_lock(&m->lock);
	guard = m->guard;
	pthread_mutex_unlock(&m->lock);
	if (guard)
		pthread_mutex_lock(guard);
	pthread_mutex_lock(&m->lock);
	pthread_mutex_lock(&m->pub_lock);
	if (m->n > m->pub_cap) {
		size_t ncap = m->n + CHUNK_SLOTS;
		uint64_t *np = realloc(m->pub, ncap * sizeof(*np));

		if (np) {
			m->pub = np;
			m->pub_cap = ncap;
		}
	}
	m->pub_n = m->n < m->pub_cap ? m->n : m->pub_cap;
	for (size_t i = 0; i < m->pub_n; i++)
		m->pub[i] = slot_at(m, i)->value;
	pthread_mutex_unlock(&m->pub_lock);
	pthread_mutex_unlock(&m->lock);
	if (guard)
		pthread_mutex_unlock(guard);
}

uint64_t fc_metrics_get(const struct fc_metrics *m, const char *name, const char *labels)
{
	struct fc_metrics *mm = (struct fc_metrics *)(uintptr_t)m; /* the lock only */
	const struct slot *s;
	uint64_t v;

	pthread_mutex_lock(&mm->lock);
	s = find_locked(m, name, labels ? labels : "");
	v = s ? s->value : 0;
	pthread_mutex_unlock(&mm->lock);
	return v;
}

uint64_t fc_metrics_sum(const struct fc_metrics *m, const char *name)
{
	struct fc_metrics *mm = (struct fc_metrics *)(uintptr_t)m;
	uint64_t sum = 0;

	pthread_mutex_lock(&mm->lock);
	for (size_t i = 0; i < m->n; i++) {
		const struct slot *s = slot_at(m, i);

		if (strcmp(s->name, name) == 0)
			sum += s->value;
	}
	pthread_mutex_unlock(&mm->lock);
	return sum;
}

static bool listed(const char *family, const char *const *per)
{
	for (; per && *per; per++) {
		if (strcmp(*per, family) == 0)
			return true;
	}
	return false;
}

struct pub_entry {
	const struct slot *s; /* name, labels, help: immutable once registered */
	uint64_t value;
};

void fc_metrics_merge_labeled(struct fc_metrics *dst, const struct fc_metrics *src,
			      const char *extra, const char *const *per)
{
	struct fc_metrics *s_mut = (struct fc_metrics *)(uintptr_t)src; /* the locks only */
	struct pub_entry *e;
	size_t n;
	char lab[1024];

	/* Copy out under the locks (a short loop), register into dst after:
	 * the owner may need its lock meanwhile to register a new exporter. */
	pthread_mutex_lock(&s_mut->lock);
	pthread_mutex_lock(&s_mut->pub_lock);
	n = src->pub_n;
	e = malloc((n ? n : 1) * sizeof(*e));
	if (e) {
		for (size_t i = 0; i < n; i++) {
			e[i].s = slot_at(src, i);
			e[i].value = src->pub[i];
		}
	}
	pthread_mutex_unlock(&s_mut->pub_lock);
	pthread_mutex_unlock(&s_mut->lock);
	if (!e) {
		if (dst->overflow)
			(*dst->overflow)++;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct slot *s = e[i].s;
		const char *labels = s->labels;

		if (extra && listed(s->family, per)) {
			snprintf(lab, sizeof(lab), "%s%s%s", s->labels, s->labels[0] ? "," : "",
				 extra);
			labels = lab;
		}
		*reg(dst, s->name, s->family, labels, s->help, s->kind) += e[i].value;
	}
	free(e);
}

void fc_metrics_merge(struct fc_metrics *dst, const struct fc_metrics *src)
{
	fc_metrics_merge_labeled(dst, src, NULL, NULL);
}

struct order {
	const struct slot *s;
	size_t i;
};

static int order_cmp(const void *a, const void *b)
{
	const struct order *x = a, *y = b;
	int c = strcmp(x->s->family, y->s->family);

	if (c)
		return c;
	return x->i < y->i ? -1 : x->i > y->i;
}

static void print_help(FILE *out, const char *help)
{
	for (; *help; help++) {
		if (*help == '\\')
			fputs("\\\\", out);
		else if (*help == '\n')
			fputs("\\n", out);
		else
			fputc(*help, out);
	}
}

static const char *type_name(enum fc_metric_kind k)
{
	switch (k) {
	case FC_METRIC_GAUGE:
		return "gauge";
	case FC_METRIC_HISTOGRAM:
		return "histogram";
	case FC_METRIC_COUNTER:
		break;
	}
	return "counter";
}

void fc_metrics_print(const struct fc_metrics *m, FILE *out)
{
	struct fc_metrics *mm = (struct fc_metrics *)(uintptr_t)m;
	struct order *o;
	const char *family = NULL;

	pthread_mutex_lock(&mm->lock);
	o = malloc((m->n ? m->n : 1) * sizeof(*o));
	if (!o) {
		pthread_mutex_unlock(&mm->lock);
		return;
	}
	for (size_t i = 0; i < m->n; i++) {
		o[i].s = slot_at(m, i);
		o[i].i = i;
	}
	/* One block per family: the text format forbids a family's samples
	 * to be split. Families sort by name, samples keep their order. */
	qsort(o, m->n, sizeof(*o), order_cmp);
	for (size_t i = 0; i < m->n; i++) {
		const struct slot *s = o[i].s;

		if (!family || strcmp(family, s->family) != 0) {
			family = s->family;
			fprintf(out, "# HELP flowcollector_%s ", s->family);
			print_help(out, s->help);
			fprintf(out, "\n# TYPE flowcollector_%s %s\n", s->family, type_name(s->kind));
		}
		if (s->labels[0])
			fprintf(out, "flowcollector_%s{%s} %llu\n", s->name, s->labels,
				(unsigned long long)s->value);
		else
			fprintf(out, "flowcollector_%s %llu\n", s->name,
				(unsigned long long)s->value);
	}
	pthread_mutex_unlock(&mm->lock);
	free(o);
}

size_t fc_metrics_label(char *out, size_t out_len, const char *key, const char *value)
{
	size_t j = 0;

#define PUT(ch)                                                                                \
	do {                                                                                   \
		if (j + 1 < out_len)                                                           \
			out[j] = (ch);                                                         \
		j++;                                                                           \
	} while (0)
	for (; *key; key++)
		PUT(*key);
	PUT('=');
	PUT('"');
	for (; *value; value++) {
		if (*value == '\\' || *value == '"') {
			PUT('\\');
			PUT(*value);
		} else if (*value == '\n') {
			PUT('\\');
			PUT('n');
		} else {
			PUT(*value);
		}
	}
	PUT('"');
#undef PUT
	if (out_len)
		out[j < out_len ? j : out_len - 1] = '\0';
	return j;
}
