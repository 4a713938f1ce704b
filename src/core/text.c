/*
 * Sanitizing of wire text (see text.h).
 */
#include "core/text.h"

void fc_text_copy_printable(char *out, const uint8_t *in, size_t n)
{
	size_t i;

	/* Fixed-size fields are NUL-padded and some agents count the
	 * terminator in the length: the text ends at the first NUL. */
	for (i = 0; i < n && in[i]; i++)
		out[i] = (in[i] >= 0x20 && in[i] < 0x7f) ? (char)in[i] : '?';
	out[i] = '\0';
}
