/*
 * Rules of the Redis sink: which addresses of which flows go into which
 * key. A rule is written on the command line as
 *
 *     KEY_TEMPLATE[,addr=src|dst|both][,FILTER=VALUE...][,window=S][,ttl=S]
 *
 * e.g. `ips:{exporter}:{hour},addr=src,proto=6,dst_port=22,ttl=172800`.
 * Filters (all must match): proto, port (either side), src_port, dst_port,
 * as (either side), src_as, dst_as, country (either side), src_country,
 * dst_country, exporter (name from --exporter-names, or address).
 * Placeholders: {exporter} (name, else address), {hour} (YYYYMMDDHH, UTC),
 * {day} (YYYYMMDD), {window} (start of the window=S bucket, Unix seconds),
 * all taken from the flow's end time; {ip} (counter rules: one hash per
 * address). ttl=S sets EXPIRE on every key the rule writes.
 *
 * Ownership: a parsed rule owns its strings (fc_rule_fini).
 */
#ifndef FC_FLOWSINK_RULE_H
#define FC_FLOWSINK_RULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fc/flow.h"
#include "flowsink/record.h"

enum fc_rule_kind { FC_RULE_SET = 0, FC_RULE_COUNTERS = 1 };

#define FC_RULE_SRC 1u
#define FC_RULE_DST 2u

#define FC_RULE_KEY_MAX 512 /* an expanded key, bytes with the NUL */

struct fc_rule {
	enum fc_rule_kind kind;
	char *key;      /* the template as written */
	unsigned addr;  /* FC_RULE_SRC | FC_RULE_DST */
	bool has_ip;    /* key holds {ip} */
	uint64_t window; /* seconds, 0 = none */
	uint64_t ttl;    /* seconds, 0 = keys do not expire */
	unsigned fmask;  /* which filters are set (bits of enum in rule.c) */
	uint32_t proto, port, src_port, dst_port, as, src_as, dst_as;
	char country[3], src_country[3], dst_country[3];
	char *exporter;
	struct fc_addr exporter_addr; /* family 0 when exporter is a name */
};

/* Parses spec into r. Returns 0, or FC_EINVAL with a message in err
 * (nothing to free then), or FC_ENOMEM. */
int fc_rule_parse(struct fc_rule *r, enum fc_rule_kind kind, const char *spec, char *err,
		  size_t errlen);
void fc_rule_fini(struct fc_rule *r);

/* True when the flow passes the rule's filter. */
bool fc_rule_match(const struct fc_rule *r, const struct fc_sink_flow *f);

/* Expands the key template for flow f (ip: the address text for {ip}, may
 * be NULL when the template has none) into out. Returns the length, or -1
 * when it does not fit in cap. */
int fc_rule_key(const struct fc_rule *r, const struct fc_sink_flow *f, const char *ip, char *out,
		size_t cap);

#endif
