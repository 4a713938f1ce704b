/*
 * libFuzzer target: the version sniffer and the NetFlow v5 decoder, through
 * fc_decode_datagram as the daemon calls it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

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
	(void)x;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fc_config cfg;
	static struct fc_metrics *m;
	static struct fc_decoder *d;
	struct fc_sink sink = {.flow = sink_flow};
	struct fc_dgram g = {.data = data, .len = size, .src_port = 2055, .time_ns = 1};

	if (!d) {
		m = fc_metrics_new();
		d = fc_decoder_new(&cfg, m, &sink);
		if (!d)
			abort();
	}
	g.src.family = 4;
	g.src.a[0] = 192;
	g.src.a[3] = (uint8_t)(size & 3);
	fc_decode_datagram(d, &g);
	return 0;
}
