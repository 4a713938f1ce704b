/*
 * The process-wide stop request: set from a signal handler (SIGINT,
 * SIGTERM), read by code that may otherwise wait a long time, such as the
 * Kafka output waiting for room in its queue during a --pcap replay. It is
 * one flag because a stop is one event for the whole process; it never
 * goes back to "not stopping".
 *
 * Thread affinity: any thread; fc_stop_request is async-signal-safe (a
 * lock-free atomic store).
 */
#ifndef FC_CORE_STOP_H
#define FC_CORE_STOP_H

#include <stdbool.h>

void fc_stop_request(void);
bool fc_stop_requested(void);

#endif
