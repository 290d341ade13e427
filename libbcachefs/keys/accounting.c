/* Accounting keys: checks of the encoded position and the text form of both. */
#include <stddef.h>

#include "keys/accounting.h"
#include "keys/key_ops.h"
#include "util/names.h"

/* Device slots of a replicas entry that fit in a position. */
#define ACC_REPLICAS_DEVS_MAX \
	(sizeof(struct disk_accounting_pos) - offsetof(struct disk_accounting_pos, replicas.devs))

void bch_replicas_entry_to_text(struct printbuf *out, const struct bch_replicas_entry_v1 *e,
				unsigned max_devs)
{
	unsigned nr = e->nr_devs < max_devs ? e->nr_devs : max_devs;

	bch_prt_name(out, bch_data_type_names, BCH_DATA_NR, "data_type", e->data_type);
	pb_printf(out, ": %u/%u [", e->nr_required, e->nr_devs);
	for (unsigned i = 0; i < nr; i++)
		pb_printf(out, i ? " %u" : "%u", e->devs[i]);
	pb_char(out, ']');
}

/* The type name, a space, then what the type adds (nothing for some). */
void bch_accounting_key_to_text(struct printbuf *out, const struct disk_accounting_pos *acc)
{
	if (acc->type >= BCH_DISK_ACCOUNTING_TYPE_NR) {
		pb_printf(out, "unknown type %u", acc->type);
		return;
	}
	pb_printf(out, "%s ", bch_disk_accounting_type_names[acc->type]);

	switch (acc->type) {
	case BCH_DISK_ACCOUNTING_persistent_reserved:
		pb_printf(out, "replicas=%u", acc->persistent_reserved.nr_replicas);
		break;
	case BCH_DISK_ACCOUNTING_replicas:
		bch_replicas_entry_to_text(out, (const void *)&acc->replicas,
					   ACC_REPLICAS_DEVS_MAX);
		break;
	case BCH_DISK_ACCOUNTING_dev_data_type:
		pb_printf(out, "dev=%u data_type=", acc->dev_data_type.dev);
		bch_prt_name(out, bch_data_type_names, BCH_DATA_NR, "data_type",
			     acc->dev_data_type.data_type);
		break;
	case BCH_DISK_ACCOUNTING_compression:
		bch_prt_name(out, bch_compression_type_names, BCH_COMPRESSION_TYPE_NR,
			     "compression_type", acc->compression.type);
		break;
	case BCH_DISK_ACCOUNTING_snapshot:
		pb_printf(out, "id=%u", le32_to_cpu(acc->snapshot.id));
		break;
	case BCH_DISK_ACCOUNTING_btree: {
		u32 id = le32_to_cpu(acc->btree.id);

		pb_printf(out, "btree=%s", id < BTREE_ID_NR ? bch_btree_id_names[id] : "(unknown)");
		break;
	}
	}
}

void bch_accounting_to_text(struct printbuf *out, const struct bch_fs *c, struct bkey_s_c k)
{
	struct disk_accounting_pos acc = bch_bpos_to_accounting(k.k->p);
	const u64 *d = k.v;

	bch_accounting_key_to_text(out, &acc);
	for (unsigned i = 0; i < bch_accounting_counters(k.k); i++)
		pb_printf(out, " %lli", (long long)le64_to_cpu(d[i]));
}

/* Bytes of the position a type uses: the rest must be zero. */
static unsigned acc_pos_used(const struct disk_accounting_pos *acc)
{
	switch (acc->type) {
	case BCH_DISK_ACCOUNTING_nr_inodes:
	case BCH_DISK_ACCOUNTING_rebalance_work:
		return 1;
	case BCH_DISK_ACCOUNTING_persistent_reserved:
	case BCH_DISK_ACCOUNTING_compression:
		return 2;
	case BCH_DISK_ACCOUNTING_replicas:
		return offsetof(struct disk_accounting_pos, replicas.devs) +
			acc->replicas.nr_devs;
	case BCH_DISK_ACCOUNTING_dev_data_type:
		return 3;
	case BCH_DISK_ACCOUNTING_snapshot:
	case BCH_DISK_ACCOUNTING_btree:
		return 5;
	default:
		/* inum and unknown types: whatever they hold is theirs */
		return sizeof(*acc);
	}
}

static int check_replicas(struct bkey_check *chk, const struct disk_accounting_pos *acc)
{
	unsigned nr = acc->replicas.nr_devs, req = acc->replicas.nr_required;

	if (!nr)
		return bkey_invalid(chk, BCH_FSERR_accounting_key_replicas_nr_devs_0,
				    "accounting key replicas entry with nr_devs=0");
	if (req > nr || (req > 1 && req == nr))
		return bkey_invalid(chk, BCH_FSERR_accounting_key_replicas_nr_required_bad,
				    "accounting key replicas entry with bad nr_required");
	for (unsigned i = 0; i + 1 < nr && i + 1 < ACC_REPLICAS_DEVS_MAX; i++)
		if (acc->replicas.devs[i] >= acc->replicas.devs[i + 1])
			return bkey_invalid(chk, BCH_FSERR_accounting_key_replicas_devs_unsorted,
					    "accounting key replicas entry with unsorted devs");
	return 0;
}

int bch_accounting_validate(struct bkey_check *chk, struct bkey_s_c k)
{
	struct disk_accounting_pos acc = bch_bpos_to_accounting(k.k->p);
	unsigned used;
	int ret;

	/* the version orders updates for journal replay */
	if (bversion_zero(k.k->bversion))
		return bkey_invalid(chk, BCH_FSERR_accounting_key_version_0,
				    "accounting key with version=0");
	if (acc.type == BCH_DISK_ACCOUNTING_replicas) {
		ret = check_replicas(chk, &acc);
		if (ret)
			return ret;
	}

	used = acc_pos_used(&acc);
	for (unsigned i = used; i < sizeof(acc); i++)
		if (acc.raw[i])
			return bkey_invalid(chk, BCH_FSERR_accounting_key_junk_at_end,
					    "junk at end of accounting key");
	return 0;
}

bool bch_replicas_devs_exist(const struct bch_fs *c, const struct bch_replicas_entry_v1 *e)
{
	for (unsigned i = 0; i < e->nr_devs; i++)
		if (e->devs[i] != BCH_SB_MEMBER_INVALID &&
		    (e->devs[i] >= BCH_SB_MEMBERS_MAX || !c->sb.members[e->devs[i]].exists))
			return false;
	return true;
}
