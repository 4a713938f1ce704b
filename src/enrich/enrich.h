/*
 * Flow enrichment: ASN and AS organisation (--geoip-asn: GeoLite2-ASN or
 * GeoIP2-ISP), country and city (--geoip-geo: GeoLite2/GeoIP2 City or
 * Country), the operator's own network labels (--networks) and exporter
 * names (--exporter-names), with reload on SIGHUP and on a changed file.
 *
 * What a flow gets, for the source and the destination address:
 *   - src_as/dst_as: the networks file's ASN for that prefix if it gives
 *     one, else MaxMind's; written only when the exporter sent 0, or always
 *     with cfg->geoip_asn_override. src_as_name/dst_as_name: the name going
 *     with the ASN the flow ends up carrying (networks file as_name, or
 *     MaxMind's organisation when MaxMind's ASN is the one carried).
 *   - src_country/dst_country (copied, ISO alpha-2) and src_city/dst_city.
 *   - src_net_name/role/site (and dst_*): labels of the longest matching
 *     networks-file prefix.
 *   - exporter_name: from the exporter names file, matched on
 *     f->sampler_address.
 *   A value the sources do not have leaves the field as it was. Private and
 *   unknown addresses stay unenriched and count as misses. 6to4 addresses
 *   (2002::/16) are looked up in MaxMind as their embedded IPv4 address;
 *   the networks file sees the address as the flow carries it.
 *
 * Snapshots: everything a lookup needs (MMDB handles, caches, network and
 * exporter tries, the interned strings) is one snapshot. A reload builds a
 * complete new snapshot, swaps the pointer, then frees the old one; if any
 * file of the new set fails to open or parse, the new set is dropped and the
 * old snapshot stays in service. The strings a flow receives point into the
 * snapshot current at fc_enrich_flow time and stay valid until the next
 * successful fc_enrich_reload/fc_enrich_tick or fc_enrich_free on the same
 * object; so the caller must finish with a batch of flows (encode them)
 * before it reloads.
 *
 * Counters (fc_metrics, db="asn"|"geo"): enrich_lookups_total,
 * enrich_misses_total, enrich_errors_total; of the one cache in front of
 * both databases: enrich_cache_hits_total, enrich_cache_misses_total,
 * enrich_cache_flushes_total;
 * enrich_network_matches_total, enrich_exporter_matches_total,
 * enrich_reloads_total, enrich_reload_failures_total.
 *
 * Thread affinity: one struct fc_enrich per pipeline thread; every function
 * on it must be called from that thread (reload/tick between batches).
 */
#ifndef FC_ENRICH_H
#define FC_ENRICH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "fc/flow.h"
#include "metrics/metrics.h"

struct fc_enrich;

/* Reads the enrichment options of cfg (geoip_asn, geoip_geo,
 * geoip_asn_override, networks, exporter_names, reload_interval,
 * geoip_cache_bytes; paths are copied, cfg need not outlive the object),
 * registers the counters in m (which must outlive the object) and loads
 * every configured file. Returns 0 with the object in *out_e, or a negative
 * fc_err with a one-line message naming the file and the problem in err
 * (*out_e untouched; a bad file at start-up is fatal): FC_EINVAL when a
 * MaxMind database is of the wrong kind for its option (a configuration
 * error), FC_EMALFORMED, FC_ESYS or FC_ENOMEM otherwise. With no enrichment
 * option set, the object's fc_enrich_flow does nothing. */
int fc_enrich_new(const struct fc_config *cfg, struct fc_metrics *m, struct fc_enrich **out_e,
		  char *err, size_t errlen);

/* Enriches f in place (see above). Hot path: no allocation except the first
 * sight of a MaxMind string on a cache miss; never fails (problems are
 * counted and leave fields empty). */
void fc_enrich_flow(struct fc_enrich *e, struct fc_flow *f);

/* Reopens every configured file (SIGHUP). Returns 0 when the new snapshot is
 * in service (enrich_reloads_total), or a negative fc_err code with the
 * message in err when any file is refused: the old snapshot stays in
 * service and enrich_reload_failures_total counts it. Invalidates the
 * strings of flows enriched before, on success only. */
int fc_enrich_reload(struct fc_enrich *e, char *err, size_t errlen);

/* Periodic check, cheap when nothing is due: when cfg->reload_interval > 0
 * and that many seconds have passed since the last check (mono_now_ns from
 * CLOCK_MONOTONIC), compares each file's inode, size and mtime with those
 * of the last load attempt and reloads when one changed. A file modified
 * less than a second ago is left to settle and rechecked a second later; a
 * file that fails to load is not retried until it changes again. Returns 0
 * when nothing was done, 1 after a successful reload, or the negative error
 * of a refused one (message from fc_enrich_last_error). */
int fc_enrich_tick(struct fc_enrich *e, uint64_t mono_now_ns);

/* Message of the last refused reload ("" if none); owned by e. */
const char *fc_enrich_last_error(const struct fc_enrich *e);

/* True when at least one enrichment source is configured. */
bool fc_enrich_active(const struct fc_enrich *e);

/* Frees e and its snapshot. Accepts NULL. */
void fc_enrich_free(struct fc_enrich *e);

#endif
