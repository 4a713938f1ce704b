/*
 * Combined MaxMind lookups with an exact, bounded cache (design in geoip.h).
 * References: MaxMind DB File Format Specification 2.0 (networks of an
 * answer are leaves of one search tree), RFC 3056 (6to4, 2002::/16).
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/hash.h"
#include "enrich/geoip.h"
#include "fc/err.h"

#define GEOIP_WAYS 2u
#define GEOIP_LEVELS 4u
#define GEOIP_MAX_BYTES (1ull << 30)
#define GEOIP_HINTS 65536u
#define GEOIP_MIN_ANSWERS 8u

/* Address bytes as two aligned words: hashing and comparing them must not
 * read across the unaligned bytes of struct fc_addr (store-forwarding
 * stalls measured at a third of the lookup time). */
union geoip_key {
	uint64_t w[2];
	uint8_t b[16];
};

/* A cached network and the answer every address in it gets. */
struct geoip_ent {
	uint64_t net0, mask0; /* the key's first word & the prefix's mask, that mask */
	uint64_t net1;        /* the second word & mask (IPv6 longer than /64; else 0) */
	uint32_t ans;         /* index in answers + 1; 0: empty */
	uint8_t plen;         /* in the family's bits */
	uint8_t family;       /* 0 = empty */
};

/* One set is one cache line: a probe costs one line whatever the way. */
struct geoip_set {
	_Alignas(64) struct geoip_ent e[GEOIP_WAYS];
};

/* An address prepared for lookup: its key, and the set its hint points at
 * (already fetched from memory while the other side is prepared). */
struct geoip_q {
	union geoip_key k;
	unsigned family; /* 4, 6; 0: nothing to look up */
	unsigned hot;    /* the level probed first */
	size_t hint;     /* its slot in the hint table */
	const struct geoip_set *set;
};

struct fc_geoip {
	struct fc_mmdb *db[2]; /* [FC_GEOIP_ASN], [FC_GEOIP_GEO]; NULL = absent */
	struct fc_geoip_counters ctr;
	struct geoip_set *sets; /* nsets, in mem */
	size_t map_bytes;       /* the mapping of sets */
	size_t nsets;           /* power of two, 0 = no cache */
	unsigned shift;         /* 64 - log2(nsets) */
	/* Answers, each stored once per cache fill and shared by every
	 * network giving it (a few thousand ASN and city pairs answer most
	 * traffic, so they stay in the fastest caches while entries do not). */
	struct fc_geoip_res *ans;
	uint32_t nans, ans_cap;
	uint32_t *ans_slot; /* open addressing over ans: index + 1, 0 = free */
	uint32_t ans_mask;
	bool flush_due; /* answers full: empty the cache before the next lookup */
	struct fc_geoip_res scratch[2]; /* uncached answers, one per address of a call */
	uint8_t *hint; /* GEOIP_HINTS levels to probe first, by /16 or /32 */
	union geoip_key bucket_mask[2][GEOIP_LEVELS]; /* [IPv4, IPv6][level] */
	union geoip_key plen_mask[129];               /* the mask of each prefix length */
};

/* Multiplicative hashing: the top bits of the product depend on every
 * bit of the (masked) key, and two independent multiplies keep the chain
 * short. Not core/hash.h's byte-wise fc_hash: this runs on the per-flow
 * path over a fixed two-word key, where two multiplies cost a fraction of
 * sixteen byte steps. */
static inline size_t geoip_set_of(const struct fc_geoip *g, uint64_t w0, uint64_t w1,
				  unsigned salt)
{
	uint64_t h = ((w0 + salt) * 0x9e3779b97f4a7c15ull) ^ (w1 * 0xc2b2ae3d27d4eb4full);

	return (size_t)(h >> g->shift);
}

/* Bucket widths per level, [IPv4, IPv6]: an entry for a network of prefix
 * length p lives at the first level whose width is at least p, keyed by
 * the address's bucket of that width, so every address of the bucket finds
 * it: networks of up to /8 (/16) are shared by a whole /8 (/16), up to /16
 * (/32) by a /16 (/32), up to /24 (/48) by a /24 (/48), longer ones by a
 * /32 (/64). */
static const unsigned level_bits[GEOIP_LEVELS][2] = {{8, 16}, {16, 32}, {24, 48}, {32, 64}};

static unsigned geoip_level(unsigned family, unsigned plen)
{
	unsigned f = family == 4 ? 0u : 1u, l = 0;

	while (l + 1 < GEOIP_LEVELS && plen > level_bits[l][f])
		l++;
	return l;
}

/* The set of an address at a level: chosen by its bucket only. */
static inline struct geoip_set *geoip_bucket(const struct fc_geoip *g, const union geoip_key *k,
					     unsigned family, unsigned level)
{
	const union geoip_key *m = &g->bucket_mask[family == 4 ? 0 : 1][level];

	return &g->sets[geoip_set_of(g, k->w[0] & m->w[0], k->w[1] & m->w[1], family + 8 * level)];
}

static inline const struct geoip_ent *geoip_probe(const struct fc_geoip *g,
						  const struct geoip_set *set,
						  const union geoip_key *k, unsigned family)
{
	for (unsigned w = 0; w < GEOIP_WAYS; w++) {
		const struct geoip_ent *e = &set->e[w];

		/* The second word matters only for IPv6 networks longer than
		 * a /64, rare enough to look up their mask. */
		if ((k->w[0] & e->mask0) == e->net0 && e->family == family &&
		    (e->plen <= 64 || (k->w[1] & g->plen_mask[e->plen].w[1]) == e->net1))
			return e;
	}
	return NULL;
}

/* out = the netmask of a plen-bit prefix (bits past the family's width are
 * 0 in both the mask and every key). */
static void geoip_mask(unsigned plen, union geoip_key *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < 16 && plen > i * 8; i++) {
		unsigned keep = plen - i * 8;

		out->b[i] = keep >= 8 ? 0xffu : (uint8_t)(0xff00u >> keep);
	}
}

/* The uncached combined answer. Returns 0 with *out_plen set to the prefix
 * length it holds for, or -1 when it must not be cached (a tree could not
 * be walked). Counts errors per database. */
static int geoip_query(struct fc_geoip *g, const struct fc_addr *a, struct fc_geoip_res *r,
		       unsigned *out_plen)
{
	struct fc_mmdb_ans ans;
	unsigned plen, best = 0;
	int rc = 0, s;

	memset(r, 0, sizeof(*r));
	if (g->db[FC_GEOIP_ASN]) {
		s = fc_mmdb_query(g->db[FC_GEOIP_ASN], a, &ans, &plen);
		if (s != 0)
			++*g->ctr.errors[FC_GEOIP_ASN];
		if (s < 0) {
			rc = -1;
		} else {
			best = plen;
			r->found_asn = ans.found;
			r->asn = ans.asn;
			r->as_name = ans.as_name;
		}
	}
	if (g->db[FC_GEOIP_GEO]) {
		s = fc_mmdb_query(g->db[FC_GEOIP_GEO], a, &ans, &plen);
		if (s != 0)
			++*g->ctr.errors[FC_GEOIP_GEO];
		if (s < 0) {
			rc = -1;
		} else {
			best = plen > best ? plen : best;
			r->found_geo = ans.found;
			memcpy(r->country, ans.country, sizeof(r->country));
			r->city = ans.city;
		}
	}
	*out_plen = best;
	return rc;
}

/* Slot of the level hint of an address (its first bytes): its /16
 * (IPv4), or its /32 (IPv6) hashed; a collision only costs a probe. */
static inline size_t geoip_hint(const uint8_t *a, unsigned family)
{
	if (family == 4)
		return (size_t)a[0] << 8 | a[1];
	uint64_t top = (uint64_t)a[0] << 24 | (uint64_t)a[1] << 16 | (uint64_t)a[2] << 8 | a[3];

	return (size_t)((top * 0x9e3779b97f4a7c15ull) >> 48);
}

/* Forgets every entry and answer: the answers are full. Rare (one answer
 * per two sets, and answers repeat across networks), and cheap next to the
 * database walks that refill the cache. */
static void geoip_flush(struct fc_geoip *g)
{
	memset(g->sets, 0, g->nsets * sizeof(*g->sets));
	memset(g->ans_slot, 0, ((size_t)g->ans_mask + 1) * sizeof(*g->ans_slot));
	g->nans = 0;
}

static bool geoip_res_eq(const struct fc_geoip_res *a, const struct fc_geoip_res *b)
{
	return a->asn == b->asn && a->as_name == b->as_name && a->city == b->city &&
	       memcmp(a->country, b->country, sizeof(a->country)) == 0 &&
	       a->found_asn == b->found_asn && a->found_geo == b->found_geo;
}

/* The index + 1 of answer r, stored once; 0 when the answers are full
 * (the cache is emptied before the next lookup, not now: answers handed
 * out by this lookup must stay valid until it returns). */
static uint32_t geoip_answer(struct fc_geoip *g, const struct fc_geoip_res *r)
{
	uint8_t key[4 + 4 + 2 * sizeof(void *) + 1];
	uint32_t i;

	memcpy(key, &r->asn, 4);
	memcpy(key + 4, r->country, 4);
	memcpy(key + 8, &r->as_name, sizeof(void *));
	memcpy(key + 8 + sizeof(void *), &r->city, sizeof(void *));
	key[sizeof(key) - 1] = (uint8_t)(r->found_asn | r->found_geo << 1);
	for (i = (uint32_t)fc_hash(FC_HASH_SEED, key, sizeof(key)) & g->ans_mask; g->ans_slot[i];
	     i = (i + 1) & g->ans_mask)
		if (geoip_res_eq(&g->ans[g->ans_slot[i] - 1], r))
			return g->ans_slot[i];
	if (g->nans == g->ans_cap) {
		g->flush_due = true;
		return 0;
	}
	g->ans[g->nans++] = *r;
	g->ans_slot[i] = g->nans;
	return g->nans;
}

/* Caches answer r for the plen-bit network of k. Returns the answer as
 * stored, or NULL when it could not be (the answers are full). */
static const struct fc_geoip_res *geoip_insert(struct fc_geoip *g, const union geoip_key *k,
					       unsigned family, unsigned plen,
					       const struct fc_geoip_res *r, size_t hint)
{
	uint32_t ans = geoip_answer(g, r);
	unsigned level;
	struct geoip_set *set;
	struct geoip_ent *e;

	if (!ans)
		return NULL;
	/* An answer holds for every address of its network, so for every
	 * narrower one: a /0 (a database with no data for the family) is
	 * kept as the address's /1, which spares the masks a /0. */
	if (plen == 0)
		plen = 1;
	level = geoip_level(family, plen);
	set = geoip_bucket(g, k, family, level);
	e = &set->e[0];
	g->hint[hint] = (uint8_t)level;

	/* The newest entry goes first, the older one is kept second: a
	 * bucket holding two small networks keeps both. */
	set->e[1] = set->e[0];
	e->mask0 = g->plen_mask[plen].w[0];
	e->net0 = k->w[0] & e->mask0;
	e->net1 = k->w[1] & g->plen_mask[plen].w[1];
	e->ans = ans;
	e->plen = (uint8_t)plen;
	e->family = (uint8_t)family;
	return &g->ans[ans - 1];
}

/* Counts n addresses looked up, of which the databases did not know
 * nf_asn / nf_geo, and hits answered from the hinted set (the other
 * outcomes are counted where they happen). Once per call, not per
 * address: the counters are a good part of a cached lookup. */
static inline void geoip_count(struct fc_geoip *g, unsigned n, unsigned nf_asn, unsigned nf_geo,
			       unsigned hits)
{
	*g->ctr.cache_hits += hits;
	if (g->db[FC_GEOIP_ASN]) {
		*g->ctr.lookups[FC_GEOIP_ASN] += n;
		*g->ctr.misses[FC_GEOIP_ASN] += nf_asn;
	}
	if (g->db[FC_GEOIP_GEO]) {
		*g->ctr.lookups[FC_GEOIP_GEO] += n;
		*g->ctr.misses[FC_GEOIP_GEO] += nf_geo;
	}
}

/* Fills q for addr: its key and, with a cache, the set of its hinted level,
 * whose line is requested from memory now. Returns false for an absent
 * address (family 0), which is not looked up or counted. The key's words
 * are loaded whole from the address, never assembled in memory byte by
 * byte: reading them back would stall on store forwarding (measured at a
 * third of a cached lookup). */
static inline bool geoip_prepare(const struct fc_geoip *g, const struct fc_addr *addr,
				 struct geoip_q *q)
{
	const uint8_t *top = addr->a;
	uint32_t v4;

	if (addr->family == 4 || (addr->family == 6 && addr->a[0] == 0x20 && addr->a[1] == 0x02)) {
		/* RFC 3056: 2002:AABB:CCDD::/48 embeds IPv4 AA.BB.CC.DD. */
		if (addr->family == 6)
			top += 2;
		memcpy(&v4, top, 4);
		/* The address in bytes 0..3 of the key, as geoip_mask lays out
		 * a prefix. */
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		q->k.w[0] = (uint64_t)v4 << 32;
#else
		q->k.w[0] = v4;
#endif
		q->k.w[1] = 0;
		q->family = 4;
	} else if (addr->family == 6) {
		memcpy(&q->k.w[0], addr->a, 8);
		memcpy(&q->k.w[1], addr->a + 8, 8);
		q->family = 6;
	} else {
		q->family = 0;
		return false;
	}
	if (g->nsets) {
		q->hint = geoip_hint(top, q->family);
		q->hot = g->hint[q->hint];
		q->set = geoip_bucket(g, &q->k, q->family, q->hot);
		__builtin_prefetch(q->set);
	}
	return true;
}

/* The answer when the hinted set does not hold it: the other levels, then
 * the databases. */
static __attribute__((noinline)) const struct fc_geoip_res *
geoip_slow(struct fc_geoip *g, const struct geoip_q *q, struct fc_geoip_res *scratch)
{
	const struct geoip_ent *e = NULL;
	const struct fc_geoip_res *r = NULL;
	struct fc_addr a;
	unsigned plen;

	if (g->nsets) {
		/* The level that last answered for this /16 (/32) was probed
		 * first: the networks of one such block tend to be of one
		 * size. The other sets are fetched together, so a cold table
		 * costs one wait for memory rather than three. */
		const struct geoip_set *set[GEOIP_LEVELS];

		for (unsigned l = 0; l < GEOIP_LEVELS; l++) {
			set[l] = geoip_bucket(g, &q->k, q->family, l);
			__builtin_prefetch(set[l]);
		}
		for (unsigned l = 0; l < GEOIP_LEVELS && !e; l++) {
			if (l == q->hot)
				continue;
			e = geoip_probe(g, set[l], &q->k, q->family);
			if (e)
				g->hint[q->hint] = (uint8_t)l;
		}
		if (e) {
			++*g->ctr.cache_hits;
			return &g->ans[e->ans - 1];
		}
	}
	a.family = (uint8_t)q->family;
	memcpy(a.a, q->k.b, 16);
	++*g->ctr.cache_misses;
	if (geoip_query(g, &a, scratch, &plen) == 0 && g->nsets)
		r = geoip_insert(g, &q->k, q->family, plen, scratch, q->hint);
	return r ? r : scratch;
}

/* The answer for a prepared address; valid until the next lookup on g.
 * Adds 1 to *hits when the hinted set held it. */
static inline const struct fc_geoip_res *geoip_finish(struct fc_geoip *g, const struct geoip_q *q,
						      struct fc_geoip_res *scratch, unsigned *hits)
{
	const struct geoip_ent *e;

	if (__builtin_expect(g->nsets != 0, 1) &&
	    (e = geoip_probe(g, q->set, &q->k, q->family)) != NULL) {
		++*hits;
		return &g->ans[e->ans - 1];
	}
	return geoip_slow(g, q, scratch);
}

static inline void geoip_flush_if_due(struct fc_geoip *g)
{
	if (__builtin_expect(g->flush_due, 0)) {
		geoip_flush(g);
		++*g->ctr.cache_flushes;
		g->flush_due = false;
	}
}

bool fc_geoip_lookup(struct fc_geoip *g, const struct fc_addr *addr, struct fc_geoip_res *out)
{
	struct geoip_q q;
	unsigned hits = 0;

	geoip_flush_if_due(g);
	if (!geoip_prepare(g, addr, &q)) {
		memset(out, 0, sizeof(*out));
		return false;
	}
	*out = *geoip_finish(g, &q, &g->scratch[0], &hits);
	geoip_count(g, 1, !out->found_asn, !out->found_geo, hits);
	return out->found_asn || out->found_geo;
}

void fc_geoip_lookup2(struct fc_geoip *g, const struct fc_addr *a, const struct fc_addr *b,
		      const struct fc_geoip_res **out_a, const struct fc_geoip_res **out_b)
{
	struct geoip_q qa, qb;
	const struct fc_geoip_res *ra = NULL, *rb = NULL;
	unsigned n = 0, nf_asn = 0, nf_geo = 0, hits = 0;
	bool ha, hb;

	geoip_flush_if_due(g);
	/* Both sets are on their way from memory before either is probed. */
	ha = geoip_prepare(g, a, &qa);
	hb = geoip_prepare(g, b, &qb);
	if (ha) {
		ra = geoip_finish(g, &qa, &g->scratch[0], &hits);
		n++;
		nf_asn += !ra->found_asn;
		nf_geo += !ra->found_geo;
	}
	if (hb) {
		rb = geoip_finish(g, &qb, &g->scratch[1], &hits);
		n++;
		nf_asn += !rb->found_asn;
		nf_geo += !rb->found_geo;
	}
	geoip_count(g, n, nf_asn, nf_geo, hits);
	*out_a = ra;
	*out_b = rb;
}

/* Zeroed, page-aligned memory for the table, from mmap: untouched pages
 * cost nothing until used, and a table of 2 MiB or more asks for huge pages
 * (MADV_HUGEPAGE; the kernel may say no), because a lookup touches one
 * random line of the table and on 4 KiB pages that is mostly a TLB miss
 * (measured: the load of the probed line was 71% of the lookup's time). */
static void *cache_map(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (bytes >= (2u << 20))
		(void)madvise(p, bytes, MADV_HUGEPAGE);
	return p;
}

/* Bytes one set costs with its share of the answers: a set, half an answer
 * and one slot of the answers' index (two slots per answer). */
#define GEOIP_SET_BYTES (sizeof(struct geoip_set) + sizeof(struct fc_geoip_res) / 2 + sizeof(uint32_t))

static int cache_alloc(struct fc_geoip *g, size_t cache_bytes, char *err, size_t errlen)
{
	if (cache_bytes > GEOIP_MAX_BYTES)
		cache_bytes = GEOIP_MAX_BYTES;
	if (cache_bytes < FC_GEOIP_CACHE_MIN_BYTES)
		return 0;
	g->nsets = 2;
	while (g->nsets * 2 * GEOIP_SET_BYTES <= cache_bytes)
		g->nsets *= 2;
	g->shift = 64;
	for (size_t n = g->nsets; n > 1; n >>= 1)
		g->shift--;
	g->ans_cap = (uint32_t)(g->nsets / 2 > GEOIP_MIN_ANSWERS ? g->nsets / 2 : GEOIP_MIN_ANSWERS);
	g->ans_mask = 2 * g->ans_cap - 1;
	g->map_bytes = g->nsets * sizeof(struct geoip_set);
	g->sets = cache_map(g->map_bytes);
	g->ans = calloc(g->ans_cap, sizeof(*g->ans));
	g->ans_slot = calloc((size_t)g->ans_mask + 1, sizeof(*g->ans_slot));
	g->hint = calloc(GEOIP_HINTS, 1);
	if (!g->sets || !g->ans || !g->ans_slot || !g->hint) {
		snprintf(err, errlen, "out of memory for a %zu-byte GeoIP cache",
			 g->nsets * GEOIP_SET_BYTES);
		return FC_ENOMEM;
	}
	return 0;
}

int fc_geoip_open(const char *asn_path, const char *geo_path, size_t cache_bytes,
		  struct fc_strtab *strings, const struct fc_geoip_counters *ctr,
		  struct fc_geoip **out_g, char *err, size_t errlen)
{
	struct fc_geoip *g = calloc(1, sizeof(*g));

	static_assert(sizeof(struct geoip_set) == 64, "a set is one cache line");
	static_assert(FC_GEOIP_CACHE_MIN_BYTES >= 2 * GEOIP_SET_BYTES,
		      "the smallest cache has two sets (a shift of 64 is undefined)");
	int rc = 0;

	if (!g) {
		snprintf(err, errlen, "out of memory");
		return FC_ENOMEM;
	}
	g->ctr = *ctr;
	for (unsigned l = 0; l < GEOIP_LEVELS; l++) {
		geoip_mask(level_bits[l][0], &g->bucket_mask[0][l]);
		geoip_mask(level_bits[l][1], &g->bucket_mask[1][l]);
	}
	for (unsigned p = 0; p <= 128; p++)
		geoip_mask(p, &g->plen_mask[p]);
	if (asn_path) {
		rc = fc_mmdb_open(asn_path, FC_GEOIP_ASN, strings, &g->db[FC_GEOIP_ASN], err,
				  errlen);
		if (rc != 0)
			goto out;
	}
	if (geo_path) {
		rc = fc_mmdb_open(geo_path, FC_GEOIP_GEO, strings, &g->db[FC_GEOIP_GEO], err,
				  errlen);
		if (rc != 0)
			goto out;
	}
	rc = cache_alloc(g, cache_bytes, err, errlen);
out:
	if (rc != 0) {
		fc_geoip_close(g);
		return rc;
	}
	*out_g = g;
	return 0;
}

void fc_geoip_close(struct fc_geoip *g)
{
	if (!g)
		return;
	fc_mmdb_close(g->db[FC_GEOIP_ASN]);
	fc_mmdb_close(g->db[FC_GEOIP_GEO]);
	if (g->sets)
		munmap(g->sets, g->map_bytes);
	free(g->ans);
	free(g->ans_slot);
	free(g->hint);
	free(g);
}

uint64_t fc_geoip_build_epoch(const struct fc_geoip *g, enum fc_geoip_role role)
{
	return g->db[role] ? fc_mmdb_build_epoch(g->db[role]) : 0;
}
