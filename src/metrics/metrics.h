/*
 * Counters for every stage. A module registers each counter once, at init
 * (not on the hot path), and keeps the returned slot pointer; incrementing is
 * then a plain add. Counters are identified by name plus a label string in
 * Prometheus syntax (e.g. `reason="trunc",proto="nf5"`), and printed in the
 * Prometheus text format on exit, on SIGUSR1, and (later) over HTTP.
 *
 * Ownership: the registry owns the slots and copies of the strings.
 * Thread affinity: one registry per pipeline thread; registering is not
 * thread-safe, reading a slot from another thread gives a possibly stale
 * value (they are 64-bit aligned words).
 */
#ifndef FC_METRICS_H
#define FC_METRICS_H

#include <stdint.h>
#include <stdio.h>

struct fc_metrics;

enum fc_metric_kind { FC_METRIC_COUNTER = 0, FC_METRIC_GAUGE = 1 };

struct fc_metrics *fc_metrics_new(void);
void fc_metrics_free(struct fc_metrics *m);

/* Returns the slot for (name, labels), creating it at 0 the first time.
 * labels may be NULL or "". help is kept from the first registration of
 * name. Returns a shared dummy slot when the registry is full (its overflow
 * is itself counted), so callers never check for NULL. */
uint64_t *fc_metrics_counter(struct fc_metrics *m, const char *name, const char *labels,
			     const char *help);
uint64_t *fc_metrics_gauge(struct fc_metrics *m, const char *name, const char *labels,
			   const char *help);

/* Value of (name, labels), 0 when absent. Sums nothing: exact match. */
uint64_t fc_metrics_get(const struct fc_metrics *m, const char *name, const char *labels);

/* Sum over every label set of name. */
uint64_t fc_metrics_sum(const struct fc_metrics *m, const char *name);

/* Adds every value of src into dst, registering what dst lacks (to sum
 * the registries of several workers for printing). src is not const: its
 * lock is taken while it is read. */
void fc_metrics_merge(struct fc_metrics *dst, struct fc_metrics *src);

/* Prometheus text exposition format, names prefixed "flowcollector_". */
void fc_metrics_print(const struct fc_metrics *m, FILE *out);

#endif
