/*
 * Unit tests for the observability modules: the counter registry and its
 * Prometheus text (src/metrics/metrics.c), the merge of worker registries
 * through published copies, health checks (src/metrics/health.c),
 * published documents (src/http/doc.c), the HTTP server (src/http/http.c)
 * and the log limiters (src/core/log.c).
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "core/log.h"
#include "fc/err.h"
#include "http/doc.h"
#include "http/http.h"
#include "metrics/health.h"
#include "metrics/metrics.h"
#include "check_run.h"

/* Renders m with fc_metrics_print into a malloc'd string. */
static char *render(const struct fc_metrics *m)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	fc_metrics_print(m, f);
	fclose(f);
	return buf;
}

START_TEST(text_format_blocks)
{
	struct fc_metrics *m = fc_metrics_new();
	char *t;

	*fc_metrics_counter(m, "b_total", "reason=\"x\"", "b things") += 3;
	*fc_metrics_gauge(m, "a_depth", NULL, "a depth\\with backslash\nand newline") = 7;
	*fc_metrics_counter(m, "b_total", "reason=\"y\"", "ignored help") += 4;
	t = render(m);
	/* One block per family, sorted, HELP escaped (\\ and \n), the
	 * family's samples together even when registered apart. */
	ck_assert_ptr_nonnull(strstr(t, "# HELP flowcollector_a_depth a depth\\\\with backslash\\nand "
					"newline\n# TYPE flowcollector_a_depth gauge\n"
					"flowcollector_a_depth 7\n"));
	ck_assert_ptr_nonnull(strstr(t, "# HELP flowcollector_b_total b things\n"
					"# TYPE flowcollector_b_total counter\n"
					"flowcollector_b_total{reason=\"x\"} 3\n"
					"flowcollector_b_total{reason=\"y\"} 4\n"));
	ck_assert_ptr_null(strstr(t, "ignored help"));
	ck_assert(strstr(t, "a_depth") < strstr(t, "b_total"));
	free(t);
	fc_metrics_free(m);
}
END_TEST

START_TEST(label_escaping)
{
	char buf[64];
	size_t n = fc_metrics_label(buf, sizeof(buf), "path", "a\"b\\c\nd");

	ck_assert_str_eq(buf, "path=\"a\\\"b\\\\c\\nd\"");
	ck_assert_uint_eq(n, strlen(buf));
	/* Truncation stays terminated and reports the length needed. */
	n = fc_metrics_label(buf, 8, "path", "abcdefgh");
	ck_assert_uint_eq(strlen(buf), 7);
	ck_assert_uint_eq(n, strlen("path=\"abcdefgh\""));
}
END_TEST

START_TEST(histogram_cumulative)
{
	static const uint64_t bounds[] = {1, 10, 100};
	struct fc_metrics *m = fc_metrics_new();
	struct fc_metrics_hist h;
	char *t;

	fc_metrics_histogram(m, &h, "batch", "w=\"1\"", "batch sizes", bounds, 3);
	fc_metrics_observe(&h, 1);
	fc_metrics_observe(&h, 5);
	fc_metrics_observe(&h, 50);
	fc_metrics_observe(&h, 5000);
	t = render(m);
	ck_assert_ptr_nonnull(strstr(t, "# TYPE flowcollector_batch histogram\n"
					"flowcollector_batch_bucket{w=\"1\",le=\"1\"} 1\n"
					"flowcollector_batch_bucket{w=\"1\",le=\"10\"} 2\n"
					"flowcollector_batch_bucket{w=\"1\",le=\"100\"} 3\n"
					"flowcollector_batch_bucket{w=\"1\",le=\"+Inf\"} 4\n"
					"flowcollector_batch_sum{w=\"1\"} 5056\n"
					"flowcollector_batch_count{w=\"1\"} 4\n"));
	free(t);
	fc_metrics_free(m);
}
END_TEST

START_TEST(merge_reads_published_copies)
{
	struct fc_metrics *w0 = fc_metrics_new(), *w1 = fc_metrics_new(), *sum;
	static const char *const per[] = {"drops_total", NULL};
	uint64_t *a0 = fc_metrics_counter(w0, "flows_total", NULL, "flows");
	uint64_t *a1 = fc_metrics_counter(w1, "flows_total", NULL, "flows");
	uint64_t *d0 = fc_metrics_counter(w0, "drops_total", "sock=\"a\"", "drops");
	uint64_t *d1 = fc_metrics_counter(w1, "drops_total", "sock=\"a\"", "drops");

	*a0 = 10;
	*a1 = 32;
	*d0 = 1;
	*d1 = 2;
	fc_metrics_publish(w0);
	/* w1 not published yet: nothing of it is seen. */
	sum = fc_metrics_new();
	fc_metrics_merge_labeled(sum, w0, "worker=\"0\"", per);
	fc_metrics_merge_labeled(sum, w1, "worker=\"1\"", per);
	ck_assert_uint_eq(fc_metrics_get(sum, "flows_total", NULL), 10);
	fc_metrics_free(sum);

	fc_metrics_publish(w1);
	*a1 = 1000; /* after the publication: not seen either */
	sum = fc_metrics_new();
	fc_metrics_merge_labeled(sum, w0, "worker=\"0\"", per);
	fc_metrics_merge_labeled(sum, w1, "worker=\"1\"", per);
	ck_assert_uint_eq(fc_metrics_get(sum, "flows_total", NULL), 42);
	/* Per-worker families keep one series per worker. */
	ck_assert_uint_eq(fc_metrics_get(sum, "drops_total", "sock=\"a\",worker=\"0\""), 1);
	ck_assert_uint_eq(fc_metrics_get(sum, "drops_total", "sock=\"a\",worker=\"1\""), 2);
	ck_assert_uint_eq(fc_metrics_get(sum, "drops_total", "sock=\"a\""), 0);
	fc_metrics_free(sum);
	fc_metrics_free(w0);
	fc_metrics_free(w1);
}
END_TEST

START_TEST(registry_grows_past_old_cap)
{
	struct fc_metrics *m = fc_metrics_new();
	uint64_t *first = fc_metrics_counter(m, "exporter_datagrams_total", "exporter=\"0\"", "d");
	char lab[64];

	*first = 5;
	/* The old registry stopped at 8192 slots (~2,690 exporters). */
	for (unsigned i = 1; i < 30000; i++) {
		snprintf(lab, sizeof(lab), "exporter=\"%u\"", i);
		*fc_metrics_counter(m, "exporter_datagrams_total", lab, "d") += i;
	}
	/* Slot pointers stay valid while the registry grows. */
	ck_assert_uint_eq(*first, 5);
	ck_assert_ptr_eq(fc_metrics_counter(m, "exporter_datagrams_total", "exporter=\"0\"", "d"),
			 first);
	ck_assert_uint_eq(fc_metrics_get(m, "exporter_datagrams_total", "exporter=\"29999\""),
			  29999);
	ck_assert_uint_eq(fc_metrics_get(m, "metrics_registry_full_total", NULL), 0);
	fc_metrics_free(m);
}
END_TEST

struct writer_arg {
	struct fc_metrics *m;
	uint64_t *slot;
	unsigned rounds;
};

/* The owner thread writes and publishes; a reader merges concurrently.
 * Under ThreadSanitizer any unsynchronized access is reported. */
static void *writer(void *p)
{
	struct writer_arg *a = p;

	for (unsigned i = 0; i < a->rounds; i++) {
		(*a->slot)++;
		if (i % 64 == 0)
			fc_metrics_publish(a->m);
	}
	fc_metrics_publish(a->m);
	return NULL;
}

START_TEST(concurrent_publish_and_merge)
{
	struct writer_arg a = {.m = fc_metrics_new(), .rounds = 200000};
	pthread_t t;
	uint64_t last = 0;

	a.slot = fc_metrics_counter(a.m, "x_total", NULL, "x");
	ck_assert_int_eq(pthread_create(&t, NULL, writer, &a), 0);
	for (int i = 0; i < 200; i++) {
		struct fc_metrics *sum = fc_metrics_new();
		uint64_t v;

		fc_metrics_merge(sum, a.m);
		v = fc_metrics_get(sum, "x_total", NULL);
		ck_assert_uint_ge(v, last); /* published values never go back */
		last = v;
		fc_metrics_free(sum);
	}
	pthread_join(t, NULL);
	{
		struct fc_metrics *sum = fc_metrics_new();

		fc_metrics_merge(sum, a.m);
		ck_assert_uint_eq(fc_metrics_get(sum, "x_total", NULL), 200000);
		fc_metrics_free(sum);
	}
	fc_metrics_free(a.m);
}
END_TEST

START_TEST(guarded_registry_any_thread)
{
	struct fc_metrics *m = fc_metrics_new(), *sum = fc_metrics_new();
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	uint64_t *s = fc_metrics_counter(m, "out_total", NULL, "o");

	fc_metrics_set_guard(m, &lock);
	pthread_mutex_lock(&lock);
	*s = 9;
	pthread_mutex_unlock(&lock);
	fc_metrics_publish(m);
	fc_metrics_merge(sum, m);
	ck_assert_uint_eq(fc_metrics_get(sum, "out_total", NULL), 9);
	fc_metrics_free(sum);
	fc_metrics_free(m);
}
END_TEST

START_TEST(health_checks)
{
	struct fc_health *h = fc_health_new();
	char why[FC_HEALTH_REASON_MAX];
	uint64_t now = fc_mono_ns();

	ck_assert(fc_health_status(h, now, why, sizeof(why)));
	ck_assert_str_eq(why, "");
	fc_health_fail(h, "output kafka", 1000000000ull, "all brokers down (%d)", 1);
	ck_assert(!fc_health_status(h, fc_mono_ns(), why, sizeof(why)));
	ck_assert_str_eq(why, "output kafka: all brokers down (1)");
	/* A failure with a time to live clears by itself... */
	ck_assert(fc_health_status(h, fc_mono_ns() + 2000000000ull, why, sizeof(why)));
	/* ...one without stays until fc_health_ok. */
	fc_health_fail(h, "output file", 0, "disk full");
	ck_assert(!fc_health_status(h, fc_mono_ns() + 3600000000000ull, why, sizeof(why)));
	ck_assert_str_eq(why, "output file: disk full");
	fc_health_ok(h, "output file");
	fc_health_ok(h, "output kafka");
	ck_assert(fc_health_status(h, fc_mono_ns(), why, sizeof(why)));
	fc_health_free(h);
	/* A NULL set is always healthy and ignores updates. */
	fc_health_fail(NULL, "x", 0, "y");
	ck_assert(fc_health_status(NULL, 0, why, sizeof(why)));
}
END_TEST

struct doc_owner {
	struct fc_doc *d;
	atomic_int stop;
};

static void *doc_owner_main(void *p)
{
	struct doc_owner *o = p;
	unsigned n = 0;

	while (!atomic_load(&o->stop)) {
		if (fc_doc_wanted(o->d)) {
			char *buf = malloc(32);
			int len = snprintf(buf, 32, "[%u]", ++n);

			fc_doc_publish(o->d, buf, (size_t)len);
		}
		usleep(1000);
	}
	return NULL;
}

START_TEST(doc_request_and_publish)
{
	struct doc_owner o = {.d = fc_doc_new(), .stop = 0};
	pthread_t t;
	char *out = NULL;
	size_t len = 0;
	unsigned first = 0, second = 0;

	/* Nobody publishes: stale (1) and an empty document after the wait. */
	ck_assert_int_eq(fc_doc_request(o.d, 50, &out, &len), 1);
	ck_assert_str_eq(out, "");
	free(out);
	ck_assert_int_eq(pthread_create(&t, NULL, doc_owner_main, &o), 0);
	/* The timed-out request may still be answered late; each request
	 * gets a rendering made after it. */
	ck_assert_int_eq(fc_doc_request(o.d, 2000, &out, &len), 0);
	ck_assert_int_eq(sscanf(out, "[%u]", &first), 1);
	free(out);
	ck_assert_int_eq(fc_doc_request(o.d, 2000, &out, &len), 0);
	ck_assert_int_eq(sscanf(out, "[%u]", &second), 1);
	ck_assert_uint_eq(second, first + 1);
	ck_assert_uint_eq(len, strlen(out));
	free(out);
	atomic_store(&o.stop, 1);
	pthread_join(t, NULL);
	fc_doc_free(o.d);
}
END_TEST

static void hello(void *ctx, struct fc_http_reply *r)
{
	r->status = 503;
	fprintf(r->body, "%s\n", (const char *)ctx);
}

/* One raw HTTP/1.0 exchange on loopback; returns the response. */
static char *http_exchange(unsigned port, const char *request)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	static char buf[4096];
	size_t got = 0;
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(write(fd, request, strlen(request)), (ssize_t)strlen(request));
	while (got + 1 < sizeof(buf) && (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(fd);
	return buf;
}

START_TEST(http_routes)
{
	struct fc_http *h = fc_http_new();
	char err[256];
	const char *r;

	ck_assert_int_eq(fc_http_route(h, "/healthz", hello, "broker down"), 0);
	ck_assert_int_eq(fc_http_start(h, "127.0.0.1:0", err, sizeof(err)), 0);
	ck_assert_uint_gt(fc_http_port(h), 0);
	r = http_exchange(fc_http_port(h), "GET /healthz HTTP/1.0\r\n\r\n");
	ck_assert_ptr_nonnull(strstr(r, " 503 "));
	ck_assert_ptr_nonnull(strstr(r, "\r\n\r\nbroker down\n"));
	r = http_exchange(fc_http_port(h), "GET /nope HTTP/1.0\r\n\r\n");
	ck_assert_ptr_nonnull(strstr(r, " 404 "));
	r = http_exchange(fc_http_port(h), "POST /healthz HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
	ck_assert_ptr_nonnull(strstr(r, " 405 "));
	ck_assert_ptr_nonnull(strstr(r, "Allow: GET, HEAD"));
	fc_http_free(h);

	h = fc_http_new();
	ck_assert_int_eq(fc_http_start(h, "localhost:80", err, sizeof(err)), FC_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "not an IP address"));
	ck_assert_int_eq(fc_http_start(h, "127.0.0.1:99999", err, sizeof(err)), FC_EINVAL);
	fc_http_free(h);
}
END_TEST

static void echo_path(void *ctx, struct fc_http_reply *r)
{
	const char *f = fc_http_query(r, "format");

	(void)ctx;
	fprintf(r->body, "path=%s format=%s\n", r->path, f ? f : "(none)");
}

START_TEST(http_prefix_routes)
{
	struct fc_http *h = fc_http_new();
	char err[256];
	const char *r;

	ck_assert_int_eq(fc_http_route(h, "/sets/", echo_path, NULL), 0);
	ck_assert_int_eq(fc_http_route(h, "/sets/exact", hello, "exact"), 0);
	ck_assert_int_eq(fc_http_start(h, "127.0.0.1:0", err, sizeof(err)), 0);
	r = http_exchange(fc_http_port(h), "GET /sets/ip%3Aa?format=txt HTTP/1.0\r\n\r\n");
	ck_assert_ptr_nonnull(strstr(r, " 200 "));
	ck_assert_ptr_nonnull(strstr(r, "\r\n\r\npath=/sets/ip:a format=txt\n"));
	r = http_exchange(fc_http_port(h), "GET /sets/x HTTP/1.0\r\n\r\n");
	ck_assert_ptr_nonnull(strstr(r, "path=/sets/x format=(none)\n"));
	/* An exact route wins over the prefix; the prefix alone is no match. */
	r = http_exchange(fc_http_port(h), "GET /sets/exact HTTP/1.0\r\n\r\n");
	ck_assert_ptr_nonnull(strstr(r, "\r\n\r\nexact\n"));
	r = http_exchange(fc_http_port(h), "GET /sets/ HTTP/1.0\r\n\r\n");
	ck_assert_ptr_nonnull(strstr(r, " 404 "));
	r = http_exchange(fc_http_port(h), "GET /setsx HTTP/1.0\r\n\r\n");
	ck_assert_ptr_nonnull(strstr(r, " 404 "));
	fc_http_free(h);
}
END_TEST

/* Captures log lines written while fn runs. */
static char *log_buf;
static size_t log_len;
static FILE *log_f;

static void log_begin(void)
{
	log_f = open_memstream(&log_buf, &log_len);
	ck_assert_ptr_nonnull(log_f);
	fc_log_set_output(log_f);
}

static char *log_end(void)
{
	fc_log_set_output(NULL);
	fclose(log_f);
	return log_buf;
}

static unsigned count(const char *s, const char *what)
{
	unsigned n = 0;

	for (const char *p = s; (p = strstr(p, what)) != NULL; p += strlen(what))
		n++;
	return n;
}

START_TEST(logsum_first_then_summary)
{
	struct fc_logsum s = {.interval_ns = 10};
	char *t;

	ck_assert_int_eq(fc_log_set_level("info"), 0);
	log_begin();
	fc_logsum_event(&s, 100, 1, FC_LOG_ERROR, "write failed: %s", "disk full");
	for (int i = 0; i < 1000; i++)
		fc_logsum_event(&s, 101, 2, FC_LOG_ERROR, "write failed: %d", i);
	fc_logsum_flush(&s, 105, FC_LOG_ERROR, "out"); /* interval not over */
	fc_logsum_flush(&s, 110, FC_LOG_ERROR, "out");
	fc_logsum_flush(&s, 120, FC_LOG_ERROR, "out"); /* quiet: ends the episode */
	fc_logsum_event(&s, 121, 1, FC_LOG_ERROR, "write failed again");
	t = log_end();
	/* First event at once, then one summary with the count and the last
	 * detail, then the next episode's first event. */
	ck_assert_uint_eq(count(t, "\n"), 3);
	ck_assert_ptr_nonnull(strstr(t, "collector: error: write failed: disk full\n"));
	ck_assert_ptr_nonnull(strstr(t, "out: 2000 more in the last 0 s (last: write failed: 999)\n"));
	ck_assert_ptr_nonnull(strstr(t, "write failed again\n"));
	/* Every line carries a UTC time stamp. */
	ck_assert_int_eq(t[4], '-');
	ck_assert_int_eq(t[10], 'T');
	ck_assert_int_eq(t[23], 'Z');
	free(t);
}
END_TEST

START_TEST(logsum_respects_level)
{
	struct fc_logsum s = {0};
	char *t;

	ck_assert_int_eq(fc_log_set_level("error"), 0);
	log_begin();
	fc_logsum_event(&s, 1, 1, FC_LOG_WARN, "hidden");
	fc_log(FC_LOG_INFO, "hidden too");
	fc_log(FC_LOG_ERROR, "shown");
	t = log_end();
	ck_assert_ptr_null(strstr(t, "hidden"));
	ck_assert_ptr_nonnull(strstr(t, "shown"));
	free(t);
	ck_assert_int_eq(fc_log_set_level("info"), 0);
}
END_TEST

START_TEST(ratelimit_burst)
{
	struct fc_ratelimit rl = {0};
	char *t;

	log_begin();
	for (int i = 0; i < 100; i++)
		fc_log_rl(&rl, FC_LOG_WARN, "bad datagram %d", i);
	rl.window_start_ns -= 2000000000ull; /* a second later */
	fc_log_rl(&rl, FC_LOG_WARN, "bad datagram late");
	t = log_end();
	ck_assert_uint_eq(count(t, "bad datagram"), 11);
	ck_assert_ptr_nonnull(strstr(t, "(90 similar messages suppressed)"));
	free(t);
}
END_TEST

static Suite *metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *reg = tcase_create("registry");
	TCase *ops = tcase_create("health-doc-http");
	TCase *log = tcase_create("log");

	tcase_add_test(reg, text_format_blocks);
	tcase_add_test(reg, label_escaping);
	tcase_add_test(reg, histogram_cumulative);
	tcase_add_test(reg, merge_reads_published_copies);
	tcase_add_test(reg, registry_grows_past_old_cap);
	tcase_add_test(reg, concurrent_publish_and_merge);
	tcase_add_test(reg, guarded_registry_any_thread);
	tcase_set_timeout(reg, 60);
	tcase_add_test(ops, health_checks);
	tcase_add_test(ops, doc_request_and_publish);
	tcase_add_test(ops, http_routes);
	tcase_add_test(ops, http_prefix_routes);
	tcase_add_test(log, logsum_first_then_summary);
	tcase_add_test(log, logsum_respects_level);
	tcase_add_test(log, ratelimit_burst);
	suite_add_tcase(s, reg);
	suite_add_tcase(s, ops);
	suite_add_tcase(s, log);
	return s;
}

int main(void)
{
	return fc_check_run(metrics_suite());
}
