/*
 * The option engine shared by the collector (src/config) and flowsink
 * (src/flowsink/options.c): a program describes its options as rows of
 * struct fc_opt (long flag, type, offset of the field in its own options
 * struct, default, bounds, --help text) and this file does the rest the
 * same way for both: defaults, setting a value from a string with its
 * checks and error texts, finding a row by name ("kafka_topic" finds
 * "kafka-topic"), freeing, the --help rows, and the argv loop (`--name
 * value`, `--name=value`, `-X KEY=VALUE`, `--help`/`-h`, `--version`).
 * Each program keeps only its table, its usage header and footer, and its
 * own flags (the collector's `--config FILE`) as struct fc_opt_flag rows.
 *
 * Messages go to the FILE the caller passes, prefixed with the program's
 * name ("collector: ..."). Not thread-safe: options are parsed once at
 * start.
 */
#ifndef FC_CORE_OPT_H
#define FC_CORE_OPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Room in every list; a program may allow fewer (fc_opt_prog.max_list). */
#define FC_OPT_LIST_CAP 32

/* A repeatable option's values, in the order given. Strings owned by the
 * list (fc_opt_list_free). */
struct fc_opt_list {
	size_t n;
	char *v[FC_OPT_LIST_CAP];
};

/* The type of the field at fc_opt.off: char * (NULL: unset), struct
 * fc_opt_list, uint64_t, bool. */
enum fc_opt_type { FC_OPT_STR, FC_OPT_LIST, FC_OPT_U64, FC_OPT_BOOL };

struct fc_opt {
	const char *name;  /* long flag without "--" (and the collector's INI key) */
	enum fc_opt_type type;
	size_t off;        /* offsetof() the field in the program's options struct */
	const char *def;   /* default as it would be typed; NULL: none */
	uint64_t min, max; /* FC_OPT_U64 only, inclusive */
	const char *arg;   /* placeholder in --help, NULL for a bool */
	const char *help;
};

/* A program's own flag outside the table (the collector's --config FILE):
 * it always takes a value, fetched as for a row ("--name VALUE" or
 * "--name=VALUE"), and is matched by its exact name before the table. */
struct fc_opt_flag {
	const char *name; /* without "--" */
	const char *arg;  /* what is missing: "--config needs a FILE" */
	/* Returns 0, or a negative fc_err with the message printed to err. */
	int (*apply)(void *dst, const char *val, FILE *err);
};

/* One program's options and the few ways the two programs' messages and
 * --help differ (kept as they were when each had its own copy). */
struct fc_opt_prog {
	const char *name; /* first word of every message: "collector" */
	const struct fc_opt *opts;
	size_t n_opts;
	const struct fc_opt_flag *flags; /* may be NULL when n_flags is 0 */
	size_t n_flags;
	size_t max_list;  /* values per list option and -X, <= FC_OPT_LIST_CAP */
	size_t props_off; /* offsetof() the struct fc_opt_list -X fills */
	/* "<name>: <list_label><option> given more than N times"; props_name
	 * stands for <option> when the -X list is full */
	const char *list_label;
	const char *props_name;
	/* "<name>: <value_label><option>: expected a number, got '...'" */
	const char *value_label;
	/* true: at least two spaces between a long flag and its help text even
	 * when the flag is wider than the column (help2man splits there) */
	bool help_gap;
	/* --help / -h and --version: print to out */
	void (*usage)(FILE *out, const char *argv0);
	void (*version)(FILE *out);
};

/* Sets every row that has a default on dst, which the caller has zeroed.
 * A default that cannot be copied (out of memory) leaves its field zero. */
void fc_opt_defaults(const struct fc_opt_prog *p, void *dst);

/* Frees every string and list of the table and the -X list; the fields
 * are left NULL / empty. */
void fc_opt_free(const struct fc_opt_prog *p, void *dst);

/* The row called name[0..len) ('_' matches '-'), or NULL. */
const struct fc_opt *fc_opt_find(const struct fc_opt_prog *p, const char *name, size_t len);

/* Sets the field of row o in dst from text v (copied). A list value is
 * appended. Returns 0, FC_EINVAL (message naming the option to err; the
 * field unchanged) or FC_ENOMEM. */
int fc_opt_set(const struct fc_opt_prog *p, void *dst, const struct fc_opt *o, const char *v,
	       FILE *err);

/* Appends a copy of v to l, which name (see list_label) labels in the
 * message when l already holds p->max_list values. Returns 0, FC_EINVAL
 * or FC_ENOMEM; l is unchanged on failure. */
int fc_opt_list_add(const struct fc_opt_prog *p, struct fc_opt_list *l, const char *name,
		    const char *v, FILE *err);

void fc_opt_list_free(struct fc_opt_list *l);

/* Prints one --help line per row, in table order, with the default in
 * brackets (not for bools). */
void fc_opt_help(const struct fc_opt_prog *p, FILE *out);

/* Walks argv[1..argc) into dst. Returns 0; 1 when --help or --version was
 * printed (caller exits 0); or a negative fc_err with a message naming the
 * argument printed to err. What was set before an error stays set (the
 * caller frees it with the rest). */
int fc_opt_parse_args(const struct fc_opt_prog *p, void *dst, int argc, char **argv,
		      FILE *err);

#endif
