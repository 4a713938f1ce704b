/*
 * Operator prefix tables: the networks file (--networks) and the exporter
 * names file (--exporter-names), parsed into one longest-prefix-match binary
 * trie per address family.
 *
 * Networks file format (text, UTF-8, one entry per line):
 *
 *     # comment lines start with '#'; blank lines are ignored
 *     prefix,name,role,site,asn,as_name
 *     10.0.0.0/8,corp,internal,par1,64512,Example Corp
 *     2001:db8:100::/40,lab,lab,ams2
 *     192.0.2.7,dns1,server,par1
 *
 *   - prefix: an IPv4 or IPv6 prefix "ADDR/LEN"; a bare address means /32 or
 *     /128; host bits past LEN must be zero; an IPv4-mapped IPv6 prefix
 *     (::ffff:a.b.c.d/96+n) is stored as the IPv4 prefix a.b.c.d/n, since
 *     flows carry mapped addresses as IPv4.
 *   - name, role, site: free-text labels (no ',' and no control characters,
 *     valid UTF-8, blanks around a field are trimmed); an empty field leaves
 *     the flow field unset.
 *   - asn: optional, decimal, "AS" prefix allowed, 0 = none; when set it wins
 *     over MaxMind's answer for addresses in that prefix.
 *   - as_name: optional AS organisation name going with asn.
 *   Trailing fields may be omitted. A first line whose first field is
 *   "prefix" is taken as a header and skipped. The same prefix twice, more
 *   than six fields, a line over 4096 bytes or more than FC_NETS_MAX_ENTRIES
 *   entries is an error that names the line.
 *
 * Exporter names file format: "address[/len],name" per line, same rules
 * (comments, blanks, header "address" skipped); matched against the flow's
 * sampler (exporter / agent) address, longest prefix wins.
 *
 * Ownership: a struct fc_nets owns its trie and entries; the label strings
 * belong to the struct fc_strtab passed at parse time, which must outlive it.
 * Thread affinity: read-only after parsing, so lookups may run anywhere.
 */
#ifndef FC_ENRICH_NETS_H
#define FC_ENRICH_NETS_H

#include <stddef.h>
#include <stdint.h>

#include "enrich/strtab.h"
#include "fc/flow.h"

#define FC_NETS_MAX_ENTRIES 1000000u
#define FC_NETS_MAX_LINE 4096u
#define FC_NETS_MAX_FILE (64u * 1024u * 1024u)

enum fc_nets_kind {
	FC_NETS_NETWORKS = 0,  /* prefix,name,role,site,asn,as_name */
	FC_NETS_EXPORTERS = 1, /* address,name */
};

/* One line of the file. Unset strings are NULL, never "". */
struct fc_nets_entry {
	const char *name, *role, *site, *as_name;
	uint32_t asn;
	uint8_t plen;
	struct fc_addr prefix;
};

struct fc_nets;

/* Parses buf[0..len) (need not be NUL-terminated). On success stores a new
 * table in *out_nets and returns 0. On failure returns FC_EMALFORMED (message
 * naming the line in err), FC_ELIMIT or FC_ENOMEM; *out_nets is untouched and
 * strings already interned stay in strings (harmless). */
int fc_nets_parse(const char *buf, size_t len, enum fc_nets_kind kind, struct fc_strtab *strings,
		  struct fc_nets **out_nets, char *err, size_t errlen);

/* Reads path (at most FC_NETS_MAX_FILE bytes) and parses it as above.
 * Returns 0, FC_ESYS (cannot read; errno kept and named in err), or the
 * codes of fc_nets_parse. The message names the file. */
int fc_nets_load(const char *path, enum fc_nets_kind kind, struct fc_strtab *strings,
		 struct fc_nets **out_nets, char *err, size_t errlen);

void fc_nets_free(struct fc_nets *n);

/* Longest-prefix match: the entry whose prefix holds a, or NULL (also for
 * an absent address). */
const struct fc_nets_entry *fc_nets_lookup(const struct fc_nets *n, const struct fc_addr *a);

/* Number of entries (for tests and diagnostics). */
size_t fc_nets_count(const struct fc_nets *n);

#endif
