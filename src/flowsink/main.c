/*
 * flowsink: the only file of the program that knows every module. Parses
 * the options, opens the sinks (the registry below), runs the consumer
 * (consumer.c) until SIGINT/SIGTERM, then drains: the batch in hand is
 * applied and its offsets committed before the process leaves the group.
 * SIGUSR1 prints the counters (they are always printed on exit).
 *
 * The HTTP listener (--prometheus-listen, src/http) serves /metrics and
 * /healthz from its own thread. The consumer's and sinks' counters are
 * not thread-safe, so the consumer thread renders them on request
 * (fc_doc, from the consumer's tick); the per-AS exporter sink guards its
 * own table and renders directly.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "fc/err.h"
#include "flowsink/consumer.h"
#include "flowsink/options.h"
#include "flowsink/redis_query.h"
#include "flowsink/sink.h"
#include "flowsink/sink_pg.h"
#include "flowsink/sink_prom.h"
#include "http/doc.h"
#include "http/http.h"

#define MAX_SINKS 4
#define DOC_WAIT_MS 2000u
#define PROM_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct web {
	struct fc_doc *doc;         /* the consumer's and sinks' counters */
	struct fc_consumer *c;
	const struct fc_consumer_sink *sinks;
	size_t n_sinks;
	void *prom;                 /* the exporter sink, NULL when off */
	struct fc_redis_query *q;   /* the query API's own connection (HTTP thread) */
};

#define IP_MAX_KEYS 10000 /* keys looked at per rule by /ips/{ip} */

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t print_requested;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		print_requested = 1;
	else
		stop_requested = 1;
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void print_counters(const struct fc_consumer *c, const struct fc_consumer_sink *sinks,
			   size_t n, const char *title)
{
	fflush(stdout);
	fprintf(stderr, "# %s\n", title);
	if (c)
		fc_consumer_print_stats(c, stderr);
	for (size_t i = 0; i < n; i++)
		sinks[i].ops->print_stats(sinks[i].priv, stderr);
}

/* Consumer thread: renders the counters when the HTTP thread waits. */
static void on_tick(void *arg)
{
	struct web *w = arg;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (!fc_doc_wanted(w->doc))
		return;
	f = open_memstream(&buf, &len);
	if (!f) {
		fc_doc_publish(w->doc, NULL, 0);
		return;
	}
	fc_consumer_print_stats(w->c, f);
	for (size_t i = 0; i < w->n_sinks; i++)
		w->sinks[i].ops->print_stats(w->sinks[i].priv, f);
	if (fclose(f) != 0) {
		free(buf);
		fc_doc_publish(w->doc, NULL, 0);
		return;
	}
	fc_doc_publish(w->doc, buf, len);
}

static void http_metrics(void *ctx, struct fc_http_reply *r)
{
	struct web *w = ctx;
	char *doc = NULL;
	size_t len = 0;
	int rc = fc_doc_request(w->doc, DOC_WAIT_MS, &doc, &len);

	r->content_type = PROM_TYPE;
	if (rc < 0) {
		r->status = 500;
		return;
	}
	/* A stale copy is still the latest counters; /healthz tells. */
	fwrite(doc, 1, len, r->body);
	free(doc);
	if (w->prom)
		fc_sink_prom_render(w->prom, r->body);
}

/* Healthy while the consumer thread answers within DOC_WAIT_MS: it is
 * polling Kafka, not stuck in a sink that retries. */
static void http_healthz(void *ctx, struct fc_http_reply *r)
{
	struct web *w = ctx;
	char *doc = NULL;
	size_t len = 0;
	int rc = fc_doc_request(w->doc, DOC_WAIT_MS, &doc, &len);

	free(doc);
	if (rc == 0) {
		fputs("ok\n", r->body);
	} else {
		r->status = 503;
		fputs("consumer thread not answering (a sink retrying, or shutting down)\n", r->body);
	}
}

/* A JSON string; keys come from the request, so everything is escaped. */
static void json_str(FILE *out, const char *v, size_t len)
{
	fputc('"', out);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			fprintf(out, "\\u%04x", ch);
		else
			fputc(ch, out);
	}
	fputc('"', out);
}

struct members_out {
	FILE *out;
	bool txt;
	uint64_t n;
};

static int emit_member(void *arg, const char *member, size_t len)
{
	struct members_out *m = arg;

	if (m->txt) {
		fwrite(member, 1, len, m->out);
		fputc('\n', m->out);
	} else {
		if (m->n)
			fputc(',', m->out);
		json_str(m->out, member, len);
	}
	m->n++;
	return 0;
}

static void query_error(struct fc_http_reply *r, int rc)
{
	/* The body written so far is not a whole answer: start over. */
	rewind(r->body);
	if (rc == FC_EMALFORMED) {
		r->status = 409;
		fputs("the key holds something other than a set\n", r->body);
	} else {
		r->status = 503;
		fprintf(r->body, "redis: %s\n", fc_strerror(rc));
	}
	fflush(r->body);
}

/* GET /sets/{key}?format=json|txt: the members (SSCAN), txt one per line
 * for firewalls to pull. */
static void http_sets(void *ctx, struct fc_http_reply *r)
{
	struct web *w = ctx;
	const char *key = r->path + strlen("/sets/");
	const char *fmt = fc_http_query(r, "format");
	struct members_out m = {.out = r->body};
	int rc;

	if (fmt && strcmp(fmt, "json") != 0 && strcmp(fmt, "txt") != 0) {
		r->status = 400;
		fputs("format: json or txt\n", r->body);
		return;
	}
	m.txt = fmt && !strcmp(fmt, "txt");
	if (!m.txt) {
		r->content_type = "application/json";
		fputs("{\"key\":", r->body);
		json_str(r->body, key, strlen(key));
		fputs(",\"members\":[", r->body);
	}
	rc = fc_redis_query_members(w->q, key, emit_member, &m);
	if (rc) {
		r->content_type = "text/plain; charset=utf-8";
		query_error(r, rc);
		return;
	}
	if (!m.txt)
		fprintf(r->body, "],\"count\":%" PRIu64 "}\n", m.n);
}

struct ip_out {
	FILE *out;
	uint64_t sets, counters;
	char *cnt; /* the counters part, appended after the sets */
	size_t cnt_len;
	FILE *cf;
};

static int emit_hit(void *arg, enum fc_redis_hit_kind kind, const char *key, uint64_t bytes,
		    uint64_t packets, uint64_t flows)
{
	struct ip_out *o = arg;

	if (kind == FC_REDIS_HIT_SET) {
		if (o->sets++)
			fputc(',', o->out);
		json_str(o->out, key, strlen(key));
	} else {
		if (o->counters++)
			fputc(',', o->cf);
		fputs("{\"key\":", o->cf);
		json_str(o->cf, key, strlen(key));
		fprintf(o->cf, ",\"bytes\":%" PRIu64 ",\"packets\":%" PRIu64 ",\"flows\":%" PRIu64 "}",
			bytes, packets, flows);
	}
	return 0;
}

/* GET /ips/{ip}: the sets of the configured rules that hold the address
 * and its counters, as JSON. */
static void http_ips(void *ctx, struct fc_http_reply *r)
{
	struct web *w = ctx;
	const char *arg = r->path + strlen("/ips/");
	unsigned char bin[16];
	char ip[INET6_ADDRSTRLEN];
	struct ip_out o = {.out = r->body};
	int rc, fam = strchr(arg, ':') ? AF_INET6 : AF_INET;

	if (inet_pton(fam, arg, bin) != 1 || !inet_ntop(fam, bin, ip, sizeof(ip))) {
		r->status = 400;
		fputs("not an IPv4 or IPv6 address\n", r->body);
		return;
	}
	/* The store holds IPv4-mapped addresses as IPv4 (sink_redis.c). */
	if (fam == AF_INET6 && !memcmp(bin, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12))
		inet_ntop(AF_INET, bin + 12, ip, sizeof(ip));
	o.cf = open_memstream(&o.cnt, &o.cnt_len);
	if (!o.cf) {
		r->status = 500;
		return;
	}
	r->content_type = "application/json";
	fprintf(r->body, "{\"ip\":\"%s\",\"sets\":[", ip);
	rc = fc_redis_query_ip(w->q, ip, IP_MAX_KEYS, emit_hit, &o);
	fclose(o.cf);
	if (rc) {
		r->content_type = "text/plain; charset=utf-8";
		query_error(r, rc);
	} else {
		fprintf(r->body, "],\"counters\":[%s]}\n", o.cnt ? o.cnt : "");
	}
	free(o.cnt);
}

/* The sink registry: each sink whose option is given is opened, in this
 * order; the consumer commits only what all of them applied. Returns 0,
 * or -1 after logging (the sinks opened so far are in sinks[*n_sinks]). */
static int open_sinks(struct fc_fsopts *o, struct fc_consumer_sink *sinks, size_t *n_sinks,
		      struct web *web)
{
	const struct {
		const char *name, *arg;
		const struct fc_sink_ops *ops;
	} reg[] = {
		{"redis", o->redis, &fc_sink_redis},
		{"postgres", o->postgres, &fc_sink_postgres},
		{"prometheus", o->asn.n ? "on" : NULL, &fc_sink_prom},
	};
	char err[512];

	_Static_assert(sizeof(reg) / sizeof(reg[0]) <= MAX_SINKS, "a slot per sink");
	for (size_t i = 0; i < sizeof(reg) / sizeof(reg[0]); i++) {
		if (!reg[i].arg)
			continue;
		sinks[*n_sinks].ops = reg[i].ops;
		if (reg[i].ops->open(&sinks[*n_sinks].priv, o, &stop_requested, err, sizeof(err))) {
			fc_log(FC_LOG_ERROR, "%s: %s", reg[i].name, err);
			return -1;
		}
		if (reg[i].ops == &fc_sink_prom)
			web->prom = sinks[*n_sinks].priv;
		(*n_sinks)++;
	}
	return 0;
}

/* The HTTP listener (--prometheus-listen): /metrics and /healthz, plus
 * /sets/ and /ips/ with the Redis sink. Returns 0, or -1 after logging. */
static int start_web(struct fc_fsopts *o, struct fc_consumer *c, struct fc_consumer_sink *sinks,
		     size_t n_sinks, struct web *web, struct fc_http **out_http)
{
	struct fc_http *http;
	char err[512];

	web->c = c;
	web->sinks = sinks;
	web->n_sinks = n_sinks;
	web->doc = fc_doc_new();
	http = *out_http = fc_http_new();
	if (!web->doc || !http || fc_http_route(http, "/metrics", http_metrics, web) != 0 ||
	    fc_http_route(http, "/healthz", http_healthz, web) != 0) {
		fc_log(FC_LOG_ERROR, "out of memory");
		return -1;
	}
	if (o->redis) {
		if (fc_redis_query_new(&web->q, o, err, sizeof(err))) {
			fc_log(FC_LOG_ERROR, "redis query: %s", err);
			return -1;
		}
		if (fc_http_route(http, "/sets/", http_sets, web) != 0 ||
		    fc_http_route(http, "/ips/", http_ips, web) != 0) {
			fc_log(FC_LOG_ERROR, "out of memory");
			return -1;
		}
	}
	if (fc_http_start(http, o->prometheus_listen, err, sizeof(err))) {
		fc_log(FC_LOG_ERROR, "--prometheus-listen: %s", err);
		return -1;
	}
	fc_consumer_set_tick(c, on_tick, web);
	fc_log(FC_LOG_INFO, "http: listening on port %u (%s): /metrics /healthz%s",
	       fc_http_port(http), o->prometheus_listen, web->q ? " /sets/{key} /ips/{ip}" : "");
	return 0;
}

int main(int argc, char **argv)
{
	struct web web = {0};
	struct fc_http *http = NULL;
	struct fc_fsopts o;
	struct fc_consumer_sink sinks[MAX_SINKS];
	struct fc_consumer *c = NULL;
	size_t n_sinks = 0;
	uint64_t last_stats;
	char err[512];
	int rc, exit_code = 1;

	fc_log_set_prog("flowsink");
	fc_fsopts_init(&o);
	rc = fc_fsopts_parse_args(&o, argc, argv, stderr);
	if (rc == 1) {
		exit_code = 0;
		goto out;
	}
	if (rc)
		goto out;
	if (fc_log_set_level(o.log_level) != 0) {
		fc_log(FC_LOG_ERROR, "unknown --log-level '%s'", o.log_level);
		goto out;
	}
	if (!o.brokers) {
		fc_log(FC_LOG_ERROR, "--brokers is required (see --help)");
		goto out;
	}
	if (!o.redis && !o.postgres && !o.asn.n) {
		fc_log(FC_LOG_ERROR, "no sink: name --redis HOST:PORT, --postgres CONNINFO and/or "
				     "--asn N (see --help)");
		goto out;
	}
	install_signals();
	if (open_sinks(&o, sinks, &n_sinks, &web) != 0)
		goto out;
	rc = fc_consumer_new(&c, &o, sinks, n_sinks, &stop_requested, err, sizeof(err));
	if (rc) {
		fc_log(FC_LOG_ERROR, "%s", err);
		goto out;
	}
	if (strcmp(o.prometheus_listen, "off") != 0 &&
	    start_web(&o, c, sinks, n_sinks, &web, &http) != 0)
		goto out;
	fc_log(FC_LOG_INFO, "flowsink %s: group %s, topic %s, brokers %s, redis %s, postgres %s, "
	       "asn %s",
	       FC_VERSION, o.group, o.topic, o.brokers, o.redis ? o.redis : "-",
	       o.postgres ? "yes" : "-", o.asn.n ? o.asn.v[0] : "-");
	last_stats = fc_mono_ns();
	rc = 0;
	while (!stop_requested) {
		uint64_t now;

		rc = fc_consumer_step(c);
		if (rc)
			break;
		now = fc_mono_ns();
		if (print_requested ||
		    (o.stats_interval && now - last_stats >= o.stats_interval * 1000000000ull)) {
			print_requested = 0;
			last_stats = now;
			print_counters(c, sinks, n_sinks, "counters");
		}
	}
	if (rc == 0)
		rc = fc_consumer_close(c);
	exit_code = rc ? 1 : 0;
out:
	/* The HTTP thread reads the sinks and the document: it stops first. */
	fc_http_free(http);
	fc_doc_free(web.doc);
	fc_redis_query_free(web.q);
	if (c || n_sinks)
		print_counters(c, sinks, n_sinks, "final counters");
	fc_consumer_free(c);
	for (size_t i = 0; i < n_sinks; i++)
		sinks[i].ops->close(sinks[i].priv);
	fc_fsopts_fini(&o);
	return exit_code;
}
