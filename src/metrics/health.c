/*
 * Named health checks behind /healthz (see health.h). A fixed table under
 * one mutex: checks are few (outputs, workers) and updated on events, not
 * per datagram.
 */
#include "metrics/health.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

struct check {
	char name[48];
	char reason[FC_HEALTH_REASON_MAX];
	bool failing;
	uint64_t expires_ns; /* 0: until fc_health_ok */
};

struct fc_health {
	pthread_mutex_t lock;
	size_t n;
	struct check c[FC_HEALTH_MAX_CHECKS];
};

struct fc_health *fc_health_new(void)
{
	struct fc_health *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	if (pthread_mutex_init(&h->lock, NULL) != 0) {
		free(h);
		return NULL;
	}
	return h;
}

void fc_health_free(struct fc_health *h)
{
	if (!h)
		return;
	pthread_mutex_destroy(&h->lock);
	free(h);
}

static struct check *get_locked(struct fc_health *h, const char *name)
{
	for (size_t i = 0; i < h->n; i++) {
		if (strcmp(h->c[i].name, name) == 0)
			return &h->c[i];
	}
	if (h->n == FC_HEALTH_MAX_CHECKS)
		return NULL;
	snprintf(h->c[h->n].name, sizeof(h->c[h->n].name), "%s", name);
	return &h->c[h->n++];
}

void fc_health_fail(struct fc_health *h, const char *name, uint64_t ttl_ns, const char *fmt, ...)
{
	struct check *c;
	va_list ap;

	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	c = get_locked(h, name);
	if (c) {
		c->failing = true;
		c->expires_ns = ttl_ns ? fc_mono_ns() + ttl_ns : 0;
		va_start(ap, fmt);
		vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&h->lock);
}

void fc_health_ok(struct fc_health *h, const char *name)
{
	struct check *c;

	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	c = get_locked(h, name);
	if (c)
		c->failing = false;
	pthread_mutex_unlock(&h->lock);
}

bool fc_health_status(struct fc_health *h, uint64_t mono_ns, char *out, size_t out_len)
{
	bool ok = true;

	if (out_len)
		out[0] = '\0';
	if (!h)
		return true;
	pthread_mutex_lock(&h->lock);
	for (size_t i = 0; i < h->n; i++) {
		const struct check *c = &h->c[i];

		if (!c->failing || (c->expires_ns && mono_ns >= c->expires_ns))
			continue;
		snprintf(out, out_len, "%s: %s", c->name, c->reason);
		ok = false;
		break;
	}
	pthread_mutex_unlock(&h->lock);
	return ok;
}
