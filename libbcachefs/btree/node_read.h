/* Reading a btree node: checksums, bset validation, merging bsets into sorted keys. */
#ifndef BCH_BTREE_NODE_READ_H
#define BCH_BTREE_NODE_READ_H

#include "btree/btree_types.h"
#include "core/fs_types.h"

/*
 * Reads the node that ptr (a btree_ptr or btree_ptr_v2 key) points to, of
 * btree `id` at `level`, into b (whose buffers are reused).  Replicas are
 * tried in turn until one reads and verifies.  Errors say which device,
 * sector, btree and position, and what was wrong.
 */
int bch_btree_node_read(struct bch_fs *c, const struct bkey_i *ptr,
			enum btree_id id, unsigned level, struct btree *b,
			struct printbuf *err);

/*
 * The same read for the read-ahead thread (btree/prefetch.c): it reports
 * nothing and changes nothing but b, reading only what stays fixed while
 * no one writes.  Anything a read would report (an invalid key, a bad
 * checksum, a bset fsck reads past) ends it with an error: the walker's
 * thread then reads the node itself, as bch_btree_node_read(), and says
 * what is wrong.
 */
int bch_btree_node_read_quiet(struct bch_fs *c, const struct bkey_i *ptr,
			      enum btree_id id, unsigned level, struct btree *b);

void bch_btree_node_free(struct btree *b);

/* First key index >= pos in b->keys (nr_keys if none). */
size_t bch_btree_node_lower_bound(const struct btree *b, struct bpos pos);

/* Header of a node as `list -m formats` shows it. */
void bch_btree_node_to_text(struct printbuf *, const struct bch_fs *,
			    const struct btree *);

/* The node's bsets as written, as `list -m nodes-ondisk` shows them. */
void bch_btree_node_ondisk_to_text(struct printbuf *, struct bch_fs *,
				   const struct btree *);

#endif
