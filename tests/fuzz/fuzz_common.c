/*
 * Helpers shared by the decoder fuzz targets; see fuzz_common.h.
 */
#include "fuzz_common.h"

#include <stdlib.h>
#include <string.h>

void fc_fuzz_sink_flow(void *ctx, struct fc_flow *f)
{
	/* Touch every byte so sanitizers see uninitialized or stale data. */
	const volatile uint8_t *p = (const uint8_t *)f;
	uint8_t x = 0;

	(void)ctx;
	for (size_t i = 0; i < sizeof(*f); i++)
		x ^= p[i];
	if (f->in_if_name)
		x ^= (uint8_t)strlen(f->in_if_name);
	if (f->out_if_name)
		x ^= (uint8_t)strlen(f->out_if_name);
	(void)x;
}

struct fc_decoder *fc_fuzz_decoder_new(const struct fc_config *cfg, struct fc_metrics **m,
				       const struct fc_sink *sink)
{
	struct fc_decoder *d;

	if (!*m)
		*m = fc_metrics_new();
	if (!*m)
		abort();
	d = fc_decoder_new(cfg, *m, sink);
	if (!d)
		abort();
	return d;
}

void fc_fuzz_exporter4(struct fc_dgram *g, uint8_t a0, uint8_t a3)
{
	g->src.family = 4;
	g->src.a[0] = a0;
	g->src.a[3] = a3;
}

int fc_fuzz_template_one(const uint8_t *data, size_t size, uint8_t version)
{
	static struct fc_config cfg;
	static struct fc_metrics *m;
	static struct fc_decoder *d;
	static uint64_t now = 1700000000000000000ull;
	static uint8_t buf[65536];
	struct fc_sink sink = {.flow = fc_fuzz_sink_flow};
	struct fc_dgram g = {.data = buf, .src_port = 2055};

	if (!d) {
		fc_config_init(&cfg); /* the binary's defaults, then small caps */
		cfg.template_max_fields = 64;
		cfg.template_max_per_exporter = 32;
		cfg.template_max_exporters = 16;
		cfg.hold_bytes = 4096;
		cfg.hold_seconds = 2;
		cfg.template_ttl = 10;
		d = fc_fuzz_decoder_new(&cfg, &m, &sink);
	}
	if (size > sizeof(buf))
		size = sizeof(buf);
	memcpy(buf, data, size);
	if (size >= 2) {
		buf[0] = 0;
		buf[1] = version;
	}
	g.len = size;
	fc_fuzz_exporter4(&g, 192, (uint8_t)(size & 3));
	now += 1000000000ull;
	g.time_ns = now;
	fc_decode_datagram(d, &g);
	if ((size & 7) == 0)
		fc_decoder_tick(d, now);
	return 0;
}
