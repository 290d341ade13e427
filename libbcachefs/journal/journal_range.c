/* Choosing what to replay from the entries read: last_seq, ignored entries, gaps, validation. */
#include <stdlib.h>

#include "journal/journal.h"
#include "journal/journal_read.h"
#include "journal/jset.h"
#include "sb/sb.h"
#include "sb/sb_edit.h"
#include "util/errcode.h"

bool bch_sb_journal_seq_blacklisted(const struct bch_fs *c, u64 seq)
{
	const struct bch_sb_field_journal_seq_blacklist *bl;

	if (!c->disk_sb.sb)
		return false;
	bl = bch_sb_field_get_t(c->disk_sb.sb, journal_seq_blacklist);
	if (!bl)
		return false;

	size_t nr = (le32_to_cpu(bl->field.u64s) * 8 - sizeof(*bl)) / sizeof(bl->start[0]);

	/* ranges are [start, end) */
	for (size_t n = 0; n < nr; n++)
		if (seq >= le64_to_cpu(bl->start[n].start) &&
		    seq < le64_to_cpu(bl->start[n].end))
			return true;
	return false;
}

bool bch_journal_seq_blacklisted(const struct bch_fs *c, u64 seq)
{
	const struct bch_journal *jn = &c->journal;

	for (size_t n = 0; n < jn->nr_blacklist; n++)
		if (seq >= jn->blacklist[n].start && seq < jn->blacklist[n].end)
			return true;
	return bch_sb_journal_seq_blacklisted(c, seq);
}

int bch_journal_blacklist_add(struct bch_journal *jn, u64 start, u64 end)
{
	struct journal_seq_blacklist_range *n =
		realloc(jn->blacklist, (jn->nr_blacklist + 1) * sizeof(*n));

	if (!n)
		return -BCH_ERR_nomem;
	jn->blacklist = n;
	jn->blacklist[jn->nr_blacklist++] = (struct journal_seq_blacklist_range) {
		.start = start, .end = end,
	};
	return 0;
}

static int range_cmp(const void *a, const void *b)
{
	const struct journal_seq_blacklist_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

int bch_sb_journal_blacklist_update(struct bch_sb_buf *sb, u64 start, u64 end, u64 keep,
				    struct printbuf *err)
{
	struct bch_sb_field_journal_seq_blacklist *bl = bch_sb_field_get_t(sb->sb, journal_seq_blacklist);
	size_t nr = bl ? (le32_to_cpu(bl->field.u64s) * 8 - sizeof(*bl)) / sizeof(bl->start[0]) : 0;
	/* each range may split in two around keep, and one is added */
	struct journal_seq_blacklist_range *r = calloc(2 * nr + 2, sizeof(*r));
	size_t n = 0, out = 0;
	int ret = 0;

	if (!r)
		return -BCH_ERR_nomem;
	for (size_t i = 0; i < nr; i++)
		r[n++] = (struct journal_seq_blacklist_range) {
			le64_to_cpu(bl->start[i].start), le64_to_cpu(bl->start[i].end) };
	if (start < end)
		r[n++] = (struct journal_seq_blacklist_range) { start, end };
	if (keep)
		for (size_t i = 0, m = n; i < m; i++)
			if (keep >= r[i].start && keep < r[i].end) {
				r[n++] = (struct journal_seq_blacklist_range) { keep + 1, r[i].end };
				r[i].end = keep;
			}
	qsort(r, n, sizeof(*r), range_cmp);
	for (size_t i = 0; i < n; i++) {
		if (r[i].start >= r[i].end)
			continue;
		if (out && r[i].start <= r[out - 1].end) {
			if (r[i].end > r[out - 1].end)
				r[out - 1].end = r[i].end;
		} else {
			r[out++] = r[i];
		}
	}
	if (!out) {
		bch_sb_field_delete(sb, BCH_SB_FIELD_journal_seq_blacklist);
	} else if (!(bl = bch_sb_field_resize_t(sb, journal_seq_blacklist,
						 sizeof(*bl) / 8 + out * sizeof(bl->start[0]) / 8, err))) {
		ret = -BCH_ERR_no_space;
	} else {
		for (size_t i = 0; i < out; i++) {
			bl->start[i].start = cpu_to_le64(r[i].start);
			bl->start[i].end = cpu_to_le64(r[i].end);
		}
		sb->sb->features[0] |= cpu_to_le64(1ULL << BCH_FEATURE_journal_seq_blacklist_v3);
	}
	free(r);
	return ret;
}

static u64 entry_seq(const struct journal_replay *i)
{
	return le64_to_cpu(i->j->seq);
}

/*
 * From the newest entry down: noflush entries were never promised to be
 * on disk, and the newest flush entry may be a torn write (one bad
 * checksum is forgiven); both are skipped and blacklisted.  The first
 * other flush entry ends the range, its last_seq starts it.
 */
static void find_newest_flush(struct bch_fs *c)
{
	struct bch_journal *jn = &c->journal;
	bool torn = false;

	for (size_t n = jn->nr_entries; n--;) {
		struct journal_replay *i = jn->entries[n];
		struct jset *j = i->j;

		if (journal_replay_ignore(i))
			continue;
		if (!jn->blacklist_seq) {
			jn->max_seq = entry_seq(i);
			jn->blacklist_seq = jn->max_seq + 1;
		}
		if (jset_no_flush(j)) {
			i->ignore_blacklisted = true;
			continue;
		}
		if (!torn && !i->csum_good) {
			torn = true;
			i->ignore_blacklisted = true;
			continue;
		}
		if (le64_to_cpu(j->last_seq) > entry_seq(i)) {
			size_t start = c->log.pos;

			pb_printf(&c->log, "journal seq %llu: last_seq %llu is newer than seq; using seq\n",
				  (unsigned long long)entry_seq(i),
				  (unsigned long long)le64_to_cpu(j->last_seq));
			bch_typed_log_add(&c->log_types, &c->log, start,
					  BCH_FSERR_jset_last_seq_newer_than_seq);
			j->last_seq = j->seq;
		}
		jn->last_seq = le64_to_cpu(j->last_seq);
		jn->blacklist_seq = entry_seq(i) + 1;
		return;
	}
}

/* Entries before last_seq are not replayed; nor are those the superblock blacklists. */
static void mark_outside_range(struct bch_fs *c)
{
	struct bch_journal *jn = &c->journal;

	for (size_t n = 0; n < jn->nr_entries; n++) {
		struct journal_replay *i = jn->entries[n];
		u64 seq = entry_seq(i);

		if (journal_replay_ignore(i))
			continue;
		if (seq < jn->last_seq) {
			i->ignore_not_dirty = true;
			continue;
		}
		if (bch_sb_journal_seq_blacklisted(c, seq)) {
			/* a flush entry should never have been blacklisted */
			if (!jset_no_flush(i->j)) {
				size_t start = c->log.pos;

				pb_printf(&c->log, "journal seq %llu is a flush entry but blacklisted; ignored\n",
					  (unsigned long long)seq);
				bch_typed_log_add(&c->log_types, &c->log, start,
						  BCH_FSERR_jset_seq_blacklisted);
			}
			i->ignore_blacklisted = true;
		}
	}
}

static void report_gap(struct bch_fs *c, u64 first, u64 last,
		       const struct journal_replay *prev, const struct journal_replay *next)
{
	struct printbuf *log = &c->log;
	size_t block_bytes = (size_t)(c->sb.block_size ? c->sb.block_size : 1) << 9;
	size_t start = log->pos;

	c->nr_errors++;
	pb_printf(log, "journal entries %llu-%llu missing (replaying %llu-%llu)\n  before the gap: ",
		  (unsigned long long)first, (unsigned long long)last,
		  (unsigned long long)c->journal.last_seq,
		  (unsigned long long)c->journal.blacklist_seq - 1);
	if (prev) {
		bch_journal_ptrs_to_text(log, prev);
		pb_printf(log, " size %zu", ((jset_bytes(prev->j) + block_bytes - 1) /
					    block_bytes * block_bytes) >> 9);
	} else {
		pb_str(log, "(none)");
	}
	pb_str(log, "\n  after the gap: ");
	bch_journal_ptrs_to_text(log, next);
	pb_newline(log);
	bch_typed_log_add(&c->log_types, log, start, BCH_FSERR_journal_entries_missing);
}

/* Seqs the superblock blacklists were never written: they are not gaps. */
static void find_gaps(struct bch_fs *c)
{
	struct bch_journal *jn = &c->journal;
	const struct journal_replay *prev = NULL;
	u64 seq = jn->last_seq;

	for (size_t n = 0; n < jn->nr_entries; n++) {
		const struct journal_replay *i = jn->entries[n];

		if (journal_replay_ignore(i))
			continue;

		while (seq < entry_seq(i)) {
			while (seq < entry_seq(i) && bch_sb_journal_seq_blacklisted(c, seq))
				seq++;
			if (seq == entry_seq(i))
				break;

			u64 first = seq;

			while (seq < entry_seq(i) && !bch_sb_journal_seq_blacklisted(c, seq))
				seq++;
			report_gap(c, first, seq - 1, prev, i);
		}
		prev = i;
		seq = entry_seq(i) + 1;
	}
}

/*
 * Recovery (not list_journal, which reads the whole journal) drops, as the
 * reference does while it reads, every entry older than the newest
 * last_seq a flush entry names, even an entry later found torn; the entry
 * naming it is kept, even when it names a last_seq past its own seq.
 */
static void drop_unneeded(struct bch_fs *c)
{
	struct bch_journal *jn = &c->journal;
	u64 oldest = 0;

	for (size_t n = 0; n < jn->nr_entries; n++) {
		const struct jset *j = jn->entries[n]->j;

		if (!jset_no_flush(j) && le64_to_cpu(j->last_seq) > oldest)
			oldest = le64_to_cpu(j->last_seq);
	}
	for (size_t n = 0; n < jn->nr_entries; n++) {
		struct journal_replay *i = jn->entries[n];

		if (entry_seq(i) < oldest &&
		    (jset_no_flush(i->j) || le64_to_cpu(i->j->last_seq) != oldest))
			i->ignore_not_dirty = true;
	}
}

void bch_journal_choose_range(struct bch_fs *c)
{
	struct bch_journal *jn = &c->journal;

	jn->last_seq = jn->blacklist_seq = 0;
	if (!c->opts.read_journal)
		drop_unneeded(c);
	find_newest_flush(c);

	if (!jn->blacklist_seq) {
		pb_str(&c->log, "journal read: no entries found\n");
		return;
	}
	if (!jn->last_seq) {
		size_t start = c->log.pos;

		pb_str(&c->log, "journal read: no flush entries found, nothing to replay\n");
		if (!c->sb.clean)
			bch_typed_log_add(&c->log_types, &c->log, start,
					  BCH_FSERR_dirty_but_no_journal_entries_post_drop_nonflushes);
		return;
	}

	pb_printf(&c->log, "journal read: replaying entries %llu-%llu\n",
		  (unsigned long long)jn->last_seq,
		  (unsigned long long)jn->blacklist_seq - 1);
	if (jn->max_seq + 1 != jn->blacklist_seq)
		pb_printf(&c->log, "journal read: dropped unflushed entries %llu-%llu\n",
			  (unsigned long long)jn->blacklist_seq,
			  (unsigned long long)jn->max_seq);

	mark_outside_range(c);
	find_gaps(c);
}

static void note_bad_copies(struct bch_fs *c, const struct journal_replay *i)
{
	for (unsigned p = 0; p < i->nr_ptrs; p++)
		if (!i->ptrs[p].csum_good)
			pb_printf(&c->log, "dev %u sector %llu: journal seq %llu has a bad checksum%s\n",
				  i->ptrs[p].dev, (unsigned long long)i->ptrs[p].sector,
				  (unsigned long long)entry_seq(i),
				  i->csum_good ? " (a good copy was found on another device)" : "");
}

int bch_journal_validate_range(struct bch_fs *c, struct printbuf *err)
{
	struct bch_journal *jn = &c->journal;

	for (size_t n = 0; n < jn->nr_entries; n++) {
		struct journal_replay *i = jn->entries[n];
		struct jset_validate_ctx ctx;

		if (journal_replay_ignore(i))
			continue;

		note_bad_copies(c, i);
		bch_jset_validate_ctx_init(&ctx, c, &c->log, i->j, &i->ptrs[0]);
		ctx.types = &c->log_types;

		int ret = bch_jset_validate(&ctx);

		c->nr_errors += ctx.nr_repaired;
		if (ret) {
			pb_printf(err, "journal seq %llu cannot be used (see the log)",
				  (unsigned long long)entry_seq(i));
			return ret;
		}
	}
	return 0;
}
