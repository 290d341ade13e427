/* The btree node cache: a hash of nodes by pointer, pins, and LRU eviction of clean nodes by bytes. */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "cache.h"
#include "bkey/format_calc.h"
#include "node_read.h"
#include "prefetch.h"
#include "util/errcode.h"

static struct btree_cache *cache_of(struct bch_fs *c)
{
	if (!c->btree_cache) {
		c->btree_cache = calloc(1, sizeof(*c->btree_cache));
		if (c->btree_cache)
			c->btree_cache->max_bytes = c->opts.btree_cache_bytes ?:
				BTREE_CACHE_DEFAULT_BYTES;
	}
	return c->btree_cache;
}

static u64 node_hash(const struct bkey_i *ptr, enum btree_id id, unsigned level)
{
	return XXH64(ptr, ptr->k.u64s * 8, (u64)id << 8 | level);
}

static bool node_is(const struct btree *b, const struct bkey_i *ptr, enum btree_id id,
		    unsigned level, u64 hash)
{
	return b->hash == hash && b->btree_id == id && b->level == level &&
		b->key.k.u64s == ptr->k.u64s && !memcmp(&b->key, ptr, ptr->k.u64s * 8);
}

static size_t node_bytes(const struct btree *b)
{
	return b->data_size + b->keys_size * (sizeof(*b->keys) + sizeof(*b->vals)) +
		sizeof(*b);
}

static size_t slot_of(const struct btree_cache *bc, u64 hash)
{
	return hash & (bc->nr_slots - 1);
}

static int grow_slots(struct btree_cache *bc)
{
	size_t n = bc->nr_slots ? bc->nr_slots * 2 : 256;
	struct btree **old = bc->slots, **slots = calloc(n, sizeof(*slots));
	size_t old_nr = bc->nr_slots;

	if (!slots)
		return -BCH_ERR_nomem;
	bc->slots = slots;
	bc->nr_slots = n;
	for (size_t i = 0; i < old_nr; i++) {
		struct btree *b = old[i];

		if (!b)
			continue;
		size_t s = slot_of(bc, b->hash);
		while (bc->slots[s])
			s = (s + 1) & (n - 1);
		bc->slots[s] = b;
	}
	free(old);
	return 0;
}

/* Removes b from the table, shifting back the entries of its probe run. */
static void table_remove(struct btree_cache *bc, struct btree *b)
{
	size_t mask = bc->nr_slots - 1, s = slot_of(bc, b->hash);

	while (bc->slots[s] != b)
		s = (s + 1) & mask;
	bc->slots[s] = NULL;
	for (size_t n = (s + 1) & mask; bc->slots[n]; n = (n + 1) & mask) {
		struct btree *m = bc->slots[n];
		size_t home = slot_of(bc, m->hash);

		/* m may move to the hole if its home is not between hole and n */
		if ((n > s) ? (home <= s || home > n) : (home <= s && home > n)) {
			bc->slots[s] = m;
			bc->slots[n] = NULL;
			s = n;
		}
	}
	bc->nr--;
}

static void lru_del(struct btree_cache *bc, struct btree *b)
{
	if (!b->in_lru)
		return;
	if (b->lru_prev)
		b->lru_prev->lru_next = b->lru_next;
	else
		bc->lru_first = b->lru_next;
	if (b->lru_next)
		b->lru_next->lru_prev = b->lru_prev;
	else
		bc->lru_last = b->lru_prev;
	b->lru_prev = b->lru_next = NULL;
	b->in_lru = false;
}

static void lru_add_last(struct btree_cache *bc, struct btree *b)
{
	b->lru_prev = bc->lru_last;
	b->lru_next = NULL;
	if (bc->lru_last)
		bc->lru_last->lru_next = b;
	else
		bc->lru_first = b;
	bc->lru_last = b;
	b->in_lru = true;
}

static void node_free(struct btree_cache *bc, struct btree *b)
{
	bc->bytes -= node_bytes(b);
	bch_btree_node_free(b);
	free(b);
}

static void evict(struct btree_cache *bc)
{
	while (bc->bytes > bc->max_bytes && bc->lru_first) {
		struct btree *b = bc->lru_first;

		lru_del(bc, b);
		table_remove(bc, b);
		node_free(bc, b);
	}
}

void bch_btree_fake_root_key(struct bkey_i *k)
{
	memset(k, 0, sizeof(*k));
	k->k.u64s = BKEY_U64s;
	k->k.format_whiteout = KEY_FORMAT_CURRENT;
	k->k.type = KEY_TYPE_btree_ptr;
	k->k.p = SPOS_MAX;
}

/*
 * The empty leaf the kernel makes in memory for a btree with no root (or
 * an empty interior node, when updates above the leaves wait for a root:
 * fsck rebuilding a btree from the nodes a scan found).
 */
static void fake_root_fill(struct btree *b, enum btree_id id, unsigned level)
{
	b->btree_id = id;
	b->level = level;
	b->min_key = POS_MIN;
	b->max_key = SPOS_MAX;
	/* the format the kernel computes for an empty POS_MIN..SPOS_MAX node */
	b->format = bch_format_calc_node(POS_MIN, SPOS_MAX, NULL, 0);
	bch_bkey_unpacker_init(&b->unpacker, &b->format);
	bch_btree_fake_root_key(&b->key);
}

static bool is_fake_root_key(const struct bkey_i *ptr)
{
	return ptr->k.type == KEY_TYPE_btree_ptr && !bkey_val_bytes(&ptr->k);
}

static struct btree *table_find(const struct btree_cache *bc, const struct bkey_i *ptr,
				enum btree_id id, unsigned level, u64 hash)
{
	struct btree *b;

	if (!bc->nr_slots)
		return NULL;
	for (size_t s = slot_of(bc, hash); (b = bc->slots[s]); s = (s + 1) & (bc->nr_slots - 1))
		if (node_is(b, ptr, id, level, hash))
			return b;
	return NULL;
}

bool bch_btree_node_cached(struct bch_fs *c, const struct bkey_i *ptr, enum btree_id id,
			   unsigned level)
{
	return c->btree_cache && table_find(c->btree_cache, ptr, id, level, node_hash(ptr, id, level));
}

int bch_btree_node_get(struct bch_fs *c, const struct bkey_i *ptr, enum btree_id id,
		       unsigned level, struct btree **out, struct printbuf *err)
{
	struct btree_cache *bc = cache_of(c);
	u64 hash = node_hash(ptr, id, level);
	struct btree *b;
	int ret;

	*out = NULL;
	if (!bc)
		return -BCH_ERR_nomem;
	b = table_find(bc, ptr, id, level, hash);
	if (b) {
		lru_del(bc, b);
		b->pins++;
		*out = b;
		return 0;
	}
	if (ptr->k.u64s * 8 > sizeof(b->_key_buf))
		return -BCH_ERR_btree_node_invalid;
	/* read ahead by the other thread (so with nothing to report), or read now */
	struct btree *ahead = bch_btree_prefetch_take(c, ptr, id, level);

	b = ahead ?: calloc(1, sizeof(*b));
	if (!b)
		return -BCH_ERR_nomem;
	size_t msg_start = err->pos;

	if (ahead)
		bc->nr_read_ahead++;
	else if (is_fake_root_key(ptr))
		fake_root_fill(b, id, level);
	else if ((ret = bch_btree_node_read(c, ptr, id, level, b, err))) {
		if (c->node_unreadable && ret != -BCH_ERR_nomem)
			c->node_unreadable(c->node_unreadable_ctx, id, level, ptr, b->read_err,
					   pb_cstr(err) + msg_start);
		bch_btree_node_free(b);
		free(b);
		return ret;
	}
	if ((bc->nr + 1) * 2 > bc->nr_slots && (ret = grow_slots(bc))) {
		bch_btree_node_free(b);
		free(b);
		return ret;
	}
	if (!is_fake_root_key(ptr))
		bc->nr_read++;
	b->hash = hash;
	b->pins = 1;
	size_t s = slot_of(bc, hash);
	while (bc->slots[s])
		s = (s + 1) & (bc->nr_slots - 1);
	bc->slots[s] = b;
	bc->nr++;
	bc->bytes += node_bytes(b);
	evict(bc);
	*out = b;
	return 0;
}

void bch_btree_node_put(struct bch_fs *c, struct btree *b)
{
	struct btree_cache *bc = c->btree_cache;

	if (!b || !bc || !b->pins)
		return;
	if (--b->pins)
		return;
	lru_add_last(bc, b);
	evict(bc);
}

struct bch_btree_cache_stats bch_btree_cache_stats(const struct bch_fs *c)
{
	const struct btree_cache *bc = c->btree_cache;

	return bc ? (struct bch_btree_cache_stats) { bc->nr_read, bc->nr_read_ahead }
		  : (struct bch_btree_cache_stats) { 0 };
}

void bch_btree_cache_exit(struct bch_fs *c)
{
	struct btree_cache *bc = c->btree_cache;

	if (!bc)
		return;
	for (size_t i = 0; i < bc->nr_slots; i++)
		if (bc->slots[i])
			node_free(bc, bc->slots[i]);
	free(bc->slots);
	free(bc);
	c->btree_cache = NULL;
}
