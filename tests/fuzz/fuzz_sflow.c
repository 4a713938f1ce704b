/*
 * libFuzzer target: the sFlow v5 decoder (src/decode/sflow.c) with the
 * packet parser underneath, through fc_decode_datagram as the daemon calls
 * it. The input is one UDP payload. Counter samples are also encoded with
 * fc_pb_counter_fill and packed, so the encoder sees what the decoder can
 * produce, and with fc_pb_counter_frame, which must give the same bytes. A few agents alternate so the sequence state sees changes.
 * Flow sink and decoder set-up are the shared ones of fuzz_common.c.
 */
#include <stddef.h>
#include <stdint.h>

#include <stdlib.h>
#include <string.h>

#include "encode/pb.h"
#include "encode/pb_counter.h"
#include "fc/counter.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sink_counter(void *ctx, const struct fc_counter *c)
{
	static struct fc_pb_counter s;
	static uint8_t out[8192], ref[FC_PB_MAX_FRAMED], fast[FC_PB_MAX_FRAMED];
	size_t n, rn;

	(void)ctx;
	fc_pb_counter_fill(c, &s);
	n = protobuf_c_message_get_packed_size(&s.msg.base);
	if (n <= sizeof(out)) {
		/* Read every packed byte so sanitizers see uninitialized or
		 * stale data the encoder copied out. */
		const volatile uint8_t *b = out;
		uint8_t x = 0;

		n = protobuf_c_message_pack(&s.msg.base, out);
		for (size_t i = 0; i < n; i++)
			x ^= b[i];
		(void)x;
	}
	rn = fc_pb_frame(&s.msg.base, ref, sizeof(ref));
	if (fc_pb_counter_frame(c, fast, sizeof(fast)) != rn || memcmp(fast, ref, rn) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fc_config cfg;
	static struct fc_metrics *m;
	static struct fc_decoder *d;
	struct fc_sink sink = {.flow = fc_fuzz_sink_flow, .counter = sink_counter};
	struct fc_dgram g = {.data = data, .len = size, .src_port = 6343, .time_ns = 1};

	if (!d) {
		fc_config_init(&cfg); /* the binary's defaults, then */
		/* small caps so that the cap paths run */
		cfg.sflow_max_samples = 64;
		cfg.sflow_max_records = 32;
		d = fc_fuzz_decoder_new(&cfg, &m, &sink);
	}
	fc_fuzz_exporter4(&g, 192, (uint8_t)(size & 3));
	fc_decode_datagram(d, &g);
	return 0;
}
