/*
 * libFuzzer target: the template store's file reader (src/template/file.c,
 * fc_tmpl_load_mem), which parses bytes from disk that may be damaged or
 * not ours. Each input goes to a fresh store with small caps and a small
 * memory budget, so that loading also runs the session cap, template cap,
 * field cap and budget evictions; then an expiry pass and a free.
 *
 * Input: [mode:1][bytes]. mode bit 0 set: bytes are a body, framed here
 * with the magic, its length and a correct checksum (the fuzzer could not
 * find the checksum by itself, and the body parser is what has depth);
 * clear: bytes are the whole file. Bit 1: the input is loaded twice
 * (merging into state already there).
 */
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/hash.h"
#include "decode/nfv9_ipfix.h"
#include "metrics/metrics.h"
#include "template/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void put_be(uint8_t *out, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		out[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fc_metrics *m;
	struct fc_config cfg;
	struct fc_tmpl_hooks hooks = {.resolve = fc_nfx_resolve};
	struct fc_tmpl_store *e;
	uint8_t *buf = NULL;
	const uint8_t *in;
	size_t len;
	uint8_t mode;

	if (size < 1 || size > (1u << 20))
		return 0;
	mode = data[0];
	in = data + 1;
	len = size - 1;
	if (mode & 1) {
		buf = malloc(len + 20);
		if (!buf)
			abort();
		memcpy(buf, "FCTMPL02", 8);
		put_be(buf + 8, len, 4);
		if (len)
			memcpy(buf + 12, in, len);
		put_be(buf + 12 + len, fc_hash(FC_HASH_SEED, buf, 12 + len), 8);
		in = buf;
		len += 20;
	}
	if (!m)
		m = fc_metrics_new();
	if (!m)
		abort();
	fc_config_init(&cfg); /* the binary's defaults, then small caps */
	cfg.template_max_exporters = 4;
	cfg.template_max_per_exporter = 4;
	cfg.template_max_fields = 16;
	cfg.template_memory = 16384;
	e = fc_tmpl_store_new(&cfg, m, &hooks);
	if (!e)
		abort();
	(void)fc_tmpl_load_mem(e, in, len);
	if (mode & 2)
		(void)fc_tmpl_load_mem(e, in, len);
	if (fc_tmpl_store_memory(e) > cfg.template_memory)
		abort();
	fc_tmpl_expire(e, 1700000000000000000ull);
	fc_tmpl_store_free(e);
	fc_config_fini(&cfg);
	free(buf);
	return 0;
}
