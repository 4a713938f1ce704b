/*
 * Kafka output: publishes length-delimited FlowMessages (and sFlow
 * CounterMessages) through a librdkafka producer. Owns the producer, its
 * topic handles, the optional record batches, the delivery-report counters
 * and, when no broker is named, the embedded in-memory cluster.
 *
 * References: librdkafka rdkafka.h (rd_kafka_produce, dr_msg_cb,
 * rd_kafka_flush, QUEUE_FULL semantics) and rdkafka_mock.h (mock cluster);
 * DESIGN §3 (framing) and §4 (backpressure, embedded default).
 *
 * Behaviour:
 * - Topic by message kind: cfg->kafka_topic for flows (default "flows"),
 *   cfg->kafka_counter_topic for counters (default "flow-counters").
 * - Key (cfg->kafka_key): "exporter" uses msg->key (the exporter or sFlow
 *   agent address), so one exporter's flows stay ordered in one partition;
 *   "flow" keys each flow by its 5-tuple (see flow_key: both directions of
 *   a conversation get the same key), so one big exporter spreads over
 *   every partition while each conversation stays in one; counter samples
 *   keep the agent key. "none" (or unset) sends no key and librdkafka's
 *   partitioner spreads records (its sticky partitioner fills one
 *   partition for a few milliseconds at a time).
 * - Compression (cfg->kafka_compression): none (default, as goflow2), gzip,
 *   snappy, lz4 or zstd, set as compression.codec before the user's -X
 *   properties (which may still override it).
 * - Hand-over: flow records are gathered under the lock as workers write
 *   them and handed to librdkafka in one rd_kafka_produce_batch per
 *   receive batch (on poll, which the pipeline calls after each one) or
 *   when FC_KAFKA_PENDING records or FC_KAFKA_PENDING_BYTES are waiting.
 *   One call reads the clocks once and takes the topic lock once for the
 *   whole batch, where rd_kafka_produce does both per record (three clock
 *   reads, ~7 % of the worker's time at 800k flows/s). A record librdkafka
 *   refuses in the batch takes the one-record path (kafka_produce: spool,
 *   count, or wait in a replay); records behind it in the same batch may
 *   then reach Kafka before it. Drops found at hand-over are counted by
 *   this output's counters, not as the pipeline's output drops.
 * - One framed message is one record. cfg->kafka_msgs_per_record > 1 packs
 *   that many framed messages into one record (still a valid
 *   length-delimited stream). A batch is sent when full, when the key
 *   changes (a record has one key), when it would exceed the batch buffer,
 *   after FC_KAFKA_LINGER_NS on poll, and on close.
 * - Backpressure (DESIGN §4): live UDP cannot be slowed down, so a full
 *   local queue (--kafka-buffer-bytes) drops the record and counts it; in
 *   --pcap replay the output serves delivery reports for 100 ms and
 *   retries until the record is accepted, so a replay loses nothing, until
 *   a stop is requested (core/stop.h).
 * - Spool (--spool, output/spool.c): a full queue, a failed delivery and
 *   the exit purge put records on disk instead; while anything waits
 *   there new records go behind it, and poll hands it back to librdkafka
 *   oldest first (each spooled record's opaque is its spool ticket, other
 *   records' opaque is their message count).
 * - Exit: the flush waits up to --kafka-flush-ms, but gives up after
 *   FC_KAFKA_FLUSH_STALL_MS without one delivery report (a broker that is
 *   down), so a stop takes about a second during an outage.
 * - Embedded cluster: with cfg->kafka_brokers NULL, a librdkafka mock
 *   cluster (one broker, in this process, on a random 127.0.0.1 port) is
 *   started on a dedicated handle and the producer points at it. It keeps
 *   records only in memory and disappears at exit; it is meant for first
 *   runs and trials. Memory stays bounded because the mock keeps only the
 *   newest ~5 MB of each partition's log (librdkafka's mock default, about
 *   35000 flows of ~130 bytes). The flow topic gets
 *   FC_KAFKA_EMBEDDED_PARTITIONS partitions; records are not compressed
 *   unless --kafka-compression says so (lz4 about doubles what fits). With
 *   the default exporter key one exporter fills one partition; a consumer that
 *   falls further behind loses the oldest records (librdkafka resets it to
 *   the end and logs it). librdkafka 2.0.2 offers no way to choose the
 *   port (it binds 127.0.0.1:0), hence the start-up line that announces
 *   the address.
 *
 * Counters (all in messages, i.e. flows or counter samples, not records):
 * kafka_produced_total, kafka_delivered_total,
 * kafka_delivery_failed_total{reason}, kafka_queue_full_drops_total,
 * kafka_produce_errors_total{reason}, kafka_flush_lost_total,
 * kafka_stop_drops_total (a replay's records refused once a stop was
 * requested, without a spool), the gauge
 * kafka_queue_records (local queue length, in records) and
 * kafka_client_errors_total{reason} (librdkafka error events such as all
 * brokers down, including the repeats librdkafka folds into one event),
 * the gauge kafka_inflight_messages. The registry is this output's own,
 * guarded by its lock (fc_metrics_set_guard).
 *
 * Operators: delivery failures and full-queue drops are logged once, then
 * summed every 10 s; /healthz fails on "all brokers down" events, on queue
 * overflow (10 s), and while the reachability probe below fails.
 *
 * Thread affinity: the output.h contract is one calling thread, but several
 * receive workers may share this output, so write/poll/close take a mutex
 * (uncontended in the single-worker case): the batches, the in-flight count
 * and the counters are only touched under it, including from the delivery
 * reports, which rd_kafka_poll/rd_kafka_flush serve in the caller's thread.
 * The log callback runs on librdkafka threads and only logs.
 */
#include "output/kafka.h"

#include <assert.h>
#include <ctype.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "config/config.h"
#include "core/log.h"
#include "core/stop.h"
#include "fc/err.h"
#include "fc/flow.h"
#include "flow.pb-c.h"
#include "metrics/health.h"
#include "metrics/metrics.h"
#include "output/spool.h"

#define FC_KAFKA_LINGER_NS (100ull * 1000000ull) /* partial batch age before sending */
#define FC_KAFKA_BATCH_CAP (512u * 1024u)        /* well under message.max.bytes (1 MB) */
#define FC_KAFKA_KEY_MAX 40                       /* the flow key: 2 x (16 + 2) + 1 */
#define FC_KAFKA_REASONS 8                        /* distinct failure reasons with own label */
#define FC_KAFKA_REPLAY_WAIT_MS 100
#define FC_KAFKA_EMBEDDED_PARTITIONS 4
#define FC_KAFKA_FLUSH_STALL_MS 1000 /* exit flush gives up after this long without a report */
#define FC_KAFKA_PUMP_MAX 4096       /* spooled records handed back per poll */
#define FC_KAFKA_MAX_MESSAGES 10000000 /* librdkafka's bound on queue.buffering.max.messages */
#define FC_KAFKA_PENDING 1024              /* flow records gathered for one hand-over */
#define FC_KAFKA_PENDING_BYTES (256u * 1024u) /* their bytes (framed message + key) */

struct kafka_reason {
	rd_kafka_resp_err_t err;
	uint64_t *slot;
};

/* Per-reason counters registered on first occurrence (failures are rare;
 * this runs on the pipeline thread, which owns the registry), the rest
 * folded into reason="other". */
struct kafka_reason_set {
	const char *name;
	const char *help;
	size_t n;
	struct kafka_reason r[FC_KAFKA_REASONS];
	uint64_t *other;
};

struct kafka_batch {
	uint8_t *buf; /* FC_KAFKA_BATCH_CAP bytes, allocated at open */
	size_t len;
	uint64_t n;   /* framed messages in buf */
	uint64_t first_ns;
	uint8_t key[FC_KAFKA_KEY_MAX];
	size_t key_len;
	bool has_key;
};

/* Flow records waiting for the next rd_kafka_produce_batch: payloads and
 * keys copied into arena (librdkafka copies them again, RD_KAFKA_MSG_F_COPY,
 * so the arena is reused after each hand-over). */
struct kafka_pending {
	rd_kafka_message_t *msg; /* FC_KAFKA_PENDING, allocated at open */
	rd_kafka_message_t *run; /* FC_KAFKA_PENDING: the records grouped by partition */
	int32_t *part;           /* FC_KAFKA_PENDING: the partition of each */
	int32_t *seen;           /* FC_KAFKA_PENDING: partitions present, first seen first */
	uint32_t *slot;          /* nslot, per partition: its record count, then where its
				    run ends; all 0 between hand-overs */
	int32_t nslot;
	uint8_t *arena;          /* FC_KAFKA_PENDING_BYTES */
	size_t used;
	int n;
};

struct kafka_out {
	pthread_mutex_t lock;
	bool lock_init;
	rd_kafka_t *rk;
	rd_kafka_topic_t *topic[2]; /* indexed by enum fc_msg_kind */
	rd_kafka_t *mock_rk;        /* owns the embedded cluster */
	rd_kafka_mock_cluster_t *mcluster;
	char *mock_bootstraps;

	bool replay;
	bool use_key;
	bool flow_key; /* --kafka-key flow */
	bool closing; /* delivery reports after the flush bound are not failures */
	int flush_ms;
	uint64_t per_record;
	struct kafka_batch batch[2];
	struct kafka_pending pend; /* flows, with one flow per record */
	/* librdkafka's default partitioner is in force (no -X partitioner):
	 * the hand-over may pick partitions itself, the same way. */
	bool default_partitioner;
	int32_t next_part; /* records without a key: one partition per hand-over */

	struct fc_metrics *m;
	uint64_t *produced;
	uint64_t *delivered;
	uint64_t *queue_full;
	uint64_t *flush_lost;
	uint64_t *stop_drops;
	uint64_t *queue_len;
	struct kafka_reason_set failed;
	struct kafka_reason_set produce_err;
	struct kafka_reason_set client_err;
	struct fc_ratelimit err_rl;
	/* Health and operator logs (h8): failures logged once, then summed
	 * every 10 s; /healthz fails while brokers are down or the queue
	 * overflows. */
	struct fc_health *health;
	struct fc_logsum dr_log;
	struct fc_logsum full_log;
	uint64_t *inflight_gauge;
	struct kafka_probe *probe;

	uint64_t inflight; /* messages produced and not yet reported */
	struct fc_spool *spool; /* --spool, NULL without */
	uint64_t kept_at_exit;  /* messages spooled by the exit purge */
};

#define FC_KAFKA_HEALTH "output kafka"
/* librdkafka repeats "all brokers down" at each failed reconnect (at most
 * reconnect.backoff.max.ms, 10 s, apart): a failure stays visible a bit
 * longer than that, and clears once the events stop or a delivery
 * succeeds. */
#define FC_KAFKA_DOWN_TTL_NS (25ull * 1000000000ull)
#define FC_KAFKA_FULL_TTL_NS (10ull * 1000000000ull)
#define FC_KAFKA_PROBE_EVERY_S 2
#define FC_KAFKA_PROBE_TIMEOUT_MS 1500

/* Reachability probe for /healthz: librdkafka reports a broker going down
 * once (and folds identical errors), never that it came back, and only
 * fails messages after message.timeout.ms; so a thread of ours asks for
 * the flow topic's metadata every 2 s (bounded by 1.5 s, which also
 * bounds what it adds to shutdown): failing says "unreachable" within
 * 3.5 s, succeeding clears it, with or without traffic. It touches only
 * the thread-safe rd_kafka_metadata and the health set. */
struct kafka_probe {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	rd_kafka_t *rk;
	rd_kafka_topic_t *topic;
	struct fc_health *health;
	_Atomic int32_t partitions; /* of the flow topic, 0 until known */
};

static void *kafka_probe_main(void *arg)
{
	struct kafka_probe *p = arg;

	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		const struct rd_kafka_metadata *md = NULL;
		rd_kafka_resp_err_t err;
		struct timespec until;

		pthread_mutex_unlock(&p->lock);
		err = rd_kafka_metadata(p->rk, 0, p->topic, &md, FC_KAFKA_PROBE_TIMEOUT_MS);
		if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
			fc_health_ok(p->health, FC_KAFKA_HEALTH);
			if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
				atomic_store(&p->partitions, md->topics[0].partition_cnt);
			rd_kafka_metadata_destroy(md);
		} else {
			fc_health_fail(p->health, FC_KAFKA_HEALTH, 0, "brokers unreachable: %s",
				       rd_kafka_err2str(err));
		}
		pthread_mutex_lock(&p->lock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += FC_KAFKA_PROBE_EVERY_S;
		while (!p->stop && pthread_cond_timedwait(&p->cond, &p->lock, &until) == 0)
			;
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* Starts the probe (health may be NULL: it then only learns the flow
 * topic's partition count); failure to start it is not fatal (health
 * then rests on error events, and records are partitioned by librdkafka
 * one by one). */
static struct kafka_probe *kafka_probe_start(rd_kafka_t *rk, rd_kafka_topic_t *topic,
					     struct fc_health *health)
{
	struct kafka_probe *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	atomic_init(&p->partitions, 0);
	p->rk = rk;
	p->topic = topic;
	p->health = health;
	if (pthread_mutex_init(&p->lock, NULL) != 0)
		goto fail_lock;
	if (pthread_cond_init(&p->cond, NULL) != 0)
		goto fail_cond;
	if (pthread_create(&p->thread, NULL, kafka_probe_main, p) != 0)
		goto fail_thread;
	return p;
fail_thread:
	pthread_cond_destroy(&p->cond);
fail_cond:
	pthread_mutex_destroy(&p->lock);
fail_lock:
	free(p);
	return NULL;
}

static void kafka_probe_stop(struct kafka_probe *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

static const char *const default_topic[2] = {"flows", "flow-counters"};

/* "_MSG_TIMED_OUT" -> "msg_timed_out": a label value that reads well. */
static void reason_label(rd_kafka_resp_err_t err, char *out, size_t out_len)
{
	const char *name = rd_kafka_err2name(err);
	size_t j = 0;

	while (*name == '_')
		name++;
	for (; *name && j + 1 < out_len; name++) {
		unsigned char ch = (unsigned char)*name;

		out[j++] = (isalnum(ch) || ch == '_') ? (char)tolower(ch) : '_';
	}
	out[j] = '\0';
}

static uint64_t *reason_slot(struct kafka_out *k, struct kafka_reason_set *s,
			     rd_kafka_resp_err_t err)
{
	char name[64];
	char labels[96];

	for (size_t i = 0; i < s->n; i++) {
		if (s->r[i].err == err)
			return s->r[i].slot;
	}
	if (s->n == FC_KAFKA_REASONS)
		return s->other;
	reason_label(err, name, sizeof(name));
	snprintf(labels, sizeof(labels), "reason=\"%s\"", name);
	s->r[s->n].err = err;
	s->r[s->n].slot = fc_metrics_counter(k->m, s->name, labels, s->help);
	return s->r[s->n++].slot;
}

/* With --spool, a record Kafka did not take. Purged by the exit flush: a
 * record read from the spool is still there (its ticket stays unresolved,
 * so the next start sends it), any other is appended. Failed (timed out,
 * refused): counted as failed, then appended to be sent again; its ticket,
 * if any, is resolved since the spool now holds the new copy. */
static void kafka_spool_failed(struct kafka_out *k, const rd_kafka_message_t *rkm, void *ticket,
			       uint64_t n)
{
	bool purged = rkm->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
		      rkm->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT;
	struct fc_spool_rec r = {
		.kind = rkm->rkt == k->topic[FC_MSG_COUNTER] ? FC_MSG_COUNTER : FC_MSG_FLOW,
		.n_msgs = (uint32_t)n,
		.key = rkm->key,
		.key_len = rkm->key_len,
		.payload = rkm->payload,
		.len = rkm->len,
	};

	if (!purged)
		*reason_slot(k, &k->failed, rkm->err) += n;
	if (!(ticket && purged) && fc_spool_append(k->spool, &r) == 0 && k->closing)
		k->kept_at_exit += n;
	if (ticket && !purged)
		fc_spool_done(k->spool, ticket);
}

/* Delivery report: one per record; its opaque is the number of framed
 * messages the record carries. Served from rd_kafka_poll/flush. */
static void kafka_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
	struct kafka_out *k = opaque;
	void *ticket = k->spool ? fc_spool_ticket(k->spool, rkm->_private) : NULL;
	uint64_t n = ticket ? fc_spool_ticket_msgs(ticket) : (uint64_t)(uintptr_t)rkm->_private;

	(void)rk;
	if (k->inflight >= n)
		k->inflight -= n;
	else
		k->inflight = 0;
	if (rkm->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
		*k->delivered += n;
		fc_health_ok(k->health, FC_KAFKA_HEALTH);
		if (ticket)
			fc_spool_done(k->spool, ticket);
		return;
	}
	if (k->spool) {
		kafka_spool_failed(k, rkm, ticket, n);
		return;
	}
	/* Messages purged after the flush bound were already counted as
	 * flush losses. */
	if (k->closing)
		return;
	*reason_slot(k, &k->failed, rkm->err) += n;
	fc_logsum_event(&k->dr_log, fc_mono_ns(), n, FC_LOG_ERROR,
			"kafka: delivery failed: %s (%llu messages lost)", rd_kafka_err2str(rkm->err),
			(unsigned long long)n);
}

/* The N of "N identical error(s) suppressed" in a librdkafka error
 * text, 0 when absent. */
static uint64_t suppressed_count(const char *reason)
{
	const char *p = reason ? strstr(reason, " identical error(s) suppressed") : NULL;
	uint64_t n = 0, mul = 1;

	if (!p)
		return 0;
	while (p > reason && p[-1] >= '0' && p[-1] <= '9' && mul <= 1000000000u) {
		p--;
		n += (uint64_t)(*p - '0') * mul;
		mul *= 10;
	}
	return n;
}

/* Client-level errors (all brokers down, authentication...): served from
 * rd_kafka_poll like delivery reports, so counting here is safe. */
static void kafka_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct kafka_out *k = opaque;

	(void)rk;
	/* librdkafka folds repeats of one broker error into the next event
	 * ("..., N identical error(s) suppressed)"): count them all. */
	*reason_slot(k, &k->client_err, (rd_kafka_resp_err_t)err) += 1 + suppressed_count(reason);
	if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || err == RD_KAFKA_RESP_ERR__AUTHENTICATION ||
	    err == RD_KAFKA_RESP_ERR__RESOLVE || rd_kafka_fatal_error(rk, NULL, 0))
		fc_health_fail(k->health, FC_KAFKA_HEALTH, FC_KAFKA_DOWN_TTL_NS, "%s: %s",
			       rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
	fc_log_rl(&k->err_rl, FC_LOG_WARN, "kafka: %s: %s",
		  rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

/* librdkafka's own log lines come from its threads: only log here. */
static void kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	enum fc_log_level lvl = level <= 3 ? FC_LOG_ERROR : level == 4 ? FC_LOG_WARN : FC_LOG_DEBUG;

	(void)rk;
	/* Connection failures also arrive through the error callback, which
	 * counts them; logging both would say everything twice. */
	if (strcmp(fac, "FAIL") == 0)
		lvl = FC_LOG_DEBUG;
	fc_log(lvl, "kafka: %s: %s", fac, buf);
}

/* Applies one "key=value" property; errors name the key. */
static int conf_set(rd_kafka_conf_t *conf, const char *kv, const char *what)
{
	char errstr[512];
	const char *eq = strchr(kv, '=');
	char *key;
	int rc = 0;

	if (!eq || eq == kv) {
		fc_log(FC_LOG_ERROR, "kafka: %s \"%s\": expected key=value", what, kv);
		return FC_EINVAL;
	}
	key = strndup(kv, (size_t)(eq - kv));
	if (!key)
		return FC_ENOMEM;
	if (rd_kafka_conf_set(conf, key, eq + 1, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
		fc_log(FC_LOG_ERROR, "kafka: %s %s: %s", what, key, errstr);
		rc = FC_EINVAL;
	}
	free(key);
	return rc;
}

/* Starts the embedded in-memory cluster and creates both topics. */
static int kafka_start_embedded(struct kafka_out *k, const char *topics[2])
{
	char errstr[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_resp_err_t err;
	const char *bs;

	if (!conf)
		return FC_ENOMEM;
	rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
	if (rd_kafka_conf_set(conf, "client.id", "flowcollector-embedded", errstr, sizeof(errstr)) !=
	    RD_KAFKA_CONF_OK) {
		rd_kafka_conf_destroy(conf);
		return FC_EINVAL;
	}
	/* rd_kafka_new takes conf on success only. */
	k->mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!k->mock_rk) {
		rd_kafka_conf_destroy(conf);
		fc_log(FC_LOG_ERROR, "kafka: embedded cluster: %s", errstr);
		return FC_ESYS;
	}
	k->mcluster = rd_kafka_mock_cluster_new(k->mock_rk, 1);
	if (!k->mcluster) {
		fc_log(FC_LOG_ERROR, "kafka: embedded cluster: cannot listen on 127.0.0.1");
		return FC_ESYS;
	}
	for (int i = 0; i < 2; i++) {
		err = rd_kafka_mock_topic_create(
			k->mcluster, topics[i], i == FC_MSG_FLOW ? FC_KAFKA_EMBEDDED_PARTITIONS : 1, 1);
		if (err) {
			fc_log(FC_LOG_ERROR, "kafka: embedded cluster: topic %s: %s", topics[i],
			       rd_kafka_err2str(err));
			return FC_EINVAL;
		}
	}
	bs = rd_kafka_mock_cluster_bootstraps(k->mcluster);
	k->mock_bootstraps = strdup(bs ? bs : "");
	if (!k->mock_bootstraps)
		return FC_ENOMEM;
	/* Printed whatever the log level: it is the one thing a first-time
	 * user needs to read the topic (kcat -b ADDR -C -t flows). */
	{
		char ts[40];

		fc_log_timestamp(fc_now_ns(), ts, sizeof(ts));
		fprintf(stderr,
			"%s collector: info: embedded Kafka (in-memory, for trials) at %s, topic %s "
			"(counters: %s)\n",
			ts, k->mock_bootstraps, topics[FC_MSG_FLOW], topics[FC_MSG_COUNTER]);
	}
	return 0;
}

static void kafka_register(struct kafka_out *k)
{
	struct fc_metrics *m = k->m;

	k->produced = fc_metrics_counter(m, "kafka_produced_total", NULL,
					 "messages handed to the Kafka producer");
	k->delivered = fc_metrics_counter(m, "kafka_delivered_total", NULL,
					  "messages acknowledged by Kafka");
	k->queue_full = fc_metrics_counter(m, "kafka_queue_full_drops_total", NULL,
					   "messages dropped because the local producer queue was full");
	k->flush_lost = fc_metrics_counter(m, "kafka_flush_lost_total", NULL,
					   "messages still undelivered when the exit flush bound expired");
	k->stop_drops = fc_metrics_counter(m, "kafka_stop_drops_total", NULL,
					   "messages not handed to Kafka because a stop was requested "
					   "while a replay waited for room in the queue");
	k->queue_len = fc_metrics_gauge(m, "kafka_queue_records", NULL,
					"records in the local producer queue");
	k->inflight_gauge = fc_metrics_gauge(m, "kafka_inflight_messages", NULL,
					     "messages handed to Kafka and not yet acknowledged or failed");
	k->client_err.name = "kafka_client_errors_total";
	k->client_err.help = "errors reported by the Kafka client, by error";
	k->client_err.other =
		fc_metrics_counter(m, k->client_err.name, "reason=\"other\"", k->client_err.help);
	k->failed.name = "kafka_delivery_failed_total";
	k->failed.help = "messages Kafka did not accept, by error";
	k->failed.other = fc_metrics_counter(m, k->failed.name, "reason=\"other\"", k->failed.help);
	k->produce_err.name = "kafka_produce_errors_total";
	k->produce_err.help = "messages refused by the producer (not queue full), by error";
	k->produce_err.other =
		fc_metrics_counter(m, k->produce_err.name, "reason=\"other\"", k->produce_err.help);
	/* The usual reasons up front: visible as 0 on /metrics, and no
	 * registration later from another worker's poll. */
	(void)reason_slot(k, &k->failed, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT);
	(void)reason_slot(k, &k->failed, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
	(void)reason_slot(k, &k->failed, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
	(void)reason_slot(k, &k->failed, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
	(void)reason_slot(k, &k->client_err, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN);
	(void)reason_slot(k, &k->client_err, RD_KAFKA_RESP_ERR__TRANSPORT);
	(void)reason_slot(k, &k->client_err, RD_KAFKA_RESP_ERR__AUTHENTICATION);
	(void)reason_slot(k, &k->client_err, RD_KAFKA_RESP_ERR__RESOLVE);
	(void)reason_slot(k, &k->produce_err, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
	(void)reason_slot(k, &k->produce_err, RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC);
}

static bool codec_known(const char *c)
{
	static const char *const codecs[] = {"none", "gzip", "snappy", "lz4", "zstd"};

	if (!c)
		return true;
	for (size_t i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++) {
		if (strcmp(c, codecs[i]) == 0)
			return true;
	}
	return false;
}

/* --kafka-buffer-bytes onto librdkafka's two queue bounds: bytes
 * (queue.buffering.max.kbytes) and records (queue.buffering.max.messages,
 * whose default of 100000 would otherwise cap the buffer at ~13 MB of
 * flows). The record bound is BYTES/64 so that the byte bound is the one
 * that binds for any record of 64 bytes or more (a flow is ~100-200).
 * librdkafka keeps ~300 bytes of its own per queued record on top. -X
 * settings of either property, applied later, win. 0 leaves librdkafka's
 * own bounds (100000 records, 1 GiB). */
static int kafka_conf_buffer(rd_kafka_conf_t *conf, uint64_t bytes)
{
	char kv[96];
	uint64_t kb = bytes / 1024 ? bytes / 1024 : 1, msgs = bytes / 64 ? bytes / 64 : 1;
	int rc;

	if (bytes == 0)
		return 0;
	if (kb > INT32_MAX)
		kb = INT32_MAX;
	if (msgs > FC_KAFKA_MAX_MESSAGES)
		msgs = FC_KAFKA_MAX_MESSAGES;
	snprintf(kv, sizeof(kv), "queue.buffering.max.kbytes=%" PRIu64, kb);
	rc = conf_set(conf, kv, "--kafka-buffer-bytes");
	if (rc)
		return rc;
	snprintf(kv, sizeof(kv), "queue.buffering.max.messages=%" PRIu64, msgs);
	return conf_set(conf, kv, "--kafka-buffer-bytes");
}

/* The options that shape the output: key policy, codec, records per
 * Kafka record (whose batch buffers are allocated here). 0 or an fc_err,
 * logged. */
static int kafka_options(struct kafka_out *k, const struct fc_config *cfg)
{
	k->replay = cfg->pcap != NULL;
	k->flush_ms = cfg->kafka_flush_ms > 3600000 ? 3600000 : (int)cfg->kafka_flush_ms;
	k->per_record = cfg->kafka_msgs_per_record > 1 ? cfg->kafka_msgs_per_record : 1;
	k->default_partitioner = true;
	for (size_t i = 0; i < cfg->kafka_props.n; i++) {
		const char *kv = cfg->kafka_props.v[i];

		if (strncmp(kv, "partitioner", 11) == 0 || strncmp(kv, "topic.partitioner", 17) == 0)
			k->default_partitioner = false;
	}
	if (!cfg->kafka_key || strcmp(cfg->kafka_key, "none") == 0) {
		k->use_key = false;
	} else if (strcmp(cfg->kafka_key, "exporter") == 0) {
		k->use_key = true;
	} else if (strcmp(cfg->kafka_key, "flow") == 0) {
		k->use_key = true;
		k->flow_key = true;
	} else {
		fc_log(FC_LOG_ERROR, "kafka: --kafka-key %s: expected exporter, flow or none",
		       cfg->kafka_key);
		return FC_EINVAL;
	}
	if (k->flow_key && k->per_record > 1)
		fc_log(FC_LOG_WARN, "kafka: --kafka-key flow with --kafka-msgs-per-record > 1: a "
				    "record holds one key, so most records will hold one flow");
	if (!codec_known(cfg->kafka_compression)) {
		fc_log(FC_LOG_ERROR, "kafka: --kafka-compression %s: expected none, gzip, snappy, "
				     "lz4 or zstd",
		       cfg->kafka_compression);
		return FC_EINVAL;
	}
	if (k->per_record > 1) {
		for (int i = 0; i < 2; i++) {
			k->batch[i].buf = malloc(FC_KAFKA_BATCH_CAP);
			if (!k->batch[i].buf)
				return FC_ENOMEM;
		}
	} else {
		k->pend.msg = calloc(FC_KAFKA_PENDING, sizeof(*k->pend.msg));
		k->pend.run = calloc(FC_KAFKA_PENDING, sizeof(*k->pend.run));
		k->pend.part = calloc(FC_KAFKA_PENDING, sizeof(*k->pend.part));
		k->pend.arena = malloc(FC_KAFKA_PENDING_BYTES);
		k->pend.seen = calloc(FC_KAFKA_PENDING, sizeof(*k->pend.seen));
		if (!k->pend.msg || !k->pend.run || !k->pend.part || !k->pend.seen || !k->pend.arena)
			return FC_ENOMEM;
	}
	return 0;
}

/* The producer's configuration: our callbacks, the brokers, the buffer
 * bounds and the codec, then the user's -X properties last so they can
 * override anything. On success *out_conf is the caller's. */
static int kafka_conf_build(struct kafka_out *k, const struct fc_config *cfg,
			    const char *brokers, rd_kafka_conf_t **out_conf)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char errstr[512];
	int rc;

	if (!conf)
		return FC_ENOMEM;
	rd_kafka_conf_set_opaque(conf, k);
	rd_kafka_conf_set_dr_msg_cb(conf, kafka_dr_cb);
	rd_kafka_conf_set_error_cb(conf, kafka_error_cb);
	rd_kafka_conf_set_log_cb(conf, kafka_log_cb);
	/* Throughput defaults (README, "Kafka producer settings"): records
	 * wait up to 20 ms to join a batch (librdkafka's 5 ms makes four
	 * times the requests at a low flow rate; at a high one batch.size
	 * fills first), and every in-sync replica acknowledges, so a broker
	 * failover loses nothing the spool and delivery counters believe
	 * delivered. -X, applied last, overrides both. */
	static const char *const defaults[] = {"client.id=flowcollector", "linger.ms=20",
					       "acks=all"};

	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		rc = conf_set(conf, defaults[i], "default");
		if (rc)
			goto fail;
	}
	if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, sizeof(errstr)) !=
	    RD_KAFKA_CONF_OK) {
		fc_log(FC_LOG_ERROR, "kafka: --kafka-brokers %s: %s", brokers, errstr);
		rc = FC_EINVAL;
		goto fail;
	}
	rc = kafka_conf_buffer(conf, cfg->kafka_buffer_bytes);
	if (rc)
		goto fail;
	/* No compression unless asked: every Kafka client reads plain
	 * records, not every one has every codec (kafkajs has no lz4). */
	if (cfg->kafka_compression) {
		char kv[64];

		snprintf(kv, sizeof(kv), "compression.codec=%s", cfg->kafka_compression);
		rc = conf_set(conf, kv, "--kafka-compression");
		if (rc)
			goto fail;
	}
	for (size_t i = 0; i < cfg->kafka_props.n; i++) {
		rc = conf_set(conf, cfg->kafka_props.v[i], "-X");
		if (rc)
			goto fail;
	}
	*out_conf = conf;
	return 0;
fail:
	rd_kafka_conf_destroy(conf);
	return rc;
}

static int kafka_open(void *priv, const char *arg, const struct fc_config *cfg, struct fc_metrics *m)
{
	struct kafka_out *k = priv;
	char errstr[512];
	rd_kafka_conf_t *conf = NULL;
	const char *topics[2];
	const char *brokers;
	int rc;

	assert(cfg && m);
	memset(k, 0, sizeof(*k));
	if (pthread_mutex_init(&k->lock, NULL) != 0)
		return FC_ESYS;
	k->lock_init = true;
	k->m = m;
	fc_metrics_set_guard(m, &k->lock);
	k->health = fc_metrics_health(m);
	kafka_register(k);
	if (arg && *arg) {
		fc_log(FC_LOG_ERROR, "kafka: the kafka output takes no argument (got \"%s\"); "
				     "use --kafka-brokers and --kafka-topic",
		       arg);
		return FC_EINVAL;
	}

	topics[FC_MSG_FLOW] = cfg->kafka_topic ? cfg->kafka_topic : default_topic[FC_MSG_FLOW];
	topics[FC_MSG_COUNTER] =
		cfg->kafka_counter_topic ? cfg->kafka_counter_topic : default_topic[FC_MSG_COUNTER];
	rc = kafka_options(k, cfg);
	if (rc)
		return rc;

	brokers = cfg->kafka_brokers;
	if (!brokers) {
		rc = kafka_start_embedded(k, topics);
		if (rc)
			return rc;
		brokers = k->mock_bootstraps;
	}
	rc = kafka_conf_build(k, cfg, brokers, &conf);
	if (rc)
		return rc;
	k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!k->rk) {
		fc_log(FC_LOG_ERROR, "kafka: producer: %s", errstr);
		rd_kafka_conf_destroy(conf);
		return FC_EINVAL;
	}
	/* conf is owned by rk now */
	for (int i = 0; i < 2; i++) {
		k->topic[i] = rd_kafka_topic_new(k->rk, topics[i], NULL);
		if (!k->topic[i]) {
			fc_log(FC_LOG_ERROR, "kafka: topic %s: %s", topics[i],
			       rd_kafka_err2str(rd_kafka_last_error()));
			return FC_EINVAL;
		}
	}
	/* Live only: a replay is judged by its exit status. */
	if (!k->replay)
		k->probe = kafka_probe_start(k->rk, k->topic[FC_MSG_FLOW], k->health);
	if (cfg->spool_dir)
		return fc_spool_open(&k->spool, cfg->spool_dir, cfg->spool_max_bytes, m);
	return 0;
}

/* Hands spooled records back to librdkafka, oldest first, while its
 * queue and the spool's window take them. */
static void kafka_spool_pump(struct kafka_out *k)
{
	bool was = fc_spool_pending(k->spool);
	struct fc_spool_rec r;

	for (int i = 0; i < FC_KAFKA_PUMP_MAX && fc_spool_peek(k->spool, &r) == 0; i++) {
		void *ticket = fc_spool_take(k->spool);
		rd_kafka_resp_err_t err;

		if (rd_kafka_produce(k->topic[r.kind], RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
				     (void *)(uintptr_t)r.payload, r.len, r.key, r.key_len, ticket) == 0) {
			*k->produced += r.n_msgs;
			k->inflight += r.n_msgs;
			continue;
		}
		err = rd_kafka_last_error();
		if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
			fc_spool_untake(k->spool, ticket);
			break;
		}
		/* Refused for good (too large, unknown topic): counted, and
		 * not retried forever. */
		*reason_slot(k, &k->produce_err, err) += r.n_msgs;
		fc_spool_done(k->spool, ticket);
	}
	if (was && !fc_spool_pending(k->spool))
		fc_log(FC_LOG_INFO, "kafka: the spool is read back; records go to Kafka directly again");
}

/* Keeps a record in the spool (when Kafka cannot take it now, or while
 * older records wait there). */
static int kafka_spool_keep(struct kafka_out *k, enum fc_msg_kind kind, const uint8_t *buf,
			    size_t len, const uint8_t *key, size_t key_len, uint64_t n)
{
	struct fc_spool_rec r = {.kind = (uint8_t)kind, .n_msgs = (uint32_t)n, .key = key,
				 .key_len = key_len, .payload = buf, .len = len};

	if (!fc_spool_pending(k->spool))
		fc_log_rl(&k->err_rl, FC_LOG_WARN,
			  "kafka: the local queue is full (--kafka-buffer-bytes); records go to the "
			  "spool until Kafka takes them again");
	return fc_spool_append(k->spool, &r) == 0 ? 0 : FC_EAGAIN;
}

/* With a spool: true when nothing waits in it, so that a new record may
 * go to Kafka directly without overtaking older ones. A replay waits for
 * the spool to empty (until a stop is requested). */
static bool kafka_spool_drained(struct kafka_out *k)
{
	kafka_spool_pump(k);
	while (k->replay && fc_spool_pending(k->spool) && !fc_stop_requested()) {
		rd_kafka_poll(k->rk, FC_KAFKA_REPLAY_WAIT_MS);
		kafka_spool_pump(k);
	}
	return !fc_spool_pending(k->spool);
}

/* Hands one record to librdkafka (copied). n is the number of framed
 * messages it carries, for the counters. */
static int kafka_produce(struct kafka_out *k, enum fc_msg_kind kind, const uint8_t *buf, size_t len,
			 const uint8_t *key, size_t key_len, uint64_t n)
{
	rd_kafka_resp_err_t err;

	if (!k->use_key) {
		key = NULL;
		key_len = 0;
	}
	if (k->spool && !kafka_spool_drained(k))
		return kafka_spool_keep(k, kind, buf, len, key, key_len, n);
	for (;;) {
		if (rd_kafka_produce(k->topic[kind], RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
				     (void *)(uintptr_t)buf, len, key, key_len,
				     (void *)(uintptr_t)n) == 0) {
			*k->produced += n;
			k->inflight += n;
			return 0;
		}
		err = rd_kafka_last_error();
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
			*reason_slot(k, &k->produce_err, err) += n;
			return err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ? FC_ELIMIT : FC_EINVAL;
		}
		if (!k->replay) {
			/* UDP cannot wait: spool, or drop, count, move on. */
			if (k->spool)
				return kafka_spool_keep(k, kind, buf, len, key, key_len, n);
			*k->queue_full += n;
			fc_logsum_event(&k->full_log, fc_mono_ns(), n, FC_LOG_ERROR,
					"kafka: local queue full (%d records), dropping messages",
					rd_kafka_outq_len(k->rk));
			fc_health_fail(k->health, FC_KAFKA_HEALTH, FC_KAFKA_FULL_TTL_NS,
				       "local producer queue full, messages dropped");
			return FC_EAGAIN;
		}
		/* A replay waits for room, but not past SIGTERM/SIGINT: a dead
		 * broker would otherwise hold the process for
		 * message.timeout.ms (300 s). */
		if (fc_stop_requested()) {
			if (k->spool)
				return kafka_spool_keep(k, kind, buf, len, key, key_len, n);
			*k->stop_drops += n;
			return FC_EAGAIN;
		}
		/* Replay: let deliveries drain the queue, then retry. */
		rd_kafka_poll(k->rk, FC_KAFKA_REPLAY_WAIT_MS);
	}
}

static int kafka_batch_send(struct kafka_out *k, enum fc_msg_kind kind)
{
	struct kafka_batch *b = &k->batch[kind];
	int rc;

	if (b->n == 0)
		return 0;
	rc = kafka_produce(k, kind, b->buf, b->len, b->has_key ? b->key : NULL, b->key_len, b->n);
	b->len = 0;
	b->n = 0;
	b->has_key = false;
	b->key_len = 0;
	return rc;
}

/* Hands msgs[0, n) to librdkafka in one call, to partition part
 * (RD_KAFKA_PARTITION_UA: librdkafka partitions each); the refused ones
 * (queue full, mostly) take the one-record path, which spools, counts or
 * waits for room. */
static void kafka_produce_run(struct kafka_out *k, int32_t part, rd_kafka_message_t *msgs, int n)
{
	int ok = rd_kafka_produce_batch(k->topic[FC_MSG_FLOW], part, RD_KAFKA_MSG_F_COPY, msgs, n);

	*k->produced += (uint64_t)ok;
	k->inflight += (uint64_t)ok;
	for (int i = 0; ok < n && i < n; i++) {
		if (msgs[i].err)
			(void)kafka_produce(k, FC_MSG_FLOW, msgs[i].payload, msgs[i].len, msgs[i].key,
					    msgs[i].key_len, 1);
	}
}

/* The partition of each gathered record, as librdkafka's default
 * partitioner (consistent_random) would choose it: its own function on
 * the key, over the partition count the probe read; records without a
 * key share one partition per hand-over (librdkafka's sticky
 * partitioner likewise fills one partition at a time). The same key
 * follows itself in a batch (one exporter's flows): its hash is reused. */
static void kafka_partition_all(struct kafka_out *k, int32_t cnt)
{
	struct kafka_pending *q = &k->pend;
	const void *last = NULL;
	size_t last_len = 0;
	int32_t last_part = 0;

	k->next_part = (k->next_part + 1) % cnt;
	for (int i = 0; i < q->n; i++) {
		const rd_kafka_message_t *m = &q->msg[i];

		if (!m->key) {
			q->part[i] = k->next_part;
			continue;
		}
		if (!last || m->key_len != last_len || memcmp(m->key, last, last_len) != 0) {
			last_part = rd_kafka_msg_partitioner_consistent_random(
				k->topic[FC_MSG_FLOW], m->key, m->key_len, cnt, NULL, NULL);
			last = m->key;
			last_len = m->key_len;
		}
		q->part[i] = last_part;
	}
}

/* Room in pend.slot for cnt partitions (a topic may grow while running).
 * Returns false when out of memory: librdkafka then partitions. */
static bool kafka_slots(struct kafka_pending *q, int32_t cnt)
{
	uint32_t *s;

	if (cnt <= q->nslot)
		return true;
	s = calloc((size_t)cnt, sizeof(*s));
	if (!s)
		return false;
	free(q->slot);
	q->slot = s;
	q->nslot = cnt;
	return true;
}

/* Produces the gathered records grouped by the partition kafka_partition_all
 * chose, each group in its records' order, in time linear in the records
 * whatever the partition count (a counting sort over the partitions
 * present only). */
static void kafka_produce_by_partition(struct kafka_out *k)
{
	struct kafka_pending *q = &k->pend;
	uint32_t at = 0;
	int nseen = 0;

	for (int i = 0; i < q->n; i++) {
		if (q->slot[q->part[i]]++ == 0)
			q->seen[nseen++] = q->part[i];
	}
	for (int j = 0; j < nseen; j++) {
		uint32_t c = q->slot[q->seen[j]];

		q->slot[q->seen[j]] = at;
		at += c;
	}
	for (int i = 0; i < q->n; i++)
		q->run[q->slot[q->part[i]]++] = q->msg[i];
	at = 0;
	for (int j = 0; j < nseen; j++) {
		uint32_t end = q->slot[q->seen[j]];

		kafka_produce_run(k, q->seen[j], q->run + at, (int)(end - at));
		q->slot[q->seen[j]] = 0;
		at = end;
	}
}

/* Hands the gathered flow records to librdkafka. Once the probe knows
 * the flow topic's partition count, records are grouped by partition
 * (in order within each) and each group is one rd_kafka_produce_batch to
 * that partition: librdkafka then appends the group under one lock with
 * one clock read, rather than partitioning and locking per record. Behind
 * a spool that still holds records they go to the spool, in order, as
 * kafka_produce would send each of them. */
static void kafka_pending_send(struct kafka_out *k)
{
	struct kafka_pending *q = &k->pend;
	int32_t cnt = k->probe ? atomic_load(&k->probe->partitions) : 0;

	if (q->n == 0)
		return;
	if (k->spool && !kafka_spool_drained(k)) {
		for (int i = 0; i < q->n; i++)
			(void)kafka_spool_keep(k, FC_MSG_FLOW, q->msg[i].payload, q->msg[i].len,
					       q->msg[i].key, q->msg[i].key_len, 1);
	} else if (!k->default_partitioner || cnt <= 0 || !kafka_slots(q, cnt)) {
		kafka_produce_run(k, RD_KAFKA_PARTITION_UA, q->msg, q->n);
	} else {
		kafka_partition_all(k, cnt);
		kafka_produce_by_partition(k);
	}
	q->n = 0;
	q->used = 0;
}

/* Gathers one flow record (copied); hands them all over when full. */
static void kafka_pending_add(struct kafka_out *k, const struct fc_msg *msg)
{
	struct kafka_pending *q = &k->pend;
	size_t key_len = k->use_key && msg->key ? msg->key_len : 0;
	size_t need = msg->framed_len + key_len;
	rd_kafka_message_t *m;

	if (q->n == FC_KAFKA_PENDING || need > FC_KAFKA_PENDING_BYTES - q->used)
		kafka_pending_send(k);
	m = &q->msg[q->n++];
	*m = (rd_kafka_message_t){.payload = q->arena + q->used, .len = msg->framed_len,
				  ._private = (void *)(uintptr_t)1};
	memcpy(q->arena + q->used, msg->framed, msg->framed_len);
	q->used += msg->framed_len;
	if (key_len) {
		m->key = q->arena + q->used;
		m->key_len = key_len;
		memcpy(q->arena + q->used, msg->key, key_len);
		q->used += key_len;
	}
}

static bool batch_key_matches(const struct kafka_batch *b, const struct fc_msg *msg)
{
	if (!msg->key || msg->key_len == 0)
		return !b->has_key;
	return b->has_key && b->key_len == msg->key_len && memcmp(b->key, msg->key, b->key_len) == 0;
}

/* Appends one endpoint: address bytes (4 or 16), then the port, big-endian. */
static size_t put_endpoint(uint8_t *out, const uint8_t *addr, size_t len, uint32_t port)
{
	size_t n = len <= 16 ? len : 16;

	if (n)
		memcpy(out, addr, n);
	out[n] = (uint8_t)(port >> 8);
	out[n + 1] = (uint8_t)port;
	return n + 2;
}

/* The flow key: both endpoints, the smaller (by bytes) first, then the IP
 * protocol; at most FC_KAFKA_KEY_MAX bytes. Both directions of a
 * conversation get one key, so a consumer pairing them finds both in one
 * partition; librdkafka's partitioner hashes it. a and b are the endpoints
 * as put_endpoint wrote them. */
static size_t flow_key(const uint8_t *a, size_t al, const uint8_t *b, size_t bl, uint32_t proto,
		       uint8_t *out)
{
	size_t common = al < bl ? al : bl;
	int c = memcmp(a, b, common);
	bool swap = c > 0 || (c == 0 && al > bl);

	memcpy(out, swap ? b : a, swap ? bl : al);
	memcpy(out + (swap ? bl : al), swap ? a : b, swap ? al : bl);
	out[al + bl] = (uint8_t)proto;
	return al + bl + 1;
}

/* The key of msg read from its record (the pipeline's path, no protobuf-c
 * message built) or else from its protobuf-c message; 0 when it has
 * neither. */
static size_t msg_flow_key(const struct fc_msg *msg, uint8_t *out)
{
	uint8_t a[18], b[18];
	size_t al, bl;

	if (msg->flow) {
		const struct fc_flow *f = msg->flow;

		al = put_endpoint(a, f->src_addr.a, fc_addr_len(&f->src_addr), f->src_port);
		bl = put_endpoint(b, f->dst_addr.a, fc_addr_len(&f->dst_addr), f->dst_port);
		return flow_key(a, al, b, bl, f->proto, out);
	}
	if (msg->pb && msg->pb->descriptor == &flowpb__flow_message__descriptor) {
		const Flowpb__FlowMessage *m = (const Flowpb__FlowMessage *)(const void *)msg->pb;

		al = put_endpoint(a, m->src_addr.data, m->src_addr.len, m->src_port);
		bl = put_endpoint(b, m->dst_addr.data, m->dst_addr.len, m->dst_port);
		return flow_key(a, al, b, bl, m->proto, out);
	}
	return 0;
}

static int kafka_write_locked(struct kafka_out *k, const struct fc_msg *msg)
{
	struct kafka_batch *b;
	struct fc_msg keyed;
	uint8_t key[FC_KAFKA_KEY_MAX];
	int rc = 0;

	assert(msg->kind == FC_MSG_FLOW || msg->kind == FC_MSG_COUNTER);
	if (k->flow_key && msg->kind == FC_MSG_FLOW) {
		size_t n = msg_flow_key(msg, key);

		if (n > 0) {
			keyed = *msg;
			keyed.key_len = n;
			keyed.key = key;
			msg = &keyed;
		}
	}
	if (k->per_record <= 1) {
		/* Flows wait for one hand-over per receive batch; a framed
		 * message is at most FC_PB_MAX_FRAMED (32 KiB), well under the
		 * gathering buffer. */
		if (msg->kind == FC_MSG_FLOW && msg->framed_len + FC_KAFKA_KEY_MAX <= FC_KAFKA_PENDING_BYTES) {
			kafka_pending_add(k, msg);
			return 0;
		}
		/* A flow too large to gather follows the gathered ones; a
		 * counter sample goes to a topic of its own and leaves them. */
		if (msg->kind == FC_MSG_FLOW)
			kafka_pending_send(k);
		return kafka_produce(k, msg->kind, msg->framed, msg->framed_len, msg->key, msg->key_len,
				     1);
	}

	b = &k->batch[msg->kind];
	/* A record has one key, and must fit the buffer: send what is
	 * pending first. The return code of that earlier batch was already
	 * counted; what matters to the caller is this message. */
	if (b->n > 0 && ((k->use_key && !batch_key_matches(b, msg)) ||
			 msg->framed_len > FC_KAFKA_BATCH_CAP - b->len))
		(void)kafka_batch_send(k, msg->kind);
	if (msg->framed_len > FC_KAFKA_BATCH_CAP)
		return kafka_produce(k, msg->kind, msg->framed, msg->framed_len, msg->key, msg->key_len,
				     1);
	if (b->n == 0) {
		b->first_ns = fc_mono_ns();
		if (k->use_key && msg->key && msg->key_len > 0 && msg->key_len <= FC_KAFKA_KEY_MAX) {
			memcpy(b->key, msg->key, msg->key_len);
			b->key_len = msg->key_len;
			b->has_key = true;
		}
	}
	memcpy(b->buf + b->len, msg->framed, msg->framed_len);
	b->len += msg->framed_len;
	b->n++;
	if (b->n >= k->per_record)
		rc = kafka_batch_send(k, msg->kind);
	return rc;
}

static int kafka_write(void *priv, const struct fc_msg *msg)
{
	struct kafka_out *k = priv;
	int rc;

	pthread_mutex_lock(&k->lock);
	rc = kafka_write_locked(k, msg);
	pthread_mutex_unlock(&k->lock);
	return rc;
}

static void kafka_poll(void *priv)
{
	struct kafka_out *k = priv;
	uint64_t now;

	if (!k->rk)
		return;
	pthread_mutex_lock(&k->lock);
	kafka_pending_send(k);
	if (k->per_record > 1) {
		now = fc_mono_ns();
		for (int i = 0; i < 2; i++) {
			if (k->batch[i].n > 0 && now - k->batch[i].first_ns >= FC_KAFKA_LINGER_NS)
				(void)kafka_batch_send(k, (enum fc_msg_kind)i);
		}
	}
	if (k->spool) {
		kafka_spool_pump(k);
		fc_spool_tick(k->spool);
	}
	rd_kafka_poll(k->rk, 0);
	*k->queue_len = (uint64_t)rd_kafka_outq_len(k->rk);
	*k->inflight_gauge = k->inflight;
	now = fc_mono_ns();
	fc_logsum_flush(&k->dr_log, now, FC_LOG_ERROR, "kafka: delivery failed");
	fc_logsum_flush(&k->full_log, now, FC_LOG_ERROR, "kafka: local queue full");
	pthread_mutex_unlock(&k->lock);
}

/* The exit flush: waits up to flush_ms for outstanding deliveries, but
 * gives up after FC_KAFKA_FLUSH_STALL_MS in which not one delivery report
 * arrived. A broker that is down does not answer, and a stop must not wait
 * --kafka-flush-ms for it; a reachable broker acknowledges within
 * milliseconds, so a working flush is never cut short by the stall rule. */
static void kafka_flush_bounded(struct kafka_out *k)
{
	uint64_t start = fc_mono_ns(), progress = start;
	uint64_t bound = (uint64_t)(unsigned)k->flush_ms * UINT64_C(1000000);
	uint64_t stall = (uint64_t)FC_KAFKA_FLUSH_STALL_MS * UINT64_C(1000000);

	while (rd_kafka_outq_len(k->rk) > 0) {
		uint64_t before = k->inflight, now;

		(void)rd_kafka_flush(k->rk, 100);
		now = fc_mono_ns();
		if (k->inflight != before)
			progress = now;
		if (now - start >= bound || now - progress >= stall)
			break;
	}
}

/* Exit with a spool: what the bounded flush could not deliver is purged
 * from librdkafka, and the delivery reports of the purge put it in the
 * spool (kafka_spool_failed) for the next start. The purge waits for the
 * broker threads to let go of in-flight requests; their reports are then
 * served here, within a bound. */
static void kafka_spool_purge(struct kafka_out *k)
{
	uint64_t start = fc_mono_ns(), before = k->inflight;

	k->closing = true;
	rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
	while (k->inflight > 0 && fc_mono_ns() - start < 500ull * 1000000ull)
		rd_kafka_poll(k->rk, 10);
	fc_log(FC_LOG_WARN,
	       "kafka: %" PRIu64 " messages undelivered at exit are in the spool for the next start "
	       "(%" PRIu64 " of them written there now)",
	       before - k->inflight, k->kept_at_exit);
}

static void kafka_close(void *priv)
{
	struct kafka_out *k = priv;

	/* Before the lock: the probe never takes it, and may wait out its
	 * bound on a dead broker. */
	kafka_probe_stop(k->probe);
	k->probe = NULL;
	if (k->lock_init)
		pthread_mutex_lock(&k->lock);
	if (k->rk) {
		kafka_pending_send(k);
		for (int i = 0; i < 2; i++) {
			if (k->batch[i].buf)
				(void)kafka_batch_send(k, (enum fc_msg_kind)i);
		}
		kafka_flush_bounded(k);
		if (k->spool && k->inflight > 0)
			kafka_spool_purge(k);
		/* Delivery reports were served by the flush; what is still
		 * counted in flight was neither delivered nor failed. */
		if (k->inflight > 0) {
			*k->flush_lost += k->inflight;
			fc_log(FC_LOG_WARN,
			       "kafka: %" PRIu64 " messages still undelivered at exit (flush "
			       "bound %d ms, or %d ms without a delivery); counted as lost",
			       k->inflight, k->flush_ms, FC_KAFKA_FLUSH_STALL_MS);
			k->closing = true;
			rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT |
						      RD_KAFKA_PURGE_F_NON_BLOCKING);
			rd_kafka_poll(k->rk, 0);
		}
		*k->queue_len = (uint64_t)rd_kafka_outq_len(k->rk);
		*k->inflight_gauge = k->inflight;
		/* Last summaries, now. */
		fc_logsum_finish(&k->dr_log, fc_mono_ns(), FC_LOG_ERROR, "kafka: delivery failed");
		fc_logsum_finish(&k->full_log, fc_mono_ns(), FC_LOG_ERROR, "kafka: local queue full");
		for (int i = 0; i < 2; i++) {
			if (k->topic[i])
				rd_kafka_topic_destroy(k->topic[i]);
		}
		rd_kafka_destroy(k->rk);
	}
	/* After the producer: no delivery report can reach it any more. */
	fc_spool_free(k->spool);
	k->spool = NULL;
	/* The embedded cluster goes last: the producer needed it to flush. */
	if (k->mcluster)
		rd_kafka_mock_cluster_destroy(k->mcluster);
	if (k->mock_rk)
		rd_kafka_destroy(k->mock_rk);
	for (int i = 0; i < 2; i++)
		free(k->batch[i].buf);
	free(k->pend.msg);
	free(k->pend.run);
	free(k->pend.part);
	free(k->pend.seen);
	free(k->pend.slot);
	free(k->pend.arena);
	free(k->mock_bootstraps);
	if (k->lock_init) {
		pthread_mutex_unlock(&k->lock);
		pthread_mutex_destroy(&k->lock);
	}
	memset(k, 0, sizeof(*k));
}

const char *fc_output_kafka_embedded_bootstraps(const void *priv)
{
	const struct kafka_out *k = priv;

	return k->mock_bootstraps;
}

int fc_output_kafka_partitions(const void *priv)
{
	const struct kafka_out *k = priv;

	return k->probe ? atomic_load(&k->probe->partitions) : 0;
}

const struct fc_output_ops fc_output_kafka = {
	.name = "kafka",
	.priv_size = sizeof(struct kafka_out),
	.own_streams = true, /* a topic per message kind */
	.open = kafka_open,
	.write = kafka_write,
	.poll = kafka_poll,
	.close = kafka_close,
};
