/*
 * Descriptor-driven JSON rendering of protobuf-c messages, in our native
 * style and in goflow2 v2's (see json.h for both).
 */
#include "encode/json.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#include "fc/err.h"
#include "flow.pb-c.h"

struct out {
	char *p;
	size_t cap, len;
	bool full;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->full || n > o->cap - o->len) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void printf_(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void printf_(struct out *o, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		put(o, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void json_string(struct out *o, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	put(o, "\"", 1);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\') {
			char e[2] = {'\\', (char)ch};
			put(o, e, 2);
		} else if (ch < 0x20) {
			char e[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};
			put(o, e, 6);
		} else {
			put(o, (const char *)&ch, 1);
		}
	}
	put(o, "\"", 1);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void json_bytes(struct out *o, const ProtobufCBinaryData *b)
{
	char txt[INET6_ADDRSTRLEN];

	if (b->len == 4 && inet_ntop(AF_INET, b->data, txt, sizeof(txt))) {
		json_string(o, txt);
	} else if (b->len == 16 && inet_ntop(AF_INET6, b->data, txt, sizeof(txt))) {
		json_string(o, txt);
	} else {
		put(o, "\"", 1);
		for (size_t i = 0; i < b->len; i++)
			printf_(o, "%02x", b->data[i]);
		put(o, "\"", 1);
	}
}

static void json_mac(struct out *o, uint64_t v)
{
	printf_(o, "\"%02x:%02x:%02x:%02x:%02x:%02x\"", (unsigned)(v >> 40) & 0xff,
		(unsigned)(v >> 32) & 0xff, (unsigned)(v >> 24) & 0xff, (unsigned)(v >> 16) & 0xff,
		(unsigned)(v >> 8) & 0xff, (unsigned)v & 0xff);
}

/* Prints one value of field fd stored at p. */
static void json_value(struct out *o, const ProtobufCFieldDescriptor *fd, const void *p)
{
	switch (fd->type) {
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		printf_(o, "%" PRIu32, *(const uint32_t *)p);
		break;
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		printf_(o, "%" PRId32, *(const int32_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		if (ends_with(fd->name, "_mac"))
			json_mac(o, *(const uint64_t *)p);
		else
			printf_(o, "%" PRIu64, *(const uint64_t *)p);
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		printf_(o, "%" PRId64, *(const int64_t *)p);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		puts_(o, *(const protobuf_c_boolean *)p ? "true" : "false");
		break;
	case PROTOBUF_C_TYPE_FLOAT:
		printf_(o, "%.9g", (double)*(const float *)p);
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		printf_(o, "%.17g", *(const double *)p);
		break;
	case PROTOBUF_C_TYPE_ENUM: {
		int v = *(const int *)p;
		const ProtobufCEnumValue *ev =
			protobuf_c_enum_descriptor_get_value(fd->descriptor, v);

		if (ev)
			json_string(o, ev->name);
		else
			printf_(o, "%d", v);
		break;
	}
	case PROTOBUF_C_TYPE_STRING:
		json_string(o, *(char *const *)p ? *(char *const *)p : "");
		break;
	case PROTOBUF_C_TYPE_BYTES:
		json_bytes(o, (const ProtobufCBinaryData *)p);
		break;
	case PROTOBUF_C_TYPE_MESSAGE:
		puts_(o, "null"); /* our schema has no nested messages */
		break;
	}
}

static size_t type_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_FLOAT:
		return 4;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_ENUM:
		return sizeof(int);
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	}
	return 0;
}

/* proto3: a singular field equal to its zero value is not present. */
static bool is_zero(const ProtobufCFieldDescriptor *fd, const void *p)
{
	switch (fd->type) {
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;
		return !s || !s[0];
	}
	case PROTOBUF_C_TYPE_BYTES:
		return ((const ProtobufCBinaryData *)p)->len == 0;
	case PROTOBUF_C_TYPE_MESSAGE:
		return *(void *const *)p == NULL;
	default: {
		static const uint8_t zero[8];
		return memcmp(p, zero, type_size(fd->type)) == 0;
	}
	}
}

/* Prints field fd of the message at base in the native style; skips it
 * when empty (proto3). */
static void native_field(struct out *o, const ProtobufCFieldDescriptor *fd, const char *base,
			 bool *first)
{
	const void *p = base + fd->offset;

	if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
		size_t n = *(const size_t *)(const void *)(base + fd->quantifier_offset);
		const char *arr = *(const char *const *)p;
		size_t sz = type_size(fd->type);

		if (n == 0)
			return;
		printf_(o, "%s\"%s\":[", *first ? "" : ",", fd->name);
		for (size_t k = 0; k < n; k++) {
			if (k)
				put(o, ",", 1);
			json_value(o, fd, arr + k * sz);
		}
		put(o, "]", 1);
	} else {
		if (is_zero(fd, p))
			return;
		puts_(o, *first ? "\"" : ",\"");
		puts_(o, fd->name);
		puts_(o, "\":");
		json_value(o, fd, p);
	}
	*first = false;
}

size_t fc_json_format(const ProtobufCMessage *m, char *buf, size_t cap)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	struct out o = {.p = buf, .cap = cap};
	bool first = true;

	put(&o, "{", 1);
	for (unsigned i = 0; i < d->n_fields; i++)
		native_field(&o, &d->fields[i], (const char *)m, &first);
	put(&o, "}\n", 2);
	return o.full ? 0 : o.len;
}

/* ---- goflow2 style ---- */

enum g2_render { G2_PLAIN, G2_IP, G2_MAC, G2_ETYPE, G2_PROTO, G2_NET };

/* goflow2 v2.2's FlowMessage fields in its declaration order (the order
 * of its Go struct, which its formatter walks) and the renderer its
 * defaultRenderers table gives each. */
static const struct {
	const char *name;
	enum g2_render r;
} g2_fields[] = {
	{"type", G2_PLAIN},
	{"time_received_ns", G2_PLAIN},
	{"sequence_num", G2_PLAIN},
	{"sampling_rate", G2_PLAIN},
	{"sampler_address", G2_IP},
	{"time_flow_start_ns", G2_PLAIN},
	{"time_flow_end_ns", G2_PLAIN},
	{"bytes", G2_PLAIN},
	{"packets", G2_PLAIN},
	{"src_addr", G2_IP},
	{"dst_addr", G2_IP},
	{"etype", G2_ETYPE},
	{"proto", G2_PROTO},
	{"src_port", G2_PLAIN},
	{"dst_port", G2_PLAIN},
	{"in_if", G2_PLAIN},
	{"out_if", G2_PLAIN},
	{"src_mac", G2_MAC},
	{"dst_mac", G2_MAC},
	{"src_vlan", G2_PLAIN},
	{"dst_vlan", G2_PLAIN},
	{"vlan_id", G2_PLAIN},
	{"ip_tos", G2_PLAIN},
	{"forwarding_status", G2_PLAIN},
	{"ip_ttl", G2_PLAIN},
	{"ip_flags", G2_PLAIN},
	{"tcp_flags", G2_PLAIN},
	{"icmp_type", G2_PLAIN},
	{"icmp_code", G2_PLAIN},
	{"ipv6_flow_label", G2_PLAIN},
	{"fragment_id", G2_PLAIN},
	{"fragment_offset", G2_PLAIN},
	{"src_as", G2_PLAIN},
	{"dst_as", G2_PLAIN},
	{"next_hop", G2_IP},
	{"next_hop_as", G2_PLAIN},
	{"src_net", G2_NET},
	{"dst_net", G2_NET},
	{"bgp_next_hop", G2_IP},
	{"bgp_communities", G2_PLAIN},
	{"as_path", G2_PLAIN},
	{"mpls_ttl", G2_PLAIN},
	{"mpls_label", G2_PLAIN},
	{"mpls_ip", G2_IP},
	{"observation_domain_id", G2_PLAIN},
	{"observation_point_id", G2_PLAIN},
	{"layer_stack", G2_PLAIN},
	{"layer_size", G2_PLAIN},
	{"ipv6_routing_header_addresses", G2_IP},
	{"ipv6_routing_header_seg_left", G2_PLAIN},
};

#define N_G2_FIELDS (sizeof(g2_fields) / sizeof(g2_fields[0]))

/* IANA protocol-number keywords for 0..145, as goflow2 names them. */
static const char *const g2_proto_names[] = {
	"HOPOPT", "ICMP", "IGMP", "GGP", "IPv4", "ST", "TCP", "CBT", "EGP", "IGP",
	"BBN-RCC-MON", "NVP-II", "PUP", "ARGUS", "EMCON", "XNET", "CHAOS", "UDP", "MUX",
	"DCN-MEAS", "HMP", "PRM", "XNS-IDP", "TRUNK-1", "TRUNK-2", "LEAF-1", "LEAF-2", "RDP",
	"IRTP", "ISO-TP4", "NETBLT", "MFE-NSP", "MERIT-INP", "DCCP", "3PC", "IDPR", "XTP", "DDP",
	"IDPR-CMTP", "TP++", "IL", "IPv6", "SDRP", "IPv6-Route", "IPv6-Frag", "IDRP", "RSVP",
	"GRE", "DSR", "BNA", "ESP", "AH", "I-NLSP", "SWIPE", "NARP", "Min-IPv4", "TLSP", "SKIP",
	"IPv6-ICMP", "IPv6-NoNxt", "IPv6-Opts", "any-host-internal-protocol", "CFTP",
	"any-local-network", "SAT-EXPAK", "KRYPTOLAN", "RVD", "IPPC",
	"any-distributed-file-system", "SAT-MON", "VISA", "IPCV", "CPNX", "CPHB", "WSN", "PVP",
	"BR-SAT-MON", "SUN-ND", "WB-MON", "WB-EXPAK", "ISO-IP", "VMTP", "SECURE-VMTP", "VINES",
	"IPTM", "NSFNET-IGP", "DGP", "TCF", "EIGRP", "OSPFIGP", "Sprite-RPC", "LARP", "MTP",
	"AX.25", "IPIP", "MICP", "SCC-SP", "ETHERIP", "ENCAP", "any-private-encryption-scheme",
	"GMTP", "IFMP", "PNNI", "PIM", "ARIS", "SCPS", "QNX", "A/N", "IPComp", "SNP",
	"Compaq-Peer", "IPX-in-IP", "VRRP", "PGM", "any-0-hop-protocol", "L2TP", "DDX", "IATP",
	"STP", "SRP", "UTI", "SMP", "SM", "PTP", "ISIS over IPv4", "FIRE", "CRTP", "CRUDP",
	"SSCOPMCE", "IPLT", "SPS", "PIPE", "SCTP", "FC", "RSVP-E2E-IGNORE", "Mobility Header",
	"UDPLite", "MPLS-in-IP", "manet", "HIP", "Shim6", "WESP", "ROHC", "Ethernet", "AGGFRAG",
	"NSH",
};

static const char *g2_proto_name(uint32_t p)
{
	if (p < sizeof(g2_proto_names) / sizeof(g2_proto_names[0]))
		return g2_proto_names[p];
	if (p >= 146 && p <= 252)
		return "unassigned";
	if (p == 253 || p == 254)
		return "experimental";
	if (p == 255)
		return "reserved";
	return "unknown";
}

/* goflow2 knows three EtherTypes; any other renders as "". */
static const char *g2_etype_name(uint32_t e)
{
	switch (e) {
	case 0x0800:
		return "IPv4";
	case 0x0806:
		return "ARP";
	case 0x86dd:
		return "IPv6";
	default:
		return "";
	}
}

/* IPv6 text as Go's net/netip prints it (RFC 5952: the first longest run
 * of two or more zero groups becomes "::"; ::ffff:a.b.c.d for mapped
 * addresses only), which differs from inet_ntop for ::a.b.c.d. */
static void g2_ipv6(struct out *o, const uint8_t *a)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	unsigned w[8], zs = 8, ze = 8;

	if (memcmp(a, mapped, sizeof(mapped)) == 0) {
		printf_(o, "::ffff:%u.%u.%u.%u", a[12], a[13], a[14], a[15]);
		return;
	}
	for (unsigned i = 0; i < 8; i++)
		w[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
	for (unsigned i = 0; i < 8; i++) {
		unsigned j = i;

		while (j < 8 && w[j] == 0)
			j++;
		if (j - i >= 2 && (zs == 8 || j - i > ze - zs)) {
			zs = i;
			ze = j;
		}
	}
	for (unsigned i = 0; i < 8; i++) {
		if (i == zs) {
			put(o, "::", 2);
			i = ze;
			if (i >= 8)
				break;
		} else if (i > 0) {
			put(o, ":", 1);
		}
		printf_(o, "%x", w[i]);
	}
}

/* goflow2's IP renderer, inside quotes: "" unless 4 or 16 bytes. */
static void g2_ip(struct out *o, const ProtobufCBinaryData *b)
{
	put(o, "\"", 1);
	if (b->len == 4)
		printf_(o, "%u.%u.%u.%u", b->data[0], b->data[1], b->data[2], b->data[3]);
	else if (b->len == 16)
		g2_ipv6(o, b->data);
	put(o, "\"", 1);
}

/* goflow2's network renderer: the flow's own address cut to the mask
 * length, as a prefix; Go prints "invalid Prefix" when there is no
 * address or the length does not fit it. */
static void g2_net(struct out *o, const ProtobufCBinaryData *addr, uint32_t len)
{
	uint8_t a[16] = {0};

	if ((addr->len != 4 && addr->len != 16) || len > addr->len * 8) {
		puts_(o, "\"invalid Prefix\"");
		return;
	}
	memcpy(a, addr->data, addr->len);
	for (size_t bit = len; bit < addr->len * 8; bit++)
		a[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
	put(o, "\"", 1);
	if (addr->len == 4)
		printf_(o, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
	else
		g2_ipv6(o, a);
	printf_(o, "/%u\"", len);
}

/* One value of a goflow2 field. Enums print their name as goflow2's
 * generated String() does: the name, or the number in quotes. */
static void g2_value(struct out *o, const ProtobufCFieldDescriptor *fd, enum g2_render r,
		     const void *p, const Flowpb__FlowMessage *m)
{
	switch (r) {
	case G2_IP:
		g2_ip(o, p);
		return;
	case G2_MAC:
		json_mac(o, *(const uint64_t *)p);
		return;
	case G2_ETYPE:
		json_string(o, g2_etype_name(*(const uint32_t *)p));
		return;
	case G2_PROTO:
		json_string(o, g2_proto_name(*(const uint32_t *)p));
		return;
	case G2_NET:
		g2_net(o, strcmp(fd->name, "src_net") == 0 ? &m->src_addr : &m->dst_addr,
		       *(const uint32_t *)p);
		return;
	case G2_PLAIN:
		break;
	}
	if (fd->type == PROTOBUF_C_TYPE_ENUM) {
		int v = *(const int *)p;
		const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(fd->descriptor, v);

		if (ev)
			json_string(o, ev->name);
		else
			printf_(o, "\"%d\"", v);
		return;
	}
	json_value(o, fd, p);
}

static size_t format_goflow2(const Flowpb__FlowMessage *m, char *buf, size_t cap)
{
	const ProtobufCMessageDescriptor *d = m->base.descriptor;
	const char *base = (const char *)m;
	struct out o = {.p = buf, .cap = cap};
	bool first = true;

	put(&o, "{", 1);
	for (size_t i = 0; i < N_G2_FIELDS; i++) {
		const ProtobufCFieldDescriptor *fd =
			protobuf_c_message_descriptor_get_field_by_name(d, g2_fields[i].name);
		const void *p;

		/* The table names fields of our own schema; a test checks
		 * every one exists. */
		if (!fd)
			continue;
		p = base + fd->offset;
		printf_(&o, "%s\"%s\":", first ? "" : ",", fd->name);
		first = false;
		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(const void *)(base + fd->quantifier_offset);
			const char *arr = *(const char *const *)p;
			size_t sz = type_size(fd->type);

			put(&o, "[", 1);
			for (size_t k = 0; k < n; k++) {
				if (k)
					put(&o, ",", 1);
				g2_value(&o, fd, g2_fields[i].r, arr + k * sz, m);
			}
			put(&o, "]", 1);
		} else {
			g2_value(&o, fd, g2_fields[i].r, p, m);
		}
	}
	/* Our own fields after goflow2's, in the native style. */
	for (unsigned i = 0; i < d->n_fields; i++) {
		if (d->fields[i].id >= 1000)
			native_field(&o, &d->fields[i], base, &first);
	}
	put(&o, "}\n", 2);
	return o.full ? 0 : o.len;
}

size_t fc_json_format_style(const ProtobufCMessage *m, enum fc_json_style style, char *buf,
			    size_t cap)
{
	if (style == FC_JSON_GOFLOW2 && m->descriptor == &flowpb__flow_message__descriptor)
		return format_goflow2((const Flowpb__FlowMessage *)(const void *)m, buf, cap);
	return fc_json_format(m, buf, cap);
}

int fc_json_style_parse(const char *name, enum fc_json_style *out)
{
	if (!name || strcmp(name, "native") == 0) {
		*out = FC_JSON_NATIVE;
		return 0;
	}
	if (strcmp(name, "goflow2") == 0) {
		*out = FC_JSON_GOFLOW2;
		return 0;
	}
	return FC_EINVAL;
}

int fc_json_write_msg(const ProtobufCMessage *m, enum fc_json_style style, FILE *out)
{
	/* Room for the largest framed message (FC_PB_MAX_FRAMED) as text. */
	char buf[65536];
	size_t n = fc_json_format_style(m, style, buf, sizeof(buf));

	if (n == 0)
		return FC_ELIMIT;
	return fwrite(buf, 1, n, out) == n ? 0 : FC_ESYS;
}
