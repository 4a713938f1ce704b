/*
 * Test helpers for the NetFlow v9 / IPFIX suites (test_nf9.c, test_ipfix.c,
 * test_template.c): a byte builder for export packets written in the test
 * (template first, then data, as goflow2's netflow_test.go does) and a
 * decoder whose sink keeps copies of the flows it is handed.
 */
#ifndef FC_TEST_NFX_BUILD_H
#define FC_TEST_NFX_BUILD_H

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "decode/decode.h"
#include "fc/err.h"
#include "metrics/metrics.h"
#include "check_run.h"

struct pkt {
	uint8_t b[8192];
	size_t n;
};

static inline void p8(struct pkt *p, uint64_t v)
{
	ck_assert_uint_lt(p->n, sizeof(p->b));
	p->b[p->n++] = (uint8_t)v;
}

static inline void pN(struct pkt *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p8(p, v >> (8 * (n - 1 - i)));
}

static inline void p16(struct pkt *p, uint64_t v)
{
	pN(p, v, 2);
}

static inline void p32(struct pkt *p, uint64_t v)
{
	pN(p, v, 4);
}

static inline void pbytes(struct pkt *p, const void *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p8(p, ((const uint8_t *)b)[i]);
}

/* Opens a set / flowset; returns where its length goes. */
static inline size_t set_begin(struct pkt *p, uint16_t id)
{
	size_t at = p->n;

	p16(p, id);
	p16(p, 0);
	return at;
}

static inline void set_end(struct pkt *p, size_t at)
{
	size_t len = p->n - at;

	p->b[at + 2] = (uint8_t)(len >> 8);
	p->b[at + 3] = (uint8_t)len;
}

/* Writes (id, length) field specifiers; pairs holds 2 * n values. */
static inline void field_specs(struct pkt *p, const uint16_t *pairs, size_t n)
{
	for (size_t i = 0; i < 2 * n; i++)
		p16(p, pairs[i]);
}

/* The field list of TMPL_REC & co as an array literal and its pair count. */
#define NFX_PAIRS(...) (const uint16_t[]){__VA_ARGS__}
#define NFX_NPAIRS(...) (sizeof(NFX_PAIRS(__VA_ARGS__)) / (2 * sizeof(uint16_t)))

/* One template record (v9 §5.2, IPFIX §3.4.1), inside a set 0 / 2:
 * TMPL_REC(p, 256, 8, 4, 12, 4) is template 256 with fields 8 and 12,
 * 4 bytes each. The field count is derived from the pairs. */
#define TMPL_REC(p, id, ...)                                                   \
	do {                                                                   \
		p16((p), (id));                                                \
		p16((p), NFX_NPAIRS(__VA_ARGS__));                             \
		field_specs((p), NFX_PAIRS(__VA_ARGS__), NFX_NPAIRS(__VA_ARGS__)); \
	} while (0)

/* IPFIX options template record (§3.4.2.2): the first nscope pairs are
 * scope fields. */
#define IPFIX_OPT_REC(p, id, nscope, ...)                                      \
	do {                                                                   \
		p16((p), (id));                                                \
		p16((p), NFX_NPAIRS(__VA_ARGS__));                             \
		p16((p), (nscope));                                            \
		field_specs((p), NFX_PAIRS(__VA_ARGS__), NFX_NPAIRS(__VA_ARGS__)); \
	} while (0)

/* v9 options template record (§6.1): scope and option lengths are in
 * bytes, 4 per (type, length) pair; the first nscope pairs are scopes. */
#define V9_OPT_REC(p, id, nscope, ...)                                         \
	do {                                                                   \
		p16((p), (id));                                                \
		p16((p), 4 * (nscope));                                        \
		p16((p), 4 * (NFX_NPAIRS(__VA_ARGS__) - (nscope)));            \
		field_specs((p), NFX_PAIRS(__VA_ARGS__), NFX_NPAIRS(__VA_ARGS__)); \
	} while (0)

static inline void v9_header(struct pkt *p, uint32_t uptime, uint32_t secs, uint32_t seq,
			     uint32_t source_id)
{
	p->n = 0;
	p16(p, 9);
	p16(p, 0); /* count: never trusted */
	p32(p, uptime);
	p32(p, secs);
	p32(p, seq);
	p32(p, source_id);
}

static inline void ipfix_header(struct pkt *p, uint32_t secs, uint32_t seq, uint32_t domain)
{
	p->n = 0;
	p16(p, 10);
	p16(p, 0);
	p32(p, secs);
	p32(p, seq);
	p32(p, domain);
}

static inline void ipfix_end(struct pkt *p)
{
	p->b[2] = (uint8_t)(p->n >> 8);
	p->b[3] = (uint8_t)p->n;
}

#define TCTX_MAX_FLOWS 256

struct tctx {
	struct fc_config cfg;
	struct fc_metrics *m;
	struct fc_decoder *d;
	struct fc_flow flows[TCTX_MAX_FLOWS];
	char in_names[TCTX_MAX_FLOWS][80];
	int n;
};

static inline void tctx_sink(void *ctx, struct fc_flow *f)
{
	struct tctx *t = ctx;

	if (t->n < TCTX_MAX_FLOWS) {
		if (f->in_if_name)
			strncpy(t->in_names[t->n], f->in_if_name, sizeof(t->in_names[0]) - 1);
		t->flows[t->n++] = *f;
	}
}

/* Starts from the binary's defaults (fc_config_init); cfg fields may be
 * set between tctx_zero and tctx_start (strings heap-allocated: tctx_fini
 * frees them with the config). */
static inline void tctx_zero(struct tctx *t)
{
	memset(t, 0, sizeof(*t));
	fc_config_init(&t->cfg);
}

static inline void tctx_start(struct tctx *t)
{
	struct fc_sink sink = {.flow = tctx_sink, .ctx = t};

	t->m = fc_metrics_new();
	ck_assert_ptr_nonnull(t->m);
	t->d = fc_decoder_new(&t->cfg, t->m, &sink);
	ck_assert_ptr_nonnull(t->d);
}

static inline void tctx_init(struct tctx *t)
{
	tctx_zero(t);
	tctx_start(t);
}

static inline void tctx_fini(struct tctx *t)
{
	fc_decoder_free(t->d);
	fc_metrics_free(t->m);
	fc_config_fini(&t->cfg);
}

/* Feeds p as a datagram from 192.0.2.<host>:port at time t_ns. */
static inline int tctx_feed(struct tctx *t, const struct pkt *p, uint8_t host, uint16_t port,
			    uint64_t t_ns)
{
	struct fc_dgram g;

	memset(&g, 0, sizeof(g));
	g.data = p->b;
	g.len = p->n;
	g.src.family = 4;
	g.src.a[0] = 192;
	g.src.a[2] = 2;
	g.src.a[3] = host;
	g.src_port = port;
	g.time_ns = t_ns;
	return fc_decode_datagram(t->d, &g);
}

static inline uint64_t metric(struct tctx *t, const char *name, const char *labels)
{
	return fc_metrics_get(t->m, name, labels);
}

/* Feeds a hand-made malformed datagram to a fresh decoder: it must be
 * refused with an error and yield no flow. */
static inline void expect_refused(const char *name, const uint8_t *b, size_t n, uint16_t port,
				  uint64_t t_ns)
{
	struct tctx t;
	struct pkt p;

	ck_assert_uint_le(n, sizeof(p.b));
	tctx_init(&t);
	memcpy(p.b, b, n);
	p.n = n;
	ck_assert_msg(tctx_feed(&t, &p, 1, port, t_ns) < 0, "%s: accepted", name);
	ck_assert_msg(t.n == 0, "%s: emitted flows", name);
	tctx_fini(&t);
}


#define T0 1700000000000000000ull /* a receive time, Unix ns */
#define SEC 1000000000ull

#endif
