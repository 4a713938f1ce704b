/*
 * collector: the only file that knows every module. Parses the options,
 * opens the outputs and the input, runs the receive loop (one pipeline per
 * worker thread), and handles signals: SIGINT/SIGTERM stop receiving and
 * flush with a bound, SIGUSR1 prints the counters, SIGHUP reloads the
 * enrichment files. In --pcap mode the capture is replayed through the same
 * path and the process exits when it ends and the outputs are flushed.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/log.h"
#include "encode/json.h"
#include "core/stop.h"
#include "fc/err.h"
#include "fc/input.h"
#include "fc/output.h"
#include "metrics/metrics.h"
#include "pipeline/pipeline.h"

#define BATCH_MAX 1024

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t print_requested;
/* Bumped by SIGHUP; every worker reloads when it sees a new value. */
static volatile sig_atomic_t reload_generation;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		print_requested = 1;
	else if (sig == SIGHUP)
		reload_generation++;
	else {
		stop_requested = 1;
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

struct worker {
	int id;
	const struct fc_config *cfg;
	const struct fc_input_ops *in_ops;
	void *in_priv;
	struct fc_metrics *m;
	struct fc_pipeline pipe;
	const struct fc_output_inst *outs;
	size_t n_outs;
	pthread_t thread;
	int rc;
	atomic_bool print; /* main asks the worker to print its counters */
};

static struct fc_output_inst outs[FC_PIPELINE_MAX_OUTPUTS];
static size_t n_outs;
static struct worker *workers;
static size_t n_workers;

/* Sums the workers' registries (each worker counts alone, without locks)
 * and prints them. Values of running workers may be a moment old. */
static void print_counters(struct fc_metrics *main_m, const char *title)
{
	struct fc_metrics *sum = fc_metrics_new();

	fflush(stdout);
	fprintf(stderr, "# %s\n", title);
	if (!sum) {
		fc_metrics_print(main_m, stderr);
		return;
	}
	fc_metrics_merge(sum, main_m);
	for (size_t i = 1; workers && i < n_workers; i++) {
		if (workers[i].m)
			fc_metrics_merge(sum, workers[i].m);
	}
	fc_metrics_print(sum, stderr);
	fc_metrics_free(sum);
}

/* Opens one output per spec, serving the given stream. */
static int open_stream_outputs(const struct fc_strlist *specs, const char *def,
			       enum fc_msg_kind stream, const struct fc_config *cfg,
			       struct fc_metrics *m)
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
		if (!o->priv)
			return FC_ENOMEM;
		n_outs++;
		rc = ops->open(o->priv, colon ? colon + 1 : NULL, cfg, m);
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

static int open_outputs(const struct fc_config *cfg, struct fc_metrics *m)
{
	int rc;

	if (streams_collide(cfg))
		return FC_EINVAL;
	rc = open_stream_outputs(&cfg->outputs, "kafka", FC_MSG_FLOW, cfg, m);
	if (rc)
		return rc;
	return open_stream_outputs(&cfg->counters_outputs, NULL, FC_MSG_COUNTER, cfg, m);
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

static void close_outputs(void)
{
	for (size_t i = 0; i < n_outs; i++) {
		outs[i].ops->close(outs[i].priv);
		free(outs[i].priv);
	}
	n_outs = 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct fc_dgram batch[BATCH_MAX];
	int max = (int)(w->cfg->batch < BATCH_MAX ? w->cfg->batch : BATCH_MAX);
	uint64_t last_tick = fc_mono_ns(), last_stats = last_tick, clock_ns = 0;
	uint64_t stats_ns = w->cfg->stats_interval * 1000000000ull;
	bool replay = w->cfg->pcap != NULL;
	sig_atomic_t seen_generation = reload_generation;

	if (replay)
		max = BATCH_MAX;
	while (!stop_requested) {
		int n = w->in_ops->read(w->in_priv, batch, max, 200);
		uint64_t mono;

		if (n == FC_EEOF) {
			replay = false; /* finished, not interrupted */
			break;
		}
		if (n < 0) {
			w->rc = n;
			break;
		}
		if (n > 0) {
			fc_pipeline_run(&w->pipe, batch, n);
			clock_ns = batch[n - 1].time_ns;
		} else {
			/* Idle: outputs still serve delivery reports and send
			 * partial batches on time. */
			fc_pipeline_poll(&w->pipe);
		}
		mono = fc_mono_ns();
		/* Replays tick on capture time so expiry behaves as it did
		 * live; live input ticks on the wall clock. */
		if (replay || mono - last_tick >= 1000000000ull) {
			fc_pipeline_tick(&w->pipe, replay ? clock_ns : fc_now_ns(), mono);
			last_tick = mono;
		}
		if (w->id == 0 && (print_requested || (stats_ns && mono - last_stats >= stats_ns))) {
			print_requested = 0;
			last_stats = mono;
			print_counters(w->m, "counters");
		}
		if (seen_generation != reload_generation) {
			seen_generation = reload_generation;
			fc_pipeline_reload(&w->pipe);
		}
	}
	/* A replay stopped by a signal before the end of its capture did not
	 * publish everything: condition "replay interrupted", non-zero exit. */
	if (replay && stop_requested && w->rc == 0) {
		fc_log(FC_LOG_WARN, "replay interrupted before the end of the capture");
		w->rc = FC_EAGAIN;
	}
	fc_pipeline_finish(&w->pipe);
	return NULL;
}

int main(int argc, char **argv)
{
	struct fc_config cfg;
	struct fc_metrics *m = NULL;
	size_t n_started = 0;
	char err[256];
	int rc, exit_code = 1;

	fc_config_init(&cfg);
	rc = fc_config_parse_args(&cfg, argc, argv, stderr);
	if (rc == 1) {
		exit_code = 0;
		goto out;
	}
	if (rc)
		goto out;
	if (fc_log_set_level(cfg.log_level) != 0) {
		fc_log(FC_LOG_ERROR, "unknown --log-level '%s'", cfg.log_level);
		goto out;
	}
	{
		enum fc_json_style style;

		/* Checked here too: with no JSON output nothing else would. */
		if (fc_json_style_parse(cfg.json_style, &style) != 0) {
			fc_log(FC_LOG_ERROR, "--json-style %s: expected native or goflow2",
			       cfg.json_style);
			goto out;
		}
	}
	if (cfg.workers > 1 && cfg.template_file && !cfg.pcap) {
		/* Each worker has its own template engine; one file cannot hold
		 * them all without a merge we do not have yet. */
		fc_log(FC_LOG_ERROR, "--template-file works with one worker only (--workers 1)");
		goto out;
	}
	if (cfg.workers > 1 && cfg.template_ignore_port)
		fc_log(FC_LOG_WARN, "--template-ignore-port with several workers: an exporter whose "
				    "source port changes may reach a worker without its templates");
	if (cfg.pcap && cfg.workers > 1) {
		fc_log(FC_LOG_WARN, "--pcap replays with one worker");
		cfg.workers = 1;
	}
	install_signals();
	m = fc_metrics_new();
	if (!m)
		goto out;
	if (cfg.pcap && uses_embedded_kafka(&cfg))
		fc_log(FC_LOG_WARN, "--pcap into the embedded Kafka: it lives in this process and "
				    "is gone when the replay ends; name --kafka-brokers or an --output");
	if (open_outputs(&cfg, m) != 0)
		goto out;

	n_workers = cfg.workers;
	workers = calloc(n_workers, sizeof(*workers));
	if (!workers)
		goto out;
	for (size_t i = 0; i < n_workers; i++) {
		struct worker *w = &workers[i];

		w->id = (int)i;
		w->cfg = &cfg;
		w->in_ops = cfg.pcap ? &fc_input_pcap : &fc_input_udp;
		w->m = i == 0 ? m : fc_metrics_new();
		if (!w->m)
			goto out;
		w->in_priv = calloc(1, w->in_ops->priv_size);
		if (!w->in_priv)
			goto out;
		if (w->in_ops->open(w->in_priv, cfg.pcap, &cfg, w->m) != 0) {
			exit_code = 2; /* cannot start: address in use, bad --listen or capture */
			goto out;
		}
		rc = fc_pipeline_init(&w->pipe, &cfg, w->m, outs, n_outs, err, sizeof(err));
		if (rc != 0) {
			fc_log(FC_LOG_ERROR, "%s", err);
			exit_code = rc == FC_EINVAL ? 2 : 1; /* bad configuration: 2 */
			goto out;
		}
	}
	n_started = 1;
	for (size_t i = 1; i < n_workers; i++) {
		if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0) {
			fc_log(FC_LOG_ERROR, "cannot start worker %zu", i);
			stop_requested = 1;
			break;
		}
		n_started++;
	}
	/* Worker 0 runs on the main thread, which also serves the signals. */
	worker_main(&workers[0]);
	stop_requested = 1;
	for (size_t i = 1; i < n_started; i++)
		pthread_join(workers[i].thread, NULL);
	if (n_started < n_workers)
		workers[0].rc = FC_ESYS;
	exit_code = workers[0].rc ? 1 : 0;
out:
	if (workers) {
		for (size_t i = 0; i < n_workers; i++) {
			if (workers[i].in_priv) {
				workers[i].in_ops->close(workers[i].in_priv);
				free(workers[i].in_priv);
			}
		}
	}
	close_outputs();
	if (m && n_started > 0) /* a start that failed has nothing to count */
		print_counters(m, "final counters");
	if (workers) {
		for (size_t i = 0; i < n_workers; i++) {
			fc_pipeline_fini(&workers[i].pipe);
			if (i > 0)
				fc_metrics_free(workers[i].m);
		}
		free(workers);
	}
	fc_metrics_free(m);
	fc_config_fini(&cfg);
	return exit_code;
}
