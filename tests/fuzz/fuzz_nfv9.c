/*
 * libFuzzer target: the NetFlow v9 decoder through fc_decode_datagram, with the
 * template engine kept across inputs (so templates learned from one input
 * decode data of later ones) and small caps so that the cap paths run.
 * The version word is forced to 9 so that every input reaches the decoder.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "decode/decode.h"
#include "metrics/metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sink_flow(void *ctx, struct fc_flow *f)
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fc_config cfg;
	static struct fc_metrics *m;
	static struct fc_decoder *d;
	static uint64_t now = 1700000000000000000ull;
	static uint8_t buf[65536];
	struct fc_sink sink = {.flow = sink_flow};
	struct fc_dgram g = {.data = buf, .src_port = 2055};

	if (!d) {
		cfg.template_max_fields = 64;
		cfg.template_max_per_exporter = 32;
		cfg.template_max_exporters = 16;
		cfg.hold_bytes = 4096;
		cfg.hold_seconds = 2;
		cfg.template_ttl = 10;
		m = fc_metrics_new();
		d = fc_decoder_new(&cfg, m, &sink);
		if (!d)
			abort();
	}
	if (size > sizeof(buf))
		size = sizeof(buf);
	memcpy(buf, data, size);
	if (size >= 2) {
		buf[0] = 0;
		buf[1] = 9;
	}
	g.len = size;
	g.src.family = 4;
	g.src.a[0] = 192;
	g.src.a[3] = (uint8_t)(size & 3);
	now += 1000000000ull;
	g.time_ns = now;
	fc_decode_datagram(d, &g);
	if ((size & 7) == 0)
		fc_decoder_tick(d, now);
	return 0;
}
