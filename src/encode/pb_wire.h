/*
 * Protocol Buffers wire-format writers shared by the schema-specific
 * encoders (pb_flow.c, pb_counter.c): varints, tags, proto3 scalar fields
 * that are left out when zero, length-delimited and packed fields, as in
 * the Protocol Buffers encoding guide and as protobuf-c 1.4 packs them.
 * Private to src/encode. The writers do not check bounds: each caller
 * first proves its message's worst case fits the buffer.
 */
#ifndef FC_PB_WIRE_H
#define FC_PB_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fc/flow.h"

enum {
	WT_VARINT = 0,
	WT_FIXED32 = 5,
	WT_LEN = 2,
	FC_PB_MAX_VARINT = 10,
};

#define TAG(num, wt) ((uint32_t)(num) << 3 | (wt))

static inline uint8_t *put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

static inline size_t varint_len(uint64_t v)
{
	/* 1 + floor(bits / 7) with bits the position of the top set bit */
	return 1 + (size_t)(63 - __builtin_clzll(v | 1)) / 7;
}

static inline uint8_t *put_u64(uint8_t *p, uint32_t tag, uint64_t v)
{
	if (v) {
		p = put_varint(p, tag);
		p = put_varint(p, v);
	}
	return p;
}

/* proto3 enums are int32 on the wire: a value above INT32_MAX is negative
 * and sign-extended to ten bytes, as protobuf-c's int32_pack does. */
static inline uint8_t *put_enum(uint8_t *p, uint32_t tag, uint32_t v)
{
	if (v) {
		p = put_varint(p, tag);
		p = put_varint(p, (uint64_t)(int64_t)(int32_t)v);
	}
	return p;
}

static inline uint8_t *put_raw(uint8_t *p, uint32_t tag, const void *d, size_t len)
{
	p = put_varint(p, tag);
	p = put_varint(p, len);
	memcpy(p, d, len);
	return p + len;
}

static inline uint8_t *put_addr(uint8_t *p, uint32_t tag, const struct fc_addr *a)
{
	size_t len = fc_addr_len(a);

	return len ? put_raw(p, tag, a->a, len) : p;
}

/* A repeated bytes field is not packed: one tag per element, and an absent
 * address is still an (empty) element. */
static inline uint8_t *put_addrs(uint8_t *p, uint32_t tag, const struct fc_addr *a, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		p = put_raw(p, tag, a[i].a, fc_addr_len(&a[i]));
	return p;
}

static inline uint8_t *put_packed_u32(uint8_t *p, uint32_t tag, const uint32_t *v, uint32_t n)
{
	size_t len = 0;

	if (!n)
		return p;
	for (uint32_t i = 0; i < n; i++)
		len += varint_len(v[i]);
	p = put_varint(p, tag);
	p = put_varint(p, len);
	for (uint32_t i = 0; i < n; i++)
		p = put_varint(p, v[i]);
	return p;
}

static inline uint8_t *put_packed_u8(uint8_t *p, uint32_t tag, const uint8_t *v, uint32_t n)
{
	size_t len = 0;

	if (!n)
		return p;
	for (uint32_t i = 0; i < n; i++)
		len += v[i] < 0x80 ? 1u : 2u;
	p = put_varint(p, tag);
	p = put_varint(p, len);
	for (uint32_t i = 0; i < n; i++)
		p = put_varint(p, v[i]);
	return p;
}

/* proto3 float: fixed32, little-endian, left out when == 0 (so -0.0 too),
 * as protobuf-c's field_is_zeroish compares it. */
static inline uint8_t *put_float(uint8_t *p, uint32_t tag, float v)
{
	uint32_t b;

	if (v == 0.0f)
		return p;
	memcpy(&b, &v, sizeof(b));
	p = put_varint(p, tag);
	p[0] = (uint8_t)b;
	p[1] = (uint8_t)(b >> 8);
	p[2] = (uint8_t)(b >> 16);
	p[3] = (uint8_t)(b >> 24);
	return p + 4;
}

/* varint length prefix + body written at buf + 2: slides the body when
 * the prefix needs 1 or 3 bytes instead. The caller guaranteed room for
 * 3 + len bytes. Returns the framed length. */
static inline size_t fc_pb_wire_frame(uint8_t *buf, size_t len)
{
	size_t hl = varint_len(len);

	if (hl != 2)
		memmove(buf + hl, buf + 2, len);
	put_varint(buf, len);
	return hl + len;
}

#endif
