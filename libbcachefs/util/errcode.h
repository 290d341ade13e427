/* The library's error codes: one x-macro list, each code with its class and text. */
#ifndef BCH_UTIL_ERRCODE_H
#define BCH_UTIL_ERRCODE_H

#include <errno.h>

/*
 * x(name, class, text): class is the errno a caller may map the code to
 * (EIO for damage found on disk, EINVAL for bad arguments, ...).
 */
#define BCH_ERRCODES()								\
	x(device_open,		ENOENT,	"cannot open device")			\
	x(device_read,		EIO,	"read error")				\
	x(device_short,		EIO,	"device is too small")			\
	x(device_write,		EIO,	"write error")				\
	x(no_superblock,	EINVAL,	"no bcachefs superblock found")		\
	x(sb_invalid,		EINVAL,	"superblock is invalid")		\
	x(sb_csum,		EIO,	"superblock checksum error")		\
	x(sb_version,		EINVAL,	"unsupported metadata version")		\
	x(sb_mismatch,		EINVAL,	"devices belong to different filesystems") \
	x(sb_missing_device,	ENODEV,	"a member device is missing")		\
	x(unsupported,		EOPNOTSUPP, "unsupported feature")		\
	x(encrypted,		EOPNOTSUPP, "filesystem is encrypted")		\
	x(btree_node_read,	EIO,	"btree node read error")		\
	x(btree_node_csum,	EIO,	"btree node checksum error")		\
	x(btree_node_invalid,	EIO,	"btree node is invalid")		\
	x(btree_node_read_again, EAGAIN, "btree node is to be read by the walker") \
	x(btree_root_missing,	EIO,	"btree root is missing")		\
	x(bkey_invalid,		EINVAL,	"invalid key")				\
	x(journal_read,		EIO,	"journal read error")			\
	x(journal_invalid,	EIO,	"journal entry is invalid")		\
	x(journal_missing,	EIO,	"journal entries missing")		\
	x(journal_empty,	EIO,	"no journal entries found")		\
	x(journal_full,		ENOSPC,	"journal is full")			\
	x(jset_full,		ENOSPC,	"journal entry is full")		\
	x(no_clean_section,	EIO,	"superblock has no clean section")	\
	x(bad_argument,		EINVAL,	"invalid argument")			\
	x(nomem,		ENOMEM,	"out of memory")			\
	x(decompress,		EIO,	"decompression error")			\
	x(data_csum,		EIO,	"data checksum error")		\
	x(no_space,		ENOSPC,	"no space left on the devices")	\
	x(update_invalid,	EINVAL,	"invalid btree update")			\
	x(not_found,		ENOENT,	"no such file or directory")		\
	x(exists,		EEXIST,	"file exists")				\
	x(not_dir,		ENOTDIR, "not a directory")			\
	x(is_dir,		EISDIR,	"is a directory")			\
	x(dir_not_empty,	ENOTEMPTY, "directory not empty")		\
	x(name_invalid,		EINVAL,	"invalid name")				\
	x(name_too_long,	ENAMETOOLONG, "name too long")			\
	x(too_many_links,	EMLINK,	"too many links")			\
	x(cross_subvol,		EXDEV,	"across subvolumes")			\
	x(inodes_full,		ENOSPC,	"no free inode numbers")		\
	x(str_hash_full,	ENOSPC,	"no free slot in the hash table")	\
	x(xattr_range,		ERANGE,	"xattr too big or buffer too small")	\
	x(no_xattr,		ENODATA, "no such attribute")			\
	x(xattr_unsupported,	EOPNOTSUPP, "unsupported xattr namespace")	\
	x(acl_invalid,		EINVAL,	"invalid POSIX ACL")			\
	x(fs_inconsistent,	EIO,	"filesystem is inconsistent")		\
	x(inode_not_found,	ENOENT,	"inode not found")			\
	x(data_read,		EIO,	"no readable copy of the data")		\
	x(source_read,		EIO,	"cannot read the source")

#define BCH_ERR_START 2048

enum bch_errcode {
	BCH_ERR_BASE = BCH_ERR_START,
#define x(name, class, text) BCH_ERR_##name,
	BCH_ERRCODES()
#undef x
	BCH_ERR_MAX
};

/* A message for any return code: ours, or a plain negative errno. */
const char *bch_err_str(int ret);
/* The errno class of a code (itself for a plain errno). */
int bch_err_class(int ret);

#endif
