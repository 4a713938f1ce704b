/*
 * NetFlow v5 decoder (Cisco NetFlow Export Datagram Format, version 5).
 */
#ifndef FC_NETFLOW5_H
#define FC_NETFLOW5_H

#include "decode/decode.h"

#define FC_NF5_HEADER_LEN 24
#define FC_NF5_RECORD_LEN 48
#define FC_NF5_MAX_RECORDS 30 /* Cisco's limit; larger counts are accepted if they fit */

struct fc_nf5_state;

/* Sequence-tracking state; NULL on ENOMEM. */
struct fc_nf5_state *fc_nf5_state_new(struct fc_metrics *m);
void fc_nf5_state_free(struct fc_nf5_state *s);

/* Decodes one v5 datagram, emitting each record through d's sink. Records
 * that fit are decoded even when the header count claims more (the excess
 * is reported as FC_ETRUNC). Returns 0 or an fc_err. */
int fc_nf5_decode(struct fc_decoder *d, const struct fc_dgram *g);

/* Turns a sysUptime-relative timestamp (ms) into Unix ns, given the
 * header's export time and uptime. Signed 32-bit distance, so uptime
 * wrapping past 2^32 ms (49.7 days) between the flow and the export is
 * handled, and so are flows stamped slightly after the header. Shared with
 * NetFlow v9 (RFC 3954 §5.1). */
uint64_t fc_uptime_to_unix_ns(uint64_t export_ns, uint32_t uptime_ms, uint32_t ts_ms);

#endif
