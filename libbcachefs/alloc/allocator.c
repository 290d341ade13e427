/* The allocator: bucket state per device, open buckets filled in order, space for btree nodes and data. */
#include <stdlib.h>
#include <string.h>

#include "allocator.h"
#include "derive.h"
#include "btree/iter.h"
#include "btree/trans.h"
#include "journal/journal_write.h"
#include "sb/opts.h"
#include "sb/sb.h"
#include "sb/sb_edit.h"
#include "util/errcode.h"

#define TARGET_DEV_START	1U
#define TARGET_GROUP_START	(256U + TARGET_DEV_START)
#define GROUP_DEPTH_MAX		32

/* Bucket flags */
#define BUCKET_OPEN		(1U << 0)	/* in a write point */
#define BUCKET_META		(1U << 1)	/* superblock or journal: never handed out */

/* Which buckets a scan takes, as the kernel's btree bitmap modes. */
enum bitmap_mode { BITMAP_NO, BITMAP_YES, BITMAP_ANY, BITMAP_MODES };

struct bucket_mem {
	u64 seq;		/* journal seq that emptied it: reusable once flushed */
	u8 gen;
	u8 data_type;
	u8 flags;
};

struct alloc_dev {
	struct bucket_mem *b;
	u64 nbuckets;
	u64 cursor[BITMAP_MODES];
	/* scan_gen when a scan of that mode last found nothing */
	u64 exhausted[BITMAP_MODES];
};

struct open_bucket {
	u8 dev;
	u8 gen;
	u64 bucket;
	u32 sectors_free;
};

/* A set of open buckets on distinct devices filled together. */
struct write_point {
	bool used;
	unsigned target;
	unsigned nr;
	struct open_bucket ob[BCH_REPLICAS_MAX];
};

#define DATA_WRITE_POINTS	8

struct bch_allocator {
	struct alloc_dev dev[BCH_SB_MEMBERS_MAX];
	struct write_point btree_wp;
	struct write_point data_wp[DATA_WRITE_POINTS];
	unsigned next_dev;	/* round robin over the devices */
	/* bumped whenever buckets may have become allocatable */
	u64 scan_gen;
};

static bool data_type_empty(unsigned t)
{
	return t == BCH_DATA_free || t == BCH_DATA_need_gc_gens || t == BCH_DATA_need_discard;
}

static struct bucket_mem *bucket_get(struct bch_allocator *a, unsigned dev, u64 bucket)
{
	if (dev >= BCH_SB_MEMBERS_MAX || !a->dev[dev].b || bucket >= a->dev[dev].nbuckets)
		return NULL;
	return &a->dev[dev].b[bucket];
}

/* ---- loading ---- */

static int meta_bucket_mark(void *ctx, u64 bucket, enum bch_data_type type, unsigned sectors)
{
	struct alloc_dev *d = ctx;

	if (bucket < d->nbuckets) {
		d->b[bucket].flags |= BUCKET_META;
		if (d->b[bucket].data_type == BCH_DATA_free)
			d->b[bucket].data_type = type;
	}
	return 0;
}

static int dev_init(struct bch_fs *c, struct bch_allocator *a, unsigned idx)
{
	const struct bch_member_cpu *m = &c->sb.members[idx];
	struct bch_dev *ca = c->devs[idx];
	struct alloc_dev *d = &a->dev[idx];

	d->nbuckets = m->nbuckets;
	d->b = calloc(d->nbuckets ? d->nbuckets : 1, sizeof(*d->b));
	if (!d->b)
		return -BCH_ERR_nomem;
	for (u64 i = 0; i < d->nbuckets && i < m->first_bucket; i++)
		d->b[i].flags |= BUCKET_META;
	for (u64 i = 0; ca->bucket_gens && i < d->nbuckets && i < ca->nr_bucket_gens; i++)
		d->b[i].gen = ca->bucket_gens[i];
	for (unsigned i = 0; i < BITMAP_MODES; i++) {
		d->cursor[i] = m->first_bucket;
		d->exhausted[i] = ~0ULL;
	}
	/* the kernel marks these in the alloc btree; missing keys must not make them free */
	struct bch_sb_layout no_layout = { 0 };

	return bch_dev_metadata_buckets(ca->sb.sb ? &ca->sb.sb->layout : &no_layout, m,
					ca->journal_buckets, ca->nr_journal_buckets,
					meta_bucket_mark, d);
}

static void bucket_load(struct bch_allocator *a, struct bkey_s_c k)
{
	struct bucket_mem *b = bucket_get(a, k.k->p.inode, k.k->p.offset);
	struct bch_alloc_v4 v;

	if (!b || !bkey_is_alloc(k.k))
		return;
	bch_alloc_to_v4(k, &v);
	b->gen = v.gen;
	b->data_type = v.data_type;
	b->seq = le64_to_cpu(v.journal_seq);
}

static int alloc_btree_load(struct bch_fs *c, struct bch_allocator *a, struct printbuf *err)
{
	struct btree_iter it;
	struct bkey_s_c k;
	int ret;

	bch_btree_iter_init(&it, c, BTREE_ID_alloc, POS_MIN, 0);
	while ((ret = bch_btree_iter_peek(&it, &k)) > 0) {
		bucket_load(a, k);
		bch_btree_iter_advance(&it);
	}
	if (ret < 0)
		pb_printf(err, "reading the alloc btree: %s", pb_cstr(&it.err));
	bch_btree_iter_exit(&it);
	return ret < 0 ? ret : 0;
}

int bch_allocator_start(struct bch_fs *c, struct printbuf *err)
{
	struct bch_allocator *a;
	int ret = 0;

	if (c->allocator)
		return 0;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -BCH_ERR_nomem;
	for (unsigned i = 0; i < BCH_SB_MEMBERS_MAX && !ret; i++)
		if (c->devs[i] && c->sb.members[i].exists)
			ret = dev_init(c, a, i);
	c->allocator = a;
	if (!ret)
		ret = alloc_btree_load(c, a, err);
	if (ret)
		bch_allocator_exit(c);
	return ret;
}

void bch_allocator_exit(struct bch_fs *c)
{
	struct bch_allocator *a = c->allocator;

	if (!a)
		return;
	for (unsigned i = 0; i < BCH_SB_MEMBERS_MAX; i++)
		free(a->dev[i].b);
	free(a);
	c->allocator = NULL;
}

/* ---- devices and targets ---- */

static const struct bch_disk_group *disk_group(const struct bch_fs *c, unsigned idx)
{
	const struct bch_sb_field_disk_groups *f;
	size_t nr;

	if (!c->disk_sb.sb || !(f = bch_sb_field_get_t(c->disk_sb.sb, disk_groups)))
		return NULL;
	nr = (le32_to_cpu(f->field.u64s) * 8 - sizeof(f->field)) / sizeof(f->entries[0]);
	return idx < nr ? &f->entries[idx] : NULL;
}

/* Whether the device is in the target: the device itself, or its label or a parent label. */
static bool dev_in_target(const struct bch_fs *c, unsigned dev, unsigned target)
{
	unsigned g;

	if (!target)
		return true;
	if (target < TARGET_GROUP_START)
		return target - TARGET_DEV_START == dev;
	g = c->sb.members[dev].group;
	for (unsigned depth = 0; g && depth < GROUP_DEPTH_MAX; depth++) {
		const struct bch_disk_group *dg = disk_group(c, g - 1);

		if (g - 1 == target - TARGET_GROUP_START)
			return true;
		if (!dg)
			break;
		g = group_parent(dg);
	}
	return false;
}

static bool dev_usable(const struct bch_fs *c, unsigned dev, enum bch_data_type type)
{
	const struct bch_member_cpu *m = &c->sb.members[dev];

	return c->devs[dev] && c->allocator->dev[dev].b && m->exists &&
		m->state == BCH_MEMBER_STATE_rw && m->durability &&
		(m->data_allowed & (1U << type));
}

static bool target_has_devs(const struct bch_fs *c, unsigned target, enum bch_data_type type)
{
	for (unsigned d = 0; d < BCH_SB_MEMBERS_MAX; d++)
		if (dev_usable(c, d, type) && dev_in_target(c, d, target))
			return true;
	return false;
}

/* ---- buckets ---- */

static bool bucket_in_mode(const struct bch_member_cpu *m, u64 bucket, enum bitmap_mode mode)
{
	if (mode == BITMAP_ANY)
		return true;
	return bch_member_btree_bitmap_covers(m, bucket * m->bucket_size, m->bucket_size) ==
		(mode == BITMAP_YES);
}

/*
 * The next allocatable bucket of the device from the mode's cursor,
 * wrapping once; UINT64_MAX if none.  *skipped_unflushed counts free buckets
 * passed over because the journal seq that emptied them is not flushed.
 */
static u64 bucket_scan(struct bch_fs *c, unsigned dev, enum bitmap_mode mode,
		       u64 *skipped_unflushed)
{
	struct bch_allocator *a = c->allocator;
	struct alloc_dev *d = &a->dev[dev];
	const struct bch_member_cpu *m = &c->sb.members[dev];
	u64 flushed = bch_journal_flushed_seq(c);
	u64 first = m->first_bucket, start = d->cursor[mode];

	if (d->exhausted[mode] == a->scan_gen)
		return UINT64_MAX;
	if (start < first || start >= d->nbuckets)
		start = first;
	for (u64 n = 0, i = start; n < d->nbuckets - first; n++, i++) {
		if (i >= d->nbuckets)
			i = first;

		const struct bucket_mem *b = &d->b[i];

		if (b->data_type != BCH_DATA_free || (b->flags & (BUCKET_OPEN | BUCKET_META)))
			continue;
		if (!bucket_in_mode(m, i, mode))
			continue;
		if (b->seq > flushed) {
			(*skipped_unflushed)++;
			continue;
		}
		d->cursor[mode] = i + 1;
		return i;
	}
	d->exhausted[mode] = a->scan_gen;
	return UINT64_MAX;
}

static bool wp_has_dev(const struct write_point *wp, unsigned dev)
{
	for (unsigned i = 0; i < wp->nr; i++)
		if (wp->ob[i].dev == dev)
			return true;
	return false;
}

static void ob_close(struct bch_allocator *a, struct write_point *wp, unsigned i)
{
	struct bucket_mem *b = bucket_get(a, wp->ob[i].dev, wp->ob[i].bucket);

	if (b)
		b->flags &= ~BUCKET_OPEN;
	wp->ob[i] = wp->ob[--wp->nr];
}

/* Opens a bucket on one more device for wp; false if no device has one. */
static bool wp_add_bucket(struct bch_fs *c, struct write_point *wp, enum bch_data_type type,
			  u64 *skipped_unflushed)
{
	struct bch_allocator *a = c->allocator;
	enum bitmap_mode first_mode = type == BCH_DATA_btree ? BITMAP_YES : BITMAP_NO;

	for (enum bitmap_mode mode = first_mode; mode <= BITMAP_ANY;
	     mode = mode == first_mode ? BITMAP_ANY : BITMAP_MODES) {
		for (unsigned n = 0; n < BCH_SB_MEMBERS_MAX; n++) {
			unsigned dev = (a->next_dev + n) % BCH_SB_MEMBERS_MAX;

			if (!dev_usable(c, dev, type) || !dev_in_target(c, dev, wp->target) ||
			    wp_has_dev(wp, dev))
				continue;

			u64 bucket = bucket_scan(c, dev, mode, skipped_unflushed);
			if (bucket == UINT64_MAX)
				continue;

			struct bucket_mem *b = &a->dev[dev].b[bucket];

			b->flags |= BUCKET_OPEN;
			wp->ob[wp->nr++] = (struct open_bucket) {
				.dev = dev, .gen = b->gen, .bucket = bucket,
				.sectors_free = c->sb.members[dev].bucket_size,
			};
			a->next_dev = dev + 1;
			return true;
		}
	}
	return false;
}

static unsigned wp_durability(const struct bch_fs *c, const struct write_point *wp)
{
	unsigned dur = 0;

	for (unsigned i = 0; i < wp->nr; i++)
		dur += c->sb.members[wp->ob[i].dev].durability;
	return dur;
}

static void no_space_msg(struct bch_fs *c, struct write_point *wp, enum bch_data_type type,
			 unsigned want, u64 skipped, struct printbuf *err)
{
	pb_printf(err, "no space for %s: %u of %u replicas found (devices",
		  type == BCH_DATA_btree ? "btree nodes" : "data", wp_durability(c, wp), want);
	for (unsigned d = 0; d < BCH_SB_MEMBERS_MAX; d++)
		if (c->allocator->dev[d].b)
			pb_printf(err, " %u%s", d, dev_usable(c, d, type) &&
				  dev_in_target(c, d, wp->target) ? "" : " (not usable)");
	pb_str(err, ")");
	if (skipped)
		pb_printf(err, "; %llu free buckets wait for a journal flush",
			  (unsigned long long)skipped);
}

/*
 * Fills wp with open buckets of at least `need` free sectors each until
 * their durability reaches want (required at least).
 */
static int wp_fill(struct bch_fs *c, struct write_point *wp, enum bch_data_type type,
		   unsigned want, unsigned required, unsigned need, struct printbuf *err)
{
	struct bch_allocator *a = c->allocator;
	u64 skipped = 0;
	bool flushed = false;
	int ret;

	for (unsigned i = 0; i < wp->nr;)
		if (wp->ob[i].sectors_free < need || !dev_usable(c, wp->ob[i].dev, type))
			ob_close(a, wp, i);
		else
			i++;
	while (wp_durability(c, wp) < want && wp->nr < BCH_REPLICAS_MAX) {
		if (wp_add_bucket(c, wp, type, &skipped))
			continue;
		/* free buckets waiting on the journal: flush it, as the kernel does */
		if (skipped && !flushed) {
			ret = bch_journal_flush(c, err);
			if (ret)
				return ret;
			bch_allocator_journal_flushed(c, bch_journal_flushed_seq(c));
			flushed = true;
			skipped = 0;
			continue;
		}
		break;
	}
	if (wp_durability(c, wp) >= (required ? required : 1) && wp->nr)
		return 0;
	no_space_msg(c, wp, type, want, skipped, err);
	return -BCH_ERR_no_space;
}

/*
 * A pointer to the next free sectors of ob.  The bucket counts as holding
 * `type` from now on: it may close (fill up) before the key that points
 * into it is committed, and must not be handed out again meanwhile.  The
 * alloc trigger's bucket_update then sets what the alloc key says.
 */
static void ptr_make(const struct bch_fs *c, const struct open_bucket *ob,
		     enum bch_data_type type, struct bch_extent_ptr *ptr)
{
	struct bucket_mem *b = bucket_get(c->allocator, ob->dev, ob->bucket);

	if (b && data_type_empty(b->data_type))
		b->data_type = type;

	const struct bch_member_cpu *m = &c->sb.members[ob->dev];
	u64 offset = ob->bucket * m->bucket_size + (m->bucket_size - ob->sectors_free);

	memset(ptr, 0, sizeof(*ptr));
	ptr->v = cpu_to_le64(1ULL << BCH_EXTENT_ENTRY_ptr);
	set_ptr_offset(ptr, offset);
	set_ptr_dev(ptr, ob->dev);
	set_ptr_gen(ptr, ob->gen);
}

static unsigned opt_or(const struct bch_fs *c, enum bch_sb_opt_id id, unsigned def)
{
	u64 v = c->disk_sb.sb ? bch_sb_opt_get(c->disk_sb.sb, id) : 0;

	return v ? v : def;
}

/* ---- btree bitmap ---- */

static struct bch_member *sb_member_mut(struct bch_sb *sb, unsigned idx)
{
	return bch_sb_member_v2_mut_min(sb, idx, offsetof(struct bch_member, btree_allocated_bitmap) + 8);
}

static unsigned ilog2_roundup(u64 v)
{
	unsigned l = 0;

	while (l < 63 && (1ULL << l) < v)
		l++;
	return l;
}

/* Sets the bits covering [start, start + sectors), growing the granularity as the kernel does. */
static void bitmap_mark(u64 *bitmap, u8 *shift, u64 start, unsigned sectors)
{
	u64 end = start + sectors;
	int resize = (int)ilog2_roundup(end) - (*shift + 6);

	if (resize > 0) {
		u64 n = 0;

		for (unsigned i = 0; i < 64; i++)
			if (*bitmap & (1ULL << i))
				n |= 1ULL << (i >> resize);
		*bitmap = n;
		*shift += resize;
	}
	for (u64 bit = start >> *shift; bit < 64 && bit << *shift < end; bit++)
		*bitmap |= 1ULL << bit;
}

static void member_bitmap_set(struct bch_fs *c, unsigned dev, u64 bitmap, u8 shift)
{
	struct bch_sb *seen[BCH_SB_MEMBERS_MAX + 1];
	unsigned nr_seen = 0;

	c->sb.members[dev].btree_allocated_bitmap = bitmap;
	c->sb.members[dev].btree_bitmap_shift = shift;
	for (unsigned d = 0; d <= BCH_SB_MEMBERS_MAX; d++) {
		struct bch_sb *sb = d < BCH_SB_MEMBERS_MAX
			? (c->devs[d] ? c->devs[d]->sb.sb : NULL) : c->disk_sb.sb;
		bool dup = false;

		if (d < BCH_SB_MEMBERS_MAX && c->devs[d] && d == dev) {
			c->devs[d]->mi.btree_allocated_bitmap = bitmap;
			c->devs[d]->mi.btree_bitmap_shift = shift;
		}
		for (unsigned i = 0; i < nr_seen; i++)
			dup |= seen[i] == sb;
		if (!sb || dup)
			continue;
		seen[nr_seen++] = sb;

		struct bch_member *m = sb_member_mut(sb, dev);
		if (m) {
			m->btree_allocated_bitmap = cpu_to_le64(bitmap);
			m->btree_bitmap_shift = shift;
		}
	}
}

bool bch_allocator_btree_bitmap_mark(struct bch_fs *c, const struct bch_extent_ptr *ptrs,
				     unsigned nr)
{
	bool changed = false;

	for (unsigned i = 0; i < nr; i++) {
		unsigned dev = ptr_dev(&ptrs[i]);
		u64 offset = ptr_offset(&ptrs[i]);
		struct bch_member_cpu *m;

		if (dev >= BCH_SB_MEMBERS_MAX || !(m = &c->sb.members[dev])->exists)
			continue;
		if (bch_member_btree_bitmap_covers(m, offset, c->sb.btree_node_size))
			continue;

		u64 bitmap = m->btree_allocated_bitmap;
		u8 shift = m->btree_bitmap_shift;

		bitmap_mark(&bitmap, &shift, offset, c->sb.btree_node_size);
		member_bitmap_set(c, dev, bitmap, shift);
		changed = true;
		c->sb_dirty = true;	/* written before the node's pointer is journaled */
	}
	return changed;
}

/* ---- allocation ---- */

int bch_alloc_btree_node(struct bch_fs *c, struct bch_extent_ptr *ptrs, unsigned *nr,
			 struct printbuf *err)
{
	struct bch_allocator *a = c->allocator;
	struct write_point *wp;
	unsigned node = c->sb.btree_node_size;
	unsigned want = opt_or(c, BCH_SB_OPT_metadata_replicas, 1);
	unsigned required = opt_or(c, BCH_SB_OPT_metadata_replicas_required, 1);
	int ret;

	*nr = 0;
	if (!a)
		return -BCH_ERR_bad_argument;
	wp = &a->btree_wp;
	if (!wp->used) {
		unsigned t = opt_or(c, BCH_SB_OPT_metadata_target, 0) ?:
			opt_or(c, BCH_SB_OPT_foreground_target, 0);

		wp->used = true;
		wp->target = target_has_devs(c, t, BCH_DATA_btree) ? t : 0;
	}
	ret = wp_fill(c, wp, BCH_DATA_btree, want, required < want ? required : want, node, err);
	if (ret)
		return ret;
	for (unsigned i = 0; i < wp->nr; i++) {
		ptr_make(c, &wp->ob[i], BCH_DATA_btree, &ptrs[i]);
		wp->ob[i].sectors_free -= node;
	}
	*nr = wp->nr;
	bch_allocator_btree_bitmap_mark(c, ptrs, *nr);
	return 0;
}

static struct write_point *data_wp_get(struct bch_allocator *a, unsigned target)
{
	struct write_point *free_wp = NULL;

	for (unsigned i = 0; i < DATA_WRITE_POINTS; i++) {
		if (a->data_wp[i].used && a->data_wp[i].target == target)
			return &a->data_wp[i];
		if (!a->data_wp[i].used && !free_wp)
			free_wp = &a->data_wp[i];
	}
	if (!free_wp) {
		/* reuse the last one: its buckets are closed, their space stays unused */
		free_wp = &a->data_wp[DATA_WRITE_POINTS - 1];
		while (free_wp->nr)
			ob_close(a, free_wp, 0);
	}
	free_wp->used = true;
	free_wp->target = target;
	return free_wp;
}

/*
 * The data write point for (target, nr_replicas), filled with open buckets
 * whose durability reaches the replicas wanted; *avail the sectors every
 * one of them still has.
 */
static int data_wp_prepare(struct bch_fs *c, unsigned target, unsigned nr_replicas,
			   struct write_point **out, unsigned *avail, struct printbuf *err)
{
	struct bch_allocator *a = c->allocator;
	struct write_point *wp;
	unsigned want = nr_replicas ? nr_replicas : opt_or(c, BCH_SB_OPT_data_replicas, 1);
	unsigned required = opt_or(c, BCH_SB_OPT_data_replicas_required, 1);
	int ret;

	if (!a)
		return -BCH_ERR_bad_argument;
	if (target && !target_has_devs(c, target, BCH_DATA_user))
		target = 0;
	wp = data_wp_get(a, target);
	/* a write point made for more replicas keeps them: close the extra ones */
	while (wp->nr && wp_durability(c, wp) - c->sb.members[wp->ob[wp->nr - 1].dev].durability >= want)
		ob_close(a, wp, wp->nr - 1);
	ret = wp_fill(c, wp, BCH_DATA_user, want, required < want ? required : want, 1, err);
	if (ret)
		return ret;
	*avail = ~0U;
	for (unsigned i = 0; i < wp->nr; i++)
		if (wp->ob[i].sectors_free < *avail)
			*avail = wp->ob[i].sectors_free;
	*out = wp;
	return 0;
}

int bch_alloc_data_avail(struct bch_fs *c, unsigned target, unsigned nr_replicas,
			 unsigned *avail, struct printbuf *err)
{
	struct write_point *wp;

	return data_wp_prepare(c, target, nr_replicas, &wp, avail, err);
}

int bch_alloc_data(struct bch_fs *c, unsigned target, unsigned nr_replicas,
		   unsigned sectors, struct bch_extent_ptr *ptrs, unsigned *nr,
		   unsigned *got, struct printbuf *err)
{
	struct write_point *wp;
	unsigned avail;
	int ret;

	*nr = 0;
	*got = 0;
	if (!sectors)
		return -BCH_ERR_bad_argument;
	ret = data_wp_prepare(c, target, nr_replicas, &wp, &avail, err);
	if (ret)
		return ret;
	*got = sectors < avail ? sectors : avail;
	for (unsigned i = 0; i < wp->nr; i++) {
		ptr_make(c, &wp->ob[i], BCH_DATA_user, &ptrs[i]);
		wp->ob[i].sectors_free -= *got;
	}
	*nr = wp->nr;
	return 0;
}

/* ---- state changes ---- */

void bch_allocator_bucket_update(struct bch_fs *c, unsigned dev, u64 bucket,
				 const struct bch_alloc_v4 *v, u64 journal_seq)
{
	struct bch_allocator *a = c->allocator;
	struct bucket_mem *b = a ? bucket_get(a, dev, bucket) : NULL;
	struct bch_dev *ca = bch_dev_get(c, dev);

	if (ca && ca->bucket_gens && bucket < ca->nr_bucket_gens)
		ca->bucket_gens[bucket] = v->gen;
	if (!b)
		return;
	if (!data_type_empty(b->data_type) && data_type_empty(v->data_type))
		b->seq = journal_seq;
	if (v->data_type == BCH_DATA_free && b->data_type != BCH_DATA_free)
		a->scan_gen++;
	b->gen = v->gen;
	b->data_type = v->data_type;
}

void bch_allocator_journal_flushed(struct bch_fs *c, u64 seq)
{
	if (c->allocator)
		c->allocator->scan_gen++;
}

bool bch_allocator_bucket_is_open(const struct bch_fs *c, unsigned dev, u64 bucket)
{
	struct bch_allocator *a = c->allocator;

	if (!a || dev >= BCH_SB_MEMBERS_MAX || !a->dev[dev].b || bucket >= a->dev[dev].nbuckets)
		return false;
	return a->dev[dev].b[bucket].flags & BUCKET_OPEN;
}

void bch_allocator_close_all(struct bch_fs *c)
{
	struct bch_allocator *a = c->allocator;

	if (!a)
		return;
	while (a->btree_wp.nr)
		ob_close(a, &a->btree_wp, 0);
	for (unsigned i = 0; i < DATA_WRITE_POINTS; i++)
		while (a->data_wp[i].nr)
			ob_close(a, &a->data_wp[i], 0);
}

/* ---- discards ---- */

/* The alloc key of one bucket with need_discard cleared, queued in t: 1 if queued. */
static int discard_one(struct btree_trans *t, unsigned dev, u64 bucket, struct printbuf *err)
{
	union {
		struct bkey_i k;
		u64 buf[BKEY_U64s + BKEY_VAL_U64s_MAX];
	} old, new;
	struct bch_alloc_v4 *v = (void *)new.k.v;
	int ret = bch_trans_lookup(t, BTREE_ID_alloc, 0, POS(dev, bucket), &old.k,
				   sizeof(old) / 8, err);

	if (ret <= 0)
		return ret;
	memset(&new, 0, sizeof(new.k) + sizeof(*v));
	new.k.k = old.k.k;
	new.k.k.type = KEY_TYPE_alloc_v4;
	new.k.k.u64s = BKEY_U64s + BCH_ALLOC_V4_U64s;
	bch_alloc_to_v4(bkey_i_to_s_c(&old.k), v);
	if (v->data_type != BCH_DATA_need_discard || v->dirty_sectors || v->cached_sectors)
		return 0;
	set_alloc_v4_need_discard(v, 0);
	v->data_type = bch_alloc_data_type(v, v->data_type);
	ret = bch_trans_update(t, BTREE_ID_alloc, 0, &new.k, 0);
	return ret ? ret : 1;
}

int bch_allocator_do_discards(struct bch_fs *c, struct printbuf *err)
{
	struct bch_allocator *a = c->allocator;
	struct btree_trans t;
	u64 flushed = bch_journal_flushed_seq(c);
	unsigned queued = 0, done = 0;
	int ret = 0;

	if (!a)
		return 0;
	bch_trans_init(&t, c);
	t.name = "discard";
	for (unsigned d = 0; d < BCH_SB_MEMBERS_MAX && !ret; d++) {
		struct alloc_dev *ad = &a->dev[d];

		for (u64 i = 0; ad->b && i < ad->nbuckets && !ret; i++) {
			const struct bucket_mem *b = &ad->b[i];

			if (b->data_type != BCH_DATA_need_discard ||
			    (b->flags & (BUCKET_OPEN | BUCKET_META)) || b->seq > flushed)
				continue;
			ret = discard_one(&t, d, i, err);
			if (ret <= 0)
				continue;
			ret = 0;
			if (++queued == 256) {
				ret = bch_trans_commit(&t, err);
				done += queued;
				queued = 0;
			}
		}
	}
	if (!ret && queued) {
		ret = bch_trans_commit(&t, err);
		done += queued;
	}
	bch_trans_exit(&t);
	return ret ? ret : (int)done;
}
