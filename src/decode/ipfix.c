/*
 * IPFIX (RFC 7011): the 16-byte message header, template and options
 * template records (§3.4.1, §3.4.2) with enterprise-specific fields
 * (§3.2), withdrawals (§8.1) and variable-length encoding (§7); the rest
 * is the shared walker (nfv9_ipfix.c).
 *
 *   message header                  field specifier
 *   0  version (10)  2  length      0  E bit + IE id   2  field length
 *   4  export time (s)              4  enterprise number (only if E set)
 *   8  sequence (data records)
 *  12  observation domain id        template record: id, field count;
 *                                   options: id, field count, scope count
 *
 * A template record with field count 0 withdraws its template; one with
 * the set's own id (2 or 3) withdraws every template of that kind.
 */
#include "decode/ipfix.h"

#include "decode/nfv9_ipfix.h"
#include "fc/err.h"

static int ipfix_read_template(struct fc_cur *c, bool options, struct fc_tmpl *t, size_t cap)
{
	uint16_t id, n, nscope = 0;

	if (fc_cur_left(c) < 4)
		return FC_NFX_TR_END; /* padding */
	id = fc_cur_be16(c);
	n = fc_cur_be16(c);
	t->id = id;
	if (n == 0) {
		if (id == (options ? 3 : 2))
			return FC_NFX_TR_WITHDRAW_ALL;
		if (id >= 256)
			return FC_NFX_TR_WITHDRAW;
		return FC_NFX_TR_END; /* zero padding */
	}
	if (id < 256)
		return FC_EMALFORMED;
	if (options) {
		nscope = fc_cur_be16(c);
		/* §3.4.2.2: scope field count MUST NOT be zero */
		if (c->err || nscope == 0 || nscope > n)
			return FC_EMALFORMED;
	}
	if (n > fc_cur_left(c) / 4)
		return FC_ETRUNC;
	t->nfields = n;
	t->nscope = nscope;
	for (uint16_t i = 0; i < n; i++) {
		uint16_t raw = fc_cur_be16(c), len = fc_cur_be16(c);
		uint32_t pen = 0;

		if (raw & 0x8000)
			pen = fc_cur_be32(c);
		if (i >= cap)
			continue; /* fc_tmpl_add counts the field cap */
		t->f[i].id = raw & 0x7fff;
		t->f[i].len = len;
		t->f[i].pen = pen;
	}
	if (c->err)
		return FC_ETRUNC;
	return n > cap ? FC_NFX_TR_TOO_MANY : FC_NFX_TR_TEMPLATE;
}

static const struct fc_nfx_proto ipfix_proto = {
	.version = 10,
	.type = FC_FLOW_IPFIX,
	.tmpl_set_id = 2,
	.opt_set_id = 3,
	.read_template = ipfix_read_template,
};

int fc_ipfix_decode(struct fc_nfx_state *s, const struct fc_emit *out, const struct fc_dgram *g)
{
	struct fc_nfx_ctx x = {.s = s, .out = out};
	struct fc_cur c;
	int rc = 0;
	bool first = true;

	fc_cur_init(&c, g->data, g->len);
	/* One message per datagram on UDP; files recorded with nc hold several
	 * back to back, each bounded by its Length. */
	while (fc_cur_left(&c) >= FC_IPFIX_HEADER_LEN) {
		struct fc_nfx_msg m = {.p = &ipfix_proto, .g = g};
		struct fc_cur body;
		uint16_t version = fc_cur_be16(&c), len = fc_cur_be16(&c);
		uint32_t secs = fc_cur_be32(&c);
		int r;

		m.seq = fc_cur_be32(&c);
		m.domain = fc_cur_be32(&c);
		if (version != 10) {
			if (first)
				rc = FC_EVERSION;
			break; /* trailing bytes that are not a message */
		}
		if (len < FC_IPFIX_HEADER_LEN) {
			rc = rc ? rc : FC_EMALFORMED;
			break;
		}
		if ((size_t)len - FC_IPFIX_HEADER_LEN > fc_cur_left(&c)) {
			/* Length claims more than arrived: decode what did */
			rc = rc ? rc : FC_ETRUNC;
			len = (uint16_t)(fc_cur_left(&c) + FC_IPFIX_HEADER_LEN);
		}
		fc_cur_sub(&c, (size_t)len - FC_IPFIX_HEADER_LEN, &body);
		m.export_ns = (uint64_t)secs * 1000000000ull;
		r = fc_nfx_walk(&x, &m, &body);
		if (r < 0 && rc == 0)
			rc = r;
		first = false;
	}
	if (first && rc == 0)
		rc = FC_ETRUNC;
	return rc;
}
