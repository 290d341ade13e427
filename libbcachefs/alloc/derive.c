/* Derived metadata of keys: bucket usage and backpointers of pointers, accounting deltas, alloc key indexes, superblock and journal buckets. */
#include <string.h>

#include "alloc/derive.h"
#include "keys/accounting.h"
#include "keys/key_ops.h"
#include "sb/sb.h"

/* Targets: 0 none, then one per device, then one per disk group. */
#define TARGET_DEV_START	1U
#define TARGET_GROUP_START	(256U + TARGET_DEV_START)

/* Disk group parents form a tree; a longer chain is damage. */
#define GROUP_DEPTH_MAX		32

static const struct bch_member_cpu *member_get(const struct bch_fs *c, unsigned dev)
{
	return dev < BCH_SB_MEMBERS_MAX && c->sb.members[dev].exists
		? &c->sb.members[dev] : NULL;
}

/* ---- pointers ---- */

static bool crc_is_compressed(const struct bch_extent_crc *crc)
{
	return crc->compression_type != BCH_COMPRESSION_TYPE_none &&
	       crc->compression_type != BCH_COMPRESSION_TYPE_incompressible;
}

/* Live sectors of compressed data take their share of the compressed size, rounded up. */
static u32 disk_sectors(u64 sectors, const struct bch_extent_crc *crc)
{
	if (!crc_is_compressed(crc) || !crc->uncompressed_size)
		return sectors;
	return (sectors * crc->compressed_size + crc->uncompressed_size - 1) /
		crc->uncompressed_size;
}

static bool key_is_node_ptr(const struct bkey *k)
{
	return k->type == KEY_TYPE_btree_ptr || k->type == KEY_TYPE_btree_ptr_v2;
}

static enum bch_ptr_gen_state gen_state(u8 ptr_gen, u8 bucket_gen)
{
	if ((s8)(ptr_gen - bucket_gen) > 0)
		return BCH_PTR_GEN_NEWER;
	if ((s8)(bucket_gen - ptr_gen) > (int)BUCKET_GC_GEN_MAX)
		return BCH_PTR_GEN_TOO_STALE;
	return ptr_gen == bucket_gen ? BCH_PTR_GEN_OK : BCH_PTR_GEN_STALE;
}

static void bp_offset_set(struct bch_backpointer *bp, u64 v)
{
	for (unsigned i = 0; i < sizeof(bp->bucket_offset); i++)
		bp->bucket_offset[i] = v >> (8 * i);
}

/* Bucket, generation and backpointer of a pointer to member m. */
static void ptr_locate(const struct bch_fs *c, const struct bch_member_cpu *m,
		       enum btree_id btree, unsigned level, struct bkey_s_c k,
		       struct bch_ptr_derived *d)
{
	const struct bch_dev *ca = bch_dev_get(c, d->dev);
	u64 offset = ptr_offset(&d->p.ptr);

	d->dev_exists = true;
	d->bucket = offset / m->bucket_size;
	d->bucket_offset = offset % m->bucket_size;
	d->bucket_valid = d->bucket >= m->first_bucket && d->bucket < m->nbuckets;
	if (d->bucket_valid && ca && ca->bucket_gens && d->bucket < ca->nr_bucket_gens) {
		d->bucket_gen = ca->bucket_gens[d->bucket];
		d->gen_state = gen_state(ptr_gen(&d->p.ptr), d->bucket_gen);
	}
	if (ptr_cached(&d->p.ptr))
		return;

	/* the crc offset is the sub-sector index: compressed extents may share a sector */
	d->has_bp = true;
	d->bp_pos = bch_bp_pos(d->dev, offset, d->p.crc.offset);
	d->bp.btree_id = btree;
	d->bp.level = level;
	d->bp.data_type = d->data_type;
	bp_offset_set(&d->bp, ((u64)d->bucket_offset << BP_SECTOR_SHIFT) + d->p.crc.offset);
	d->bp.bucket_len = cpu_to_le32(d->sectors);
	d->bp.pos = k.k->p;
}

/* Which counter the pointer's sectors go to, if it counts at all. */
static void ptr_sectors_set(struct bch_ptr_derived *d)
{
	bool cached = ptr_cached(&d->p.ptr);

	d->counts = !(cached && d->gen_state != BCH_PTR_GEN_OK);
	d->dirty_sectors = d->cached_sectors = d->stripe_sectors = 0;
	if (!d->counts)
		return;
	if (d->p.has_ec)
		d->stripe_sectors = d->sectors;
	else if (!cached)
		d->dirty_sectors = d->sectors;
	else
		d->cached_sectors = d->sectors;
}

static void ptr_derive(const struct bch_fs *c, enum btree_id btree, unsigned level,
		       struct bkey_s_c k, const struct extent_ptr_decoded *p,
		       struct bch_ptr_derived *d)
{
	const struct bch_member_cpu *m;

	memset(d, 0, sizeof(*d));
	d->p = *p;
	d->dev = ptr_dev(&p->ptr);
	d->data_type = key_is_node_ptr(k.k) ? BCH_DATA_btree
		: p->has_ec ? BCH_DATA_stripe : BCH_DATA_user;
	d->sectors = disk_sectors(level ? c->sb.btree_node_size : k.k->size, &p->crc);
	d->bucket_gen = ptr_gen(&p->ptr);
	d->gen_state = BCH_PTR_GEN_OK;

	m = member_get(c, d->dev);
	if (m && m->bucket_size)
		ptr_locate(c, m, btree, level, k, d);

	ptr_sectors_set(d);
}

void bch_ptr_derived_judge_gen(struct bch_ptr_derived *d, u8 bucket_gen)
{
	d->bucket_gen = bucket_gen;
	d->gen_state = gen_state(ptr_gen(&d->p.ptr), bucket_gen);
	ptr_sectors_set(d);
}

unsigned bch_key_ptrs_derive(const struct bch_fs *c, enum btree_id btree, unsigned level,
			     struct bkey_s_c k, struct bch_ptr_derived out[BCH_BKEY_PTRS_MAX])
{
	struct bch_ptr_iter it;
	struct extent_ptr_decoded p;
	unsigned nr = 0;

	if (k.k->type == KEY_TYPE_stripe)
		return 0;
	bch_ptr_iter_init(&it, k);
	while (nr < BCH_BKEY_PTRS_MAX && bch_ptr_iter_next(&it, &p))
		ptr_derive(c, btree, level, k, &p, &out[nr++]);
	return nr;
}

bool bch_member_btree_bitmap_covers(const struct bch_member_cpu *m, u64 start, unsigned sectors)
{
	unsigned shift = m->btree_bitmap_shift;
	u64 end = start + sectors;

	if (shift >= 58 || end > (64ULL << shift))
		return false;
	for (u64 bit = start >> shift; bit << shift < end; bit++)
		if (!(m->btree_allocated_bitmap & (1ULL << bit)))
			return false;
	return true;
}

/* ---- accounting ---- */

static void acc_push(struct bch_acc_deltas *out, const struct disk_accounting_pos *pos,
		     unsigned nr, s64 d0, s64 d1, s64 d2)
{
	struct bch_acc_delta *d;

	if (out->nr == BCH_ACC_DELTAS_MAX)
		return;
	d = &out->d[out->nr++];
	d->pos = *pos;
	d->nr = nr;
	d->d[0] = d0;
	d->d[1] = d1;
	d->d[2] = d2;
}

static struct disk_accounting_pos acc_pos(enum disk_accounting_type type)
{
	struct disk_accounting_pos pos;

	memset(&pos, 0, sizeof(pos));
	pos.type = type;
	return pos;
}

/* Replicas entries list their devices in ascending order. */
static void replicas_sort(struct disk_accounting_pos *pos)
{
	u8 *devs = pos->replicas.devs;

	for (unsigned i = 1; i < pos->replicas.nr_devs; i++)
		for (unsigned j = i; j && devs[j - 1] > devs[j]; j--) {
			u8 t = devs[j];

			devs[j] = devs[j - 1];
			devs[j - 1] = t;
		}
}

/*
 * Compression counters (extents, uncompressed, compressed sectors) run over
 * consecutive pointers of one compression type; a change of type closes
 * the run.  Uncompressed pointers only close runs.
 */
struct compression_run {
	struct disk_accounting_pos pos;
	s64 d[3];
};

static void compression_add(struct compression_run *run, const struct bch_extent_crc *crc,
			    struct bch_acc_deltas *out)
{
	if (run->pos.compression.type && run->pos.compression.type != crc->compression_type) {
		acc_push(out, &run->pos, 3, run->d[0], run->d[1], run->d[2]);
		run->d[0] = 1;
		run->d[1] = run->d[2] = 0;
	}
	run->pos.compression.type = crc->compression_type;
	if (crc->compression_type) {
		run->d[1] += crc->uncompressed_size;
		run->d[2] += crc->compressed_size;
	}
}

static void ptrs_accounting(enum btree_id btree, unsigned level, struct bkey_s_c k,
			    const struct bch_ptr_derived *ptrs, unsigned nr,
			    struct bch_acc_deltas *out)
{
	struct disk_accounting_pos replicas = acc_pos(BCH_DISK_ACCOUNTING_replicas);
	struct compression_run run = { acc_pos(BCH_DISK_ACCOUNTING_compression), { 1, 0, 0 } };
	s64 replicas_sectors = 0;

	replicas.replicas.data_type = key_is_node_ptr(k.k) ? BCH_DATA_btree : BCH_DATA_user;
	replicas.replicas.nr_required = 1;

	for (unsigned i = 0; i < nr; i++) {
		const struct bch_ptr_derived *d = &ptrs[i];

		if (!d->counts)
			continue;
		if (ptr_cached(&d->p.ptr)) {
			struct disk_accounting_pos cached = acc_pos(BCH_DISK_ACCOUNTING_replicas);

			cached.replicas.data_type = BCH_DATA_cached;
			cached.replicas.nr_devs = 1;
			cached.replicas.nr_required = 1;
			cached.replicas.devs[0] = d->dev;
			acc_push(out, &cached, 1, d->sectors, 0, 0);
		} else if (!d->p.has_ec) {
			replicas_sectors += d->sectors;
			if (replicas.replicas.nr_devs < sizeof(replicas.replicas.devs))
				replicas.replicas.devs[replicas.replicas.nr_devs++] = d->dev;
		} else {
			/*
			 * The sectors go to the stripe's own replicas entry,
			 * which only the stripe key knows; any other copy is
			 * then not needed to mount.
			 */
			replicas.replicas.nr_required = 0;
		}
		compression_add(&run, &d->p.crc, out);
	}

	if (replicas.replicas.nr_devs) {
		replicas_sort(&replicas);
		acc_push(out, &replicas, 1, replicas_sectors, 0, 0);
	}
	if (replicas.replicas.nr_devs && !level && k.k->p.snapshot) {
		struct disk_accounting_pos snap = acc_pos(BCH_DISK_ACCOUNTING_snapshot);

		snap.snapshot.id = cpu_to_le32(k.k->p.snapshot);
		acc_push(out, &snap, 1, replicas_sectors, 0, 0);
	}
	if (run.pos.compression.type)
		acc_push(out, &run.pos, 3, run.d[0], run.d[1], run.d[2]);
	if (level) {
		struct disk_accounting_pos bt = acc_pos(BCH_DISK_ACCOUNTING_btree);

		bt.btree.id = cpu_to_le32(btree);
		acc_push(out, &bt, 1, replicas_sectors, 0, 0);
	} else {
		struct disk_accounting_pos inum = acc_pos(BCH_DISK_ACCOUNTING_inum);

		inum.inum.inum = cpu_to_le64(k.k->p.inode);
		acc_push(out, &inum, 3, 1, k.k->size, replicas_sectors);
	}
}

void bch_key_accounting_ptrs(const struct bch_fs *c, enum btree_id btree, unsigned level,
			     struct bkey_s_c k, const struct bch_ptr_derived *ptrs,
			     unsigned nr_ptrs, struct bch_acc_deltas *out)
{
	switch (k.k->type) {
	case KEY_TYPE_btree_ptr:
	case KEY_TYPE_btree_ptr_v2:
	case KEY_TYPE_extent:
	case KEY_TYPE_reflink_v: {
		struct bkey_ptrs_c entries = bch_bkey_ptrs(k);
		u64 rebalance;

		/* the trigger does nothing for a key without entries */
		if (entries.start == entries.end)
			return;
		ptrs_accounting(btree, level, k, ptrs, nr_ptrs, out);
		rebalance = bch_key_sectors_need_rebalance(c, k);
		if (rebalance) {
			struct disk_accounting_pos pos = acc_pos(BCH_DISK_ACCOUNTING_rebalance_work);

			acc_push(out, &pos, 1, rebalance, 0, 0);
		}
		return;
	}
	case KEY_TYPE_reservation: {
		struct disk_accounting_pos pos = acc_pos(BCH_DISK_ACCOUNTING_persistent_reserved);
		struct bch_reservation r;

		bkey_val_copy(&r, sizeof(r), k);
		pos.persistent_reserved.nr_replicas = r.nr_replicas;
		acc_push(out, &pos, 1, k.k->size, 0, 0);
		return;
	}
	case KEY_TYPE_inode:
	case KEY_TYPE_inode_v2:
	case KEY_TYPE_inode_v3: {
		struct disk_accounting_pos pos = acc_pos(BCH_DISK_ACCOUNTING_nr_inodes);

		acc_push(out, &pos, 1, 1, 0, 0);
		return;
	}
	}
}

void bch_key_accounting(const struct bch_fs *c, enum btree_id btree, unsigned level,
			struct bkey_s_c k, struct bch_acc_deltas *out)
{
	struct bch_ptr_derived ptrs[BCH_BKEY_PTRS_MAX];
	unsigned nr = bch_key_ptrs_derive(c, btree, level, k, ptrs);

	bch_key_accounting_ptrs(c, btree, level, k, ptrs, nr, out);
}

/* ---- rebalance ---- */

static const struct bch_disk_group *group_get(const struct bch_fs *c, unsigned idx)
{
	const struct bch_sb_field_disk_groups *f;
	size_t nr;

	if (!c->disk_sb.sb)
		return NULL;
	f = bch_sb_field_get_t(c->disk_sb.sb, disk_groups);
	if (!f)
		return NULL;
	nr = (le32_to_cpu(f->field.u64s) * 8 - sizeof(f->field)) / sizeof(f->entries[0]);
	return idx < nr ? &f->entries[idx] : NULL;
}

/* A group the kernel uses as a target: it exists and is not deleted. */
static bool group_usable(const struct bch_fs *c, unsigned idx)
{
	const struct bch_disk_group *g = group_get(c, idx);

	return g && !group_deleted(g);
}

/* A device belongs to its own group and to every group above it. */
static bool dev_in_group(const struct bch_fs *c, unsigned dev, unsigned group)
{
	const struct bch_member_cpu *m = member_get(c, dev);
	unsigned g = m ? m->group : 0;

	for (unsigned depth = 0; g && depth < GROUP_DEPTH_MAX; depth++) {
		const struct bch_disk_group *e = group_get(c, g - 1);

		if (g - 1 == group)
			return true;
		if (!e)
			return false;
		g = group_parent(e);
	}
	return false;
}

/* NULL target mask: the target names nothing the kernel can use. */
static bool target_has_mask(const struct bch_fs *c, unsigned target)
{
	if (target >= TARGET_GROUP_START)
		return group_usable(c, target - TARGET_GROUP_START);
	if (target >= TARGET_DEV_START)
		return target - TARGET_DEV_START < c->sb.nr_devices &&
			bch_dev_get(c, target - TARGET_DEV_START);
	return false;
}

static bool dev_in_target(const struct bch_fs *c, unsigned dev, unsigned target)
{
	if (target >= TARGET_GROUP_START)
		return group_usable(c, target - TARGET_GROUP_START) &&
			dev_in_group(c, dev, target - TARGET_GROUP_START);
	if (target >= TARGET_DEV_START)
		return dev == target - TARGET_DEV_START;
	return false;
}

/* Opened, read-write devices that take user data. */
static bool dev_rw_user(const struct bch_fs *c, unsigned dev)
{
	const struct bch_member_cpu *m = member_get(c, dev);

	return m && bch_dev_get(c, dev) && m->state == BCH_MEMBER_STATE_rw &&
		(m->data_allowed & (1U << BCH_DATA_user));
}

/* Some read-write device of the target takes user data (any, for an unusable target). */
static bool target_accepts_user_data(const struct bch_fs *c, unsigned target)
{
	bool masked = target_has_mask(c, target);

	for (unsigned dev = 0; dev < BCH_SB_MEMBERS_MAX; dev++)
		if (dev_rw_user(c, dev) && (!masked || dev_in_target(c, dev, target)))
			return true;
	return false;
}

static unsigned compression_opt_to_type(unsigned v)
{
	static const u8 types[BCH_COMPRESSION_OPT_NR] = {
		[BCH_COMPRESSION_OPT_none]	= BCH_COMPRESSION_TYPE_none,
		[BCH_COMPRESSION_OPT_lz4]	= BCH_COMPRESSION_TYPE_lz4,
		[BCH_COMPRESSION_OPT_gzip]	= BCH_COMPRESSION_TYPE_gzip,
		[BCH_COMPRESSION_OPT_zstd]	= BCH_COMPRESSION_TYPE_zstd,
	};
	unsigned type = v & 15, level = v >> 4;

	/* an invalid option reads as none */
	return type < BCH_COMPRESSION_OPT_NR && !(!type && level) ? types[type] : 0;
}

static const struct bch_extent_rebalance *rebalance_entry(struct bkey_s_c k)
{
	struct bkey_ptrs_c ptrs;
	unsigned type;

	if (k.k->type != KEY_TYPE_extent && k.k->type != KEY_TYPE_reflink_v)
		return NULL;
	ptrs = bch_bkey_ptrs(k);
	for (const u64 *e = ptrs.start; e < ptrs.end; e += bch_extent_entry_u64s(type)) {
		type = bch_extent_entry_type(e, ptrs.end);
		if (type == BCH_EXTENT_ENTRY_MAX)
			break;
		if (type == BCH_EXTENT_ENTRY_rebalance)
			return (const void *)e;
	}
	return NULL;
}

/* Dirty sectors not in the wanted compression; none if any pointer cannot be recompressed. */
static u64 sectors_to_recompress(struct bkey_s_c k, unsigned compression)
{
	unsigned want = compression_opt_to_type(compression);
	struct bch_ptr_iter it;
	struct extent_ptr_decoded p;
	u64 sectors = 0;

	bch_ptr_iter_init(&it, k);
	while (bch_ptr_iter_next(&it, &p)) {
		if (p.crc.compression_type == BCH_COMPRESSION_TYPE_incompressible ||
		    ptr_unwritten(&p.ptr))
			return 0;
		if (!ptr_cached(&p.ptr) && p.crc.compression_type != want)
			sectors += p.crc.compressed_size;
	}
	return sectors;
}

static u64 sectors_to_move(const struct bch_fs *c, struct bkey_s_c k, unsigned target)
{
	struct bch_ptr_iter it;
	struct extent_ptr_decoded p;
	u64 sectors = 0;

	if (!target_accepts_user_data(c, target))
		return 0;
	bch_ptr_iter_init(&it, k);
	while (bch_ptr_iter_next(&it, &p))
		if (!ptr_cached(&p.ptr) && !dev_in_target(c, ptr_dev(&p.ptr), target))
			sectors += p.crc.compressed_size;
	return sectors;
}

u64 bch_key_sectors_need_rebalance(const struct bch_fs *c, struct bkey_s_c k)
{
	const struct bch_extent_rebalance *r = rebalance_entry(k);
	u64 sectors = 0;

	if (!r)
		return 0;
	if (rebalance_compression(r))
		sectors += sectors_to_recompress(k, rebalance_compression(r));
	if (rebalance_target(r))
		sectors += sectors_to_move(c, k, rebalance_target(r));
	return sectors;
}

/* ---- alloc keys ---- */

static bool data_type_movable(enum bch_data_type t)
{
	return t == BCH_DATA_btree || t == BCH_DATA_user || t == BCH_DATA_stripe;
}

static s64 sectors_dirty(const struct bch_alloc_v4 *a)
{
	return (s64)le32_to_cpu(a->stripe_sectors) + le32_to_cpu(a->dirty_sectors);
}

s64 bch_alloc_sectors(const struct bch_alloc_v4 *a)
{
	return a->data_type == BCH_DATA_cached ? le32_to_cpu(a->cached_sectors) : sectors_dirty(a);
}

s64 bch_alloc_sectors_fragmented(const struct bch_member_cpu *m, const struct bch_alloc_v4 *a)
{
	s64 used = bch_alloc_sectors(a);

	return used && used < m->bucket_size ? m->bucket_size - used : 0;
}

/* The fragmentation lru orders movable buckets by how full they are, scaled to 2^31. */
static u64 frag_lru_time(const struct bch_member_cpu *m, const struct bch_alloc_v4 *a)
{
	s64 used = sectors_dirty(a);

	if (!data_type_movable(a->data_type) || !bch_alloc_sectors_fragmented(m, a))
		return 0;
	/* a corrupt count larger than the bucket must not overflow the lru time */
	if (used > m->bucket_size)
		used = m->bucket_size;
	return ((u64)used << 31) / m->bucket_size;
}

/* The key with its data type as the trigger sets it from the counters. */
static struct bch_alloc_v4 alloc_normalized(const struct bch_alloc_v4 *a)
{
	struct bch_alloc_v4 n = *a;

	n.data_type = bch_alloc_data_type(a, a->data_type);
	return n;
}

void bch_alloc_derive(const struct bch_member_cpu *m, struct bpos bucket,
		      const struct bch_alloc_v4 *a, struct bch_alloc_derived *out)
{
	struct bch_alloc_v4 n = alloc_normalized(a);

	memset(out, 0, sizeof(*out));
	out->data_type = n.data_type;
	out->gen = n.gen;
	out->genbits = (u64)((u8)(n.gen - n.oldest_gen) >> 4) << 56;
	out->need_discard = n.data_type == BCH_DATA_need_discard;
	out->free = n.data_type == BCH_DATA_free;
	/* a size-1 extent key: its position is the end of the bucket's slot */
	out->freespace_pos = POS(bucket.inode, (bucket.offset | out->genbits) + 1);
	if (n.data_type == BCH_DATA_cached)
		out->lru_read_time = le64_to_cpu(n.io_time[0]) & LRU_TIME_MAX;
	if (m->bucket_size)
		out->lru_frag_time = frag_lru_time(m, &n);
	out->gens_pos = POS(bucket.inode, bucket.offset >> BUCKET_GENS_BITS);
	out->gens_offset = bucket.offset & (BUCKET_GENS_NR - 1);
}

void bch_alloc_dev_accounting(const struct bch_member_cpu *m, unsigned dev,
			      const struct bch_alloc_v4 *a, struct bch_acc_deltas *out)
{
	struct bch_alloc_v4 n = alloc_normalized(a);
	struct disk_accounting_pos pos = acc_pos(BCH_DISK_ACCOUNTING_dev_data_type);
	u32 unstriped = n.data_type == BCH_DATA_stripe ? le32_to_cpu(n.dirty_sectors) : 0;

	pos.dev_data_type.dev = dev;
	pos.dev_data_type.data_type = n.data_type;
	acc_push(out, &pos, 3, 1, bch_alloc_sectors(&n), bch_alloc_sectors_fragmented(m, &n));
	if (unstriped) {
		pos.dev_data_type.data_type = BCH_DATA_unstriped;
		acc_push(out, &pos, 3, 1, unstriped, 0);
	}
}

/* ---- superblock and journal buckets ---- */

/* Sectors of one bucket gathered from consecutive ranges. */
struct meta_run {
	const struct bch_member_cpu *m;
	u64 bucket;
	unsigned sectors;
	bch_meta_bucket_fn fn;
	void *ctx;
};

static int meta_run_flush(struct meta_run *run)
{
	unsigned sectors = run->sectors;

	run->sectors = 0;
	/* the backup superblock may lie past the last bucket */
	if (!sectors || run->bucket >= run->m->nbuckets)
		return 0;
	return run->fn(run->ctx, run->bucket, BCH_DATA_sb, sectors);
}

static int meta_run_add(struct meta_run *run, u64 start, u64 end)
{
	u64 size = run->m->bucket_size;
	int ret;

	while (start < end) {
		u64 b = start / size;
		u64 stop = (b + 1) * size < end ? (b + 1) * size : end;

		if (b != run->bucket) {
			ret = meta_run_flush(run);
			if (ret)
				return ret;
		}
		run->bucket = b;
		run->sectors += stop - start;
		start = stop;
	}
	return 0;
}

int bch_dev_metadata_buckets(const struct bch_sb_layout *layout, const struct bch_member_cpu *m,
			     const u64 *journal_buckets, unsigned nr_journal_buckets,
			     bch_meta_bucket_fn fn, void *ctx)
{
	struct meta_run run = { .m = m, .fn = fn, .ctx = ctx };
	unsigned nr = layout->nr_superblocks;
	int ret = 0;

	if (!m->bucket_size)
		return 0;
	if (nr > sizeof(layout->sb_offset) / sizeof(layout->sb_offset[0]))
		nr = sizeof(layout->sb_offset) / sizeof(layout->sb_offset[0]);
	for (unsigned i = 0; i < nr && !ret; i++) {
		u64 offset = le64_to_cpu(layout->sb_offset[i]);

		/* the sectors before the first copy (zeroed, with the layout) count as sb */
		if (offset == BCH_SB_SECTOR)
			ret = meta_run_add(&run, 0, BCH_SB_SECTOR);
		if (!ret)
			ret = meta_run_add(&run, offset, offset + (1ULL << layout->sb_max_size_bits));
	}
	if (!ret)
		ret = meta_run_flush(&run);

	for (unsigned i = 0; i < nr_journal_buckets && !ret; i++)
		if (journal_buckets[i] < m->nbuckets)
			ret = fn(ctx, journal_buckets[i], BCH_DATA_journal, m->bucket_size);
	return ret;
}
