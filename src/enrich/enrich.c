/*
 * Enrichment front end (see enrich.h): owns the configured file set, the
 * current snapshot and the counters; builds a new snapshot on reload and
 * swaps it in only when it is complete. Lookups go to geoip.c (MaxMind DB
 * with its cache) and nets.c (networks / exporter-names tries); all strings
 * a flow receives are interned in the snapshot's fc_strtab.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "enrich/enrich.h"
#include "enrich/geoip.h"
#include "enrich/nets.h"
#include "enrich/strtab.h"
#include "fc/err.h"

#define NS_PER_S 1000000000ull

enum enrich_file_idx { F_ASN = 0, F_GEO, F_NETWORKS, F_EXPORTERS, F_COUNT };

/* What identifies one version of a file on disk. */
struct enrich_file_id {
	bool ok; /* stat succeeded */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

struct enrich_snap {
	struct fc_strtab *strings;
	struct fc_geoip *geoip; /* ASN and geo databases, NULL when neither */
	struct fc_nets *nets, *exporters;
};

struct fc_enrich {
	struct enrich_snap *snap; /* never NULL */
	char *path[F_COUNT];      /* NULL = not configured */
	struct enrich_file_id id[F_COUNT]; /* at the last load attempt */
	bool active;
	bool asn_override;
	uint64_t cache_bytes;
	uint64_t interval_ns;
	uint64_t next_check_ns;

	struct fc_geoip_counters ctr;
	uint64_t *net_matches;
	uint64_t *exporter_matches;
	uint64_t *reloads;
	uint64_t *reload_failures;
	uint64_t *build_epoch[2]; /* of the databases in service, by role */
	char last_err[512];
};

static void file_id(const char *path, struct enrich_file_id *id)
{
	struct stat st;

	memset(id, 0, sizeof(*id));
	if (stat(path, &st) != 0)
		return;
	id->ok = true;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	id->size = st.st_size;
	id->mtime = st.st_mtim;
}

static bool file_id_eq(const struct enrich_file_id *a, const struct enrich_file_id *b)
{
	return a->ok == b->ok && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static void snap_free(struct enrich_snap *s)
{
	if (!s)
		return;
	fc_geoip_close(s->geoip);
	fc_nets_free(s->nets);
	fc_nets_free(s->exporters);
	fc_strtab_free(s->strings); /* last: the others' strings live here */
	free(s);
}

/* Builds a complete snapshot from the configured files. ids[] receives each
 * file's identity as stat saw it just before it was opened (so a file
 * replaced in between is seen as changed at the next check). */
static int snap_build(struct fc_enrich *e, struct enrich_snap **out_snap,
		      struct enrich_file_id ids[F_COUNT], char *err, size_t errlen)
{
	struct enrich_snap *s = calloc(1, sizeof(*s));
	int rc = 0;

	for (unsigned i = 0; i < F_COUNT; i++) {
		memset(&ids[i], 0, sizeof(ids[i]));
		if (e->path[i])
			file_id(e->path[i], &ids[i]);
	}
	if (!s || !(s->strings = fc_strtab_new())) {
		snprintf(err, errlen, "out of memory");
		rc = FC_ENOMEM;
		goto out;
	}
	if (e->path[F_ASN] || e->path[F_GEO]) {
		rc = fc_geoip_open(e->path[F_ASN], e->path[F_GEO], e->cache_bytes, s->strings,
				   &e->ctr, &s->geoip, err, errlen);
		if (rc != 0)
			goto out;
	}
	if (e->path[F_NETWORKS]) {
		rc = fc_nets_load(e->path[F_NETWORKS], FC_NETS_NETWORKS, s->strings, &s->nets, err,
				  errlen);
		if (rc != 0)
			goto out;
	}
	if (e->path[F_EXPORTERS]) {
		rc = fc_nets_load(e->path[F_EXPORTERS], FC_NETS_EXPORTERS, s->strings,
				  &s->exporters, err, errlen);
		if (rc != 0)
			goto out;
	}
out:
	if (rc != 0) {
		snap_free(s);
		return rc;
	}
	*out_snap = s;
	return 0;
}

/* The build time of each database the snapshot in service holds. */
static void show_build_epochs(struct fc_enrich *e)
{
	*e->build_epoch[0] = e->snap->geoip ? fc_geoip_build_epoch(e->snap->geoip, FC_GEOIP_ASN) : 0;
	*e->build_epoch[1] = e->snap->geoip ? fc_geoip_build_epoch(e->snap->geoip, FC_GEOIP_GEO) : 0;
}

static void register_counters(struct fc_enrich *e, struct fc_metrics *m)
{
	static const char *const db_label[2] = {"db=\"asn\"", "db=\"geo\""};

	for (unsigned i = 0; i < 2; i++) {
		e->build_epoch[i] = fc_metrics_gauge(
			m, "enrich_database_build_epoch_seconds", db_label[i],
			"when MaxMind built the database in service (metadata build_epoch), Unix "
			"seconds; 0 when none is configured");
		e->ctr.lookups[i] = fc_metrics_counter(m, "enrich_lookups_total", db_label[i],
						       "addresses looked up in a MaxMind database");
		e->ctr.misses[i] = fc_metrics_counter(
			m, "enrich_misses_total", db_label[i],
			"addresses not in the MaxMind database (private, unknown)");
		e->ctr.errors[i] = fc_metrics_counter(
			m, "enrich_errors_total", db_label[i],
			"MaxMind lookups that met corrupt data or ran out of memory");
	}
	e->ctr.cache_hits = fc_metrics_counter(
		m, "enrich_cache_hits_total", NULL,
		"MaxMind lookups (ASN and geo together) answered by the cache");
	e->ctr.cache_misses = fc_metrics_counter(
		m, "enrich_cache_misses_total", NULL,
		"MaxMind lookups (ASN and geo together) that walked the databases");
	e->ctr.cache_flushes = fc_metrics_counter(
		m, "enrich_cache_flushes_total", NULL,
		"MaxMind caches emptied because their table of distinct answers was full");
	e->net_matches = fc_metrics_counter(m, "enrich_network_matches_total", NULL,
					    "addresses matched by a networks-file prefix");
	e->exporter_matches = fc_metrics_counter(m, "enrich_exporter_matches_total", NULL,
						 "flows given an exporter name");
	e->reloads = fc_metrics_counter(m, "enrich_reloads_total", NULL,
					"enrichment file sets reloaded and put in service");
	e->reload_failures = fc_metrics_counter(
		m, "enrich_reload_failures_total", NULL,
		"enrichment reloads refused (old files kept in service)");
}

int fc_enrich_new(const struct fc_config *cfg, struct fc_metrics *m, struct fc_enrich **out_e,
		  char *err, size_t errlen)
{
	struct fc_enrich *e = calloc(1, sizeof(*e));
	const char *paths[F_COUNT] = {cfg->geoip_asn, cfg->geoip_geo, cfg->networks,
				      cfg->exporter_names};
	int rc = 0;

	if (!e) {
		snprintf(err, errlen, "out of memory");
		return FC_ENOMEM;
	}
	for (unsigned i = 0; i < F_COUNT; i++) {
		if (!paths[i] || paths[i][0] == '\0')
			continue;
		e->path[i] = strdup(paths[i]);
		if (!e->path[i]) {
			snprintf(err, errlen, "out of memory");
			rc = FC_ENOMEM;
			goto out;
		}
		e->active = true;
	}
	e->asn_override = cfg->geoip_asn_override;
	e->cache_bytes = cfg->geoip_cache_bytes;
	e->interval_ns = cfg->reload_interval > UINT64_MAX / NS_PER_S
				 ? UINT64_MAX
				 : cfg->reload_interval * NS_PER_S;
	register_counters(e, m);
	rc = snap_build(e, &e->snap, e->id, err, errlen);
	if (rc == 0)
		show_build_epochs(e);
out:
	if (rc != 0) {
		for (unsigned i = 0; i < F_COUNT; i++)
			free(e->path[i]);
		free(e);
		return rc;
	}
	*out_e = e;
	return 0;
}

void fc_enrich_free(struct fc_enrich *e)
{
	if (!e)
		return;
	snap_free(e->snap);
	for (unsigned i = 0; i < F_COUNT; i++)
		free(e->path[i]);
	free(e);
}

bool fc_enrich_active(const struct fc_enrich *e)
{
	return e->active;
}

const char *fc_enrich_last_error(const struct fc_enrich *e)
{
	return e->last_err;
}

int fc_enrich_reload(struct fc_enrich *e, char *err, size_t errlen)
{
	struct enrich_snap *ns = NULL, *old;
	struct enrich_file_id ids[F_COUNT];
	int rc;

	rc = snap_build(e, &ns, ids, err, errlen);
	/* Remember what was tried either way, so the periodic check does not
	 * retry a broken file until it changes again. */
	memcpy(e->id, ids, sizeof(ids));
	if (rc != 0) {
		++*e->reload_failures;
		snprintf(e->last_err, sizeof(e->last_err), "%s", err);
		return rc;
	}
	old = e->snap;
	e->snap = ns;
	snap_free(old);
	show_build_epochs(e);
	++*e->reloads;
	e->last_err[0] = '\0';
	return 0;
}

int fc_enrich_tick(struct fc_enrich *e, uint64_t mono_now_ns)
{
	struct timespec wall;
	char err[sizeof(e->last_err)];
	bool changed = false, settling = false;
	int rc;

	if (!e->active || e->interval_ns == 0 || mono_now_ns < e->next_check_ns)
		return 0;
	clock_gettime(CLOCK_REALTIME, &wall);
	for (unsigned i = 0; i < F_COUNT; i++) {
		struct enrich_file_id id;

		if (!e->path[i])
			continue;
		file_id(e->path[i], &id);
		/* A file that is gone (mid-replacement, or removed) keeps the
		 * loaded copy in service; it is picked up when it is back. */
		if (!id.ok || file_id_eq(&id, &e->id[i]))
			continue;
		changed = true;
		/* Written less than a second ago: maybe still being written in
		 * place; look again shortly rather than load half a file. An
		 * mtime far in the future (clock skew, copied timestamps) would
		 * never settle, so it does not count. */
		if (id.mtime.tv_sec >= wall.tv_sec - 1 && id.mtime.tv_sec <= wall.tv_sec + 1)
			settling = true;
	}
	if (settling) {
		e->next_check_ns = mono_now_ns + NS_PER_S;
		return 0;
	}
	e->next_check_ns = mono_now_ns + e->interval_ns;
	if (!changed)
		return 0;
	rc = fc_enrich_reload(e, err, sizeof(err)); /* sets last_err */
	return rc == 0 ? 1 : rc;
}

/* Applies to one side of f (dst: the destination) what the networks file
 * (net, may be NULL) and MaxMind (r, NULL when not looked up) know of its
 * address. */
static inline void enrich_side(const struct fc_enrich *e, struct fc_flow *f, bool dst,
			       const struct fc_nets_entry *net, const struct fc_geoip_res *r)
{
	uint32_t *as = dst ? &f->dst_as : &f->src_as;
	uint32_t asn = 0;
	const char *as_name = NULL;

	if (net) {
		++*e->net_matches;
		if (net->name)
			*(dst ? &f->dst_net_name : &f->src_net_name) = net->name;
		if (net->role)
			*(dst ? &f->dst_net_role : &f->src_net_role) = net->role;
		if (net->site)
			*(dst ? &f->dst_net_site : &f->src_net_site) = net->site;
	}
	if (r && r->found_asn) {
		asn = r->asn;
		as_name = r->as_name;
	}
	if (net && net->asn) {
		/* The operator's own prefixes: their ASN wins over MaxMind. */
		if (net->as_name)
			as_name = net->as_name;
		else if (net->asn != asn)
			as_name = NULL;
		asn = net->asn;
	}
	if (asn != 0 && (*as == 0 || e->asn_override))
		*as = asn;
	/* A name only goes with the ASN it belongs to. */
	if (as_name && *as == asn)
		*(dst ? &f->dst_as_name : &f->src_as_name) = as_name;
	if (r && r->found_geo) {
		if (r->country[0])
			memcpy(dst ? f->dst_country : f->src_country, r->country, sizeof(r->country));
		if (r->city)
			*(dst ? &f->dst_city : &f->src_city) = r->city;
	}
}

static inline bool has_addr(const struct fc_addr *a)
{
	return a->family == 4 || a->family == 6;
}

void fc_enrich_flow(struct fc_enrich *e, struct fc_flow *f)
{
	const struct enrich_snap *s = e->snap;
	const struct fc_geoip_res *r[2] = {NULL, NULL};
	const struct fc_nets_entry *net[2] = {NULL, NULL};

	if (!e->active)
		return;
	if (s->exporters) {
		const struct fc_nets_entry *x = fc_nets_lookup(s->exporters, &f->sampler_address);

		if (x) {
			f->exporter_name = x->name;
			++*e->exporter_matches;
		}
	}
	if (s->geoip)
		/* Both ends at once: their cache lines are fetched together. */
		fc_geoip_lookup2(s->geoip, &f->src_addr, &f->dst_addr, &r[0], &r[1]);
	if (s->nets) {
		if (has_addr(&f->src_addr))
			net[0] = fc_nets_lookup(s->nets, &f->src_addr);
		if (has_addr(&f->dst_addr))
			net[1] = fc_nets_lookup(s->nets, &f->dst_addr);
	}
	/* r[i] is NULL for an absent address, and so is net[i]. */
	if (r[0] || net[0])
		enrich_side(e, f, false, net[0], r[0]);
	if (r[1] || net[1])
		enrich_side(e, f, true, net[1], r[1]);
}
