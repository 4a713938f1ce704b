/*
 * Data sets held for a template not known yet (see store.h; DESIGN §4:
 * bounded in bytes and seconds per session, every set given up counted):
 * a FIFO list per session, oldest given up first to make room.
 */
#include <stdlib.h>
#include <string.h>

#include "fc/err.h"
#include "template/internal.h"

void tmpl_held_drop_oldest(struct fc_tmpl_store *e, struct fc_tmpl_session *s, uint64_t *reason)
{
	struct fc_tmpl_held *h = s->held_head;

	s->held_head = h->next;
	if (!s->held_head)
		s->held_tail = NULL;
	s->held_bytes -= h->len;
	(*reason)++;
	*e->giveup_bytes += h->len;
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
	h = malloc(sizeof(*h) + len);
	if (!h) {
		(*e->giveup_nomem)++;
		*e->giveup_bytes += len;
		return FC_ENOMEM;
	}
	*h = *ctx;
	h->next = NULL;
	h->len = (uint32_t)len;
	memcpy(h->data, data, len);
	if (s->held_tail)
		s->held_tail->next = h;
	else
		s->held_head = h;
	s->held_tail = h;
	s->held_bytes += len;
	(*e->held)++;
	return 0;
}

struct fc_tmpl_held *fc_tmpl_held_take(struct fc_tmpl_store *e, struct fc_tmpl_session *s,
				       uint16_t id)
{
	struct fc_tmpl_held *h, *prev = NULL;

	(void)e;
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
		h->next = NULL;
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

