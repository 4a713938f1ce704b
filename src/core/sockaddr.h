/*
 * Socket address helpers shared by the UDP input (src/input/udp.c) and the
 * tools (tools/flowgen): the one place that splits "ADDR:PORT" /
 * "[IPv6]:PORT" text and turns a struct sockaddr_storage into a struct
 * fc_addr plus port, so the daemon and the generator agree on both.
 */
#ifndef FC_SOCKADDR_H
#define FC_SOCKADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "fc/flow.h"

/*
 * Splits s into host text (copied into host, NUL-terminated, brackets
 * removed) and *port, which points into s after the last ':' (or after
 * "]:"). The host may be empty and may itself contain ':' when it is not
 * bracketed ("::1:2055" gives "::1"); callers decide what they accept.
 * The port is not checked. Returns 0, or FC_EINVAL when there is no port
 * separator, a '[' without "]:", or a host that does not fit in hostsz.
 */
int fc_hostport_split(const char *s, char *host, size_t hostsz, const char **port);

/* Sets *a and *port (host order) from an AF_INET or AF_INET6 address;
 * IPv4-mapped IPv6 comes out as IPv4 (fc_addr_set6). */
void fc_addr_from_sockaddr(const struct sockaddr_storage *ss, struct fc_addr *a, uint16_t *port);

#endif
