/* Name tables for the superblock's counters and recovery-pass bitmasks. */
#include "sb/sb_names.h"

const char * const bch_sb_counter_names[] = {
#define x(name, id) #name,
	BCH_SB_COUNTERS()
#undef x
	NULL
};

const char * const bch_sb_recovery_pass_names[] = {
#define x(name, id) #name,
	BCH_SB_RECOVERY_PASSES()
#undef x
	NULL
};

static const u8 pass_stable_ids[] = {
#define x(name, id) id,
	BCH_SB_RECOVERY_PASSES()
#undef x
};

u64 bch_sb_recovery_passes_from_stable(u64 stable)
{
	u64 ret = 0;

	for (unsigned i = 0; i < BCH_SB_PASS_NR; i++)
		if (stable & (1ULL << pass_stable_ids[i]))
			ret |= 1ULL << i;
	return ret;
}
