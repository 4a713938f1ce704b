/*
 * The PostgreSQL sink (libpq): every flow one row of table flows
 * (deploy/postgres/schema.sql, which the operator loads first), written
 * with COPY in batches, exactly once per Kafka record although Kafka
 * delivers at least once.
 *
 * Per batch, on one connection, in one transaction:
 *   1. INSERT the batch's partitions into flowsink_offsets (-1, ON
 *      CONFLICT DO NOTHING), then SELECT their last applied offsets FOR
 *      UPDATE: a second member still applying a partition that moved away
 *      waits here and then sees what the first one committed.
 *   2. COPY flows FROM STDIN (text format) the flows of every record above
 *      its partition's stored offset; records at or below it are replays
 *      (after a crash or a rebalance) and are skipped.
 *   3. UPDATE flowsink_offsets to the batch's last offset per partition;
 *      COMMIT. Rows and offsets commit together or not at all.
 * A connection lost at any point (also while COMMIT's answer was on its
 * way) is re-established after a back-off and the batch retried from 1, so
 * a commit that did land is found in the offsets and skipped. Durability is
 * the server's: with synchronous_commit on (the default) COMMIT answers
 * once the WAL is flushed.
 *
 * Before a batch, the day partitions its flows fall in are created through
 * flows_partition_create() (autocommit, remembered so each day costs one
 * call), and at open today to today+FC_PG_DAYS_AHEAD are; with
 * --postgres-retention DAYS, flows_partitions_drop(DAYS) runs at open and
 * hourly. Both functions are in schema.sql and hand over to TimescaleDB
 * where it is installed.
 *
 * Text columns are made valid UTF-8 without NUL (a byte that is not
 * becomes '?', counted) so no value from the wire can make a COPY fail.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "fc/err.h"
#include "flowsink/sink_pg.h"

#define FC_PG_DAYS_AHEAD 2
#define FC_PG_COPY_CHUNK (256u * 1024u) /* bytes handed to PQputCopyData at once */
#define FC_PG_ROW_MAX 1024u              /* a row is far below this (names are capped) */
#define FC_PG_DAYS_CACHED 64
#define FC_PG_RETENTION_EVERY_NS (3600ull * 1000000000ull)
#define FC_PG_BACKOFF_MAX_MS 2000

static const char copy_sql[] =
	"COPY flows (time, exporter, exporter_name, src_addr, dst_addr, proto, src_port, "
	"dst_port, src_as, dst_as, src_as_name, dst_as_name, src_country, dst_country, bytes, "
	"packets) FROM STDIN";

struct pg_stats {
	uint64_t batches;         /* transactions committed */
	uint64_t records_applied;
	uint64_t records_skipped; /* at or below the stored offset: replays */
	uint64_t rows;            /* rows copied and committed */
	uint64_t copy_bytes;
	uint64_t reconnects;
	uint64_t retries;          /* batches tried again after an error */
	uint64_t errors;           /* statements that failed */
	uint64_t partitions_created;
	uint64_t partitions_dropped;
	uint64_t text_replaced;    /* bytes of names that were not valid UTF-8 */
};

struct pg_part {
	int32_t partition;
	int64_t stored; /* last applied offset in the table, -1 none */
	int64_t last;   /* last offset of this batch */
};

struct pg_sink {
	PGconn *conn;
	char *conninfo;
	const volatile sig_atomic_t *stop;
	uint64_t retention_days; /* 0 = keep everything */
	uint64_t last_retention_ns;
	bool retention_done;
	int64_t days[FC_PG_DAYS_CACHED]; /* days (since 1970-01-01, UTC) known to have a partition */
	size_t n_days;
	struct pg_part *parts;
	size_t cap_parts;
	char *buf;
	size_t len;
	uint64_t time_sec;   /* second of time_text */
	char time_text[40];  /* "YYYY-MM-DD HH:MM:SS" of time_sec (years up to 292277026596) */
	size_t time_len;     /* 0: none yet */
	struct pg_stats st;
	struct fc_ratelimit rl;
};

/* ---- text of one row ---- */

static char *put_u64(char *p, uint64_t v)
{
	char tmp[24];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

static char *put_null(char *p)
{
	*p++ = '\\';
	*p++ = 'N';
	return p;
}

static char *put_addr(char *p, const struct fc_addr *a)
{
	char s[INET6_ADDRSTRLEN];
	size_t n;

	if (a->family == 4) {
		for (int i = 0; i < 4; i++) {
			p = put_u64(p, a->a[i]);
			if (i < 3)
				*p++ = '.';
		}
		return p;
	}
	if (a->family != 6 || !inet_ntop(AF_INET6, a->a, s, sizeof(s)))
		return put_null(p);
	n = strlen(s);
	memcpy(p, s, n);
	return p + n;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if none. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp;

	if (c < 0x80)
		return c ? 1 : 0;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1fu;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0fu;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07u;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3fu);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* A name as a COPY text field: "" is NULL, COPY's specials escaped,
 * invalid UTF-8 replaced. s holds at most max bytes up to a NUL. */
static char *put_text(struct pg_sink *s, char *p, const char *str, size_t max)
{
	const unsigned char *u = (const unsigned char *)str;
	size_t n = strnlen(str, max);

	if (n == 0)
		return put_null(p);
	for (size_t i = 0; i < n;) {
		size_t l = utf8_len(u + i, n - i);

		if (l == 0) {
			*p++ = '?';
			s->st.text_replaced++;
			i++;
			continue;
		}
		if (l == 1 && (u[i] == '\\' || u[i] == '\t' || u[i] == '\n' || u[i] == '\r')) {
			*p++ = '\\';
			*p++ = u[i] == '\\' ? '\\' : u[i] == '\t' ? 't' : u[i] == '\n' ? 'n' : 'r';
		} else {
			memcpy(p, u + i, l);
			p += l;
		}
		i += l;
	}
	return p;
}

static char *put_2(char *p, unsigned v)
{
	*p++ = (char)('0' + v / 10 % 10);
	*p++ = (char)('0' + v % 10);
	return p;
}

/* Unix ns as an ISO 8601 UTC timestamp with microseconds (PostgreSQL's
 * resolution; the nanoseconds below are cut). The text up to the second is
 * kept for the next row: flows of a batch share seconds. */
static char *put_time(struct pg_sink *s, char *p, uint64_t ns)
{
	uint64_t sec = ns / 1000000000u;
	uint64_t us = ns % 1000000000u / 1000u;

	if (sec != s->time_sec || s->time_len == 0) {
		time_t t = (time_t)sec;
		struct tm tm;
		char *q = s->time_text;

		if (!gmtime_r(&t, &tm))
			return put_null(p);
		q = put_u64(q, (uint64_t)tm.tm_year + 1900u);
		*q++ = '-';
		q = put_2(q, (unsigned)tm.tm_mon + 1u);
		*q++ = '-';
		q = put_2(q, (unsigned)tm.tm_mday);
		*q++ = ' ';
		q = put_2(q, (unsigned)tm.tm_hour);
		*q++ = ':';
		q = put_2(q, (unsigned)tm.tm_min);
		*q++ = ':';
		q = put_2(q, (unsigned)tm.tm_sec);
		s->time_len = (size_t)(q - s->time_text);
		s->time_sec = sec;
	}
	memcpy(p, s->time_text, s->time_len);
	p += s->time_len;
	*p++ = '.';
	for (uint64_t d = 100000; d; d /= 10)
		*p++ = (char)('0' + us / d % 10);
	memcpy(p, "+00", 3);
	return p + 3;
}

static char *put_country(struct pg_sink *s, char *p, const char *c)
{
	return put_text(s, p, c, 3);
}

static char *put_row(struct pg_sink *s, char *p, const struct fc_sink_flow *f)
{
	p = put_time(s, p, f->time_ns);
	*p++ = '\t';
	p = put_addr(p, &f->exporter);
	*p++ = '\t';
	p = put_text(s, p, f->exporter_name, sizeof(f->exporter_name));
	*p++ = '\t';
	p = put_addr(p, &f->src);
	*p++ = '\t';
	p = put_addr(p, &f->dst);
	*p++ = '\t';
	p = put_u64(p, f->proto);
	*p++ = '\t';
	p = put_u64(p, f->src_port);
	*p++ = '\t';
	p = put_u64(p, f->dst_port);
	*p++ = '\t';
	p = put_u64(p, f->src_as);
	*p++ = '\t';
	p = put_u64(p, f->dst_as);
	*p++ = '\t';
	p = put_text(s, p, f->src_as_name, sizeof(f->src_as_name));
	*p++ = '\t';
	p = put_text(s, p, f->dst_as_name, sizeof(f->dst_as_name));
	*p++ = '\t';
	p = put_country(s, p, f->src_country);
	*p++ = '\t';
	p = put_country(s, p, f->dst_country);
	*p++ = '\t';
	p = put_u64(p, f->bytes);
	*p++ = '\t';
	p = put_u64(p, f->packets);
	*p++ = '\n';
	return p;
}

/* ---- connection and statements ---- */

static void disconnect(struct pg_sink *s)
{
	if (s->conn)
		PQfinish(s->conn);
	s->conn = NULL;
}

static bool conn_lost(const struct pg_sink *s)
{
	return !s->conn || PQstatus(s->conn) != CONNECTION_OK;
}

/* Runs one statement; returns its result (caller clears) when its status
 * is want, else logs, clears and returns NULL. */
static PGresult *run(struct pg_sink *s, ExecStatusType want, const char *sql, int n,
		     const char *const *vals)
{
	PGresult *r = n ? PQexecParams(s->conn, sql, n, NULL, vals, NULL, NULL, 0)
			: PQexec(s->conn, sql);

	if (r && PQresultStatus(r) == want)
		return r;
	s->st.errors++;
	fc_log_rl(&s->rl, FC_LOG_WARN, "postgres: %.60s...: %s", sql,
		  r ? PQresultErrorMessage(r) : PQerrorMessage(s->conn));
	PQclear(r);
	return NULL;
}

static bool exec_ok(struct pg_sink *s, const char *sql, int n, const char *const *vals)
{
	PGresult *r = run(s, PGRES_COMMAND_OK, sql, n, vals);

	PQclear(r);
	return r != NULL;
}

static bool day_known(const struct pg_sink *s, int64_t day)
{
	for (size_t i = 0; i < s->n_days; i++) {
		if (s->days[i] == day)
			return true;
	}
	return false;
}

/* Creates the partition of day (days since 1970-01-01) unless known. */
static bool ensure_day(struct pg_sink *s, int64_t day)
{
	char date[32];
	const char *vals[1] = {date};
	time_t t = (time_t)(day * 86400);
	struct tm tm;
	PGresult *r;

	if (day_known(s, day))
		return true;
	if (!gmtime_r(&t, &tm))
		return false;
	strftime(date, sizeof(date), "%Y-%m-%d", &tm);
	r = run(s, PGRES_TUPLES_OK, "SELECT flows_partition_create($1::date)", 1, vals);
	if (!r)
		return false;
	if (PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0) {
		s->st.partitions_created++;
		fc_log(FC_LOG_INFO, "postgres: partition of %s created", date);
	}
	PQclear(r);
	if (s->n_days == FC_PG_DAYS_CACHED)
		s->n_days = 0; /* forget all: at worst one call per day again */
	s->days[s->n_days++] = day;
	return true;
}

static bool run_retention(struct pg_sink *s)
{
	char days[24];
	const char *vals[1] = {days};
	PGresult *r;

	*put_u64(days, s->retention_days) = '\0';
	r = run(s, PGRES_TUPLES_OK, "SELECT flows_partitions_drop($1::integer)", 1, vals);
	if (!r)
		return false;
	if (PQntuples(r) == 1) {
		uint64_t n = strtoull(PQgetvalue(r, 0, 0), NULL, 10);

		s->st.partitions_dropped += n;
		if (n)
			fc_log(FC_LOG_INFO, "postgres: %" PRIu64 " partitions older than %" PRIu64
			       " days dropped", n, s->retention_days);
	}
	PQclear(r);
	/* A dropped day may come back with late flows: create it again. */
	s->n_days = 0;
	s->last_retention_ns = fc_mono_ns();
	s->retention_done = true;
	return true;
}

/* Connected and maintained: partitions ahead, retention when due. */
static bool ready(struct pg_sink *s)
{
	if (conn_lost(s)) {
		disconnect(s);
		s->conn = PQconnectdb(s->conninfo);
		if (PQstatus(s->conn) != CONNECTION_OK) {
			s->st.errors++;
			fc_log_rl(&s->rl, FC_LOG_WARN, "postgres: connect: %s",
				  PQerrorMessage(s->conn));
			disconnect(s);
			return false;
		}
		s->st.reconnects++;
		s->n_days = 0;
	}
	if (s->retention_days &&
	    (!s->retention_done || fc_mono_ns() - s->last_retention_ns >= FC_PG_RETENTION_EVERY_NS) &&
	    !run_retention(s))
		return false;
	if (s->n_days == 0) {
		int64_t today = (int64_t)(time(NULL) / 86400);

		for (int64_t d = 0; d <= FC_PG_DAYS_AHEAD; d++) {
			if (!ensure_day(s, today + d))
				return false;
		}
	}
	return true;
}

/* Sleeps before a retry, in steps so stop is seen; false when stopped. */
static bool backoff(struct pg_sink *s, unsigned *ms)
{
	for (unsigned waited = 0; waited < *ms; waited += 50) {
		struct timespec ts = {0, 50 * 1000000L};

		if (*s->stop)
			return false;
		nanosleep(&ts, NULL);
	}
	*ms = *ms * 2 > FC_PG_BACKOFF_MAX_MS ? FC_PG_BACKOFF_MAX_MS : *ms * 2;
	return !*s->stop;
}

/* ---- the sink interface ---- */

static int pg_open(void **out_priv, const struct fc_fsopts *o, const volatile sig_atomic_t *stop,
		   char *err, size_t errlen)
{
	struct pg_sink *s = calloc(1, sizeof(*s));
	PGresult *r;

	if (!s || !(s->conninfo = strdup(o->postgres)) ||
	    !(s->buf = malloc(FC_PG_COPY_CHUNK + FC_PG_ROW_MAX))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	s->stop = stop;
	s->retention_days = o->postgres_retention;
	s->conn = PQconnectdb(s->conninfo);
	if (PQstatus(s->conn) != CONNECTION_OK) {
		snprintf(err, errlen, "connect: %s", PQerrorMessage(s->conn));
		goto fail;
	}
	/* The schema must be loaded (deploy/postgres/schema.sql): say so
	 * now rather than at the first batch. */
	r = PQexec(s->conn, "SELECT to_regclass('flows') IS NOT NULL AND "
			    "to_regclass('flowsink_offsets') IS NOT NULL AND "
			    "to_regprocedure('flows_partition_create(date)') IS NOT NULL");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
		snprintf(err, errlen, "%s", PQresultStatus(r) != PGRES_TUPLES_OK
			 ? PQresultErrorMessage(r)
			 : "tables flows/flowsink_offsets missing: load deploy/postgres/schema.sql first");
		PQclear(r);
		goto fail;
	}
	PQclear(r);
	if (!ready(s)) {
		snprintf(err, errlen, "cannot create partitions or apply retention (see the log)");
		goto fail;
	}
	*out_priv = s;
	return 0;
fail:
	if (s) {
		disconnect(s);
		free(s->conninfo);
		free(s->buf);
		free(s);
	}
	return FC_EINVAL;
}

static int pg_applied(void *priv, const char *topic, const int32_t *partitions, size_t n,
		      int64_t *out_offsets)
{
	struct pg_sink *s = priv;
	const char *vals[1] = {topic};
	unsigned ms = 100;

	for (;;) {
		PGresult *r = NULL;

		if (ready(s))
			r = run(s, PGRES_TUPLES_OK,
				"SELECT partition, last_offset FROM flowsink_offsets WHERE topic = $1", 1,
				vals);
		if (r) {
			for (size_t i = 0; i < n; i++)
				out_offsets[i] = -1;
			for (int row = 0; row < PQntuples(r); row++) {
				long p = strtol(PQgetvalue(r, row, 0), NULL, 10);
				long long off = strtoll(PQgetvalue(r, row, 1), NULL, 10);

				for (size_t i = 0; i < n; i++) {
					if (partitions[i] == p)
						out_offsets[i] = off;
				}
			}
			PQclear(r);
			return 0;
		}
		if (!conn_lost(s))
			return FC_ESYS;
		s->st.retries++;
		if (!backoff(s, &ms))
			return FC_EAGAIN;
	}
}

static struct pg_part *find_part(struct pg_sink *s, size_t n, int32_t partition)
{
	for (size_t i = 0; i < n; i++) {
		if (s->parts[i].partition == partition)
			return &s->parts[i];
	}
	return NULL;
}

/* The batch's partitions with their last offsets in s->parts; returns how
 * many, or -1 when out of memory. */
static long collect_parts(struct pg_sink *s, const struct fc_sink_batch *b)
{
	size_t n = 0;

	for (size_t i = 0; i < b->n_recs; i++) {
		struct pg_part *p = find_part(s, n, b->recs[i].partition);

		if (!p) {
			if (n == s->cap_parts) {
				size_t ncap = s->cap_parts ? s->cap_parts * 2 : 16;
				struct pg_part *np = realloc(s->parts, ncap * sizeof(*np));

				if (!np)
					return -1;
				s->parts = np;
				s->cap_parts = ncap;
			}
			p = &s->parts[n++];
			p->partition = b->recs[i].partition;
			p->stored = -1;
			p->last = -1;
		}
		if (b->recs[i].offset > p->last)
			p->last = b->recs[i].offset;
	}
	return (long)n;
}

/* "{1,2,3}" of the partitions, or of their last offsets. */
static char *int_array(const struct pg_sink *s, size_t n, bool offsets)
{
	char *a = malloc(n * 22 + 3), *p = a;

	if (!a)
		return NULL;
	*p++ = '{';
	for (size_t i = 0; i < n; i++) {
		int64_t v = offsets ? s->parts[i].last : s->parts[i].partition;

		if (i)
			*p++ = ',';
		if (v < 0) {
			*p++ = '-';
			v = -v;
		}
		p = put_u64(p, (uint64_t)v);
	}
	*p++ = '}';
	*p = '\0';
	return a;
}

static bool flush_copy(struct pg_sink *s)
{
	if (s->len && PQputCopyData(s->conn, s->buf, (int)s->len) != 1) {
		s->st.errors++;
		fc_log_rl(&s->rl, FC_LOG_WARN, "postgres: COPY: %s", PQerrorMessage(s->conn));
		return false;
	}
	s->st.copy_bytes += s->len;
	s->len = 0;
	return true;
}

/* COPY of the records above their stored offsets; counts them in *recs
 * and *rows (committed only if the transaction is). */
static bool copy_rows(struct pg_sink *s, const struct fc_sink_batch *b, size_t n_parts,
		      uint64_t *recs, uint64_t *rows)
{
	PGresult *r = run(s, PGRES_COPY_IN, copy_sql, 0, NULL);
	bool ok = true;

	if (!r)
		return false;
	PQclear(r);
	s->len = 0;
	for (size_t i = 0; i < b->n_recs && ok; i++) {
		const struct fc_sink_record *rec = &b->recs[i];
		const struct pg_part *p = find_part(s, n_parts, rec->partition);

		if (rec->offset <= p->stored)
			continue;
		(*recs)++;
		for (size_t k = rec->first; k < rec->first + rec->count && ok; k++) {
			s->len = (size_t)(put_row(s, s->buf + s->len, &b->flows[k]) - s->buf);
			(*rows)++;
			if (s->len >= FC_PG_COPY_CHUNK)
				ok = flush_copy(s);
		}
	}
	ok = ok && flush_copy(s);
	if (PQputCopyEnd(s->conn, ok ? NULL : "flowsink: batch abandoned") != 1)
		ok = false;
	r = PQgetResult(s->conn);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		if (ok) {
			s->st.errors++;
			fc_log_rl(&s->rl, FC_LOG_WARN, "postgres: COPY: %s", PQresultErrorMessage(r));
		}
		ok = false;
	}
	PQclear(r);
	while ((r = PQgetResult(s->conn)))
		PQclear(r);
	return ok;
}

/* One attempt at the whole transaction. */
static bool apply_once(struct pg_sink *s, const struct fc_sink_batch *b, size_t n_parts)
{
	char *parts = int_array(s, n_parts, false), *lasts = int_array(s, n_parts, true);
	const char *v3[3] = {b->topic, parts, lasts};
	uint64_t recs = 0, rows = 0;
	PGresult *r;
	bool ok = false;

	if (!parts || !lasts || !exec_ok(s, "BEGIN", 0, NULL))
		goto out;
	if (!exec_ok(s, "INSERT INTO flowsink_offsets (topic, partition, last_offset) "
			"SELECT $1, unnest($2::integer[]), -1 ON CONFLICT DO NOTHING", 2, v3))
		goto rollback;
	r = run(s, PGRES_TUPLES_OK,
		"SELECT partition, last_offset FROM flowsink_offsets "
		"WHERE topic = $1 AND partition = ANY($2::integer[]) FOR UPDATE", 2, v3);
	if (!r)
		goto rollback;
	for (int row = 0; row < PQntuples(r); row++) {
		struct pg_part *p = find_part(s, n_parts,
					      (int32_t)strtol(PQgetvalue(r, row, 0), NULL, 10));

		if (p)
			p->stored = strtoll(PQgetvalue(r, row, 1), NULL, 10);
	}
	PQclear(r);
	if (!copy_rows(s, b, n_parts, &recs, &rows))
		goto rollback;
	if (!exec_ok(s, "UPDATE flowsink_offsets o SET last_offset = v.last, updated = now() "
			"FROM unnest($2::integer[], $3::bigint[]) AS v(partition, last) "
			"WHERE o.topic = $1 AND o.partition = v.partition AND o.last_offset < v.last",
		     3, v3) ||
	    !exec_ok(s, "COMMIT", 0, NULL))
		goto rollback;
	s->st.batches++;
	s->st.records_applied += recs;
	s->st.records_skipped += b->n_recs - recs;
	s->st.rows += rows;
	ok = true;
	goto out;
rollback:
	if (!conn_lost(s))
		exec_ok(s, "ROLLBACK", 0, NULL);
out:
	free(parts);
	free(lasts);
	return ok;
}

static int pg_apply(void *priv, const struct fc_sink_batch *b)
{
	struct pg_sink *s = priv;
	unsigned ms = 100;
	long n_parts;

	if (b->n_recs == 0)
		return 0;
	n_parts = collect_parts(s, b);
	if (n_parts < 0)
		return FC_ENOMEM;
	for (;;) {
		bool ok = ready(s);

		int64_t prev = -1;

		for (size_t k = 0; ok && k < b->n_flows; k++) {
			int64_t day = (int64_t)(b->flows[k].time_ns / 1000000000u / 86400u);

			/* flows come in time order mostly: one lookup per run of a day */
			if (day != prev)
				ok = ensure_day(s, day);
			prev = day;
		}
		if (ok && apply_once(s, b, (size_t)n_parts))
			return 0;
		/* Connection trouble is waited out; an error the server gives
		 * on a live connection is tried again a few times (a partition
		 * dropped meanwhile by another member is created again), then
		 * the sink gives up. */
		s->n_days = 0;
		s->st.retries++;
		if (!conn_lost(s) && ms >= 800)
			return FC_ESYS;
		if (!backoff(s, &ms))
			return FC_EAGAIN;
	}
}

static void row(FILE *out, const char *name, const char *type, const char *help, uint64_t v)
{
	fprintf(out, "# HELP flowsink_postgres_%s %s\n# TYPE flowsink_postgres_%s %s\n"
		     "flowsink_postgres_%s %" PRIu64 "\n", name, help, name, type, name, v);
}

static void pg_print_stats(void *priv, FILE *out)
{
	const struct pg_stats *st = &((struct pg_sink *)priv)->st;

	row(out, "batches_total", "counter", "transactions committed (rows and offsets)", st->batches);
	row(out, "records_applied_total", "counter", "Kafka records whose flows were copied",
	    st->records_applied);
	row(out, "records_skipped_total", "counter",
	    "Kafka records at or below the stored offset (replays), not copied again",
	    st->records_skipped);
	row(out, "rows_total", "counter", "rows committed to flows", st->rows);
	row(out, "copy_bytes_total", "counter", "COPY text sent (also of batches retried)",
	    st->copy_bytes);
	row(out, "reconnects_total", "counter", "connections (re-)established after the first",
	    st->reconnects);
	row(out, "retries_total", "counter", "batches tried again after an error", st->retries);
	row(out, "errors_total", "counter", "statements or connections that failed", st->errors);
	row(out, "partitions_created_total", "counter", "day partitions created",
	    st->partitions_created);
	row(out, "partitions_dropped_total", "counter", "day partitions dropped by retention",
	    st->partitions_dropped);
	row(out, "text_replaced_total", "counter",
	    "bytes of names that were not valid UTF-8, written as '?'", st->text_replaced);
}

static void pg_close(void *priv)
{
	struct pg_sink *s = priv;

	if (!s)
		return;
	disconnect(s);
	free(s->conninfo);
	free(s->parts);
	free(s->buf);
	free(s);
}

const struct fc_sink_ops fc_sink_postgres = {
	.name = "postgres",
	.open = pg_open,
	.applied = pg_applied,
	.apply = pg_apply,
	.print_stats = pg_print_stats,
	.close = pg_close,
};
