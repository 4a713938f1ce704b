/*
 * State learned from v9/IPFIX options data (see store.h): sampling rates
 * per sampler id (RFC 3954 §6.1 SAMPLER_ID / IPFIX samplerId 48,
 * selectorId 302) or session-wide, systemInitTimeMilliseconds (IE 160),
 * and interface names by ifIndex (IE 82/83 with an ifIndex scope) in a
 * linear-probing table per session. Both tables grow on demand within the
 * store's memory budget (budget.c).
 */
#include <stdlib.h>

#include "core/hash.h"
#include "core/text.h"
#include "fc/err.h"
#include "template/internal.h"

/* Options state the budget or the allocator refused: counted, reported. */
static void refused(struct fc_tmpl_session *s, int err)
{
	struct fc_tmpl_store *e = s->store;
	struct fc_tmpl_event ev = {
		.kind = FC_TMPL_EV_OPTIONS_REFUSED, .key = &s->key, .options = true, .err = err,
		.reason = err == FC_ENOMEM ? "nomem" : "memory",
	};

	(*(err == FC_ENOMEM ? e->opt_nomem : e->opt_memory))++;
	tmpl_report(e, &ev);
}

/* Room for one more sampler; false when the table cannot grow. */
static bool samplers_room(struct fc_tmpl_session *s)
{
	size_t ncap = s->capsamplers ? s->capsamplers * 2 : 4;
	size_t more = (ncap - s->capsamplers) * sizeof(*s->samplers);
	struct tmpl_sampler *n;

	if (s->nsamplers < s->capsamplers)
		return true;
	if (s->capsamplers >= TMPL_MAX_SAMPLERS)
		return false;
	if (tmpl_mem_reserve(s->store, s, more, true) != 0) {
		refused(s, FC_ELIMIT);
		return false;
	}
	n = realloc(s->samplers, ncap * sizeof(*n));
	if (!n) {
		tmpl_mem_release(s->store, s, more);
		refused(s, FC_ENOMEM);
		return false;
	}
	s->samplers = n;
	s->capsamplers = ncap;
	return true;
}

void fc_tmpl_set_sampling(struct fc_tmpl_session *s, bool has_id, uint64_t id, uint64_t rate)
{
	if (!has_id) {
		s->rate = rate;
		return;
	}
	for (size_t i = 0; i < s->nsamplers; i++) {
		if (s->samplers[i].id == id) {
			s->samplers[i].rate = rate;
			return;
		}
	}
	if (samplers_room(s)) {
		s->samplers[s->nsamplers].id = id;
		s->samplers[s->nsamplers].rate = rate;
		s->nsamplers++;
	} else if (s->nsamplers) {
		/* full: reuse the last slot rather than lose the newest announcement */
		s->samplers[s->nsamplers - 1].id = id;
		s->samplers[s->nsamplers - 1].rate = rate;
	}
}

uint64_t fc_tmpl_sampling_rate(const struct fc_tmpl_session *s, bool has_id, uint64_t id)
{
	if (has_id)
		for (size_t i = 0; i < s->nsamplers; i++)
			if (s->samplers[i].id == id)
				return s->samplers[i].rate;
	if (s->rate)
		return s->rate;
	if (s->nsamplers == 1)
		return s->samplers[0].rate;
	return 0;
}

void fc_tmpl_set_init_ms(struct fc_tmpl_session *s, uint64_t ms)
{
	s->init_ms = ms;
}

uint64_t fc_tmpl_init_ms(const struct fc_tmpl_session *s)
{
	return s->init_ms;
}

static struct tmpl_ifname *ifn_slot(struct tmpl_ifname *t, size_t cap, uint32_t ifindex)
{
	size_t i = fc_hash(FC_HASH_SEED, &ifindex, sizeof(ifindex)) & (cap - 1);

	while (t[i].used && t[i].ifindex != ifindex)
		i = (i + 1) & (cap - 1);
	return &t[i];
}

int fc_tmpl_set_ifname(struct fc_tmpl_session *s, uint32_t ifindex, const uint8_t *name,
		       size_t len)
{
	struct tmpl_ifname *slot;

	while (len > 0 && (name[len - 1] == 0 || name[len - 1] == ' '))
		len--;
	if (len > FC_TMPL_IFNAME_MAX)
		len = FC_TMPL_IFNAME_MAX;
	if (s->capifn == 0 || (s->nifn + 1) * 2 > s->capifn) {
		size_t ncap = s->capifn ? s->capifn * 2 : 16;
		struct tmpl_ifname *n;

		if (s->nifn >= TMPL_MAX_IFNAMES) {
			/* full: update existing names only */
			if (s->capifn == 0)
				return FC_ELIMIT;
			slot = ifn_slot(s->ifn, s->capifn, ifindex);
			if (!slot->used)
				return FC_ELIMIT;
			goto store;
		}
		/* the new table is accounted before the old one is given back */
		if (tmpl_mem_reserve(s->store, s, ncap * sizeof(*n), true) != 0) {
			refused(s, FC_ELIMIT);
			return FC_ELIMIT;
		}
		n = calloc(ncap, sizeof(*n));
		if (!n) {
			tmpl_mem_release(s->store, s, ncap * sizeof(*n));
			refused(s, FC_ENOMEM);
			return FC_ENOMEM;
		}
		for (size_t i = 0; i < s->capifn; i++)
			if (s->ifn[i].used)
				*ifn_slot(n, ncap, s->ifn[i].ifindex) = s->ifn[i];
		tmpl_mem_release(s->store, s, s->capifn * sizeof(*n));
		free(s->ifn);
		s->ifn = n;
		s->capifn = ncap;
	}
	slot = ifn_slot(s->ifn, s->capifn, ifindex);
	if (!slot->used) {
		slot->used = true;
		slot->ifindex = ifindex;
		s->nifn++;
	}
store:
	fc_text_copy_printable(slot->name, name, len);
	return 0;
}

const char *fc_tmpl_ifname(const struct fc_tmpl_session *s, uint32_t ifindex)
{
	const struct tmpl_ifname *slot;

	if (s->nifn == 0)
		return NULL;
	slot = ifn_slot(s->ifn, s->capifn, ifindex);
	return slot->used && slot->name[0] ? slot->name : NULL;
}

