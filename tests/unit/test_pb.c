/*
 * Encoder: fc_flow -> FlowMessage bytes -> unpacked again by protobuf-c and
 * compared field by field; renormalized counters on every flow; varint
 * framing; JSON rendering in the native and the goflow2 style (the latter
 * against lines written out by hand from goflow2 v2.2.6's renderers).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "encode/json.h"
#include "encode/pb.h"
#include "flow.pb-c.h"
#include "check_run.h"

static void sample_flow(struct fc_flow *f)
{
	fc_flow_reset(f);
	f->type = FC_FLOW_IPFIX;
	f->time_received_ns = 1700000000123456789ull;
	f->sequence_num = 4242;
	f->sampling_rate = 100;
	fc_addr_set4u(&f->sampler_address, 0xc0000201);
	f->exporter_port = 50000;
	f->time_flow_start_ns = 1700000000000000000ull;
	f->time_flow_end_ns = 1700000001000000000ull;
	f->bytes = 1500;
	f->packets = 3;
	fc_addr_parse(&f->src_addr, "2001:db8::1");
	fc_addr_parse(&f->dst_addr, "::ffff:198.51.100.7"); /* mapped: becomes IPv4 */
	f->etype = 0x86dd;
	f->proto = 6;
	f->src_port = 443;
	f->dst_port = 55555;
	f->in_if = 10;
	f->out_if = 20;
	f->src_mac = 0x0011223344ffull;
	f->tcp_flags = 0x12;
	f->src_as = 64500;
	f->dst_as = 4200000000u;
	f->n_mpls = 2;
	f->mpls_label[0] = 100;
	f->mpls_label[1] = 200;
	f->mpls_ttl[0] = 64;
	f->mpls_ttl[1] = 63;
	f->n_as_path = 2;
	f->as_path[0] = 64500;
	f->as_path[1] = 64501;
	f->n_layers = 2;
	f->layer_stack[0] = FC_LAYER_ETHERNET;
	f->layer_stack[1] = FC_LAYER_IPV6;
	f->layer_size[0] = 14;
	f->layer_size[1] = 40;
	strcpy(f->src_country, "GB");
	f->src_city = "London";
	f->src_as_name = "Example \"Net\"";
	f->flow_direction = 2;
	f->reverse = true;
}

START_TEST(roundtrip)
{
	struct fc_flow f;
	struct fc_pb_flow s;
	uint8_t buf[FC_PB_MAX_FRAMED];
	size_t n, hl;
	uint64_t len;
	Flowpb__FlowMessage *m;

	sample_flow(&f);
	fc_pb_flow_fill(&f, &s);
	n = fc_pb_frame(&s.msg.base, buf, sizeof(buf));
	ck_assert_uint_gt(n, 0);
	hl = fc_pb_varint_decode(buf, n, &len);
	ck_assert_uint_gt(hl, 0);
	ck_assert_uint_eq(hl + len, n);
	m = flowpb__flow_message__unpack(NULL, len, buf + hl);
	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(m->type, FLOWPB__FLOW_MESSAGE__FLOW_TYPE__IPFIX);
	ck_assert_uint_eq(m->time_received_ns, f.time_received_ns);
	ck_assert_uint_eq(m->sequence_num, 4242);
	ck_assert_uint_eq(m->sampling_rate, 100);
	ck_assert_uint_eq(m->sampler_address.len, 4);
	ck_assert_mem_eq(m->sampler_address.data, "\xc0\x00\x02\x01", 4);
	ck_assert_uint_eq(m->time_flow_start_ns, f.time_flow_start_ns);
	ck_assert_uint_eq(m->time_flow_end_ns, f.time_flow_end_ns);
	ck_assert_uint_eq(m->bytes, 1500);
	ck_assert_uint_eq(m->packets, 3);
	ck_assert_uint_eq(m->src_addr.len, 16);
	ck_assert_mem_eq(m->src_addr.data, f.src_addr.a, 16);
	ck_assert_uint_eq(m->dst_addr.len, 4); /* never ::ffff:a.b.c.d */
	ck_assert_mem_eq(m->dst_addr.data, "\xc6\x33\x64\x07", 4);
	ck_assert_uint_eq(m->etype, 0x86dd);
	ck_assert_uint_eq(m->proto, 6);
	ck_assert_uint_eq(m->src_port, 443);
	ck_assert_uint_eq(m->dst_port, 55555);
	ck_assert_uint_eq(m->in_if, 10);
	ck_assert_uint_eq(m->out_if, 20);
	ck_assert_uint_eq(m->src_mac, 0x0011223344ffull);
	ck_assert_uint_eq(m->tcp_flags, 0x12);
	ck_assert_uint_eq(m->src_as, 64500);
	ck_assert_uint_eq(m->dst_as, 4200000000u);
	ck_assert_uint_eq(m->n_mpls_label, 2);
	ck_assert_uint_eq(m->mpls_label[1], 200);
	ck_assert_uint_eq(m->mpls_ttl[0], 64);
	ck_assert_uint_eq(m->n_as_path, 2);
	ck_assert_uint_eq(m->as_path[1], 64501);
	ck_assert_uint_eq(m->n_layer_stack, 2);
	ck_assert_int_eq(m->layer_stack[1], FLOWPB__FLOW_MESSAGE__LAYER_STACK__IPv6);
	ck_assert_uint_eq(m->layer_size[1], 40);
	ck_assert_str_eq(m->src_country, "GB");
	ck_assert_str_eq(m->dst_country, "");
	ck_assert_str_eq(m->src_city, "London");
	ck_assert_uint_eq(m->exporter_port, 50000);
	ck_assert_uint_eq(m->bytes_scaled, 150000);
	ck_assert_uint_eq(m->packets_scaled, 300);
	ck_assert_int_eq(m->flow_direction, FLOWPB__FLOW_MESSAGE__FLOW_DIRECTION__EGRESS);
	ck_assert(m->reverse);
	flowpb__flow_message__free_unpacked(m, NULL);
}
END_TEST

START_TEST(goflow2_field_numbers)
{
	/* The wire numbers consumers of goflow2's schema rely on (DESIGN §3). */
	static const struct {
		const char *name;
		unsigned id;
	} want[] = {
		{"type", 1}, {"time_received_ns", 110}, {"sequence_num", 4}, {"sampling_rate", 3},
		{"sampler_address", 11}, {"time_flow_start_ns", 111}, {"time_flow_end_ns", 112},
		{"bytes", 9}, {"packets", 10}, {"src_addr", 6}, {"dst_addr", 7}, {"etype", 30},
		{"proto", 20}, {"src_port", 21}, {"dst_port", 22}, {"in_if", 18}, {"out_if", 19},
		{"src_mac", 27}, {"dst_mac", 28}, {"src_vlan", 33}, {"dst_vlan", 34}, {"vlan_id", 29},
		{"ip_tos", 23}, {"forwarding_status", 24}, {"ip_ttl", 25}, {"ip_flags", 38},
		{"tcp_flags", 26}, {"icmp_type", 31}, {"icmp_code", 32}, {"ipv6_flow_label", 37},
		{"fragment_id", 35}, {"fragment_offset", 36}, {"src_as", 14}, {"dst_as", 15},
		{"next_hop", 12}, {"next_hop_as", 13}, {"src_net", 16}, {"dst_net", 17},
		{"bgp_next_hop", 100}, {"bgp_communities", 101}, {"as_path", 102}, {"mpls_ttl", 80},
		{"mpls_label", 81}, {"mpls_ip", 82}, {"observation_domain_id", 70},
		{"observation_point_id", 71}, {"layer_stack", 103}, {"layer_size", 104},
		{"ipv6_routing_header_addresses", 105}, {"ipv6_routing_header_seg_left", 106},
		{"src_country", 1000}, {"dst_country", 1001},
	};
	const ProtobufCMessageDescriptor *d = &flowpb__flow_message__descriptor;

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const ProtobufCFieldDescriptor *f =
			protobuf_c_message_descriptor_get_field_by_name(d, want[i].name);

		ck_assert_msg(f != NULL, "%s missing", want[i].name);
		ck_assert_msg(f->id == want[i].id, "%s is %u, want %u", want[i].name, f->id,
			      want[i].id);
	}
	/* Our own fields stay at 1000 and above. */
	for (unsigned i = 0; i < d->n_fields; i++) {
		bool goflow = false;

		for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++)
			goflow |= strcmp(d->fields[i].name, want[k].name) == 0;
		ck_assert_msg(goflow || d->fields[i].id >= 1000, "%s numbered %u",
			      d->fields[i].name, d->fields[i].id);
	}
}
END_TEST

START_TEST(varints)
{
	static const uint64_t v[] = {0, 1, 127, 128, 300, 16383, 16384, 1ull << 35, UINT64_MAX};
	uint8_t b[10];
	uint64_t out;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t n = fc_pb_varint_encode(v[i], b);

		ck_assert_uint_eq(fc_pb_varint_decode(b, n, &out), n);
		ck_assert_uint_eq(out, v[i]);
		if (n > 1)
			ck_assert_uint_eq(fc_pb_varint_decode(b, n - 1, &out), 0); /* truncated */
	}
	ck_assert_uint_eq(fc_pb_varint_encode(300, b), 2);
	ck_assert_uint_eq(b[0], 0xac);
	ck_assert_uint_eq(b[1], 0x02);
	memset(b, 0xff, sizeof(b));
	ck_assert_uint_eq(fc_pb_varint_decode(b, sizeof(b), &out), 0); /* never ends */
}
END_TEST

START_TEST(frame_too_small)
{
	struct fc_flow f;
	struct fc_pb_flow s;
	uint8_t buf[16];

	sample_flow(&f);
	fc_pb_flow_fill(&f, &s);
	ck_assert_uint_eq(fc_pb_frame(&s.msg.base, buf, sizeof(buf)), 0);
}
END_TEST

START_TEST(json)
{
	struct fc_flow f;
	struct fc_pb_flow s;
	char buf[4096];
	size_t n;

	sample_flow(&f);
	fc_pb_flow_fill(&f, &s);
	n = fc_json_format(&s.msg.base, buf, sizeof(buf));
	ck_assert_uint_gt(n, 0);
	buf[n] = '\0';
	ck_assert_ptr_nonnull(strstr(buf, "\"type\":\"IPFIX\""));
	ck_assert_ptr_nonnull(strstr(buf, "\"src_addr\":\"2001:db8::1\""));
	ck_assert_ptr_nonnull(strstr(buf, "\"dst_addr\":\"198.51.100.7\""));
	ck_assert_ptr_nonnull(strstr(buf, "\"src_mac\":\"00:11:22:33:44:ff\""));
	ck_assert_ptr_nonnull(strstr(buf, "\"bytes\":1500"));
	ck_assert_ptr_nonnull(strstr(buf, "\"mpls_label\":[100,200]"));
	ck_assert_ptr_nonnull(strstr(buf, "\"layer_stack\":[\"Ethernet\",\"IPv6\"]"));
	ck_assert_ptr_nonnull(strstr(buf, "\"src_as_name\":\"Example \\\"Net\\\"\""));
	ck_assert_ptr_nonnull(strstr(buf, "\"reverse\":true"));
	ck_assert_ptr_null(strstr(buf, "dst_mac")); /* zero: omitted */
	ck_assert_ptr_null(strstr(buf, "dst_country"));
	ck_assert_int_eq(buf[n - 1], '\n');
	ck_assert_uint_eq(fc_json_format(&s.msg.base, buf, 20), 0);
}
END_TEST

/* bytes_scaled/packets_scaled are present whatever the rate; an unknown
 * rate (0) counts as 1 and is flagged. */
START_TEST(scaled_always)
{
	static const struct {
		uint64_t rate, bytes, want_bytes;
		bool unknown;
	} t[] = {
		{0, 1500, 1500, true},
		{1, 1500, 1500, false},
		{100, 1500, 150000, false},
		{1ull << 40, 1ull << 30, UINT64_MAX, false}, /* saturates, never wraps */
	};
	struct fc_flow f;
	struct fc_pb_flow s;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		sample_flow(&f);
		f.sampling_rate = t[i].rate;
		f.bytes = t[i].bytes;
		f.packets = 3;
		fc_pb_flow_fill(&f, &s);
		ck_assert_uint_eq(s.msg.bytes_scaled, t[i].want_bytes);
		ck_assert_uint_eq(s.msg.packets_scaled, t[i].rate > 1 ? 3 * t[i].rate : 3);
		ck_assert_int_eq(s.msg.sampling_rate_unknown, t[i].unknown);
		ck_assert_uint_eq(s.msg.bytes, t[i].bytes); /* the raw value stays as exported */
	}
}
END_TEST

static void g2_flow(struct fc_flow *f)
{
	fc_flow_reset(f);
	f->type = FC_FLOW_NF5;
	f->time_received_ns = 1700000000000000001ull;
	f->sequence_num = 7;
	fc_addr_parse(&f->sampler_address, "192.0.2.1");
	f->bytes = 100;
	f->packets = 2;
	fc_addr_parse(&f->src_addr, "10.1.2.3");
	fc_addr_parse(&f->dst_addr, "10.9.8.7");
	f->etype = 0x800;
	f->proto = 17;
	f->src_port = 53;
	f->dst_port = 33000;
	f->in_if = 1;
	f->out_if = 2;
	f->src_net = 24;
	f->dst_net = 33; /* longer than an IPv4 address: Go says "invalid Prefix" */
	fc_addr_parse(&f->bgp_next_hop, "::1.2.3.4"); /* Go: ::102:304, not inet_ntop's */
	f->n_bgp_communities = 1;
	f->bgp_communities[0] = 65000;
	f->n_mpls_ip = 1;
	fc_addr_parse(&f->mpls_ip[0], "192.0.2.9");
}

/* Every goflow2 field, zero or not, in goflow2's order, with its renderer;
 * then our own fields, native style. Written out from goflow2 v2.2.6
 * producer/proto/render.go (defaultRenderers) and messages.go. */
START_TEST(json_goflow2_exact)
{
	static const char want[] =
		"{\"type\":\"NETFLOW_V5\",\"time_received_ns\":1700000000000000001,"
		"\"sequence_num\":7,\"sampling_rate\":0,\"sampler_address\":\"192.0.2.1\","
		"\"time_flow_start_ns\":0,\"time_flow_end_ns\":0,\"bytes\":100,\"packets\":2,"
		"\"src_addr\":\"10.1.2.3\",\"dst_addr\":\"10.9.8.7\",\"etype\":\"IPv4\","
		"\"proto\":\"UDP\",\"src_port\":53,\"dst_port\":33000,\"in_if\":1,\"out_if\":2,"
		"\"src_mac\":\"00:00:00:00:00:00\",\"dst_mac\":\"00:00:00:00:00:00\","
		"\"src_vlan\":0,\"dst_vlan\":0,\"vlan_id\":0,\"ip_tos\":0,\"forwarding_status\":0,"
		"\"ip_ttl\":0,\"ip_flags\":0,\"tcp_flags\":0,\"icmp_type\":0,\"icmp_code\":0,"
		"\"ipv6_flow_label\":0,\"fragment_id\":0,\"fragment_offset\":0,\"src_as\":0,"
		"\"dst_as\":0,\"next_hop\":\"\",\"next_hop_as\":0,\"src_net\":\"10.1.2.0/24\","
		"\"dst_net\":\"invalid Prefix\",\"bgp_next_hop\":\"::102:304\","
		"\"bgp_communities\":[65000],\"as_path\":[],\"mpls_ttl\":[],\"mpls_label\":[],"
		"\"mpls_ip\":[\"192.0.2.9\"],\"observation_domain_id\":0,"
		"\"observation_point_id\":0,\"layer_stack\":[],\"layer_size\":[],"
		"\"ipv6_routing_header_addresses\":[],\"ipv6_routing_header_seg_left\":0,"
		"\"bytes_scaled\":100,\"packets_scaled\":2,\"sampling_rate_unknown\":true}\n";
	struct fc_flow f;
	struct fc_pb_flow s;
	char buf[4096];
	size_t n;

	g2_flow(&f);
	fc_pb_flow_fill(&f, &s);
	n = fc_json_format_style(&s.msg.base, FC_JSON_GOFLOW2, buf, sizeof(buf));
	ck_assert_uint_gt(n, 0);
	buf[n] = '\0';
	ck_assert_str_eq(buf, want);
	ck_assert_uint_eq(strlen(want), n);
	/* Too small a buffer: 0, never a cut line. */
	ck_assert_uint_eq(fc_json_format_style(&s.msg.base, FC_JSON_GOFLOW2, buf, 100), 0);
}
END_TEST

/* The renderers one at a time: names, prefixes of both families, IPv6 text
 * as Go prints it, enums by name or number in quotes. */
START_TEST(json_goflow2_renderers)
{
	static const struct {
		uint32_t etype, proto;
		const char *src, *dst;
		uint32_t src_net, dst_net;
		const char *want[4];
	} t[] = {
		{0x86dd, 6, "2001:db8:0:0:1:0:0:1", "2001:db8::abcd", 32, 0,
		 {"\"etype\":\"IPv6\"", "\"proto\":\"TCP\"", "\"src_net\":\"2001:db8::/32\"",
		  "\"src_addr\":\"2001:db8::1:0:0:1\""}},
		{0x806, 58, "0:0:1::1", "::", 128, 0,
		 {"\"etype\":\"ARP\"", "\"proto\":\"IPv6-ICMP\"", "\"src_net\":\"0:0:1::1/128\"",
		  "\"dst_net\":\"::/0\""}},
		{0x8847, 200, "192.0.2.255", "198.51.100.1", 0, 25,
		 {"\"etype\":\"\"", "\"proto\":\"unassigned\"", "\"src_net\":\"0.0.0.0/0\"",
		  "\"dst_net\":\"198.51.100.0/25\""}},
		{0, 255, "::fffe:0:1", "1:2:3:4:5:6:7:8", 0, 64,
		 {"\"etype\":\"\"", "\"proto\":\"reserved\"", "\"src_addr\":\"::fffe:0:1\"",
		  "\"dst_net\":\"1:2:3:4::/64\""}},
		{0x800, 253, "10.0.0.1", "10.0.0.2", 8, 8,
		 {"\"proto\":\"experimental\"", "\"src_net\":\"10.0.0.0/8\"",
		  "\"dst_net\":\"10.0.0.0/8\"", "\"etype\":\"IPv4\""}},
	};
	struct fc_flow f;
	struct fc_pb_flow s;
	char buf[4096];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		g2_flow(&f);
		f.etype = t[i].etype;
		f.proto = t[i].proto;
		ck_assert_int_eq(fc_addr_parse(&f.src_addr, t[i].src), 0);
		ck_assert_int_eq(fc_addr_parse(&f.dst_addr, t[i].dst), 0);
		f.src_net = t[i].src_net;
		f.dst_net = t[i].dst_net;
		f.n_layers = 2;
		f.layer_stack[0] = FC_LAYER_ETHERNET;
		f.layer_stack[1] = FC_LAYER_IPV6;
		f.layer_size[0] = 14;
		f.layer_size[1] = 40;
		f.src_mac = 0x0011223344ffull;
		fc_pb_flow_fill(&f, &s);
		ck_assert_uint_gt(fc_json_format_style(&s.msg.base, FC_JSON_GOFLOW2, buf, sizeof(buf)), 0);
		for (size_t k = 0; k < 4; k++)
			ck_assert_msg(strstr(buf, t[i].want[k]), "case %zu: %s not in %s", i,
				      t[i].want[k], buf);
		ck_assert_ptr_nonnull(strstr(buf, "\"layer_stack\":[\"Ethernet\",\"IPv6\"]"));
		ck_assert_ptr_nonnull(strstr(buf, "\"layer_size\":[14,40]"));
		ck_assert_ptr_nonnull(strstr(buf, "\"src_mac\":\"00:11:22:33:44:ff\""));
	}
	/* An enum value the schema does not name: the number, quoted. */
	g2_flow(&f);
	fc_pb_flow_fill(&f, &s);
	s.msg.type = (Flowpb__FlowMessage__FlowType)9;
	ck_assert_uint_gt(fc_json_format_style(&s.msg.base, FC_JSON_GOFLOW2, buf, sizeof(buf)), 0);
	ck_assert_ptr_nonnull(strstr(buf, "{\"type\":\"9\","));
}
END_TEST

/* The style names, and messages other than flows staying native. */
START_TEST(json_style_parse)
{
	enum fc_json_style st = FC_JSON_GOFLOW2;

	ck_assert_int_eq(fc_json_style_parse(NULL, &st), 0);
	ck_assert_int_eq(st, FC_JSON_NATIVE);
	ck_assert_int_eq(fc_json_style_parse("goflow2", &st), 0);
	ck_assert_int_eq(st, FC_JSON_GOFLOW2);
	ck_assert_int_eq(fc_json_style_parse("native", &st), 0);
	ck_assert_int_eq(st, FC_JSON_NATIVE);
	st = FC_JSON_GOFLOW2;
	ck_assert_int_ne(fc_json_style_parse("GoFlow", &st), 0);
	ck_assert_int_eq(st, FC_JSON_GOFLOW2); /* untouched on failure */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pb");
	TCase *tc = tcase_create("encode");

	tcase_add_test(tc, roundtrip);
	tcase_add_test(tc, goflow2_field_numbers);
	tcase_add_test(tc, varints);
	tcase_add_test(tc, frame_too_small);
	tcase_add_test(tc, json);
	tcase_add_test(tc, scaled_always);
	tcase_add_test(tc, json_goflow2_exact);
	tcase_add_test(tc, json_goflow2_renderers);
	tcase_add_test(tc, json_style_parse);
	suite_add_tcase(s, tc);
	return fc_check_run(s);
}
