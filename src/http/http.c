/*
 * HTTP server (see http.h) on libmicrohttpd: MHD_USE_INTERNAL_POLLING_THREAD
 * gives one server thread; requests are answered whole from a memory
 * stream (open_memstream), so a slow client costs a buffer, never a lock
 * held on shared state. References: RFC 9110 (methods, 404/405 with
 * Allow), libmicrohttpd manual (MHD_start_daemon options,
 * MHD_create_response_from_buffer).
 */
#include "http/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "core/sockaddr.h"
#include "fc/err.h"

/* libmicrohttpd before 0.9.71 returns int from its callbacks. */
#if MHD_VERSION >= 0x00097002
#define FC_MHD_RESULT enum MHD_Result
#else
#define FC_MHD_RESULT int
#endif

struct route {
	char *path;
	fc_http_handler fn;
	void *ctx;
};

struct fc_http {
	struct MHD_Daemon *d;
	struct route routes[FC_HTTP_MAX_ROUTES];
	size_t n_routes;
	unsigned port;
};

struct fc_http *fc_http_new(void)
{
	return calloc(1, sizeof(struct fc_http));
}

int fc_http_route(struct fc_http *h, const char *path, fc_http_handler fn, void *ctx)
{
	struct route *r;

	if (h->n_routes == FC_HTTP_MAX_ROUTES)
		return FC_ELIMIT;
	r = &h->routes[h->n_routes];
	r->path = strdup(path);
	if (!r->path)
		return FC_ENOMEM;
	r->fn = fn;
	r->ctx = ctx;
	h->n_routes++;
	return 0;
}

static FC_MHD_RESULT send_text(struct MHD_Connection *c, unsigned status, const char *text,
			       const char *allow)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		strlen(text), (void *)(uintptr_t)text, MHD_RESPMEM_PERSISTENT);
	FC_MHD_RESULT ret;

	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* A prefix route serves the paths below it, never itself (http.h). */
static bool is_prefix(const char *path)
{
	size_t n = strlen(path);

	return n > 1 && path[n - 1] == '/';
}

static FC_MHD_RESULT on_request(void *cls, struct MHD_Connection *c, const char *url,
				const char *method, const char *version, const char *upload,
				size_t *upload_len, void **con_cls)
{
	struct fc_http *h = cls;
	const struct route *r = NULL;
	struct fc_http_reply reply = {.status = 200, .content_type = "text/plain; charset=utf-8",
				      .path = url, .conn = c};
	struct MHD_Response *resp;
	FC_MHD_RESULT ret;
	char *body = NULL;
	size_t len = 0;

	(void)version;
	(void)upload;
	(void)upload_len;
	(void)con_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return send_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n", "GET, HEAD");
	for (size_t i = 0; i < h->n_routes; i++) {
		if (strcmp(h->routes[i].path, url) == 0 && !is_prefix(h->routes[i].path)) {
			r = &h->routes[i];
			break;
		}
	}
	for (size_t i = 0; !r && i < h->n_routes; i++) {
		size_t n = strlen(h->routes[i].path);

		if (is_prefix(h->routes[i].path) && strlen(url) > n &&
		    strncmp(h->routes[i].path, url, n) == 0)
			r = &h->routes[i];
	}
	if (!r)
		return send_text(c, MHD_HTTP_NOT_FOUND, "not found\n", NULL);
	reply.body = open_memstream(&body, &len);
	if (!reply.body)
		return send_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n", NULL);
	r->fn(r->ctx, &reply);
	if (fclose(reply.body) != 0 || !body) {
		free(body);
		return send_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n", NULL);
	}
	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, reply.content_type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(c, reply.status, resp);
	MHD_destroy_response(resp);
	return ret;
}

const char *fc_http_query(const struct fc_http_reply *r, const char *key)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

int fc_http_start(struct fc_http *h, const char *listen, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	char host[64];
	const char *port_s;
	char *end;
	unsigned long port;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
	const union MHD_DaemonInfo *info;

	memset(&ss, 0, sizeof(ss));
	if (fc_hostport_split(listen, host, sizeof(host), &port_s) != 0) {
		snprintf(err, errlen, "--http-listen %s: expected ADDR:PORT or [V6ADDR]:PORT", listen);
		return FC_EINVAL;
	}
	errno = 0;
	port = strtoul(port_s, &end, 10);
	if (errno || end == port_s || *end || port > 65535) {
		snprintf(err, errlen, "--http-listen %s: bad port", listen);
		return FC_EINVAL;
	}
	if (inet_pton(AF_INET, host[0] ? host : "0.0.0.0",
		      &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
	} else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
		flags |= MHD_USE_IPv6;
	} else {
		snprintf(err, errlen, "--http-listen %s: '%s' is not an IP address", listen, host);
		return FC_EINVAL;
	}
	h->d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, h,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)32,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
	if (!h->d) {
		snprintf(err, errlen, "--http-listen %s: cannot listen (%s)", listen,
			 errno ? strerror(errno) : "libmicrohttpd refused");
		return FC_ESYS;
	}
	info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info ? info->port : (unsigned)port;
	return 0;
}

unsigned fc_http_port(const struct fc_http *h)
{
	return h->port;
}

void fc_http_free(struct fc_http *h)
{
	if (!h)
		return;
	if (h->d)
		MHD_stop_daemon(h->d);
	for (size_t i = 0; i < h->n_routes; i++)
		free(h->routes[i].path);
	free(h);
}
