/*
 * The main() every Check suite shares: run with the environment's settings
 * (meson sets CK_VERBOSITY=silent and a TAP log on stdout), exit non-zero
 * when any test failed.
 */
#ifndef FC_CHECK_RUN_H
#define FC_CHECK_RUN_H

#include <check.h>
#include <stdlib.h>

static inline int fc_check_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* struct fc_config holds char * because the parser owns and frees its
 * strings; tests point them at literals that are never freed nor written. */
static inline char *fc_test_str(const char *s)
{
	union {
		const char *c;
		char *m;
	} u = {.c = s};

	return u.m;
}

#endif
