/*
 * Networks file and exporter names file (format in nets.h): a line parser
 * over a length-bounded buffer, and a binary trie per address family for
 * longest-prefix match. The files are operator input read at start-up and on
 * reload, so every problem is reported with its line number and the whole
 * file is refused; a table is only ever returned complete.
 *
 * Trie: node 0 is the IPv4 root, node 1 the IPv6 root; child index 0 means
 * "no child" (a root is never a child). A node holds the index of the entry
 * whose prefix ends there, or -1. Lookup walks the address bits from the
 * most significant one and remembers the last entry passed, so the cost is
 * bounded by the longest prefix on that path (<= 32 or 128 steps).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "enrich/nets.h"
#include "fc/err.h"

#define FC_NETS_MAX_NODES (16u * 1024u * 1024u)
#define FC_NETS_MAX_FIELDS 6

struct fc_nets_node {
	uint32_t child[2];
	int32_t entry;
};

struct fc_nets {
	struct fc_nets_node *nodes;
	size_t nnodes, capnodes;
	struct fc_nets_entry *entries;
	size_t nentries, capentries;
};

static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static struct fc_nets *nets_new(void)
{
	struct fc_nets *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->capnodes = 64;
	n->nodes = malloc(n->capnodes * sizeof(*n->nodes));
	if (!n->nodes) {
		free(n);
		return NULL;
	}
	for (unsigned i = 0; i < 2; i++) {
		n->nodes[i].child[0] = n->nodes[i].child[1] = 0;
		n->nodes[i].entry = -1;
	}
	n->nnodes = 2;
	return n;
}

void fc_nets_free(struct fc_nets *n)
{
	if (!n)
		return;
	free(n->nodes);
	free(n->entries);
	free(n);
}

size_t fc_nets_count(const struct fc_nets *n)
{
	return n->nentries;
}

static inline unsigned addr_bit(const uint8_t *a, unsigned i)
{
	return (a[i >> 3] >> (7 - (i & 7))) & 1u;
}

const struct fc_nets_entry *fc_nets_lookup(const struct fc_nets *n, const struct fc_addr *a)
{
	const struct fc_nets_node *nodes = n->nodes;
	unsigned bits;
	uint32_t cur;
	int32_t best;

	if (a->family == 4) {
		cur = 0;
		bits = 32;
	} else if (a->family == 6) {
		cur = 1;
		bits = 128;
	} else {
		return NULL;
	}
	best = nodes[cur].entry;
	for (unsigned i = 0; i < bits; i++) {
		cur = nodes[cur].child[addr_bit(a->a, i)];
		if (cur == 0)
			break;
		if (nodes[cur].entry >= 0)
			best = nodes[cur].entry;
	}
	return best >= 0 ? &n->entries[best] : NULL;
}

/* Returns the node for prefix/plen, creating the path; 0 on limit/ENOMEM
 * with *rc set. */
static uint32_t nets_node_for(struct fc_nets *n, const struct fc_addr *p, unsigned plen, int *rc)
{
	uint32_t cur = p->family == 4 ? 0 : 1;

	for (unsigned i = 0; i < plen; i++) {
		unsigned b = addr_bit(p->a, i);
		uint32_t next = n->nodes[cur].child[b];

		if (next == 0) {
			if (n->nnodes >= FC_NETS_MAX_NODES) {
				*rc = FC_ELIMIT;
				return 0;
			}
			if (n->nnodes == n->capnodes) {
				size_t cap = n->capnodes * 2;
				struct fc_nets_node *nn = realloc(n->nodes, cap * sizeof(*nn));

				if (!nn) {
					*rc = FC_ENOMEM;
					return 0;
				}
				n->nodes = nn;
				n->capnodes = cap;
			}
			next = (uint32_t)n->nnodes++;
			n->nodes[next].child[0] = n->nodes[next].child[1] = 0;
			n->nodes[next].entry = -1;
			n->nodes[cur].child[b] = next;
		}
		cur = next;
	}
	return cur;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Trims blanks in place; returns the trimmed start. */
static char *trim(char *s)
{
	size_t len = strlen(s);

	while (len > 0 && is_blank(s[len - 1]))
		s[--len] = '\0';
	while (is_blank(*s))
		s++;
	return s;
}

/* Labels go verbatim into protobuf strings and JSON: valid UTF-8 without
 * control characters (RFC 3629 ranges: no overlongs, no surrogates). */
static bool label_ok(const char *s)
{
	const uint8_t *u = (const uint8_t *)s;
	size_t i = 0;

	while (u[i]) {
		uint8_t c = u[i];
		unsigned n;
		uint32_t cp;

		if (c < 0x20 || c == 0x7f)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		for (unsigned k = 1; k <= n; k++) {
			if ((u[i + k] & 0xc0) != 0x80) /* also stops at the NUL */
				return false;
			cp = (cp << 6) | (u[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

/* "ADDR" or "ADDR/LEN" into out/out_plen; 0 or a static reason. */
static const char *parse_prefix(const char *s, struct fc_addr *out, unsigned *out_plen)
{
	char abuf[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	uint8_t b[16];
	unsigned plen, max;
	struct fc_addr a = {0};

	if (alen == 0 || alen >= sizeof(abuf))
		return "bad address";
	memcpy(abuf, s, alen);
	abuf[alen] = '\0';
	if (inet_pton(AF_INET, abuf, b) == 1) {
		fc_addr_set4(&a, b);
		max = 32;
	} else if (inet_pton(AF_INET6, abuf, b) == 1) {
		a.family = 6;
		memcpy(a.a, b, 16);
		max = 128;
	} else {
		return "bad address";
	}
	plen = max;
	if (slash) {
		const char *d = slash + 1;
		unsigned v = 0;

		if (*d == '\0')
			return "empty prefix length";
		for (; *d; d++) {
			if (*d < '0' || *d > '9')
				return "bad prefix length";
			v = v * 10 + (unsigned)(*d - '0');
			if (v > max)
				return "prefix length too long";
		}
		plen = v;
	}
	if (a.family == 6 && plen >= 96 && memcmp(a.a, v4mapped, 12) == 0) {
		fc_addr_set4(&a, b + 12);
		plen -= 96;
		max = 32;
	}
	for (unsigned i = plen; i < max; i++)
		if (addr_bit(a.a, i))
			return "host bits set past the prefix length";
	*out = a;
	*out_plen = plen;
	return NULL;
}

static const char *parse_asn(const char *s, uint32_t *out)
{
	uint64_t v = 0;

	if ((s[0] == 'A' || s[0] == 'a') && (s[1] == 'S' || s[1] == 's'))
		s += 2;
	if (*s == '\0')
		return "bad ASN";
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return "bad ASN";
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > UINT32_MAX)
			return "ASN out of range";
	}
	*out = (uint32_t)v;
	return NULL;
}

/* Interns a non-empty label; an empty one stays NULL. */
static int intern_label(struct fc_strtab *st, const char *s, const char **out)
{
	size_t len = strlen(s);

	*out = NULL;
	if (len == 0)
		return 0;
	*out = fc_strtab_intern(st, s, len);
	return *out ? 0 : FC_ENOMEM;
}

/* Parses one trimmed, non-comment line (NUL-terminated, modifiable). Sets
 * *reason for a malformed line; returns an fc_err code. */
static int nets_parse_line(struct fc_nets *n, char *line, enum fc_nets_kind kind,
			   struct fc_strtab *st, bool first, const char **reason)
{
	char *f[FC_NETS_MAX_FIELDS] = {0};
	unsigned nf = 0, maxf = kind == FC_NETS_NETWORKS ? 6 : 2;
	struct fc_nets_entry e = {0};
	unsigned plen = 0;
	char *p = line;
	uint32_t node;
	int rc = 0;

	for (;;) {
		char *comma = strchr(p, ',');

		if (nf == maxf) {
			*reason = "too many fields";
			return FC_EMALFORMED;
		}
		if (comma)
			*comma = '\0';
		f[nf++] = trim(p);
		if (!comma)
			break;
		p = comma + 1;
	}
	if (first && strcasecmp(f[0], kind == FC_NETS_NETWORKS ? "prefix" : "address") == 0)
		return 0; /* header line */
	*reason = parse_prefix(f[0], &e.prefix, &plen);
	if (*reason)
		return FC_EMALFORMED;
	e.plen = (uint8_t)plen;
	for (unsigned i = 1; i < nf; i++) {
		if (!label_ok(f[i])) {
			*reason = "control character or invalid UTF-8 in a label";
			return FC_EMALFORMED;
		}
	}
	if (kind == FC_NETS_EXPORTERS && (nf < 2 || f[1][0] == '\0')) {
		*reason = "missing exporter name";
		return FC_EMALFORMED;
	}
	if (nf > 4 && f[4][0] != '\0') {
		*reason = parse_asn(f[4], &e.asn);
		if (*reason)
			return FC_EMALFORMED;
	}
	if ((nf > 1 && (rc = intern_label(st, f[1], &e.name)) != 0) ||
	    (nf > 2 && (rc = intern_label(st, f[2], &e.role)) != 0) ||
	    (nf > 3 && (rc = intern_label(st, f[3], &e.site)) != 0) ||
	    (nf > 5 && (rc = intern_label(st, f[5], &e.as_name)) != 0))
		return rc;
	if (n->nentries >= FC_NETS_MAX_ENTRIES) {
		*reason = "too many entries";
		return FC_ELIMIT;
	}
	node = nets_node_for(n, &e.prefix, plen, &rc);
	if (rc != 0) {
		*reason = rc == FC_ELIMIT ? "trie too large" : NULL;
		return rc;
	}
	if (n->nodes[node].entry >= 0) {
		*reason = "duplicate prefix";
		return FC_EMALFORMED;
	}
	if (n->nentries == n->capentries) {
		size_t cap = n->capentries ? n->capentries * 2 : 16;
		struct fc_nets_entry *ne = realloc(n->entries, cap * sizeof(*ne));

		if (!ne)
			return FC_ENOMEM;
		n->entries = ne;
		n->capentries = cap;
	}
	n->entries[n->nentries] = e;
	n->nodes[node].entry = (int32_t)n->nentries++;
	return 0;
}

int fc_nets_parse(const char *buf, size_t len, enum fc_nets_kind kind, struct fc_strtab *strings,
		  struct fc_nets **out_nets, char *err, size_t errlen)
{
	char line[FC_NETS_MAX_LINE + 1];
	struct fc_nets *n = nets_new();
	size_t pos = 0, lineno = 0;
	bool first = true;
	int rc = 0;

	if (!n) {
		snprintf(err, errlen, "out of memory");
		return FC_ENOMEM;
	}
	while (pos < len) {
		size_t ll = 0;
		const char *reason = NULL;
		char *s;

		lineno++;
		while (ll < len - pos && buf[pos + ll] != '\n')
			ll++;
		if (ll > FC_NETS_MAX_LINE) {
			snprintf(err, errlen, "line %zu: longer than %u bytes", lineno,
				 FC_NETS_MAX_LINE);
			rc = FC_EMALFORMED;
			goto out;
		}
		memcpy(line, buf + pos, ll);
		line[ll] = '\0';
		pos += ll < len - pos ? ll + 1 : ll;
		if (memchr(line, '\0', ll)) {
			snprintf(err, errlen, "line %zu: NUL byte", lineno);
			rc = FC_EMALFORMED;
			goto out;
		}
		if (ll > 0 && line[ll - 1] == '\r')
			line[ll - 1] = '\0';
		s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		rc = nets_parse_line(n, s, kind, strings, first, &reason);
		first = false;
		if (rc != 0) {
			snprintf(err, errlen, "line %zu: %s", lineno,
				 reason ? reason : fc_strerror(rc));
			goto out;
		}
	}
out:
	if (rc != 0) {
		fc_nets_free(n);
		return rc;
	}
	*out_nets = n;
	return 0;
}

int fc_nets_load(const char *path, enum fc_nets_kind kind, struct fc_strtab *strings,
		 struct fc_nets **out_nets, char *err, size_t errlen)
{
	char msg[256];
	char *buf = NULL;
	size_t got = 0;
	struct stat st;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return FC_ESYS;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rc = FC_ESYS;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size < 0 || (uint64_t)st.st_size > FC_NETS_MAX_FILE) {
		snprintf(err, errlen, "%s: not a regular file of at most %u bytes", path,
			 FC_NETS_MAX_FILE);
		rc = FC_ELIMIT;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", path);
		rc = FC_ENOMEM;
		goto out;
	}
	/* Read what is there now; a file that grows meanwhile is read up to
	 * its size at fstat time, the next reload picks up the rest. */
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			rc = FC_ESYS;
			goto out;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	rc = fc_nets_parse(buf, got, kind, strings, out_nets, msg, sizeof(msg));
	if (rc != 0)
		snprintf(err, errlen, "%s: %s", path, msg);
out:
	free(buf);
	close(fd);
	return rc;
}
