/*
 * Descriptor-driven JSON rendering of protobuf-c messages (see json.h).
 */
#include "encode/json.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#include "fc/err.h"

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

size_t fc_json_format(const ProtobufCMessage *m, char *buf, size_t cap)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const char *base = (const char *)m;
	struct out o = {.p = buf, .cap = cap};
	bool first = true;

	put(&o, "{", 1);
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *fd = &d->fields[i];
		const void *p = base + fd->offset;

		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + fd->quantifier_offset);
			const char *arr = *(const char *const *)p;
			size_t sz = type_size(fd->type);

			if (n == 0)
				continue;
			printf_(&o, "%s\"%s\":[", first ? "" : ",", fd->name);
			for (size_t k = 0; k < n; k++) {
				if (k)
					put(&o, ",", 1);
				json_value(&o, fd, arr + k * sz);
			}
			put(&o, "]", 1);
		} else {
			if (is_zero(fd, p))
				continue;
			puts_(&o, first ? "\"" : ",\"");
			puts_(&o, fd->name);
			puts_(&o, "\":");
			json_value(&o, fd, p);
		}
		first = false;
	}
	put(&o, "}\n", 2);
	return o.full ? 0 : o.len;
}

int fc_json_write_msg(const ProtobufCMessage *m, FILE *out)
{
	char buf[16384];
	size_t n = fc_json_format(m, buf, sizeof(buf));

	if (n == 0)
		return FC_ELIMIT;
	return fwrite(buf, 1, n, out) == n ? 0 : FC_ESYS;
}
