/* The btree node cache: nodes shared by every iterator and transaction of a filesystem. */
#ifndef BCH_BTREE_CACHE_H
#define BCH_BTREE_CACHE_H

#include "btree/btree_types.h"
#include "core/fs_types.h"

/*
 * Nodes are found by the pointer they were read through (plus btree and
 * level).  A node handed out is pinned until bch_btree_node_put(); unpinned
 * nodes stay cached, least recently used first out, while the cache holds
 * more than its byte budget.
 */
struct btree_cache {
	struct btree **slots;		/* open addressing, NULL = empty */
	size_t nr_slots;		/* a power of two */
	size_t nr;
	struct btree *lru_first;	/* unpinned nodes, oldest first */
	struct btree *lru_last;
	size_t bytes;
	size_t max_bytes;
	u64 nr_read;			/* nodes read from disk */
	u64 nr_read_ahead;		/* of those, read by the read-ahead thread */
};

#define BTREE_CACHE_DEFAULT_BYTES	(64ULL << 20)

/*
 * The node `ptr` points to, pinned, read if it is not cached.  A bare
 * btree_ptr without device pointers stands for a btree with no root on
 * disk: an empty leaf covering every position.
 */
int bch_btree_node_get(struct bch_fs *c, const struct bkey_i *ptr, enum btree_id id,
		       unsigned level, struct btree **out, struct printbuf *err);
void bch_btree_node_put(struct bch_fs *c, struct btree *b);

struct bch_btree_cache_stats {
	u64 nr_read;
	u64 nr_read_ahead;
};

struct bch_btree_cache_stats bch_btree_cache_stats(const struct bch_fs *c);

/* Whether the node ptr names is in the cache (nothing is pinned or read). */
bool bch_btree_node_cached(struct bch_fs *c, const struct bkey_i *ptr, enum btree_id id,
			   unsigned level);

/* The key that stands for a btree without a root on disk. */
void bch_btree_fake_root_key(struct bkey_i *k);

void bch_btree_cache_exit(struct bch_fs *c);

#endif
