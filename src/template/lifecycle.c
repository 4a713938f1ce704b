/*
 * The template store's lifecycle (see store.h): limits taken from the
 * filled config, counters registered once, events handed to the hooks,
 * expiry of templates (RFC 7011 §8.4 template lifetime over UDP; RFC 3954
 * §5.2 refresh) and of held data, the periodic and final save, and
 * memory handed back to the system after large releases (glibc keeps
 * freed heap pages otherwise: malloc_trim).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__ /* defined by the headers above */
#include <malloc.h>
#endif

#include "config/config.h"
#include "fc/err.h"
#include "metrics/metrics.h"
#include "template/internal.h"

void tmpl_event(struct fc_tmpl_store *e, enum fc_tmpl_event_kind kind,
		const struct fc_tmpl_key *key, uint16_t id, bool options, int err)
{
	struct fc_tmpl_event ev = {
		.kind = kind, .key = key, .tmpl_id = id, .options = options, .err = err,
	};

	tmpl_report(e, &ev);
}

void tmpl_report(struct fc_tmpl_store *e, const struct fc_tmpl_event *ev)
{
	if (e->hooks.event)
		e->hooks.event(e->hooks.ctx, ev);
}

static void register_counters(struct fc_tmpl_store *e, struct fc_metrics *m)
{
	static const char rej[] = "templates rejected, by reason";
	static const char gu[] = "data sets held for a missing template and finally given up, by reason";
	static const char os[] = "sampler rates and interface names from options data not kept, "
				 "by reason";
	static const char sr[] = "exporter sessions (addr, port, domain) refused";
	static const char ev[] = "least recently used exporter sessions evicted with their "
				 "templates and held data, by reason";

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
	e->rej_memory = fc_metrics_counter(m, "templates_rejected_total", "reason=\"memory\"", rej);
	e->sess_cap = fc_metrics_counter(m, "template_sessions_rejected_total",
					 "reason=\"session_cap\"", sr);
	e->sess_nomem = fc_metrics_counter(m, "template_sessions_rejected_total", "reason=\"nomem\"",
					   sr);
	e->sess_memory = fc_metrics_counter(m, "template_sessions_rejected_total",
					    "reason=\"memory\"", sr);
	e->evict_cap = fc_metrics_counter(m, "template_sessions_evicted_total",
					  "reason=\"session_cap\"", ev);
	e->evict_memory = fc_metrics_counter(m, "template_sessions_evicted_total",
					     "reason=\"memory\"", ev);
	e->tmpl_evicted = fc_metrics_counter(m, "templates_evicted_total", NULL,
					     "templates dropped with their evicted session");
	e->opt_memory = fc_metrics_counter(m, "options_state_refused_total", "reason=\"memory\"", os);
	e->opt_nomem = fc_metrics_counter(m, "options_state_refused_total", "reason=\"nomem\"", os);
	e->mem_gauge = fc_metrics_gauge(m, "template_memory_bytes", NULL,
					"bytes held by the template store (sessions, templates, "
					"options state, held data), within --template-memory");
	e->held = fc_metrics_counter(m, "data_sets_held_total", NULL,
				     "data sets held because their template was not known yet");
	e->released = fc_metrics_counter(m, "data_sets_released_total", NULL,
					 "held data sets decoded when their template arrived");
	e->giveup_age = fc_metrics_counter(m, "data_sets_given_up_total", "reason=\"age\"", gu);
	e->giveup_room = fc_metrics_counter(m, "data_sets_given_up_total", "reason=\"hold_bytes\"", gu);
	e->giveup_big = fc_metrics_counter(m, "data_sets_given_up_total", "reason=\"too_big\"", gu);
	e->giveup_exit = fc_metrics_counter(m, "data_sets_given_up_total", "reason=\"exit\"", gu);
	e->giveup_nomem = fc_metrics_counter(m, "data_sets_given_up_total", "reason=\"nomem\"", gu);
	e->giveup_off = fc_metrics_counter(m, "data_sets_given_up_total", "reason=\"hold_off\"", gu);
	e->giveup_memory = fc_metrics_counter(m, "data_sets_given_up_total", "reason=\"memory\"", gu);
	e->giveup_evicted = fc_metrics_counter(m, "data_sets_given_up_total",
					       "reason=\"session_evicted\"", gu);
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
	e->file_refused = fc_metrics_counter(m, "template_file_refused_total", NULL,
					     "template files refused whole (damaged, truncated, "
					     "foreign) and moved aside");
	e->file_stale = fc_metrics_counter(m, "template_file_stale_removed_total", NULL,
					   "temporary files of a killed save removed at start");
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


struct fc_tmpl_store *fc_tmpl_store_new(const struct fc_config *cfg, struct fc_metrics *m,
					const struct fc_tmpl_hooks *hooks)
{
	struct fc_tmpl_store *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->cfg = cfg;
	if (hooks)
		e->hooks = *hooks;
	/* The option table owns every default and bound (src/config/config.c);
	 * the store takes the filled config as it is. */
	e->max_sessions = (size_t)cfg->template_max_exporters;
	e->max_templates = (size_t)cfg->template_max_per_exporter;
	e->max_fields = (size_t)cfg->template_max_fields;
	e->hold_bytes = (size_t)cfg->hold_bytes;
	e->hold_ns = cfg->hold_seconds * 1000000000ull;
	e->ttl_ns = cfg->template_ttl * 1000000000ull;
	e->save_ns = cfg->template_save_interval * 1000000000ull;
	/* one budget for the process: each worker's store takes its share */
	e->mem_budget = (size_t)(cfg->template_memory / (cfg->workers ? cfg->workers : 1));
	register_counters(e, m);
	/* each field may have a plan step (fc_tmpl_steps) */
	e->scratch = malloc(sizeof(struct fc_tmpl) +
			    e->max_fields * (sizeof(struct fc_tmpl_field) + sizeof(struct fc_tmpl_step)));
	if (!e->scratch || tmpl_sessions_init(e) != 0)
		goto fail;
	if (cfg->template_file)
		tmpl_file_start(e);
	return e;
fail:
	fc_tmpl_store_free(e);
	return NULL;
}

void fc_tmpl_store_limits(const struct fc_tmpl_store *e, struct fc_tmpl_limits *out)
{
	out->max_sessions = e->max_sessions;
	out->max_templates = e->max_templates;
	out->max_fields = e->max_fields;
	out->hold_bytes = e->hold_bytes;
	out->hold_seconds = e->hold_ns / 1000000000ull;
	out->ttl_seconds = e->ttl_ns / 1000000000ull;
	out->save_seconds = e->save_ns / 1000000000ull;
	out->memory_bytes = e->mem_budget;
	out->ignore_port = e->cfg->template_ignore_port;
}

void fc_tmpl_store_set_worker(struct fc_tmpl_store *e, unsigned worker)
{
	e->worker = worker;
}

void fc_tmpl_store_free(struct fc_tmpl_store *e)
{
	if (!e)
		return;
	for (size_t i = 0; e->tab && i < e->captab; i++)
		if (e->tab[i])
			tmpl_session_free(e->tab[i]);
	free(e->tab);
	free(e->scratch);
	free(e);
}

static void save(struct fc_tmpl_store *e)
{
	char path[4096];

	if (tmpl_file_name(e, path, sizeof(path)) != 0 || fc_tmpl_save(e, path) != 0) {
		(*e->file_save_err)++;
		return;
	}
	(*e->file_saved)++;
	tmpl_file_saved(e);
}

static void session_expire(struct fc_tmpl_store *e, struct fc_tmpl_session *s, uint64_t now_ns)
{
	if (e->ttl_ns) {
		size_t i = 0;

		while (i < s->ntmpl) {
			if (now_ns > s->tmpl[i]->last_ns && now_ns - s->tmpl[i]->last_ns > e->ttl_ns) {
				uint16_t id = s->tmpl[i]->id;
				bool options = s->tmpl[i]->options;

				tmpl_remove_at(e, s, i);
				(*e->expired)++;
				tmpl_event(e, FC_TMPL_EV_EXPIRED, &s->key, id, options, 0);
			} else {
				i++;
			}
		}
	}
	while (s->held_head && now_ns > s->held_head->recv_ns &&
	       now_ns - s->held_head->recv_ns > e->hold_ns)
		tmpl_held_drop_oldest(e, s, e->giveup_age);
}

void fc_tmpl_expire(struct fc_tmpl_store *e, uint64_t now_ns)
{
	/* sessions with nothing left and no traffic for a day (or the TTL, if
	 * longer) are dropped so that port churn cannot fill the session cap */
	uint64_t idle_ns = e->ttl_ns > 86400000000000ull ? e->ttl_ns : 86400000000000ull;

	for (size_t i = 0; i < e->captab;) {
		struct fc_tmpl_session *s = e->tab[i];

		if (!s) {
			i++;
			continue;
		}
		session_expire(e, s, now_ns);
		if (s->ntmpl == 0 && !s->held_head && now_ns > s->last_ns &&
		    now_ns - s->last_ns > idle_ns) {
			/* a later entry may move into slot i: look at it again
			 * (one moved back across the end was seen already; a
			 * second expiry pass over it changes nothing) */
			tmpl_session_delete(e, i, e->giveup_age);
			continue;
		}
		i++;
	}
	if (e->mem_freed >= TMPL_TRIM_BYTES) {
		e->mem_freed = 0;
#ifdef __GLIBC__
		malloc_trim(0);
#endif
	}
	if (e->cfg->template_file && e->save_ns) {
		if (e->last_save_ns == 0) {
			e->last_save_ns = now_ns;
		} else if (now_ns > e->last_save_ns && now_ns - e->last_save_ns >= e->save_ns) {
			e->last_save_ns = now_ns;
			save(e);
		}
	}
}

void fc_tmpl_finish(struct fc_tmpl_store *e)
{
	for (size_t i = 0; i < e->captab; i++) {
		struct fc_tmpl_session *s = e->tab[i];

		while (s && s->held_head)
			tmpl_held_drop_oldest(e, s, e->giveup_exit);
	}
	if (e->cfg->template_file)
		save(e);
}
