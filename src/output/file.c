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
 * Thread affinity: a mutex serializes writers, so several pipeline threads
 * may share one file.
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
	uint64_t pending; /* messages in stdio's buffer, not yet known written */
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

static int write_msg(void *priv, const struct fc_msg *msg)
{
	struct file_out *o = priv;
	int rc = 0;

	pthread_mutex_lock(&o->lock);
	if (o->json)
		rc = fc_json_write_msg(msg->pb, o->style, o->f);
	else if (fwrite(msg->framed, 1, msg->framed_len, o->f) != msg->framed_len)
		rc = FC_ESYS;
	/* Counted under the lock: workers share this output. A message is
	 * written once stdio has flushed it; a failed write is stdio failing
	 * to flush its buffer, so what it held is lost with this one. */
	if (rc == FC_ESYS) {
		*o->errors += o->pending + 1;
		o->pending = 0;
	} else if (rc) {
		(*o->errors)++; /* this message alone (too large for JSON) */
	} else {
		o->pending++;
	}
	pthread_mutex_unlock(&o->lock);
	return rc;
}

/* Settles the buffered messages after a flush: written or lost. Called
 * with the lock held (or alone, on close). */
static void settle(struct file_out *o, bool flushed)
{
	if (flushed)
		*o->written += o->pending;
	else
		*o->errors += o->pending;
	o->pending = 0;
}

static void poll_file(void *priv)
{
	struct file_out *o = priv;

	pthread_mutex_lock(&o->lock);
	settle(o, fflush(o->f) == 0);
	pthread_mutex_unlock(&o->lock);
}

static void close_file(void *priv)
{
	struct file_out *o = priv;

	if (o->f) {
		bool ok = (o->is_stdout ? fflush(o->f) : fclose(o->f)) == 0;

		if (!ok)
			fc_log(FC_LOG_ERROR, "writing %s failed: %s", o->path, strerror(errno));
		settle(o, ok);
		o->f = NULL;
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
	.open = open_json,
	.write = write_msg,
	.poll = poll_file,
	.close = close_file,
};
