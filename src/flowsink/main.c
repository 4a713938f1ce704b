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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "fc/err.h"
#include "flowsink/consumer.h"
#include "flowsink/options.h"
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
};

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
	/* The sink registry: each sink whose option is given is opened, in
	 * this order; the consumer commits only what all of them applied. */
	{
		const struct {
			const char *name, *arg;
			const struct fc_sink_ops *ops;
		} reg[] = {
			{"redis", o.redis, &fc_sink_redis},
			{"postgres", o.postgres, &fc_sink_postgres},
			{"prometheus", o.asn.n ? "on" : NULL, &fc_sink_prom},
		};

		_Static_assert(sizeof(reg) / sizeof(reg[0]) <= MAX_SINKS, "a slot per sink");
		for (size_t i = 0; i < sizeof(reg) / sizeof(reg[0]); i++) {
			if (!reg[i].arg)
				continue;
			sinks[n_sinks].ops = reg[i].ops;
			rc = reg[i].ops->open(&sinks[n_sinks].priv, &o, &stop_requested, err,
					      sizeof(err));
			if (rc) {
				fc_log(FC_LOG_ERROR, "%s: %s", reg[i].name, err);
				goto out;
			}
			if (reg[i].ops == &fc_sink_prom)
				web.prom = sinks[n_sinks].priv;
			n_sinks++;
		}
	}
	rc = fc_consumer_new(&c, &o, sinks, n_sinks, &stop_requested, err, sizeof(err));
	if (rc) {
		fc_log(FC_LOG_ERROR, "%s", err);
		goto out;
	}
	if (strcmp(o.prometheus_listen, "off") != 0) {
		web.c = c;
		web.sinks = sinks;
		web.n_sinks = n_sinks;
		web.doc = fc_doc_new();
		http = fc_http_new();
		if (!web.doc || !http || fc_http_route(http, "/metrics", http_metrics, &web) != 0 ||
		    fc_http_route(http, "/healthz", http_healthz, &web) != 0) {
			fc_log(FC_LOG_ERROR, "out of memory");
			goto out;
		}
		rc = fc_http_start(http, o.prometheus_listen, err, sizeof(err));
		if (rc) {
			fc_log(FC_LOG_ERROR, "--prometheus-listen: %s", err);
			goto out;
		}
		fc_consumer_set_tick(c, on_tick, &web);
		fc_log(FC_LOG_INFO, "http: listening on port %u (%s): /metrics /healthz",
		       fc_http_port(http), o.prometheus_listen);
	}
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
	if (c || n_sinks)
		print_counters(c, sinks, n_sinks, "final counters");
	fc_consumer_free(c);
	for (size_t i = 0; i < n_sinks; i++)
		sinks[i].ops->close(sinks[i].priv);
	fc_fsopts_fini(&o);
	return exit_code;
}
