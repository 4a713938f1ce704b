/*
 * The Kafka record decoder of flowsink: one record value holds one or more
 * FlowMessages (proto/flow.proto), each preceded by its length as a
 * base-128 varint (DESIGN §3, the collector's framing). Each good message
 * becomes a struct fc_sink_flow, the compact part of a flow the sinks use; a
 * bad frame is counted by reason and skipped (a bad length ends the record,
 * since nothing after it can be found again). Never a crash: every byte is
 * read through the bounded cursor (include/fc/cursor.h) and protobuf-c
 * unpacks from a fixed arena, so a hostile record cannot grow memory.
 *
 * Thread affinity: a struct fc_record_dec is used by one thread at a time.
 */
#ifndef FC_FLOWSINK_RECORD_H
#define FC_FLOWSINK_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "fc/flow.h"

/* Frame length cap: a FlowMessage the collector writes is a few hundred
 * bytes; anything above this is not one of ours. */
#define FC_RECORD_MAX_FRAME (64u * 1024u)
#define FC_SINK_FLOW_NAME_MAX 64 /* exporter and AS names, truncated beyond */

/* What the sinks need of a flow, copied out of the message. */
struct fc_sink_flow {
	struct fc_addr src, dst;
	struct fc_addr exporter;
	uint64_t bytes;   /* bytes_scaled when set (sampling renormalized), else bytes */
	uint64_t packets; /* likewise */
	uint64_t time_ns; /* flow end, else time received (Unix ns) */
	uint32_t proto, src_port, dst_port, src_as, dst_as;
	char src_country[4], dst_country[4]; /* ISO 3166 alpha-2, "" if none */
	char exporter_name[FC_SINK_FLOW_NAME_MAX];
	char src_as_name[FC_SINK_FLOW_NAME_MAX], dst_as_name[FC_SINK_FLOW_NAME_MAX];
};

enum fc_record_bad {
	FC_RECORD_BAD_EMPTY = 0, /* a record with no bytes */
	FC_RECORD_BAD_VARINT,    /* length prefix unterminated within 10 bytes / the record */
	FC_RECORD_BAD_TRUNC,     /* length runs past the record */
	FC_RECORD_BAD_TOOBIG,    /* length above FC_RECORD_MAX_FRAME */
	FC_RECORD_BAD_UNPACK,    /* protobuf-c refused the bytes */
	FC_RECORD_BAD_ADDR,      /* an address that is neither 0, 4 nor 16 bytes */
	FC_RECORD_BAD_COUNT
};

/* Name of a reason, usable as a metric label ("varint", "trunc", ...). */
const char *fc_record_bad_name(enum fc_record_bad r);

struct fc_record_dec;

/* Returns a decoder (owns its unpack arena), NULL when out of memory. */
struct fc_record_dec *fc_record_dec_new(void);
void fc_record_dec_free(struct fc_record_dec *d);

/* Called for every good flow; the flow is valid for the call only.
 * A non-zero return stops the walk (and is returned by decode). */
typedef int (*fc_record_emit_fn)(void *arg, const struct fc_sink_flow *f);

/* Walks the frames of one record value (p may be NULL when len is 0),
 * calling emit for each good message, and adds one to bad[reason] for each
 * bad frame. Returns 0, or the first non-zero value emit returned. */
int fc_record_decode(struct fc_record_dec *d, const uint8_t *p, size_t len,
		     uint64_t bad[FC_RECORD_BAD_COUNT], fc_record_emit_fn emit, void *arg);

#endif
