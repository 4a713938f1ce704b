/*
 * Read side of the Redis sink (see redis_query.h): SSCAN for set members,
 * SISMEMBER/HGET/HMGET for one address, SCAN MATCH for templated keys
 * (placeholders become '*', glob characters of the literal parts are
 * escaped). Key layout as written by sink_redis.c.
 */
#include "flowsink/redis_query.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fc/err.h"
#include "flowsink/rule.h"

struct fc_redis_query {
	char *host;
	int port;
	char *unix_path;
	struct timeval tv;
	redisContext *ctx;
	struct fc_rule *rules;
	size_t n_rules;
};

static int connect_q(struct fc_redis_query *q)
{
	redisContext *c = q->unix_path ? redisConnectUnixWithTimeout(q->unix_path, q->tv)
				       : redisConnectWithTimeout(q->host, q->port, q->tv);

	if (!c || c->err || redisSetTimeout(c, q->tv) != REDIS_OK) {
		redisFree(c);
		return FC_ESYS;
	}
	q->ctx = c;
	return 0;
}

/* Runs a command, reconnecting once when the connection is gone. */
static redisReply *run(struct fc_redis_query *q, int argc, const char **argv, const size_t *lens)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		redisReply *r;

		if (!q->ctx && connect_q(q) != 0)
			return NULL;
		r = redisCommandArgv(q->ctx, argc, argv, lens);
		if (r)
			return r;
		redisFree(q->ctx);
		q->ctx = NULL;
	}
	return NULL;
}

int fc_redis_query_new(struct fc_redis_query **out, const struct fc_fsopts *o, char *err,
		       size_t errlen)
{
	struct fc_redis_query *q = calloc(1, sizeof(*q));
	const char *spec = o->redis, *colon;
	size_t n = 0;
	int rc = FC_ENOMEM;

	if (!q)
		return FC_ENOMEM;
	q->tv.tv_sec = (time_t)(o->redis_timeout_ms / 1000);
	q->tv.tv_usec = (suseconds_t)(o->redis_timeout_ms % 1000) * 1000;
	if (!strncmp(spec, "unix:", 5)) {
		q->unix_path = strdup(spec + 5);
		if (!q->unix_path)
			goto fail;
	} else {
		colon = strrchr(spec, ':');
		rc = FC_EINVAL;
		if (!colon || colon == spec) {
			snprintf(err, errlen, "--redis: bad address '%s'", spec);
			goto fail;
		}
		q->port = atoi(colon + 1);
		if (spec[0] == '[' && colon[-1] == ']')
			q->host = strndup(spec + 1, (size_t)(colon - spec - 2));
		else
			q->host = strndup(spec, (size_t)(colon - spec));
		rc = FC_ENOMEM;
		if (!q->host)
			goto fail;
	}
	q->rules = calloc(o->redis_sets.n + o->redis_counters.n + 1, sizeof(*q->rules));
	if (!q->rules)
		goto fail;
	if (o->redis_sets.n == 0) {
		rc = fc_rule_parse(&q->rules[n], FC_RULE_SET, "ipaddress", err, errlen);
		if (rc)
			goto fail;
		n++;
	}
	for (size_t i = 0; i < o->redis_sets.n + o->redis_counters.n; i++) {
		bool set = i < o->redis_sets.n;
		const char *r = set ? o->redis_sets.v[i] : o->redis_counters.v[i - o->redis_sets.n];

		if (set && !strcmp(r, "none"))
			continue;
		rc = fc_rule_parse(&q->rules[n], set ? FC_RULE_SET : FC_RULE_COUNTERS, r, err, errlen);
		if (rc)
			goto fail;
		n++;
	}
	q->n_rules = n;
	if (connect_q(q) != 0) {
		snprintf(err, errlen, "cannot connect to Redis at %s", o->redis);
		rc = FC_ESYS;
		goto fail;
	}
	*out = q;
	return 0;
fail:
	q->n_rules = n;
	fc_redis_query_free(q);
	return rc;
}

void fc_redis_query_free(struct fc_redis_query *q)
{
	if (!q)
		return;
	redisFree(q->ctx);
	for (size_t i = 0; i < q->n_rules; i++)
		fc_rule_fini(&q->rules[i]);
	free(q->rules);
	free(q->host);
	free(q->unix_path);
	free(q);
}

/* SSCAN/SCAN loop: cmd is "SSCAN key" or "SCAN"; with match, MATCH
 * pattern. Stops after max elements (0: no bound). */
static int scan(struct fc_redis_query *q, bool sscan, const char *key, const char *match,
		size_t max, fc_redis_member_fn emit, void *arg)
{
	char cursor[32] = "0";
	size_t seen = 0;

	do {
		const char *argv[8];
		size_t lens[8];
		int argc = 0;
		redisReply *r;
		int rc = 0;

		argv[argc++] = sscan ? "SSCAN" : "SCAN";
		if (sscan)
			argv[argc++] = key;
		argv[argc++] = cursor;
		if (match) {
			argv[argc++] = "MATCH";
			argv[argc++] = match;
		}
		argv[argc++] = "COUNT";
		argv[argc++] = "1000";
		for (int i = 0; i < argc; i++)
			lens[i] = strlen(argv[i]);
		r = run(q, argc, argv, lens);
		if (!r)
			return FC_ESYS;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING ||
		    r->element[1]->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(r);
			return FC_EMALFORMED; /* e.g. WRONGTYPE: not a set */
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		for (size_t i = 0; i < r->element[1]->elements && rc == 0; i++) {
			const redisReply *e = r->element[1]->element[i];

			if (e->type == REDIS_REPLY_STRING)
				rc = emit(arg, e->str, e->len);
			if (max && ++seen >= max)
				break;
		}
		freeReplyObject(r);
		if (rc)
			return rc;
		if (max && seen >= max)
			break;
	} while (strcmp(cursor, "0") != 0);
	return 0;
}

int fc_redis_query_members(struct fc_redis_query *q, const char *key, fc_redis_member_fn emit,
			   void *arg)
{
	return scan(q, true, key, NULL, 0, emit, arg);
}

static int put_escaped(char *out, size_t *n, size_t cap, const char *s)
{
	for (; *s; s++) {
		if (*n + 3 > cap)
			return FC_ELIMIT;
		if (strchr("*?[]\\", *s))
			out[(*n)++] = '\\';
		out[(*n)++] = *s;
	}
	return 0;
}

/* The rule's key as a SCAN pattern: placeholders become '*' ({ip}
 * becomes the address), glob characters are escaped. */
static int pattern(const struct fc_rule *r, const char *ip, char *out, size_t cap)
{
	const char *s = r->key;
	size_t n = 0;

	while (*s) {
		char one[2] = {*s, '\0'};

		if (*s == '{') {
			const char *close = strchr(s, '}');
			bool is_ip = close - s == 3 && !strncmp(s, "{ip}", 4);

			s = close + 1;
			if (is_ip) {
				if (put_escaped(out, &n, cap, ip))
					return FC_ELIMIT;
			} else {
				if (n + 2 > cap)
					return FC_ELIMIT;
				out[n++] = '*';
			}
			continue;
		}
		if (put_escaped(out, &n, cap, one))
			return FC_ELIMIT;
		s++;
	}
	out[n] = '\0';
	return 0;
}

static bool has_placeholder(const struct fc_rule *r)
{
	const char *s = r->key;

	while ((s = strchr(s, '{')) != NULL) {
		if (strncmp(s, "{ip}", 4) != 0)
			return true;
		s++;
	}
	return false;
}

struct ip_ctx {
	struct fc_redis_query *q;
	const struct fc_rule *rule;
	const char *ip;
	fc_redis_hit_fn emit;
	void *arg;
};

static uint64_t reply_u64(const redisReply *r)
{
	if (r->type == REDIS_REPLY_STRING)
		return strtoull(r->str, NULL, 10);
	if (r->type == REDIS_REPLY_INTEGER && r->integer > 0)
		return (uint64_t)r->integer;
	return 0;
}

/* Checks one concrete key for the address. */
static int check_key(void *arg, const char *key, size_t len)
{
	struct ip_ctx *x = arg;
	redisReply *r;
	int rc = 0;

	(void)len;
	if (x->rule->kind == FC_RULE_SET) {
		const char *argv[3] = {"SISMEMBER", key, x->ip};
		size_t lens[3] = {9, strlen(key), strlen(x->ip)};

		r = run(x->q, 3, argv, lens);
		if (!r)
			return FC_ESYS;
		if (r->type == REDIS_REPLY_INTEGER && r->integer == 1)
			rc = x->emit(x->arg, FC_REDIS_HIT_SET, key, 0, 0, 0);
		freeReplyObject(r);
		return rc;
	}
	if (x->rule->has_ip) {
		const char *argv[5] = {"HMGET", key, "bytes", "packets", "flows"};
		size_t lens[5] = {5, strlen(key), 5, 7, 5};

		r = run(x->q, 5, argv, lens);
		if (!r)
			return FC_ESYS;
		if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
		    r->element[2]->type == REDIS_REPLY_STRING)
			rc = x->emit(x->arg, FC_REDIS_HIT_COUNTERS, key, reply_u64(r->element[0]),
				     reply_u64(r->element[1]), reply_u64(r->element[2]));
		freeReplyObject(r);
		return rc;
	}
	{
		static const char *const sfx[3] = {"bytes", "packets", "flows"};
		uint64_t v[3] = {0, 0, 0};
		bool any = false;

		for (unsigned i = 0; i < 3; i++) {
			char sub[FC_RULE_KEY_MAX + 16];
			const char *argv[3] = {"HGET", sub, x->ip};
			size_t lens[3];

			snprintf(sub, sizeof(sub), "%s:%s", key, sfx[i]);
			lens[0] = 4;
			lens[1] = strlen(sub);
			lens[2] = strlen(x->ip);
			r = run(x->q, 3, argv, lens);
			if (!r)
				return FC_ESYS;
			if (r->type == REDIS_REPLY_STRING) {
				v[i] = reply_u64(r);
				any = true;
			}
			freeReplyObject(r);
		}
		return any ? x->emit(x->arg, FC_REDIS_HIT_COUNTERS, key, v[0], v[1], v[2]) : 0;
	}
}

/* For counter rules without {ip}, SCAN finds KEY:bytes etc.; the base key
 * is what check_key wants. */
static int check_scanned(void *arg, const char *key, size_t len)
{
	struct ip_ctx *x = arg;
	char base[FC_RULE_KEY_MAX];

	if (x->rule->kind == FC_RULE_COUNTERS && !x->rule->has_ip) {
		if (len < 6 || len - 6 >= sizeof(base) || strcmp(key + len - 6, ":flows") != 0)
			return 0; /* one of the three hashes stands for all */
		memcpy(base, key, len - 6);
		base[len - 6] = '\0';
		return check_key(arg, base, len - 6);
	}
	return check_key(arg, key, len);
}

int fc_redis_query_ip(struct fc_redis_query *q, const char *ip, size_t max_keys,
		      fc_redis_hit_fn emit, void *arg)
{
	for (size_t i = 0; i < q->n_rules; i++) {
		struct ip_ctx x = {.q = q, .rule = &q->rules[i], .ip = ip, .emit = emit, .arg = arg};
		char pat[FC_RULE_KEY_MAX * 2 + 16];
		int rc;

		if (!has_placeholder(x.rule)) {
			char key[FC_RULE_KEY_MAX];
			struct fc_sink_flow f;

			memset(&f, 0, sizeof(f));
			if (fc_rule_key(x.rule, &f, ip, key, sizeof(key)) < 0)
				continue;
			rc = check_key(&x, key, strlen(key));
		} else {
			if (pattern(x.rule, ip, pat, sizeof(pat) - 8) != 0)
				continue;
			if (x.rule->kind == FC_RULE_COUNTERS && !x.rule->has_ip)
				strcat(pat, ":flows");
			rc = scan(q, false, NULL, pat, max_keys, check_scanned, &x);
		}
		if (rc)
			return rc;
	}
	return 0;
}
