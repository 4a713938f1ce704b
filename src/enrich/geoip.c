/*
 * MaxMind DB lookups with an exact, bounded cache (design in geoip.h).
 * References: MaxMind DB File Format Specification 2.0 (search tree, IPv4
 * subtree at ::/96 of an IPv6 tree, netmask of an answer), libmaxminddb
 * MMDB_lookup_sockaddr / MMDB_get_value, RFC 3056 (6to4, 2002::/16).
 *
 * libmaxminddb strings are not NUL-terminated and live in the mmap of a
 * database a reload will close: every string is interned into the
 * snapshot's struct fc_strtab before it is cached or handed to a flow.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "enrich/geoip.h"
#include "fc/err.h"

#define GEOIP_WAYS 4u
#define GEOIP_MAX_ENTRIES (1u << 24)
#define GEOIP_RESORT_EVERY 4096u

/* Address bytes as two aligned words: hashing and comparing them must not
 * read across the unaligned bytes of struct fc_addr (store-forwarding
 * stalls measured at a third of the lookup time). */
union geoip_key {
	uint64_t w[2];
	uint8_t b[16];
};

/* One cache line per slot, so a probe touches one line. */
struct geoip_net_slot {
	_Alignas(64) union geoip_key key;
	uint8_t family; /* 0 = empty */
	uint8_t plen;
	struct fc_geoip_res res;
};

struct geoip_addr_slot {
	_Alignas(64) union geoip_key key;
	uint8_t family; /* 0 = empty */
	struct fc_geoip_res res;
};

struct fc_geoip {
	MMDB_s mmdb;
	enum fc_geoip_role role;
	struct fc_strtab *strings;
	struct fc_geoip_counters ctr;

	struct geoip_net_slot *net; /* nsets * GEOIP_WAYS, in net_mem */
	void *net_mem, *addr_mem;   /* the blocks to free */
	uint8_t *victim;            /* per set: next way to replace */
	size_t nsets;               /* power of two, 0 = no cache */
	struct geoip_addr_slot *addr; /* in addr_mem */
	size_t naddr;                 /* power of two */

	/* Per family (0 = IPv4, 1 = IPv6): how many cached networks have each
	 * prefix length, their recent hits, and the probe order derived from
	 * them (lengths present, most hits first). */
	uint32_t plen_count[2][129];
	uint32_t plen_hits[2][129];
	uint8_t order[2][129];
	unsigned norder[2];
	unsigned since_sort;
	bool order_dirty;
};

static const uint8_t prefix_6to4[2] = {0x20, 0x02};

static inline uint64_t geoip_hash(const union geoip_key *k, unsigned family, unsigned plen)
{
	uint64_t h;

	h = k->w[0] * 0x9e3779b97f4a7c15ull;
	h ^= (k->w[1] + ((uint64_t)plen << 8) + family) * 0xc2b2ae3d27d4eb4full;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	return h;
}

/* out = a with every bit from plen on cleared (a's unused bytes are 0). */
static inline void geoip_mask(const union geoip_key *a, unsigned plen, union geoip_key *out)
{
	*out = *a;
	for (unsigned i = plen / 8; i < 16; i++) {
		unsigned keep = plen > i * 8 ? plen - i * 8 : 0;

		out->b[i] = (uint8_t)(out->b[i] & (0xff00u >> keep));
	}
}

static void geoip_resort(struct fc_geoip *g)
{
	for (unsigned f = 0; f < 2; f++) {
		unsigned n = 0;

		for (unsigned p = 0; p <= 128; p++) {
			if (g->plen_count[f][p] == 0)
				continue;
			/* insertion sort, most hits first; at most 129 items */
			unsigned j = n++;

			while (j > 0 && g->plen_hits[f][g->order[f][j - 1]] < g->plen_hits[f][p]) {
				g->order[f][j] = g->order[f][j - 1];
				j--;
			}
			g->order[f][j] = (uint8_t)p;
		}
		g->norder[f] = n;
		/* Halve so the order follows the traffic as it changes. */
		for (unsigned p = 0; p <= 128; p++)
			g->plen_hits[f][p] /= 2;
	}
	g->since_sort = 0;
	g->order_dirty = false;
}

/* Reads one string path; interns it. Missing path: *out stays NULL. */
static void geoip_get_string(struct fc_geoip *g, MMDB_entry_s *entry, const char *const *path,
			     const char **out)
{
	MMDB_entry_data_s d;
	int s = MMDB_aget_value(entry, &d, path);

	if (s != MMDB_SUCCESS) {
		if (s != MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR)
			++*g->ctr.errors;
		return;
	}
	if (!d.has_data || d.type != MMDB_DATA_TYPE_UTF8_STRING || d.data_size == 0)
		return;
	*out = fc_strtab_intern(g->strings, d.utf8_string, d.data_size);
	if (!*out)
		++*g->ctr.errors;
}

/* Decodes the paths of g's role out of a found record. */
static void geoip_decode(struct fc_geoip *g, MMDB_entry_s *entry, struct fc_geoip_res *r)
{
	static const char *const asn_path[] = {"autonomous_system_number", NULL};
	static const char *const org_path[] = {"autonomous_system_organization", NULL};
	static const char *const cc_path[] = {"country", "iso_code", NULL};
	static const char *const city_path[] = {"city", "names", "en", NULL};
	MMDB_entry_data_s d;
	int s;

	if (g->role == FC_GEOIP_ASN) {
		s = MMDB_aget_value(entry, &d, asn_path);
		if (s == MMDB_SUCCESS && d.has_data) {
			/* The spec types it uint32; tolerate the other integer
			 * encodings writers have used. */
			if (d.type == MMDB_DATA_TYPE_UINT32)
				r->asn = d.uint32;
			else if (d.type == MMDB_DATA_TYPE_UINT16)
				r->asn = d.uint16;
			else if (d.type == MMDB_DATA_TYPE_UINT64 && d.uint64 <= UINT32_MAX)
				r->asn = (uint32_t)d.uint64;
			else if (d.type == MMDB_DATA_TYPE_INT32 && d.int32 >= 0)
				r->asn = (uint32_t)d.int32;
		} else if (s != MMDB_SUCCESS && s != MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR) {
			++*g->ctr.errors;
		}
		geoip_get_string(g, entry, org_path, &r->as_name);
		return;
	}
	s = MMDB_aget_value(entry, &d, cc_path);
	if (s == MMDB_SUCCESS && d.has_data && d.type == MMDB_DATA_TYPE_UTF8_STRING &&
	    d.data_size > 0 && d.data_size < sizeof(r->country)) {
		memcpy(r->country, d.utf8_string, d.data_size);
		r->country[d.data_size] = '\0';
	} else if (s != MMDB_SUCCESS && s != MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR) {
		++*g->ctr.errors;
	}
	geoip_get_string(g, entry, city_path, &r->city);
}

/* MMDB_lookup_sockaddr for a (IPv4 or IPv6, never a name). */
static MMDB_lookup_result_s geoip_mmdb_lookup(const struct fc_geoip *g, const struct fc_addr *a,
					       int *mmerr)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;

	if (a->family == 4) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		memcpy(&sin.sin_addr, a->a, 4);
		return MMDB_lookup_sockaddr(&g->mmdb, (const struct sockaddr *)&sin, mmerr);
	}
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	memcpy(&sin6.sin6_addr, a->a, 16);
	return MMDB_lookup_sockaddr(&g->mmdb, (const struct sockaddr *)&sin6, mmerr);
}

/* The uncached lookup. Returns 0 with *out_plen set to the prefix length the
 * answer holds for (in a's family), or -1 when the answer must not be cached
 * (lookup error). */
static int geoip_query(struct fc_geoip *g, const struct fc_addr *a, struct fc_geoip_res *r,
		       unsigned *out_plen)
{
	MMDB_lookup_result_s lr;
	unsigned plen, max = a->family == 4 ? 32 : 128;
	int mmerr = MMDB_SUCCESS;

	lr = geoip_mmdb_lookup(g, a, &mmerr);
	if (mmerr == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR) {
		/* No IPv6 address can ever be found: one /0 entry says so. */
		*out_plen = 0;
		return 0;
	}
	if (mmerr != MMDB_SUCCESS) {
		++*g->ctr.errors;
		return -1;
	}
	plen = lr.netmask;
	/* An IPv4 answer from an IPv6 tree counts the 96 bits of ::/96. */
	if (a->family == 4 && g->mmdb.metadata.ip_version == 6)
		plen = plen >= 96 ? plen - 96 : 0;
	*out_plen = plen < max ? plen : max;
	if (lr.found_entry) {
		r->found = true;
		geoip_decode(g, &lr.entry, r);
	}
	return 0;
}

static void geoip_cache_insert(struct fc_geoip *g, unsigned family, unsigned plen,
			       const union geoip_key *key, const struct fc_geoip_res *r)
{
	unsigned f = family == 4 ? 0u : 1u;
	size_t set = geoip_hash(key, family, plen) & (g->nsets - 1);
	struct geoip_net_slot *s = &g->net[set * GEOIP_WAYS];
	unsigned w;

	for (w = 0; w < GEOIP_WAYS && s[w].family != 0; w++)
		;
	if (w == GEOIP_WAYS) {
		w = g->victim[set];
		g->victim[set] = (uint8_t)((w + 1) % GEOIP_WAYS);
		if (--g->plen_count[s[w].family == 4 ? 0 : 1][s[w].plen] == 0)
			g->order_dirty = true;
	}
	s[w].key = *key;
	s[w].family = (uint8_t)family;
	s[w].plen = (uint8_t)plen;
	s[w].res = *r;
	if (g->plen_count[f][plen]++ == 0)
		g->order_dirty = true;
}

bool fc_geoip_lookup(struct fc_geoip *g, const struct fc_addr *addr, struct fc_geoip_res *out)
{
	struct geoip_addr_slot *as = NULL;
	union geoip_key k = {{0, 0}}, key;
	unsigned plen, f, family = addr->family;
	struct fc_addr q;

	memset(out, 0, sizeof(*out));
	if (family == 4) {
		memcpy(k.b, addr->a, 4);
	} else if (family == 6) {
		if (addr->a[0] == prefix_6to4[0] && addr->a[1] == prefix_6to4[1]) {
			/* RFC 3056: 2002:AABB:CCDD::/48 embeds IPv4 AA.BB.CC.DD. */
			memcpy(k.b, addr->a + 2, 4);
			family = 4;
		} else {
			memcpy(k.b, addr->a, 16);
		}
	} else {
		return false;
	}
	++*g->ctr.lookups;
	f = family == 4 ? 0u : 1u;
	if (g->nsets) {
		/* Address level: one probe. */
		as = &g->addr[geoip_hash(&k, family, 0xff) & (g->naddr - 1)];
		if (as->family == family && as->key.w[0] == k.w[0] && as->key.w[1] == k.w[1]) {
			++*g->ctr.hits;
			*out = as->res;
			goto done;
		}
		/* Network level: one probe per prefix length present. */
		if (g->order_dirty || ++g->since_sort >= GEOIP_RESORT_EVERY)
			geoip_resort(g);
		for (unsigned i = 0; i < g->norder[f]; i++) {
			size_t set;
			const struct geoip_net_slot *s;

			plen = g->order[f][i];
			geoip_mask(&k, plen, &key);
			set = geoip_hash(&key, family, plen) & (g->nsets - 1);
			s = &g->net[set * GEOIP_WAYS];
			for (unsigned w = 0; w < GEOIP_WAYS; w++) {
				if (s[w].family == family && s[w].plen == plen &&
				    s[w].key.w[0] == key.w[0] && s[w].key.w[1] == key.w[1]) {
					g->plen_hits[f][plen]++;
					++*g->ctr.hits;
					*out = s[w].res;
					goto fill_addr;
				}
			}
		}
	}
	q.family = (uint8_t)family;
	memcpy(q.a, k.b, 16);
	if (geoip_query(g, &q, out, &plen) != 0)
		goto done; /* lookup error: answer not cached */
	if (g->nsets) {
		geoip_mask(&k, plen, &key);
		geoip_cache_insert(g, family, plen, &key, out);
	}
fill_addr:
	if (as) {
		as->key = k;
		as->family = (uint8_t)family;
		as->res = *out;
	}
done:
	if (!out->found)
		++*g->ctr.misses;
	return out->found;
}

/* Decodes a few sample records in full: MMDB_open checks the metadata and
 * tree size, not the data section, and a truncated or damaged copy should be
 * refused at (re)load, while the old database is still there to keep. */
static int geoip_check(struct fc_geoip *g, char *why, size_t whylen)
{
	static const char *const samples[] = {
		"1.0.0.1",     "1.1.1.1",      "8.8.8.8",        "81.2.69.142", "89.160.20.112",
		"12.81.96.1",  "2001:218::1",  "2a02:ec80::1",   "2001:4860::1", "2a00::1",
	};

	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		struct fc_addr a;
		struct fc_geoip_res r = {0};
		unsigned plen;
		uint64_t before = *g->ctr.errors;
		MMDB_entry_data_list_s *list = NULL;
		MMDB_lookup_result_s lr;
		int mmerr = 0, s;

		if (fc_addr_parse(&a, samples[i]) != 0)
			continue;
		if (geoip_query(g, &a, &r, &plen) != 0 || *g->ctr.errors != before) {
			*g->ctr.errors = before; /* a refused file is not a lookup */
			snprintf(why, whylen, "corrupt search tree or data (at %s)", samples[i]);
			return FC_EMALFORMED;
		}
		lr = geoip_mmdb_lookup(g, &a, &mmerr);
		if (mmerr != MMDB_SUCCESS || !lr.found_entry)
			continue;
		s = MMDB_get_entry_data_list(&lr.entry, &list);
		MMDB_free_entry_data_list(list);
		if (s != MMDB_SUCCESS) {
			snprintf(why, whylen, "%s (record of %s)", MMDB_strerror(s), samples[i]);
			return FC_EMALFORMED;
		}
	}
	return 0;
}

/* Zeroed, 64-byte aligned memory. calloc rather than aligned_alloc+memset:
 * large blocks come from fresh mmap pages that calloc need not clear, so a
 * big cache costs nothing until it is used (measured: the memset of four
 * 4 MiB tables was most of the start-up cost of a short pcap replay). The
 * block to free is stored in *out_mem. */
static void *cache_calloc(size_t bytes, void **out_mem)
{
	uint8_t *p = calloc(1, bytes + 64);
	uintptr_t mis;

	*out_mem = p;
	if (!p)
		return NULL;
	mis = (uintptr_t)p & 63u;
	return mis ? p + (64u - mis) : p;
}

static size_t pow2_at_least(size_t n)
{
	size_t p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

int fc_geoip_open(const char *path, enum fc_geoip_role role, size_t cache_entries,
		  struct fc_strtab *strings, const struct fc_geoip_counters *ctr,
		  struct fc_geoip **out_g, char *err, size_t errlen)
{
	struct fc_geoip *g = calloc(1, sizeof(*g));
	char why[160];
	int s, rc = 0;
	bool opened = false;

	if (!g) {
		snprintf(err, errlen, "%s: out of memory", path);
		return FC_ENOMEM;
	}
	g->role = role;
	g->strings = strings;
	g->ctr = *ctr;
	s = MMDB_open(path, MMDB_MODE_MMAP, &g->mmdb);
	if (s != MMDB_SUCCESS) {
		if (s == MMDB_FILE_OPEN_ERROR || s == MMDB_IO_ERROR) {
			snprintf(err, errlen, "%s: %s (%s)", path, MMDB_strerror(s), strerror(errno));
			rc = FC_ESYS;
		} else {
			snprintf(err, errlen, "%s: %s", path, MMDB_strerror(s));
			rc = s == MMDB_OUT_OF_MEMORY_ERROR ? FC_ENOMEM : FC_EMALFORMED;
		}
		goto out;
	}
	opened = true;
	rc = geoip_check(g, why, sizeof(why));
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		goto out;
	}
	if (cache_entries > 0) {
		if (cache_entries > GEOIP_MAX_ENTRIES)
			cache_entries = GEOIP_MAX_ENTRIES;
		cache_entries = pow2_at_least(cache_entries < GEOIP_WAYS ? GEOIP_WAYS : cache_entries);
		g->nsets = cache_entries / GEOIP_WAYS;
		g->naddr = cache_entries;
		g->net = cache_calloc(cache_entries * sizeof(*g->net), &g->net_mem);
		g->victim = calloc(g->nsets, 1);
		g->addr = cache_calloc(g->naddr * sizeof(*g->addr), &g->addr_mem);
		if (!g->net || !g->victim || !g->addr) {
			snprintf(err, errlen, "%s: out of memory for a %zu-entry cache", path,
				 cache_entries);
			rc = FC_ENOMEM;
			goto out;
		}
	}
out:
	if (rc != 0) {
		if (opened)
			MMDB_close(&g->mmdb);
		free(g->net_mem);
		free(g->victim);
		free(g->addr_mem);
		free(g);
		return rc;
	}
	*out_g = g;
	return 0;
}

void fc_geoip_close(struct fc_geoip *g)
{
	if (!g)
		return;
	MMDB_close(&g->mmdb);
	free(g->net_mem);
	free(g->victim);
	free(g->addr_mem);
	free(g);
}

const char *fc_geoip_type(const struct fc_geoip *g)
{
	return g->mmdb.metadata.database_type ? g->mmdb.metadata.database_type : "";
}
