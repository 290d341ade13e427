/* The replicas entries the accounting counts data in. */
#include "alloc/replicas.h"
#include "btree/iter.h"
#include "keys/accounting.h"

int bch_counted_replicas_for_each(struct bch_fs *c,
				  int (*fn)(void *ctx, const struct bch_replicas_entry_v1 *e,
					    struct bpos pos),
				  void *ctx, struct printbuf *err)
{
	struct btree_iter it;
	struct bkey_s_c k;
	int ret;

	bch_btree_iter_init(&it, c, BTREE_ID_accounting, POS_MIN, 0);
	while ((ret = bch_btree_iter_peek(&it, &k)) > 0) {
		struct disk_accounting_pos acc = bch_bpos_to_accounting(k.k->p);

		if (k.k->type == KEY_TYPE_accounting && acc.type == BCH_DISK_ACCOUNTING_replicas &&
		    !bch_accounting_is_zero(k) &&
		    (ret = fn(ctx, (const struct bch_replicas_entry_v1 *)&acc.replicas, k.k->p)))
			break;
		bch_btree_iter_advance(&it);
	}
	if (ret < 0 && *pb_cstr(&it.err))
		pb_printf(err, "%s", pb_cstr(&it.err));
	bch_btree_iter_exit(&it);
	return ret;
}
