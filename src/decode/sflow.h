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

#include <stdint.h>

#include "decode/emit.h"
#include "fc/dgram.h"

struct fc_metrics;
struct fc_sflow_state;

/* Sequence-tracking state and metric slots (registered here, once), with
 * the caps: samples decoded per datagram and records per sample (the
 * config's sflow_max_samples / sflow_max_records; both >= 1). NULL on
 * ENOMEM. */
struct fc_sflow_state *fc_sflow_state_new(struct fc_metrics *m, uint64_t max_samples,
					 uint64_t max_records);
/* Accepts NULL. */
void fc_sflow_state_free(struct fc_sflow_state *s);

/* The caps s was created with. */
void fc_sflow_limits(const struct fc_sflow_state *s, uint64_t *out_max_samples,
		     uint64_t *out_max_records);

/* Decodes one sFlow v5 datagram from g, emitting one flow per flow sample
 * (fc_emit_flow) and one counter record per counter sample
 * (fc_emit_counter); datagrams lost by the agent's sequence go to
 * out->exp_seq_lost. Decoding goes on past a bad sample when its length
 * still allows skipping it. Samples/records past the caps given to
 * fc_sflow_state_new are counted and skipped (FC_ELIMIT). Returns 0 or the
 * first fc_err met (FC_ETRUNC, FC_EMALFORMED, FC_EVERSION, FC_ELIMIT). */
int fc_sflow_decode(struct fc_sflow_state *s, const struct fc_emit *out, const struct fc_dgram *g);

#endif
