/*
 * Bounded big-endian writer (see wbuf.h). The fit test compares the
 * request with what remains (n > cap - len), never computes len + n.
 */
#include "wbuf.h"

#include <string.h>

static uint8_t *reserve(struct fg_wbuf *w, size_t n)
{
	uint8_t *p;

	if (w->err || n > w->cap - w->len) {
		w->err = true;
		return NULL;
	}
	p = w->buf + w->len;
	w->len += n;
	return p;
}

void fg_w_u8(struct fg_wbuf *w, uint8_t v)
{
	fg_w_beN(w, v, 1);
}

void fg_w_be16(struct fg_wbuf *w, uint16_t v)
{
	fg_w_beN(w, v, 2);
}

void fg_w_be24(struct fg_wbuf *w, uint32_t v)
{
	fg_w_beN(w, v, 3);
}

void fg_w_be32(struct fg_wbuf *w, uint32_t v)
{
	fg_w_beN(w, v, 4);
}

void fg_w_be64(struct fg_wbuf *w, uint64_t v)
{
	fg_w_beN(w, v, 8);
}

void fg_w_beN(struct fg_wbuf *w, uint64_t v, size_t n)
{
	uint8_t *p;

	if (n < 1 || n > 8) {
		w->err = true;
		return;
	}
	p = reserve(w, n);
	if (!p)
		return;
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

void fg_w_bytes(struct fg_wbuf *w, const void *src, size_t n)
{
	uint8_t *p = reserve(w, n);

	if (p && n)
		memcpy(p, src, n);
}

void fg_w_zero(struct fg_wbuf *w, size_t n)
{
	uint8_t *p = reserve(w, n);

	if (p && n)
		memset(p, 0, n);
}

void fg_w_pad(struct fg_wbuf *w, size_t align)
{
	fg_w_zero(w, (align - (w->len & (align - 1))) & (align - 1));
}

void fg_w_patch16(struct fg_wbuf *w, size_t off, uint16_t v)
{
	if (w->err || off > w->len || 2 > w->len - off) {
		w->err = true;
		return;
	}
	w->buf[off] = (uint8_t)(v >> 8);
	w->buf[off + 1] = (uint8_t)v;
}

void fg_w_patch32(struct fg_wbuf *w, size_t off, uint32_t v)
{
	if (w->err || off > w->len || 4 > w->len - off) {
		w->err = true;
		return;
	}
	for (int i = 0; i < 4; i++)
		w->buf[off + (size_t)i] = (uint8_t)(v >> (24 - 8 * i));
}

uint16_t fg_inet_csum(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (i < n)
		sum += (uint32_t)p[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}
