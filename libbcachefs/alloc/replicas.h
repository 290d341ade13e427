/* The replicas entries the accounting counts data in. */
#ifndef BCH_ALLOC_REPLICAS_H
#define BCH_ALLOC_REPLICAS_H

#include "core/fs_types.h"
#include "util/printbuf.h"

/*
 * Calls fn with the replicas entry and key position of every accounting
 * counter of replicas type that is not zero (a zero counter counts
 * nothing: a replayed delta that took it all away, which no flush has
 * deleted yet), in key order.  Stops at the first nonzero return of fn and
 * returns it; a read error is negative, with err saying why.
 */
int bch_counted_replicas_for_each(struct bch_fs *c,
				  int (*fn)(void *ctx, const struct bch_replicas_entry_v1 *e,
					    struct bpos pos),
				  void *ctx, struct printbuf *err);

#endif
