/*
 * Templates of a session (see store.h): an array of pointers sorted by id
 * (binary search; templates change rarely, data sets look them up
 * constantly). Validation computes the minimum record length (RFC 7011
 * §3.4.1; a record that can be 0 bytes long would let a data set loop
 * forever); refresh, redefinition and withdrawal follow RFC 7011 §8 and
 * RFC 3954 §5.2.
 */
#include <stdlib.h>
#include <string.h>

#include "fc/err.h"
#include "template/internal.h"

/* Index of the first template with id >= id. */
static size_t tmpl_pos(const struct fc_tmpl_session *s, uint16_t id)
{
	size_t lo = 0, hi = s->ntmpl;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->tmpl[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct fc_tmpl *fc_tmpl_find(struct fc_tmpl_session *s, uint16_t id)
{
	size_t i = tmpl_pos(s, id);

	return i < s->ntmpl && s->tmpl[i]->id == id ? s->tmpl[i] : NULL;
}

struct fc_tmpl *fc_tmpl_scratch(struct fc_tmpl_store *e, size_t *out_cap)
{
	*out_cap = e->max_fields;
	memset(e->scratch, 0, sizeof(*e->scratch));
	return e->scratch;
}

/* The template's block: header, fields, then the decoder's plan steps. */
static size_t tmpl_size(const struct fc_tmpl *t)
{
	return sizeof(struct fc_tmpl) + (size_t)t->nfields * sizeof(struct fc_tmpl_field) +
	       (size_t)t->nsteps * sizeof(struct fc_tmpl_step);
}

/* The memory budget refused t even after evicting every other session. */
static void refuse_memory(struct fc_tmpl_store *e, struct fc_tmpl_session *s,
			  const struct fc_tmpl *t)
{
	struct fc_tmpl_event ev = {
		.kind = FC_TMPL_EV_REFUSED, .key = &s->key, .tmpl_id = t->id,
		.options = t->options, .err = FC_ELIMIT, .reason = "memory",
	};

	(*e->rej_memory)++;
	tmpl_report(e, &ev);
}

/* A copy of t for session s, its bytes accounted; NULL (counted and
 * reported) when the budget or the allocator refuses it. */
static struct fc_tmpl *tmpl_copy(struct fc_tmpl_store *e, struct fc_tmpl_session *s,
				 const struct fc_tmpl *t, int *out_err)
{
	size_t n = tmpl_size(t);
	struct fc_tmpl *c;

	if (tmpl_mem_reserve(e, s, n, true) != 0) {
		refuse_memory(e, s, t);
		*out_err = FC_ELIMIT;
		return NULL;
	}
	c = malloc(n);
	if (!c) {
		tmpl_mem_release(e, s, n);
		(*e->rej_nomem)++;
		tmpl_event(e, FC_TMPL_EV_REFUSED, &s->key, t->id, t->options, FC_ENOMEM);
		*out_err = FC_ENOMEM;
		return NULL;
	}
	memcpy(c, t, n);
	s->tmpl_bytes += n;
	return c;
}

static void tmpl_free(struct fc_tmpl_store *e, struct fc_tmpl_session *s, struct fc_tmpl *t)
{
	size_t n = tmpl_size(t);

	s->tmpl_bytes -= n;
	tmpl_mem_release(e, s, n);
	free(t);
}

static bool tmpl_same(const struct fc_tmpl *a, const struct fc_tmpl *b)
{
	if (a->nfields != b->nfields || a->nscope != b->nscope || a->options != b->options)
		return false;
	for (uint16_t i = 0; i < a->nfields; i++)
		if (a->f[i].id != b->f[i].id || a->f[i].len != b->f[i].len ||
		    a->f[i].pen != b->f[i].pen)
			return false;
	return true;
}

int fc_tmpl_add(struct fc_tmpl_store *e, struct fc_tmpl_session *s, struct fc_tmpl *t,
		uint64_t now_ns)
{
	struct fc_tmpl *c;
	uint32_t minlen = 0;
	size_t i;
	int err = 0;

	if (t->nfields > e->max_fields) {
		(*e->rej_fields)++;
		tmpl_event(e, FC_TMPL_EV_REFUSED, &s->key, t->id, t->options, FC_ELIMIT);
		return FC_ELIMIT;
	}
	t->varlen = false;
	for (uint16_t k = 0; k < t->nfields; k++) {
		const struct fc_tmpl_field *fd = &t->f[k];

		if (fd->len == FC_TMPL_VARLEN) {
			t->varlen = true;
			minlen += 1;
		} else {
			minlen += fd->len;
		}
	}
	/* RFC 7011 §3.4.1 / STYLE: a record that can be 0 bytes long would let a
	 * data set loop forever or mint records from padding. */
	if (minlen == 0) {
		(*e->rej_zero)++;
		tmpl_event(e, FC_TMPL_EV_REFUSED, &s->key, t->id, t->options, FC_EMALFORMED);
		return FC_EMALFORMED;
	}
	t->minlen = minlen;
	t->learned_ns = now_ns;
	t->last_ns = now_ns;

	i = tmpl_pos(s, t->id);
	if (i < s->ntmpl && s->tmpl[i]->id == t->id) {
		if (tmpl_same(s->tmpl[i], t)) {
			s->tmpl[i]->last_ns = now_ns;
			return 0;
		}
		c = tmpl_copy(e, s, t, &err);
		if (!c)
			return err;
		tmpl_free(e, s, s->tmpl[i]);
		s->tmpl[i] = c;
		(*e->replaced)++;
		tmpl_event(e, FC_TMPL_EV_CHANGED, &s->key, t->id, t->options, 0);
		return 0;
	}
	if (s->ntmpl >= e->max_templates) {
		(*e->rej_cap)++;
		tmpl_event(e, FC_TMPL_EV_REFUSED, &s->key, t->id, t->options, FC_ELIMIT);
		return FC_ELIMIT;
	}
	if (s->ntmpl == s->captmpl) {
		size_t ncap = s->captmpl ? s->captmpl * 2 : 8;
		size_t more = (ncap - s->captmpl) * sizeof(*s->tmpl);
		struct fc_tmpl **n;

		if (tmpl_mem_reserve(e, s, more, true) != 0) {
			refuse_memory(e, s, t);
			return FC_ELIMIT;
		}
		n = realloc(s->tmpl, ncap * sizeof(*n));
		if (!n) {
			tmpl_mem_release(e, s, more);
			(*e->rej_nomem)++;
			tmpl_event(e, FC_TMPL_EV_REFUSED, &s->key, t->id, t->options, FC_ENOMEM);
			return FC_ENOMEM;
		}
		s->tmpl = n;
		s->captmpl = ncap;
	}
	c = tmpl_copy(e, s, t, &err);
	if (!c)
		return err;
	memmove(&s->tmpl[i + 1], &s->tmpl[i], (s->ntmpl - i) * sizeof(*s->tmpl));
	s->tmpl[i] = c;
	s->ntmpl++;
	(*e->added)++;
	tmpl_event(e, FC_TMPL_EV_LEARNED, &s->key, t->id, t->options, 0);
	return 0;
}

void tmpl_remove_at(struct fc_tmpl_store *e, struct fc_tmpl_session *s, size_t i)
{
	tmpl_free(e, s, s->tmpl[i]);
	memmove(&s->tmpl[i], &s->tmpl[i + 1], (s->ntmpl - i - 1) * sizeof(*s->tmpl));
	s->ntmpl--;
}

void fc_tmpl_withdraw(struct fc_tmpl_store *e, struct fc_tmpl_session *s, uint16_t id)
{
	size_t i = tmpl_pos(s, id);

	if (i < s->ntmpl && s->tmpl[i]->id == id) {
		bool options = s->tmpl[i]->options;

		tmpl_remove_at(e, s, i);
		(*e->withdrawn)++;
		tmpl_event(e, FC_TMPL_EV_WITHDRAWN, &s->key, id, options, 0);
	}
}

void fc_tmpl_withdraw_all(struct fc_tmpl_store *e, struct fc_tmpl_session *s, bool options)
{
	size_t i = 0;

	while (i < s->ntmpl) {
		if (s->tmpl[i]->options == options) {
			uint16_t id = s->tmpl[i]->id;

			tmpl_remove_at(e, s, i);
			(*e->withdrawn)++;
			tmpl_event(e, FC_TMPL_EV_WITHDRAWN, &s->key, id, options, 0);
		} else {
			i++;
		}
	}
}

