/*
 * Published documents (see doc.h): a buffer, a publication counter and a
 * condition variable; the request flag is an atomic so the owner's check
 * costs one load per loop.
 */
#include "http/doc.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fc/err.h"

struct fc_doc {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_bool wanted;
	uint64_t gen; /* publications so far */
	char *buf;
	size_t len;
};

struct fc_doc *fc_doc_new(void)
{
	struct fc_doc *d = calloc(1, sizeof(*d));
	pthread_condattr_t ca;

	if (!d)
		return NULL;
	if (pthread_mutex_init(&d->lock, NULL) != 0)
		goto fail_mutex;
	if (pthread_condattr_init(&ca) != 0)
		goto fail_cond;
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (pthread_cond_init(&d->cond, &ca) != 0) {
		pthread_condattr_destroy(&ca);
		goto fail_cond;
	}
	pthread_condattr_destroy(&ca);
	atomic_init(&d->wanted, false);
	return d;
fail_cond:
	pthread_mutex_destroy(&d->lock);
fail_mutex:
	free(d);
	return NULL;
}

void fc_doc_free(struct fc_doc *d)
{
	if (!d)
		return;
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->lock);
	free(d->buf);
	free(d);
}

bool fc_doc_wanted(struct fc_doc *d)
{
	return atomic_load_explicit(&d->wanted, memory_order_relaxed);
}

void fc_doc_publish(struct fc_doc *d, char *buf, size_t len)
{
	char *old;

	pthread_mutex_lock(&d->lock);
	old = d->buf;
	d->buf = buf;
	d->len = buf ? len : 0;
	d->gen++;
	atomic_store_explicit(&d->wanted, false, memory_order_relaxed);
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	free(old);
}

int fc_doc_request(struct fc_doc *d, unsigned timeout_ms, char **out, size_t *out_len)
{
	struct timespec until;
	uint64_t want;
	int rc = 0;
	char *copy;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout_ms / 1000u;
	until.tv_nsec += (long)(timeout_ms % 1000u) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&d->lock);
	want = d->gen + 1;
	atomic_store_explicit(&d->wanted, true, memory_order_relaxed);
	while (d->gen < want) {
		if (pthread_cond_timedwait(&d->cond, &d->lock, &until) == ETIMEDOUT) {
			rc = 1;
			break;
		}
	}
	copy = malloc(d->len + 1);
	if (copy) {
		if (d->len)
			memcpy(copy, d->buf, d->len);
		copy[d->len] = '\0';
		*out = copy;
		*out_len = d->len;
	} else {
		rc = FC_ENOMEM;
	}
	pthread_mutex_unlock(&d->lock);
	return rc;
}
