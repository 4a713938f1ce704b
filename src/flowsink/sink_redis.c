/*
 * The Redis sink (hiredis): IP sets and per-IP counters, applied exactly
 * once per Kafka record although Kafka delivers at least once.
 *
 * Per batch, on one connection:
 *   1. WATCH flowsink:offsets:{group}:{topic}; HMGET it for the batch's
 *      partitions: the last applied offset of each (one round trip).
 *   2. Records at or below their partition's stored offset are skipped (a
 *      replay after a crash or a rebalance); the rest are aggregated
 *      (agg.c): each key once, each member once with summed counters.
 *   3. MULTI; SADD key m1 m2 ...; HINCRBY ...; EXPIRE (rules with ttl=);
 *      HSET offsets partition last-offset ...; EXEC — pipelined, one round
 *      trip. Redis runs the transaction atomically, so the data and the
 *      offsets that say it is applied cannot part. EXEC answers nil when
 *      another member wrote the offsets hash since WATCH (a zombie member
 *      still applying a partition that moved away); the batch is then
 *      re-read and retried, so neither member applies a record twice.
 * A connection error at any point drops the connection and retries the
 * batch after a back-off; an EXEC that ran but whose reply was lost is
 * then found in the offsets and skipped. Durability is what the server's
 * AOF policy gives (appendfsync always: on disk when EXEC answers).
 *
 * Counter rules: with {ip} in the key, one hash per address with fields
 * bytes, packets, flows; without, three hashes KEY:bytes, KEY:packets and
 * KEY:flows whose fields are the addresses. Addresses are canonical text:
 * IPv4 dotted quad, IPv6 RFC 5952 (inet_ntop), IPv4-mapped as IPv4.
 */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "fc/err.h"
#include "flowsink/agg.h"
#include "flowsink/rule.h"
#include "flowsink/sink.h"

#define SADD_CHUNK 1000 /* members per SADD command */
#define ARGV_MAX (SADD_CHUNK + 2)
#define BACKOFF_MAX_MS 2000

struct redis_stats {
	uint64_t batches;          /* transactions committed */
	uint64_t records_applied;
	uint64_t records_skipped;  /* at or below the stored offset: replays */
	uint64_t flows_applied;
	uint64_t set_members;      /* members sent in SADDs (after batch dedup) */
	uint64_t counter_updates;  /* HINCRBY commands */
	uint64_t watch_conflicts;  /* EXEC refused: offsets changed meanwhile */
	uint64_t reconnects;
	uint64_t io_errors;
	uint64_t command_errors;   /* a command inside EXEC failed (e.g. WRONGTYPE) */
	uint64_t key_too_long;     /* an expanded key over FC_RULE_KEY_MAX: not written */
	uint64_t agg_errors;       /* out of memory while aggregating: not written */
};

struct part {
	int32_t partition;
	int64_t stored;  /* last applied, -1 none */
	int64_t newest;  /* newest offset of this batch to apply, -1 none */
	char pbuf[16], obuf[24];
};

struct redis_sink {
	char *host;
	int port;
	char *unix_path;
	struct timeval tv;
	char *group;
	redisContext *ctx;
	const volatile sig_atomic_t *stop;
	struct fc_rule *rules;
	size_t n_rules;
	struct fc_agg agg;
	struct part *parts;
	size_t n_parts, cap_parts;
	const char *argv[ARGV_MAX];
	size_t argvlen[ARGV_MAX];
	size_t pending; /* replies owed by the server for appended commands */
	struct fc_ratelimit rl;
	struct redis_stats st;
};

static int parse_addr(struct redis_sink *r, const char *spec, char *err, size_t errlen)
{
	const char *colon;
	char *end;
	unsigned long port;

	if (!strncmp(spec, "unix:", 5)) {
		r->unix_path = strdup(spec + 5);
		return r->unix_path ? 0 : FC_ENOMEM;
	}
	colon = strrchr(spec, ':');
	if (!colon || colon == spec)
		goto bad;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || port == 0 || port > 65535)
		goto bad;
	if (spec[0] == '[' && colon[-1] == ']')
		r->host = strndup(spec + 1, (size_t)(colon - spec - 2));
	else
		r->host = strndup(spec, (size_t)(colon - spec));
	if (!r->host)
		return FC_ENOMEM;
	r->port = (int)port;
	return 0;
bad:
	snprintf(err, errlen, "--redis: expected HOST:PORT, [V6]:PORT or unix:PATH, got '%s'", spec);
	return FC_EINVAL;
}

static void drop_connection(struct redis_sink *r)
{
	redisFree(r->ctx);
	r->ctx = NULL;
	r->pending = 0;
}

static int connect_once(struct redis_sink *r)
{
	redisContext *c = r->unix_path ? redisConnectUnixWithTimeout(r->unix_path, r->tv)
				       : redisConnectWithTimeout(r->host, r->port, r->tv);

	if (!c || c->err) {
		fc_log_rl(&r->rl, FC_LOG_WARN, "redis: cannot connect to %s%s: %s",
			  r->unix_path ? "unix:" : "", r->unix_path ? r->unix_path : r->host,
			  c ? c->errstr : "out of memory");
		redisFree(c);
		return FC_ESYS;
	}
	if (redisSetTimeout(c, r->tv) != REDIS_OK) {
		redisFree(c);
		return FC_ESYS;
	}
	r->ctx = c;
	r->pending = 0;
	return 0;
}

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Connects, retrying with a growing back-off until it works or stop is
 * raised. */
static int ensure_connected(struct redis_sink *r)
{
	uint64_t backoff = 100;

	while (!r->ctx) {
		if (connect_once(r) == 0)
			return 0;
		if (*r->stop)
			return FC_ESYS;
		sleep_ms(backoff);
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
	return 0;
}

static int append(struct redis_sink *r, size_t argc)
{
	if (redisAppendCommandArgv(r->ctx, (int)argc, r->argv, r->argvlen) != REDIS_OK)
		return FC_ENOMEM;
	r->pending++;
	return 0;
}

/* Next reply; FC_ESYS on a connection error (the connection is dropped). */
static int get_reply(struct redis_sink *r, redisReply **out)
{
	void *rep = NULL;

	if (redisGetReply(r->ctx, &rep) != REDIS_OK || !rep) {
		fc_log_rl(&r->rl, FC_LOG_WARN, "redis: %s", r->ctx->errstr[0] ? r->ctx->errstr : "no reply");
		r->st.io_errors++;
		drop_connection(r);
		return FC_ESYS;
	}
	r->pending--;
	*out = rep;
	return 0;
}

/* Reads and discards what is still owed, so the connection stays in step. */
static int drain(struct redis_sink *r)
{
	while (r->pending) {
		redisReply *rep;

		if (get_reply(r, &rep))
			return FC_ESYS;
		freeReplyObject(rep);
	}
	return 0;
}

static size_t set_arg(struct redis_sink *r, size_t i, const char *s, size_t n)
{
	r->argv[i] = s;
	r->argvlen[i] = n;
	return i + 1;
}

static size_t set_str(struct redis_sink *r, size_t i, const char *s)
{
	return set_arg(r, i, s, strlen(s));
}

static int open_sink(void **out_priv, const struct fc_fsopts *o, const volatile sig_atomic_t *stop,
		     char *err, size_t errlen)
{
	struct redis_sink *r = calloc(1, sizeof(*r));
	size_t n = 0;
	int rc = FC_ENOMEM;

	if (!r)
		return FC_ENOMEM;
	fc_agg_init(&r->agg);
	r->stop = stop;
	r->tv.tv_sec = (time_t)(o->redis_timeout_ms / 1000);
	r->tv.tv_usec = (suseconds_t)(o->redis_timeout_ms % 1000) * 1000;
	r->group = strdup(o->group);
	if (!r->group)
		goto fail;
	rc = parse_addr(r, o->redis, err, errlen);
	if (rc)
		goto fail;
	r->rules = calloc(o->redis_sets.n + o->redis_counters.n + 1, sizeof(*r->rules));
	rc = FC_ENOMEM;
	if (!r->rules)
		goto fail;
	if (o->redis_sets.n == 0) {
		rc = fc_rule_parse(&r->rules[n], FC_RULE_SET, "ipaddress,addr=both", err, errlen);
		if (rc)
			goto fail;
		n++;
	}
	for (size_t i = 0; i < o->redis_sets.n + o->redis_counters.n; i++) {
		bool set = i < o->redis_sets.n;
		const char *spec = set ? o->redis_sets.v[i] : o->redis_counters.v[i - o->redis_sets.n];
		char msg[256];

		if (set && !strcmp(spec, "none"))
			continue; /* no IP set at all, not even the default */

		rc = fc_rule_parse(&r->rules[n], set ? FC_RULE_SET : FC_RULE_COUNTERS, spec, msg,
				   sizeof(msg));
		if (rc) {
			snprintf(err, errlen, "--redis-%s '%s': %s", set ? "set" : "counters", spec,
				 rc == FC_EINVAL ? msg : fc_strerror(rc));
			goto fail;
		}
		n++;
	}
	r->n_rules = n;
	if (connect_once(r) != 0) {
		snprintf(err, errlen, "cannot connect to Redis at %s", o->redis);
		rc = FC_ESYS;
		goto fail;
	}
	*out_priv = r;
	return 0;
fail:
	r->n_rules = n;
	fc_sink_redis.close(r);
	return rc;
}

static void close_sink(void *priv)
{
	struct redis_sink *r = priv;

	if (!r)
		return;
	redisFree(r->ctx);
	for (size_t i = 0; i < r->n_rules; i++)
		fc_rule_fini(&r->rules[i]);
	free(r->rules);
	fc_agg_fini(&r->agg);
	free(r->parts);
	free(r->host);
	free(r->unix_path);
	free(r->group);
	free(r);
}

static int offsets_key(const struct redis_sink *r, const char *topic, char *out, size_t cap)
{
	if ((size_t)snprintf(out, cap, "flowsink:offsets:%s:%s", r->group, topic) >= cap)
		return FC_EINVAL;
	return 0;
}

/* A stored offset as Redis returns it: nil (none) or a decimal string. */
static int64_t parse_offset(const redisReply *e)
{
	long long v;
	char *end;

	if (e->type != REDIS_REPLY_STRING || !e->str)
		return -1;
	errno = 0;
	v = strtoll(e->str, &end, 10);
	if (errno || *end || v < -1)
		return -1;
	return (int64_t)v;
}

/* HMGET of the offsets hash for parts[]; fills parts[].stored. With watch,
 * the hash is WATCHed first in the same round trip. */
static int read_offsets(struct redis_sink *r, const char *key, bool watch)
{
	redisReply *rep;
	size_t argc = 0;
	int rc;

	if (watch) {
		argc = set_str(r, 0, "WATCH");
		argc = set_str(r, argc, key);
		if ((rc = append(r, argc)) != 0)
			return rc;
	}
	argc = set_str(r, 0, "HMGET");
	argc = set_str(r, argc, key);
	for (size_t i = 0; i < r->n_parts; i++) {
		struct part *p = &r->parts[i];

		snprintf(p->pbuf, sizeof(p->pbuf), "%" PRId32, p->partition);
		argc = set_str(r, argc, p->pbuf);
		if (argc == ARGV_MAX || i + 1 == r->n_parts) {
			if ((rc = append(r, argc)) != 0)
				return rc;
			argc = set_str(r, 0, "HMGET");
			argc = set_str(r, argc, key);
		}
	}
	if (watch) {
		if ((rc = get_reply(r, &rep)) != 0)
			return rc;
		rc = rep->type == REDIS_REPLY_STATUS ? 0 : FC_EMALFORMED;
		freeReplyObject(rep);
		if (rc)
			return rc;
	}
	for (size_t done = 0; done < r->n_parts;) {
		if ((rc = get_reply(r, &rep)) != 0)
			return rc;
		if (rep->type != REDIS_REPLY_ARRAY || rep->elements == 0 ||
		    rep->elements > r->n_parts - done) {
			fc_log_rl(&r->rl, FC_LOG_ERROR, "redis: HMGET %s: unexpected reply%s%s", key,
				  rep->type == REDIS_REPLY_ERROR ? ": " : "",
				  rep->type == REDIS_REPLY_ERROR ? rep->str : "");
			freeReplyObject(rep);
			return FC_EMALFORMED;
		}
		for (size_t i = 0; i < rep->elements; i++)
			r->parts[done + i].stored = parse_offset(rep->element[i]);
		done += rep->elements;
		freeReplyObject(rep);
	}
	return 0;
}

static struct part *find_part(struct redis_sink *r, int32_t partition, bool add)
{
	for (size_t i = 0; i < r->n_parts; i++) {
		if (r->parts[i].partition == partition)
			return &r->parts[i];
	}
	if (!add)
		return NULL;
	if (r->n_parts == r->cap_parts) {
		size_t ncap = r->cap_parts ? r->cap_parts * 2 : 16;
		struct part *np = realloc(r->parts, ncap * sizeof(*np));

		if (!np)
			return NULL;
		r->parts = np;
		r->cap_parts = ncap;
	}
	memset(&r->parts[r->n_parts], 0, sizeof(r->parts[0]));
	r->parts[r->n_parts].partition = partition;
	r->parts[r->n_parts].stored = -1;
	r->parts[r->n_parts].newest = -1;
	return &r->parts[r->n_parts++];
}

static int applied(void *priv, const char *topic, const int32_t *partitions, size_t n,
		   int64_t *out_offsets)
{
	struct redis_sink *r = priv;
	char key[512];
	int rc;

	if (n == 0)
		return 0;
	if (offsets_key(r, topic, key, sizeof(key)))
		return FC_EINVAL;
	r->n_parts = 0;
	for (size_t i = 0; i < n; i++) {
		if (!find_part(r, partitions[i], true))
			return FC_ENOMEM;
	}
	for (int attempt = 0;; attempt++) {
		if ((rc = ensure_connected(r)) != 0)
			return rc;
		rc = read_offsets(r, key, false);
		if (rc == 0)
			break;
		if (rc != FC_ESYS || *r->stop)
			return rc;
		r->st.reconnects++;
		sleep_ms(100);
	}
	for (size_t i = 0; i < n; i++)
		out_offsets[i] = find_part(r, partitions[i], false)->stored;
	return 0;
}

static void add_member(struct redis_sink *r, uint32_t rule, const char *key, int klen,
		       const char *ip, const struct fc_sink_flow *f)
{
	if (klen < 0) {
		r->st.key_too_long++;
		return;
	}
	if (fc_agg_add(&r->agg, rule, key, (size_t)klen, ip, strlen(ip), f->bytes, f->packets))
		r->st.agg_errors++;
}

static void add_flow(struct redis_sink *r, const struct fc_sink_flow *f)
{
	char src[FC_ADDR_STRLEN], dst[FC_ADDR_STRLEN], key[FC_RULE_KEY_MAX];
	bool has_src = f->src.family != 0, has_dst = f->dst.family != 0;
	/* A flow from an address to itself counts once for a rule of both. */
	bool same = has_src && has_dst && fc_addr_eq(&f->src, &f->dst);

	if (!has_src && !has_dst)
		return;
	if (has_src)
		fc_addr_str(&f->src, src);
	if (has_dst)
		fc_addr_str(&f->dst, dst);
	for (uint32_t i = 0; i < (uint32_t)r->n_rules; i++) {
		const struct fc_rule *ru = &r->rules[i];
		int klen = -2;

		if (!fc_rule_match(ru, f))
			continue;
		if (!ru->has_ip)
			klen = fc_rule_key(ru, f, NULL, key, sizeof(key));
		if (has_src && (ru->addr & FC_RULE_SRC)) {
			if (ru->has_ip)
				klen = fc_rule_key(ru, f, src, key, sizeof(key));
			add_member(r, i, key, klen, src, f);
		}
		if (has_dst && (ru->addr & FC_RULE_DST) && !(same && (ru->addr & FC_RULE_SRC))) {
			if (ru->has_ip)
				klen = fc_rule_key(ru, f, dst, key, sizeof(key));
			add_member(r, i, key, klen, dst, f);
		}
	}
}

static int emit_expire(struct redis_sink *r, const char *key, size_t klen, uint64_t ttl)
{
	char t[24];

	snprintf(t, sizeof(t), "%" PRIu64, ttl);
	set_str(r, 0, "EXPIRE");
	set_arg(r, 1, key, klen);
	set_str(r, 2, t);
	return append(r, 3);
}

static int emit_hincr(struct redis_sink *r, const char *key, size_t klen, const char *field,
		      size_t flen, uint64_t v)
{
	char t[24];

	snprintf(t, sizeof(t), "%" PRIu64, v);
	set_str(r, 0, "HINCRBY");
	set_arg(r, 1, key, klen);
	set_arg(r, 2, field, flen);
	set_str(r, 3, t);
	r->st.counter_updates++;
	return append(r, 4);
}

static int emit_set(struct redis_sink *r, const struct fc_agg_key *k, const struct fc_rule *ru)
{
	const char *key = fc_agg_str(&r->agg, k->off);
	size_t argc = 2;
	int rc;

	set_str(r, 0, "SADD");
	set_arg(r, 1, key, k->len);
	for (uint32_t m = k->head; m != FC_AGG_NONE; m = r->agg.members[m].next) {
		const struct fc_agg_member *e = &r->agg.members[m];

		argc = set_arg(r, argc, fc_agg_str(&r->agg, e->off), e->len);
		r->st.set_members++;
		if (argc == ARGV_MAX || e->next == FC_AGG_NONE) {
			if ((rc = append(r, argc)) != 0)
				return rc;
			argc = 2;
		}
	}
	return ru->ttl ? emit_expire(r, key, k->len, ru->ttl) : 0;
}

static int emit_counters(struct redis_sink *r, const struct fc_agg_key *k, const struct fc_rule *ru)
{
	static const char *const fields[3] = {"bytes", "packets", "flows"};
	const char *key = fc_agg_str(&r->agg, k->off);
	char sub[3][FC_RULE_KEY_MAX + 16];
	size_t sublen[3];
	int rc;

	for (unsigned i = 0; i < 3; i++) {
		int n = snprintf(sub[i], sizeof(sub[i]), "%s:%s", key, fields[i]);

		sublen[i] = n > 0 ? (size_t)n : 0;
	}
	for (uint32_t m = k->head; m != FC_AGG_NONE; m = r->agg.members[m].next) {
		const struct fc_agg_member *e = &r->agg.members[m];
		const uint64_t v[3] = {e->bytes, e->packets, e->flows};

		for (unsigned i = 0; i < 3; i++) {
			if (ru->has_ip)
				rc = emit_hincr(r, key, k->len, fields[i], strlen(fields[i]), v[i]);
			else
				rc = emit_hincr(r, sub[i], sublen[i], fc_agg_str(&r->agg, e->off),
						e->len, v[i]);
			if (rc)
				return rc;
		}
	}
	if (!ru->ttl)
		return 0;
	if (ru->has_ip)
		return emit_expire(r, key, k->len, ru->ttl);
	for (unsigned i = 0; i < 3; i++) {
		if ((rc = emit_expire(r, sub[i], sublen[i], ru->ttl)) != 0)
			return rc;
	}
	return 0;
}

/* One attempt: returns 0 (applied), FC_EAGAIN (WATCH conflict), FC_ESYS
 * (connection lost) or another code (give up). */
static int try_apply(struct redis_sink *r, const struct fc_sink_batch *b, const char *offkey,
		     uint64_t *out_recs, uint64_t *out_skipped, uint64_t *out_flows)
{
	uint64_t recs = 0, skipped = 0, flows = 0;
	redisReply *rep;
	size_t argc;
	int rc;

	if ((rc = read_offsets(r, offkey, true)) != 0)
		return rc;
	fc_agg_reset(&r->agg);
	for (size_t i = 0; i < r->n_parts; i++)
		r->parts[i].newest = -1;
	for (size_t i = 0; i < b->n_recs; i++) {
		const struct fc_sink_record *rec = &b->recs[i];
		struct part *p = find_part(r, rec->partition, false);

		if (rec->offset <= p->stored) {
			skipped++;
			continue;
		}
		if (rec->offset > p->newest)
			p->newest = rec->offset;
		recs++;
		flows += rec->count;
		for (size_t j = 0; j < rec->count; j++)
			add_flow(r, &b->flows[rec->first + j]);
	}
	if (recs == 0) {
		set_str(r, 0, "UNWATCH");
		if ((rc = append(r, 1)) != 0 || (rc = drain(r)) != 0)
			return rc;
		*out_recs = 0;
		*out_skipped = skipped;
		*out_flows = 0;
		return 0;
	}
	set_str(r, 0, "MULTI");
	if ((rc = append(r, 1)) != 0)
		return rc;
	for (size_t i = 0; i < r->agg.n_keys; i++) {
		const struct fc_agg_key *k = &r->agg.keys[i];
		const struct fc_rule *ru = &r->rules[k->rule];

		if (k->n_members == 0)
			continue;
		rc = ru->kind == FC_RULE_SET ? emit_set(r, k, ru) : emit_counters(r, k, ru);
		if (rc)
			return rc;
	}
	argc = set_str(r, 0, "HSET");
	argc = set_str(r, argc, offkey);
	for (size_t i = 0; i < r->n_parts; i++) {
		struct part *p = &r->parts[i];

		if (p->newest < 0)
			continue;
		snprintf(p->obuf, sizeof(p->obuf), "%" PRId64, p->newest);
		argc = set_str(r, argc, p->pbuf);
		argc = set_str(r, argc, p->obuf);
		if (argc + 2 > ARGV_MAX) {
			if ((rc = append(r, argc)) != 0)
				return rc;
			argc = set_str(r, 0, "HSET");
			argc = set_str(r, argc, offkey);
		}
	}
	if (argc > 2 && (rc = append(r, argc)) != 0)
		return rc;
	set_str(r, 0, "EXEC");
	if ((rc = append(r, 1)) != 0)
		return rc;
	/* Every reply before EXEC's is +OK / +QUEUED or a queueing error
	 * (which makes EXEC abort). */
	while (r->pending > 1) {
		if ((rc = get_reply(r, &rep)) != 0)
			return rc;
		if (rep->type == REDIS_REPLY_ERROR)
			fc_log_rl(&r->rl, FC_LOG_ERROR, "redis: %s", rep->str);
		freeReplyObject(rep);
	}
	if ((rc = get_reply(r, &rep)) != 0)
		return rc;
	if (rep->type == REDIS_REPLY_NIL) {
		freeReplyObject(rep);
		return FC_EAGAIN;
	}
	if (rep->type != REDIS_REPLY_ARRAY) {
		fc_log_rl(&r->rl, FC_LOG_ERROR, "redis: EXEC failed: %s",
			  rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
		freeReplyObject(rep);
		return FC_EMALFORMED;
	}
	for (size_t i = 0; i < rep->elements; i++) {
		if (rep->element[i]->type == REDIS_REPLY_ERROR) {
			r->st.command_errors++;
			fc_log_rl(&r->rl, FC_LOG_ERROR, "redis: command in EXEC failed: %s",
				  rep->element[i]->str);
		}
	}
	freeReplyObject(rep);
	*out_recs = recs;
	*out_skipped = skipped;
	*out_flows = flows;
	return 0;
}

static int apply(void *priv, const struct fc_sink_batch *b)
{
	struct redis_sink *r = priv;
	uint64_t backoff = 100, recs = 0, skipped = 0, flows = 0;
	char offkey[512];
	int rc;

	if (b->n_recs == 0)
		return 0;
	if (offsets_key(r, b->topic, offkey, sizeof(offkey)))
		return FC_EINVAL;
	r->n_parts = 0;
	for (size_t i = 0; i < b->n_recs; i++) {
		if (!find_part(r, b->recs[i].partition, true))
			return FC_ENOMEM;
	}
	for (;;) {
		if ((rc = ensure_connected(r)) != 0)
			return rc;
		rc = try_apply(r, b, offkey, &recs, &skipped, &flows);
		if (rc == 0)
			break;
		if (rc == FC_EAGAIN) {
			r->st.watch_conflicts++;
			continue;
		}
		if (rc != FC_ESYS)
			return rc;
		/* Connection lost: the batch is retried whole; what a lost
		 * EXEC did apply is found in the offsets and skipped. */
		if (r->ctx)
			drop_connection(r);
		r->st.reconnects++;
		if (*r->stop)
			return rc;
		sleep_ms(backoff);
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
	if (recs)
		r->st.batches++;
	r->st.records_applied += recs;
	r->st.records_skipped += skipped;
	r->st.flows_applied += flows;
	return 0;
}

static void print_stats(void *priv, FILE *out)
{
	const struct redis_sink *r = priv;
	const struct {
		const char *name, *help;
		uint64_t v;
	} rows[] = {
		{"redis_batches_total", "transactions committed (MULTI/EXEC)", r->st.batches},
		{"redis_records_applied_total", "Kafka records applied", r->st.records_applied},
		{"redis_records_skipped_total", "records at or below the stored offset (replays)",
		 r->st.records_skipped},
		{"redis_flows_applied_total", "flows of the applied records", r->st.flows_applied},
		{"redis_set_members_total", "members sent in SADD (after batch dedup)",
		 r->st.set_members},
		{"redis_hash_increments_total", "HINCRBY commands", r->st.counter_updates},
		{"redis_watch_conflicts_total", "EXEC refused: offsets changed since WATCH (retried)",
		 r->st.watch_conflicts},
		{"redis_reconnects_total", "connections re-established", r->st.reconnects},
		{"redis_io_errors_total", "connection or protocol errors", r->st.io_errors},
		{"redis_command_errors_total", "commands inside EXEC that failed (not applied)",
		 r->st.command_errors},
		{"redis_key_too_long_total", "members not written: expanded key too long",
		 r->st.key_too_long},
		{"redis_agg_errors_total", "members not written: out of memory",
		 r->st.agg_errors},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		fprintf(out, "# HELP flowsink_%s %s\n# TYPE flowsink_%s counter\nflowsink_%s %" PRIu64 "\n",
			rows[i].name, rows[i].help, rows[i].name, rows[i].name, rows[i].v);
}

const struct fc_sink_ops fc_sink_redis = {
	.name = "redis",
	.open = open_sink,
	.applied = applied,
	.apply = apply,
	.print_stats = print_stats,
	.close = close_sink,
};
