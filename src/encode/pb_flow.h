/*
 * Schema-specific encoder: struct fc_flow -> varint length + FlowMessage
 * bytes (proto/flow.proto), written straight into a caller-owned buffer.
 *
 * It produces exactly the bytes that fc_pb_flow_fill + fc_pb_frame
 * (protobuf-c's generic packer, encode/pb.h) produce for the same flow:
 * fields in ascending number order, proto3 defaults (zero scalars, empty
 * strings and bytes, empty repeated fields) left out, repeated scalars
 * packed, repeated bytes one element per field, enums as sign-extended
 * int32. protobuf-c stays the reference: tests/unit/test_pb_flow.c and
 * tests/fuzz/fuzz_pb_flow.c compare the two byte for byte.
 *
 * Ownership: reads f, writes only buf[0..cap); nothing is allocated or
 * kept. Thread affinity: none (no shared state).
 */
#ifndef FC_PB_FLOW_H
#define FC_PB_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include "fc/flow.h"

/* Writes varint(len) + FlowMessage for f into buf. Returns the bytes
 * written, or 0 when the message plus 10 bytes (the longest length prefix)
 * does not fit in cap, as fc_pb_frame does; buf holds nothing useful then.
 * Never writes past cap. */
size_t fc_pb_flow_frame(const struct fc_flow *f, uint8_t *buf, size_t cap);

#endif
