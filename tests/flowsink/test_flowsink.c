/*
 * Unit tests of flowsink's modules: rules (parse, filter, key templates),
 * the record decoder (framing and per-reason counts), the batch aggregate,
 * and the Redis sink against a real redis-server that the fixture starts
 * on a free loopback port and stops by PID (SKIP when redis-server is
 * absent). The Redis cases pin the exactly-once effect: a batch applied
 * again, or overlapping an applied one, changes no set and no counter.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../unit/check_run.h"
#include "fc/err.h"
#include "flowsink/agg.h"
#include "flowsink/options.h"
#include "flowsink/record.h"
#include "flowsink/redis_query.h"
#include "flowsink/rule.h"
#include "flowsink/sink.h"

/* ---- rules ---- */

static struct fc_sink_flow mkflow(const char *src, const char *dst, uint32_t proto)
{
	struct fc_sink_flow f;

	memset(&f, 0, sizeof(f));
	ck_assert_int_eq(fc_addr_parse(&f.src, src), 0);
	ck_assert_int_eq(fc_addr_parse(&f.dst, dst), 0);
	ck_assert_int_eq(fc_addr_parse(&f.exporter, "192.0.2.200"), 0);
	f.proto = proto;
	f.bytes = 1000;
	f.packets = 10;
	f.src_port = 443;
	f.dst_port = 50000;
	f.src_as = 64500;
	f.dst_as = 64501;
	strcpy(f.src_country, "DE");
	strcpy(f.dst_country, "FR");
	f.time_ns = 1700000000ull * 1000000000ull; /* 2023-11-14 22:13:20 UTC */
	return f;
}

START_TEST(rule_parse_errors)
{
	static const char *const bad[] = {
		"",         "k,addr=up",      "k,proto=300",   "k,{x}",       "k:{nope}",
		"k:{ip}",   "k:{window}",     "k,window=0",    "k,ttl=-1",    "k,country=DEU",
		"k,foo=1",  "k,proto",        "k:{hour",       "k,exporter=",
	};
	struct fc_rule r;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(fc_rule_parse(&r, FC_RULE_SET, bad[i], err, sizeof(err)) == FC_EINVAL,
			      "accepted '%s'", bad[i]);
		ck_assert_msg(err[0] != '\0', "no message for '%s'", bad[i]);
	}
	ck_assert_int_eq(fc_rule_parse(&r, FC_RULE_COUNTERS, "c:{ip}", err, sizeof(err)), 0);
	ck_assert(r.has_ip);
	fc_rule_fini(&r);
}
END_TEST

START_TEST(rule_filters)
{
	struct fc_sink_flow f = mkflow("192.0.2.1", "198.51.100.2", 6);
	struct {
		const char *spec;
		bool match;
	} t[] = {
		{"k", true},
		{"k,proto=6", true},           {"k,proto=17", false},
		{"k,port=50000", true},        {"k,port=22", false},
		{"k,src_port=443", true},      {"k,dst_port=443", false},
		{"k,as=64501", true},          {"k,src_as=64501", false},
		{"k,country=FR", true},        {"k,src_country=FR", false},
		{"k,dst_country=FR", true},    {"k,exporter=192.0.2.200", true},
		{"k,exporter=192.0.2.201", false}, {"k,exporter=edge-1", false},
		{"k,proto=6,dst_port=50000,src_as=64500", true},
		{"k,proto=6,dst_port=50001", false},
	};
	char err[256];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct fc_rule r;

		ck_assert_int_eq(fc_rule_parse(&r, FC_RULE_SET, t[i].spec, err, sizeof(err)), 0);
		ck_assert_msg(fc_rule_match(&r, &f) == t[i].match, "%s", t[i].spec);
		fc_rule_fini(&r);
	}
	strcpy(f.exporter_name, "edge-1");
	{
		struct fc_rule r;

		ck_assert_int_eq(fc_rule_parse(&r, FC_RULE_SET, "k,exporter=edge-1", err, sizeof(err)), 0);
		ck_assert(fc_rule_match(&r, &f));
		fc_rule_fini(&r);
	}
}
END_TEST

START_TEST(rule_keys)
{
	struct fc_sink_flow f = mkflow("2001:db8::1", "198.51.100.2", 6);
	struct fc_rule r;
	char err[256], key[FC_RULE_KEY_MAX];

	ck_assert_int_eq(fc_rule_parse(&r, FC_RULE_COUNTERS,
				       "ips:{exporter}:{hour}:{day}:{window}:{ip},window=3600", err,
				       sizeof(err)),
			 0);
	ck_assert_int_gt(fc_rule_key(&r, &f, "2001:db8::1", key, sizeof(key)), 0);
	ck_assert_str_eq(key, "ips:192.0.2.200:2023111422:20231114:1699999200:2001:db8::1");
	strcpy(f.exporter_name, "edge-1");
	ck_assert_int_gt(fc_rule_key(&r, &f, "x", key, sizeof(key)), 0);
	ck_assert_str_eq(key, "ips:edge-1:2023111422:20231114:1699999200:x");
	ck_assert_int_eq(fc_rule_key(&r, &f, "x", key, 20), -1);
	fc_rule_fini(&r);
}
END_TEST

/* ---- record decoder ---- */

static int count_emit(void *arg, const struct fc_sink_flow *f)
{
	(void)f;
	(*(size_t *)arg)++;
	return 0;
}

START_TEST(record_frames)
{
	/* FlowMessage{src_addr = 192.0.2.1, dst_addr = ::1 (16 bytes)} */
	static const uint8_t msg[] = {0x32, 4, 192, 0, 2, 1, 0x3a, 16, 0, 0, 0, 0, 0, 0, 0, 0,
				      0,    0, 0,   0, 0, 0, 0, 1};
	uint8_t rec[3 * (sizeof(msg) + 1) + 8];
	uint64_t bad[FC_RECORD_BAD_COUNT] = {0};
	struct fc_record_dec *d = fc_record_dec_new();
	size_t n = 0, len = 0;

	ck_assert_ptr_nonnull(d);
	for (int i = 0; i < 3; i++) {
		rec[len++] = (uint8_t)sizeof(msg);
		memcpy(rec + len, msg, sizeof(msg));
		len += sizeof(msg);
	}
	ck_assert_int_eq(fc_record_decode(d, rec, len, bad, count_emit, &n), 0);
	ck_assert_uint_eq(n, 3);
	/* a length past the end: the first two frames count, then trunc */
	rec[2 * (sizeof(msg) + 1)] = 120;
	n = 0;
	fc_record_decode(d, rec, len, bad, count_emit, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(bad[FC_RECORD_BAD_TRUNC], 1);
	/* bad address length */
	{
		static const uint8_t b[] = {3, 0x32, 1, 7};

		fc_record_decode(d, b, sizeof(b), bad, count_emit, &n);
		ck_assert_uint_eq(bad[FC_RECORD_BAD_ADDR], 1);
	}
	/* unterminated varint, empty record, bad wire type */
	{
		static const uint8_t v[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
		static const uint8_t w[] = {2, 0x0f, 0x01};

		fc_record_decode(d, v, sizeof(v), bad, count_emit, &n);
		fc_record_decode(d, NULL, 0, bad, count_emit, &n);
		fc_record_decode(d, w, sizeof(w), bad, count_emit, &n);
		ck_assert_uint_eq(bad[FC_RECORD_BAD_VARINT], 1);
		ck_assert_uint_eq(bad[FC_RECORD_BAD_EMPTY], 1);
		ck_assert_uint_eq(bad[FC_RECORD_BAD_UNPACK], 1);
	}
	fc_record_dec_free(d);
}
END_TEST

/* ---- aggregate ---- */

START_TEST(agg_dedup)
{
	struct fc_agg a;
	char m[32];

	fc_agg_init(&a);
	for (int round = 0; round < 2; round++) {
		fc_agg_reset(&a);
		for (int i = 0; i < 5000; i++) {
			int n = snprintf(m, sizeof(m), "10.0.%d.%d", (i % 1000) / 256, (i % 1000) % 256);

			ck_assert_int_eq(fc_agg_add(&a, 0, "k", 1, m, (size_t)n, 10, 1), 0);
			ck_assert_int_eq(fc_agg_add(&a, 1, "k", 1, m, (size_t)n, 10, 1), 0);
		}
		ck_assert_uint_eq(a.n_keys, 2);
		ck_assert_uint_eq(a.n_members, 2000);
		ck_assert_uint_eq(a.keys[0].n_members, 1000);
		for (size_t i = 0; i < a.n_members; i++) {
			ck_assert_uint_eq(a.members[i].flows, 5);
			ck_assert_uint_eq(a.members[i].bytes, 50);
		}
	}
	fc_agg_fini(&a);
}
END_TEST

/* ---- Redis sink on a real server ---- */

static pid_t redis_pid;
static int redis_port;
static char redis_dir[64];
static bool have_redis;

static int free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static void redis_start(void)
{
	char port[16];
	struct timespec ts = {0, 50000000};

	have_redis = access("/usr/bin/redis-server", X_OK) == 0;
	if (!have_redis)
		return;
	strcpy(redis_dir, "/tmp/fc-test-redis-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(redis_dir));
	redis_port = free_port();
	snprintf(port, sizeof(port), "%d", redis_port);
	redis_pid = fork();
	if (redis_pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		execl("/usr/bin/redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1",
		      "--dir", redis_dir, "--appendonly", "yes", "--save", "", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		redisContext *c = redisConnect("127.0.0.1", redis_port);
		bool ok = c && !c->err;

		redisFree(c);
		if (ok)
			return;
		nanosleep(&ts, NULL);
	}
	ck_abort_msg("redis-server did not start");
}

static void redis_stop(void)
{
	char cmd[128];

	if (redis_pid > 0) {
		kill(redis_pid, SIGKILL);
		waitpid(redis_pid, NULL, 0);
		redis_pid = 0;
	}
	if (redis_dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", redis_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", redis_dir);
	}
}

static long long redis_int(redisContext *c, const char *fmt, const char *a, const char *b)
{
	redisReply *r = redisCommand(c, fmt, a, b);
	long long v = -1;

	ck_assert_ptr_nonnull(r);
	if (r->type == REDIS_REPLY_INTEGER)
		v = r->integer;
	else if (r->type == REDIS_REPLY_STRING)
		v = strtoll(r->str, NULL, 10);
	freeReplyObject(r);
	return v;
}

static volatile sig_atomic_t no_stop;

/* Records offset first..last of partition 0, flow i: 10.1.0.(i%50) ->
 * 10.2.0.(i%7), 100 bytes, 2 packets. */
static void apply_range(void *sink, int64_t first, int64_t last)
{
	struct fc_sink_record recs[64];
	struct fc_sink_flow flows[64];
	struct fc_sink_batch b = {.topic = "t", .recs = recs, .flows = flows};
	char s[32], d[32];

	ck_assert_int_le(last - first + 1, 64);
	for (int64_t o = first; o <= last; o++) {
		size_t i = (size_t)(o - first);

		snprintf(s, sizeof(s), "10.1.0.%d", (int)(o % 50));
		snprintf(d, sizeof(d), "10.2.0.%d", (int)(o % 7));
		flows[i] = mkflow(s, d, 17);
		flows[i].bytes = 100;
		flows[i].packets = 2;
		recs[i] = (struct fc_sink_record){.partition = 0, .offset = o, .first = i, .count = 1};
	}
	b.n_recs = b.n_flows = (size_t)(last - first + 1);
	ck_assert_int_eq(fc_sink_redis.apply(sink, &b), 0);
}

static int count_member(void *arg, const char *m, size_t len)
{
	(void)m;
	ck_assert_uint_gt(len, 0);
	(*(size_t *)arg)++;
	return 0;
}

struct hits {
	int sets, counters;
	char last_set[64];
	uint64_t bytes, flows;
};

static int record_hit(void *arg, enum fc_redis_hit_kind kind, const char *key, uint64_t bytes,
		      uint64_t packets, uint64_t flows)
{
	struct hits *h = arg;

	(void)packets;
	if (kind == FC_REDIS_HIT_SET) {
		h->sets++;
		if (strcmp(key, "ipaddress") != 0)
			snprintf(h->last_set, sizeof(h->last_set), "%s", key);
	} else {
		h->counters++;
		h->bytes = bytes;
		h->flows = flows;
	}
	return 0;
}

START_TEST(redis_exactly_once)
{
	struct fc_fsopts o;
	char addr[32], err[256];
	void *sink = NULL;
	redisContext *c;
	int32_t parts[2] = {0, 5};
	int64_t offs[2];

	if (!have_redis) {
		fprintf(stderr, "SKIP: redis-server not installed\n");
		return;
	}
	fc_fsopts_init(&o);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", redis_port);
	o.redis = strdup(addr);
	o.redis_counters.v[o.redis_counters.n++] = strdup("cnt");
	o.redis_sets.v[o.redis_sets.n++] = strdup("ipaddress");
	o.redis_sets.v[o.redis_sets.n++] = strdup("s:{exporter}:[x],addr=src");
	ck_assert_int_eq(fc_sink_redis.open(&sink, &o, &no_stop, err, sizeof(err)), 0);
	c = redisConnect("127.0.0.1", redis_port);
	ck_assert(c && !c->err);

	apply_range(sink, 0, 9);
	apply_range(sink, 0, 9);   /* a full replay */
	apply_range(sink, 5, 14);  /* overlapping: 5..9 applied already */
	/* 15 flows: 10.1.0.0..14 once each; 10.2.0.x: offsets o with o%7 == x */
	ck_assert_int_eq(redis_int(c, "SCARD %s", "ipaddress", NULL), 15 + 7);
	ck_assert_int_eq(redis_int(c, "HGET %s %s", "cnt:flows", "10.1.0.3"), 1);
	ck_assert_int_eq(redis_int(c, "HGET %s %s", "cnt:bytes", "10.1.0.3"), 100);
	ck_assert_int_eq(redis_int(c, "HGET %s %s", "cnt:packets", "10.1.0.14"), 2);
	ck_assert_int_eq(redis_int(c, "HGET %s %s", "cnt:flows", "10.2.0.0"), 3); /* 0, 7, 14 */
	ck_assert_int_eq(redis_int(c, "HGET %s %s", "cnt:bytes", "10.2.0.1"), 200); /* 1, 8 */
	ck_assert_int_eq(redis_int(c, "HGET %s %s", "flowsink:offsets:flowsink:t", "0"), 14);
	ck_assert_int_eq(fc_sink_redis.applied(sink, "t", parts, 2, offs), 0);
	ck_assert_int_eq(offs[0], 14);
	ck_assert_int_eq(offs[1], -1);

	/* the read side, for the HTTP API */
	{
		struct fc_redis_query *q = NULL;
		struct hits h = {0};
		size_t members = 0;

		ck_assert_int_eq(fc_redis_query_new(&q, &o, err, sizeof(err)), 0);
		ck_assert_int_eq(fc_redis_query_members(q, "ipaddress", count_member, &members), 0);
		ck_assert_uint_eq(members, 22);
		members = 0;
		ck_assert_int_eq(fc_redis_query_members(q, "no-such-key", count_member, &members), 0);
		ck_assert_uint_eq(members, 0);
		ck_assert_int_eq(fc_redis_query_members(q, "cnt:flows", count_member, &members),
				 FC_EMALFORMED);
		ck_assert_int_eq(fc_redis_query_ip(q, "10.1.0.3", 100, record_hit, &h), 0);
		ck_assert_int_eq(h.sets, 2); /* ipaddress and s:192.0.2.200:[x] */
		ck_assert_str_eq(h.last_set, "s:192.0.2.200:[x]");
		ck_assert_int_eq(h.counters, 1);
		ck_assert_uint_eq(h.bytes, 100);
		ck_assert_uint_eq(h.flows, 1);
		memset(&h, 0, sizeof(h));
		/* a destination only: not in the src-only set */
		ck_assert_int_eq(fc_redis_query_ip(q, "10.2.0.0", 100, record_hit, &h), 0);
		ck_assert_int_eq(h.sets, 1);
		ck_assert_uint_eq(h.flows, 3);
		fc_redis_query_free(q);
	}
	redisFree(c);
	fc_sink_redis.close(sink);
	fc_fsopts_fini(&o);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("flowsink");
	TCase *t;

	t = tcase_create("rules");
	tcase_add_test(t, rule_parse_errors);
	tcase_add_test(t, rule_filters);
	tcase_add_test(t, rule_keys);
	suite_add_tcase(s, t);
	t = tcase_create("record");
	tcase_add_test(t, record_frames);
	suite_add_tcase(s, t);
	t = tcase_create("agg");
	tcase_add_test(t, agg_dedup);
	suite_add_tcase(s, t);
	t = tcase_create("redis");
	tcase_add_unchecked_fixture(t, redis_start, redis_stop);
	tcase_add_test(t, redis_exactly_once);
	tcase_set_timeout(t, 30);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return fc_check_run(suite());
}
