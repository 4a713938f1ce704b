/*
 * Allocation-failure harness (the idea of dav1d's tests/libfuzzer
 * alloc_fail.c): every call to malloc, calloc and realloc made by the
 * project's code goes through the wrappers below (the link line passes
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc, which redirects the
 * references of libfc's objects too), and the Nth one fails. For each
 * corpus file the whole worker path runs (metrics registry, pipeline with
 * its enrichment — the MaxMind databases of ../shared/testdata when
 * present, with their lookup caches — decoder, template store) with N =
 * 1, 2, ... until a run makes fewer than N allocations, so every allocation
 * of that input fails once. A run must end without a crash, and the
 * sanitizer build (CI: address,undefined with leak detection) fails it on
 * any leak or bad access.
 *
 * Usage: alloc_fail raw|seq|file FILE...
 *   raw: the file is one datagram (corpora nf5, nfv9, ipfix, sflow), fed
 *        twice from one exporter and once from another, with a tick between;
 *   seq: the fuzz_pipeline format, [ctl:1][advance_s:1][len:2 BE][bytes]...
 *   file: the fuzz_tmplfile format ([mode:1][bytes], mode bit 0: a body to
 *        frame with a correct checksum), written as the --template-file the
 *        pipeline loads at start (refused, moved aside, or merged) and saves
 *        at the end; in a fresh directory per run.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "core/hash.h"
#include "core/log.h"
#include "fc/cursor.h"
#include "fc/dgram.h"
#include "metrics/metrics.h"
#include "pipeline/pipeline.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

static unsigned long n_allocs, fail_at; /* fail_at 0: never */
static unsigned long n_failed;

static int should_fail(void)
{
	if (fail_at && ++n_allocs == fail_at) {
		n_failed++;
		return 1;
	}
	return 0;
}

void *__wrap_malloc(size_t n)
{
	return should_fail() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return should_fail() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	return should_fail() ? NULL : __real_realloc(p, n);
}

static uint8_t buf[65536];

static void feed(struct fc_pipeline *p, const uint8_t *data, size_t len, uint8_t host,
		 uint16_t port, uint64_t now)
{
	struct fc_dgram g;

	memset(&g, 0, sizeof(g));
	memcpy(buf, data, len);
	g.data = buf;
	g.len = len;
	g.src.family = 4;
	g.src.a[0] = 10;
	g.src.a[3] = host;
	g.src_port = port;
	g.time_ns = now;
	fc_pipeline_run(p, &g, 1);
}

static void run_raw(struct fc_pipeline *p, const uint8_t *data, size_t len)
{
	uint64_t now = 1700000000000000000ull;

	if (len > sizeof(buf))
		len = sizeof(buf);
	feed(p, data, len, 1, 2055, now);
	fc_pipeline_tick(p, now + 1000000000ull, 0);
	feed(p, data, len, 1, 2055, now + 2000000000ull);
	feed(p, data, len, 2, 4739, now + 3000000000ull);
}

static void run_seq(struct fc_pipeline *p, const uint8_t *data, size_t size)
{
	uint64_t now = 1700000000000000000ull;
	struct fc_cur c;

	fc_cur_init(&c, data, size);
	while (fc_cur_left(&c) >= 4) {
		uint8_t ctl = fc_cur_u8(&c), adv = fc_cur_u8(&c);
		size_t len = fc_cur_be16(&c);
		const uint8_t *d;
		uint8_t v[2];

		if (len > fc_cur_left(&c))
			len = fc_cur_left(&c);
		d = fc_cur_view(&c, len);
		if (!d)
			break;
		now += (uint64_t)adv * 1000000000ull;
		memcpy(buf, d, len);
		if (len >= 2) {
			v[0] = 0;
			v[1] = (ctl & 8) ? 10 : 9;
			memcpy(buf, v, 2);
		}
		feed(p, buf, len, (uint8_t)(ctl & 3), (ctl & 4) ? 2055 : 4739, now);
		if (ctl & 16)
			fc_pipeline_tick(p, now, 0);
	}
}

static void put_be(uint8_t *out, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		out[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* Writes the template file of a "file" input into a fresh directory
 * (before any allocation is made to fail); path receives its name. */
static void write_template_file(const uint8_t *data, size_t len, char *dir, char *path)
{
	uint8_t head[12], sum[8];
	FILE *f;

	strcpy(dir, "/tmp/fc_allocfail_XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(path, 4096, "%s/templates", dir);
	f = fopen(path, "wb");
	if (!f || len == 0)
		abort();
	if (data[0] & 1) {
		uint64_t h;

		memcpy(head, "FCTMPL02", 8);
		put_be(head + 8, len - 1, 4);
		/* the checksum covers header and body: hashed as one buffer */
		{
			uint8_t *all = __real_malloc(12 + len);

			if (!all)
				abort();
			memcpy(all, head, 12);
			memcpy(all + 12, data + 1, len - 1);
			h = fc_hash(FC_HASH_SEED, all, 12 + len - 1);
			free(all);
		}
		put_be(sum, h, 8);
		fwrite(head, 1, 12, f);
		fwrite(data + 1, 1, len - 1, f);
		fwrite(sum, 1, 8, f);
	} else {
		fwrite(data + 1, 1, len - 1, f);
	}
	if (fclose(f) != 0)
		abort();
}

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char full[4352];

	while (d && (de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' &&
		    snprintf(full, sizeof(full), "%s/%s", dir, de->d_name) < (int)sizeof(full))
			unlink(full);
	if (d)
		closedir(d);
	rmdir(dir);
}

/* One run of the worker path over the input; returns the allocations made. */
static unsigned long run_once(const char *kind, const uint8_t *data, size_t len,
			      unsigned long fail)
{
	static const char *const dbs[2] = {"GeoLite2-ASN-Test.mmdb", "GeoIP2-City-Test.mmdb"};
	const char *testdata = getenv("FC_TESTDATA");
	struct fc_config cfg;
	struct fc_metrics *m;
	struct fc_pipeline *p = __real_malloc(sizeof(*p));
	char err[512], path[2][4096], tdir[64], tfile[4096];
	bool file = !strcmp(kind, "file");
	unsigned long made;

	if (!p)
		abort();
	fc_config_init(&cfg); /* the binary's defaults, then small caps */
	cfg.template_max_fields = 32;
	cfg.template_max_per_exporter = 8;
	cfg.template_max_exporters = 3;
	cfg.hold_bytes = 512;
	cfg.hold_seconds = 3;
	cfg.template_ttl = 5;
	cfg.geoip_cache_bytes = 64 * 64; /* 64 entries */
	for (int i = 0; testdata && i < 2; i++) {
		snprintf(path[i], sizeof(path[i]), "%s/mmdb/%s", testdata, dbs[i]);
		if (access(path[i], R_OK) == 0) {
			char **field = i ? &cfg.geoip_geo : &cfg.geoip_asn;

			*field = strdup(path[i]);
		}
	}
	if (file) {
		write_template_file(data, len, tdir, tfile);
		cfg.template_file = strdup(tfile);
		cfg.template_memory = 16384;
	}
	n_allocs = 0;
	fail_at = fail;
	m = fc_metrics_new();
	if (m && fc_pipeline_init(p, &cfg, m, NULL, 0, err, sizeof(err)) == 0) {
		if (!strcmp(kind, "raw"))
			run_raw(p, data, len);
		else if (!file)
			run_seq(p, data, len);
		fc_pipeline_finish(p);
	}
	if (m)
		fc_pipeline_fini(p);
	made = n_allocs;
	fail_at = 0;
	fc_metrics_free(m);
	fc_config_fini(&cfg);
	free(p);
	if (file)
		remove_dir(tdir);
	return made;
}

static uint8_t *read_file(const char *path, size_t *out_len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data;
	long len;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return NULL;
	}
	data = malloc(len ? (size_t)len : 1);
	if (data && fread(data, 1, (size_t)len, f) != (size_t)len) {
		free(data);
		data = NULL;
	}
	fclose(f);
	if (data)
		*out_len = (size_t)len;
	return data;
}

int main(int argc, char **argv)
{
	if (argc < 3 || (strcmp(argv[1], "raw") && strcmp(argv[1], "seq") &&
			  strcmp(argv[1], "file"))) {
		fprintf(stderr, "usage: %s raw|seq|file FILE...\n", argv[0]);
		return 2;
	}
	(void)fc_log_set_level("error"); /* the refusals are expected here */
	for (int i = 2; i < argc; i++) {
		size_t len = 0;
		uint8_t *data = read_file(argv[i], &len);
		unsigned long n, runs = 0;

		if (!data) {
			perror(argv[i]);
			return 1;
		}
		n_failed = 0;
		/* fail allocation 1, 2, ... until a run no longer reaches it */
		for (n = 1; run_once(argv[1], data, len, n) >= n; n++)
			runs++;
		free(data);
		if (n_failed == 0) {
			fprintf(stderr, "%s: no allocation was made to fail\n", argv[i]);
			return 1;
		}
		printf("ok %s: %lu runs, each with one of its allocations failing\n", argv[i], runs);
	}
	return 0;
}
