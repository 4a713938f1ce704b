/*
 * One flow as a JSON object in the collector's `--output json` format:
 * flow.proto field names, addresses and MACs as text, `type` and
 * `flow_direction` as their enum names, numbers as numbers, and zero or
 * empty fields left out as proto3 JSON does. flowgen prints what it sent in
 * this form so that tools/flowgen/roundtrip.py can compare it with what the
 * collector decoded.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "flowgen.h"

struct jw {
	char *buf;
	size_t len, cap;
	bool err, first;
};

static void jw_printf(struct jw *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void jw_printf(struct jw *j, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (j->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(j->buf + j->len, j->cap - j->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= j->cap - j->len) {
		j->err = true;
		return;
	}
	j->len += (size_t)n;
}

static void key(struct jw *j, const char *k)
{
	jw_printf(j, "%s\"%s\":", j->first ? "" : ",", k);
	j->first = false;
}

static void num(struct jw *j, const char *k, uint64_t v)
{
	if (!v)
		return;
	key(j, k);
	jw_printf(j, "%" PRIu64, v);
}

static void addr(struct jw *j, const char *k, const struct fc_addr *a)
{
	char s[FC_ADDR_STRLEN];

	if (!a->family)
		return;
	key(j, k);
	jw_printf(j, "\"%s\"", fc_addr_str(a, s));
}

static void mac(struct jw *j, const char *k, uint64_t m)
{
	if (!m)
		return;
	key(j, k);
	jw_printf(j, "\"%02x:%02x:%02x:%02x:%02x:%02x\"", (unsigned)(m >> 40) & 0xff,
		  (unsigned)(m >> 32) & 0xff, (unsigned)(m >> 24) & 0xff, (unsigned)(m >> 16) & 0xff,
		  (unsigned)(m >> 8) & 0xff, (unsigned)m & 0xff);
}

static void str(struct jw *j, const char *k, const char *s)
{
	if (!s || !*s)
		return;
	key(j, k);
	jw_printf(j, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			jw_printf(j, "\\%c", c);
		else if (c < 0x20)
			jw_printf(j, "\\u%04x", c);
		else
			jw_printf(j, "%c", c);
	}
	jw_printf(j, "\"");
}

static void arr(struct jw *j, const char *k, const uint32_t *v, uint32_t n)
{
	if (!n)
		return;
	key(j, k);
	jw_printf(j, "[");
	for (uint32_t i = 0; i < n; i++)
		jw_printf(j, "%s%" PRIu32, i ? "," : "", v[i]);
	jw_printf(j, "]");
}

static uint64_t scaled(uint64_t v, uint64_t rate)
{
	if (rate <= 1)
		return v;
	return v > UINT64_MAX / rate ? UINT64_MAX : v * rate;
}

size_t fg_flow_json(const struct fc_flow *f, char *buf, size_t cap)
{
	static const char *const types[] = {"FLOWUNKNOWN", "SFLOW_5", "NETFLOW_V5", "NETFLOW_V9",
					    "IPFIX"};
	static const char *const dirs[] = {"DIRECTION_UNKNOWN", "INGRESS", "EGRESS"};
	struct jw j = {.buf = buf, .cap = cap, .first = true};

	jw_printf(&j, "{");
	if (f->type != FC_FLOW_UNKNOWN && (unsigned)f->type < 5) {
		key(&j, "type");
		jw_printf(&j, "\"%s\"", types[f->type]);
	}
	num(&j, "time_received_ns", f->time_received_ns);
	num(&j, "sequence_num", f->sequence_num);
	num(&j, "sampling_rate", f->sampling_rate);
	addr(&j, "sampler_address", &f->sampler_address);
	num(&j, "time_flow_start_ns", f->time_flow_start_ns);
	num(&j, "time_flow_end_ns", f->time_flow_end_ns);
	num(&j, "bytes", f->bytes);
	num(&j, "packets", f->packets);
	addr(&j, "src_addr", &f->src_addr);
	addr(&j, "dst_addr", &f->dst_addr);
	num(&j, "etype", f->etype);
	num(&j, "proto", f->proto);
	num(&j, "src_port", f->src_port);
	num(&j, "dst_port", f->dst_port);
	num(&j, "in_if", f->in_if);
	num(&j, "out_if", f->out_if);
	mac(&j, "src_mac", f->src_mac);
	mac(&j, "dst_mac", f->dst_mac);
	num(&j, "src_vlan", f->src_vlan);
	num(&j, "dst_vlan", f->dst_vlan);
	num(&j, "vlan_id", f->vlan_id);
	num(&j, "ip_tos", f->ip_tos);
	num(&j, "forwarding_status", f->forwarding_status);
	num(&j, "ip_ttl", f->ip_ttl);
	num(&j, "ip_flags", f->ip_flags);
	num(&j, "tcp_flags", f->tcp_flags);
	num(&j, "icmp_type", f->icmp_type);
	num(&j, "icmp_code", f->icmp_code);
	num(&j, "ipv6_flow_label", f->ipv6_flow_label);
	num(&j, "fragment_id", f->fragment_id);
	num(&j, "fragment_offset", f->fragment_offset);
	num(&j, "src_as", f->src_as);
	num(&j, "dst_as", f->dst_as);
	addr(&j, "next_hop", &f->next_hop);
	num(&j, "next_hop_as", f->next_hop_as);
	num(&j, "src_net", f->src_net);
	num(&j, "dst_net", f->dst_net);
	addr(&j, "bgp_next_hop", &f->bgp_next_hop);
	arr(&j, "bgp_communities", f->bgp_communities, f->n_bgp_communities);
	arr(&j, "as_path", f->as_path, f->n_as_path);
	arr(&j, "mpls_ttl", f->mpls_ttl, f->n_mpls);
	arr(&j, "mpls_label", f->mpls_label, f->n_mpls);
	num(&j, "observation_domain_id", f->observation_domain_id);
	num(&j, "observation_point_id", f->observation_point_id);
	str(&j, "src_country", f->src_country);
	str(&j, "dst_country", f->dst_country);
	str(&j, "exporter_name", f->exporter_name);
	num(&j, "exporter_port", f->exporter_port);
	/* On every flow, as the collector writes them: scaled by the rate,
	 * the raw value when the rate is 1 or unknown. */
	num(&j, "bytes_scaled", scaled(f->bytes, f->sampling_rate));
	num(&j, "packets_scaled", scaled(f->packets, f->sampling_rate));
	if (f->flow_direction && f->flow_direction < 3) {
		key(&j, "flow_direction");
		jw_printf(&j, "\"%s\"", dirs[f->flow_direction]);
	}
	if (f->reverse) {
		key(&j, "reverse");
		jw_printf(&j, "true");
	}
	num(&j, "flow_end_reason", f->flow_end_reason);
	num(&j, "sampler_id", f->sampler_id);
	if (f->sampling_rate == 0) {
		key(&j, "sampling_rate_unknown");
		jw_printf(&j, "true");
	}
	jw_printf(&j, "}");
	return j.err ? 0 : j.len;
}
