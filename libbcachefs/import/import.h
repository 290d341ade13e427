/* Copying a host directory tree into a filesystem: format --source, and later migrate. */
#ifndef BCH_IMPORT_IMPORT_H
#define BCH_IMPORT_IMPORT_H

#include <sys/types.h>

#include "core/fs_types.h"
#include "util/printbuf.h"

/* A host device number in the kernel's own dev_t layout (MKDEV), which bi_dev holds. */
u32 bch_kernel_dev(dev_t);

struct bch_import_stats {
	u64 entries;		/* inodes created, the root included */
	u64 hardlinks;		/* extra names of inodes already copied */
	u64 bytes;		/* file and symlink bytes copied */
	u64 xattrs;
	const char *path;	/* the entry being copied (progress) */
};

struct bch_import_opts {
	/*
	 * Called after every entry copied; it decides itself how often to
	 * show anything.  May be NULL.
	 */
	void (*progress)(void *ctx, const struct bch_import_stats *);
	void *progress_ctx;
	/* messages that are not errors (an xattr namespace bcachefs has not) */
	struct printbuf *warnings;
};

/*
 * Copies the tree at src into the root directory of c (writable: after
 * bch_fs_start_write), as `format --source` does: every directory, regular
 * file (data ranges only, holes stay holes), symlink, device node, fifo
 * and socket with its mode, owner, times (atime, mtime and ctime with
 * nanoseconds, as lstat gave them before the entry was read), device
 * number and xattrs (user, trusted, security and POSIX ACLs); names of a
 * non-directory with several links become hardlinks of one inode.  The
 * root directory takes src's mode, owner, times and xattrs; a
 * lost+found directory at the top of src is not copied (the filesystem
 * has its own).  Sources are read with O_NOATIME where allowed, so the
 * source tree is left as it was.
 *
 * Stops at the first error: err names the source path and what failed
 * (unreadable entry, no space left, a name or xattr bcachefs cannot hold).
 */
int bch_import_tree(struct bch_fs *c, const char *src, const struct bch_import_opts *opts,
		    struct bch_import_stats *stats, struct printbuf *err);

#endif
