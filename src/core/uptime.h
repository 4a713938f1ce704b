/*
 * sysUptime-relative timestamps, as NetFlow v5 (Cisco v5 layout) and v9
 * (RFC 3954 §5.1, FIRST_SWITCHED / LAST_SWITCHED) carry them: the flow's
 * time is the header's export time minus how long before the header's
 * sysUptime the flow was stamped. Shared by both decoders, so it lives
 * below them.
 */
#ifndef FC_CORE_UPTIME_H
#define FC_CORE_UPTIME_H

#include <stdint.h>

/* Unix ns of ts_ms (sysUptime ms of the flow) given the header's export
 * time (Unix ns) and sysUptime (ms). The distance is taken as a signed
 * 32-bit number, so an uptime that wrapped past 2^32 ms (49.7 days)
 * between the flow and the export is handled, and so is a flow stamped
 * slightly after the header. 0 when the result would precede 1970. */
uint64_t fc_uptime_to_unix_ns(uint64_t export_ns, uint32_t uptime_ms, uint32_t ts_ms);

#endif
