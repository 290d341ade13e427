/* Node read-ahead: a second thread reads the nodes a walk along a level wants next. */
#ifndef BCH_BTREE_PREFETCH_H
#define BCH_BTREE_PREFETCH_H

#include "btree/btree_types.h"
#include "core/fs_types.h"

/*
 * With opts.read_ahead, a walk that has moved from one child of a node to
 * the next (btree/iter.c) has the children after it read by a second
 * thread, so reading and parsing them overlaps the walker's own work.  The
 * thread reads quietly (bch_btree_node_read_quiet()): a node with anything
 * to report is read again by the walker, so what is reported and repaired
 * is the same with or without it.  It runs only while nothing on the
 * devices or in the superblock changes: bch_btree_prefetch_stop() ends it
 * for good before the first write (core/shutdown.c) or superblock edit
 * (the c->sb_edit hook).
 */

/* Children idx, idx + 1, ... of interior node `parent` (of btree id) are wanted soon. */
void bch_btree_prefetch_children(struct bch_fs *c, enum btree_id id, const struct btree *parent,
				 size_t idx);

/*
 * The node ptr names, if the thread has read it (NULL otherwise: the
 * caller reads it).  Waits when the thread is reading it now.
 */
struct btree *bch_btree_prefetch_take(struct bch_fs *c, const struct bkey_i *ptr,
				      enum btree_id id, unsigned level);

/* Stops the thread for good and frees the nodes it read. */
void bch_btree_prefetch_stop(struct bch_fs *c);

/* At close: stops it and frees its state. */
void bch_btree_prefetch_exit(struct bch_fs *c);

#endif
