/*
 * Input interface (dav1d demuxer style): a vtable per kind of input. There
 * are two, named below; main.c picks fc_input_pcap with --pcap and
 * fc_input_udp otherwise. An input produces batches of datagrams.
 *
 * Ownership: the datagrams' bytes belong to the input and stay valid until
 * the next read or close. Thread affinity: one input instance is used by one
 * thread.
 */
#ifndef FC_INPUT_H
#define FC_INPUT_H

#include <stddef.h>

#include "fc/dgram.h"

struct fc_config;
struct fc_metrics;

struct fc_input_ops {
	const char *name;
	size_t priv_size; /* zeroed memory of this size is passed as priv */
	/* arg: the input's argument (pcap file path, "ADDR:PORT" list, ...).
	 * Returns 0 or an fc_err; on failure close is still called. */
	int (*open)(void *priv, const char *arg, const struct fc_config *cfg, struct fc_metrics *m);
	/* Fills up to max datagrams; waits at most timeout_ms (live inputs).
	 * Returns the number filled (0 on timeout), FC_EEOF at the end of a
	 * finite input, or another negative fc_err. */
	int (*read)(void *priv, struct fc_dgram *out, int max, int timeout_ms);
	void (*close)(void *priv);
};

extern const struct fc_input_ops fc_input_udp;
extern const struct fc_input_ops fc_input_pcap;

#endif
