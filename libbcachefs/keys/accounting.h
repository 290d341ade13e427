/* Accounting keys: what each counter counts, decoded from the key's position. */
#ifndef BCH_KEYS_ACCOUNTING_H
#define BCH_KEYS_ACCOUNTING_H

#include <string.h>

#include "keys/key_types.h"

/* The 20 bytes of the position, in memory order, are the counter's identity. */
static inline struct disk_accounting_pos bch_bpos_to_accounting(struct bpos p)
{
	struct disk_accounting_pos acc;

	memcpy(&acc, &p, sizeof(acc));
	return acc;
}

static inline struct bpos bch_accounting_to_bpos(const struct disk_accounting_pos *acc)
{
	struct bpos p;

	memcpy(&p, acc, sizeof(p));
	return p;
}

/* Counters in an accounting key's value. */
static inline unsigned bch_accounting_counters(const struct bkey *k)
{
	return bkey_val_u64s(k);
}

/* Whether every counter of an accounting key is zero (it counts nothing). */
static inline bool bch_accounting_is_zero(struct bkey_s_c k)
{
	const __le64 *v = k.v;

	for (unsigned i = 0; i < bch_accounting_counters(k.k); i++)
		if (v[i])
			return false;
	return true;
}

/* "replicas btree: 1/1 [0]", "dev_data_type dev=0 data_type=free", ... */
void bch_accounting_key_to_text(struct printbuf *, const struct disk_accounting_pos *);

/* Whether every device replicas entry e names is a member (BCH_SB_MEMBER_INVALID, a removed one, counts as one). */
bool bch_replicas_devs_exist(const struct bch_fs *, const struct bch_replicas_entry_v1 *e);

/* "user: 1/2 [0 1]": data type, required/total devices, device list. */
void bch_replicas_entry_to_text(struct printbuf *, const struct bch_replicas_entry_v1 *,
				unsigned max_devs);

#endif
