/*
 * The template store's persistence file (see store.h): templates and
 * sampling state written in a private big-endian format through a fresh
 * temporary file next to the target, synced, then renamed; read back
 * through the bounded cursor (include/fc/cursor.h), every count checked
 * against what remains.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fc/cursor.h"
#include "fc/err.h"
#include "template/internal.h"

/*
 * File layout (big-endian):
 *   "FCTMPL01"
 *   per session: u8 'S', u8 version, u8 family, 16 addr, u16 port, u32 domain,
 *     u64 rate, u64 init_ms, u16 nsamplers, {u64 id, u64 rate}*,
 *     u16 ntemplates, per template: u16 id, u8 options, u16 nscope,
 *     u16 nfields, u64 last_ns, {u32 pen, u16 id, u16 len}*
 *   u8 'E'
 */
static const char file_magic[8] = {'F', 'C', 'T', 'M', 'P', 'L', '0', '1'};

static void w8(FILE *f, uint64_t v, unsigned n)
{
	uint8_t b[8];

	for (unsigned i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	fwrite(b, 1, n, f);
}

int fc_tmpl_save(struct fc_tmpl_store *e, const char *path)
{
	char tmp[4096];
	FILE *f;
	int rc = 0, fd;

	/* A fresh name next to the target (no symlink followed, no clash with
	 * another writer), synced before the rename so a crash leaves either
	 * the old file or the whole new one. */
	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		return FC_EINVAL;
	fd = mkstemp(tmp);
	if (fd < 0)
		return FC_ESYS;
	f = fdopen(fd, "wb");
	if (!f) {
		close(fd);
		remove(tmp);
		return FC_ESYS;
	}
	fwrite(file_magic, 1, sizeof(file_magic), f);
	for (size_t i = 0; i < e->captab; i++) {
		const struct fc_tmpl_session *s = e->tab[i];

		if (!s || (s->ntmpl == 0 && s->nsamplers == 0 && s->rate == 0 && s->init_ms == 0))
			continue;
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
	w8(f, 'E', 1);
	if (ferror(f) || fflush(f) != 0 || fsync(fileno(f)) != 0)
		rc = FC_ESYS;
	if (fclose(f) != 0)
		rc = FC_ESYS;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = FC_ESYS;
	if (rc != 0)
		remove(tmp);
	return rc;
}

static int load_session(struct fc_tmpl_store *e, struct fc_cur *c)
{
	struct fc_tmpl_key k;
	struct fc_tmpl_session *s;
	uint16_t n;
	int err = 0;

	memset(&k, 0, sizeof(k));
	k.version = fc_cur_u8(c);
	k.addr.family = fc_cur_u8(c);
	fc_cur_copy(c, k.addr.a, 16);
	k.port = fc_cur_be16(c);
	k.domain = fc_cur_be32(c);
	if (c->err || (k.version != 9 && k.version != 10) ||
	    (k.addr.family != 4 && k.addr.family != 6))
		return FC_EMALFORMED;
	s = fc_tmpl_session_get(e, &k, 0, &err);
	if (!s)
		return err;
	s->rate = fc_cur_be64(c);
	s->init_ms = fc_cur_be64(c);
	n = fc_cur_be16(c);
	if (c->err)
		return FC_EMALFORMED;
	for (uint16_t i = 0; i < n; i++) {
		uint64_t id = fc_cur_be64(c), rate = fc_cur_be64(c);

		if (c->err)
			return FC_EMALFORMED;
		fc_tmpl_set_sampling(s, true, id, rate);
	}
	n = fc_cur_be16(c);
	for (uint16_t i = 0; i < n && !c->err; i++) {
		size_t cap;
		struct fc_tmpl *t = fc_tmpl_scratch(e, &cap);
		uint64_t last;

		t->id = fc_cur_be16(c);
		t->options = fc_cur_u8(c) != 0;
		t->nscope = fc_cur_be16(c);
		t->nfields = fc_cur_be16(c);
		last = fc_cur_be64(c);
		if (c->err || t->nfields > cap || t->nfields > fc_cur_left(c) / 8 ||
		    t->nscope > t->nfields)
			return FC_EMALFORMED;
		for (uint16_t j = 0; j < t->nfields; j++) {
			t->f[j].pen = fc_cur_be32(c);
			t->f[j].id = fc_cur_be16(c);
			t->f[j].len = fc_cur_be16(c);
		}
		/* a rejected template is counted by fc_tmpl_add; keep loading */
		if (e->hooks.resolve)
			e->hooks.resolve(t);
		(void)fc_tmpl_add(e, s, t, last);
	}
	return c->err ? FC_EMALFORMED : 0;
}

int fc_tmpl_load(struct fc_tmpl_store *e, const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long len;
	struct fc_cur c;
	int rc = FC_EMALFORMED;

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
	fc_cur_init(&c, buf, (size_t)len);
	{
		const uint8_t *m = fc_cur_view(&c, sizeof(file_magic));

		if (!m || memcmp(m, file_magic, sizeof(file_magic)) != 0)
			goto out;
	}
	for (;;) {
		uint8_t tag = fc_cur_u8(&c);

		if (c.err)
			goto out; /* no end marker: truncated file */
		if (tag == 'E') {
			rc = 0;
			break;
		}
		if (tag != 'S')
			goto out;
		rc = load_session(e, &c);
		if (rc != 0)
			goto out;
		rc = FC_EMALFORMED;
	}
out:
	free(buf);
	fclose(f);
	return rc;
}
