/*
 * Unit tests for the Kafka output's disk spool (src/output/spool.c): records
 * come back in order and whole; what was resolved before a restart is not
 * read back after it, what was not is; the size bound drops and counts;
 * segments rotate and are deleted once read; damaged bytes are skipped and
 * counted, and the spool goes on after them; the record parser refuses
 * short and damaged input.
 */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "fc/err.h"
#include "metrics/metrics.h"
#include "output/spool.h"
#include "check_run.h"

static char dir[64];
static struct fc_metrics *m;

static void setup(void)
{
	(void)fc_log_set_level("error");
	snprintf(dir, sizeof(dir), "/tmp/fc-test-spool-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	m = fc_metrics_new();
	ck_assert_ptr_nonnull(m);
}

static void teardown(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d)) != NULL) {
		char p[sizeof(dir) + sizeof(e->d_name) + 2];

		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
	fc_metrics_free(m);
}

static int count_segments(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);

		if (l > 4 && strcmp(e->d_name + l - 4, ".seg") == 0)
			n++;
	}
	if (d)
		closedir(d);
	return n;
}

/* Record i: payload "rec <i>" padded to len, key for even i, kind i % 2. */
static void make_rec(unsigned i, size_t len, uint8_t *buf, char *key, struct fc_spool_rec *r)
{
	memset(buf, (int)('a' + i % 26), len);
	snprintf((char *)buf, len, "rec %u", i);
	snprintf(key, 16, "key%u", i);
	r->kind = (uint8_t)(i % 2);
	r->n_msgs = 1 + i % 3;
	r->payload = buf;
	r->len = len;
	r->key = i % 2 == 0 ? (const uint8_t *)key : NULL;
	r->key_len = i % 2 == 0 ? strlen(key) : 0;
}

static void append_n(struct fc_spool *s, unsigned from, unsigned n, size_t len)
{
	uint8_t *buf = malloc(len);
	char key[16];

	ck_assert_ptr_nonnull(buf);
	for (unsigned i = from; i < from + n; i++) {
		struct fc_spool_rec r;

		make_rec(i, len, buf, key, &r);
		ck_assert_int_eq(fc_spool_append(s, &r), 0);
	}
	free(buf);
}

/* Peeks the next record and checks it is record i; returns its ticket. */
static void *expect(struct fc_spool *s, unsigned i, size_t len)
{
	uint8_t *buf = malloc(len);
	char key[16];
	struct fc_spool_rec want, got;
	void *t;

	ck_assert_ptr_nonnull(buf);
	make_rec(i, len, buf, key, &want);
	ck_assert_int_eq(fc_spool_peek(s, &got), 0);
	ck_assert_uint_eq(got.kind, want.kind);
	ck_assert_uint_eq(got.n_msgs, want.n_msgs);
	ck_assert_uint_eq(got.len, want.len);
	ck_assert_mem_eq(got.payload, want.payload, len);
	ck_assert_uint_eq(got.key_len, want.key_len);
	if (want.key_len)
		ck_assert_mem_eq(got.key, want.key, want.key_len);
	t = fc_spool_take(s);
	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_eq(fc_spool_ticket(s, t), t);
	ck_assert_uint_eq(fc_spool_ticket_msgs(t), want.n_msgs);
	free(buf);
	return t;
}

START_TEST(roundtrip_in_order)
{
	struct fc_spool *s;
	struct fc_spool_rec r;

	ck_assert_int_eq(fc_spool_open(&s, dir, 1u << 30, m), 0);
	ck_assert(!fc_spool_pending(s));
	ck_assert_int_eq(fc_spool_peek(s, &r), FC_EAGAIN);
	append_n(s, 0, 1000, 100);
	ck_assert(fc_spool_pending(s));
	for (unsigned i = 0; i < 1000; i++)
		fc_spool_done(s, expect(s, i, 100));
	ck_assert(!fc_spool_pending(s));
	ck_assert_int_eq(fc_spool_peek(s, &r), FC_EAGAIN);
	/* Interleaved: the writer goes on while the reader follows. */
	for (unsigned i = 1000; i < 1100; i++) {
		append_n(s, i, 1, 300);
		fc_spool_done(s, expect(s, i, 300));
	}
	ck_assert_uint_eq(fc_metrics_get(m, "spool_written_total", NULL),
			  fc_metrics_get(m, "spool_replayed_total", NULL));
	fc_spool_free(s);
	/* Drained: no segment is left behind. */
	ck_assert_int_eq(count_segments(), 0);
}
END_TEST

START_TEST(restart_resolved_not_again)
{
	struct fc_spool *s;
	struct fc_spool_rec r;
	void *t[10];

	ck_assert_int_eq(fc_spool_open(&s, dir, 1u << 30, m), 0);
	append_n(s, 0, 10, 50);
	for (unsigned i = 0; i < 10; i++)
		t[i] = expect(s, i, 50);
	/* Delivery reports out of order: 1, 2 and 4 resolved; 0 and 3 not;
	 * 5..9 handed out and not resolved either. */
	fc_spool_done(s, t[1]);
	fc_spool_done(s, t[2]);
	fc_spool_done(s, t[4]);
	fc_spool_free(s);

	ck_assert_int_eq(fc_spool_open(&s, dir, 1u << 30, m), 0);
	ck_assert(fc_spool_pending(s));
	fc_spool_done(s, expect(s, 0, 50));
	fc_spool_done(s, expect(s, 3, 50));
	/* Stop again before 5 is resolved: 1, 2, 4 must stay skipped. */
	t[5] = expect(s, 5, 50);
	fc_spool_free(s);

	ck_assert_int_eq(fc_spool_open(&s, dir, 1u << 30, m), 0);
	for (unsigned i = 5; i < 10; i++)
		fc_spool_done(s, expect(s, i, 50));
	ck_assert_int_eq(fc_spool_peek(s, &r), FC_EAGAIN);
	ck_assert(!fc_spool_pending(s));
	fc_spool_free(s);
	ck_assert_int_eq(count_segments(), 0);
}
END_TEST

START_TEST(untake_gives_back)
{
	struct fc_spool *s;
	void *t;

	ck_assert_int_eq(fc_spool_open(&s, dir, 1u << 30, m), 0);
	append_n(s, 0, 3, 64);
	t = expect(s, 0, 64);
	fc_spool_untake(s, t);
	t = expect(s, 0, 64);
	fc_spool_done(s, t);
	fc_spool_done(s, expect(s, 1, 64));
	fc_spool_done(s, expect(s, 2, 64));
	ck_assert_uint_eq(fc_metrics_get(m, "spool_replayed_total", NULL),
			  fc_metrics_get(m, "spool_written_total", NULL));
	fc_spool_free(s);
}
END_TEST

START_TEST(full_drops_and_counts)
{
	struct fc_spool *s;
	uint8_t buf[1000];
	char key[16];
	unsigned kept = 0, i;
	uint64_t dropped = 0;

	ck_assert_int_eq(fc_spool_open(&s, dir, 65536, m), 0);
	for (i = 0; i < 200; i++) {
		struct fc_spool_rec r;

		make_rec(i, sizeof(buf), buf, key, &r);
		if (fc_spool_append(s, &r) == 0) {
			ck_assert_uint_eq(kept, i); /* nothing is kept after a drop */
			kept++;
		} else {
			dropped += r.n_msgs;
		}
	}
	ck_assert_uint_gt(kept, 50);
	ck_assert_uint_lt(kept, 66);
	ck_assert_uint_eq(fc_metrics_get(m, "spool_dropped_total", "reason=\"full\""), dropped);
	for (i = 0; i < kept; i++)
		fc_spool_done(s, expect(s, i, sizeof(buf)));
	fc_spool_free(s);
}
END_TEST

START_TEST(segments_rotate_and_go)
{
	struct fc_spool *s;

	/* 1 MiB spool: 64 KiB segments. */
	ck_assert_int_eq(fc_spool_open(&s, dir, 1u << 20, m), 0);
	append_n(s, 0, 500, 1000);
	fc_spool_tick(s);
	ck_assert_int_ge(count_segments(), 7);
	for (unsigned i = 0; i < 250; i++)
		fc_spool_done(s, expect(s, i, 1000));
	ck_assert_int_le(count_segments(), 5);
	fc_spool_free(s);
	ck_assert_int_eq(fc_spool_open(&s, dir, 1u << 20, m), 0);
	for (unsigned i = 250; i < 500; i++)
		fc_spool_done(s, expect(s, i, 1000));
	fc_spool_free(s);
	ck_assert_int_eq(count_segments(), 0);
}
END_TEST

START_TEST(damage_skipped_counted)
{
	struct fc_spool *s;
	char path[sizeof(dir) + 32];
	int fd;
	uint8_t b;
	struct fc_spool_rec r;

	ck_assert_int_eq(fc_spool_open(&s, dir, 1u << 30, m), 0);
	append_n(s, 0, 3, 100);
	fc_spool_free(s);
	/* Record 1 starts at 16 + 120 + 4 (key "key0"); flip a payload byte. */
	snprintf(path, sizeof(path), "%s/0000000000000001.seg", dir);
	fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &b, 1, 16 + 124 + 20 + 50), 1);
	b ^= 0x40;
	ck_assert_int_eq(pwrite(fd, &b, 1, 16 + 124 + 20 + 50), 1);
	close(fd);

	ck_assert_int_eq(fc_spool_open(&s, dir, 1u << 30, m), 0);
	fc_spool_done(s, expect(s, 0, 100));
	/* Records 1 and 2 are behind the damage in the same segment. */
	append_n(s, 3, 2, 100);
	fc_spool_done(s, expect(s, 3, 100));
	fc_spool_done(s, expect(s, 4, 100));
	ck_assert_int_eq(fc_spool_peek(s, &r), FC_EAGAIN);
	ck_assert_uint_eq(fc_metrics_get(m, "spool_corrupt_total", NULL), 1);
	fc_spool_free(s);
}
END_TEST

START_TEST(parse_record_refuses)
{
	uint8_t buf[64], key[4] = "k", pay[8] = "payload";
	struct fc_spool_rec r = {.kind = 0, .n_msgs = 1, .key = key, .key_len = 1, .payload = pay,
				 .len = 7};
	struct fc_cur c;
	size_t n = fc_spool_format_record(&r, buf);

	ck_assert_uint_eq(n, FC_SPOOL_REC_HDR + 8);
	fc_cur_init(&c, buf, n);
	ck_assert_int_eq(fc_spool_parse_record(&c, &r), 0);
	ck_assert_uint_eq(fc_cur_left(&c), 0);
	for (size_t cut = 0; cut < n; cut++) {
		fc_cur_init(&c, buf, cut);
		ck_assert_int_eq(fc_spool_parse_record(&c, &r), FC_ETRUNC);
		ck_assert_uint_eq(fc_cur_left(&c), cut); /* not advanced */
	}
	for (size_t i = 0; i < n; i++) {
		buf[i] ^= 0x01;
		fc_cur_init(&c, buf, n);
		ck_assert_int_ne(fc_spool_parse_record(&c, &r), 0);
		buf[i] ^= 0x01;
	}
}
END_TEST

static Suite *spool_suite(void)
{
	Suite *s = suite_create("spool");
	TCase *tc = tcase_create("spool");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, roundtrip_in_order);
	tcase_add_test(tc, restart_resolved_not_again);
	tcase_add_test(tc, untake_gives_back);
	tcase_add_test(tc, full_drops_and_counts);
	tcase_add_test(tc, segments_rotate_and_go);
	tcase_add_test(tc, damage_skipped_counted);
	suite_add_tcase(s, tc);
	tc = tcase_create("format");
	tcase_add_test(tc, parse_record_refuses);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fc_check_run(spool_suite());
}
