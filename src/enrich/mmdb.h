/*
 * One MaxMind DB in one role, opened from a private, sealed copy of the
 * user's file, and its uncached lookup:
 *   - FC_GEOIP_ASN: GeoLite2-ASN or GeoIP2-ISP (database_type naming ASN or
 *     ISP); reads autonomous_system_number and autonomous_system_organization.
 *   - FC_GEOIP_GEO: GeoLite2/GeoIP2 City or Country (or Enterprise); reads
 *     country.iso_code and city.names.en (a Country database has no city).
 * A path missing from a record (sparse data) leaves that value empty.
 *
 * Private copy: libmaxminddb maps the file it opens (MAP_SHARED). Mapping
 * the user's file would let `truncate` or an in-place `cp` over it fault the
 * collector (SIGBUS) or change the data under a running lookup. So the file
 * is read (plain read(2), which a concurrent truncation can only shorten)
 * into an anonymous memfd sealed against any change, and that is what
 * libmaxminddb opens and maps. Where memfd_create is missing the copy goes
 * to an unlinked file in $TMPDIR (or /tmp) instead. The copy is validated
 * (metadata, database_type against the role, a few records decoded in full)
 * before it is handed out.
 *
 * Answers are decoded once per record and load: a record (by its data
 * section offset) seen again reuses the decoded answer, so strings are
 * interned in the struct fc_strtab given at open once per record, never per
 * lookup or per flow.
 *
 * Thread affinity: one struct fc_mmdb per thread (the record memo is not
 * locked).
 */
#ifndef FC_ENRICH_MMDB_H
#define FC_ENRICH_MMDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "enrich/strtab.h"
#include "fc/flow.h"

enum fc_geoip_role {
	FC_GEOIP_ASN = 0,
	FC_GEOIP_GEO = 1,
};

/* One database's answer. Strings are NULL when absent (interned, owned by
 * the string table); country is "" when absent. */
struct fc_mmdb_ans {
	uint32_t asn;
	char country[4];
	const char *as_name;
	const char *city;
	bool found;
};

struct fc_mmdb;

/* Copies path privately, opens and checks the copy. strings must outlive
 * the handle and every answer. On success *out_d owns the copy, returns 0.
 * On failure *out_d is untouched and err holds a one-line message naming
 * the file; returns
 *   FC_EINVAL     a valid MaxMind DB of the wrong kind for role (e.g. a
 *                 City database given as the ASN database): a configuration
 *                 error;
 *   FC_EMALFORMED not a usable MaxMind DB (damaged, truncated, foreign);
 *   FC_ESYS       the file cannot be read (or the copy cannot be made);
 *   FC_ENOMEM. */
int fc_mmdb_open(const char *path, enum fc_geoip_role role, struct fc_strtab *strings,
		 struct fc_mmdb **out_d, char *err, size_t errlen);

/* Closes the database and frees its copy and memo. Accepts NULL. */
void fc_mmdb_close(struct fc_mmdb *d);

/* Uncached lookup of a (family 4 or 6; an IPv4 address never goes to the
 * string resolver). Fills *out (zeroed first) and *out_plen, the prefix
 * length, in a's family, of the database network holding a (the answer is
 * the same for every address in it). Returns 0; 1 when a record met on the
 * way is damaged (the answer is partial but stable, so still cacheable); or
 * -1 when the tree itself could not be walked (nothing usable, not to be
 * cached). An IPv6 address in an IPv4-only database is "not found" for
 * all of ::/0. */
int fc_mmdb_query(struct fc_mmdb *d, const struct fc_addr *a, struct fc_mmdb_ans *out,
		  unsigned *out_plen);

/* Metadata database_type, e.g. "GeoLite2-ASN" (owned by d). */
const char *fc_mmdb_type(const struct fc_mmdb *d);

/* Metadata build_epoch: when MaxMind built the file, Unix seconds. */
uint64_t fc_mmdb_build_epoch(const struct fc_mmdb *d);

/* True when a database of this database_type can serve role. */
bool fc_mmdb_type_fits(const char *database_type, enum fc_geoip_role role);

#endif
