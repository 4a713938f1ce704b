/*
 * Bounded reader over untrusted bytes (see include/fc/cursor.h). With the
 * inline view functions of cursor.h, the only place in the project that
 * advances a pointer over wire data. Every check compares the request with
 * what remains, so no p + n is ever formed past the end of the buffer.
 */
#include "fc/cursor.h"

#include <string.h>

#include "fc/err.h"

static const uint8_t *take(struct fc_cur *c, size_t n)
{
	return fc_cur_view(c, n);
}

uint8_t fc_cur_u8(struct fc_cur *c)
{
	const uint8_t *p = take(c, 1);

	return p ? p[0] : 0;
}

uint16_t fc_cur_be16(struct fc_cur *c)
{
	const uint8_t *p = take(c, 2);

	return p ? (uint16_t)((unsigned)p[0] << 8 | p[1]) : 0;
}

uint32_t fc_cur_be24(struct fc_cur *c)
{
	const uint8_t *p = take(c, 3);

	return p ? (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2] : 0;
}

uint32_t fc_cur_be32(struct fc_cur *c)
{
	const uint8_t *p = take(c, 4);

	return p ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3] : 0;
}

uint64_t fc_cur_be64(struct fc_cur *c)
{
	return fc_cur_beN(c, 8);
}

uint64_t fc_cur_beN(struct fc_cur *c, size_t n)
{
	const uint8_t *p;
	uint64_t v = 0;

	if (n == 0 || n > 8) {
		if (c->err == 0)
			c->err = FC_EMALFORMED;
		return 0;
	}
	p = take(c, n);
	if (!p)
		return 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

void fc_cur_copy(struct fc_cur *c, void *out, size_t n)
{
	const uint8_t *p = take(c, n);

	if (p)
		memcpy(out, p, n);
	else if (n)
		memset(out, 0, n);
}

void fc_cur_skip(struct fc_cur *c, size_t n)
{
	(void)take(c, n);
}

bool fc_cur_sub(struct fc_cur *c, size_t n, struct fc_cur *out)
{
	const uint8_t *p = take(c, n);

	if (!p) {
		out->p = out->end = c->end;
		out->err = FC_ETRUNC;
		return false;
	}
	out->p = p;
	out->end = p + n; /* n <= remaining was checked by take() */
	out->err = 0;
	return true;
}
