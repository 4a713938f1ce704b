/*
 * Logging for the daemon and tools (never for library code on the data
 * path, which returns error codes instead). Each line goes to stderr (or
 * the stream given to fc_log_set_output) as
 * `2026-01-31T12:00:00.123Z collector: LEVEL: message`, UTC with
 * milliseconds, so an operator can line it up with graphs.
 *
 * Two limiters keep floods of bad input out of the log:
 * - fc_log_rl: at most 10 lines per second per limiter, then one line
 *   saying how many were suppressed;
 * - fc_logsum: the first event is logged at once with its detail; later
 *   events are summed and reported by fc_logsum_flush as one line per
 *   interval ("N more ... (last: ...)"); a quiet interval re-arms it.
 *
 * Thread affinity: the level and output are set once at start-up before
 * threads exist; fc_log is safe from any thread (one fprintf per line); a
 * limiter belongs to one thread or is used under its owner's lock.
 */
#ifndef FC_LOG_H
#define FC_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum fc_log_level { FC_LOG_ERROR = 0, FC_LOG_WARN = 1, FC_LOG_INFO = 2, FC_LOG_DEBUG = 3 };

struct fc_ratelimit {
	uint64_t window_start_ns;
	uint32_t in_window;
	uint32_t suppressed;
};

#define FC_LOGSUM_TEXT 200
struct fc_logsum {
	uint64_t interval_ns; /* 0: 10 s */
	uint64_t window_start_ns;
	uint64_t pending;     /* events since the last line */
	bool active;          /* the first event of this episode was logged */
	char last[FC_LOGSUM_TEXT];
};

/* Sets the threshold; returns 0 or FC_EINVAL for an unknown name. */
int fc_log_set_level(const char *name);
bool fc_log_enabled(enum fc_log_level lvl);

/* Where lines go (NULL: stderr). For tests and tools. */
void fc_log_set_output(FILE *out);

/* Program name that prefixes every line ("collector" unless set); name is
 * borrowed and must outlive the process's logging. Set once at start. */
void fc_log_set_prog(const char *name);

void fc_log(enum fc_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* At most 10 messages per second per limiter. */
void fc_log_rl(struct fc_ratelimit *rl, enum fc_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Records n events at now_ns (fc_mono_ns()); the message is logged if it
 * starts an episode, otherwise kept as the "last" detail for the summary. */
void fc_logsum_event(struct fc_logsum *s, uint64_t now_ns, uint64_t n, enum fc_log_level lvl,
		     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Once per interval: logs "what: N more in the last S s (last: ...)" when
 * events were summed, or ends the episode after a quiet interval. Cheap
 * when nothing happened; call it from a periodic path. */
void fc_logsum_flush(struct fc_logsum *s, uint64_t now_ns, enum fc_log_level lvl, const char *what);
/* The same without waiting for the interval (at close). */
void fc_logsum_finish(struct fc_logsum *s, uint64_t now_ns, enum fc_log_level lvl, const char *what);

/* Writes the line prefix's time stamp (UTC, ms) for wall-clock time ns. */
void fc_log_timestamp(uint64_t ns, char *out, size_t out_len);

uint64_t fc_now_ns(void);      /* CLOCK_REALTIME, Unix ns */
uint64_t fc_mono_ns(void);     /* CLOCK_MONOTONIC */

#endif
