/*
 * The process-wide stop request (see stop.h). An atomic int, not a
 * sig_atomic_t, so that worker threads read it without a data race.
 */
#include "core/stop.h"

#include <stdatomic.h>

static atomic_int stop_flag;

void fc_stop_request(void)
{
	atomic_store_explicit(&stop_flag, 1, memory_order_relaxed);
}

bool fc_stop_requested(void)
{
	return atomic_load_explicit(&stop_flag, memory_order_relaxed) != 0;
}
