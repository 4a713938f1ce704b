/*
 * File outputs: `file:PATH` writes the length-delimited protobuf stream
 * (what ClickHouse's Protobuf format and flowcat read), `json:PATH` one JSON
 * object per line (src/encode/json.c). PATH "-" is stdout. Writes are
 * buffered by stdio and flushed on poll, so a reader following the file
 * sees whole batches. An instance writes one stream: --output gets the
 * flows, --counters-output the sFlow counter samples (the pipeline hands
 * each only its kind), so every file holds one message type. JSON follows
 * --json-style (native, or goflow2's formatter for flows; json.h).
 *
 * Counting: a message is counted written (output_messages_total) only
 * once stdio has handed it to the kernel without error (at the flush that
 * follows it); messages in a buffer whose write fails (disk full,
 * /dev/full, a closed pipe) are counted in output_errors_total, the first
 * failure is logged at once and later ones summed every 10 s, and the
 * output's health check fails until a flush succeeds again.
 *
 * Thread affinity: a mutex serializes writers, so several pipeline threads
 * may share one file; the counters are written under it (it is the
 * registry's guard).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "core/log.h"
#include "encode/json.h"
#include "fc/err.h"
#include "fc/output.h"
#include "metrics/health.h"
#include "metrics/metrics.h"

struct file_out {
	FILE *f;
	bool is_stdout;
	bool json;
	enum fc_json_style style;
	pthread_mutex_t lock;
	bool lock_init;
	uint64_t *written;
	uint64_t *errors;
	uint64_t pending; /* written to stdio, not yet flushed */
	struct fc_health *health;
	struct fc_logsum err_log;
	char name[300]; /* health check name: "output json:PATH" */
	char path[256];
};

static int open_common(struct file_out *o, const char *arg, const struct fc_config *cfg,
		       struct fc_metrics *m, bool json)
{
	char labels[320];

	o->json = json;
	if (json && fc_json_style_parse(cfg ? cfg->json_style : NULL, &o->style) != 0) {
		fc_log(FC_LOG_ERROR, "--json-style %s: expected native or goflow2", cfg->json_style);
		return FC_EINVAL;
	}
	if (!arg || !arg[0]) {
		fc_log(FC_LOG_ERROR, "output %s needs a path (%s:PATH, - for stdout)",
		       json ? "json" : "file", json ? "json" : "file");
		return FC_EINVAL;
	}
	snprintf(o->path, sizeof(o->path), "%s", arg);
	if (strcmp(arg, "-") == 0) {
		o->f = stdout;
		o->is_stdout = true;
	} else {
		o->f = fopen(arg, json ? "w" : "wb");
		if (!o->f) {
			fc_log(FC_LOG_ERROR, "cannot open output %s: %s", arg, strerror(errno));
			return FC_ESYS;
		}
	}
	if (pthread_mutex_init(&o->lock, NULL) != 0)
		return FC_ESYS;
	o->lock_init = true;
	fc_metrics_set_guard(m, &o->lock);
	o->health = fc_metrics_health(m);
	snprintf(o->name, sizeof(o->name), "output %s:%s", json ? "json" : "file", arg);
	snprintf(labels, sizeof(labels), "output=\"%s\"", json ? "json" : "file");
	o->written = fc_metrics_counter(m, "output_messages_total", labels,
					"messages written by output (file outputs: once flushed)");
	o->errors = fc_metrics_counter(m, "output_errors_total", labels,
				       "messages an output failed to write (dropped)");
	return 0;
}

static int open_file(void *priv, const char *arg, const struct fc_config *cfg, struct fc_metrics *m)
{
	return open_common(priv, arg, cfg, m, false);
}

static int open_json(void *priv, const char *arg, const struct fc_config *cfg, struct fc_metrics *m)
{
	return open_common(priv, arg, cfg, m, true);
}

/* What stdio held since the last good flush is lost: count it, say it. */
static void write_failed(struct file_out *o, uint64_t n, int err)
{
	*o->errors += n;
	fc_logsum_event(&o->err_log, fc_mono_ns(), n, FC_LOG_ERROR,
			"%s: write failed: %s; %llu messages lost", o->name, strerror(err),
			(unsigned long long)n);
	fc_health_fail(o->health, o->name, 0, "write failed: %s", strerror(err));
	clearerr(o->f);
}

static int write_msg(void *priv, const struct fc_msg *msg)
{
	struct file_out *o = priv;
	int rc = 0;

	pthread_mutex_lock(&o->lock);
	errno = 0;
	if (o->json)
		rc = msg->pb ? fc_json_write_msg(msg->pb, o->style, o->f) : FC_EINVAL;
	else if (fwrite_unlocked(msg->framed, 1, msg->framed_len, o->f) != msg->framed_len)
		rc = FC_ESYS;
	/* Counted under the lock: workers share this output. A message is
	 * written once stdio has flushed it; a failed write is stdio failing
	 * to flush its buffer, so what it held is lost with this one. The
	 * _unlocked calls (glibc): our mutex already serialises the stream,
	 * stdio's own lock per call was ~4 % of a flow's time. */
	if (rc == FC_ESYS || (rc == 0 && ferror_unlocked(o->f))) {
		write_failed(o, o->pending + 1, errno ? errno : EIO);
		o->pending = 0;
		rc = FC_ESYS;
	} else if (rc) {
		(*o->errors)++; /* this message alone (too large for JSON) */
	} else {
		o->pending++;
	}
	pthread_mutex_unlock(&o->lock);
	return rc;
}

/* Under the lock. */
static void flush_locked(struct file_out *o)
{
	errno = 0;
	if (fflush(o->f) != 0) {
		write_failed(o, o->pending, errno ? errno : EIO);
	} else if (o->pending) {
		*o->written += o->pending;
		fc_health_ok(o->health, o->name);
	}
	o->pending = 0;
	fc_logsum_flush(&o->err_log, fc_mono_ns(), FC_LOG_ERROR, o->name);
}

static void poll_file(void *priv)
{
	struct file_out *o = priv;

	pthread_mutex_lock(&o->lock);
	flush_locked(o);
	pthread_mutex_unlock(&o->lock);
}

static void close_file(void *priv)
{
	struct file_out *o = priv;

	if (o->f) {
		flush_locked(o);
		if (!o->is_stdout && fclose(o->f) != 0)
			fc_log(FC_LOG_ERROR, "closing %s failed: %s", o->path, strerror(errno));
		o->f = NULL;
		fc_logsum_finish(&o->err_log, fc_mono_ns(), FC_LOG_ERROR, o->name);
	}
	if (o->lock_init)
		pthread_mutex_destroy(&o->lock);
}

const struct fc_output_ops fc_output_file = {
	.name = "file",
	.priv_size = sizeof(struct file_out),
	.open = open_file,
	.write = write_msg,
	.poll = poll_file,
	.close = close_file,
};

const struct fc_output_ops fc_output_json = {
	.name = "json",
	.priv_size = sizeof(struct file_out),
	.needs_pb = true, /* rendered from the protobuf-c message */
	.open = open_json,
	.write = write_msg,
	.poll = poll_file,
	.close = close_file,
};
