/*
 * sFlow version 5 decoder (sflow.org "sFlow Version 5", July 2004, and the
 * sFlow structure registry): flow samples (formats 1 and 3) become
 * struct fc_flow records, counter samples (2 and 4) become struct
 * fc_counter records; other sample and record formats are skipped by their
 * length and counted by format.
 *
 * Ownership: the state belongs to one decoder (one pipeline thread). The
 * datagram is borrowed for the call; flows and counters are handed to the
 * sink by pointer for the duration of the sink call only.
 */
#ifndef FC_SFLOW_H
#define FC_SFLOW_H

#include "decode/decode.h"

#define FC_SFLOW_DEFAULT_MAX_SAMPLES 1024 /* per datagram when cfg says 0 */
#define FC_SFLOW_DEFAULT_MAX_RECORDS 128  /* per sample when cfg says 0 */

struct fc_sflow_state;

/* Sequence-tracking state and metric slots (registered here, once).
 * NULL on ENOMEM. */
struct fc_sflow_state *fc_sflow_state_new(struct fc_metrics *m);
/* Accepts NULL. */
void fc_sflow_state_free(struct fc_sflow_state *s);

/* Decodes one sFlow v5 datagram from g, emitting one flow per flow sample
 * (fc_decode_emit_flow, FC_PROTO_SFLOW) and one counter record per counter
 * sample (fc_decode_emit_counter). Decoding goes on past a bad sample when
 * its length still allows skipping it. Caps: d->cfg->sflow_max_samples
 * samples per datagram and d->cfg->sflow_max_records records per sample
 * (0 = the defaults above); samples/records past a cap are counted and
 * skipped (FC_ELIMIT). Returns 0 or the first fc_err met (FC_ETRUNC,
 * FC_EMALFORMED, FC_EVERSION, FC_ELIMIT). */
int fc_sflow_decode(struct fc_decoder *d, const struct fc_dgram *g);

#endif
