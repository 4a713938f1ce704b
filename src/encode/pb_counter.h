/*
 * struct fc_counter (include/fc/counter.h) -> protobuf-c
 * flowpb.CounterMessage (proto/counter.proto). Framing and packing use the
 * same helpers as flows (fc_pb_frame in encode/pb.h):
 *
 *   struct fc_pb_counter s;
 *   fc_pb_counter_fill(c, &s);
 *   n = fc_pb_frame(&s.msg.base, buf, cap);
 *
 * Ownership: the scratch is caller-owned (stack or reused); after
 * fc_pb_counter_fill, s->msg points into s itself and into c (port name,
 * hostname), so both must outlive every use of the message. Nothing here
 * allocates. Thread affinity: none (no shared state).
 */
#ifndef FC_PB_COUNTER_H
#define FC_PB_COUNTER_H

#include <stddef.h>
#include <stdint.h>

#include "counter.pb-c.h"
#include "fc/counter.h"

struct fc_pb_counter {
	Flowpb__CounterMessage msg; /* first member: &s is a ProtobufCMessage too */
	uint8_t agent[16];
	uint32_t formats[FC_COUNTER_MAX_FORMATS];
};

/* Fills s->msg from c. Fields of records the sample did not carry stay at
 * their proto3 default (zero, empty string). */
void fc_pb_counter_fill(const struct fc_counter *c, struct fc_pb_counter *s);

/* Writes varint(len) + CounterMessage for c into buf: the bytes
 * fc_pb_counter_fill + fc_pb_frame produce, in one pass without the
 * message. Returns the bytes written, or 0 when the message plus 10 bytes
 * does not fit in cap (as fc_pb_frame). Never writes past cap; reads c
 * only. */
size_t fc_pb_counter_frame(const struct fc_counter *c, uint8_t *buf, size_t cap);

#endif
