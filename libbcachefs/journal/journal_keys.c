/* The journal key overlay: replay-range keys sorted by position, the newest of each kept. */
#include <stdlib.h>

#include "bkey/bkey.h"
#include "journal/journal.h"
#include "journal/journal_read.h"
#include "journal/jset.h"
#include "util/errcode.h"

bool bch_journal_use_newest_only(const struct bch_fs *c)
{
	const struct bch_journal *jn = &c->journal;

	if (c->sb.clean || !jn->nr_entries)
		return false;
	for (size_t n = 0; n < jn->nr_entries; n++)
		if (!journal_replay_ignore(jn->entries[n]))
			return false;
	return true;
}

/*
 * The key run of a btree_keys entry; stops early at a key that does not
 * fit, which only an entry that was never validated can hold.
 */
#define entry_for_each_key(e, k)						\
	for (struct bkey_i *k = (struct bkey_i *)(e)->_data;			\
	     k < jset_entry_keys_end(e) && k->k.u64s >= BKEY_U64s &&		\
	     bkey_i_next(k) <= jset_entry_keys_end(e);				\
	     k = bkey_i_next(k))

static size_t count_keys(const struct journal_replay *i)
{
	void *end = jset_entries_end(i->j);
	size_t nr = 0;

	for (struct jset_entry *e = i->j->start; jset_entry_fits(e, end); e = jset_entry_next(e))
		if (e->type == BCH_JSET_ENTRY_btree_keys)
			entry_for_each_key(e, k)
				nr++;
	return nr;
}

static void collect_keys(struct journal_keys *keys, const struct journal_replay *i)
{
	void *end = jset_entries_end(i->j);

	for (struct jset_entry *e = i->j->start; jset_entry_fits(e, end); e = jset_entry_next(e)) {
		if (e->type != BCH_JSET_ENTRY_btree_keys)
			continue;
		entry_for_each_key(e, k)
			keys->data[keys->nr++] = (struct journal_key) {
				.journal_seq	= le64_to_cpu(i->j->seq),
				.journal_offset	= (u64 *)k - (u64 *)i->j->start,
				.btree_id	= e->btree_id,
				.level		= e->level,
				.k		= k,
			};
	}
}

static int pos_cmp(const struct journal_key *l, const struct journal_key *r)
{
	if (l->btree_id != r->btree_id)
		return l->btree_id < r->btree_id ? -1 : 1;
	if (l->level != r->level)
		return l->level < r->level ? -1 : 1;
	return bpos_cmp(l->k->k.p, r->k->k.p);
}

/* Position order; at one position, journal order (oldest first). */
static int journal_key_sort_cmp(const void *_l, const void *_r)
{
	const struct journal_key *l = _l, *r = _r;
	int c = pos_cmp(l, r);

	if (c)
		return c;
	if (l->journal_seq != r->journal_seq)
		return l->journal_seq < r->journal_seq ? -1 : 1;
	if (l->journal_offset != r->journal_offset)
		return l->journal_offset < r->journal_offset ? -1 : 1;
	return 0;
}

/*
 * Keeps the newest key of each position.  Accounting keys are deltas, each
 * compared against the btree's version during replay, so all are kept.
 */
static void keys_dedup(struct journal_keys *keys)
{
	size_t dst = 0;

	for (size_t src = 0; src < keys->nr; src++) {
		if (keys->data[src].k->k.type != KEY_TYPE_accounting &&
		    src + 1 < keys->nr &&
		    !pos_cmp(&keys->data[src], &keys->data[src + 1]))
			continue;
		keys->data[dst++] = keys->data[src];
	}
	keys->nr = dst;
}

static bool entry_replayed(const struct journal_replay *i, bool newest_only, bool is_newest)
{
	return newest_only ? is_newest : !journal_replay_ignore(i);
}

void bch_journal_keys_sort(struct journal_keys *keys)
{
	qsort(keys->data, keys->nr, sizeof(keys->data[0]), journal_key_sort_cmp);
	keys_dedup(keys);
}

int bch_journal_keys_build(struct bch_fs *c)
{
	struct bch_journal *jn = &c->journal;
	struct journal_keys *keys = &jn->keys;
	bool newest_only = bch_journal_use_newest_only(c);
	size_t nr = 0;

	for (size_t n = 0; n < keys->nr; n++)
		if (keys->data[n].allocated)
			free(keys->data[n].k);
	free(keys->data);
	*keys = (struct journal_keys) { 0 };

	for (size_t n = 0; n < jn->nr_entries; n++)
		if (entry_replayed(jn->entries[n], newest_only, n + 1 == jn->nr_entries))
			nr += count_keys(jn->entries[n]);
	if (!nr)
		return 0;

	keys->data = malloc(nr * sizeof(keys->data[0]));
	if (!keys->data)
		return -BCH_ERR_nomem;
	keys->size = nr;

	for (size_t n = 0; n < jn->nr_entries; n++)
		if (entry_replayed(jn->entries[n], newest_only, n + 1 == jn->nr_entries))
			collect_keys(keys, jn->entries[n]);

	bch_journal_keys_sort(keys);
	return 0;
}

size_t bch_journal_keys_search(const struct journal_keys *keys, enum btree_id btree,
			       unsigned level, struct bpos pos)
{
	size_t l = 0, r = keys->nr;

	while (l < r) {
		size_t m = l + (r - l) / 2;
		const struct journal_key *k = &keys->data[m];
		int c = k->btree_id != btree ? (k->btree_id < btree ? -1 : 1)
			: k->level != level ? (k->level < level ? -1 : 1)
			: bpos_cmp(k->k->k.p, pos);

		if (c < 0)
			l = m + 1;
		else
			r = m;
	}
	return l;
}
