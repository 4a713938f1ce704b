/*
 * Levelled, rate-limited logging to stderr (see log.h). The level is the
 * one process-wide setting in the project: it is written once at start-up
 * before any thread exists.
 */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fc/err.h"

static enum fc_log_level log_level = FC_LOG_INFO;
static const char *log_prog = "collector";

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

enum fc_log_level fc_log_get_level(void)
{
	return log_level;
}

static void vlog(enum fc_log_level lvl, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
static void vlog(enum fc_log_level lvl, const char *fmt, va_list ap)
{
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "%s: %s: %s\n", log_prog, level_names[lvl], line);
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
