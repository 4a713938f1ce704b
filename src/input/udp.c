/*
 * Live UDP input: one socket per --listen address (IPv4 or IPv6), each
 * with SO_RCVBUF as configured and SO_RXQ_OVFL so the kernel reports the
 * datagrams it dropped because the buffer was full. Datagrams are read in
 * batches with recvmmsg(2) into buffers the input owns, one slot of
 * --max-datagram bytes each; a longer datagram comes back with MSG_TRUNC
 * and is counted, never decoded half.
 *
 * Ports (socket(7), ipv6(7), SO_REUSEPORT):
 * - "[::]:PORT" is dual-stack (IPV6_V6ONLY off): IPv4 exporters arrive as
 *   v4-mapped addresses, which fc_addr_from_sockaddr turns back into IPv4.
 *   When another --listen names IPv4 on the same port, the IPv6 socket is
 *   IPv6-only so that both can bind.
 * - A port is ours alone unless --reuseport is given. SO_REUSEPORT is set
 *   only when it is needed: with --reuseport, or when several workers each
 *   bind their own socket to the same address. In the second case the
 *   first of our sockets on an address is preceded by a probe bind without
 *   SO_REUSEPORT, which fails when any other socket holds the port, so a
 *   second collector (or anything else) on the port is an error ("address
 *   in use") instead of a silent split of the exporters between the two.
 *   The probe is closed just before our sockets bind; a process that binds
 *   with SO_REUSEPORT as the same user in that instant could still join,
 *   which the kernel offers no way to exclude. Which addresses this process
 *   already holds is kept in a small table (held[]), the per-process part
 *   of the kernel's host-wide port table: the second worker's socket joins
 *   our own group and must not be refused by the probe.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/sock_diag.h>
#include <unistd.h>

#include "config/config.h"
#include "core/log.h"
#include "core/sockaddr.h"
#include "fc/err.h"
#include "fc/input.h"
#include "metrics/metrics.h"

#define UDP_MAX_SOCKS FC_CONFIG_MAX_LIST
#define UDP_MAX_BATCH 1024
#define UDP_MAX_HELD 256

#ifndef SO_RXQ_OVFL
#define SO_RXQ_OVFL 40
#endif

struct udp_sock {
	int fd;
	bool held; /* registered in held[] */
	struct sockaddr_storage ss;
	socklen_t sl;
	uint16_t port;
	uint32_t last_ovfl;
	uint64_t *kernel_drops;
	uint64_t *received;
	uint64_t *queue_bytes;      /* gauge: receive queue, sampled */
	uint64_t queue_sampled_ns;
};

struct udp_in {
	struct udp_sock socks[UDP_MAX_SOCKS];
	size_t n_socks;
	size_t next; /* round-robin start, so no socket starves */
	unsigned batch;
	size_t slot; /* bytes per datagram buffer */
	uint8_t *bufs;
	struct mmsghdr *msgs;
	struct iovec *iov;
	struct sockaddr_storage *names;
	char (*ctrl)[64];
	uint64_t *truncated;
	uint64_t *errors;
};

/* Parses "ADDR:PORT", "[V6]:PORT" or ":PORT" into a sockaddr. */
static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[128];
	const char *ptext;
	char *end;
	unsigned long port;

	memset(ss, 0, sizeof(*ss));
	if (fc_hostport_split(s, host, sizeof(host), &ptext) != 0)
		return FC_EINVAL;
	port = strtoul(ptext, &end, 10);
	if (end == ptext || *end || port > 65535)
		return FC_EINVAL;
	if (host[0] == '\0')
		strcpy(host, "0.0.0.0");
	if (strchr(host, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return FC_EINVAL;
		*len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return FC_EINVAL;
		*len = sizeof(*a);
	}
	return 0;
}

static struct held_addr {
	struct sockaddr_storage ss;
	unsigned refs;
} held[UDP_MAX_HELD];
static size_t n_held;
static pthread_mutex_t held_lock = PTHREAD_MUTEX_INITIALIZER;

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
		const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)b;

		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	return ((const struct sockaddr_in *)a)->sin_port == ((const struct sockaddr_in *)b)->sin_port &&
	       ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
}

/* Called with held_lock. */
static struct held_addr *held_find(const struct sockaddr_storage *ss)
{
	for (size_t i = 0; i < n_held; i++) {
		if (held[i].refs > 0 && same_addr(&held[i].ss, ss))
			return &held[i];
	}
	return NULL;
}

static bool held_add(const struct sockaddr_storage *ss)
{
	struct held_addr *h;

	pthread_mutex_lock(&held_lock);
	h = held_find(ss);
	if (!h) {
		for (size_t i = 0; i < n_held && !h; i++) {
			if (held[i].refs == 0)
				h = &held[i];
		}
		if (!h && n_held < UDP_MAX_HELD)
			h = &held[n_held++];
		if (h)
			h->ss = *ss;
	}
	if (h)
		h->refs++;
	pthread_mutex_unlock(&held_lock);
	return h != NULL;
}

static void held_release(const struct sockaddr_storage *ss)
{
	struct held_addr *h;

	pthread_mutex_lock(&held_lock);
	h = held_find(ss);
	if (h)
		h->refs--;
	pthread_mutex_unlock(&held_lock);
}

static uint16_t sockaddr_port(const struct sockaddr_storage *ss)
{
	return ntohs(ss->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)ss)->sin6_port
					       : ((const struct sockaddr_in *)ss)->sin_port);
}

static bool is_v6_any(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 &&
	       IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

/* "[::]:PORT" is dual-stack unless IPv4 on the same port is also asked
 * for, in which case the IPv4 socket takes IPv4. */
static bool want_v6only(const struct sockaddr_storage *ss, const struct fc_config *cfg)
{
	struct sockaddr_storage o;
	socklen_t ol;

	if (!is_v6_any(ss))
		return true;
	for (size_t i = 0; i < cfg->listen.n; i++) {
		if (parse_listen(cfg->listen.v[i], &o, &ol) == 0 && o.ss_family == AF_INET &&
		    sockaddr_port(&o) == sockaddr_port(ss))
			return true;
	}
	return false;
}

/* Binds a throw-away socket without SO_REUSEPORT: it fails with
 * EADDRINUSE when any socket (shared or not) holds the address. */
static int probe_free(const struct sockaddr_storage *ss, socklen_t sl, int v6only)
{
	int fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0, saved;

	if (fd < 0)
		return -1;
	if (ss->ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
	if (bind(fd, (const struct sockaddr *)ss, sl) != 0)
		rc = -1;
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

static int open_sock(struct udp_in *u, const char *spec, const struct fc_config *cfg,
		     struct fc_metrics *m)
{
	struct udp_sock *s = &u->socks[u->n_socks];
	bool share = cfg->reuseport || cfg->workers > 1, ours;
	int one = 1, v6only, fd;
	char labels[192];

	if (parse_listen(spec, &s->ss, &s->sl) != 0) {
		fc_log(FC_LOG_ERROR, "bad --listen '%s' (want ADDR:PORT or [V6ADDR]:PORT)", spec);
		return FC_EINVAL;
	}
	v6only = want_v6only(&s->ss, cfg) ? 1 : 0;
	pthread_mutex_lock(&held_lock);
	ours = held_find(&s->ss) != NULL;
	pthread_mutex_unlock(&held_lock);
	if (share && !cfg->reuseport && !ours && probe_free(&s->ss, s->sl, v6only) != 0)
		goto sys;
	fd = socket(s->ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto sys;
	s->fd = fd;
	u->n_socks++;
	if (share && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0)
		goto sys;
	if (s->ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) != 0)
		goto sys;
	if (cfg->rcvbuf) {
		int want = (int)cfg->rcvbuf, got = 0;
		socklen_t gl = sizeof(got);

		/* SO_RCVBUFFORCE passes rmem_max when we have CAP_NET_ADMIN. */
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof(want)) != 0)
			(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof(want));
		if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &gl) == 0 && got / 2 < want)
			fc_log(FC_LOG_WARN,
			       "%s: receive buffer is %d bytes, not %d: raise net.core.rmem_max",
			       spec, got / 2, want);
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one)) != 0)
		fc_log(FC_LOG_WARN, "%s: SO_RXQ_OVFL unavailable, kernel drops not counted", spec);
	if (bind(fd, (struct sockaddr *)&s->ss, s->sl) != 0)
		goto sys;
	s->held = held_add(&s->ss);
	s->port = sockaddr_port(&s->ss);
	snprintf(labels, sizeof(labels), "listen=\"%s\"", spec);
	s->kernel_drops = fc_metrics_counter(m, "udp_kernel_drops_total", labels,
					     "datagrams the kernel dropped (socket buffer full)");
	s->received = fc_metrics_counter(m, "udp_datagrams_total", labels,
					 "datagrams received by socket");
	s->queue_bytes = fc_metrics_gauge(m, "udp_receive_queue_bytes", labels,
					  "bytes waiting in the socket receive buffer (sampled each second)");
	fc_log(FC_LOG_INFO, "listening on udp %s%s", spec,
	       !v6only ? " (IPv6 and IPv4)" : "");
	return 0;
sys:
	if (errno == EADDRINUSE && (cfg->reuseport || ours))
		fc_log(FC_LOG_ERROR, "cannot listen on %s: address in use by a socket that does not "
				     "share it (SO_REUSEPORT, same user)", spec);
	else if (errno == EADDRINUSE)
		fc_log(FC_LOG_ERROR, "cannot listen on %s: address in use (another process has the "
				     "port; --reuseport shares it with one that allows it)", spec);
	else
		fc_log(FC_LOG_ERROR, "cannot listen on %s: %s", spec, strerror(errno));
	return FC_ESYS;
}

static int udp_open(void *priv, const char *arg, const struct fc_config *cfg, struct fc_metrics *m)
{
	static const char *const defaults[] = {"0.0.0.0:2055", "0.0.0.0:6343"};
	struct udp_in *u = priv;
	int rc;

	(void)arg;
	if (cfg->max_datagram < 512 || cfg->max_datagram > 65535)
		return FC_EINVAL;
	u->slot = (size_t)cfg->max_datagram;
	u->batch = (unsigned)(cfg->batch < UDP_MAX_BATCH ? cfg->batch : UDP_MAX_BATCH);
	u->bufs = malloc((size_t)u->batch * u->slot);
	u->msgs = calloc(u->batch, sizeof(*u->msgs));
	u->iov = calloc(u->batch, sizeof(*u->iov));
	u->names = calloc(u->batch, sizeof(*u->names));
	u->ctrl = calloc(u->batch, sizeof(*u->ctrl));
	if (!u->bufs || !u->msgs || !u->iov || !u->names || !u->ctrl)
		return FC_ENOMEM;
	u->truncated = fc_metrics_counter(m, "drops_total", "reason=\"udp_truncated\"",
					  "records dropped, by reason");
	u->errors = fc_metrics_counter(m, "udp_receive_errors_total", NULL,
				       "recvmmsg failures");
	if (cfg->listen.n == 0) {
		for (size_t i = 0; i < 2; i++) {
			rc = open_sock(u, defaults[i], cfg, m);
			if (rc)
				return rc;
		}
	}
	for (size_t i = 0; i < cfg->listen.n; i++) {
		rc = open_sock(u, cfg->listen.v[i], cfg, m);
		if (rc)
			return rc;
	}
	return 0;
}

/* Adds the growth of the kernel's cumulative drop counter. */
static void note_overflow(struct udp_sock *s, struct msghdr *h)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL &&
		    c->cmsg_len >= CMSG_LEN(sizeof(uint32_t))) {
			uint32_t v;

			memcpy(&v, CMSG_DATA(c), sizeof(v));
			*s->kernel_drops += (uint32_t)(v - s->last_ovfl);
			s->last_ovfl = v;
		}
	}
}

static int recv_batch(struct udp_in *u, struct udp_sock *s, struct fc_dgram *out, int max)
{
	unsigned want = (unsigned)max < u->batch ? (unsigned)max : u->batch;
	uint64_t now;
	int n, filled = 0;

	for (unsigned i = 0; i < want; i++) {
		u->iov[i].iov_base = u->bufs + (size_t)i * u->slot;
		u->iov[i].iov_len = u->slot;
		memset(&u->msgs[i].msg_hdr, 0, sizeof(u->msgs[i].msg_hdr));
		u->msgs[i].msg_hdr.msg_iov = &u->iov[i];
		u->msgs[i].msg_hdr.msg_iovlen = 1;
		u->msgs[i].msg_hdr.msg_name = &u->names[i];
		u->msgs[i].msg_hdr.msg_namelen = sizeof(u->names[i]);
		u->msgs[i].msg_hdr.msg_control = u->ctrl[i];
		u->msgs[i].msg_hdr.msg_controllen = sizeof(u->ctrl[i]);
	}
	n = recvmmsg(s->fd, u->msgs, want, MSG_DONTWAIT, NULL);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			(*u->errors)++;
		return 0;
	}
	now = fc_now_ns();
	if (now - s->queue_sampled_ns >= 1000000000ull) {
		/* How close the socket is to dropping, once a second: one
		 * getsockopt, off the per-datagram path (SO_MEMINFO, Linux 4.6). */
		uint32_t mem[SK_MEMINFO_VARS];
		socklen_t ml = sizeof(mem);

		s->queue_sampled_ns = now;
		if (getsockopt(s->fd, SOL_SOCKET, SO_MEMINFO, mem, &ml) == 0 &&
		    ml > SK_MEMINFO_RMEM_ALLOC * sizeof(uint32_t))
			*s->queue_bytes = mem[SK_MEMINFO_RMEM_ALLOC];
	}
	for (int i = 0; i < n; i++) {
		struct msghdr *h = &u->msgs[i].msg_hdr;

		note_overflow(s, h);
		if (h->msg_flags & MSG_TRUNC) {
			(*u->truncated)++;
			continue;
		}
		out->data = u->iov[i].iov_base;
		out->len = u->msgs[i].msg_len;
		fc_addr_from_sockaddr(&u->names[i], &out->src, &out->src_port);
		memset(&out->dst, 0, sizeof(out->dst));
		out->dst_port = s->port;
		out->time_ns = now;
		out++;
		filled++;
	}
	*s->received += (uint64_t)n;
	return filled;
}

static int udp_read(void *priv, struct fc_dgram *out, int max, int timeout_ms)
{
	struct udp_in *u = priv;
	struct pollfd pfd[UDP_MAX_SOCKS];
	int got = 0, rc;

	for (size_t i = 0; i < u->n_socks; i++) {
		pfd[i].fd = u->socks[i].fd;
		pfd[i].events = POLLIN;
		pfd[i].revents = 0;
	}
	rc = poll(pfd, u->n_socks, timeout_ms);
	if (rc <= 0)
		return 0; /* timeout or EINTR (a signal to look at) */
	/* Buffers are shared by the batch, so one socket fills it per call;
	 * the start rotates so that a busy port cannot starve another. */
	for (size_t k = 0; k < u->n_socks && got == 0; k++) {
		size_t i = (u->next + k) % u->n_socks;

		if (pfd[i].revents & POLLIN)
			got = recv_batch(u, &u->socks[i], out, max);
	}
	u->next = (u->next + 1) % u->n_socks;
	return got;
}

static void udp_close(void *priv)
{
	struct udp_in *u = priv;

	for (size_t i = 0; i < u->n_socks; i++) {
		close(u->socks[i].fd);
		if (u->socks[i].held)
			held_release(&u->socks[i].ss);
	}
	free(u->bufs);
	free(u->msgs);
	free(u->iov);
	free(u->names);
	free(u->ctrl);
}

const struct fc_input_ops fc_input_udp = {
	.name = "udp",
	.priv_size = sizeof(struct udp_in),
	.open = udp_open,
	.read = udp_read,
	.close = udp_close,
};
