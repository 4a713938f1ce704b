/*
 * Unit tests for the socket address helpers (src/core/sockaddr.c):
 * ADDR:PORT / [IPv6]:PORT splitting as --listen and flowgen --to use it,
 * and sockaddr -> fc_addr conversion as the UDP input uses it.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "core/sockaddr.h"
#include "fc/err.h"
#include "check_run.h"

/* Table rows: what comes in, and the host and port text expected
 * (host NULL: refused). */
static const struct {
	const char *in;
	const char *host;
	const char *port;
} split_cases[] = {
	{"192.0.2.1:2055", "192.0.2.1", "2055"},
	{"[2001:db8::1]:4739", "2001:db8::1", "4739"},
	{":6343", "", "6343"},
	{"[]:6343", "", "6343"},
	{"::1:2055", "::1", "2055"}, /* last ':' splits; callers decide */
	{"host:", "host", ""},       /* the port is not checked here */
	{"192.0.2.1", NULL, NULL},
	{"[2001:db8::1]", NULL, NULL},
	{"[2001:db8::1]2055", NULL, NULL},
	{"[2001:db8::1:2055", NULL, NULL},
	{"", NULL, NULL},
};

START_TEST(hostport_split_table)
{
	char host[64];
	const char *port = NULL;
	int rc = fc_hostport_split(split_cases[_i].in, host, sizeof(host), &port);

	if (!split_cases[_i].host) {
		ck_assert_int_eq(rc, FC_EINVAL);
		return;
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(host, split_cases[_i].host);
	ck_assert_str_eq(port, split_cases[_i].port);
}
END_TEST

START_TEST(hostport_split_host_must_fit)
{
	char host[8];
	const char *port;

	/* 7 characters and the NUL fit; 8 do not, bracketed or not. */
	ck_assert_int_eq(fc_hostport_split("1234567:1", host, sizeof(host), &port), 0);
	ck_assert_str_eq(host, "1234567");
	ck_assert_int_eq(fc_hostport_split("12345678:1", host, sizeof(host), &port), FC_EINVAL);
	ck_assert_int_eq(fc_hostport_split("[1:3:5:7]:1", host, sizeof(host), &port), 0);
	ck_assert_str_eq(host, "1:3:5:7");
	ck_assert_int_eq(fc_hostport_split("[1:3:5:78]:1", host, sizeof(host), &port), FC_EINVAL);
}
END_TEST

START_TEST(from_sockaddr_v4)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct fc_addr a;
	uint16_t port = 0;
	char buf[FC_ADDR_STRLEN];

	memset(&ss, 0, sizeof(ss));
	s4->sin_family = AF_INET;
	s4->sin_port = htons(2055);
	ck_assert_int_eq(inet_pton(AF_INET, "192.0.2.7", &s4->sin_addr), 1);
	fc_addr_from_sockaddr(&ss, &a, &port);
	ck_assert_int_eq(a.family, 4);
	ck_assert_str_eq(fc_addr_str(&a, buf), "192.0.2.7");
	ck_assert_uint_eq(port, 2055);
}
END_TEST

START_TEST(from_sockaddr_v6_and_mapped)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	struct fc_addr a;
	uint16_t port = 0;
	char buf[FC_ADDR_STRLEN];

	memset(&ss, 0, sizeof(ss));
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(65535);
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::5", &s6->sin6_addr), 1);
	fc_addr_from_sockaddr(&ss, &a, &port);
	ck_assert_int_eq(a.family, 6);
	ck_assert_str_eq(fc_addr_str(&a, buf), "2001:db8::5");
	ck_assert_uint_eq(port, 65535);

	/* a dual-stack socket reports IPv4 senders as ::ffff:a.b.c.d */
	ck_assert_int_eq(inet_pton(AF_INET6, "::ffff:198.51.100.9", &s6->sin6_addr), 1);
	fc_addr_from_sockaddr(&ss, &a, &port);
	ck_assert_int_eq(a.family, 4);
	ck_assert_str_eq(fc_addr_str(&a, buf), "198.51.100.9");
}
END_TEST

static Suite *sockaddr_suite(void)
{
	Suite *s = suite_create("sockaddr");
	TCase *tc = tcase_create("hostport");

	tcase_add_loop_test(tc, hostport_split_table, 0,
			    (int)(sizeof(split_cases) / sizeof(split_cases[0])));
	tcase_add_test(tc, hostport_split_host_must_fit);
	suite_add_tcase(s, tc);
	tc = tcase_create("from_sockaddr");
	tcase_add_test(tc, from_sockaddr_v4);
	tcase_add_test(tc, from_sockaddr_v6_and_mapped);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fc_check_run(sockaddr_suite());
}
