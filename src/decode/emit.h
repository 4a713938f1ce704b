/*
 * The narrow context a protocol decoder writes to (netflow5.c, netflow9.c,
 * ipfix.c, nfv9_ipfix.c, sflow.c): where finished records go and the
 * counters they bump, nothing else of the decoder front door (decode.c).
 * decode.c fills one per datagram with the protocol's and the exporter's
 * counter slots, so a decoder needs no lookup and no branch to count.
 *
 * Ownership: every pointer is borrowed from the front door for one
 * fc_decode_datagram call. The flow handed to
 * fc_emit_flow is borrowed by the sink for the call and may be changed by
 * it (enrichment). Thread affinity: the decoder's thread.
 */
#ifndef FC_DECODE_EMIT_H
#define FC_DECODE_EMIT_H

#include <stdint.h>

#include "fc/flow.h"

struct fc_counter; /* sFlow counter sample, include/fc/counter.h */

struct fc_emit {
	void (*flow)(void *ctx, struct fc_flow *f);
	void (*counter)(void *ctx, const struct fc_counter *c); /* may be NULL */
	void *ctx;
	uint64_t *flows;        /* flows decoded, this protocol */
	uint64_t *exp_flows;    /* flows decoded, this exporter */
	uint64_t *exp_seq_lost; /* sequence losses of this exporter, in the unit
				   its protocol numbers (flows, packets, samples) */
};

static inline void fc_emit_flow(const struct fc_emit *e, struct fc_flow *f)
{
	(*e->flows)++;
	(*e->exp_flows)++;
	e->flow(e->ctx, f);
}

static inline void fc_emit_counter(const struct fc_emit *e, const struct fc_counter *c)
{
	if (e->counter)
		e->counter(e->ctx, c);
}

#endif
