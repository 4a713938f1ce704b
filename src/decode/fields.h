/*
 * Information elements of NetFlow v9 (RFC 3954 §8) and IPFIX (RFC 7012, the
 * IANA "IPFIX Information Elements" registry; RFC 5103 reverse elements under
 * PEN 29305) as DATA: one table entry per element gives its name, the field
 * lengths accepted (a bitmask, so RFC 7011 §6.2 reduced-size encodings are
 * listed explicitly) and where the value goes in a record being decoded.
 *
 * Owns: the table (static, read-only) and the per-record scratch state
 * (struct fc_nfx_rec) that the set walker fills field by field and then
 * turns into one or two struct fc_flow (a second one for a bi-flow's reverse
 * direction), and the compiled form of the same rules for one template
 * (fc_ie_plan_compile / fc_ie_plan_run: the element and length of every
 * field are looked at once per template, not once per record). Nothing
 * here allocates or keeps pointers past a record.
 */
#ifndef FC_DECODE_FIELDS_H
#define FC_DECODE_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fc/cursor.h"
#include "fc/flow.h"
#include "template/store.h"

#define FC_PEN_REVERSE 29305u /* RFC 5103 §6.1 */

/* Where a value goes. */
enum fc_ie_kind {
	FC_IEK_U32 = 1,     /* unsigned, stored at off as uint32_t */
	FC_IEK_U64,         /* unsigned, stored at off as uint64_t */
	FC_IEK_U32_IFZERO,  /* same, only when the slot is still 0 (fallback IEs) */
	FC_IEK_U64_IFZERO,
	FC_IEK_ADDR,        /* 4 bytes IPv4 or 16 bytes IPv6 into struct fc_addr at off */
	FC_IEK_MAC,         /* 6 bytes into a uint64_t at off */
	FC_IEK_MAC_IFZERO,
	FC_IEK_FN,          /* special: fn does the work */
};

/* Bits of fc_nfx_rec.seen for values whose presence matters. */
enum {
	FC_SEEN_UP_START = 1u << 0,   /* 22 */
	FC_SEEN_UP_END = 1u << 1,     /* 21 */
	FC_SEEN_ABS_START = 1u << 2,  /* 150/152/154/156 */
	FC_SEEN_ABS_END = 1u << 3,    /* 151/153/155/157 */
	FC_SEEN_DELTA_START = 1u << 4,/* 158 */
	FC_SEEN_DELTA_END = 1u << 5,  /* 159 */
	FC_SEEN_INIT = 1u << 6,       /* 160 */
	FC_SEEN_OBS_MS = 1u << 7,     /* 323 */
	FC_SEEN_SAMPLER = 1u << 8,    /* 48 / 302 */
	FC_SEEN_IFNAME = 1u << 9,     /* 82 */
	FC_SEEN_IFDESC = 1u << 10,    /* 83 */
	FC_SEEN_IFINDEX = 1u << 11,   /* 10 (scope) */
	FC_SEEN_REVERSE = 1u << 12,   /* any PEN 29305 element */
	FC_SEEN_BYTES = 1u << 13,     /* 1: present, even when 0 */
	FC_SEEN_PACKETS = 1u << 14,   /* 2 */
};

/* Scratch state for one data or options record. */
struct fc_nfx_rec {
	struct fc_flow f;
	uint32_t seen;
	uint32_t bad_len; /* fields skipped because of an unexpected length */

	/* fallback counters: 23/24 (post), 85/86 (total) */
	uint64_t post_bytes, post_packets, total_bytes, total_packets;
	/* RFC 5103 reverse direction */
	uint64_t rev_bytes, rev_packets;
	uint32_t rev_tcp_flags, rev_tos;
	/* Cisco NSEL (ASA) */
	uint64_t init_octets, resp_octets, init_packets, resp_packets;

	/* times, raw */
	uint32_t up_start, up_end;          /* ms of sysUpTime */
	uint64_t abs_start_ns, abs_end_ns;  /* Unix ns */
	uint64_t delta_start_us, delta_end_us;
	uint64_t init_ms;                   /* systemInitTimeMilliseconds */
	uint64_t obs_ms;                    /* observationTimeMilliseconds */

	/* sampling carried in the record itself */
	uint64_t samp_interval;   /* 34 */
	uint64_t samp_algorithm;  /* 35 */
	uint64_t samp_random;     /* 50 */
	uint64_t pkt_interval;    /* 305 */
	uint64_t pkt_space;       /* 306 */

	/* options: interface name (views into the packet, valid for the record) */
	const uint8_t *ifname;
	size_t ifname_len;
	const uint8_t *ifdesc;
	size_t ifdesc_len;
};

struct fc_ie;
typedef void (*fc_ie_fn)(struct fc_nfx_rec *r, const struct fc_ie *ie, const uint8_t *v,
			 size_t len);

struct fc_ie {
	const char *name;   /* IANA name; NULL = unused slot */
	uint32_t lengths;   /* bit n set: length n accepted (n <= 31); 0 = any */
	uint8_t kind;       /* enum fc_ie_kind */
	uint16_t off;       /* offsetof in struct fc_nfx_rec */
	uint32_t arg;       /* kind-specific (FN: a selector) */
	fc_ie_fn fn;
	uint32_t seen;      /* FC_SEEN_* bits set when the field is present */
};

/* The table entry for (pen, id), or NULL for an element we do not use
 * (decoded by length and skipped). pen 0 = IANA. In NetFlow v9 every id is
 * looked up with pen 0 (v9 has no enterprise bit). Thread-safe (read-only). */
const struct fc_ie *fc_ie_lookup(uint32_t pen, uint16_t id);

/* Applies one field value of len bytes (a view into the packet) to r.
 * A length the entry does not accept is counted in r->bad_len and the value
 * is not used. */
void fc_ie_apply(const struct fc_ie *ie, struct fc_nfx_rec *r, const uint8_t *v, size_t len);

/* Compiles t's fields (f[].ie already set by fc_ie_lookup) into its record
 * plan (struct fc_tmpl: plan, nsteps, fixlen, plan_seen, plan_bad, and
 * the steps, fc_tmpl_steps): one step per field whose element we use, with its offset in
 * the fixed-length part of the record it is in and the way to apply it
 * chosen for its (element, length) once; fields whose length the element
 * refuses are counted in plan_bad instead, unknown elements and
 * zero-length fields are left out. A variable-length field is a step of
 * its own that also covers the fixed part after it; fixlen is then the
 * fixed part before the first one, else the whole record's length. A
 * record longer than a set can hold gets no plan (t->plan false; such a
 * template never matches a record). */
void fc_ie_plan_compile(struct fc_tmpl *t);

/* Applies one record of a planned template without variable-length
 * fields to r (cleared by the caller): rec holds exactly t->fixlen bytes.
 * Same effect as fc_ie_apply on every field in order. */
void fc_ie_plan_run(const struct fc_tmpl *t, struct fc_nfx_rec *r, const struct fc_view *rec);

/* The same for a planned template with variable-length fields, reading the
 * record from c: each fixed part taken with one bounds check, each
 * variable length read and checked. False when the record runs past the
 * end of c (c->err set; r is then partly filled and not a record). */
bool fc_ie_plan_run_var(const struct fc_tmpl *t, struct fc_nfx_rec *r, struct fc_cur *c);

/* One record of t, field by field: every length read and checked in
 * turn, each value through fc_ie_apply. The path of templates without a
 * plan, and the reference the plan is tested against. False when the
 * record runs past the end of c (c->err set; r is then partly filled and
 * not a record). */
bool fc_ie_fields_run(const struct fc_tmpl *t, struct fc_nfx_rec *r, struct fc_cur *c);

/* One record of a planned template read from c: a fixed-length one taken
 * with one bounds check, else fc_ie_plan_run_var. False as above. */
static inline bool fc_ie_plan_record(const struct fc_tmpl *t, struct fc_nfx_rec *r,
				     struct fc_cur *c)
{
	struct fc_view rec;

	if (t->varlen)
		return fc_ie_plan_run_var(t, r, c);
	if (!fc_cur_take(c, t->fixlen, &rec))
		return false;
	fc_ie_plan_run(t, r, &rec);
	return true;
}

/* Big-endian unsigned value of the first min(len, 8) bytes; 0 for len 0.
 * Inline: every setter reads its value with it. */
static inline uint64_t fc_ie_uint(const uint8_t *v, size_t len)
{
	uint64_t x = 0;

	if (len > 8)
		len = 8;
	for (size_t i = 0; i < len; i++)
		x = x << 8 | v[i];
	return x;
}

/* NTP 64-bit timestamp (RFC 7011 §6.1.9/§6.1.10) to Unix ns; 0 before 1970. */
uint64_t fc_ie_ntp_to_unix_ns(uint64_t ntp, bool micro);

#endif
