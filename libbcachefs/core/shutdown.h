/* Going read-write and the clean shutdown: the superblock marked dirty first, clean last. */
#ifndef BCH_CORE_SHUTDOWN_H
#define BCH_CORE_SHUTDOWN_H

#include "core/fs_types.h"
#include "util/printbuf.h"

/*
 * After a clean shutdown the kernel mounts without reading the journal:
 * the overlay is written into nodes, a flush jset with every root is
 * written, and each device's superblock gets the clean section, the
 * CLEAN flag, the replicas the nodes and journal use, the btree node
 * bitmap covering every node, the journal position, and a new seq.
 */
int bch_fs_clean_shutdown(struct bch_fs *c, struct printbuf *err);

/*
 * Makes an open filesystem writable: the superblocks are written marked
 * not clean (so a crash from here on makes the next mount replay the
 * journal), then the journal write state (after the clean shutdown, or
 * after the replayed entries) and the allocator start.
 */
int bch_fs_start_write(struct bch_fs *c, struct printbuf *err);

/*
 * Lets a read-only filesystem take commits that live in memory only: the
 * overlay and the allocator see them, and later reads too, but no journal
 * entry, node or superblock is written (there is no reclaim; the devices
 * stay open read-only).  What fsck -n uses to carry one pass's repairs to
 * the next, as the kernel's nochanges option does.
 */
int bch_fs_start_memory_only(struct bch_fs *c, struct printbuf *err);


#endif
