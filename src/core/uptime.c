/*
 * sysUptime-relative time to Unix ns (see uptime.h; Cisco NetFlow v5
 * layout, RFC 3954 §5.1).
 */
#include "core/uptime.h"

uint64_t fc_uptime_to_unix_ns(uint64_t export_ns, uint32_t uptime_ms, uint32_t ts_ms)
{
	int64_t age_ms = (int32_t)(uptime_ms - ts_ms);
	int64_t t = (int64_t)export_ns - age_ms * 1000000;

	return t > 0 ? (uint64_t)t : 0;
}
