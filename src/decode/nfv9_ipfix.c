/*
 * Shared NetFlow v9 / IPFIX set walker and record decoder (see
 * nfv9_ipfix.h). References: RFC 3954 §5 (flowsets), RFC 7011 §3.3 (sets),
 * §3.4 (template records, withdrawal §8.1), §7 (variable-length encoding),
 * §3.1 (sequence numbers), RFC 5103 (bi-flows), Cisco NSEL (ASA).
 *
 *   set header (both protocols)        data set
 *   0  set id   2  length (incl. hdr)  records back to back, each laid out by
 *   4  records..., padding             its template; padding < min record len
 *
 * Lengths: every set is a sub-cursor of its own length; a data set loop runs
 * while what remains is >= the template's minimum record length (never 0:
 * fc_tmpl_add rejects such templates), so each iteration consumes at least
 * one byte. The header's record count (v9 Count) is never used.
 */
#include "decode/nfv9_ipfix.h"

#include <stdlib.h>
#include <string.h>

#include "core/uptime.h"
#include "decode/fields.h"
#include "fc/err.h"
#include "metrics/metrics.h"

struct fc_nfx_state {
	struct fc_tmpl_store *tmpl;  /* borrowed from the front door */
	uint64_t *ie_bad_length;      /* fields skipped: unexpected length */
	uint64_t *options_records;    /* options data records decoded */
	uint64_t *reverse_flows;      /* RFC 5103 / NSEL responder flows emitted */
	uint64_t *sets_reserved;      /* sets with a reserved set id, skipped */
	uint64_t *records_truncated;  /* records cut short by the end of their set */
	uint64_t *templates_malformed;/* template records that do not parse */
};

struct fc_nfx_state *fc_nfx_state_new(struct fc_metrics *m, struct fc_tmpl_store *tmpl)
{
	struct fc_nfx_state *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->tmpl = tmpl;
	s->ie_bad_length = fc_metrics_counter(m, "ie_bad_length_total", NULL,
		"v9/IPFIX fields skipped because their length is not one the element allows");
	s->options_records = fc_metrics_counter(m, "options_records_total", NULL,
						"v9/IPFIX options data records decoded");
	s->reverse_flows = fc_metrics_counter(m, "reverse_flows_total", NULL,
		"flows emitted for the reverse direction of RFC 5103 bi-flows and NSEL responders");
	s->sets_reserved = fc_metrics_counter(m, "sets_reserved_id_total", NULL,
					      "v9/IPFIX sets with a reserved set id, skipped");
	s->records_truncated = fc_metrics_counter(m, "records_truncated_total", NULL,
		"v9/IPFIX data records cut short by the end of their set");
	s->templates_malformed = fc_metrics_counter(m, "templates_rejected_total",
						    "reason=\"malformed\"",
						    "templates rejected, by reason");
	return s;
}

void fc_nfx_state_free(struct fc_nfx_state *s)
{
	free(s);
}

void fc_nfx_resolve(struct fc_tmpl *t)
{
	for (uint16_t k = 0; k < t->nfields; k++)
		t->f[k].ie = fc_ie_lookup(t->f[k].pen, t->f[k].id);
	fc_ie_plan_compile(t);
}

static uint64_t pair_rate(uint64_t interval, uint64_t space)
{
	/* RFC 5476 §6.5.2: select interval packets, then skip space packets */
	return interval ? (interval + space) / interval : 0;
}

static uint64_t rec_rate(const struct fc_nfx_rec *r)
{
	if (r->samp_interval)
		return r->samp_interval;
	if (r->samp_random)
		return r->samp_random;
	return pair_rate(r->pkt_interval, r->pkt_space);
}

static uint64_t resolve_time(const struct fc_nfx_msg *m, const struct fc_tmpl_session *s,
			     const struct fc_nfx_rec *r, bool start)
{
	uint32_t abs_bit = start ? FC_SEEN_ABS_START : FC_SEEN_ABS_END;
	uint32_t delta_bit = start ? FC_SEEN_DELTA_START : FC_SEEN_DELTA_END;
	uint32_t up_bit = start ? FC_SEEN_UP_START : FC_SEEN_UP_END;

	if (r->seen & abs_bit)
		return start ? r->abs_start_ns : r->abs_end_ns;
	if (r->seen & delta_bit) {
		uint64_t d = (start ? r->delta_start_us : r->delta_end_us) * 1000ull;

		return m->export_ns > d ? m->export_ns - d : 0;
	}
	if (r->seen & up_bit) {
		uint32_t up = start ? r->up_start : r->up_end;
		uint64_t init;

		if (m->p->version == 9)
			return fc_uptime_to_unix_ns(m->export_ns, m->uptime_ms, up);
		/* IPFIX flowStart/EndSysUpTime: ms since systemInitTimeMilliseconds,
		 * from this record or the session's options data */
		init = (r->seen & FC_SEEN_INIT) ? r->init_ms : fc_tmpl_init_ms(s);
		return init ? (init + up) * 1000000ull : 0;
	}
	if (r->seen & FC_SEEN_OBS_MS)
		return r->obs_ms * 1000000ull;
	return 0;
}

static void swap_addr(struct fc_addr *a, struct fc_addr *b)
{
	struct fc_addr t = *a;

	*a = *b;
	*b = t;
}

static void swap_u32(uint32_t *a, uint32_t *b)
{
	uint32_t t = *a;

	*a = *b;
	*b = t;
}

/* The reverse direction of f: endpoints swapped, counters given. */
static void emit_reverse(struct fc_nfx_ctx *x, struct fc_flow *f,
			 uint64_t bytes, uint64_t packets, uint32_t tcp_flags, uint32_t tos)
{
	const char *n;
	uint64_t mac;

	swap_addr(&f->src_addr, &f->dst_addr);
	swap_addr(&f->src_addr_nat, &f->dst_addr_nat);
	swap_u32(&f->src_port, &f->dst_port);
	swap_u32(&f->src_port_nat, &f->dst_port_nat);
	swap_u32(&f->src_as, &f->dst_as);
	swap_u32(&f->src_net, &f->dst_net);
	swap_u32(&f->in_if, &f->out_if);
	swap_u32(&f->src_vlan, &f->dst_vlan);
	mac = f->src_mac;
	f->src_mac = f->dst_mac;
	f->dst_mac = mac;
	n = f->in_if_name;
	f->in_if_name = f->out_if_name;
	f->out_if_name = n;
	f->bytes = bytes;
	f->packets = packets;
	f->tcp_flags = tcp_flags;
	f->ip_tos = tos;
	f->reverse = true;
	/* The sink enriched f in place as the forward flow. */
	fc_flow_clear_enrichment(f);
	(*x->s->reverse_flows)++;
	fc_emit_flow(x->out, f);
}

static void flow_record(struct fc_nfx_ctx *x, const struct fc_nfx_msg *m,
			struct fc_tmpl_session *s, struct fc_nfx_rec *r)
{
	struct fc_flow *f = &r->f;
	uint64_t rate;

	f->type = m->p->type;
	f->time_received_ns = m->g->time_ns;
	f->sequence_num = m->seq;
	f->sampler_address = m->g->src;
	f->exporter_port = m->g->src_port;
	if (f->observation_domain_id == 0)
		f->observation_domain_id = m->domain;
	/* counters: delta, else post-*, else total, else NSEL initiator */
	/* only when the delta element is absent: a delta of 0 next to a
	 * non-zero total means "nothing new", not "use the total" */
	if (!(r->seen & FC_SEEN_BYTES))
		f->bytes = r->post_bytes ? r->post_bytes
			   : r->total_bytes ? r->total_bytes : r->init_octets;
	if (!(r->seen & FC_SEEN_PACKETS))
		f->packets = r->post_packets ? r->post_packets
			     : r->total_packets ? r->total_packets : r->init_packets;
	if (f->etype == 0)
		f->etype = f->src_addr.family == 6 ? 0x86dd
			   : f->src_addr.family == 4 ? 0x0800 : 0;
	f->time_flow_start_ns = resolve_time(m, s, r, true);
	f->time_flow_end_ns = resolve_time(m, s, r, false);
	if (f->time_flow_start_ns == 0)
		f->time_flow_start_ns = f->time_flow_end_ns;
	if (f->time_flow_end_ns == 0)
		f->time_flow_end_ns = f->time_flow_start_ns;
	rate = rec_rate(r);
	f->sampling_rate = rate ? rate : fc_tmpl_sampling_rate(s, r->seen & FC_SEEN_SAMPLER,
								f->sampler_id);
	if (f->in_if)
		f->in_if_name = fc_tmpl_ifname(s, f->in_if);
	if (f->out_if)
		f->out_if_name = fc_tmpl_ifname(s, f->out_if);
	fc_emit_flow(x->out, f);

	/* RFC 5103: one message per direction when the reverse one carried
	 * traffic; NSEL responder counters likewise. The sink may have changed
	 * f (enrichment), so the forward view is rebuilt only where needed. */
	if (r->rev_bytes || r->rev_packets)
		emit_reverse(x, f, r->rev_bytes, r->rev_packets, r->rev_tcp_flags, r->rev_tos);
	else if (r->resp_octets || r->resp_packets)
		emit_reverse(x, f, r->resp_octets, r->resp_packets, f->tcp_flags, f->ip_tos);
}

static void options_record(struct fc_nfx_ctx *x, struct fc_tmpl_session *s,
			   const struct fc_nfx_rec *r)
{
	uint64_t rate = rec_rate(r);

	(*x->s->options_records)++;
	if (rate)
		fc_tmpl_set_sampling(s, r->seen & FC_SEEN_SAMPLER, r->f.sampler_id, rate);
	if (r->seen & FC_SEEN_INIT)
		fc_tmpl_set_init_ms(s, r->init_ms);
	if (r->seen & FC_SEEN_IFINDEX) {
		/* a failure only loses a name for enrichment; not a decode error */
		if (r->seen & FC_SEEN_IFNAME)
			(void)fc_tmpl_set_ifname(s, r->f.in_if, r->ifname, r->ifname_len);
		else if (r->seen & FC_SEEN_IFDESC)
			(void)fc_tmpl_set_ifname(s, r->f.in_if, r->ifdesc, r->ifdesc_len);
	}
}

/* One decoded record: counted, then turned into flows or options state. */
static void record_done(struct fc_nfx_ctx *x, struct fc_nfx_msg *m, struct fc_tmpl_session *s,
			const struct fc_tmpl *t, struct fc_nfx_rec *r)
{
	if (r->bad_len)
		*x->s->ie_bad_length += r->bad_len;
	m->data_records++;
	if (t->options)
		options_record(x, s, r);
	else
		flow_record(x, m, s, r);
}

/* Decodes the records of one data set (c holds them, set header removed). */
static int data_records(struct fc_nfx_ctx *x, struct fc_nfx_msg *m, struct fc_tmpl_session *s,
			const struct fc_tmpl *t, struct fc_cur *c)
{
	struct fc_nfx_rec r;

	/* A set's tail shorter than a record is padding. With a plan, a
	 * record is taken with one bounds check (fixlen == minlen without
	 * variable-length fields) or checked per variable length; without
	 * one (fc_ie_plan_compile: a record no set can carry), field by
	 * field. */
	while (fc_cur_left(c) >= t->minlen) {
		memset(&r, 0, sizeof(r));
		if (!(t->plan ? fc_ie_plan_record(t, &r, c) : fc_ie_fields_run(t, &r, c))) {
			/* the last record runs past its set: not a record */
			(*x->s->records_truncated)++;
			return FC_ETRUNC;
		}
		record_done(x, m, s, t, &r);
	}
	return 0;
}

/* Data held for template t->id, decoded now that it is known. */
static void release_held(struct fc_nfx_ctx *x, const struct fc_nfx_msg *m,
			 struct fc_tmpl_session *s, const struct fc_tmpl *t)
{
	struct fc_tmpl_held *h;

	while ((h = fc_tmpl_held_take(x->s->tmpl, s, t->id)) != NULL) {
		struct fc_nfx_msg hm = *m;
		struct fc_dgram hg = *m->g;
		struct fc_cur c;

		/* the records belong to the message they came in */
		hg.time_ns = h->recv_ns;
		hm.g = &hg;
		hm.export_ns = h->export_ns;
		hm.uptime_ms = h->uptime_ms;
		hm.seq = h->seq;
		fc_cur_init(&c, h->data, h->len);
		(void)data_records(x, &hm, s, t, &c);
		fc_tmpl_held_release(x->s->tmpl, h);
	}
}

static int template_set(struct fc_nfx_ctx *x, struct fc_nfx_msg *m, struct fc_tmpl_session *s,
			struct fc_cur *c, bool options)
{
	const struct fc_nfx_state *st = x->s;
	int rc = 0;

	for (;;) {
		size_t cap;
		struct fc_tmpl *t = fc_tmpl_scratch(x->s->tmpl, &cap);
		int r = m->p->read_template(c, options, t, cap);
		const struct fc_tmpl *added;

		if (r == FC_NFX_TR_END)
			break;
		if (r < 0) {
			(*st->templates_malformed)++;
			return r;
		}
		switch (r) {
		case FC_NFX_TR_WITHDRAW:
			fc_tmpl_withdraw(x->s->tmpl, s, t->id);
			break;
		case FC_NFX_TR_WITHDRAW_ALL:
			fc_tmpl_withdraw_all(x->s->tmpl, s, options);
			break;
		case FC_NFX_TR_TOO_MANY:
		case FC_NFX_TR_TEMPLATE:
			t->options = options;
			/* TOO_MANY: only cap fields were stored, and the store
			 * refuses it before looking at any */
			if (r == FC_NFX_TR_TEMPLATE)
				fc_nfx_resolve(t);
			r = fc_tmpl_add(x->s->tmpl, s, t, m->g->time_ns);
			if (r < 0) {
				if (rc == 0)
					rc = r;
				break;
			}
			added = fc_tmpl_find(s, t->id);
			if (added)
				release_held(x, m, s, added);
			break;
		default:
			return FC_EMALFORMED;
		}
	}
	return rc;
}

static int data_set(struct fc_nfx_ctx *x, struct fc_nfx_msg *m, struct fc_tmpl_session *s,
		    uint16_t id, struct fc_cur *c)
{
	const struct fc_tmpl *t = fc_tmpl_find(s, id);

	if (!t) {
		struct fc_tmpl_held ctx;
		size_t len = fc_cur_left(c);

		m->uncounted = true;
		if (len == 0)
			return 0;
		memset(&ctx, 0, sizeof(ctx));
		ctx.tmpl_id = id;
		ctx.recv_ns = m->g->time_ns;
		ctx.export_ns = m->export_ns;
		ctx.uptime_ms = m->uptime_ms;
		ctx.seq = m->seq;
		return fc_tmpl_hold(x->s->tmpl, s, &ctx, fc_cur_view(c, len), len) == 0
			       ? 0 : FC_ENOTEMPLATE;
	}
	return data_records(x, m, s, t, c);
}

int fc_nfx_walk(struct fc_nfx_ctx *x, struct fc_nfx_msg *m, struct fc_cur *c)
{
	struct fc_tmpl_key key;
	struct fc_tmpl_session *s;
	int err = 0, rc = 0;

	memset(&key, 0, sizeof(key));
	key.version = m->p->version;
	key.addr = m->g->src;
	key.port = m->g->src_port;
	key.domain = m->domain;
	s = fc_tmpl_session_get(x->s->tmpl, &key, m->g->time_ns, &err);
	if (!s)
		return err;

	/* Sets to the end of the message; fewer than 4 bytes left is padding. */
	while (fc_cur_left(c) >= 4) {
		uint16_t id = fc_cur_be16(c);
		uint16_t len = fc_cur_be16(c);
		struct fc_cur set;
		int r;

		if (len < 4) {
			/* a length that cannot hold its own header: nothing after
			 * it can be located */
			rc = rc ? rc : FC_EMALFORMED;
			break;
		}
		if ((size_t)len - 4 > fc_cur_left(c)) {
			/* The last set runs past the message: decode the whole
			 * records that did arrive (as tshark does), report it. */
			rc = rc ? rc : FC_ETRUNC;
			len = (uint16_t)(fc_cur_left(c) + 4);
		}
		fc_cur_sub(c, (size_t)len - 4, &set);
		if (id == m->p->tmpl_set_id)
			r = template_set(x, m, s, &set, false);
		else if (id == m->p->opt_set_id)
			r = template_set(x, m, s, &set, true);
		else if (id >= 256)
			r = data_set(x, m, s, id, &set);
		else {
			(*x->s->sets_reserved)++;
			r = 0;
		}
		if (r < 0 && rc == 0)
			rc = r;
	}
	if (m->p->version == 9)
		*x->out->exp_seq_lost += fc_tmpl_seq_update(x->s->tmpl, s, m->seq, 1, true);
	else
		*x->out->exp_seq_lost += fc_tmpl_seq_update(x->s->tmpl, s, m->seq, m->data_records,
							    !m->uncounted);
	return rc;
}
