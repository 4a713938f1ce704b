/*
 * IPFIX decoder (RFC 7011): message header, template records with the
 * enterprise bit, variable-length field lengths; the set walk and record
 * decoding are shared with NetFlow v9 (nfv9_ipfix.h).
 */
#ifndef FC_IPFIX_H
#define FC_IPFIX_H

#include <stddef.h>

#include "decode/decode.h"
#include "fc/cursor.h"

#define FC_IPFIX_HEADER_LEN 16

/* Decodes one datagram holding one IPFIX message (or several back to back,
 * each bounded by its own Length). Returns 0 or the first fc_err met. */
int fc_ipfix_decode(struct fc_decoder *d, const struct fc_dgram *g);

/* Length of a variable-length field (RFC 7011 §7): one byte < 255, or 255
 * followed by a 16-bit length. On a short read returns 0 with c->err set. */
size_t fc_ipfix_varlen(struct fc_cur *c);

#endif
