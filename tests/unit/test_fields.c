/*
 * Unit tests for the information-element table's compiled record plans
 * (src/decode/fields.c: fc_ie_plan_compile, fc_ie_plan_run,
 * fc_ie_plan_run_var). The plan must do exactly what applying every field
 * in turn with fc_ie_apply does (RFC 3954 / RFC 7011 record layout, RFC
 * 7011 §7 variable-length fields): random templates over the table's
 * elements, at accepted, reduced and refused lengths, with random records
 * (zeros often, for the dual-stack address rule), decoded both ways and
 * compared byte for byte, truncated records included.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "decode/fields.h"
#include "fc/cursor.h"
#include "check_run.h"

#define MAXF 48

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
	/* xorshift64*: a fixed sequence, so a failure reproduces */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ull) >> 33) % n;
}

static struct fc_tmpl *tmpl_alloc(void)
{
	struct fc_tmpl *t = calloc(1, sizeof(struct fc_tmpl) +
				      MAXF * (sizeof(struct fc_tmpl_field) +
					      sizeof(struct fc_tmpl_step)));

	ck_assert_ptr_nonnull(t);
	return t;
}

static void resolve(struct fc_tmpl *t)
{
	for (uint16_t k = 0; k < t->nfields; k++)
		t->f[k].ie = fc_ie_lookup(t->f[k].pen, t->f[k].id);
	fc_ie_plan_compile(t);
}

static uint16_t pick_len(bool varlen_ok)
{
	static const uint16_t lens[] = {1, 2, 3, 4, 4, 4, 6, 8, 8, 16, 16, 0, 5, 7, 12, 32};
	uint32_t r = rnd(20);

	if (varlen_ok && r == 0)
		return FC_TMPL_VARLEN;
	return lens[rnd(sizeof(lens) / sizeof(lens[0]))];
}

static void random_template(struct fc_tmpl *t, bool varlen_ok)
{
	static const uint16_t rev_ids[] = {1, 2, 5, 6, 85, 86, 7};

	memset(t, 0, sizeof(*t));
	t->nfields = (uint16_t)(1 + rnd(MAXF));
	for (uint16_t k = 0; k < t->nfields; k++) {
		uint32_t kind = rnd(10);

		if (kind == 0) {
			t->f[k].pen = 29305;
			t->f[k].id = rev_ids[rnd(sizeof(rev_ids) / sizeof(rev_ids[0]))];
		} else if (kind == 1) {
			t->f[k].pen = 9; /* an enterprise element we do not know */
			t->f[k].id = (uint16_t)rnd(400);
		} else {
			t->f[k].pen = 0;
			t->f[k].id = (uint16_t)(kind == 2 ? rnd(512) : 1 + rnd(360));
		}
		t->f[k].len = pick_len(varlen_ok);
	}
}

static uint8_t rnd_byte(void)
{
	/* zeros often: the "unused address family" rule looks for them */
	return rnd(3) == 0 ? 0 : (uint8_t)rnd(256);
}

/* Writes one record for t into buf; returns its length. */
static size_t random_record(const struct fc_tmpl *t, uint8_t *buf, size_t cap)
{
	size_t n = 0;

	for (uint16_t k = 0; k < t->nfields; k++) {
		size_t len = t->f[k].len;

		if (len == FC_TMPL_VARLEN) {
			len = rnd(4) == 0 ? 0 : 1 + rnd(20);
			if (rnd(3) == 0) {
				buf[n++] = 255;
				buf[n++] = (uint8_t)(len >> 8);
				buf[n++] = (uint8_t)len;
			} else {
				buf[n++] = (uint8_t)len;
			}
		}
		ck_assert_uint_le(n + len, cap);
		for (size_t i = 0; i < len; i++)
			buf[n++] = rnd_byte();
	}
	return n;
}

/* _i: the seed of one batch of templates. */
START_TEST(plan_equals_field_by_field)
{
	struct fc_tmpl *t = tmpl_alloc();
	static uint8_t buf[MAXF * 64];
	static struct fc_nfx_rec a, b;
	unsigned compared = 0, truncated = 0, varlen = 0;

	rng_state = UINT64_C(0x9e3779b97f4a7c15) * (uint64_t)(_i + 1);
	for (unsigned n = 0; n < 4000; n++) {
		bool use_var = (n & 1) != 0;
		size_t len, cut;

		random_template(t, use_var);
		t->varlen = false;
		for (uint16_t k = 0; k < t->nfields; k++)
			if (t->f[k].len == FC_TMPL_VARLEN)
				t->varlen = true;
		resolve(t);
		len = random_record(t, buf, sizeof(buf));
		if (!t->plan) {
			/* only a template whose records are all empty */
			ck_assert_uint_eq(len, 0);
			continue;
		}
		if (!t->varlen)
			ck_assert_uint_eq(t->fixlen, len);
		for (int pass = 0; pass < 2; pass++) {
			struct fc_cur ca, cb;
			bool oka, okb;

			/* pass 1: the record cut short somewhere */
			cut = pass == 0 || len == 0 ? len : rnd((uint32_t)len);
			memset(&a, 0, sizeof(a));
			memset(&b, 0, sizeof(b));
			fc_cur_init(&ca, buf, cut);
			fc_cur_init(&cb, buf, cut);
			oka = fc_ie_fields_run(t, &a, &ca);
			okb = fc_ie_plan_record(t, &b, &cb);
			ck_assert_int_eq(oka, okb);
			if (!oka) {
				truncated++;
				continue;
			}
			ck_assert_uint_eq(fc_cur_left(&ca), fc_cur_left(&cb));
			ck_assert_msg(memcmp(&a, &b, sizeof(a)) == 0,
				      "plan and fields differ: batch %d, template %u", _i, n);
			compared++;
			varlen += t->varlen;
		}
	}
	ck_assert_uint_gt(compared, 3000);
	ck_assert_uint_gt(truncated, 500);
	ck_assert_uint_gt(varlen, 500);
	free(t);
}
END_TEST

/* The plan's static parts: offsets, what is left out, what is counted. */
START_TEST(plan_layout)
{
	struct fc_tmpl *t = tmpl_alloc();
	const struct fc_tmpl_step *st;

	/* octetDeltaCount/8, an unknown element/2, protocol/2 (refused: 1 only),
	 * sourceIPv4Address/4 */
	t->nfields = 4;
	t->f[0] = (struct fc_tmpl_field){.pen = 0, .id = 1, .len = 8};
	t->f[1] = (struct fc_tmpl_field){.pen = 0, .id = 3, .len = 2};
	t->f[2] = (struct fc_tmpl_field){.pen = 0, .id = 4, .len = 2};
	t->f[3] = (struct fc_tmpl_field){.pen = 0, .id = 8, .len = 4};
	resolve(t);
	ck_assert(t->plan);
	ck_assert_uint_eq(t->fixlen, 16);
	ck_assert_uint_eq(t->nsteps, 2);
	ck_assert_uint_eq(t->plan_bad, 1);
	ck_assert_uint_eq(t->plan_seen, FC_SEEN_BYTES);
	st = fc_tmpl_steps_const(t);
	ck_assert_uint_eq(st[0].off, 0);
	ck_assert_uint_eq(st[0].field, 0);
	ck_assert_uint_eq(st[1].off, 12);
	ck_assert_uint_eq(st[1].field, 3);

	/* a record no set can carry gets no plan */
	t->nfields = 2;
	t->f[0] = (struct fc_tmpl_field){.pen = 0, .id = 1, .len = 40000};
	t->f[1] = (struct fc_tmpl_field){.pen = 0, .id = 2, .len = 40000};
	resolve(t);
	ck_assert(!t->plan);
	ck_assert_uint_eq(t->nsteps, 0);

	/* nothing but zero-length fields: no plan (the store refuses it) */
	t->nfields = 1;
	t->f[0] = (struct fc_tmpl_field){.pen = 0, .id = 1, .len = 0};
	resolve(t);
	ck_assert(!t->plan);
	free(t);
}
END_TEST

static Suite *fields_suite(void)
{
	Suite *s = suite_create("fields");
	TCase *tc = tcase_create("plan");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, plan_equals_field_by_field, 0, 8);
	tcase_add_test(tc, plan_layout);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return fc_check_run(fields_suite());
}
