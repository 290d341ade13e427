/* Extended attributes of the namespace: names mapped to x_type by prefix, set, get, list, remove; POSIX ACLs in bcachefs form. */
#include <string.h>

#include "fs/xattr_ops.h"
#include "btree/iter.h"
#include "checksum/str_hash.h"
#include "fs/acl.h"
#include "fs/inode_alloc.h"
#include "util/errcode.h"

#define X_USER		0
#define X_ACL_ACCESS	1
#define X_ACL_DEFAULT	2
#define X_TRUSTED	3
#define X_SECURITY	4

/* Full-name prefixes by x_type; the ACL types are whole names. */
static const struct {
	const char *prefix;
	bool whole;
} xattr_names[] = {
	[X_USER]	= { "user.", false },
	[X_ACL_ACCESS]	= { "system.posix_acl_access", true },
	[X_ACL_DEFAULT]	= { "system.posix_acl_default", true },
	[X_TRUSTED]	= { "trusted.", false },
	[X_SECURITY]	= { "security.", false },
};

#define NR_XATTR_TYPES	(sizeof(xattr_names) / sizeof(xattr_names[0]))

struct xattr_search {
	u8 type;
	const char *name;
	size_t len;
};

static const char *xattr_key_name(struct bkey_s_c k)
{
	return (const char *)((const struct bch_xattr *)k.v)->x_name;
}

static u64 xattr_hash_bkey(const struct bch_hash_info *info, struct bkey_s_c k)
{
	const struct bch_xattr *x = k.v;

	return bch_xattr_hash(info->type, info->seed, x->x_type, x->x_name, x->x_name_len);
}

static bool xattr_matches(struct bkey_s_c k, const void *search)
{
	const struct bch_xattr *x = k.v;
	const struct xattr_search *s = search;

	return x->x_type == s->type && x->x_name_len == s->len &&
	       !memcmp(x->x_name, s->name, s->len);
}

static bool xattr_same_entry(struct bkey_s_c a, struct bkey_s_c b)
{
	const struct bch_xattr *x = b.v;
	struct xattr_search s = { x->x_type, (const char *)x->x_name, x->x_name_len };

	return xattr_matches(a, &s);
}

const struct bch_hash_desc bch_xattr_hash_desc = {
	.btree		= BTREE_ID_xattrs,
	.key_type	= KEY_TYPE_xattr,
	.hash_bkey	= xattr_hash_bkey,
	.matches	= xattr_matches,
	.same_entry	= xattr_same_entry,
};

static bool is_acl(u8 type)
{
	return type == X_ACL_ACCESS || type == X_ACL_DEFAULT;
}

int bch_xattr_name_parse(const char *full, u8 *type, const char **name, struct printbuf *err)
{
	for (unsigned i = 0; i < NR_XATTR_TYPES; i++) {
		size_t n = strlen(xattr_names[i].prefix);

		if (strncmp(full, xattr_names[i].prefix, n))
			continue;
		if (xattr_names[i].whole ? full[n] != '\0' : full[n] == '\0')
			continue;
		*type = i;
		*name = full + n;
		if (strlen(*name) > BCH_XATTR_NAME_MAX) {
			pb_printf(err, "xattr name \"%.32s...\" too long", full);
			return -BCH_ERR_name_too_long;
		}
		return 0;
	}
	pb_printf(err, "xattr \"%s\": unsupported namespace", full);
	return full[0] ? -BCH_ERR_xattr_unsupported : -BCH_ERR_name_invalid;
}

static struct xattr_search search_of(u8 type, const char *name)
{
	return (struct xattr_search) { type, name, strlen(name) };
}

static u64 search_hash(const struct bch_hash_info *info, const struct xattr_search *s)
{
	return bch_xattr_hash(info->type, info->seed, s->type, s->name, s->len);
}

/* An xattr key in buf (BCH_HASH_KEY_U64s u64s), or NULL when it cannot be one key. */
static struct bkey_i *xattr_build(u64 *buf, const struct xattr_search *s, const void *val,
				  size_t size)
{
	struct bkey_i *k = (struct bkey_i *)buf;
	struct bch_xattr *x = (struct bch_xattr *)k->v;
	size_t val_u64s = (offsetof(struct bch_xattr, x_name) + s->len + size + 7) / 8;

	if (BKEY_U64s + val_u64s > 255)
		return NULL;
	memset(buf, 0, (BKEY_U64s + val_u64s) * 8);
	k->k.u64s = BKEY_U64s + val_u64s;
	k->k.format_whiteout = KEY_FORMAT_CURRENT;
	k->k.type = KEY_TYPE_xattr;
	x->x_type = s->type;
	x->x_name_len = s->len;
	x->x_val_len = cpu_to_le16(size);
	memcpy(x->x_name, s->name, s->len);
	memcpy(x->x_name + s->len, val, size);
	return k;
}

static int xattr_put(struct bch_ns *ns, const struct bch_inode_unpacked *u,
		     const struct xattr_search *s, const void *val, size_t size, unsigned flags,
		     struct printbuf *err)
{
	struct bch_hash_info info = bch_inode_hash_info(u);
	u64 buf[BCH_HASH_KEY_U64s], pos;
	struct bkey_i *k = xattr_build(buf, s, val, size);
	unsigned mode = (flags & BCH_XATTR_CREATE ? BCH_HASH_MUST_CREATE : 0) |
			(flags & BCH_XATTR_REPLACE ? BCH_HASH_MUST_REPLACE : 0);
	int ret;

	if (!k) {
		pb_printf(err, "xattr of %zu + %zu bytes does not fit a key", s->len, size);
		return -BCH_ERR_xattr_range;
	}
	ret = bch_hash_insert(ns, &bch_xattr_hash_desc, &info, u->bi_inum, search_hash(&info, s),
			      s, k, mode, &pos, err);
	return ret == -BCH_ERR_not_found ? -BCH_ERR_no_xattr : ret;
}

static int xattr_drop(struct bch_ns *ns, const struct bch_inode_unpacked *u,
		      const struct xattr_search *s, unsigned flags, struct printbuf *err)
{
	struct bch_hash_info info = bch_inode_hash_info(u);
	u64 buf[BCH_HASH_KEY_U64s], pos;
	int ret = bch_hash_lookup(ns, &bch_xattr_hash_desc, &info, u->bi_inum,
				  search_hash(&info, s), s, (struct bkey_i *)buf, &pos, err);

	if (ret < 0)
		return ret;
	if (!ret) {
		if (!(flags & BCH_XATTR_REPLACE))
			return 0;
		pb_printf(err, "inode %llu: no such xattr", (unsigned long long)u->bi_inum);
		return -BCH_ERR_no_xattr;
	}
	return bch_hash_delete_at(ns, &bch_xattr_hash_desc, &info, u->bi_inum, pos, err);
}

/* An acl value in Linux form → bcachefs form in out; the access acl may change the mode or go. */
static int acl_prepare(struct bch_inode_unpacked *u, u8 type, const void **value, size_t *size,
		       u8 *out, size_t out_size, struct printbuf *err)
{
	int n;

	if (!*value)
		return 0;
	if (type == X_ACL_DEFAULT && bch_mode_to_dtype(u->bi_mode) != 4) {
		pb_printf(err, "inode %llu: a default acl on a non-directory",
			  (unsigned long long)u->bi_inum);
		return -BCH_ERR_acl_invalid;
	}
	n = bch_acl_from_vfs(*value, *size, out, out_size, err);
	if (n < 0)
		return n;
	if (type == X_ACL_ACCESS) {
		unsigned mode = u->bi_mode;
		bool equiv = bch_acl_equiv_mode(*value, *size, &mode);

		u->bi_mode = mode;
		if (equiv) {
			/* the mode says it all: no acl is kept */
			*value = NULL;
			*size = 0;
			return 0;
		}
	}
	*value = out;
	*size = n;
	return 0;
}

int bch_ns_xattr_set_trans(struct bch_ns *ns, u64 inum, const char *full, const void *value,
			   size_t size, unsigned flags, struct printbuf *err)
{
	struct bch_inode_unpacked u;
	struct xattr_search s;
	u8 acl_buf[BCH_HASH_KEY_U64s * 8];
	const char *name;
	u8 type;
	int ret = bch_xattr_name_parse(full, &type, &name, err) ?:
		  bch_ns_inode_get(ns, inum, &u, err);

	if (ret)
		return ret;
	s = search_of(type, name);
	if (is_acl(type)) {
		/* acls are set or removed whatever the flags */
		flags = 0;
		ret = acl_prepare(&u, type, &value, &size, acl_buf, sizeof(acl_buf), err);
		if (ret)
			return ret;
	}
	u.bi_ctime = bch_ns_now(ns);
	ret = bch_ns_inode_write(ns, &u, err);
	if (ret)
		return ret;
	return value ? xattr_put(ns, &u, &s, value, size, flags, err)
		     : xattr_drop(ns, &u, &s, flags, err);
}

int bch_ns_xattr_get(struct bch_ns *ns, u64 inum, const char *full, void *buf, size_t size,
		     struct printbuf *err)
{
	struct bch_inode_unpacked u;
	struct bch_hash_info info;
	struct xattr_search s;
	u64 kbuf[BCH_HASH_KEY_U64s], pos;
	struct bkey_i *k = (struct bkey_i *)kbuf;
	const struct bch_xattr *x;
	const char *name;
	size_t len;
	u8 type;
	int ret = bch_xattr_name_parse(full, &type, &name, err) ?:
		  bch_ns_inode_get(ns, inum, &u, err);

	if (ret)
		return ret;
	info = bch_inode_hash_info(&u);
	s = search_of(type, name);
	ret = bch_hash_lookup(ns, &bch_xattr_hash_desc, &info, inum, search_hash(&info, &s), &s,
			      k, &pos, err);
	if (ret <= 0)
		return ret ?: -BCH_ERR_no_xattr;
	x = (const struct bch_xattr *)k->v;
	len = le16_to_cpu(x->x_val_len);
	if (is_acl(type))
		return bch_acl_to_vfs(x->x_name + x->x_name_len, len, size ? buf : NULL, size, err);
	if (size && len > size)
		return -BCH_ERR_xattr_range;
	if (size)
		memcpy(buf, x->x_name + x->x_name_len, len);
	return len;
}

struct list_buf {
	char *buf;
	size_t size, used;
};

static void list_emit(struct list_buf *l, const char *prefix, const char *name, size_t len)
{
	size_t plen = strlen(prefix), n = plen + len + 1;

	if (l->size && l->used + n <= l->size) {
		memcpy(l->buf + l->used, prefix, plen);
		memcpy(l->buf + l->used + plen, name, len);
		l->buf[l->used + n - 1] = '\0';
	}
	l->used += n;
}

long bch_ns_xattr_list(struct bch_ns *ns, u64 inum, char *buf, size_t size, struct printbuf *err)
{
	struct list_buf l = { buf, size, 0 };
	struct btree_iter it;
	struct bkey_s_c k;
	int ret;

	bch_btree_iter_init(&it, ns->c, BTREE_ID_xattrs, SPOS(inum, 0, 0), 0);
	while ((ret = bch_btree_iter_peek(&it, &k)) > 0 && k.k->p.inode == inum) {
		const struct bch_xattr *x = k.v;

		if (k.k->type == KEY_TYPE_xattr && k.k->p.snapshot == ns->snapshot &&
		    x->x_type < NR_XATTR_TYPES)
			list_emit(&l, xattr_names[x->x_type].prefix, xattr_key_name(k),
				  x->x_name_len);
		bch_btree_iter_advance(&it);
	}
	if (ret < 0)
		pb_printf(err, "inode %llu: xattrs: %s", (unsigned long long)inum, pb_cstr(&it.err));
	bch_btree_iter_exit(&it);
	if (ret < 0)
		return ret;
	return size && l.used > size ? -BCH_ERR_xattr_range : (long)l.used;
}
