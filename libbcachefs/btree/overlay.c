/* The overlay index: a B+tree whose leaves are sorted blocks of entries, keys copied into an arena of large chunks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "overlay.h"
#include "util/errcode.h"
#include "util/grow.h"

/*
 * Leaves hold up to OV_LEAF_MAX entries in two parallel arrays: the
 * entries the callers see, and their (btree, level, pos) packed into three
 * words, so a binary search never touches the keys themselves.  Inner
 * nodes route by the lower bound of each child; a child's bound never has
 * to change when keys are removed (it stays a valid lower bound), and the
 * first child's bound is never consulted.
 */
#define OV_LEAF_MAX	128
#define OV_INNER_MAX	64
#define OV_CHUNK_BYTES	(1U << 20)
/* the root splits only when full: more levels take over 32^15 splits */
#define OV_MAX_HEIGHT	16

/* (btree, level, pos) as three words that compare like the tuple. */
struct ov_key {
	u64 hi, mid, lo;
};

struct ov_inner;

/* What leaves and inner nodes share, so a child's parent can be set without knowing its kind. */
struct ov_node {
	struct ov_inner *parent;
};

struct ov_leaf {
	struct ov_node n;
	struct ov_leaf *prev, *next;
	unsigned nr;
	struct ov_key keys[OV_LEAF_MAX];
	struct bch_overlay_entry e[OV_LEAF_MAX];
};

struct ov_inner {
	struct ov_node n;
	unsigned nr;
	struct ov_key lo[OV_INNER_MAX];	/* lower bound of child i's keys */
	struct ov_node *child[OV_INNER_MAX];
};

/* One arena chunk: keys are bump-allocated, live counts the entries using it. */
struct ov_chunk {
	u8 *base;
	size_t live;
};

struct bch_overlay {
	struct ov_node *root;
	unsigned height;		/* inner levels above the leaves */
	u64 gen;
	size_t nr;
	size_t nr_leaves, nr_inner;

	/* sorted by base address, so a key's chunk is found by binary search */
	struct ov_chunk *chunks;
	size_t nr_chunks, size_chunks;
	size_t cur;			/* chunk being filled (index), valid if nr_chunks */
	size_t cur_used;

	/*
	 * entries per journal seq, index seq - seq_base; seq_first is the
	 * first nonzero count, seq_size if there is none
	 */
	u32 *seq_nr;
	size_t seq_size, seq_first;
	u64 seq_base;

	size_t counts[256][BTREE_MAX_DEPTH];
	u64 changes[256];		/* inserts (replacing too) and drops, per btree */
};

static inline struct ov_key ov_key(unsigned btree, unsigned level, struct bpos p)
{
	return (struct ov_key) {
		.hi	= (u64)(btree & 0xff) << 56 | (u64)(level & 0xff) << 48 | p.inode >> 16,
		.mid	= p.inode << 48 | p.offset >> 16,
		.lo	= p.offset << 48 | (u64)p.snapshot << 16,
	};
}

static inline struct bpos ov_key_pos(const struct ov_key *k)
{
	return SPOS(k->hi << 16 | k->mid >> 48, k->mid << 16 | k->lo >> 48,
		    (u32)(k->lo >> 16));
}

/* Without branches on the data, so searches pipeline their loads. */
static inline bool key_lt(const struct ov_key *a, const struct ov_key *b)
{
	unsigned __int128 al = (unsigned __int128)a->mid << 64 | a->lo;
	unsigned __int128 bl = (unsigned __int128)b->mid << 64 | b->lo;

	return (a->hi < b->hi) | ((a->hi == b->hi) & (al < bl));
}

static inline bool key_eq(const struct ov_key *a, const struct ov_key *b)
{
	return a->hi == b->hi && a->mid == b->mid && a->lo == b->lo;
}

/*
 * Index of the first of keys[0..nr) that is >= k (less_eq false) or > k
 * (less_eq true).  The whole array is prefetched first: a binary search
 * is otherwise a chain of dependent cache misses, and a block's keys are
 * a few dozen cache lines the memory system fetches in parallel (random
 * inserts into a 1M-entry index measured a fifth faster).
 */
static inline unsigned keys_search(const struct ov_key *keys, unsigned nr,
				   const struct ov_key *k, bool less_eq)
{
	const struct ov_key *base = keys;

	for (unsigned i = 0; i < nr; i += 64 / sizeof(keys[0]))
		__builtin_prefetch(&keys[i]);
	if (!nr)
		return 0;
	while (nr > 1) {
		unsigned half = nr / 2;

		if (less_eq ? !key_lt(k, &base[half]) : key_lt(&base[half], k))
			base += half;
		nr -= half;
	}
	return base - keys + (less_eq ? !key_lt(k, base) : key_lt(base, k));
}

static unsigned leaf_lower_bound(const struct ov_leaf *l, const struct ov_key *k)
{
	return keys_search(l->keys, l->nr, k, false);
}

/* The child whose range holds k: the last one whose lower bound is <= k. */
static unsigned inner_route(const struct ov_inner *n, const struct ov_key *k)
{
	return keys_search(n->lo + 1, n->nr - 1, k, true);
}

static struct ov_leaf *find_leaf(const struct bch_overlay *ov, const struct ov_key *k)
{
	struct ov_node *n = ov->root;

	for (unsigned h = ov->height; h; h--) {
		struct ov_inner *in = (struct ov_inner *)n;

		n = in->child[inner_route(in, k)];
	}
	return (struct ov_leaf *)n;
}

static unsigned child_index(const struct ov_inner *p, const struct ov_node *c)
{
	unsigned i = 0;

	while (p->child[i] != c)
		i++;
	return i;
}

/* Arena */

static struct ov_chunk *chunk_of(struct bch_overlay *ov, const void *p)
{
	uintptr_t a = (uintptr_t)p;
	size_t l = 0, r = ov->nr_chunks;

	while (l < r) {
		size_t m = l + (r - l) / 2;

		if (a < (uintptr_t)ov->chunks[m].base)
			r = m;
		else
			l = m + 1;
	}
	if (!l || a >= (uintptr_t)ov->chunks[l - 1].base + OV_CHUNK_BYTES)
		return NULL;
	return &ov->chunks[l - 1];
}

static int chunk_new(struct bch_overlay *ov)
{
	size_t i = 0;
	u8 *base;

	int ret = bch_grow(&ov->chunks, &ov->size_chunks, ov->nr_chunks, 16);

	if (ret)
		return ret;
	base = malloc(OV_CHUNK_BYTES);
	if (!base)
		return -BCH_ERR_nomem;
	while (i < ov->nr_chunks && (uintptr_t)ov->chunks[i].base < (uintptr_t)base)
		i++;
	memmove(&ov->chunks[i + 1], &ov->chunks[i], (ov->nr_chunks - i) * sizeof(ov->chunks[0]));
	ov->chunks[i] = (struct ov_chunk) { .base = base };
	ov->nr_chunks++;
	ov->cur = i;
	ov->cur_used = 0;
	return 0;
}

/* A copy of k in the arena; not live until an entry points to it. */
static struct bkey_i *arena_copy(struct bch_overlay *ov, const struct bkey_i *k)
{
	size_t bytes = k->k.u64s * 8;

	if (bytes < sizeof(struct bkey))
		bytes = sizeof(struct bkey);
	bytes = (bytes + 7) & ~(size_t)7;
	if ((!ov->nr_chunks || ov->cur_used + bytes > OV_CHUNK_BYTES) && chunk_new(ov))
		return NULL;

	struct bkey_i *dst = (void *)(ov->chunks[ov->cur].base + ov->cur_used);

	ov->cur_used += bytes;
	memcpy(dst, k, bytes);
	return dst;
}

/* Frees every chunk no entry uses; the one being filled is rewound instead. */
static void chunks_reclaim(struct bch_overlay *ov)
{
	size_t dst = 0;
	u8 *cur = ov->nr_chunks ? ov->chunks[ov->cur].base : NULL;

	for (size_t i = 0; i < ov->nr_chunks; i++) {
		struct ov_chunk *ch = &ov->chunks[i];

		if (ch->base == cur) {
			if (!ch->live)
				ov->cur_used = 0;
			ov->cur = dst;
		} else if (!ch->live) {
			free(ch->base);
			continue;
		}
		ov->chunks[dst++] = *ch;
	}
	ov->nr_chunks = dst;
}

/* Journal seq counts */

/* More seqs than this between the oldest and newest entry is a caller's bug. */
#define OV_SEQ_RANGE_MAX	(1U << 24)

/* Makes room to count entries of seq; the counts move, the entries do not. */
static int seq_reserve(struct bch_overlay *ov, u64 seq)
{
	bool any = ov->seq_first < ov->seq_size;
	u64 lo = seq, hi = seq + 1;

	if (!seq || (ov->seq_size && seq >= ov->seq_base &&
		     seq - ov->seq_base < ov->seq_size))
		return 0;
	if (any) {
		/* from the oldest seq counted to the end of the array, and seq */
		if (ov->seq_base + ov->seq_first < lo)
			lo = ov->seq_base + ov->seq_first;
		if (ov->seq_base + ov->seq_size > hi)
			hi = ov->seq_base + ov->seq_size;
	}
	if (hi - lo > OV_SEQ_RANGE_MAX)
		return -BCH_ERR_nomem;

	size_t size = 64;

	while (size < hi - lo + (hi - lo) / 2)
		size *= 2;

	u32 *n = calloc(size, sizeof(*n));

	if (!n)
		return -BCH_ERR_nomem;
	size_t first = size;

	if (any) {
		first = ov->seq_base + ov->seq_first - lo;
		memcpy(n + first, ov->seq_nr + ov->seq_first,
		       (ov->seq_size - ov->seq_first) * sizeof(*n));
	}
	free(ov->seq_nr);
	ov->seq_nr = n;
	ov->seq_size = size;
	ov->seq_base = lo;
	ov->seq_first = first;
	return 0;
}

/* Accounting of an entry becoming live or going away. */
static void entry_get(struct bch_overlay *ov, const struct bch_overlay_entry *e)
{
	struct ov_chunk *ch = chunk_of(ov, e->k);

	if (ch)
		ch->live++;
	if (e->journal_seq) {
		size_t i = e->journal_seq - ov->seq_base;

		ov->seq_nr[i]++;
		if (i < ov->seq_first)
			ov->seq_first = i;
	}
}

static void entry_put(struct bch_overlay *ov, const struct bch_overlay_entry *e)
{
	struct ov_chunk *ch = chunk_of(ov, e->k);

	if (ch)
		ch->live--;
	if (e->journal_seq) {
		size_t i = e->journal_seq - ov->seq_base;

		/* seq_first stays on a counted seq, or at the end when none is */
		if (!--ov->seq_nr[i] && i == ov->seq_first)
			while (ov->seq_first < ov->seq_size && !ov->seq_nr[ov->seq_first])
				ov->seq_first++;
	}
}

static void count_add(struct bch_overlay *ov, unsigned btree, unsigned level, long d)
{
	if (level < BTREE_MAX_DEPTH)
		ov->counts[btree & 0xff][level] += d;
	ov->nr += d;
}

/* Construction */

struct bch_overlay *bch_overlay_new(void)
{
	struct bch_overlay *ov = calloc(1, sizeof(*ov));
	struct ov_leaf *l = calloc(1, sizeof(*l));

	if (!ov || !l) {
		free(ov);
		free(l);
		return NULL;
	}
	ov->root = &l->n;
	ov->nr_leaves = 1;
	return ov;
}

static void node_free(struct ov_node *n, unsigned height)
{
	if (height) {
		struct ov_inner *in = (struct ov_inner *)n;

		for (unsigned i = 0; i < in->nr; i++)
			node_free(in->child[i], height - 1);
	}
	free(n);
}

void bch_overlay_free(struct bch_overlay *ov)
{
	if (!ov)
		return;
	node_free(ov->root, ov->height);
	for (size_t i = 0; i < ov->nr_chunks; i++)
		free(ov->chunks[i].base);
	free(ov->chunks);
	free(ov->seq_nr);
	free(ov);
}

/* Insertion */

/*
 * Inner nodes a split starting below `n` will need: one per full ancestor,
 * and a new root if every ancestor is full.  Allocated up front so the tree
 * is never left half split.
 */
static int inner_reserve(struct ov_node *n,
			 struct ov_inner **pool, unsigned *nr)
{
	struct ov_inner *p = n->parent;
	unsigned need = 0;

	while (p && p->nr == OV_INNER_MAX) {
		need++;
		p = p->n.parent;
	}
	if (!p)
		need++;
	if (need > OV_MAX_HEIGHT)
		return -BCH_ERR_nomem;
	for (*nr = 0; *nr < need; (*nr)++) {
		pool[*nr] = malloc(sizeof(struct ov_inner));
		if (!pool[*nr]) {
			while (*nr)
				free(pool[--*nr]);
			return -BCH_ERR_nomem;
		}
	}
	return 0;
}

static void inner_put(struct ov_inner *p, unsigned i, const struct ov_key *lo,
		      struct ov_node *c)
{
	memmove(&p->lo[i + 1], &p->lo[i], (p->nr - i) * sizeof(p->lo[0]));
	memmove(&p->child[i + 1], &p->child[i], (p->nr - i) * sizeof(p->child[0]));
	p->lo[i] = *lo;
	p->child[i] = c;
	p->nr++;
	c->parent = p;
}

/*
 * Links `right` (whose keys are all >= lo) in after `left`, splitting full
 * ancestors with nodes from the pool.  Appending at the end of a full node
 * starts a new one instead of halving it, so ordered loads fill nodes.
 */
static void inner_link(struct bch_overlay *ov, struct ov_node *left, struct ov_node *right,
		       const struct ov_key *lo, struct ov_inner **pool, unsigned *pool_nr)
{
	struct ov_inner *p = left->parent;

	if (!p) {
		struct ov_inner *root = pool[--*pool_nr];

		root->n.parent = NULL;
		root->nr = 0;
		inner_put(root, 0, &(struct ov_key) { 0 }, left);
		inner_put(root, 1, lo, right);
		ov->root = &root->n;
		ov->height++;
		ov->nr_inner++;
		return;
	}

	unsigned i = child_index(p, left) + 1;

	if (p->nr < OV_INNER_MAX) {
		inner_put(p, i, lo, right);
		return;
	}

	struct ov_inner *q = pool[--*pool_nr];
	unsigned s = i == p->nr ? p->nr : p->nr / 2;

	q->n.parent = NULL;
	q->nr = p->nr - s;
	memcpy(q->lo, &p->lo[s], q->nr * sizeof(q->lo[0]));
	memcpy(q->child, &p->child[s], q->nr * sizeof(q->child[0]));
	for (unsigned c = 0; c < q->nr; c++)
		q->child[c]->parent = q;
	p->nr = s;
	ov->nr_inner++;
	if (i >= s)
		inner_put(q, i - s, lo, right);
	else
		inner_put(p, i, lo, right);
	inner_link(ov, &p->n, &q->n, &q->lo[0], pool, pool_nr);
}

/*
 * Splits the full leaf l, which is about to take a key at index idx: the
 * upper half moves to a new leaf (nothing moves when idx is past the end).
 * Returns the new leaf, or NULL out of memory with nothing changed.
 */
static struct ov_leaf *leaf_split(struct bch_overlay *ov, struct ov_leaf *l, unsigned idx,
				  const struct ov_key *k)
{
	struct ov_inner *pool[OV_MAX_HEIGHT];
	unsigned pool_nr;
	struct ov_leaf *r = malloc(sizeof(*r));
	unsigned s = idx == l->nr ? l->nr : l->nr / 2;

	if (!r)
		return NULL;
	if (inner_reserve(&l->n, pool, &pool_nr)) {
		free(r);
		return NULL;
	}
	r->n.parent = NULL;
	r->nr = l->nr - s;
	memcpy(r->keys, &l->keys[s], r->nr * sizeof(r->keys[0]));
	memcpy(r->e, &l->e[s], r->nr * sizeof(r->e[0]));
	l->nr = s;

	r->prev = l;
	r->next = l->next;
	if (l->next)
		l->next->prev = r;
	l->next = r;
	ov->nr_leaves++;

	inner_link(ov, &l->n, &r->n, r->nr ? &r->keys[0] : k, pool, &pool_nr);
	return r;
}

static int insert(struct bch_overlay *ov, enum btree_id btree, unsigned level,
		  struct bkey_i *k, bool copy, u64 journal_seq)
{
	struct ov_key key = ov_key(btree, level, k->k.p);
	struct ov_leaf *l = find_leaf(ov, &key);
	unsigned idx = leaf_lower_bound(l, &key);
	bool replace = idx < l->nr && key_eq(&l->keys[idx], &key);

	if (seq_reserve(ov, journal_seq))
		return -BCH_ERR_nomem;
	if (copy && !(k = arena_copy(ov, k)))
		return -BCH_ERR_nomem;

	struct bch_overlay_entry e = {
		.btree_id	= btree,
		.level		= level,
		.journal_seq	= journal_seq,
		.k		= k,
	};

	ov->changes[btree & 0xff]++;
	if (replace) {
		/* the entry stays where it is: cursors remain valid */
		entry_put(ov, &l->e[idx]);
		l->e[idx] = e;
		entry_get(ov, &e);
		return 0;
	}
	if (l->nr == OV_LEAF_MAX) {
		struct ov_leaf *r = leaf_split(ov, l, idx, &key);

		if (!r)
			return -BCH_ERR_nomem;
		/* r's lower bound is its first key: a key just below it stays in l */
		if (idx > l->nr || l->nr == OV_LEAF_MAX) {
			idx -= l->nr;
			l = r;
		}
	}
	memmove(&l->keys[idx + 1], &l->keys[idx], (l->nr - idx) * sizeof(l->keys[0]));
	memmove(&l->e[idx + 1], &l->e[idx], (l->nr - idx) * sizeof(l->e[0]));
	l->keys[idx] = key;
	l->e[idx] = e;
	l->nr++;
	entry_get(ov, &e);
	count_add(ov, btree, level, 1);
	ov->gen++;
	return 0;
}

int bch_overlay_insert(struct bch_overlay *ov, enum btree_id btree, unsigned level,
		       const struct bkey_i *k, u64 journal_seq)
{
	return insert(ov, btree, level, (struct bkey_i *)k, true, journal_seq);
}

int bch_overlay_insert_ref(struct bch_overlay *ov, enum btree_id btree, unsigned level,
			   struct bkey_i *k, u64 journal_seq)
{
	return insert(ov, btree, level, k, false, journal_seq);
}

const struct bch_overlay_entry *bch_overlay_get(const struct bch_overlay *ov, enum btree_id btree,
						unsigned level, struct bpos pos)
{
	struct ov_key key = ov_key(btree, level, pos);

	if (!ov)
		return NULL;

	struct ov_leaf *l = find_leaf(ov, &key);
	unsigned idx = leaf_lower_bound(l, &key);

	return idx < l->nr && key_eq(&l->keys[idx], &key) ? &l->e[idx] : NULL;
}

/* Cursors */

/* Moves (l, idx) past empty leaves and leaf ends; l NULL = end of the index. */
static void cursor_settle(struct bch_overlay_iter *it, struct ov_leaf *l, unsigned idx)
{
	while (l && idx >= l->nr) {
		l = l->next;
		idx = 0;
	}
	it->blk = (uintptr_t)l;
	it->idx = idx;
	it->gen = it->ov->gen;
}

static struct ov_key cursor_target(const struct bch_overlay_iter *it)
{
	return ov_key(it->btree_id, it->level, it->pos);
}

/* Finds the cursor's place again after the index changed. */
static void cursor_reseek(struct bch_overlay_iter *it)
{
	struct ov_key t = cursor_target(it);
	struct ov_leaf *l = find_leaf(it->ov, &t);
	unsigned idx = leaf_lower_bound(l, &t);

	if (it->after && idx < l->nr && key_eq(&l->keys[idx], &t))
		idx++;
	cursor_settle(it, l, idx);
}

void bch_overlay_iter_seek(struct bch_overlay_iter *it, const struct bch_overlay *ov,
			   enum btree_id btree, unsigned level, struct bpos pos)
{
	it->ov = ov;
	it->btree_id = btree;
	it->level = level;
	it->pos = pos;
	it->after = false;
	it->blk = 0;
	it->idx = 0;
	if (ov)
		cursor_reseek(it);
}

void bch_overlay_iter_seek_near(struct bch_overlay_iter *it, const struct bch_overlay *ov,
				enum btree_id btree, unsigned level, struct bpos pos)
{
	struct ov_key k = ov_key(btree, level, pos);

	/* already there: the target so far is <= k and the entry at the cursor >= k */
	if (ov && it->ov == ov && it->gen == ov->gen) {
		struct ov_key t = cursor_target(it);
		const struct ov_leaf *l = (const struct ov_leaf *)it->blk;

		if ((it->after ? key_lt(&t, &k) : !key_lt(&k, &t)) &&
		    (!l || !key_lt(&l->keys[it->idx], &k))) {
			it->btree_id = btree;
			it->level = level;
			it->pos = pos;
			it->after = false;
			return;
		}
	}
	bch_overlay_iter_seek(it, ov, btree, level, pos);
}

const struct bch_overlay_entry *bch_overlay_iter_peek(struct bch_overlay_iter *it)
{
	if (!it->ov)
		return NULL;
	if (it->gen != it->ov->gen)
		cursor_reseek(it);

	struct ov_leaf *l = (struct ov_leaf *)it->blk;

	return l ? &l->e[it->idx] : NULL;
}

void bch_overlay_iter_next(struct bch_overlay_iter *it)
{
	if (!bch_overlay_iter_peek(it))
		return;

	struct ov_leaf *l = (struct ov_leaf *)it->blk;
	const struct ov_key *k = &l->keys[it->idx];

	it->btree_id = k->hi >> 56;
	it->level = k->hi >> 48;
	it->pos = ov_key_pos(k);
	it->after = true;
	cursor_settle(it, l, it->idx + 1);
}

/* Sizes */

size_t bch_overlay_nr(const struct bch_overlay *ov, enum btree_id btree, unsigned level)
{
	if (!ov)
		return 0;
	if (level < BTREE_MAX_DEPTH)
		return ov->counts[btree & 0xff][level];

	struct bch_overlay_iter it = { 0 };
	const struct bch_overlay_entry *e;
	size_t nr = 0;

	bch_overlay_iter_seek(&it, ov, btree, level, POS_MIN);
	while ((e = bch_overlay_iter_peek(&it)) && e->btree_id == btree && e->level == level) {
		nr++;
		bch_overlay_iter_next(&it);
	}
	return nr;
}

size_t bch_overlay_nr_total(const struct bch_overlay *ov)
{
	return ov ? ov->nr : 0;
}

size_t bch_overlay_bytes(const struct bch_overlay *ov)
{
	if (!ov)
		return 0;
	return sizeof(*ov) +
		ov->nr_chunks * (size_t)OV_CHUNK_BYTES +
		ov->size_chunks * sizeof(ov->chunks[0]) +
		ov->nr_leaves * sizeof(struct ov_leaf) +
		ov->nr_inner * sizeof(struct ov_inner) +
		ov->seq_size * sizeof(ov->seq_nr[0]);
}

u64 bch_overlay_gen(const struct bch_overlay *ov)
{
	return ov ? ov->gen : 0;
}

u64 bch_overlay_changes(const struct bch_overlay *ov, enum btree_id btree)
{
	return ov ? ov->changes[btree & 0xff] : 0;
}

u64 bch_overlay_oldest_seq(const struct bch_overlay *ov)
{
	return ov && ov->seq_first < ov->seq_size ? ov->seq_base + ov->seq_first : 0;
}

/* Removal */

static void inner_remove(struct bch_overlay *ov, struct ov_inner *p, struct ov_node *c)
{
	unsigned i = child_index(p, c);

	memmove(&p->lo[i], &p->lo[i + 1], (p->nr - i - 1) * sizeof(p->lo[0]));
	memmove(&p->child[i], &p->child[i + 1], (p->nr - i - 1) * sizeof(p->child[0]));
	p->nr--;
	/* never the root, which keeps two children or more (root_shrink) */
	if (!p->nr) {
		inner_remove(ov, p->n.parent, &p->n);
		free(p);
		ov->nr_inner--;
	}
}

static void root_shrink(struct bch_overlay *ov)
{
	while (ov->height && ((struct ov_inner *)ov->root)->nr == 1) {
		struct ov_inner *r = (struct ov_inner *)ov->root;

		ov->root = r->child[0];
		ov->root->parent = NULL;
		ov->height--;
		ov->nr_inner--;
		free(r);
	}
}

/* Takes an empty leaf out of the tree (never the last one). */
static void leaf_remove(struct bch_overlay *ov, struct ov_leaf *l)
{
	if (&l->n == ov->root)
		return;
	if (l->prev)
		l->prev->next = l->next;
	if (l->next)
		l->next->prev = l->prev;
	inner_remove(ov, l->n.parent, &l->n);
	free(l);
	ov->nr_leaves--;
	root_shrink(ov);
}

/* Folds the next leaf into l when both are small and share a parent. */
static void leaf_maybe_merge(struct bch_overlay *ov, struct ov_leaf *l)
{
	struct ov_leaf *n = l->next;

	if (!n || n->n.parent != l->n.parent ||
	    l->nr + n->nr > OV_LEAF_MAX / 2 ||
	    (l->nr >= OV_LEAF_MAX / 4 && n->nr >= OV_LEAF_MAX / 4))
		return;
	memcpy(&l->keys[l->nr], n->keys, n->nr * sizeof(n->keys[0]));
	memcpy(&l->e[l->nr], n->e, n->nr * sizeof(n->e[0]));
	l->nr += n->nr;
	n->nr = 0;
	leaf_remove(ov, n);
}

void bch_overlay_drop(struct bch_overlay *ov, enum btree_id btree, unsigned level,
		      struct bpos start, struct bpos end)
{
	struct ov_key ks = ov_key(btree, level, start), ke = ov_key(btree, level, end);
	struct ov_leaf *l, *first = NULL, *last = NULL;
	size_t dropped = 0;

	if (bpos_gt(start, end))
		return;
	l = find_leaf(ov, &ks);

	unsigned i = leaf_lower_bound(l, &ks);

	while (l) {
		unsigned j = i;

		while (j < l->nr && !key_lt(&ke, &l->keys[j]))
			entry_put(ov, &l->e[j++]);

		bool done = j < l->nr;
		struct ov_leaf *next = l->next;

		memmove(&l->keys[i], &l->keys[j], (l->nr - j) * sizeof(l->keys[0]));
		memmove(&l->e[i], &l->e[j], (l->nr - j) * sizeof(l->e[0]));
		l->nr -= j - i;
		dropped += j - i;
		if (!l->nr && &l->n != ov->root) {
			leaf_remove(ov, l);
		} else {
			if (!first)
				first = l;
			last = l;
		}
		if (done)
			break;
		l = next;
		i = 0;
	}
	if (!dropped)
		return;
	if (last && last != first)
		leaf_maybe_merge(ov, last);
	if (first)
		leaf_maybe_merge(ov, first);
	count_add(ov, btree, level, -(long)dropped);
	ov->changes[btree & 0xff]++;
	ov->gen++;
	chunks_reclaim(ov);
}
