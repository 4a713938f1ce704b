/*
 * The template store's session table (see store.h): sessions keyed by
 * (version, exporter address, port, observation domain / source id) as
 * RFC 7011 §8 scopes templates, in an open-addressing table of pointers
 * with linear probing, grown at half load. Deletion shifts the following
 * entries of the probe run back (Knuth vol. 3, 6.4 Algorithm R), so a
 * delete never rebuilds the table nor allocates, and a failed allocation
 * can never make a session unreachable. A doubly linked list keeps the
 * sessions in least recently used order (moved to the front by every
 * datagram, O(1)); at the session cap or the memory budget the session at
 * its tail is evicted (see store.h).
 */
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/hash.h"
#include "fc/err.h"
#include "template/internal.h"

int tmpl_sessions_init(struct fc_tmpl_store *e)
{
	e->captab = 64;
	e->tab = calloc(e->captab, sizeof(*e->tab));
	return e->tab ? 0 : FC_ENOMEM;
}

void tmpl_session_free(struct fc_tmpl_session *s)
{
	struct fc_tmpl_held *h, *n;

	for (size_t i = 0; i < s->ntmpl; i++)
		free(s->tmpl[i]);
	free(s->tmpl);
	for (h = s->held_head; h; h = n) {
		n = h->next;
		free(h);
	}
	free(s->ifn);
	free(s->samplers);
	free(s);
}

static void lru_unlink(struct fc_tmpl_store *e, struct fc_tmpl_session *s)
{
	if (s->lru_prev)
		s->lru_prev->lru_next = s->lru_next;
	else
		e->lru_head = s->lru_next;
	if (s->lru_next)
		s->lru_next->lru_prev = s->lru_prev;
	else
		e->lru_tail = s->lru_prev;
	s->lru_prev = s->lru_next = NULL;
}

static void lru_push_front(struct fc_tmpl_store *e, struct fc_tmpl_session *s)
{
	s->lru_prev = NULL;
	s->lru_next = e->lru_head;
	if (e->lru_head)
		e->lru_head->lru_prev = s;
	else
		e->lru_tail = s;
	e->lru_head = s;
}

static uint64_t key_hash(const struct fc_tmpl_key *k)
{
	uint64_t h = fc_hash(FC_HASH_SEED, &k->version, sizeof(k->version));

	h = fc_hash(h, &k->addr.family, sizeof(k->addr.family));
	h = fc_hash(h, k->addr.a, fc_addr_len(&k->addr));
	h = fc_hash(h, &k->port, sizeof(k->port));
	return fc_hash(h, &k->domain, sizeof(k->domain));
}

static bool key_eq(const struct fc_tmpl_key *a, const struct fc_tmpl_key *b)
{
	return a->version == b->version && a->port == b->port && a->domain == b->domain &&
	       fc_addr_eq(&a->addr, &b->addr);
}

static void tab_insert(struct fc_tmpl_session **tab, size_t cap, struct fc_tmpl_session *s)
{
	size_t i = s->hash & (cap - 1);

	while (tab[i])
		i = (i + 1) & (cap - 1);
	tab[i] = s;
}

/* Doubles the table; on failure the old one stays as it was. */
static int tab_grow(struct fc_tmpl_store *e)
{
	size_t ncap = e->captab * 2;
	struct fc_tmpl_session **n = calloc(ncap, sizeof(*n));

	if (!n)
		return FC_ENOMEM;
	for (size_t i = 0; i < e->captab; i++)
		if (e->tab[i])
			tab_insert(n, ncap, e->tab[i]);
	free(e->tab);
	e->tab = n;
	e->captab = ncap;
	return 0;
}

void tmpl_session_delete(struct fc_tmpl_store *e, size_t i, uint64_t *giveup_reason)
{
	size_t mask = e->captab - 1, j = i;
	struct fc_tmpl_session *s = e->tab[i];

	while (s->held_head)
		tmpl_held_drop_oldest(e, s, giveup_reason);
	lru_unlink(e, s);
	/* what is left: the session, its templates, arrays and tables */
	tmpl_mem_release(e, s, s->mem);
	tmpl_session_free(s);
	e->tab[i] = NULL;
	e->ntab--;
	/* Move back every later entry of the run whose home slot is not in
	 * the cyclic range (i, j]: it would no longer be found past the hole. */
	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (!e->tab[j])
			return;
		home = e->tab[j]->hash & mask;
		if (((j - home) & mask) >= ((j - i) & mask)) {
			e->tab[i] = e->tab[j];
			e->tab[j] = NULL;
			i = j;
		}
	}
}

static void norm_key(const struct fc_tmpl_store *e, const struct fc_tmpl_key *in,
		     struct fc_tmpl_key *out)
{
	memset(out, 0, sizeof(*out));
	out->version = in->version;
	out->addr.family = in->addr.family;
	memcpy(out->addr.a, in->addr.a, fc_addr_len(&in->addr));
	out->port = e->cfg->template_ignore_port ? 0 : in->port;
	out->domain = in->domain;
}

static struct fc_tmpl_session *session_lookup(struct fc_tmpl_store *e,
					      const struct fc_tmpl_key *k, uint64_t hash)
{
	size_t i = hash & (e->captab - 1);

	while (e->tab[i]) {
		if (e->tab[i]->hash == hash && key_eq(&e->tab[i]->key, k))
			return e->tab[i];
		i = (i + 1) & (e->captab - 1);
	}
	return NULL;
}

/* Slot of session s (it is in the table). */
static size_t session_slot(const struct fc_tmpl_store *e, const struct fc_tmpl_session *s)
{
	size_t i = s->hash & (e->captab - 1);

	while (e->tab[i] != s)
		i = (i + 1) & (e->captab - 1);
	return i;
}

bool tmpl_session_evict_lru(struct fc_tmpl_store *e, const struct fc_tmpl_session *keep,
			    uint64_t *reason)
{
	struct fc_tmpl_session *s = e->lru_tail;
	struct fc_tmpl_event ev = {.kind = FC_TMPL_EV_SESSION_EVICTED};

	if (s == keep && s)
		s = s->lru_prev;
	if (!s)
		return false;
	ev.key = &s->key;
	ev.reason = reason == e->evict_cap ? "session_cap" : "memory";
	ev.count = s->ntmpl;
	(*reason)++;
	*e->tmpl_evicted += s->ntmpl;
	/* reported before it goes: the key lives in the session */
	tmpl_report(e, &ev);
	tmpl_session_delete(e, session_slot(e, s), e->giveup_evicted);
	return true;
}

static struct fc_tmpl_session *session_create(struct fc_tmpl_store *e,
					      const struct fc_tmpl_key *k, uint64_t hash,
					      int *out_err)
{
	struct fc_tmpl_session *s;

	/* a new exporter is never locked out: the idlest session makes room */
	while (e->ntab >= e->max_sessions)
		if (!tmpl_session_evict_lru(e, NULL, e->evict_cap))
			break;
	if (e->ntab >= e->max_sessions) {
		(*e->sess_cap)++;
		*out_err = FC_ELIMIT;
		return NULL;
	}
	if ((e->ntab + 1) * 2 > e->captab && tab_grow(e) != 0) {
		(*e->sess_nomem)++;
		*out_err = FC_ENOMEM;
		return NULL;
	}
	if (tmpl_mem_reserve(e, NULL, sizeof(*s), true) != 0) {
		(*e->sess_memory)++;
		*out_err = FC_ELIMIT;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		tmpl_mem_release(e, NULL, sizeof(*s));
		(*e->sess_nomem)++;
		*out_err = FC_ENOMEM;
		return NULL;
	}
	s->store = e;
	s->key = *k;
	s->hash = hash;
	s->mem = sizeof(*s); /* reserved for the store above, now the session's */
	tab_insert(e->tab, e->captab, s);
	e->ntab++;
	lru_push_front(e, s);
	return s;
}

struct fc_tmpl_session *fc_tmpl_session_get(struct fc_tmpl_store *e,
					    const struct fc_tmpl_key *key, uint64_t now_ns,
					    int *out_err)
{
	struct fc_tmpl_key k;
	struct fc_tmpl_session *s;
	uint64_t hash;
	int err = 0;

	norm_key(e, key, &k);
	hash = key_hash(&k);
	s = session_lookup(e, &k, hash);
	if (!s)
		s = session_create(e, &k, hash, &err);
	if (!s) {
		struct fc_tmpl_event ev = {
			.kind = FC_TMPL_EV_SESSION_REFUSED, .key = &k, .err = err,
			.reason = err == FC_ENOMEM ? "nomem"
				  : e->ntab >= e->max_sessions ? "session_cap" : "memory",
		};

		tmpl_report(e, &ev);
		*out_err = err;
		return NULL;
	}
	if (e->lru_head != s) {
		lru_unlink(e, s);
		lru_push_front(e, s);
	}
	s->last_ns = now_ns;
	return s;
}

size_t fc_tmpl_session_count(const struct fc_tmpl_store *e)
{
	return e->ntab;
}

size_t fc_tmpl_session_bytes(const struct fc_tmpl_session *s)
{
	return s->mem;
}

void fc_tmpl_visit_sessions(const struct fc_tmpl_store *e,
			    void (*fn)(void *ctx, const struct fc_tmpl_session_info *info), void *ctx)
{
	for (size_t i = 0; i < e->captab; i++) {
		const struct fc_tmpl_session *s = e->tab[i];
		struct fc_tmpl_session_info info;

		if (!s)
			continue;
		info.key = &s->key;
		info.templates = s->ntmpl;
		info.held_bytes = s->held_bytes;
		info.mem = s->mem;
		fn(ctx, &info);
	}
}

void fc_tmpl_visit(const struct fc_tmpl_store *e,
		   void (*fn)(void *ctx, const struct fc_tmpl_key *key, const struct fc_tmpl *t),
		   void *ctx)
{
	for (size_t i = 0; i < e->captab; i++) {
		const struct fc_tmpl_session *s = e->tab[i];

		for (size_t k = 0; s && k < s->ntmpl; k++)
			fn(ctx, &s->key, s->tmpl[k]);
	}
}
