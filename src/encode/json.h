/*
 * JSON lines from any protobuf-c message of our schema, by reflection over
 * its descriptor, so `--output json`, flowcat and every message type print
 * the same way: field names as in the .proto, proto3 semantics (zero and
 * empty fields omitted), enums by name, 4- and 16-byte `bytes` fields as IP
 * address text, `*_mac` fields as "aa:bb:cc:dd:ee:ff", other bytes as hex,
 * 64-bit integers as JSON numbers.
 *
 * Thread affinity: none (no state).
 */
#ifndef FC_JSON_H
#define FC_JSON_H

#include <stddef.h>
#include <stdio.h>

#include <protobuf-c/protobuf-c.h>

/* Formats m as one JSON object followed by '\n' into buf. Returns the
 * length written (without a NUL), or 0 when cap is too small. */
size_t fc_json_format(const ProtobufCMessage *m, char *buf, size_t cap);

/* Writes one line to out. Returns 0 or FC_ESYS / FC_ELIMIT. */
int fc_json_write_msg(const ProtobufCMessage *m, FILE *out);

#endif
