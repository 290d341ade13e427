/* Clean shutdown: flush the overlay, write the last journal entry, then the superblocks. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/shutdown.h"
#include "btree/flush.h"
#include "btree/iter.h"
#include "btree/prefetch.h"
#include "alloc/allocator.h"
#include "alloc/replicas.h"
#include "sb/sb.h"
#include "core/fs.h"
#include "journal/journal_read.h"
#include "journal/journal_write.h"
#include "keys/accounting.h"
#include "sb/sb_edit.h"
#include "sb/sb_fs.h"
#include "sb/sb_write.h"
#include "util/errcode.h"

#define REPLICAS_MAX	256

/* Set while the filesystem is not clean: the journal may hold btree updates. */
#define FEATURES_WHILE_DIRTY					\
	((1ULL << BCH_FEATURE_extents_above_btree_updates) |	\
	 (1ULL << BCH_FEATURE_btree_updates_journalled))

/* A replicas entry with room for every device. */
struct replicas_buf {
	struct bch_replicas_entry_v1 e;
	u8 devs[BCH_SB_MEMBERS_MAX];
};

struct replicas_set {
	struct replicas_buf r[REPLICAS_MAX];
	const struct bch_replicas_entry_v1 *p[REPLICAS_MAX];
	unsigned nr;
};

static int replicas_add(struct replicas_set *s, const struct bch_replicas_entry_v1 *e,
			struct printbuf *err)
{
	size_t bytes = sizeof(*e) + e->nr_devs;

	for (unsigned i = 0; i < s->nr; i++)
		if (!memcmp(&s->r[i].e, e, bytes))
			return 0;
	if (s->nr == REPLICAS_MAX || e->nr_devs > BCH_SB_MEMBERS_MAX) {
		pb_str(err, "too many replicas entries for the superblock");
		return -BCH_ERR_unsupported;
	}
	memcpy(&s->r[s->nr].e, e, bytes);
	s->p[s->nr] = &s->r[s->nr].e;
	s->nr++;
	return 0;
}

struct replicas_collect_ctx {
	struct replicas_set *s;
	struct printbuf *err;
};

static int replicas_add_counted(void *ctx, const struct bch_replicas_entry_v1 *e, struct bpos pos)
{
	struct replicas_collect_ctx *x = ctx;

	return replicas_add(x->s, e, x->err);
}

/* The device sets of the accounting's replicas counters and of the journal writes. */
static int replicas_collect(struct bch_fs *c, struct replicas_set *s, struct printbuf *err)
{
	struct replicas_collect_ctx x = { s, err };
	int ret = bch_counted_replicas_for_each(c, replicas_add_counted, &x, err);

	for (unsigned i = 0; ret >= 0 && i < c->journal.w.nr_dev_sets; i++) {
		struct replicas_buf r = { .e = { .data_type = BCH_DATA_journal, .nr_required = 1 } };
		u64 devs = c->journal.w.dev_sets[i];

		for (unsigned d = 0; d < BCH_SB_MEMBERS_MAX; d++)
			if (devs & (1ULL << d))
				r.e.devs[r.e.nr_devs++] = d;
		ret = replicas_add(s, &r.e, err);
	}
	return ret < 0 ? ret : 0;
}

static int sb_finish(struct bch_fs *c, struct bch_dev *ca, const struct replicas_set *rs,
		     u64 written, struct printbuf *err)
{
	struct bch_sb_field_clean *clean;
	int ret = bch_sb_replicas_set(&ca->sb, rs->p, rs->nr, err) ?:
		bch_sb_downgrade_set(&ca->sb, err) ?:
		bch_sb_mark_initialized(&ca->sb, err);

	if (ret)
		return ret;
	clean = bch_sb_field_resize(&ca->sb, BCH_SB_FIELD_clean, BCH_SB_CLEAN_U64s, err);
	if (!clean)
		return -BCH_ERR_sb_invalid;
	ret = bch_sb_clean_build(c, clean, BCH_SB_CLEAN_U64s, err);
	if (ret)
		return ret;
	set_sb_clean(ca->sb.sb, 1);
	bch_sb_next_seq(ca->sb.sb, (u64)time(NULL), written);
	return bch_sb_write(ca, ca->sb.sb, err);
}

int bch_fs_clean_shutdown(struct bch_fs *c, struct printbuf *err)
{
	struct replicas_set *rs = calloc(1, sizeof(*rs));
	u64 written = 0;
	int ret = rs ? 0 : -BCH_ERR_nomem;

	/* the btree bitmap needs nothing here: the allocator marks each node as it places it */
	ret = ret ?: bch_btree_flush_all(c, err) ?:
		bch_journal_flush(c, err) ?:
		replicas_collect(c, rs, err);
	for (unsigned i = 0; i < BCH_SB_MEMBERS_MAX; i++)
		if (c->devs[i])
			written |= 1ULL << i;
	for (unsigned i = 0; i < BCH_SB_MEMBERS_MAX && !ret; i++)
		if (c->devs[i])
			ret = sb_finish(c, c->devs[i], rs, written, err);
	bch_fs_sb_refresh(c);
	free(rs);
	return ret;
}

int bch_fs_start_write(struct bch_fs *c, struct printbuf *err)
{
	int ret;

	if (c->opts.read_only) {
		pb_str(err, "filesystem opened read-only");
		return -BCH_ERR_bad_argument;
	}
	bch_btree_prefetch_stop(c);
	/* from the superblock as it was read: after the clean shutdown, or after the entries read */
	ret = bch_journal_write_start(c, err);
	if (ret)
		return ret;
	for (unsigned i = 0; i < BCH_SB_MEMBERS_MAX && !ret; i++) {
		struct bch_dev *ca = c->devs[i];
		const struct journal_write_state *w = &c->journal.w;

		if (!ca)
			continue;
		set_sb_clean(ca->sb.sb, 0);
		ca->sb.sb->features[0] |= cpu_to_le64(FEATURES_WHILE_DIRTY);
		/*
		 * After an unclean shutdown, the seqs recovery skips are
		 * blacklisted before anything is written: a node written under
		 * one of them before the crash must stay ignored.
		 */
		if (w->blacklist_start < w->blacklist_end || c->journal.unblacklist_seq)
			ret = bch_sb_journal_blacklist_update(&ca->sb, w->blacklist_start, w->blacklist_end,
							      c->journal.unblacklist_seq, err);
	}
	if (ret)
		return ret;
	return bch_fs_sb_write_all(c, err) ?: bch_allocator_start(c, err);
}

int bch_fs_start_memory_only(struct bch_fs *c, struct printbuf *err)
{
	if (c->memory_only)
		return 0;
	bch_btree_prefetch_stop(c);
	if (c->journal.w.started) {
		pb_str(err, "filesystem already writing to its devices");
		return -BCH_ERR_bad_argument;
	}
	c->memory_only = true;
	/* after every seq replayed, so the overlay orders these last */
	c->memory_seq = (c->journal.max_seq > c->journal.blacklist_seq ?
			 c->journal.max_seq : c->journal.blacklist_seq) + 1;
	return bch_allocator_start(c, err);
}
