/*
 * The batch aggregate (see agg.h): two open-addressing hash tables (keys,
 * members) over growable arrays, FNV-1a hashes, load kept under one half.
 */
#include "flowsink/agg.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fc/err.h"

#define AGG_LIMIT (1u << 31)

void fc_agg_init(struct fc_agg *a)
{
	memset(a, 0, sizeof(*a));
}

void fc_agg_fini(struct fc_agg *a)
{
	free(a->keys);
	free(a->members);
	free(a->strings);
	free(a->kslots);
	free(a->mslots);
	memset(a, 0, sizeof(*a));
}

void fc_agg_reset(struct fc_agg *a)
{
	a->n_keys = a->n_members = a->n_strings = 0;
	if (a->kslots)
		memset(a->kslots, 0, a->cap_kslots * sizeof(*a->kslots));
	if (a->mslots)
		memset(a->mslots, 0, a->cap_mslots * sizeof(*a->mslots));
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 1099511628211ull;
	}
	return h;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : 64;
	void *np;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	np = realloc(*p, ncap * elem);
	if (!np)
		return FC_ENOMEM;
	*p = np;
	*cap = ncap;
	return 0;
}

/* Appends a string (with a NUL, so it can be printed); returns its offset. */
static int put_str(struct fc_agg *a, const char *s, size_t n, uint32_t *out_off)
{
	if (n >= AGG_LIMIT || a->n_strings + n + 1 >= AGG_LIMIT)
		return FC_ELIMIT;
	if (grow((void **)&a->strings, &a->cap_strings, a->n_strings + n + 1, 1))
		return FC_ENOMEM;
	memcpy(a->strings + a->n_strings, s, n);
	a->strings[a->n_strings + n] = '\0';
	*out_off = (uint32_t)a->n_strings;
	a->n_strings += n + 1;
	return 0;
}

static uint64_t key_hash(uint32_t rule, const char *k, size_t n)
{
	return fnv(fnv(14695981039346656037ull, &rule, sizeof(rule)), k, n);
}

static uint64_t member_hash(uint32_t key, const char *m, size_t n)
{
	return fnv(fnv(1469598103934665603ull, &key, sizeof(key)), m, n);
}

/* Doubles a slot table and re-inserts every entry. */
static int rehash(struct fc_agg *a, bool keys)
{
	size_t ncap = (keys ? a->cap_kslots : a->cap_mslots) * 2;
	uint32_t *slots;

	if (ncap == 0)
		ncap = 256;
	slots = calloc(ncap, sizeof(*slots));
	if (!slots)
		return FC_ENOMEM;
	if (keys) {
		for (size_t i = 0; i < a->n_keys; i++) {
			const struct fc_agg_key *k = &a->keys[i];
			size_t s = (size_t)key_hash(k->rule, a->strings + k->off, k->len) & (ncap - 1);

			while (slots[s])
				s = (s + 1) & (ncap - 1);
			slots[s] = (uint32_t)i + 1;
		}
		free(a->kslots);
		a->kslots = slots;
		a->cap_kslots = ncap;
	} else {
		for (size_t i = 0; i < a->n_members; i++) {
			const struct fc_agg_member *m = &a->members[i];
			size_t s = (size_t)member_hash(m->key, a->strings + m->off, m->len) &
				   (ncap - 1);

			while (slots[s])
				s = (s + 1) & (ncap - 1);
			slots[s] = (uint32_t)i + 1;
		}
		free(a->mslots);
		a->mslots = slots;
		a->cap_mslots = ncap;
	}
	return 0;
}

static int find_key(struct fc_agg *a, uint32_t rule, const char *k, size_t n, uint32_t *out)
{
	size_t s;
	int rc;

	if ((a->n_keys + 1) * 2 > a->cap_kslots && (rc = rehash(a, true)) != 0)
		return rc;
	s = (size_t)key_hash(rule, k, n) & (a->cap_kslots - 1);
	while (a->kslots[s]) {
		const struct fc_agg_key *e = &a->keys[a->kslots[s] - 1];

		if (e->rule == rule && e->len == n && !memcmp(a->strings + e->off, k, n)) {
			*out = a->kslots[s] - 1;
			return 0;
		}
		s = (s + 1) & (a->cap_kslots - 1);
	}
	if (a->n_keys + 1 >= AGG_LIMIT)
		return FC_ELIMIT;
	if (grow((void **)&a->keys, &a->cap_keys, a->n_keys + 1, sizeof(*a->keys)))
		return FC_ENOMEM;
	{
		struct fc_agg_key *e = &a->keys[a->n_keys];

		rc = put_str(a, k, n, &e->off);
		if (rc)
			return rc;
		e->rule = rule;
		e->len = (uint32_t)n;
		e->head = FC_AGG_NONE;
		e->n_members = 0;
	}
	a->kslots[s] = (uint32_t)a->n_keys + 1;
	*out = (uint32_t)a->n_keys++;
	return 0;
}

int fc_agg_add(struct fc_agg *a, uint32_t rule, const char *key, size_t klen, const char *member,
	       size_t mlen, uint64_t bytes, uint64_t packets)
{
	struct fc_agg_member *m;
	uint32_t ki;
	size_t s;
	int rc;

	rc = find_key(a, rule, key, klen, &ki);
	if (rc)
		return rc;
	if ((a->n_members + 1) * 2 > a->cap_mslots && (rc = rehash(a, false)) != 0)
		return rc;
	s = (size_t)member_hash(ki, member, mlen) & (a->cap_mslots - 1);
	while (a->mslots[s]) {
		m = &a->members[a->mslots[s] - 1];
		if (m->key == ki && m->len == mlen && !memcmp(a->strings + m->off, member, mlen)) {
			m->bytes += bytes;
			m->packets += packets;
			m->flows++;
			return 0;
		}
		s = (s + 1) & (a->cap_mslots - 1);
	}
	if (a->n_members + 1 >= AGG_LIMIT)
		return FC_ELIMIT;
	if (grow((void **)&a->members, &a->cap_members, a->n_members + 1, sizeof(*a->members)))
		return FC_ENOMEM;
	m = &a->members[a->n_members];
	rc = put_str(a, member, mlen, &m->off);
	if (rc)
		return rc;
	m->key = ki;
	m->len = (uint32_t)mlen;
	m->bytes = bytes;
	m->packets = packets;
	m->flows = 1;
	m->next = a->keys[ki].head;
	a->keys[ki].head = (uint32_t)a->n_members;
	a->keys[ki].n_members++;
	a->mslots[s] = (uint32_t)a->n_members + 1;
	a->n_members++;
	return 0;
}
