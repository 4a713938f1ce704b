/*
 * libFuzzer target: the version sniffer and the NetFlow v5 decoder, through
 * fc_decode_datagram as the daemon calls it.
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fc_config cfg;
	static struct fc_metrics *m;
	static struct fc_decoder *d;
	struct fc_sink sink = {.flow = fc_fuzz_sink_flow};
	struct fc_dgram g = {.data = data, .len = size, .src_port = 2055, .time_ns = 1};

	if (!d) {
		fc_config_init(&cfg); /* the binary's defaults */
		d = fc_fuzz_decoder_new(&cfg, &m, &sink);
	}
	fc_fuzz_exporter4(&g, 192, (uint8_t)(size & 3));
	fc_decode_datagram(d, &g);
	return 0;
}
