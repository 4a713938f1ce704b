/*
 * One MaxMind DB from a private copy, its checks and its uncached lookup
 * (design in mmdb.h). References: MaxMind DB File Format Specification 2.0
 * (metadata database_type, search tree, IPv4 subtree at ::/96 of an IPv6
 * tree, netmask of an answer), libmaxminddb MMDB_open / MMDB_lookup_sockaddr
 * / MMDB_aget_value, memfd_create(2) and fcntl(2) file seals.
 *
 * libmaxminddb strings are not NUL-terminated and live in the mapping that
 * MMDB_close removes: every string is interned into the caller's
 * struct fc_strtab before it is handed out.
 */
#include <errno.h>
#include <fcntl.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "enrich/mmdb.h"
#include "fc/err.h"

/* The format addresses its data with 32-bit offsets. */
#define MMDB_MAX_BYTES (4ull << 30)
#define MMDB_COPY_CHUNK (1u << 20)
/* Record memo: at most this many slots (2^22 * 32 B = 128 MiB worst case,
 * reached only by a database with millions of distinct records). */
#define MEMO_MIN_SLOTS 256u
#define MEMO_MAX_SLOTS (1u << 22)

struct memo_slot {
	uint32_t key; /* record offset + 1; 0 = empty */
	uint32_t bad; /* the record was damaged (its answer is partial) */
	struct fc_mmdb_ans ans;
};

struct fc_mmdb {
	MMDB_s mmdb;
	enum fc_geoip_role role;
	struct fc_strtab *strings;
	struct memo_slot *memo;
	size_t nmemo, memo_used; /* nmemo: power of two */
};

bool fc_mmdb_type_fits(const char *t, enum fc_geoip_role role)
{
	if (!t)
		return false;
	if (role == FC_GEOIP_ASN)
		return strstr(t, "ASN") != NULL || strstr(t, "ISP") != NULL;
	return strstr(t, "City") != NULL || strstr(t, "Country") != NULL ||
	       strstr(t, "Enterprise") != NULL;
}

/* Writes all of buf to fd. */
static int write_all(int fd, const uint8_t *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Copies the file at path into a private file: a sealed memfd (its
 * /proc/self/fd name in open_path) or, without memfd, a new file in $TMPDIR
 * whose name goes to open_path and *out_unlink = true (the caller removes it
 * once opened). Returns the descriptor of the copy, or a negative fc_err
 * with err set. */
static int mmdb_copy(const char *path, char *open_path, size_t open_len, bool *out_unlink,
		     char *err, size_t errlen)
{
	uint8_t *buf = NULL;
	struct stat st;
	uint64_t total = 0;
	int src, dst = -1, rc = 0;

	*out_unlink = false;
	src = open(path, O_RDONLY | O_CLOEXEC);
	if (src < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return FC_ESYS;
	}
	if (fstat(src, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		rc = FC_ESYS;
		goto out;
	}
	dst = memfd_create("fc-mmdb", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (dst >= 0) {
		snprintf(open_path, open_len, "/proc/self/fd/%d", dst);
		if (access(open_path, R_OK) != 0) {
			/* no /proc: libmaxminddb could not open it by name */
			close(dst);
			dst = -1;
		}
	}
	if (dst < 0) {
		const char *dir = getenv("TMPDIR");

		snprintf(open_path, open_len, "%s/fc-mmdb-XXXXXX", dir && dir[0] ? dir : "/tmp");
		dst = mkostemp(open_path, O_CLOEXEC);
		if (dst < 0) {
			snprintf(err, errlen, "%s: cannot make a private copy in %s: %s", path,
				 open_path, strerror(errno));
			rc = FC_ESYS;
			goto out;
		}
		*out_unlink = true;
	}
	buf = malloc(MMDB_COPY_CHUNK);
	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", path);
		rc = FC_ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n = read(src, buf, MMDB_COPY_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "%s: read: %s", path, strerror(errno));
			rc = FC_ESYS;
			goto out;
		}
		if (n == 0)
			break;
		total += (uint64_t)n;
		if (total > MMDB_MAX_BYTES) {
			snprintf(err, errlen, "%s: larger than a MaxMind DB can be (4 GiB)", path);
			rc = FC_EMALFORMED;
			goto out;
		}
		if (write_all(dst, buf, (size_t)n) != 0) {
			snprintf(err, errlen, "%s: cannot write the private copy: %s", path,
				 strerror(errno));
			rc = FC_ESYS;
			goto out;
		}
	}
	if (total == 0) {
		snprintf(err, errlen, "%s: empty file", path);
		rc = FC_EMALFORMED;
		goto out;
	}
	/* Nobody, not even this process, may change the copy from now on.
	 * A kernel without seals still has a private, unlinked copy. */
	if (!*out_unlink)
		(void)fcntl(dst, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
out:
	free(buf);
	close(src);
	if (rc != 0) {
		if (dst >= 0)
			close(dst);
		if (*out_unlink)
			unlink(open_path);
		*out_unlink = false;
		return rc;
	}
	return dst;
}

/* Reads one string path; interns it. Missing path: *out stays NULL.
 * Returns 1 when the data is damaged or memory ran out, else 0. */
static int mmdb_get_string(struct fc_mmdb *d, MMDB_entry_s *entry, const char *const *path,
			   const char **out)
{
	MMDB_entry_data_s v;
	int s = MMDB_aget_value(entry, &v, path);

	if (s != MMDB_SUCCESS)
		return s != MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR;
	if (!v.has_data || v.type != MMDB_DATA_TYPE_UTF8_STRING || v.data_size == 0)
		return 0;
	*out = fc_strtab_intern(d->strings, v.utf8_string, v.data_size);
	return *out == NULL;
}

/* Decodes the paths of d's role out of a found record. Returns 1 when
 * something was damaged (the answer holds what could be read), else 0. */
static int mmdb_decode(struct fc_mmdb *d, MMDB_entry_s *entry, struct fc_mmdb_ans *r)
{
	static const char *const asn_path[] = {"autonomous_system_number", NULL};
	static const char *const org_path[] = {"autonomous_system_organization", NULL};
	static const char *const cc_path[] = {"country", "iso_code", NULL};
	static const char *const city_path[] = {"city", "names", "en", NULL};
	MMDB_entry_data_s v;
	int s, bad = 0;

	if (d->role == FC_GEOIP_ASN) {
		s = MMDB_aget_value(entry, &v, asn_path);
		if (s == MMDB_SUCCESS && v.has_data) {
			/* The spec types it uint32; tolerate the other integer
			 * encodings writers have used. */
			if (v.type == MMDB_DATA_TYPE_UINT32)
				r->asn = v.uint32;
			else if (v.type == MMDB_DATA_TYPE_UINT16)
				r->asn = v.uint16;
			else if (v.type == MMDB_DATA_TYPE_UINT64 && v.uint64 <= UINT32_MAX)
				r->asn = (uint32_t)v.uint64;
			else if (v.type == MMDB_DATA_TYPE_INT32 && v.int32 >= 0)
				r->asn = (uint32_t)v.int32;
		} else if (s != MMDB_SUCCESS && s != MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR) {
			bad = 1;
		}
		return bad | mmdb_get_string(d, entry, org_path, &r->as_name);
	}
	s = MMDB_aget_value(entry, &v, cc_path);
	if (s == MMDB_SUCCESS && v.has_data && v.type == MMDB_DATA_TYPE_UTF8_STRING &&
	    v.data_size > 0 && v.data_size < sizeof(r->country)) {
		memcpy(r->country, v.utf8_string, v.data_size);
		r->country[v.data_size] = '\0';
	} else if (s != MMDB_SUCCESS && s != MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR) {
		bad = 1;
	}
	return bad | mmdb_get_string(d, entry, city_path, &r->city);
}

/* MMDB_lookup_sockaddr for a (IPv4 or IPv6, never a name). */
static MMDB_lookup_result_s mmdb_lookup(const struct fc_mmdb *d, const struct fc_addr *a,
					int *mmerr)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;

	if (a->family == 4) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		memcpy(&sin.sin_addr, a->a, 4);
		return MMDB_lookup_sockaddr(&d->mmdb, (const struct sockaddr *)&sin, mmerr);
	}
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	memcpy(&sin6.sin6_addr, a->a, 16);
	return MMDB_lookup_sockaddr(&d->mmdb, (const struct sockaddr *)&sin6, mmerr);
}

static inline size_t memo_index(uint32_t key, size_t n)
{
	return (size_t)((key * 0x9e3779b1u) >> 8) & (n - 1);
}

/* Doubles the memo; on failure the memo simply stops growing. */
static void memo_grow(struct fc_mmdb *d)
{
	size_t n = d->nmemo ? d->nmemo * 2 : MEMO_MIN_SLOTS;
	struct memo_slot *m;

	if (n > MEMO_MAX_SLOTS || !(m = calloc(n, sizeof(*m))))
		return;
	for (size_t i = 0; i < d->nmemo; i++) {
		size_t j;

		if (!d->memo[i].key)
			continue;
		for (j = memo_index(d->memo[i].key, n); m[j].key; j = (j + 1) & (n - 1))
			;
		m[j] = d->memo[i];
	}
	free(d->memo);
	d->memo = m;
	d->nmemo = n;
}

/* The decoded answer of the record at entry (decoded on first sight).
 * Returns 1 when the record is damaged, else 0. */
static int mmdb_record(struct fc_mmdb *d, MMDB_entry_s *entry, struct fc_mmdb_ans *r)
{
	uint32_t key = entry->offset + 1;
	size_t j = 0;
	int bad;

	if (d->nmemo) {
		for (j = memo_index(key, d->nmemo); d->memo[j].key; j = (j + 1) & (d->nmemo - 1)) {
			if (d->memo[j].key == key) {
				*r = d->memo[j].ans;
				return (int)d->memo[j].bad;
			}
		}
	}
	bad = mmdb_decode(d, entry, r);
	r->found = true;
	if (d->memo_used + 1 > d->nmemo / 2) {
		memo_grow(d);
		if (d->memo_used + 1 > d->nmemo / 2)
			return bad; /* full: answer not memoized */
		for (j = memo_index(key, d->nmemo); d->memo[j].key; j = (j + 1) & (d->nmemo - 1))
			;
	}
	d->memo[j].key = key;
	d->memo[j].bad = (uint32_t)bad;
	d->memo[j].ans = *r;
	d->memo_used++;
	return bad;
}

int fc_mmdb_query(struct fc_mmdb *d, const struct fc_addr *a, struct fc_mmdb_ans *out,
		  unsigned *out_plen)
{
	MMDB_lookup_result_s lr;
	unsigned plen, max = a->family == 4 ? 32 : 128;
	int mmerr = MMDB_SUCCESS, bad = 0;

	memset(out, 0, sizeof(*out));
	lr = mmdb_lookup(d, a, &mmerr);
	if (mmerr == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR) {
		*out_plen = 0; /* no IPv6 address can ever be found */
		return 0;
	}
	if (mmerr != MMDB_SUCCESS)
		return -1;
	plen = lr.netmask;
	/* An IPv4 answer from an IPv6 tree counts the 96 bits of ::/96. */
	if (a->family == 4 && d->mmdb.metadata.ip_version == 6)
		plen = plen >= 96 ? plen - 96 : 0;
	if (lr.found_entry)
		bad = mmdb_record(d, &lr.entry, out);
	*out_plen = plen < max ? plen : max;
	return bad;
}

/* Decodes a few sample records in full: MMDB_open checks the metadata and
 * tree size, not the data section, and a truncated or damaged copy should be
 * refused at (re)load, while the old database is still there to keep. */
static int mmdb_check(struct fc_mmdb *d, char *why, size_t whylen)
{
	static const char *const samples[] = {
		"1.0.0.1",    "1.1.1.1",     "8.8.8.8",      "81.2.69.142",  "89.160.20.112",
		"12.81.96.1", "2001:218::1", "2a02:ec80::1", "2001:4860::1", "2a00::1",
	};

	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		struct fc_addr a;
		struct fc_mmdb_ans r;
		unsigned plen;
		MMDB_entry_data_list_s *list = NULL;
		MMDB_lookup_result_s lr;
		int mmerr = 0, s;

		if (fc_addr_parse(&a, samples[i]) != 0)
			continue;
		if (fc_mmdb_query(d, &a, &r, &plen) != 0) {
			snprintf(why, whylen, "corrupt search tree or data (at %s)", samples[i]);
			return FC_EMALFORMED;
		}
		lr = mmdb_lookup(d, &a, &mmerr);
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

int fc_mmdb_open(const char *path, enum fc_geoip_role role, struct fc_strtab *strings,
		 struct fc_mmdb **out_d, char *err, size_t errlen)
{
	struct fc_mmdb *d = calloc(1, sizeof(*d));
	char copy[4096], why[160];
	bool opened = false, unlink_copy = false;
	int fd = -1, s, rc = 0;

	if (!d) {
		snprintf(err, errlen, "%s: out of memory", path);
		return FC_ENOMEM;
	}
	d->role = role;
	d->strings = strings;
	fd = mmdb_copy(path, copy, sizeof(copy), &unlink_copy, err, errlen);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	s = MMDB_open(copy, MMDB_MODE_MMAP, &d->mmdb);
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
	if (!fc_mmdb_type_fits(d->mmdb.metadata.database_type, role)) {
		snprintf(err, errlen,
			 "%s: database type '%s' is not %s; give it to %s", path,
			 d->mmdb.metadata.database_type ? d->mmdb.metadata.database_type : "",
			 role == FC_GEOIP_ASN
				 ? "an ASN database (GeoLite2-ASN, GeoIP2-ISP)"
				 : "a City or Country database (GeoLite2/GeoIP2 City, Country)",
			 fc_mmdb_type_fits(d->mmdb.metadata.database_type, FC_GEOIP_GEO)
				 ? "--geoip-geo"
				 : fc_mmdb_type_fits(d->mmdb.metadata.database_type, FC_GEOIP_ASN)
					   ? "--geoip-asn"
					   : "neither --geoip-asn nor --geoip-geo");
		rc = FC_EINVAL;
		goto out;
	}
	rc = mmdb_check(d, why, sizeof(why));
	if (rc != 0)
		snprintf(err, errlen, "%s: %s", path, why);
out:
	/* The mapping keeps the copy alive; its name is no longer needed. */
	if (unlink_copy)
		unlink(copy);
	if (fd >= 0)
		close(fd);
	if (rc != 0) {
		if (opened)
			MMDB_close(&d->mmdb);
		free(d->memo);
		free(d);
		return rc;
	}
	*out_d = d;
	return 0;
}

void fc_mmdb_close(struct fc_mmdb *d)
{
	if (!d)
		return;
	MMDB_close(&d->mmdb);
	free(d->memo);
	free(d);
}

const char *fc_mmdb_type(const struct fc_mmdb *d)
{
	return d->mmdb.metadata.database_type ? d->mmdb.metadata.database_type : "";
}

uint64_t fc_mmdb_build_epoch(const struct fc_mmdb *d)
{
	return d->mmdb.metadata.build_epoch;
}
