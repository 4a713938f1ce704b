/*
 * The option table of flowsink (see options.h). One row per option: long
 * flag, type, default, bounds, help; --help prints the rows in order.
 * Parsing, defaults and freeing are the shared engine's (core/opt.c);
 * this file keeps the rows, the usage text and --version.
 */
#include "flowsink/options.h"

#include <stddef.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <protobuf-c/protobuf-c.h>

#include "core/fc_build_info.h"
#include "core/opt.h"

#define O(f) offsetof(struct fc_fsopts, f)

static const struct fc_opt opts[] = {
	{"brokers", FC_OPT_STR, O(brokers), NULL, 0, 0, "LIST",
	 "Kafka bootstrap brokers (required), e.g. kafka1:9092,kafka2:9092"},
	{"topic", FC_OPT_STR, O(topic), "flows", 0, 0, "NAME", "topic of length-delimited FlowMessages"},
	{"group", FC_OPT_STR, O(group), "flowsink", 0, 0, "ID",
	 "consumer group; run more members with the same group to scale"},
	{"batch-records", FC_OPT_U64, O(batch_records), "5000", 1, 1000000, "N",
	 "Kafka records per batch applied to the sinks"},
	{"batch-flows", FC_OPT_U64, O(batch_flows), "50000", 1, 10000000, "N",
	 "flows per batch (bounds memory)"},
	{"batch-ms", FC_OPT_U64, O(batch_ms), "200", 1, 60000, "MS",
	 "longest wait to fill a batch before it is applied"},
	{"redis", FC_OPT_STR, O(redis), NULL, 0, 0, "HOST:PORT|unix:PATH",
	 "Redis server of the Redis sink (sets and counters)"},
	{"redis-set", FC_OPT_LIST, O(redis_sets), NULL, 0, 0, "RULE",
	 "IP-set rule KEY[,addr=src|dst|both][,FILTER...][,window=S][,ttl=S]; repeatable "
	 "(default: ipaddress,addr=both; none: no set)"},
	{"redis-counters", FC_OPT_LIST, O(redis_counters), NULL, 0, 0, "RULE",
	 "per-IP counter rule (hash of bytes/packets/flows), same syntax; repeatable"},
	{"redis-timeout-ms", FC_OPT_U64, O(redis_timeout_ms), "10000", 100, 600000, "MS",
	 "connect and command timeout"},
	{"postgres", FC_OPT_STR, O(postgres), NULL, 0, 0, "CONNINFO",
	 "PostgreSQL sink: libpq connection string (load deploy/postgres/schema.sql first)"},
	{"postgres-retention", FC_OPT_U64, O(postgres_retention), "0", 0, 36500, "DAYS",
	 "drop day partitions older than DAYS (0 = keep all)"},
	{"prometheus-listen", FC_OPT_STR, O(prometheus_listen), ":9590", 0, 0, "ADDR:PORT|off",
	 "HTTP listener: /metrics (per-AS and flowsink's own), /healthz (:PORT = all addresses)"},
	{"asn", FC_OPT_LIST, O(asn), NULL, 0, 0, "N",
	 "our own AS number, repeatable: turns on flow_receive/transmit_bytes_total per AS pair"},
	{"prometheus-max-series", FC_OPT_U64, O(prometheus_max_series), "10000", 1, 10000000, "N",
	 "per-AS series kept; flows beyond go to the overflow series (labels \"other\")"},
	{"log-level", FC_OPT_STR, O(log_level), "info", 0, 0, "error|warn|info|debug", "log threshold"},
	{"stats-interval", FC_OPT_U64, O(stats_interval), "0", 0, 86400, "SECONDS",
	 "print counters periodically (they are always printed on exit and SIGUSR1)"},
};

#define N_OPTS (sizeof(opts) / sizeof(opts[0]))

static const struct fc_opt_prog prog = {
	.name = "flowsink",
	.opts = opts,
	.n_opts = N_OPTS,
	.max_list = FC_FSOPTS_MAX_LIST,
	.props_off = O(kafka_props),
	.list_label = "",
	.props_name = "-X",
	.value_label = "--",
	.help_gap = false,
	.usage = fc_fsopts_usage,
	.version = fc_fsopts_version,
};

void fc_fsopts_init(struct fc_fsopts *o)
{
	memset(o, 0, sizeof(*o));
	fc_opt_defaults(&prog, o);
}

void fc_fsopts_fini(struct fc_fsopts *o)
{
	fc_opt_free(&prog, o);
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
	fc_opt_help(&prog, out);
	fprintf(out,
		"  --help, --version\n\n"
		"Rule filters: proto=N, port=N, src_port=N, dst_port=N, as=N, src_as=N, dst_as=N,\n"
		"country=CC, src_country=CC, dst_country=CC, exporter=NAME|ADDR (all must match).\n"
		"Key placeholders: {exporter} {hour} {day} {window} (window=S), {ip} (counters).\n");
}

int fc_fsopts_parse_args(struct fc_fsopts *o, int argc, char **argv, FILE *err)
{
	return fc_opt_parse_args(&prog, o, argc, argv, err);
}
