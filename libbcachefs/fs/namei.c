/* Names to inode numbers: one component in a directory, or a whole path from the root. */
#include <string.h>

#include "fs/namei.h"
#include "fs/dirent_ops.h"
#include "fs/inode_alloc.h"
#include "fs/fs_ops.h"
#include "util/errcode.h"

static int component(struct bch_ns *ns, u64 dir, const char *name, size_t len, u64 *inum,
		     u8 *d_type, struct printbuf *err)
{
	struct bch_inode_unpacked dir_u;
	struct bch_dirent_target t;
	int ret = bch_ns_inode_get(ns, dir, &dir_u, err);

	if (ret)
		return ret;
	if (bch_mode_to_dtype(dir_u.bi_mode) != 4) {
		pb_printf(err, "inode %llu is not a directory", (unsigned long long)dir);
		return -BCH_ERR_not_dir;
	}
	if (len == 1 && name[0] == '.') {
		*inum = dir;
		*d_type = 4;
		return 0;
	}
	if (len == 2 && !memcmp(name, "..", 2)) {
		*d_type = 4;
		if (dir_u.bi_subvol && dir_u.bi_parent_subvol) {
			/* the root of a subvolume: up into the subvolume it is in */
			u64 root;

			*inum = dir_u.bi_dir;
			return bch_ns_subvol_enter(ns, dir_u.bi_parent_subvol, &root, err);
		}
		*inum = dir == BCACHEFS_ROOT_INO ? dir : dir_u.bi_dir;
		return 0;
	}
	if (len > BCH_NAME_MAX) {
		pb_printf(err, "name of %zu bytes", len);
		return -BCH_ERR_name_too_long;
	}
	ret = bch_ns_dirent_lookup(ns, &dir_u, name, len, &t, err);
	if (ret < 0)
		return ret;
	if (!ret) {
		pb_printf(err, "\"%.*s\" not found in directory %llu", (int)len, name,
			  (unsigned long long)dir);
		return -BCH_ERR_not_found;
	}
	if (t.d_type == DT_SUBVOL) {
		/* d_inum holds the child subvolume, then the one the entry is seen from */
		if ((u32)(t.inum >> 32) != ns->subvol) {
			pb_printf(err, "\"%.*s\" not found in directory %llu", (int)len, name,
				  (unsigned long long)dir);
			return -BCH_ERR_not_found;
		}
		*d_type = 4;
		return bch_ns_subvol_enter(ns, (u32)t.inum, inum, err);
	}
	*inum = t.inum;
	*d_type = t.d_type;
	return 0;
}

int bch_ns_lookup(struct bch_ns *ns, u64 dir, const char *name, u64 *inum, u8 *d_type,
		  struct printbuf *err)
{
	u8 type;
	int ret = component(ns, dir, name, strlen(name), inum, &type, err);

	if (!ret && d_type)
		*d_type = type;
	return ret;
}

int bch_ns_path_lookup(struct bch_ns *ns, const char *path, u64 *inum, struct printbuf *err)
{
	u64 cur = BCACHEFS_ROOT_INO;
	u8 type = 4;

	while (*path) {
		size_t len = strcspn(path, "/");
		int ret;

		if (!len) {
			path++;
			continue;
		}
		if (type != 4) {
			pb_printf(err, "\"%.*s\": a path component is not a directory", (int)len, path);
			return -BCH_ERR_not_dir;
		}
		ret = component(ns, cur, path, len, &cur, &type, err);
		if (ret)
			return ret;
		path += len;
	}
	*inum = cur;
	return 0;
}
