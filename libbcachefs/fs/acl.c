/* POSIX ACLs: the Linux xattr form (system.posix_acl_*) converted to and from bcachefs' on-disk form. */
#include <string.h>

#include "fs/acl.h"
#include "util/errcode.h"

#define VFS_ACL_VERSION		2
#define DISK_ACL_VERSION	1
#define ENTRY_LONG		8
#define ENTRY_SHORT		4

static unsigned get16(const u8 *p)
{
	return p[0] | p[1] << 8;
}

static u32 get32(const u8 *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (u32)p[3] << 24;
}

static void put16(u8 *p, unsigned v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static void put32(u8 *p, u32 v)
{
	put16(p, v);
	put16(p + 2, v >> 16);
}

static bool tag_has_id(unsigned tag)
{
	return tag == BCH_ACL_TAG_USER || tag == BCH_ACL_TAG_GROUP;
}

static bool tag_known(unsigned tag)
{
	return tag && tag <= BCH_ACL_TAG_OTHER && !(tag & (tag - 1));
}

static int acl_bad(struct printbuf *err, const char *why)
{
	pb_printf(err, "invalid POSIX ACL: %s", why);
	return -BCH_ERR_acl_invalid;
}

/* The VFS's rules on the entries of a Linux-form acl. */
static int vfs_acl_check(const u8 *p, size_t len, struct printbuf *err)
{
	unsigned prev_tag = 0, nr_named = 0, have = 0;
	u32 prev_id = 0;

	if (len < 4 || get32(p) != VFS_ACL_VERSION)
		return acl_bad(err, "bad header");
	if ((len - 4) % ENTRY_LONG)
		return acl_bad(err, "size not a whole number of entries");
	for (const u8 *e = p + 4; e < p + len; e += ENTRY_LONG) {
		unsigned tag = get16(e), perm = get16(e + 2);
		u32 id = get32(e + 4);

		if (!tag_known(tag) || perm & ~7U)
			return acl_bad(err, "unknown tag or permission bits");
		if (tag < prev_tag || (tag == prev_tag && (!tag_has_id(tag) || id <= prev_id)))
			return acl_bad(err, "entries out of order or repeated");
		nr_named += tag_has_id(tag);
		have |= tag;
		prev_tag = tag;
		prev_id = id;
	}
	if ((have & (BCH_ACL_TAG_USER_OBJ | BCH_ACL_TAG_GROUP_OBJ | BCH_ACL_TAG_OTHER)) !=
	    (BCH_ACL_TAG_USER_OBJ | BCH_ACL_TAG_GROUP_OBJ | BCH_ACL_TAG_OTHER))
		return acl_bad(err, "user_obj, group_obj or other missing");
	if (nr_named && !(have & BCH_ACL_TAG_MASK))
		return acl_bad(err, "named entries without a mask");
	return 0;
}

int bch_acl_from_vfs(const void *vfs, size_t len, void *out, size_t out_size,
		     struct printbuf *err)
{
	const u8 *p = vfs;
	u8 *o = out;
	size_t n = 4;
	int ret = vfs_acl_check(p, len, err);

	if (ret)
		return ret;
	for (const u8 *e = p + 4; e < p + len; e += ENTRY_LONG)
		n += tag_has_id(get16(e)) ? ENTRY_LONG : ENTRY_SHORT;
	if (n > out_size) {
		pb_printf(err, "acl of %zu bytes does not fit %zu", n, out_size);
		return -BCH_ERR_xattr_range;
	}
	put32(o, DISK_ACL_VERSION);
	o += 4;
	for (const u8 *e = p + 4; e < p + len; e += ENTRY_LONG) {
		unsigned tag = get16(e);

		put16(o, tag);
		put16(o + 2, get16(e + 2));
		if (tag_has_id(tag))
			put32(o + 4, get32(e + 4));
		o += tag_has_id(tag) ? ENTRY_LONG : ENTRY_SHORT;
	}
	return n;
}

int bch_acl_to_vfs(const void *disk, size_t len, void *out, size_t out_size,
		   struct printbuf *err)
{
	const u8 *p = disk, *e;
	size_t n = 4;
	u8 *o = out;

	if (len < 4 || get32(p) != DISK_ACL_VERSION)
		return acl_bad(err, "bad on-disk header");
	for (e = p + 4; e + ENTRY_SHORT <= p + len; n += ENTRY_LONG) {
		unsigned tag = get16(e);

		if (!tag_known(tag))
			return acl_bad(err, "unknown on-disk tag");
		e += tag_has_id(tag) ? ENTRY_LONG : ENTRY_SHORT;
	}
	if (e != p + len)
		return acl_bad(err, "on-disk entries do not fill the value");
	if (!out)
		return n;
	if (n > out_size)
		return -BCH_ERR_xattr_range;
	put32(o, VFS_ACL_VERSION);
	o += 4;
	for (e = p + 4; e < p + len; o += ENTRY_LONG) {
		unsigned tag = get16(e);

		put16(o, tag);
		put16(o + 2, get16(e + 2));
		put32(o + 4, tag_has_id(tag) ? get32(e + 4) : 0xffffffffU);
		e += tag_has_id(tag) ? ENTRY_LONG : ENTRY_SHORT;
	}
	return n;
}

int bch_acl_equiv_mode(const void *vfs, size_t len, unsigned *mode)
{
	const u8 *p = vfs;
	unsigned bits = 0;
	int equiv = 1;

	for (const u8 *e = p + 4; e + ENTRY_LONG <= p + len; e += ENTRY_LONG) {
		unsigned perm = get16(e + 2) & 7;

		switch (get16(e)) {
		case BCH_ACL_TAG_USER_OBJ:
			bits |= perm << 6;
			break;
		case BCH_ACL_TAG_GROUP_OBJ:
			bits |= perm << 3;
			break;
		case BCH_ACL_TAG_OTHER:
			bits |= perm;
			break;
		case BCH_ACL_TAG_MASK:
			bits = (bits & ~070U) | perm << 3;
			equiv = 0;
			break;
		default:
			equiv = 0;
		}
	}
	*mode = (*mode & ~0777U) | bits;
	return equiv;
}
