/*
 * IPFIX decoder (RFC 7011): message header, template records with the
 * enterprise bit; the set walk (and variable-length fields) and record
 * decoding are shared with NetFlow v9 (nfv9_ipfix.h).
 */
#ifndef FC_IPFIX_H
#define FC_IPFIX_H

#include "decode/nfv9_ipfix.h"

#define FC_IPFIX_HEADER_LEN 16

/* Decodes one datagram holding one IPFIX message (or several back to back,
 * each bounded by its own Length), emitting flows through out; state in
 * s's template store. Returns 0 or the first fc_err met. */
int fc_ipfix_decode(struct fc_nfx_state *s, const struct fc_emit *out, const struct fc_dgram *g);

#endif
