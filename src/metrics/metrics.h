/*
 * Counters for every stage. A module registers each counter once, at init
 * or when a new exporter appears (never per datagram), and keeps the
 * returned slot pointer; incrementing is then a plain add on the thread
 * that owns the registry. Counters are identified by name plus a label
 * string in Prometheus syntax (e.g. `reason="trunc",proto="nf5"`; build
 * values with fc_metrics_label, which escapes them), and printed in the
 * Prometheus text exposition format (prometheus.io/docs/instrumenting/
 * exposition_formats, version 0.0.4) over HTTP, on SIGUSR1 and on exit.
 *
 * Reading from another thread never touches the live slots: the owner
 * publishes a copy of its values (fc_metrics_publish, a bounded memcpy
 * under a mutex, done off the per-datagram path, about once a second), and
 * readers merge published copies (fc_metrics_merge). A registry whose slots
 * are written by several threads under one lock (an output shared by the
 * workers) names that lock with fc_metrics_set_guard; publishing then takes
 * it, so any thread may publish such a registry.
 *
 * The registry grows in fixed chunks (slot pointers stay valid for its
 * lifetime) up to FC_METRICS_MAX_SLOTS; past that a shared dummy slot is
 * returned and metrics_registry_full_total counts the refusal.
 *
 * Ownership: the registry owns the slots and copies of the strings; help
 * strings must be static.
 */
#ifndef FC_METRICS_H
#define FC_METRICS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FC_METRICS_MAX_SLOTS (1u << 20)

struct fc_metrics;

enum fc_metric_kind { FC_METRIC_COUNTER = 0, FC_METRIC_GAUGE = 1, FC_METRIC_HISTOGRAM = 2 };

struct fc_metrics *fc_metrics_new(void);
void fc_metrics_free(struct fc_metrics *m);

/* Returns the slot for (name, labels), creating it at 0 the first time.
 * labels may be NULL or "". help is kept from the first registration of
 * name. Returns a shared dummy slot when the registry is full or out of
 * memory (counted), so callers never check for NULL. Thread-safe. */
uint64_t *fc_metrics_counter(struct fc_metrics *m, const char *name, const char *labels,
			     const char *help);
uint64_t *fc_metrics_gauge(struct fc_metrics *m, const char *name, const char *labels,
			   const char *help);

/* A histogram: cumulative buckets for the n upper bounds (ascending) plus
 * +Inf, _sum and _count, all registered at once. Observe on the owning
 * thread. */
#define FC_METRICS_HIST_MAX 16
struct fc_metrics_hist {
	size_t n;
	uint64_t bounds[FC_METRICS_HIST_MAX];
	uint64_t *bucket[FC_METRICS_HIST_MAX + 1]; /* last is +Inf */
	uint64_t *sum;
	uint64_t *count;
};
void fc_metrics_histogram(struct fc_metrics *m, struct fc_metrics_hist *out, const char *name,
			  const char *labels, const char *help, const uint64_t *bounds, size_t n);
void fc_metrics_observe(struct fc_metrics_hist *h, uint64_t v);

/* Values written by several threads are written under guard; publishing
 * takes it (lock order: guard, then the registry's own locks). */
void fc_metrics_set_guard(struct fc_metrics *m, pthread_mutex_t *guard);

/* Copies the live values into the published copy. Call on the thread that
 * writes the slots (or any thread when a guard is set). */
void fc_metrics_publish(struct fc_metrics *m);

/* Live value of (name, labels), 0 when absent (owning thread only). */
uint64_t fc_metrics_get(const struct fc_metrics *m, const char *name, const char *labels);

/* Live sum over every label set of name (owning thread only). */
uint64_t fc_metrics_sum(const struct fc_metrics *m, const char *name);

/* Adds every published value of src into dst's live slots, registering
 * what dst lacks; dst belongs to the caller. With extra (e.g.
 * `worker="2"`) non-NULL, families listed in per (NULL-terminated names)
 * get that label appended instead of being summed. Any thread. */
void fc_metrics_merge(struct fc_metrics *dst, const struct fc_metrics *src);
void fc_metrics_merge_labeled(struct fc_metrics *dst, const struct fc_metrics *src,
			      const char *extra, const char *const *per);

/* Prometheus text exposition format of dst's live values, names prefixed
 * "flowcollector_", one HELP/TYPE block per family. */
void fc_metrics_print(const struct fc_metrics *m, FILE *out);

/* Writes key="value" to out (always NUL-terminated), escaping \, " and
 * newline as the text format requires. Returns the length it needed, as
 * snprintf does. */
size_t fc_metrics_label(char *out, size_t out_len, const char *key, const char *value);

/* The health set (health.h) attached to a registry, NULL when none; the
 * registry does not own it. */
struct fc_health;
void fc_metrics_set_health(struct fc_metrics *m, struct fc_health *h);
struct fc_health *fc_metrics_health(struct fc_metrics *m);

#endif
