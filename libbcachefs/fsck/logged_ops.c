/*
 * resume_logged_ops: an operation the kernel logs before it starts (a
 * truncate, an insert or collapse of a range) and deletes when it is done
 * is finished after a crash, as every mount of the kernel does.
 */
#include <stdlib.h>
#include <string.h>

#include "fsck/ns_common.h"
#include "fsck/passes.h"
#include "btree/iter.h"
#include "fs/fs_ops.h"
#include "keys/key_ops.h"
#include "keys/key_types.h"
#include "util/errcode.h"
#include "util/grow.h"

/*
 * The operation again, in the subvolume it was made in: a truncate sets
 * i_size and deletes the extents past it (the data path zeroed the last
 * block before the operation was logged), with the times unchanged; an
 * insert or collapse goes on from the state its key records.  Done, or
 * with nothing left to do (its inode or subvolume gone, an insert past
 * the end), the key goes, as in the kernel.  In a subvolume with
 * snapshots it is left for the kernel: *done false.
 */
static int logged_op_resume(struct ns_fix *x, struct bkey_i *op, bool *done)
{
	struct printbuf *err = &x->f->err;
	bool truncate = op->k.type == KEY_TYPE_logged_op_truncate;
	u32 subvol;
	u64 root;
	int ret = ns_fix_begin(x);

	*done = false;
	if (ret)
		return ret;
	if (truncate) {
		struct bch_logged_op_truncate t;

		bkey_val_copy(&t, sizeof(t), bkey_i_to_s_c(op));
		subvol = le32_to_cpu(t.subvol);
		ret = bch_ns_subvol_enter(&x->ns, subvol, &root, err);
		if (!ret && x->ns.see_ancestors)
			return 0;
		ret = ret ?: bch_ns_truncate_resume(&x->ns, le64_to_cpu(t.inum),
						    le64_to_cpu(t.new_i_size), err);
	} else {
		struct bch_logged_op_finsert f;

		bkey_val_copy(&f, sizeof(f), bkey_i_to_s_c(op));
		subvol = le32_to_cpu(f.subvol);
		ret = bch_ns_subvol_enter(&x->ns, subvol, &root, err);
		if (!ret && x->ns.see_ancestors)
			return 0;
		ret = ret ?: bch_ns_finsert(&x->ns, op, err);
	}
	*done = true;
	if (ret && (bch_err_class(ret) == -ENOENT || ret == -BCH_ERR_bad_argument)) {
		if (ret == -BCH_ERR_bad_argument)
			bch_fsck_info(x->f, "logged operation dropped: %s", pb_cstr(err));
		pb_reset(err);
		ret = 0;
	}
	return ret ? bch_fsck_op_error(x->f, ret, "resuming a logged operation") : 0;
}

static int logged_op(struct bch_fsck *f, struct ns_fix *x, struct bkey_i *op, struct printbuf *buf)
{
	bool done;
	int ret;

	pb_reset(buf);
	bch_bkey_val_to_text(buf, f->c, bkey_i_to_s_c(op));
	/* fixed or not, the operation is finished: the kernel's order */
	if (f->was_clean)
		bch_fsck_problem(f, BCH_FSCK_ERR_logged_op_but_clean,
				 "filesystem marked as clean but have logged op\n%s", buf->buf);
	ret = logged_op_resume(x, op, &done);
	if (ret)
		return ret;
	if (!done) {
		if (f->was_clean)
			bch_fsck_fix_failed(f, BCH_FSCK_ERR_logged_op_but_clean);
		bch_fsck_info(f, "logged operation left for the kernel to finish (subvolume with snapshots): %s",
			      buf->buf);
		return 0;
	}
	return ns_fix_delete(x, BTREE_ID_logged_ops, op->k.p);
}

int bch_resume_logged_ops(struct bch_fsck *f)
{
	struct ns_fix x = { .f = f };
	struct printbuf buf = PRINTBUF;
	struct btree_iter it;
	struct bkey_s_c k;
	union { struct bkey_i k; u64 pad[BKEY_U64s_MAX]; } *ops = NULL;
	size_t nr = 0, size = 0;
	int ret;

	/* the few operations first: resuming one changes the btree */
	bch_btree_iter_init(&it, f->c, BTREE_ID_logged_ops, POS_MIN, 0);
	while ((ret = bch_btree_iter_peek(&it, &k)) > 0) {
		if (k.k->type == KEY_TYPE_logged_op_truncate || k.k->type == KEY_TYPE_logged_op_finsert) {
			if (bch_grow(&ops, &size, nr, 4)) {
				ret = -BCH_ERR_nomem;
				break;
			}
			ops[nr].k.k = *k.k;
			memcpy(ops[nr++].k.v, k.v, bkey_val_bytes(k.k));
		}
		bch_btree_iter_advance(&it);
	}
	if (ret < 0)
		bch_fsck_op_error(f, ret, "reading the logged operations: %s", pb_cstr(&it.err));
	bch_btree_iter_exit(&it);

	for (size_t i = 0; !ret && i < nr; i++)
		ret = logged_op(f, &x, &ops[i].k, &buf);
	ns_fix_end(&x);
	pb_exit(&buf);
	free(ops);
	return ret;
}
