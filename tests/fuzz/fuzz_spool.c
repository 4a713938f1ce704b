/*
 * libFuzzer target: the Kafka spool's readers of disk bytes
 * (src/output/spool.c; formats in its opening comment). The first byte
 * picks what the rest is:
 *   even  a segment file: parsed with fc_spool_parse_seg_header and
 *         fc_spool_parse_record as far as it goes, then written as segment
 *         1 of a scratch spool directory that is opened and read back to
 *         the end (peek, take, done), the way the collector would after a
 *         restart;
 *   odd   a state file: parsed with fc_spool_parse_state, then written
 *         beside a fixed, valid segment of three records and the spool is
 *         opened and read back.
 * Every record handed out must lie inside its segment's bounds and carry
 * the lengths the format allows; anything else aborts.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "fc/cursor.h"
#include "metrics/metrics.h"
#include "output/spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static struct fc_metrics *metrics;

static void clear_dir(void);

static void remove_dir(void)
{
	clear_dir();
	rmdir(dir);
}

static int setup(void)
{
	if (dir[0])
		return 0;
	(void)fc_log_set_level("error");
	/* tmpfs when there is one: fsync is then nearly free, and the
	 * fuzzer runs hundreds of times faster. */
	snprintf(dir, sizeof(dir), "%s/fc-fuzz-spool-XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (!mkdtemp(dir))
		return -1;
	atexit(remove_dir);
	metrics = fc_metrics_new();
	return metrics ? 0 : -1;
}

static void clear_dir(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		char p[sizeof(dir) + sizeof(e->d_name) + 2];

		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
}

static void write_file(const char *name, const uint8_t *p, size_t n)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return;
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w <= 0)
			break;
		p += w;
		n -= (size_t)w;
	}
	close(fd);
}

static void check_rec(const struct fc_spool_rec *r)
{
	volatile uint8_t sink = 0;

	if (r->kind > 1 || r->n_msgs == 0 || r->len == 0 || r->len > FC_SPOOL_PAYLOAD_MAX ||
	    r->key_len > FC_SPOOL_KEY_MAX)
		abort();
	/* Touch both ends: ASan reports a view outside its buffer. */
	sink ^= r->payload[0];
	sink ^= r->payload[r->len - 1];
	if (r->key_len)
		sink ^= (uint8_t)(r->key[0] ^ r->key[r->key_len - 1]);
	(void)sink;
}

static void parse_segment(const uint8_t *p, size_t n)
{
	struct fc_cur c;
	struct fc_spool_rec r;
	uint64_t seq;

	fc_cur_init(&c, p, n);
	if (fc_spool_parse_seg_header(&c, &seq) != 0)
		return;
	while (fc_spool_parse_record(&c, &r) == 0)
		check_rec(&r);
}

static void read_back(void)
{
	struct fc_spool *s;
	struct fc_spool_rec r;

	if (fc_spool_open(&s, dir, 1ull << 30, metrics) != 0)
		return;
	for (int i = 0; i < 100000 && fc_spool_peek(s, &r) == 0; i++) {
		void *t;

		check_rec(&r);
		t = fc_spool_take(s);
		if (!t || fc_spool_ticket(s, t) != t || fc_spool_ticket_msgs(t) != r.n_msgs)
			abort();
		/* Every other record stays unresolved: the state written at
		 * free then carries a skip list. */
		if (i % 2 == 0)
			fc_spool_done(s, t);
	}
	fc_spool_free(s);
	/* And once more, from that state. */
	if (fc_spool_open(&s, dir, 1ull << 30, metrics) != 0)
		return;
	for (int i = 0; i < 100000 && fc_spool_peek(s, &r) == 0; i++) {
		check_rec(&r);
		fc_spool_done(s, fc_spool_take(s));
	}
	fc_spool_free(s);
}

static void fixed_segment(void)
{
	static const uint8_t a[10] = "AAAAAAAAAA", b[20] = "BBBBBBBBBBBBBBBBBBBB";
	static const uint8_t cc[30] = "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCC";
	const struct fc_spool_rec recs[3] = {
		{.kind = 0, .n_msgs = 1, .key = (const uint8_t *)"k1", .key_len = 2, .payload = a, .len = 10},
		{.kind = 1, .n_msgs = 1, .payload = b, .len = 20},
		{.kind = 0, .n_msgs = 2, .key = (const uint8_t *)"exporter", .key_len = 8, .payload = cc,
		 .len = 30},
	};
	uint8_t buf[256];
	size_t n = 16;

	memcpy(buf, "FCSPOOL1\0\0\0\0\0\0\0\1", 16);
	for (int i = 0; i < 3; i++)
		n += fc_spool_format_record(&recs[i], buf + n);
	write_file("0000000000000001.seg", buf, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fc_spool_pos pos;
	static struct fc_spool_pos skip[FC_SPOOL_WINDOW];
	size_t n_skip;

	if (size < 1 || setup() != 0)
		return 0;
	clear_dir();
	if ((data[0] & 1) == 0) {
		parse_segment(data + 1, size - 1);
		write_file("0000000000000001.seg", data + 1, size - 1);
	} else {
		(void)fc_spool_parse_state(data + 1, size - 1, &pos, skip, FC_SPOOL_WINDOW, &n_skip);
		fixed_segment();
		write_file("state", data + 1, size - 1);
	}
	read_back();
	clear_dir();
	return 0;
}
