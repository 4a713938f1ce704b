/*
 * flowgen's bounded big-endian writer: the output-side twin of the project's
 * read cursor (include/fc/cursor.h). Every byte flowgen puts on the wire goes
 * through these functions. The buffer is caller-owned; a write that does not
 * fit sets a sticky error and writes nothing, so a builder checks err once at
 * the end of a datagram instead of after every field.
 *
 * Length fields that are only known after their body (NetFlow v9 flowset,
 * IPFIX set and message, sFlow sample and record lengths) are written as 0
 * first, remembered by offset with fg_w_mark, and patched with fg_w_patch16
 * / fg_w_patch32 once the body is complete.
 */
#ifndef FG_WBUF_H
#define FG_WBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fg_wbuf {
	uint8_t *buf;
	size_t len; /* bytes written */
	size_t cap;
	bool err;   /* sticky: a write did not fit */
};

static inline void fg_w_init(struct fg_wbuf *w, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->len = 0;
	w->cap = cap;
	w->err = false;
}

static inline size_t fg_w_left(const struct fg_wbuf *w)
{
	return w->cap - w->len;
}

/* Offset of the next byte, for fg_w_patch*. */
static inline size_t fg_w_mark(const struct fg_wbuf *w)
{
	return w->len;
}

void fg_w_u8(struct fg_wbuf *w, uint8_t v);
void fg_w_be16(struct fg_wbuf *w, uint16_t v);
void fg_w_be24(struct fg_wbuf *w, uint32_t v);
void fg_w_be32(struct fg_wbuf *w, uint32_t v);
void fg_w_be64(struct fg_wbuf *w, uint64_t v);
/* Low n bytes of v, big-endian (1 <= n <= 8): RFC 7011 reduced-size. */
void fg_w_beN(struct fg_wbuf *w, uint64_t v, size_t n);
void fg_w_bytes(struct fg_wbuf *w, const void *p, size_t n);
void fg_w_zero(struct fg_wbuf *w, size_t n);
/* Zero bytes until len is a multiple of align (a power of two). */
void fg_w_pad(struct fg_wbuf *w, size_t align);
/* Overwrite an already written field at offset off. */
void fg_w_patch16(struct fg_wbuf *w, size_t off, uint16_t v);
void fg_w_patch32(struct fg_wbuf *w, size_t off, uint32_t v);

/* Internet checksum (RFC 1071) over n bytes. */
uint16_t fg_inet_csum(const uint8_t *p, size_t n);

#endif
