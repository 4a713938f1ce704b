/*
 * sFlow counter samples into flowpb.CounterMessage (see pb_counter.h and
 * proto/counter.proto). A flat message: one field per counter, so
 * ClickHouse's Protobuf format maps it to plain columns. Two encoders:
 * the protobuf-c message fill (the reference, also used by the JSON
 * output) and fc_pb_counter_frame, which writes the same bytes directly.
 */
#include "encode/pb_counter.h"

#include <assert.h>
#include <string.h>

#include "encode/pb.h"
#include "encode/pb_wire.h"

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

/* ---- schema-specific encoder (fc_pb_counter_frame) ----
 *
 * The same bytes as fc_pb_counter_fill + fc_pb_frame, in one pass, with
 * the writers of pb_wire.h. Every field is bounded: 96 numeric fields at
 * most 2 + 10 bytes, the agent address 18, 16 record formats packed 83,
 * port name 255 and hostname 64 bytes plus 2 + 2: 1574 in all. */
enum { COUNTER_MAX = 2048 };

static uint8_t *put_if(uint8_t *p, const struct fc_counter_if *i)
{
	p = put_u64(p, TAG(20, WT_VARINT), i->if_index);
	p = put_u64(p, TAG(21, WT_VARINT), i->if_type);
	p = put_u64(p, TAG(22, WT_VARINT), i->if_speed);
	p = put_u64(p, TAG(23, WT_VARINT), i->if_direction);
	p = put_u64(p, TAG(24, WT_VARINT), i->if_status);
	p = put_u64(p, TAG(25, WT_VARINT), i->if_in_octets);
	p = put_u64(p, TAG(26, WT_VARINT), i->if_in_ucast_pkts);
	p = put_u64(p, TAG(27, WT_VARINT), i->if_in_multicast_pkts);
	p = put_u64(p, TAG(28, WT_VARINT), i->if_in_broadcast_pkts);
	p = put_u64(p, TAG(29, WT_VARINT), i->if_in_discards);
	p = put_u64(p, TAG(30, WT_VARINT), i->if_in_errors);
	p = put_u64(p, TAG(31, WT_VARINT), i->if_in_unknown_protos);
	p = put_u64(p, TAG(32, WT_VARINT), i->if_out_octets);
	p = put_u64(p, TAG(33, WT_VARINT), i->if_out_ucast_pkts);
	p = put_u64(p, TAG(34, WT_VARINT), i->if_out_multicast_pkts);
	p = put_u64(p, TAG(35, WT_VARINT), i->if_out_broadcast_pkts);
	p = put_u64(p, TAG(36, WT_VARINT), i->if_out_discards);
	p = put_u64(p, TAG(37, WT_VARINT), i->if_out_errors);
	return put_u64(p, TAG(38, WT_VARINT), i->if_promiscuous_mode);
}

static uint8_t *put_eth(uint8_t *p, const struct fc_counter_eth *e)
{
	p = put_u64(p, TAG(40, WT_VARINT), e->dot3_stats_alignment_errors);
	p = put_u64(p, TAG(41, WT_VARINT), e->dot3_stats_fcs_errors);
	p = put_u64(p, TAG(42, WT_VARINT), e->dot3_stats_single_collision_frames);
	p = put_u64(p, TAG(43, WT_VARINT), e->dot3_stats_multiple_collision_frames);
	p = put_u64(p, TAG(44, WT_VARINT), e->dot3_stats_sqe_test_errors);
	p = put_u64(p, TAG(45, WT_VARINT), e->dot3_stats_deferred_transmissions);
	p = put_u64(p, TAG(46, WT_VARINT), e->dot3_stats_late_collisions);
	p = put_u64(p, TAG(47, WT_VARINT), e->dot3_stats_excessive_collisions);
	p = put_u64(p, TAG(48, WT_VARINT), e->dot3_stats_internal_mac_transmit_errors);
	p = put_u64(p, TAG(49, WT_VARINT), e->dot3_stats_carrier_sense_errors);
	p = put_u64(p, TAG(50, WT_VARINT), e->dot3_stats_frame_too_longs);
	p = put_u64(p, TAG(51, WT_VARINT), e->dot3_stats_internal_mac_receive_errors);
	return put_u64(p, TAG(52, WT_VARINT), e->dot3_stats_symbol_errors);
}

static uint8_t *put_host_cpu(uint8_t *p, const struct fc_counter_host_cpu *h)
{
	p = put_float(p, TAG(80, WT_FIXED32), h->load_one);
	p = put_float(p, TAG(81, WT_FIXED32), h->load_five);
	p = put_float(p, TAG(82, WT_FIXED32), h->load_fifteen);
	p = put_u64(p, TAG(83, WT_VARINT), h->proc_run);
	p = put_u64(p, TAG(84, WT_VARINT), h->proc_total);
	p = put_u64(p, TAG(85, WT_VARINT), h->cpu_num);
	p = put_u64(p, TAG(86, WT_VARINT), h->cpu_speed);
	p = put_u64(p, TAG(87, WT_VARINT), h->uptime);
	p = put_u64(p, TAG(88, WT_VARINT), h->cpu_user);
	p = put_u64(p, TAG(89, WT_VARINT), h->cpu_nice);
	p = put_u64(p, TAG(90, WT_VARINT), h->cpu_system);
	p = put_u64(p, TAG(91, WT_VARINT), h->cpu_idle);
	p = put_u64(p, TAG(92, WT_VARINT), h->cpu_wio);
	p = put_u64(p, TAG(93, WT_VARINT), h->cpu_intr);
	p = put_u64(p, TAG(94, WT_VARINT), h->cpu_sintr);
	p = put_u64(p, TAG(95, WT_VARINT), h->interrupts);
	return put_u64(p, TAG(96, WT_VARINT), h->contexts);
}

static uint8_t *put_host_mem(uint8_t *p, const struct fc_counter_host_mem *k)
{
	p = put_u64(p, TAG(100, WT_VARINT), k->mem_total);
	p = put_u64(p, TAG(101, WT_VARINT), k->mem_free);
	p = put_u64(p, TAG(102, WT_VARINT), k->mem_shared);
	p = put_u64(p, TAG(103, WT_VARINT), k->mem_buffers);
	p = put_u64(p, TAG(104, WT_VARINT), k->mem_cached);
	p = put_u64(p, TAG(105, WT_VARINT), k->swap_total);
	p = put_u64(p, TAG(106, WT_VARINT), k->swap_free);
	p = put_u64(p, TAG(107, WT_VARINT), k->page_in);
	p = put_u64(p, TAG(108, WT_VARINT), k->page_out);
	p = put_u64(p, TAG(109, WT_VARINT), k->swap_in);
	return put_u64(p, TAG(110, WT_VARINT), k->swap_out);
}

/* Records the sample did not carry are left out whole: their fields are
 * zero in the reference too. */
static uint8_t *put_counter(uint8_t *p, const struct fc_counter *c)
{
	uint32_t n = c->n_formats < FC_COUNTER_MAX_FORMATS ? c->n_formats : FC_COUNTER_MAX_FORMATS;

	p = put_u64(p, TAG(1, WT_VARINT), c->time_received_ns);
	p = put_addr(p, TAG(2, WT_LEN), &c->agent);
	p = put_u64(p, TAG(3, WT_VARINT), c->sub_agent_id);
	p = put_u64(p, TAG(4, WT_VARINT), c->sequence_num);
	p = put_u64(p, TAG(5, WT_VARINT), c->uptime_ms);
	p = put_u64(p, TAG(6, WT_VARINT), c->sample_sequence_num);
	p = put_u64(p, TAG(7, WT_VARINT), c->source_id_type);
	p = put_u64(p, TAG(8, WT_VARINT), c->source_id_index);
	p = put_u64(p, TAG(9, WT_VARINT), c->exporter_port);
	p = put_packed_u32(p, TAG(10, WT_LEN), c->formats, n);
	if (c->has_if)
		p = put_if(p, &c->ifc);
	if (c->has_eth)
		p = put_eth(p, &c->eth);
	if (c->has_vlan) {
		p = put_u64(p, TAG(60, WT_VARINT), c->vlan.vlan_id);
		p = put_u64(p, TAG(61, WT_VARINT), c->vlan.octets);
		p = put_u64(p, TAG(62, WT_VARINT), c->vlan.ucast_pkts);
		p = put_u64(p, TAG(63, WT_VARINT), c->vlan.multicast_pkts);
		p = put_u64(p, TAG(64, WT_VARINT), c->vlan.broadcast_pkts);
		p = put_u64(p, TAG(65, WT_VARINT), c->vlan.discards);
	}
	if (c->has_cpu) {
		p = put_u64(p, TAG(70, WT_VARINT), c->cpu.cpu_5s);
		p = put_u64(p, TAG(71, WT_VARINT), c->cpu.cpu_1m);
		p = put_u64(p, TAG(72, WT_VARINT), c->cpu.cpu_5m);
		p = put_u64(p, TAG(73, WT_VARINT), c->cpu.total_memory);
		p = put_u64(p, TAG(74, WT_VARINT), c->cpu.free_memory);
	}
	/* NUL-terminated arrays; strnlen keeps a missing NUL inside them */
	if (c->has_port_name && c->port_name[0])
		p = put_raw(p, TAG(75, WT_LEN), c->port_name,
			    strnlen(c->port_name, sizeof(c->port_name) - 1));
	if (c->has_hostname && c->hostname[0])
		p = put_raw(p, TAG(76, WT_LEN), c->hostname,
			    strnlen(c->hostname, sizeof(c->hostname) - 1));
	if (c->has_host_cpu)
		p = put_host_cpu(p, &c->host_cpu);
	if (c->has_host_mem)
		p = put_host_mem(p, &c->host_mem);
	return p;
}

size_t fc_pb_counter_frame(const struct fc_counter *c, uint8_t *buf, size_t cap)
{
	uint8_t *end;
	size_t len;

	if (cap <= FC_PB_MAX_VARINT || COUNTER_MAX > cap - FC_PB_MAX_VARINT) {
		/* a small buffer: the reference checks every append */
		struct fc_pb_counter s;

		fc_pb_counter_fill(c, &s);
		return fc_pb_frame(&s.msg.base, buf, cap);
	}
	end = put_counter(buf + 2, c);
	len = (size_t)(end - (buf + 2));
	assert(len <= COUNTER_MAX);
	return fc_pb_wire_frame(buf, len);
}
