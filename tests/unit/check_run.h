/*
 * The main() every Check suite shares: run with the environment's settings
 * (meson sets CK_VERBOSITY=silent and a TAP log on stdout), exit non-zero
 * when any test failed.
 *
 * Test data: tests that read ../shared/testdata sit in TCases tagged
 * FC_TESTDATA_TAG. tests/unit/meson.build runs such a suite twice: once
 * without those cases (CK_EXCLUDE_TAGS, TAP), once with only them
 * (CK_INCLUDE_TAGS, exit-code protocol), and that second run exits 77 --
 * a SKIP for meson -- when the files it needs are absent at run time.
 */
#ifndef FC_CHECK_RUN_H
#define FC_CHECK_RUN_H

#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FC_TESTDATA_TAG "testdata"
#define FC_CHECK_SKIP 77

static inline int fc_check_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* The test data folder: $FC_TESTDATA (meson sets it) or ../shared/testdata. */
static inline const char *fc_testdata_dir(void)
{
	const char *d = getenv("FC_TESTDATA");

	return d && d[0] ? d : "../shared/testdata";
}

/* True when this run is the test-data half of a suite and one of need[]
 * (paths below the test data folder, NULL-terminated) cannot be read; the
 * caller then returns FC_CHECK_SKIP from main. Prints the one SKIP line. */
static inline bool fc_check_skip_without_testdata(const char *const *need)
{
	const char *only = getenv("CK_INCLUDE_TAGS");
	char path[1024];

	if (!only || strcmp(only, FC_TESTDATA_TAG) != 0)
		return false;
	for (; *need; need++) {
		snprintf(path, sizeof(path), "%s/%s", fc_testdata_dir(), *need);
		if (access(path, R_OK) != 0) {
			printf("SKIP: %s not found: the shared test data set (third-party "
			       "captures and MaxMind test databases, each folder's MANIFEST.md "
			       "names its source) is read from ../shared/testdata or "
			       "$FC_TESTDATA\n",
			       path);
			return true;
		}
	}
	return false;
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
