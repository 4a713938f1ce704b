/*
 * Error codes shared by every module. 0 is success, failures are negative.
 * Library code (decoders, cache, encoder) returns these and never logs; the
 * pipeline counts them per reason and logs with exporter context.
 */
#ifndef FC_ERR_H
#define FC_ERR_H

enum fc_err {
	FC_OK = 0,
	FC_ETRUNC = -1,      /* a length or count runs past the bytes that remain */
	FC_EMALFORMED = -2,  /* a field holds a value the spec does not allow */
	FC_EVERSION = -3,    /* unknown or unsupported protocol version */
	FC_ENOTEMPLATE = -4, /* data set whose template is not (yet) known */
	FC_ELIMIT = -5,      /* a configured cap was hit */
	FC_ENOMEM = -6,      /* allocation failed */
	FC_ESYS = -7,        /* system call failed; errno holds the cause */
	FC_EUNSUPPORTED = -8,/* valid input we do not decode (yet) */
	FC_EINVAL = -9,      /* bad argument or configuration value */
	FC_EAGAIN = -10,     /* try again later (queue full, would block) */
	FC_EEOF = -11,       /* end of input (pcap file finished) */
};

#define FC_ERR_COUNT 12 /* number of codes, for per-reason counter arrays */

/* Static text for code; never NULL, also for unknown codes. */
const char *fc_strerror(int code);

/* Name usable as a metric label ("trunc", "malformed", ...). */
const char *fc_err_name(int code);

/* Index 0..FC_ERR_COUNT-1 for per-reason arrays (maps unknown codes to 0). */
static inline unsigned fc_err_index(int code)
{
	return (code <= 0 && code > -FC_ERR_COUNT) ? (unsigned)-code : 0;
}

#endif
