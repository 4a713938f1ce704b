/*
 * Sequence accounting per session (see store.h): RFC 7011 §3.1 (IPFIX
 * counts data records) and RFC 3954 §5.1 (v9 counts export packets). A gap
 * is counted as lost, a small step back as a late (reordered) message, a
 * large one as an exporter restart.
 */
#include "template/internal.h"

#define REORDER_WINDOW 1000 /* backward steps up to this are reordering, not a restart */

uint64_t fc_tmpl_seq_update(struct fc_tmpl_store *e, struct fc_tmpl_session *s, uint32_t seq,
			    uint32_t advance, bool known)
{
	struct tmpl_seq_counters *c = s->key.version == 9 ? &e->seq9 : &e->seq10;
	uint64_t lost = 0;

	if (s->seq_valid) {
		int32_t gap = (int32_t)(seq - s->seq_next);

		if (gap > 0) {
			lost = (uint64_t)gap;
			*c->lost += lost;
		} else if (gap < 0) {
			if (gap >= -REORDER_WINDOW) {
				(*c->reordered)++;
				/* a late message: keep expecting what we expected */
				return 0;
			}
			(*c->resets)++;
		}
	}
	s->seq_valid = known;
	s->seq_next = seq + advance;
	return lost;
}

