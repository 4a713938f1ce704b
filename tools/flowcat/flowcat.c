/*
 * flowcat: reads length-delimited FlowMessages (or, with --counters, sFlow
 * CounterMessages) from a Kafka topic or from a file and prints one JSON
 * object per message per line, exactly as `collector --output json` does
 * (src/encode/json.c is the one printer).
 *
 * Input framing (DESIGN §3): each message is preceded by its length as a
 * base-128 varint; a Kafka record holds one or more such frames (more when
 * the collector batches with kafka_msgs_per_record). Every frame is
 * untrusted: a varint that does not end, a length running past the record
 * or the file, or bytes protobuf-c cannot unpack are counted by reason,
 * reported on exit, and skipped (a bad length ends its record or file,
 * since nothing after it can be found again); never a crash.
 *
 * Kafka reading uses librdkafka's simple consumer (no consumer group, no
 * committed offsets): every partition of the topic from the beginning, the
 * end or an offset; -e exits once every partition has reached its end, -c
 * after a number of messages.
 *
 * One message type per stream (as the collector writes them): flows by
 * default, sFlow counter samples with --counters. In a flow stream, a
 * message without a flow type (FlowType 1..4) is not a flow and is counted
 * as bad, so a stream that mixes types fails loudly. --json-style goflow2
 * prints flows the way goflow2's JSON formatter does, like the collector's
 * option of the same name.
 *
 * Exit status: 0 when every frame was good, 1 when any was bad or on a
 * usage, file or Kafka error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "core/version.h"
#include "encode/json.h"
#include "encode/pb.h"
#include "fc/err.h"
#include "counter.pb-c.h"
#include "flow.pb-c.h"

#define FLOWCAT_MAX_FRAME (16u * 1024u * 1024u) /* far above any message we write */

enum bad_reason {
	BAD_VARINT = 0, /* length prefix does not end within 10 bytes / the input */
	BAD_TRUNC,      /* length runs past the record or the file */
	BAD_TOOBIG,     /* length above FLOWCAT_MAX_FRAME */
	BAD_UNPACK,     /* protobuf-c refused the bytes */
	BAD_EMPTY,      /* a record with no bytes */
	BAD_NOT_FLOW,   /* unpacked as a FlowMessage but has no flow type */
	BAD_COUNT
};

static const char *const bad_names[BAD_COUNT] = {
	"bad varint length", "truncated frame", "frame too large", "protobuf unpack failed",
	"empty record", "not a flow message",
};

struct flowcat {
	const ProtobufCMessageDescriptor *desc;
	FILE *out;
	enum fc_json_style style;
	uint64_t limit; /* -c: stop after this many messages, 0 = no limit */
	uint64_t messages;
	uint64_t records;
	uint64_t bad[BAD_COUNT];
	bool out_failed;
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static bool done(const struct flowcat *fc)
{
	return stop_requested || fc->out_failed || (fc->limit && fc->messages >= fc->limit);
}

/* One frame's message bytes: unpack, print, free. */
static void print_message(struct flowcat *fc, const uint8_t *p, size_t len)
{
	ProtobufCMessage *m = protobuf_c_message_unpack(fc->desc, NULL, len, p);

	if (!m) {
		fc->bad[BAD_UNPACK]++;
		return;
	}
	if (fc->desc == &flowpb__flow_message__descriptor) {
		const Flowpb__FlowMessage *f = (const Flowpb__FlowMessage *)(const void *)m;

		if (f->type <= FLOWPB__FLOW_MESSAGE__FLOW_TYPE__FLOWUNKNOWN ||
		    f->type > FLOWPB__FLOW_MESSAGE__FLOW_TYPE__IPFIX) {
			fc->bad[BAD_NOT_FLOW]++;
			protobuf_c_message_free_unpacked(m, NULL);
			return;
		}
	}
	if (fc_json_write_msg(m, fc->style, fc->out) != 0)
		fc->out_failed = true;
	protobuf_c_message_free_unpacked(m, NULL);
	fc->messages++;
}

/* Walks the frames of one Kafka record. */
static void print_record(struct flowcat *fc, const uint8_t *p, size_t len)
{
	size_t off = 0;

	fc->records++;
	if (len == 0) {
		fc->bad[BAD_EMPTY]++;
		return;
	}
	while (off < len && !done(fc)) {
		uint64_t flen;
		size_t n = fc_pb_varint_decode(p + off, len - off, &flen);

		if (n == 0) {
			fc->bad[BAD_VARINT]++;
			return;
		}
		off += n;
		/* Compare with what remains, never p + off + flen. */
		if (flen > len - off) {
			fc->bad[BAD_TRUNC]++;
			return;
		}
		print_message(fc, p + off, (size_t)flen);
		off += (size_t)flen;
	}
}

/* Reads a varint byte by byte from a stream. Returns 1 with *out set, 0 at
 * a clean end of file (no byte read), -1 on a varint cut short or too long. */
static int read_varint(FILE *in, uint64_t *out)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < 10; i++) {
		int ch = getc(in);

		if (ch == EOF)
			return i == 0 ? 0 : -1;
		v |= (uint64_t)(ch & 0x7f) << (7 * i);
		if (!(ch & 0x80)) {
			*out = v;
			return 1;
		}
	}
	return -1;
}

static int run_file(struct flowcat *fc, const char *path)
{
	FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0;
	int rc = 0;

	if (!in) {
		fprintf(stderr, "flowcat: %s: %s\n", path, strerror(errno));
		return 1;
	}
	while (!done(fc)) {
		uint64_t flen;
		int r = read_varint(in, &flen);

		if (r == 0)
			break;
		if (r < 0) {
			fc->bad[BAD_VARINT]++;
			break;
		}
		if (flen > FLOWCAT_MAX_FRAME) {
			fc->bad[BAD_TOOBIG]++;
			break;
		}
		if (flen > cap) {
			uint8_t *nb = realloc(buf, (size_t)flen);

			if (!nb) {
				fprintf(stderr, "flowcat: out of memory\n");
				rc = 1;
				break;
			}
			buf = nb;
			cap = (size_t)flen;
		}
		if (flen > 0 && fread(buf, 1, (size_t)flen, in) != (size_t)flen) {
			fc->bad[BAD_TRUNC]++;
			break;
		}
		print_message(fc, buf, (size_t)flen);
	}
	if (ferror(in)) {
		fprintf(stderr, "flowcat: %s: read error\n", path);
		rc = 1;
	}
	free(buf);
	if (in != stdin)
		fclose(in);
	return rc;
}

struct kafka_opts {
	const char *brokers;
	const char *topic;
	int64_t offset;
	bool exit_at_end;
	const char *props[64];
	size_t nprops;
};

static int conf_set(rd_kafka_conf_t *conf, const char *key, const char *val)
{
	char errstr[512];

	if (rd_kafka_conf_set(conf, key, val, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
		fprintf(stderr, "flowcat: kafka property %s: %s\n", key, errstr);
		return -1;
	}
	return 0;
}

static rd_kafka_t *kafka_consumer(const struct kafka_opts *ko)
{
	char errstr[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk;

	if (conf_set(conf, "bootstrap.servers", ko->brokers) ||
	    conf_set(conf, "enable.partition.eof", "true") ||
	    conf_set(conf, "client.id", "flowcat"))
		goto fail;
	/* -X last, untouched, so it can override the defaults above. */
	for (size_t i = 0; i < ko->nprops; i++) {
		const char *eq = strchr(ko->props[i], '=');
		char key[256];

		if (!eq || eq == ko->props[i] || (size_t)(eq - ko->props[i]) >= sizeof(key)) {
			fprintf(stderr, "flowcat: -X %s: expected key=value\n", ko->props[i]);
			goto fail;
		}
		memcpy(key, ko->props[i], (size_t)(eq - ko->props[i]));
		key[eq - ko->props[i]] = '\0';
		if (conf_set(conf, key, eq + 1))
			goto fail;
	}
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	if (!rk) {
		fprintf(stderr, "flowcat: kafka consumer: %s\n", errstr);
		goto fail;
	}
	return rk;
fail:
	rd_kafka_conf_destroy(conf);
	return NULL;
}

static int run_kafka(struct flowcat *fc, const struct kafka_opts *ko)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_t *rkt = NULL;
	rd_kafka_queue_t *q = NULL;
	rd_kafka_t *rk;
	bool *at_eof = NULL;
	int nparts = 0;
	int started = 0;
	int rc = 1;
	rd_kafka_resp_err_t err;

	rk = kafka_consumer(ko);
	if (!rk)
		return 1;
	rkt = rd_kafka_topic_new(rk, ko->topic, NULL);
	if (!rkt) {
		fprintf(stderr, "flowcat: topic %s: %s\n", ko->topic,
			rd_kafka_err2str(rd_kafka_last_error()));
		goto out;
	}
	err = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
	if (err) {
		fprintf(stderr, "flowcat: %s: metadata for topic %s: %s\n", ko->brokers, ko->topic,
			rd_kafka_err2str(err));
		goto out;
	}
	if (md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt <= 0) {
		fprintf(stderr, "flowcat: topic %s: %s\n", ko->topic,
			md->topic_cnt == 1 && md->topics[0].err ? rd_kafka_err2str(md->topics[0].err)
								: "no partitions");
		goto out;
	}
	nparts = md->topics[0].partition_cnt;
	at_eof = calloc((size_t)nparts, sizeof(*at_eof));
	q = rd_kafka_queue_new(rk);
	if (!at_eof || !q) {
		fprintf(stderr, "flowcat: out of memory\n");
		goto out;
	}
	for (int i = 0; i < nparts; i++) {
		int32_t part = md->topics[0].partitions[i].id;

		if (rd_kafka_consume_start_queue(rkt, part, ko->offset, q) == -1) {
			fprintf(stderr, "flowcat: topic %s partition %" PRId32 ": %s\n", ko->topic, part,
				rd_kafka_err2str(rd_kafka_last_error()));
			goto out;
		}
		started++;
	}

	for (int eofs = 0; !done(fc);) {
		rd_kafka_message_t *m = rd_kafka_consume_queue(q, 200);
		int idx = -1;

		if (!m)
			continue;
		for (int i = 0; i < nparts; i++) {
			if (md->topics[0].partitions[i].id == m->partition)
				idx = i;
		}
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			if (idx >= 0 && !at_eof[idx]) {
				at_eof[idx] = true;
				eofs++;
			}
			rd_kafka_message_destroy(m);
			if (ko->exit_at_end && eofs == nparts)
				break;
			continue;
		}
		if (m->err) {
			fprintf(stderr, "flowcat: %s\n", rd_kafka_message_errstr(m));
			rd_kafka_message_destroy(m);
			continue;
		}
		/* New data after an EOF: that partition has not ended after all. */
		if (idx >= 0 && at_eof[idx]) {
			at_eof[idx] = false;
			eofs--;
		}
		print_record(fc, m->payload, m->len);
		rd_kafka_message_destroy(m);
	}
	rc = 0;
out:
	for (int i = 0; i < started; i++)
		rd_kafka_consume_stop(rkt, md->topics[0].partitions[i].id);
	if (q)
		rd_kafka_queue_destroy(q);
	free(at_eof);
	if (md)
		rd_kafka_metadata_destroy(md);
	if (rkt)
		rd_kafka_topic_destroy(rkt);
	rd_kafka_destroy(rk);
	return rc;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: flowcat -b BROKERS -t TOPIC [-o beginning|end|OFFSET] [-e] [-X key=value]...\n"
		"  or:  flowcat -f FILE|-\n"
		"common options: [--counters] [--json-style native|goflow2] [-c COUNT] [-q]\n"
		"\n"
		"Prints length-delimited flowpb messages as JSON lines, like collector --output json.\n"
		"  -b, --brokers LIST   Kafka bootstrap servers\n"
		"  -t, --topic NAME     topic to read (every partition)\n"
		"  -o, --offset WHERE   beginning (default), end, or an offset in every partition;\n"
		"                       a negative number -N reads the last N records of each\n"
		"  -e, --exit           exit when every partition has reached its end\n"
		"  -X key=value         librdkafka consumer property, passed as is\n"
		"  -f, --file PATH      read a length-delimited file instead ('-' = stdin)\n"
		"      --counters       messages are flowpb.CounterMessage (sFlow counters)\n"
		"      --json-style S   native (default) or goflow2 (goflow2's JSON for flows)\n"
		"  -c, --count N        exit after N messages\n"
		"  -q, --quiet          no summary on stderr\n"
		"  -h, --help           this text\n"
		"      --version        version, commit, library versions, features\n"
		"Exit status: 0 when every frame decoded, 1 on bad frames or errors.\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"brokers", required_argument, NULL, 'b'}, {"topic", required_argument, NULL, 't'},
		{"offset", required_argument, NULL, 'o'},  {"exit", no_argument, NULL, 'e'},
		{"file", required_argument, NULL, 'f'},    {"count", required_argument, NULL, 'c'},
		{"counters", no_argument, NULL, 'C'},      {"quiet", no_argument, NULL, 'q'},
		{"json-style", required_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},          {"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct flowcat fc = {.desc = &flowpb__flow_message__descriptor, .out = stdout};
	struct kafka_opts ko = {.offset = RD_KAFKA_OFFSET_BEGINNING};
	const char *file = NULL;
	bool quiet = false;
	uint64_t bad = 0;
	int opt, rc;
	char *end;

	while ((opt = getopt_long(argc, argv, "b:t:o:eX:f:c:qh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'b':
			ko.brokers = optarg;
			break;
		case 't':
			ko.topic = optarg;
			break;
		case 'o':
			if (strcmp(optarg, "beginning") == 0) {
				ko.offset = RD_KAFKA_OFFSET_BEGINNING;
			} else if (strcmp(optarg, "end") == 0) {
				ko.offset = RD_KAFKA_OFFSET_END;
			} else {
				long long v;

				errno = 0;
				v = strtoll(optarg, &end, 10);
				if (errno || *end || end == optarg) {
					fprintf(stderr, "flowcat: -o %s: expected beginning, end or a number\n",
						optarg);
					return 1;
				}
				ko.offset = v < 0 ? RD_KAFKA_OFFSET_TAIL(-v) : v;
			}
			break;
		case 'e':
			ko.exit_at_end = true;
			break;
		case 'X':
			if (ko.nprops == sizeof(ko.props) / sizeof(ko.props[0])) {
				fprintf(stderr, "flowcat: too many -X\n");
				return 1;
			}
			ko.props[ko.nprops++] = optarg;
			break;
		case 'f':
			file = optarg;
			break;
		case 'c':
			errno = 0;
			fc.limit = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg || optarg[0] == '-') {
				fprintf(stderr, "flowcat: -c %s: expected a count\n", optarg);
				return 1;
			}
			break;
		case 'C':
			fc.desc = &flowpb__counter_message__descriptor;
			break;
		case 'S':
			if (fc_json_style_parse(optarg, &fc.style) != 0) {
				fprintf(stderr, "flowcat: --json-style %s: expected native or goflow2\n",
					optarg);
				return 1;
			}
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			fc_version_print(stdout, "flowcat");
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc || (file && (ko.brokers || ko.topic)) ||
	    (!file && (!ko.brokers || !ko.topic))) {
		usage(stderr);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	/* A closed pipe (flowcat | head) ends the output quietly. */
	signal(SIGPIPE, SIG_IGN);

	rc = file ? run_file(&fc, file) : run_kafka(&fc, &ko);
	if (fflush(fc.out) != 0)
		fc.out_failed = true;

	for (int i = 0; i < BAD_COUNT; i++)
		bad += fc.bad[i];
	if (!quiet) {
		fprintf(stderr, "flowcat: %" PRIu64 " messages", fc.messages);
		if (!file)
			fprintf(stderr, " in %" PRIu64 " records", fc.records);
		fprintf(stderr, ", %" PRIu64 " bad frames", bad);
		for (int i = 0; i < BAD_COUNT; i++) {
			if (fc.bad[i])
				fprintf(stderr, " (%s: %" PRIu64 ")", bad_names[i], fc.bad[i]);
		}
		fputc('\n', stderr);
	}
	if (bad || rc)
		return 1;
	return 0;
}
