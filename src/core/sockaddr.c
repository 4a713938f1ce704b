/*
 * Socket address helpers: "ADDR:PORT" / "[IPv6]:PORT" splitting and
 * sockaddr -> struct fc_addr conversion (see sockaddr.h).
 */
#include "core/sockaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "fc/err.h"

int fc_hostport_split(const char *s, char *host, size_t hostsz, const char **port)
{
	const char *colon;
	size_t n;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':')
			return FC_EINVAL;
		s++;
		n = (size_t)(rb - s);
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return FC_EINVAL;
		n = (size_t)(colon - s);
	}
	if (n >= hostsz)
		return FC_EINVAL;
	memcpy(host, s, n);
	host[n] = '\0';
	*port = colon + 1;
	return 0;
}

void fc_addr_from_sockaddr(const struct sockaddr_storage *ss, struct fc_addr *a, uint16_t *port)
{
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		fc_addr_set6(a, s6->sin6_addr.s6_addr);
		*port = ntohs(s6->sin6_port);
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		fc_addr_set4(a, (const uint8_t *)&s4->sin_addr.s_addr);
		*port = ntohs(s4->sin_port);
	}
}
