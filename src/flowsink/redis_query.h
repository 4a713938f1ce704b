/*
 * Read side of the Redis sink, for the HTTP query API that plugs in with
 * the shared HTTP module (not built yet): `/sets/{key}` streams a set's
 * members, `/ips/{ip}` tells which sets of the configured rules hold an
 * address and what its counters are. A query object has its own Redis
 * connection (hiredis contexts are not shared between threads), so the
 * HTTP thread can query while the consumer thread applies.
 *
 * Ownership: the query object owns its connection and its copy of the
 * rules. Thread affinity: one thread per query object.
 */
#ifndef FC_FLOWSINK_REDIS_QUERY_H
#define FC_FLOWSINK_REDIS_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "flowsink/options.h"

struct fc_redis_query;

/* Connects and parses the same rules as the sink. Returns 0 and *out, or
 * an fc_err code with a message in err (nothing to free). */
int fc_redis_query_new(struct fc_redis_query **out, const struct fc_fsopts *o, char *err,
		       size_t errlen);
void fc_redis_query_free(struct fc_redis_query *q);

/* Called per member; a non-zero return stops the walk and is returned. */
typedef int (*fc_redis_member_fn)(void *arg, const char *member, size_t len);

/* Streams every member of the set key (SSCAN, so memory stays bounded
 * whatever the set's size). A missing key is an empty set. Returns 0,
 * FC_ESYS (connection; retried once on a fresh one), FC_EMALFORMED (key
 * is not a set), or emit's value. */
int fc_redis_query_members(struct fc_redis_query *q, const char *key, fc_redis_member_fn emit,
			   void *arg);

/* What the store holds about one address (canonical text). */
enum fc_redis_hit_kind { FC_REDIS_HIT_SET = 0, FC_REDIS_HIT_COUNTERS = 1 };
typedef int (*fc_redis_hit_fn)(void *arg, enum fc_redis_hit_kind kind, const char *key,
			       uint64_t bytes, uint64_t packets, uint64_t flows);

/* For each rule: the sets holding ip (keys with placeholders are found by
 * SCAN MATCH, at most max_keys keys looked at per rule) and the counters
 * of ip. Returns 0, an fc_err code, or emit's value. */
int fc_redis_query_ip(struct fc_redis_query *q, const char *ip, size_t max_keys,
		      fc_redis_hit_fn emit, void *arg);

#endif
