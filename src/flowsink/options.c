/*
 * The option table of flowsink (see options.h). One row per option: long
 * flag, type, default, bounds, help; --help prints the rows in order.
 */
#include "flowsink/options.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <protobuf-c/protobuf-c.h>

#include "core/fc_build_info.h"
#include "fc/err.h"

enum opt_type { OPT_STR, OPT_LIST, OPT_U64 };

struct opt {
	const char *name;
	enum opt_type type;
	size_t off;
	const char *def; /* NULL: none */
	uint64_t min, max;
	const char *arg;
	const char *help;
};

#define O(f) offsetof(struct fc_fsopts, f)

static const struct opt opts[] = {
	{"brokers", OPT_STR, O(brokers), NULL, 0, 0, "LIST",
	 "Kafka bootstrap brokers (required), e.g. kafka1:9092,kafka2:9092"},
	{"topic", OPT_STR, O(topic), "flows", 0, 0, "NAME", "topic of length-delimited FlowMessages"},
	{"group", OPT_STR, O(group), "flowsink", 0, 0, "ID",
	 "consumer group; run more members with the same group to scale"},
	{"batch-records", OPT_U64, O(batch_records), "5000", 1, 1000000, "N",
	 "Kafka records per batch applied to the sinks"},
	{"batch-flows", OPT_U64, O(batch_flows), "50000", 1, 10000000, "N",
	 "flows per batch (bounds memory)"},
	{"batch-ms", OPT_U64, O(batch_ms), "200", 1, 60000, "MS",
	 "longest wait to fill a batch before it is applied"},
	{"redis", OPT_STR, O(redis), NULL, 0, 0, "HOST:PORT|unix:PATH",
	 "Redis server of the Redis sink (sets and counters)"},
	{"redis-set", OPT_LIST, O(redis_sets), NULL, 0, 0, "RULE",
	 "IP-set rule KEY[,addr=src|dst|both][,FILTER...][,window=S][,ttl=S]; repeatable "
	 "(default: ipaddress,addr=both; none: no set)"},
	{"redis-counters", OPT_LIST, O(redis_counters), NULL, 0, 0, "RULE",
	 "per-IP counter rule (hash of bytes/packets/flows), same syntax; repeatable"},
	{"redis-timeout-ms", OPT_U64, O(redis_timeout_ms), "10000", 100, 600000, "MS",
	 "connect and command timeout"},
	{"postgres", OPT_STR, O(postgres), NULL, 0, 0, "CONNINFO",
	 "PostgreSQL sink: libpq connection string (load deploy/postgres/schema.sql first)"},
	{"postgres-retention", OPT_U64, O(postgres_retention), "0", 0, 36500, "DAYS",
	 "drop day partitions older than DAYS (0 = keep all)"},
	{"prometheus-listen", OPT_STR, O(prometheus_listen), ":9590", 0, 0, "ADDR:PORT|off",
	 "HTTP listener: /metrics (per-AS and flowsink's own), /healthz (:PORT = all addresses)"},
	{"asn", OPT_LIST, O(asn), NULL, 0, 0, "N",
	 "our own AS number, repeatable: turns on flow_receive/transmit_bytes_total per AS pair"},
	{"prometheus-max-series", OPT_U64, O(prometheus_max_series), "10000", 1, 10000000, "N",
	 "per-AS series kept; flows beyond go to the overflow series (labels \"other\")"},
	{"log-level", OPT_STR, O(log_level), "info", 0, 0, "error|warn|info|debug", "log threshold"},
	{"stats-interval", OPT_U64, O(stats_interval), "0", 0, 86400, "SECONDS",
	 "print counters periodically (they are always printed on exit and SIGUSR1)"},
};

#define N_OPTS (sizeof(opts) / sizeof(opts[0]))

static void *field(struct fc_fsopts *o, const struct opt *t)
{
	return (char *)o + t->off;
}

static int list_add(struct fc_fsopts_list *l, const char *v, FILE *err, const char *name)
{
	if (l->n >= FC_FSOPTS_MAX_LIST) {
		fprintf(err, "flowsink: %s given more than %d times\n", name, FC_FSOPTS_MAX_LIST);
		return FC_EINVAL;
	}
	l->v[l->n] = strdup(v);
	if (!l->v[l->n])
		return FC_ENOMEM;
	l->n++;
	return 0;
}

static int set_value(struct fc_fsopts *o, const struct opt *t, const char *v, FILE *err)
{
	unsigned long long u;
	char *end;

	switch (t->type) {
	case OPT_STR: {
		char **p = field(o, t);
		char *dup = strdup(v);

		if (!dup)
			return FC_ENOMEM;
		free(*p);
		*p = dup;
		return 0;
	}
	case OPT_LIST:
		return list_add(field(o, t), v, err, t->name);
	case OPT_U64:
		errno = 0;
		u = strtoull(v, &end, 10);
		if (errno || end == v || *end || v[0] == '-') {
			fprintf(err, "flowsink: --%s: expected a number, got '%s'\n", t->name, v);
			return FC_EINVAL;
		}
		if (u < t->min || u > t->max) {
			fprintf(err, "flowsink: --%s: %llu is outside %llu..%llu\n", t->name, u,
				(unsigned long long)t->min, (unsigned long long)t->max);
			return FC_EINVAL;
		}
		*(uint64_t *)field(o, t) = u;
		return 0;
	}
	return FC_EINVAL;
}

static const struct opt *find_opt(const char *name, size_t len)
{
	for (size_t i = 0; i < N_OPTS; i++) {
		if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
			return &opts[i];
	}
	return NULL;
}

void fc_fsopts_init(struct fc_fsopts *o)
{
	memset(o, 0, sizeof(*o));
	for (size_t i = 0; i < N_OPTS; i++) {
		if (opts[i].def)
			(void)set_value(o, &opts[i], opts[i].def, stderr);
	}
}

static void list_free(struct fc_fsopts_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	l->n = 0;
}

void fc_fsopts_fini(struct fc_fsopts *o)
{
	for (size_t i = 0; i < N_OPTS; i++) {
		if (opts[i].type == OPT_STR) {
			char **p = field(o, &opts[i]);

			free(*p);
			*p = NULL;
		} else if (opts[i].type == OPT_LIST) {
			list_free(field(o, &opts[i]));
		}
	}
	list_free(&o->kafka_props);
}

/* The collector's --version lines (core/version.c), with the libraries
 * flowsink links: that file also names libpcap and libmaxminddb, which
 * flowsink neither uses nor links. */
void fc_fsopts_version(FILE *out)
{
	fprintf(out, "flowsink %s\n", FC_VERSION);
	fprintf(out, "commit: %s\n", FC_BUILD_COMMIT);
	/* PQlibVersion: major * 10000 + minor since PostgreSQL 10. */
	fprintf(out, "libraries: librdkafka %s, hiredis %d.%d.%d, libpq %d.%d, protobuf-c %s\n",
		rd_kafka_version_str(), HIREDIS_MAJOR, HIREDIS_MINOR, HIREDIS_PATCH,
		PQlibVersion() / 10000, PQlibVersion() % 10000, protobuf_c_version());
	fprintf(out, "features: %s\n", FC_BUILD_FEATURES);
	fprintf(out, "licence: BSD-2-Clause\n");
}

void fc_fsopts_usage(FILE *out, const char *argv0)
{
	const char *slash = strrchr(argv0, '/');

	argv0 = slash ? slash + 1 : argv0;
	fprintf(out,
		"usage: %s --brokers LIST (--redis HOST:PORT | --postgres CONNINFO | --asn N) [OPTIONS]\n"
		"Consumes the collector's FlowMessages from Kafka in a consumer group and applies\n"
		"them to Redis IP sets and per-IP counters and to PostgreSQL tables, exactly once\n"
		"per record, and counts bytes per AS pair for Prometheus.\n\n"
		"  -X KEY=VALUE              librdkafka property, passed as is (TLS, SASL, ...)\n",
		argv0);
	for (size_t i = 0; i < N_OPTS; i++) {
		char lhs[64];

		snprintf(lhs, sizeof(lhs), "--%s%s%s", opts[i].name, opts[i].arg ? " " : "",
			 opts[i].arg ? opts[i].arg : "");
		fprintf(out, "  %-25s %s", lhs, opts[i].help);
		if (opts[i].def)
			fprintf(out, " [%s]", opts[i].def);
		fputc('\n', out);
	}
	fprintf(out,
		"  --help, --version\n\n"
		"Rule filters: proto=N, port=N, src_port=N, dst_port=N, as=N, src_as=N, dst_as=N,\n"
		"country=CC, src_country=CC, dst_country=CC, exporter=NAME|ADDR (all must match).\n"
		"Key placeholders: {exporter} {hour} {day} {window} (window=S), {ip} (counters).\n");
}

int fc_fsopts_parse_args(struct fc_fsopts *o, int argc, char **argv, FILE *err)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *name, *val = NULL, *eq;
		const struct opt *t;
		size_t nlen;
		int rc;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fc_fsopts_usage(stdout, argv[0]);
			return 1;
		}
		if (!strcmp(a, "--version")) {
			fc_fsopts_version(stdout);
			return 1;
		}
		if (!strcmp(a, "-X")) {
			if (i + 1 >= argc || !strchr(argv[i + 1], '=')) {
				fprintf(err, "flowsink: -X needs KEY=VALUE\n");
				return FC_EINVAL;
			}
			rc = list_add(&o->kafka_props, argv[++i], err, "-X");
			if (rc)
				return rc;
			continue;
		}
		if (strncmp(a, "--", 2) != 0) {
			fprintf(err, "flowsink: unexpected argument '%s' (see --help)\n", a);
			return FC_EINVAL;
		}
		name = a + 2;
		eq = strchr(name, '=');
		nlen = eq ? (size_t)(eq - name) : strlen(name);
		if (eq)
			val = eq + 1;
		t = find_opt(name, nlen);
		if (!t) {
			fprintf(err, "flowsink: unknown option '%s' (see --help)\n", a);
			return FC_EINVAL;
		}
		if (!val) {
			if (i + 1 >= argc) {
				fprintf(err, "flowsink: --%s needs a value\n", t->name);
				return FC_EINVAL;
			}
			val = argv[++i];
		}
		rc = set_value(o, t, val, err);
		if (rc)
			return rc;
	}
	return 0;
}
