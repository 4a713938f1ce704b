/*
 * Text and label names for enum fc_err (include/fc/err.h).
 */
#include "fc/err.h"

static const struct {
	const char *name;
	const char *text;
} err_desc[] = {
	{"ok", "success"},
	{"trunc", "truncated: a length or count runs past the data"},
	{"malformed", "malformed field value"},
	{"version", "unsupported protocol version"},
	{"no_template", "no template for data set"},
	{"limit", "configured limit reached"},
	{"nomem", "out of memory"},
	{"system", "system call failed"},
	{"unsupported", "not supported"},
	{"invalid", "invalid argument"},
	{"again", "resource temporarily unavailable"},
	{"eof", "end of input"},
};

/* One row per code, in code order: a code added to enum fc_err without a
 * row (or FC_ERR_COUNT left behind) does not build. */
_Static_assert(sizeof(err_desc) / sizeof(err_desc[0]) == FC_ERR_COUNT,
	       "err_desc must have FC_ERR_COUNT rows");
_Static_assert(FC_EEOF == -(FC_ERR_COUNT - 1), "FC_ERR_COUNT must follow the last code");

const char *fc_strerror(int code)
{
	if (code > 0 || code <= -FC_ERR_COUNT)
		return "unknown error";
	return err_desc[-code].text;
}

const char *fc_err_name(int code)
{
	if (code > 0 || code <= -FC_ERR_COUNT)
		return "unknown";
	return err_desc[-code].name;
}
