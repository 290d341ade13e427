/* The open journal entry: transactions reserve room in it; it is written when full or flushed. */
#include <stdlib.h>
#include <time.h>

#include "journal/journal_write.h"
#include "btree/overlay.h"
#include "util/errcode.h"

/* Biggest open jset: a journal bucket of the smallest journal device, at most 256 KiB. */
#define JOURNAL_BUF_MAX		(256U << 10)

static size_t journal_buf_bytes(const struct bch_fs *c)
{
	size_t bytes = JOURNAL_BUF_MAX;

	for (unsigned i = 0; i < BCH_SB_MEMBERS_MAX; i++) {
		const struct bch_dev *ca = c->devs[i];

		if (ca && ca->nr_journal_buckets && (size_t)ca->mi.bucket_size << 9 < bytes)
			bytes = (size_t)ca->mi.bucket_size << 9;
	}
	return bytes;
}

static u64 journal_now(const struct bch_fs *c)
{
	return c->journal.w.now ? c->journal.w.now : (u64)time(NULL);
}

static int open_get(struct bch_fs *c, struct jset_builder **jb)
{
	struct journal_write_state *w = &c->journal.w;

	if (!w->open) {
		struct jset_builder *b = calloc(1, sizeof(*b));

		if (!b)
			return -BCH_ERR_nomem;
		if (bch_jset_builder_init(b, journal_buf_bytes(c))) {
			free(b);
			return -BCH_ERR_nomem;
		}
		w->open = b;
	}
	*jb = w->open;
	return 0;
}

/*
 * Writes the open jset.  A flush write names as last_seq the oldest seq
 * whose keys are not yet in btree nodes (the overlay's oldest), so replay
 * starts there.
 */
static int open_write(struct bch_fs *c, bool flush, struct printbuf *err)
{
	struct journal_write_state *w = &c->journal.w;
	struct jset_builder *jb;
	u64 seq = w->seq;
	int ret = open_get(c, &jb);

	if (ret)
		return ret;
	if (flush) {
		u64 oldest = c->overlay ? bch_overlay_oldest_seq(c->overlay) : 0;

		ret = bch_journal_set_last_seq(c, oldest && oldest < seq ? oldest : seq);
		if (ret) {
			pb_printf(err, "journal seq %llu: bad last_seq", (unsigned long long)seq);
			return ret;
		}
	}
	ret = bch_jset_finish(c, jb, flush, journal_now(c), err) ?:
		bch_journal_write_jset(c, jb, err);
	bch_jset_builder_reset(jb);
	w->open_used = false;
	if (!ret && flush)
		w->flushed_seq = seq;
	return ret;
}

int bch_journal_reserve(struct bch_fs *c, size_t u64s, struct jset_builder **jb,
			u64 *seq, struct printbuf *err)
{
	struct journal_write_state *w = &c->journal.w;
	int ret;

	if (!w->started) {
		pb_str(err, "journal not started for writing");
		return -BCH_ERR_bad_argument;
	}
	ret = open_get(c, jb);
	if (ret)
		return ret;
	if (bch_jset_builder_room(*jb) < u64s) {
		if (w->open_used) {
			ret = open_write(c, w->need_flush, err);
			if (ret)
				return ret;
		}
		if (bch_jset_builder_room(*jb) < u64s) {
			pb_printf(err, "a transaction of %zu u64s does not fit a journal entry", u64s);
			return -BCH_ERR_jset_full;
		}
	}
	w->open_used = true;
	*seq = w->seq;
	return 0;
}

int bch_journal_flush(struct bch_fs *c, struct printbuf *err)
{
	if (!c->journal.w.started) {
		pb_str(err, "journal not started for writing");
		return -BCH_ERR_bad_argument;
	}
	return open_write(c, true, err);
}

u64 bch_journal_flushed_seq(const struct bch_fs *c)
{
	return c->journal.w.flushed_seq;
}

