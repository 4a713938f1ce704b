/*
 * Kafka record → flows (see record.h). Framing: DESIGN §3 (varint length,
 * then the message), the same as goflow2's `bin` format and ClickHouse's
 * `Protobuf` format. Messages are unpacked by the project's generated
 * protobuf-c code (proto/flow.proto) into a bump arena that is reset per
 * frame: no malloc per message, and a frame whose unpacking needs more than
 * the arena fails (counted as "unpack") instead of growing the heap.
 */
#include "flowsink/record.h"

#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "fc/cursor.h"
#include "fc/err.h"
#include "flow.pb-c.h"

/* protobuf-c needs about 32 bytes of scratch per field on the wire plus the
 * unpacked values; 64 times the largest frame covers any FlowMessage. */
#define ARENA_SIZE (64u * FC_RECORD_MAX_FRAME)

struct fc_record_dec {
	ProtobufCAllocator alloc;
	size_t used;
	unsigned char *arena;
};

static const char *const bad_names[FC_RECORD_BAD_COUNT] = {
	"empty", "varint", "trunc", "toobig", "unpack", "address",
};

const char *fc_record_bad_name(enum fc_record_bad r)
{
	return (unsigned)r < FC_RECORD_BAD_COUNT ? bad_names[r] : "unknown";
}

static void *arena_alloc(void *data, size_t size)
{
	struct fc_record_dec *d = data;
	size_t at = (d->used + 15u) & ~(size_t)15u;

	if (at > ARENA_SIZE || size > ARENA_SIZE - at)
		return NULL;
	d->used = at + size;
	return d->arena + at;
}

static void arena_free(void *data, void *p)
{
	/* Everything goes at once when the arena is reset for the next frame. */
	(void)data;
	(void)p;
}

struct fc_record_dec *fc_record_dec_new(void)
{
	struct fc_record_dec *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->arena = malloc(ARENA_SIZE);
	if (!d->arena) {
		free(d);
		return NULL;
	}
	d->alloc.alloc = arena_alloc;
	d->alloc.free = arena_free;
	d->alloc.allocator_data = d;
	return d;
}

void fc_record_dec_free(struct fc_record_dec *d)
{
	if (!d)
		return;
	free(d->arena);
	free(d);
}

/* Base-128 varint, at most 10 bytes, read with the cursor. Returns false
 * (cursor error set, or a 10th byte with the continuation bit) when it does
 * not end. */
static bool read_varint(struct fc_cur *c, uint64_t *out)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < 10; i++) {
		uint8_t b = fc_cur_u8(c);

		if (c->err)
			return false;
		v |= (uint64_t)(b & 0x7fu) << (7u * i);
		if (!(b & 0x80u)) {
			*out = v;
			return true;
		}
	}
	return false;
}

/* proto3 bytes → address; 0 bytes is "absent". */
static bool set_addr(struct fc_addr *a, const ProtobufCBinaryData *b)
{
	memset(a, 0, sizeof(*a));
	if (b->len == 0)
		return true;
	if (b->len == 4) {
		fc_addr_set4(a, b->data);
		return true;
	}
	if (b->len == 16) {
		fc_addr_set6(a, b->data);
		return true;
	}
	return false;
}

/* Strings from the message are kept printable ASCII so a key or a log line
 * cannot carry control bytes; longer ones are cut. */
static void copy_text(char *out, size_t cap, const char *in)
{
	size_t i = 0;

	for (; in && in[i] && i + 1 < cap; i++) {
		unsigned char ch = (unsigned char)in[i];

		out[i] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
	}
	out[i] = '\0';
}

static bool convert(const Flowpb__FlowMessage *m, struct fc_sink_flow *f)
{
	if (!set_addr(&f->src, &m->src_addr) || !set_addr(&f->dst, &m->dst_addr) ||
	    !set_addr(&f->exporter, &m->sampler_address))
		return false;
	f->bytes = m->bytes_scaled ? m->bytes_scaled : m->bytes;
	f->packets = m->packets_scaled ? m->packets_scaled : m->packets;
	f->time_ns = m->time_flow_end_ns ? m->time_flow_end_ns : m->time_received_ns;
	f->proto = m->proto;
	f->src_port = m->src_port;
	f->dst_port = m->dst_port;
	f->src_as = m->src_as;
	f->dst_as = m->dst_as;
	copy_text(f->src_country, sizeof(f->src_country), m->src_country);
	copy_text(f->dst_country, sizeof(f->dst_country), m->dst_country);
	copy_text(f->exporter_name, sizeof(f->exporter_name), m->exporter_name);
	copy_text(f->src_as_name, sizeof(f->src_as_name), m->src_as_name);
	copy_text(f->dst_as_name, sizeof(f->dst_as_name), m->dst_as_name);
	return true;
}

int fc_record_decode(struct fc_record_dec *d, const uint8_t *p, size_t len,
		     uint64_t bad[FC_RECORD_BAD_COUNT], fc_record_emit_fn emit, void *arg)
{
	struct fc_cur c;

	if (len == 0) {
		bad[FC_RECORD_BAD_EMPTY]++;
		return 0;
	}
	fc_cur_init(&c, p, len);
	while (fc_cur_left(&c) > 0) {
		Flowpb__FlowMessage *m;
		struct fc_sink_flow f;
		const uint8_t *body;
		uint64_t flen;
		int rc;

		if (!read_varint(&c, &flen)) {
			bad[FC_RECORD_BAD_VARINT]++;
			return 0;
		}
		if (flen > FC_RECORD_MAX_FRAME) {
			bad[FC_RECORD_BAD_TOOBIG]++;
			return 0;
		}
		if (flen > fc_cur_left(&c)) {
			bad[FC_RECORD_BAD_TRUNC]++;
			return 0;
		}
		body = fc_cur_view(&c, (size_t)flen);
		if (!body) {
			bad[FC_RECORD_BAD_TRUNC]++;
			return 0;
		}
		d->used = 0;
		m = flowpb__flow_message__unpack(&d->alloc, (size_t)flen, body);
		if (!m) {
			bad[FC_RECORD_BAD_UNPACK]++;
			continue;
		}
		memset(&f, 0, sizeof(f));
		if (!convert(m, &f)) {
			bad[FC_RECORD_BAD_ADDR]++;
			continue;
		}
		rc = emit(arg, &f);
		if (rc)
			return rc;
	}
	return 0;
}
