/* The unit tests' deterministic randomness: xorshift64, its state set by each test. */
#ifndef BCH_UNIT_RNG_H
#define BCH_UNIT_RNG_H

#include "bcachefs/types.h"

static u64 rng_state;

static inline u64 rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

#endif
