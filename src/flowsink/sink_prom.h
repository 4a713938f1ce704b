/*
 * The per-AS Prometheus exporter sink (sink_prom.c): counters per AS pair
 * and exporter held in memory, rendered for the HTTP thread.
 *
 * Ownership: the sink is opened and closed through fc_sink_prom (sink.h).
 * Thread affinity: fc_sink_prom_render may run on any thread while the
 * consumer thread applies (the sink locks its table).
 */
#ifndef FC_FLOWSINK_SINK_PROM_H
#define FC_FLOWSINK_SINK_PROM_H

#include <stdio.h>

#include "flowsink/sink.h"

extern const struct fc_sink_ops fc_sink_prom;

/* flow_receive_bytes_total and flow_transmit_bytes_total, text format. */
void fc_sink_prom_render(void *priv, FILE *out);

#endif
