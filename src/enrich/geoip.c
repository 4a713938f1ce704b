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

#include "enrich/geoip.h"
#include "fc/err.h"

#define GEOIP_WAYS 2u
#define GEOIP_LEVELS 4u
#define GEOIP_MAX_BYTES (1ull << 30)
#define GEOIP_HINTS 65536u
#define FOUND_ASN 1u
#define FOUND_GEO 2u

/* Address bytes as two aligned words: hashing and comparing them must not
 * read across the unaligned bytes of struct fc_addr (store-forwarding
 * stalls measured at a third of the lookup time). */
union geoip_key {
	uint64_t w[2];
	uint8_t b[16];
};

/* One cache line per entry, so a probe touches one line per way. */
struct geoip_slot {
	_Alignas(64) union geoip_key net; /* address & mask */
	union geoip_key mask;             /* the network's prefix as a mask */
	const char *as_name;
	const char *city;
	uint32_t asn;
	char country[4];
	uint8_t family; /* 0 = empty */
	uint8_t found;  /* FOUND_* */
};

struct fc_geoip {
	struct fc_mmdb *db[2]; /* [FC_GEOIP_ASN], [FC_GEOIP_GEO]; NULL = absent */
	struct fc_geoip_counters ctr;
	struct geoip_slot *slots; /* nsets * GEOIP_WAYS, in mem */
	size_t map_bytes;         /* the mapping of slots */
	union geoip_key bucket_mask[2][GEOIP_LEVELS]; /* [IPv4, IPv6][level] */
	uint8_t *hint; /* GEOIP_HINTS levels to probe first, by /16 or /32 */
	unsigned shift;           /* 64 - log2(nsets) */
	size_t nsets;             /* power of two, 0 = no cache */
};

/* Multiplicative hashing: the top bits of the product depend on every
 * bit of the (masked) key, and two independent multiplies keep the chain
 * short. Not core/hash.h's byte-wise fc_hash: this runs up to four times
 * per address on the per-flow path over a fixed two-word key, where two
 * multiplies cost a fraction of sixteen byte steps. */
static inline size_t geoip_set(const struct fc_geoip *g, uint64_t w0, uint64_t w1,
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
static inline struct geoip_slot *geoip_bucket(const struct fc_geoip *g, const union geoip_key *k,
					      unsigned family, unsigned level)
{
	const union geoip_key *m = &g->bucket_mask[family == 4 ? 0 : 1][level];

	return &g->slots[geoip_set(g, k->w[0] & m->w[0], k->w[1] & m->w[1], family + 8 * level) *
			 GEOIP_WAYS];
}

static inline const struct geoip_slot *geoip_probe(const struct geoip_slot *set,
						   const union geoip_key *k, unsigned family)
{
	for (unsigned w = 0; w < GEOIP_WAYS; w++) {
		const struct geoip_slot *s = &set[w];

		if (s->family == family && (k->w[0] & s->mask.w[0]) == s->net.w[0] &&
		    (k->w[1] & s->mask.w[1]) == s->net.w[1])
			return s;
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

/* Slot of the level hint of an address: its /16 (IPv4), or its /32 (IPv6)
 * hashed; a collision only costs a probe. */
static inline size_t geoip_hint(const union geoip_key *k, unsigned family)
{
	if (family == 4)
		return (size_t)k->b[0] << 8 | k->b[1];
	uint64_t top = (uint64_t)k->b[0] << 24 | (uint64_t)k->b[1] << 16 | (uint64_t)k->b[2] << 8 | k->b[3];

	return (size_t)((top * 0x9e3779b97f4a7c15ull) >> 48);
}

static void geoip_insert(struct fc_geoip *g, const union geoip_key *k, unsigned family,
			 unsigned plen, const struct fc_geoip_res *r)
{
	unsigned level = geoip_level(family, plen);
	struct geoip_slot *set = geoip_bucket(g, k, family, level);
	struct geoip_slot *s = &set[0];

	g->hint[geoip_hint(k, family)] = (uint8_t)level;

	/* The newest entry goes first, the older one is kept second: a
	 * bucket holding two small networks keeps both. */
	set[1] = set[0];
	geoip_mask(plen, &s->mask);
	s->net.w[0] = k->w[0] & s->mask.w[0];
	s->net.w[1] = k->w[1] & s->mask.w[1];
	s->as_name = r->as_name;
	s->city = r->city;
	s->asn = r->asn;
	memcpy(s->country, r->country, sizeof(s->country));
	s->family = (uint8_t)family;
	s->found = (uint8_t)((r->found_asn ? FOUND_ASN : 0u) | (r->found_geo ? FOUND_GEO : 0u));
}

static inline void geoip_count(struct fc_geoip *g, bool found_asn, bool found_geo)
{
	if (g->db[FC_GEOIP_ASN]) {
		++*g->ctr.lookups[FC_GEOIP_ASN];
		if (!found_asn)
			++*g->ctr.misses[FC_GEOIP_ASN];
	}
	if (g->db[FC_GEOIP_GEO]) {
		++*g->ctr.lookups[FC_GEOIP_GEO];
		if (!found_geo)
			++*g->ctr.misses[FC_GEOIP_GEO];
	}
}

bool fc_geoip_lookup(struct fc_geoip *g, const struct fc_addr *addr, struct fc_geoip_res *out)
{
	union geoip_key k = {{0, 0}};
	unsigned plen, family = addr->family;
	struct fc_addr q;

	memset(out, 0, sizeof(*out));
	if (family == 4) {
		memcpy(k.b, addr->a, 4);
	} else if (family == 6) {
		if (addr->a[0] == 0x20 && addr->a[1] == 0x02) {
			/* RFC 3056: 2002:AABB:CCDD::/48 embeds IPv4 AA.BB.CC.DD. */
			memcpy(k.b, addr->a + 2, 4);
			family = 4;
		} else {
			memcpy(k.b, addr->a, 16);
		}
	} else {
		return false;
	}
	if (g->nsets) {
		const struct geoip_slot *s, *set[GEOIP_LEVELS];
		size_t h = geoip_hint(&k, family);
		unsigned hot = g->hint[h];

		/* The level that last answered for this /16 (/32) is probed
		 * first: the networks of one such block tend to be of one size,
		 * so a hit is usually one probe. Otherwise the other sets are
		 * fetched together, so a cold table costs one wait for memory
		 * rather than three. */
		s = geoip_probe(geoip_bucket(g, &k, family, hot), &k, family);
		if (!s) {
			for (unsigned l = 0; l < GEOIP_LEVELS; l++) {
				if (l == hot)
					continue;
				set[l] = geoip_bucket(g, &k, family, l);
				__builtin_prefetch(set[l]);
			}
			for (unsigned l = 0; l < GEOIP_LEVELS && !s; l++) {
				if (l == hot)
					continue;
				s = geoip_probe(set[l], &k, family);
				if (s)
					g->hint[h] = (uint8_t)l;
			}
		}
		if (s) {
			out->asn = s->asn;
			memcpy(out->country, s->country, sizeof(out->country));
			out->as_name = s->as_name;
			out->city = s->city;
			out->found_asn = (s->found & FOUND_ASN) != 0;
			out->found_geo = (s->found & FOUND_GEO) != 0;
			++*g->ctr.cache_hits;
			geoip_count(g, out->found_asn, out->found_geo);
			return out->found_asn || out->found_geo;
		}
	}
	q.family = (uint8_t)family;
	memcpy(q.a, k.b, 16);
	++*g->ctr.cache_misses;
	if (geoip_query(g, &q, out, &plen) == 0 && g->nsets)
		geoip_insert(g, &k, family, plen, out);
	geoip_count(g, out->found_asn, out->found_geo);
	return out->found_asn || out->found_geo;
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

int fc_geoip_open(const char *asn_path, const char *geo_path, size_t cache_bytes,
		  struct fc_strtab *strings, const struct fc_geoip_counters *ctr,
		  struct fc_geoip **out_g, char *err, size_t errlen)
{
	struct fc_geoip *g = calloc(1, sizeof(*g));
	size_t set_bytes = GEOIP_WAYS * sizeof(struct geoip_slot);

	static_assert(FC_GEOIP_CACHE_MIN_BYTES == 2 * GEOIP_WAYS * sizeof(struct geoip_slot),
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
	if (cache_bytes > GEOIP_MAX_BYTES)
		cache_bytes = GEOIP_MAX_BYTES;
	if (cache_bytes >= FC_GEOIP_CACHE_MIN_BYTES) {
		g->nsets = 2;
		while (g->nsets * 2 * set_bytes <= cache_bytes)
			g->nsets *= 2;
		g->shift = 64;
		for (size_t n = g->nsets; n > 1; n >>= 1)
			g->shift--;
		g->map_bytes = g->nsets * set_bytes;
		g->slots = cache_map(g->map_bytes);
		g->hint = calloc(GEOIP_HINTS, 1);
		if (!g->slots || !g->hint) {
			snprintf(err, errlen, "out of memory for a %zu-byte GeoIP cache",
				 g->nsets * set_bytes);
			rc = FC_ENOMEM;
			goto out;
		}
	}
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
	if (g->slots)
		munmap(g->slots, g->map_bytes);
	free(g->hint);
	free(g);
}

uint64_t fc_geoip_build_epoch(const struct fc_geoip *g, enum fc_geoip_role role)
{
	return g->db[role] ? fc_mmdb_build_epoch(g->db[role]) : 0;
}
