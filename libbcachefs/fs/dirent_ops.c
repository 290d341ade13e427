/* Directory entries of the namespace: names checked, hashed, created, found, deleted, listed. */
#include <string.h>

#include "fs/dirent_ops.h"
#include "fs/inode_alloc.h"
#include "btree/iter.h"
#include "checksum/str_hash.h"
#include "keys/dirent.h"
#include "util/errcode.h"

struct dirent_search {
	const char *name;
	size_t len;
};

static u64 dirent_hash_bkey(const struct bch_hash_info *info, struct bkey_s_c k)
{
	return bch_dirent_hash(info->type, info->seed, bch_dirent_name(k),
			       bch_dirent_name_len_safe(k));
}

static bool dirent_matches(struct bkey_s_c k, const void *search)
{
	const struct dirent_search *s = search;

	return bch_dirent_name_len_safe(k) == s->len &&
	       !memcmp(bch_dirent_name(k), s->name, s->len);
}

static bool dirent_same_entry(struct bkey_s_c a, struct bkey_s_c b)
{
	struct dirent_search s = { bch_dirent_name(b), bch_dirent_name_len_safe(b) };

	return dirent_matches(a, &s);
}

const struct bch_hash_desc bch_dirent_hash_desc = {
	.btree		= BTREE_ID_dirents,
	.key_type	= KEY_TYPE_dirent,
	.hash_bkey	= dirent_hash_bkey,
	.matches	= dirent_matches,
	.same_entry	= dirent_same_entry,
};

int bch_dirent_name_check(const char *name, size_t len, struct printbuf *err)
{
	if (!len || (len == 1 && name[0] == '.') || (len == 2 && !memcmp(name, "..", 2)) ||
	    memchr(name, '/', len) || memchr(name, '\0', len)) {
		pb_printf(err, "invalid name \"%.*s\"", (int)(len > 64 ? 64 : len), name);
		return -BCH_ERR_name_invalid;
	}
	if (len > BCH_NAME_MAX) {
		pb_printf(err, "name of %zu bytes (at most %u)", len, BCH_NAME_MAX);
		return -BCH_ERR_name_too_long;
	}
	return 0;
}

u64 bch_dirent_name_hash(const struct bch_inode_unpacked *dir, const char *name, size_t len)
{
	return bch_dirent_hash(bch_inode_str_hash(dir), dir->bi_hash_seed, name, len);
}

/* A dirent key in buf (BCH_HASH_KEY_U64s u64s); the name is NUL padded to the u64. */
static struct bkey_i *dirent_build(u64 *buf, const char *name, size_t len, u8 d_type, u64 target)
{
	struct bkey_i *k = (struct bkey_i *)buf;
	struct bch_dirent *d = (struct bch_dirent *)k->v;
	unsigned val_u64s = bch_dirent_val_u64s(len);

	memset(buf, 0, (BKEY_U64s + val_u64s) * 8);
	k->k.u64s = BKEY_U64s + val_u64s;
	k->k.format_whiteout = KEY_FORMAT_CURRENT;
	k->k.type = KEY_TYPE_dirent;
	d->d_inum = cpu_to_le64(target);
	d->d_type = d_type;
	memcpy(d->d_name, name, len);
	return k;
}

int bch_ns_dirent_lookup(struct bch_ns *ns, const struct bch_inode_unpacked *dir,
			 const char *name, size_t len, struct bch_dirent_target *t,
			 struct printbuf *err)
{
	u64 buf[BCH_HASH_KEY_U64s];
	struct bkey_i *k = (struct bkey_i *)buf;
	struct dirent_search s = { name, len };
	struct bch_hash_info info = bch_inode_hash_info(dir);
	int ret = bch_hash_lookup(ns, &bch_dirent_hash_desc, &info, dir->bi_inum,
				  bch_dirent_name_hash(dir, name, len), &s, k, &t->offset, err);

	if (ret > 0) {
		t->inum = bch_dirent_inum(bkey_i_to_s_c(k));
		t->d_type = bch_dirent_type(bkey_i_to_s_c(k));
	}
	return ret;
}

int bch_ns_dirent_create(struct bch_ns *ns, const struct bch_inode_unpacked *dir,
			 const char *name, size_t len, u8 d_type, u64 target, u64 *offset,
			 struct printbuf *err)
{
	u64 buf[BCH_HASH_KEY_U64s];
	struct dirent_search s = { name, len };
	struct bch_hash_info info = bch_inode_hash_info(dir);
	int ret = bch_dirent_name_check(name, len, err);

	if (ret)
		return ret;
	ret = bch_hash_insert(ns, &bch_dirent_hash_desc, &info, dir->bi_inum,
			      bch_dirent_name_hash(dir, name, len), &s,
			      dirent_build(buf, name, len, d_type, target),
			      BCH_HASH_MUST_CREATE, offset, err);
	if (ret == -BCH_ERR_exists)
		pb_printf(err, " (\"%.*s\")", (int)len, name);
	return ret;
}

int bch_ns_dirent_put(struct bch_ns *ns, u64 dir, u64 offset, const char *name, size_t len,
		      u8 d_type, u64 target, struct printbuf *err)
{
	u64 buf[BCH_HASH_KEY_U64s];
	struct bkey_i *k = dirent_build(buf, name, len, d_type, target);

	k->k.p = SPOS(dir, offset, ns->snapshot);
	return bch_trans_update(&ns->t, BTREE_ID_dirents, 0, k, 0);
}

int bch_ns_dirent_delete(struct bch_ns *ns, const struct bch_inode_unpacked *dir, u64 offset,
			 struct printbuf *err)
{
	struct bch_hash_info info = bch_inode_hash_info(dir);

	return bch_hash_delete_at(ns, &bch_dirent_hash_desc, &info, dir->bi_inum, offset, err);
}

static int first_entry(void *ctx, const char *name, unsigned len,
		       const struct bch_dirent_target *t)
{
	return 1;
}

int bch_ns_dir_empty(struct bch_ns *ns, u64 dir, struct printbuf *err)
{
	int ret = bch_ns_readdir(ns, dir, first_entry, NULL, err);

	return ret < 0 ? ret : !ret;
}

int bch_ns_readdir(struct bch_ns *ns, u64 dir, bch_dirent_fn fn, void *ctx, struct printbuf *err)
{
	struct btree_iter it;
	struct bkey_s_c k;
	int ret = 0, stop = 0;

	bch_btree_iter_init(&it, ns->c, BTREE_ID_dirents, SPOS(dir, 0, 0), 0);
	while (!stop && (ret = bch_btree_iter_peek(&it, &k)) > 0 && k.k->p.inode == dir) {
		if (k.k->type == KEY_TYPE_dirent && k.k->p.snapshot == ns->snapshot) {
			struct bch_dirent_target t = {
				bch_dirent_inum(k), bch_dirent_type(k), k.k->p.offset,
			};

			stop = fn(ctx, bch_dirent_name(k), bch_dirent_name_len_safe(k), &t);
		}
		bch_btree_iter_advance(&it);
	}
	if (!stop && ret < 0)
		pb_printf(err, "directory %llu: %s", (unsigned long long)dir, pb_cstr(&it.err));
	bch_btree_iter_exit(&it);
	return stop ?: (ret < 0 ? ret : 0);
}
