/*
 * Logging for the daemon and tools (never for library code on the data
 * path, which returns error codes instead). Messages go to stderr with a
 * level prefix; fc_log_rl drops messages beyond a burst per interval and
 * reports how many it suppressed, so a flood of bad datagrams cannot flood
 * the log.
 */
#ifndef FC_LOG_H
#define FC_LOG_H

#include <stdint.h>

enum fc_log_level { FC_LOG_ERROR = 0, FC_LOG_WARN = 1, FC_LOG_INFO = 2, FC_LOG_DEBUG = 3 };

struct fc_ratelimit {
	uint64_t window_start_ns;
	uint32_t in_window;
	uint32_t suppressed;
};

/* Sets the threshold; returns 0 or FC_EINVAL for an unknown name. */
int fc_log_set_level(const char *name);
enum fc_log_level fc_log_get_level(void);

/* Program name that prefixes every line ("collector" unless set); name is
 * borrowed and must outlive the process's logging. Set once at start. */
void fc_log_set_prog(const char *name);

void fc_log(enum fc_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* At most 10 messages per second per limiter. */
void fc_log_rl(struct fc_ratelimit *rl, enum fc_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

uint64_t fc_now_ns(void);      /* CLOCK_REALTIME, Unix ns */
uint64_t fc_mono_ns(void);     /* CLOCK_MONOTONIC */

#endif
