/* Recompute: walk every key, rebuild bucket usage, backpointers and accounting, and compare them with the alloc, index and accounting btrees. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/derive.h"
#include "alloc/recompute.h"
#include "btree/iter.h"
#include "journal/journal_write.h"
#include "keys/accounting.h"
#include "keys/alloc.h"
#include "keys/key_types.h"
#include "util/errcode.h"
#include "util/grow.h"
#include "util/names.h"

const char * const bch_recompute_kind_names[] = {
#define x(name, what) #name,
	BCH_RECOMPUTE_KINDS()
#undef x
	NULL
};

const char * const bch_recompute_kind_what[] = {
#define x(name, what) what,
	BCH_RECOMPUTE_KINDS()
#undef x
	NULL
};

/* What the keys add to one bucket: the kernel's gc bucket. */
struct bucket_usage {
	u32 dirty_sectors;
	u32 cached_sectors;
	u32 stripe_sectors;
	u32 stripe;
	u8 ptr_type;		/* data type of the last pointer or metadata counted */
	u8 stripe_redundancy;
};

/* What the bucket's corrected alloc key implies for the index btrees. */
struct bucket_index {
	u64 lru_read;
	u32 lru_frag;
	u8 gen;
	u8 genbits;		/* freespace generation bits, >> 56 */
	u8 data_type;
	u8 flags;
};

enum {
	BI_FREE			= 1 << 0,
	BI_NEED_DISCARD		= 1 << 1,
	BI_SEEN_FREESPACE	= 1 << 2,
	BI_SEEN_DISCARD		= 1 << 3,
	BI_SEEN_LRU_READ	= 1 << 4,
	BI_SEEN_LRU_FRAG	= 1 << 5,
	BI_BP_DIFFER		= 1 << 6,
	BI_HAVE_KEY		= 1 << 7,
};

/*
 * Backpointers of one bucket, expected minus found: a count and an
 * order-independent digest (a sum of hashes).  Both zero: they match.
 */
struct bucket_bps {
	u64 digest;
	s64 count;
};

struct dev_state {
	const struct bch_member_cpu *m;
	unsigned idx;
	struct bucket_usage *usage;
	struct bucket_index *index;
	struct bucket_bps *bps;
	u8 *gens;		/* the alloc keys' generations: pointers are judged by them */
	u64 *gens_seen;		/* bitmap of bucket_gens keys read */
	u64 *alloc_seen;	/* bitmap of buckets with an alloc key, or a pointer reported for lacking one */
	u64 alloc_next;		/* first bucket the alloc pass has not reached */
};

/* Accounting counters: a sorted array, and recent deltas merged into it in batches. */
struct acc_entry {
	struct bpos pos;
	unsigned nr;
	s64 d[BCH_ACCOUNTING_MAX_COUNTERS];
};

struct acc_table {
	struct acc_entry *sorted;
	size_t nr;
	struct acc_entry *pending;
	size_t nr_pending, pending_size;
};

/* A backpointer, expected or found, for the detailed comparison. */
struct bp_entry {
	struct bpos pos;
	struct bch_backpointer bp;
};

struct bp_vec {
	struct bp_entry *data;
	size_t nr, size;
};

/* The rebalance_work btree, read alongside the extents in position order. */
struct rebalance_cmp {
	struct btree_iter it;
	bool active;
	bool ended;
	bool started;
	struct bpos last;
};

/*
 * The indirect extents (reflink btree keys with a refcount), in order:
 * the reflink pointers of the extents btree, walked after it, count
 * their references.
 */
struct reflink_ent {
	u64 start, end;		/* in the reflink btree's offsets */
	u64 stored, counted;
};

struct reflink_table {
	struct reflink_ent *d;
	size_t nr, size;
};

/* A run of consecutive buckets with the same problem, reported as one line. */
struct bucket_run {
	enum bch_recompute_kind kind;
	const char *what;
	unsigned dev;
	u64 start, end;
	struct bch_recompute_finding f;	/* what each bucket of the run is */
};

/* A leaf key whose pointers gc drops (ptrs_drop_mask): the second pass expects no backpointers of them. */
struct ptr_drop {
	enum btree_id btree;
	struct bpos pos;
	u32 mask;
};

struct ptr_drops {
	struct ptr_drop *d;
	size_t nr, size;
};

/*
 * A dirty pointer newer than its bucket, judged once every pointer into
 * the bucket has been counted: see gen_newer_resolve.
 */
struct gen_newer {
	enum btree_id btree;
	unsigned level, idx;		/* idx: the pointer's number in its key */
	struct bpos pos;
	struct bch_ptr_derived d;
};

struct gen_newer_vec {
	struct gen_newer *d;
	size_t nr, size;
};

struct recompute {
	struct bch_fs *c;
	struct bch_recompute_opts opts;
	struct printbuf *out;
	struct bch_recompute_result *res;
	struct dev_state devs[BCH_SB_MEMBERS_MAX];
	struct acc_table acc;
	struct rebalance_cmp rb;
	struct bucket_run run;
	enum btree_id walk_id;	/* the btree and level walk_all is in */
	unsigned walk_level;
	bool collect_bps;	/* second pass: only gather the backpointers of differing buckets */
	struct bp_vec want_bps, found_bps;
	bool saw_stripes;
	u64 key_version;		/* the newest recorded, raised by each newer key */
	struct reflink_table reflink;
	struct bch_recompute_finding f;	/* the difference being described, for opts.found */
	size_t line_start;
	struct ptr_drops drops;
	struct gen_newer_vec newer;
	u32 cur_drop;			/* the key being counted: the pointers gc drops, */
	unsigned cur_nr;		/* of how many */
	union { struct bkey_i k; u64 pad[BKEY_U64s_MAX]; } rewritten;
	union { struct bkey_i k; u64 pad[BKEY_U64s_MAX]; } ec_fixed;	/* a key without stripe entries */
	/* the stripes that exist (ascending), read at the first stripe entry met */
	u64 *stripes;
	size_t nr_stripes, stripes_size;
	bool stripes_read;
	bool stripes_unreadable;	/* then every stripe counts as present */
};

/* ---- reports ---- */

static bool report_n(struct recompute *r, enum bch_recompute_kind kind, u64 n)
{
	u64 before = r->res->nr[kind];

	r->res->nr[kind] += n;
	r->res->total += n;
	if (r->opts.max_reports && before >= r->opts.max_reports) {
		r->f.what = BCH_RC_other;
		return false;
	}
	r->line_start = r->out->pos;
	r->f.kind = kind;
	pb_printf(r->out, "%s ", bch_recompute_kind_names[kind]);
	return true;
}

static bool report_start(struct recompute *r, enum bch_recompute_kind kind)
{
	return report_n(r, kind, 1);
}

static void report_end(struct recompute *r)
{
	if (r->opts.found) {
		r->f.line = pb_cstr(r->out) + r->line_start;
		r->opts.found(r->opts.ctx, &r->f);
	}
	memset(&r->f, 0, sizeof(r->f));
	pb_char(r->out, '\n');
}

static void finding_clear(struct recompute *r)
{
	memset(&r->f, 0, sizeof(r->f));
}

/* Starts describing a difference of type what: the caller fills in the rest. */
static struct bch_recompute_finding *finding(struct recompute *r, enum bch_recompute_what what)
{
	memset(&r->f, 0, sizeof(r->f));
	r->f.what = what;
	return &r->f;
}

__attribute__((format(printf, 3, 4)))
static void report(struct recompute *r, enum bch_recompute_kind kind, const char *fmt, ...)
{
	va_list args;

	if (!report_start(r, kind))
		return;
	va_start(args, fmt);
	pb_vprintf(r->out, fmt, args);
	va_end(args);
	report_end(r);
}

static void run_flush(struct recompute *r)
{
	struct bucket_run *run = &r->run;

	if (!run->what)
		return;
	r->f = run->f;
	r->f.dev = run->dev;
	r->f.bucket = run->start;
	r->f.bucket_end = run->end;
	if (r->f.btree == BTREE_ID_freespace)
		r->f.pos = POS(run->dev, (r->f.genbits << 56) | run->end);
	else
		r->f.pos = POS(run->dev, run->start);
	if (report_n(r, run->kind, run->end - run->start)) {
		pb_printf(r->out, "%u:%llu", run->dev, (unsigned long long)run->start);
		if (run->end - run->start > 1)
			pb_printf(r->out, "-%llu", (unsigned long long)run->end - 1);
		pb_printf(r->out, ": %s", run->what);
		report_end(r);
	}
	run->what = NULL;
}

/* Adds bucket b to the current run, or starts a new one; f: what the bucket's difference is. */
static void run_add(struct recompute *r, enum bch_recompute_kind kind, unsigned dev, u64 b,
		    const char *what, const struct bch_recompute_finding *f)
{
	struct bucket_run *run = &r->run;

	if (run->what == what && run->kind == kind && run->dev == dev && run->end == b &&
	    run->f.what == f->what && run->f.have_key == f->have_key &&
	    run->f.genbits == f->genbits) {
		run->end++;
		return;
	}
	run_flush(r);
	*run = (struct bucket_run) { kind, what, dev, b, b + 1, *f };
}

static const char *data_type_str(unsigned t)
{
	return t < BCH_DATA_NR ? bch_data_type_names[t] : "(unknown)";
}

static bool data_type_is_empty(unsigned t)
{
	return t == BCH_DATA_free || t == BCH_DATA_need_gc_gens || t == BCH_DATA_need_discard;
}

/* Cached and erasure-coded data live in user buckets. */
static unsigned bucket_data_type(unsigned t)
{
	return t == BCH_DATA_cached || t == BCH_DATA_stripe ? BCH_DATA_user : t;
}

static struct dev_state *dev_lookup(struct recompute *r, u64 dev)
{
	return dev < BCH_SB_MEMBERS_MAX && r->devs[dev].usage ? &r->devs[dev] : NULL;
}

static bool bucket_in_range(const struct dev_state *ds, u64 b)
{
	return b >= ds->m->first_bucket && b < ds->m->nbuckets;
}

/* qsort, for arrays that may be empty (and NULL) */
static void sort(void *base, size_t nr, size_t size, int (*cmp)(const void *, const void *))
{
	if (nr > 1)
		qsort(base, nr, size, cmp);
}

static int bp_vec_push(struct bp_vec *v, struct bpos pos, const struct bch_backpointer *bp)
{
	int ret = bch_grow(&v->data, &v->size, v->nr, 256);

	if (ret)
		return ret;
	v->data[v->nr].pos = pos;
	v->data[v->nr++].bp = *bp;
	return 0;
}

/* ---- accounting table ---- */

static int acc_entry_cmp(const void *l, const void *r)
{
	return bpos_cmp(((const struct acc_entry *)l)->pos, ((const struct acc_entry *)r)->pos);
}

static void acc_entry_add(struct acc_entry *dst, const struct acc_entry *src)
{
	if (src->nr > dst->nr)
		dst->nr = src->nr;
	for (unsigned i = 0; i < src->nr; i++)
		dst->d[i] += src->d[i];
}

/* Sorts the pending deltas and merges them into the sorted array. */
static int acc_merge(struct acc_table *t)
{
	struct acc_entry *merged;
	size_t n = 0, i = 0, j = 0, np = 0;

	sort(t->pending, t->nr_pending, sizeof(t->pending[0]), acc_entry_cmp);
	for (size_t k = 0; k < t->nr_pending; k++) {
		if (np && bpos_eq(t->pending[np - 1].pos, t->pending[k].pos))
			acc_entry_add(&t->pending[np - 1], &t->pending[k]);
		else
			t->pending[np++] = t->pending[k];
	}

	merged = malloc((t->nr + np + 1) * sizeof(*merged));
	if (!merged)
		return -BCH_ERR_nomem;
	while (i < t->nr || j < np) {
		int cmp = i == t->nr ? 1 : j == np ? -1 : bpos_cmp(t->sorted[i].pos, t->pending[j].pos);

		if (cmp < 0) {
			merged[n++] = t->sorted[i++];
		} else if (cmp > 0) {
			merged[n++] = t->pending[j++];
		} else {
			merged[n] = t->sorted[i++];
			acc_entry_add(&merged[n++], &t->pending[j++]);
		}
	}
	free(t->sorted);
	t->sorted = merged;
	t->nr = n;
	t->nr_pending = 0;

	/* batches grow with the table: each entry is merged O(log n) times */
	if (t->pending_size < t->nr) {
		struct acc_entry *p = realloc(t->pending, t->nr * sizeof(*p));

		if (!p)
			return -BCH_ERR_nomem;
		t->pending = p;
		t->pending_size = t->nr;
	}
	return 0;
}

static int acc_add(struct acc_table *t, const struct bch_acc_delta *d)
{
	struct acc_entry e = { bch_accounting_to_bpos(&d->pos), d->nr, { 0 } };
	struct acc_entry *last = t->nr_pending ? &t->pending[t->nr_pending - 1] : NULL;

	memcpy(e.d, d->d, d->nr * sizeof(e.d[0]));
	/* consecutive keys (extents of one inode) often add to one counter */
	if (last && bpos_eq(last->pos, e.pos)) {
		acc_entry_add(last, &e);
		return 0;
	}
	if (!t->pending_size) {
		t->pending = malloc(1024 * sizeof(*t->pending));
		if (!t->pending)
			return -BCH_ERR_nomem;
		t->pending_size = 1024;
	}
	if (t->nr_pending == t->pending_size) {
		int ret = acc_merge(t);

		if (ret)
			return ret;
	}
	t->pending[t->nr_pending++] = e;
	return 0;
}

static void acc_exit(struct acc_table *t)
{
	free(t->sorted);
	free(t->pending);
}

/* Moves past the key peek returned; false when that was the last position. */
static bool iter_advance(struct btree_iter *it)
{
	bch_btree_iter_advance(it);
	return !it->key_end;
}

/* ---- rebalance_work ---- */

static void rb_advance(struct recompute *r)
{
	if (!iter_advance(&r->rb.it))
		r->rb.ended = true;
}

/* The next entry (scan cookies are requests, not entries): 1, 0 at the end, or an error. */
static int rb_peek(struct recompute *r, struct bkey_s_c *k)
{
	int ret = 0;

	while (!r->rb.ended && (ret = bch_btree_iter_peek(&r->rb.it, k)) > 0 &&
	       k->k->type == KEY_TYPE_cookie)
		rb_advance(r);
	if (r->rb.ended)
		return 0;
	if (ret < 0)
		pb_printf(r->out, "error: rebalance_work: %s\n", pb_cstr(&r->rb.it.err));
	return ret;
}

static void rb_unexpected(struct recompute *r, struct bpos p)
{
	if (report_start(r, BCH_RECOMPUTE_rebalance_work)) {
		bch_bpos_to_text(r->out, p);
		pb_str(r->out, ": entry for a key with no rebalance work");
		report_end(r);
	}
}

/* An extent at pos has rebalance work: its entry must be there. */
static int rb_expect(struct recompute *r, struct bpos pos)
{
	struct bkey_s_c k;
	int ret;

	if (!r->rb.active)
		return 0;
	if (r->rb.started && bpos_le(pos, r->rb.last)) {
		pb_str(r->out, "note: extents with rebalance work out of position order (inode 0?): "
		       "rebalance_work not compared\n");
		r->rb.active = false;
		return 0;
	}
	r->rb.started = true;
	r->rb.last = pos;
	while ((ret = rb_peek(r, &k)) > 0 && bpos_lt(k.k->p, pos)) {
		rb_unexpected(r, k.k->p);
		rb_advance(r);
	}
	if (ret < 0)
		return ret;
	if (ret > 0 && bpos_eq(k.k->p, pos)) {
		rb_advance(r);
		return 0;
	}
	if (report_start(r, BCH_RECOMPUTE_rebalance_work)) {
		bch_bpos_to_text(r->out, pos);
		pb_str(r->out, ": missing (the extent has rebalance work)");
		report_end(r);
	}
	return 0;
}

static int rb_finish(struct recompute *r)
{
	struct bkey_s_c k;
	int ret = 0;

	if (r->rb.active)
		while ((ret = rb_peek(r, &k)) > 0) {
			rb_unexpected(r, k.k->p);
			rb_advance(r);
		}
	bch_btree_iter_exit(&r->rb.it);
	r->rb.active = false;
	return ret < 0 ? ret : 0;
}

/* ---- counting keys ---- */

static void ptr_where(struct printbuf *out, enum btree_id id, unsigned level,
		      struct bpos pos, const struct bch_ptr_derived *d)
{
	pb_printf(out, "%s l%u ", id < BTREE_ID_NR ? bch_btree_id_names[id] : "(unknown)", level);
	bch_bpos_to_text(out, pos);
	pb_printf(out, " ptr %u:%llu:%u gen %u%s: ", d->dev, (unsigned long long)d->bucket,
		  d->bucket_offset, (unsigned)ptr_gen(&d->p.ptr),
		  ptr_cached(&d->p.ptr) ? " cached" : "");
}

__attribute__((format(printf, 7, 8)))
static void ptr_report(struct recompute *r, enum bch_rc_ptr_problem sub, enum btree_id id,
		       unsigned level, struct bpos pos, const struct bch_ptr_derived *d,
		       const char *fmt, ...)
{
	struct bch_recompute_finding *f = finding(r, BCH_RC_ptr);
	va_list args;

	f->sub = sub;
	f->btree = id;
	f->level = level;
	f->pos = pos;
	f->dev = d->dev;
	f->bucket = d->bucket;
	f->drop = r->cur_drop;
	f->nr_ptrs = r->cur_nr;
	if (!report_start(r, BCH_RECOMPUTE_ptr))
		return;
	ptr_where(r->out, id, level, pos, d);
	va_start(args, fmt);
	pb_vprintf(r->out, fmt, args);
	va_end(args);
	report_end(r);
}

/* The bucket's data type as its counters say (the gc bucket's). */
static unsigned usage_type(const struct bucket_usage *u)
{
	if (u->stripe)
		return u->ptr_type == BCH_DATA_parity ? BCH_DATA_parity : BCH_DATA_stripe;
	if (u->dirty_sectors || u->stripe_sectors)
		return u->ptr_type;
	if (u->cached_sectors)
		return BCH_DATA_cached;
	return BCH_DATA_free;
}

static u64 mix64(u64 x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static u64 bp_hash(struct bpos pos, const struct bch_backpointer *bp)
{
	u64 w[sizeof(*bp) / 8];
	u64 h = mix64(pos.inode + 0x9e3779b97f4a7c15ULL);

	memcpy(w, bp, sizeof(w));
	h = mix64(h ^ pos.offset);
	h = mix64(h ^ pos.snapshot);
	for (unsigned i = 0; i < sizeof(w) / 8; i++)
		h = mix64(h ^ w[i]);
	return h;
}

static bool ptr_gen_ok(struct recompute *r, enum btree_id id, unsigned level,
		       struct bkey_s_c k, const struct bch_ptr_derived *d)
{
	switch (d->gen_state) {
	case BCH_PTR_GEN_OK:
		return true;
	case BCH_PTR_GEN_NEWER:
		/* a dirty one waits for every other pointer into its bucket: gen_newer_resolve */
		if (ptr_cached(&d->p.ptr))
			ptr_report(r, BCH_RC_PTR_gen_newer, id, level, k.k->p, d,
				   "gen newer than the bucket's (%u)", d->bucket_gen);
		return false;
	case BCH_PTR_GEN_TOO_STALE:
		/* as the kernel's gc: a dirty one is also a stale dirty pointer */
		ptr_report(r, BCH_RC_PTR_too_stale, id, level, k.k->p, d, "gen too stale (bucket gen %u)", d->bucket_gen);
		if (!ptr_cached(&d->p.ptr))
			ptr_report(r, BCH_RC_PTR_stale_dirty, id, level, k.k->p, d, "stale dirty pointer (bucket gen %u)",
				   d->bucket_gen);
		return false;
	case BCH_PTR_GEN_STALE:
		/* a stale cached pointer is normal: the bucket was reused */
		if (!ptr_cached(&d->p.ptr))
			ptr_report(r, BCH_RC_PTR_stale_dirty, id, level, k.k->p, d, "stale dirty pointer (bucket gen %u)",
				   d->bucket_gen);
		return false;
	}
	return false;
}

static void bitmap_finding(struct recompute *r, const struct bch_ptr_derived *d)
{
	struct bch_recompute_finding *f = finding(r, BCH_RC_btree_bitmap);

	f->dev = d->dev;
	f->start = ptr_offset(&d->p.ptr);
	f->size = d->sectors;
}

static int gen_newer_cmp(const void *a, const void *b)
{
	const struct gen_newer *x = a, *y = b;

	if (x->d.dev != y->d.dev)
		return x->d.dev < y->d.dev ? -1 : 1;
	if (x->d.bucket != y->d.bucket)
		return x->d.bucket < y->d.bucket ? -1 : 1;
	if (x->btree != y->btree)
		return x->btree < y->btree ? -1 : 1;
	return bpos_cmp(x->pos, y->pos);
}

/* more: other pointers into the bucket of the same generation, described with this one */
static void gen_newer_report(struct recompute *r, const struct gen_newer *g, enum bch_rc_gen_fix fix,
			     u8 gen, size_t more)
{
	static const char * const how[] = {
		[BCH_RC_GEN_FIX_none]	= "left: a node pointer into a bucket other data holds",
		[BCH_RC_GEN_FIX_bucket]	= "the bucket's moves on to it",
		[BCH_RC_GEN_FIX_ptr]	= "the pointer takes the bucket's, as its other data has",
	};
	struct bch_recompute_finding *f = finding(r, BCH_RC_ptr);

	f->sub = BCH_RC_PTR_gen_newer;
	f->btree = g->btree;
	f->level = g->level;
	f->pos = g->pos;
	f->dev = g->d.dev;
	f->bucket = g->d.bucket;
	f->start = ptr_offset(&g->d.p.ptr);
	f->gen_fix = fix;
	f->want_gen = gen;
	f->ptr_idx = g->idx;
	if (!report_start(r, BCH_RECOMPUTE_ptr))
		return;
	ptr_where(r->out, g->btree, g->level, g->pos, &g->d);
	pb_printf(r->out, "gen newer than the bucket's (%u): %s", g->d.bucket_gen, how[fix]);
	if (more)
		pb_printf(r->out, " (and %zu more pointers of this generation into the bucket)", more);
	report_end(r);
}

/* A pointer of the right generation: its sectors added to its bucket's. */
static void count_usage(struct recompute *r, enum btree_id id, unsigned level, struct bpos pos,
			const struct bch_ptr_derived *d, struct dev_state *ds, bool dropped)
{
	struct bucket_usage *u = &ds->usage[d->bucket];
	unsigned cur = usage_type(u);

	if (!data_type_is_empty(cur) && bucket_data_type(cur) != bucket_data_type(d->data_type)) {
		ptr_report(r, BCH_RC_PTR_type_mismatch, id, level, pos, d, "%s data in a %s bucket",
			   data_type_str(d->data_type), data_type_str(cur));
		return;
	}
	if ((u64)u->dirty_sectors + d->dirty_sectors > UINT32_MAX ||
	    (u64)u->cached_sectors + d->cached_sectors > UINT32_MAX ||
	    (u64)u->stripe_sectors + d->stripe_sectors > UINT32_MAX) {
		ptr_report(r, BCH_RC_PTR_overflow, id, level, pos, d, "bucket sector count overflow");
		return;
	}
	if (dropped)
		return;
	u->dirty_sectors += d->dirty_sectors;
	u->cached_sectors += d->cached_sectors;
	u->stripe_sectors += d->stripe_sectors;
	u->ptr_type = d->data_type;
	r->res->ptrs++;
}

/*
 * Pointer idx of k.  dropped: the repair takes the pointer out of the
 * key; described, never counted.
 */
static void stale_node_ptr(struct recompute *r, enum btree_id id, unsigned level, struct bpos pos,
			   const struct bch_ptr_derived *d, struct dev_state *ds, unsigned idx);

static void count_ptr(struct recompute *r, enum btree_id id, unsigned level,
		      struct bkey_s_c k, const struct bch_ptr_derived *d, unsigned idx, bool dropped)
{
	struct dev_state *ds;

	if (!d->dev_exists) {
		/* pointers to "no device" are allowed and count for nothing */
		if (d->dev != BCH_DEV_NONE)
			ptr_report(r, BCH_RC_PTR_bad_dev, id, level, k.k->p, d, "device %u is not a member", d->dev);
		return;
	}
	ds = dev_lookup(r, d->dev);
	if (!ds)
		return;
	if (!d->bucket_valid) {
		ptr_report(r, BCH_RC_PTR_bad_bucket, id, level, k.k->p, d, "bucket outside the device's %llu-%llu",
			   (unsigned long long)ds->m->first_bucket,
			   (unsigned long long)ds->m->nbuckets - 1);
		return;
	}
	if (d->has_bp && !dropped) {
		ds->bps[d->bucket].count++;
		ds->bps[d->bucket].digest += bp_hash(d->bp_pos, &d->bp);
	}
	if (level && !bch_member_btree_bitmap_covers(ds->m, ptr_offset(&d->p.ptr), d->sectors) &&
	    (bitmap_finding(r, d), report_start(r, BCH_RECOMPUTE_btree_bitmap))) {
		ptr_where(r->out, id, level, k.k->p, d);
		pb_printf(r->out, "sectors %llu-%llu not in the member's btree bitmap (shift %u, 0x%llx)",
			  (unsigned long long)ptr_offset(&d->p.ptr),
			  (unsigned long long)ptr_offset(&d->p.ptr) + d->sectors - 1,
			  ds->m->btree_bitmap_shift,
			  (unsigned long long)ds->m->btree_allocated_bitmap);
		report_end(r);
	}
	if (level && !ptr_cached(&d->p.ptr) &&
	    (d->gen_state == BCH_PTR_GEN_STALE || d->gen_state == BCH_PTR_GEN_TOO_STALE)) {
		stale_node_ptr(r, id, level, k.k->p, d, ds, idx);
		return;
	}
	if (!ptr_gen_ok(r, id, level, k, d)) {
		struct gen_newer g = { .btree = id, .level = level, .idx = idx, .pos = k.k->p, .d = *d };

		if (d->gen_state != BCH_PTR_GEN_NEWER || ptr_cached(&d->p.ptr) || dropped)
			return;
		if (bch_grow(&r->newer.d, &r->newer.size, r->newer.nr, 16))
			/* no room to judge it later: described now, and left */
			gen_newer_report(r, &g, BCH_RC_GEN_FIX_none, d->bucket_gen, 0);
		else
			r->newer.d[r->newer.nr++] = g;
		return;
	}
	count_usage(r, id, level, k.k->p, d, ds, dropped);
}

/*
 * A stale dirty node pointer: as the kernel's gc does, not dropped (the
 * node read judges what it finds there) but given its bucket's
 * generation, and counted so.
 */
static void stale_node_ptr(struct recompute *r, enum btree_id id, unsigned level, struct bpos pos,
			   const struct bch_ptr_derived *d, struct dev_state *ds, unsigned idx)
{
	struct bch_ptr_derived fixed = *d;

	for (unsigned i = d->gen_state == BCH_PTR_GEN_TOO_STALE ? 0 : 1; i < 2; i++) {
		struct bch_recompute_finding *f = finding(r, BCH_RC_ptr);

		f->sub = i ? BCH_RC_PTR_stale_dirty : BCH_RC_PTR_too_stale;
		f->btree = id;
		f->level = level;
		f->pos = pos;
		f->dev = d->dev;
		f->bucket = d->bucket;
		f->start = ptr_offset(&d->p.ptr);
		f->gen_fix = BCH_RC_GEN_FIX_ptr;
		f->want_gen = d->bucket_gen;
		f->ptr_idx = idx;
		if (!report_start(r, BCH_RECOMPUTE_ptr))
			continue;
		ptr_where(r->out, id, level, pos, d);
		pb_printf(r->out, "%s (bucket gen %u): the node pointer takes the bucket's",
			  i ? "stale dirty pointer" : "gen too stale", d->bucket_gen);
		report_end(r);
	}
	set_ptr_gen(&fixed.p.ptr, d->bucket_gen);
	bch_ptr_derived_judge_gen(&fixed, d->bucket_gen);
	count_usage(r, id, level, pos, &fixed, ds, false);
}

/*
 * The dirty pointers newer than their buckets, once every other pointer
 * has been counted.  The kernel's gc moves the bucket's generation on to
 * the first such pointer, which makes every other pointer into the
 * bucket stale, and so drops them: the data of one damaged pointer costs
 * that of every extent sharing its bucket.  Here the bucket decides:
 * when other pointers of the bucket's own generation hold data in it,
 * the newer pointer is the damaged one and takes the bucket's
 * generation; when none do, the bucket's generation is what is wrong and
 * moves on to the newest of its pointers' (the kernel's repair), which
 * the others take.  Either way every pointer counts.  A node pointer into
 * a bucket with other data is left (a stale one takes its bucket's
 * generation: stale_node_ptr).
 */
static void gen_newer_resolve(struct recompute *r)
{
	struct gen_newer *v = r->newer.d;
	size_t i, j;

	sort(v, r->newer.nr, sizeof(*v), gen_newer_cmp);
	for (i = 0; i < r->newer.nr; i = j) {
		struct dev_state *ds = dev_lookup(r, v[i].d.dev);
		u64 b = v[i].d.bucket;
		bool held = !data_type_is_empty(usage_type(&ds->usage[b]));
		u8 gen = ds->gens[b];
		size_t same = 0;

		for (j = i; j < r->newer.nr && v[j].d.dev == v[i].d.dev && v[j].d.bucket == b; j++)
			if (!held && bch_gen_after(ptr_gen(&v[j].d.p.ptr), gen) > 0)
				gen = ptr_gen(&v[j].d.p.ptr);
		if (!held)
			ds->gens[b] = gen;
		for (size_t k = i; k < j; k++)
			same += ptr_gen(&v[k].d.p.ptr) == gen;
		for (size_t k = i; k < j; k++) {
			struct gen_newer *g = &v[k];
			struct bch_ptr_derived d = g->d;
			enum bch_rc_gen_fix fix = ptr_gen(&d.p.ptr) == gen ? BCH_RC_GEN_FIX_bucket
				: g->level ? BCH_RC_GEN_FIX_none : BCH_RC_GEN_FIX_ptr;

			/* the bucket moves on once: one line for the pointers that moved it */
			if (fix != BCH_RC_GEN_FIX_bucket)
				gen_newer_report(r, g, fix, gen, 0);
			else if (same)
				gen_newer_report(r, g, fix, gen, same - 1), same = 0;
			if (fix == BCH_RC_GEN_FIX_none)
				continue;
			set_ptr_gen(&d.p.ptr, gen);
			bch_ptr_derived_judge_gen(&d, gen);
			count_usage(r, g->btree, g->level, g->pos, &d, ds, false);
		}
	}
	r->newer.nr = 0;
}

static int ptr_drop_cmp(const void *a, const void *b)
{
	const struct ptr_drop *x = a, *y = b;

	return x->btree != y->btree ? (x->btree < y->btree ? -1 : 1) : bpos_cmp(x->pos, y->pos);
}

/* The pointers of the leaf key at pos that the first pass found gc drops. */
static u32 ptr_drops_of(const struct recompute *r, enum btree_id id, struct bpos pos)
{
	struct ptr_drop want = { .btree = id, .pos = pos }, *d;

	if (!r->drops.nr)
		return 0;
	d = bsearch(&want, r->drops.d, r->drops.nr, sizeof(want), ptr_drop_cmp);
	return d ? d->mask : 0;
}

/* Second pass: the expected backpointers of buckets whose digests differ. */
static int collect_bps(struct recompute *r, enum btree_id id, unsigned level, struct bkey_s_c k,
		       const struct bch_ptr_derived *ptrs, unsigned nr)
{
	u32 drop = level ? 0 : ptr_drops_of(r, id, k.k->p);
	int ret = 0;

	for (unsigned i = 0; i < nr && !ret; i++) {
		const struct bch_ptr_derived *d = &ptrs[i];
		struct dev_state *ds = d->has_bp && !(drop & (1U << i)) ? dev_lookup(r, d->dev) : NULL;

		if (ds && d->bucket_valid && (ds->index[d->bucket].flags & BI_BP_DIFFER))
			ret = bp_vec_push(&r->want_bps, d->bp_pos, &d->bp);
	}
	return ret;
}

/*
 * Each pointer's generation against its bucket's, as gc judges it: by the
 * alloc keys' generations, not the bucket_gens btree's.  A bucket without an
 * alloc key takes the generation of the first pointer into it (reported,
 * as the kernel's gc does): the alloc key written for it gets that one.
 */
static void ptrs_judge_gens(struct recompute *r, enum btree_id id, unsigned level, struct bkey_s_c k,
			    struct bch_ptr_derived *ptrs, unsigned nr)
{
	for (unsigned i = 0; i < nr; i++) {
		struct dev_state *ds = ptrs[i].dev_exists ? dev_lookup(r, ptrs[i].dev) : NULL;
		u64 b = ptrs[i].bucket;

		if (!ds || !ptrs[i].bucket_valid)
			continue;
		if (!(ds->alloc_seen[b / 64] & (1ULL << (b % 64)))) {
			ds->alloc_seen[b / 64] |= 1ULL << (b % 64);
			ds->gens[b] = ptr_gen(&ptrs[i].p.ptr);
			ptr_report(r, BCH_RC_PTR_missing_alloc, id, level, k.k->p, &ptrs[i],
				   "bucket has no alloc key");
		}
		bch_ptr_derived_judge_gen(&ptrs[i], ds->gens[b]);
	}
}

/*
 * The pointers of a leaf key the kernel's gc drops (check_fix_ptrs): once
 * one of them is wrong in a way a rewrite of the key repairs (a device
 * that is not a member, a stale or too stale generation, a cached pointer
 * newer than its bucket, data of another type in the bucket), every
 * pointer that does not fit its bucket as counted so far goes.  0 when no
 * rewrite is due.  Node pointers are not rewritten (the kernel leaves
 * them to the read path), nor is a dirty pointer newer than its bucket
 * (the kernel moves the bucket's generation on instead).
 */
static u32 ptrs_drop_mask(struct recompute *r, unsigned level, const struct bch_ptr_derived *ptrs,
			  unsigned nr)
{
	bool rewrite = false;
	u32 mask = 0;

	if (level)
		return 0;
	for (unsigned i = 0; i < nr; i++) {
		const struct bch_ptr_derived *d = &ptrs[i];
		bool cached = ptr_cached(&d->p.ptr), drop;
		struct dev_state *ds;
		unsigned have;

		if (!d->dev_exists) {
			rewrite |= d->dev != BCH_DEV_NONE;
			mask |= 1U << i;
			continue;
		}
		ds = dev_lookup(r, d->dev);
		if (!ds || !d->bucket_valid)
			continue;
		have = usage_type(&ds->usage[d->bucket]);
		drop = d->gen_state == BCH_PTR_GEN_TOO_STALE ||
		       (cached && d->gen_state == BCH_PTR_GEN_NEWER) ||
		       (!cached && d->gen_state == BCH_PTR_GEN_STALE) ||
		       (!data_type_is_empty(have) && have != (cached ? BCH_DATA_cached : d->data_type));
		rewrite |= d->gen_state == BCH_PTR_GEN_TOO_STALE ||
			   (cached && d->gen_state == BCH_PTR_GEN_NEWER) ||
			   (!cached && d->gen_state == BCH_PTR_GEN_STALE) ||
			   (d->gen_state == BCH_PTR_GEN_OK && !data_type_is_empty(have) &&
			    bucket_data_type(have) != bucket_data_type(d->data_type));
		mask |= (u32)drop << i;
	}
	return rewrite ? mask : 0;
}

static int ptr_drops_add(struct recompute *r, enum btree_id id, struct bpos pos, u32 mask)
{
	if (bch_grow(&r->drops.d, &r->drops.size, r->drops.nr, 16)) {
		pb_str(r->out, "error: out of memory\n");
		return -BCH_ERR_nomem;
	}
	r->drops.d[r->drops.nr++] = (struct ptr_drop) { .btree = id, .pos = pos, .mask = mask };
	return 0;
}

/* ---- indirect extents ---- */

static const __le64 *key_refcount(struct bkey_s_c k)
{
	if (k.k->type != KEY_TYPE_reflink_v && k.k->type != KEY_TYPE_indirect_inline_data)
		return NULL;
	return bkey_val_bytes(k.k) >= sizeof(__le64) ? k.v : NULL;
}

static int reflink_add(struct recompute *r, struct bkey_s_c k)
{
	struct reflink_table *t = &r->reflink;
	const __le64 *refcount = key_refcount(k);

	if (!refcount)
		return 0;
	if (t->nr == t->size) {
		size_t n = t->size ? t->size * 2 : 256;
		struct reflink_ent *d = realloc(t->d, n * sizeof(*d));

		if (!d) {
			pb_str(r->out, "error: out of memory\n");
			return -BCH_ERR_nomem;
		}
		t->d = d;
		t->size = n;
	}
	t->d[t->nr++] = (struct reflink_ent) {
		.start = k.k->p.offset - k.k->size, .end = k.k->p.offset,
		.stored = le64_to_cpu(*refcount),
	};
	return 0;
}

/* The first indirect extent ending after idx. */
static size_t reflink_find(const struct reflink_table *t, u64 idx)
{
	size_t l = 0, h = t->nr;

	while (l < h) {
		size_t m = l + (h - l) / 2;

		if (t->d[m].end <= idx)
			l = m + 1;
		else
			h = m;
	}
	return l;
}

/*
 * A reflink pointer references every indirect extent its range touches,
 * padding included (as the kernel's gc counts); each stretch of the range
 * no indirect extent covers is a difference.
 */
static void reflink_p_count(struct recompute *r, struct bkey_s_c k)
{
	const struct bch_reflink_p *p = k.v;
	struct reflink_table *t = &r->reflink;
	u64 idx = le64_to_cpu(p->idx) - le32_to_cpu(p->front_pad);
	u64 end = le64_to_cpu(p->idx) + k.k->size + le32_to_cpu(p->back_pad);
	size_t i = reflink_find(t, idx);

	while (idx < end) {
		if (i < t->nr && t->d[i].start <= idx) {
			t->d[i].counted++;
			idx = t->d[i++].end;
			continue;
		}

		u64 next = i < t->nr && t->d[i].start < end ? t->d[i].start : end;
		struct bch_recompute_finding *f = finding(r, BCH_RC_reflink_missing);

		f->btree = BTREE_ID_extents;
		f->pos = k.k->p;
		f->start = idx;
		f->end = next;
		if (report_start(r, BCH_RECOMPUTE_reflink)) {
			pb_str(r->out, "pointer to missing indirect extent: ");
			bch_bkey_val_to_text(r->out, r->c, k);
			pb_printf(r->out, ": missing range %llu-%llu", (unsigned long long)idx,
				  (unsigned long long)next);
			report_end(r);
		}
		idx = next;
	}
}

/* After the walk: every indirect extent's refcount against its references. */
static void reflink_refcounts(struct recompute *r)
{
	const struct reflink_table *t = &r->reflink;

	for (size_t i = 0; i < t->nr; i++) {
		const struct reflink_ent *e = &t->d[i];
		struct bch_recompute_finding *f;

		if (e->counted == e->stored)
			continue;
		f = finding(r, BCH_RC_reflink_refcount);
		f->btree = BTREE_ID_reflink;
		f->pos = POS(0, e->end);
		f->refcount = e->counted;
		f->found_refcount = e->stored;
		report(r, BCH_RECOMPUTE_reflink, "indirect extent 0:%llu-%llu has refcount %llu, should be %llu",
		       (unsigned long long)e->start, (unsigned long long)e->end,
		       (unsigned long long)e->stored, (unsigned long long)e->counted);
	}
}

/*
 * A key newer than the key version recovery starts from (every key gc
 * walks but accounting's, whose versions are journal positions): described,
 * and the version raised to it, as the kernel's gc raises its own.
 */
static void key_version_check(struct recompute *r, enum btree_id id, struct bkey_s_c k)
{
	struct bch_recompute_finding *f;

	if (id == BTREE_ID_accounting || k.k->bversion.lo <= r->key_version)
		return;
	f = finding(r, BCH_RC_key_version);
	f->btree = id;
	f->pos = k.k->p;
	f->version = k.k->bversion.lo;
	if (report_start(r, BCH_RECOMPUTE_key_version)) {
		pb_printf(r->out, "%llu newer than the recorded %llu: ",
			  (unsigned long long)k.k->bversion.lo, (unsigned long long)r->key_version);
		bch_bkey_val_to_text(r->out, r->c, k);
		report_end(r);
	}
	r->key_version = k.k->bversion.lo;
}

bool bch_stripe_missing(void *c, u64 idx)
{
	struct btree_iter it;
	struct bkey_s_c k;
	int ret;

	bch_btree_iter_init(&it, c, BTREE_ID_stripes, POS(0, idx), 0);
	ret = bch_btree_iter_peek(&it, &k);
	ret = !ret || (ret > 0 && (!bpos_eq(k.k->p, POS(0, idx)) || k.k->type != KEY_TYPE_stripe));
	bch_btree_iter_exit(&it);
	return ret;
}

static void stripes_read(struct recompute *r)
{
	struct btree_iter it;
	struct bkey_s_c k;
	int ret;

	r->stripes_read = true;
	bch_btree_iter_init(&it, r->c, BTREE_ID_stripes, POS_MIN, 0);
	while ((ret = bch_btree_iter_peek(&it, &k)) > 0) {
		if (k.k->type == KEY_TYPE_stripe && !k.k->p.inode) {
			if (bch_grow(&r->stripes, &r->stripes_size, r->nr_stripes, 64)) {
				ret = -BCH_ERR_nomem;
				break;
			}
			r->stripes[r->nr_stripes++] = k.k->p.offset;
		}
		bch_btree_iter_advance(&it);
	}
	bch_btree_iter_exit(&it);
	r->stripes_unreadable = ret < 0;
}

/* bch_stripe_missing() from the table (ctx: the recompute) */
static bool stripe_missing(void *ctx, u64 idx)
{
	struct recompute *r = ctx;
	size_t l = 0, h = r->nr_stripes;

	if (!r->stripes_read)
		stripes_read(r);
	if (r->stripes_unreadable)
		return false;
	while (l < h) {
		size_t m = l + (h - l) / 2;

		if (r->stripes[m] < idx)
			l = m + 1;
		else
			h = m;
	}
	return l == r->nr_stripes || r->stripes[l] != idx;
}

/*
 * A leaf key's stripe entries naming no stripe, as the kernel's gc finds
 * them (ptr_to_missing_stripe): reported once per key (naming the first
 * such stripe), and the key counts as the repair leaves it, without them,
 * its data pointers plain.  The key to count: k, or r->ec_fixed.
 */
static struct bkey_s_c ec_check(struct recompute *r, enum btree_id id, struct bkey_s_c k,
				const struct bch_ptr_derived *ptrs, unsigned nr)
{
	struct bkey_i *n = &r->ec_fixed.k;
	unsigned i;

	for (i = 0; i < nr; i++)
		if (ptrs[i].p.has_ec && stripe_missing(r, stripe_ptr_idx(&ptrs[i].p.ec)))
			break;
	if (i == nr)
		return k;
	n->k = *k.k;
	memcpy(n->v, k.v, bkey_val_bytes(k.k));
	bch_extent_drop_stripes(n, stripe_missing, r);
	if (!r->collect_bps) {
		struct bch_recompute_finding *f = finding(r, BCH_RC_ptr);

		f->sub = BCH_RC_PTR_missing_stripe;
		f->btree = id;
		f->pos = k.k->p;
		f->stripe_idx = stripe_ptr_idx(&ptrs[i].p.ec);
		if (report_start(r, BCH_RECOMPUTE_ptr)) {
			pb_printf(r->out, "%s ", bch_btree_id_names[id]);
			bch_bpos_to_text(r->out, k.k->p);
			pb_printf(r->out, ": pointer to stripe %llu, which does not exist",
				  (unsigned long long)f->stripe_idx);
			report_end(r);
		}
	}
	return bkey_i_to_s_c(n);
}

static int count_key(struct recompute *r, enum btree_id id, unsigned level, struct bkey_s_c k)
{
	struct bch_ptr_derived ptrs[BCH_BKEY_PTRS_MAX];
	struct bch_acc_deltas deltas;
	unsigned nr = bch_key_ptrs_derive(r->c, id, level, k, ptrs);
	u32 drop;
	int ret = 0;

	if (!level && nr) {
		struct bkey_s_c fixed = ec_check(r, id, k, ptrs, nr);

		if (fixed.k != k.k) {
			k = fixed;
			nr = bch_key_ptrs_derive(r->c, id, level, k, ptrs);
		}
	}
	if (r->collect_bps)
		return collect_bps(r, id, level, k, ptrs, nr);
	key_version_check(r, id, k);
	if (k.k->type == KEY_TYPE_stripe)
		r->saw_stripes = true;
	if (id == BTREE_ID_reflink && !level)
		ret = reflink_add(r, k);
	else if (k.k->type == KEY_TYPE_reflink_p && !level)
		reflink_p_count(r, k);
	if (ret)
		return ret;
	ptrs_judge_gens(r, id, level, k, ptrs, nr);
	drop = ptrs_drop_mask(r, level, ptrs, nr);
	if (drop && (ret = ptr_drops_add(r, id, k.k->p, drop)))
		return ret;
	r->cur_drop = drop;
	r->cur_nr = drop ? nr : 0;
	for (unsigned i = 0; i < nr; i++)
		count_ptr(r, id, level, k, &ptrs[i], i, drop & (1U << i));
	r->cur_drop = 0;
	r->cur_nr = 0;

	deltas.nr = 0;
	if (drop) {
		/* the key counts as the repair leaves it */
		struct bkey_i *n = &r->rewritten.k;

		n->k = *k.k;
		memcpy(n->v, k.v, bkey_val_bytes(k.k));
		bch_extent_drop_ptrs(n, drop);
		k = bkey_i_to_s_c(n);
		bch_key_accounting(r->c, id, level, k, &deltas);
	} else {
		bch_key_accounting_ptrs(r->c, id, level, k, ptrs, nr, &deltas);
	}
	if (nr || deltas.nr)
		r->res->keys++;
	for (unsigned i = 0; i < deltas.nr && !ret; i++) {
		const struct bch_acc_delta *d = &deltas.d[i];

		ret = acc_add(&r->acc, d);
		if (!ret && d->pos.type == BCH_DISK_ACCOUNTING_rebalance_work && d->d[0])
			ret = rb_expect(r, k.k->p);
	}
	if (ret == -BCH_ERR_nomem)
		pb_str(r->out, "error: out of memory\n");
	return ret;
}

/* ---- walking the btrees ---- */

typedef int (*key_fn)(struct recompute *, struct bkey_s_c);

/* Calls fn for every key of btree id at level, as the journal overlay shows them. */
static int for_each_key(struct recompute *r, enum btree_id id, unsigned level, key_fn fn)
{
	struct btree_iter it;
	struct bkey_s_c k;
	int ret;

	bch_btree_iter_init(&it, r->c, id, POS_MIN, level);
	while ((ret = bch_btree_iter_peek(&it, &k)) > 0) {
		ret = fn(r, k);
		if (ret)
			break;
		if (!iter_advance(&it))
			break;
	}
	if (ret < 0 && it.err.pos)
		pb_printf(r->out, "error: btree %s level %u: %s\n",
			  id < BTREE_ID_NR ? bch_btree_id_names[id] : "(unknown)", level,
			  pb_cstr(&it.err));
	bch_btree_iter_exit(&it);
	run_flush(r);
	return ret < 0 ? ret : 0;
}

static int walked_key(struct recompute *r, struct bkey_s_c k)
{
	return count_key(r, r->walk_id, r->walk_level, k);
}

/* Leaf keys with triggers that touch buckets or accounting. */
static bool leaves_needed(const struct recompute *r, enum btree_id id)
{
	if (r->collect_bps)
		return id == BTREE_ID_extents || id == BTREE_ID_reflink;
	return id == BTREE_ID_extents || id == BTREE_ID_reflink ||
		id == BTREE_ID_inodes || id == BTREE_ID_stripes;
}

/*
 * The root pointer (level root + 1), every interior level, and the leaves
 * if needed.  A btree without a root may have node pointers waiting for
 * one (fsck's rebuild from a scan): they are walked from their level.
 */
static int walk_btree(struct recompute *r, enum btree_id id)
{
	const struct btree_root *root = &r->c->roots[id];
	int top, ret = 0;

	if (root->alive) {
		if (root->error) {
			pb_printf(r->out, "error: btree %s: root unreadable\n",
				  id < BTREE_ID_NR ? bch_btree_id_names[id] : "(unknown)");
			return -BCH_ERR_btree_root_missing;
		}
		ret = count_key(r, id, root->level + 1, bkey_i_to_s_c(&root->key));
		top = root->level;
	} else if (!(top = bch_btree_virtual_root_level(r->c, id))) {
		return 0;
	}
	r->walk_id = id;
	for (int level = top; level >= 0 && !ret; level--) {
		r->walk_level = level;
		if (level || leaves_needed(r, id))
			ret = for_each_key(r, id, level, walked_key);
	}
	return ret;
}

/*
 * Every btree.  Reflink first: its keys (inode 0) come before the extents
 * in the rebalance_work btree, which is read alongside in one pass.
 */
static int walk_all(struct recompute *r)
{
	int ret = walk_btree(r, BTREE_ID_reflink);

	for (unsigned id = 0; id < BTREE_ID_NR_MAX && !ret; id++)
		if (id != BTREE_ID_reflink)
			ret = walk_btree(r, id);
	return ret;
}

/* ---- superblock and journal buckets ---- */

struct meta_ctx {
	struct recompute *r;
	struct dev_state *ds;
};

/* As gc marks them: one data type per bucket, never past its size. */
static int mark_meta(void *_ctx, u64 b, enum bch_data_type type, unsigned sectors)
{
	struct meta_ctx *ctx = _ctx;
	struct recompute *r = ctx->r;
	struct dev_state *ds = ctx->ds;
	struct bucket_usage *u;
	unsigned cur;

	finding(r, BCH_RC_ptr)->sub = BCH_RC_PTR_meta;
	if (!bucket_in_range(ds, b)) {
		report(r, BCH_RECOMPUTE_ptr, "%u:%llu: %s bucket before the first bucket %u",
		       ds->idx, (unsigned long long)b, data_type_str(type), ds->m->first_bucket);
		return 0;
	}
	u = &ds->usage[b];
	cur = usage_type(u);
	if (!data_type_is_empty(cur) && cur != type)
		report(r, BCH_RECOMPUTE_ptr, "%u:%llu: %s bucket already holds %s",
		       ds->idx, (unsigned long long)b, data_type_str(type), data_type_str(cur));
	else if (u->dirty_sectors + sectors > ds->m->bucket_size)
		report(r, BCH_RECOMPUTE_ptr, "%u:%llu: %s sectors %u + %u past the bucket size",
		       ds->idx, (unsigned long long)b, data_type_str(type), u->dirty_sectors, sectors);
	else {
		u->ptr_type = type;
		u->dirty_sectors += sectors;
	}
	finding_clear(r);
	return 0;
}

static void mark_metadata(struct recompute *r)
{
	for (unsigned i = 0; i < BCH_SB_MEMBERS_MAX; i++) {
		struct dev_state *ds = dev_lookup(r, i);
		const struct bch_dev *ca = ds ? bch_dev_get(r->c, i) : NULL;
		struct meta_ctx ctx = { r, ds };

		if (ca && ca->sb.sb)
			bch_dev_metadata_buckets(&ca->sb.sb->layout, ds->m, ca->journal_buckets,
						 ca->nr_journal_buckets, mark_meta, &ctx);
	}
}

/* ---- alloc keys ---- */

static void alloc_where(struct recompute *r, const struct dev_state *ds, u64 b,
			const struct bch_alloc_v4 *a, bool have_key)
{
	pb_printf(r->out, "%u:%llu ", ds->idx, (unsigned long long)b);
	if (have_key)
		pb_printf(r->out, "gen %u: ", a->gen);
	else
		pb_str(r->out, "(no key): ");
}

/* Starts describing a field of dev:bucket's alloc key that differs from want. */
static void alloc_finding(struct recompute *r, enum bch_recompute_what what, unsigned sub,
			  const struct dev_state *ds, u64 b, bool have_key,
			  const struct bch_alloc_v4 *want)
{
	struct bch_recompute_finding *f = finding(r, what);

	f->sub = sub;
	f->dev = ds->idx;
	f->bucket = b;
	f->bucket_end = b + 1;
	f->pos = POS(ds->idx, b);
	f->have_key = have_key;
	f->want = *want;
}

static void alloc_field(struct recompute *r, const struct dev_state *ds, u64 b,
			const struct bch_alloc_v4 *a, bool have_key, enum bch_rc_alloc_field sub,
			const char *field, const struct bch_alloc_v4 *w, u64 want, u64 found)
{
	if (want == found)
		return;
	alloc_finding(r, BCH_RC_alloc_field, sub, ds, b, have_key, w);
	if (!report_start(r, BCH_RECOMPUTE_alloc))
		return;
	alloc_where(r, ds, b, a, have_key);
	pb_printf(r->out, "%s: expected %llu, found %llu", field,
		  (unsigned long long)want, (unsigned long long)found);
	report_end(r);
}

/* What the bucket should say: the stored key with the recomputed usage. */
static struct bch_alloc_v4 alloc_expected(const struct bucket_usage *u, const struct bch_alloc_v4 *a)
{
	struct bch_alloc_v4 want = *a;

	want.dirty_sectors = cpu_to_le32(u->dirty_sectors);
	want.cached_sectors = cpu_to_le32(u->cached_sectors);
	want.stripe_sectors = cpu_to_le32(u->stripe_sectors);
	want.stripe = cpu_to_le32(u->stripe);
	want.stripe_redundancy = u->stripe_redundancy;
	want.data_type = bch_alloc_data_type(&want, u->ptr_type);
	return want;
}

static void index_set(struct bucket_index *idx, const struct bch_alloc_derived *d)
{
	idx->gen = d->gen;
	idx->genbits = d->genbits >> 56;
	idx->data_type = d->data_type;
	idx->lru_read = d->lru_read_time;
	idx->lru_frag = d->lru_frag_time;
	idx->flags = (d->free ? BI_FREE : 0) | (d->need_discard ? BI_NEED_DISCARD : 0);
}

static int check_bucket(struct recompute *r, struct dev_state *ds, u64 b,
			const struct bch_alloc_v4 *a, bool have_key)
{
	struct bch_alloc_v4 want = alloc_expected(&ds->usage[b], a);
	struct bch_alloc_derived d;
	struct bch_acc_deltas deltas = { 0 };
	int ret = 0;

	/* moved on for a pointer newer than the bucket (gen_newer_resolve) */
	want.gen = ds->gens[b];
	if (have_key)
		alloc_field(r, ds, b, a, have_key, BCH_RC_F_gen, "gen", &want, want.gen, a->gen);

	if (want.data_type != a->data_type &&
	    (alloc_finding(r, BCH_RC_alloc_field, BCH_RC_F_data_type, ds, b, have_key, &want),
	     report_start(r, BCH_RECOMPUTE_alloc))) {
		alloc_where(r, ds, b, a, have_key);
		pb_printf(r->out, "data_type: expected %s, found %s",
			  data_type_str(want.data_type), data_type_str(a->data_type));
		report_end(r);
	}
	alloc_field(r, ds, b, a, have_key, BCH_RC_F_dirty_sectors, "dirty_sectors", &want,
		    le32_to_cpu(want.dirty_sectors), le32_to_cpu(a->dirty_sectors));
	alloc_field(r, ds, b, a, have_key, BCH_RC_F_cached_sectors, "cached_sectors", &want,
		    le32_to_cpu(want.cached_sectors), le32_to_cpu(a->cached_sectors));
	alloc_field(r, ds, b, a, have_key, BCH_RC_F_stripe_sectors, "stripe_sectors", &want,
		    le32_to_cpu(want.stripe_sectors), le32_to_cpu(a->stripe_sectors));
	alloc_field(r, ds, b, a, have_key, BCH_RC_F_stripe, "stripe", &want,
		    le32_to_cpu(want.stripe), le32_to_cpu(a->stripe));
	alloc_field(r, ds, b, a, have_key, BCH_RC_F_stripe_redundancy, "stripe_redundancy", &want,
		    want.stripe_redundancy, a->stripe_redundancy);
	if (want.data_type == BCH_DATA_cached && !le64_to_cpu(a->io_time[0]) &&
	    (alloc_finding(r, BCH_RC_alloc_read_time, 0, ds, b, have_key, &want),
	     report_start(r, BCH_RECOMPUTE_alloc))) {
		alloc_where(r, ds, b, a, have_key);
		pb_str(r->out, "cached bucket with read time 0");
		report_end(r);
	}

	/* the indexes and counters of a correct filesystem follow the corrected key */
	bch_alloc_derive(ds->m, POS(ds->idx, b), &want, &d);
	index_set(&ds->index[b], &d);
	if (have_key)
		ds->index[b].flags |= BI_HAVE_KEY;
	bch_alloc_dev_accounting(ds->m, ds->idx, &want, &deltas);
	for (unsigned i = 0; i < deltas.nr && !ret; i++)
		ret = acc_add(&r->acc, &deltas.d[i]);
	r->res->buckets++;
	return ret;
}

/* Buckets up to end that have no alloc key: free, gen 0. */
static int alloc_holes(struct recompute *r, struct dev_state *ds, u64 end)
{
	struct bch_alloc_v4 zero;
	int ret = 0;

	memset(&zero, 0, sizeof(zero));
	for (; ds->alloc_next < end && !ret; ds->alloc_next++) {
		/* the generation the pointers into it gave it, if any */
		zero.gen = ds->gens[ds->alloc_next];
		ret = check_bucket(r, ds, ds->alloc_next, &zero, false);
	}
	return ret;
}

static int alloc_key(struct recompute *r, struct bkey_s_c k)
{
	struct dev_state *ds = dev_lookup(r, k.k->p.inode);
	u64 b = k.k->p.offset;
	struct bch_alloc_v4 a;
	int ret;

	if (!bkey_is_alloc(k.k))
		return 0;
	finding(r, BCH_RC_alloc_bad_bucket)->pos = k.k->p;
	if (!ds) {
		if (k.k->p.inode >= BCH_SB_MEMBERS_MAX || !r->c->sb.members[k.k->p.inode].exists)
			report(r, BCH_RECOMPUTE_alloc, "%llu:%llu: key for a device that is not a member",
			       (unsigned long long)k.k->p.inode, (unsigned long long)b);
		return 0;
	}
	if (!bucket_in_range(ds, b) || b < ds->alloc_next) {
		report(r, BCH_RECOMPUTE_alloc, "%u:%llu: key for a bucket outside the device",
		       ds->idx, (unsigned long long)b);
		return 0;
	}
	finding_clear(r);
	ret = alloc_holes(r, ds, b);
	if (ret)
		return ret;
	bch_alloc_to_v4(k, &a);
	ds->alloc_next = b + 1;
	return check_bucket(r, ds, b, &a, true);
}

/* Every bucket's generation from its alloc key (none: 0), read before the pointers. */
static int gens_key(struct recompute *r, struct bkey_s_c k)
{
	struct dev_state *ds = dev_lookup(r, k.k->p.inode);
	struct bch_alloc_v4 a;

	key_version_check(r, BTREE_ID_alloc, k);
	if (ds && bkey_is_alloc(k.k) && bucket_in_range(ds, k.k->p.offset)) {
		bch_alloc_to_v4(k, &a);
		ds->gens[k.k->p.offset] = a.gen;
		ds->alloc_seen[k.k->p.offset / 64] |= 1ULL << (k.k->p.offset % 64);
	}
	return 0;
}

static int alloc_pass(struct recompute *r)
{
	int ret;

	for (unsigned i = 0; i < BCH_SB_MEMBERS_MAX; i++)
		if (r->devs[i].usage)
			r->devs[i].alloc_next = r->devs[i].m->first_bucket;

	ret = for_each_key(r, BTREE_ID_alloc, 0, alloc_key);
	for (unsigned i = 0; i < BCH_SB_MEMBERS_MAX && !ret; i++)
		if (r->devs[i].usage)
			ret = alloc_holes(r, &r->devs[i], r->devs[i].m->nbuckets);
	return ret;
}

/* ---- need_discard, freespace, lru, bucket_gens ---- */

/* The device and bucket of an index entry, or NULL after reporting why there is none. */
static struct dev_state *index_bucket(struct recompute *r, enum bch_recompute_kind kind,
				      struct bkey_s_c k, u64 dev, u64 b, bool *skip)
{
	struct dev_state *ds = dev_lookup(r, dev);
	struct bch_recompute_finding *f;

	*skip = false;
	f = finding(r, kind == BCH_RECOMPUTE_backpointers ? BCH_RC_bp_bad_bucket : BCH_RC_index_bad_bucket);
	f->btree = kind == BCH_RECOMPUTE_backpointers ? BTREE_ID_backpointers :
		kind == BCH_RECOMPUTE_need_discard ? BTREE_ID_need_discard :
		kind == BCH_RECOMPUTE_freespace ? BTREE_ID_freespace : BTREE_ID_lru;
	f->pos = k.k->p;
	f->size = k.k->size;
	if (!ds) {
		if (dev >= BCH_SB_MEMBERS_MAX || !r->c->sb.members[dev].exists)
			report(r, kind, "%llu:%llu: entry for a device that is not a member",
			       (unsigned long long)dev, (unsigned long long)b);
		finding_clear(r);
		*skip = true;
		return NULL;
	}
	if (!bucket_in_range(ds, b)) {
		f->sub = 1;
		report(r, kind, "%u:%llu: entry for a bucket outside the device",
		       ds->idx, (unsigned long long)b);
		*skip = true;
		return NULL;
	}
	finding_clear(r);
	return ds;
}

static int need_discard_key(struct recompute *r, struct bkey_s_c k)
{
	bool skip;
	struct dev_state *ds = index_bucket(r, BCH_RECOMPUTE_need_discard, k, k.k->p.inode,
					    k.k->p.offset, &skip);
	struct bucket_index *idx;

	if (skip || !ds->m->freespace_initialized)
		return 0;
	idx = &ds->index[k.k->p.offset];
	if (idx->flags & BI_NEED_DISCARD) {
		idx->flags |= BI_SEEN_DISCARD;
	} else {
		struct bch_recompute_finding f = {
			.what = BCH_RC_index_extra, .btree = BTREE_ID_need_discard,
			/* a bucket in use has an alloc key once check_allocations wrote a missing one */
			.have_key = (idx->flags & BI_HAVE_KEY) || !(idx->flags & BI_FREE),
		};

		run_add(r, BCH_RECOMPUTE_need_discard, ds->idx, k.k->p.offset,
			"entry for a bucket that does not need a discard", &f);
	}
	return 0;
}

static void freespace_bucket(struct recompute *r, struct dev_state *ds, u64 b, u64 genbits)
{
	struct bucket_index *idx = &ds->index[b];

	struct bch_recompute_finding f = {
		.what = BCH_RC_index_extra, .btree = BTREE_ID_freespace,
		.have_key = idx->flags & BI_HAVE_KEY, .genbits = genbits,
	};

	if (!(idx->flags & BI_FREE)) {
		/*
		 * the kernel tells the alloc key's own slot from others; a bucket
		 * in use has an alloc key once check_allocations wrote a missing one
		 */
		f.have_key = true;
		f.sub = genbits != idx->genbits;
		run_add(r, BCH_RECOMPUTE_freespace, ds->idx, b, "entry for a bucket that is not free", &f);
		return;
	}
	if (genbits != idx->genbits) {
		run_flush(r);
		f.sub = 1;
		f.dev = ds->idx;
		f.bucket = b;
		f.bucket_end = b + 1;
		f.pos = POS(ds->idx, (genbits << 56 | b) + 1);
		r->f = f;
		report(r, BCH_RECOMPUTE_freespace, "%u:%llu: genbits expected %u, found %llu",
		       ds->idx, (unsigned long long)b, idx->genbits, (unsigned long long)genbits);
		return;
	}
	idx->flags |= BI_SEEN_FREESPACE;
}

/* A freespace key is a run of `size` free slots ending at its position. */
static int freespace_key(struct recompute *r, struct bkey_s_c k)
{
	u64 end = k.k->p.offset, start = k.k->size < end ? end - k.k->size : 0;

	if (k.k->type != KEY_TYPE_set)
		return 0;
	for (u64 q = start; q < end; q++) {
		u64 b = q & ~(~0ULL << 56);
		bool skip;
		struct dev_state *ds = index_bucket(r, BCH_RECOMPUTE_freespace, k, k.k->p.inode, b, &skip);

		if (skip) {
			/* one line for the whole key, not one per slot */
			break;
		}
		if (ds->m->freespace_initialized)
			freespace_bucket(r, ds, b, q >> 56);
	}
	return 0;
}

static int lru_key(struct recompute *r, struct bkey_s_c k)
{
	u64 id = k.k->p.inode >> LRU_TIME_BITS, time = bch_lru_pos_time(k.k->p);
	u64 dev = k.k->p.offset >> 48, b = k.k->p.offset & ~(~0ULL << 48);
	bool frag = id == BCH_LRU_FRAG_ID, skip;
	struct dev_state *ds;
	struct bucket_index *idx;
	u64 want;

	ds = index_bucket(r, BCH_RECOMPUTE_lru, k, dev, b, &skip);
	if (skip)
		return 0;
	idx = &ds->index[b];
	want = frag ? idx->lru_frag : idx->lru_read;
	if (time == want && k.k->type == KEY_TYPE_set) {
		idx->flags |= frag ? BI_SEEN_LRU_FRAG : BI_SEEN_LRU_READ;
		return 0;
	}
	finding(r, BCH_RC_index_extra);
	r->f.btree = BTREE_ID_lru;
	r->f.pos = k.k->p;
	r->f.dev = ds->idx;
	r->f.bucket = b;
	r->f.sub = frag;
	if (report_start(r, BCH_RECOMPUTE_lru)) {
		pb_printf(r->out, "%s %u:%llu: entry at time %llu", frag ? "fragmentation" : "read",
			  ds->idx, (unsigned long long)b, (unsigned long long)time);
		if (k.k->type != KEY_TYPE_set)
			pb_printf(r->out, " of type %s",
				  k.k->type < KEY_TYPE_MAX ? bch_bkey_type_names[k.k->type] : "(unknown)");
		pb_str(r->out, ", ");
		if (want)
			pb_printf(r->out, "expected time %llu", (unsigned long long)want);
		else
			pb_printf(r->out, "expected none (%s bucket)", data_type_str(idx->data_type));
		report_end(r);
	}
	return 0;
}

static void gen_finding(struct recompute *r, const struct dev_state *ds, u64 b, u8 want)
{
	struct bch_recompute_finding *f = finding(r, BCH_RC_gen);

	f->dev = ds->idx;
	f->bucket = b;
	f->bucket_end = b + 1;
	f->want_gen = want;
	f->have_key = bucket_in_range(ds, b) && (ds->index[b].flags & BI_HAVE_KEY);
}

static int bucket_gens_key(struct recompute *r, struct bkey_s_c k)
{
	struct dev_state *ds = dev_lookup(r, k.k->p.inode);
	const struct bch_bucket_gens *g = k.v;
	u64 first = k.k->p.offset << BUCKET_GENS_BITS;

	if (k.k->type != KEY_TYPE_bucket_gens)
		return 0;
	finding(r, BCH_RC_gens_bad_bucket)->pos = k.k->p;
	if (!ds) {
		if (k.k->p.inode >= BCH_SB_MEMBERS_MAX || !r->c->sb.members[k.k->p.inode].exists)
			report(r, BCH_RECOMPUTE_bucket_gens, "%llu:%llu: key for a device that is not a member",
			       (unsigned long long)k.k->p.inode, (unsigned long long)k.k->p.offset);
		return 0;
	}
	if (bkey_val_bytes(k.k) < sizeof(*g)) {
		r->f.what = BCH_RC_other;
		report(r, BCH_RECOMPUTE_bucket_gens, "%u:%llu: value of %u bytes", ds->idx,
		       (unsigned long long)k.k->p.offset, bkey_val_bytes(k.k));
		return 0;
	}
	if (first + BUCKET_GENS_NR <= ds->m->first_bucket || first >= ds->m->nbuckets) {
		report(r, BCH_RECOMPUTE_bucket_gens, "%u:%llu: key for buckets outside the device",
		       ds->idx, (unsigned long long)k.k->p.offset);
		return 0;
	}
	finding_clear(r);
	ds->gens_seen[k.k->p.offset / 64] |= 1ULL << (k.k->p.offset % 64);
	for (unsigned i = 0; i < BUCKET_GENS_NR; i++) {
		u64 b = first + i;
		unsigned want = bucket_in_range(ds, b) ? ds->index[b].gen : 0;

		if (g->gens[i] == want)
			continue;
		gen_finding(r, ds, b, want);
		report(r, BCH_RECOMPUTE_bucket_gens, "%u:%llu: gen expected %u, found %u",
			       ds->idx, (unsigned long long)b, want, g->gens[i]);
	}
	return 0;
}

static void lru_missing(struct recompute *r, const struct dev_state *ds, u64 b, u16 id, u64 time)
{
	struct bch_recompute_finding *f = finding(r, BCH_RC_index_missing);

	f->btree = BTREE_ID_lru;
	f->pos = bch_lru_pos(id, ds->idx, b, time);
	f->dev = ds->idx;
	f->bucket = b;
	f->sub = id == BCH_LRU_FRAG_ID;
}

/* What an index btree lacks: entries the alloc keys call for that were not read. */
static void index_sweep(struct recompute *r, struct dev_state *ds)
{
	for (u64 b = ds->m->first_bucket; b < ds->m->nbuckets; b++) {
		const struct bucket_index *idx = &ds->index[b];

		struct bch_recompute_finding f = {
			.what = BCH_RC_index_missing, .btree = BTREE_ID_need_discard,
			.have_key = idx->flags & BI_HAVE_KEY,
		};

		if (ds->m->freespace_initialized &&
		    (idx->flags & (BI_NEED_DISCARD | BI_SEEN_DISCARD)) == BI_NEED_DISCARD)
			run_add(r, BCH_RECOMPUTE_need_discard, ds->idx, b,
				"missing (bucket needs a discard)", &f);
	}
	run_flush(r);
	for (u64 b = ds->m->first_bucket; b < ds->m->nbuckets; b++) {
		const struct bucket_index *idx = &ds->index[b];

		struct bch_recompute_finding f = {
			.what = BCH_RC_index_missing, .btree = BTREE_ID_freespace,
			.have_key = idx->flags & BI_HAVE_KEY, .genbits = idx->genbits,
		};

		if (ds->m->freespace_initialized &&
		    (idx->flags & (BI_FREE | BI_SEEN_FREESPACE)) == BI_FREE)
			run_add(r, BCH_RECOMPUTE_freespace, ds->idx, b, "missing (free bucket)", &f);
	}
	run_flush(r);
	for (u64 b = ds->m->first_bucket; b < ds->m->nbuckets; b++) {
		const struct bucket_index *idx = &ds->index[b];

		if (idx->lru_read && !(idx->flags & BI_SEEN_LRU_READ)) {
			lru_missing(r, ds, b, BCH_LRU_READ_ID(ds->idx), idx->lru_read);
			report(r, BCH_RECOMPUTE_lru, "read %u:%llu: missing entry at time %llu",
			       ds->idx, (unsigned long long)b, (unsigned long long)idx->lru_read);
		}
		if (idx->lru_frag && !(idx->flags & BI_SEEN_LRU_FRAG)) {
			lru_missing(r, ds, b, BCH_LRU_FRAG_ID, idx->lru_frag);
			report(r, BCH_RECOMPUTE_lru, "fragmentation %u:%llu: missing entry at time %u",
			       ds->idx, (unsigned long long)b, idx->lru_frag);
		}
	}
	for (u64 b = ds->m->first_bucket; b < ds->m->nbuckets; b++) {
		u64 key = b >> BUCKET_GENS_BITS;

		if (!ds->index[b].gen || (ds->gens_seen[key / 64] & (1ULL << (key % 64))))
			continue;
		gen_finding(r, ds, b, ds->index[b].gen);
		report(r, BCH_RECOMPUTE_bucket_gens, "%u:%llu: no key holds gen %u",
			       ds->idx, (unsigned long long)b, ds->index[b].gen);
	}
}

static int index_pass(struct recompute *r)
{
	bool gens = r->c->sb.version_upgrade_complete >= bcachefs_metadata_version_bucket_gens;
	int ret = for_each_key(r, BTREE_ID_need_discard, 0, need_discard_key) ?:
		for_each_key(r, BTREE_ID_freespace, 0, freespace_key) ?:
		for_each_key(r, BTREE_ID_lru, 0, lru_key);

	if (!ret && gens)
		ret = for_each_key(r, BTREE_ID_bucket_gens, 0, bucket_gens_key);
	if (!gens)
		pb_str(r->out, "note: no bucket_gens btree before metadata version 0.25: not compared\n");
	for (unsigned i = 0; i < BCH_SB_MEMBERS_MAX && !ret; i++) {
		struct dev_state *ds = dev_lookup(r, i);

		if (!ds)
			continue;
		if (!ds->m->freespace_initialized)
			pb_printf(r->out, "note: device %u: freespace not initialized: "
				  "freespace and need_discard not compared\n", i);
		if (!gens)
			memset(ds->gens_seen, 0xff, (ds->m->nbuckets / BUCKET_GENS_NR / 64 + 1) * 8);
		index_sweep(r, ds);
	}
	return ret;
}

/* ---- backpointers ---- */

static void bp_to_text(struct printbuf *out, const struct bch_fs *c, struct bpos pos,
		       const struct bch_backpointer *bp)
{
	struct {
		struct bkey k;
		struct bch_backpointer v;
	} key;

	memset(&key, 0, sizeof(key));
	key.k.u64s = sizeof(key) / 8;
	key.k.format_whiteout = KEY_FORMAT_CURRENT;
	key.k.type = KEY_TYPE_backpointer;
	key.k.p = pos;
	key.v = *bp;
	bch_val_to_text(out, c, (struct bkey_s_c) { &key.k, &key.v });
	pb_printf(out, " data_type=%s", data_type_str(bp->data_type));
}

/* The bucket of a backpointer key, or NULL after reporting why it has none. */
static struct dev_state *bp_bucket(struct recompute *r, struct bkey_s_c k, u64 *b)
{
	bool skip;
	struct dev_state *ds = dev_lookup(r, k.k->p.inode);
	u64 sector = k.k->p.offset >> BP_SECTOR_SHIFT;

	if (!ds) {
		index_bucket(r, BCH_RECOMPUTE_backpointers, k, k.k->p.inode, 0, &skip);
		return NULL;
	}
	*b = sector / ds->m->bucket_size;
	return index_bucket(r, BCH_RECOMPUTE_backpointers, k, k.k->p.inode, *b, &skip);
}

static int bp_key(struct recompute *r, struct bkey_s_c k)
{
	struct dev_state *ds;
	u64 b;

	r->res->backpointers++;
	ds = bp_bucket(r, k, &b);
	if (!ds)
		return 0;
	if (k.k->type != KEY_TYPE_backpointer || bkey_val_bytes(k.k) != sizeof(struct bch_backpointer)) {
		if (report_start(r, BCH_RECOMPUTE_backpointers)) {
			bch_bpos_to_text(r->out, k.k->p);
			pb_printf(r->out, ": key of type %s, %u value bytes",
				  k.k->type < KEY_TYPE_MAX ? bch_bkey_type_names[k.k->type] : "(unknown)",
				  bkey_val_bytes(k.k));
			report_end(r);
		}
		return 0;
	}
	ds->bps[b].count--;
	ds->bps[b].digest -= bp_hash(k.k->p, k.v);
	return 0;
}

static int bp_entry_cmp(const void *_l, const void *_r)
{
	const struct bp_entry *l = _l, *r = _r;

	return bpos_cmp(l->pos, r->pos) ?: memcmp(&l->bp, &r->bp, sizeof(l->bp));
}

static void bp_report(struct recompute *r, const struct bp_entry *e, enum bch_recompute_what w,
		      const char *what)
{
	finding(r, w)->pos = e->pos;
	r->f.bp = e->bp;
	r->f.btree = BTREE_ID_backpointers;
	if (!report_start(r, BCH_RECOMPUTE_backpointers))
		return;
	bch_bpos_to_text(r->out, e->pos);
	pb_printf(r->out, ": %s: ", what);
	bp_to_text(r->out, r->c, e->pos, &e->bp);
	report_end(r);
}

/* Both sorted: one line per backpointer missing, unexpected or different. */
static void bp_compare(struct recompute *r, const struct bp_vec *want, const struct bp_vec *found)
{
	size_t i = 0, j = 0;

	while (i < want->nr || j < found->nr) {
		const struct bp_entry *w = i < want->nr ? &want->data[i] : NULL;
		const struct bp_entry *f = j < found->nr ? &found->data[j] : NULL;
		int cmp = !w ? 1 : !f ? -1 : bpos_cmp(w->pos, f->pos);

		if (!cmp && !memcmp(&w->bp, &f->bp, sizeof(w->bp))) {
			i++;
			j++;
		} else if (!cmp) {
			finding(r, BCH_RC_bp_differ)->pos = w->pos;
			r->f.bp = w->bp;
			r->f.found_bp = f->bp;
			r->f.btree = BTREE_ID_backpointers;
			if (report_start(r, BCH_RECOMPUTE_backpointers)) {
				bch_bpos_to_text(r->out, w->pos);
				pb_str(r->out, ": expected ");
				bp_to_text(r->out, r->c, w->pos, &w->bp);
				pb_str(r->out, ", found ");
				bp_to_text(r->out, r->c, f->pos, &f->bp);
				report_end(r);
			}
			i++;
			j++;
		} else if (cmp < 0) {
			bp_report(r, w, BCH_RC_bp_missing, "missing");
			i++;
		} else {
			bp_report(r, f, BCH_RC_bp_extra, "no pointer has it");
			j++;
		}
	}
}

/* The backpointers of the buckets whose digests differ, read again. */
static int found_bp_key(struct recompute *r, struct bkey_s_c k)
{
	struct dev_state *ds = dev_lookup(r, k.k->p.inode);
	u64 b = ds ? (k.k->p.offset >> BP_SECTOR_SHIFT) / ds->m->bucket_size : 0;

	if (!ds || !bucket_in_range(ds, b) || !(ds->index[b].flags & BI_BP_DIFFER) ||
	    k.k->type != KEY_TYPE_backpointer ||
	    bkey_val_bytes(k.k) != sizeof(struct bch_backpointer))
		return 0;
	return bp_vec_push(&r->found_bps, k.k->p, k.v);
}

static bool bp_flag_differing(struct recompute *r)
{
	bool any = false;

	for (unsigned i = 0; i < BCH_SB_MEMBERS_MAX; i++) {
		struct dev_state *ds = dev_lookup(r, i);

		for (u64 b = 0; ds && b < ds->m->nbuckets; b++)
			if (ds->bps[b].count || ds->bps[b].digest) {
				ds->index[b].flags |= BI_BP_DIFFER;
				any = true;
			}
	}
	return any;
}

static int bp_pass(struct recompute *r)
{
	int ret = for_each_key(r, BTREE_ID_backpointers, 0, bp_key);

	if (ret || !bp_flag_differing(r))
		return ret;

	r->collect_bps = true;
	sort(r->drops.d, r->drops.nr, sizeof(*r->drops.d), ptr_drop_cmp);
	ret = walk_all(r);
	r->collect_bps = false;
	if (!ret)
		ret = for_each_key(r, BTREE_ID_backpointers, 0, found_bp_key);
	if (!ret) {
		sort(r->want_bps.data, r->want_bps.nr, sizeof(struct bp_entry), bp_entry_cmp);
		sort(r->found_bps.data, r->found_bps.nr, sizeof(struct bp_entry), bp_entry_cmp);
		bp_compare(r, &r->want_bps, &r->found_bps);
	}
	if (ret == -BCH_ERR_nomem)
		pb_str(r->out, "error: out of memory\n");
	return ret;
}

/* ---- accounting ---- */

static void acc_counters_to_text(struct printbuf *out, const s64 *d, unsigned nr)
{
	for (unsigned i = 0; i < nr; i++)
		pb_printf(out, "%s%lld", i ? " " : "", (long long)d[i]);
}

static void acc_check(struct recompute *r, const struct acc_entry *want, struct bkey_s_c k)
{
	s64 found[BCH_ACCOUNTING_MAX_COUNTERS] = { 0 };
	unsigned nr_found = k.k ? bch_accounting_counters(k.k) : 0;
	unsigned nr_want = want ? want->nr : 0;
	unsigned nr = nr_found > nr_want ? nr_found : nr_want;
	bool differ = false;
	struct disk_accounting_pos pos;

	if (nr_found > BCH_ACCOUNTING_MAX_COUNTERS)
		nr_found = BCH_ACCOUNTING_MAX_COUNTERS;
	if (nr > BCH_ACCOUNTING_MAX_COUNTERS)
		nr = BCH_ACCOUNTING_MAX_COUNTERS;
	if (k.k)
		memcpy(found, k.v, nr_found * sizeof(found[0]));
	for (unsigned i = 0; i < nr; i++)
		differ |= (want && i < nr_want ? want->d[i] : 0) != found[i];
	r->res->accounting++;
	if (!differ)
		return;
	finding(r, BCH_RC_accounting)->pos = want ? want->pos : k.k->p;
	r->f.have_key = k.k != NULL;
	r->f.nr = nr;
	for (unsigned i = 0; i < nr; i++) {
		r->f.want_d[i] = want && i < nr_want ? want->d[i] : 0;
		r->f.found_d[i] = found[i];
	}
	if (!report_start(r, BCH_RECOMPUTE_accounting))
		return;

	pos = bch_bpos_to_accounting(want ? want->pos : k.k->p);
	bch_accounting_key_to_text(r->out, &pos);
	/* list shows no inode number for inum counters; a report must */
	if (pos.type == BCH_DISK_ACCOUNTING_inum)
		pb_printf(r->out, "%llu", (unsigned long long)le64_to_cpu(pos.inum.inum));
	pb_str(r->out, ": expected ");
	if (want)
		acc_counters_to_text(r->out, want->d, nr);
	else
		pb_str(r->out, "nothing");
	pb_str(r->out, ", found ");
	if (k.k)
		acc_counters_to_text(r->out, found, nr_found);
	else
		pb_str(r->out, "no key");
	report_end(r);
}

static int accounting_pass(struct recompute *r)
{
	const struct acc_table *t = &r->acc;
	struct btree_iter it;
	struct bkey_s_c k, none = { NULL, NULL };
	size_t i = 0;
	int ret = acc_merge(&r->acc);

	if (ret) {
		pb_str(r->out, "error: out of memory\n");
		return ret;
	}
	bch_btree_iter_init(&it, r->c, BTREE_ID_accounting, POS_MIN, 0);
	while ((ret = bch_btree_iter_peek(&it, &k)) > 0) {
		for (; i < t->nr && bpos_lt(t->sorted[i].pos, k.k->p); i++)
			acc_check(r, &t->sorted[i], none);
		if (k.k->type == KEY_TYPE_accounting) {
			bool same = i < t->nr && bpos_eq(t->sorted[i].pos, k.k->p);

			acc_check(r, same ? &t->sorted[i++] : NULL, k);
		}
		if (!iter_advance(&it))
			break;
	}
	for (; ret >= 0 && i < t->nr; i++)
		acc_check(r, &t->sorted[i], none);
	if (ret < 0 && it.err.pos)
		pb_printf(r->out, "error: btree accounting: %s\n", pb_cstr(&it.err));
	bch_btree_iter_exit(&it);
	return ret < 0 ? ret : 0;
}

/* ---- setup ---- */

static int devs_init(struct recompute *r)
{
	for (unsigned i = 0; i < BCH_SB_MEMBERS_MAX; i++) {
		const struct bch_member_cpu *m = &r->c->sb.members[i];
		struct dev_state *ds = &r->devs[i];
		u64 n = m->nbuckets;

		if (!m->exists)
			continue;
		if (!bch_dev_get(r->c, i) || !m->bucket_size) {
			pb_printf(r->out, "note: device %u is not open: its buckets are not compared\n", i);
			continue;
		}
		ds->m = m;
		ds->idx = i;
		ds->usage = calloc(n ? n : 1, sizeof(*ds->usage));
		ds->index = calloc(n ? n : 1, sizeof(*ds->index));
		ds->bps = calloc(n ? n : 1, sizeof(*ds->bps));
		ds->gens = calloc(n ? n : 1, 1);
		ds->gens_seen = calloc(n / BUCKET_GENS_NR / 64 + 1, sizeof(u64));
		ds->alloc_seen = calloc(n / 64 + 1, sizeof(u64));
		if (!ds->usage || !ds->index || !ds->bps || !ds->gens || !ds->gens_seen || !ds->alloc_seen) {
			pb_str(r->out, "error: out of memory\n");
			return -BCH_ERR_nomem;
		}
	}
	return 0;
}

static void recompute_exit(struct recompute *r)
{
	for (unsigned i = 0; i < BCH_SB_MEMBERS_MAX; i++) {
		free(r->devs[i].usage);
		free(r->devs[i].index);
		free(r->devs[i].bps);
		free(r->devs[i].gens);
		free(r->devs[i].gens_seen);
		free(r->devs[i].alloc_seen);
	}
	acc_exit(&r->acc);
	free(r->reflink.d);
	free(r->want_bps.data);
	free(r->found_bps.data);
	free(r->drops.d);
	free(r->newer.d);
	free(r->stripes);
	if (r->rb.active)
		bch_btree_iter_exit(&r->rb.it);
}

static void overflow_notes(struct recompute *r)
{
	for (unsigned k = 0; k < BCH_RECOMPUTE_NR; k++)
		if (r->opts.max_reports && r->res->nr[k] > r->opts.max_reports)
			pb_printf(r->out, "%s: %llu more differences not shown\n",
				  bch_recompute_kind_names[k],
				  (unsigned long long)(r->res->nr[k] - r->opts.max_reports));
}

int bch_recompute(struct bch_fs *c, const struct bch_recompute_opts *opts, struct printbuf *out,
		  struct bch_recompute_result *res)
{
	struct recompute r = { .c = c, .out = out, .res = res,
			       .key_version = bch_journal_recorded_key_version(c) };
	int ret;

	memset(res, 0, sizeof(*res));
	if (opts)
		r.opts = *opts;
	bch_btree_iter_init(&r.rb.it, c, BTREE_ID_rebalance_work, POS_MIN, 0);
	r.rb.active = true;

	ret = devs_init(&r) ?:
		for_each_key(&r, BTREE_ID_alloc, 0, gens_key);
	if (!ret) {
		mark_metadata(&r);
		ret = walk_all(&r);
	}
	if (!ret)
		gen_newer_resolve(&r);
	if (!ret)
		reflink_refcounts(&r);
	if (!ret)
		ret = rb_finish(&r);
	if (r.saw_stripes)
		pb_str(out, "note: the stripes btree has keys: erasure coding is not recomputed "
		       "(stripe fields, parity buckets and stripe replicas may differ)\n");
	if (!ret)
		ret = alloc_pass(&r);
	if (!ret)
		ret = index_pass(&r);
	if (!ret)
		ret = bp_pass(&r);
	if (!ret)
		ret = accounting_pass(&r);
	overflow_notes(&r);
	recompute_exit(&r);
	return ret;
}

void bch_recompute_result_to_text(struct printbuf *out, const struct bch_recompute_result *res)
{
	pb_printf(out, "keys %llu ptrs %llu buckets %llu backpointers %llu accounting %llu: "
		  "differences %llu",
		  (unsigned long long)res->keys, (unsigned long long)res->ptrs,
		  (unsigned long long)res->buckets, (unsigned long long)res->backpointers,
		  (unsigned long long)res->accounting, (unsigned long long)res->total);
	if (!res->total)
		return;
	pb_str(out, " (");
	for (unsigned k = 0, n = 0; k < BCH_RECOMPUTE_NR; k++)
		if (res->nr[k])
			pb_printf(out, "%s%s %llu", n++ ? ", " : "", bch_recompute_kind_names[k],
				  (unsigned long long)res->nr[k]);
	pb_char(out, ')');
}
