/*
 * String interning for enrichment snapshots (see strtab.h): an arena of
 * chunks for the bytes and an open-addressing (linear probing) hash table of
 * pointers into it. Load factor is kept at or below 1/2 so probes stay short.
 */
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "enrich/strtab.h"

#define FC_STRTAB_CHUNK 65536u
#define FC_STRTAB_MIN_SLOTS 256u

struct fc_strtab_chunk {
	struct fc_strtab_chunk *next;
	size_t used, cap;
	char data[];
};

struct fc_strtab_slot {
	const char *s; /* NULL = empty */
	size_t len;
	uint32_t hash;
};

struct fc_strtab {
	struct fc_strtab_chunk *chunks; /* head has room for small strings */
	struct fc_strtab_slot *slots;
	size_t nslots; /* power of two */
	size_t count;
	size_t bytes;
};

/* The project's hash (core/hash.h); the table keeps its low 32 bits. */
static uint32_t strtab_hash(const char *s, size_t len)
{
	return (uint32_t)fc_hash(FC_HASH_SEED, s, len);
}

struct fc_strtab *fc_strtab_new(void)
{
	struct fc_strtab *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->slots = calloc(FC_STRTAB_MIN_SLOTS, sizeof(*t->slots));
	if (!t->slots) {
		free(t);
		return NULL;
	}
	t->nslots = FC_STRTAB_MIN_SLOTS;
	return t;
}

void fc_strtab_free(struct fc_strtab *t)
{
	if (!t)
		return;
	while (t->chunks) {
		struct fc_strtab_chunk *c = t->chunks;

		t->chunks = c->next;
		free(c);
	}
	free(t->slots);
	free(t);
}

size_t fc_strtab_count(const struct fc_strtab *t)
{
	return t->count;
}

/* Doubles the slot array; on failure the table keeps its old slots. */
static int strtab_grow(struct fc_strtab *t)
{
	size_t n = t->nslots * 2;
	struct fc_strtab_slot *ns = calloc(n, sizeof(*ns));

	if (!ns)
		return -1;
	for (size_t i = 0; i < t->nslots; i++) {
		const struct fc_strtab_slot *o = &t->slots[i];
		size_t j;

		if (!o->s)
			continue;
		for (j = o->hash & (n - 1); ns[j].s; j = (j + 1) & (n - 1))
			;
		ns[j] = *o;
	}
	free(t->slots);
	t->slots = ns;
	t->nslots = n;
	return 0;
}

/* Copies s into arena memory; NULL when out of memory. */
static char *strtab_store(struct fc_strtab *t, const char *s, size_t len)
{
	struct fc_strtab_chunk *c = t->chunks;
	size_t need = len + 1;
	char *p;

	if (!c || need > c->cap - c->used) {
		size_t cap = need > FC_STRTAB_CHUNK / 4 ? need : FC_STRTAB_CHUNK;

		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->used = 0;
		c->cap = cap;
		if (cap == need && t->chunks) {
			/* An oversized string gets its own full chunk; keep the
			 * partly used head so small strings still fill it. */
			c->next = t->chunks->next;
			t->chunks->next = c;
		} else {
			c->next = t->chunks;
			t->chunks = c;
		}
	}
	p = c->data + c->used;
	memcpy(p, s, len);
	p[len] = '\0';
	c->used += need;
	t->bytes += need;
	return p;
}

const char *fc_strtab_intern(struct fc_strtab *t, const char *s, size_t len)
{
	uint32_t h = strtab_hash(s, len);
	size_t mask = t->nslots - 1;
	size_t i;
	char *p;

	for (i = h & mask; t->slots[i].s; i = (i + 1) & mask) {
		const struct fc_strtab_slot *sl = &t->slots[i];

		if (sl->hash == h && sl->len == len && memcmp(sl->s, s, len) == 0)
			return sl->s;
	}
	/* Grow before inserting so the load factor stays <= 1/2; a failed
	 * grow is tolerable until the table is nearly full. */
	if ((t->count + 1) * 2 > t->nslots) {
		if (strtab_grow(t) != 0 && t->count + 2 > t->nslots)
			return NULL;
		mask = t->nslots - 1;
		for (i = h & mask; t->slots[i].s; i = (i + 1) & mask)
			;
	}
	p = strtab_store(t, s, len);
	if (!p)
		return NULL;
	t->slots[i].s = p;
	t->slots[i].len = len;
	t->slots[i].hash = h;
	t->count++;
	return p;
}
