/*
 * collector: the only file that knows every module. Parses the options,
 * opens the outputs and the input, runs the receive loop (one pipeline per
 * worker thread), serves HTTP (/metrics, /healthz, /exporters, /templates)
 * from libmicrohttpd's thread, and handles signals: SIGINT/SIGTERM stop
 * receiving and flush with a bound, SIGUSR1 prints the counters, SIGHUP
 * reloads the enrichment files. In --pcap mode the capture is replayed
 * through the same path and the process exits when it ends and the
 * outputs are flushed.
 *
 * Threads and what they touch: each worker owns its registry and publishes
 * a copy about once a second (fc_metrics_publish); outputs shared by the
 * workers own a registry each, guarded by the output's lock; the HTTP
 * thread and the reporter thread (SIGUSR1 and --stats-interval prints)
 * only merge published copies. Signal flags are atomics.
 *
 * Exit status (README "Exit status"): 0 everything received was written;
 * 1 runtime failure; 2 configuration refused; 3 flows lost at an output
 * (undelivered, dropped on a full queue, write errors); 4 input incomplete
 * (a capture that could not be read to its end, a replay stopped by a
 * signal). When several apply the smallest non-zero code wins.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "core/log.h"
#include "encode/json.h"
#include "core/stop.h"
#include "fc/err.h"
#include "fc/input.h"
#include "fc/output.h"
#include "http/doc.h"
#include "http/http.h"
#include "metrics/health.h"
#include "metrics/metrics.h"
#include "pipeline/pipeline.h"

#define BATCH_MAX 1024
#define PUBLISH_NS 1000000000ull   /* workers publish their counters this often */
#define STALL_NS 10000000000ull    /* a worker silent this long fails /healthz */
#define DOC_WAIT_MS 1000u          /* how long /exporters waits for a worker */

enum {
	EXIT_OK = 0,
	EXIT_RUNTIME = 1,
	EXIT_CONFIG = 2,
	EXIT_LOST = 3,
	EXIT_INCOMPLETE = 4,
};

static atomic_bool stop_requested;
static atomic_int stop_signal;
static atomic_bool print_requested;
/* Bumped by SIGHUP; every worker reloads when it sees a new value. */
static atomic_uint reload_generation;
/* Bumped when a fresh publication is wanted (SIGUSR1). */
static atomic_uint publish_generation;

static void on_signal(int sig)
{
	/* Lock-free atomics are async-signal-safe. */
	if (sig == SIGUSR1) {
		atomic_store(&print_requested, true);
		atomic_fetch_add(&publish_generation, 1);
	} else if (sig == SIGHUP) {
		atomic_fetch_add(&reload_generation, 1);
	} else {
		atomic_store(&stop_signal, sig);
		atomic_store(&stop_requested, true);
		fc_stop_request(); /* for outputs waiting on a full queue */
	}
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: poll() returns EINTR so the loop sees the flag. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

enum { DOC_EXPORTERS = 0, DOC_TEMPLATES = 1, DOC_COUNT };

struct worker {
	int id;
	const struct fc_config *cfg;
	const struct fc_input_ops *in_ops;
	void *in_priv;
	struct fc_metrics *m;
	struct fc_pipeline pipe;
	bool pipe_init;
	struct fc_doc *doc[DOC_COUNT];
	struct fc_metrics_hist batch_hist;
	pthread_t thread;
	int rc;
	bool eof; /* the input ended (replay read to its end) */
	_Atomic uint64_t beat_ns; /* last loop turn, for /healthz */
};

static struct fc_output_inst outs[FC_PIPELINE_MAX_OUTPUTS];
static struct fc_metrics *out_m[FC_PIPELINE_MAX_OUTPUTS];
static const char *out_spec[FC_PIPELINE_MAX_OUTPUTS];
static size_t n_outs;
static struct worker *workers;
static size_t n_workers;
static struct fc_health *health;
static uint64_t start_time_ns;

/* Families reported per worker (label worker="N") instead of summed. */
static const char *const per_worker[] = {"udp_kernel_drops_total", "udp_datagrams_total",
					 "udp_receive_queue_bytes", "read_batch_datagrams",
					 "enrich_database_build_epoch_seconds", NULL};

static void worker_health(uint64_t now)
{
	for (size_t i = 0; workers && i < n_workers; i++) {
		uint64_t beat = atomic_load(&workers[i].beat_ns);
		char name[32];

		snprintf(name, sizeof(name), "worker %zu", i);
		if (beat && now - beat > STALL_NS)
			fc_health_fail(health, name, 0, "no loop turn for %llu s (blocked output?)",
				       (unsigned long long)((now - beat) / 1000000000ull));
		else
			fc_health_ok(health, name);
	}
}

/* Merges the published copies of every registry into a fresh one, plus
 * the process-level gauges. The caller frees it. Any thread. */
static struct fc_metrics *collect(bool include_outputs)
{
	struct fc_metrics *sum = fc_metrics_new();
	char lab[64], reason[FC_HEALTH_REASON_MAX];

	if (!sum)
		return NULL;
	for (size_t i = 0; workers && i < n_workers; i++) {
		if (!workers[i].m)
			continue;
		snprintf(lab, sizeof(lab), "worker=\"%zu\"", i);
		fc_metrics_merge_labeled(sum, workers[i].m, lab, per_worker);
	}
	for (size_t i = 0; include_outputs && i < n_outs; i++) {
		/* Guarded by the output's own lock: safe from here. */
		fc_metrics_publish(out_m[i]);
		fc_metrics_merge(sum, out_m[i]);
	}
	*fc_metrics_gauge(sum, "build_info", "version=\"" FC_VERSION "\"",
			  "always 1; the version label says which build runs") = 1;
	*fc_metrics_gauge(sum, "start_time_seconds", NULL,
			  "Unix time the collector started") = start_time_ns / 1000000000ull;
	*fc_metrics_gauge(sum, "workers", NULL, "receive threads") = n_workers;
	worker_health(fc_mono_ns());
	*fc_metrics_gauge(sum, "healthy", NULL,
			  "1 when /healthz answers 200 (outputs accept data, workers run)") =
		fc_health_status(health, fc_mono_ns(), reason, sizeof(reason)) ? 1 : 0;
	return sum;
}

static void print_counters(const char *title)
{
	struct fc_metrics *sum = collect(true);
	char ts[40];

	if (!sum)
		return;
	fflush(stdout);
	fc_log_timestamp(fc_now_ns(), ts, sizeof(ts));
	fprintf(stderr, "# %s %s\n", title, ts);
	fc_metrics_print(sum, stderr);
	fc_metrics_free(sum);
}

/* --- HTTP handlers (run on libmicrohttpd's thread) --- */

static void http_metrics(void *ctx, struct fc_http_reply *r)
{
	struct fc_metrics *sum = collect(true);

	(void)ctx;
	if (!sum) {
		r->status = 500;
		fputs("out of memory\n", r->body);
		return;
	}
	r->content_type = "text/plain; version=0.0.4; charset=utf-8";
	fc_metrics_print(sum, r->body);
	fc_metrics_free(sum);
}

static void http_healthz(void *ctx, struct fc_http_reply *r)
{
	char reason[FC_HEALTH_REASON_MAX];
	uint64_t now = fc_mono_ns();

	(void)ctx;
	worker_health(now);
	if (fc_health_status(health, now, reason, sizeof(reason))) {
		fputs("ok\n", r->body);
		return;
	}
	r->status = 503;
	fprintf(r->body, "%s\n", reason);
}

/* Trims ASCII white space; returns the inner span of a JSON array, or
 * NULL when doc is not one. */
static const char *json_array_inner(const char *doc, size_t len, size_t *inner_len)
{
	while (len && (doc[len - 1] == ' ' || doc[len - 1] == '\n' || doc[len - 1] == '\t'))
		len--;
	while (len && (*doc == ' ' || *doc == '\n' || *doc == '\t')) {
		doc++;
		len--;
	}
	if (len < 2 || doc[0] != '[' || doc[len - 1] != ']')
		return NULL;
	*inner_len = len - 2;
	return doc + 1;
}

/* Asks every worker for its document; arrays are concatenated into one
 * array, anything else is served as an array of per-worker documents. */
static void serve_docs(int which, struct fc_http_reply *r)
{
	bool first = true;

	r->content_type = "application/json";
	fputc('[', r->body);
	for (size_t i = 0; workers && i < n_workers; i++) {
		char *doc = NULL;
		size_t len = 0, ilen;
		const char *inner;

		if (!workers[i].doc[which] ||
		    fc_doc_request(workers[i].doc[which], DOC_WAIT_MS, &doc, &len) < 0)
			continue;
		inner = json_array_inner(doc, len, &ilen);
		if (inner) {
			while (ilen && (*inner == ' ' || *inner == '\n')) {
				inner++;
				ilen--;
			}
			if (ilen) {
				fputs(first ? "" : ",", r->body);
				fwrite(inner, 1, ilen, r->body);
				first = false;
			}
		} else if (len) {
			fputs(first ? "" : ",", r->body);
			fwrite(doc, 1, len, r->body);
			first = false;
		}
		free(doc);
	}
	fputs("]\n", r->body);
}

static void http_exporters(void *ctx, struct fc_http_reply *r)
{
	(void)ctx;
	serve_docs(DOC_EXPORTERS, r);
}

static void http_templates(void *ctx, struct fc_http_reply *r)
{
	(void)ctx;
	serve_docs(DOC_TEMPLATES, r);
}

/* --- documents rendered on the worker thread that owns the state --- */

/* Runs on the worker that owns the pipeline, off its datagram path. */
static int render_doc(struct worker *w, int which, FILE *out)
{
	if (which == DOC_EXPORTERS)
		return fc_pipeline_exporters_json(&w->pipe, out);
	return fc_pipeline_templates_json(&w->pipe, out);
}

static void publish_doc(struct worker *w, int which)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc;

	if (!f) {
		fc_doc_publish(w->doc[which], NULL, 0);
		return;
	}
	rc = render_doc(w, which, f);
	if (fclose(f) != 0 || rc != 0) {
		free(buf);
		fc_doc_publish(w->doc[which], NULL, 0);
		return;
	}
	fc_doc_publish(w->doc[which], buf, len);
}

/* --- outputs --- */

/* Opens one output per spec, serving the given stream; each gets a
 * registry of its own (include/fc/output.h). */
static int open_stream_outputs(const struct fc_opt_list *specs, const char *def,
			       enum fc_msg_kind stream, const struct fc_config *cfg)
{
	size_t n = specs->n ? specs->n : (def ? 1 : 0);

	for (size_t i = 0; i < n; i++) {
		const char *spec = specs->n ? specs->v[i] : def;
		const char *colon = strchr(spec, ':');
		size_t nlen = colon ? (size_t)(colon - spec) : strlen(spec);
		const struct fc_output_ops *ops = fc_output_find(spec, nlen);
		struct fc_output_inst *o;
		int rc;

		if (!ops) {
			fc_log(FC_LOG_ERROR, "unknown output '%s' (%s)", spec,
			       stream == FC_MSG_FLOW ? "kafka, file:PATH, json:PATH"
						     : "file:PATH, json:PATH");
			return FC_EINVAL;
		}
		if (stream == FC_MSG_COUNTER && ops->own_streams) {
			fc_log(FC_LOG_ERROR, "--counters-output %s: the %s output already sends "
					     "counter samples to a stream of their own "
					     "(--kafka-counter-topic)",
			       spec, ops->name);
			return FC_EINVAL;
		}
		if (n_outs >= FC_PIPELINE_MAX_OUTPUTS) {
			fc_log(FC_LOG_ERROR, "at most %d outputs", FC_PIPELINE_MAX_OUTPUTS);
			return FC_EINVAL;
		}
		o = &outs[n_outs];
		o->ops = ops;
		o->stream = stream;
		o->priv = calloc(1, ops->priv_size ? ops->priv_size : 1);
		out_m[n_outs] = fc_metrics_new();
		if (!o->priv || !out_m[n_outs]) {
			free(o->priv);
			fc_metrics_free(out_m[n_outs]);
			out_m[n_outs] = NULL;
			return FC_ENOMEM;
		}
		fc_metrics_set_health(out_m[n_outs], health);
		out_spec[n_outs] = spec;
		n_outs++;
		rc = ops->open(o->priv, colon ? colon + 1 : NULL, cfg, out_m[n_outs - 1]);
		if (rc)
			return rc;
	}
	return 0;
}

/* Two streams into one file (or both to stdout) would mix message types
 * again: refused. Compares the text after the scheme. */
static bool streams_collide(const struct fc_config *cfg)
{
	for (size_t i = 0; i < cfg->outputs.n; i++) {
		const char *a = strchr(cfg->outputs.v[i], ':');

		for (size_t j = 0; a && j < cfg->counters_outputs.n; j++) {
			const char *b = strchr(cfg->counters_outputs.v[j], ':');

			if (b && strcmp(a, b) == 0) {
				fc_log(FC_LOG_ERROR, "--output %s and --counters-output %s name the same "
						     "file: each stream needs its own",
				       cfg->outputs.v[i], cfg->counters_outputs.v[j]);
				return true;
			}
		}
	}
	return false;
}

static int open_outputs(const struct fc_config *cfg)
{
	int rc;

	if (streams_collide(cfg))
		return FC_EINVAL;
	rc = open_stream_outputs(&cfg->outputs, "kafka", FC_MSG_FLOW, cfg);
	if (rc)
		return rc;
	return open_stream_outputs(&cfg->counters_outputs, NULL, FC_MSG_COUNTER, cfg);
}

/* True when the Kafka output will run on the embedded, in-process cluster. */
static bool uses_embedded_kafka(const struct fc_config *c)
{
	if (c->kafka_brokers)
		return false;
	if (c->outputs.n == 0)
		return true; /* kafka is the default output */
	for (size_t i = 0; i < c->outputs.n; i++) {
		const char *o = c->outputs.v[i];

		if (strncmp(o, "kafka", 5) == 0 && (o[5] == '\0' || o[5] == ':'))
			return true;
	}
	return false;
}

/* Closes the outputs (final flush). Workers and the HTTP server are
 * stopped: their registries are then published from here. */
static void close_outputs(void)
{
	for (size_t i = 0; i < n_outs; i++) {
		/* The output's lock dies with it. */
		fc_metrics_set_guard(out_m[i], NULL);
		outs[i].ops->close(outs[i].priv);
		free(outs[i].priv);
		fc_metrics_publish(out_m[i]);
	}
}

static void free_outputs(void)
{
	for (size_t i = 0; i < n_outs; i++)
		fc_metrics_free(out_m[i]);
	n_outs = 0;
}

/* --- the receive loop --- */

static void *worker_main(void *arg)
{
	static const uint64_t batch_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
	struct worker *w = arg;
	struct fc_dgram batch[BATCH_MAX];
	int max = (int)(w->cfg->batch < BATCH_MAX ? w->cfg->batch : BATCH_MAX);
	uint64_t last_tick = fc_mono_ns(), last_pub = last_tick, clock_ns = 0;
	bool replay = w->cfg->pcap != NULL;
	unsigned seen_generation = atomic_load(&reload_generation);
	unsigned seen_publish = atomic_load(&publish_generation);

	fc_metrics_histogram(w->m, &w->batch_hist, "read_batch_datagrams", NULL,
			     "datagrams per read call (full batches mean the worker is busy)",
			     batch_bounds, sizeof(batch_bounds) / sizeof(batch_bounds[0]));
	if (replay)
		max = BATCH_MAX;
	while (!atomic_load_explicit(&stop_requested, memory_order_relaxed)) {
		int n = w->in_ops->read(w->in_priv, batch, max, 200);
		uint64_t mono;
		unsigned gen;

		if (n == FC_EEOF) {
			w->eof = true;
			break;
		}
		if (n < 0) {
			w->rc = n;
			break;
		}
		if (n > 0) {
			fc_pipeline_run(&w->pipe, batch, n);
			clock_ns = batch[n - 1].time_ns;
			fc_metrics_observe(&w->batch_hist, (uint64_t)n);
		} else {
			/* Idle: outputs still serve delivery reports and send
			 * partial batches on time. */
			fc_pipeline_poll(&w->pipe);
		}
		mono = fc_mono_ns();
		atomic_store_explicit(&w->beat_ns, mono, memory_order_relaxed);
		/* Replays tick on capture time so expiry behaves as it did
		 * live; live input ticks on the wall clock. */
		if (replay || mono - last_tick >= 1000000000ull) {
			fc_pipeline_tick(&w->pipe, replay ? clock_ns : fc_now_ns(), mono);
			last_tick = mono;
		}
		gen = atomic_load_explicit(&publish_generation, memory_order_relaxed);
		if (mono - last_pub >= PUBLISH_NS || gen != seen_publish) {
			seen_publish = gen;
			last_pub = mono;
			fc_metrics_publish(w->m);
		}
		for (int d = 0; d < DOC_COUNT; d++) {
			if (w->doc[d] && fc_doc_wanted(w->doc[d]))
				publish_doc(w, d);
		}
		gen = atomic_load_explicit(&reload_generation, memory_order_relaxed);
		if (seen_generation != gen) {
			seen_generation = gen;
			fc_pipeline_reload(&w->pipe);
		}
	}
	fc_pipeline_finish(&w->pipe);
	fc_metrics_publish(w->m);
	/* Readers waiting now get the last state instead of a timeout. */
	for (int d = 0; d < DOC_COUNT; d++) {
		if (w->doc[d])
			publish_doc(w, d);
	}
	return NULL;
}

/* SIGUSR1 and --stats-interval prints, off the receive threads. */
struct reporter {
	pthread_t thread;
	bool started;
	uint64_t interval_ns;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool quit;
};

static void *reporter_main(void *arg)
{
	struct reporter *r = arg;
	uint64_t last = fc_mono_ns();

	pthread_mutex_lock(&r->lock);
	while (!r->quit) {
		struct timespec until;
		uint64_t now;
		bool periodic;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 100000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&r->cond, &r->lock, &until);
		if (r->quit)
			break;
		now = fc_mono_ns();
		/* Periodic prints follow the log level; SIGUSR1 always prints. */
		periodic = r->interval_ns && now - last >= r->interval_ns &&
			   fc_log_enabled(FC_LOG_WARN);
		if (periodic)
			atomic_fetch_add(&publish_generation, 1);
		if (!periodic && !atomic_load(&print_requested))
			continue;
		pthread_mutex_unlock(&r->lock);
		/* Give the workers a loop turn (<= 200 ms) to publish. */
		nanosleep(&(struct timespec){.tv_nsec = 300000000L}, NULL);
		atomic_store(&print_requested, false);
		last = fc_mono_ns();
		print_counters("counters");
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

static void reporter_stop(struct reporter *r)
{
	if (!r->started)
		return;
	pthread_mutex_lock(&r->lock);
	r->quit = true;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	r->started = false;
}

/* Starts the HTTP server unless --http-listen off; *out NULL then. */
static int start_http(const struct fc_config *cfg, struct fc_http **out)
{
	struct fc_http *h;
	char err[256];
	int rc;

	/* A replay is a batch job: no server unless asked for. */
	const char *listen = cfg->http_listen ? cfg->http_listen
			     : cfg->pcap      ? "off"
					      : FC_HTTP_LISTEN_DEFAULT;

	*out = NULL;
	if (strcmp(listen, "off") == 0)
		return 0;
	h = fc_http_new();
	if (!h || fc_http_route(h, "/metrics", http_metrics, NULL) != 0 ||
	    fc_http_route(h, "/healthz", http_healthz, NULL) != 0 ||
	    fc_http_route(h, "/exporters", http_exporters, NULL) != 0 ||
	    fc_http_route(h, "/templates", http_templates, NULL) != 0) {
		fc_http_free(h);
		return FC_ENOMEM;
	}
	rc = fc_http_start(h, listen, err, sizeof(err));
	if (rc) {
		fc_log(FC_LOG_ERROR, "%s (--http-listen off runs without it)", err);
		fc_http_free(h);
		return rc;
	}
	/* The bound port, for port 0 (tests, several instances). */
	fc_log(FC_LOG_INFO, "http on port %u (%s): /metrics /healthz /exporters /templates",
	       fc_http_port(h), listen);
	*out = h;
	return 0;
}

/* Exit status from the final counters (see the top of this file). */
static int final_status(const struct fc_config *cfg, const struct fc_metrics *sum, int rc)
{
	static const char *const lost[] = {
		"kafka_flush_lost_total", "kafka_delivery_failed_total",
		"kafka_queue_full_drops_total", "kafka_produce_errors_total", "kafka_stop_drops_total",
		"spool_dropped_total", "output_errors_total",
	};
	uint64_t n_lost = 0;
	int status = EXIT_OK;

	if (rc)
		return rc;
	for (size_t i = 0; i < sizeof(lost) / sizeof(lost[0]); i++) {
		/* With --spool a record Kafka refused is kept on disk and sent
		 * again: counted as failed, not lost. */
		if (cfg->spool_dir && strcmp(lost[i], "kafka_delivery_failed_total") == 0)
			continue;
		n_lost += fc_metrics_sum(sum, lost[i]);
	}
	/* Every reason that applies is logged; the smallest status wins and
	 * its reason is the last line. */
	if (fc_metrics_sum(sum, "pcap_read_errors_total")) {
		fc_log(FC_LOG_ERROR, "the capture could not be read to its end (exit status %d)",
		       EXIT_INCOMPLETE);
		status = EXIT_INCOMPLETE;
	} else if (cfg->pcap && workers && !workers[0].eof) {
		fc_log(FC_LOG_ERROR, "replay interrupted by signal %d before the end of the capture "
				     "(exit status %d)",
		       atomic_load(&stop_signal), EXIT_INCOMPLETE);
		status = EXIT_INCOMPLETE;
	}
	if (n_lost) {
		fc_log(FC_LOG_ERROR, "%llu messages were not written by an output (exit status %d)",
		       (unsigned long long)n_lost, EXIT_LOST);
		status = EXIT_LOST;
	}
	return status;
}

/* Option errors are written as log lines (time-stamped, one line each). */
static int parse_config(struct fc_config *cfg, int argc, char **argv)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *err = open_memstream(&buf, &len);
	int rc;

	if (!err)
		return fc_config_parse_args(cfg, argc, argv, stderr);
	rc = fc_config_parse_args(cfg, argc, argv, err);
	fclose(err);
	for (char *line = buf, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (strncmp(line, "collector: ", 11) == 0)
			line += 11;
		fc_log(FC_LOG_ERROR, "%s", line);
	}
	free(buf);
	return rc;
}

static int exit_for(int rc)
{
	return rc == FC_ENOMEM || rc == FC_ESYS ? EXIT_RUNTIME : EXIT_CONFIG;
}

/* What the option table cannot check alone; warnings for combinations
 * that work but surprise. Returns 0, or -1 after logging (configuration). */
static int check_config(struct fc_config *cfg)
{
	enum fc_json_style style;

	if (fc_log_set_level(cfg->log_level) != 0) {
		fc_log(FC_LOG_ERROR, "unknown --log-level '%s'", cfg->log_level);
		return -1;
	}
	/* Checked here too: with no JSON output nothing else would. */
	if (fc_json_style_parse(cfg->json_style, &style) != 0) {
		fc_log(FC_LOG_ERROR, "--json-style %s: expected native or goflow2", cfg->json_style);
		return -1;
	}
	if (cfg->workers > 1 && cfg->template_ignore_port)
		fc_log(FC_LOG_WARN, "--template-ignore-port with several workers: an exporter whose "
				    "source port changes may reach a worker without its templates");
	if (cfg->pcap && cfg->workers > 1) {
		fc_log(FC_LOG_WARN, "--pcap replays with one worker");
		cfg->workers = 1;
	}
	if (cfg->pcap && uses_embedded_kafka(cfg))
		fc_log(FC_LOG_WARN, "--pcap into the embedded Kafka: it lives in this process and "
				    "is gone when the replay ends; name --kafka-brokers or an --output");
	return 0;
}

/* Allocates the workers and opens each one's input and pipeline. Returns
 * EXIT_OK or the exit status the failure calls for (logged). */
static int open_workers(const struct fc_config *cfg)
{
	char err[256];
	int rc;

	n_workers = cfg->workers;
	workers = calloc(n_workers, sizeof(*workers));
	if (!workers)
		return EXIT_RUNTIME;
	for (size_t i = 0; i < n_workers; i++) {
		struct worker *w = &workers[i];

		w->id = (int)i;
		w->cfg = cfg;
		w->in_ops = cfg->pcap ? &fc_input_pcap : &fc_input_udp;
		w->m = fc_metrics_new();
		if (!w->m)
			return EXIT_RUNTIME;
		fc_metrics_set_health(w->m, health);
		for (int d = 0; d < DOC_COUNT; d++) {
			w->doc[d] = fc_doc_new();
			if (!w->doc[d])
				return EXIT_RUNTIME;
		}
		w->in_priv = calloc(1, w->in_ops->priv_size);
		if (!w->in_priv)
			return EXIT_RUNTIME;
		rc = w->in_ops->open(w->in_priv, cfg->pcap, cfg, w->m);
		if (rc) {
			/* Cannot start: address in use, bad --listen, unreadable
			 * capture: the configuration names what is not there. */
			return rc == FC_ENOMEM ? EXIT_RUNTIME : EXIT_CONFIG;
		}
		rc = fc_pipeline_init(&w->pipe, cfg, w->m, outs, n_outs, err, sizeof(err));
		w->pipe_init = true;
		if (rc) {
			/* The files the options name (databases, networks) could
			 * not be used: configuration, whatever the errno. */
			fc_log(FC_LOG_ERROR, "%s", err);
			return rc == FC_ENOMEM ? EXIT_RUNTIME : EXIT_CONFIG;
		}
		fc_pipeline_set_worker(&w->pipe, (unsigned)i);
	}
	return EXIT_OK;
}

/* Runs worker 0 on this thread and the others on their own until the
 * input ends or a stop is requested. *out_started: workers that ran.
 * Returns EXIT_OK or EXIT_RUNTIME (a worker failed or did not start). */
static int run_workers(size_t *out_started)
{
	size_t n_started = 1;
	int rc = EXIT_OK;

	for (size_t i = 1; i < n_workers; i++) {
		if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0) {
			fc_log(FC_LOG_ERROR, "cannot start worker %zu", i);
			atomic_store(&stop_requested, true);
			break;
		}
		n_started++;
	}
	/* Worker 0 runs on the main thread; signals interrupt its poll. */
	worker_main(&workers[0]);
	atomic_store(&stop_requested, true);
	for (size_t i = 1; i < n_started; i++)
		pthread_join(workers[i].thread, NULL);
	if (n_started < n_workers)
		rc = EXIT_RUNTIME;
	for (size_t i = 0; i < n_started; i++) {
		if (workers[i].rc)
			rc = EXIT_RUNTIME;
	}
	*out_started = n_started;
	return rc;
}

/* Closes inputs and outputs (the outputs flush within their bound), prints
 * the final counters and turns them into the exit status. */
static int finish(const struct fc_config *cfg, size_t n_started, int exit_code)
{
	struct fc_metrics *final;

	for (size_t i = 0; workers && i < n_workers; i++) {
		if (workers[i].in_priv) {
			workers[i].in_ops->close(workers[i].in_priv);
			free(workers[i].in_priv);
			workers[i].in_priv = NULL;
		}
		/* Counters of inputs closed after the last loop turn. */
		if (workers[i].m)
			fc_metrics_publish(workers[i].m);
	}
	close_outputs();
	if (!n_started)
		return exit_code;
	final = collect(true);
	if (!final)
		return exit_code;
	if (fc_log_enabled(FC_LOG_WARN)) {
		fflush(stdout);
		fprintf(stderr, "# final counters\n");
		fc_metrics_print(final, stderr);
	}
	exit_code = final_status(cfg, final, exit_code);
	fc_metrics_free(final);
	return exit_code;
}

static void free_workers(void)
{
	for (size_t i = 0; workers && i < n_workers; i++) {
		if (workers[i].pipe_init)
			fc_pipeline_fini(&workers[i].pipe);
		fc_metrics_free(workers[i].m);
		for (int d = 0; d < DOC_COUNT; d++)
			fc_doc_free(workers[i].doc[d]);
	}
	free(workers);
	workers = NULL;
}

int main(int argc, char **argv)
{
	struct fc_config cfg;
	struct fc_http *http = NULL;
	struct reporter rep = {.started = false};
	size_t n_started = 0;
	int rc, exit_code = EXIT_CONFIG;

	start_time_ns = fc_now_ns();
	fc_config_init(&cfg);
	rc = parse_config(&cfg, argc, argv);
	if (rc == 1) {
		exit_code = EXIT_OK;
		goto out;
	}
	if (rc || check_config(&cfg) != 0)
		goto out;
	install_signals();
	exit_code = EXIT_RUNTIME;
	health = fc_health_new();
	if (!health)
		goto out;
	rc = open_outputs(&cfg);
	if (rc) {
		exit_code = exit_for(rc);
		goto out;
	}
	exit_code = open_workers(&cfg);
	if (exit_code != EXIT_OK)
		goto out;
	rc = start_http(&cfg, &http);
	if (rc) {
		exit_code = rc == FC_EINVAL ? EXIT_CONFIG : EXIT_RUNTIME;
		goto out;
	}
	rep.interval_ns = cfg.stats_interval * 1000000000ull;
	if (pthread_mutex_init(&rep.lock, NULL) == 0 && pthread_cond_init(&rep.cond, NULL) == 0 &&
	    pthread_create(&rep.thread, NULL, reporter_main, &rep) == 0)
		rep.started = true;
	exit_code = run_workers(&n_started);
out:
	reporter_stop(&rep);
	fc_http_free(http);
	exit_code = finish(&cfg, n_started, exit_code);
	free_workers();
	free_outputs();
	fc_health_free(health);
	fc_config_fini(&cfg);
	return exit_code;
}
