/*
 * Disk spool for the Kafka output: records that librdkafka's memory buffer
 * cannot take (queue full during a broker outage), records whose delivery
 * failed, and records still undelivered when the collector stops, kept on
 * disk and handed back to Kafka, oldest first, when there is room again;
 * also after a restart. See spool.c for the file formats and the rules
 * that keep every record delivered once across a clean restart.
 *
 * Ownership: fc_spool_open returns a spool owned by the caller, freed with
 * fc_spool_free (which persists the read position). Records passed to
 * fc_spool_append are copied. A record from fc_spool_peek points into the
 * spool's read buffer and is valid until the next peek, take or free.
 *
 * Thread affinity: one thread at a time (the Kafka output calls it under
 * its mutex, including from delivery reports).
 */
#ifndef FC_OUTPUT_SPOOL_H
#define FC_OUTPUT_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fc/cursor.h"

struct fc_metrics;
struct fc_spool;

#define FC_SPOOL_SEG_HDR 16             /* segment header bytes */
#define FC_SPOOL_REC_HDR 20             /* record header bytes */
#define FC_SPOOL_KEY_MAX 255u           /* partition key bytes */
#define FC_SPOOL_PAYLOAD_MAX (1u << 20) /* one Kafka record's value */
#define FC_SPOOL_WINDOW 16384u          /* records replayed and not yet resolved */
#define FC_SPOOL_STATE_MAX (8 + 8 + 8 + 4 + 16 * FC_SPOOL_WINDOW + 4)

/* One Kafka record as the spool keeps it. */
struct fc_spool_rec {
	uint8_t kind;    /* enum fc_msg_kind: which topic */
	uint32_t n_msgs; /* length-delimited messages in payload (>= 1) */
	const uint8_t *key;
	size_t key_len; /* <= FC_SPOOL_KEY_MAX, 0 = no key */
	const uint8_t *payload;
	size_t len; /* 1 .. FC_SPOOL_PAYLOAD_MAX */
};

/* A place in the spool: segment number and byte offset in its file. */
struct fc_spool_pos {
	uint64_t seg;
	uint64_t off;
};

/* --- Parsers of disk bytes (pure, bounded, fuzzed by tests/fuzz/fuzz_spool.c) --- */

/* Segment header. Returns 0 (out_seq set) or FC_ETRUNC / FC_EMALFORMED. */
int fc_spool_parse_seg_header(struct fc_cur *c, uint64_t *out_seq);

/* One record at the cursor. Returns 0 and advances c past it (out points
 * into c's buffer), FC_ETRUNC when the bytes end inside the record (c not
 * advanced), or FC_EMALFORMED (bad marker, lengths or checksum; c not
 * advanced). */
int fc_spool_parse_record(struct fc_cur *c, struct fc_spool_rec *out);

/* Writes a record (header, key, payload) into out, which has room for
 * FC_SPOOL_REC_HDR + key_len + len bytes. Returns the bytes written. */
size_t fc_spool_format_record(const struct fc_spool_rec *r, uint8_t *out);

/* The state file: the read position and the records after it already
 * resolved (delivered). Returns 0 with out_* set, or FC_ETRUNC /
 * FC_EMALFORMED. out_skip has room for skip_cap entries. */
int fc_spool_parse_state(const uint8_t *buf, size_t len, struct fc_spool_pos *out_pos,
			 struct fc_spool_pos *out_skip, size_t skip_cap, size_t *out_n_skip);

/* --- The spool --- */

/* Opens (creating it if needed) the spool directory dir, holding at most
 * max_bytes of segment files. Removes segments already read, reads the
 * state file and prepares to replay what is left. Counters go to m.
 * Returns 0 and *out, or FC_ESYS / FC_ENOMEM / FC_EINVAL (logged). */
int fc_spool_open(struct fc_spool **out, const char *dir, uint64_t max_bytes,
		  struct fc_metrics *m);

/* Writes buffered records, persists the read position (records handed out
 * and not marked done stay in the spool for the next open), and frees.
 * Accepts NULL. */
void fc_spool_free(struct fc_spool *s);

/* True while records wait to be read back: new records must then go
 * behind them (fc_spool_append) to keep their order. */
bool fc_spool_pending(const struct fc_spool *s);

/* Bytes of records waiting to be read back (an estimate for logs). */
uint64_t fc_spool_pending_bytes(const struct fc_spool *s);

/* Appends a copy of r. Returns 0, or FC_ELIMIT (spool full, or the record
 * is larger than the spool accepts) / FC_ESYS (write error): then the
 * record was not kept, which is counted (spool_dropped_total{reason}) and
 * logged (rate-limited). A write error found when buffered records are
 * written later is counted the same way. */
int fc_spool_append(struct fc_spool *s, const struct fc_spool_rec *r);

/* The oldest record not yet handed out, without handing it out. Returns 0
 * (out set), or FC_EAGAIN when there is none or FC_SPOOL_WINDOW records are
 * out and unresolved. Damaged bytes are skipped, counted and logged. */
int fc_spool_peek(struct fc_spool *s, struct fc_spool_rec *out);

/* Hands out the record the last successful peek returned. The returned
 * ticket identifies it until fc_spool_done; use it as the Kafka message's
 * opaque. */
void *fc_spool_take(struct fc_spool *s);

/* Gives back the ticket fc_spool_take just returned (Kafka's queue was
 * full): the record is the next one peeked again. Only the most recent
 * ticket can be given back. */
void fc_spool_untake(struct fc_spool *s, void *ticket);

/* ticket when p is a ticket of this spool, else NULL (p is then some other
 * opaque). */
void *fc_spool_ticket(const struct fc_spool *s, const void *p);

/* Messages the ticket's record carries. */
uint32_t fc_spool_ticket_msgs(const void *ticket);

/* The ticket's record is resolved (delivered, or appended again): it is
 * never read back again. A ticket not marked done before fc_spool_free is
 * read back after the next open. */
void fc_spool_done(struct fc_spool *s, void *ticket);

/* Periodic work, cheap to call often: at most once a second, writes
 * buffered records, syncs them and persists the read position. */
void fc_spool_tick(struct fc_spool *s);

#endif
