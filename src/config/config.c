/*
 * The option table (see config.h). One row per option: its long flag is
 * also its INI key (dashes or underscores), with type, default, bounds and
 * help. The command line and `--config FILE` (libinih) both go through
 * set_option(), so they cannot disagree. INI section [kafka] and keys
 * starting with "kafka." are handed to librdkafka as they are.
 */
#include "config/config.h"

#include <errno.h>
#include <ini.h>
#include <sys/stat.h>
#include <string.h>

#include "core/opt.h"
#include "core/version.h"
#include "fc/err.h"

#define O(f) offsetof(struct fc_config, f)
#define U64MAX UINT64_MAX

static const struct fc_opt opts[] = {
	/* input */
	{"listen", FC_OPT_LIST, O(listen), NULL, 0, 0, "ADDR:PORT",
	 "UDP address to receive on, repeatable; [v6]:PORT for IPv6 "
	 "(default 0.0.0.0:2055 and 0.0.0.0:6343)"},
	{"pcap", FC_OPT_LIST, O(pcaps), NULL, 0, 0, "FILE",
	 "replay the UDP datagrams of a capture instead of listening, then exit; "
	 "repeatable: files are replayed in order through the same state"},
	{"rcvbuf", FC_OPT_U64, O(rcvbuf), "33554432", 0, 1u << 30, "BYTES",
	 "socket receive buffer (SO_RCVBUF; raise net.core.rmem_max to allow it)"},
	{"workers", FC_OPT_U64, O(workers), "1", 1, 64, "N",
	 "receive threads, each with its own socket on every --listen port (SO_REUSEPORT among "
	 "them)"},
	{"batch", FC_OPT_U64, O(batch), "64", 1, 1024, "N", "datagrams per recvmmsg call"},
	{"reuseport", FC_OPT_BOOL, O(reuseport), "false", 0, 0, NULL,
	 "share the --listen ports with other processes that allow it (SO_REUSEPORT); "
	 "without it a port in use is an error"},
	{"max-datagram", FC_OPT_U64, O(max_datagram), "65535", 512, 65535, "BYTES",
	 "largest datagram read whole; longer ones are counted as truncated and dropped"},
	/* output */
	{"output", FC_OPT_LIST, O(outputs), NULL, 0, 0, "KIND[:ARG]",
	 "kafka (default), file:PATH (length-delimited protobuf) or json:PATH "
	 "(JSON lines); PATH - is stdout; repeatable. Flows only"},
	{"counters-output", FC_OPT_LIST, O(counters_outputs), NULL, 0, 0, "KIND:PATH",
	 "file:PATH or json:PATH for sFlow counter samples, repeatable (the kafka output "
	 "sends them to --kafka-counter-topic); without any they are dropped and counted"},
	{"json-style", FC_OPT_STR, O(json_style), "native", 0, 0, "native|goflow2",
	 "JSON outputs: native (proto names, zero fields omitted, numbers) or goflow2 "
	 "(goflow2's JSON formatter: every field, etype/proto names, src_net/dst_net prefixes)"},
	{"kafka-brokers", FC_OPT_STR, O(kafka_brokers), NULL, 0, 0, "LIST",
	 "bootstrap brokers; without it an embedded in-memory Kafka is started"},
	{"kafka-topic", FC_OPT_STR, O(kafka_topic), "flows", 0, 0, "NAME", "topic for flows"},
	{"kafka-counter-topic", FC_OPT_STR, O(kafka_counter_topic), "flow-counters", 0, 0, "NAME",
	 "topic for sFlow counter samples"},
	{"kafka-key", FC_OPT_STR, O(kafka_key), "exporter", 0, 0, "exporter|flow|none",
	 "record key: exporter (its address: one exporter's flows stay ordered in one "
	 "partition), flow (the 5-tuple, either direction alike: spreads one big exporter), "
	 "none (librdkafka spreads)"},
	{"kafka-compression", FC_OPT_STR, O(kafka_compression), "none", 0, 0,
	 "none|gzip|snappy|lz4|zstd", "record compression (consumers must support the codec)"},
	{"kafka-flush-ms", FC_OPT_U64, O(kafka_flush_ms), "10000", 0, 600000, "MS",
	 "how long to wait for outstanding deliveries at exit"},
	{"kafka-buffer-bytes", FC_OPT_U64, O(kafka_buffer_bytes), "67108864", 0, 1ull << 40, "BYTES",
	 "memory for records waiting to be delivered (librdkafka queue.buffering.max.kbytes; "
	 "queue.buffering.max.messages = BYTES/64; 0 = librdkafka's own bounds); beyond it "
	 "records go to --spool or are dropped"},
	{"spool", FC_OPT_STR, O(spool_dir), NULL, 0, 0, "DIR",
	 "disk spool for records Kafka cannot take now (buffer full, delivery failed, exit); "
	 "replayed in order when Kafka is back, also after a restart"},
	{"spool-max-bytes", FC_OPT_U64, O(spool_max_bytes), "1073741824", 65536, 1ull << 50, "BYTES",
	 "size of the disk spool; records beyond it are dropped and counted"},
	{"kafka-msgs-per-record", FC_OPT_U64, O(kafka_msgs_per_record), "1", 1, 10000, "N",
	 "length-delimited messages per Kafka record"},
	/* templates */
	{"template-ignore-port", FC_OPT_BOOL, O(template_ignore_port), "false", 0, 0, NULL,
	 "scope templates by exporter address only (exporters behind NAT)"},
	{"template-ttl", FC_OPT_U64, O(template_ttl), "1800", 0, 315360000, "SECONDS",
	 "lifetime of templates not refreshed (NetFlow v9, IPFIX over UDP; 0 = forever)"},
	{"template-file", FC_OPT_STR, O(template_file), NULL, 0, 0, "PATH",
	 "save templates and sampling state here and load them at start"},
	{"template-save-interval", FC_OPT_U64, O(template_save_interval), "60", 1, 86400, "SECONDS",
	 "how often the template file is written"},
	{"template-max-per-exporter", FC_OPT_U64, O(template_max_per_exporter), "4096", 1, 65536, "N",
	 "templates kept per exporter session"},
	{"template-max-exporters", FC_OPT_U64, O(template_max_exporters), "8192", 1, 1u << 20, "N",
	 "exporter sessions with templates"},
	{"template-max-fields", FC_OPT_U64, O(template_max_fields), "512", 1, 65535, "N",
	 "fields per template"},
	{"hold-bytes", FC_OPT_U64, O(hold_bytes), "262144", 0, 1u << 30, "BYTES",
	 "data held per exporter while its template is unknown (0 = hold nothing)"},
	{"hold-seconds", FC_OPT_U64, O(hold_seconds), "60", 0, 86400, "SECONDS",
	 "how long such data is held before it is given up, counted (0 = hold nothing)"},
	{"template-memory", FC_OPT_U64, O(template_memory), "268435456", 1u << 20, 1ull << 40, "BYTES",
	 "memory for template state: sessions, templates, options state and held data, "
	 "shared by the workers; past it held data is given up, then the least recently "
	 "used sessions are evicted (counted)"},
	/* sampling */
	{"sampling-default", FC_OPT_U64, O(sampling_default), "0", 0, U64MAX, "RATE",
	 "sampling rate for exporters that announce none (0 = leave unset)"},
	{"sampling-override", FC_OPT_LIST, O(sampling_override), NULL, 0, 0, "PREFIX=RATE",
	 "force the sampling rate of exporters in PREFIX; repeatable"},
	/* sFlow */
	{"sflow-max-samples", FC_OPT_U64, O(sflow_max_samples), "1024", 1, 65536, "N",
	 "samples decoded per sFlow datagram"},
	{"sflow-max-records", FC_OPT_U64, O(sflow_max_records), "128", 1, 65536, "N",
	 "records decoded per sFlow sample"},
	/* enrichment */
	{"geoip-asn", FC_OPT_STR, O(geoip_asn), NULL, 0, 0, "FILE",
	 "MaxMind GeoLite2-ASN or GeoIP2-ISP database"},
	{"geoip-geo", FC_OPT_STR, O(geoip_geo), NULL, 0, 0, "FILE",
	 "MaxMind GeoLite2/GeoIP2 City or Country database"},
	{"geoip-asn-override", FC_OPT_BOOL, O(geoip_asn_override), "false", 0, 0, NULL,
	 "replace the ASNs the exporter sent with the database's"},
	{"networks", FC_OPT_STR, O(networks), NULL, 0, 0, "FILE",
	 "your networks: CSV prefix,name,role,site,asn,as_name (longest prefix wins)"},
	{"exporter-names", FC_OPT_STR, O(exporter_names), NULL, 0, 0, "FILE",
	 "exporter address to name map"},
	{"reload-interval", FC_OPT_U64, O(reload_interval), "30", 0, 86400, "SECONDS",
	 "how often enrichment files are checked for changes (0 = only on SIGHUP)"},
	{"geoip-cache-bytes", FC_OPT_U64, O(geoip_cache_bytes), "4194304", 0, 1u << 30, "BYTES",
	 "MaxMind lookup cache per worker, ASN and geo together (0 = none)"},
	/* operations */
	{"log-level", FC_OPT_STR, O(log_level), "info", 0, 0, "error|warn|info|debug", "log threshold"},
	{"stats-interval", FC_OPT_U64, O(stats_interval), "0", 0, 86400, "SECONDS",
	 "print counters to stderr periodically (0 = off; also printed on SIGUSR1, and on "
	 "exit unless --log-level is error)"},
	{"http-listen", FC_OPT_STR, O(http_listen), NULL, 0, 0, "ADDR:PORT|off",
	 "serve /metrics, /healthz, /exporters and /templates over HTTP; port 0 picks a free "
	 "one (default 127.0.0.1:9600, off with --pcap)"},
};

#define N_OPTS (sizeof(opts) / sizeof(opts[0]))

static void version(FILE *out)
{
	fc_version_print(out, "collector");
}

static int load_file(void *dst, const char *path, FILE *err);

/* --config FILE is applied where it stands, so flags after it override
 * the file and flags before it are overridden. */
static const struct fc_opt_flag flags[] = {
	{"config", "FILE", load_file},
};

static const struct fc_opt_prog prog = {
	.name = "collector",
	.opts = opts,
	.n_opts = N_OPTS,
	.flags = flags,
	.n_flags = sizeof(flags) / sizeof(flags[0]),
	.max_list = FC_CONFIG_MAX_LIST,
	.props_off = O(kafka_props),
	.list_label = "--",
	.props_name = "X",
	.value_label = "", /* the name alone: INI keys go through here too */
	.help_gap = true,
	.usage = fc_config_usage,
	.version = version,
};

void fc_config_init(struct fc_config *c)
{
	memset(c, 0, sizeof(*c));
	fc_opt_defaults(&prog, c);
}

size_t fc_config_option_count(void)
{
	return N_OPTS;
}

const char *fc_config_option_name(size_t i)
{
	return i < N_OPTS ? opts[i].name : NULL;
}

const char *fc_config_option_default(size_t i)
{
	return i < N_OPTS ? opts[i].def : NULL;
}

void fc_config_fini(struct fc_config *c)
{
	fc_opt_free(&prog, c);
	c->pcap = NULL;
}

struct ini_ctx {
	struct fc_config *c;
	FILE *err;
	const char *path;
	int rc;
};

static int kafka_prop(struct fc_config *c, const char *key, const char *value, FILE *err)
{
	char buf[1024];

	if ((size_t)snprintf(buf, sizeof(buf), "%s=%s", key, value) >= sizeof(buf)) {
		fprintf(err, "collector: kafka property %s is too long\n", key);
		return FC_EINVAL;
	}
	return fc_opt_list_add(&prog, &c->kafka_props, prog.props_name, buf, err);
}

static int on_ini_line(void *user, const char *section, const char *name, const char *value)
{
	struct ini_ctx *x = user;
	const struct fc_opt *o;

	if (x->rc)
		return 0;
	if (!strcmp(section, "kafka")) {
		x->rc = kafka_prop(x->c, name, value, x->err);
		return x->rc == 0;
	}
	if (!strncmp(name, "kafka.", 6)) {
		x->rc = kafka_prop(x->c, name + 6, value, x->err);
		return x->rc == 0;
	}
	if (section[0] && strcmp(section, "collector")) {
		fprintf(x->err, "collector: %s: unknown section [%s]\n", x->path, section);
		x->rc = FC_EINVAL;
		return 0;
	}
	o = fc_opt_find(&prog, name, strlen(name));
	if (!o) {
		fprintf(x->err, "collector: %s: unknown key '%s'\n", x->path, name);
		x->rc = FC_EINVAL;
		return 0;
	}
	x->rc = fc_opt_set(&prog, x->c, o, value, x->err);
	return x->rc == 0;
}

int fc_config_load_file(struct fc_config *c, const char *path, FILE *err)
{
	struct ini_ctx x = {.c = c, .err = err, .path = path};
	struct stat st;
	int line;

	/* A directory opens and reads as empty: refuse it rather than start
	 * on the defaults the user meant to replace. */
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		fprintf(err, "collector: config file %s is not a regular file\n", path);
		return FC_EINVAL;
	}
	line = ini_parse(path, on_ini_line, &x);
	if (line == -1) {
		fprintf(err, "collector: cannot open config file %s: %s\n", path, strerror(errno));
		return FC_ESYS;
	}
	if (x.rc)
		return x.rc;
	if (line != 0) {
		fprintf(err, "collector: %s:%d: syntax error\n", path, line);
		return FC_EINVAL;
	}
	return 0;
}

void fc_config_usage(FILE *out, const char *argv0)
{
	/* the program's name, not its path: README and the man page show it */
	const char *slash = strrchr(argv0, '/');

	fprintf(out,
		"Usage: %s [OPTIONS]\n"
		"Receives NetFlow v5/v9, IPFIX and sFlow v5, publishes protobuf FlowMessages to Kafka.\n\n"
		"  --config FILE             INI file with the same keys (section [kafka] goes to librdkafka)\n"
		"  -X KEY=VALUE              librdkafka property, passed as is (TLS, SASL, compression...)\n",
		slash ? slash + 1 : argv0);
	fc_opt_help(&prog, out);
	fprintf(out, "  --help, --version\n");
}

static int load_file(void *dst, const char *path, FILE *err)
{
	return fc_config_load_file(dst, path, err);
}

int fc_config_parse_args(struct fc_config *c, int argc, char **argv, FILE *err)
{
	int rc = fc_opt_parse_args(&prog, c, argc, argv, err);

	if (rc)
		return rc;
	c->pcap = c->pcaps.n ? c->pcaps.v[0] : NULL;
	return fc_config_check(c, err);
}

int fc_config_check(const struct fc_config *c, FILE *err)
{
	/* Empty strings would reach librdkafka as "no broker" or an invalid
	 * topic only at the first send; say so now, naming the option. */
	static const struct {
		size_t off;
		const char *name;
	} nonempty[] = {
		{O(kafka_brokers), "kafka-brokers"},
		{O(kafka_topic), "kafka-topic"},
		{O(kafka_counter_topic), "kafka-counter-topic"},
		{O(http_listen), "http-listen"},
	};

	for (size_t i = 0; i < sizeof(nonempty) / sizeof(nonempty[0]); i++) {
		const char *v = *(char *const *)(const void *)((const char *)c + nonempty[i].off);

		if (v && v[strspn(v, " \t,")] == '\0') {
			fprintf(err, "collector: --%s is empty\n", nonempty[i].name);
			return FC_EINVAL;
		}
	}
	return 0;
}
