/*
 * The set walker and record decoder shared by NetFlow v9 (RFC 3954) and
 * IPFIX (RFC 7011): walks the flowsets / sets of one message by their own
 * lengths, hands template sets to the protocol's template-record reader,
 * stores templates in the template store (src/template/store.h), holds
 * data sets whose template is unknown, decodes data records through the IE
 * table (fields.h) into struct fc_flow and options records into sampling /
 * interface-name state, and does the sequence accounting.
 *
 * netflow9.c and ipfix.c parse their headers and template records and call
 * fc_nfx_walk; nothing else differs between the two protocols here. The
 * walker resolves template fields to IE table entries (fc_nfx_resolve)
 * before it hands a template to the store, which treats them as opaque.
 *
 * Ownership: struct fc_nfx_state belongs to the decoder front door
 * (decode.c) and borrows its template store. Thread affinity: the
 * decoder's thread.
 */
#ifndef FC_DECODE_NFV9_IPFIX_H
#define FC_DECODE_NFV9_IPFIX_H

#include <stdbool.h>
#include <stdint.h>

#include "decode/emit.h"
#include "fc/cursor.h"
#include "fc/dgram.h"
#include "template/store.h"

struct fc_metrics;

/* What a template record reader found. */
enum fc_nfx_tr {
	FC_NFX_TR_END = 0,      /* no more records in the set (padding) */
	FC_NFX_TR_TEMPLATE,     /* t holds a definition */
	FC_NFX_TR_WITHDRAW,     /* withdraw t->id */
	FC_NFX_TR_WITHDRAW_ALL, /* withdraw every template of this set's kind */
	FC_NFX_TR_TOO_MANY,     /* t->nfields exceeds cap: only the first cap
				   fields were stored; fc_tmpl_add refuses it */
};

struct fc_nfx_proto {
	uint8_t version;          /* 9 or 10 */
	enum fc_flow_type type;
	uint16_t tmpl_set_id;     /* v9: 0, IPFIX: 2 */
	uint16_t opt_set_id;      /* v9: 1, IPFIX: 3 */
	/* Reads one template record from c into t (capacity cap fields).
	 * Returns an enum fc_nfx_tr or a negative fc_err (the rest of the set is
	 * then skipped). */
	int (*read_template)(struct fc_cur *c, bool options, struct fc_tmpl *t, size_t cap);
};

/* One message being decoded (header fields the records need). */
struct fc_nfx_msg {
	const struct fc_nfx_proto *p;
	const struct fc_dgram *g;
	uint64_t export_ns;  /* header export time, Unix ns */
	uint32_t uptime_ms;  /* v9 sysUptime; 0 for IPFIX */
	uint32_t seq;
	uint32_t domain;     /* v9 source id / IPFIX observation domain */
	/* out */
	uint32_t data_records; /* flow + options records decoded */
	bool uncounted;        /* a data set could not be counted (held / skipped) */
};

/* Counters of the record decoder and the template store it works on. */
struct fc_nfx_state;

/* Registers the counters; tmpl is borrowed and must outlive the state.
 * NULL on ENOMEM. */
struct fc_nfx_state *fc_nfx_state_new(struct fc_metrics *m, struct fc_tmpl_store *tmpl);
/* Accepts NULL. */
void fc_nfx_state_free(struct fc_nfx_state *s);

/* Sets f[].ie of t's fields from the IE table (NULL = skip by length) and
 * compiles t's record plan (fc_ie_plan_compile). The front door also hands
 * it to the store for templates read from the persistence file. */
void fc_nfx_resolve(struct fc_tmpl *t);

/* What one decode call works with. */
struct fc_nfx_ctx {
	struct fc_nfx_state *s;
	const struct fc_emit *out;
};

/* Walks the sets in c (the message after its header), emitting flows
 * through x->out and adding sequence losses to x->out->exp_seq_lost.
 * Returns 0 or the first fc_err met; later sets are still walked when one
 * set fails. */
int fc_nfx_walk(struct fc_nfx_ctx *x, struct fc_nfx_msg *m, struct fc_cur *c);

/* Decode one NetFlow v9 (netflow9.c) or IPFIX (ipfix.c) datagram; see
 * netflow9.h / ipfix.h. */

#endif
