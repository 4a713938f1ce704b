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
	struct fc_tmpl_key key;  /* normalized (port 0 with template_ignore_port) */
	uint64_t hash;           /* of key: table home slot without rehashing */
	uint64_t last_ns;        /* last datagram of the session */
	struct fc_tmpl **tmpl;   /* sorted by id */
	size_t ntmpl, captmpl;
	size_t tmpl_bytes;       /* bytes of the templates in tmpl */
	struct fc_tmpl_held *held_head, *held_tail;
	size_t held_bytes;
	struct tmpl_sampler samplers[TMPL_MAX_SAMPLERS];
	size_t nsamplers;
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

	uint64_t *added, *replaced, *withdrawn, *expired;
	uint64_t *rej_zero, *rej_fields, *rej_cap, *rej_nomem;
	uint64_t *sess_cap, *sess_nomem;
	uint64_t *held, *released, *giveup_age, *giveup_room, *giveup_big, *giveup_exit,
		*giveup_nomem, *giveup_off, *giveup_bytes;
	uint64_t *file_saved, *file_load_err, *file_save_err, *file_loaded;
	struct tmpl_seq_counters seq9, seq10;
};

/* lifecycle.c: reports an event through the hooks, when there is a listener. */
void tmpl_event(struct fc_tmpl_store *e, enum fc_tmpl_event_kind kind,
		const struct fc_tmpl_key *key, uint16_t id, bool options, int err);

/* session.c */
int tmpl_sessions_init(struct fc_tmpl_store *e);
void tmpl_session_free(struct fc_tmpl_session *s);
/* Removes the session in slot i (backward-shift deletion: the entries
 * after it in its probe run move back, so no lookup breaks; nothing is
 * allocated) and frees it. The slot may then hold an entry not yet seen by
 * a loop walking the table upwards: such a loop re-examines slot i. */
void tmpl_session_delete(struct fc_tmpl_store *e, size_t i);

/* templates.c */
void tmpl_remove_at(struct fc_tmpl_store *e, struct fc_tmpl_session *s, size_t i);

/* hold.c: gives up the oldest held set of s, counted under reason. */
void tmpl_held_drop_oldest(struct fc_tmpl_store *e, struct fc_tmpl_session *s,
			   uint64_t *reason);

#endif
