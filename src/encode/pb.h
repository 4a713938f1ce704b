/*
 * struct fc_flow -> protobuf-c flowpb.FlowMessage, and the varint length
 * framing (base-128, as ClickHouse's Protobuf format and goflow2's bin
 * format read it).
 *
 * Ownership: fc_pb_flow_fill makes s->msg point into f and into s itself;
 * both must outlive every use of the message. Packing writes into a
 * caller-owned buffer; nothing here allocates.
 */
#ifndef FC_PB_H
#define FC_PB_H

#include <stddef.h>
#include <stdint.h>

#include "fc/flow.h"
#include "flow.pb-c.h"

struct fc_pb_flow {
	Flowpb__FlowMessage msg;
	ProtobufCBinaryData mpls_ip[FC_FLOW_MAX_MPLS];
	ProtobufCBinaryData srh[FC_FLOW_MAX_SRH];
	Flowpb__FlowMessage__LayerStack layers[FC_FLOW_MAX_LAYERS];
};

/* Largest framed message we produce. The fixed fields and the bounded
 * arrays of struct fc_flow take under 2 KiB, but the labels do not: a
 * networks-file line (up to 4 KiB of name, role, site and AS name) can
 * label both addresses and an exporter name can take 4 KiB more, ~14 KiB
 * in all; a smaller bound dropped every flow of such a network as an
 * encode error. */
#define FC_PB_MAX_FRAMED 32768

/* bytes_scaled / packets_scaled: v * rate, saturating (a lying exporter
 * must not wrap a sum to small); v itself when the rate is 1 or unknown. */
static inline uint64_t fc_pb_scaled(uint64_t v, uint64_t rate)
{
	uint64_t r;

	/* an overflow flag from the multiply, not a 64-bit division per flow */
	if (rate <= 1)
		return v;
	return __builtin_mul_overflow(v, rate, &r) ? UINT64_MAX : r;
}

void fc_pb_flow_fill(const struct fc_flow *f, struct fc_pb_flow *s);

/* Writes varint(len) + message into buf in one pass over the fields.
 * Returns the bytes written, or 0 when the message plus 10 bytes (the
 * longest length prefix) does not fit in cap; buf holds nothing useful
 * then. Never writes past cap. */
size_t fc_pb_frame(const ProtobufCMessage *m, uint8_t *buf, size_t cap);

/* Encodes v as a base-128 varint into out (room for 10 bytes). Returns
 * the length. */
size_t fc_pb_varint_encode(uint64_t v, uint8_t *out);

/* Decodes a varint from at most len bytes. Returns the bytes consumed, or
 * 0 when truncated or longer than 10 bytes. */
size_t fc_pb_varint_decode(const uint8_t *p, size_t len, uint64_t *out);

#endif
