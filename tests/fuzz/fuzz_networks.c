/*
 * libFuzzer target: the networks-file and exporter-names parser
 * (src/enrich/nets.c, format in nets.h) and the longest-prefix-match trie it
 * builds. The first byte picks the file kind (even: networks, odd: exporter
 * names); the rest is the file. A table that parses is looked up with a few
 * fixed addresses and with addresses taken from the input, and every label
 * returned is read to its end.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "enrich/nets.h"
#include "enrich/strtab.h"
#include "fc/flow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void touch(const char *s)
{
	volatile size_t n = s ? strlen(s) : 0;

	(void)n;
}

static void probe(const struct fc_nets *n, const struct fc_addr *a)
{
	const struct fc_nets_entry *e = fc_nets_lookup(n, a);

	if (!e)
		return;
	if (e->prefix.family != 4 && e->prefix.family != 6)
		abort();
	if (e->plen > (e->prefix.family == 4 ? 32 : 128))
		abort();
	touch(e->name);
	touch(e->role);
	touch(e->site);
	touch(e->as_name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const fixed[] = {"10.1.2.3", "0.0.0.0", "255.255.255.255", "::",
					    "2001:db8::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"};
	struct fc_strtab *st;
	struct fc_nets *n = NULL;
	char err[256];
	enum fc_nets_kind kind;

	if (size < 1)
		return 0;
	kind = (data[0] & 1) ? FC_NETS_EXPORTERS : FC_NETS_NETWORKS;
	st = fc_strtab_new();
	if (!st)
		return 0;
	if (fc_nets_parse((const char *)data + 1, size - 1, kind, st, &n, err, sizeof(err)) == 0) {
		struct fc_addr a;

		for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
			if (fc_addr_parse(&a, fixed[i]) == 0)
				probe(n, &a);
		}
		/* addresses from the input bytes, so prefixes it defined are hit */
		for (size_t off = 1; off + 16 <= size && off < 1 + 64 * 16; off += 16) {
			fc_addr_set4(&a, data + off);
			probe(n, &a);
			a.family = 6;
			memcpy(a.a, data + off, 16);
			probe(n, &a);
		}
		fc_nets_free(n);
	} else if (err[0] == '\0') {
		abort(); /* every refusal must say why */
	}
	fc_strtab_free(st);
	return 0;
}
