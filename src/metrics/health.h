/*
 * Health checks for /healthz: a small set of named checks (one per output,
 * one per worker...) that any thread may mark failing, with a one-line
 * reason, or healthy again. A failure may carry a time to live, for
 * failures that show only as events (a Kafka "all brokers down" event is
 * not followed by an "up" event): the check reads healthy again once the
 * events stop. The HTTP thread reads the first failing check.
 *
 * A registry carries the health set of its program (fc_metrics_health in
 * metrics.h), so a module that is handed a registry can report without a
 * new parameter.
 *
 * Ownership: the set owns copies of names and reasons. Thread-safe; all
 * functions accept a NULL set and then do nothing.
 */
#ifndef FC_HEALTH_H
#define FC_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fc_health;

#define FC_HEALTH_MAX_CHECKS 64
#define FC_HEALTH_REASON_MAX 200

struct fc_health *fc_health_new(void);
void fc_health_free(struct fc_health *h);

/* Marks check name failing with reason (printf format); ttl_ns 0 keeps
 * it failing until fc_health_ok, otherwise it expires ttl_ns after the
 * last call. Checks past FC_HEALTH_MAX_CHECKS are ignored. */
void fc_health_fail(struct fc_health *h, const char *name, uint64_t ttl_ns, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void fc_health_ok(struct fc_health *h, const char *name);

/* true when every check is healthy at mono_ns; otherwise false and the
 * first failing check's "name: reason" in out (NUL-terminated). */
bool fc_health_status(struct fc_health *h, uint64_t mono_ns, char *out, size_t out_len);

#endif
