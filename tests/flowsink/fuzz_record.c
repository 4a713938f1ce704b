/*
 * libFuzzer target for flowsink's record decoder (src/flowsink/record.c):
 * the input is one Kafka record value (varint-framed FlowMessages). Every
 * decoded flow also goes through rule matching and key expansion, the
 * code that turns wire strings (exporter names, countries) into Redis keys.
 * Built with tests/fuzz/replay_main.c, the corpus in
 * tests/corpus/flowsink_record/ (written by make_corpus.py) runs as tests.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "flowsink/record.h"
#include "flowsink/rule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fc_rule rules[2];
static struct fc_record_dec *dec;

static int emit(void *arg, const struct fc_sink_flow *f)
{
	char key[FC_RULE_KEY_MAX], ip[FC_ADDR_STRLEN];
	size_t *n = arg;

	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		if (!fc_rule_match(&rules[i], f))
			continue;
		fc_addr_str(&f->src, ip);
		(void)fc_rule_key(&rules[i], f, ip, key, sizeof(key));
	}
	(*n)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t bad[FC_RECORD_BAD_COUNT] = {0};
	size_t n = 0;
	char err[128];

	if (!dec) {
		dec = fc_record_dec_new();
		if (!dec ||
		    fc_rule_parse(&rules[0], FC_RULE_SET, "s:{exporter}:{hour}:{day}:{window},window=60",
				  err, sizeof(err)) ||
		    fc_rule_parse(&rules[1], FC_RULE_COUNTERS,
				  "c:{ip},country=DE,exporter=10.0.0.1,proto=6", err, sizeof(err)))
			abort();
	}
	(void)fc_record_decode(dec, data, size, bad, emit, &n);
	return 0;
}
