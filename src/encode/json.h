/*
 * JSON lines from any protobuf-c message of our schema, by reflection over
 * its descriptor, so `--output json`, flowcat and every message type print
 * the same way: field names as in the .proto, proto3 semantics (zero and
 * empty fields omitted), enums by name, 4- and 16-byte `bytes` fields as IP
 * address text, `*_mac` fields as "aa:bb:cc:dd:ee:ff", other bytes as hex,
 * 64-bit integers as JSON numbers.
 *
 * The goflow2 style (--json-style goflow2) prints a FlowMessage the way
 * goflow2 v2's JSON formatter does (producer/proto/render.go and
 * FormatMessageReflectCustom in messages.go, read at v2.2.6; written anew
 * here): every goflow2 field, zero or not, in goflow2's declaration order,
 * with its renderers: etype and proto by name ("IPv4", "TCP"), src_net and
 * dst_net as the address's prefix ("192.0.2.0/24"), addresses as text ("" when
 * absent), MACs as text, enums by name, repeated fields as arrays ("[]" when
 * empty). Our own fields (1000 and up) follow in the native style. Other
 * messages (CounterMessage) always print in the native style.
 *
 * Thread affinity: none (no state).
 */
#ifndef FC_JSON_H
#define FC_JSON_H

#include <stddef.h>
#include <stdio.h>

#include <protobuf-c/protobuf-c.h>

enum fc_json_style {
	FC_JSON_NATIVE = 0, /* proto names, zero fields omitted, numbers as numbers */
	FC_JSON_GOFLOW2,    /* goflow2 v2's JSON formatter, for FlowMessage */
};

/* "native" or "goflow2" (NULL: native). Returns 0 or FC_EINVAL;
 * *out is written only on success. */
int fc_json_style_parse(const char *name, enum fc_json_style *out);

/* Formats m as one JSON object followed by '\n' into buf. Returns the
 * length written (without a NUL), or 0 when cap is too small. */
size_t fc_json_format(const ProtobufCMessage *m, char *buf, size_t cap);

/* The same in the given style (see above). */
size_t fc_json_format_style(const ProtobufCMessage *m, enum fc_json_style style, char *buf,
			    size_t cap);

/* Writes one line to out. Returns 0 or FC_ESYS / FC_ELIMIT. */
int fc_json_write_msg(const ProtobufCMessage *m, enum fc_json_style style, FILE *out);

#endif
