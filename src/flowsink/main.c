/*
 * flowsink: the only file of the program that knows every module. Parses
 * the options, opens the sinks (the registry below), runs the consumer
 * (consumer.c) until SIGINT/SIGTERM, then drains: the batch in hand is
 * applied and its offsets committed before the process leaves the group.
 * SIGUSR1 prints the counters (they are always printed on exit).
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

#define MAX_SINKS 4

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

int main(int argc, char **argv)
{
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
	if (!o.redis && !o.postgres) {
		fc_log(FC_LOG_ERROR, "no sink: name --redis HOST:PORT and/or --postgres CONNINFO "
				     "(see --help)");
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
			n_sinks++;
		}
	}
	rc = fc_consumer_new(&c, &o, sinks, n_sinks, &stop_requested, err, sizeof(err));
	if (rc) {
		fc_log(FC_LOG_ERROR, "%s", err);
		goto out;
	}
	fc_log(FC_LOG_INFO, "flowsink %s: group %s, topic %s, brokers %s, redis %s, postgres %s",
	       FC_VERSION, o.group, o.topic, o.brokers, o.redis ? o.redis : "-",
	       o.postgres ? "yes" : "-");
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
	if (c || n_sinks)
		print_counters(c, sinks, n_sinks, "final counters");
	fc_consumer_free(c);
	for (size_t i = 0; i < n_sinks; i++)
		sinks[i].ops->close(sinks[i].priv);
	fc_fsopts_fini(&o);
	return exit_code;
}
