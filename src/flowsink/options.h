/*
 * flowsink's options: one declarative table (options.c) run by the option
 * engine the collector's src/config uses too (core/opt.h: name, type,
 * default, bounds, help), so that --help is generated from the same rows
 * that parse the flags. `-X
 * key=value` passes through to librdkafka untouched.
 *
 * Ownership: strings in struct fc_fsopts are owned by it (fc_fsopts_fini).
 */
#ifndef FC_FLOWSINK_OPTIONS_H
#define FC_FLOWSINK_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/opt.h"

/* values per repeatable option (and -X); the option engine holds as many */
#define FC_FSOPTS_MAX_LIST 32
_Static_assert(FC_FSOPTS_MAX_LIST <= FC_OPT_LIST_CAP, "FC_FSOPTS_MAX_LIST");

struct fc_fsopts {
	/* Kafka */
	char *brokers;
	char *topic;
	char *group;
	struct fc_opt_list kafka_props; /* key=value for librdkafka */
	uint64_t batch_records;  /* records per batch */
	uint64_t batch_flows;    /* flows per batch (memory bound) */
	uint64_t batch_ms;       /* longest wait to fill a batch */

	/* Redis */
	char *redis;                     /* HOST:PORT or unix:PATH */
	struct fc_opt_list redis_sets;     /* set rules */
	struct fc_opt_list redis_counters; /* counter rules */
	uint64_t redis_timeout_ms;

	/* PostgreSQL */
	char *postgres;              /* libpq connection string */
	uint64_t postgres_retention; /* days of partitions kept, 0 = all */

	/* per-AS Prometheus exporter and the HTTP listener */
	char *prometheus_listen;     /* ADDR:PORT, "off" for none */
	struct fc_opt_list asn;   /* our own AS numbers: the exporter sink is on when any */
	uint64_t prometheus_max_series;

	/* operations */
	char *log_level;
	uint64_t stats_interval;
};

void fc_fsopts_init(struct fc_fsopts *o);
void fc_fsopts_fini(struct fc_fsopts *o);

/* Parses argv. On error prints a message naming the option to err and
 * returns FC_EINVAL. Returns 1 when --help or --version was handled
 * (caller exits 0). */
int fc_fsopts_parse_args(struct fc_fsopts *o, int argc, char **argv, FILE *err);

void fc_fsopts_usage(FILE *out, const char *argv0);

/* --version: program, commit, library versions, features, licence. */
void fc_fsopts_version(FILE *out);

#endif
