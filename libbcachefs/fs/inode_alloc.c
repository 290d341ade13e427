/* Inodes of the namespace: time, reading and writing, new inodes and their numbers, link counts, removal. */
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "fs/inode_alloc.h"
#include "fs/fs_ops.h"
#include "btree/iter.h"
#include "keys/key_types.h"
#include "util/errcode.h"

#define INODE_BUF_U64s	(BKEY_U64s + 64)
#define NSEC_PER_SEC	1000000000LL

static s64 time_precision(const struct bch_fs *c)
{
	return c->sb.time_precision ? c->sb.time_precision : 1;
}

s64 bch_fs_time_from_timespec(const struct bch_fs *c, struct timespec ts)
{
	s64 prec = time_precision(c);

	return (s64)ts.tv_sec * (NSEC_PER_SEC / prec) + ts.tv_nsec / prec -
	       (s64)(c->sb.time_base_lo / prec);
}

struct timespec bch_fs_time_to_timespec(const struct bch_fs *c, s64 t)
{
	s64 prec = time_precision(c), per_sec = NSEC_PER_SEC / prec;
	s64 units = t + (s64)(c->sb.time_base_lo / prec);
	s64 sec = units / per_sec, rem = units % per_sec;

	if (rem < 0) {
		rem += per_sec;
		sec--;
	}
	return (struct timespec) { .tv_sec = sec, .tv_nsec = rem * prec };
}

s64 bch_ns_now(const struct bch_ns *ns)
{
	struct timespec ts;

	if (ns->now_override)
		return ns->now_override;
	clock_gettime(CLOCK_REALTIME, &ts);
	return bch_fs_time_from_timespec(ns->c, ts);
}

/* ---- link counts ---- */

static unsigned nlink_bias(unsigned mode)
{
	return bch_mode_to_dtype(mode) == 4 ? 2 : 1;
}

static bool inode_unlinked(const struct bch_inode_unpacked *u)
{
	return u->bi_flags & (1U << BCH_INODE_unlinked);
}

unsigned bch_inode_nlink_get(const struct bch_inode_unpacked *u)
{
	return inode_unlinked(u) ? 0 : u->bi_nlink + nlink_bias(u->bi_mode);
}

int bch_inode_nlink_inc(struct bch_inode_unpacked *u, struct printbuf *err)
{
	if (inode_unlinked(u)) {
		u->bi_flags &= ~(1U << BCH_INODE_unlinked);
		return 0;
	}
	if (u->bi_nlink >= 0xffffffffULL) {
		pb_printf(err, "inode %llu: link count at its maximum", (unsigned long long)u->bi_inum);
		return -BCH_ERR_too_many_links;
	}
	u->bi_nlink++;
	return 0;
}

int bch_inode_nlink_dec(struct bch_inode_unpacked *u, struct printbuf *err)
{
	if (inode_unlinked(u)) {
		pb_printf(err, "inode %llu: link count underflow", (unsigned long long)u->bi_inum);
		return -BCH_ERR_fs_inconsistent;
	}
	if (u->bi_nlink)
		u->bi_nlink--;
	else
		u->bi_flags |= 1U << BCH_INODE_unlinked;
	return 0;
}

/* ---- reading and writing ---- */

int bch_ns_inode_get(struct bch_ns *ns, u64 inum, struct bch_inode_unpacked *u,
		     struct printbuf *err)
{
	u64 buf[INODE_BUF_U64s];
	struct bkey_i *k = (struct bkey_i *)buf;
	int ret = bch_ns_key_get(ns, BTREE_ID_inodes, 0, inum, k, INODE_BUF_U64s, err);

	if (ret < 0)
		return ret;
	if (!ret || !bkey_is_inode(&k->k)) {
		pb_printf(err, "inode %llu not found", (unsigned long long)inum);
		return -BCH_ERR_not_found;
	}
	ret = bch_inode_unpack(bkey_i_to_s_c(k), u);
	if (ret)
		pb_printf(err, "inode %llu cannot be decoded", (unsigned long long)inum);
	return ret;
}

int bch_ns_inode_write(struct bch_ns *ns, struct bch_inode_unpacked *u, struct printbuf *err)
{
	u64 buf[INODE_BUF_U64s];
	int ret;

	u->bi_snapshot = ns->snapshot;
	ret = bch_inode_pack(u, (struct bkey_i *)buf, INODE_BUF_U64s) ?:
	      bch_trans_update(&ns->t, BTREE_ID_inodes, 0, (struct bkey_i *)buf, 0);
	if (ret)
		pb_printf(err, "inode %llu: cannot queue its update", (unsigned long long)u->bi_inum);
	return ret;
}

/* ---- new inodes ---- */

static u64 random_seed(void)
{
	u64 v = 0;

	while (getrandom(&v, sizeof(v), 0) != sizeof(v))
		;
	return v;
}

void bch_ns_inode_init(struct bch_ns *ns, struct bch_inode_unpacked *u,
		       const struct bch_inode_unpacked *parent, unsigned mode,
		       u32 uid, u32 gid, u32 dev, s64 now)
{
	memset(u, 0, sizeof(*u));
	u->bi_flags = ns->new_hash_type << 20;
	u->bi_hash_seed = random_seed();
	u->bi_mode = mode;
	u->bi_uid = uid;
	u->bi_gid = gid;
	u->bi_dev = dev;
	u->bi_atime = u->bi_mtime = u->bi_ctime = u->bi_otime = now;
	if (!parent)
		return;
	if (parent->bi_mode & S_ISGID) {
		u->bi_gid = parent->bi_gid;
		if (bch_mode_to_dtype(mode) == 4)
			u->bi_mode |= S_ISGID;
	}
	/* io options are inherited from the directory, stored as value + 1 (0: unset) */
	u->bi_data_checksum		= parent->bi_data_checksum;
	u->bi_compression		= parent->bi_compression;
	u->bi_project			= parent->bi_project;
	u->bi_background_compression	= parent->bi_background_compression;
	u->bi_data_replicas		= parent->bi_data_replicas;
	u->bi_promote_target		= parent->bi_promote_target;
	u->bi_foreground_target		= parent->bi_foreground_target;
	u->bi_background_target		= parent->bi_background_target;
	u->bi_erasure_code		= parent->bi_erasure_code;
	u->bi_nocow			= parent->bi_nocow;
}

/* The first number >= from with no committed inodes key of any snapshot; 0 if none below max. */
static int inum_scan(struct bch_ns *ns, u64 from, u64 *found, struct printbuf *err)
{
	struct btree_iter it;
	struct bkey_s_c k;
	u64 pos = from;
	int ret;

	bch_btree_iter_init(&it, ns->c, BTREE_ID_inodes, POS(0, pos), 0);
	while ((ret = bch_btree_iter_peek(&it, &k)) > 0 && !k.k->p.inode &&
	       k.k->p.offset < ns->inum_max && k.k->p.offset <= pos) {
		if (k.k->p.offset == pos)
			pos++;
		bch_btree_iter_advance(&it);
	}
	if (ret < 0)
		pb_printf(err, "inode number search: %s", pb_cstr(&it.err));
	bch_btree_iter_exit(&it);
	*found = ret >= 0 && pos < ns->inum_max ? pos : 0;
	return ret < 0 ? ret : 0;
}

int bch_ns_inum_alloc(struct bch_ns *ns, u64 *inum, struct printbuf *err)
{
	u64 from = ns->inum_hint, buf[INODE_BUF_U64s];
	bool wrapped = false;
	int ret;

	if (from < BLOCKDEV_INODE_MAX || from >= ns->inum_max)
		from = BLOCKDEV_INODE_MAX;
	for (;;) {
		u64 pos;

		ret = inum_scan(ns, from, &pos, err);
		if (ret)
			return ret;
		if (!pos) {
			if (wrapped) {
				pb_str(err, "every inode number is in use");
				return -BCH_ERR_inodes_full;
			}
			wrapped = true;
			from = BLOCKDEV_INODE_MAX;
			continue;
		}
		/* a number the open transaction already took is not free either */
		ret = bch_trans_lookup(&ns->t, BTREE_ID_inodes, 0, SPOS(0, pos, ns->snapshot),
				       (struct bkey_i *)buf, INODE_BUF_U64s, err);
		if (ret < 0)
			return ret;
		if (!ret) {
			*inum = pos;
			ns->inum_hint = pos + 1;
			return 0;
		}
		from = pos + 1;
	}
}

/* ---- removal ---- */

static bool key_is_allocation(const struct bkey *k)
{
	switch (k->type) {
	case KEY_TYPE_extent:
	case KEY_TYPE_reservation:
	case KEY_TYPE_reflink_p:
	case KEY_TYPE_inline_data:
		return true;
	default:
		return false;
	}
}

int bch_ns_extent_range_delete(struct bch_ns *ns, u64 inum, u64 start, u64 end)
{
	struct bkey_i k;

	memset(&k, 0, sizeof(k));
	k.k.u64s = BKEY_U64s;
	k.k.format_whiteout = KEY_FORMAT_CURRENT;
	k.k.type = KEY_TYPE_deleted;
	k.k.p = SPOS(inum, end, ns->snapshot);
	k.k.size = end - start;
	return bch_trans_update(&ns->t, BTREE_ID_extents, 0, &k, 0);
}

int bch_ns_extents_punch(struct bch_ns *ns, u64 inum, u64 start, u64 end, u64 *sectors_removed,
			 struct printbuf *err)
{
	struct btree_iter it;
	struct bkey_s_c k;
	int ret;

	*sectors_removed = 0;
	bch_btree_iter_init(&it, ns->c, BTREE_ID_extents, SPOS(inum, start + 1, 0), 0);
	while ((ret = bch_btree_iter_peek(&it, &k)) > 0 && k.k->p.inode == inum) {
		u64 ks = k.k->p.offset - k.k->size, ke = k.k->p.offset;
		u64 s = ks > start ? ks : start, e = ke < end ? ke : end;

		if (k.k->p.snapshot != ns->snapshot || ke <= start) {
			bch_btree_iter_advance(&it);
			continue;
		}
		if (ks >= end)
			break;
		if (key_is_allocation(k.k))
			*sectors_removed += e - s;
		ret = s == ks && e == ke
			? bch_trans_delete(&ns->t, BTREE_ID_extents, 0, k.k->p, 0)
			: bch_ns_extent_range_delete(ns, inum, s, e);
		if (ret)
			break;
		bch_btree_iter_advance(&it);
	}
	if (ret < 0)
		pb_printf(err, "inode %llu: extents: %s%s", (unsigned long long)inum,
			  pb_cstr(&it.err), pb_cstr(&ns->t.err));
	bch_btree_iter_exit(&it);
	return ret < 0 ? ret : 0;
}

/* Deletes every committed key of inum in btree (xattrs, dirents, whiteouts included). */
static int keys_delete(struct bch_ns *ns, enum btree_id btree, u64 inum, struct printbuf *err)
{
	struct btree_iter it;
	struct bkey_s_c k;
	int ret;

	bch_btree_iter_init(&it, ns->c, btree, SPOS(inum, 0, 0), 0);
	while ((ret = bch_btree_iter_peek(&it, &k)) > 0 && k.k->p.inode == inum) {
		if (k.k->p.snapshot == ns->snapshot &&
		    (ret = bch_trans_delete(&ns->t, btree, 0, k.k->p, 0)))
			break;
		bch_btree_iter_advance(&it);
	}
	if (ret < 0)
		pb_printf(err, "inode %llu: deleting its keys: %s", (unsigned long long)inum,
			  pb_cstr(&it.err));
	bch_btree_iter_exit(&it);
	return ret < 0 ? ret : 0;
}

int bch_ns_inode_remove(struct bch_ns *ns, const struct bch_inode_unpacked *u,
			struct printbuf *err)
{
	struct {
		struct bkey_i k;
		struct bch_inode_generation g;
	} gen;
	u64 removed;
	int ret = bch_ns_extents_punch(ns, u->bi_inum, 0, UINT64_MAX, &removed, err) ?:
		  keys_delete(ns, BTREE_ID_xattrs, u->bi_inum, err) ?:
		  keys_delete(ns, BTREE_ID_dirents, u->bi_inum, err);

	if (ret)
		return ret;
	memset(&gen, 0, sizeof(gen));
	gen.k.k.u64s = sizeof(gen) / 8;
	gen.k.k.format_whiteout = KEY_FORMAT_CURRENT;
	gen.k.k.type = KEY_TYPE_inode_generation;
	gen.k.k.p = SPOS(0, u->bi_inum, ns->snapshot);
	gen.g.bi_generation = cpu_to_le32((u32)u->bi_generation + 1);
	return bch_trans_update(&ns->t, BTREE_ID_inodes, 0, &gen.k, 0);
}
