/* POSIX ACLs: the Linux xattr form (system.posix_acl_*) converted to and from bcachefs' on-disk form. */
#ifndef BCH_FS_ACL_H
#define BCH_FS_ACL_H

#include <stddef.h>

#include "bcachefs/types.h"
#include "util/printbuf.h"

/*
 * The Linux form (what getxattr returns): le32 version 2, then 8-byte
 * entries (le16 tag, le16 perm, le32 id; the id is -1 but for user and
 * group entries).  The bcachefs form: le32 version 1, then entries of 4
 * bytes (le16 tag, le16 perm) for user_obj, group_obj, mask and other, of
 * 8 bytes (... le32 uid or gid) for user and group.  Tags are the same.
 */
#define BCH_ACL_TAG_USER_OBJ	0x01
#define BCH_ACL_TAG_USER	0x02
#define BCH_ACL_TAG_GROUP_OBJ	0x04
#define BCH_ACL_TAG_GROUP	0x08
#define BCH_ACL_TAG_MASK	0x10
#define BCH_ACL_TAG_OTHER	0x20

/*
 * Checks a Linux-form acl as the VFS does (version, entry size, known
 * tags in order, ids ascending within user and group, one user_obj,
 * group_obj and other, a mask when there are named entries) and writes
 * its bcachefs form into out: its length, or -BCH_ERR_acl_invalid /
 * -BCH_ERR_xattr_range (out too small).
 */
int bch_acl_from_vfs(const void *vfs, size_t len, void *out, size_t out_size,
		     struct printbuf *err);

/* The Linux form of a bcachefs-form acl: its length (out NULL: just the length), or an error. */
int bch_acl_to_vfs(const void *disk, size_t len, void *out, size_t out_size,
		   struct printbuf *err);

/*
 * The permission bits a (valid, Linux-form) access acl gives the mode, as
 * posix_acl_equiv_mode does: *mode gets them (the mask stands for the
 * group bits).  1 when the mode says everything the acl does (the kernel
 * then stores no acl), 0 when not.
 */
int bch_acl_equiv_mode(const void *vfs, size_t len, unsigned *mode);

#endif
