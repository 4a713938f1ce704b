/*
 * One export datagram as an input hands it to the decoders: the UDP payload,
 * where it came from and when it was received.
 *
 * Ownership: data belongs to the input and is borrowed by the decoders for
 * one call; anything kept longer (templates) is copied.
 */
#ifndef FC_DGRAM_H
#define FC_DGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "fc/flow.h"

struct fc_dgram {
	const uint8_t *data;
	size_t len;
	struct fc_addr src; /* exporter address */
	uint16_t src_port;  /* exporter UDP source port */
	struct fc_addr dst;
	uint16_t dst_port;
	uint64_t time_ns; /* receive time (capture time in --pcap), Unix ns */
};

#endif
