/*
 * sFlow counter samples into flowpb.CounterMessage (see pb_counter.h and
 * proto/counter.proto). A flat message: one field per counter, so
 * ClickHouse's Protobuf format maps it to plain columns.
 */
#include "encode/pb_counter.h"

#include <string.h>

/* protobuf-c wants char *; the strings are never modified through it. */
static char *str(const char *s)
{
	union {
		const char *c;
		char *m;
	} u = {.c = s[0] ? s : protobuf_c_empty_string};

	return u.m;
}

static void fill_if(const struct fc_counter_if *i, Flowpb__CounterMessage *m)
{
	m->if_index = i->if_index;
	m->if_type = i->if_type;
	m->if_speed = i->if_speed;
	m->if_direction = i->if_direction;
	m->if_status = i->if_status;
	m->if_in_octets = i->if_in_octets;
	m->if_in_ucast_pkts = i->if_in_ucast_pkts;
	m->if_in_multicast_pkts = i->if_in_multicast_pkts;
	m->if_in_broadcast_pkts = i->if_in_broadcast_pkts;
	m->if_in_discards = i->if_in_discards;
	m->if_in_errors = i->if_in_errors;
	m->if_in_unknown_protos = i->if_in_unknown_protos;
	m->if_out_octets = i->if_out_octets;
	m->if_out_ucast_pkts = i->if_out_ucast_pkts;
	m->if_out_multicast_pkts = i->if_out_multicast_pkts;
	m->if_out_broadcast_pkts = i->if_out_broadcast_pkts;
	m->if_out_discards = i->if_out_discards;
	m->if_out_errors = i->if_out_errors;
	m->if_promiscuous_mode = i->if_promiscuous_mode;
}

static void fill_eth(const struct fc_counter_eth *e, Flowpb__CounterMessage *m)
{
	m->dot3_stats_alignment_errors = e->dot3_stats_alignment_errors;
	m->dot3_stats_fcs_errors = e->dot3_stats_fcs_errors;
	m->dot3_stats_single_collision_frames = e->dot3_stats_single_collision_frames;
	m->dot3_stats_multiple_collision_frames = e->dot3_stats_multiple_collision_frames;
	m->dot3_stats_sqe_test_errors = e->dot3_stats_sqe_test_errors;
	m->dot3_stats_deferred_transmissions = e->dot3_stats_deferred_transmissions;
	m->dot3_stats_late_collisions = e->dot3_stats_late_collisions;
	m->dot3_stats_excessive_collisions = e->dot3_stats_excessive_collisions;
	m->dot3_stats_internal_mac_transmit_errors = e->dot3_stats_internal_mac_transmit_errors;
	m->dot3_stats_carrier_sense_errors = e->dot3_stats_carrier_sense_errors;
	m->dot3_stats_frame_too_longs = e->dot3_stats_frame_too_longs;
	m->dot3_stats_internal_mac_receive_errors = e->dot3_stats_internal_mac_receive_errors;
	m->dot3_stats_symbol_errors = e->dot3_stats_symbol_errors;
}

static void fill_host(const struct fc_counter *c, Flowpb__CounterMessage *m)
{
	const struct fc_counter_host_cpu *h = &c->host_cpu;
	const struct fc_counter_host_mem *k = &c->host_mem;

	if (c->has_host_cpu) {
		m->load_one = h->load_one;
		m->load_five = h->load_five;
		m->load_fifteen = h->load_fifteen;
		m->proc_run = h->proc_run;
		m->proc_total = h->proc_total;
		m->cpu_num = h->cpu_num;
		m->cpu_speed = h->cpu_speed;
		m->host_uptime = h->uptime;
		m->cpu_user = h->cpu_user;
		m->cpu_nice = h->cpu_nice;
		m->cpu_system = h->cpu_system;
		m->cpu_idle = h->cpu_idle;
		m->cpu_wio = h->cpu_wio;
		m->cpu_intr = h->cpu_intr;
		m->cpu_sintr = h->cpu_sintr;
		m->interrupts = h->interrupts;
		m->contexts = h->contexts;
	}
	if (c->has_host_mem) {
		m->mem_total = k->mem_total;
		m->mem_free = k->mem_free;
		m->mem_shared = k->mem_shared;
		m->mem_buffers = k->mem_buffers;
		m->mem_cached = k->mem_cached;
		m->swap_total = k->swap_total;
		m->swap_free = k->swap_free;
		m->page_in = k->page_in;
		m->page_out = k->page_out;
		m->swap_in = k->swap_in;
		m->swap_out = k->swap_out;
	}
}

void fc_pb_counter_fill(const struct fc_counter *c, struct fc_pb_counter *s)
{
	Flowpb__CounterMessage *m = &s->msg;
	unsigned alen = fc_addr_len(&c->agent);
	uint32_t n = c->n_formats < FC_COUNTER_MAX_FORMATS ? c->n_formats : FC_COUNTER_MAX_FORMATS;

	flowpb__counter_message__init(m);
	m->time_received_ns = c->time_received_ns;
	memcpy(s->agent, c->agent.a, alen);
	m->sampler_address.data = s->agent;
	m->sampler_address.len = alen;
	m->sub_agent_id = c->sub_agent_id;
	m->sequence_num = c->sequence_num;
	m->uptime_ms = c->uptime_ms;
	m->sample_sequence_num = c->sample_sequence_num;
	m->source_id_type = c->source_id_type;
	m->source_id_index = c->source_id_index;
	m->exporter_port = c->exporter_port;
	memcpy(s->formats, c->formats, n * sizeof(s->formats[0]));
	m->n_record_formats = n;
	m->record_formats = s->formats;

	if (c->has_if)
		fill_if(&c->ifc, m);
	if (c->has_eth)
		fill_eth(&c->eth, m);
	if (c->has_vlan) {
		m->vlan_id = c->vlan.vlan_id;
		m->vlan_octets = c->vlan.octets;
		m->vlan_ucast_pkts = c->vlan.ucast_pkts;
		m->vlan_multicast_pkts = c->vlan.multicast_pkts;
		m->vlan_broadcast_pkts = c->vlan.broadcast_pkts;
		m->vlan_discards = c->vlan.discards;
	}
	if (c->has_cpu) {
		m->cpu_5s = c->cpu.cpu_5s;
		m->cpu_1m = c->cpu.cpu_1m;
		m->cpu_5m = c->cpu.cpu_5m;
		m->total_memory = c->cpu.total_memory;
		m->free_memory = c->cpu.free_memory;
	}
	m->port_name = str(c->has_port_name ? c->port_name : "");
	m->hostname = str(c->has_hostname ? c->hostname : "");
	fill_host(c, m);
}
