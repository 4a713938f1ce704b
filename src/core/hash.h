/*
 * The one hash function of the project's in-memory tables (exporter
 * counters, template sessions, interface names, sequence slots): FNV-1a over
 * the key bytes, finished with the 64-bit avalanche of MurmurHash3 (fmix64)
 * so that the low bits are usable as a power-of-two table index. Keys made
 * of several parts are hashed by chaining: the result of one call is the
 * seed of the next. Not for untrusted-collision resistance: the tables it
 * feeds are bounded by caps, not by the hash.
 */
#ifndef FC_CORE_HASH_H
#define FC_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define FC_HASH_SEED 1469598103934665603ull /* FNV-1a 64-bit offset basis */

static inline uint64_t fc_hash(uint64_t seed, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t h = seed;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

#endif
