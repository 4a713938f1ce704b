/*
 * The template store's persistence file (see store.h): templates and
 * sampling state in a private big-endian format with a magic, a version,
 * the body's length and a checksum over everything before it; written
 * through a fresh temporary file next to the target (PATH.tmp-XXXXXX),
 * synced, then renamed. The file is read back through the bounded cursor
 * (include/fc/cursor.h), every count checked against what remains, and
 * checked whole before anything of it is applied: a damaged, truncated or
 * foreign file is refused whole, moved aside as PATH.bad-<unix time> (so
 * the next save never overwrites it) and reported. At start, temporary
 * files of a save that was killed are removed, and every worker loads
 * PATH and all PATH.wN: SO_REUSEPORT may hand an exporter to another
 * worker after a restart, and the state is small.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "core/hash.h"
#include "fc/cursor.h"
#include "fc/err.h"
#include "template/internal.h"

/*
 * File layout (big-endian), version 02:
 *   0  "FCTMPL02"
 *   8  u32 body length
 *   12 body:
 *        per session: u8 'S', u8 version, u8 family, 16 addr, u16 port,
 *          u32 domain, u64 rate, u64 init_ms, u16 nsamplers, {u64 id, u64 rate}*,
 *          u16 ntemplates, per template: u16 id, u8 options, u16 nscope,
 *          u16 nfields, u64 last_ns, {u32 pen, u16 id, u16 len}*
 *        u8 'E'
 *   12 + length: u64 checksum, fc_hash (core/hash.h) of every byte before it
 * Version 01 (read only) is "FCTMPL01" followed by the body, nothing else.
 */
#define MAGIC_LEN 8
#define MAGIC_STEM "FCTMPL"  /* the first 6 bytes; 2 digits of version follow */
#define HEADER_LEN 12
#define TRAILER_LEN 8
#define SESSION_MIN 44 /* bytes after 'S' of a session with no sampler, no template */
#define TEMPLATE_MIN 23 /* a template record with one field */
#define TMP_STEM "tmp-"
#define TMP_INFIX "." TMP_STEM

static const char magic_v2[MAGIC_LEN] = {'F', 'C', 'T', 'M', 'P', 'L', '0', '2'};
static const char magic_v1[MAGIC_LEN] = {'F', 'C', 'T', 'M', 'P', 'L', '0', '1'};

static void w8(FILE *f, uint64_t v, unsigned n)
{
	uint8_t b[8];

	for (unsigned i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	fwrite(b, 1, n, f);
}

static void put_be(uint8_t *out, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		out[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static void write_session(FILE *f, const struct fc_tmpl_session *s)
{
	w8(f, 'S', 1);
	w8(f, s->key.version, 1);
	w8(f, s->key.addr.family, 1);
	fwrite(s->key.addr.a, 1, 16, f);
	w8(f, s->key.port, 2);
	w8(f, s->key.domain, 4);
	w8(f, s->rate, 8);
	w8(f, s->init_ms, 8);
	w8(f, s->nsamplers, 2);
	for (size_t k = 0; k < s->nsamplers; k++) {
		w8(f, s->samplers[k].id, 8);
		w8(f, s->samplers[k].rate, 8);
	}
	w8(f, s->ntmpl, 2);
	for (size_t k = 0; k < s->ntmpl; k++) {
		const struct fc_tmpl *t = s->tmpl[k];

		w8(f, t->id, 2);
		w8(f, t->options, 1);
		w8(f, t->nscope, 2);
		w8(f, t->nfields, 2);
		w8(f, t->last_ns, 8);
		for (uint16_t j = 0; j < t->nfields; j++) {
			w8(f, t->f[j].pen, 4);
			w8(f, t->f[j].id, 2);
			w8(f, t->f[j].len, 2);
		}
	}
}

/* The whole file in memory (malloc'd, *out_len bytes). */
static int build(const struct fc_tmpl_store *e, uint8_t **out, size_t *out_len)
{
	char *mem = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&mem, &len);
	uint8_t *buf;
	uint64_t sum;

	if (!f)
		return FC_ENOMEM;
	fwrite(magic_v2, 1, MAGIC_LEN, f);
	w8(f, 0, 4); /* body length, set below */
	for (size_t i = 0; i < e->captab; i++) {
		const struct fc_tmpl_session *s = e->tab[i];

		if (s && (s->ntmpl || s->nsamplers || s->rate || s->init_ms))
			write_session(f, s);
	}
	w8(f, 'E', 1);
	w8(f, 0, TRAILER_LEN); /* checksum, set below */
	if (ferror(f) || fclose(f) != 0 || len < HEADER_LEN + 1 + TRAILER_LEN ||
	    len - HEADER_LEN - TRAILER_LEN > UINT32_MAX) {
		free(mem);
		return FC_ENOMEM;
	}
	buf = (uint8_t *)mem;
	put_be(buf + MAGIC_LEN, len - HEADER_LEN - TRAILER_LEN, 4);
	sum = fc_hash(FC_HASH_SEED, buf, len - TRAILER_LEN);
	put_be(buf + len - TRAILER_LEN, sum, TRAILER_LEN);
	*out = buf;
	*out_len = len;
	return 0;
}

int fc_tmpl_save(struct fc_tmpl_store *e, const char *path)
{
	char tmp[4096];
	uint8_t *buf = NULL;
	size_t len = 0;
	FILE *f;
	int rc, fd;

	/* A fresh name next to the target (no symlink followed, no clash with
	 * another writer, recognisable as ours at the next start), synced
	 * before the rename so a crash leaves either the old file or the
	 * whole new one. */
	if (snprintf(tmp, sizeof(tmp), "%s" TMP_INFIX "XXXXXX", path) >= (int)sizeof(tmp))
		return FC_EINVAL;
	rc = build(e, &buf, &len);
	if (rc != 0)
		return rc;
	fd = mkstemp(tmp);
	if (fd < 0) {
		free(buf);
		return FC_ESYS;
	}
	f = fdopen(fd, "wb");
	if (!f) {
		close(fd);
		remove(tmp);
		free(buf);
		return FC_ESYS;
	}
	if (fwrite(buf, 1, len, f) != len || fflush(f) != 0 || fsync(fileno(f)) != 0)
		rc = FC_ESYS;
	if (fclose(f) != 0)
		rc = FC_ESYS;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = FC_ESYS;
	if (rc != 0)
		remove(tmp);
	free(buf);
	return rc;
}

/* One template record: checked, and stored in s when s is not NULL. */
static int load_template(struct fc_tmpl_store *e, struct fc_tmpl_session *s, struct fc_cur *c)
{
	size_t cap;
	struct fc_tmpl *t = fc_tmpl_scratch(e, &cap);
	const struct fc_tmpl *have;
	uint8_t options;
	uint64_t last;

	t->id = fc_cur_be16(c);
	options = fc_cur_u8(c);
	t->nscope = fc_cur_be16(c);
	t->nfields = fc_cur_be16(c);
	last = fc_cur_be64(c);
	if (c->err || options > 1 || t->nscope > t->nfields || t->nfields == 0 ||
	    t->nfields > fc_cur_left(c) / 8)
		return FC_EMALFORMED;
	t->options = options != 0;
	if (!s || t->nfields > cap) {
		fc_cur_skip(c, (size_t)t->nfields * 8);
		if (c->err)
			return FC_EMALFORMED;
		/* more fields than the cap now allows: the store refuses it
		 * (counted) from the count alone, before looking at a field */
		if (s)
			(void)fc_tmpl_add(e, s, t, last);
		return 0;
	}
	for (uint16_t j = 0; j < t->nfields; j++) {
		t->f[j].pen = fc_cur_be32(c);
		t->f[j].id = fc_cur_be16(c);
		t->f[j].len = fc_cur_be16(c);
	}
	if (c->err)
		return FC_EMALFORMED;
	/* merging several files: the latest announcement wins */
	have = fc_tmpl_find(s, t->id);
	if (have && have->last_ns >= last)
		return 0;
	if (e->hooks.resolve)
		e->hooks.resolve(t);
	/* a template refused by the store is counted there; keep loading */
	(void)fc_tmpl_add(e, s, t, last);
	return 0;
}

/* One session record; apply = false only checks it. */
static int load_session(struct fc_tmpl_store *e, struct fc_cur *c, bool apply)
{
	struct fc_tmpl_key k;
	struct fc_tmpl_session *s = NULL;
	uint64_t rate, init_ms;
	uint16_t n;
	int err = 0;

	memset(&k, 0, sizeof(k));
	k.version = fc_cur_u8(c);
	k.addr.family = fc_cur_u8(c);
	fc_cur_copy(c, k.addr.a, 16);
	k.port = fc_cur_be16(c);
	k.domain = fc_cur_be32(c);
	rate = fc_cur_be64(c);
	init_ms = fc_cur_be64(c);
	n = fc_cur_be16(c);
	if (c->err || (k.version != 9 && k.version != 10) ||
	    (k.addr.family != 4 && k.addr.family != 6) || n > fc_cur_left(c) / 16)
		return FC_EMALFORMED;
	/* a session the store refuses (counted there) is read past */
	if (apply)
		s = fc_tmpl_session_get(e, &k, 0, &err);
	if (s && rate)
		s->rate = rate;
	if (s && init_ms)
		s->init_ms = init_ms;
	for (uint16_t i = 0; i < n; i++) {
		uint64_t id = fc_cur_be64(c), r = fc_cur_be64(c);

		if (s)
			fc_tmpl_set_sampling(s, true, id, r);
	}
	n = fc_cur_be16(c);
	if (c->err || n > fc_cur_left(c) / TEMPLATE_MIN)
		return FC_EMALFORMED;
	for (uint16_t i = 0; i < n; i++) {
		int rc = load_template(e, s, c);

		if (rc != 0)
			return rc;
	}
	return 0;
}

/* The body: sessions up to the end marker, which must be its last byte. */
static int load_body(struct fc_tmpl_store *e, const uint8_t *body, size_t len, bool apply,
		     size_t *out_sessions)
{
	struct fc_cur c;
	size_t n = 0;

	fc_cur_init(&c, body, len);
	for (;;) {
		uint8_t tag = fc_cur_u8(&c);
		int rc;

		if (c.err)
			return FC_EMALFORMED; /* no end marker: truncated */
		if (tag == 'E')
			break;
		if (tag != 'S' || fc_cur_left(&c) < SESSION_MIN)
			return FC_EMALFORMED;
		rc = load_session(e, &c, apply);
		if (rc != 0)
			return rc;
		n++;
	}
	if (fc_cur_left(&c) != 0)
		return FC_EMALFORMED; /* bytes after the end marker */
	*out_sessions = n;
	return 0;
}

/* Checks the framing; *out_body / *out_len: the body. */
static int check_frame(const uint8_t *buf, size_t len, const uint8_t **out_body,
		       size_t *out_len)
{
	struct fc_cur c;
	const uint8_t *m, *body;
	uint32_t body_len;
	uint64_t sum;

	fc_cur_init(&c, buf, len);
	m = fc_cur_view(&c, MAGIC_LEN);
	if (!m || memcmp(m, MAGIC_STEM, strlen(MAGIC_STEM)) != 0)
		return FC_EVERSION; /* not a template file */
	if (memcmp(m, magic_v1, MAGIC_LEN) == 0) {
		*out_len = fc_cur_left(&c);
		*out_body = fc_cur_view(&c, *out_len);
		return *out_body ? 0 : FC_EMALFORMED;
	}
	if (memcmp(m, magic_v2, MAGIC_LEN) != 0)
		return FC_EVERSION; /* a version we do not know */
	body_len = fc_cur_be32(&c);
	if (c.err || fc_cur_left(&c) < TRAILER_LEN || body_len != fc_cur_left(&c) - TRAILER_LEN)
		return FC_EMALFORMED; /* truncated, or something appended */
	body = fc_cur_view(&c, body_len);
	sum = fc_cur_be64(&c);
	if (!body || c.err || sum != fc_hash(FC_HASH_SEED, buf, len - TRAILER_LEN))
		return FC_EMALFORMED;
	*out_body = body;
	*out_len = body_len;
	return 0;
}

static int load_mem(struct fc_tmpl_store *e, const uint8_t *buf, size_t len,
		    size_t *out_sessions)
{
	const uint8_t *body;
	size_t body_len, n;
	int rc = check_frame(buf, len, &body, &body_len);

	/* checked whole first: a refused file changes nothing */
	if (rc == 0)
		rc = load_body(e, body, body_len, false, &n);
	if (rc == 0)
		rc = load_body(e, body, body_len, true, &n);
	if (rc == 0)
		*out_sessions = n;
	return rc;
}

int fc_tmpl_load_mem(struct fc_tmpl_store *e, const uint8_t *buf, size_t len)
{
	size_t n;

	return load_mem(e, buf, len, &n);
}

static int load_file(struct fc_tmpl_store *e, const char *path, size_t *out_sessions)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long len;
	int rc;

	if (!f)
		return FC_ESYS;
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		rc = FC_ESYS;
		goto out;
	}
	buf = malloc(len ? (size_t)len : 1);
	if (!buf) {
		rc = FC_ENOMEM;
		goto out;
	}
	if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
		rc = FC_ESYS;
		goto out;
	}
	rc = load_mem(e, buf, (size_t)len, out_sessions);
out:
	free(buf);
	fclose(f);
	return rc;
}

int fc_tmpl_load(struct fc_tmpl_store *e, const char *path)
{
	size_t n;

	return load_file(e, path, &n);
}

int tmpl_file_name(const struct fc_tmpl_store *e, char *buf, size_t len)
{
	int n;

	if (e->cfg->workers > 1)
		n = snprintf(buf, len, "%s.w%u", e->cfg->template_file, e->worker);
	else
		n = snprintf(buf, len, "%s", e->cfg->template_file);
	return n < 0 || (size_t)n >= len ? FC_EINVAL : 0;
}

/* Moves a refused file out of the way, never over another one. */
static bool move_aside(const char *path, char *to, size_t len)
{
	long long now = (long long)time(NULL);

	for (unsigned i = 0; i < 100; i++) {
		int n = i ? snprintf(to, len, "%s.bad-%lld.%u", path, now, i)
			  : snprintf(to, len, "%s.bad-%lld", path, now);

		if (n < 0 || (size_t)n >= len)
			return false;
		if (access(to, F_OK) != 0 && errno == ENOENT)
			return rename(path, to) == 0;
	}
	return false;
}

static void load_one(struct fc_tmpl_store *e, const char *path)
{
	struct fc_tmpl_event ev = {.path = path};
	char aside[4096];
	size_t n = 0;
	int rc = load_file(e, path, &n);

	if (rc == 0) {
		(*e->file_loaded)++;
		ev.kind = FC_TMPL_EV_FILE_LOADED;
		ev.count = n;
		tmpl_report(e, &ev);
		return;
	}
	(*e->file_load_err)++;
	ev.kind = FC_TMPL_EV_FILE_REFUSED;
	ev.err = rc;
	if (rc == FC_EMALFORMED || rc == FC_EVERSION) {
		/* damaged or foreign: kept for a human, never overwritten */
		(*e->file_refused)++;
		if (move_aside(path, aside, sizeof(aside)))
			ev.moved_to = aside;
	}
	tmpl_report(e, &ev);
}

/* Legacy temporary files (PATH.XXXXXX of mkstemp) count as ours only when
 * they start like a template file. */
static bool legacy_tmp_is_ours(const char *path)
{
	FILE *f = fopen(path, "rb");
	char head[sizeof(MAGIC_STEM) - 1];
	bool ours;

	if (!f)
		return false;
	ours = fread(head, 1, sizeof(head), f) == sizeof(head) &&
	       memcmp(head, MAGIC_STEM, sizeof(head)) == 0;
	fclose(f);
	return ours;
}

static bool all_alnum(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9')))
			return false;
	return s[n] == '\0';
}

/* Length of "w<digits>" at the start of s (0: none), with its number. */
static size_t worker_suffix(const char *s, unsigned long *out_n)
{
	size_t i = 1;

	if (s[0] != 'w' || s[1] < '0' || s[1] > '9')
		return 0;
	*out_n = 0;
	while (s[i] >= '0' && s[i] <= '9' && i < 8)
		*out_n = *out_n * 10 + (unsigned long)(s[i++] - '0');
	return i;
}

enum file_kind { FILE_OTHER, FILE_MAIN, FILE_WORKER, FILE_STALE };

/* What name (an entry of PATH's directory) is to the store: PATH, a
 * worker file PATH.wN (*out_worker = N), or a temporary file of a save. */
static enum file_kind classify(const char *base, const char *name, const char *full,
			       unsigned long *out_worker)
{
	size_t bl = strlen(base), w;
	const char *rest;

	if (strncmp(name, base, bl) != 0)
		return FILE_OTHER;
	if (name[bl] == '\0')
		return FILE_MAIN;
	if (name[bl] != '.')
		return FILE_OTHER;
	rest = name + bl + 1;
	w = worker_suffix(rest, out_worker);
	if (w && rest[w] == '\0')
		return FILE_WORKER;
	if (w && rest[w] == '.')
		rest += w + 1;
	if (!strncmp(rest, TMP_STEM, strlen(TMP_STEM)) && all_alnum(rest + strlen(TMP_STEM), 6))
		return FILE_STALE;
	if (rest == name + bl + 1 && all_alnum(rest, 6) && legacy_tmp_is_ours(full))
		return FILE_STALE;
	return FILE_OTHER;
}

/* Splits PATH into its directory and its last component. */
static int split_path(const char *path, char *dir, size_t dlen, const char **out_base)
{
	const char *slash = strrchr(path, '/');

	if (!slash) {
		*out_base = path;
		return snprintf(dir, dlen, ".") < (int)dlen ? 0 : FC_EINVAL;
	}
	*out_base = slash + 1;
	if ((size_t)(slash - path) + 1 >= dlen)
		return FC_EINVAL;
	if (slash == path) {
		strcpy(dir, "/");
		return 0;
	}
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	return 0;
}

/* Calls fn for every file of the store's family in PATH's directory. */
static void each_file(struct fc_tmpl_store *e,
		      void (*fn)(struct fc_tmpl_store *e, enum file_kind k, unsigned long worker,
				 const char *full))
{
	char dir[4096], full[4096];
	const char *base;
	DIR *d;
	struct dirent *de;

	if (split_path(e->cfg->template_file, dir, sizeof(dir), &base) != 0 || !*base)
		return;
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		unsigned long worker = 0;
		enum file_kind k;
		int n = snprintf(full, sizeof(full), "%s/%s", dir, de->d_name);

		if (n < 0 || (size_t)n >= sizeof(full))
			continue;
		k = classify(base, de->d_name, full, &worker);
		if (k != FILE_OTHER)
			fn(e, k, worker, full);
	}
	closedir(d);
}

static void start_one(struct fc_tmpl_store *e, enum file_kind k, unsigned long worker,
		      const char *full)
{
	(void)worker;
	if (k == FILE_STALE) {
		struct fc_tmpl_event ev = {.kind = FC_TMPL_EV_FILE_STALE, .path = full};

		if (remove(full) == 0) {
			(*e->file_stale)++;
			tmpl_report(e, &ev);
		}
	} else {
		load_one(e, full);
	}
}

void tmpl_file_start(struct fc_tmpl_store *e)
{
	each_file(e, start_one);
}

/* After the first save of worker 0: the files of a former worker count
 * were loaded by every worker at start and are saved in the current
 * ones now; they go, so they are not loaded again forever. */
static void clean_one(struct fc_tmpl_store *e, enum file_kind k, unsigned long worker,
		      const char *full)
{
	bool many = e->cfg->workers > 1;

	if ((k == FILE_MAIN && many) ||
	    (k == FILE_WORKER && (!many || worker >= e->cfg->workers)))
		remove(full);
}

void tmpl_file_saved(struct fc_tmpl_store *e)
{
	if (e->file_cleaned || e->worker != 0)
		return;
	e->file_cleaned = true;
	each_file(e, clean_one);
}
