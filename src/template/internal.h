/*
 * The template store's own structures, shared by its files (lifecycle.c,
 * session.c, templates.c, options.c, sequence.c, hold.c, file.c) and by
 * nothing outside src/template/. See store.h for the contract.
 */
#ifndef FC_TEMPLATE_INTERNAL_H
#define FC_TEMPLATE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "template/store.h"

#define TMPL_MAX_SAMPLERS 256
#define TMPL_MAX_IFNAMES 16384
#define TMPL_TRIM_BYTES (1u << 20) /* freed bytes that make the tick return memory */

struct tmpl_sampler {
	uint64_t id;
	uint64_t rate;
};

struct tmpl_ifname {
	uint32_t ifindex;
	bool used;
	char name[FC_TMPL_IFNAME_MAX + 1];
};

struct fc_tmpl_session {
	struct fc_tmpl_store *store; /* its store: budget accounting in options.c */
	struct fc_tmpl_key key;  /* normalized (port 0 with template_ignore_port) */
	uint64_t hash;           /* of key: table home slot without rehashing */
	uint64_t last_ns;        /* last datagram of the session */
	struct fc_tmpl_session *lru_prev, *lru_next; /* prev: more recently used */
	size_t mem;              /* bytes accounted to the session (budget.c) */
	struct fc_tmpl **tmpl;   /* sorted by id */
	size_t ntmpl, captmpl;
	size_t tmpl_bytes;       /* bytes of the templates in tmpl */
	struct fc_tmpl_held *held_head, *held_tail;
	size_t held_bytes;       /* data bytes held (the hold_bytes cap) */
	size_t held_mem;         /* bytes the held sets are accounted for */
	struct tmpl_sampler *samplers;
	size_t nsamplers, capsamplers;
	uint64_t rate;     /* session-wide (options without sampler id) */
	uint64_t init_ms;  /* systemInitTimeMilliseconds */
	struct tmpl_ifname *ifn;
	size_t nifn, capifn;
	bool seq_valid;
	uint32_t seq_next;
};

struct tmpl_seq_counters {
	uint64_t *lost, *resets, *reordered;
};

struct fc_tmpl_store {
	const struct fc_config *cfg;
	struct fc_tmpl_hooks hooks;
	size_t max_sessions, max_templates, max_fields, hold_bytes;
	uint64_t hold_ns, ttl_ns, save_ns;
	uint64_t last_save_ns;
	struct fc_tmpl_session **tab; /* open addressing, linear probing */
	size_t ntab, captab;
	struct fc_tmpl *scratch;
	/* least recently used order: head = latest datagram, tail = evicted first */
	struct fc_tmpl_session *lru_head, *lru_tail;
	/* every held set of every session, oldest first (given up first) */
	struct fc_tmpl_held *gheld_head, *gheld_tail;
	size_t mem_budget, mem_used, mem_freed; /* freed: since the last trim */
	size_t held_mem;          /* of mem_used: held sets, all sessions */
	unsigned worker;          /* index of the worker whose file this store saves */
	bool file_cleaned;        /* files of a former worker count removed */

	uint64_t *added, *replaced, *withdrawn, *expired;
	uint64_t *rej_zero, *rej_fields, *rej_cap, *rej_nomem;
	uint64_t *rej_memory;
	uint64_t *sess_cap, *sess_nomem, *sess_memory;
	uint64_t *evict_cap, *evict_memory, *tmpl_evicted;
	uint64_t *opt_memory, *opt_nomem;
	uint64_t *mem_gauge;
	uint64_t *held, *released, *giveup_age, *giveup_room, *giveup_big, *giveup_exit,
		*giveup_nomem, *giveup_off, *giveup_bytes, *giveup_memory, *giveup_evicted;
	uint64_t *file_saved, *file_load_err, *file_save_err, *file_loaded;
	uint64_t *file_refused, *file_stale;
	struct tmpl_seq_counters seq9, seq10;
};

/* lifecycle.c: reports an event through the hooks, when there is a listener. */
void tmpl_event(struct fc_tmpl_store *e, enum fc_tmpl_event_kind kind,
		const struct fc_tmpl_key *key, uint16_t id, bool options, int err);
/* The same with every field of the event given. */
void tmpl_report(struct fc_tmpl_store *e, const struct fc_tmpl_event *ev);

/* session.c */
int tmpl_sessions_init(struct fc_tmpl_store *e);
/* Frees s and what it holds, without counting or accounting (store_free). */
void tmpl_session_free(struct fc_tmpl_session *s);
/* Removes the session in slot i (backward-shift deletion: the entries
 * after it in its probe run move back, so no lookup breaks; nothing is
 * allocated), unlinks it from the LRU order, gives up its held data
 * (counted under giveup_reason), returns its bytes to the budget and
 * frees it. The slot may then hold an entry not yet seen by a loop walking
 * the table upwards: such a loop re-examines slot i. */
void tmpl_session_delete(struct fc_tmpl_store *e, size_t i, uint64_t *giveup_reason);
/* Evicts the least recently used session other than keep, counted under
 * reason (evict_cap / evict_memory) and reported. False when there is
 * none. */
bool tmpl_session_evict_lru(struct fc_tmpl_store *e, const struct fc_tmpl_session *keep,
			    uint64_t *reason);

/* budget.c: one memory budget (cfg->template_memory / workers) for
 * sessions, templates, options state and held data. reserve accounts n
 * more bytes to s (NULL: to the store) after making room: held data,
 * oldest first, is given up (counted as reason memory); when evict is
 * set, least recently used sessions other than s are evicted next. 0, or
 * FC_ELIMIT when n cannot fit (nothing accounted). The caller then
 * allocates, and gives the bytes back with tmpl_mem_release on failure or
 * when it frees them. */
int tmpl_mem_reserve(struct fc_tmpl_store *e, struct fc_tmpl_session *s, size_t n, bool evict);
void tmpl_mem_release(struct fc_tmpl_store *e, struct fc_tmpl_session *s, size_t n);

/* templates.c */
void tmpl_remove_at(struct fc_tmpl_store *e, struct fc_tmpl_session *s, size_t i);

/* hold.c: gives up the oldest held set of s, counted under reason. */
void tmpl_held_drop_oldest(struct fc_tmpl_store *e, struct fc_tmpl_session *s,
			   uint64_t *reason);
/* Bytes a held set of len data bytes is accounted for. */
size_t tmpl_held_size(size_t len);

/* file.c: the file this store saves (PATH, or PATH.wN with several
 * workers) into buf; FC_EINVAL when it does not fit. */
int tmpl_file_name(const struct fc_tmpl_store *e, char *buf, size_t len);
/* At start: removes temporary files left by a killed save, then loads
 * PATH and every PATH.wN (all workers' state: SO_REUSEPORT may hand an
 * exporter to another worker after a restart). A file that fails its
 * checks is refused whole, moved aside and reported. */
void tmpl_file_start(struct fc_tmpl_store *e);
/* After a successful save: worker 0's first one removes the files of a
 * former worker count (loaded at start, saved in the current ones now). */
void tmpl_file_saved(struct fc_tmpl_store *e);

#endif
