/* fsck: the allocation passes, which judge alloc keys, their indexes, lrus, backpointers and accounting by what recompute derives from the keys, and write the derived keys it expects. */
#include <stdlib.h>
#include <string.h>

#include "alloc/allocator.h"
#include "alloc/derive.h"
#include "alloc/recompute.h"
#include "alloc/replicas.h"
#include "btree/trans.h"
#include "fsck/passes.h"
#include "keys/accounting.h"
#include "keys/key_ops.h"
#include "keys/key_types.h"
#include "sb/sb_fs.h"
#include "util/errcode.h"

/*
 * One recompute walk serves every allocation pass: its differences are
 * relative to the corrected filesystem (the indexes and counters follow
 * the corrected alloc keys), so the repairs of one pass never change
 * what a later pass must write.  Repairs write the derived keys
 * themselves, without triggers.
 */
struct alloc_finding {
	struct bch_recompute_finding f;
	char *line;
};

struct bch_fsck_alloc {
	struct alloc_finding *v;
	size_t nr, size;
	int ret;			/* out of memory while collecting */
};

/* A key with room for any value the passes write. */
struct key_buf {
	struct bkey_i k;
	u64 v[64];
};

enum alloc_pass {
	AP_none,
	AP_allocations,
	AP_alloc_info,
	AP_lrus,
	AP_btree_backpointers,
	AP_backpointers_to_extents,
	AP_extents_to_backpointers,
	AP_alloc_to_lru_refs,
};

void bch_fsck_alloc_exit(struct bch_fsck *f)
{
	struct bch_fsck_alloc *a = f->alloc;

	if (!a)
		return;
	for (size_t i = 0; i < a->nr; i++)
		free(a->v[i].line);
	free(a->v);
	free(a);
	f->alloc = NULL;
}

static void collect(void *ctx, const struct bch_recompute_finding *rf)
{
	struct bch_fsck_alloc *a = ctx;

	if (a->ret || rf->what == BCH_RC_other)
		return;
	if (a->nr == a->size) {
		size_t size = a->size ? a->size * 2 : 64;
		struct alloc_finding *n = realloc(a->v, size * sizeof(*n));

		if (!n) {
			a->ret = -BCH_ERR_nomem;
			return;
		}
		a->v = n;
		a->size = size;
	}
	a->v[a->nr].f = *rf;
	a->v[a->nr].line = strdup(rf->line);
	a->v[a->nr].f.line = a->v[a->nr].line;
	if (!a->v[a->nr].line) {
		a->ret = -BCH_ERR_nomem;
		return;
	}
	a->nr++;
}

/* The differences, from one recompute walk made by the first pass that needs them. */
static int findings_get(struct bch_fsck *f, struct bch_fsck_alloc **out)
{
	struct bch_recompute_result res;
	struct printbuf text = PRINTBUF;
	struct bch_fsck_alloc *a = f->alloc;
	int ret;

	if (!a) {
		a = calloc(1, sizeof(*a));
		if (!a)
			return bch_fsck_op_error(f, -BCH_ERR_nomem, "out of memory");
		f->alloc = a;
		struct bch_recompute_opts opts = { .found = collect, .ctx = a };

		ret = bch_recompute(f->c, &opts, &text, &res) ?: a->ret;
		if (ret) {
			/* the walk's own error lines say why */
			const char *e = strstr(pb_cstr(&text), "error: ");

			bch_fsck_op_error(f, ret, "checking allocations: %.200s", e ? e + 7 : "");
			pb_exit(&text);
			return ret;
		}
		pb_exit(&text);
	}
	*out = a;
	return 0;
}

/* ---- which pass and error type a difference is ---- */

static enum bch_fsck_err ptr_err(unsigned sub)
{
	switch (sub) {
	case BCH_RC_PTR_gen_newer:	return BCH_FSCK_ERR_ptr_gen_newer_than_bucket_gen;
	/* the kernel's gc records a too stale pointer under this name */
	case BCH_RC_PTR_too_stale:	return BCH_FSCK_ERR_ptr_gen_newer_than_bucket_gen;
	case BCH_RC_PTR_stale_dirty:	return BCH_FSCK_ERR_stale_dirty_ptr;
	case BCH_RC_PTR_type_mismatch:	return BCH_FSCK_ERR_ptr_bucket_data_type_mismatch;
	case BCH_RC_PTR_overflow:	return BCH_FSCK_ERR_bucket_sector_count_overflow;
	case BCH_RC_PTR_meta:		return BCH_FSCK_ERR_bucket_metadata_type_mismatch;
	case BCH_RC_PTR_missing_alloc:	return BCH_FSCK_ERR_ptr_to_missing_alloc_key;
	case BCH_RC_PTR_missing_stripe:	return BCH_FSCK_ERR_ptr_to_missing_stripe;
	default:			return BCH_FSCK_ERR_ptr_to_invalid_device;
	}
}

static const enum bch_fsck_err alloc_field_err[] = {
	[BCH_RC_F_data_type]		= BCH_FSCK_ERR_alloc_key_data_type_wrong,
	[BCH_RC_F_dirty_sectors]	= BCH_FSCK_ERR_alloc_key_dirty_sectors_wrong,
	[BCH_RC_F_cached_sectors]	= BCH_FSCK_ERR_alloc_key_cached_sectors_wrong,
	[BCH_RC_F_stripe_sectors]	= BCH_FSCK_ERR_alloc_key_stripe_sectors_wrong,
	[BCH_RC_F_stripe]		= BCH_FSCK_ERR_alloc_key_stripe_wrong,
	[BCH_RC_F_stripe_redundancy]	= BCH_FSCK_ERR_alloc_key_stripe_redundancy_wrong,
	[BCH_RC_F_gen]			= BCH_FSCK_ERR_alloc_key_gen_wrong,
};

/* need_discard and freespace: the alloc key's own slot, or an entry the alloc walk cannot see. */
static enum bch_fsck_err index_err(const struct bch_recompute_finding *rf)
{
	bool fs = rf->btree == BTREE_ID_freespace;

	if (rf->what == BCH_RC_index_missing)
		return fs && !rf->have_key ? BCH_FSCK_ERR_freespace_hole_missing :
			fs ? BCH_FSCK_ERR_freespace_key_wrong : BCH_FSCK_ERR_need_discard_key_wrong;
	if (!rf->have_key || rf->sub)
		return BCH_FSCK_ERR_need_discard_freespace_key_bad;
	return fs ? BCH_FSCK_ERR_freespace_key_wrong : BCH_FSCK_ERR_need_discard_key_wrong;
}

/* Whether an accounting key names a device that is not a member. */
static bool acc_invalid_dev(const struct bch_fs *c, struct bpos p)
{
	struct disk_accounting_pos acc = bch_bpos_to_accounting(p);

	switch (acc.type) {
	case BCH_DISK_ACCOUNTING_replicas:
		return !bch_replicas_devs_exist(c, (const struct bch_replicas_entry_v1 *)&acc.replicas);
	case BCH_DISK_ACCOUNTING_dev_data_type:
		return !bch_key_member(c, acc.dev_data_type.dev);
	default:
		return false;
	}
}

/*
 * The pass that reports a difference in the kernel, and as what.  A
 * differing backpointer is two problems there: the stored one points to
 * no pointer, and the pointer's is missing (second: pass 2).
 */
static enum alloc_pass classify(const struct bch_fs *c, const struct bch_recompute_finding *rf,
				bool second, enum bch_fsck_err *err)
{
	switch (rf->what) {
	case BCH_RC_ptr:
		*err = ptr_err(rf->sub);
		return AP_allocations;
	case BCH_RC_alloc_field:
		*err = alloc_field_err[rf->sub];
		return AP_allocations;
	case BCH_RC_accounting:
		/* the kernel keeps inum counters in the btree only: gc does not check them */
		if (bch_bpos_to_accounting(rf->pos).type == BCH_DISK_ACCOUNTING_inum)
			return AP_none;
		/* the kernel drops such a key as it reads the accounting, before gc */
		*err = rf->have_key && acc_invalid_dev(c, rf->pos)
			? BCH_FSCK_ERR_accounting_to_invalid_device
			: BCH_FSCK_ERR_accounting_mismatch;
		return AP_allocations;
	case BCH_RC_btree_bitmap:
		*err = BCH_FSCK_ERR_btree_bitmap_not_marked;
		return AP_allocations;
	case BCH_RC_key_version:
		*err = BCH_FSCK_ERR_bkey_version_in_future;
		return AP_allocations;
	case BCH_RC_reflink_missing:
		*err = BCH_FSCK_ERR_reflink_p_to_missing_reflink_v;
		return AP_allocations;
	case BCH_RC_reflink_refcount:
		*err = BCH_FSCK_ERR_reflink_v_refcount_wrong;
		return AP_allocations;
	case BCH_RC_alloc_bad_bucket:
		*err = BCH_FSCK_ERR_alloc_key_to_missing_dev_bucket;
		return AP_alloc_info;
	case BCH_RC_gen:
		*err = rf->have_key ? BCH_FSCK_ERR_bucket_gens_key_wrong : BCH_FSCK_ERR_bucket_gens_hole_wrong;
		return AP_alloc_info;
	case BCH_RC_gens_bad_bucket:
		*err = bch_key_member(c, rf->pos.inode)
			? BCH_FSCK_ERR_bucket_gens_to_invalid_buckets
			: BCH_FSCK_ERR_bucket_gens_to_invalid_dev;
		return AP_alloc_info;
	case BCH_RC_index_bad_bucket:
		if (rf->btree == BTREE_ID_lru) {
			*err = BCH_FSCK_ERR_lru_entry_to_invalid_bucket;
			return AP_lrus;
		}
		*err = BCH_FSCK_ERR_need_discard_freespace_key_to_invalid_dev_bucket;
		return AP_alloc_info;
	case BCH_RC_index_missing:
		if (rf->btree == BTREE_ID_lru) {
			*err = BCH_FSCK_ERR_alloc_key_to_missing_lru_entry;
			return AP_alloc_to_lru_refs;
		}
		*err = index_err(rf);
		return AP_alloc_info;
	case BCH_RC_index_extra:
		if (rf->btree == BTREE_ID_lru) {
			*err = BCH_FSCK_ERR_lru_entry_bad;
			return AP_lrus;
		}
		*err = index_err(rf);
		return AP_alloc_info;
	case BCH_RC_alloc_read_time:
		*err = BCH_FSCK_ERR_alloc_key_cached_but_read_time_zero;
		return AP_alloc_to_lru_refs;
	case BCH_RC_bp_bad_bucket:
		*err = rf->sub ? BCH_FSCK_ERR_backpointer_to_missing_alloc
			: BCH_FSCK_ERR_backpointer_to_missing_device;
		return AP_btree_backpointers;
	case BCH_RC_bp_extra:
		*err = BCH_FSCK_ERR_backpointer_to_missing_ptr;
		return AP_backpointers_to_extents;
	case BCH_RC_bp_missing:
		*err = BCH_FSCK_ERR_ptr_to_missing_backpointer;
		return AP_extents_to_backpointers;
	case BCH_RC_bp_differ:
		*err = second ? BCH_FSCK_ERR_ptr_to_missing_backpointer
			: BCH_FSCK_ERR_backpointer_to_missing_ptr;
		return second ? AP_extents_to_backpointers : AP_backpointers_to_extents;
	case BCH_RC_other:
		break;
	}
	return AP_none;
}

/* ---- repairs ---- */

static void key_init(struct key_buf *b, unsigned type, struct bpos pos, unsigned val_bytes)
{
	memset(b, 0, sizeof(struct bkey_i) + val_bytes);
	b->k.k.u64s = BKEY_U64s + (val_bytes + 7) / 8;
	b->k.k.format_whiteout = KEY_FORMAT_CURRENT;
	b->k.k.type = type;
	b->k.k.p = pos;
}

/* Writes (or deletes, type deleted) the key at pos of btree id; size for the extent btrees. */
static int put(struct btree_trans *t, enum btree_id id, unsigned type, struct bpos pos, u32 size)
{
	struct key_buf b;

	key_init(&b, type, pos, 0);
	b.k.k.size = size;
	return bch_trans_update(t, id, 0, &b.k, BCH_UPDATE_NO_TRIGGERS);
}

static int repair_alloc(struct btree_trans *t, const struct bch_recompute_finding *rf)
{
	struct key_buf b;
	struct bch_alloc_v4 *a = (struct bch_alloc_v4 *)b.v;

	key_init(&b, KEY_TYPE_alloc_v4, rf->pos, sizeof(*a));
	*a = rf->want;
	set_alloc_v4_backpointers_start(a, BCH_ALLOC_V4_U64s);
	if (a->data_type == BCH_DATA_cached && !le64_to_cpu(a->io_time[0])) {
		u64 now = t->c->journal.w.io_clock[0] & LRU_TIME_MAX;

		a->io_time[0] = cpu_to_le64(now ? now : 1);
	}
	return bch_trans_update(t, BTREE_ID_alloc, 0, &b.k, BCH_UPDATE_NO_TRIGGERS);
}

static int repair_gen(struct btree_trans *t, const struct bch_recompute_finding *rf,
		      struct printbuf *err)
{
	struct bpos pos = POS(rf->dev, rf->bucket >> BUCKET_GENS_BITS);
	struct key_buf b;
	struct bch_bucket_gens *g = (struct bch_bucket_gens *)b.v;
	int ret = bch_trans_lookup(t, BTREE_ID_bucket_gens, 0, pos, &b.k,
				   sizeof(b) / sizeof(u64), err);

	if (ret < 0)
		return ret;
	if (!ret || b.k.k.type != KEY_TYPE_bucket_gens || bkey_val_bytes(&b.k.k) < sizeof(*g))
		key_init(&b, KEY_TYPE_bucket_gens, pos, sizeof(*g));
	g->gens[rf->bucket & (BUCKET_GENS_NR - 1)] = rf->want_gen;
	return bch_trans_update(t, BTREE_ID_bucket_gens, 0, &b.k, BCH_UPDATE_NO_TRIGGERS);
}

static int repair_index(struct btree_trans *t, const struct bch_recompute_finding *rf, bool set)
{
	unsigned type = set ? KEY_TYPE_set : KEY_TYPE_deleted;
	int ret = 0;

	switch (rf->btree) {
	case BTREE_ID_freespace:
		return put(t, BTREE_ID_freespace, type, rf->pos, rf->bucket_end - rf->bucket);
	case BTREE_ID_need_discard:
		for (u64 b = rf->bucket; b < rf->bucket_end && !ret; b++)
			ret = put(t, BTREE_ID_need_discard, type, POS(rf->dev, b), 0);
		return ret;
	default:
		return put(t, rf->btree, type, rf->pos, 0);
	}
}

static int repair_bp(struct btree_trans *t, struct bpos pos, const struct bch_backpointer *bp)
{
	struct key_buf b;

	key_init(&b, KEY_TYPE_backpointer, pos, sizeof(*bp));
	memcpy(b.v, bp, sizeof(*bp));
	return bch_trans_update(t, BTREE_ID_backpointers, 0, &b.k, BCH_UPDATE_NO_TRIGGERS);
}

static int repair_accounting(struct btree_trans *t, const struct bch_recompute_finding *rf)
{
	struct disk_accounting_pos pos = bch_bpos_to_accounting(rf->pos);
	s64 d[BCH_ACCOUNTING_MAX_COUNTERS];

	for (unsigned i = 0; i < rf->nr; i++)
		d[i] = rf->want_d[i] - rf->found_d[i];
	return bch_trans_accounting_add(t, &pos, d, rf->nr);
}

/*
 * As the kernel's gc: an unreferenced indirect extent is deleted (its
 * triggers take its sectors, backpointers and counters away: the walk
 * counted them), a referenced one gets the count.
 */
static int repair_refcount(struct btree_trans *t, const struct bch_recompute_finding *rf,
			   struct printbuf *err)
{
	struct key_buf b;
	int ret = bch_trans_lookup(t, BTREE_ID_reflink, 0, rf->pos, &b.k, sizeof(b) / sizeof(u64), err);

	if (ret <= 0)
		return ret;
	if (!rf->refcount)
		return bch_trans_delete(t, BTREE_ID_reflink, 0, rf->pos, 0);
	if ((b.k.k.type != KEY_TYPE_reflink_v && b.k.k.type != KEY_TYPE_indirect_inline_data) ||
	    bkey_val_bytes(&b.k.k) < sizeof(__le64))
		return 0;
	b.v[0] = cpu_to_le64(rf->refcount);
	return bch_trans_update(t, BTREE_ID_reflink, 0, &b.k, BCH_UPDATE_NO_TRIGGERS);
}

/*
 * As the kernel's gc: a missing stretch in the padding shrinks the
 * padding; one in the pointer's own range turns it into an error key
 * (reads of it fail, nothing is counted).
 */
static int repair_reflink_p(struct btree_trans *t, const struct bch_recompute_finding *rf,
			    struct printbuf *err)
{
	struct key_buf b;
	struct bch_reflink_p *p = (struct bch_reflink_p *)b.v;
	int ret = bch_trans_lookup(t, BTREE_ID_extents, 0, rf->pos, &b.k, sizeof(b) / sizeof(u64), err);
	u64 start, end;

	if (ret <= 0 || b.k.k.type != KEY_TYPE_reflink_p)
		return ret;
	start = le64_to_cpu(p->idx);
	end = start + b.k.k.size;
	if (rf->end <= start) {
		p->front_pad = cpu_to_le32(start - rf->end);
	} else if (rf->start >= end) {
		p->back_pad = cpu_to_le32(rf->start - end);
	} else {
		b.k.k.type = KEY_TYPE_error;
		b.k.k.u64s = BKEY_U64s;
	}
	return bch_trans_update(t, BTREE_ID_extents, 0, &b.k, BCH_UPDATE_NO_TRIGGERS);
}

/*
 * The leaf key of a pointer gc cannot count, rewritten without the
 * pointers the kernel's gc drops (the finding says which, of how many):
 * the first finding of the key rewrites it, those after find it rewritten
 * already.  No trigger runs: what the pointers added is repaired by the
 * findings about it, made against the rewritten key.
 */
static int repair_ptrs(struct btree_trans *t, const struct bch_recompute_finding *rf, struct printbuf *err)
{
	union { struct bkey_i k; u64 pad[BKEY_U64s_MAX]; } b;
	struct bch_ptr_iter it;
	struct extent_ptr_decoded p;
	unsigned nr = 0;
	int ret = bch_trans_lookup(t, rf->btree, 0, rf->pos, &b.k, BKEY_U64s_MAX, err);

	if (ret <= 0)
		return ret;
	bch_ptr_iter_init(&it, bkey_i_to_s_c(&b.k));
	while (bch_ptr_iter_next(&it, &p))
		nr++;
	if (nr != rf->nr_ptrs)
		return 0;
	bch_extent_drop_ptrs(&b.k, rf->drop);
	return bch_trans_update(t, rf->btree, 0, &b.k, BCH_UPDATE_NO_TRIGGERS | BCH_UPDATE_NO_EXTENT_OVERWRITE);
}

/*
 * The leaf key without its stripe entries naming missing stripes (the
 * data pointers stay), as the kernel's gc rewrites it; no trigger runs: the
 * findings about the buckets were made against the key so rewritten.
 */
static int repair_stripe_entries(struct btree_trans *t, const struct bch_recompute_finding *rf,
				 struct printbuf *err)
{
	union { struct bkey_i k; u64 pad[BKEY_U64s_MAX]; } b;
	int ret = bch_trans_lookup(t, rf->btree, 0, rf->pos, &b.k, BKEY_U64s_MAX, err);

	if (ret <= 0 || !bch_extent_drop_stripes(&b.k, bch_stripe_missing, t->c))
		return ret;
	return bch_trans_update(t, rf->btree, 0, &b.k, BCH_UPDATE_NO_TRIGGERS | BCH_UPDATE_NO_EXTENT_OVERWRITE);
}

/*
 * The leaf key's pointer newer than its bucket takes the bucket's
 * generation; no trigger runs.  1 queued, 0 the key is not as found.
 */
static int repair_ptr_gen(struct btree_trans *t, const struct bch_recompute_finding *rf,
			  struct printbuf *err)
{
	union { struct bkey_i k; u64 pad[BKEY_U64s_MAX]; } b;
	struct bch_ptr_iter it;
	struct extent_ptr_decoded p;
	unsigned nr = 0;
	bool found = false;
	int ret = bch_trans_lookup(t, rf->btree, rf->level, rf->pos, &b.k, BKEY_U64s_MAX, err);

	if (ret <= 0)
		return ret;
	/* the pointer as found: the same device and offset at the same place */
	bch_ptr_iter_init(&it, bkey_i_to_s_c(&b.k));
	while (bch_ptr_iter_next(&it, &p))
		if (nr++ == rf->ptr_idx)
			found = ptr_dev(&p.ptr) == rf->dev && ptr_offset(&p.ptr) == rf->start;
	if (!found || !bch_extent_ptr_set_gen(&b.k, rf->ptr_idx, rf->want_gen))
		return 0;
	return bch_trans_update(t, rf->btree, rf->level, &b.k,
				BCH_UPDATE_NO_TRIGGERS | BCH_UPDATE_NO_EXTENT_OVERWRITE) ?: 1;
}

/* Queues the repair of one difference: 1 queued, 0 nothing this tool can repair. */
static int repair_queue(struct btree_trans *t, const struct bch_recompute_finding *rf,
			bool second, struct printbuf *err)
{
	switch (rf->what) {
	case BCH_RC_alloc_field:
	case BCH_RC_alloc_read_time:
		return repair_alloc(t, rf) ?: 1;
	case BCH_RC_alloc_bad_bucket:
	case BCH_RC_gens_bad_bucket:
		return put(t, rf->what == BCH_RC_alloc_bad_bucket ? BTREE_ID_alloc : BTREE_ID_bucket_gens,
			   KEY_TYPE_deleted, rf->pos, 0) ?: 1;
	case BCH_RC_index_bad_bucket:
	case BCH_RC_bp_bad_bucket:
		return put(t, rf->btree, KEY_TYPE_deleted, rf->pos, rf->size) ?: 1;
	case BCH_RC_gen:
		return repair_gen(t, rf, err) ?: 1;
	case BCH_RC_index_missing:
	case BCH_RC_index_extra:
		return repair_index(t, rf, rf->what == BCH_RC_index_missing) ?: 1;
	case BCH_RC_bp_missing:
		return repair_bp(t, rf->pos, &rf->bp) ?: 1;
	case BCH_RC_bp_differ:
		/* the first problem deletes the stored one; the second writes the right one */
		return (second ? repair_bp(t, rf->pos, &rf->bp)
			: put(t, BTREE_ID_backpointers, KEY_TYPE_deleted, rf->pos, 0)) ?: 1;
	case BCH_RC_bp_extra:
		return put(t, BTREE_ID_backpointers, KEY_TYPE_deleted, rf->pos, 0) ?: 1;
	case BCH_RC_accounting:
		return repair_accounting(t, rf) ?: 1;
	case BCH_RC_reflink_refcount:
		return repair_refcount(t, rf, err) ?: 1;
	case BCH_RC_reflink_missing:
		return repair_reflink_p(t, rf, err) ?: 1;
	case BCH_RC_ptr:
		/*
		 * The bucket's alloc key, with the pointer's generation, is the
		 * alloc pass's repair (a missing key, a generation moved on).
		 */
		if (rf->sub == BCH_RC_PTR_missing_alloc ||
		    (rf->sub == BCH_RC_PTR_gen_newer && rf->gen_fix == BCH_RC_GEN_FIX_bucket))
			return 1;
		if (rf->sub == BCH_RC_PTR_missing_stripe)
			return repair_stripe_entries(t, rf, err) ?: 1;
		if ((rf->sub == BCH_RC_PTR_gen_newer || rf->sub == BCH_RC_PTR_stale_dirty ||
		     rf->sub == BCH_RC_PTR_too_stale) && rf->gen_fix == BCH_RC_GEN_FIX_ptr)
			return repair_ptr_gen(t, rf, err);
		return rf->drop ? repair_ptrs(t, rf, err) ?: 1 : 0;
	case BCH_RC_key_version:
		/* the version the journal and the clean section record from now on */
		if (rf->version > t->c->journal.w.key_version)
			t->c->journal.w.key_version = rf->version;
		return 1;
	case BCH_RC_btree_bitmap: {
		/* the member's bitmap grows to cover the node; the commit writes the superblock */
		struct bch_extent_ptr p = { 0 };

		set_ptr_dev(&p, rf->dev);
		set_ptr_offset(&p, rf->start);
		bch_allocator_btree_bitmap_mark(t->c, &p, 1);
		return 1;
	}
	default:
		return 0;
	}
}

static int repair(struct bch_fsck *f, const struct bch_recompute_finding *rf, bool second,
		  enum bch_fsck_err err_id)
{
	struct btree_trans t;
	struct printbuf err = PRINTBUF;
	int ret = bch_fsck_start_write(f);

	if (ret)
		return ret;
	bch_trans_init(&t, f->c);
	t.name = "fsck";
	ret = repair_queue(&t, rf, second, &err);
	if (ret > 0)
		ret = bch_trans_commit(&t, &err);
	else if (!ret)
		bch_fsck_fix_failed(f, err_id);
	if (ret < 0)
		bch_fsck_op_error(f, ret, "repairing %s: %s", rf->line, pb_cstr(&err));
	bch_trans_exit(&t);
	pb_exit(&err);
	return ret < 0 ? ret : 0;
}

/* ---- the passes ---- */

/* The stored key the difference is about, for the message: the bucket's alloc key. */
static void key_text(struct bch_fsck *f, const struct bch_recompute_finding *rf, struct printbuf *out)
{
	struct btree_trans t;
	struct key_buf b;
	struct printbuf err = PRINTBUF;

	switch (rf->what) {
	case BCH_RC_alloc_field:
	case BCH_RC_alloc_read_time:
	case BCH_RC_gen:
	case BCH_RC_index_missing:
	case BCH_RC_index_extra:
		break;
	default:
		return;
	}
	bch_trans_init(&t, f->c);
	if (bch_trans_lookup(&t, BTREE_ID_alloc, 0, POS(rf->dev, rf->bucket), &b.k,
			     sizeof(b) / sizeof(u64), &err) > 0) {
		pb_str(out, "; ");
		bch_bkey_val_to_text(out, f->c, bkey_i_to_s_c(&b.k));
	}
	bch_trans_exit(&t);
	pb_exit(&err);
}

/* Messages are one line: a multi-line key text has its line breaks and indents folded to one space. */
static void one_line(char *s)
{
	char *start = s, *out = s;

	for (; *s; s++) {
		if (*s == '\n') {
			while (s[1] == ' ' || s[1] == '\t' || s[1] == '\n')
				s++;
			*out++ = ' ';
		} else {
			*out++ = *s;
		}
	}
	while (out > start && out[-1] == ' ')
		out--;
	*out = 0;
}

static int run_pass(struct bch_fsck *f, enum alloc_pass pass)
{
	struct bch_fsck_alloc *a = NULL;
	int ret = findings_get(f, &a);

	if (ret)
		return ret;
	for (size_t i = 0; i < a->nr && !ret; i++) {
		for (unsigned second = 0; second < 2 && !ret; second++) {
			const struct bch_recompute_finding *rf = &a->v[i].f;
			struct printbuf msg = PRINTBUF;
			enum bch_fsck_err err_id;

			if (second && rf->what != BCH_RC_bp_differ)
				break;
			if (classify(f->c, rf, second, &err_id) != pass)
				continue;
			pb_str(&msg, rf->line);
			key_text(f, rf, &msg);
			if (msg.buf)
				one_line(msg.buf);
			if (bch_fsck_problem(f, err_id, "%s", pb_cstr(&msg)))
				ret = repair(f, rf, second, err_id);
			pb_exit(&msg);
		}
	}
	return ret;
}

/* ---- the superblock's replicas section ---- */

static int replicas_check_one(void *ctx, const struct bch_replicas_entry_v1 *e, struct bpos pos)
{
	struct bch_fsck *f = ctx;
	struct bch_fs *c = f->c;
	struct disk_accounting_pos acc = bch_bpos_to_accounting(pos);
	struct printbuf msg = PRINTBUF;
	int ret = 0;

	if (acc_invalid_dev(c, pos) || bch_fs_replicas_marked(c, e))
		return 0;
	bch_accounting_key_to_text(&msg, &acc);
	if (bch_fsck_problem(f, BCH_FSCK_ERR_accounting_replicas_not_marked,
			     "accounting not marked in the superblock's replicas section: %s", pb_cstr(&msg))) {
		pb_reset(&msg);
		ret = bch_fsck_start_write(f) ?: bch_fs_replicas_mark(c, e, &msg);
		if (ret)
			bch_fsck_op_error(f, ret, "marking replicas: %s", pb_cstr(&msg));
	}
	pb_exit(&msg);
	return ret;
}

/*
 * As the kernel's accounting read: the replicas entry of every stored
 * replicas counter that is not zero is in the superblock's replicas
 * section (a counter naming a device that is gone is the allocations
 * pass's: accounting_to_invalid_device).  A missing entry is added.
 */
static int check_replicas_marked(struct bch_fsck *f)
{
	struct printbuf err = PRINTBUF;
	int ret = bch_counted_replicas_for_each(f->c, replicas_check_one, f, &err);

	if (ret < 0 && !f->op_error)
		bch_fsck_op_error(f, ret, "reading the accounting: %s", pb_cstr(&err));
	pb_exit(&err);
	return ret < 0 ? ret : 0;
}

int bch_fsck_check_allocations(struct bch_fsck *f)
{
	int ret = 0;

	/* the kernel's accounting read comes first; this pass runs again after a topology repair */
	if (!f->replicas_checked) {
		f->replicas_checked = true;
		ret = check_replicas_marked(f);
	}
	/* the interior nodes first, as the kernel's gc checks each node it visits */
	ret = ret ?: bch_fsck_topology_tiles(f);

	if (!ret && f->topology_btrees)
		ret = -BCH_ERR_btree_node_invalid;	/* the topology repair, then every pass again */
	return ret ?: run_pass(f, AP_allocations);
}

int bch_fsck_check_alloc_info(struct bch_fsck *f)
{
	return run_pass(f, AP_alloc_info);
}

int bch_fsck_check_lrus(struct bch_fsck *f)
{
	return run_pass(f, AP_lrus);
}

int bch_fsck_check_btree_backpointers(struct bch_fsck *f)
{
	return run_pass(f, AP_btree_backpointers);
}

int bch_fsck_check_backpointers_to_extents(struct bch_fsck *f)
{
	return run_pass(f, AP_backpointers_to_extents);
}

int bch_fsck_check_extents_to_backpointers(struct bch_fsck *f)
{
	return run_pass(f, AP_extents_to_backpointers);
}

/* The last allocation pass: the differences are not needed after it. */
int bch_fsck_check_alloc_to_lru_refs(struct bch_fsck *f)
{
	int ret = run_pass(f, AP_alloc_to_lru_refs);

	bch_fsck_alloc_exit(f);
	return ret;
}
