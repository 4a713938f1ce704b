/*
 * The option engine (core/opt.c) on a small table of its own, described
 * twice: once with the collector's message and --help conventions, once
 * with flowsink's. The texts are compared whole, because the two programs'
 * users and tests see them and they must not drift when the engine
 * changes.
 */
#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/opt.h"
#include "fc/err.h"
#include "check_run.h"

struct o {
	char *name;
	struct fc_opt_list tags;
	struct fc_opt_list props;
	uint64_t count;
	bool loud;
	char *file; /* set by --file, a struct fc_opt_flag */
};

#define O(f) offsetof(struct o, f)

static const struct fc_opt rows[] = {
	{"name", FC_OPT_STR, O(name), "anon", 0, 0, "NAME", "who"},
	{"tag", FC_OPT_LIST, O(tags), NULL, 0, 0, "T", "a tag, repeatable"},
	{"max-count", FC_OPT_U64, O(count), "5", 1, 10, "N", "how many"},
	{"loud", FC_OPT_BOOL, O(loud), "false", 0, 0, NULL, "shout"},
	{"a-rather-long-option", FC_OPT_STR, O(name), NULL, 0, 0, "VALUE", "wide"},
};

static int usage_calls, version_calls;

static void usage(FILE *out, const char *argv0)
{
	(void)out; /* stdout is the TAP log here */
	(void)argv0;
	usage_calls++;
}

static void version(FILE *out)
{
	(void)out;
	version_calls++;
}

/* --file PATH, outside the table */
static int set_file(void *dst, const char *val, FILE *err)
{
	struct o *o = dst;

	(void)err;
	free(o->file);
	o->file = strdup(val);
	return o->file ? 0 : FC_ENOMEM;
}

static const struct fc_opt_flag flags[] = {{"file", "PATH", set_file}};

/* the collector's conventions */
static const struct fc_opt_prog coll = {
	.name = "collector",
	.opts = rows,
	.n_opts = sizeof(rows) / sizeof(rows[0]),
	.flags = flags,
	.n_flags = 1,
	.max_list = 2,
	.props_off = O(props),
	.list_label = "--",
	.props_name = "X",
	.value_label = "",
	.help_gap = true,
	.usage = usage,
	.version = version,
};

/* the same table with flowsink's conventions (set up in main) */
static struct fc_opt_prog sink;

static void init(const struct fc_opt_prog *p, struct o *o)
{
	memset(o, 0, sizeof(*o));
	fc_opt_defaults(p, o);
}

static void fini(const struct fc_opt_prog *p, struct o *o)
{
	fc_opt_free(p, o);
	free(o->file);
	o->file = NULL;
}

/* Runs argv (after a program name) and returns its rc; *out_msg is what
 * it printed to err (caller frees). */
static int run(const struct fc_opt_prog *p, struct o *o, const char *const *args, char **out_msg)
{
	char *argv[16];
	size_t len = 0;
	FILE *err;
	int argc = 1, rc;

	*out_msg = NULL;
	err = open_memstream(out_msg, &len);
	ck_assert_ptr_nonnull(err);
	argv[0] = fc_test_str("prog");
	for (; args[argc - 1]; argc++)
		argv[argc] = fc_test_str(args[argc - 1]);
	rc = fc_opt_parse_args(p, o, argc, argv, err);
	fclose(err);
	return rc;
}

START_TEST(defaults_and_free)
{
	struct o o;

	init(&coll, &o);
	ck_assert_str_eq(o.name, "anon");
	ck_assert_uint_eq(o.count, 5);
	ck_assert(!o.loud);
	ck_assert_uint_eq(o.tags.n, 0);
	fini(&coll, &o);
	ck_assert_ptr_null(o.name);
}
END_TEST

START_TEST(accepted)
{
	static const char *const a[] = {"--name", "n1", "--name=n2", "--tag", "a", "--tag=b",
					"--max_count", "7", "--loud", "-X", "k=v",
					"--file", "e.ini", "--file=f.ini", NULL};
	struct o o;
	char *msg;

	init(&coll, &o);
	ck_assert_int_eq(run(&coll, &o, a, &msg), 0);
	ck_assert_str_eq(msg, "");
	ck_assert_str_eq(o.name, "n2");
	ck_assert_uint_eq(o.tags.n, 2);
	ck_assert_str_eq(o.tags.v[1], "b");
	ck_assert_uint_eq(o.count, 7);
	ck_assert(o.loud);
	ck_assert_uint_eq(o.props.n, 1);
	ck_assert_str_eq(o.props.v[0], "k=v");
	ck_assert_str_eq(o.file, "f.ini");
	free(msg);
	fini(&coll, &o);
	ck_assert_uint_eq(o.tags.n, 0);
	ck_assert_uint_eq(o.props.n, 0);
}
END_TEST

START_TEST(help_and_version)
{
	static const char *const h[] = {"-h", "--no-such", NULL};
	static const char *const v[] = {"--version", NULL};
	struct o o;
	char *msg;

	usage_calls = version_calls = 0;
	init(&sink, &o);
	ck_assert_int_eq(run(&sink, &o, h, &msg), 1);
	free(msg);
	ck_assert_int_eq(run(&sink, &o, v, &msg), 1);
	free(msg);
	ck_assert_int_eq(usage_calls, 1);
	ck_assert_int_eq(version_calls, 1);
	fini(&sink, &o);
}
END_TEST

static const struct {
	bool flowsink;
	const char *args[8];
	const char *msg;
} refused[] = {
	{false, {"--nope", "1"}, "collector: unknown option '--nope' (see --help)\n"},
	{true, {"--nope=1"}, "flowsink: unknown option '--nope=1' (see --help)\n"},
	{false, {"stray"}, "collector: unexpected argument 'stray' (see --help)\n"},
	{true, {"stray"}, "flowsink: unexpected argument 'stray' (see --help)\n"},
	{false, {"--name"}, "collector: --name needs a value\n"},
	{true, {"--max_count"}, "flowsink: --max-count needs a value\n"},
	{false, {"--max-count", "many"}, "collector: max-count: expected a number, got 'many'\n"},
	{true, {"--max-count", "-1"}, "flowsink: --max-count: expected a number, got '-1'\n"},
	{false, {"--max-count=11"}, "collector: max-count: 11 is outside 1..10\n"},
	{true, {"--max-count", "0"}, "flowsink: --max-count: 0 is outside 1..10\n"},
	{false, {"--loud=maybe"}, "collector: loud: expected true or false, got 'maybe'\n"},
	{true, {"--loud=maybe"}, "flowsink: --loud: expected true or false, got 'maybe'\n"},
	{false, {"-X"}, "collector: -X needs KEY=VALUE\n"},
	{true, {"-X", "novalue"}, "flowsink: -X needs KEY=VALUE\n"},
	{false, {"--tag", "a", "--tag", "b", "--tag", "c"},
	 "collector: --tag given more than 2 times\n"},
	{true, {"--tag", "a", "--tag", "b", "--tag", "c"},
	 "flowsink: tag given more than 2 times\n"},
	{false, {"-X", "a=1", "-X", "b=2", "-X", "c=3"}, "collector: --X given more than 2 times\n"},
	{true, {"-X", "a=1", "-X", "b=2", "-X", "c=3"}, "flowsink: -X given more than 2 times\n"},
	{false, {"--file"}, "collector: --file needs a PATH\n"},
	{true, {"--file", "x"}, "flowsink: unknown option '--file' (see --help)\n"},
};

START_TEST(refusals)
{
	const struct fc_opt_prog *p = refused[_i].flowsink ? &sink : &coll;
	struct o o;
	char *msg;

	init(p, &o);
	ck_assert_int_eq(run(p, &o, refused[_i].args, &msg), FC_EINVAL);
	ck_assert_str_eq(msg, refused[_i].msg);
	free(msg);
	fini(p, &o);
}
END_TEST

START_TEST(help_rows)
{
	/* the collector keeps two spaces after a flag wider than the column
	 * (help2man splits there); flowsink's --help has always had one */
	static const char want[] =
		"  --name NAME               who [anon]\n"
		"  --tag T                   a tag, repeatable\n"
		"  --max-count N             how many [5]\n"
		"  --loud                    shout\n"
		"  --a-rather-long-option VALUE  wide\n"
		"  --name NAME               who [anon]\n"
		"  --tag T                   a tag, repeatable\n"
		"  --max-count N             how many [5]\n"
		"  --loud                    shout\n"
		"  --a-rather-long-option VALUE wide\n";
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(out);
	fc_opt_help(&coll, out);
	fc_opt_help(&sink, out);
	fclose(out);
	ck_assert_str_eq(text, want);
	free(text);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("opt");
	TCase *tc = tcase_create("engine");

	sink = coll;
	sink.name = "flowsink";
	sink.flags = NULL;
	sink.n_flags = 0;
	sink.list_label = "";
	sink.props_name = "-X";
	sink.value_label = "--";
	sink.help_gap = false;

	tcase_add_test(tc, defaults_and_free);
	tcase_add_test(tc, accepted);
	tcase_add_test(tc, help_and_version);
	tcase_add_loop_test(tc, refusals, 0, (int)(sizeof(refused) / sizeof(refused[0])));
	tcase_add_test(tc, help_rows);
	suite_add_tcase(s, tc);
	return fc_check_run(s);
}
