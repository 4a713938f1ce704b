/*
 * Levelled, time-stamped, rate-limited logging (see log.h). The level and
 * the output stream are the process-wide settings: written once at
 * start-up before any thread exists, read-only afterwards.
 */
#include "core/log.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "fc/err.h"

static enum fc_log_level log_level = FC_LOG_INFO;
static const char *log_prog = "collector";
static FILE *log_out;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int fc_log_set_level(const char *name)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(name, level_names[i]) == 0) {
			log_level = (enum fc_log_level)i;
			return 0;
		}
	}
	return FC_EINVAL;
}

void fc_log_set_prog(const char *name)
{
	log_prog = name;
}

bool fc_log_enabled(enum fc_log_level lvl)
{
	return lvl <= log_level;
}

void fc_log_set_output(FILE *out)
{
	log_out = out;
}

void fc_log_timestamp(uint64_t ns, char *out, size_t out_len)
{
	time_t sec = (time_t)(ns / 1000000000ull);
	struct tm tm;
	char date[32];

	gmtime_r(&sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, out_len, "%s.%03uZ", date, (unsigned)(ns / 1000000ull % 1000u));
}

static void vlog(enum fc_log_level lvl, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
static void vlog(enum fc_log_level lvl, const char *fmt, va_list ap)
{
	char line[1024], ts[40];

	vsnprintf(line, sizeof(line), fmt, ap);
	fc_log_timestamp(fc_now_ns(), ts, sizeof(ts));
	/* One call per line: stdio locks the stream, so lines from several
	 * threads do not interleave. */
	fprintf(log_out ? log_out : stderr, "%s %s: %s: %s\n", ts, log_prog, level_names[lvl], line);
}

void fc_log(enum fc_log_level lvl, const char *fmt, ...)
{
	va_list ap;

	if (lvl > log_level)
		return;
	va_start(ap, fmt);
	vlog(lvl, fmt, ap);
	va_end(ap);
}

void fc_log_rl(struct fc_ratelimit *rl, enum fc_log_level lvl, const char *fmt, ...)
{
	const uint64_t window = 1000000000ull;
	uint64_t now;
	va_list ap;

	if (lvl > log_level)
		return;
	now = fc_mono_ns();
	if (now - rl->window_start_ns >= window) {
		if (rl->suppressed)
			fc_log(lvl, "(%u similar messages suppressed)", rl->suppressed);
		rl->window_start_ns = now;
		rl->in_window = 0;
		rl->suppressed = 0;
	}
	if (rl->in_window >= 10) {
		rl->suppressed++;
		return;
	}
	rl->in_window++;
	va_start(ap, fmt);
	vlog(lvl, fmt, ap);
	va_end(ap);
}

static uint64_t logsum_interval(const struct fc_logsum *s)
{
	return s->interval_ns ? s->interval_ns : 10000000000ull;
}

void fc_logsum_event(struct fc_logsum *s, uint64_t now_ns, uint64_t n, enum fc_log_level lvl,
		     const char *fmt, ...)
{
	va_list ap;

	if (!s->active) {
		s->active = true;
		s->window_start_ns = now_ns;
		s->pending = 0;
		if (lvl <= log_level) {
			va_start(ap, fmt);
			vlog(lvl, fmt, ap);
			va_end(ap);
		}
		return;
	}
	s->pending += n;
	va_start(ap, fmt);
	vsnprintf(s->last, sizeof(s->last), fmt, ap);
	va_end(ap);
}

static void logsum_flush(struct fc_logsum *s, uint64_t now_ns, enum fc_log_level lvl,
			 const char *what, bool force)
{
	if (!s->active || (!force && now_ns - s->window_start_ns < logsum_interval(s)))
		return;
	if (s->pending == 0) {
		s->active = false; /* a quiet interval: the next event is news */
		return;
	}
	fc_log(lvl, "%s: %" PRIu64 " more in the last %" PRIu64 " s (last: %s)", what, s->pending,
	       (uint64_t)((now_ns - s->window_start_ns) / 1000000000u), s->last);
	s->window_start_ns = now_ns;
	s->pending = 0;
}

void fc_logsum_flush(struct fc_logsum *s, uint64_t now_ns, enum fc_log_level lvl, const char *what)
{
	logsum_flush(s, now_ns, lvl, what, false);
}

void fc_logsum_finish(struct fc_logsum *s, uint64_t now_ns, enum fc_log_level lvl, const char *what)
{
	logsum_flush(s, now_ns, lvl, what, true);
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t fc_now_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

uint64_t fc_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}
