/*
 * libFuzzer target: the IPFIX decoder through fc_decode_datagram, with the
 * template engine kept across inputs (so templates learned from one input
 * decode data of later ones) and small caps so that the cap paths run.
 * The version word is forced to 10 so that every input reaches the decoder
 * (the body, shared with the other template protocol, is in fuzz_common.c).
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fc_fuzz_template_one(data, size, 10);
}
