/*
 * MaxMind enrichment lookups: the ASN database and the geo database (either
 * may be absent, see mmdb.h) answered together, ASN, AS name, country and
 * city in one lookup, through one cache in front of both.
 *
 * Addresses: IPv4 is looked up as IPv4; IPv6 as IPv6, except that a 6to4
 * address (2002:AABB:CCDD::/48, RFC 3056) is looked up as its embedded IPv4
 * address AA.BB.CC.DD. IPv4-mapped addresses are already IPv4 in a
 * struct fc_addr.
 *
 * Cache (exact, bounded, sized in bytes, allocated once at open): 2-way
 * set-associative, one 64-byte line per set. An entry holds a network and
 * the index of its combined answer; the answers (ASN, AS name, country,
 * city) are stored once each in a table beside the sets, since a few
 * thousand of them answer most traffic and stay in the fastest caches
 * while the entries do not. An entry's network is the intersection of the
 * two databases' networks holding the address, i.e. the longer of the two
 * prefixes (MMDB networks are leaves of one tree, so both contain the
 * address and one contains the other). The set is chosen by a fixed bucket
 * of the address, the narrowest of /8, /16, /24, /32 (IPv4) or /16, /32,
 * /48, /64 (IPv6) that the network covers whole (networks longer than /32
 * or /64 by that bucket too). An entry answers an address when the address
 * lies in the entry's network. The level that last answered for the
 * address's /16 (IPv4) or /32 (IPv6) is probed first (a 64 KiB hint table),
 * so a hit usually costs one hash and one line (at most four) whatever the
 * prefix length, and a miss adds one walk of each tree. Negative answers
 * (not found) are cached the same way. Every answer in the cache is an
 * answer of the databases for every address of its network, so an entry
 * found is always right however it got into that set. When the answer
 * table is full (one answer per two sets), the whole cache is emptied and
 * refills from the databases.
 *
 * Results carry strings interned in the struct fc_strtab given at open (once
 * per database record, mmdb.h), so they stay valid after the databases are
 * closed, for as long as that table.
 *
 * Thread affinity: one struct fc_geoip per thread (nothing is locked).
 */
#ifndef FC_ENRICH_GEOIP_H
#define FC_ENRICH_GEOIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "enrich/mmdb.h"
#include "enrich/strtab.h"
#include "fc/flow.h"

/* The smallest cache that is not "no cache" (two sets of two entries). */
#define FC_GEOIP_CACHE_MIN_BYTES 256u

/* One combined answer. asn/as_name come from the ASN database (0/NULL when
 * it has no answer or is absent), country/city from the geo database
 * ("" / NULL likewise); found_* say which database knew the address. */
struct fc_geoip_res {
	uint32_t asn;
	char country[4];
	const char *as_name;
	const char *city;
	bool found_asn;
	bool found_geo;
};

/* Counter slots (from fc_metrics_counter) the lookups add to; they outlive
 * any one database, so reloads keep counting in the same series. Index by
 * enum fc_geoip_role; slots of an absent database are not touched. */
struct fc_geoip_counters {
	uint64_t *lookups[2]; /* addresses looked up (cached or not) */
	uint64_t *misses[2];  /* address not in that database (private, unknown) */
	uint64_t *errors[2];  /* damaged data met at lookup, or out of memory */
	uint64_t *cache_hits;   /* combined lookups answered by the cache */
	uint64_t *cache_misses; /* combined lookups that walked the databases */
	uint64_t *cache_flushes; /* cache emptied: its table of answers was full */
};

struct fc_geoip;

/* Opens asn_path (role FC_GEOIP_ASN) and/or geo_path (FC_GEOIP_GEO); a NULL
 * path leaves that database out, at least one must be given. cache_bytes
 * sizes the cache (sets and answers together, rounded down to a power of
 * two number of sets; below FC_GEOIP_CACHE_MIN_BYTES: no cache). strings and ctr's slots must
 * outlive the handle. On success *out_g owns both databases and the cache,
 * returns 0; on failure *out_g is untouched and err names the file: the
 * codes of fc_mmdb_open (FC_EINVAL: wrong kind of database for the option),
 * or FC_ENOMEM. */
int fc_geoip_open(const char *asn_path, const char *geo_path, size_t cache_bytes,
		  struct fc_strtab *strings, const struct fc_geoip_counters *ctr,
		  struct fc_geoip **out_g, char *err, size_t errlen);

/* Closes the databases and frees the cache. Accepts NULL. */
void fc_geoip_close(struct fc_geoip *g);

/* Looks a up in both databases; fills *out (zeroed first) and returns
 * whether either database knew the address. An absent address (family 0)
 * is not looked up or counted. Hot path: no allocation except decoding a
 * database record seen for the first time on a cache miss. */
bool fc_geoip_lookup(struct fc_geoip *g, const struct fc_addr *a, struct fc_geoip_res *out);

/* The hot path: a flow's two ends looked up together (both cache lines are
 * requested before either is read, so their waits for memory overlap).
 * *out_a and *out_b point to the answers (NULL for an absent address, not
 * looked up or counted), owned by g and valid until its next lookup. */
void fc_geoip_lookup2(struct fc_geoip *g, const struct fc_addr *a, const struct fc_addr *b,
		      const struct fc_geoip_res **out_a, const struct fc_geoip_res **out_b);

/* build_epoch of the database in role (Unix seconds), 0 when absent. */
uint64_t fc_geoip_build_epoch(const struct fc_geoip *g, enum fc_geoip_role role);

#endif
