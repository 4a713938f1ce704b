/*
 * Configuration: one declarative option table (config.c) feeds both the
 * command line (long flags) and an INI file (libinih, `--config FILE`), so a
 * key has the same name, type, default, bounds and help everywhere. Unknown
 * keys are rejected; `kafka.*` INI keys and `-X key=value` flags pass through
 * to librdkafka untouched.
 *
 * Ownership: strings in struct fc_config are owned by it (fc_config_fini).
 */
#ifndef FC_CONFIG_H
#define FC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/opt.h"

/* values per repeatable option (and -X); the option engine holds as many */
#define FC_CONFIG_MAX_LIST 32
_Static_assert(FC_CONFIG_MAX_LIST <= FC_OPT_LIST_CAP, "FC_CONFIG_MAX_LIST");
#define FC_HTTP_LISTEN_DEFAULT "127.0.0.1:9600"

struct fc_config {
	/* input */
	struct fc_opt_list listen; /* ADDR:PORT, [v6]:PORT */
	struct fc_opt_list pcaps;  /* --pcap FILE, repeatable: replayed in order */
	const char *pcap;         /* first of pcaps (NULL: live); replay mode flag */
	uint64_t rcvbuf;          /* SO_RCVBUF bytes, 0 = kernel default */
	uint64_t workers;         /* receive threads (SO_REUSEPORT) */
	uint64_t batch;           /* datagrams per recvmmsg */
	bool reuseport;           /* share ports with other processes (SO_REUSEPORT) */
	uint64_t max_datagram;    /* receive slot per datagram, bytes */

	/* output */
	struct fc_opt_list outputs;  /* kafka | file:PATH | json:PATH */
	struct fc_opt_list counters_outputs; /* file:PATH | json:PATH: sFlow counter samples */
	char *json_style;           /* native | goflow2 */
	char *kafka_brokers;        /* NULL: embedded mock cluster */
	char *kafka_topic;
	char *kafka_counter_topic;
	struct fc_opt_list kafka_props; /* key=value for librdkafka */
	char *kafka_key;            /* exporter | flow | none */
	char *kafka_compression;    /* none | gzip | snappy | lz4 | zstd */
	uint64_t kafka_flush_ms;    /* bound on the flush at exit */
	uint64_t kafka_msgs_per_record; /* >1 batches framed messages */
	uint64_t kafka_buffer_bytes; /* librdkafka queue bound, bytes */
	char *spool_dir;            /* disk spool for Kafka, NULL = none */
	uint64_t spool_max_bytes;

	/* NetFlow v9 / IPFIX template engine */
	bool template_ignore_port;
	uint64_t template_ttl;      /* seconds, v9/UDP template lifetime; 0 = none */
	char *template_file;        /* persistence, NULL = off */
	uint64_t template_save_interval; /* seconds */
	uint64_t template_max_per_exporter;
	uint64_t template_max_exporters;
	uint64_t template_max_fields;
	uint64_t hold_bytes;        /* data held before its template, per exporter */
	uint64_t hold_seconds;
	uint64_t template_memory;   /* bytes: sessions, templates, options state, held data */

	/* sampling */
	uint64_t sampling_default;            /* 0 = none */
	struct fc_opt_list sampling_override;  /* PREFIX=RATE */

	/* sFlow */
	uint64_t sflow_max_samples;  /* per datagram */
	uint64_t sflow_max_records;  /* per sample */

	/* enrichment */
	char *geoip_asn;
	char *geoip_geo;
	bool geoip_asn_override;
	char *networks;
	char *exporter_names;
	uint64_t reload_interval; /* seconds between file change checks, 0 = off */
	uint64_t geoip_cache_bytes; /* lookup cache size per worker */

	/* operations */
	char *log_level;         /* error | warn | info | debug */
	uint64_t stats_interval; /* seconds between counter prints, 0 = off */
	char *http_listen;       /* ADDR:PORT, "off" = no HTTP server, NULL =
				  * FC_HTTP_LISTEN_DEFAULT live, off for --pcap */
};

/* Sets every option to its default: the one owner of defaults, used by the
 * binary, the tests and the fuzzers alike. The engines take a filled
 * config and have no defaults of their own. */
void fc_config_init(struct fc_config *c);

/* The option table, for tests and documentation: name and default (NULL:
 * none) of option i < fc_config_option_count(). */
size_t fc_config_option_count(void);
const char *fc_config_option_name(size_t i);
const char *fc_config_option_default(size_t i);
void fc_config_fini(struct fc_config *c);

/* Parses argv (and --config FILE, applied where it appears; it must be a
 * regular file), then fc_config_check. On error
 * prints a message naming the option to err and returns FC_EINVAL.
 * Returns 1 when --help or --version was handled (caller exits 0). */
int fc_config_parse_args(struct fc_config *c, int argc, char **argv, FILE *err);

/* Checks what single options cannot: no empty broker list, topic or
 * listen address. Prints one line naming the option and returns
 * FC_EINVAL, or 0. Called by fc_config_parse_args. */
int fc_config_check(const struct fc_config *c, FILE *err);

/* Applies an INI file. Returns 0 or FC_EINVAL / FC_ESYS (message to err). */
int fc_config_load_file(struct fc_config *c, const char *path, FILE *err);

void fc_config_usage(FILE *out, const char *argv0);

#endif
