/*
 * kafka_floor: what librdkafka alone costs per record, with nothing of the
 * collector in front of it. Produces --records records of --size bytes
 * (payload bytes need no meaning: uncompressed records cost the same
 * whatever they hold) to a broker (run tests/e2e/mock_kafka in another
 * process, pinned to another core, for a broker that is not ours to pay
 * for), waits for every delivery report, and prints the CPU time this
 * process spent per record, split into the producing thread (ours: the
 * produce calls and the delivery reports, served by rd_kafka_poll) and
 * librdkafka's own threads (rdk:*: the broker threads that build and send
 * the record batches). The figure is the floor under the collector's
 * CPU per flow with one flow per Kafka record, its default.
 *
 * Modes: "produce" calls rd_kafka_produce once per record, as the
 * collector does; "batch" hands --batch records at a time to
 * rd_kafka_produce_batch with the partition left to librdkafka;
 * "batch-partition" picks one partition per batch itself, which lets
 * librdkafka append the whole batch to that partition's queue at once.
 * References: librdkafka rdkafka.h (rd_kafka_produce, rd_kafka_produce_batch,
 * dr_msg_cb), CONFIGURATION.md.
 *
 * usage: kafka_floor --brokers HOST:PORT [--topic T] [--partitions N]
 *                    [--records N] [--size B] [--mode M] [--batch N]
 *                    [-X key=value]...
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#define MAX_X 32

enum mode { MODE_PRODUCE, MODE_BATCH, MODE_BATCH_PARTITION };

struct opts {
	const char *brokers, *topic;
	uint64_t records;
	size_t size, batch;
	int partitions;
	enum mode mode;
	const char *x[MAX_X];
	int nx;
};

struct cpu {
	double self, rdk;
};

static uint64_t delivered, failed;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	(void)opaque;
	if (m->err)
		failed++;
	else
		delivered++;
}

/* CPU seconds of this process's threads from /proc/self/task/TID/stat,
 * "rdk:" threads apart from the others. */
static struct cpu cpu_now(void)
{
	struct cpu c = {0, 0};
	long tck = sysconf(_SC_CLK_TCK);
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;

	if (!d)
		return c;
	while ((e = readdir(d)) != NULL) {
		char path[64], buf[1024], *lp, *rp;
		unsigned long ut = 0, st = 0;
		FILE *f;
		size_t n;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%.20s/stat", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		lp = strchr(buf, '(');
		rp = strrchr(buf, ')');
		if (!lp || !rp)
			continue;
		/* after ") ": state, then fields 4..; utime and stime are 14, 15 */
		if (sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
			   &st) != 2)
			continue;
		if (strncmp(lp + 1, "rdk:", 4) == 0)
			c.rdk += (double)(ut + st) / (double)tck;
		else
			c.self += (double)(ut + st) / (double)tck;
	}
	closedir(d);
	return c;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int usage(void)
{
	fprintf(stderr, "usage: kafka_floor --brokers HOST:PORT [--topic T] [--partitions N] "
			"[--records N] [--size B] [--mode produce|batch|batch-partition] "
			"[--batch N] [-X key=value]...\n");
	return 2;
}

static int parse(int argc, char **argv, struct opts *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			return usage();
		i++;
		if (!strcmp(a, "--brokers")) {
			o->brokers = v;
		} else if (!strcmp(a, "--topic")) {
			o->topic = v;
		} else if (!strcmp(a, "--partitions")) {
			o->partitions = atoi(v);
		} else if (!strcmp(a, "--records")) {
			o->records = strtoull(v, NULL, 10);
		} else if (!strcmp(a, "--size")) {
			o->size = strtoull(v, NULL, 10);
		} else if (!strcmp(a, "--batch")) {
			o->batch = strtoull(v, NULL, 10);
		} else if (!strcmp(a, "--mode")) {
			if (!strcmp(v, "produce"))
				o->mode = MODE_PRODUCE;
			else if (!strcmp(v, "batch"))
				o->mode = MODE_BATCH;
			else if (!strcmp(v, "batch-partition"))
				o->mode = MODE_BATCH_PARTITION;
			else
				return usage();
		} else if (!strcmp(a, "-X") && o->nx < MAX_X) {
			o->x[o->nx++] = v;
		} else {
			return usage();
		}
	}
	if (!o->brokers || o->records == 0 || o->records > 100000000 || o->size == 0 ||
	    o->size > 1000000 || o->batch == 0 || o->batch > 100000 || o->partitions < 1)
		return usage();
	return 0;
}

/* Hands records [0, n) to librdkafka; a full local queue is waited out,
 * since this measures a producer that keeps up. */
static int produce_all(rd_kafka_t *rk, rd_kafka_topic_t *t, const struct opts *o, uint8_t *payload)
{
	rd_kafka_message_t *msgs = calloc(o->batch, sizeof(*msgs));
	uint64_t sent = 0;
	int32_t part = 0;

	if (!msgs)
		return 1;
	while (sent < o->records) {
		size_t n = o->records - sent < o->batch ? (size_t)(o->records - sent) : o->batch;

		if (o->mode == MODE_PRODUCE) {
			if (rd_kafka_produce(t, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, payload,
					     o->size, NULL, 0, NULL) != 0) {
				rd_kafka_poll(rk, 10);
				continue;
			}
			sent++;
			if ((sent & 1023) == 0)
				rd_kafka_poll(rk, 0);
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			msgs[i] = (rd_kafka_message_t){.payload = payload, .len = o->size};
		}
		part = (part + 1) % o->partitions;
		int ok = rd_kafka_produce_batch(
			t, o->mode == MODE_BATCH ? RD_KAFKA_PARTITION_UA : part, RD_KAFKA_MSG_F_COPY,
			msgs, (int)n);
		/* the ones refused (queue full) are retried after a poll */
		sent += (uint64_t)ok;
		rd_kafka_poll(rk, ok < (int)n ? 10 : 0);
	}
	free(msgs);
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = {.topic = "flows", .records = 1000000, .size = 160, .batch = 32,
			 .partitions = 4, .mode = MODE_PRODUCE};
	char errstr[512];
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;
	rd_kafka_topic_t *t;
	uint8_t *payload;
	struct cpu c0, c1;
	double w0, w1;

	if (parse(argc, argv, &o))
		return 2;
	payload = malloc(o.size);
	if (!payload)
		return 1;
	for (size_t i = 0; i < o.size; i++)
		payload[i] = (uint8_t)(i * 7u);
	conf = rd_kafka_conf_new();
	rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
	if (rd_kafka_conf_set(conf, "bootstrap.servers", o.brokers, errstr, sizeof(errstr)) ||
	    rd_kafka_conf_set(conf, "queue.buffering.max.messages", "1000000", errstr,
			      sizeof(errstr))) {
		fprintf(stderr, "kafka_floor: %s\n", errstr);
		return 2;
	}
	for (int i = 0; i < o.nx; i++) {
		char kv[256], *eq;

		snprintf(kv, sizeof(kv), "%s", o.x[i]);
		eq = strchr(kv, '=');
		if (!eq) {
			fprintf(stderr, "kafka_floor: -X %s: expected key=value\n", o.x[i]);
			return 2;
		}
		*eq = '\0';
		if (rd_kafka_conf_set(conf, kv, eq + 1, errstr, sizeof(errstr))) {
			fprintf(stderr, "kafka_floor: -X %s: %s\n", o.x[i], errstr);
			return 2;
		}
	}
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!rk) {
		fprintf(stderr, "kafka_floor: %s\n", errstr);
		return 1;
	}
	t = rd_kafka_topic_new(rk, o.topic, NULL);
	/* Connected and the topic's partitions known before timing. */
	{
		const struct rd_kafka_metadata *md;

		if (rd_kafka_metadata(rk, 0, t, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
			fprintf(stderr, "kafka_floor: no metadata from %s\n", o.brokers);
			return 1;
		}
		rd_kafka_metadata_destroy(md);
	}
	c0 = cpu_now();
	w0 = mono_s();
	if (produce_all(rk, t, &o, payload))
		return 1;
	while (rd_kafka_outq_len(rk) > 0 && mono_s() - w0 < 120)
		rd_kafka_poll(rk, 50);
	w1 = mono_s();
	c1 = cpu_now();
	printf("kafka_floor: mode=%s records=%" PRIu64 " size=%zu batch=%zu delivered=%" PRIu64
	       " failed=%" PRIu64 " wall=%.3fs cpu: producer thread %.3f us/record, rdk threads "
	       "%.3f us/record, total %.3f us/record\n",
	       o.mode == MODE_PRODUCE ? "produce" : o.mode == MODE_BATCH ? "batch" : "batch-partition",
	       o.records, o.size, o.batch, delivered, failed, w1 - w0,
	       (c1.self - c0.self) * 1e6 / (double)o.records,
	       (c1.rdk - c0.rdk) * 1e6 / (double)o.records,
	       (c1.self + c1.rdk - c0.self - c0.rdk) * 1e6 / (double)o.records);
	rd_kafka_topic_destroy(t);
	rd_kafka_destroy(rk);
	free(payload);
	return delivered == o.records ? 0 : 1;
}
