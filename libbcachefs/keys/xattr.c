/* Xattr keys: checks and text form, including POSIX ACL values. */
#include <stddef.h>
#include <string.h>

#include "keys/key_ops.h"

/* Name prefixes by x_type; the ACL types have none (their names are fixed). */
static const struct {
	const char *prefix;
	bool acl;
} xattr_types[] = {
	[0] = { "user.", false },
	[1] = { NULL, true },	/* system.posix_acl_access */
	[2] = { NULL, true },	/* system.posix_acl_default */
	[3] = { "trusted.", false },
	[4] = { "security.", false },
};

#define NR_XATTR_TYPES	(sizeof(xattr_types) / sizeof(xattr_types[0]))

/* bcachefs' ACL encoding: a version header, then short or long entries. */
#define BCH_ACL_VERSION		1
#define ACL_ENTRY_SHORT_BYTES	4	/* le16 tag, le16 perm */
#define ACL_ENTRY_BYTES		8	/* ... and le32 uid/gid */

static const struct {
	u16 tag;
	const char *name;
	bool has_id;
	const char *id_name;
} acl_tags[] = {
	{ 0x01, "user_obj",	false, NULL },
	{ 0x02, "user",		true, "uid" },
	{ 0x04, "group_obj",	false, NULL },
	{ 0x08, "group",	true, "gid" },
	{ 0x10, "mask",		false, NULL },
	{ 0x20, "other",	false, NULL },
};

static unsigned val_u64s(unsigned name_len, unsigned val_len)
{
	return (offsetof(struct bch_xattr, x_name) + name_len + val_len + 7) / 8;
}

static int acl_tag_idx(unsigned tag)
{
	for (unsigned i = 0; i < sizeof(acl_tags) / sizeof(acl_tags[0]); i++)
		if (acl_tags[i].tag == tag)
			return i;
	return -1;
}

/* Entries are printed as "tag [uid N] perm" separated by spaces. */
static void acl_to_text(struct printbuf *out, const u8 *p, size_t size)
{
	const u8 *end = p + size;

	if (size < 4 || (p[0] | p[1] << 8 | p[2] << 16 | (u32)p[3] << 24) != BCH_ACL_VERSION)
		return;

	for (p += 4; p + ACL_ENTRY_SHORT_BYTES <= end;) {
		unsigned tag = p[0] | p[1] << 8, perm = p[2] | p[3] << 8;
		int i = acl_tag_idx(tag);

		/* an unknown tag has no known size: nothing after it can be read */
		if (i < 0) {
			pb_printf(out, "(unknown tag %u)", tag);
			return;
		}
		pb_str(out, acl_tags[i].name);
		if (acl_tags[i].has_id) {
			if (p + ACL_ENTRY_BYTES > end)
				return;
			pb_printf(out, " %s %u", acl_tags[i].id_name,
				  p[4] | p[5] << 8 | p[6] << 16 | (u32)p[7] << 24);
			p += ACL_ENTRY_BYTES;
		} else {
			p += ACL_ENTRY_SHORT_BYTES;
		}
		pb_printf(out, " %o", perm);
		if (p != end)
			pb_char(out, ' ');
	}
}

int bch_xattr_validate(struct bkey_check *chk, struct bkey_s_c k)
{
	const struct bch_xattr *x = k.v;
	unsigned name_len = x->x_name_len, len = le16_to_cpu(x->x_val_len);
	unsigned u64s = bkey_val_u64s(k.k);

	if (u64s < val_u64s(name_len, len))
		return bkey_invalid(chk, BCH_FSERR_xattr_val_size_too_small,
				    "value too small (%u < %u)", u64s, val_u64s(name_len, len));
	/* the kernel allows 4 bytes of slack */
	if (u64s > val_u64s(name_len, len + 4))
		return bkey_invalid(chk, BCH_FSERR_xattr_val_size_too_big,
				    "value too big (%u > %u)", u64s, val_u64s(name_len, len + 4));
	if (x->x_type >= NR_XATTR_TYPES)
		return bkey_invalid(chk, BCH_FSERR_xattr_invalid_type,
				    "invalid type (%u)", x->x_type);
	if (memchr(x->x_name, '\0', name_len))
		return bkey_invalid(chk, BCH_FSERR_xattr_name_invalid_chars,
				    "xattr name has invalid characters");
	return 0;
}

void bch_xattr_to_text(struct printbuf *out, const struct bch_fs *c, struct bkey_s_c k)
{
	const struct bch_xattr *x = k.v;
	int room = (int)bkey_val_bytes(k.k) - (int)offsetof(struct bch_xattr, x_name);
	int name_len = x->x_name_len, len = le16_to_cpu(x->x_val_len);
	const char *val = (const char *)x->x_name + x->x_name_len;

	if (x->x_type < NR_XATTR_TYPES && xattr_types[x->x_type].prefix)
		pb_str(out, xattr_types[x->x_type].prefix);
	else if (x->x_type < NR_XATTR_TYPES)
		pb_printf(out, "(type %u)", x->x_type);
	else
		pb_printf(out, "(unknown type %u)", x->x_type);

	/* both clamped to the value; a name past the end leaves no value */
	if (len > room - name_len)
		len = room - name_len;
	if (len < 0)
		len = 0;
	if (name_len > room)
		name_len = room;
	pb_printf(out, "%.*s:%.*s", name_len, (const char *)x->x_name, len, val);

	if (x->x_type < NR_XATTR_TYPES && xattr_types[x->x_type].acl) {
		pb_char(out, ' ');
		acl_to_text(out, (const u8 *)val, len);
	}
}
