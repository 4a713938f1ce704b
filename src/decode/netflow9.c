/*
 * NetFlow v9 (RFC 3954): the 20-byte header and template / options-template
 * records; everything else is the shared walker (nfv9_ipfix.c).
 *
 *   header                               template flowset (id 0)
 *   0  version (9)   2  count            0  id 0       2  length
 *   4  sysUptime (ms)                    4  template id  6  field count
 *   8  unix_secs                         8  type, length (2+2) per field
 *  12  sequence (export packets)
 *  16  source id                         options template flowset (id 1)
 *                                        4  template id  6  scope length (bytes)
 *                                        8  option length (bytes)
 *                                       10  scope (type, length)..., then
 *                                           option (type, length)...
 *
 * Count is not trusted (softflowd leaves template records out of it).
 * Options scope types (§6.1): 1 System, 2 Interface, 3 Line Card, 4 Cache,
 * 5 Template. Interface scope is decoded as ingressInterface (IE 10), so an
 * interface-name options record finds its ifIndex; the others are skipped
 * by length.
 */
#include "decode/netflow9.h"

#include "decode/nfv9_ipfix.h"
#include "fc/cursor.h"
#include "fc/err.h"

#define V9_SCOPE_PEN 0xffffffffu /* private marker: a scope field, never looked up */

static int read_fields(struct fc_cur *c, struct fc_tmpl *t, size_t cap, uint16_t from,
		       uint16_t n, bool scope)
{
	for (uint16_t i = from; i < from + n; i++) {
		uint16_t type = fc_cur_be16(c), len = fc_cur_be16(c);

		if (i >= cap)
			continue; /* counted by fc_tmpl_add as over the field cap */
		if (len == FC_TMPL_VARLEN)
			return FC_EMALFORMED; /* v9 has no variable-length fields */
		t->f[i].id = type;
		t->f[i].len = len;
		t->f[i].pen = 0;
		if (scope) {
			if (type == 2)
				t->f[i].id = 10; /* Interface scope -> ifIndex */
			else
				t->f[i].pen = V9_SCOPE_PEN;
		}
	}
	return c->err ? FC_ETRUNC : 0;
}

static int nf9_read_template(struct fc_cur *c, bool options, struct fc_tmpl *t, size_t cap)
{
	uint16_t id, n, nscope = 0;
	int rc;

	if (fc_cur_left(c) < (options ? 6u : 4u))
		return FC_NFX_TR_END; /* padding */
	id = fc_cur_be16(c);
	if (id < 256)
		return FC_NFX_TR_END; /* zero padding (or junk we cannot use) */
	if (options) {
		uint16_t scope_len = fc_cur_be16(c), opt_len = fc_cur_be16(c);

		if (scope_len % 4 || opt_len % 4)
			return FC_EMALFORMED;
		nscope = scope_len / 4;
		n = (uint16_t)(nscope + opt_len / 4);
		if ((size_t)scope_len + opt_len > fc_cur_left(c))
			return FC_ETRUNC;
	} else {
		n = fc_cur_be16(c);
		if (n > fc_cur_left(c) / 4)
			return FC_ETRUNC;
	}
	t->id = id;
	t->nfields = n;
	t->nscope = nscope;
	rc = read_fields(c, t, cap, 0, nscope, true);
	if (rc == 0)
		rc = read_fields(c, t, cap, nscope, (uint16_t)(n - nscope), false);
	if (rc < 0)
		return rc;
	return n > cap ? FC_NFX_TR_TOO_MANY : FC_NFX_TR_TEMPLATE;
}

static const struct fc_nfx_proto nf9_proto = {
	.version = 9,
	.type = FC_FLOW_NF9,
	.tmpl_set_id = 0,
	.opt_set_id = 1,
	.read_template = nf9_read_template,
};

int fc_nf9_decode(struct fc_nfx_state *s, const struct fc_emit *out, const struct fc_dgram *g)
{
	struct fc_nfx_ctx x = {.s = s, .out = out};
	struct fc_nfx_msg m = {.p = &nf9_proto, .g = g};
	struct fc_cur c;
	uint32_t secs;

	fc_cur_init(&c, g->data, g->len);
	(void)fc_cur_be16(&c); /* version, checked by the sniffer */
	(void)fc_cur_be16(&c); /* count: not trusted */
	m.uptime_ms = fc_cur_be32(&c);
	secs = fc_cur_be32(&c);
	m.seq = fc_cur_be32(&c);
	m.domain = fc_cur_be32(&c);
	if (c.err)
		return FC_ETRUNC;
	m.export_ns = (uint64_t)secs * 1000000000ull;
	return fc_nfx_walk(&x, &m, &c);
}
