/*
 * mmdb_oracle: libmaxminddb's own answers, for the differential enrichment
 * test (check_enrich_diff.py). Reads one IP address per line on stdin and
 * prints one JSON object per line: the address and, from the ASN database,
 * autonomous_system_number / autonomous_system_organization, from the geo
 * database country.iso_code / city.names.en, each only when present. Uses
 * MMDB_lookup_string and MMDB_get_value directly, nothing of src/enrich,
 * so it is an independent oracle for the collector's cached lookups.
 *
 *   mmdb_oracle ASN_DB GEO_DB < addresses
 *
 * An address in 2002::/16 (6to4, RFC 3056) is looked up as the IPv4 address
 * it embeds, as the collector documents. Exit 0, or 2 on a usage or open
 * error.
 */
#include <maxminddb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void json_str(const char *key, const MMDB_entry_data_s *d)
{
	printf(",\"%s\":\"", key);
	for (uint32_t i = 0; i < d->data_size; i++) {
		unsigned char c = (unsigned char)d->utf8_string[i];

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static int lookup(MMDB_s *db, const char *addr, MMDB_entry_s *out)
{
	int gai = 0, err = 0;
	MMDB_lookup_result_s r = MMDB_lookup_string(db, addr, &gai, &err);

	if (gai != 0 || err != MMDB_SUCCESS || !r.found_entry)
		return 0;
	*out = r.entry;
	return 1;
}

/* 2002:AABB:CCDD:: -> "A.B.C.D" in buf; returns addr unchanged otherwise. */
static const char *unwrap_6to4(const char *addr, char *buf, size_t len)
{
	unsigned a, b;

	if (strncmp(addr, "2002:", 5) != 0 || sscanf(addr + 5, "%x:%x", &a, &b) != 2)
		return addr;
	snprintf(buf, len, "%u.%u.%u.%u", a >> 8, a & 0xff, b >> 8, b & 0xff);
	return buf;
}

int main(int argc, char **argv)
{
	MMDB_s asn, geo;
	char line[256], v4[32];

	if (argc != 3) {
		fprintf(stderr, "usage: mmdb_oracle ASN_DB GEO_DB < addresses\n");
		return 2;
	}
	if (MMDB_open(argv[1], MMDB_MODE_MMAP, &asn) != MMDB_SUCCESS ||
	    MMDB_open(argv[2], MMDB_MODE_MMAP, &geo) != MMDB_SUCCESS) {
		fprintf(stderr, "mmdb_oracle: cannot open the databases\n");
		return 2;
	}
	while (fgets(line, sizeof(line), stdin)) {
		MMDB_entry_s e;
		MMDB_entry_data_s d;
		const char *addr;

		line[strcspn(line, "\r\n")] = '\0';
		addr = unwrap_6to4(line, v4, sizeof(v4));
		printf("{\"addr\":\"%s\"", line);
		if (lookup(&asn, addr, &e)) {
			if (MMDB_get_value(&e, &d, "autonomous_system_number", NULL) == MMDB_SUCCESS &&
			    d.has_data && d.type == MMDB_DATA_TYPE_UINT32)
				printf(",\"asn\":%u", d.uint32);
			if (MMDB_get_value(&e, &d, "autonomous_system_organization", NULL) ==
				    MMDB_SUCCESS &&
			    d.has_data && d.type == MMDB_DATA_TYPE_UTF8_STRING && d.data_size)
				json_str("as_name", &d);
		}
		if (lookup(&geo, addr, &e)) {
			if (MMDB_get_value(&e, &d, "country", "iso_code", NULL) == MMDB_SUCCESS &&
			    d.has_data && d.type == MMDB_DATA_TYPE_UTF8_STRING && d.data_size)
				json_str("country", &d);
			if (MMDB_get_value(&e, &d, "city", "names", "en", NULL) == MMDB_SUCCESS &&
			    d.has_data && d.type == MMDB_DATA_TYPE_UTF8_STRING && d.data_size)
				json_str("city", &d);
		}
		printf("}\n");
	}
	MMDB_close(&asn);
	MMDB_close(&geo);
	return 0;
}
