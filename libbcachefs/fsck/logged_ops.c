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
 * The truncate again, in the subvolume it was made in: i_size set and
 * the extents past it deleted (the data path zeroed the last block
 * before the operation was logged).  An inode or subvolume that is gone
 * leaves nothing to finish: the operation goes, as in the kernel.
 */
static int truncate_resume(struct ns_fix *x, struct bkey_s_c k)
{
	struct bch_logged_op_truncate op;
	u64 root;
	int ret = ns_fix_begin(x);

	if (ret)
		return ret;
	bkey_val_copy(&op, sizeof(op), k);
	ret = bch_ns_subvol_enter(&x->ns, le32_to_cpu(op.subvol), &root, &x->f->err) ?:
	      bch_ns_truncate_resume(&x->ns, le64_to_cpu(op.inum), le64_to_cpu(op.new_i_size), &x->f->err);
	if (ret && bch_err_class(ret) == -ENOENT) {
		pb_reset(&x->f->err);
		ret = 0;
	}
	return ret ? bch_fsck_op_error(x->f, ret, "resuming a logged truncate") : 0;
}

static int logged_op(struct bch_fsck *f, struct ns_fix *x, struct bkey_s_c k, struct printbuf *buf)
{
	int ret;

	pb_reset(buf);
	bch_bkey_val_to_text(buf, f->c, k);
	/* fixed or not, the operation is finished: the kernel's order */
	if (f->was_clean)
		bch_fsck_problem(f, BCH_FSCK_ERR_logged_op_but_clean,
				 "filesystem marked as clean but have logged op\n%s", buf->buf);
	if (k.k->type != KEY_TYPE_logged_op_truncate) {
		/* an insert or collapse of a range: left for the kernel's next mount */
		if (f->was_clean)
			bch_fsck_fix_failed(f, BCH_FSCK_ERR_logged_op_but_clean);
		bch_fsck_info(f, "logged operation left for the kernel to finish: %s", buf->buf);
		return 0;
	}
	ret = truncate_resume(x, k);
	return ret ?: ns_fix_delete(x, BTREE_ID_logged_ops, k.k->p);
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
		ret = logged_op(f, &x, bkey_i_to_s_c(&ops[i].k), &buf);
	ns_fix_end(&x);
	pb_exit(&buf);
	free(ops);
	return ret;
}
