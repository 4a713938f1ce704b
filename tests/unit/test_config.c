/*
 * The option table: flags and INI keys share names, types, defaults and
 * bounds; unknown keys are refused; kafka.* and -X pass through untouched.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "fc/err.h"
#include "check_run.h"

static int parse(struct fc_config *c, const char *const *args, int n)
{
	char *argv[32];
	FILE *devnull = fopen("/dev/null", "w");
	int rc;

	argv[0] = fc_test_str("collector");
	for (int i = 0; i < n; i++)
		argv[i + 1] = fc_test_str(args[i]);
	rc = fc_config_parse_args(c, n + 1, argv, devnull);
	fclose(devnull);
	return rc;
}

START_TEST(defaults)
{
	struct fc_config c;

	fc_config_init(&c);
	ck_assert_str_eq(c.kafka_topic, "flows");
	ck_assert_str_eq(c.kafka_counter_topic, "flow-counters");
	ck_assert_ptr_null(c.kafka_brokers);
	ck_assert_ptr_null(c.pcap);
	ck_assert_uint_eq(c.workers, 1);
	ck_assert_uint_eq(c.template_ttl, 1800);
	ck_assert(!c.template_ignore_port);
	ck_assert_uint_eq(c.listen.n, 0);
	fc_config_fini(&c);
}
END_TEST

START_TEST(flags)
{
	static const char *const a[] = {
		"--listen", "127.0.0.1:2055", "--listen=[::1]:6343", "--kafka-topic=t1",
		"-X", "compression.type=lz4", "--template-ignore-port", "--template_ttl", "60",
		"--pcap", "a.pcap", "--pcap", "b.pcap", "--geoip-asn-override=false"};
	struct fc_config c;

	fc_config_init(&c);
	ck_assert_int_eq(parse(&c, a, sizeof(a) / sizeof(a[0])), 0);
	ck_assert_uint_eq(c.listen.n, 2);
	ck_assert_str_eq(c.listen.v[1], "[::1]:6343");
	ck_assert_str_eq(c.kafka_topic, "t1");
	ck_assert_uint_eq(c.kafka_props.n, 1);
	ck_assert_str_eq(c.kafka_props.v[0], "compression.type=lz4");
	ck_assert(c.template_ignore_port);
	ck_assert_uint_eq(c.template_ttl, 60);
	ck_assert_uint_eq(c.pcaps.n, 2);
	ck_assert_str_eq(c.pcap, "a.pcap");
	ck_assert(!c.geoip_asn_override);
	fc_config_fini(&c);
}
END_TEST

static const struct {
	const char *what;
	const char *args[3];
	int n;
} refused[] = {
	{"unknown option", {"--no-such-thing", "1"}, 2},
	{"not an option", {"stray"}, 1},
	{"missing value", {"--kafka-topic"}, 1},
	{"not a number", {"--workers", "many"}, 2},
	{"negative", {"--workers", "-1"}, 2},
	{"above the bound", {"--workers", "65"}, 2},
	{"below the bound", {"--workers", "0"}, 2},
	{"bad boolean", {"--template-ignore-port=maybe"}, 1},
	{"-X without =", {"-X", "compression"}, 2},
	{"missing config file", {"--config", "/nonexistent/collector.ini"}, 2},
};

START_TEST(refusals)
{
	struct fc_config c;

	fc_config_init(&c);
	ck_assert_msg(parse(&c, refused[_i].args, refused[_i].n) < 0, "%s accepted",
		      refused[_i].what);
	fc_config_fini(&c);
}
END_TEST

static char *write_ini(const char *text)
{
	static char path[64];
	int fd;

	strcpy(path, "/tmp/fc-config-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (int)strlen(text));
	close(fd);
	return path;
}

START_TEST(ini_file)
{
	const char *path = write_ini("; comment\nlisten = 0.0.0.0:9995\nkafka_topic = t2\n"
				     "kafka.linger.ms = 5\n[kafka]\nsecurity.protocol = SSL\n");
	struct fc_config c;

	fc_config_init(&c);
	ck_assert_int_eq(fc_config_load_file(&c, path, stderr), 0);
	ck_assert_str_eq(c.listen.v[0], "0.0.0.0:9995");
	ck_assert_str_eq(c.kafka_topic, "t2");
	ck_assert_uint_eq(c.kafka_props.n, 2);
	ck_assert_str_eq(c.kafka_props.v[0], "linger.ms=5");
	ck_assert_str_eq(c.kafka_props.v[1], "security.protocol=SSL");
	unlink(path);
	fc_config_fini(&c);
}
END_TEST

START_TEST(ini_refusals)
{
	static const char *const bad[] = {"nonsense = 1\n", "[elsewhere]\nlisten = :1\n",
					  "workers = 0\n"};
	FILE *devnull = fopen("/dev/null", "w");

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *path = write_ini(bad[i]);
		struct fc_config c;

		fc_config_init(&c);
		ck_assert_msg(fc_config_load_file(&c, path, devnull) < 0, "accepted: %s", bad[i]);
		unlink(path);
		fc_config_fini(&c);
	}
	fclose(devnull);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("options");

	tcase_add_test(tc, defaults);
	tcase_add_test(tc, flags);
	tcase_add_loop_test(tc, refusals, 0, (int)(sizeof(refused) / sizeof(refused[0])));
	tcase_add_test(tc, ini_file);
	tcase_add_test(tc, ini_refusals);
	suite_add_tcase(s, tc);
	return fc_check_run(s);
}
