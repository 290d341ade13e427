/* The key-type table, the checks every key gets whatever its type, and a key's text form. */
#include <stdarg.h>
#include <string.h>

#include "keys/key_ops.h"
#include "util/errcode.h"
#include "util/names.h"

const struct bch_key_ops bch_key_ops[KEY_TYPE_MAX] = {
	[KEY_TYPE_error]		= { bch_empty_val_validate, NULL },
	[KEY_TYPE_cookie]		= { NULL, bch_cookie_to_text },
	[KEY_TYPE_hash_whiteout]	= { bch_empty_val_validate, NULL },
	[KEY_TYPE_btree_ptr]		= { bch_btree_ptr_validate, bch_btree_ptr_to_text },
	[KEY_TYPE_extent]		= { bch_extent_validate, bch_extent_to_text },
	[KEY_TYPE_reservation]		= { bch_reservation_validate, bch_reservation_to_text },
	[KEY_TYPE_inode]		= { bch_inode_validate, bch_inode_to_text },
	[KEY_TYPE_inode_generation]	= { bch_inode_generation_validate,
					    bch_inode_generation_to_text },
	[KEY_TYPE_dirent]		= { bch_dirent_validate, bch_dirent_to_text },
	[KEY_TYPE_xattr]		= { bch_xattr_validate, bch_xattr_to_text },
	[KEY_TYPE_alloc]		= { bch_alloc_validate, bch_alloc_to_text },
	[KEY_TYPE_quota]		= { bch_quota_validate, bch_quota_to_text },
	[KEY_TYPE_stripe]		= { bch_stripe_validate, bch_stripe_to_text },
	[KEY_TYPE_reflink_p]		= { bch_reflink_p_validate, bch_reflink_p_to_text },
	[KEY_TYPE_reflink_v]		= { bch_reflink_v_validate, bch_reflink_v_to_text },
	[KEY_TYPE_inline_data]		= { NULL, bch_inline_data_to_text },
	[KEY_TYPE_btree_ptr_v2]		= { bch_btree_ptr_v2_validate, bch_btree_ptr_v2_to_text },
	[KEY_TYPE_indirect_inline_data]	= { NULL, bch_indirect_inline_data_to_text },
	[KEY_TYPE_alloc_v2]		= { bch_alloc_validate, bch_alloc_to_text },
	[KEY_TYPE_subvolume]		= { bch_subvolume_validate, bch_subvolume_to_text },
	[KEY_TYPE_snapshot]		= { bch_snapshot_validate, bch_snapshot_to_text },
	[KEY_TYPE_inode_v2]		= { bch_inode_validate, bch_inode_to_text },
	[KEY_TYPE_alloc_v3]		= { bch_alloc_validate, bch_alloc_to_text },
	[KEY_TYPE_set]			= { bch_empty_val_validate, NULL },
	[KEY_TYPE_lru]			= { bch_lru_validate, bch_lru_to_text },
	[KEY_TYPE_alloc_v4]		= { bch_alloc_validate, bch_alloc_to_text },
	[KEY_TYPE_backpointer]		= { bch_backpointer_validate, bch_backpointer_to_text },
	[KEY_TYPE_inode_v3]		= { bch_inode_validate, bch_inode_to_text },
	[KEY_TYPE_bucket_gens]		= { bch_bucket_gens_validate, bch_bucket_gens_to_text },
	[KEY_TYPE_snapshot_tree]	= { bch_snapshot_tree_validate, bch_snapshot_tree_to_text },
	[KEY_TYPE_logged_op_truncate]	= { NULL, bch_logged_op_truncate_to_text },
	[KEY_TYPE_logged_op_finsert]	= { NULL, bch_logged_op_finsert_to_text },
	[KEY_TYPE_accounting]		= { bch_accounting_validate, bch_accounting_to_text },
};

/* Minimum value size of each key type, in bytes. */
static const u8 min_val_bytes[KEY_TYPE_MAX] = {
#define x(name, nr, min) [nr] = min,
	BCH_BKEY_TYPES()
#undef x
};

#define MIN_VAL_U64s_MAX	6	/* the largest minimum above */
#define x(name, nr, min) \
	BCH_STATIC_ASSERT(min <= 8 * MIN_VAL_U64s_MAX, #name " minimum fits the pad buffer");
BCH_BKEY_TYPES()
#undef x

/* Per btree: its flags and the key types its leaves may hold. */
static const struct {
	u32 flags;
	u64 leaf_types;
} btree_rules[BTREE_ID_NR] = {
#define x(name, nr, fl, types) [nr] = { fl, KT(deleted) | (types) },
	BCH_BTREE_IDS()
#undef x
};

unsigned bch_btree_flags(enum btree_id id)
{
	return (unsigned)id < BTREE_ID_NR ? btree_rules[id].flags : 0;
}

/* Interior nodes hold only node pointers. */
#define INTERIOR_TYPES	(KT(deleted) | KT(btree_ptr) | KT(btree_ptr_v2))

int bkey_invalid(struct bkey_check *chk, enum bch_sb_error_id id, const char *fmt, ...)
{
	va_list args;

	chk->id = id;
	if (chk->err) {
		va_start(args, fmt);
		pb_vprintf(chk->err, fmt, args);
		va_end(args);
	}
	return -BCH_ERR_bkey_invalid;
}

const struct bch_member_cpu *bch_key_member(const struct bch_fs *c, u64 dev)
{
	if (!c || dev >= c->sb.nr_devices || dev >= BCH_SB_MEMBERS_MAX ||
	    !c->sb.members[dev].exists)
		return NULL;
	return &c->sb.members[dev];
}

void bch_prt_name(struct printbuf *out, const char * const names[], unsigned nr,
		  const char *what, unsigned v)
{
	if (v < nr && names[v])
		pb_str(out, names[v]);
	else
		pb_printf(out, "(unknown %s %u)", what, v);
}

int bch_empty_val_validate(struct bkey_check *chk, struct bkey_s_c k)
{
	if (bkey_val_bytes(k.k))
		return bkey_invalid(chk, BCH_FSERR_bkey_val_size_nonzero,
				    "incorrect value size (%u != 0)", bkey_val_bytes(k.k));
	return 0;
}

void bch_cookie_to_text(struct printbuf *out, const struct bch_fs *c, struct bkey_s_c k)
{
	struct bch_cookie v;

	bkey_val_copy(&v, sizeof(v), k);
	pb_printf(out, "%llu", (unsigned long long)le64_to_cpu(v.cookie));
}

static bool type_is_whiteout(unsigned type)
{
	return type == KEY_TYPE_deleted || type == KEY_TYPE_whiteout;
}

static int check_type_allowed(struct bkey_check *chk, struct bkey_s_c k)
{
	const struct bkey_where *w = chk->where;
	u64 allowed;

	if (k.k->type >= KEY_TYPE_MAX || (!w->level && !w->commit))
		return 0;

	allowed = w->level ? INTERIOR_TYPES : btree_rules[w->btree].leaf_types;
	if (allowed & (1ULL << k.k->type))
		return 0;
	return bkey_invalid(chk, BCH_FSERR_bkey_invalid_type_for_btree,
			    "invalid key type for btree %s (%s)",
			    w->level ? "internal btree node" : bch_btree_id_names[w->btree],
			    bch_bkey_type_names[k.k->type]);
}

static int check_size(struct bkey_check *chk, struct bkey_s_c k)
{
	const struct bkey_where *w = chk->where;
	bool extents = !w->level && (btree_rules[w->btree].flags & BTREE_FL_EXTENTS);

	if (!extents || type_is_whiteout(k.k->type)) {
		if (k.k->size)
			return bkey_invalid(chk, BCH_FSERR_bkey_size_nonzero, "size != 0");
		return 0;
	}
	if (!k.k->size)
		return bkey_invalid(chk, BCH_FSERR_bkey_extent_size_zero, "size == 0");
	if (k.k->size > k.k->p.offset)
		return bkey_invalid(chk, BCH_FSERR_bkey_extent_size_greater_than_offset,
				    "size greater than offset (%u > %llu)",
				    k.k->size, (unsigned long long)k.k->p.offset);
	return 0;
}

/* Leaf keys only: interior node keys are node end positions. */
static int check_position(struct bkey_check *chk, struct bkey_s_c k)
{
	u32 flags = btree_rules[chk->where->btree].flags;

	if (chk->where->level)
		return 0;
	if (flags & BTREE_FL_SNAPSHOTS) {
		if (!k.k->p.snapshot)
			return bkey_invalid(chk, BCH_FSERR_bkey_snapshot_zero, "snapshot == 0");
	} else if (!(flags & BTREE_FL_SNAPSHOT_FIELD) && k.k->p.snapshot) {
		return bkey_invalid(chk, BCH_FSERR_bkey_snapshot_nonzero, "nonzero snapshot");
	}
	/* the last inode and offset, whatever the snapshot */
	if (k.k->p.inode == ~0ULL && k.k->p.offset == ~0ULL)
		return bkey_invalid(chk, BCH_FSERR_bkey_at_pos_max, "key at POS_MAX");
	return 0;
}

static int check_generic(struct bkey_check *chk, struct bkey_s_c k)
{
	int ret;

	if (k.k->u64s < BKEY_U64s)
		return bkey_invalid(chk, BCH_FSERR_bkey_u64s_too_small,
				    "u64s too small (%u < %zu)", k.k->u64s, BKEY_U64s);
	/* an unknown btree: only the value can be checked */
	if (chk->where->btree >= BTREE_ID_NR)
		return 0;

	ret = check_type_allowed(chk, k);
	if (!ret)
		ret = check_size(chk, k);
	if (!ret)
		ret = check_position(chk, k);
	return ret;
}

static int check_val(struct bkey_check *chk, struct bkey_s_c k)
{
	unsigned type = k.k->type;

	/* unknown types are kept for newer versions: nothing to check */
	if (type >= KEY_TYPE_MAX)
		return 0;
	if (bkey_val_bytes(k.k) < min_val_bytes[type])
		return bkey_invalid(chk, BCH_FSERR_bkey_val_size_too_small,
				    "bad val size (%u < %u)",
				    bkey_val_bytes(k.k), min_val_bytes[type]);
	return bch_key_ops[type].validate ? bch_key_ops[type].validate(chk, k) : 0;
}

int bch_bkey_validate_id(const struct bch_fs *c, struct bkey_s_c k,
			 const struct bkey_where *where, struct printbuf *err,
			 enum bch_sb_error_id *id)
{
	struct bkey_check chk = { .c = c, .where = where, .err = err };
	int ret = check_generic(&chk, k);

	if (!ret)
		ret = check_val(&chk, k);
	if (ret && id)
		*id = chk.id;
	return ret;
}

int bch_bkey_validate(const struct bch_fs *c, struct bkey_s_c k,
		      const struct bkey_where *where, struct printbuf *err)
{
	return bch_bkey_validate_id(c, k, where, err, NULL);
}

void bch_val_to_text(struct printbuf *out, const struct bch_fs *c, struct bkey_s_c k)
{
	u64 padded[MIN_VAL_U64s_MAX] = { 0 };
	unsigned type = k.k->type;

	/* a key too short for its header has no value to show */
	if (k.k->u64s < BKEY_U64s || type >= KEY_TYPE_MAX || !bch_key_ops[type].val_to_text)
		return;
	/* a value below its type's minimum is shown as if zero-padded to it */
	if (bkey_val_bytes(k.k) < min_val_bytes[type]) {
		memcpy(padded, k.v, bkey_val_bytes(k.k));
		k.v = padded;
	}
	bch_key_ops[type].val_to_text(out, c, k);
}

void bch_bkey_val_to_text(struct printbuf *out, const struct bch_fs *c, struct bkey_s_c k)
{
	bch_bkey_to_text(out, k.k);
	if (k.k->u64s > BKEY_U64s) {
		pb_str(out, ": ");
		bch_val_to_text(out, c, k);
	}
}
