/*
 * Per-batch aggregation for the Redis sink: each (rule, key) once, each
 * member of a key once with its summed bytes, packets and flows. A batch
 * of 50,000 flows into `ipaddress` becomes one SADD per key with its
 * distinct members, and a counter becomes one HINCRBY per (key, address,
 * field), so Redis sees far fewer commands than flows.
 *
 * Memory: grows with the batch (bounded by --batch-flows) and is kept for
 * the next batch; fc_agg_reset empties without freeing.
 * Ownership: strings handed in are copied.
 */
#ifndef FC_FLOWSINK_AGG_H
#define FC_FLOWSINK_AGG_H

#include <stddef.h>
#include <stdint.h>

#define FC_AGG_NONE UINT32_MAX

struct fc_agg_key {
	uint32_t rule;
	uint32_t off, len;  /* in strings */
	uint32_t head;      /* first member, FC_AGG_NONE when none */
	uint32_t n_members;
};

struct fc_agg_member {
	uint32_t key;
	uint32_t off, len;
	uint32_t next;      /* next member of the same key */
	uint64_t bytes, packets, flows;
};

struct fc_agg {
	struct fc_agg_key *keys;
	size_t n_keys, cap_keys;
	struct fc_agg_member *members;
	size_t n_members, cap_members;
	char *strings;
	size_t n_strings, cap_strings;
	uint32_t *kslots, *mslots; /* open addressing, index + 1, 0 = empty */
	size_t cap_kslots, cap_mslots;
};

void fc_agg_init(struct fc_agg *a);
void fc_agg_fini(struct fc_agg *a);
void fc_agg_reset(struct fc_agg *a);

/* Adds to member of (rule, key), creating either. Returns 0 or FC_ENOMEM /
 * FC_ELIMIT (more than 2^31 strings or entries); the member is not counted
 * then (its key may stay, with no member from this call). */
int fc_agg_add(struct fc_agg *a, uint32_t rule, const char *key, size_t klen, const char *member,
	       size_t mlen, uint64_t bytes, uint64_t packets);

static inline const char *fc_agg_str(const struct fc_agg *a, uint32_t off)
{
	return a->strings + off;
}

#endif
