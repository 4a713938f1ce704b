/*
 * One worker's data path (see pipeline.h). The sampling policy of
 * --sampling-override / --sampling-default lives here because it applies to
 * every protocol alike, after the decoder has set what the exporter
 * announced.
 */
#include "pipeline/pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/log.h"
#include "decode/decode.h"
#include "enrich/enrich.h"
#include "fc/err.h"
#include "metrics/metrics.h"
#include "template/store.h"

int fc_sampling_rule_parse(const char *s, struct fc_sampling_rule *out)
{
	char buf[128], *eq, *slash, *end;
	unsigned long long rate, len;
	struct fc_sampling_rule r = {0};

	if (strlen(s) >= sizeof(buf))
		return FC_EINVAL;
	strcpy(buf, s);
	eq = strchr(buf, '=');
	if (!eq)
		return FC_EINVAL;
	*eq = '\0';
	rate = strtoull(eq + 1, &end, 10);
	if (end == eq + 1 || *end || rate == 0)
		return FC_EINVAL;
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (fc_addr_parse(&r.prefix, buf) != 0)
		return FC_EINVAL;
	len = r.prefix.family == 4 ? 32 : 128;
	if (slash) {
		unsigned long long l = strtoull(slash + 1, &end, 10);

		if (end == slash + 1 || *end || l > len)
			return FC_EINVAL;
		len = l;
	}
	r.len = (unsigned)len;
	r.rate = rate;
	*out = r;
	return 0;
}

static bool prefix_match(const struct fc_sampling_rule *r, const struct fc_addr *a)
{
	unsigned full = r->len / 8, rest = r->len % 8;

	if (r->prefix.family != a->family)
		return false;
	if (memcmp(r->prefix.a, a->a, full) != 0)
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));

		return (r->prefix.a[full] & mask) == (a->a[full] & mask);
	}
	return true;
}

static void apply_sampling(struct fc_pipeline *p, struct fc_flow *f)
{
	for (size_t i = 0; i < p->n_rules; i++) {
		if (prefix_match(&p->rules[i], &f->sampler_address)) {
			f->sampling_rate = p->rules[i].rate;
			return;
		}
	}
	if (f->sampling_rate == 0 && p->cfg->sampling_default)
		f->sampling_rate = p->cfg->sampling_default;
}

/* One message kind per stream (include/fc/output.h). */
static bool takes(const struct fc_output_inst *o, enum fc_msg_kind kind)
{
	return o->stream == kind || (o->stream == FC_MSG_FLOW && o->ops->own_streams);
}

/* Hands msg (framed, keyed) to every output of its stream. */
static void publish(struct fc_pipeline *p, struct fc_msg *msg, size_t framed_len,
		    const struct fc_addr *key)
{
	if (framed_len == 0) {
		(*p->encode_errors)++;
		return;
	}
	msg->framed = p->frame;
	msg->framed_len = framed_len;
	msg->key = key->a;
	msg->key_len = fc_addr_len(key);
	for (size_t i = 0; i < p->n_outs; i++) {
		if (!takes(&p->outs[i], msg->kind))
			continue;
		if (p->outs[i].ops->write(p->outs[i].priv, msg) != 0)
			(*p->output_drops)++;
	}
}

/* The bytes come from the schema-specific encoders (byte-identical to
 * protobuf-c's, tests/unit/test_pb_flow.c); the protobuf-c message is
 * filled only when an output of the stream renders it (needs_pb). */
static void on_flow(void *ctx, struct fc_flow *f)
{
	struct fc_pipeline *p = ctx;
	struct fc_msg msg = {.kind = FC_MSG_FLOW, .flow = f};

	apply_sampling(p, f);
	fc_enrich_flow(p->enrich, f);
	if (p->needs_pb[FC_MSG_FLOW]) {
		fc_pb_flow_fill(f, &p->pbf);
		msg.pb = &p->pbf.msg.base;
	}
	publish(p, &msg, fc_pb_flow_frame(f, p->frame, sizeof(p->frame)), &f->sampler_address);
	(*p->flows_out)++;
}

static void on_counter(void *ctx, const struct fc_counter *c)
{
	struct fc_pipeline *p = ctx;
	struct fc_msg msg = {.kind = FC_MSG_COUNTER, .counter = c};

	if (!p->counters_routed) {
		/* Never mixed into a flow stream: no counter output, no publish. */
		(*p->counters_unrouted)++;
		return;
	}
	if (p->needs_pb[FC_MSG_COUNTER]) {
		fc_pb_counter_fill(c, &p->pbc);
		msg.pb = &p->pbc.msg.base;
	}
	publish(p, &msg, fc_pb_counter_frame(c, p->frame, sizeof(p->frame)), &c->agent);
	(*p->counters_out)++;
}

static void on_exporter_new(void *ctx, const struct fc_dgram *g, enum fc_proto proto)
{
	struct fc_pipeline *p = ctx;
	char ip[FC_ADDR_STRLEN];

	fc_log_rl(&p->rl_exporter, FC_LOG_INFO, "new exporter %s port %u (%s)",
		  fc_addr_str(&g->src, ip), g->src_port, fc_proto_name(proto));
}

static const char *const tmpl_event_what[FC_TMPL_EV_COUNT] = {
	"learned", "changed", "withdrawn", "expired", "refused", "session refused",
	"session evicted", "held data given up", "options state refused", "file loaded",
	"file refused",
	"stale temporary file removed",
};

/* Events about the template file itself (no exporter). */
static void on_tmpl_file_event(const struct fc_tmpl_event *ev)
{
	if (ev->kind == FC_TMPL_EV_FILE_LOADED)
		fc_log(FC_LOG_INFO, "template file %s: loaded %zu exporter sessions", ev->path,
		       ev->count);
	else if (ev->kind == FC_TMPL_EV_FILE_STALE)
		fc_log(FC_LOG_INFO, "template file: removed %s, left by a save that was killed",
		       ev->path);
	else if (ev->moved_to)
		fc_log(FC_LOG_ERROR, "template file %s refused whole (%s): moved to %s, starting "
				     "without it", ev->path, fc_strerror(ev->err), ev->moved_to);
	else
		fc_log(FC_LOG_ERROR, "template file %s not loaded: %s", ev->path,
		       fc_strerror(ev->err));
}

static void on_tmpl_event(void *ctx, const struct fc_tmpl_event *ev)
{
	struct fc_pipeline *p = ctx;
	char ip[FC_ADDR_STRLEN];
	const char *proto;

	if (!ev->key) {
		on_tmpl_file_event(ev);
		return;
	}
	proto = ev->key->version == 9 ? "nf9" : "ipfix";
	fc_addr_str(&ev->key->addr, ip);
	if (ev->kind == FC_TMPL_EV_SESSION_EVICTED)
		fc_log_rl(&p->rl_evicted, FC_LOG_WARN,
			  "exporter %s port %u (%s) domain %u: template session evicted with %zu "
			  "templates (%s)", ip, ev->key->port, proto, ev->key->domain, ev->count,
			  ev->reason ? ev->reason : "?");
	else if (ev->kind == FC_TMPL_EV_HELD_GIVEN_UP)
		fc_log_rl(&p->rl_evicted, FC_LOG_WARN,
			  "exporter %s port %u (%s) domain %u: data held for template %u given "
			  "up (%s)", ip, ev->key->port, proto, ev->key->domain, ev->tmpl_id,
			  ev->reason ? ev->reason : "?");
	else if (ev->kind == FC_TMPL_EV_OPTIONS_REFUSED)
		fc_log_rl(&p->rl_refused, FC_LOG_WARN,
			  "exporter %s port %u (%s) domain %u: sampling or interface name from "
			  "options data not kept: %s", ip, ev->key->port, proto, ev->key->domain,
			  ev->reason ? ev->reason : fc_strerror(ev->err));
	else if (ev->kind == FC_TMPL_EV_SESSION_REFUSED)
		fc_log_rl(&p->rl_refused, FC_LOG_WARN,
			  "exporter %s port %u (%s) domain %u: template session refused: %s",
			  ip, ev->key->port, proto, ev->key->domain,
			  ev->reason ? ev->reason : fc_strerror(ev->err));
	else if (ev->kind == FC_TMPL_EV_REFUSED)
		fc_log_rl(&p->rl_refused, FC_LOG_WARN,
			  "exporter %s port %u (%s) domain %u: %s template %u refused: %s", ip,
			  ev->key->port, proto, ev->key->domain, ev->options ? "options" : "data",
			  ev->tmpl_id, ev->reason ? ev->reason : fc_strerror(ev->err));
	else
		fc_log_rl(&p->rl_template, FC_LOG_INFO,
			  "exporter %s port %u (%s) domain %u: %s template %u %s", ip, ev->key->port,
			  proto, ev->key->domain, ev->options ? "options" : "data", ev->tmpl_id,
			  (unsigned)ev->kind < FC_TMPL_EV_COUNT ? tmpl_event_what[ev->kind] : "?");
}

int fc_pipeline_init(struct fc_pipeline *p, const struct fc_config *cfg, struct fc_metrics *m,
		     const struct fc_output_inst *outs, size_t n_outs, char *err, size_t errlen)
{
	struct fc_sink sink = {.flow = on_flow, .counter = on_counter,
			       .exporter_new = on_exporter_new, .tmpl_event = on_tmpl_event,
			       .ctx = p};
	int rc;

	memset(p, 0, sizeof(*p));
	p->cfg = cfg;
	p->m = m;
	p->outs = outs;
	p->n_outs = n_outs;
	for (size_t i = 0; i < cfg->sampling_override.n; i++) {
		if (p->n_rules >= sizeof(p->rules) / sizeof(p->rules[0]) ||
		    fc_sampling_rule_parse(cfg->sampling_override.v[i], &p->rules[p->n_rules]) != 0) {
			snprintf(err, errlen, "bad --sampling-override '%s' (want PREFIX/LEN=RATE)",
				 cfg->sampling_override.v[i]);
			return FC_EINVAL;
		}
		p->n_rules++;
	}
	p->flows_out = fc_metrics_counter(m, "flows_published_total", NULL,
					  "flow messages handed to the outputs");
	p->counters_out = fc_metrics_counter(m, "counters_published_total", NULL,
					     "sFlow counter samples (CounterMessages) handed to the outputs");
	p->counters_unrouted = fc_metrics_counter(
		m, "counters_dropped_total", "reason=\"no_counters_output\"",
		"sFlow counter samples not published because no output takes them "
		"(--counters-output, or the kafka output's counter topic)");
	for (size_t i = 0; i < n_outs; i++) {
		p->counters_routed |= takes(&outs[i], FC_MSG_COUNTER);
		for (int k = FC_MSG_FLOW; k <= FC_MSG_COUNTER; k++) {
			if (outs[i].ops->needs_pb && takes(&outs[i], (enum fc_msg_kind)k))
				p->needs_pb[k] = true;
		}
	}
	p->encode_errors = fc_metrics_counter(m, "drops_total", "reason=\"encode\"",
					      "records dropped, by reason");
	p->output_drops = fc_metrics_counter(m, "drops_total", "reason=\"output\"",
					     "records dropped, by reason");
	rc = fc_enrich_new(cfg, m, &p->enrich, err, errlen);
	if (rc != 0)
		return rc;
	p->dec = fc_decoder_new(cfg, m, &sink);
	if (!p->dec) {
		snprintf(err, errlen, "out of memory creating the decoder");
		return FC_ENOMEM;
	}
	return 0;
}

void fc_pipeline_set_worker(struct fc_pipeline *p, unsigned worker)
{
	fc_decoder_set_worker(p->dec, worker);
}

void fc_pipeline_fini(struct fc_pipeline *p)
{
	free(p->exp_slots);
	p->exp_slots = NULL;
	fc_decoder_free(p->dec);
	p->dec = NULL;
	fc_enrich_free(p->enrich);
	p->enrich = NULL;
}

void fc_pipeline_poll(struct fc_pipeline *p)
{
	for (size_t i = 0; i < p->n_outs; i++) {
		if (p->outs[i].ops->poll)
			p->outs[i].ops->poll(p->outs[i].priv);
	}
}

void fc_pipeline_run(struct fc_pipeline *p, const struct fc_dgram *g, int n)
{
	for (int i = 0; i < n; i++) {
		int rc = fc_decode_datagram(p->dec, &g[i]);

		if (rc < 0) {
			char ip[FC_ADDR_STRLEN];

			fc_log_rl(&p->rl_undecodable, FC_LOG_WARN,
				  "exporter %s port %u (%s): datagram of %zu bytes not (fully) decoded: %s",
				  fc_addr_str(&g[i].src, ip), g[i].src_port,
				  fc_proto_name(fc_decode_sniff(g[i].data, g[i].len)), g[i].len,
				  fc_err_name(rc));
		}
	}
	fc_pipeline_poll(p);
}

/* Adds one session to its exporter's gauges (several sessions, by port
 * and domain, share an exporter address). */
static void exporter_gauges_add(void *ctx, const struct fc_tmpl_session_info *s)
{
	struct fc_pipeline *p = ctx;
	char ip[FC_ADDR_STRLEN], labels[96];
	uint64_t *slot[2];

	if (p->n_exp_slots + 2 > p->cap_exp_slots) {
		size_t cap = p->cap_exp_slots ? 2 * p->cap_exp_slots : 64;
		uint64_t **n = realloc(p->exp_slots, cap * sizeof(*n));

		if (!n)
			return; /* the gauges of this exporter wait for the next refresh */
		p->exp_slots = n;
		p->cap_exp_slots = cap;
	}
	snprintf(labels, sizeof(labels), "exporter=\"%s\"", fc_addr_str(&s->key->addr, ip));
	slot[0] = fc_metrics_gauge(p->m, "exporter_templates", labels,
				   "NetFlow v9/IPFIX templates kept for the exporter");
	slot[1] = fc_metrics_gauge(p->m, "exporter_held_bytes", labels,
				   "data bytes held for the exporter until their template arrives");
	*slot[0] += s->templates;
	*slot[1] += s->held_bytes;
	p->exp_slots[p->n_exp_slots++] = slot[0];
	p->exp_slots[p->n_exp_slots++] = slot[1];
}

/* Once a second: what the template store holds, per exporter. Runs on
 * the worker that owns the store, like every write to its registry. */
static void exporter_gauges_refresh(struct fc_pipeline *p, uint64_t mono_ns)
{
	if (mono_ns < p->next_exp_ns)
		return;
	p->next_exp_ns = mono_ns + 1000000000ull;
	for (size_t i = 0; i < p->n_exp_slots; i++)
		*p->exp_slots[i] = 0;
	p->n_exp_slots = 0;
	fc_tmpl_visit_sessions(fc_decoder_templates(p->dec), exporter_gauges_add, p);
}

void fc_pipeline_tick(struct fc_pipeline *p, uint64_t datagram_clock_ns, uint64_t mono_ns)
{
	int rc = fc_enrich_tick(p->enrich, mono_ns);

	if (rc == 1)
		fc_log(FC_LOG_INFO, "enrichment files changed on disk: reloaded");
	else if (rc < 0)
		fc_log(FC_LOG_ERROR, "enrichment reload refused, previous data stays in service: %s",
		       fc_enrich_last_error(p->enrich));
	fc_decoder_tick(p->dec, datagram_clock_ns);
	exporter_gauges_refresh(p, mono_ns);
}

void fc_pipeline_reload(struct fc_pipeline *p)
{
	char err[512];

	if (fc_enrich_reload(p->enrich, err, sizeof(err)) == 0)
		fc_log(FC_LOG_INFO, "SIGHUP: enrichment files reloaded");
	else
		fc_log(FC_LOG_ERROR, "SIGHUP: reload refused, previous data stays in service: %s", err);
}

void fc_pipeline_finish(struct fc_pipeline *p)
{
	fc_decoder_finish(p->dec);
}

/* JSON string of an address (only digits, hex, '.' and ':'; no escaping
 * needed). */
static void json_addr(FILE *out, const struct fc_addr *a)
{
	char ip[FC_ADDR_STRLEN];

	fprintf(out, "\"%s\"", fc_addr_str(a, ip));
}

struct json_ctx {
	FILE *out;
	bool first;
	uint64_t now_ns;
};

static void exporter_json(void *ctx, const struct fc_exporter_info *x)
{
	struct json_ctx *j = ctx;
	bool first = true;

	fputs(j->first ? "\n" : ",\n", j->out);
	j->first = false;
	fputs("{\"address\":", j->out);
	json_addr(j->out, &x->addr);
	fprintf(j->out,
		",\"port\":%u,\"protocol\":\"%s\",\"first_seen\":%llu,\"last_seen\":%llu,"
		"\"datagrams\":%llu,\"flows\":%llu,\"sequence_lost\":%llu,\"decode_errors\":{",
		x->port, fc_proto_name(x->proto), (unsigned long long)(x->first_ns / 1000000000ull),
		(unsigned long long)(x->last_ns / 1000000000ull), (unsigned long long)x->datagrams,
		(unsigned long long)x->flows, (unsigned long long)x->seq_lost);
	for (int e = 0; e < FC_ERR_COUNT; e++) {
		if (!x->errors[e])
			continue;
		fprintf(j->out, "%s\"%s\":%llu", first ? "" : ",", e ? fc_err_name(-e) : "unknown",
			(unsigned long long)x->errors[e]);
		first = false;
	}
	fputs("}}", j->out);
}

int fc_pipeline_exporters_json(struct fc_pipeline *p, FILE *out)
{
	struct json_ctx j = {.out = out, .first = true};

	fputc('[', out);
	(void)fc_decoder_visit_exporters(p->dec, exporter_json, &j);
	fputs("\n]\n", out);
	return ferror(out) ? FC_ESYS : 0;
}

static uint64_t age_s(uint64_t now_ns, uint64_t then_ns)
{
	return now_ns > then_ns ? (now_ns - then_ns) / 1000000000ull : 0;
}

static void template_json(void *ctx, const struct fc_tmpl_key *k, const struct fc_tmpl *t)
{
	struct json_ctx *j = ctx;

	fputs(j->first ? "\n" : ",\n", j->out);
	j->first = false;
	fputs("{\"exporter\":", j->out);
	json_addr(j->out, &k->addr);
	fprintf(j->out,
		",\"port\":%u,\"protocol\":\"%s\",\"domain\":%u,\"id\":%u,\"fields\":%u,"
		"\"kind\":\"%s\",\"age_seconds\":%llu,\"refreshed_seconds_ago\":%llu}",
		k->port, k->version == 9 ? "nf9" : "ipfix", k->domain, t->id, t->nfields,
		t->options ? "options" : "data", (unsigned long long)age_s(j->now_ns, t->learned_ns),
		(unsigned long long)age_s(j->now_ns, t->last_ns));
}

int fc_pipeline_templates_json(struct fc_pipeline *p, FILE *out)
{
	struct json_ctx j = {.out = out, .first = true, .now_ns = fc_decoder_clock_ns(p->dec)};

	fputc('[', out);
	fc_tmpl_visit(fc_decoder_templates(p->dec), template_json, &j);
	fputs("\n]\n", out);
	return ferror(out) ? FC_ESYS : 0;
}
