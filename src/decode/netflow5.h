/*
 * NetFlow v5 decoder (Cisco NetFlow Export Datagram Format, version 5).
 */
#ifndef FC_NETFLOW5_H
#define FC_NETFLOW5_H

#include "decode/emit.h"
#include "fc/dgram.h"

struct fc_metrics;

#define FC_NF5_HEADER_LEN 24
#define FC_NF5_RECORD_LEN 48
#define FC_NF5_MAX_RECORDS 30 /* Cisco's limit; larger counts are accepted if they fit */

struct fc_nf5_state;

/* Sequence-tracking state; NULL on ENOMEM. */
struct fc_nf5_state *fc_nf5_state_new(struct fc_metrics *m);
void fc_nf5_state_free(struct fc_nf5_state *s);

/* Decodes one v5 datagram, emitting each record through out and adding
 * the flows its sequence number says were lost to out->exp_seq_lost.
 * Records that fit are decoded even when the header count claims more (the
 * excess is reported as FC_ETRUNC). Returns 0 or an fc_err. */
int fc_nf5_decode(struct fc_nf5_state *s, const struct fc_emit *out, const struct fc_dgram *g);

#endif
