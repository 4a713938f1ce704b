/*
 * Consumer core (see consumer.h). librdkafka high-level consumer with
 * enable.auto.commit=false; offsets are committed explicitly, per batch,
 * after every sink's apply returned 0, so a committed offset never runs
 * ahead of what the sinks hold. The rebalance callback (run inside
 * rd_kafka_consumer_poll, on this thread) sets each assigned partition's
 * start from the sinks' applied offsets and, on revocation, drops the
 * unapplied records of the partitions leaving and commits what is applied.
 * Both the eager and the cooperative protocol are handled.
 */
#include "flowsink/consumer.h"

#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "fc/err.h"

#define CLOSE_WAIT_NS (10ull * 1000000000ull)

struct applied {
	int32_t partition;
	int64_t next; /* offset to commit (last applied + 1), -1 none yet */
};

struct fc_consumer {
	rd_kafka_t *rk;
	char *topic;
	const struct fc_consumer_sink *sinks;
	size_t n_sinks;
	const volatile sig_atomic_t *stop;
	struct fc_record_dec *dec;
	struct fc_sink_record *recs;
	size_t n_recs, max_recs;
	struct fc_sink_flow *flows;
	size_t n_flows, cap_flows, max_flows;
	uint64_t batch_ms;
	struct applied *app; /* assigned partitions */
	size_t n_app, cap_app;
	int fatal;            /* error raised inside a callback */
	void (*tick)(void *);   /* called between polls, see fc_consumer_set_tick */
	void *tick_arg;
	unsigned commits_in_flight; /* async commits whose callback has not run */
	bool close_abandoned; /* leaving the group timed out: destroy without it */
	struct fc_ratelimit rl;
	struct fc_consumer_stats st;
};

static struct applied *find_app(struct fc_consumer *c, int32_t partition, bool add)
{
	for (size_t i = 0; i < c->n_app; i++) {
		if (c->app[i].partition == partition)
			return &c->app[i];
	}
	if (!add)
		return NULL;
	if (c->n_app == c->cap_app) {
		size_t ncap = c->cap_app ? c->cap_app * 2 : 16;
		struct applied *na = realloc(c->app, ncap * sizeof(*na));

		if (!na)
			return NULL;
		c->app = na;
		c->cap_app = ncap;
	}
	c->app[c->n_app].partition = partition;
	c->app[c->n_app].next = -1;
	return &c->app[c->n_app++];
}

static void remove_app(struct fc_consumer *c, int32_t partition)
{
	for (size_t i = 0; i < c->n_app; i++) {
		if (c->app[i].partition == partition) {
			c->app[i] = c->app[--c->n_app];
			return;
		}
	}
}

/* Starting offsets: after the lowest offset every sink has applied; where
 * any sink has applied nothing, Kafka's committed offset (or
 * auto.offset.reset) decides. */
static int set_start_offsets(struct fc_consumer *c, rd_kafka_topic_partition_list_t *parts)
{
	int32_t *ids;
	int64_t *off, *low;
	size_t n = (size_t)parts->cnt;
	int rc = 0;

	if (n == 0)
		return 0;
	ids = calloc(n, sizeof(*ids));
	off = calloc(n, sizeof(*off));
	low = calloc(n, sizeof(*low));
	if (!ids || !off || !low) {
		rc = FC_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		ids[i] = parts->elems[i].partition;
		low[i] = INT64_MAX;
	}
	for (size_t s = 0; s < c->n_sinks; s++) {
		if (!c->sinks[s].ops->applied)
			continue;
		rc = c->sinks[s].ops->applied(c->sinks[s].priv, c->topic, ids, n, off);
		if (rc) {
			fc_log(FC_LOG_ERROR, "%s: cannot read applied offsets: %s",
			       c->sinks[s].ops->name, fc_strerror(rc));
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			low[i] = off[i] < low[i] ? off[i] : low[i];
	}
	for (size_t i = 0; i < n; i++) {
		if (parts->elems[i].topic && strcmp(parts->elems[i].topic, c->topic) != 0)
			continue;
		if (low[i] >= 0 && low[i] != INT64_MAX)
			parts->elems[i].offset = low[i] + 1;
		if (parts->elems[i].offset >= 0)
			fc_log(FC_LOG_INFO, "assigned %s [%" PRId32 "], resuming at %" PRId64
			       " (after the sinks' applied offset)", c->topic, ids[i],
			       parts->elems[i].offset);
		else
			fc_log(FC_LOG_INFO, "assigned %s [%" PRId32 "], starting at the committed "
			       "offset (no applied offset stored)", c->topic, ids[i]);
		if (!find_app(c, ids[i], true)) {
			rc = FC_ENOMEM;
			goto out;
		}
	}
out:
	free(ids);
	free(off);
	free(low);
	return rc;
}

static bool in_list(const rd_kafka_topic_partition_list_t *parts, int32_t partition)
{
	for (int i = 0; i < parts->cnt; i++) {
		if (parts->elems[i].partition == partition)
			return true;
	}
	return false;
}

/* Removes the records (and their flows) of revoked partitions from the
 * batch in hand: they are not applied, their next owner reads them. */
static void drop_revoked(struct fc_consumer *c, const rd_kafka_topic_partition_list_t *parts)
{
	size_t w = 0, fw = 0;

	for (size_t i = 0; i < c->n_recs; i++) {
		struct fc_sink_record rec = c->recs[i];

		if (in_list(parts, rec.partition)) {
			c->st.dropped_on_revoke++;
			continue;
		}
		if (fw != rec.first)
			memmove(&c->flows[fw], &c->flows[rec.first], rec.count * sizeof(c->flows[0]));
		rec.first = fw;
		fw += rec.count;
		c->recs[w++] = rec;
	}
	c->n_recs = w;
	c->n_flows = fw;
}

/* Commits next offsets of the partitions in parts (all assigned ones when
 * parts is NULL) that have any. */
static int commit_applied(struct fc_consumer *c, const rd_kafka_topic_partition_list_t *parts,
			  bool async)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)c->n_app);
	rd_kafka_resp_err_t err;

	if (!l)
		return FC_ENOMEM;
	for (size_t i = 0; i < c->n_app; i++) {
		if (c->app[i].next < 0 || (parts && !in_list(parts, c->app[i].partition)))
			continue;
		rd_kafka_topic_partition_list_add(l, c->topic, c->app[i].partition)->offset =
			c->app[i].next;
	}
	if (l->cnt == 0) {
		rd_kafka_topic_partition_list_destroy(l);
		return 0;
	}
	err = rd_kafka_commit(c->rk, l, async ? 1 : 0);
	rd_kafka_topic_partition_list_destroy(l);
	c->st.commits++;
	if (async && !err)
		c->commits_in_flight++;
	if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
		c->st.commit_errors++;
		fc_log_rl(&c->rl, FC_LOG_WARN, "kafka: commit failed: %s", rd_kafka_err2str(err));
		return FC_ESYS;
	}
	return 0;
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
			 rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	struct fc_consumer *c = opaque;
	bool coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
	rd_kafka_error_t *e = NULL;
	int rc;

	c->st.rebalances++;
	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		rc = set_start_offsets(c, parts);
		if (rc) {
			/* Without the sinks' offsets a start could re-apply or
			 * skip; leave nothing assigned and stop. */
			c->fatal = rc;
			return;
		}
		if (coop)
			e = rd_kafka_incremental_assign(rk, parts);
		else
			rd_kafka_assign(rk, parts);
	} else {
		/* Revoked (or lost): drop what is not applied, commit what is. */
		drop_revoked(c, parts);
		if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
			(void)commit_applied(c, parts, false);
		for (int i = 0; i < parts->cnt; i++)
			remove_app(c, parts->elems[i].partition);
		if (coop)
			e = rd_kafka_incremental_unassign(rk, parts);
		else
			rd_kafka_assign(rk, NULL);
	}
	if (e) {
		fc_log(FC_LOG_ERROR, "kafka: %s", rd_kafka_error_string(e));
		rd_kafka_error_destroy(e);
	}
}

static void on_commit(rd_kafka_t *rk, rd_kafka_resp_err_t err,
		      rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
	struct fc_consumer *c = opaque;

	(void)rk;
	(void)offsets;
	if (c->commits_in_flight)
		c->commits_in_flight--;
	if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
		c->st.commit_errors++;
		fc_log_rl(&c->rl, FC_LOG_WARN, "kafka: commit failed: %s", rd_kafka_err2str(err));
	}
}

static int set_prop(rd_kafka_conf_t *conf, const char *k, const char *v, char *err, size_t errlen)
{
	char e[256];

	if (rd_kafka_conf_set(conf, k, v, e, sizeof(e)) != RD_KAFKA_CONF_OK) {
		snprintf(err, errlen, "kafka property %s: %s", k, e);
		return FC_EINVAL;
	}
	return 0;
}

int fc_consumer_new(struct fc_consumer **out, const struct fc_fsopts *o,
		    const struct fc_consumer_sink *sinks, size_t n_sinks,
		    const volatile sig_atomic_t *stop, char *err, size_t errlen)
{
	struct fc_consumer *c = calloc(1, sizeof(*c));
	rd_kafka_conf_t *conf = NULL;
	rd_kafka_topic_partition_list_t *sub = NULL;
	rd_kafka_resp_err_t kerr;
	char e[512];
	int rc = FC_ENOMEM;

	if (!c)
		return FC_ENOMEM;
	c->sinks = sinks;
	c->n_sinks = n_sinks;
	c->stop = stop;
	c->max_recs = (size_t)o->batch_records;
	c->max_flows = (size_t)o->batch_flows;
	c->batch_ms = o->batch_ms;
	c->topic = strdup(o->topic);
	c->dec = fc_record_dec_new();
	c->recs = calloc(c->max_recs, sizeof(*c->recs));
	conf = rd_kafka_conf_new();
	if (!c->topic || !c->dec || !c->recs || !conf)
		goto fail;
	rc = FC_EINVAL;
	if (set_prop(conf, "bootstrap.servers", o->brokers, err, errlen) ||
	    set_prop(conf, "group.id", o->group, err, errlen) ||
	    set_prop(conf, "enable.auto.commit", "false", err, errlen) ||
	    set_prop(conf, "auto.offset.reset", "earliest", err, errlen) ||
	    set_prop(conf, "client.id", "flowsink", err, errlen))
		goto fail;
	for (size_t i = 0; i < o->kafka_props.n; i++) {
		char kv[1024];
		char *eq;

		snprintf(kv, sizeof(kv), "%s", o->kafka_props.v[i]);
		eq = strchr(kv, '=');
		if (!eq) {
			snprintf(err, errlen, "-X %s: expected KEY=VALUE", kv);
			goto fail;
		}
		*eq = '\0';
		if (!strcmp(kv, "enable.auto.commit") || !strcmp(kv, "group.id")) {
			snprintf(err, errlen, "-X %s: set by flowsink itself (use --group)", kv);
			goto fail;
		}
		if (set_prop(conf, kv, eq + 1, err, errlen))
			goto fail;
	}
	rd_kafka_conf_set_opaque(conf, c);
	rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
	rd_kafka_conf_set_offset_commit_cb(conf, on_commit);
	c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof(e));
	if (!c->rk) {
		snprintf(err, errlen, "kafka: %s", e);
		goto fail;
	}
	conf = NULL; /* owned by rk now */
	rd_kafka_poll_set_consumer(c->rk);
	sub = rd_kafka_topic_partition_list_new(1);
	if (!sub) {
		rc = FC_ENOMEM;
		goto fail;
	}
	rd_kafka_topic_partition_list_add(sub, c->topic, RD_KAFKA_PARTITION_UA);
	kerr = rd_kafka_subscribe(c->rk, sub);
	rd_kafka_topic_partition_list_destroy(sub);
	if (kerr) {
		snprintf(err, errlen, "kafka: subscribe to %s: %s", c->topic, rd_kafka_err2str(kerr));
		rc = FC_ESYS;
		goto fail;
	}
	*out = c;
	return 0;
fail:
	if (conf)
		rd_kafka_conf_destroy(conf);
	fc_consumer_free(c);
	return rc;
}

static int emit_flow(void *arg, const struct fc_sink_flow *f)
{
	struct fc_consumer *c = arg;

	if (!f->src.family && !f->dst.family) {
		c->st.flows_no_address++;
		return 0;
	}
	if (c->n_flows == c->cap_flows) {
		/* Grows past --batch-flows only within one record, so memory
		 * stays bounded by it plus the largest record. */
		size_t ncap = c->cap_flows ? c->cap_flows * 2 : 1024;
		struct fc_sink_flow *nf = realloc(c->flows, ncap * sizeof(*nf));

		if (!nf)
			return FC_ENOMEM;
		c->flows = nf;
		c->cap_flows = ncap;
	}
	c->flows[c->n_flows++] = *f;
	c->st.flows++;
	return 0;
}

static void add_record(struct fc_consumer *c, const rd_kafka_message_t *m)
{
	struct fc_sink_record *rec = &c->recs[c->n_recs];
	size_t before = c->n_flows;
	int rc;

	if (!c->st.first_record_ns)
		c->st.first_record_ns = fc_mono_ns();
	c->st.records++;
	c->st.record_bytes += m->len;
	rc = fc_record_decode(c->dec, m->payload, m->len, c->st.bad, emit_flow, c);
	if (rc) {
		/* Out of memory mid-record: the record's flows are dropped
		 * together (counted as unpack failures) rather than half. */
		c->st.bad[FC_RECORD_BAD_UNPACK] += c->n_flows - before + 1;
		c->st.flows -= c->n_flows - before;
		c->n_flows = before;
	}
	rec->partition = m->partition;
	rec->offset = m->offset;
	rec->first = before;
	rec->count = c->n_flows - before;
	c->n_recs++;
}

static int apply_batch(struct fc_consumer *c)
{
	struct fc_sink_batch b = {
		.topic = c->topic,
		.recs = c->recs,
		.n_recs = c->n_recs,
		.flows = c->flows,
		.n_flows = c->n_flows,
	};
	uint64_t t0 = fc_mono_ns(), dt;
	int rc;

	if (c->n_recs == 0)
		return 0;
	for (size_t s = 0; s < c->n_sinks; s++) {
		rc = c->sinks[s].ops->apply(c->sinks[s].priv, &b);
		if (rc) {
			fc_log(FC_LOG_ERROR, "%s: batch not applied: %s", c->sinks[s].ops->name,
			       fc_strerror(rc));
			return rc;
		}
	}
	for (size_t i = 0; i < c->n_recs; i++) {
		struct applied *a = find_app(c, c->recs[i].partition, false);

		/* A partition revoked meanwhile had its records dropped, so
		 * every record here is of an assigned partition. */
		if (a && c->recs[i].offset + 1 > a->next)
			a->next = c->recs[i].offset + 1;
	}
	c->n_recs = 0;
	c->n_flows = 0;
	(void)commit_applied(c, NULL, true);
	c->st.batches++;
	c->st.last_applied_ns = fc_mono_ns();
	dt = c->st.last_applied_ns - t0;
	c->st.batch_ns_sum += dt;
	if (dt > c->st.batch_ns_max)
		c->st.batch_ns_max = dt;
	return 0;
}

/* Polls until the batch is full, batch_ms has passed since its first
 * record, or stop. */
static int fill(struct fc_consumer *c)
{
	uint64_t deadline = 0;

	while (c->n_recs < c->max_recs && c->n_flows < c->max_flows && !*c->stop && !c->fatal) {
		uint64_t now = fc_mono_ns();
		int timeout = 100;
		rd_kafka_message_t *m;

		if (deadline) {
			if (now >= deadline)
				break;
			timeout = (int)((deadline - now) / 1000000u);
			if (timeout > 100)
				timeout = 100;
		}
		m = rd_kafka_consumer_poll(c->rk, timeout);
		if (c->tick)
			c->tick(c->tick_arg);
		if (!m)
			continue;
		if (m->err) {
			if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
				c->st.kafka_errors++;
				fc_log_rl(&c->rl, FC_LOG_WARN, "kafka: %s", rd_kafka_message_errstr(m));
				if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
					rd_kafka_message_destroy(m);
					return FC_ESYS;
				}
			}
			rd_kafka_message_destroy(m);
			continue;
		}
		add_record(c, m);
		rd_kafka_message_destroy(m);
		if (!deadline)
			deadline = fc_mono_ns() + c->batch_ms * 1000000u;
	}
	return c->fatal;
}

int fc_consumer_step(struct fc_consumer *c)
{
	int rc = fill(c);

	if (rc == 0)
		rc = apply_batch(c);
	if (rc)
		c->fatal = rc; /* close must not apply or commit after this */
	return rc;
}

/* Number of partitions assigned now, 0 when librdkafka cannot say. */
static int assigned_count(struct fc_consumer *c)
{
	rd_kafka_topic_partition_list_t *l = NULL;
	int n = 0;

	if (rd_kafka_assignment(c->rk, &l) == RD_KAFKA_RESP_ERR_NO_ERROR && l) {
		n = l->cnt;
		rd_kafka_topic_partition_list_destroy(l);
	}
	return n;
}

/* Leaves the group gracefully before closing (librdkafka 2.0 aborts in
 * rd_kafka_cgrp_terminated, "!rd_kafka_assignment_in_progress", when a
 * consumer is closed while a rebalance or a commit is still under way,
 * confluentinc/librdkafka#4312, #4792; and a rebalance callback run
 * from rd_kafka_consumer_close_queue can hang in rd_kafka_assign). So:
 * unsubscribe, then keep polling on this thread (the revoke callback
 * runs here and commits what is applied) until nothing is assigned, no
 * commit of ours is pending, and librdkafka has been quiet for a few
 * polls, so the partitions it stopped are gone too. Records polled
 * meanwhile are not applied: their next owner reads them. Bounded. */
static void drain_group(struct fc_consumer *c, uint64_t deadline)
{
	rd_kafka_resp_err_t err = rd_kafka_unsubscribe(c->rk);
	int quiet = 0;

	if (err)
		fc_log(FC_LOG_WARN, "kafka: unsubscribe: %s", rd_kafka_err2str(err));
	while (fc_mono_ns() < deadline) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, 100);

		if (m) {
			if (!m->err)
				c->st.dropped_on_revoke++;
			rd_kafka_message_destroy(m);
			quiet = 0;
			continue;
		}
		if (assigned_count(c) == 0 && c->commits_in_flight == 0 && c->n_app == 0) {
			if (++quiet >= 3)
				return;
		} else {
			quiet = 0;
		}
	}
	fc_log(FC_LOG_WARN, "kafka: the group's revocation did not finish within %d s",
	       (int)(CLOSE_WAIT_NS / 1000000000u));
}

int fc_consumer_close(struct fc_consumer *c)
{
	int rc = 0;
	uint64_t deadline = fc_mono_ns() + CLOSE_WAIT_NS;

	if (!c->fatal) {
		rc = apply_batch(c);
		/* A failed commit loses nothing: the sinks hold their offsets
		 * and the next owner resumes from them. It is counted. */
		if (rc == 0)
			(void)commit_applied(c, NULL, false);
	}
	if (!c->fatal && rc == 0)
		drain_group(c, deadline);
	/* Nothing is assigned now, so closing only leaves the group. The
	 * leave is bounded: a group stuck in a rebalance must not keep the
	 * process from exiting, and nothing is lost by not waiting (the
	 * sinks hold their offsets; the group drops the member after its
	 * session). */
	{
		rd_kafka_queue_t *q = rd_kafka_queue_new(c->rk);
		rd_kafka_error_t *e = q ? rd_kafka_consumer_close_queue(c->rk, q) : NULL;

		deadline = fc_mono_ns() + CLOSE_WAIT_NS;
		if (e)
			rd_kafka_error_destroy(e);
		while (q && !e && !rd_kafka_consumer_closed(c->rk) && fc_mono_ns() < deadline)
			rd_kafka_queue_poll_callback(q, 100);
		if (!q || e || !rd_kafka_consumer_closed(c->rk)) {
			fc_log(FC_LOG_WARN, "kafka: the group was not left within %d s; exiting "
					    "anyway (applied offsets are kept in the sinks)",
			       (int)(CLOSE_WAIT_NS / 1000000000u));
			c->close_abandoned = true;
		}
		if (q)
			rd_kafka_queue_destroy(q);
	}
	return rc ? rc : c->fatal;
}

void fc_consumer_free(struct fc_consumer *c)
{
	if (!c)
		return;
	if (c->rk)
		rd_kafka_destroy_flags(c->rk, c->close_abandoned ? RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE
								 : 0);
	fc_record_dec_free(c->dec);
	free(c->recs);
	free(c->flows);
	free(c->app);
	free(c->topic);
	free(c);
}

void fc_consumer_set_tick(struct fc_consumer *c, void (*fn)(void *), void *arg)
{
	c->tick = fn;
	c->tick_arg = arg;
}

const struct fc_consumer_stats *fc_consumer_stats(const struct fc_consumer *c)
{
	return &c->st;
}

static void row(FILE *out, const char *name, const char *type, const char *help, uint64_t v)
{
	fprintf(out, "# HELP flowsink_%s %s\n# TYPE flowsink_%s %s\nflowsink_%s %" PRIu64 "\n", name,
		help, name, type, name, v);
}

/* Durations in seconds, the Prometheus base unit (kept exact to the ns). */
static void secs(FILE *out, const char *name, const char *type, const char *help, uint64_t ns)
{
	fprintf(out, "# HELP flowsink_%s %s\n# TYPE flowsink_%s %s\nflowsink_%s %" PRIu64 ".%09" PRIu64
		"\n", name, help, name, type, name, ns / 1000000000u, ns % 1000000000u);
}

void fc_consumer_print_stats(const struct fc_consumer *c, FILE *out)
{
	const struct fc_consumer_stats *s = &c->st;

	row(out, "records_total", "counter", "Kafka records consumed", s->records);
	row(out, "record_bytes_total", "counter", "bytes of the records consumed", s->record_bytes);
	row(out, "flows_total", "counter", "FlowMessages decoded", s->flows);
	row(out, "flows_no_address_total", "counter", "messages with neither address (nothing to apply)",
	    s->flows_no_address);
	fprintf(out, "# HELP flowsink_bad_frames_total frames skipped, by reason\n"
		     "# TYPE flowsink_bad_frames_total counter\n");
	for (unsigned i = 0; i < FC_RECORD_BAD_COUNT; i++)
		fprintf(out, "flowsink_bad_frames_total{reason=\"%s\"} %" PRIu64 "\n",
			fc_record_bad_name((enum fc_record_bad)i), s->bad[i]);
	row(out, "kafka_errors_total", "counter", "consumer errors reported by librdkafka",
	    s->kafka_errors);
	row(out, "batches_total", "counter", "batches applied by every sink", s->batches);
	secs(out, "batch_seconds_total", "counter", "time spent applying and committing batches",
	     s->batch_ns_sum);
	secs(out, "batch_max_seconds", "gauge", "longest batch apply and commit", s->batch_ns_max);
	secs(out, "active_seconds", "gauge",
	     "from the first record consumed to the end of the last batch applied",
	     s->last_applied_ns > s->first_record_ns ? s->last_applied_ns - s->first_record_ns : 0);
	row(out, "commits_total", "counter", "offset commits sent", s->commits);
	row(out, "commit_errors_total", "counter", "offset commits that failed", s->commit_errors);
	row(out, "rebalances_total", "counter", "rebalance callbacks", s->rebalances);
	row(out, "records_dropped_on_revoke_total", "counter",
	    "records of revoked partitions not applied (their new owner reads them)",
	    s->dropped_on_revoke);
	/* Lag from the watermarks librdkafka caches from fetch responses (no
	 * broker round trip): records of each assigned partition not yet
	 * applied by every sink. */
	fprintf(out, "# HELP flowsink_partition_lag records not yet applied, per assigned partition\n"
		     "# TYPE flowsink_partition_lag gauge\n");
	for (size_t i = 0; i < c->n_app; i++) {
		int64_t lo = -1, hi = -1;

		if (c->app[i].next < 0 ||
		    rd_kafka_get_watermark_offsets(c->rk, c->topic, c->app[i].partition, &lo, &hi) ||
		    hi < 0)
			continue;
		fprintf(out, "flowsink_partition_lag{partition=\"%" PRId32 "\"} %" PRId64 "\n",
			c->app[i].partition, hi > c->app[i].next ? hi - c->app[i].next : 0);
	}
}
