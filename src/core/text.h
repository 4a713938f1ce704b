/*
 * Text taken from the wire (interface names, host names) ends up in proto3
 * `string` fields, which consumers require to be valid UTF-8, and in JSON
 * and logs. It is kept as printable ASCII: anything else becomes '?'.
 */
#ifndef FC_TEXT_H
#define FC_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Copies up to n wire bytes into out (room for n + 1), stopping at a NUL,
 * replacing every byte that is not printable ASCII with '?', and
 * terminates it. */
void fc_text_copy_printable(char *out, const uint8_t *in, size_t n);

#endif
