/* The pass functions, one file per pass group (fsck/alloc_checks.c, fsck/ns_checks.c, ...). */
#ifndef BCH_FSCK_PASSES_H
#define BCH_FSCK_PASSES_H

#include "fsck/fsck.h"
#include "fsck/ns_common.h"

/* fsck/alloc_checks.c: the allocation group */
int bch_fsck_check_allocations(struct bch_fsck *);
int bch_fsck_check_alloc_info(struct bch_fsck *);
int bch_fsck_check_lrus(struct bch_fsck *);
int bch_fsck_check_btree_backpointers(struct bch_fsck *);
int bch_fsck_check_backpointers_to_extents(struct bch_fsck *);
int bch_fsck_check_extents_to_backpointers(struct bch_fsck *);
int bch_fsck_check_alloc_to_lru_refs(struct bch_fsck *);
/* fsck/snap_checks.c: the passes of the snapshot group not declared with the namespace ones */
int bch_delete_dead_snapshots(struct bch_fsck *);
int bch_check_subvolume_structure(struct bch_fsck *);
/* fsck/logged_ops.c: the truncates the kernel logged finished, as at every mount */
int bch_resume_logged_ops(struct bch_fsck *);
/* fsck/dead_inodes.c: the inodes on the deleted list removed, as at every mount */
int bch_delete_dead_inodes(struct bch_fsck *);
/*
 * fsck/reconstruct.c, when the snapshots or inodes btree lost data: the
 * snapshot nodes (a pass of its own, before check_snapshot_trees) and the
 * inodes (first thing in check_extents) the surviving keys name
 */
int bch_reconstruct_snapshots(struct bch_fsck *);
int bch_reconstruct_inodes(struct bch_fsck *);
/* frees the differences the allocation passes share */
void bch_fsck_alloc_exit(struct bch_fsck *);
/* frees the namespace passes' inode table */
void bch_fsck_ns_exit(struct bch_fsck *);
/* Forgets the invalid keys node reads reported (passes.c). */
void bch_fsck_invalid_exit(struct bch_fsck *);

/*
 * fsck/topology.c: nodes that cannot be read are recorded by the node
 * cache's hook; a pass that fails on one is followed by
 * bch_fsck_topology_repair() (drop them, make the siblings tile their
 * parent again) and the passes run again.
 */
void bch_fsck_topology_init(struct bch_fsck *);
int bch_fsck_topology_repair(struct bch_fsck *);
/*
 * The check the kernel's gc makes of each interior node: its pointers
 * tile its range.  A btree failing it is reported and marked for
 * bch_fsck_topology_repair() as one with an unreadable node is.
 */
int bch_fsck_topology_tiles(struct bch_fsck *);
/*
 * Roots recovery could not take from the journal (an empty root entry):
 * reported as the kernel reports them, before any pass, then rebuilt
 * from the leaves a scan finds (or emptied) as an unreadable root is.
 */
int bch_fsck_roots_check(struct bch_fsck *);
void bch_fsck_topology_exit(struct bch_fsck *);

#endif
