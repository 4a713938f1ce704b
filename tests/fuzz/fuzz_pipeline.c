/*
 * libFuzzer target: a sequence of datagrams from a few fake exporters
 * through one fresh decoder, so the template engine sees templates added,
 * replaced, withdrawn and expired, data held and released or given up, and
 * sessions created past the cap.
 *
 * Input: records of [ctl:1][advance_s:1][len:2 BE][len bytes]. ctl bits
 * 0-1 pick the exporter (4 addresses), bit 2 the source port, bit 3 sets
 * the version word to IPFIX (else v9), bit 4 runs a tick after the
 * datagram. advance_s moves the clock.
 * fc_decoder_finish runs at the end.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fc/cursor.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[65536];
	struct fc_config cfg;
	static struct fc_metrics *m; /* shared: counters are found, not re-created */
	struct fc_decoder *d;
	struct fc_sink sink = {.flow = fc_fuzz_sink_flow};
	struct fc_cur c;
	uint64_t now = 1700000000000000000ull;

	fc_config_init(&cfg); /* the binary's defaults, then small caps */
	cfg.template_max_fields = 32;
	cfg.template_max_per_exporter = 8;
	cfg.template_max_exporters = 3;
	cfg.hold_bytes = 512;
	cfg.hold_seconds = 3;
	cfg.template_ttl = 5;
	d = fc_fuzz_decoder_new(&cfg, &m, &sink);
	fc_cur_init(&c, data, size);
	while (fc_cur_left(&c) >= 4) {
		uint8_t ctl = fc_cur_u8(&c);
		uint8_t adv = fc_cur_u8(&c);
		size_t len = fc_cur_be16(&c);
		const uint8_t *p;
		struct fc_dgram g;

		if (len > fc_cur_left(&c))
			len = fc_cur_left(&c);
		p = fc_cur_view(&c, len);
		if (!p)
			break;
		memcpy(buf, p, len);
		if (len >= 2) {
			buf[0] = 0;
			buf[1] = (ctl & 8) ? 10 : 9;
		}
		memset(&g, 0, sizeof(g));
		g.data = buf;
		g.len = len;
		fc_fuzz_exporter4(&g, 10, (uint8_t)(ctl & 3));
		g.src_port = (ctl & 4) ? 2055 : 4739;
		now += (uint64_t)adv * 1000000000ull;
		g.time_ns = now;
		fc_decode_datagram(d, &g);
		if (ctl & 16)
			fc_decoder_tick(d, now);
	}
	fc_decoder_finish(d);
	fc_decoder_free(d);
	fc_config_fini(&cfg);
	return 0;
}
