/*
 * libFuzzer target: a v9/IPFIX template's compiled record plan
 * (src/decode/fields.c, fc_ie_plan_compile / fc_ie_plan_run /
 * fc_ie_plan_run_var) against applying every field in turn with
 * fc_ie_apply, on the same record bytes (RFC 3954 / RFC 7011 record
 * layout, RFC 7011 §7 variable-length fields). Any difference in the
 * decoded record, in the bytes consumed or in where a truncated record
 * stops aborts.
 *
 * Input: n (1 byte, 1..64 fields), then per field 5 bytes: enterprise
 * selector (0: IANA, 1: RFC 5103 reverse, other: an unknown PEN), element
 * id (16 bits), length (16 bits; 0xffff = variable, otherwise taken modulo
 * 41), then the record bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode/fields.h"
#include "fc/cursor.h"

#define MAXF 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static union {
		struct fc_tmpl t;
		uint8_t b[sizeof(struct fc_tmpl) +
			  MAXF * (sizeof(struct fc_tmpl_field) + sizeof(struct fc_tmpl_step))];
	} u;
	static struct fc_nfx_rec a, b;
	struct fc_tmpl *t = &u.t;
	struct fc_cur in, ca, cb;
	const uint8_t *rec;
	size_t left;
	bool oka, okb;

	fc_cur_init(&in, data, size);
	memset(&u, 0, sizeof(u));
	t->nfields = (uint16_t)(fc_cur_u8(&in) % MAXF + 1);
	for (uint16_t k = 0; k < t->nfields; k++) {
		uint8_t pen = fc_cur_u8(&in);
		uint16_t id = fc_cur_be16(&in), len = fc_cur_be16(&in);

		t->f[k].pen = pen == 0 ? 0 : pen == 1 ? FC_PEN_REVERSE : 9;
		t->f[k].id = id;
		t->f[k].len = len == FC_TMPL_VARLEN ? len : (uint16_t)(len % 41);
		if (t->f[k].len == FC_TMPL_VARLEN)
			t->varlen = true;
		t->f[k].ie = fc_ie_lookup(t->f[k].pen, t->f[k].id);
	}
	if (in.err)
		return 0;
	fc_ie_plan_compile(t);
	if (!t->plan)
		return 0;
	left = fc_cur_left(&in);
	rec = fc_cur_view(&in, left);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	fc_cur_init(&ca, rec, left);
	fc_cur_init(&cb, rec, left);
	oka = fc_ie_fields_run(t, &a, &ca);
	okb = fc_ie_plan_record(t, &b, &cb);
	if (oka != okb)
		abort();
	if (oka && (fc_cur_left(&ca) != fc_cur_left(&cb) || memcmp(&a, &b, sizeof(a)) != 0))
		abort();
	return 0;
}
