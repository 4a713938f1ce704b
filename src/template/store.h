/*
 * NetFlow v9 / IPFIX template store: templates and options templates,
 * data held before its template, options-derived state (sampling per sampler
 * id, systemInitTime, interface names) and sequence tracking, all per
 * session. A session is what RFC 7011 §8 scopes templates by: (protocol,
 * exporter address, exporter port, observation domain / v9 source id). With
 * cfg->template_ignore_port the port is left out of the key (exporters behind
 * NAT that change source ports).
 *
 * Every limit comes from the filled config (fc_config_init fills the option
 * table's defaults; the store has none of its own): sessions
 * (template_max_exporters), templates per session
 * (template_max_per_exporter), fields per template (template_max_fields),
 * held bytes per session (hold_bytes) and held age (hold_seconds); either
 * hold option at 0 holds nothing. Templates expire template_ttl seconds
 * after they were last announced (0 = never). Every rejection and every
 * held data set given up is counted in the metrics registry, and reported
 * as an event (struct fc_tmpl_hooks) for the caller to log.
 *
 * Bounded and self-healing: one memory budget (template_memory, split
 * evenly between the workers' stores) covers sessions, templates, options
 * state and held data, counted in bytes as they are allocated. When a new
 * session meets the session cap, or anything but held data meets the
 * budget, the least recently used session (by datagram) is evicted with
 * its templates and held data, so a burst of one-off sessions can never
 * lock a new exporter out; held data only ever displaces older held data.
 * Every eviction and refusal is counted and reported; freed memory is
 * handed back to the system (malloc_trim) on the next expiry pass.
 *
 * The store treats a template's fields as opaque: the decoder resolves
 * them to its IE table (f[].ie) and compiles its record plan (the plan
 * fields and steps of struct fc_tmpl) before fc_tmpl_add, and the hooks'
 * resolve function does it for templates read from the persistence file.
 *
 * Files: lifecycle.c (creation, counters, expiry), session.c (the session
 * table), templates.c, options.c (sampling, init time, interface names),
 * sequence.c, hold.c (data held for a missing template), file.c (the
 * persistence format).
 *
 * Persistence (cfg->template_file): templates and sampling state are written
 * to a private binary format (magic "FCTMPL02", big-endian, length and
 * checksum; file.c) via a temporary file + rename, and read back at start
 * with the bounded cursor. A file that fails any check is refused whole,
 * renamed PATH.bad-<unix time> and reported; temporary files of a killed
 * save are removed at start. With several workers each saves PATH.wN (N:
 * its index) and every worker loads PATH and all PATH.wN at start.
 *
 * Ownership: the engine owns every template, session and held buffer; the
 * pointers it returns stay valid until the next call that adds, withdraws,
 * expires or frees (interface-name strings until the next options record of
 * that session). Never logs. Thread affinity: one pipeline thread.
 */
#ifndef FC_TEMPLATE_CACHE_H
#define FC_TEMPLATE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fc/flow.h"

struct fc_config;
struct fc_metrics;
struct fc_ie; /* the decoder's IE table entry; opaque here */
struct fc_tmpl_session;

#define FC_TMPL_VARLEN 0xffffu /* IPFIX variable-length field (RFC 7011 §7) */
#define FC_TMPL_IFNAME_MAX 64

struct fc_tmpl_field {
	uint32_t pen;            /* 0 = IANA / v9 */
	uint16_t id;             /* without the enterprise bit */
	uint16_t len;            /* bytes, or FC_TMPL_VARLEN */
	const struct fc_ie *ie;  /* set by the decoder, NULL = skip by length */
};

/* One step of the decoder's record plan (see struct fc_tmpl): written by
 * the decoder with f[].ie, copied with the template, never read here. */
struct fc_tmpl_step {
	uint16_t off;            /* offset of the value in the record (part) */
	uint16_t len;            /* its length */
	uint16_t dst;            /* where it goes (decoder-defined) */
	uint16_t field;          /* index in f[] */
	uint8_t op;              /* how it is applied (decoder-defined) */
};

struct fc_tmpl {
	uint16_t id;
	uint16_t nfields;  /* scope fields first */
	uint16_t nscope;   /* options templates: number of scope fields */
	bool options;
	bool varlen;       /* has a variable-length field */
	uint32_t minlen;   /* minimum record length (varlen counts 1) */
	uint64_t learned_ns; /* first announced with these fields (datagram clock) */
	uint64_t last_ns;  /* last announced (datagram clock) */
	/* The decoder's record plan, compiled with f[].ie before fc_tmpl_add
	 * (fc_tmpl_scratch clears it): nsteps steps stored right after
	 * f[nfields] in the same block (fc_tmpl_steps), so that the plan is
	 * copied, replaced, freed and accounted with its template. The
	 * store reads nsteps for the size only. */
	bool plan;
	uint16_t nsteps;
	uint32_t fixlen;     /* decoder-defined: fixed record (part) length */
	uint32_t plan_seen;  /* decoder-defined: flags every record sets */
	uint32_t plan_bad;   /* decoder-defined: fields every record has wrong */
	struct fc_tmpl_field f[];
};

/* The plan's steps of t (nsteps of them; room for one per field in the
 * scratch template). */
static inline struct fc_tmpl_step *fc_tmpl_steps(struct fc_tmpl *t)
{
	return (struct fc_tmpl_step *)(void *)(t->f + t->nfields);
}

static inline const struct fc_tmpl_step *fc_tmpl_steps_const(const struct fc_tmpl *t)
{
	return (const struct fc_tmpl_step *)(const void *)(t->f + t->nfields);
}

/* Data set kept until its template arrives, with its message context. */
struct fc_tmpl_held {
	struct fc_tmpl_held *next;              /* the session's list */
	struct fc_tmpl_held *gprev, *gnext;     /* the store's list, oldest first */
	struct fc_tmpl_session *owner;
	uint16_t tmpl_id;
	uint32_t len;
	uint64_t recv_ns;
	uint64_t export_ns;
	uint32_t uptime_ms;
	uint32_t seq;
	uint8_t data[]; /* the set's records (set header removed) */
};

struct fc_tmpl_key {
	uint8_t version;      /* 9 or 10 */
	struct fc_addr addr;
	uint16_t port;        /* ignored when template_ignore_port */
	uint32_t domain;      /* v9 source id / IPFIX observation domain */
};

struct fc_tmpl_store;

/* What the store reports for the caller to log (it never logs itself). */
enum fc_tmpl_event_kind {
	FC_TMPL_EV_LEARNED = 0,   /* a new template id */
	FC_TMPL_EV_CHANGED,       /* an id redefined with other fields */
	FC_TMPL_EV_WITHDRAWN,     /* IPFIX withdrawal */
	FC_TMPL_EV_EXPIRED,       /* not refreshed within template_ttl */
	FC_TMPL_EV_REFUSED,       /* template refused (err: reason) */
	FC_TMPL_EV_SESSION_REFUSED, /* session refused (err: FC_ELIMIT / FC_ENOMEM) */
	FC_TMPL_EV_SESSION_EVICTED, /* session evicted with its templates (reason) */
	FC_TMPL_EV_HELD_GIVEN_UP,   /* held data given up for the memory budget */
	FC_TMPL_EV_OPTIONS_REFUSED, /* options state (sampler, interface name) not kept (reason) */
	FC_TMPL_EV_FILE_LOADED,     /* template file read (path, count: sessions) */
	FC_TMPL_EV_FILE_REFUSED,    /* template file refused whole (path, moved_to, err) */
	FC_TMPL_EV_FILE_STALE,      /* temporary file of a killed save removed (path) */
	FC_TMPL_EV_COUNT,
};

struct fc_tmpl_event {
	enum fc_tmpl_event_kind kind;
	const struct fc_tmpl_key *key; /* borrowed for the call; NULL for file events */
	uint16_t tmpl_id;              /* 0 for session events */
	bool options;
	int err;                       /* fc_err for the refusals, else 0 */
	const char *reason;            /* refusals and evictions: the counter's reason label */
	size_t count;                  /* evictions: templates; file loaded: sessions */
	const char *path;              /* file events */
	const char *moved_to;          /* FILE_REFUSED: where the file went (NULL: not moved) */
};

struct fc_tmpl_hooks {
	/* Fills f[].ie and the plan of a template read from the persistence
	 * file (it has room for one step per field). */
	void (*resolve)(struct fc_tmpl *t);
	/* Optional; called synchronously from the call that caused it. */
	void (*event)(void *ctx, const struct fc_tmpl_event *ev);
	void *ctx;
};

/* Creates the store and registers its counters; limits come from cfg (see
 * above). cfg, m and hooks->ctx must outlive it; hooks is copied. With
 * cfg->template_file: removes stale temporary files and loads the files
 * (see above; a missing file is not an error; a damaged or foreign one is
 * refused whole, moved aside, counted and reported). NULL on ENOMEM. */
struct fc_tmpl_store *fc_tmpl_store_new(const struct fc_config *cfg, struct fc_metrics *m,
					const struct fc_tmpl_hooks *hooks);
/* Worker index (0..cfg->workers - 1): names the file this store saves. */
void fc_tmpl_store_set_worker(struct fc_tmpl_store *e, unsigned worker);
/* Frees everything, including held data (not counted: call finish first). */
void fc_tmpl_store_free(struct fc_tmpl_store *e);

/* Session for key, created on first use. NULL and *out_err = FC_ELIMIT past
 * the session cap, FC_ENOMEM on allocation failure (both counted and
 * reported). Marks the session as active at now_ns. */
struct fc_tmpl_session *fc_tmpl_session_get(struct fc_tmpl_store *e,
					    const struct fc_tmpl_key *key, uint64_t now_ns,
					    int *out_err);

/* Template id of session s, or NULL. */
const struct fc_tmpl *fc_tmpl_find(struct fc_tmpl_session *s, uint16_t id);

/* Scratch template with room for the field cap, to build a definition in
 * before fc_tmpl_add; capacity in *out_cap. Owned by the engine. */
struct fc_tmpl *fc_tmpl_scratch(struct fc_tmpl_store *e, size_t *out_cap);

/* Validates t (its fields already resolved by the caller; minimum record
 * length computed here; zero -> rejected) and stores a copy as template
 * t->id of s, replacing a different one with the same id or refreshing an
 * identical one. Returns 0, FC_EMALFORMED (zero minimum length), FC_ELIMIT
 * (field or template cap) or FC_ENOMEM; each rejection is counted by
 * reason. The existing template of that id is kept on failure. */
int fc_tmpl_add(struct fc_tmpl_store *e, struct fc_tmpl_session *s, struct fc_tmpl *t,
		uint64_t now_ns);

/* IPFIX withdrawal (RFC 7011 §8.1): one template, or all data (options =
 * false) or all options templates of s. */
void fc_tmpl_withdraw(struct fc_tmpl_store *e, struct fc_tmpl_session *s, uint16_t id);
void fc_tmpl_withdraw_all(struct fc_tmpl_store *e, struct fc_tmpl_session *s, bool options);

/* Holds a copy of a data set whose template is unknown. ctx gives the
 * message context (next/len/data ignored). Returns 0 when held, or
 * FC_ELIMIT (holding off, or the set is larger than hold_bytes) /
 * FC_ENOMEM when it cannot be held (counted as given up). Older held sets
 * of the session are given up to make room. */
int fc_tmpl_hold(struct fc_tmpl_store *e, struct fc_tmpl_session *s,
		 const struct fc_tmpl_held *ctx, const uint8_t *data, size_t len);
/* Removes and returns the oldest held set for template id, or NULL. The
 * caller decodes it and hands it back to fc_tmpl_held_release, which
 * counts it as released and frees it (NULL accepted). */
struct fc_tmpl_held *fc_tmpl_held_take(struct fc_tmpl_store *e, struct fc_tmpl_session *s,
				       uint16_t id);
void fc_tmpl_held_release(struct fc_tmpl_store *e, struct fc_tmpl_held *h);

/* Sampling state from options data. has_id: the record named a sampler
 * (samplerId 48 / selectorId 302); otherwise the rate is session-wide. */
void fc_tmpl_set_sampling(struct fc_tmpl_session *s, bool has_id, uint64_t id, uint64_t rate);
/* Rate for a flow: the named sampler's, else the session-wide one, else the
 * only sampler's when there is exactly one; 0 = unknown. */
uint64_t fc_tmpl_sampling_rate(const struct fc_tmpl_session *s, bool has_id, uint64_t id);

/* systemInitTimeMilliseconds (IE 160) from options data; 0 = unknown. */
void fc_tmpl_set_init_ms(struct fc_tmpl_session *s, uint64_t ms);
uint64_t fc_tmpl_init_ms(const struct fc_tmpl_session *s);

/* Interface name for ifIndex (options: IE 82 with an ifIndex scope).
 * Names longer than FC_TMPL_IFNAME_MAX are cut; trailing NULs/spaces are
 * dropped. Returns 0, FC_ELIMIT (table full, or the memory budget) or
 * FC_ENOMEM; the last two are counted and reported, as is a sampler the
 * budget refused in fc_tmpl_set_sampling. */
int fc_tmpl_set_ifname(struct fc_tmpl_session *s, uint32_t ifindex, const uint8_t *name,
		       size_t len);
const char *fc_tmpl_ifname(const struct fc_tmpl_session *s, uint32_t ifindex);

/* Sequence accounting after a message: seq from its header, advance = 1
 * (v9: export packets) or the data records it carried (IPFIX). known =
 * false when the advance could not be computed (held sets), so the next
 * message is not checked. Gaps -> lost counter, small backward steps ->
 * reordered, large -> reset. Returns the number lost (the gap). */
uint64_t fc_tmpl_seq_update(struct fc_tmpl_store *e, struct fc_tmpl_session *s, uint32_t seq,
			uint32_t advance, bool known);

/* Expires templates past the TTL (reported), held data past hold_seconds
 * (given up, counted), idle empty sessions, and saves the template file
 * when the save interval has passed. now_ns: datagram clock. */
void fc_tmpl_expire(struct fc_tmpl_store *e, uint64_t now_ns);

/* At exit: gives up all held data (counted) and saves the template file. */
void fc_tmpl_finish(struct fc_tmpl_store *e);

/* Writes / reads the persistence file (file.c). Return 0 or FC_ESYS /
 * FC_EMALFORMED / FC_EVERSION (not a template file, or another version) /
 * FC_ENOMEM / FC_EINVAL (path too long). load checks the whole file
 * before it changes anything (a refused file changes nothing), then
 * merges it into the current state (a template the store already has
 * announced later is kept); templates read are resolved with
 * hooks.resolve. load_mem does the same on bytes in memory (the fuzz
 * target). */
int fc_tmpl_save(struct fc_tmpl_store *e, const char *path);
int fc_tmpl_load(struct fc_tmpl_store *e, const char *path);
int fc_tmpl_load_mem(struct fc_tmpl_store *e, const uint8_t *buf, size_t len);

/* The limits the store works with (seconds and counts, as configured). */
struct fc_tmpl_limits {
	uint64_t max_sessions, max_templates, max_fields, hold_bytes;
	uint64_t hold_seconds, ttl_seconds, save_seconds;
	uint64_t memory_bytes; /* this store's share of template_memory */
	bool ignore_port;
};
void fc_tmpl_store_limits(const struct fc_tmpl_store *e, struct fc_tmpl_limits *out);

/* Introspection for tests, metrics and the /templates listing. */
size_t fc_tmpl_session_count(const struct fc_tmpl_store *e);
/* Bytes accounted to the session: itself, its templates, options state
 * and held data. */
size_t fc_tmpl_session_bytes(const struct fc_tmpl_session *s);
/* Bytes accounted to the whole store (never above its budget). */
size_t fc_tmpl_store_memory(const struct fc_tmpl_store *e);

/* What one session holds, for the per-exporter gauges. */
struct fc_tmpl_session_info {
	const struct fc_tmpl_key *key;
	size_t templates;  /* templates kept */
	size_t held_bytes; /* data bytes held for templates not known yet */
	size_t mem;        /* bytes accounted to the session (templates, options, held) */
};

/* Calls fn for every session (session table order). Nothing may be added
 * or removed from fn. */
void fc_tmpl_visit_sessions(const struct fc_tmpl_store *e,
			    void (*fn)(void *ctx, const struct fc_tmpl_session_info *info),
			    void *ctx);

/* Calls fn for every template of every session (session table order,
 * templates by id). Nothing may be added or removed from fn. */
void fc_tmpl_visit(const struct fc_tmpl_store *e,
		   void (*fn)(void *ctx, const struct fc_tmpl_key *key, const struct fc_tmpl *t),
		   void *ctx);

#endif
