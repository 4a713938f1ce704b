/*
 * Data sets held for a template not known yet (see store.h; DESIGN §4:
 * bounded in bytes and seconds per session, every set given up counted):
 * a FIFO list per session, oldest given up first to make room, and one
 * list across all sessions in arrival order, from which the memory budget
 * gives up the oldest set of all (budget.c). Each set is its own
 * allocation, so a set given up is memory handed straight back.
 */
#include <stdlib.h>
#include <string.h>

#include "fc/err.h"
#include "template/internal.h"

size_t tmpl_held_size(size_t len)
{
	return sizeof(struct fc_tmpl_held) + len;
}

static void gheld_unlink(struct fc_tmpl_store *e, struct fc_tmpl_held *h)
{
	if (h->gprev)
		h->gprev->gnext = h->gnext;
	else
		e->gheld_head = h->gnext;
	if (h->gnext)
		h->gnext->gprev = h->gprev;
	else
		e->gheld_tail = h->gprev;
	h->gprev = h->gnext = NULL;
}

void tmpl_held_drop_oldest(struct fc_tmpl_store *e, struct fc_tmpl_session *s, uint64_t *reason)
{
	struct fc_tmpl_held *h = s->held_head;

	s->held_head = h->next;
	if (!s->held_head)
		s->held_tail = NULL;
	s->held_bytes -= h->len;
	s->held_mem -= tmpl_held_size(h->len);
	e->held_mem -= tmpl_held_size(h->len);
	gheld_unlink(e, h);
	(*reason)++;
	*e->giveup_bytes += h->len;
	tmpl_mem_release(e, s, tmpl_held_size(h->len));
	free(h);
}

int fc_tmpl_hold(struct fc_tmpl_store *e, struct fc_tmpl_session *s,
		 const struct fc_tmpl_held *ctx, const uint8_t *data, size_t len)
{
	struct fc_tmpl_held *h;

	if (e->hold_bytes == 0 || e->hold_ns == 0) {
		/* --hold-bytes 0 or --hold-seconds 0: holding is off */
		(*e->giveup_off)++;
		*e->giveup_bytes += len;
		return FC_ELIMIT;
	}
	if (len > e->hold_bytes || len > UINT32_MAX) {
		(*e->giveup_big)++;
		*e->giveup_bytes += len;
		return FC_ELIMIT;
	}
	while (s->held_head && s->held_bytes + len > e->hold_bytes)
		tmpl_held_drop_oldest(e, s, e->giveup_room);
	/* held data only displaces older held data, never a session */
	if (tmpl_mem_reserve(e, s, tmpl_held_size(len), false) != 0) {
		struct fc_tmpl_event ev = {
			.kind = FC_TMPL_EV_HELD_GIVEN_UP, .key = &s->key, .tmpl_id = ctx->tmpl_id,
			.err = FC_ELIMIT, .reason = "memory", .count = 1,
		};

		(*e->giveup_memory)++;
		*e->giveup_bytes += len;
		tmpl_report(e, &ev);
		return FC_ELIMIT;
	}
	h = malloc(tmpl_held_size(len));
	if (!h) {
		tmpl_mem_release(e, s, tmpl_held_size(len));
		(*e->giveup_nomem)++;
		*e->giveup_bytes += len;
		return FC_ENOMEM;
	}
	*h = *ctx;
	h->next = NULL;
	h->owner = s;
	h->len = (uint32_t)len;
	memcpy(h->data, data, len);
	if (s->held_tail)
		s->held_tail->next = h;
	else
		s->held_head = h;
	s->held_tail = h;
	s->held_bytes += len;
	s->held_mem += tmpl_held_size(len);
	e->held_mem += tmpl_held_size(len);
	h->gnext = NULL;
	h->gprev = e->gheld_tail;
	if (e->gheld_tail)
		e->gheld_tail->gnext = h;
	else
		e->gheld_head = h;
	e->gheld_tail = h;
	(*e->held)++;
	return 0;
}

struct fc_tmpl_held *fc_tmpl_held_take(struct fc_tmpl_store *e, struct fc_tmpl_session *s,
				       uint16_t id)
{
	struct fc_tmpl_held *h, *prev = NULL;

	for (h = s->held_head; h; prev = h, h = h->next) {
		if (h->tmpl_id != id)
			continue;
		if (prev)
			prev->next = h->next;
		else
			s->held_head = h->next;
		if (s->held_tail == h)
			s->held_tail = prev;
		s->held_bytes -= h->len;
		s->held_mem -= tmpl_held_size(h->len);
		e->held_mem -= tmpl_held_size(h->len);
		h->next = NULL;
		gheld_unlink(e, h);
		/* out of the store's hands: decoded by the caller, then freed by
		 * fc_tmpl_held_release */
		tmpl_mem_release(e, s, tmpl_held_size(h->len));
		h->owner = NULL;
		return h;
	}
	return NULL;
}

void fc_tmpl_held_release(struct fc_tmpl_store *e, struct fc_tmpl_held *h)
{
	if (!h)
		return;
	(*e->released)++;
	free(h);
}
