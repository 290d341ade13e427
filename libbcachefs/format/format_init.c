/* Initializing a formatted filesystem: journal buckets, bucket marks, free space, the root subvolume and directory, then a clean shutdown. */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "format/format.h"
#include "alloc/allocator.h"
#include "alloc/derive.h"
#include "btree/iter.h"
#include "btree/trans.h"
#include "checksum/str_hash.h"
#include "core/fs.h"
#include "core/shutdown.h"
#include "journal/journal_write.h"
#include "keys/inode.h"
#include "sb/sb_edit.h"
#include "sb/sb_fs.h"
#include "util/errcode.h"
#include "util/grow.h"

#define LOST_FOUND_INO	(BCACHEFS_ROOT_INO + 1)
#define SNAPSHOT_ROOT	0xffffffffU	/* the first snapshot id: U32_MAX */
#define DIRENT_TYPE_DIR	4		/* DT_DIR */

/* ---- journal buckets ---- */

struct sb_buckets {
	u64 *b;
	size_t nr, size;
};

static int sb_bucket_note(void *ctx, u64 bucket, enum bch_data_type type, unsigned sectors)
{
	struct sb_buckets *s = ctx;

	int ret = bch_grow(&s->b, &s->size, s->nr, 64);

	if (ret)
		return ret;
	s->b[s->nr++] = bucket;
	return 0;
}

static bool sb_bucket_is(const struct sb_buckets *s, u64 b)
{
	for (size_t i = 0; i < s->nr; i++)
		if (s->b[i] == b)
			return true;
	return false;
}

/* The first buckets past first_bucket that hold no superblock, as the kernel picks them. */
static int journal_buckets_pick(struct bch_fs *c, struct bch_dev *ca, struct printbuf *err)
{
	const struct bch_member_cpu *m = &ca->mi;
	unsigned want = bch_format_journal_buckets(m->nbuckets, m->bucket_size);
	struct sb_buckets sb = { 0 };
	u64 *jb = calloc(want ? want : 1, sizeof(*jb));
	unsigned nr = 0;
	int ret = jb ? bch_dev_metadata_buckets(&ca->sb.sb->layout, m, NULL, 0,
						  sb_bucket_note, &sb) : -BCH_ERR_nomem;

	for (u64 b = m->first_bucket; !ret && nr < want && b < m->nbuckets; b++)
		if (!sb_bucket_is(&sb, b))
			jb[nr++] = b;
	free(sb.b);
	if (!ret && nr < want) {
		pb_printf(err, "%s: room for %u of the %u journal buckets only", ca->path, nr, want);
		ret = -BCH_ERR_no_space;
	}
	if (ret) {
		free(jb);
		return ret;
	}
	free(ca->journal_buckets);
	ca->journal_buckets = jb;
	ca->nr_journal_buckets = nr;
	return bch_sb_journal_v2_set(&ca->sb, jb, nr, err);
}

/* ---- marking superblock and journal buckets ---- */

struct mark_ctx {
	struct btree_trans *t;
	unsigned dev;
	struct printbuf *err;
};

#define MARK_BATCH	256

static int mark_bucket(void *_ctx, u64 bucket, enum bch_data_type type, unsigned sectors)
{
	struct mark_ctx *ctx = _ctx;
	struct bch_alloc_v4 *a;
	struct {
		struct bkey_i k;
		struct bch_alloc_v4 v;
	} key;
	u64 buf[BKEY_U64s + 8 + 8];
	int ret = bch_trans_lookup(ctx->t, BTREE_ID_alloc, 0, POS(ctx->dev, bucket),
				   (struct bkey_i *)buf, sizeof(buf) / 8, &ctx->t->err);

	if (ret < 0)
		return ret;
	memset(&key, 0, sizeof(key));
	key.k.k.u64s = sizeof(key) / 8;
	key.k.k.format_whiteout = KEY_FORMAT_CURRENT;
	key.k.k.type = KEY_TYPE_alloc_v4;
	key.k.k.p = POS(ctx->dev, bucket);
	if (ret)
		bch_alloc_to_v4(bkey_i_to_s_c((struct bkey_i *)buf), &key.v);
	set_alloc_v4_backpointers_start(&key.v, BCH_ALLOC_V4_U64s);
	a = &key.v;
	a->dirty_sectors = cpu_to_le32(le32_to_cpu(a->dirty_sectors) + sectors);
	a->data_type = type;
	ret = bch_trans_update(ctx->t, BTREE_ID_alloc, 0, &key.k, 0);
	/* big devices have thousands of journal buckets: commit in batches that fit a jset */
	if (!ret && ctx->t->nr_updates >= MARK_BATCH)
		ret = bch_trans_commit(ctx->t, ctx->err);
	return ret;
}

/* The free buckets a device starts with, then its superblock and journal buckets. */
static int mark_dev(struct btree_trans *t, struct bch_dev *ca, struct printbuf *err)
{
	struct disk_accounting_pos pos;
	struct mark_ctx ctx = { t, ca->idx, err };
	s64 free[3] = { (s64)(ca->mi.nbuckets - ca->mi.first_bucket), 0, 0 };
	int ret;

	memset(&pos, 0, sizeof(pos));
	pos.type = BCH_DISK_ACCOUNTING_dev_data_type;
	pos.dev_data_type.dev = ca->idx;
	pos.dev_data_type.data_type = BCH_DATA_free;
	ret = bch_trans_accounting_add(t, &pos, free, 3);
	return ret ?: bch_dev_metadata_buckets(&ca->sb.sb->layout, &ca->mi, ca->journal_buckets,
					       ca->nr_journal_buckets, mark_bucket, &ctx);
}

/* ---- free space ---- */

static int freespace_run(struct btree_trans *t, unsigned dev, u64 start, u64 end)
{
	struct bkey_i k;

	if (start >= end)
		return 0;
	memset(&k, 0, sizeof(k));
	k.k.u64s = BKEY_U64s;
	k.k.format_whiteout = KEY_FORMAT_CURRENT;
	k.k.type = KEY_TYPE_set;
	k.k.p = POS(dev, end);
	k.k.size = end - start;
	return bch_trans_update(t, BTREE_ID_freespace, 0, &k,
				BCH_UPDATE_NO_TRIGGERS | BCH_UPDATE_NO_EXTENT_OVERWRITE);
}

/* One freespace extent per run of buckets without an alloc key (gen 0, genbits 0). */
static int freespace_init(struct btree_trans *t, struct bch_dev *ca, struct printbuf *err)
{
	struct btree_iter it;
	struct bkey_s_c k;
	u64 next = ca->mi.first_bucket;
	int ret;

	bch_btree_iter_init(&it, t->c, BTREE_ID_alloc, POS(ca->idx, 0), 0);
	while ((ret = bch_btree_iter_peek(&it, &k)) > 0 && k.k->p.inode == ca->idx) {
		struct bch_alloc_v4 a;

		bch_alloc_to_v4(k, &a);
		if (a.data_type != BCH_DATA_free) {
			ret = freespace_run(t, ca->idx, next, k.k->p.offset);
			if (ret)
				break;
			next = k.k->p.offset + 1;
		}
		bch_btree_iter_advance(&it);
	}
	if (ret < 0)
		pb_printf(err, "%s", pb_cstr(&it.err));
	bch_btree_iter_exit(&it);
	if (ret >= 0)
		ret = freespace_run(t, ca->idx, next, ca->mi.nbuckets);
	if (!ret) {
		for (unsigned i = 0; i < BCH_SB_MEMBERS_MAX; i++)
			if (t->c->devs[i])
				bch_sb_member_set_freespace_initialized(t->c->devs[i]->sb.sb, ca->idx, true);
		bch_fs_sb_refresh(t->c);
	}
	return ret;
}

/* ---- the root subvolume, root directory and lost+found ---- */

static int key_add(struct btree_trans *t, enum btree_id btree, unsigned type, struct bpos pos,
		   const void *val, unsigned bytes)
{
	u64 buf[BKEY_U64s + 16];
	struct bkey_i *k = (struct bkey_i *)buf;

	memset(buf, 0, sizeof(buf));
	k->k.u64s = BKEY_U64s + (bytes + 7) / 8;
	k->k.format_whiteout = KEY_FORMAT_CURRENT;
	k->k.type = type;
	k->k.p = pos;
	memcpy(k->v, val, bytes);
	return bch_trans_update(t, btree, 0, k, 0);
}

static int subvolume_keys(struct btree_trans *t)
{
	struct bch_snapshot_tree tree = {
		.master_subvol = cpu_to_le32(BCACHEFS_ROOT_SUBVOL),
		.root_snapshot = cpu_to_le32(SNAPSHOT_ROOT),
	};
	struct bch_snapshot snap = {
		.subvol = cpu_to_le32(BCACHEFS_ROOT_SUBVOL),
		.tree = cpu_to_le32(1),
	};
	struct bch_subvolume subvol = {
		.snapshot = cpu_to_le32(SNAPSHOT_ROOT),
		.inode = cpu_to_le64(BCACHEFS_ROOT_INO),
	};

	set_snapshot_is_subvol(&snap, 1);
	return key_add(t, BTREE_ID_snapshot_trees, KEY_TYPE_snapshot_tree, POS(0, 1), &tree,
		       sizeof(tree)) ?:
	       key_add(t, BTREE_ID_snapshots, KEY_TYPE_snapshot, POS(0, SNAPSHOT_ROOT), &snap,
		       sizeof(snap)) ?:
	       key_add(t, BTREE_ID_subvolumes, KEY_TYPE_subvolume, POS(0, BCACHEFS_ROOT_SUBVOL),
		       &subvol, sizeof(subvol));
}

static u64 random_u64(void)
{
	u64 v = 0;

	while (getrandom(&v, sizeof(v), 0) != sizeof(v))
		;
	return v;
}

/* Times are nanoseconds since the filesystem's time base. */
static u64 fs_time_now(const struct bch_format_opts *opts)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec - opts->time_base_ns;
}

static void dir_inode_init(struct bch_inode_unpacked *u, u64 inum, u16 mode, unsigned hash_type,
			   u64 now)
{
	memset(u, 0, sizeof(*u));
	u->bi_inum = inum;
	u->bi_snapshot = SNAPSHOT_ROOT;
	u->bi_mode = mode;
	u->bi_hash_seed = random_u64();
	u->bi_flags = hash_type << 20;
	u->bi_atime = u->bi_ctime = u->bi_mtime = u->bi_otime = now;
}

static int inode_add(struct btree_trans *t, const struct bch_inode_unpacked *u)
{
	u64 buf[BKEY_U64s + 32];
	int ret = bch_inode_pack(u, (struct bkey_i *)buf, sizeof(buf) / 8);

	return ret ?: bch_trans_update(t, BTREE_ID_inodes, 0, (struct bkey_i *)buf, 0);
}

static int root_dir(struct btree_trans *t, const struct bch_format_opts *opts)
{
	const struct bch_sb_cpu *sb = &t->c->sb;
	unsigned hash = bch_str_hash_opt_to_type(opts->opt[BCH_SB_OPT_str_hash],
		le64_to_cpu(t->c->disk_sb.sb->features[0]) & (1ULL << BCH_FEATURE_new_siphash));
	static const char name[] = "lost+found";
	struct bch_inode_unpacked root, lf;
	u64 now = fs_time_now(opts);
	struct {
		struct bch_dirent d;
		u8 name[16];
	} dirent;

	(void)sb;
	dir_inode_init(&root, BCACHEFS_ROOT_INO, S_IFDIR | 0755, hash, now);
	root.bi_subvol = BCACHEFS_ROOT_SUBVOL;
	root.bi_nlink = 1;	/* directories count their subdirectories */
	dir_inode_init(&lf, LOST_FOUND_INO, S_IFDIR | 0700, hash, now);
	lf.bi_dir = BCACHEFS_ROOT_INO;
	lf.bi_dir_offset = bch_dirent_hash(hash, root.bi_hash_seed, name, strlen(name));

	memset(&dirent, 0, sizeof(dirent));
	dirent.d.d_inum = cpu_to_le64(LOST_FOUND_INO);
	dirent.d.d_type = DIRENT_TYPE_DIR;
	memcpy(dirent.d.d_name, name, strlen(name));
	return inode_add(t, &root) ?: inode_add(t, &lf) ?:
	       key_add(t, BTREE_ID_dirents, KEY_TYPE_dirent,
		       SPOS(BCACHEFS_ROOT_INO, lf.bi_dir_offset, SNAPSHOT_ROOT), &dirent,
		       offsetof(struct bch_dirent, d_name) + strlen(name));
}

/* ---- the whole initialization ---- */

static int commit(struct btree_trans *t, const char *what, struct printbuf *err)
{
	int ret = bch_trans_commit(t, err);

	if (ret)
		pb_printf(err, " (%s)", what);
	return ret;
}

static int copy_source(struct bch_fs *c, const struct bch_format_opts *opts, struct printbuf *err)
{
	struct bch_import_stats stats;

	if (!opts->source)
		return 0;
	return bch_import_tree(c, opts->source, opts->import,
			       opts->import_stats ? opts->import_stats : &stats, err);
}

static int initialize(struct bch_fs *c, const struct bch_format_opts *opts, struct printbuf *err)
{
	struct btree_trans t;
	int ret = 0;

	/* in the kernel's order: these fields come before journal_v2 */
	for (unsigned i = 0; i < BCH_SB_MEMBERS_MAX && !ret; i++)
		if (c->devs[i])
			ret = bch_sb_mark_initialized(&c->devs[i]->sb, err) ?:
			      journal_buckets_pick(c, c->devs[i], err);
	bch_fs_sb_refresh(c);
	if (!ret)
		ret = bch_journal_write_start_new(c, 1);
	if (ret)
		return ret;

	bch_trans_init(&t, c);
	for (unsigned i = 0; i < BCH_SB_MEMBERS_MAX && !ret; i++)
		if (c->devs[i])
			ret = mark_dev(&t, c->devs[i], err);
	ret = ret ?: commit(&t, "marking superblock and journal buckets", err);
	for (unsigned i = 0; i < BCH_SB_MEMBERS_MAX && !ret; i++)
		if (c->devs[i])
			ret = freespace_init(&t, c->devs[i], err);
	ret = ret ?: commit(&t, "initializing free space", err) ?:
		bch_allocator_start(c, err) ?:
		subvolume_keys(&t) ?: root_dir(&t, opts) ?:
		commit(&t, "creating the root directory", err) ?:
		copy_source(c, opts, err) ?:
		bch_fs_clean_shutdown(c, err);
	bch_trans_exit(&t);
	return ret;
}

int bch_format_initialize(const struct bch_format_opts *opts, const struct bch_format_dev *devs,
			  unsigned nr, struct printbuf *err)
{
	struct bch_open_opts oo = { .new_fs = true };
	char **paths = calloc(nr ? nr : 1, sizeof(*paths));
	struct bch_fs *c = NULL;
	int ret;

	if (!paths)
		return -BCH_ERR_nomem;
	for (unsigned i = 0; i < nr; i++)
		paths[i] = (char *)devs[i].path;
	ret = bch_fs_open(paths, nr, &oo, &c, err);
	free(paths);
	if (ret)
		return ret;
	c->journal.w.now = (u64)time(NULL);
	ret = initialize(c, opts, err);
	bch_fs_close(c);
	return ret;
}
