/* Read-side recovery: read the journal, take the btree roots, prepare journal keys as the kernel sees them before replay. */
#include <stdlib.h>
#include <string.h>

#include "recovery.h"
#include "btree/iter.h"
#include "btree/overlay.h"
#include "keys/alloc.h"
#include "journal/journal.h"
#include "util/errcode.h"

/* Position, version and counters of one accounting key in the btree. */
struct acc_version {
	struct bpos pos;
	struct bversion version;
	unsigned nr;
	u64 d[BCH_ACCOUNTING_MAX_COUNTERS];
};

static int acc_versions_read(struct bch_fs *c, struct acc_version **out, size_t *nr,
			     struct printbuf *err)
{
	struct btree_iter it;
	struct bkey_s_c k;
	size_t size = 0;
	int ret;

	*out = NULL;
	*nr = 0;
	bch_btree_iter_init(&it, c, BTREE_ID_accounting, POS_MIN, 0);
	it.no_journal = true;
	while ((ret = bch_btree_iter_peek(&it, &k)) > 0) {
		if (*nr == size) {
			size = size ? size * 2 : 256;
			struct acc_version *n = realloc(*out, size * sizeof(**out));
			if (!n) {
				ret = -BCH_ERR_nomem;
				break;
			}
			*out = n;
		}
		struct acc_version *a = &(*out)[(*nr)++];

		*a = (struct acc_version) { k.k->p, k.k->bversion };
		a->nr = bkey_val_u64s(k.k);
		if (a->nr > BCH_ACCOUNTING_MAX_COUNTERS)
			a->nr = BCH_ACCOUNTING_MAX_COUNTERS;
		memcpy(a->d, k.v, a->nr * sizeof(u64));
		bch_btree_iter_advance(&it);
	}
	if (ret < 0)
		pb_printf(err, "reading accounting: %s", pb_cstr(&it.err));
	bch_btree_iter_exit(&it);
	return ret < 0 ? ret : 0;
}

static const struct acc_version *acc_find(const struct acc_version *v, size_t nr,
					  struct bpos pos)
{
	size_t l = 0, r = nr;

	while (l < r) {
		size_t m = l + (r - l) / 2;
		int cmp = bpos_cmp(v[m].pos, pos);

		if (!cmp)
			return &v[m];
		if (cmp < 0)
			l = m + 1;
		else
			r = m;
	}
	return NULL;
}

/* dst += src, counter by counter; dst is an owned copy. */
static void accounting_add(struct bkey_i *dst, const struct bkey_i *src)
{
	unsigned n = bkey_val_u64s(&dst->k);

	if (bkey_val_u64s(&src->k) < n)
		n = bkey_val_u64s(&src->k);
	for (unsigned i = 0; i < n; i++)
		dst->v[i] = cpu_to_le64(le64_to_cpu(dst->v[i]) + le64_to_cpu(src->v[i]));
}

static int own_key(struct journal_key *j)
{
	struct bkey_i *k;

	if (j->allocated)
		return 0;
	k = malloc(j->k->k.u64s * 8);
	if (!k)
		return -BCH_ERR_nomem;
	memcpy(k, j->k, j->k->k.u64s * 8);
	j->k = k;
	j->allocated = true;
	return 0;
}

/* Adds the btree's counters to an unapplied delta: the value after replay. */
static int accounting_add_btree(struct journal_key *j, const struct acc_version *a)
{
	int ret = own_key(j);

	if (ret)
		return ret;
	for (unsigned i = 0; i < a->nr && i < bkey_val_u64s(&j->k->k); i++)
		j->k->v[i] = cpu_to_le64(le64_to_cpu(j->k->v[i]) + a->d[i]);
	return 0;
}

/*
 * Accounting keys in the journal are deltas.  Those the btree already has
 * (btree version >= journal version) are dropped; runs of deltas for one
 * position are summed into the last of them, which keeps the seq of the
 * first; the btree's counters are added to what is left, so the overlay
 * shows the totals replay would write.  (The kernel's own pre-replay
 * iterator shows the bare deltas; after replay it has the totals.)
 */
static int accounting_fold(struct bch_fs *c, struct printbuf *err)
{
	struct journal_keys *keys = &c->journal.keys;
	struct acc_version *v;
	size_t nr_v, dst = 0;
	int ret = acc_versions_read(c, &v, &nr_v, err);

	if (ret)
		return ret;
	for (size_t i = 0; i < keys->nr; i++) {
		struct journal_key *j = &keys->data[i];

		if (j->k->k.type == KEY_TYPE_accounting) {
			const struct acc_version *a = acc_find(v, nr_v, j->k->k.p);

			if (a && bversion_cmp(a->version, j->k->k.bversion) >= 0) {
				if (j->allocated)
					free(j->k);
				continue;
			}
			if (i + 1 < keys->nr &&
			    keys->data[i + 1].k->k.type == KEY_TYPE_accounting &&
			    keys->data[i + 1].btree_id == j->btree_id &&
			    keys->data[i + 1].level == j->level &&
			    bpos_eq(keys->data[i + 1].k->k.p, j->k->k.p)) {
				struct journal_key *next = &keys->data[i + 1];

				ret = own_key(next);
				if (ret)
					break;
				next->journal_seq = j->journal_seq;
				accounting_add(next->k, j->k);
				if (j->allocated)
					free(j->k);
				continue;
			}
			if (a) {
				ret = accounting_add_btree(j, a);
				if (ret)
					break;
			}
		}
		keys->data[dst++] = *j;
	}
	keys->nr = dst;
	free(v);
	return ret;
}

/* Node pointers in the journal carry a memory address field: zero it. */
static void zero_mem_ptrs(struct bch_fs *c)
{
	struct journal_keys *keys = &c->journal.keys;

	for (size_t i = 0; i < keys->nr; i++) {
		struct journal_key *j = &keys->data[i];

		if (j->k->k.type == KEY_TYPE_btree_ptr_v2 &&
		    bkey_val_bytes(&j->k->k) >= sizeof(struct bch_btree_ptr_v2) &&
		    ((struct bch_btree_ptr_v2 *)j->k->v)->mem_ptr &&
		    !own_key(j))
			((struct bch_btree_ptr_v2 *)j->k->v)->mem_ptr = 0;
	}
}

static int bucket_gens_alloc(struct bch_fs *c)
{
	for (unsigned i = 0; i < BCH_SB_MEMBERS_MAX; i++) {
		struct bch_dev *ca = c->devs[i];

		if (!ca)
			continue;
		ca->nr_bucket_gens = ca->mi.nbuckets;
		ca->bucket_gens = calloc(ca->nr_bucket_gens ? ca->nr_bucket_gens : 1, 1);
		if (!ca->bucket_gens)
			return -BCH_ERR_nomem;
	}
	return 0;
}

static void bucket_gen_set(struct bch_fs *c, unsigned dev, u64 b, u8 gen)
{
	struct bch_dev *ca = bch_dev_get(c, dev);

	if (ca && b >= ca->mi.first_bucket && b < ca->nr_bucket_gens)
		ca->bucket_gens[b] = gen;
}

/*
 * Every bucket's generation, as the kernel loads it at mount: from the
 * bucket_gens btree once the filesystem has it (an absent key means gen 0),
 * from the alloc keys before.  Pointers with an older gen are stale.
 */
static int bucket_gens_read(struct bch_fs *c, struct printbuf *err)
{
	bool from_gens = c->sb.version_upgrade_complete >= bcachefs_metadata_version_bucket_gens;
	struct btree_iter it;
	struct bkey_s_c k;
	int ret = bucket_gens_alloc(c);

	if (ret)
		return ret;
	bch_btree_iter_init(&it, c, from_gens ? BTREE_ID_bucket_gens : BTREE_ID_alloc, POS_MIN, 0);
	while ((ret = bch_btree_iter_peek(&it, &k)) > 0) {
		if (from_gens && k.k->type == KEY_TYPE_bucket_gens &&
		    bkey_val_bytes(k.k) >= sizeof(struct bch_bucket_gens)) {
			const struct bch_bucket_gens *g = k.v;
			u64 first = k.k->p.offset << BUCKET_GENS_BITS;

			for (unsigned i = 0; i < BUCKET_GENS_NR; i++)
				bucket_gen_set(c, k.k->p.inode, first + i, g->gens[i]);
		} else if (!from_gens) {
			struct bch_alloc_v4 a;

			bch_alloc_to_v4(k, &a);
			bucket_gen_set(c, k.k->p.inode, k.k->p.offset, a.gen);
		}
		bch_btree_iter_advance(&it);
	}
	if (ret < 0)
		pb_printf(err, "reading bucket gens: %s", pb_cstr(&it.err));
	bch_btree_iter_exit(&it);
	return ret < 0 ? ret : 0;
}

/* The replayed keys become the overlay the iterators merge (borrowed, not copied). */
static int overlay_build(struct bch_fs *c)
{
	struct journal_keys *keys = &c->journal.keys;

	if (!keys->nr)
		return 0;
	if (!c->overlay && !(c->overlay = bch_overlay_new()))
		return -BCH_ERR_nomem;
	for (size_t i = 0; i < keys->nr; i++) {
		struct journal_key *j = &keys->data[i];
		int ret;

		if (j->overwritten)
			continue;
		ret = bch_overlay_insert_ref(c->overlay, j->btree_id, j->level, j->k, j->journal_seq);
		if (ret)
			return ret;
	}
	return 0;
}

int bch_fs_recover(struct bch_fs *c, struct printbuf *err)
{
	bool read_journal = !c->opts.no_journal &&
		(!c->sb.clean || c->opts.read_journal);
	int ret;

	if (c->opts.new_fs)
		return bucket_gens_alloc(c);

	if (read_journal) {
		ret = bch_journal_read(c, err);
		if (ret)
			return ret;
		/* list_journal wants the entries as they are on disk */
		if (c->opts.read_journal)
			return 0;
		ret = bch_journal_keys_build(c);
		if (ret) {
			pb_str(err, "building journal keys: out of memory");
			return ret;
		}
		zero_mem_ptrs(c);
	}
	ret = bch_journal_read_roots(c, err);
	if (ret)
		return ret;
	if (read_journal)
		ret = accounting_fold(c, err) ?: overlay_build(c);
	if (!ret)
		ret = bucket_gens_read(c, err);
	return ret;
}
