/*
 * Helpers shared by the decoder fuzz targets (fuzz_nf5.c, fuzz_nfv9.c,
 * fuzz_ipfix.c, fuzz_pipeline.c): a flow sink that reads every byte it is
 * given, decoder creation that aborts instead of fuzzing nothing, and the
 * one-datagram template-protocol target that NetFlow v9 and IPFIX share.
 * tests/fuzz/meson.build compiles fuzz_common.c into every target.
 */
#ifndef FC_FUZZ_COMMON_H
#define FC_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "decode/decode.h"
#include "metrics/metrics.h"

/* Sink callback: reads the whole record and the interface names it points
 * to, so sanitizers see uninitialized, stale or dangling data. */
void fc_fuzz_sink_flow(void *ctx, struct fc_flow *f);

/* Creates *m if it is still NULL (the registry is kept across inputs: its
 * counters are found again, not re-created), then a decoder; aborts on
 * either failure. */
struct fc_decoder *fc_fuzz_decoder_new(const struct fc_config *cfg, struct fc_metrics **m,
				       const struct fc_sink *sink);

/* Marks g as coming from IPv4 exporter a0.0.0.a3. */
void fc_fuzz_exporter4(struct fc_dgram *g, uint8_t a0, uint8_t a3);

/*
 * The whole NetFlow v9 / IPFIX target: one input is one datagram whose
 * version word is forced to `version` so that every input reaches that
 * decoder. The decoder (and its template engine) lives across inputs with
 * small caps so that the cap paths run; the clock advances 1 s per input
 * and a tick runs on every eighth length.
 */
int fc_fuzz_template_one(const uint8_t *data, size_t size, uint8_t version);

#endif
