/*
 * String table: interned, NUL-terminated copies of the names enrichment puts
 * into flows (AS organisations, cities, network labels, exporter names).
 * One table belongs to one enrichment snapshot; every pointer it hands out
 * stays valid, unchanged, until fc_strtab_free of that table. That is what
 * lets struct fc_flow carry plain const char * names that never point into a
 * MaxMind database which a reload may close.
 *
 * Memory: strings live in arena chunks (a chunk per 64 KiB, or one chunk for
 * an oversized string), found again through an open-addressing hash over
 * their content, so the same name is stored once however many networks use
 * it. Growth happens only when a string is seen for the first time, which on
 * the hot path means on a GeoIP cache miss, never per flow.
 *
 * Thread affinity: none; the owner serializes access.
 */
#ifndef FC_ENRICH_STRTAB_H
#define FC_ENRICH_STRTAB_H

#include <stddef.h>
#include <stdint.h>

struct fc_strtab;

/* Returns an empty table, or NULL when out of memory. */
struct fc_strtab *fc_strtab_new(void);

/* Frees the table and every string it handed out. Accepts NULL. */
void fc_strtab_free(struct fc_strtab *t);

/* Returns the interned copy of s[0..len) (which need not be NUL-terminated
 * and may contain no NUL); equal content gives the same pointer. An empty
 * string is interned like any other. Returns NULL when out of memory (the
 * table is unchanged and still usable). */
const char *fc_strtab_intern(struct fc_strtab *t, const char *s, size_t len);

/* Number of distinct strings held (for tests and diagnostics). */
size_t fc_strtab_count(const struct fc_strtab *t);

#endif
