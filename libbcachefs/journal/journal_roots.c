/* Btree roots and blacklists from the replay range, or from the superblock's clean section. */
#include <stdlib.h>
#include <string.h>

#include "journal/journal.h"
#include "journal/journal_read.h"
#include "journal/jset.h"
#include "sb/sb.h"
#include "util/errcode.h"

static void root_from_entry(struct bch_fs *c, const struct jset_entry *e)
{
	struct btree_root *r;
	const struct bkey_i *k = (const void *)e->_data;

	if (e->btree_id >= BTREE_ID_NR_MAX) {
		pb_printf(&c->log, "btree root entry for invalid btree id %u; ignored\n",
			  e->btree_id);
		return;
	}
	r = bch_fs_root_change(c, e->btree_id);
	r->alive = true;
	r->error = true;	/* an empty root entry: the root is unreadable */
	if (!e->u64s)
		return;

	if (k->k.u64s < BKEY_U64s ||
	    (size_t)k->k.u64s * 8 > sizeof(r->_buf) ||
	    k->k.u64s > le16_to_cpu(e->u64s)) {
		pb_printf(&c->log, "btree root entry for btree %u holds a key of %u u64s; root unreadable\n",
			  e->btree_id, k->k.u64s);
		return;
	}
	r->level = e->level;
	memcpy(r->_buf, k, (size_t)k->k.u64s * 8);
	r->error = false;
}

/* Entries recovery applies before reading any btree: roots and blacklists. */
static int apply_early_entry(struct bch_fs *c, const struct jset_entry *e)
{
	const struct jset_entry_blacklist *bl = (const void *)e;
	const struct jset_entry_blacklist_v2 *bl2 = (const void *)e;

	switch (e->type) {
	case BCH_JSET_ENTRY_btree_root:
		root_from_entry(c, e);
		return 0;
	case BCH_JSET_ENTRY_blacklist:
		if (le16_to_cpu(e->u64s) < 1)
			return 0;
		return bch_journal_blacklist_add(&c->journal, le64_to_cpu(bl->seq),
						 le64_to_cpu(bl->seq) + 1);
	case BCH_JSET_ENTRY_blacklist_v2:
		if (le16_to_cpu(e->u64s) < 2)
			return 0;
		/* the entry's end is inclusive */
		return bch_journal_blacklist_add(&c->journal, le64_to_cpu(bl2->start),
						 le64_to_cpu(bl2->end) + 1);
	default:
		return 0;
	}
}

static int apply_jset(struct bch_fs *c, const struct jset *j)
{
	void *end = jset_entries_end(j);

	for (const struct jset_entry *e = j->start; jset_entry_fits(e, end); e = jset_entry_next(e)) {
		int ret = apply_early_entry(c, e);

		if (ret)
			return ret;
	}
	return 0;
}

/* The clean section, checked and repaired like a jset, then applied. */
static int roots_from_clean(struct bch_fs *c, struct printbuf *err)
{
	const struct bch_sb_field_clean *f = bch_sb_field_get_t(c->disk_sb.sb, clean);

	if (!f) {
		pb_str(err, "superblock marked clean but it has no clean section");
		return -BCH_ERR_no_clean_section;
	}

	size_t bytes = le32_to_cpu(f->field.u64s) * 8;
	struct bch_sb_field_clean *clean = malloc(bytes);
	struct jset_validate_ctx ctx;
	int ret = 0;

	if (!clean)
		return -BCH_ERR_nomem;
	memcpy(clean, f, bytes);

	void *end = (u8 *)clean + bytes;

	bch_jset_validate_ctx_init(&ctx, c, &c->log, NULL, NULL);
	ctx.types = &c->log_types;
	ctx.area = clean->start;
	ctx.area_u64s = (u64 *)end - clean->start;

	for (struct jset_entry *e = (void *)clean->start; (void *)e < end && !ret;
	     e = jset_entry_next(e)) {
		if (!jset_entry_fits(e, end)) {
			pb_printf(err, "superblock clean section: entry at word %zu runs past the end of the section",
				  (size_t)((u64 *)e - clean->start));
			ret = -BCH_ERR_sb_invalid;
			break;
		}
		ret = bch_jset_entry_validate(&ctx, e) ?: apply_early_entry(c, e);
	}
	free(clean);
	return ret;
}

/* A clean shutdown's last entry: last_seq == seq and no keys. */
static bool jset_empty(const struct jset *j)
{
	void *end = jset_entries_end(j);

	if (j->seq != j->last_seq)
		return false;
	for (const struct jset_entry *e = j->start; jset_entry_fits(e, end); e = jset_entry_next(e))
		if (e->type == BCH_JSET_ENTRY_btree_keys && e->u64s)
			return false;
	return true;
}

static const struct journal_replay *newest_replayed(const struct bch_fs *c)
{
	for (size_t n = c->journal.nr_entries; n--;)
		if (!journal_replay_ignore(c->journal.entries[n]))
			return c->journal.entries[n];
	return NULL;
}

/*
 * A clean superblock is trusted for the roots unless the journal was read
 * and holds updates past the clean shutdown.
 */
static bool use_clean_section(struct bch_fs *c)
{
	const struct journal_replay *last;

	if (!c->sb.clean)
		return false;
	if (!c->journal.read_done || !(last = newest_replayed(c)) || jset_empty(last->j))
		return true;
	pb_str(&c->log, "filesystem marked clean but the journal is not empty: replaying it\n");
	return false;
}

static int roots_from_journal(struct bch_fs *c)
{
	struct bch_journal *jn = &c->journal;
	bool newest_only = bch_journal_use_newest_only(c);

	if (newest_only) {
		size_t start = c->log.pos;

		pb_str(&c->log, "no journal entries to replay: using the newest entry found\n");
		bch_typed_log_add(&c->log_types, &c->log, start, BCH_FSERR_dirty_but_no_journal_entries);
		if (jn->nr_entries) {
			u64 seq = le64_to_cpu(jn->entries[jn->nr_entries - 1]->j->seq);

			if (bch_sb_journal_seq_blacklisted(c, seq))
				jn->unblacklist_seq = seq;
		}
	}

	for (size_t n = 0; n < jn->nr_entries; n++) {
		const struct journal_replay *i = jn->entries[n];
		bool used = newest_only ? n + 1 == jn->nr_entries : !journal_replay_ignore(i);

		if (used) {
			int ret = apply_jset(c, i->j);

			if (ret)
				return ret;
		}
	}

	/* max_seq + 1 is where the journal would restart */
	if (jn->max_seq && jn->blacklist_seq != jn->max_seq + 1 + JOURNAL_SEQS_SKIPPED_UNCLEAN)
		return bch_journal_blacklist_add(jn, jn->blacklist_seq,
						 jn->max_seq + 1 + JOURNAL_SEQS_SKIPPED_UNCLEAN);
	return 0;
}

int bch_journal_read_roots(struct bch_fs *c, struct printbuf *err)
{
	for (unsigned id = 0; id < BTREE_ID_NR_MAX; id++)
		memset(bch_fs_root_change(c, id), 0, sizeof(c->roots[id]));

	if (use_clean_section(c))
		return roots_from_clean(c, err);
	if (!c->journal.read_done) {
		pb_str(err, "filesystem is not clean and its journal was not read");
		return -BCH_ERR_journal_missing;
	}
	return roots_from_journal(c);
}
