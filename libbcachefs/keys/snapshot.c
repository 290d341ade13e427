/* Snapshot, snapshot tree and subvolume keys: checks and text form. */
#include <stddef.h>

#include "keys/key_ops.h"

/* Snapshot ids and snapshot tree ids are u32, never 0. */
static bool snapshot_pos_bad(struct bpos p)
{
	return bkey_pos_cmp(p, POS(0, UINT32_MAX)) > 0 || bkey_pos_cmp(p, POS(0, 1)) < 0;
}

int bch_snapshot_tree_validate(struct bkey_check *chk, struct bkey_s_c k)
{
	if (snapshot_pos_bad(k.k->p))
		return bkey_invalid(chk, BCH_FSERR_snapshot_tree_pos_bad, "bad pos");
	return 0;
}

void bch_snapshot_tree_to_text(struct printbuf *out, const struct bch_fs *c, struct bkey_s_c k)
{
	struct bch_snapshot_tree t;

	bkey_val_copy(&t, sizeof(t), k);
	pb_printf(out, "subvol %u root snapshot %u",
		  le32_to_cpu(t.master_subvol), le32_to_cpu(t.root_snapshot));
}

/* Children and skiplist entries are kept sorted; all of them are older ids. */
static int check_snapshot_links(struct bkey_check *chk, struct bkey_s_c k,
				const struct bch_snapshot *s)
{
	u32 parent = le32_to_cpu(s->parent);
	u32 child0 = le32_to_cpu(s->children[0]), child1 = le32_to_cpu(s->children[1]);

	if (parent && parent <= k.k->p.offset)
		return bkey_invalid(chk, BCH_FSERR_snapshot_parent_bad,
				    "bad parent node (%u <= %llu)", parent,
				    (unsigned long long)k.k->p.offset);
	if (child0 < child1)
		return bkey_invalid(chk, BCH_FSERR_snapshot_children_not_normalized,
				    "children not normalized");
	if (child0 && child0 == child1)
		return bkey_invalid(chk, BCH_FSERR_snapshot_child_duplicate,
				    "duplicate child nodes");
	for (unsigned i = 0; i < 2; i++) {
		u32 id = le32_to_cpu(s->children[i]);

		if (id >= k.k->p.offset)
			return bkey_invalid(chk, BCH_FSERR_snapshot_child_bad,
					    "bad child node (%u >= %llu)", id,
					    (unsigned long long)k.k->p.offset);
	}
	return 0;
}

/* The skiplist exists only in values long enough to hold it. */
static int check_snapshot_skiplist(struct bkey_check *chk, struct bkey_s_c k,
				   const struct bch_snapshot *s)
{
	u32 parent = le32_to_cpu(s->parent);

	if (bkey_val_bytes(k.k) <= offsetof(struct bch_snapshot, skip))
		return 0;
	if (le32_to_cpu(s->skip[0]) > le32_to_cpu(s->skip[1]) ||
	    le32_to_cpu(s->skip[1]) > le32_to_cpu(s->skip[2]))
		return bkey_invalid(chk, BCH_FSERR_snapshot_skiplist_not_normalized,
				    "skiplist not normalized");
	for (unsigned i = 0; i < 3; i++) {
		u32 id = le32_to_cpu(s->skip[i]);

		if (id && id < parent)
			return bkey_invalid(chk, BCH_FSERR_snapshot_skiplist_bad,
					    "bad skiplist node %u", id);
	}
	return 0;
}

int bch_snapshot_validate(struct bkey_check *chk, struct bkey_s_c k)
{
	struct bch_snapshot s;
	int ret;

	bkey_val_copy(&s, sizeof(s), k);
	if (snapshot_pos_bad(k.k->p))
		return bkey_invalid(chk, BCH_FSERR_snapshot_pos_bad, "bad pos");
	ret = check_snapshot_links(chk, k, &s);
	return ret ?: check_snapshot_skiplist(chk, k, &s);
}

void bch_snapshot_to_text(struct printbuf *out, const struct bch_fs *c, struct bkey_s_c k)
{
	struct bch_snapshot s;

	bkey_val_copy(&s, sizeof(s), k);
	pb_printf(out, "is_subvol %u deleted %u parent %10u children %10u %10u subvol %u tree %u",
		  (unsigned)snapshot_is_subvol(&s), (unsigned)snapshot_deleted(&s),
		  le32_to_cpu(s.parent), le32_to_cpu(s.children[0]),
		  le32_to_cpu(s.children[1]), le32_to_cpu(s.subvol), le32_to_cpu(s.tree));
	/* depth and skiplist came later */
	if (bkey_val_bytes(k.k) > offsetof(struct bch_snapshot, depth))
		pb_printf(out, " depth %u skiplist %u %u %u", le32_to_cpu(s.depth),
			  le32_to_cpu(s.skip[0]), le32_to_cpu(s.skip[1]),
			  le32_to_cpu(s.skip[2]));
}

/* Subvolume ids are positive s32s. */
int bch_subvolume_validate(struct bkey_check *chk, struct bkey_s_c k)
{
	struct bch_subvolume s;

	bkey_val_copy(&s, sizeof(s), k);
	if (bkey_pos_cmp(k.k->p, POS(0, 1)) < 0 || bkey_pos_cmp(k.k->p, POS(0, INT32_MAX)) > 0)
		return bkey_invalid(chk, BCH_FSERR_subvol_pos_bad, "invalid pos");
	if (!s.snapshot)
		return bkey_invalid(chk, BCH_FSERR_subvol_snapshot_bad, "invalid snapshot");
	if (!s.inode)
		return bkey_invalid(chk, BCH_FSERR_subvol_inode_bad, "invalid inode");
	return 0;
}

void bch_subvolume_to_text(struct printbuf *out, const struct bch_fs *c, struct bkey_s_c k)
{
	struct bch_subvolume s;

	bkey_val_copy(&s, sizeof(s), k);
	pb_printf(out, "root %llu snapshot id %u",
		  (unsigned long long)le64_to_cpu(s.inode), le32_to_cpu(s.snapshot));
	/* the parent fields came later */
	if (bkey_val_bytes(k.k) > offsetof(struct bch_subvolume, creation_parent))
		pb_printf(out, " creation_parent %u fs_parent %u",
			  le32_to_cpu(s.creation_parent), le32_to_cpu(s.fs_path_parent));
}
