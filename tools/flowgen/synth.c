/*
 * flowgen's flow model: a seeded splitmix64 PRNG and the draw of one
 * plausible flow (addresses from a few public-looking IPv4 ranges and from
 * 2001:db8::/32 and 2a0x::/16, well-known and ephemeral ports, TCP / UDP /
 * ICMP(v6), heavy-tailed packet counts, whole-millisecond times).
 * Same seed, same flows: that is what makes pcaps and tests reproducible.
 */
#include <string.h>

#include "flowgen.h"

uint64_t fg_rand(struct fg_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint64_t fg_range(struct fg_rng *r, uint64_t lo, uint64_t hi)
{
	uint64_t span = hi - lo + 1;

	return span == 0 ? fg_rand(r) : lo + fg_rand(r) % span;
}

bool fg_chance(struct fg_rng *r, unsigned pct)
{
	return fg_rand(r) % 100 < pct;
}

void fg_gen_init(struct fg_gen *g, enum fg_proto proto, uint64_t seed, uint64_t start_ms)
{
	memset(g, 0, sizeof(*g));
	g->rng.s = seed;
	g->proto = proto;
	g->template_every = 20;
	/* Up between one hour and ten days: far from the 32-bit ms wrap. */
	g->boot_ms = start_ms - fg_range(&g->rng, 3600000, 864000000);
	g->samplers[0] = (struct fg_sampler){.id = 1, .rate = 64};
	g->samplers[1] = (struct fg_sampler){.id = 2, .rate = 1000};
	fc_addr_set4u(&g->sflow_agent, 0xc000020a); /* 192.0.2.10 */
	fc_addr_set4u(&g->exporter, 0x7f000001);
	g->exporter_port = 49152;
}

static void rand_v4(struct fg_rng *r, struct fc_addr *a)
{
	/* A handful of /16s so that prefixes repeat as in real traffic. */
	static const uint32_t nets[] = {0x08080000, 0x5db8d800, 0xc6336400, 0x68100000,
					0x2d3c0000, 0x97650000, 0xb9c70000, 0x01010000};
	uint32_t v;

	if (fg_chance(r, 70))
		v = nets[fg_range(r, 0, 7)] | (uint32_t)fg_range(r, 1, 0xfffe);
	else
		v = (uint32_t)fg_range(r, 0x01000000, 0xdfffffff);
	if ((v >> 24) == 127 || (v >> 24) == 0)
		v ^= 0x40000000;
	fc_addr_set4u(a, v);
}

static void rand_v6(struct fg_rng *r, struct fc_addr *a)
{
	uint8_t b[16];
	uint64_t lo = fg_rand(r), hi = fg_rand(r);

	for (int i = 0; i < 8; i++) {
		b[i] = (uint8_t)(hi >> (56 - 8 * i));
		b[8 + i] = (uint8_t)(lo >> (56 - 8 * i));
	}
	if (fg_chance(r, 50)) {
		b[0] = 0x20; b[1] = 0x01; b[2] = 0x0d; b[3] = 0xb8;
	} else {
		b[0] = 0x2a; b[1] = (uint8_t)fg_range(r, 0, 15);
	}
	fc_addr_set6(a, b);
}

static uint64_t rand_mac(struct fg_rng *r)
{
	/* locally administered, unicast */
	return (fg_rand(r) & 0xfcffffffffffull) | 0x020000000000ull;
}

void fg_synth_flow(struct fg_gen *g, struct fc_flow *f, bool allow_v6, uint64_t t_ms)
{
	static const uint16_t services[] = {80, 443, 53, 22, 25, 123, 993, 3306, 8080, 5201};
	static const uint8_t icmp4[][2] = {{8, 0}, {0, 0}, {3, 3}, {11, 0}, {3, 1}};
	static const uint8_t icmp6[][2] = {{128, 0}, {129, 0}, {1, 4}, {3, 0}, {135, 0}};
	static const uint8_t tcp_flags[] = {0x02, 0x12, 0x10, 0x18, 0x19, 0x11, 0x04, 0x1b};
	static const uint8_t tos[] = {0, 0, 0, 0x20, 0x48, 0xb8, 0x28};
	struct fg_rng *r = &g->rng;
	bool v6 = allow_v6 && fg_chance(r, 30);
	unsigned p = (unsigned)fg_range(r, 0, 99);
	uint64_t end_ms, dur_ms, pkts;

	fc_flow_reset(f);
	f->sampler_address = g->exporter;
	f->exporter_port = g->exporter_port;
	if (v6) {
		rand_v6(r, &f->src_addr);
		rand_v6(r, &f->dst_addr);
		rand_v6(r, &f->next_hop);
		f->etype = 0x86dd;
		f->src_net = (uint32_t)fg_range(r, 32, 64);
		f->dst_net = (uint32_t)fg_range(r, 32, 64);
		f->ipv6_flow_label = (uint32_t)fg_range(r, 0, 0xfffff);
		f->ip_ttl = 64;
	} else {
		rand_v4(r, &f->src_addr);
		rand_v4(r, &f->dst_addr);
		rand_v4(r, &f->next_hop);
		f->etype = 0x0800;
		f->src_net = (uint32_t)fg_range(r, 8, 32);
		f->dst_net = (uint32_t)fg_range(r, 8, 32);
		f->ip_ttl = (uint32_t)fg_range(r, 30, 255);
		f->fragment_id = (uint32_t)fg_range(r, 1, 0xffff);
		f->ip_flags = fg_chance(r, 80) ? 2 : 0; /* DF */
	}
	if (p < 60) {
		f->proto = 6;
		f->tcp_flags = tcp_flags[fg_range(r, 0, sizeof(tcp_flags) - 1)];
	} else if (p < 90) {
		f->proto = 17;
	} else {
		f->proto = v6 ? 58 : 1;
	}
	if (f->proto == 6 || f->proto == 17) {
		uint32_t svc = services[fg_range(r, 0, sizeof(services) / sizeof(services[0]) - 1)];
		uint32_t eph = (uint32_t)fg_range(r, 1024, 65535);

		if (fg_chance(r, 50)) {
			f->src_port = eph;
			f->dst_port = svc;
		} else {
			f->src_port = svc;
			f->dst_port = eph;
		}
	} else {
		const uint8_t *tc = v6 ? icmp6[fg_range(r, 0, 4)] : icmp4[fg_range(r, 0, 4)];

		f->icmp_type = tc[0];
		f->icmp_code = tc[1];
	}
	f->ip_tos = tos[fg_range(r, 0, sizeof(tos) - 1)];

	/* Heavy tail: most flows are a few packets, some are large. */
	pkts = fg_chance(r, 70) ? fg_range(r, 1, 20) : fg_range(r, 21, fg_chance(r, 10) ? 2000000 : 5000);
	f->packets = pkts;
	f->bytes = pkts * fg_range(r, f->proto == 6 ? 40 : 28, 1500);

	f->in_if = (uint32_t)fg_range(r, 1, 48);
	f->out_if = (uint32_t)fg_range(r, 1, 48);
	f->src_as = fg_chance(r, 20) ? (uint32_t)fg_range(r, 131072, 401308) : (uint32_t)fg_range(r, 1, 64511);
	f->dst_as = fg_chance(r, 20) ? (uint32_t)fg_range(r, 131072, 401308) : (uint32_t)fg_range(r, 1, 64511);
	f->src_mac = rand_mac(r);
	f->dst_mac = rand_mac(r);
	f->flow_direction = (uint32_t)fg_range(r, 1, 2);
	f->src_vlan = (uint32_t)fg_range(r, 1, 4094);
	f->dst_vlan = (uint32_t)fg_range(r, 1, 4094);

	/* Flows end 1..5 s before the export second and last up to 2 minutes,
	 * but never start before the exporter booted. */
	end_ms = (t_ms / 1000) * 1000 - fg_range(r, 1000, 5000);
	dur_ms = fg_range(r, 0, pkts == 1 ? 0 : 120000);
	if (end_ms - dur_ms <= g->boot_ms)
		dur_ms = 0;
	f->time_flow_end_ns = end_ms * 1000000ull;
	f->time_flow_start_ns = (end_ms - dur_ms) * 1000000ull;
}

void fg_w_addr(struct fg_wbuf *w, const struct fc_addr *a)
{
	fg_w_bytes(w, a->a, a->family == 6 ? 16 : 4);
}

size_t fg_partition_v4(struct fc_flow *flows, size_t n)
{
	struct fc_flow tmp;
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (flows[i].src_addr.family != 4)
			continue;
		if (i != k) {
			tmp = flows[i];
			memmove(&flows[k + 1], &flows[k], (i - k) * sizeof(*flows));
			flows[k] = tmp;
		}
		k++;
	}
	return k;
}

size_t fg_max_flows_per_datagram(enum fg_proto p)
{
	switch (p) {
	case FG_NF5:
		return 30; /* Cisco's limit for v5 */
	case FG_NF9:
	case FG_IPFIX:
		return 400;
	case FG_SFLOW:
		return 200;
	}
	return 1;
}

size_t fg_default_flows_per_datagram(enum fg_proto p)
{
	switch (p) {
	case FG_NF5:
		return 30;
	case FG_NF9:
	case FG_IPFIX:
		return 20;
	case FG_SFLOW:
		return 7;
	}
	return 1;
}
