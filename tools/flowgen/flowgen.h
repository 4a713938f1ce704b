/*
 * flowgen internals: the deterministic flow model and the per-protocol
 * datagram builders. Not a library API: shared by the files of
 * tools/flowgen only.
 *
 * Model: fg_synth_flow draws one flow (struct fc_flow, the project's
 * normalized record, include/fc/flow.h) from a seeded PRNG. A builder then
 * "projects" each flow onto what its wire format can carry (NetFlow v5 has
 * 16-bit interfaces and AS numbers and no IPv6; sFlow carries no flow
 * times...), writes the datagram, and leaves in flows[] exactly the records
 * a correct collector must decode from it, in wire order. Those are what
 * --json prints, so a test can compare sent against received field by field.
 */
#ifndef FG_FLOWGEN_H
#define FG_FLOWGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fc/flow.h"
#include "wbuf.h"

enum fg_proto { FG_NF5 = 0, FG_NF9, FG_IPFIX, FG_SFLOW };

/* splitmix64: tiny, fast, and the same sequence on every platform. */
struct fg_rng {
	uint64_t s;
};

uint64_t fg_rand(struct fg_rng *r);
/* Uniform-enough integer in [lo, hi]. */
uint64_t fg_range(struct fg_rng *r, uint64_t lo, uint64_t hi);
/* true with probability pct/100. */
bool fg_chance(struct fg_rng *r, unsigned pct);

/* Samplers announced in NetFlow v9 / IPFIX options data. */
#define FG_NSAMPLERS 2
struct fg_sampler {
	uint32_t id;
	uint32_t rate;
};

struct fg_gen {
	struct fg_rng rng;
	enum fg_proto proto;
	struct fc_addr exporter; /* source of the datagrams: sampler_address */
	uint16_t exporter_port;
	uint64_t boot_ms;        /* exporter's boot time, Unix ms (sysUptime 0) */
	unsigned template_every; /* v9/IPFIX: resend templates every N datagrams */

	uint64_t datagrams;      /* built so far */
	uint32_t nf5_flow_seq;   /* v5: flows sent before this datagram */
	uint32_t ipfix_rec_seq;  /* IPFIX: data records sent before this message */
	uint32_t sflow_sample_seq[4];
	uint64_t counter_samples;
	uint64_t template_datagrams;

	struct fg_sampler samplers[FG_NSAMPLERS];
	struct fc_addr sflow_agent;
};

void fg_gen_init(struct fg_gen *g, enum fg_proto proto, uint64_t seed, uint64_t start_ms);

/* Draws one flow as of export time t_ms (flows end before it). IPv6 only
 * when allow_v6. Times are whole milliseconds, so every time encoding of
 * every protocol carries them exactly. */
void fg_synth_flow(struct fg_gen *g, struct fc_flow *f, bool allow_v6, uint64_t t_ms);

/* Builders: write one datagram holding the n flows into w (which must be
 * empty), projecting and reordering flows[] as described above. Return 0,
 * or -1 when the datagram did not fit w. */
int fg_build_nf5(struct fg_gen *g, struct fc_flow *flows, size_t n, uint64_t t_ms,
		 struct fg_wbuf *w);
int fg_build_nf9(struct fg_gen *g, struct fc_flow *flows, size_t n, uint64_t t_ms,
		 struct fg_wbuf *w);
int fg_build_ipfix(struct fg_gen *g, struct fc_flow *flows, size_t n, uint64_t t_ms,
		   struct fg_wbuf *w);
int fg_build_sflow(struct fg_gen *g, struct fc_flow *flows, size_t n, uint64_t t_ms,
		   struct fg_wbuf *w);

/* Most flows one datagram may carry, per protocol (keeps it < 64 KiB). */
size_t fg_max_flows_per_datagram(enum fg_proto p);
size_t fg_default_flows_per_datagram(enum fg_proto p);

/* Writes one JSON object (no newline) in the collector's --output json
 * format: flow.proto field names, zero/empty fields omitted. Returns the
 * length written, or 0 when it did not fit (buf is then unspecified). */
size_t fg_flow_json(const struct fc_flow *f, char *buf, size_t cap);

/* Writes addr as 4 or 16 wire bytes. */
void fg_w_addr(struct fg_wbuf *w, const struct fc_addr *a);

/* Stable-partitions flows so that IPv4 come first; returns how many. */
size_t fg_partition_v4(struct fc_flow *flows, size_t n);

/* Shared by the NetFlow v9 and IPFIX builders (enc_tmpl.c). */
/* Starts a (Flow)Set with this id; returns its offset for fg_set_end. */
size_t fg_set_begin(struct fg_wbuf *w, uint16_t id);
/* Patches the length of the set started at offset set (pad first). */
void fg_set_end(struct fg_wbuf *w, size_t set);
/* The projection both apply: sampler by packets, sequence, domain, no
 * ports for ICMP, no VLAN / TTL / fragment fields, no flow label on IPv4,
 * no MACs or direction on IPv6. Protocol limits are the caller's. */
void fg_project_tmpl(struct fg_gen *g, struct fc_flow *f, enum fc_flow_type type, uint32_t seq,
		     uint32_t domain);
/* Data-record fields IEs 8-17 (IPv4 addressing) and 56, 80, 61 (MACs,
 * direction), in that order, as both templates 256 lay them out. */
void fg_w_v4_addressing(struct fg_wbuf *w, const struct fc_flow *f);
void fg_w_l2_direction(struct fg_wbuf *w, const struct fc_flow *f);

#endif
