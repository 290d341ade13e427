/* The options a file's data is written with: the filesystem's, overridden per inode. */
#include <string.h>

#include "data/io_opts.h"
#include "btree/trans.h"
#include "checksum/checksum.h"
#include "sb/opts.h"
#include "util/errcode.h"

void bch_io_opts_from_fs(const struct bch_fs *c, struct bch_io_opts *o)
{
	const struct bch_sb *sb = c->disk_sb.sb;

	memset(o, 0, sizeof(*o));
	o->data_checksum	 = bch_sb_opt_get(sb, BCH_SB_OPT_data_checksum);
	o->compression		 = bch_sb_opt_get(sb, BCH_SB_OPT_compression);
	o->background_compression = bch_sb_opt_get(sb, BCH_SB_OPT_background_compression);
	o->data_replicas	 = bch_sb_opt_get(sb, BCH_SB_OPT_data_replicas);
	o->promote_target	 = bch_sb_opt_get(sb, BCH_SB_OPT_promote_target);
	o->foreground_target	 = bch_sb_opt_get(sb, BCH_SB_OPT_foreground_target);
	o->background_target	 = bch_sb_opt_get(sb, BCH_SB_OPT_background_target);
	o->erasure_code		 = bch_sb_opt_get(sb, BCH_SB_OPT_erasure_code);
	o->nocow		 = bch_sb_opt_get(sb, BCH_SB_OPT_nocow);
	if (!o->data_replicas)
		o->data_replicas = 1;
}

void bch_io_opts_apply_inode(struct bch_io_opts *o, const struct bch_inode_unpacked *u)
{
#define inode_opt(field, name)	do { if (u->field) o->name = u->field - 1; } while (0)
	inode_opt(bi_data_checksum, data_checksum);
	inode_opt(bi_compression, compression);
	inode_opt(bi_project, project);
	inode_opt(bi_background_compression, background_compression);
	inode_opt(bi_data_replicas, data_replicas);
	inode_opt(bi_promote_target, promote_target);
	inode_opt(bi_foreground_target, foreground_target);
	inode_opt(bi_background_target, background_target);
	inode_opt(bi_erasure_code, erasure_code);
	inode_opt(bi_nocow, nocow);
#undef inode_opt
	if (o->nocow) {
		o->compression = 0;
		o->background_compression = 0;
		o->data_checksum = 0;
		o->erasure_code = 0;
	}
}

int bch_io_opts_get(struct bch_fs *c, u64 inum, u32 snapshot, struct bch_io_opts *o,
		    struct printbuf *err)
{
	union {
		struct bkey_i k;
		u64 u64s[BKEY_U64s_MAX];
	} b;
	struct bch_inode_unpacked u;
	struct btree_trans t;
	int ret;

	bch_trans_init(&t, c);
	ret = bch_trans_lookup(&t, BTREE_ID_inodes, 0, SPOS(0, inum, snapshot), &b.k,
			       BKEY_U64s_MAX, err);
	bch_trans_exit(&t);
	if (ret == 0 || (ret > 0 && !bkey_is_inode(&b.k.k))) {
		pb_printf(err, "inode %llu:%u not found", (unsigned long long)inum, snapshot);
		return -BCH_ERR_inode_not_found;
	}
	if (ret < 0)
		return ret;
	ret = bch_inode_unpack(bkey_i_to_s_c(&b.k), &u);
	if (ret) {
		pb_printf(err, "inode %llu:%u cannot be decoded", (unsigned long long)inum, snapshot);
		return ret;
	}
	bch_io_opts_from_fs(c, o);
	bch_io_opts_apply_inode(o, &u);
	return 0;
}

unsigned bch_io_opts_csum_type(const struct bch_io_opts *o)
{
	enum bch_csum_type t;

	if (o->nocow)
		return BCH_CSUM_none;
	t = bch_csum_opt_to_type(o->data_checksum, true);
	return t == BCH_CSUM_NR ? BCH_CSUM_none : t;
}
