/*
 * Template engine state (see cache.h): sessions in an open-addressing hash
 * table of pointers (rebuilt when sessions are dropped), templates of a
 * session in an array sorted by id (binary search; templates change rarely,
 * data sets look them up constantly), held data sets in a FIFO list per
 * session, samplers in a small array, interface names in a linear-probing
 * table per session.
 *
 * References: RFC 7011 §8 (template management, withdrawal, lifetime over
 * UDP §8.4), RFC 3954 §5.2/§9 (v9 templates, refresh), RFC 7011 §3.1 and
 * RFC 3954 §5.1 (sequence numbers: IPFIX counts data records, v9 counts
 * export packets).
 */
#include "template/cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "core/text.h"
#include "decode/fields.h"
#include "fc/cursor.h"
#include "fc/err.h"
#include "metrics/metrics.h"

#define DEF_MAX_SESSIONS 4096
#define DEF_MAX_TEMPLATES 1024
#define DEF_MAX_FIELDS 512
#define DEF_HOLD_BYTES (256u * 1024u)
#define DEF_HOLD_SECONDS 30
#define MAX_SAMPLERS 256
#define MAX_IFNAMES 16384
#define REORDER_WINDOW 1000 /* backward steps up to this are reordering, not a restart */

struct sampler {
	uint64_t id;
	uint64_t rate;
};

struct ifname {
	uint32_t ifindex;
	bool used;
	char name[FC_TMPL_IFNAME_MAX + 1];
};

struct fc_tmpl_session {
	struct fc_tmpl_key key;
	uint64_t last_ns;
	struct fc_tmpl **tmpl; /* sorted by id */
	size_t ntmpl, captmpl;
	struct fc_tmpl_held *held_head, *held_tail;
	size_t held_bytes;
	struct sampler samplers[MAX_SAMPLERS];
	size_t nsamplers;
	uint64_t rate;     /* session-wide (options without sampler id) */
	uint64_t init_ms;  /* systemInitTimeMilliseconds */
	struct ifname *ifn;
	size_t nifn, capifn;
	bool seq_valid;
	uint32_t seq_next;
};

struct seq_counters {
	uint64_t *lost, *resets, *reordered;
};

struct fc_tmpl_engine {
	const struct fc_config *cfg;
	size_t max_sessions, max_templates, max_fields, hold_bytes;
	uint64_t hold_ns, ttl_ns, save_ns;
	uint64_t last_save_ns;
	struct fc_tmpl_session **tab; /* open addressing */
	size_t ntab, captab;
	struct fc_tmpl *scratch;

	uint64_t *added, *replaced, *withdrawn, *expired;
	uint64_t *rej_zero, *rej_fields, *rej_cap, *rej_nomem;
	uint64_t *sess_cap, *sess_nomem;
	uint64_t *held, *released, *giveup_age, *giveup_room, *giveup_big, *giveup_exit,
		*giveup_nomem, *giveup_bytes;
	uint64_t *file_saved, *file_load_err, *file_save_err, *file_loaded;
	struct seq_counters seq9, seq10;
	struct fc_tmpl_stats stats;
};

static size_t cfg_or(uint64_t v, size_t def)
{
	return v ? (size_t)v : def;
}

static void register_counters(struct fc_tmpl_engine *e, struct fc_metrics *m)
{
	static const char rej[] = "templates rejected, by reason";
	static const char gu[] = "data sets held for a missing template and finally given up, by reason";

	e->added = fc_metrics_counter(m, "templates_added_total", NULL,
				      "NetFlow v9/IPFIX templates learned");
	e->replaced = fc_metrics_counter(m, "templates_replaced_total", NULL,
					 "templates redefined with different fields");
	e->withdrawn = fc_metrics_counter(m, "templates_withdrawn_total", NULL,
					  "IPFIX templates withdrawn by the exporter");
	e->expired = fc_metrics_counter(m, "templates_expired_total", NULL,
					"templates dropped after template_ttl without refresh");
	e->rej_zero = fc_metrics_counter(m, "templates_rejected_total", "reason=\"zero_length\"", rej);
	e->rej_fields = fc_metrics_counter(m, "templates_rejected_total", "reason=\"field_cap\"", rej);
	e->rej_cap = fc_metrics_counter(m, "templates_rejected_total", "reason=\"template_cap\"", rej);
	e->rej_nomem = fc_metrics_counter(m, "templates_rejected_total", "reason=\"nomem\"", rej);
	e->sess_cap = fc_metrics_counter(m, "template_sessions_rejected_total",
					 "reason=\"session_cap\"",
					 "exporter sessions (addr, port, domain) refused");
	e->sess_nomem = fc_metrics_counter(m, "template_sessions_rejected_total", "reason=\"nomem\"",
					   "exporter sessions (addr, port, domain) refused");
	e->held = fc_metrics_counter(m, "data_sets_held_total", NULL,
				     "data sets held because their template was not known yet");
	e->released = fc_metrics_counter(m, "data_sets_released_total", NULL,
					 "held data sets decoded when their template arrived");
	e->giveup_age = fc_metrics_counter(m, "data_sets_given_up_total", "reason=\"age\"", gu);
	e->giveup_room = fc_metrics_counter(m, "data_sets_given_up_total", "reason=\"hold_bytes\"", gu);
	e->giveup_big = fc_metrics_counter(m, "data_sets_given_up_total", "reason=\"too_big\"", gu);
	e->giveup_exit = fc_metrics_counter(m, "data_sets_given_up_total", "reason=\"exit\"", gu);
	e->giveup_nomem = fc_metrics_counter(m, "data_sets_given_up_total", "reason=\"nomem\"", gu);
	e->giveup_bytes = fc_metrics_counter(m, "data_set_bytes_given_up_total", NULL,
					     "bytes of data sets given up");
	e->file_saved = fc_metrics_counter(m, "template_file_saves_total", NULL,
					   "template persistence file writes");
	e->file_loaded = fc_metrics_counter(m, "template_file_loads_total", NULL,
					    "template persistence file reads");
	e->file_load_err = fc_metrics_counter(m, "template_file_errors_total", "op=\"load\"",
					      "template persistence file failures");
	e->file_save_err = fc_metrics_counter(m, "template_file_errors_total", "op=\"save\"",
					      "template persistence file failures");
	e->stats.ie_bad_length = fc_metrics_counter(m, "ie_bad_length_total", NULL,
		"v9/IPFIX fields skipped because their length is not one the element allows");
	e->stats.options_records = fc_metrics_counter(m, "options_records_total", NULL,
						      "v9/IPFIX options data records decoded");
	e->stats.reverse_flows = fc_metrics_counter(m, "reverse_flows_total", NULL,
		"flows emitted for the reverse direction of RFC 5103 bi-flows and NSEL responders");
	e->stats.sets_reserved = fc_metrics_counter(m, "sets_reserved_id_total", NULL,
						    "v9/IPFIX sets with a reserved set id, skipped");
	e->stats.records_truncated = fc_metrics_counter(m, "records_truncated_total", NULL,
		"v9/IPFIX data records cut short by the end of their set");
	e->stats.templates_malformed = fc_metrics_counter(m, "templates_rejected_total",
							  "reason=\"malformed\"", rej);
	e->seq9.lost = fc_metrics_counter(m, "sequence_lost_packets_total", "proto=\"nf9\"",
					  "export packets missing according to sequence numbers");
	e->seq9.resets = fc_metrics_counter(m, "sequence_resets_total", "proto=\"nf9\"",
					    "sequence numbers that jumped back (exporter restart)");
	e->seq9.reordered = fc_metrics_counter(m, "sequence_reordered_total", "proto=\"nf9\"",
					       "messages that arrived after a later one");
	e->seq10.lost = fc_metrics_counter(m, "sequence_lost_flows_total", "proto=\"ipfix\"",
					   "flows missing according to sequence numbers");
	e->seq10.resets = fc_metrics_counter(m, "sequence_resets_total", "proto=\"ipfix\"",
					     "sequence numbers that jumped back (exporter restart)");
	e->seq10.reordered = fc_metrics_counter(m, "sequence_reordered_total", "proto=\"ipfix\"",
						"messages that arrived after a later one");
}

struct fc_tmpl_engine *fc_tmpl_engine_new(const struct fc_config *cfg, struct fc_metrics *m)
{
	struct fc_tmpl_engine *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->cfg = cfg;
	e->max_sessions = cfg_or(cfg->template_max_exporters, DEF_MAX_SESSIONS);
	e->max_templates = cfg_or(cfg->template_max_per_exporter, DEF_MAX_TEMPLATES);
	e->max_fields = cfg_or(cfg->template_max_fields, DEF_MAX_FIELDS);
	if (e->max_fields > 65535)
		e->max_fields = 65535;
	e->hold_bytes = cfg_or(cfg->hold_bytes, DEF_HOLD_BYTES);
	e->hold_ns = (uint64_t)cfg_or(cfg->hold_seconds, DEF_HOLD_SECONDS) * 1000000000ull;
	e->ttl_ns = cfg->template_ttl * 1000000000ull;
	e->save_ns = cfg->template_save_interval * 1000000000ull;
	register_counters(e, m);
	e->captab = 64;
	e->tab = calloc(e->captab, sizeof(*e->tab));
	e->scratch = malloc(sizeof(struct fc_tmpl) + e->max_fields * sizeof(struct fc_tmpl_field));
	if (!e->tab || !e->scratch)
		goto fail;
	if (cfg->template_file && access(cfg->template_file, F_OK) == 0) {
		if (fc_tmpl_load(e, cfg->template_file) != 0)
			(*e->file_load_err)++;
		else
			(*e->file_loaded)++;
	}
	return e;
fail:
	fc_tmpl_engine_free(e);
	return NULL;
}

static void session_free(struct fc_tmpl_session *s)
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
	free(s);
}

void fc_tmpl_engine_free(struct fc_tmpl_engine *e)
{
	if (!e)
		return;
	for (size_t i = 0; e->tab && i < e->captab; i++)
		if (e->tab[i])
			session_free(e->tab[i]);
	free(e->tab);
	free(e->scratch);
	free(e);
}

/* ---- sessions ---- */

static uint64_t key_hash(const struct fc_tmpl_key *k)
{
	uint64_t h = 1469598103934665603ull;

	h = (h ^ k->version) * 1099511628211ull;
	h = (h ^ k->addr.family) * 1099511628211ull;
	for (unsigned i = 0; i < fc_addr_len(&k->addr); i++)
		h = (h ^ k->addr.a[i]) * 1099511628211ull;
	h = (h ^ k->port) * 1099511628211ull;
	h = (h ^ k->domain) * 1099511628211ull;
	return h ^ (h >> 29);
}

static bool key_eq(const struct fc_tmpl_key *a, const struct fc_tmpl_key *b)
{
	return a->version == b->version && a->port == b->port && a->domain == b->domain &&
	       fc_addr_eq(&a->addr, &b->addr);
}

static void tab_insert(struct fc_tmpl_session **tab, size_t cap, struct fc_tmpl_session *s)
{
	size_t i = key_hash(&s->key) & (cap - 1);

	while (tab[i])
		i = (i + 1) & (cap - 1);
	tab[i] = s;
}

static int tab_resize(struct fc_tmpl_engine *e, size_t ncap)
{
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

static void norm_key(const struct fc_tmpl_engine *e, const struct fc_tmpl_key *in,
		     struct fc_tmpl_key *out)
{
	memset(out, 0, sizeof(*out));
	out->version = in->version;
	out->addr.family = in->addr.family;
	memcpy(out->addr.a, in->addr.a, fc_addr_len(&in->addr));
	out->port = e->cfg->template_ignore_port ? 0 : in->port;
	out->domain = in->domain;
}

static struct fc_tmpl_session *session_lookup(struct fc_tmpl_engine *e, const struct fc_tmpl_key *k)
{
	size_t i = key_hash(k) & (e->captab - 1);

	while (e->tab[i]) {
		if (key_eq(&e->tab[i]->key, k))
			return e->tab[i];
		i = (i + 1) & (e->captab - 1);
	}
	return NULL;
}

static struct fc_tmpl_session *session_create(struct fc_tmpl_engine *e,
					      const struct fc_tmpl_key *k, int *out_err)
{
	struct fc_tmpl_session *s;

	if (e->ntab >= e->max_sessions) {
		(*e->sess_cap)++;
		*out_err = FC_ELIMIT;
		return NULL;
	}
	if ((e->ntab + 1) * 2 > e->captab && tab_resize(e, e->captab * 2) != 0) {
		(*e->sess_nomem)++;
		*out_err = FC_ENOMEM;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		(*e->sess_nomem)++;
		*out_err = FC_ENOMEM;
		return NULL;
	}
	s->key = *k;
	tab_insert(e->tab, e->captab, s);
	e->ntab++;
	return s;
}

struct fc_tmpl_session *fc_tmpl_session_get(struct fc_tmpl_engine *e,
					    const struct fc_tmpl_key *key, uint64_t now_ns,
					    int *out_err)
{
	struct fc_tmpl_key k;
	struct fc_tmpl_session *s;
	int err = 0;

	norm_key(e, key, &k);
	s = session_lookup(e, &k);
	if (!s)
		s = session_create(e, &k, &err);
	if (!s) {
		*out_err = err;
		return NULL;
	}
	s->last_ns = now_ns;
	return s;
}

const struct fc_tmpl_stats *fc_tmpl_stats(const struct fc_tmpl_engine *e)
{
	return &e->stats;
}

size_t fc_tmpl_session_count(const struct fc_tmpl_engine *e)
{
	return e->ntab;
}

size_t fc_tmpl_template_count(const struct fc_tmpl_session *s)
{
	return s->ntmpl;
}

size_t fc_tmpl_held_bytes(const struct fc_tmpl_session *s)
{
	return s->held_bytes;
}

/* ---- templates ---- */

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

struct fc_tmpl *fc_tmpl_scratch(struct fc_tmpl_engine *e, size_t *out_cap)
{
	*out_cap = e->max_fields;
	memset(e->scratch, 0, sizeof(*e->scratch));
	return e->scratch;
}

static size_t tmpl_size(uint16_t nfields)
{
	return sizeof(struct fc_tmpl) + (size_t)nfields * sizeof(struct fc_tmpl_field);
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

int fc_tmpl_add(struct fc_tmpl_engine *e, struct fc_tmpl_session *s, struct fc_tmpl *t,
		uint64_t now_ns)
{
	struct fc_tmpl *c;
	uint32_t minlen = 0;
	size_t i;

	if (t->nfields > e->max_fields) {
		(*e->rej_fields)++;
		return FC_ELIMIT;
	}
	t->varlen = false;
	for (uint16_t k = 0; k < t->nfields; k++) {
		struct fc_tmpl_field *fd = &t->f[k];

		fd->ie = fc_ie_lookup(fd->pen, fd->id);
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
		return FC_EMALFORMED;
	}
	t->minlen = minlen;
	t->last_ns = now_ns;

	i = tmpl_pos(s, t->id);
	if (i < s->ntmpl && s->tmpl[i]->id == t->id) {
		if (tmpl_same(s->tmpl[i], t)) {
			s->tmpl[i]->last_ns = now_ns;
			return 0;
		}
		c = malloc(tmpl_size(t->nfields));
		if (!c) {
			(*e->rej_nomem)++;
			return FC_ENOMEM;
		}
		memcpy(c, t, tmpl_size(t->nfields));
		free(s->tmpl[i]);
		s->tmpl[i] = c;
		(*e->replaced)++;
		return 0;
	}
	if (s->ntmpl >= e->max_templates) {
		(*e->rej_cap)++;
		return FC_ELIMIT;
	}
	if (s->ntmpl == s->captmpl) {
		size_t ncap = s->captmpl ? s->captmpl * 2 : 8;
		struct fc_tmpl **n = realloc(s->tmpl, ncap * sizeof(*n));

		if (!n) {
			(*e->rej_nomem)++;
			return FC_ENOMEM;
		}
		s->tmpl = n;
		s->captmpl = ncap;
	}
	c = malloc(tmpl_size(t->nfields));
	if (!c) {
		(*e->rej_nomem)++;
		return FC_ENOMEM;
	}
	memcpy(c, t, tmpl_size(t->nfields));
	memmove(&s->tmpl[i + 1], &s->tmpl[i], (s->ntmpl - i) * sizeof(*s->tmpl));
	s->tmpl[i] = c;
	s->ntmpl++;
	(*e->added)++;
	return 0;
}

static void tmpl_remove_at(struct fc_tmpl_session *s, size_t i)
{
	free(s->tmpl[i]);
	memmove(&s->tmpl[i], &s->tmpl[i + 1], (s->ntmpl - i - 1) * sizeof(*s->tmpl));
	s->ntmpl--;
}

void fc_tmpl_withdraw(struct fc_tmpl_engine *e, struct fc_tmpl_session *s, uint16_t id)
{
	size_t i = tmpl_pos(s, id);

	if (i < s->ntmpl && s->tmpl[i]->id == id) {
		tmpl_remove_at(s, i);
		(*e->withdrawn)++;
	}
}

void fc_tmpl_withdraw_all(struct fc_tmpl_engine *e, struct fc_tmpl_session *s, bool options)
{
	size_t i = 0;

	while (i < s->ntmpl) {
		if (s->tmpl[i]->options == options) {
			tmpl_remove_at(s, i);
			(*e->withdrawn)++;
		} else {
			i++;
		}
	}
}

/* ---- held data ---- */

static void held_drop_oldest(struct fc_tmpl_engine *e, struct fc_tmpl_session *s, uint64_t *reason)
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

int fc_tmpl_hold(struct fc_tmpl_engine *e, struct fc_tmpl_session *s,
		 const struct fc_tmpl_held *ctx, const uint8_t *data, size_t len)
{
	struct fc_tmpl_held *h;

	if (len > e->hold_bytes || len > UINT32_MAX) {
		(*e->giveup_big)++;
		*e->giveup_bytes += len;
		return FC_ELIMIT;
	}
	while (s->held_head && s->held_bytes + len > e->hold_bytes)
		held_drop_oldest(e, s, e->giveup_room);
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

struct fc_tmpl_held *fc_tmpl_held_take(struct fc_tmpl_engine *e, struct fc_tmpl_session *s,
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

void fc_tmpl_held_free(struct fc_tmpl_engine *e, struct fc_tmpl_held *h)
{
	if (!h)
		return;
	(*e->released)++;
	free(h);
}

/* ---- options state ---- */

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
	if (s->nsamplers < MAX_SAMPLERS) {
		s->samplers[s->nsamplers].id = id;
		s->samplers[s->nsamplers].rate = rate;
		s->nsamplers++;
	} else {
		/* full: reuse the last slot rather than lose the newest announcement */
		s->samplers[MAX_SAMPLERS - 1].id = id;
		s->samplers[MAX_SAMPLERS - 1].rate = rate;
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

static struct ifname *ifn_slot(struct ifname *t, size_t cap, uint32_t ifindex)
{
	size_t i = ((size_t)ifindex * 2654435761u) & (cap - 1);

	while (t[i].used && t[i].ifindex != ifindex)
		i = (i + 1) & (cap - 1);
	return &t[i];
}

int fc_tmpl_set_ifname(struct fc_tmpl_session *s, uint32_t ifindex, const uint8_t *name,
		       size_t len)
{
	struct ifname *slot;

	while (len > 0 && (name[len - 1] == 0 || name[len - 1] == ' '))
		len--;
	if (len > FC_TMPL_IFNAME_MAX)
		len = FC_TMPL_IFNAME_MAX;
	if (s->capifn == 0 || (s->nifn + 1) * 2 > s->capifn) {
		size_t ncap = s->capifn ? s->capifn * 2 : 16;
		struct ifname *n;

		if (s->nifn >= MAX_IFNAMES) {
			/* full: update existing names only */
			if (s->capifn == 0)
				return FC_ELIMIT;
			slot = ifn_slot(s->ifn, s->capifn, ifindex);
			if (!slot->used)
				return FC_ELIMIT;
			goto store;
		}
		n = calloc(ncap, sizeof(*n));
		if (!n)
			return FC_ENOMEM;
		for (size_t i = 0; i < s->capifn; i++)
			if (s->ifn[i].used)
				*ifn_slot(n, ncap, s->ifn[i].ifindex) = s->ifn[i];
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
	const struct ifname *slot;

	if (s->nifn == 0)
		return NULL;
	slot = ifn_slot(s->ifn, s->capifn, ifindex);
	return slot->used && slot->name[0] ? slot->name : NULL;
}

/* ---- sequence ---- */

void fc_tmpl_seq_update(struct fc_tmpl_engine *e, struct fc_tmpl_session *s, uint32_t seq,
			uint32_t advance, bool known)
{
	struct seq_counters *c = s->key.version == 9 ? &e->seq9 : &e->seq10;

	if (s->seq_valid) {
		int32_t gap = (int32_t)(seq - s->seq_next);

		if (gap > 0) {
			*c->lost += (uint64_t)gap;
		} else if (gap < 0) {
			if (gap >= -REORDER_WINDOW) {
				(*c->reordered)++;
				/* a late message: keep expecting what we expected */
				return;
			}
			(*c->resets)++;
		}
	}
	s->seq_valid = known;
	s->seq_next = seq + advance;
}

/* ---- expiry, persistence ---- */

static void session_expire(struct fc_tmpl_engine *e, struct fc_tmpl_session *s, uint64_t now_ns)
{
	if (e->ttl_ns) {
		size_t i = 0;

		while (i < s->ntmpl) {
			if (now_ns > s->tmpl[i]->last_ns && now_ns - s->tmpl[i]->last_ns > e->ttl_ns) {
				tmpl_remove_at(s, i);
				(*e->expired)++;
			} else {
				i++;
			}
		}
	}
	while (s->held_head && now_ns > s->held_head->recv_ns &&
	       now_ns - s->held_head->recv_ns > e->hold_ns)
		held_drop_oldest(e, s, e->giveup_age);
}

void fc_tmpl_expire(struct fc_tmpl_engine *e, uint64_t now_ns)
{
	/* sessions with nothing left and no traffic for a day (or the TTL, if
	 * longer) are dropped so that port churn cannot fill the session cap */
	uint64_t idle_ns = e->ttl_ns > 86400000000000ull ? e->ttl_ns : 86400000000000ull;
	bool dropped = false;

	for (size_t i = 0; i < e->captab; i++) {
		struct fc_tmpl_session *s = e->tab[i];

		if (!s)
			continue;
		session_expire(e, s, now_ns);
		if (s->ntmpl == 0 && !s->held_head && now_ns > s->last_ns &&
		    now_ns - s->last_ns > idle_ns) {
			session_free(s);
			e->tab[i] = NULL;
			e->ntab--;
			dropped = true;
		}
	}
	if (dropped && tab_resize(e, e->captab) != 0) {
		/* cannot rehash: the table has holes that break probe chains, so
		 * rebuild in place by reinserting every entry */
		for (size_t i = 0; i < e->captab; i++) {
			struct fc_tmpl_session *s = e->tab[i];

			if (s) {
				e->tab[i] = NULL;
				tab_insert(e->tab, e->captab, s);
			}
		}
	}
	if (e->cfg->template_file && e->save_ns) {
		if (e->last_save_ns == 0) {
			e->last_save_ns = now_ns;
		} else if (now_ns > e->last_save_ns && now_ns - e->last_save_ns >= e->save_ns) {
			e->last_save_ns = now_ns;
			if (fc_tmpl_save(e, e->cfg->template_file) != 0)
				(*e->file_save_err)++;
			else
				(*e->file_saved)++;
		}
	}
}

void fc_tmpl_finish(struct fc_tmpl_engine *e)
{
	for (size_t i = 0; i < e->captab; i++) {
		struct fc_tmpl_session *s = e->tab[i];

		while (s && s->held_head)
			held_drop_oldest(e, s, e->giveup_exit);
	}
	if (e->cfg->template_file) {
		if (fc_tmpl_save(e, e->cfg->template_file) != 0)
			(*e->file_save_err)++;
		else
			(*e->file_saved)++;
	}
}

/*
 * File layout (big-endian):
 *   "FCTMPL01"
 *   per session: u8 'S', u8 version, u8 family, 16 addr, u16 port, u32 domain,
 *     u64 rate, u64 init_ms, u16 nsamplers, {u64 id, u64 rate}*,
 *     u16 ntemplates, per template: u16 id, u8 options, u16 nscope,
 *     u16 nfields, u64 last_ns, {u32 pen, u16 id, u16 len}*
 *   u8 'E'
 */
static const char file_magic[8] = {'F', 'C', 'T', 'M', 'P', 'L', '0', '1'};

static void w8(FILE *f, uint64_t v, unsigned n)
{
	uint8_t b[8];

	for (unsigned i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	fwrite(b, 1, n, f);
}

int fc_tmpl_save(struct fc_tmpl_engine *e, const char *path)
{
	char tmp[4096];
	FILE *f;
	int rc = 0, fd;

	/* A fresh name next to the target (no symlink followed, no clash with
	 * another writer), synced before the rename so a crash leaves either
	 * the old file or the whole new one. */
	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		return FC_EINVAL;
	fd = mkstemp(tmp);
	if (fd < 0)
		return FC_ESYS;
	f = fdopen(fd, "wb");
	if (!f) {
		close(fd);
		remove(tmp);
		return FC_ESYS;
	}
	fwrite(file_magic, 1, sizeof(file_magic), f);
	for (size_t i = 0; i < e->captab; i++) {
		const struct fc_tmpl_session *s = e->tab[i];

		if (!s || (s->ntmpl == 0 && s->nsamplers == 0 && s->rate == 0 && s->init_ms == 0))
			continue;
		w8(f, 'S', 1);
		w8(f, s->key.version, 1);
		w8(f, s->key.addr.family, 1);
		fwrite(s->key.addr.a, 1, 16, f);
		w8(f, s->key.port, 2);
		w8(f, s->key.domain, 4);
		w8(f, s->rate, 8);
		w8(f, s->init_ms, 8);
		w8(f, s->nsamplers, 2);
		for (size_t k = 0; k < s->nsamplers; k++) {
			w8(f, s->samplers[k].id, 8);
			w8(f, s->samplers[k].rate, 8);
		}
		w8(f, s->ntmpl, 2);
		for (size_t k = 0; k < s->ntmpl; k++) {
			const struct fc_tmpl *t = s->tmpl[k];

			w8(f, t->id, 2);
			w8(f, t->options, 1);
			w8(f, t->nscope, 2);
			w8(f, t->nfields, 2);
			w8(f, t->last_ns, 8);
			for (uint16_t j = 0; j < t->nfields; j++) {
				w8(f, t->f[j].pen, 4);
				w8(f, t->f[j].id, 2);
				w8(f, t->f[j].len, 2);
			}
		}
	}
	w8(f, 'E', 1);
	if (ferror(f) || fflush(f) != 0 || fsync(fileno(f)) != 0)
		rc = FC_ESYS;
	if (fclose(f) != 0)
		rc = FC_ESYS;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = FC_ESYS;
	if (rc != 0)
		remove(tmp);
	return rc;
}

static int load_session(struct fc_tmpl_engine *e, struct fc_cur *c)
{
	struct fc_tmpl_key k;
	struct fc_tmpl_session *s;
	uint16_t n;
	int err = 0;

	memset(&k, 0, sizeof(k));
	k.version = fc_cur_u8(c);
	k.addr.family = fc_cur_u8(c);
	fc_cur_copy(c, k.addr.a, 16);
	k.port = fc_cur_be16(c);
	k.domain = fc_cur_be32(c);
	if (c->err || (k.version != 9 && k.version != 10) ||
	    (k.addr.family != 4 && k.addr.family != 6))
		return FC_EMALFORMED;
	s = fc_tmpl_session_get(e, &k, 0, &err);
	if (!s)
		return err;
	s->rate = fc_cur_be64(c);
	s->init_ms = fc_cur_be64(c);
	n = fc_cur_be16(c);
	if (c->err)
		return FC_EMALFORMED;
	for (uint16_t i = 0; i < n; i++) {
		uint64_t id = fc_cur_be64(c), rate = fc_cur_be64(c);

		if (c->err)
			return FC_EMALFORMED;
		fc_tmpl_set_sampling(s, true, id, rate);
	}
	n = fc_cur_be16(c);
	for (uint16_t i = 0; i < n && !c->err; i++) {
		size_t cap;
		struct fc_tmpl *t = fc_tmpl_scratch(e, &cap);
		uint64_t last;

		t->id = fc_cur_be16(c);
		t->options = fc_cur_u8(c) != 0;
		t->nscope = fc_cur_be16(c);
		t->nfields = fc_cur_be16(c);
		last = fc_cur_be64(c);
		if (c->err || t->nfields > cap || t->nfields > fc_cur_left(c) / 8 ||
		    t->nscope > t->nfields)
			return FC_EMALFORMED;
		for (uint16_t j = 0; j < t->nfields; j++) {
			t->f[j].pen = fc_cur_be32(c);
			t->f[j].id = fc_cur_be16(c);
			t->f[j].len = fc_cur_be16(c);
		}
		/* a rejected template is counted by fc_tmpl_add; keep loading */
		(void)fc_tmpl_add(e, s, t, last);
	}
	return c->err ? FC_EMALFORMED : 0;
}

int fc_tmpl_load(struct fc_tmpl_engine *e, const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long len;
	struct fc_cur c;
	int rc = FC_EMALFORMED;

	if (!f)
		return FC_ESYS;
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		rc = FC_ESYS;
		goto out;
	}
	buf = malloc(len ? (size_t)len : 1);
	if (!buf) {
		rc = FC_ENOMEM;
		goto out;
	}
	if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
		rc = FC_ESYS;
		goto out;
	}
	fc_cur_init(&c, buf, (size_t)len);
	{
		const uint8_t *m = fc_cur_view(&c, sizeof(file_magic));

		if (!m || memcmp(m, file_magic, sizeof(file_magic)) != 0)
			goto out;
	}
	for (;;) {
		uint8_t tag = fc_cur_u8(&c);

		if (c.err)
			goto out; /* no end marker: truncated file */
		if (tag == 'E') {
			rc = 0;
			break;
		}
		if (tag != 'S')
			goto out;
		rc = load_session(e, &c);
		if (rc != 0)
			goto out;
		rc = FC_EMALFORMED;
	}
out:
	free(buf);
	fclose(f);
	return rc;
}
