/*
 * The normalized sFlow counter sample. The sFlow v5 decoder fills one
 * struct fc_counter per counter sample (formats 2 and 4) and hands it to
 * the sink (fc_decode_emit_counter); the pipeline encodes it as a protobuf
 * flowpb.CounterMessage (proto/counter.proto, src/encode/pb_counter.c) and
 * publishes it to the counter topic and the file/JSON outputs.
 *
 * Field names follow the sFlow v5 specification's counter structures
 * (sflow.org sFlow Version 5 §5 "counters_sample", the structure registry
 * for host-sflow 2000-2004). A record that was not in the sample leaves its
 * has_* flag false and its fields zero. When a sample carries the same
 * record format twice, the last one wins (no agent does that).
 *
 * Ownership: borrowed by the sink for the duration of the call. Nothing in
 * it points into packet bytes (strings are copied into fixed arrays).
 */
#ifndef FC_COUNTER_H
#define FC_COUNTER_H

#include <stdbool.h>
#include <stdint.h>

#include "fc/flow.h"

#define FC_COUNTER_MAX_FORMATS 16

/* Generic interface counters, format 1 (RFC 2233 ifTable / ifXTable). */
struct fc_counter_if {
	uint32_t if_index, if_type;
	uint64_t if_speed;
	uint32_t if_direction;    /* 0 unknown, 1 full duplex, 2 half, 3 in, 4 out */
	uint32_t if_status;       /* bit 0 admin up, bit 1 oper up */
	uint64_t if_in_octets;
	uint32_t if_in_ucast_pkts, if_in_multicast_pkts, if_in_broadcast_pkts;
	uint32_t if_in_discards, if_in_errors, if_in_unknown_protos;
	uint64_t if_out_octets;
	uint32_t if_out_ucast_pkts, if_out_multicast_pkts, if_out_broadcast_pkts;
	uint32_t if_out_discards, if_out_errors;
	uint32_t if_promiscuous_mode;
};

/* Ethernet interface counters, format 2 (RFC 2358 dot3StatsTable). */
struct fc_counter_eth {
	uint32_t dot3_stats_alignment_errors, dot3_stats_fcs_errors;
	uint32_t dot3_stats_single_collision_frames, dot3_stats_multiple_collision_frames;
	uint32_t dot3_stats_sqe_test_errors, dot3_stats_deferred_transmissions;
	uint32_t dot3_stats_late_collisions, dot3_stats_excessive_collisions;
	uint32_t dot3_stats_internal_mac_transmit_errors, dot3_stats_carrier_sense_errors;
	uint32_t dot3_stats_frame_too_longs, dot3_stats_internal_mac_receive_errors;
	uint32_t dot3_stats_symbol_errors;
};

/* VLAN counters, format 5. */
struct fc_counter_vlan {
	uint32_t vlan_id;
	uint64_t octets;
	uint32_t ucast_pkts, multicast_pkts, broadcast_pkts, discards;
};

/* Processor information, format 1001 (cpu in 1/100 percent). */
struct fc_counter_cpu {
	uint32_t cpu_5s, cpu_1m, cpu_5m;
	uint64_t total_memory, free_memory;
};

/* Host CPU, format 2003 (host-sflow); loads are XDR floats. */
struct fc_counter_host_cpu {
	float load_one, load_five, load_fifteen;
	uint32_t proc_run, proc_total, cpu_num, cpu_speed, uptime;
	uint32_t cpu_user, cpu_nice, cpu_system, cpu_idle, cpu_wio, cpu_intr, cpu_sintr;
	uint32_t interrupts, contexts;
};

/* Host memory, format 2004 (host-sflow), bytes and pages. */
struct fc_counter_host_mem {
	uint64_t mem_total, mem_free, mem_shared, mem_buffers, mem_cached;
	uint64_t swap_total, swap_free;
	uint32_t page_in, page_out, swap_in, swap_out;
};

struct fc_counter {
	uint64_t time_received_ns;
	struct fc_addr agent;      /* sFlow agent address */
	uint16_t exporter_port;    /* UDP source port of the datagram */
	uint32_t sub_agent_id;
	uint32_t sequence_num;     /* datagram sequence number */
	uint32_t uptime_ms;        /* agent sysUptime at export */
	uint32_t sample_sequence_num;
	uint32_t source_id_type;   /* 0 ifIndex, 1 VLAN, 2 physical entity */
	uint32_t source_id_index;

	/* Formats of every record in the sample, decoded or not, in order
	 * (enterprise << 12 | format), up to FC_COUNTER_MAX_FORMATS. */
	uint32_t n_formats;
	uint32_t formats[FC_COUNTER_MAX_FORMATS];

	bool has_if, has_eth, has_vlan, has_cpu, has_host_cpu, has_host_mem;
	bool has_port_name, has_hostname;
	struct fc_counter_if ifc;
	struct fc_counter_eth eth;
	struct fc_counter_vlan vlan;
	struct fc_counter_cpu cpu;
	struct fc_counter_host_cpu host_cpu;
	struct fc_counter_host_mem host_mem;
	char port_name[256];       /* format 1005 ifName, NUL-terminated */
	char hostname[65];         /* format 2000 host description hostname */
};

#endif
