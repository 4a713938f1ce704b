/*
 * Bounded reader over untrusted bytes. Every byte a decoder reads from the
 * wire goes through these functions; nothing else does pointer arithmetic on
 * packet data.
 *
 * The error is sticky: a read past the end returns 0, sets err, and every later
 * read returns 0 too. Check err once after a fixed header, and always before
 * using a value read from the wire as a length, a count or a loop bound.
 * Bounds are checked by comparing with what remains (n > end - p), never by
 * computing p + n, which can overflow. Every reader is inline: one
 * decoder call per field must not cost a function call per field.
 *
 * A cursor never owns its bytes; it is a view valid as long as the buffer.
 */
#ifndef FC_CURSOR_H
#define FC_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fc/err.h"

struct fc_cur {
	const uint8_t *p;
	const uint8_t *end;
	int err; /* 0, FC_ETRUNC (read past the end) or FC_EMALFORMED (a
		    fc_cur_beN width outside 1..8); sticky */
};

/* An empty buffer may come as (NULL, 0); NULL + 0 is undefined in C, so an
 * empty cursor points at a byte of its own instead. */
static const uint8_t fc_cur_empty_buf[1];

static inline void fc_cur_init(struct fc_cur *c, const void *buf, size_t len)
{
	c->p = buf ? (const uint8_t *)buf : fc_cur_empty_buf;
	c->end = buf ? c->p + len : c->p;
	c->err = 0;
}

static inline size_t fc_cur_left(const struct fc_cur *c)
{
	return (size_t)(c->end - c->p);
}

/* True when at least n bytes remain (and no error is pending). */
static inline bool fc_cur_has(const struct fc_cur *c, size_t n)
{
	return c->err == 0 && n <= (size_t)(c->end - c->p);
}

/* Returns a pointer to the next n bytes and advances, or NULL (and err set).
 * The pointer is a view into the caller's buffer: valid as long as it is.
 * Inline: the record decoders call it once per field or record. */
static inline const uint8_t *fc_cur_view(struct fc_cur *c, size_t n)
{
	const uint8_t *p;

	if (c->err != 0)
		return NULL;
	if (n > (size_t)(c->end - c->p)) {
		c->err = FC_ETRUNC;
		c->p = c->end;
		return NULL;
	}
	p = c->p;
	c->p += n;
	return p;
}

/* Fixed-width big-endian readers: 0 on a short read (err set). Inline,
 * as the per-field readers of every decoder (in sFlow they were 10 % of a
 * sample's time as calls). */
static inline uint8_t fc_cur_u8(struct fc_cur *c)
{
	const uint8_t *p = fc_cur_view(c, 1);

	return p ? p[0] : 0;
}

static inline uint16_t fc_cur_be16(struct fc_cur *c)
{
	const uint8_t *p = fc_cur_view(c, 2);

	return p ? (uint16_t)((unsigned)p[0] << 8 | p[1]) : 0;
}

static inline uint32_t fc_cur_be24(struct fc_cur *c)
{
	const uint8_t *p = fc_cur_view(c, 3);

	return p ? (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2] : 0;
}

static inline uint32_t fc_cur_be32(struct fc_cur *c)
{
	const uint8_t *p = fc_cur_view(c, 4);

	return p ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3] : 0;
}

/* Big-endian unsigned integer of n bytes, 1 <= n <= 8 (RFC 7011 §6.2
 * reduced-size encoding). n outside that range sets FC_EMALFORMED. */
static inline uint64_t fc_cur_beN(struct fc_cur *c, size_t n)
{
	const uint8_t *p;
	uint64_t v = 0;

	if (n == 0 || n > 8) {
		if (c->err == 0)
			c->err = FC_EMALFORMED;
		return 0;
	}
	p = fc_cur_view(c, n);
	if (!p)
		return 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static inline uint64_t fc_cur_be64(struct fc_cur *c)
{
	return fc_cur_beN(c, 8);
}

/* Copies n bytes into out; on a short read out is zero-filled. */
static inline void fc_cur_copy(struct fc_cur *c, void *out, size_t n)
{
	const uint8_t *p = fc_cur_view(c, n);

	if (p)
		memcpy(out, p, n);
	else if (n)
		memset(out, 0, n);
}

/* Advances n bytes. */
static inline void fc_cur_skip(struct fc_cur *c, size_t n)
{
	(void)fc_cur_view(c, n);
}

/* A record of fixed size taken from a cursor with one bounds check; its
 * fields are then read at offsets its reader proved, once, to lie inside
 * it (a template-compiled plan: every offset + length <= the record size). */
struct fc_view {
	const uint8_t *p;
	size_t n;
};

/* Takes the next n bytes as *out and advances; false (err set, *out empty)
 * on a short read. */
static inline bool fc_cur_take(struct fc_cur *c, size_t n, struct fc_view *out)
{
	out->p = fc_cur_view(c, n);
	out->n = out->p ? n : 0;
	return out->p != NULL;
}

/* The len bytes at off in v. off + len <= v->n is the caller's invariant,
 * proven once for all records (a compiled template plan) and not checked
 * here: that is the point of a view. */
static inline const uint8_t *fc_view_at(const struct fc_view *v, size_t off, size_t len)
{
	(void)len;
	return v->p + off;
}

/* Splits off a child reader over the next n bytes and advances past them.
 * On a short read the child is empty, err is set on the parent, and false
 * is returned. */
static inline bool fc_cur_sub(struct fc_cur *c, size_t n, struct fc_cur *out)
{
	const uint8_t *p = fc_cur_view(c, n);

	if (!p) {
		out->p = out->end = c->end;
		out->err = FC_ETRUNC;
		return false;
	}
	out->p = p;
	out->end = p + n; /* n <= remaining was checked by fc_cur_view() */
	out->err = 0;
	return true;
}

#endif
