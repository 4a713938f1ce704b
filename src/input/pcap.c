/*
 * Offline replay input (`--pcap FILE`): reads a capture with libpcap and
 * hands every UDP datagram in it to the decoders, whatever its port
 * (exporters use many), with the exporter address and receive time taken
 * from the capture. Link types: Ethernet (with 802.1Q/QinQ, via the shared
 * packet parser), Linux cooked v1 and v2, raw IP (DLT_RAW, IPv4, IPv6) and
 * loopback (DLT_NULL, DLT_LOOP). IP fragments of large export datagrams
 * (IPv4 and IPv6) are reassembled; those that never complete are counted.
 *
 * Link-layer headers: Linux cooked v1 (16 bytes, protocol at offset 14),
 * v2 (20 bytes, protocol at 0), BSD loopback (4-byte family in host order
 * for DLT_NULL, network order for DLT_LOOP).
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/log.h"
#include "fc/cursor.h"
#include "fc/err.h"
#include "fc/input.h"
#include "metrics/metrics.h"
#include "packet/packet.h"

#define PCAP_BATCH_MAX 256
#define FRAG_SLOTS 16
#define FRAG_MAX 65535
#define FRAG_TIMEOUT_NS (30ull * 1000000000ull)

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif

struct frag_slot {
	bool used;
	struct fc_addr src, dst;
	uint32_t id;
	uint32_t proto;
	uint64_t first_ns;
	size_t total; /* 0 until the last fragment is seen */
	uint8_t *buf;
	uint8_t have[FRAG_MAX / 8 / 8 + 1]; /* bitmap of 8-byte blocks */
};

struct pcap_in {
	const struct fc_config *cfg;
	size_t file; /* index into cfg->pcaps */
	pcap_t *pc;
	int linktype;
	char path[512];
	/* One reassembled datagram per batch may be pending in a slot's
	 * buffer; datagrams are handed out from here and stay valid until the
	 * next read, as input.h promises. */
	uint8_t *batch_copy; /* copies of this batch's payloads */
	size_t batch_copy_cap;
	struct frag_slot frags[FRAG_SLOTS];
	uint64_t *frames;
	uint64_t *read_errors;
	uint64_t *udp;
	uint64_t *not_udp;
	uint64_t *bad_frames;
	uint64_t *frag_reassembled;
	uint64_t *frag_dropped;
	uint64_t *unsupported_link;
};

static int open_file(struct pcap_in *p, const char *arg)
{
	char errbuf[PCAP_ERRBUF_SIZE];

	if (p->pc)
		pcap_close(p->pc);
	snprintf(p->path, sizeof(p->path), "%s", arg);
	p->pc = pcap_open_offline(arg, errbuf);
	if (!p->pc) {
		fc_log(FC_LOG_ERROR, "cannot read capture %s: %s", arg, errbuf);
		return FC_ESYS;
	}
	p->linktype = pcap_datalink(p->pc);
	switch (p->linktype) {
	case DLT_EN10MB:
	case DLT_LINUX_SLL:
	case DLT_LINUX_SLL2:
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
	case DLT_NULL:
	case DLT_LOOP:
		break;
	default:
		fc_log(FC_LOG_ERROR, "%s: link type %s (%d) is not supported", arg,
		       pcap_datalink_val_to_name(p->linktype) ? pcap_datalink_val_to_name(p->linktype)
							      : "?",
		       p->linktype);
		return FC_EUNSUPPORTED;
	}
	return 0;
}

/* arg is ignored: the files are cfg->pcaps, replayed in order. */
static int pcap_open_(void *priv, const char *arg, const struct fc_config *cfg,
		      struct fc_metrics *m)
{
	struct pcap_in *p = priv;
	int rc;

	(void)arg;
	p->cfg = cfg;
	if (cfg->pcaps.n == 0)
		return FC_EINVAL;
	rc = open_file(p, cfg->pcaps.v[0]);
	if (rc)
		return rc;
	p->batch_copy_cap = (size_t)PCAP_BATCH_MAX * FRAG_MAX;
	p->batch_copy = malloc(p->batch_copy_cap);
	if (!p->batch_copy)
		return FC_ENOMEM;
	p->frames = fc_metrics_counter(m, "pcap_frames_total", NULL, "frames read from the capture");
	p->read_errors = fc_metrics_counter(m, "pcap_read_errors_total", NULL,
					    "captures that could not be read to their end (truncated)");
	p->udp = fc_metrics_counter(m, "pcap_udp_datagrams_total", NULL,
				    "UDP datagrams found in the capture");
	p->not_udp = fc_metrics_counter(m, "pcap_skipped_total", "reason=\"not_udp\"",
					"capture frames skipped, by reason");
	p->bad_frames = fc_metrics_counter(m, "pcap_skipped_total", "reason=\"malformed\"",
					   "capture frames skipped, by reason");
	p->unsupported_link = fc_metrics_counter(m, "pcap_skipped_total", "reason=\"link\"",
						 "capture frames skipped, by reason");
	p->frag_reassembled = fc_metrics_counter(m, "pcap_fragments_reassembled_total", NULL,
						 "IP datagrams rebuilt from fragments");
	p->frag_dropped = fc_metrics_counter(m, "pcap_skipped_total", "reason=\"fragment_incomplete\"",
					     "capture frames skipped, by reason");
	return 0;
}

/* Finds where the network layer starts for the cooked/loopback link types.
 * Returns the parser entry point or 0 to skip the frame. */
static enum fc_pkt_start link_start(int linktype, struct fc_cur *c)
{
	uint32_t fam;
	uint16_t proto;

	switch (linktype) {
	case DLT_EN10MB:
		return FC_PKT_ETHERNET;
	case DLT_RAW:
		return FC_PKT_IP;
	case DLT_IPV4:
		return FC_PKT_IPV4;
	case DLT_IPV6:
		return FC_PKT_IPV6;
	case DLT_LINUX_SLL:
		fc_cur_skip(c, 14);
		proto = fc_cur_be16(c);
		break;
	case DLT_LINUX_SLL2:
		proto = fc_cur_be16(c);
		fc_cur_skip(c, 18);
		break;
	case DLT_NULL:
	case DLT_LOOP: {
		uint8_t b[4];

		fc_cur_copy(c, b, 4);
		if (linktype == DLT_LOOP)
			fam = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
		else
			memcpy(&fam, b, 4); /* the capturing host's byte order */
		if (c->err)
			return 0;
		if (fam == 2 || fam == 0x02000000)
			return FC_PKT_IPV4;
		/* AF_INET6 differs between BSDs: 10, 24, 28, 30 */
		return FC_PKT_IP;
	}
	default:
		return 0;
	}
	if (c->err)
		return 0;
	if (proto == 0x0800)
		return FC_PKT_IPV4;
	if (proto == 0x86dd)
		return FC_PKT_IPV6;
	return 0;
}

static void frag_free(struct frag_slot *s)
{
	free(s->buf);
	memset(s, 0, sizeof(*s));
}

/* Adds a fragment; returns the slot when the datagram is complete. */
static struct frag_slot *frag_add(struct pcap_in *p, const struct fc_pkt *k, uint64_t now)
{
	struct frag_slot *s = NULL, *oldest = NULL;
	size_t off = k->frag_offset, len = k->l3_payload_len;

	for (int i = 0; i < FRAG_SLOTS; i++) {
		struct frag_slot *t = &p->frags[i];

		if (t->used && now > t->first_ns && now - t->first_ns > FRAG_TIMEOUT_NS) {
			(*p->frag_dropped)++;
			frag_free(t);
		}
		if (t->used && t->id == k->frag_id && t->proto == k->proto &&
		    fc_addr_eq(&t->src, &k->src) && fc_addr_eq(&t->dst, &k->dst))
			s = t;
	}
	if (!s) {
		for (int i = 0; i < FRAG_SLOTS && !s; i++) {
			if (!p->frags[i].used)
				s = &p->frags[i];
			else if (!oldest || p->frags[i].first_ns < oldest->first_ns)
				oldest = &p->frags[i];
		}
		if (!s) {
			(*p->frag_dropped)++;
			frag_free(oldest);
			s = oldest;
		}
		s->buf = calloc(1, FRAG_MAX);
		if (!s->buf) {
			(*p->frag_dropped)++;
			return NULL;
		}
		s->used = true;
		s->src = k->src;
		s->dst = k->dst;
		s->id = k->frag_id;
		s->proto = k->proto;
		s->first_ns = now;
	}
	if (off > FRAG_MAX || len > FRAG_MAX - off) {
		(*p->bad_frames)++;
		return NULL;
	}
	memcpy(s->buf + off, k->l3_payload, len);
	/* Mark the 8-byte blocks this fragment fills completely; only the
	 * last fragment may end inside a block (RFC 791, RFC 8200 §4.5), so a
	 * datagram is complete only when every byte arrived. */
	for (size_t b = off / 8; (b + 1) * 8 <= off + len; b++)
		s->have[b / 8] |= (uint8_t)(1u << (b % 8));
	if (!k->more_fragments && (off + len) % 8)
		s->have[(off + len) / 8 / 8] |= (uint8_t)(1u << ((off + len) / 8 % 8));
	if (!k->more_fragments)
		s->total = off + len;
	if (s->total == 0)
		return NULL;
	for (size_t b = 0; b * 8 < s->total; b++) {
		if (!(s->have[b / 8] & (1u << (b % 8))))
			return NULL;
	}
	return s;
}

/* One frame to the UDP payload it carries, reassembled when it is a
 * fragment. Returns true with the payload in *out_src and *out_len and, when
 * those bytes live in a reassembly slot, the slot in *out_slot (the caller
 * frees it); false when the frame is skipped, already counted. */
static bool frame_payload(struct pcap_in *p, const struct pcap_pkthdr *h, const u_char *data,
			  uint64_t ts, struct fc_pkt *k, const uint8_t **out_src, size_t *out_len,
			  struct frag_slot **out_slot)
{
	struct fc_cur c;
	enum fc_pkt_start start;
	struct frag_slot *s;

	fc_cur_init(&c, data, h->caplen);
	start = link_start(p->linktype, &c);
	if (!start) {
		(*p->unsupported_link)++;
		return false;
	}
	fc_pkt_parse(c.p, fc_cur_left(&c), start, k);
	if (k->ip_version == 0) {
		(*p->bad_frames)++;
		return false;
	}
	if (k->proto != 17) {
		(*p->not_udp)++;
		return false;
	}
	if (!(k->more_fragments || k->frag_offset)) {
		if (!k->l4_payload) {
			(*p->bad_frames)++;
			return false;
		}
		*out_src = k->l4_payload;
		*out_len = k->l4_payload_len;
		*out_slot = NULL;
		return true;
	}
	s = frag_add(p, k, ts);
	if (!s)
		return false; /* not complete yet */
	{
		struct fc_cur u;
		uint16_t ulen;

		fc_cur_init(&u, s->buf, s->total);
		k->src_port = fc_cur_be16(&u);
		k->dst_port = fc_cur_be16(&u);
		ulen = fc_cur_be16(&u);
		fc_cur_skip(&u, 2);
		if (u.err || ulen < 8) {
			(*p->bad_frames)++;
			frag_free(s);
			return false;
		}
		*out_src = u.p;
		*out_len = fc_cur_left(&u) < (size_t)ulen - 8 ? fc_cur_left(&u) : (size_t)ulen - 8;
	}
	*out_slot = s;
	return true;
}

static int pcap_read_(void *priv, struct fc_dgram *out, int max, int timeout_ms)
{
	struct pcap_in *p = priv;
	size_t used = 0;
	int n = 0;

	(void)timeout_ms;
	if (max > PCAP_BATCH_MAX)
		max = PCAP_BATCH_MAX;
	while (n < max) {
		struct pcap_pkthdr *h;
		const u_char *data;
		struct fc_pkt k;
		const uint8_t *src;
		struct frag_slot *s;
		size_t plen;
		uint64_t ts;
		int rc = pcap_next_ex(p->pc, &h, &data);

		if (rc == PCAP_ERROR) {
			/* A capture cut mid-record: what was read is kept, the
			 * rest is counted (the exit status reports it). */
			fc_log(FC_LOG_ERROR, "%s: %s; skipping the rest of this capture", p->path,
			       pcap_geterr(p->pc));
			(*p->read_errors)++;
			rc = PCAP_ERROR_BREAK;
		}
		if (rc == PCAP_ERROR_BREAK) {
			if (n > 0)
				return n; /* hand out this batch before moving on */
			if (p->file + 1 >= p->cfg->pcaps.n)
				return FC_EEOF;
			p->file++;
			rc = open_file(p, p->cfg->pcaps.v[p->file]);
			if (rc)
				return rc;
			continue;
		}
		if (rc != 1)
			continue;
		(*p->frames)++;
		ts = (uint64_t)h->ts.tv_sec * 1000000000ull;
		ts += (uint64_t)h->ts.tv_usec *
		      (pcap_get_tstamp_precision(p->pc) == PCAP_TSTAMP_PRECISION_NANO ? 1u : 1000u);
		if (!frame_payload(p, h, data, ts, &k, &src, &plen, &s))
			continue;
		/* The parser falls back to the captured length when an IP or
		 * UDP length field is 0 (offloaded captures), and a pcap record
		 * may hold 256 KiB: nothing longer than a UDP payload can be is
		 * taken, which also keeps the batch inside batch_copy. */
		if (plen > FRAG_MAX || plen > p->batch_copy_cap - used) {
			(*p->bad_frames)++;
			if (s)
				frag_free(s);
			continue;
		}
		memcpy(p->batch_copy + used, src, plen);
		if (s) {
			frag_free(s);
			(*p->frag_reassembled)++;
		}
		out[n].data = p->batch_copy + used;
		out[n].len = plen;
		out[n].src = k.src;
		out[n].src_port = (uint16_t)k.src_port;
		out[n].dst = k.dst;
		out[n].dst_port = (uint16_t)k.dst_port;
		out[n].time_ns = ts;
		used += plen;
		(*p->udp)++;
		n++;
	}
	return n;
}

static void pcap_close_(void *priv)
{
	struct pcap_in *p = priv;

	for (int i = 0; i < FRAG_SLOTS; i++) {
		if (p->frags[i].used)
			(*p->frag_dropped)++;
		frag_free(&p->frags[i]);
	}
	if (p->pc)
		pcap_close(p->pc);
	free(p->batch_copy);
}

const struct fc_input_ops fc_input_pcap = {
	.name = "pcap",
	.priv_size = sizeof(struct pcap_in),
	.open = pcap_open_,
	.read = pcap_read_,
	.close = pcap_close_,
};
