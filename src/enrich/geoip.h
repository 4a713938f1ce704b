/*
 * One MaxMind DB (libmaxminddb, MMDB_MODE_MMAP) opened in one role, with the
 * lookup cache in front of it:
 *   - FC_GEOIP_ASN: GeoLite2-ASN or GeoIP2-ISP; reads autonomous_system_number
 *     and autonomous_system_organization.
 *   - FC_GEOIP_GEO: GeoLite2/GeoIP2 City or Country; reads country.iso_code
 *     and city.names.en (a Country database simply has no city).
 * A path missing from a record (sparse data) leaves that value empty.
 *
 * Addresses: IPv4 is looked up as AF_INET with MMDB_lookup_sockaddr (never
 * the string form, which would resolve names); IPv6 as AF_INET6, except that
 * a 6to4 address (2002:AABB:CCDD::/48) is looked up as its embedded IPv4
 * address AA.BB.CC.DD. IPv4-mapped addresses are already IPv4 in a
 * struct fc_addr.
 *
 * Cache (exact, bounded, allocated once at open):
 *   - network level: set-associative (4 ways), keyed by (family, network,
 *     prefix length) where the network is the address masked to the netmask
 *     MMDB returned (translated back to an IPv4 length for IPv4 lookups in an
 *     IPv6 tree). MMDB networks are disjoint leaves of one tree, so at most
 *     one cached prefix holds an address and any probe order is exact; a new
 *     address probes the prefix lengths present, most-hit first.
 *   - address level: direct-mapped, keyed by the full address, in front of
 *     the network level so a repeated address costs one probe.
 *   Both levels hold cache_entries slots (0 disables caching). Negative
 *   answers (not found) are cached the same way, with their netmask.
 * Results carry strings interned in the struct fc_strtab given at open, so
 * they stay valid after this database is closed, for as long as that table.
 *
 * Thread affinity: one struct fc_geoip per thread (the cache is not locked);
 * MMDB handles to the same file in several threads share the page cache.
 */
#ifndef FC_ENRICH_GEOIP_H
#define FC_ENRICH_GEOIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "enrich/strtab.h"
#include "fc/flow.h"

enum fc_geoip_role {
	FC_GEOIP_ASN = 0,
	FC_GEOIP_GEO = 1,
};

/* One answer. Strings are NULL when absent; country is "" when absent. */
struct fc_geoip_res {
	uint32_t asn;
	char country[4];
	const char *as_name;
	const char *city;
	bool found;
};

/* Counter slots (from fc_metrics_counter) the lookups add to; they outlive
 * any one database, so reloads keep counting in the same series. */
struct fc_geoip_counters {
	uint64_t *lookups; /* every address looked up (cached or not) */
	uint64_t *hits;    /* answered from the cache */
	uint64_t *misses;  /* address not in the database (private, unknown) */
	uint64_t *errors;  /* corrupt data met at lookup, or out of memory */
};

struct fc_geoip;

/* Opens path and checks it (MMDB_open, then a few sample records decoded in
 * full, so a damaged data section is refused now rather than at lookup).
 * strings must outlive the handle and every result. On success *out_g owns
 * the MMDB handle and the cache, returns 0. On failure returns FC_EMALFORMED
 * (not a usable MaxMind DB), FC_ESYS (cannot open the file) or FC_ENOMEM,
 * with a message naming the file in err; *out_g is untouched. */
int fc_geoip_open(const char *path, enum fc_geoip_role role, size_t cache_entries,
		  struct fc_strtab *strings, const struct fc_geoip_counters *ctr,
		  struct fc_geoip **out_g, char *err, size_t errlen);

/* Closes the database and frees the cache. Accepts NULL. */
void fc_geoip_close(struct fc_geoip *g);

/* Looks a up; fills *out (zeroed first) and returns out->found. An absent
 * address (family 0) is not looked up or counted. Hot path: no allocation
 * except interning a string seen for the first time on a cache miss. */
bool fc_geoip_lookup(struct fc_geoip *g, const struct fc_addr *a, struct fc_geoip_res *out);

/* Database metadata type, e.g. "GeoLite2-ASN" (owned by the handle). */
const char *fc_geoip_type(const struct fc_geoip *g);

#endif
