/*
 * The template store's memory budget (see store.h, "Bounded and
 * self-healing"): every byte the store allocates for a session — the
 * session itself, its template array and templates, sampler and interface
 * name tables, held data — is reserved here before it is allocated and
 * released when it is freed, so the accounted total never exceeds the
 * budget. Making room follows the value of what is lost: held data first
 * (oldest first across all sessions: it is at most hold_seconds old and
 * its template may never come), then whole sessions in least recently used
 * order (an idle exporter relearns its templates within its refresh
 * interval; a new one locked out would learn nothing). Held data never
 * evicts a session. The session being served is never evicted.
 */
#include "fc/err.h"
#include "template/internal.h"

static void account(struct fc_tmpl_store *e, struct fc_tmpl_session *s, size_t n)
{
	e->mem_used += n;
	if (s)
		s->mem += n;
	*e->mem_gauge = e->mem_used;
}

int tmpl_mem_reserve(struct fc_tmpl_store *e, struct fc_tmpl_session *s, size_t n, bool evict)
{
	/* What stays whatever is given up: without eviction everything but
	 * held data, with it the session being served (less its held data).
	 * When n cannot fit even then, nothing is given up for it. */
	size_t floor = evict ? (s ? s->mem - s->held_mem : 0) : e->mem_used - e->held_mem;

	if (n > e->mem_budget || floor > e->mem_budget - n)
		return FC_ELIMIT;
	while (e->mem_used > e->mem_budget - n && e->gheld_head) {
		struct fc_tmpl_held *h = e->gheld_head;
		struct fc_tmpl_event ev = {
			.kind = FC_TMPL_EV_HELD_GIVEN_UP, .key = &h->owner->key,
			.tmpl_id = h->tmpl_id, .err = FC_ELIMIT, .reason = "memory", .count = 1,
		};

		/* the oldest held set of all is its session's oldest too */
		tmpl_held_drop_oldest(e, h->owner, e->giveup_memory);
		tmpl_report(e, &ev);
	}
	while (evict && e->mem_used > e->mem_budget - n)
		if (!tmpl_session_evict_lru(e, s, e->evict_memory))
			break;
	if (e->mem_used > e->mem_budget - n)
		return FC_ELIMIT;
	account(e, s, n);
	return 0;
}

void tmpl_mem_release(struct fc_tmpl_store *e, struct fc_tmpl_session *s, size_t n)
{
	e->mem_used -= n;
	e->mem_freed += n;
	if (s)
		s->mem -= n;
	*e->mem_gauge = e->mem_used;
}

size_t fc_tmpl_store_memory(const struct fc_tmpl_store *e)
{
	return e->mem_used;
}
