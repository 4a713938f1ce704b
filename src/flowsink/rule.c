/*
 * Rule parsing, filtering and key expansion (see rule.h). The template is
 * checked at parse time, so expansion meets only known placeholders.
 */
#include "flowsink/rule.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fc/err.h"

enum {
	F_PROTO = 1u << 0,
	F_PORT = 1u << 1,
	F_SRC_PORT = 1u << 2,
	F_DST_PORT = 1u << 3,
	F_AS = 1u << 4,
	F_SRC_AS = 1u << 5,
	F_DST_AS = 1u << 6,
	F_COUNTRY = 1u << 7,
	F_SRC_COUNTRY = 1u << 8,
	F_DST_COUNTRY = 1u << 9,
	F_EXPORTER = 1u << 10,
};

static const char *const placeholders[] = {"exporter", "hour", "day", "window", "ip"};

static int parse_u32(const char *v, uint32_t max, uint32_t *out)
{
	unsigned long long u;
	char *end;

	errno = 0;
	u = strtoull(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-' || u > max)
		return FC_EINVAL;
	*out = (uint32_t)u;
	return 0;
}

static int parse_secs(const char *v, uint64_t *out)
{
	unsigned long long u;
	char *end;

	errno = 0;
	u = strtoull(v, &end, 10);
	/* ten years: a bound that keeps seconds * 1e9 far from overflow */
	if (errno || end == v || *end || v[0] == '-' || u == 0 || u > 315360000ull)
		return FC_EINVAL;
	*out = u;
	return 0;
}

static int parse_country(const char *v, char out[3])
{
	if (strlen(v) != 2)
		return FC_EINVAL;
	out[0] = v[0];
	out[1] = v[1];
	out[2] = '\0';
	return 0;
}

/* Checks every {name} of the template. */
static int check_template(struct fc_rule *r, char *err, size_t errlen)
{
	const char *s = r->key;

	if (!*s) {
		snprintf(err, errlen, "empty key");
		return FC_EINVAL;
	}
	while ((s = strchr(s, '{')) != NULL) {
		const char *close = strchr(s, '}');
		size_t len, i;

		if (!close) {
			snprintf(err, errlen, "'{' without '}' in key '%s'", r->key);
			return FC_EINVAL;
		}
		len = (size_t)(close - s - 1);
		for (i = 0; i < sizeof(placeholders) / sizeof(placeholders[0]); i++) {
			if (strlen(placeholders[i]) == len && !strncmp(s + 1, placeholders[i], len))
				break;
		}
		if (i == sizeof(placeholders) / sizeof(placeholders[0])) {
			snprintf(err, errlen, "unknown placeholder {%.*s} in key '%s'", (int)len,
				 s + 1, r->key);
			return FC_EINVAL;
		}
		if (!strncmp(s + 1, "ip", len) && len == 2) {
			if (r->kind != FC_RULE_COUNTERS) {
				snprintf(err, errlen, "{ip} is for counter rules only");
				return FC_EINVAL;
			}
			r->has_ip = true;
		}
		if (len == 6 && !strncmp(s + 1, "window", len) && r->window == 0) {
			snprintf(err, errlen, "{window} needs window=SECONDS");
			return FC_EINVAL;
		}
		s = close + 1;
	}
	return 0;
}

static int set_filter(struct fc_rule *r, const char *k, const char *v)
{
	struct {
		const char *name;
		unsigned bit;
		uint32_t *u;
		uint32_t max;
		char *cc;
	} t[] = {
		{"proto", F_PROTO, &r->proto, 255, NULL},
		{"port", F_PORT, &r->port, 65535, NULL},
		{"src_port", F_SRC_PORT, &r->src_port, 65535, NULL},
		{"dst_port", F_DST_PORT, &r->dst_port, 65535, NULL},
		{"as", F_AS, &r->as, UINT32_MAX, NULL},
		{"src_as", F_SRC_AS, &r->src_as, UINT32_MAX, NULL},
		{"dst_as", F_DST_AS, &r->dst_as, UINT32_MAX, NULL},
		{"country", F_COUNTRY, NULL, 0, r->country},
		{"src_country", F_SRC_COUNTRY, NULL, 0, r->src_country},
		{"dst_country", F_DST_COUNTRY, NULL, 0, r->dst_country},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int rc;

		if (strcmp(k, t[i].name) != 0)
			continue;
		rc = t[i].u ? parse_u32(v, t[i].max, t[i].u) : parse_country(v, t[i].cc);
		if (rc == 0)
			r->fmask |= t[i].bit;
		return rc;
	}
	return FC_EUNSUPPORTED;
}

static int parse_kv(struct fc_rule *r, char *kv, char *err, size_t errlen)
{
	char *eq = strchr(kv, '=');
	const char *k = kv, *v;
	int rc;

	if (!eq) {
		snprintf(err, errlen, "'%s' is not KEY=VALUE", kv);
		return FC_EINVAL;
	}
	*eq = '\0';
	v = eq + 1;
	if (!strcmp(k, "addr")) {
		if (!strcmp(v, "src"))
			r->addr = FC_RULE_SRC;
		else if (!strcmp(v, "dst"))
			r->addr = FC_RULE_DST;
		else if (!strcmp(v, "both"))
			r->addr = FC_RULE_SRC | FC_RULE_DST;
		else
			goto bad;
		return 0;
	}
	if (!strcmp(k, "window"))
		return parse_secs(v, &r->window) ? (snprintf(err, errlen, "window=%s", v), FC_EINVAL) : 0;
	if (!strcmp(k, "ttl"))
		return parse_secs(v, &r->ttl) ? (snprintf(err, errlen, "ttl=%s", v), FC_EINVAL) : 0;
	if (!strcmp(k, "exporter")) {
		if (!*v)
			goto bad;
		free(r->exporter);
		r->exporter = strdup(v);
		if (!r->exporter)
			return FC_ENOMEM;
		if (fc_addr_parse(&r->exporter_addr, v) != 0)
			memset(&r->exporter_addr, 0, sizeof(r->exporter_addr));
		r->fmask |= F_EXPORTER;
		return 0;
	}
	rc = set_filter(r, k, v);
	if (rc == FC_EUNSUPPORTED) {
		snprintf(err, errlen, "unknown rule key '%s'", k);
		return FC_EINVAL;
	}
	if (rc == 0)
		return 0;
bad:
	snprintf(err, errlen, "bad value '%s' for %s", v, k);
	return FC_EINVAL;
}

int fc_rule_parse(struct fc_rule *r, enum fc_rule_kind kind, const char *spec, char *err,
		  size_t errlen)
{
	char *copy = strdup(spec), *save = NULL, *tok;
	int rc = FC_ENOMEM;

	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->addr = FC_RULE_SRC | FC_RULE_DST;
	if (!copy)
		goto fail;
	tok = strtok_r(copy, ",", &save);
	if (!tok) {
		snprintf(err, errlen, "empty rule");
		rc = FC_EINVAL;
		goto fail;
	}
	r->key = strdup(tok);
	if (!r->key)
		goto fail;
	while ((tok = strtok_r(NULL, ",", &save)) != NULL) {
		rc = parse_kv(r, tok, err, errlen);
		if (rc)
			goto fail;
	}
	rc = check_template(r, err, errlen);
	if (rc)
		goto fail;
	free(copy);
	return 0;
fail:
	free(copy);
	fc_rule_fini(r);
	return rc;
}

void fc_rule_fini(struct fc_rule *r)
{
	free(r->key);
	free(r->exporter);
	r->key = NULL;
	r->exporter = NULL;
}

static bool cc_eq(const char *want, const char *got)
{
	return strcmp(want, got) == 0;
}

bool fc_rule_match(const struct fc_rule *r, const struct fc_sink_flow *f)
{
	unsigned m = r->fmask;

	if (!m)
		return true;
	if ((m & F_PROTO) && f->proto != r->proto)
		return false;
	if ((m & F_PORT) && f->src_port != r->port && f->dst_port != r->port)
		return false;
	if ((m & F_SRC_PORT) && f->src_port != r->src_port)
		return false;
	if ((m & F_DST_PORT) && f->dst_port != r->dst_port)
		return false;
	if ((m & F_AS) && f->src_as != r->as && f->dst_as != r->as)
		return false;
	if ((m & F_SRC_AS) && f->src_as != r->src_as)
		return false;
	if ((m & F_DST_AS) && f->dst_as != r->dst_as)
		return false;
	if ((m & F_COUNTRY) && !cc_eq(r->country, f->src_country) &&
	    !cc_eq(r->country, f->dst_country))
		return false;
	if ((m & F_SRC_COUNTRY) && !cc_eq(r->src_country, f->src_country))
		return false;
	if ((m & F_DST_COUNTRY) && !cc_eq(r->dst_country, f->dst_country))
		return false;
	if (m & F_EXPORTER) {
		bool by_name = f->exporter_name[0] && strcmp(f->exporter_name, r->exporter) == 0;
		bool by_addr = r->exporter_addr.family && fc_addr_eq(&r->exporter_addr, &f->exporter);

		if (!by_name && !by_addr)
			return false;
	}
	return true;
}

struct kbuf {
	char *p;
	size_t cap, len;
	bool full;
};

static void kput(struct kbuf *b, const char *s, size_t n)
{
	if (b->full || n >= b->cap - b->len) {
		b->full = true;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

int fc_rule_key(const struct fc_rule *r, const struct fc_sink_flow *f, const char *ip, char *out,
		size_t cap)
{
	struct kbuf b = {.p = out, .cap = cap};
	const char *s = r->key;
	time_t secs = (time_t)(f->time_ns / 1000000000ull);
	struct tm tm;
	bool have_tm = false;

	while (*s) {
		const char *open = strchr(s, '{'), *close;
		char tmp[FC_ADDR_STRLEN + 8];
		size_t len;

		if (!open) {
			kput(&b, s, strlen(s));
			break;
		}
		kput(&b, s, (size_t)(open - s));
		close = strchr(open, '}');
		len = (size_t)(close - open - 1);
		tmp[0] = '\0';
		if ((len == 4 && !strncmp(open + 1, "hour", 4)) ||
		    (len == 3 && !strncmp(open + 1, "day", 3))) {
			if (!have_tm)
				have_tm = gmtime_r(&secs, &tm) != NULL;
			if (have_tm)
				strftime(tmp, sizeof(tmp), len == 4 ? "%Y%m%d%H" : "%Y%m%d", &tm);
			kput(&b, tmp, strlen(tmp));
		} else if (len == 6 && !strncmp(open + 1, "window", 6)) {
			uint64_t t = (uint64_t)secs;

			snprintf(tmp, sizeof(tmp), "%llu",
				 (unsigned long long)(t - t % r->window));
			kput(&b, tmp, strlen(tmp));
		} else if (len == 8 && !strncmp(open + 1, "exporter", 8)) {
			if (f->exporter_name[0])
				kput(&b, f->exporter_name, strlen(f->exporter_name));
			else if (f->exporter.family) {
				fc_addr_str(&f->exporter, tmp);
				kput(&b, tmp, strlen(tmp));
			} else
				kput(&b, "unknown", 7);
		} else if (len == 2 && !strncmp(open + 1, "ip", 2) && ip) {
			kput(&b, ip, strlen(ip));
		}
		s = close + 1;
	}
	if (b.full)
		return -1;
	out[b.len] = '\0';
	return (int)b.len;
}
