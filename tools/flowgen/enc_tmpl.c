/*
 * What the two template-based builders (enc_nf9.c, RFC 3954, and
 * enc_ipfix.c, RFC 7011) share: the set header (id, length patched when
 * the set is complete), the projection every template flow goes through,
 * and the runs of data-record fields whose element ids, sizes and order
 * are the same in both protocols' templates 256 (IEs 1-127 are common to
 * v9 and IPFIX, RFC 7012 §4).
 */
#include "flowgen.h"

size_t fg_set_begin(struct fg_wbuf *w, uint16_t id)
{
	size_t set = fg_w_mark(w);

	fg_w_be16(w, id);
	fg_w_be16(w, 0); /* length, patched by fg_set_end */
	return set;
}

void fg_set_end(struct fg_wbuf *w, size_t set)
{
	fg_w_patch16(w, set + 2, (uint16_t)(fg_w_mark(w) - set));
}

void fg_project_tmpl(struct fg_gen *g, struct fc_flow *f, enum fc_flow_type type, uint32_t seq,
		     uint32_t domain)
{
	/* picked before any clamp of packets, so the choice does not depend
	 * on what the protocol can carry */
	const struct fg_sampler *s = &g->samplers[f->packets % FG_NSAMPLERS];

	f->type = type;
	f->sequence_num = seq;
	f->sampler_id = s->id;
	f->sampling_rate = s->rate;
	f->observation_domain_id = domain;
	if (f->proto == 1 || f->proto == 58)
		f->src_port = f->dst_port = 0;
	f->src_vlan = f->dst_vlan = 0;
	f->ip_ttl = f->ip_flags = f->fragment_id = 0;
	if (f->src_addr.family == 4) {
		f->ipv6_flow_label = 0;
	} else {
		f->src_mac = f->dst_mac = 0;
		f->flow_direction = 0;
	}
}

void fg_w_v4_addressing(struct fg_wbuf *w, const struct fc_flow *f)
{
	fg_w_addr(w, &f->src_addr);           /* 8 sourceIPv4Address */
	fg_w_u8(w, (uint8_t)f->src_net);      /* 9 sourceIPv4PrefixLength */
	fg_w_be32(w, f->in_if);               /* 10 ingressInterface */
	fg_w_be16(w, (uint16_t)f->dst_port);  /* 11 destinationTransportPort */
	fg_w_addr(w, &f->dst_addr);           /* 12 destinationIPv4Address */
	fg_w_u8(w, (uint8_t)f->dst_net);      /* 13 destinationIPv4PrefixLength */
	fg_w_be32(w, f->out_if);              /* 14 egressInterface */
	fg_w_addr(w, &f->next_hop);           /* 15 ipNextHopIPv4Address */
	fg_w_be32(w, f->src_as);              /* 16 bgpSourceAsNumber */
	fg_w_be32(w, f->dst_as);              /* 17 bgpDestinationAsNumber */
}

void fg_w_l2_direction(struct fg_wbuf *w, const struct fc_flow *f)
{
	fg_w_beN(w, f->src_mac, 6);                   /* 56 sourceMacAddress */
	fg_w_beN(w, f->dst_mac, 6);                   /* 80 postDestinationMacAddress */
	fg_w_u8(w, (uint8_t)(f->flow_direction - 1)); /* 61: 0 ingress, 1 egress */
}
