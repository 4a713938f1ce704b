/*
 * Disk spool for the Kafka output (see spool.h): owns the spool directory,
 * its segment files, the state file, the write buffer, the read buffer and
 * the window of records handed back to Kafka and not yet resolved.
 *
 * Files in the directory (all integers big-endian; checksums are zlib's
 * CRC-32, ISO 3309):
 *
 *   SEQ.seg   (SEQ: 16 hex digits, increasing) a segment:
 *             +--------------------------+----------------+
 *             | "FCSPOOL1" (8)           | SEQ (8)        |   header
 *             +--------+------+-------+--+----------------+
 *             | marker | kind | flags | key_len (2)       |   record,
 *             | "FCSR" |  (1) |  (1)  |                   |   repeated
 *             +--------+------+-------+-------------------+
 *             | payload_len (4)       | n_msgs (4)        |
 *             +-----------------------+-------------------+
 *             | crc32 (4) of the 16 bytes above, key, payload |
 *             +-----------------------------------------------+
 *             | key (key_len) | payload (payload_len)     |
 *             +---------------+---------------------------+
 *   state     the read position: "FCSPSTA1" (8), segment (8), offset (8),
 *             count (4), count x (segment (8), offset (8)) of records after
 *             the position that are already delivered, crc32 (4) of all
 *             before it. Written to state.tmp, fsynced, renamed over state,
 *             and the directory fsynced.
 *
 * Every byte read back from these files is parsed with the bounded cursor
 * (fc/cursor.h): a damaged record (marker, lengths, checksum) or a
 * segment whose last record was cut short by a crash is skipped to the end
 * of its segment, counted (spool_corrupt_total) and logged, never trusted.
 *
 * Delivered once across a clean restart: records are read back in file
 * order and handed to Kafka with a ticket (a slot of the window ring);
 * delivery reports may resolve them out of order, so the read position
 * persisted is that of the oldest unresolved record, together with the
 * list of records after it that are resolved already (at most the window).
 * At the next open the reader starts there and skips the listed records.
 * Segments wholly before the read position are deleted (after the state
 * that says so is on disk). A record whose delivery is in doubt when the
 * process dies (sent, no acknowledgement) is sent again: at-least-once,
 * as for any producer without idempotence. After a crash (no clean
 * close) the state is at most a second old, so records resolved in that
 * second are sent again; nothing is lost.
 *
 * Writes go through a buffer (written when full, when the reader needs
 * the bytes, once a second and on close) and are fdatasync'ed once a
 * second and when a segment is closed: a clean stop loses nothing; power
 * loss loses at most the last second.
 */
#include "output/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include "core/log.h"
#include "fc/err.h"
#include "metrics/metrics.h"

#define SEG_MAGIC "FCSPOOL1"
#define STATE_MAGIC "FCSPSTA1"
#define REC_MARKER 0x46435352u /* "FCSR" */
#define STATE_NAME "state"
#define STATE_TMP "state.tmp"
#define WBUF_CAP (256u * 1024u)
#define RBUF_CAP (FC_SPOOL_REC_HDR + FC_SPOOL_KEY_MAX + FC_SPOOL_PAYLOAD_MAX)
#define SEG_MIN (64u * 1024u)
#define SEG_MAX (64u * 1024u * 1024u)
#define TICK_NS 1000000000ull

enum slot_state { SLOT_FREE = 0, SLOT_OUT, SLOT_DONE };

struct slot {
	struct fc_spool_pos pos;
	uint32_t n_msgs;
	uint8_t state;
};

struct seg {
	uint64_t seq;
	uint64_t size; /* bytes on disk, plus the write buffer for the writer's */
};

struct fc_spool {
	char *dir;
	int dirfd;
	int lockfd; /* DIR/lock, flock'ed: one collector per spool */
	uint64_t max_bytes;
	uint64_t seg_bytes;
	uint64_t total; /* sum of segs[].size */

	struct seg *segs; /* sorted by seq, every file present */
	size_t n_segs, cap_segs;
	uint64_t next_seq;

	/* writer: appends to the last segment while open */
	int wfd;
	uint64_t wseq;
	uint64_t wdisk; /* bytes of the writer's segment on disk */
	uint8_t *wbuf;
	size_t wlen;
	uint64_t wbuf_msgs;
	bool wdirty; /* written since the last fdatasync */

	/* reader */
	int rfd;
	uint64_t rseq; /* segment being read; 0 = none opened yet */
	uint64_t roff; /* next record */
	uint8_t *rbuf;
	uint64_t rb_off; /* rbuf holds [rb_off, rb_off + rb_len) of rseq */
	size_t rb_len;
	bool peeked;
	struct fc_spool_rec peek;
	uint64_t peek_end;

	/* records handed out: a ring, oldest at head */
	struct slot *ring;
	size_t head, count;

	/* resolved records after the loaded position (from the state file) */
	struct fc_spool_pos *skip;
	size_t n_skip, skip_i;

	bool state_dirty;
	uint64_t last_tick;
	struct fc_ratelimit rl;

	uint64_t *written;
	uint64_t *replayed;
	uint64_t *drop_full;
	uint64_t *drop_io;
	uint64_t *drop_large;
	uint64_t *corrupt;
	uint64_t *bytes;
};

static uint32_t crc(uint32_t c, const uint8_t *p, size_t n)
{
	return (uint32_t)crc32(c, p, (uInt)n);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

/* ---- formats ---- */

int fc_spool_parse_seg_header(struct fc_cur *c, uint64_t *out_seq)
{
	const uint8_t *magic = fc_cur_view(c, 8);
	uint64_t seq = fc_cur_be64(c);

	if (c->err)
		return FC_ETRUNC;
	if (memcmp(magic, SEG_MAGIC, 8) != 0 || seq == 0)
		return FC_EMALFORMED;
	*out_seq = seq;
	return 0;
}

int fc_spool_parse_record(struct fc_cur *c, struct fc_spool_rec *out)
{
	struct fc_cur r = *c;
	const uint8_t *hdr = r.p;
	uint32_t marker, want, got;
	uint8_t kind, flags;
	uint16_t key_len;
	uint32_t len, n;
	const uint8_t *key, *payload;

	marker = fc_cur_be32(&r);
	kind = fc_cur_u8(&r);
	flags = fc_cur_u8(&r);
	key_len = fc_cur_be16(&r);
	len = fc_cur_be32(&r);
	n = fc_cur_be32(&r);
	want = fc_cur_be32(&r);
	if (r.err)
		return FC_ETRUNC;
	/* The header is checked before its lengths are used: a damaged
	 * length must not make the reader wait for bytes that never come. */
	if (marker != REC_MARKER || kind > 1 || flags != 0 || key_len > FC_SPOOL_KEY_MAX ||
	    len == 0 || len > FC_SPOOL_PAYLOAD_MAX || n == 0 || n > len)
		return FC_EMALFORMED;
	key = fc_cur_view(&r, key_len);
	payload = fc_cur_view(&r, len);
	if (r.err)
		return FC_ETRUNC;
	got = crc(0, hdr, 16);
	got = crc(got, key, key_len);
	got = crc(got, payload, len);
	if (got != want)
		return FC_EMALFORMED;
	out->kind = kind;
	out->n_msgs = n;
	out->key = key_len ? key : NULL;
	out->key_len = key_len;
	out->payload = payload;
	out->len = len;
	*c = r;
	return 0;
}

/* Header and key of r (the checksum covers the payload too). Returns the
 * bytes written: FC_SPOOL_REC_HDR + key_len. */
static size_t format_head(const struct fc_spool_rec *r, uint8_t *out)
{
	uint32_t sum;

	put32(out, REC_MARKER);
	out[4] = r->kind;
	out[5] = 0;
	out[6] = (uint8_t)(r->key_len >> 8);
	out[7] = (uint8_t)r->key_len;
	put32(out + 8, (uint32_t)r->len);
	put32(out + 12, r->n_msgs);
	sum = crc(0, out, 16);
	if (r->key_len)
		sum = crc(sum, r->key, r->key_len);
	sum = crc(sum, r->payload, r->len);
	put32(out + 16, sum);
	if (r->key_len)
		memcpy(out + FC_SPOOL_REC_HDR, r->key, r->key_len);
	return FC_SPOOL_REC_HDR + r->key_len;
}

size_t fc_spool_format_record(const struct fc_spool_rec *r, uint8_t *out)
{
	size_t hl = format_head(r, out);

	memcpy(out + hl, r->payload, r->len);
	return hl + r->len;
}

int fc_spool_parse_state(const uint8_t *buf, size_t len, struct fc_spool_pos *out_pos,
			 struct fc_spool_pos *out_skip, size_t skip_cap, size_t *out_n_skip)
{
	struct fc_cur c;
	const uint8_t *magic;
	struct fc_spool_pos pos, prev;
	uint32_t n, want;
	size_t body;

	fc_cur_init(&c, buf, len);
	magic = fc_cur_view(&c, 8);
	pos.seg = fc_cur_be64(&c);
	pos.off = fc_cur_be64(&c);
	n = fc_cur_be32(&c);
	if (c.err)
		return FC_ETRUNC;
	if (memcmp(magic, STATE_MAGIC, 8) != 0 || n > skip_cap || n > FC_SPOOL_WINDOW)
		return FC_EMALFORMED;
	/* Every entry is 16 bytes; compare with what remains before the loop. */
	if (fc_cur_left(&c) < (size_t)n * 16 + 4)
		return FC_ETRUNC;
	prev = pos;
	for (uint32_t i = 0; i < n; i++) {
		struct fc_spool_pos e;

		e.seg = fc_cur_be64(&c);
		e.off = fc_cur_be64(&c);
		/* Entries come after the position and after each other. */
		if (e.seg < prev.seg || (e.seg == prev.seg && e.off <= prev.off))
			return FC_EMALFORMED;
		out_skip[i] = e;
		prev = e;
	}
	body = (size_t)(c.p - buf);
	want = fc_cur_be32(&c);
	if (c.err)
		return FC_ETRUNC;
	if (fc_cur_left(&c) != 0 || crc(0, buf, body) != want)
		return FC_EMALFORMED;
	*out_pos = pos;
	*out_n_skip = n;
	return 0;
}

/* ---- segments ---- */

static void seg_name(char *out, size_t n, uint64_t seq)
{
	snprintf(out, n, "%016" PRIx64 ".seg", seq);
}

static bool parse_seg_name(const char *name, uint64_t *seq)
{
	uint64_t v = 0;

	if (strlen(name) != 20 || strcmp(name + 16, ".seg") != 0)
		return false;
	for (int i = 0; i < 16; i++) {
		char ch = name[i];
		unsigned d;

		if (ch >= '0' && ch <= '9')
			d = (unsigned)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			d = (unsigned)(ch - 'a' + 10);
		else
			return false;
		v = v << 4 | d;
	}
	if (v == 0)
		return false;
	*seq = v;
	return true;
}

static int segs_push(struct fc_spool *s, uint64_t seq, uint64_t size)
{
	if (s->n_segs == s->cap_segs) {
		size_t cap = s->cap_segs ? s->cap_segs * 2 : 16;
		struct seg *n = realloc(s->segs, cap * sizeof(*n));

		if (!n)
			return FC_ENOMEM;
		s->segs = n;
		s->cap_segs = cap;
	}
	s->segs[s->n_segs].seq = seq;
	s->segs[s->n_segs].size = size;
	s->n_segs++;
	s->total += size;
	return 0;
}

static int cmp_seg(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static struct seg *seg_find(struct fc_spool *s, uint64_t seq)
{
	for (size_t i = 0; i < s->n_segs; i++) {
		if (s->segs[i].seq == seq)
			return &s->segs[i];
	}
	return NULL;
}

static void update_gauge(struct fc_spool *s)
{
	*s->bytes = s->total;
}

/* ---- state ---- */

/* The oldest record not yet resolved: where the next open starts. */
static struct fc_spool_pos resume_pos(const struct fc_spool *s)
{
	struct fc_spool_pos p = {s->rseq, s->roff};

	if (s->count > 0)
		p = s->ring[s->head].pos;
	return p;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return FC_ESYS;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int state_save(struct fc_spool *s)
{
	uint8_t *buf = malloc(FC_SPOOL_STATE_MAX);
	struct fc_spool_pos pos = resume_pos(s);
	size_t len = 0;
	uint32_t n = 0;
	int fd = -1, rc = FC_ESYS;

	if (!buf)
		return FC_ENOMEM;
	memcpy(buf, STATE_MAGIC, 8);
	put64(buf + 8, pos.seg);
	put64(buf + 16, pos.off);
	len = 28;
	/* Resolved records behind the oldest unresolved one. */
	for (size_t i = 0; i < s->count; i++) {
		const struct slot *sl = &s->ring[(s->head + i) % FC_SPOOL_WINDOW];

		if (sl->state != SLOT_DONE)
			continue;
		put64(buf + len, sl->pos.seg);
		put64(buf + len + 8, sl->pos.off);
		len += 16;
		n++;
	}
	put32(buf + 24, n);
	put32(buf + len, crc(0, buf, len));
	len += 4;
	fd = openat(s->dirfd, STATE_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		goto out;
	if (write_all(fd, buf, len) != 0 || fsync(fd) != 0)
		goto out;
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (renameat(s->dirfd, STATE_TMP, s->dirfd, STATE_NAME) != 0)
		goto out;
	(void)fsync(s->dirfd);
	s->state_dirty = false;
	rc = 0;
out:
	if (rc)
		fc_log_rl(&s->rl, FC_LOG_ERROR, "spool %s: cannot write its state file: %s", s->dir,
			  strerror(errno));
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

/* Deletes the segments wholly before the resume position, once the state
 * that says so is on disk (a crash in between then costs duplicates of
 * one segment at most, never a loss). */
static void reclaim(struct fc_spool *s)
{
	struct fc_spool_pos pos = resume_pos(s);
	size_t n = 0;
	char name[32];

	while (n < s->n_segs && s->segs[n].seq < pos.seg && s->segs[n].seq != s->wseq)
		n++;
	if (n == 0)
		return;
	if (state_save(s) != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		seg_name(name, sizeof(name), s->segs[i].seq);
		if (unlinkat(s->dirfd, name, 0) != 0 && errno != ENOENT)
			fc_log_rl(&s->rl, FC_LOG_WARN, "spool %s: cannot remove %s: %s", s->dir, name,
				  strerror(errno));
		s->total -= s->segs[i].size;
	}
	memmove(s->segs, s->segs + n, (s->n_segs - n) * sizeof(*s->segs));
	s->n_segs -= n;
	update_gauge(s);
}

/* ---- writer ---- */

static void count_drop(struct fc_spool *s, uint64_t *slot, uint64_t n, const char *why)
{
	*slot += n;
	fc_log_rl(&s->rl, FC_LOG_WARN, "spool %s: %" PRIu64 " messages dropped: %s", s->dir, n, why);
}

/* Writes the buffer; on failure the buffered records are lost, counted,
 * and the file is cut back to its last good length. */
static int wflush(struct fc_spool *s)
{
	struct seg *g;
	int rc;

	if (s->wlen == 0)
		return 0;
	g = seg_find(s, s->wseq);
	rc = write_all(s->wfd, s->wbuf, s->wlen);
	if (rc) {
		char why[128];

		snprintf(why, sizeof(why), "write error: %s", strerror(errno));
		(void)ftruncate(s->wfd, (off_t)s->wdisk);
		if (g) {
			g->size -= s->wlen;
			s->total -= s->wlen;
		}
		*s->written -= s->wbuf_msgs;
		count_drop(s, s->drop_io, s->wbuf_msgs, why);
	} else {
		s->wdisk += s->wlen;
		s->wdirty = true;
	}
	s->wlen = 0;
	s->wbuf_msgs = 0;
	update_gauge(s);
	return rc;
}

static void wclose(struct fc_spool *s)
{
	if (s->wfd < 0)
		return;
	(void)wflush(s);
	if (s->wdirty)
		(void)fdatasync(s->wfd);
	close(s->wfd);
	s->wfd = -1;
	s->wseq = 0;
	s->wdirty = false;
}

static int wopen(struct fc_spool *s)
{
	uint8_t hdr[FC_SPOOL_SEG_HDR];
	char name[32];
	uint64_t seq = s->next_seq;
	int fd;

	seg_name(name, sizeof(name), seq);
	fd = openat(s->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return FC_ESYS;
	memcpy(hdr, SEG_MAGIC, 8);
	put64(hdr + 8, seq);
	if (write_all(fd, hdr, sizeof(hdr)) != 0 || segs_push(s, seq, sizeof(hdr)) != 0) {
		int saved = errno;

		close(fd);
		(void)unlinkat(s->dirfd, name, 0);
		errno = saved;
		return FC_ESYS;
	}
	s->next_seq = seq + 1;
	s->wfd = fd;
	s->wseq = seq;
	s->wdisk = sizeof(hdr);
	s->wdirty = true;
	update_gauge(s);
	return 0;
}

int fc_spool_append(struct fc_spool *s, const struct fc_spool_rec *r)
{
	size_t need = FC_SPOOL_REC_HDR + r->key_len + r->len;
	struct seg *g;

	if (r->key_len > FC_SPOOL_KEY_MAX || r->len == 0 || r->len > FC_SPOOL_PAYLOAD_MAX ||
	    r->n_msgs == 0 || r->kind > 1) {
		count_drop(s, s->drop_large, r->n_msgs, "record larger than the spool accepts");
		return FC_ELIMIT;
	}
	if (s->wfd >= 0 && s->wdisk + s->wlen + need > s->seg_bytes && s->wdisk + s->wlen >
							       FC_SPOOL_SEG_HDR)
		wclose(s);
	if (s->total + need + (s->wfd < 0 ? FC_SPOOL_SEG_HDR : 0) > s->max_bytes) {
		count_drop(s, s->drop_full, r->n_msgs, "spool full (--spool-max-bytes)");
		return FC_ELIMIT;
	}
	if (s->wfd < 0 && wopen(s) != 0) {
		char why[160];

		snprintf(why, sizeof(why), "cannot create a segment: %s", strerror(errno));
		count_drop(s, s->drop_io, r->n_msgs, why);
		return FC_ESYS;
	}
	if (s->wlen + need > WBUF_CAP && wflush(s) != 0) {
		/* The buffered records were counted; this one still fits. */
	}
	g = seg_find(s, s->wseq);
	if (need > WBUF_CAP) {
		/* Larger than the buffer: written directly, in one piece. */
		uint8_t hdr[FC_SPOOL_REC_HDR + FC_SPOOL_KEY_MAX];
		struct iovec iov[2];
		size_t hl = format_head(r, hdr);
		ssize_t w;

		iov[0].iov_base = hdr;
		iov[0].iov_len = hl;
		iov[1].iov_base = (void *)(uintptr_t)r->payload;
		iov[1].iov_len = r->len;
		w = writev(s->wfd, iov, 2);
		if (w < 0 || (size_t)w != need) {
			char why[160];

			snprintf(why, sizeof(why), "write error: %s",
				 w < 0 ? strerror(errno) : "short write");
			(void)ftruncate(s->wfd, (off_t)s->wdisk);
			count_drop(s, s->drop_io, r->n_msgs, why);
			return FC_ESYS;
		}
		s->wdisk += need;
		s->wdirty = true;
	} else {
		(void)fc_spool_format_record(r, s->wbuf + s->wlen);
		s->wlen += need;
		s->wbuf_msgs += r->n_msgs;
	}
	if (g)
		g->size += need;
	s->total += need;
	*s->written += r->n_msgs;
	update_gauge(s);
	return 0;
}

/* ---- reader ---- */

bool fc_spool_pending(const struct fc_spool *s)
{
	const struct seg *last;

	if (s->n_segs == 0)
		return false;
	last = &s->segs[s->n_segs - 1];
	return s->rseq < last->seq || s->roff < last->size;
}

uint64_t fc_spool_pending_bytes(const struct fc_spool *s)
{
	uint64_t n = 0;

	for (size_t i = 0; i < s->n_segs; i++) {
		const struct seg *g = &s->segs[i];

		if (g->seq > s->rseq)
			n += g->size - FC_SPOOL_SEG_HDR;
		else if (g->seq == s->rseq && g->size > s->roff)
			n += g->size - s->roff;
	}
	return n;
}

static void rclose(struct fc_spool *s)
{
	if (s->rfd >= 0)
		close(s->rfd);
	s->rfd = -1;
	s->rb_len = 0;
	s->rb_off = 0;
}

/* Moves the reader to the first segment after rseq; false when there is
 * none (the reader stays at the end of rseq). */
static bool radvance(struct fc_spool *s)
{
	for (size_t i = 0; i < s->n_segs; i++) {
		if (s->segs[i].seq > s->rseq) {
			rclose(s);
			s->rseq = s->segs[i].seq;
			s->roff = 0;
			s->state_dirty = true;
			return true;
		}
	}
	return false;
}

static void corrupt(struct fc_spool *s, const char *what)
{
	const struct seg *g = seg_find(s, s->rseq);
	uint64_t size = g ? g->size : s->roff;

	(*s->corrupt)++;
	fc_log_rl(&s->rl, FC_LOG_ERROR,
		  "spool %s: segment %016" PRIx64 " %s at offset %" PRIu64
		  "; its last %" PRIu64 " bytes are skipped",
		  s->dir, s->rseq, what, s->roff, size > s->roff ? size - s->roff : 0);
	/* A damaged writer segment is closed so that new records go to a
	 * fresh one the reader can reach. */
	if (s->rseq == s->wseq)
		wclose(s);
	if (g)
		s->roff = g->size;
}

static int rfill(struct fc_spool *s)
{
	ssize_t got;

	if (s->rfd < 0) {
		char name[32];

		seg_name(name, sizeof(name), s->rseq);
		s->rfd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC);
		if (s->rfd < 0)
			return FC_ESYS;
	}
	do
		got = pread(s->rfd, s->rbuf, RBUF_CAP, (off_t)s->roff);
	while (got < 0 && errno == EINTR);
	if (got < 0)
		return FC_ESYS;
	s->rb_off = s->roff;
	s->rb_len = (size_t)got;
	return 0;
}

static bool skip_listed(struct fc_spool *s)
{
	while (s->skip_i < s->n_skip) {
		const struct fc_spool_pos *e = &s->skip[s->skip_i];

		if (e->seg > s->rseq || (e->seg == s->rseq && e->off > s->roff))
			return false;
		s->skip_i++;
		if (e->seg == s->rseq && e->off == s->roff)
			return true;
	}
	return false;
}

int fc_spool_peek(struct fc_spool *s, struct fc_spool_rec *out)
{
	for (int guard = 0; guard < 1 << 20; guard++) {
		const struct seg *g;
		struct fc_cur c;
		int rc;

		if (s->peeked) {
			*out = s->peek;
			return 0;
		}
		if (s->count == FC_SPOOL_WINDOW)
			return FC_EAGAIN;
		g = seg_find(s, s->rseq);
		if (!g) {
			/* Not opened yet, or its file is gone: the next one. */
			if (!radvance(s))
				return FC_EAGAIN;
			continue;
		}
		if (s->rseq == s->wseq && s->roff >= s->wdisk && s->wlen > 0)
			(void)wflush(s);
		g = seg_find(s, s->rseq);
		if (!g)
			continue;
		if (s->roff >= g->size) {
			if (!radvance(s))
				return FC_EAGAIN;
			continue;
		}
		if (s->roff < s->rb_off || s->roff - s->rb_off >= s->rb_len ||
		    (s->rfd < 0)) {
			if (rfill(s) != 0) {
				corrupt(s, "cannot be read");
				continue;
			}
		}
		if (s->roff == 0) {
			uint64_t seq;

			fc_cur_init(&c, s->rbuf, s->rb_len);
			if (fc_spool_parse_seg_header(&c, &seq) != 0 || seq != s->rseq) {
				corrupt(s, "has a bad header");
				continue;
			}
			s->roff = FC_SPOOL_SEG_HDR;
			continue;
		}
		fc_cur_init(&c, s->rbuf + (s->roff - s->rb_off), s->rb_len - (size_t)(s->roff - s->rb_off));
		rc = fc_spool_parse_record(&c, &s->peek);
		if (rc == FC_ETRUNC && s->rb_off != s->roff) {
			/* The record runs past what the buffer holds: read again
			 * from its start. */
			if (rfill(s) != 0) {
				corrupt(s, "cannot be read");
				continue;
			}
			fc_cur_init(&c, s->rbuf, s->rb_len);
			rc = fc_spool_parse_record(&c, &s->peek);
		}
		if (rc == FC_ETRUNC) {
			/* Not written whole: a crash cut it (or the file is
			 * shorter than we think). */
			corrupt(s, "ends inside a record");
			continue;
		}
		if (rc != 0) {
			corrupt(s, "holds a damaged record");
			continue;
		}
		s->peek_end = s->roff + (uint64_t)(c.p - (s->rbuf + (s->roff - s->rb_off)));
		if (skip_listed(s)) {
			/* Delivered before the last stop: it stays in the window
			 * as resolved, so that a stop before the records around
			 * it are resolved lists it again. */
			struct slot *sl = &s->ring[(s->head + s->count) % FC_SPOOL_WINDOW];

			sl->pos.seg = s->rseq;
			sl->pos.off = s->roff;
			sl->n_msgs = s->peek.n_msgs;
			sl->state = SLOT_OUT;
			s->count++;
			s->roff = s->peek_end;
			fc_spool_done(s, sl);
			continue;
		}
		s->peeked = true;
	}
	return FC_EAGAIN;
}

void *fc_spool_take(struct fc_spool *s)
{
	struct slot *sl;

	if (!s->peeked || s->count == FC_SPOOL_WINDOW)
		return NULL;
	sl = &s->ring[(s->head + s->count) % FC_SPOOL_WINDOW];
	sl->pos.seg = s->rseq;
	sl->pos.off = s->roff;
	sl->n_msgs = s->peek.n_msgs;
	sl->state = SLOT_OUT;
	s->count++;
	s->roff = s->peek_end;
	s->peeked = false;
	*s->replayed += sl->n_msgs;
	return sl;
}

void fc_spool_untake(struct fc_spool *s, void *ticket)
{
	struct slot *sl = ticket;

	if (s->count == 0 || sl != &s->ring[(s->head + s->count - 1) % FC_SPOOL_WINDOW])
		return;
	/* The read buffer still holds the record: nothing was read since. */
	s->count--;
	s->peek_end = s->roff;
	s->roff = sl->pos.off;
	s->peeked = true;
	*s->replayed -= sl->n_msgs;
	sl->state = SLOT_FREE;
}

void *fc_spool_ticket(const struct fc_spool *s, const void *p)
{
	uintptr_t a = (uintptr_t)p, lo = (uintptr_t)s->ring;
	uintptr_t hi = (uintptr_t)(s->ring + FC_SPOOL_WINDOW);

	if (a < lo || a >= hi || (a - lo) % sizeof(struct slot) != 0)
		return NULL;
	return (void *)(uintptr_t)p;
}

uint32_t fc_spool_ticket_msgs(const void *ticket)
{
	return ((const struct slot *)ticket)->n_msgs;
}

void fc_spool_done(struct fc_spool *s, void *ticket)
{
	struct slot *sl = ticket;

	if (sl->state != SLOT_OUT)
		return;
	sl->state = SLOT_DONE;
	while (s->count > 0 && s->ring[s->head].state == SLOT_DONE) {
		s->ring[s->head].state = SLOT_FREE;
		s->head = (s->head + 1) % FC_SPOOL_WINDOW;
		s->count--;
	}
	s->state_dirty = true;
	reclaim(s);
}

/* Everything written was read back and resolved: the files go, so a
 * drained spool takes no disk space (the writer starts a new segment when
 * needed). */
static void drained_reset(struct fc_spool *s)
{
	char name[32];

	if (s->n_segs == 0 || s->count > 0 || s->peeked || fc_spool_pending(s))
		return;
	wclose(s);
	rclose(s);
	if (state_save(s) != 0)
		return;
	for (size_t i = 0; i < s->n_segs; i++) {
		seg_name(name, sizeof(name), s->segs[i].seq);
		(void)unlinkat(s->dirfd, name, 0);
	}
	s->n_segs = 0;
	s->total = 0;
	update_gauge(s);
}

void fc_spool_tick(struct fc_spool *s)
{
	uint64_t now = fc_mono_ns();

	if (now - s->last_tick < TICK_NS)
		return;
	s->last_tick = now;
	(void)wflush(s);
	if (s->wfd >= 0 && s->wdirty) {
		(void)fdatasync(s->wfd);
		s->wdirty = false;
	}
	if (s->state_dirty)
		(void)state_save(s);
	reclaim(s);
	drained_reset(s);
}

/* ---- open / free ---- */

static int scan_dir(struct fc_spool *s)
{
	int fd = dup(s->dirfd);
	DIR *d;
	struct dirent *e;

	if (fd < 0)
		return FC_ESYS;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return FC_ESYS;
	}
	while ((e = readdir(d)) != NULL) {
		uint64_t seq;
		struct stat st;

		if (!parse_seg_name(e->d_name, &seq))
			continue;
		if (fstatat(s->dirfd, e->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (segs_push(s, seq, (uint64_t)st.st_size) != 0) {
			closedir(d);
			return FC_ENOMEM;
		}
	}
	closedir(d);
	if (s->n_segs > 1) /* an empty spool has no array: qsort(NULL, ...) is undefined */
		qsort(s->segs, s->n_segs, sizeof(*s->segs), cmp_seg);
	return 0;
}

static void load_state(struct fc_spool *s)
{
	uint8_t *buf = malloc(FC_SPOOL_STATE_MAX + 1);
	struct fc_spool_pos pos;
	size_t n_skip = 0, len = 0;
	int fd = -1;
	ssize_t got;

	s->rseq = 0;
	s->roff = 0;
	if (!buf)
		return;
	fd = openat(s->dirfd, STATE_NAME, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto out; /* a new spool, or one never read from */
	while (len <= FC_SPOOL_STATE_MAX) {
		got = read(fd, buf + len, FC_SPOOL_STATE_MAX + 1 - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		len += (size_t)got;
	}
	if (fc_spool_parse_state(buf, len, &pos, s->skip, FC_SPOOL_WINDOW, &n_skip) != 0) {
		/* Without a trustworthy position, everything left is read
		 * back: duplicates are possible, losses are not. */
		(*s->corrupt)++;
		fc_log(FC_LOG_ERROR, "spool %s: the state file is damaged; every segment still "
				     "present is replayed from its start",
		       s->dir);
		goto out;
	}
	s->rseq = pos.seg;
	s->roff = pos.off;
	s->n_skip = n_skip;
	{
		const struct seg *g = seg_find(s, pos.seg);

		if (g && (pos.off < FC_SPOOL_SEG_HDR || pos.off > g->size)) {
			(*s->corrupt)++;
			fc_log(FC_LOG_ERROR, "spool %s: the state file points past segment %016" PRIx64
					     "; it is replayed from its start",
			       s->dir, pos.seg);
			s->roff = 0;
			s->n_skip = 0;
		} else if (!g) {
			/* That segment was finished and removed: start at the
			 * next one. */
			s->roff = 0;
			s->n_skip = 0;
		}
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
}

int fc_spool_open(struct fc_spool **out, const char *dir, uint64_t max_bytes,
		  struct fc_metrics *m)
{
	struct fc_spool *s = calloc(1, sizeof(*s));
	int rc = FC_ENOMEM;

	if (!s)
		return FC_ENOMEM;
	s->dirfd = s->wfd = s->rfd = s->lockfd = -1;
	s->dir = strdup(dir);
	s->wbuf = malloc(WBUF_CAP);
	s->rbuf = malloc(RBUF_CAP);
	s->ring = calloc(FC_SPOOL_WINDOW, sizeof(*s->ring));
	s->skip = calloc(FC_SPOOL_WINDOW, sizeof(*s->skip));
	if (!s->dir || !s->wbuf || !s->rbuf || !s->ring || !s->skip)
		goto fail;
	s->max_bytes = max_bytes;
	s->seg_bytes = max_bytes / 16;
	if (s->seg_bytes < SEG_MIN)
		s->seg_bytes = SEG_MIN;
	if (s->seg_bytes > SEG_MAX)
		s->seg_bytes = SEG_MAX;
	s->written = fc_metrics_counter(m, "spool_written_total", NULL,
					"messages written to the disk spool");
	s->replayed = fc_metrics_counter(m, "spool_replayed_total", NULL,
					 "messages read back from the disk spool and handed to Kafka");
	s->drop_full = fc_metrics_counter(m, "spool_dropped_total", "reason=\"full\"",
					  "messages the disk spool could not keep, by reason");
	s->drop_io = fc_metrics_counter(m, "spool_dropped_total", "reason=\"io_error\"", NULL);
	s->drop_large = fc_metrics_counter(m, "spool_dropped_total", "reason=\"too_large\"", NULL);
	s->corrupt = fc_metrics_counter(m, "spool_corrupt_total", NULL,
					"damaged spool segments or state files found (skipped)");
	s->bytes = fc_metrics_gauge(m, "spool_bytes", NULL, "bytes of spool segment files");

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		fc_log(FC_LOG_ERROR, "spool %s: cannot create: %s", dir, strerror(errno));
		rc = FC_ESYS;
		goto fail;
	}
	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		fc_log(FC_LOG_ERROR, "spool %s: cannot open: %s", dir, strerror(errno));
		rc = FC_ESYS;
		goto fail;
	}
	s->lockfd = openat(s->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lockfd < 0 || flock(s->lockfd, LOCK_EX | LOCK_NB) != 0) {
		fc_log(FC_LOG_ERROR, "spool %s: %s", dir,
		       errno == EWOULDBLOCK ? "in use by another collector" : strerror(errno));
		rc = FC_ESYS;
		goto fail;
	}
	rc = scan_dir(s);
	if (rc) {
		fc_log(FC_LOG_ERROR, "spool %s: cannot list: %s", dir, strerror(errno));
		goto fail;
	}
	s->next_seq = s->n_segs ? s->segs[s->n_segs - 1].seq + 1 : 1;
	load_state(s);
	if (s->rseq >= s->next_seq)
		s->next_seq = s->rseq + 1;
	update_gauge(s);
	reclaim(s);
	s->last_tick = fc_mono_ns();
	if (fc_spool_pending(s))
		fc_log(FC_LOG_INFO, "spool %s: %" PRIu64 " bytes from an earlier run are replayed first",
		       dir, fc_spool_pending_bytes(s));
	*out = s;
	return 0;
fail:
	fc_spool_free(s);
	return rc;
}

void fc_spool_free(struct fc_spool *s)
{
	if (!s)
		return;
	if (s->dirfd >= 0) {
		wclose(s);
		(void)state_save(s);
		drained_reset(s);
		close(s->dirfd);
	}
	rclose(s);
	if (s->lockfd >= 0)
		close(s->lockfd);
	free(s->segs);
	free(s->wbuf);
	free(s->rbuf);
	free(s->ring);
	free(s->skip);
	free(s->dir);
	free(s);
}
