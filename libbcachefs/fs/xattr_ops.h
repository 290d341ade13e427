/* Extended attributes of the namespace: names mapped to x_type by prefix, set, get, list, remove; POSIX ACLs in bcachefs form. */
#ifndef BCH_FS_XATTR_OPS_H
#define BCH_FS_XATTR_OPS_H

#include "fs/hash_table.h"
#include "keys/inode.h"

extern const struct bch_hash_desc bch_xattr_hash_desc;

/* Set flags, as setxattr's */
#define BCH_XATTR_CREATE	0x1	/* fail if it exists */
#define BCH_XATTR_REPLACE	0x2	/* fail if it does not */

/* Longest name after its prefix (x_name_len is a byte). */
#define BCH_XATTR_NAME_MAX	255

/*
 * The x_type of a full name and the name stored (after the prefix):
 * "user." 0, "trusted." 3, "security." 4; "system.posix_acl_access" 1 and
 * "system.posix_acl_default" 2 with an empty stored name.  0, or
 * -BCH_ERR_xattr_unsupported for another namespace, -BCH_ERR_name_invalid
 * for an empty name after a prefix.
 */
int bch_xattr_name_parse(const char *full, u8 *type, const char **name, struct printbuf *err);

/*
 * Sets (value non-NULL) or removes (value NULL) the xattr `full` of inode
 * inum, and the inode's ctime; ACL names take the Linux form of the acl
 * and store the bcachefs form; an access acl also sets the mode's
 * permission bits, and is not stored when the mode says it all.  Queued
 * in the session's transaction (not committed).  Errors: exists /
 * no_xattr (flags), xattr_range (too big for a key), name errors.
 */
int bch_ns_xattr_set_trans(struct bch_ns *, u64 inum, const char *full, const void *value,
			   size_t size, unsigned flags, struct printbuf *err);

/*
 * The value of xattr `full` (ACLs in Linux form): its length, copied to
 * buf when size is not 0 (-BCH_ERR_xattr_range when it does not fit);
 * -BCH_ERR_no_xattr when absent.
 */
int bch_ns_xattr_get(struct bch_ns *, u64 inum, const char *full, void *buf, size_t size,
		     struct printbuf *err);

/*
 * The full names of inode inum's xattrs, each NUL terminated, in slot
 * order: the bytes they take, copied when size is not 0
 * (-BCH_ERR_xattr_range when they do not fit).
 */
long bch_ns_xattr_list(struct bch_ns *, u64 inum, char *buf, size_t size, struct printbuf *err);

#endif
