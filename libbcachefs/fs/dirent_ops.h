/* Directory entries of the namespace: names checked, hashed, created, found, deleted, listed. */
#ifndef BCH_FS_DIRENT_OPS_H
#define BCH_FS_DIRENT_OPS_H

#include "fs/hash_table.h"
#include "keys/inode.h"

extern const struct bch_hash_desc bch_dirent_hash_desc;

/* 0, or -BCH_ERR_name_invalid / name_too_long: empty, ".", "..", '/' or NUL inside, over 512 bytes. */
int bch_dirent_name_check(const char *name, size_t len, struct printbuf *err);

/* The name's offset in dir before probing. */
u64 bch_dirent_name_hash(const struct bch_inode_unpacked *dir, const char *name, size_t len);

/* What a directory entry points to. */
struct bch_dirent_target {
	u64 inum;
	u8 d_type;
	u64 offset;			/* the entry's slot */
};

/* 1 and *t when dir has an entry name, 0 when not, or an error. */
int bch_ns_dirent_lookup(struct bch_ns *, const struct bch_inode_unpacked *dir,
			 const char *name, size_t len, struct bch_dirent_target *t,
			 struct printbuf *err);

/*
 * Queues a new entry name -> target of type d_type in dir (which must not
 * have one: -BCH_ERR_exists); *offset its slot.
 */
int bch_ns_dirent_create(struct bch_ns *, const struct bch_inode_unpacked *dir,
			 const char *name, size_t len, u8 d_type, u64 target, u64 *offset,
			 struct printbuf *err);

/* Queues a dirent key (name -> target, type) at exactly (dir, offset). */
int bch_ns_dirent_put(struct bch_ns *, u64 dir, u64 offset, const char *name, size_t len,
		      u8 d_type, u64 target, struct printbuf *err);

/* Queues the deletion of dir's entry at offset (a whiteout when its probe chain goes on). */
int bch_ns_dirent_delete(struct bch_ns *, const struct bch_inode_unpacked *dir, u64 offset,
			 struct printbuf *err);

/* 1 when dir has no entries (whiteouts do not count), 0 when it has, or an error. */
int bch_ns_dir_empty(struct bch_ns *, u64 dir, struct printbuf *err);

/*
 * Calls fn for each committed entry of dir in slot order; a nonzero
 * return of fn stops the walk and is returned.
 */
typedef int (*bch_dirent_fn)(void *ctx, const char *name, unsigned len,
			     const struct bch_dirent_target *t);
int bch_ns_readdir(struct bch_ns *, u64 dir, bch_dirent_fn fn, void *ctx, struct printbuf *err);

#endif
