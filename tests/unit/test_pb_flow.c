/*
 * Differential test of the schema-specific encoders, FlowMessage
 * (src/encode/pb_flow.c) and CounterMessage (fc_pb_counter_frame in
 * src/encode/pb_counter.c), against the reference, protobuf-c's generic
 * packer (fc_pb_flow_fill / fc_pb_counter_fill + fc_pb_frame): both must
 * give the same bytes, or both refuse, for
 *   - hand-made edge flows (all zero, every field at its maximum, negative
 *     enums, absent and odd address families, huge labels),
 *   - random flows from a fixed seed, at the full buffer and at caps just
 *     around each message's size,
 *   - every flow decoded from flowgen captures of v5, v9, IPFIX and sFlow
 *     (paths given on the command line by meson), and
 *   - every flow decoded from each capture and raw datagram of
 *     ../shared/testdata (tagged "testdata": SKIP when absent), once as
 *     decoded and once with labels added,
 *   - random sFlow counter samples (every record kind, floats including
 *     -0 and NaN) and every counter sample decoded from those captures.
 * The fast encoder must also never write past the cap (a canary follows).
 */
#include <check.h>
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "decode/decode.h"
#include "encode/pb.h"
#include "encode/pb_counter.h"
#include "encode/pb_flow.h"
#include "fc/counter.h"
#include "fc/err.h"
#include "fc/input.h"
#include "metrics/metrics.h"

#include "check_run.h"

#define CANARY 0x5a
#define SLACK 64

static uint8_t ref_buf[FC_PB_MAX_FRAMED + SLACK];
static uint8_t fast_buf[FC_PB_MAX_FRAMED + SLACK];
static uint64_t n_compared;

static char **flowgen_pcaps;
static int n_flowgen_pcaps;

/* Encodes f both ways into cap bytes; fails the test on any difference. */
static size_t same_bytes(const struct fc_flow *f, size_t cap)
{
	static struct fc_pb_flow s;
	size_t rn, fn;

	static uint8_t canary[SLACK];

	ck_assert_uint_le(cap, FC_PB_MAX_FRAMED);
	memset(canary, CANARY, sizeof(canary));
	memset(fast_buf + cap, CANARY, SLACK);
	fc_pb_flow_fill(f, &s);
	rn = fc_pb_frame(&s.msg.base, ref_buf, cap);
	fn = fc_pb_flow_frame(f, fast_buf, cap);
	ck_assert_uint_eq(fn, rn);
	if (rn)
		ck_assert_mem_eq(fast_buf, ref_buf, rn);
	ck_assert_msg(memcmp(fast_buf + cap, canary, SLACK) == 0, "written past cap %zu", cap);
	n_compared++;
	return rn;
}

static size_t same_counter_bytes(const struct fc_counter *c, size_t cap)
{
	static struct fc_pb_counter s;
	static uint8_t canary[SLACK];
	size_t rn, fn;

	ck_assert_uint_le(cap, FC_PB_MAX_FRAMED);
	memset(canary, CANARY, sizeof(canary));
	memset(fast_buf + cap, CANARY, SLACK);
	fc_pb_counter_fill(c, &s);
	rn = fc_pb_frame(&s.msg.base, ref_buf, cap);
	fn = fc_pb_counter_frame(c, fast_buf, cap);
	ck_assert_uint_eq(fn, rn);
	if (rn)
		ck_assert_mem_eq(fast_buf, ref_buf, rn);
	ck_assert_msg(memcmp(fast_buf + cap, canary, SLACK) == 0, "written past cap %zu", cap);
	return rn;
}

/* At the full buffer, then at caps around the message's own size: the
 * reference needs message + 10 bytes. */
static size_t same_bytes_all_caps(const struct fc_flow *f)
{
	size_t n = same_bytes(f, FC_PB_MAX_FRAMED);

	same_bytes(f, 0);
	same_bytes(f, 10);
	same_bytes(f, 11);
	for (size_t d = 0; d < 13; d++) {
		size_t cap = n + d;

		if (cap >= 4 && cap <= FC_PB_MAX_FRAMED)
			same_bytes(f, cap - 4);
	}
	return n;
}

/* ---- random flows ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	/* xorshift64*: fixed seed, so a failure reproduces */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

/* Mostly zero or small, sometimes any width: each field's varint length
 * and its presence vary independently. */
static uint64_t rnd_val(void)
{
	switch (rnd() % 6) {
	case 0:
	case 1:
		return 0;
	case 2:
		return rnd() % 128;
	case 3:
		return rnd() % 20000;
	default:
		return rnd() >> (rnd() % 64);
	}
}

static uint32_t rnd32(void)
{
	return (uint32_t)rnd_val();
}

static void rnd_addr(struct fc_addr *a)
{
	static const uint8_t fam[] = {0, 0, 4, 6, 4, 9};

	a->family = fam[rnd() % sizeof(fam)];
	for (size_t i = 0; i < sizeof(a->a); i++)
		a->a[i] = (uint8_t)rnd();
}

static char big_label[20000];

static const char *rnd_str(void)
{
	static const char *pool[] = {NULL, NULL, "", "x", "Amsterdam", "AS64500 Example Net",
				     "\xc3\xa9t\xc3\xa9 \"quoted\" \\ name"};
	uint64_t r = rnd() % 40;

	if (r == 0)
		return big_label + rnd() % sizeof(big_label); /* 0..19999 bytes */
	return pool[r % (sizeof(pool) / sizeof(pool[0]))];
}

static void rnd_country(char c[4])
{
	size_t n = rnd() % 4;

	memset(c, 0, 4);
	for (size_t i = 0; i < n; i++)
		c[i] = (char)('A' + rnd() % 26);
}

static void random_flow(struct fc_flow *f)
{
	fc_flow_reset(f);
	f->type = (enum fc_flow_type)(rnd() % 6);
	f->time_received_ns = rnd_val();
	f->sequence_num = rnd32();
	f->sampling_rate = rnd_val();
	rnd_addr(&f->sampler_address);
	f->exporter_port = (uint16_t)rnd_val();
	f->time_flow_start_ns = rnd_val();
	f->time_flow_end_ns = rnd_val();
	f->bytes = rnd_val();
	f->packets = rnd_val();
	rnd_addr(&f->src_addr);
	rnd_addr(&f->dst_addr);
	f->etype = rnd32();
	f->proto = rnd32();
	f->src_port = rnd32();
	f->dst_port = rnd32();
	f->in_if = rnd32();
	f->out_if = rnd32();
	f->src_mac = rnd_val();
	f->dst_mac = rnd_val();
	f->src_vlan = rnd32();
	f->dst_vlan = rnd32();
	f->vlan_id = rnd32();
	f->ip_tos = rnd32();
	f->forwarding_status = rnd32();
	f->ip_ttl = rnd32();
	f->ip_flags = rnd32();
	f->tcp_flags = rnd32();
	f->icmp_type = rnd32();
	f->icmp_code = rnd32();
	f->ipv6_flow_label = rnd32();
	f->fragment_id = rnd32();
	f->fragment_offset = rnd32();
	f->src_as = rnd32();
	f->dst_as = rnd32();
	rnd_addr(&f->next_hop);
	f->next_hop_as = rnd32();
	f->src_net = rnd32();
	f->dst_net = rnd32();
	rnd_addr(&f->bgp_next_hop);
	/* counts may exceed the arrays: both encoders clamp */
	f->n_bgp_communities = (uint32_t)(rnd() % (FC_FLOW_MAX_COMMUNITIES + 3));
	for (size_t i = 0; i < FC_FLOW_MAX_COMMUNITIES; i++)
		f->bgp_communities[i] = rnd32();
	f->n_as_path = (uint32_t)(rnd() % (FC_FLOW_MAX_ASPATH + 3));
	for (size_t i = 0; i < FC_FLOW_MAX_ASPATH; i++)
		f->as_path[i] = rnd32();
	f->n_mpls = (uint32_t)(rnd() % (FC_FLOW_MAX_MPLS + 3));
	f->n_mpls_ip = (uint32_t)(rnd() % (FC_FLOW_MAX_MPLS + 3));
	for (size_t i = 0; i < FC_FLOW_MAX_MPLS; i++) {
		f->mpls_label[i] = rnd32();
		f->mpls_ttl[i] = rnd32();
		rnd_addr(&f->mpls_ip[i]);
	}
	f->observation_domain_id = rnd32();
	f->observation_point_id = rnd32();
	f->n_layers = (uint32_t)(rnd() % (FC_FLOW_MAX_LAYERS + 3));
	for (size_t i = 0; i < FC_FLOW_MAX_LAYERS; i++) {
		f->layer_stack[i] = (uint8_t)rnd();
		f->layer_size[i] = rnd32();
	}
	f->n_srh = (uint32_t)(rnd() % (FC_FLOW_MAX_SRH + 3));
	for (size_t i = 0; i < FC_FLOW_MAX_SRH; i++)
		rnd_addr(&f->srh_addr[i]);
	f->srh_seg_left = rnd32();
	rnd_country(f->src_country);
	rnd_country(f->dst_country);
	f->src_city = rnd_str();
	f->dst_city = rnd_str();
	f->src_as_name = rnd_str();
	f->dst_as_name = rnd_str();
	f->src_net_name = rnd_str();
	f->dst_net_name = rnd_str();
	f->src_net_role = rnd_str();
	f->dst_net_role = rnd_str();
	f->src_net_site = rnd_str();
	f->dst_net_site = rnd_str();
	f->exporter_name = rnd_str();
	f->in_if_name = rnd_str();
	f->out_if_name = rnd_str();
	f->flow_direction = rnd() % 3 ? (uint32_t)(rnd() % 3) : (uint32_t)rnd();
	f->reverse = rnd() & 1;
	f->flow_end_reason = rnd32();
	f->sampler_id = rnd_val();
	rnd_addr(&f->src_addr_nat);
	rnd_addr(&f->dst_addr_nat);
	f->src_port_nat = rnd32();
	f->dst_port_nat = rnd32();
	f->nat_event = rnd32();
	f->firewall_event = rnd32();
	f->ingress_vrf_id = rnd32();
	f->egress_vrf_id = rnd32();
	f->vxlan_vni = rnd32();
	rnd_addr(&f->inner_src_addr);
	rnd_addr(&f->inner_dst_addr);
	f->inner_proto = rnd32();
	f->inner_src_port = rnd32();
	f->inner_dst_port = rnd32();
	f->inner_etype = rnd32();
}

/* ---- edge flows ---- */

START_TEST(all_zero)
{
	struct fc_flow f;
	size_t n;

	fc_flow_reset(&f);
	n = same_bytes(&f, FC_PB_MAX_FRAMED);
	/* only sampling_rate_unknown (1047 = true): 1 + 3 bytes */
	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(same_bytes_all_caps(&f), 4);
}
END_TEST

static void fill_addr(struct fc_addr *a, uint8_t family)
{
	a->family = family;
	memset(a->a, 0xff, sizeof(a->a));
}

START_TEST(all_max)
{
	struct fc_flow f;
	static const char *s = "a long label, repeated in every string field";

	memset(&f, 0xff, sizeof(f));
	f.type = FC_FLOW_IPFIX;
	f.reverse = true;
	f.n_bgp_communities = FC_FLOW_MAX_COMMUNITIES;
	f.n_as_path = FC_FLOW_MAX_ASPATH;
	f.n_mpls = f.n_mpls_ip = FC_FLOW_MAX_MPLS;
	f.n_layers = FC_FLOW_MAX_LAYERS;
	f.n_srh = FC_FLOW_MAX_SRH;
	fill_addr(&f.sampler_address, 6);
	fill_addr(&f.src_addr, 6);
	fill_addr(&f.dst_addr, 6);
	fill_addr(&f.next_hop, 6);
	fill_addr(&f.bgp_next_hop, 6);
	fill_addr(&f.src_addr_nat, 6);
	fill_addr(&f.dst_addr_nat, 6);
	fill_addr(&f.inner_src_addr, 6);
	fill_addr(&f.inner_dst_addr, 6);
	for (size_t i = 0; i < FC_FLOW_MAX_MPLS; i++)
		fill_addr(&f.mpls_ip[i], 6);
	for (size_t i = 0; i < FC_FLOW_MAX_SRH; i++)
		fill_addr(&f.srh_addr[i], 6);
	strcpy(f.src_country, "ZZZ");
	strcpy(f.dst_country, "ZZZ");
	f.src_city = f.dst_city = f.src_as_name = f.dst_as_name = s;
	f.src_net_name = f.dst_net_name = f.src_net_role = f.dst_net_role = s;
	f.src_net_site = f.dst_net_site = f.exporter_name = s;
	f.in_if_name = f.out_if_name = s;
	/* flow_direction 0xffffffff: a negative enum, ten bytes */
	ck_assert_uint_gt(same_bytes_all_caps(&f), 2000);
	f.sampling_rate = 0;
	ck_assert_uint_gt(same_bytes_all_caps(&f), 2000);
	f.sampling_rate = 3;
	ck_assert_uint_gt(same_bytes_all_caps(&f), 2000);
}
END_TEST

START_TEST(huge_labels)
{
	struct fc_flow f;

	/* strings alone above the buffer, and around its size: the fast
	 * encoder hands these to the reference, which must refuse or fit
	 * exactly as before */
	fc_flow_reset(&f);
	f.bytes = 1;
	f.src_city = big_label;
	f.dst_city = big_label;
	ck_assert_uint_eq(same_bytes(&f, FC_PB_MAX_FRAMED), 0);
	f.src_city = big_label + sizeof(big_label) - 1 - 16000;
	f.dst_city = big_label + sizeof(big_label) - 1 - 16000;
	ck_assert_uint_gt(same_bytes(&f, FC_PB_MAX_FRAMED), 32000);
	f.dst_city = NULL;
	f.src_city = big_label + sizeof(big_label) - 1 - 17000;
	ck_assert_uint_gt(same_bytes_all_caps(&f), 16384 + 3); /* 3-byte prefix */
	f.src_city = big_label + sizeof(big_label) - 1 - 127;
	ck_assert_uint_gt(same_bytes_all_caps(&f), 127);
}
END_TEST

START_TEST(random_flows)
{
	struct fc_flow f;

	for (int i = 0; i < 20000; i++) {
		random_flow(&f);
		if (i % 16 == 0)
			same_bytes_all_caps(&f);
		else
			same_bytes(&f, FC_PB_MAX_FRAMED);
	}
}
END_TEST

/* ---- decoded flows ---- */

struct replay {
	bool labels; /* also compare with labels added */
	uint64_t flows, counters;
};

static void on_flow(void *ctx, struct fc_flow *f)
{
	struct replay *r = ctx;

	r->flows++;
	same_bytes(f, FC_PB_MAX_FRAMED);
	if (r->labels) {
		struct fc_flow g = *f;

		strcpy(g.src_country, "NL");
		strcpy(g.dst_country, "US");
		g.src_city = "Amsterdam";
		g.dst_as_name = "AS64500 Example";
		g.dst_net_role = "customer";
		g.exporter_name = "edge-1";
		g.in_if_name = "xe-0/0/0";
		same_bytes(&g, FC_PB_MAX_FRAMED);
	}
}

static void on_counter(void *ctx, const struct fc_counter *c)
{
	struct replay *r = ctx;

	r->counters++;
	same_counter_bytes(c, FC_PB_MAX_FRAMED);
}

/* Replays a capture through the decoders, as the collector's --pcap does,
 * comparing every flow and counter sample. Returns the flows seen, or the
 * counter samples when counters_only. */
static uint64_t replay_pcap(const char *path, bool labels, bool counters_only)
{
	struct fc_config cfg;
	struct fc_metrics *m = fc_metrics_new();
	struct replay r = {.labels = labels};
	struct fc_sink sink = {.flow = on_flow, .counter = on_counter, .ctx = &r};
	const struct fc_input_ops *in = &fc_input_pcap;
	void *priv = calloc(1, in->priv_size);
	struct fc_decoder *d;
	struct fc_dgram g[64];
	int n;

	ck_assert_ptr_nonnull(m);
	ck_assert_ptr_nonnull(priv);
	fc_config_init(&cfg);
	cfg.pcaps.v[0] = strdup(path); /* freed by fc_config_fini */
	ck_assert_ptr_nonnull(cfg.pcaps.v[0]);
	cfg.pcaps.n = 1;
	d = fc_decoder_new(&cfg, m, &sink);
	ck_assert_ptr_nonnull(d);
	ck_assert_msg(in->open(priv, path, &cfg, m) == 0, "cannot open %s", path);
	while ((n = in->read(priv, g, 64, 0)) > 0) {
		for (int i = 0; i < n; i++)
			fc_decode_datagram(d, &g[i]);
	}
	ck_assert_int_eq(n, FC_EEOF);
	in->close(priv);
	free(priv);
	fc_decoder_free(d);
	fc_metrics_free(m);
	fc_config_fini(&cfg);
	return counters_only ? r.counters : r.flows;
}

START_TEST(flowgen_captures)
{
	ck_assert_msg(n_flowgen_pcaps > 0, "no flowgen capture named on the command line");
	for (int i = 0; i < n_flowgen_pcaps; i++) {
		uint64_t flows = replay_pcap(flowgen_pcaps[i], i % 2 == 0, false);

		ck_assert_msg(flows > 0, "%s: no flows", flowgen_pcaps[i]);
	}
}
END_TEST

static bool has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);

	return a >= b && strcmp(s + a - b, suf) == 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names of files in dir ending in one of suf[], sorted. */
static size_t list_dir(const char *dir, const char *const *suf, char ***out)
{
	DIR *dp = opendir(dir);
	struct dirent *e;
	char **v = NULL;
	size_t n = 0;

	ck_assert_msg(dp != NULL, "cannot open %s", dir);
	while ((e = readdir(dp)) != NULL) {
		bool want = false;

		for (const char *const *s = suf; *s; s++)
			want |= has_suffix(e->d_name, *s);
		if (!want)
			continue;
		v = realloc(v, (n + 1) * sizeof(*v));
		ck_assert_ptr_nonnull(v);
		v[n] = strdup(e->d_name);
		ck_assert_ptr_nonnull(v[n]);
		n++;
	}
	closedir(dp);
	if (n)
		qsort(v, n, sizeof(*v), cmp_names);
	*out = v;
	return n;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

START_TEST(testdata_captures)
{
	static const char *const sub[] = {"pcap", "vendor"};
	static const char *const suf[] = {".pcap", NULL};
	uint64_t flows = 0, files = 0;
	char dir[1024], path[2048];

	for (size_t k = 0; k < 2; k++) {
		char **names;
		size_t n;

		snprintf(dir, sizeof(dir), "%s/%s", fc_testdata_dir(), sub[k]);
		n = list_dir(dir, suf, &names);
		for (size_t i = 0; i < n; i++) {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
			flows += replay_pcap(path, true, false);
			files++;
		}
		free_list(names, n);
	}
	printf("testdata: %" PRIu64 " captures, %" PRIu64 " flows, %" PRIu64
	       " encodings compared\n",
	       files, flows, n_compared);
	ck_assert_uint_gt(files, 10);
	ck_assert_uint_gt(flows, 1000);
}
END_TEST

/* Raw export datagrams (*.dat, *.bin, *.dump): one datagram per file, all
 * from one exporter, sorted by name, two passes so that templates from
 * any file apply to the data of the others. */
START_TEST(testdata_raw)
{
	static const char *const suf[] = {".dat", ".bin", ".dump", NULL};
	struct fc_config cfg;
	struct fc_metrics *m = fc_metrics_new();
	struct replay r = {.labels = true};
	struct fc_sink sink = {.flow = on_flow, .counter = on_counter, .ctx = &r};
	struct fc_decoder *d;
	char dir[1024], path[2048];
	static uint8_t buf[65536];
	char **names;
	size_t n;

	fc_config_init(&cfg);
	d = fc_decoder_new(&cfg, m, &sink);
	ck_assert_ptr_nonnull(d);
	snprintf(dir, sizeof(dir), "%s/vendor", fc_testdata_dir());
	n = list_dir(dir, suf, &names);
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			struct fc_dgram g = {.data = buf, .src_port = 2055, .time_ns = 1700000000000000000ull};
			FILE *fp;

			snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
			fp = fopen(path, "rb");
			ck_assert_msg(fp != NULL, "cannot open %s", path);
			g.len = fread(buf, 1, sizeof(buf), fp);
			fclose(fp);
			fc_addr_set4u(&g.src, 0xc0000201);
			fc_decode_datagram(d, &g);
		}
	}
	printf("testdata: %zu raw datagrams twice, %" PRIu64 " flows\n", n, r.flows);
	ck_assert_uint_gt(n, 10);
	ck_assert_uint_gt(r.flows, 100);
	free_list(names, n);
	fc_decoder_free(d);
	fc_metrics_free(m);
	fc_config_fini(&cfg);
}
END_TEST

/* ---- counters ---- */

static float rnd_float(void)
{
	static const float special[] = {0.0f, -0.0f, 1.5f, 1e-40f, 3.4e38f};
	uint32_t b = (uint32_t)rnd();
	float v;

	if (rnd() % 2)
		return special[rnd() % (sizeof(special) / sizeof(special[0]))];
	memcpy(&v, &b, sizeof(v)); /* any bit pattern, NaNs included */
	return v;
}

static void random_counter(struct fc_counter *c)
{
	memset(c, 0, sizeof(*c));
	c->time_received_ns = rnd_val();
	rnd_addr(&c->agent);
	c->exporter_port = (uint16_t)rnd_val();
	c->sub_agent_id = rnd32();
	c->sequence_num = rnd32();
	c->uptime_ms = rnd32();
	c->sample_sequence_num = rnd32();
	c->source_id_type = rnd32();
	c->source_id_index = rnd32();
	c->n_formats = (uint32_t)(rnd() % (FC_COUNTER_MAX_FORMATS + 3));
	for (size_t i = 0; i < FC_COUNTER_MAX_FORMATS; i++)
		c->formats[i] = rnd32();
	c->has_if = rnd() & 1;
	c->has_eth = rnd() & 1;
	c->has_vlan = rnd() & 1;
	c->has_cpu = rnd() & 1;
	c->has_host_cpu = rnd() & 1;
	c->has_host_mem = rnd() & 1;
	c->has_port_name = rnd() & 1;
	c->has_hostname = rnd() & 1;
	/* filled whether or not the record is flagged: both must look at
	 * the flags, not at the values */
	c->ifc = (struct fc_counter_if){rnd32(), rnd32(), rnd_val(), rnd32(), rnd32(), rnd_val(),
					rnd32(), rnd32(), rnd32(), rnd32(), rnd32(), rnd32(),
					rnd_val(), rnd32(), rnd32(), rnd32(), rnd32(), rnd32(), rnd32()};
	c->eth = (struct fc_counter_eth){rnd32(), rnd32(), rnd32(), rnd32(), rnd32(),
					 rnd32(), rnd32(), rnd32(), rnd32(), rnd32(),
					 rnd32(), rnd32(), rnd32()};
	c->vlan = (struct fc_counter_vlan){rnd32(), rnd_val(), rnd32(), rnd32(), rnd32(), rnd32()};
	c->cpu = (struct fc_counter_cpu){rnd32(), rnd32(), rnd32(), rnd_val(), rnd_val()};
	c->host_cpu = (struct fc_counter_host_cpu){
		rnd_float(), rnd_float(), rnd_float(), rnd32(), rnd32(), rnd32(), rnd32(), rnd32(),
		rnd32(), rnd32(), rnd32(), rnd32(), rnd32(), rnd32(), rnd32(), rnd32(), rnd32()};
	c->host_mem = (struct fc_counter_host_mem){rnd_val(), rnd_val(), rnd_val(), rnd_val(),
						   rnd_val(), rnd_val(), rnd_val(), rnd32(),
						   rnd32(), rnd32(), rnd32()};
	for (size_t i = 0, n = rnd() % sizeof(c->port_name); i < n; i++)
		c->port_name[i] = (char)('a' + rnd() % 26);
	for (size_t i = 0, n = rnd() % sizeof(c->hostname); i < n; i++)
		c->hostname[i] = (char)('A' + rnd() % 26);
}

START_TEST(random_counters)
{
	struct fc_counter c;

	for (int i = 0; i < 20000; i++) {
		size_t n;

		random_counter(&c);
		n = same_counter_bytes(&c, FC_PB_MAX_FRAMED);
		ck_assert_uint_gt(n, 0);
		if (i % 16 == 0) {
			same_counter_bytes(&c, 0);
			same_counter_bytes(&c, 11);
			for (size_t d = 0; d < 13; d++)
				same_counter_bytes(&c, n + d - 4 < 11 ? 11 : n + d - 4);
		}
	}
	memset(&c, 0, sizeof(c));
	ck_assert_uint_eq(same_counter_bytes(&c, FC_PB_MAX_FRAMED), 1); /* length 0 */
}
END_TEST

START_TEST(flowgen_counters)
{
	uint64_t counters = 0;

	for (int i = 0; i < n_flowgen_pcaps; i++)
		counters += replay_pcap(flowgen_pcaps[i], false, true);
	ck_assert_uint_gt(counters, 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("pb_flow");
	TCase *tc = tcase_create("edges");

	tcase_add_test(tc, all_zero);
	tcase_add_test(tc, all_max);
	tcase_add_test(tc, huge_labels);
	suite_add_tcase(s, tc);
	tc = tcase_create("random");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, random_flows);
	suite_add_tcase(s, tc);
	tc = tcase_create("counters");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, random_counters);
	tcase_add_test(tc, flowgen_counters);
	suite_add_tcase(s, tc);
	tc = tcase_create("flowgen");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, flowgen_captures);
	suite_add_tcase(s, tc);
	tc = tcase_create("testdata");
	tcase_set_tags(tc, FC_TESTDATA_TAG);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, testdata_captures);
	tcase_add_test(tc, testdata_raw);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	static const char *const need[] = {"pcap", "vendor", NULL};

	for (size_t i = 0; i < sizeof(big_label) - 1; i++)
		big_label[i] = (char)('a' + i % 26);
	flowgen_pcaps = argv + 1;
	n_flowgen_pcaps = argc - 1;
	if (fc_check_skip_without_testdata(need))
		return FC_CHECK_SKIP;
	return fc_check_run(suite());
}
