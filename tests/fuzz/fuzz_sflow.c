/*
 * libFuzzer target: the sFlow v5 decoder (src/decode/sflow.c) with the
 * packet parser underneath, through fc_decode_datagram as the daemon calls
 * it. The input is one UDP payload. Counter samples are also encoded with
 * fc_pb_counter_fill and packed, so the encoder sees what the decoder can
 * produce. A few agents alternate so the sequence state sees changes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "config/config.h"
#include "decode/decode.h"
#include "encode/pb_counter.h"
#include "fc/counter.h"
#include "metrics/metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void touch(const void *p, size_t n)
{
	/* Read every byte so sanitizers see uninitialized or stale data. */
	const volatile uint8_t *b = (const uint8_t *)p;
	uint8_t x = 0;

	for (size_t i = 0; i < n; i++)
		x ^= b[i];
	(void)x;
}

static void sink_flow(void *ctx, struct fc_flow *f)
{
	(void)ctx;
	touch(f, sizeof(*f));
}

static void sink_counter(void *ctx, const struct fc_counter *c)
{
	static struct fc_pb_counter s;
	static uint8_t out[8192];
	size_t n;

	(void)ctx;
	fc_pb_counter_fill(c, &s);
	n = protobuf_c_message_get_packed_size(&s.msg.base);
	if (n <= sizeof(out))
		touch(out, protobuf_c_message_pack(&s.msg.base, out));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fc_config cfg;
	static struct fc_metrics *m;
	static struct fc_decoder *d;
	struct fc_sink sink = {.flow = sink_flow, .counter = sink_counter};
	struct fc_dgram g = {.data = data, .len = size, .src_port = 6343, .time_ns = 1};

	if (!d) {
		cfg.sflow_max_samples = 64;
		cfg.sflow_max_records = 32;
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
