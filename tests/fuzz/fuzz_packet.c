/*
 * libFuzzer target: the L2->L4 parser (src/packet/packet.c). The first byte
 * picks where parsing starts (Ethernet, IPv4, IPv6, IP, MPLS); the rest is
 * the frame. The result is copied into a flow, as sFlow does, and every
 * payload view is read end to end so ASan sees any view past the input.
 */
#include <stddef.h>
#include <stdint.h>

#include "fc/flow.h"
#include "packet/packet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fc_pkt p;
	struct fc_flow f;
	volatile uint8_t x = 0;

	if (size < 1)
		return 0;
	fc_pkt_parse(data + 1, size - 1, (enum fc_pkt_start)(data[0] % 5 + 1), &p);
	for (size_t i = 0; i < p.l3_payload_len; i++)
		x ^= p.l3_payload[i];
	for (size_t i = 0; i < p.l4_payload_len; i++)
		x ^= p.l4_payload[i];
	fc_flow_reset(&f);
	fc_pkt_to_flow(&p, &f);
	(void)x;
	return 0;
}
