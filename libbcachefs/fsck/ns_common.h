/* Shared by the namespace fsck passes: the inode table (sorted by number), the repair session, key iteration. */
#ifndef BCH_FSCK_NS_COMMON_H
#define BCH_FSCK_NS_COMMON_H

#include <dirent.h>
#include <stdio.h>

#include "fsck/fsck.h"
#include "fs/inode_alloc.h"
#include "fs/ns_types.h"
#include "keys/inode.h"

/*
 * What the passes need of each inode version (an inode number has one in
 * each snapshot that wrote it), filled from the inodes btree.
 */
/* One per inode version: 88 bytes (widest fields first, no padding between), a million take 88 MB. */
struct ns_inode {
	u64 inum;
	u64 size, sectors;
	u64 dir, dir_offset;
	u64 hash_seed;
	u64 counted;		/* per pass: sectors, ... */
	u32 snapshot;
	u32 flags;
	u32 nlink;		/* stored (biased) bi_nlink */
	u32 subvol, parent_subvol;
	u32 count;		/* per pass: names, subdirectories, ... */
	u16 mode;
	u8 state;		/* per pass */
};

struct ns_itab {
	struct ns_inode *d;
	size_t nr, size;
};

/*
 * The inode table the passes share (f->itab): read from the inodes btree
 * by the first pass that asks, again only after a namespace repair was
 * committed (ns_fix_commit marks it stale); the per-pass fields come
 * back zeroed.  0, or an error (reported through f).
 */
int ns_itab_get(struct bch_fsck *, struct ns_itab **);
/* Filling a stale table from a walk of the inodes: begin (1: fill), fill each, end (ok: the walk finished). */
int ns_itab_fill_begin(struct bch_fsck *);
int ns_itab_fill(struct bch_fsck *, const struct bch_inode_unpacked *);
void ns_itab_fill_end(struct bch_fsck *, bool ok);
/* Sorted by number, then snapshot: the first version of inum (lowest snapshot id), NULL if none. */
struct ns_inode *ns_itab_find(struct ns_itab *, u64 inum);
/* The versions of inum: the first, *nr of them (0 and NULL: none). */
struct ns_inode *ns_itab_versions(struct ns_itab *, u64 inum, size_t *nr);
/*
 * The version of inum snapshot snap sees: its own or its nearest
 * ancestor's (versions of descendants have lower ids, so the first
 * ancestor-or-self in id order is the nearest); NULL if none.
 */
struct ns_inode *ns_itab_find_snap(const struct bch_snapshot_table *, struct ns_itab *, u64 inum, u32 snap);

/*
 * The key at (inode, offset) snapshot snap sees (its own, or its nearest
 * ancestor's; whiteouts as they are) into k, room for u64s: 1, 0 when
 * there is none, or an error (reported through f).
 */
int ns_key_visible(struct bch_fsck *, enum btree_id, u64 inode, u64 offset, u32 snap,
		   struct bkey_i *k, unsigned u64s);

/*
 * The versions of one inode number that the keys under it (extents,
 * dirents, xattrs: met in position order, all snapshots) belong to, each
 * with what a pass counts for it. A key of snapshot S belongs to the
 * version S sees; when that is an ancestor's, an entry for S itself is
 * added (its counts are S's, as the kernel keeps them).
 */
struct ns_walker_entry {
	struct ns_inode *v;		/* the version: its own (snapshot == v->snapshot) or an ancestor's */
	u32 snapshot;
	u32 count;
	u64 counted;
	bool hidden;			/* per key: a repair took the key from this version */
};

struct ns_walker {
	u64 inum;
	struct ns_walker_entry *e;	/* ascending snapshot */
	size_t nr, size;
};

/* Loads the versions of inum from tab (none: nr 0); 0 or an error. */
int ns_walker_load(struct bch_fsck *, struct ns_walker *, struct ns_itab *, u64 inum);
/* The entry a key of snapshot snap belongs to (added for snap when add) into *e, NULL if none; 0 or an error. */
int ns_walker_find(struct bch_fsck *, struct ns_walker *, u32 snap, bool add, struct ns_walker_entry **e);
void ns_walker_exit(struct ns_walker *);
/*
 * Whether the entry sees the key of snapshot snap at the position of
 * seen: the entry's snapshot is snap or a descendant not overwritten
 * since (bch_snapshot_key_visible).
 */
static inline bool ns_walker_sees(struct bch_fsck *f, const struct bch_snapshots_seen *seen,
				  const struct ns_walker_entry *e, u32 snap)
{
	return e->snapshot <= snap && bch_snapshot_key_visible(&f->snaps, seen, e->snapshot, snap);
}

/*
 * Whether the inode version of snapshot vs is one a key of snapshot snap
 * (seen: the keys met at its position so far) names: a descendant's the
 * key is not hidden from, or snap's own or an ancestor's.  Versions in
 * ascending snapshot order: the first of snap or above is the nearest.
 */
static inline bool ns_version_sees_key(struct bch_fsck *f, const struct bch_snapshots_seen *seen,
				       u32 vs, u32 snap)
{
	return vs <= snap ? bch_snapshot_key_visible(&f->snaps, seen, vs, snap) :
			    bch_snapshot_is_ancestor(&f->snaps, snap, vs);
}

/*
 * ":ID" for messages naming a key's or an inode version's snapshot, empty
 * for the first snapshot (U32_MAX), the one of filesystems never snapshotted.
 */
struct ns_snap_buf {
	char s[16];
};

static inline struct ns_snap_buf ns_snap_str(u32 snap)
{
	struct ns_snap_buf b = { "" };

	if (snap != BCH_NS_ROOT_SNAPSHOT)
		snprintf(b.s, sizeof(b.s), ":%u", snap);
	return b;
}

/*
 * The value of type `type` at POS(0, id) of btree into v (bytes long,
 * zero-filled past a shorter value: older keys lack the later fields), the
 * whole key into k (room for u64s): 1, 0 when there is none of that type,
 * or an error (reported).
 */
int ns_val_get(struct bch_fsck *, enum btree_id, unsigned type, u64 id, void *v, size_t bytes,
	       struct bkey_i *k, unsigned u64s);
int ns_subvol_get(struct bch_fsck *, u64 id, struct bch_subvolume *);
int ns_tree_get(struct bch_fsck *, u32 id, struct bch_snapshot_tree *);

/* A list of snapshot ids. */
struct snap_ids {
	u32 *d;
	size_t nr, size;
};

int snap_ids_add(struct bch_fsck *, struct snap_ids *, u32 id);
bool snap_ids_has(const struct snap_ids *, u32 id);
/* Whether one of the first n ids of l (other than snap) is a snapshot below snap. */
bool snap_ids_has_below(const struct bch_snapshot_table *, const struct snap_ids *, size_t n,
			u32 snap);
void snap_ids_exit(struct snap_ids *);

/* Room for the small values of the snapshot btrees: a snapshot is 56 bytes, a subvolume 40. */
#define SNAP_KEY_U64s	(BKEY_U64s + 16)

union snap_key {
	struct bkey_i k;
	u64 pad[SNAP_KEY_U64s];
};

/* k becomes a key of type at POS(0, id) with value v (bytes, at most SNAP_KEY_U64s' room). */
void snap_val_key(union snap_key *k, unsigned type, u64 id, const void *v, size_t bytes);

/*
 * Calls fn on every key of btree in order; fn returns 0 to go on, else
 * stops the walk. 0 or an error (a walk error is reported).
 */
typedef int (*ns_key_fn)(struct bch_fsck *, struct bkey_s_c, void *ctx);
int ns_walk(struct bch_fsck *, enum btree_id, ns_key_fn, void *ctx);

/* The key as text into b (emptied first), for messages. */
void ns_key_text(struct printbuf *b, struct bch_fsck *, struct bkey_s_c);

/* The snapshots btree as a table (f->snaps), read once and again after a repair wrote to it. */
const struct bch_snapshot_table *ns_snaps_get(struct bch_fsck *);
static inline bool ns_snapshot_exists(struct bch_fsck *f, u32 id)
{
	return bch_snapshot_get(&f->snaps, id) != NULL;
}
static inline bool ns_unlinked(const struct ns_inode *i)
{
	return i->flags & (1U << BCH_INODE_unlinked);
}

/* The repair session, started at the first repair. */
struct ns_fix {
	struct bch_fsck *f;
	struct bch_ns ns;
	bool started;
};

int ns_fix_begin(struct ns_fix *);
/* Begins if needed, and points the session at snapshot `snapshot` (bch_ns_fsck_at). */
int ns_fix_at(struct ns_fix *, u32 snapshot);
void ns_fix_end(struct ns_fix *);
/* Commits the session's transaction (reporting an error through f). */
int ns_fix_commit(struct ns_fix *, const char *what);

/* Rewrites the version of inode inum in snapshot `snapshot` after fn changed it: read, fn, write, commit. */
typedef void (*ns_inode_edit_fn)(struct bch_inode_unpacked *, void *ctx);
int ns_fix_inode(struct ns_fix *, u64 inum, u32 snapshot, ns_inode_edit_fn, void *ctx);

/*
 * has_child_snapshot of every version of inode inum set right (a version
 * has it when another version lies in a snapshot below it, by table t):
 * the kernel's inode trigger keeps it so around a version made or removed,
 * ours does not. Queued in the session: the number of inodes queued, or
 * an error. ns_fix_child_flags() also commits them.
 */
int ns_child_flags_queue(struct ns_fix *, const struct bch_snapshot_table *t, u64 inum);
int ns_fix_child_flags(struct ns_fix *, u64 inum);
/* The snapshots of inum's versions, ascending (those below a version come before it), into v. */
int ns_inode_versions(struct bch_fsck *, u64 inum, struct snap_ids *v);
/* 1 when directory dir has an entry its version in snapshot snap sees, 0 when none, or an error. */
int ns_dir_sees_entry(struct bch_fsck *, u64 dir, u32 snap);

/*
 * Rewrites the version of the entry's snapshot (made from the version it
 * sees when it has none; the versions' has_child_snapshot flags then set).
 */
int ns_fix_entry(struct ns_fix *, struct ns_walker_entry *, ns_inode_edit_fn, void *ctx);

/* Deletes the key at pos in btree (with triggers) and commits. */
int ns_fix_delete(struct ns_fix *, enum btree_id, struct bpos pos);
/* Writes k (its triggers run) and commits. */
int ns_fix_put(struct ns_fix *, enum btree_id, const struct bkey_i *k);

/*
 * Puts the version of inum in snapshot snap into lost+found (made if
 * missing) of its snapshot tree's main subvolume, under its number, as
 * the kernel reattaches; the root of a subvolume goes into lost+found of
 * the root subvolume as "subvol-ID". The new dirent's place in *dir, *offset.
 */
int ns_fix_reattach(struct ns_fix *, u64 inum, u32 snap, u64 *dir, u64 *offset);

/* Subvolume child's fs_path_parent becomes parent (its subvolume_children entry follows by trigger). */
int ns_fix_subvol_parent(struct ns_fix *, u32 child, u32 parent);

/* The key's snapshot exists: 0, 1 when not (deleted if repaired), or an error. */
int ns_key_in_missing_snapshot(struct bch_fsck *, struct ns_fix *, enum btree_id, struct bkey_s_c,
			       struct printbuf *);

/*
 * The inode version of w that key k of btree belongs to (w holds k's inode
 * number; an entry is added for k's snapshot when add), into *e: 0; 1 when
 * there is nothing more to check (k a whiteout, or its inode missing or of
 * a type that cannot own it: reported, deleted if repaired); or an error.
 */
int ns_key_owner(struct bch_fsck *, struct ns_fix *, struct ns_walker *w, enum btree_id,
		 struct bkey_s_c k, bool add, struct printbuf *, struct ns_walker_entry **e);

int bch_check_snapshot_trees(struct bch_fsck *);
int bch_check_snapshots(struct bch_fsck *);
int bch_check_subvols(struct bch_fsck *);
int bch_check_subvol_children(struct bch_fsck *);
int bch_check_inodes(struct bch_fsck *);
int bch_check_extents(struct bch_fsck *);
int bch_check_indirect_extents(struct bch_fsck *);
int bch_check_dirents(struct bch_fsck *);
int bch_check_xattrs(struct bch_fsck *);
int bch_check_root(struct bch_fsck *);
int bch_check_unreachable_inodes(struct bch_fsck *);
int bch_check_directory_structure(struct bch_fsck *);
int bch_check_nlinks(struct bch_fsck *);

#endif
