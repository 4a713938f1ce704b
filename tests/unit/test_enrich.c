/*
 * Unit tests for enrichment (src/enrich/): the string table, the networks
 * and exporter-names parsers and trie, MaxMind lookups and their cache
 * against MaxMind's test databases (../shared/testdata/mmdb, values from its
 * MANIFEST.md), the flow-level rules, reload under a stream of flows and
 * refusal of a corrupt database. Tests needing the databases print a SKIP
 * line and pass when the test data is absent.
 */
#include <check.h>
#include <maxminddb.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "enrich/enrich.h"
#include "enrich/geoip.h"
#include "enrich/nets.h"
#include "enrich/strtab.h"
#include "fc/err.h"
#include "fc/flow.h"
#include "metrics/metrics.h"

#include "check_run.h"

#define ASN_DB "GeoLite2-ASN-Test.mmdb"
#define ISP_DB "GeoIP2-ISP-Test.mmdb"
#define CITY_DB "GeoIP2-City-Test.mmdb"
#define LCITY_DB "GeoLite2-City-Test.mmdb"
#define COUNTRY_DB "GeoIP2-Country-Test.mmdb"

/* ---- helpers ---- */

static const char *td(const char *name)
{
	static char buf[4][1024];
	static unsigned k;
	char *b = buf[k++ & 3];

	snprintf(b, sizeof(buf[0]), "%s/mmdb/%s", fc_testdata_dir(), name);
	return b;
}

static struct fc_addr A(const char *s)
{
	struct fc_addr a;

	ck_assert_msg(fc_addr_parse(&a, s) == 0, "bad test address %s", s);
	return a;
}

static char tmpdir[64];

static const char *tmp_path(const char *name)
{
	static char buf[4][256];
	static unsigned k;
	char *b = buf[k++ & 3];

	ck_assert(tmpdir[0] != '\0');
	snprintf(b, sizeof(buf[0]), "%s/%s", tmpdir, name);
	return b;
}

static void write_file(const char *path, const void *data, size_t len)
{
	char tmp[300];
	FILE *f;

	/* Write then rename, as an operator should, so a reader never sees a
	 * half-written file. */
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	f = fopen(tmp, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(rename(tmp, path), 0);
}

static void write_str(const char *path, const char *s)
{
	write_file(path, s, strlen(s));
}

static void copy_file(const char *from, const char *to)
{
	FILE *f = fopen(from, "rb");
	static char buf[1 << 20];
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	write_file(to, buf, n);
}

/* Sets a file's mtime well in the past, so the periodic check does not wait
 * for it to settle; distinct values make each version distinct. */
static void age_file(const char *path, time_t secs_ago)
{
	struct timespec ts[2];

	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= secs_ago;
	ts[1] = ts[0];
	ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
}

struct opts {
	const char *asn, *geo, *nets, *exporters;
	bool override;
	uint64_t cache;
	uint64_t interval;
};

static struct fc_enrich *mk(struct fc_metrics *m, const struct opts *o)
{
	struct fc_config cfg;
	char err[512] = "";
	struct fc_enrich *e;

	memset(&cfg, 0, sizeof(cfg));
	cfg.geoip_asn = fc_test_str(o->asn);
	cfg.geoip_geo = fc_test_str(o->geo);
	cfg.networks = fc_test_str(o->nets);
	cfg.exporter_names = fc_test_str(o->exporters);
	cfg.geoip_asn_override = o->override;
	cfg.geoip_cache_bytes = o->cache * 64; /* entries of 64 bytes */
	cfg.reload_interval = o->interval;
	ck_assert_msg(fc_enrich_new(&cfg, m, &e, err, sizeof(err)) == 0, "fc_enrich_new: %s", err);
	return e;
}

static void mkflow(struct fc_flow *f, const char *src, const char *dst)
{
	fc_flow_reset(f);
	f->src_addr = A(src);
	f->dst_addr = A(dst);
	f->sampler_address = A("192.0.2.10");
}

static const char *S(const char *s)
{
	return s ? s : "(null)";
}

static struct fc_geoip_counters ctr_storage[8];
/* per handle: lookups, cache hits, not found, errors, cache misses,
 * cache flushes */
static uint64_t ctr_slots[8][6];

/* Counters of a handle with one database: both roles share the slots. */
static struct fc_geoip_counters *counters(unsigned i)
{
	struct fc_geoip_counters *c = &ctr_storage[i];

	memset(ctr_slots[i], 0, sizeof(ctr_slots[i]));
	for (unsigned r = 0; r < 2; r++) {
		c->lookups[r] = &ctr_slots[i][0];
		c->misses[r] = &ctr_slots[i][2];
		c->errors[r] = &ctr_slots[i][3];
	}
	c->cache_hits = &ctr_slots[i][1];
	c->cache_misses = &ctr_slots[i][4];
	c->cache_flushes = &ctr_slots[i][5];
	return c;
}

/* One database in one role, with a cache of `cache` 64-byte entries. */
static int open_one(const char *path, enum fc_geoip_role role, size_t cache,
		    struct fc_strtab *st, unsigned ci, struct fc_geoip **g, char *err,
		    size_t errlen)
{
	return fc_geoip_open(role == FC_GEOIP_ASN ? path : NULL, role == FC_GEOIP_GEO ? path : NULL,
			     cache * 64, st, counters(ci), g, err, errlen);
}

static struct fc_geoip *open_db(const char *name, enum fc_geoip_role role, size_t cache,
				struct fc_strtab *st, unsigned ci)
{
	struct fc_geoip *g = NULL;
	char err[256] = "";
	int rc = open_one(td(name), role, cache, st, ci, &g, err, sizeof(err));

	ck_assert_msg(rc == 0, "open %s: %s", name, err);
	return g;
}

/* ---- string table ---- */

START_TEST(strtab_interns)
{
	struct fc_strtab *t = fc_strtab_new();
	const char *a, *b, *c;
	char big[100000];
	char buf[32];

	ck_assert_ptr_nonnull(t);
	a = fc_strtab_intern(t, "London!", 6);
	b = fc_strtab_intern(t, "London", 6);
	c = fc_strtab_intern(t, "Londo", 5);
	ck_assert_ptr_eq(a, b);
	ck_assert_ptr_ne(a, c);
	ck_assert_str_eq(a, "London");
	ck_assert_str_eq(c, "Londo");
	/* growth keeps earlier pointers valid */
	for (int i = 0; i < 5000; i++) {
		snprintf(buf, sizeof(buf), "name-%d", i);
		ck_assert_ptr_nonnull(fc_strtab_intern(t, buf, strlen(buf)));
	}
	ck_assert_str_eq(a, "London");
	ck_assert_ptr_eq(fc_strtab_intern(t, "name-4321", 9), fc_strtab_intern(t, "name-4321", 9));
	memset(big, 'x', sizeof(big));
	ck_assert_uint_eq(strlen(fc_strtab_intern(t, big, sizeof(big))), sizeof(big));
	ck_assert_str_eq(fc_strtab_intern(t, "", 0), "");
	ck_assert_uint_eq(fc_strtab_count(t), 5000 + 4);
	fc_strtab_free(t);
	fc_strtab_free(NULL);
}
END_TEST

/* ---- networks file ---- */

static const char nets_text[] =
	"# our networks\r\n"
	"prefix,name,role,site,asn,as_name\r\n"
	"10.0.0.0/8, corp , internal ,par1,AS64512,Example Corp\n"
	"10.1.0.0/16,lab,lab\n"
	"10.1.2.3,dns1,server,par1\n"
	"\n"
	"   # indented comment\n"
	"2001:db8::/32,v6corp,internal,,64513\n"
	"2001:db8:1::/48,v6lab,lab,ams2\n"
	"::ffff:192.168.0.0/112,home,,,\n"
	"0.0.0.0/0,internet\n"
	"89.160.20.0/24,bredband-peer,peer,sto1,65001,Peering Partner\n"
	"1.128.0.0/16,telstra-internal,,,1221";

START_TEST(nets_longest_prefix)
{
	struct fc_strtab *st = fc_strtab_new();
	struct fc_nets *n = NULL;
	const struct fc_nets_entry *e;
	struct fc_addr a;
	char err[256] = "";

	ck_assert_int_eq(fc_nets_parse(nets_text, strlen(nets_text), FC_NETS_NETWORKS, st, &n, err,
				       sizeof(err)),
			 0);
	ck_assert_uint_eq(fc_nets_count(n), 9);
	a = A("10.200.0.1");
	e = fc_nets_lookup(n, &a);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->name, "corp");
	ck_assert_str_eq(e->role, "internal");
	ck_assert_str_eq(e->site, "par1");
	ck_assert_str_eq(e->as_name, "Example Corp");
	ck_assert_uint_eq(e->asn, 64512);
	a = A("10.1.9.9");
	e = fc_nets_lookup(n, &a);
	ck_assert_str_eq(e->name, "lab");
	ck_assert_ptr_null(e->site);
	ck_assert_uint_eq(e->asn, 0);
	a = A("10.1.2.3");
	ck_assert_str_eq(fc_nets_lookup(n, &a)->name, "dns1");
	a = A("10.1.2.4");
	ck_assert_str_eq(fc_nets_lookup(n, &a)->name, "lab");
	a = A("2001:db8:1:2::1");
	e = fc_nets_lookup(n, &a);
	ck_assert_str_eq(e->name, "v6lab");
	ck_assert_str_eq(e->site, "ams2");
	a = A("2001:db8:2::1");
	e = fc_nets_lookup(n, &a);
	ck_assert_str_eq(e->name, "v6corp");
	ck_assert_ptr_null(e->site);
	ck_assert_uint_eq(e->asn, 64513);
	/* a mapped prefix is stored as IPv4 (flows carry mapped as IPv4) */
	a = A("::ffff:192.168.7.7");
	ck_assert_int_eq(a.family, 4);
	ck_assert_str_eq(fc_nets_lookup(n, &a)->name, "home");
	a = A("8.8.8.8");
	ck_assert_str_eq(fc_nets_lookup(n, &a)->name, "internet");
	a = A("2a00::1");
	ck_assert_ptr_null(fc_nets_lookup(n, &a));
	memset(&a, 0, sizeof(a));
	ck_assert_ptr_null(fc_nets_lookup(n, &a));
	fc_nets_free(n);
	fc_strtab_free(st);
}
END_TEST

START_TEST(exporters_parse)
{
	static const char text[] = "address,name\n192.0.2.10,edge1.par\n192.0.2.0/24,lab-%s\n"
				   "2001:db8::2, core1.ams \n";
	struct fc_strtab *st = fc_strtab_new();
	struct fc_nets *n = NULL;
	struct fc_addr a;
	char err[256] = "";

	ck_assert_int_eq(
		fc_nets_parse(text, strlen(text), FC_NETS_EXPORTERS, st, &n, err, sizeof(err)), 0);
	a = A("192.0.2.10");
	ck_assert_str_eq(fc_nets_lookup(n, &a)->name, "edge1.par");
	a = A("192.0.2.11");
	ck_assert_str_eq(fc_nets_lookup(n, &a)->name, "lab-%s");
	a = A("2001:db8::2");
	ck_assert_str_eq(fc_nets_lookup(n, &a)->name, "core1.ams");
	fc_nets_free(n);
	fc_strtab_free(st);
}
END_TEST

static const struct {
	enum fc_nets_kind kind;
	const char *text;
	const char *msg; /* substring of the error */
} bad_nets[] = {
	{FC_NETS_NETWORKS, "10.0.0.1/8,x\n", "line 1: host bits"},
	{FC_NETS_NETWORKS, "# c\n10.0.0.0/33,x\n", "line 2: prefix length too long"},
	{FC_NETS_NETWORKS, "10.0.0.0/,x\n", "empty prefix length"},
	{FC_NETS_NETWORKS, "10.0.0.0/8x,x\n", "bad prefix length"},
	{FC_NETS_NETWORKS, "10.0.0.0/8,a\n10.0.0.0/8,b\n", "line 2: duplicate prefix"},
	{FC_NETS_NETWORKS, "10.0.0.0/8,a,b,c,1,e,f\n", "too many fields"},
	{FC_NETS_NETWORKS, "10.0.0.0/8,a,b,c,12x\n", "bad ASN"},
	{FC_NETS_NETWORKS, "10.0.0.0/8,a,b,c,4294967296\n", "ASN out of range"},
	{FC_NETS_NETWORKS, "10.0.0.0/8,a\tb\x01\n", "control character"},
	{FC_NETS_NETWORKS, "10.0.0.0/8,caf\xc3\n", "invalid UTF-8"},
	{FC_NETS_NETWORKS, "10.0.0.0/8,\xc0\xaf\n", "invalid UTF-8"},
	{FC_NETS_NETWORKS, "10.0.0.0/8,\xed\xa0\x80\n", "invalid UTF-8"},
	{FC_NETS_NETWORKS, "example.com,x\n", "bad address"},
	{FC_NETS_NETWORKS, "10.0.0.0/8,a\0b\n", "NUL byte"},
	{FC_NETS_NETWORKS, "prefix,name\nprefix,name\n", "line 2: bad address"},
	{FC_NETS_EXPORTERS, "192.0.2.1\n", "missing exporter name"},
	{FC_NETS_EXPORTERS, "192.0.2.1,a,b\n", "too many fields"},
	{FC_NETS_EXPORTERS, "2001:db8::1/129,a\n", "prefix length too long"},
};

START_TEST(nets_malformed)
{
	struct fc_strtab *st = fc_strtab_new();
	struct fc_nets *n = NULL;
	char err[256] = "";
	const char *text = bad_nets[_i].text;
	/* the NUL-byte case is counted by hand: strlen would stop at it */
	size_t len = strstr(bad_nets[_i].msg, "NUL") ? 14 : strlen(text);
	int rc = fc_nets_parse(text, len, bad_nets[_i].kind, st, &n, err, sizeof(err));

	ck_assert_int_eq(rc, FC_EMALFORMED);
	ck_assert_ptr_null(n);
	ck_assert_msg(strstr(err, bad_nets[_i].msg) != NULL, "case %d: got \"%s\", want \"%s\"",
		      _i, err, bad_nets[_i].msg);
	fc_strtab_free(st);
}
END_TEST

START_TEST(nets_long_line_and_load_errors)
{
	struct fc_strtab *st = fc_strtab_new();
	struct fc_nets *n = NULL;
	char err[256] = "";
	static char line[FC_NETS_MAX_LINE + 100];

	memset(line, 'a', sizeof(line));
	ck_assert_int_eq(fc_nets_parse(line, sizeof(line), FC_NETS_NETWORKS, st, &n, err,
				       sizeof(err)),
			 FC_EMALFORMED);
	ck_assert_ptr_nonnull(strstr(err, "longer than"));
	ck_assert_int_eq(fc_nets_load("/nonexistent/nets.csv", FC_NETS_NETWORKS, st, &n, err,
				      sizeof(err)),
			 FC_ESYS);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/nets.csv"));
	ck_assert_int_eq(fc_nets_load("/tmp", FC_NETS_NETWORKS, st, &n, err, sizeof(err)),
			 FC_ELIMIT);
	/* empty file: valid, empty table */
	write_str(tmp_path("empty.csv"), "");
	ck_assert_int_eq(fc_nets_load(tmp_path("empty.csv"), FC_NETS_NETWORKS, st, &n, err,
				      sizeof(err)),
			 0);
	ck_assert_uint_eq(fc_nets_count(n), 0);
	fc_nets_free(n);
	fc_strtab_free(st);
}
END_TEST

/* ---- MaxMind lookups ---- */

static const struct {
	const char *db, *addr;
	uint32_t asn;
	const char *org;
} asn_cases[] = {
	{ASN_DB, "1.0.0.1", 15169, "Google Inc."},
	{ASN_DB, "1.128.0.1", 1221, "Telstra Pty Ltd"},
	{ASN_DB, "12.81.92.1", 7018, "AT&T Services"},
	{ASN_DB, "89.160.20.112", 29518, "Bredband2 AB"},
	{ASN_DB, "216.160.83.56", 209, NULL},
	{ASN_DB, "67.43.156.1", 35908, NULL},
	{ASN_DB, "149.101.100.1", 6167, "CELLCO-PART"},
	{ASN_DB, "12.81.96.1", 7018, NULL}, /* sparse: no organisation */
	{ASN_DB, "2001:1700::1", 6730, "Sunrise Communications AG"},
	{ASN_DB, "2001:1c00::1", 9143, "Ziggo B.V."},
	{ASN_DB, "2001:2000::1", 1299, "TeliaSonera International Carrier"},
	{ASN_DB, "2001:4540::1", 9924,
	 "Taiwan Fixed Network, Telco and Network Service Provider."},
	{ASN_DB, "::ffff:89.160.20.112", 29518, "Bredband2 AB"}, /* mapped */
	{ASN_DB, "2002:5aa0:1470::1", 0, NULL},                   /* 6to4 of 90.160.20.112: none */
	{ASN_DB, "2002:59a0:1470::1", 29518, "Bredband2 AB"},    /* 6to4 of 89.160.20.112 */
	{ASN_DB, "2002:0180:0001::5", 1221, "Telstra Pty Ltd"},  /* 6to4 of 1.128.0.1 */
	{ISP_DB, "1.128.0.1", 1221, "Telstra Pty Ltd"},
	{ISP_DB, "12.81.92.1", 7018, NULL},
	{ISP_DB, "81.2.69.160", 0, NULL}, /* found, but no ASN at all */
	{ISP_DB, "149.101.100.1", 6167, "CELLCO-PART"},
};

START_TEST(geoip_asn_values)
{
	struct fc_strtab *st;
	struct fc_geoip *g;
	struct fc_geoip_res r;
	struct fc_addr a;

	st = fc_strtab_new();
	/* run each case twice: uncached answer, then cached answer */
	for (unsigned pass = 0; pass < 2; pass++) {
		g = open_db(asn_cases[_i].db, FC_GEOIP_ASN, 1024, st, 0);
		a = A(asn_cases[_i].addr);
		for (unsigned k = 0; k < 2; k++) {
			fc_geoip_lookup(g, &a, &r);
			ck_assert_msg(r.asn == asn_cases[_i].asn, "%s: asn %u want %u",
				      asn_cases[_i].addr, r.asn, asn_cases[_i].asn);
			ck_assert_msg((r.as_name == NULL) == (asn_cases[_i].org == NULL) &&
					      (!r.as_name ||
					       strcmp(r.as_name, asn_cases[_i].org) == 0),
				      "%s: org %s want %s", asn_cases[_i].addr, S(r.as_name),
				      S(asn_cases[_i].org));
			ck_assert_str_eq(r.country, "");
			ck_assert_ptr_null(r.city);
		}
		ck_assert_uint_eq(ctr_slots[0][0], 2);
		ck_assert_uint_eq(ctr_slots[0][1], 1);
		ck_assert_uint_eq(ctr_slots[0][3], 0);
		fc_geoip_close(g);
	}
	fc_strtab_free(st);
}
END_TEST

static const struct {
	const char *db, *addr, *cc, *city;
	bool found;
} geo_cases[] = {
	{CITY_DB, "81.2.69.142", "GB", "London", true},
	{CITY_DB, "::ffff:81.2.69.142", "GB", "London", true},
	{CITY_DB, "2002:5102:458e::1", "GB", "London", true}, /* 6to4 */
	{CITY_DB, "81.2.69.160", "GB", "London", true},
	{CITY_DB, "2.125.160.216", "GB", "Boxford", true},
	{CITY_DB, "89.160.20.112", "SE", "Link\xc3\xb6ping", true},
	{CITY_DB, "216.160.83.56", "US", "Milton", true},
	{CITY_DB, "175.16.199.1", "CN", "Changchun", true},
	{CITY_DB, "202.196.224.1", "PH", NULL, true},
	{CITY_DB, "2001:218::1", "JP", NULL, true},
	{CITY_DB, "2a02:ec80::1", "", NULL, true}, /* sparse: continent+location only */
	{CITY_DB, "214.1.1.1", "", NULL, true},    /* empty record */
	{CITY_DB, "214.78.124.1", "US", NULL, true},
	{CITY_DB, "2a02:cf40::1", "NO", NULL, true},
	{CITY_DB, "10.0.0.1", "", NULL, false},
	{CITY_DB, "192.0.2.1", "", NULL, false},
	{CITY_DB, "127.0.0.1", "", NULL, false},
	{CITY_DB, "1.1.1.1", "", NULL, false},
	{LCITY_DB, "2001:480::1", "US", "San Diego", true},
	{LCITY_DB, "2a02:e700::1", "LY", NULL, true},
	{COUNTRY_DB, "81.2.69.142", "GB", NULL, true},
	{COUNTRY_DB, "2001:220::", "SE", NULL, true},
	{COUNTRY_DB, "2001:220::1", "KR", NULL, true}, /* the /128 next door is SE */
};

START_TEST(geoip_geo_values)
{
	struct fc_strtab *st;
	struct fc_geoip *g;
	struct fc_geoip_res r;
	struct fc_addr a;
	bool found;

	st = fc_strtab_new();
	g = open_db(geo_cases[_i].db, FC_GEOIP_GEO, 1024, st, 0);
	a = A(geo_cases[_i].addr);
	for (unsigned k = 0; k < 2; k++) {
		found = fc_geoip_lookup(g, &a, &r);
		ck_assert_msg(found == geo_cases[_i].found, "%s: found %d", geo_cases[_i].addr,
			      found);
		ck_assert_msg(strcmp(r.country, geo_cases[_i].cc) == 0, "%s: country '%s'",
			      geo_cases[_i].addr, r.country);
		ck_assert_msg((r.city == NULL) == (geo_cases[_i].city == NULL) &&
				      (!r.city || strcmp(r.city, geo_cases[_i].city) == 0),
			      "%s: city %s", geo_cases[_i].addr, S(r.city));
		ck_assert_uint_eq(r.asn, 0);
	}
	ck_assert_uint_eq(ctr_slots[0][0], 2);                         /* lookups */
	ck_assert_uint_eq(ctr_slots[0][1], 1);                         /* hits */
	ck_assert_uint_eq(ctr_slots[0][2], geo_cases[_i].found ? 0 : 2); /* misses */
	fc_geoip_close(g);
	fc_strtab_free(st);
}
END_TEST

/* Addresses of one network share a cache entry; neighbouring networks of
 * other lengths do not (12.81.92.0/22 and 12.81.96.0/19 both AS7018). */
START_TEST(geoip_cache_by_network)
{
	struct fc_strtab *st;
	struct fc_geoip *g;
	struct fc_geoip_res r;
	struct fc_addr a;

	st = fc_strtab_new();
	g = open_db(CITY_DB, FC_GEOIP_GEO, 1024, st, 0);
	a = A("81.2.69.161");
	fc_geoip_lookup(g, &a, &r);
	ck_assert_uint_eq(ctr_slots[0][1], 0);
	fc_geoip_lookup(g, &a, &r); /* same address */
	ck_assert_uint_eq(ctr_slots[0][1], 1);
	ck_assert_str_eq(r.city, "London");
	/* a network longer than /24 is kept per /32: the same /27, another
	 * address, is looked up once, with the same answer */
	a = A("81.2.69.190");
	fc_geoip_lookup(g, &a, &r);
	ck_assert_uint_eq(ctr_slots[0][1], 1);
	ck_assert_str_eq(r.city, "London");
	fc_geoip_lookup(g, &a, &r);
	ck_assert_uint_eq(ctr_slots[0][1], 2);
	a = A("81.2.69.192"); /* outside the /27 */
	fc_geoip_lookup(g, &a, &r);
	ck_assert_uint_eq(ctr_slots[0][1], 2);
	/* misses are cached by their network too (10.0.0.0/8 here) */
	a = A("10.0.0.1");
	fc_geoip_lookup(g, &a, &r);
	a = A("10.0.0.2");
	ck_assert(!fc_geoip_lookup(g, &a, &r));
	ck_assert_uint_eq(ctr_slots[0][1], 3);
	ck_assert_uint_eq(ctr_slots[0][2], 2);
	ck_assert_uint_eq(ctr_slots[0][4], 4); /* cache misses */
	fc_geoip_close(g);

	g = open_db(ASN_DB, FC_GEOIP_ASN, 1024, st, 1);
	a = A("12.81.96.1");
	fc_geoip_lookup(g, &a, &r);
	ck_assert_uint_eq(r.asn, 7018);
	ck_assert_ptr_null(r.as_name);
	a = A("12.81.96.254"); /* same /19 and /24 */
	fc_geoip_lookup(g, &a, &r);
	ck_assert_uint_eq(ctr_slots[1][1], 1);
	ck_assert_uint_eq(r.asn, 7018);
	a = A("12.81.127.254"); /* same /19, another /24: looked up once */
	fc_geoip_lookup(g, &a, &r);
	ck_assert_uint_eq(ctr_slots[1][1], 1);
	ck_assert_uint_eq(r.asn, 7018);
	ck_assert_ptr_null(r.as_name);
	a = A("12.81.92.1"); /* the /22 next door, with an organisation */
	fc_geoip_lookup(g, &a, &r);
	ck_assert_uint_eq(ctr_slots[1][1], 1);
	ck_assert_str_eq(r.as_name, "AT&T Services");
	fc_geoip_close(g);
	fc_strtab_free(st);
}
END_TEST

/* xorshift PRNG for reproducible address streams */
static uint64_t rng_state = 88172645463325252ull;
static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Random address near the test databases' data (so both found and missing
 * networks of many lengths are hit). */
static struct fc_addr near_addr(void)
{
	static const char *const bases[] = {"81.2.69.128", "89.160.20.96", "12.81.64.0",
					    "1.128.0.0",   "214.78.112.0", "2001:218::",
					    "2a02:ec80::",  "2001:1c00::",  "2001:480::",
					    "175.16.192.0", "202.196.224.0", "2002:5102:4580::"};
	struct fc_addr a = A(bases[rng() % (sizeof(bases) / sizeof(bases[0]))]);
	uint64_t r = rng();

	if (a.family == 4) {
		a.a[2] ^= (uint8_t)(r & 0x1f);
		a.a[3] = (uint8_t)(r >> 8);
	} else {
		a.a[4] ^= (uint8_t)(r & 0x3);
		a.a[5] = (uint8_t)(r >> 8);
		a.a[15] = (uint8_t)(r >> 16);
	}
	return a;
}

/* The cache must be exact: a tiny cache (constant eviction) and a big one
 * give the same answers as no cache at all. */
START_TEST(geoip_cache_exact)
{
	struct fc_strtab *st;
	struct fc_geoip *g0[2], *g4[2], *gbig[2];
	static const char *const dbs[2] = {ASN_DB, CITY_DB};

	st = fc_strtab_new();
	for (unsigned d = 0; d < 2; d++) {
		enum fc_geoip_role role = d ? FC_GEOIP_GEO : FC_GEOIP_ASN;

		g0[d] = open_db(dbs[d], role, 0, st, 3 * d);
		g4[d] = open_db(dbs[d], role, 4, st, 3 * d + 1);
		gbig[d] = open_db(dbs[d], role, 65536, st, 3 * d + 2);
	}
	for (int i = 0; i < 20000; i++) {
		struct fc_addr a = near_addr();

		for (unsigned d = 0; d < 2; d++) {
			struct fc_geoip_res r0, r4, rb;

			fc_geoip_lookup(g0[d], &a, &r0);
			fc_geoip_lookup(g4[d], &a, &r4);
			fc_geoip_lookup(gbig[d], &a, &rb);
			ck_assert(memcmp(&r0, &r4, sizeof(r0)) == 0);
			ck_assert(memcmp(&r0, &rb, sizeof(r0)) == 0);
		}
	}
	for (unsigned d = 0; d < 2; d++) {
		ck_assert_uint_eq(ctr_slots[3 * d][1], 0);      /* no cache: no hits */
		ck_assert_uint_gt(ctr_slots[3 * d + 2][1], 15000); /* big cache: mostly hits */
		/* the tiny cache holds eight answers: the City database gives
		 * more near these bases (the ASN one fewer), so that cache was
		 * emptied again and again and still agreed with no cache */
		if (d == 1)
			ck_assert_uint_gt(ctr_slots[3 * d + 1][5], 10);
		ck_assert_uint_eq(ctr_slots[3 * d + 2][5], 0);
		ck_assert_uint_eq(ctr_slots[3 * d + 2][3], 0);
		fc_geoip_close(g0[d]);
		fc_geoip_close(g4[d]);
		fc_geoip_close(gbig[d]);
	}
	fc_strtab_free(st);
}
END_TEST

START_TEST(geoip_refuses_bad_files)
{
	struct fc_strtab *st;
	struct fc_geoip *g = NULL;
	char err[256];
	static char buf[1 << 16];
	FILE *f;
	size_t n;

	st = fc_strtab_new();
	ck_assert_int_eq(open_one("/nonexistent.mmdb", FC_GEOIP_ASN, 16, st, 0, &g, err, sizeof(err)),
			 FC_ESYS);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent.mmdb"));
	write_str(tmp_path("garbage.mmdb"), "this is not a maxmind database\n");
	ck_assert_int_eq(open_one(tmp_path("garbage.mmdb"), FC_GEOIP_ASN, 16, st, 0, &g, err, sizeof(err)),
			 FC_EMALFORMED);
	/* truncated: metadata gone */
	f = fopen(td(ASN_DB), "rb");
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	write_file(tmp_path("trunc.mmdb"), buf, n / 2);
	ck_assert_int_eq(open_one(tmp_path("trunc.mmdb"), FC_GEOIP_ASN, 16, st, 0, &g, err, sizeof(err)),
			 FC_EMALFORMED);
	/* search tree and data overwritten, metadata intact */
	memset(buf + 64, 0xff, n - 64 - 1200);
	write_file(tmp_path("smashed.mmdb"), buf, n);
	ck_assert_int_eq(open_one(tmp_path("smashed.mmdb"), FC_GEOIP_ASN, 16, st, 0, &g, err, sizeof(err)),
			 FC_EMALFORMED);
	ck_assert_ptr_null(g);
	fc_strtab_free(st);
}
END_TEST

/* A database of the wrong kind for its role is refused as a configuration
 * error (FC_EINVAL) with a one-line message naming its type. */
static const struct {
	const char *db;
	enum fc_geoip_role role;
	const char *type;
} wrong_kind[] = {
	{CITY_DB, FC_GEOIP_ASN, "GeoIP2-City"},
	{LCITY_DB, FC_GEOIP_ASN, "GeoLite2-City"},
	{COUNTRY_DB, FC_GEOIP_ASN, "GeoIP2-Country"},
	{ASN_DB, FC_GEOIP_GEO, "GeoLite2-ASN"},
	{ISP_DB, FC_GEOIP_GEO, "GeoIP2-ISP"},
};

START_TEST(geoip_refuses_wrong_kind)
{
	struct fc_strtab *st;
	struct fc_geoip *g = NULL;
	char err[256] = "", want[64];

	st = fc_strtab_new();
	ck_assert_int_eq(open_one(td(wrong_kind[_i].db), wrong_kind[_i].role, 16, st, 0, &g, err,
				  sizeof(err)),
			 FC_EINVAL);
	ck_assert_ptr_null(g);
	snprintf(want, sizeof(want), "database type '%s'", wrong_kind[_i].type);
	ck_assert_msg(strstr(err, want) && strstr(err, wrong_kind[_i].db) && !strchr(err, '\n'),
		      "%s", err);
	ck_assert(fc_mmdb_type_fits(wrong_kind[_i].type, !wrong_kind[_i].role));
	ck_assert(!fc_mmdb_type_fits(wrong_kind[_i].type, wrong_kind[_i].role));
	fc_strtab_free(st);
}
END_TEST

/* The database in service is a private copy: truncating the user's file,
 * or writing over it in place, changes nothing for lookups (the mapping of
 * the user's file would fault with SIGBUS here). */
START_TEST(geoip_private_copy)
{
	struct fc_strtab *st;
	struct fc_geoip *g;
	struct fc_geoip_res r;
	struct fc_addr a = A("89.160.20.112");
	const char *path = tmp_path("inuse.mmdb");
	static uint8_t junk[1 << 15];
	char err[256];
	FILE *f;

	copy_file(td(ASN_DB), path);
	st = fc_strtab_new();
	/* no cache: every lookup reads the database */
	ck_assert_int_eq(open_one(path, FC_GEOIP_ASN, 0, st, 0, &g, err, sizeof(err)), 0);
	ck_assert(truncate(path, 0) == 0);
	fc_geoip_lookup(g, &a, &r);
	ck_assert_uint_eq(r.asn, 29518);
	ck_assert_str_eq(r.as_name, "Bredband2 AB");
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 131u + 7u);
	f = fopen(path, "r+b");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(junk, 1, sizeof(junk), f), sizeof(junk));
	fclose(f);
	a = A("1.128.0.1");
	fc_geoip_lookup(g, &a, &r);
	ck_assert_uint_eq(r.asn, 1221);
	ck_assert_uint_eq(ctr_slots[0][3], 0); /* no errors */
	fc_geoip_close(g);
	fc_strtab_free(st);
}
END_TEST

/* ---- flow-level rules ---- */

START_TEST(flow_both_databases)
{
	struct fc_metrics *m = fc_metrics_new();
	struct opts o = {.asn = td(ASN_DB), .geo = td(CITY_DB), .cache = 4096};
	struct fc_enrich *e;
	struct fc_flow f;

	e = mk(m, &o);
	ck_assert(fc_enrich_active(e));
	mkflow(&f, "89.160.20.112", "2001:218::1");
	fc_enrich_flow(e, &f);
	ck_assert_uint_eq(f.src_as, 29518);
	ck_assert_str_eq(f.src_as_name, "Bredband2 AB");
	ck_assert_str_eq(f.src_country, "SE");
	ck_assert_str_eq(f.src_city, "Link\xc3\xb6ping");
	ck_assert_uint_eq(f.dst_as, 0); /* not in the ASN test database */
	ck_assert_ptr_null(f.dst_as_name);
	ck_assert_str_eq(f.dst_country, "JP");
	ck_assert_ptr_null(f.dst_city);
	ck_assert_ptr_null(f.src_net_name);
	ck_assert_ptr_null(f.exporter_name);

	/* exporter sent ASNs: kept, and no name that would not match them */
	mkflow(&f, "216.160.83.56", "10.0.0.1");
	f.src_as = 65000;
	fc_enrich_flow(e, &f);
	ck_assert_uint_eq(f.src_as, 65000);
	ck_assert_ptr_null(f.src_as_name);
	ck_assert_str_eq(f.src_country, "US");
	ck_assert_str_eq(f.src_city, "Milton");
	ck_assert_str_eq(f.dst_country, "");
	mkflow(&f, "149.101.100.1", "1.128.0.1");
	f.src_as = 6167; /* same as MaxMind: name added */
	fc_enrich_flow(e, &f);
	ck_assert_str_eq(f.src_as_name, "CELLCO-PART");
	ck_assert_uint_eq(f.dst_as, 1221);
	ck_assert_str_eq(f.dst_as_name, "Telstra Pty Ltd");

	ck_assert_uint_eq(fc_metrics_get(m, "enrich_lookups_total", "db=\"asn\""), 6);
	ck_assert_uint_eq(fc_metrics_get(m, "enrich_lookups_total", "db=\"geo\""), 6);
	/* 2001:218::1 and 10.0.0.1 are not in the ASN db; 10.0.0.1 and
	 * 1.128.0.1 are not in the City db */
	ck_assert_uint_eq(fc_metrics_get(m, "enrich_misses_total", "db=\"asn\""), 2);
	ck_assert_uint_eq(fc_metrics_get(m, "enrich_misses_total", "db=\"geo\""), 2);
	fc_enrich_free(e);

	o.override = true;
	e = mk(m, &o);
	mkflow(&f, "216.160.83.56", "::");
	f.src_as = 65000;
	f.dst_addr.family = 0; /* absent: untouched, not counted */
	fc_enrich_flow(e, &f);
	ck_assert_uint_eq(f.src_as, 209);
	ck_assert_ptr_null(f.src_as_name); /* sparse record */
	ck_assert_uint_eq(f.dst_as, 0);
	fc_enrich_free(e);
	fc_metrics_free(m);
}
END_TEST

/* The build epoch each database carries, read by libmaxminddb itself. */
static uint64_t epoch_of(const char *path)
{
	MMDB_s db;
	uint64_t v;

	ck_assert_int_eq(MMDB_open(path, MMDB_MODE_MMAP, &db), MMDB_SUCCESS);
	v = db.metadata.build_epoch;
	MMDB_close(&db);
	return v;
}

START_TEST(flow_build_epoch_gauge)
{
	struct fc_metrics *m = fc_metrics_new();
	struct opts o = {.asn = td(ASN_DB), .geo = td(CITY_DB), .cache = 64};
	struct fc_enrich *e = mk(m, &o);
	uint64_t asn = epoch_of(td(ASN_DB)), geo = epoch_of(td(CITY_DB));
	char err[512];

	ck_assert_uint_gt(asn, 0);
	ck_assert_uint_eq(fc_metrics_get(m, "enrich_database_build_epoch_seconds", "db=\"asn\""),
			  asn);
	ck_assert_uint_eq(fc_metrics_get(m, "enrich_database_build_epoch_seconds", "db=\"geo\""),
			  geo);
	/* a reload puts the new files' epochs in service */
	*fc_metrics_gauge(m, "enrich_database_build_epoch_seconds", "db=\"asn\"", NULL) = 1;
	ck_assert_int_eq(fc_enrich_reload(e, err, sizeof(err)), 0);
	ck_assert_uint_eq(fc_metrics_get(m, "enrich_database_build_epoch_seconds", "db=\"asn\""),
			  asn);
	fc_enrich_free(e);

	/* no database configured: 0 */
	o.asn = NULL;
	o.geo = NULL;
	o.nets = NULL;
	e = mk(m, &o);
	ck_assert_uint_eq(fc_metrics_get(m, "enrich_database_build_epoch_seconds", "db=\"asn\""),
			  0);
	fc_enrich_free(e);
	fc_metrics_free(m);
}
END_TEST

START_TEST(flow_networks_override)
{
	struct fc_metrics *m = fc_metrics_new();
	struct opts o = {.asn = td(ASN_DB), .geo = td(CITY_DB), .cache = 4096};
	struct fc_enrich *e;
	struct fc_flow f;

	write_str(tmp_path("nets.csv"), nets_text);
	write_str(tmp_path("exporters.csv"), "192.0.2.10,edge1.par\n");
	o.nets = tmp_path("nets.csv");
	o.exporters = tmp_path("exporters.csv");
	e = mk(m, &o);
	mkflow(&f, "89.160.20.112", "10.1.2.3");
	fc_enrich_flow(e, &f);
	/* the networks file's ASN and name win over MaxMind's 29518 */
	ck_assert_uint_eq(f.src_as, 65001);
	ck_assert_str_eq(f.src_as_name, "Peering Partner");
	ck_assert_str_eq(f.src_net_name, "bredband-peer");
	ck_assert_str_eq(f.src_net_role, "peer");
	ck_assert_str_eq(f.src_net_site, "sto1");
	ck_assert_str_eq(f.src_country, "SE"); /* geography still from MaxMind */
	ck_assert_uint_eq(f.dst_as, 0);
	ck_assert_str_eq(f.dst_net_name, "dns1");
	ck_assert_str_eq(f.dst_net_role, "server");
	ck_assert_str_eq(f.exporter_name, "edge1.par");
	/* same ASN as MaxMind without a name in the file: MaxMind's name */
	mkflow(&f, "1.128.0.1", "8.8.8.8");
	f.sampler_address = A("192.0.2.99");
	fc_enrich_flow(e, &f);
	ck_assert_uint_eq(f.src_as, 1221);
	ck_assert_str_eq(f.src_as_name, "Telstra Pty Ltd");
	ck_assert_str_eq(f.src_net_name, "telstra-internal");
	ck_assert_str_eq(f.dst_net_name, "internet");
	ck_assert_ptr_null(f.exporter_name);
	/* a file ASN different from MaxMind's: MaxMind's name is dropped */
	mkflow(&f, "10.9.9.9", "2001:db8::5");
	fc_enrich_flow(e, &f);
	ck_assert_uint_eq(f.src_as, 64512);
	ck_assert_str_eq(f.src_as_name, "Example Corp");
	ck_assert_uint_eq(f.dst_as, 64513);
	ck_assert_ptr_null(f.dst_as_name);
	ck_assert_str_eq(f.dst_net_name, "v6corp");
	ck_assert_uint_eq(fc_metrics_get(m, "enrich_exporter_matches_total", NULL), 2);
	ck_assert_uint_eq(fc_metrics_get(m, "enrich_network_matches_total", NULL), 6);
	fc_enrich_free(e);
	fc_metrics_free(m);
}
END_TEST

START_TEST(flow_inactive_and_startup_errors)
{
	struct fc_metrics *m = fc_metrics_new();
	struct fc_config cfg;
	struct fc_enrich *e;
	struct fc_flow f, g;
	char err[512] = "";

	memset(&cfg, 0, sizeof(cfg));
	ck_assert_int_eq(fc_enrich_new(&cfg, m, &e, err, sizeof(err)), 0);
	ck_assert(!fc_enrich_active(e));
	mkflow(&f, "89.160.20.112", "2001:218::1");
	g = f;
	fc_enrich_flow(e, &f);
	ck_assert(memcmp(&f, &g, sizeof(f)) == 0);
	ck_assert_int_eq(fc_enrich_tick(e, 1000000000000ull), 0);
	ck_assert_int_eq(fc_enrich_reload(e, err, sizeof(err)), 0);
	fc_enrich_free(e);
	fc_enrich_free(NULL);

	cfg.networks = fc_test_str("/nonexistent/networks.csv");
	e = NULL;
	ck_assert_int_lt(fc_enrich_new(&cfg, m, &e, err, sizeof(err)), 0);
	ck_assert_ptr_null(e);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/networks.csv"));
	write_str(tmp_path("badnets.csv"), "10.0.0.0/8,ok\n10.0.0.1/8,bad\n");
	cfg.networks = fc_test_str(tmp_path("badnets.csv"));
	ck_assert_int_lt(fc_enrich_new(&cfg, m, &e, err, sizeof(err)), 0);
	ck_assert_ptr_null(e);
	ck_assert_ptr_nonnull(strstr(err, "badnets.csv: line 2: host bits"));
	fc_metrics_free(m);
}
END_TEST

/* ---- reload ---- */

/* A stream of flows with reloads in the middle: every flow is enriched, from
 * one consistent snapshot (old or new labels, never a mix), and the switch
 * happens exactly at the reload. */
START_TEST(reload_under_stream)
{
	struct fc_metrics *m = fc_metrics_new();
	struct opts o = {.asn = td(ASN_DB), .geo = td(CITY_DB), .cache = 64, .interval = 5};
	const char *nets = tmp_path("stream.csv");
	struct fc_enrich *e;
	char err[512];
	uint64_t now = 1000ull * 1000000000ull;
	unsigned per_version[3] = {0}, enriched = 0, total = 0;

	write_str(nets, "89.160.20.0/24,v0,r0,s0,64500\n0.0.0.0/0,any0\n");
	age_file(nets, 100);
	o.nets = nets;
	e = mk(m, &o);
	for (unsigned version = 0; version < 3; version++) {
		char want_name[8], want_any[8];

		snprintf(want_name, sizeof(want_name), "v%u", version);
		snprintf(want_any, sizeof(want_any), "any%u", version);
		for (int i = 0; i < 5000; i++) {
			struct fc_flow f;

			mkflow(&f, "89.160.20.112", "81.2.69.142");
			f.dst_addr.a[3] = (uint8_t)(142 + (i & 1)); /* /31 */
			fc_enrich_flow(e, &f);
			total++;
			ck_assert_str_eq(f.src_net_name, want_name);
			ck_assert_uint_eq(f.src_as, 64500 + version);
			ck_assert_str_eq(f.dst_net_name, want_any);
			ck_assert_uint_eq(f.dst_as, 0);
			ck_assert_str_eq(f.src_country, "SE");
			ck_assert_str_eq(f.dst_city, "London");
			per_version[version]++;
			enriched++;
		}
		if (version == 0) {
			/* SIGHUP path */
			write_str(nets, "89.160.20.0/24,v1,r1,s1,64501\n0.0.0.0/0,any1\n");
			ck_assert_int_eq(fc_enrich_reload(e, err, sizeof(err)), 0);
		} else if (version == 1) {
			/* periodic path: not due yet, then due */
			write_str(nets, "89.160.20.0/24,v2,r2,s2,64502\n0.0.0.0/0,any2\n");
			age_file(nets, 50);
			ck_assert_int_eq(fc_enrich_tick(e, now), 1); /* first check is due */
		}
	}
	ck_assert_uint_eq(total, 15000);
	ck_assert_uint_eq(enriched, total);
	ck_assert_uint_eq(per_version[0] + per_version[1] + per_version[2], total);
	/* unchanged file: nothing to do; not due: nothing checked */
	ck_assert_int_eq(fc_enrich_tick(e, now + 6000000000ull), 0);
	ck_assert_uint_eq(fc_metrics_get(m, "enrich_reloads_total", NULL), 2);
	ck_assert_uint_eq(fc_metrics_get(m, "enrich_reload_failures_total", NULL), 0);
	ck_assert_uint_eq(fc_metrics_get(m, "enrich_lookups_total", "db=\"asn\""), 2 * total);
	fc_enrich_free(e);
	fc_metrics_free(m);
}
END_TEST

/* A corrupt replacement database is refused with a clear error, counted,
 * and the old one keeps serving; once fixed, the next change is taken. */
START_TEST(reload_refuses_corrupt)
{
	struct fc_metrics *m = fc_metrics_new();
	struct opts o = {.cache = 64, .interval = 1};
	const char *asn = tmp_path("asn.mmdb");
	const char *nets = tmp_path("refuse.csv");
	struct fc_enrich *e;
	struct fc_flow f;
	char err[512] = "";
	uint64_t now = 5000ull * 1000000000ull;

	copy_file(td(ASN_DB), asn);
	age_file(asn, 1000);
	write_str(nets, "10.0.0.0/8,corp\n");
	age_file(nets, 1000);
	o.asn = asn;
	o.nets = nets;
	e = mk(m, &o);
	ck_assert_int_eq(fc_enrich_tick(e, now), 0); /* nothing changed */

	write_str(asn, "garbage, not a database");
	age_file(asn, 900);
	ck_assert_int_lt(fc_enrich_reload(e, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "asn.mmdb"));
	ck_assert_uint_eq(fc_metrics_get(m, "enrich_reload_failures_total", NULL), 1);
	mkflow(&f, "89.160.20.112", "10.1.1.1");
	fc_enrich_flow(e, &f);
	ck_assert_uint_eq(f.src_as, 29518); /* old database still in service */
	ck_assert_str_eq(f.src_as_name, "Bredband2 AB");
	ck_assert_str_eq(f.dst_net_name, "corp");
	/* periodic check: the broken file was already tried, not retried */
	ck_assert_int_eq(fc_enrich_tick(e, now + 2000000000ull), 0);
	ck_assert_uint_eq(fc_metrics_get(m, "enrich_reload_failures_total", NULL), 1);

	/* a broken networks file is refused too, even with the database fixed */
	copy_file(td(ISP_DB), asn);
	age_file(asn, 800);
	write_str(nets, "10.0.0.0/8,corp\n10.0.0.0/8,dup\n");
	age_file(nets, 800);
	ck_assert_int_lt(fc_enrich_tick(e, now + 4000000000ull), 0);
	ck_assert_ptr_nonnull(strstr(fc_enrich_last_error(e), "duplicate prefix"));
	ck_assert_uint_eq(fc_metrics_get(m, "enrich_reload_failures_total", NULL), 2);
	mkflow(&f, "81.2.69.160", "10.1.1.1");
	fc_enrich_flow(e, &f);
	ck_assert_uint_eq(f.src_as, 0); /* still GeoLite2-ASN: not in it */
	ck_assert_str_eq(f.dst_net_name, "corp");

	/* fixed: taken at the next check */
	write_str(nets, "10.0.0.0/8,corp2\n");
	age_file(nets, 700);
	ck_assert_int_eq(fc_enrich_tick(e, now + 6000000000ull), 1);
	mkflow(&f, "1.128.0.1", "10.1.1.1");
	fc_enrich_flow(e, &f);
	ck_assert_uint_eq(f.src_as, 1221); /* from GeoIP2-ISP now */
	ck_assert_str_eq(f.dst_net_name, "corp2");
	ck_assert_str_eq(fc_enrich_last_error(e), "");
	ck_assert_uint_eq(fc_metrics_get(m, "enrich_reloads_total", NULL), 1);
	fc_enrich_free(e);
	fc_metrics_free(m);
}
END_TEST

/* A file written a moment ago is left to settle before it is loaded. */
START_TEST(reload_waits_for_settle)
{
	struct fc_metrics *m = fc_metrics_new();
	struct opts o = {.interval = 60};
	const char *nets = tmp_path("settle.csv");
	struct fc_enrich *e;
	struct fc_flow f;
	uint64_t now = 7000ull * 1000000000ull;

	write_str(nets, "10.0.0.0/8,a\n");
	age_file(nets, 1000);
	o.nets = nets;
	e = mk(m, &o);
	write_str(nets, "10.0.0.0/8,b\n"); /* mtime: now */
	ck_assert_int_eq(fc_enrich_tick(e, now), 0);
	/* rechecked a second later, not a whole interval later */
	age_file(nets, 10);
	ck_assert_int_eq(fc_enrich_tick(e, now + 500000000ull), 0);
	ck_assert_int_eq(fc_enrich_tick(e, now + 1000000000ull), 1);
	mkflow(&f, "10.0.0.1", "10.0.0.2");
	fc_enrich_flow(e, &f);
	ck_assert_str_eq(f.src_net_name, "b");
	/* an mtime an hour ahead (skewed clock) must not wait forever */
	write_str(nets, "10.0.0.0/8,c\n");
	age_file(nets, -3600);
	ck_assert_int_eq(fc_enrich_tick(e, now + 61000000000ull), 1);
	mkflow(&f, "10.0.0.1", "10.0.0.2");
	fc_enrich_flow(e, &f);
	ck_assert_str_eq(f.src_net_name, "c");
	fc_enrich_free(e);
	fc_metrics_free(m);
}
END_TEST

static Suite *enrich_suite(void)
{
	Suite *s = suite_create("enrich");
	TCase *tc;

	tc = tcase_create("strtab");
	tcase_add_test(tc, strtab_interns);
	suite_add_tcase(s, tc);

	tc = tcase_create("networks");
	tcase_add_test(tc, nets_longest_prefix);
	tcase_add_test(tc, exporters_parse);
	tcase_add_loop_test(tc, nets_malformed, 0, (int)(sizeof(bad_nets) / sizeof(bad_nets[0])));
	tcase_add_test(tc, nets_long_line_and_load_errors);
	suite_add_tcase(s, tc);

	/* From here on, cases that read the MaxMind test databases. */
	tc = tcase_create("geoip");
	tcase_set_tags(tc, FC_TESTDATA_TAG);
	tcase_add_loop_test(tc, geoip_asn_values, 0,
			    (int)(sizeof(asn_cases) / sizeof(asn_cases[0])));
	tcase_add_loop_test(tc, geoip_geo_values, 0,
			    (int)(sizeof(geo_cases) / sizeof(geo_cases[0])));
	tcase_add_test(tc, geoip_refuses_bad_files);
	tcase_add_loop_test(tc, geoip_refuses_wrong_kind, 0,
			    (int)(sizeof(wrong_kind) / sizeof(wrong_kind[0])));
	tcase_add_test(tc, geoip_private_copy);
	suite_add_tcase(s, tc);

	tc = tcase_create("cache");
	tcase_set_tags(tc, FC_TESTDATA_TAG);
	tcase_add_test(tc, geoip_cache_by_network);
	tcase_add_test(tc, geoip_cache_exact);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("flow");
	tcase_add_test(tc, flow_inactive_and_startup_errors);
	suite_add_tcase(s, tc);
	tc = tcase_create("flow-mmdb");
	tcase_set_tags(tc, FC_TESTDATA_TAG);
	tcase_add_test(tc, flow_both_databases);
	tcase_add_test(tc, flow_build_epoch_gauge);
	tcase_add_test(tc, flow_networks_override);
	suite_add_tcase(s, tc);

	tc = tcase_create("reload");
	tcase_add_test(tc, reload_waits_for_settle);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	tc = tcase_create("reload-mmdb");
	tcase_set_tags(tc, FC_TESTDATA_TAG);
	tcase_add_test(tc, reload_under_stream);
	tcase_add_test(tc, reload_refuses_corrupt);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	static const char *const need[] = {"mmdb/" ASN_DB, "mmdb/" ISP_DB, "mmdb/" CITY_DB,
					   "mmdb/" LCITY_DB, "mmdb/" COUNTRY_DB, NULL};
	SRunner *sr;
	int failed;

	if (fc_check_skip_without_testdata(need))
		return FC_CHECK_SKIP;
	sr = srunner_create(enrich_suite());

	/* made here, before Check forks a child per test, so one cleanup
	 * removes everything the tests wrote */
	strcpy(tmpdir, "/tmp/fc_enrich_XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
