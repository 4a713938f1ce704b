/*
 * NetFlow v9 decoder (RFC 3954): header and template-record parsing; the
 * flowset walk and record decoding are shared with IPFIX (nfv9_ipfix.h).
 */
#ifndef FC_NETFLOW9_H
#define FC_NETFLOW9_H

#include "decode/nfv9_ipfix.h"

#define FC_NF9_HEADER_LEN 20

/* Decodes one v9 datagram, emitting flows through out; templates, options
 * and held data live in s's template store. The header Count is ignored:
 * flowsets are walked by their lengths to the end of the datagram.
 * Returns 0 or the first fc_err met (later flowsets are still decoded). */
int fc_nf9_decode(struct fc_nfx_state *s, const struct fc_emit *out, const struct fc_dgram *g);

#endif
