/*
 * Address helpers for struct fc_addr: IPv4-mapped IPv6 is normalized to IPv4
 * so that an IPv4 flow never comes out as "::ffff:a.b.c.d" by accident.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "fc/err.h"
#include "fc/flow.h"

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

void fc_addr_set6(struct fc_addr *a, const uint8_t b[16])
{
	if (memcmp(b, v4mapped_prefix, sizeof(v4mapped_prefix)) == 0) {
		fc_addr_set4(a, b + 12);
		return;
	}
	a->family = 6;
	memcpy(a->a, b, 16);
}

char *fc_addr_str(const struct fc_addr *a, char *buf)
{
	buf[0] = '\0';
	if (a->family == 4)
		inet_ntop(AF_INET, a->a, buf, FC_ADDR_STRLEN);
	else if (a->family == 6)
		inet_ntop(AF_INET6, a->a, buf, FC_ADDR_STRLEN);
	return buf;
}

int fc_addr_parse(struct fc_addr *a, const char *s)
{
	uint8_t b[16];

	if (inet_pton(AF_INET, s, b) == 1) {
		fc_addr_set4(a, b);
		return 0;
	}
	if (inet_pton(AF_INET6, s, b) == 1) {
		fc_addr_set6(a, b);
		return 0;
	}
	return FC_EINVAL;
}

bool fc_addr_eq(const struct fc_addr *x, const struct fc_addr *y)
{
	return x->family == y->family && memcmp(x->a, y->a, fc_addr_len(x)) == 0;
}
