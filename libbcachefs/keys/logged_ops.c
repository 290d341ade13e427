/* Logged operation keys: truncates and range inserts/collapses in progress. */
#include "keys/key_ops.h"

void bch_logged_op_truncate_to_text(struct printbuf *out, const struct bch_fs *c,
				    struct bkey_s_c k)
{
	struct bch_logged_op_truncate op;

	bkey_val_copy(&op, sizeof(op), k);
	pb_printf(out, "subvol=%u inum=%llu new_i_size=%llu", le32_to_cpu(op.subvol),
		  (unsigned long long)le64_to_cpu(op.inum),
		  (unsigned long long)le64_to_cpu(op.new_i_size));
}

/* dst_offset is signed: a collapse moves extents down. */
void bch_logged_op_finsert_to_text(struct printbuf *out, const struct bch_fs *c,
				   struct bkey_s_c k)
{
	struct bch_logged_op_finsert op;

	bkey_val_copy(&op, sizeof(op), k);
	pb_printf(out, "subvol=%u inum=%llu dst_offset=%lli src_offset=%llu",
		  le32_to_cpu(op.subvol), (unsigned long long)le64_to_cpu(op.inum),
		  (long long)le64_to_cpu(op.dst_offset),
		  (unsigned long long)le64_to_cpu(op.src_offset));
}
