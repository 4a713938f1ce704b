/*
 * A small HTTP server for operators (libmicrohttpd, one internal polling
 * thread, so nothing here runs on a receive thread). Shared by the
 * programs: it knows no collector module. A program registers a handler
 * per exact path before starting; a handler writes the body to a stream
 * and sets the status and content type. Only GET and HEAD are served;
 * other methods get 405, unknown paths 404.
 *
 * Thread affinity: handlers run on the server's thread, one request at a
 * time; they must only read state other threads publish (see doc.h and
 * fc_metrics_publish).
 *
 * Ownership: the server copies paths; ctx is borrowed and must outlive
 * fc_http_free.
 */
#ifndef FC_HTTP_H
#define FC_HTTP_H

#include <stddef.h>
#include <stdio.h>

struct fc_http;

#define FC_HTTP_MAX_ROUTES 16

struct fc_http_reply {
	unsigned status;          /* 200 unless the handler says otherwise */
	const char *content_type; /* static string; default text/plain */
	FILE *body;               /* write the body here */
	const char *path;         /* the request's path (percent-decoded), for prefix routes */
	void *conn;               /* the server's connection, for fc_http_query */
};

typedef void (*fc_http_handler)(void *ctx, struct fc_http_reply *r);

struct fc_http *fc_http_new(void);

/* Adds a route; returns 0 or FC_ELIMIT / FC_ENOMEM. Before fc_http_start.
 * A path that ends in '/' (other than "/") is a prefix route: it serves
 * every longer path below it, not itself (the handler reads r->path);
 * exact routes are matched first. */
int fc_http_route(struct fc_http *h, const char *path, fc_http_handler fn, void *ctx);

/* The value of query parameter key (?key=value) of the request being
 * answered, NULL when absent. Valid during the handler call. */
const char *fc_http_query(const struct fc_http_reply *r, const char *key);

/* Listens on "ADDR:PORT" or "[V6ADDR]:PORT" (port 0: any free port) and
 * starts serving. Returns 0, or an fc_err with a one-line reason in err. */
int fc_http_start(struct fc_http *h, const char *listen, char *err, size_t errlen);

/* The bound port after fc_http_start (useful with port 0). */
unsigned fc_http_port(const struct fc_http *h);

/* Stops the server (waits for its thread) and frees h. Accepts NULL. */
void fc_http_free(struct fc_http *h);

#endif
