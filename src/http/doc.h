/*
 * A document published by one thread and served by another: the thread
 * that owns some state (a receive worker and its exporters) renders it
 * when asked, off its per-datagram path, and the HTTP thread serves the
 * newest copy. The reader never touches the owner's state, so no lock is
 * shared with the data path.
 *
 * Protocol: the reader calls fc_doc_request, which raises a flag and waits
 * (bounded) for a publication made after the request; the owner polls
 * fc_doc_wanted (one relaxed atomic load) in its loop and answers with
 * fc_doc_publish. When the owner does not answer in time (it exited, or
 * it is busy) the reader gets the previous copy, marked stale.
 *
 * Ownership: fc_doc_publish takes buf (malloc'd); fc_doc_request returns a
 * malloc'd copy the caller frees. Thread-safe.
 */
#ifndef FC_DOC_H
#define FC_DOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fc_doc;

struct fc_doc *fc_doc_new(void);
void fc_doc_free(struct fc_doc *d);

/* Owner side: true when a reader waits for a fresh copy. */
bool fc_doc_wanted(struct fc_doc *d);
/* Owner side: replaces the copy with buf (len bytes, taken) and wakes
 * readers. buf NULL publishes an empty document. */
void fc_doc_publish(struct fc_doc *d, char *buf, size_t len);

/* Reader side: waits up to timeout_ms for a copy newer than the request,
 * then copies whatever is there into *out (NUL-terminated, *out_len
 * bytes). Returns 0 when the copy is fresh, 1 when stale or never
 * published (then *out may be an empty string), FC_ENOMEM. */
int fc_doc_request(struct fc_doc *d, unsigned timeout_ms, char **out, size_t *out_len);

#endif
