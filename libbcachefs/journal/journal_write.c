/* Writing the journal: jsets built in place, placed in the journal buckets of each device, the clean section. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checksum/checksum.h"
#include "core/fs.h"
#include "journal/journal.h"
#include "journal/journal_read.h"
#include "journal/journal_write.h"
#include "journal/jset.h"
#include "sb/sb.h"
#include "sb/sb_edit.h"
#include "util/errcode.h"

/* What bch_jset_finish() appends: roots, the clocks, datetime and usage. */
#define JSET_TRAILER_U64s	(JOURNAL_ENTRY_U64s_RESERVED + 2 * 2)

#define LOG_TRANS_NAME_BYTES	32

BCH_STATIC_ASSERT(BCH_SB_CLEAN_U64s == 324, "clean section of 2592 bytes, as 1.13 writes it");

/* ---- appending entries to a run of u64s ---- */

/* Free space an entry is appended to: [pos, end). */
struct entry_cursor {
	u64 *pos;
	const u64 *end;
};

/* A zeroed entry of u64s payload words at the cursor, or NULL if it does not fit. */
static struct jset_entry *cursor_entry(struct entry_cursor *cur, unsigned type,
				       unsigned btree, unsigned level, unsigned u64s)
{
	struct jset_entry *e = (void *)cur->pos;

	if (u64s > UINT16_MAX || (size_t)(cur->end - cur->pos) < 1 + (size_t)u64s)
		return NULL;
	memset(e, 0, 8 * (1 + (size_t)u64s));
	e->u64s = cpu_to_le16(u64s);
	e->btree_id = btree;
	e->level = level;
	e->type = type;
	cur->pos += 1 + u64s;
	return e;
}

static int cursor_usage(struct entry_cursor *cur, unsigned type, u64 v)
{
	struct jset_entry *e = cursor_entry(cur, BCH_JSET_ENTRY_usage, type, 0, 1);

	if (!e)
		return -BCH_ERR_jset_full;
	((struct jset_entry_usage *)e)->v = cpu_to_le64(v);
	return 0;
}

static int cursor_clock(struct entry_cursor *cur, unsigned rw, u64 time)
{
	struct jset_entry *e = cursor_entry(cur, BCH_JSET_ENTRY_clock, 0, 0,
					    sizeof(struct jset_entry_clock) / 8 - 1);
	struct jset_entry_clock *clock = (void *)e;

	if (!e)
		return -BCH_ERR_jset_full;
	clock->rw = rw;
	clock->time = cpu_to_le64(time);
	return 0;
}

static int cursor_datetime(struct entry_cursor *cur, u64 seconds)
{
	struct jset_entry *e = cursor_entry(cur, BCH_JSET_ENTRY_datetime, 0, 0, 1);

	if (!e)
		return -BCH_ERR_jset_full;
	((struct jset_entry_datetime *)e)->seconds = cpu_to_le64(seconds);
	return 0;
}

/* usage(key_version), clock read, clock write: what jsets and the clean section share. */
static int cursor_usage_clocks(struct entry_cursor *cur, const struct journal_write_state *w)
{
	return cursor_usage(cur, BCH_FS_USAGE_key_version, w->key_version) ?:
		cursor_clock(cur, 0, w->io_clock[0]) ?:
		cursor_clock(cur, 1, w->io_clock[1]);
}

/* A root the kernel could not read is written as an empty entry. */
static int cursor_root(struct entry_cursor *cur, unsigned btree, const struct btree_root *r)
{
	unsigned u64s = r->error ? 0 : r->key.k.u64s;
	struct jset_entry *e = cursor_entry(cur, BCH_JSET_ENTRY_btree_root, btree,
					    r->level, u64s);

	if (!e)
		return -BCH_ERR_jset_full;
	memcpy(e->_data, &r->key, 8 * (size_t)u64s);
	return 0;
}

/* Every live root of c, in btree id order, except those in skip (a bit per btree). */
static int cursor_roots(struct entry_cursor *cur, const struct bch_fs *c, u64 skip)
{
	for (unsigned id = 0; id < BTREE_ID_NR_MAX; id++) {
		int ret;

		if (!c->roots[id].alive || (skip & (1ULL << id)))
			continue;
		ret = cursor_root(cur, id, &c->roots[id]);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- the jset builder ---- */

static size_t builder_capacity_u64s(const struct jset_builder *b)
{
	return (b->bytes - sizeof(struct jset)) / 8;
}

/* Free space for the caller's entries: all but the trailer's reserve. */
static struct entry_cursor builder_cursor(const struct jset_builder *b, size_t reserve)
{
	size_t cap = builder_capacity_u64s(b);
	u64 *start = (u64 *)b->j->start;

	return (struct entry_cursor) {
		.pos = jset_entries_end(b->j),
		.end = start + (cap > reserve ? cap - reserve : 0),
	};
}

static void builder_advance(struct jset_builder *b, const struct entry_cursor *cur)
{
	u64 *old_end = jset_entries_end(b->j);

	b->j->u64s = cpu_to_le32(le32_to_cpu(b->j->u64s) + (cur->pos - old_end));
}

int bch_jset_builder_init(struct jset_builder *b, size_t bytes)
{
	memset(b, 0, sizeof(*b));
	bytes = (bytes + 4095) & ~(size_t)4095;
	if (bytes < sizeof(struct jset) + 8 * JSET_TRAILER_U64s)
		bytes = (sizeof(struct jset) + 8 * JSET_TRAILER_U64s + 4095) & ~(size_t)4095;
	b->j = calloc(1, bytes);
	if (!b->j)
		return -BCH_ERR_nomem;
	b->bytes = bytes;
	return 0;
}

void bch_jset_builder_exit(struct jset_builder *b)
{
	free(b->j);
	memset(b, 0, sizeof(*b));
}

void bch_jset_builder_reset(struct jset_builder *b)
{
	memset(b->j, 0, sizeof(*b->j));
	b->last = NULL;
	b->finished = false;
}

size_t bch_jset_builder_room(const struct jset_builder *b)
{
	struct entry_cursor cur = builder_cursor(b, JSET_TRAILER_U64s);

	return b->finished || cur.end < cur.pos ? 0 : cur.end - cur.pos;
}

struct jset_entry *bch_jset_entry_add(struct jset_builder *b, unsigned type,
				      unsigned btree, unsigned level, unsigned u64s)
{
	struct entry_cursor cur = builder_cursor(b, JSET_TRAILER_U64s);
	struct jset_entry *e;

	if (b->finished || cur.end < cur.pos)
		return NULL;
	e = cursor_entry(&cur, type, btree, level, u64s);
	if (e) {
		builder_advance(b, &cur);
		b->last = e;
	}
	return e;
}

/* Appends k to the newest entry if it is of this type, btree and level. */
static bool key_join_last(struct jset_builder *b, unsigned type, unsigned btree,
			  unsigned level, const struct bkey_i *k)
{
	struct jset_entry *e = b->last;
	unsigned u64s = k->k.u64s;

	if (!e || b->finished || e->type != type || e->btree_id != btree ||
	    e->level != level || le16_to_cpu(e->u64s) + u64s > UINT16_MAX ||
	    bch_jset_builder_room(b) < u64s)
		return false;
	memcpy(jset_entries_end(b->j), k, 8 * (size_t)u64s);
	e->u64s = cpu_to_le16(le16_to_cpu(e->u64s) + u64s);
	b->j->u64s = cpu_to_le32(le32_to_cpu(b->j->u64s) + u64s);
	return true;
}

static int add_key_entry(struct jset_builder *b, unsigned type, unsigned btree,
			 unsigned level, const struct bkey_i *k)
{
	struct jset_entry *e;

	if (btree >= BTREE_ID_NR_MAX || k->k.u64s < BKEY_U64s)
		return -BCH_ERR_bad_argument;
	if (key_join_last(b, type, btree, level, k))
		return 0;
	e = bch_jset_entry_add(b, type, btree, level, k->k.u64s);
	if (!e)
		return -BCH_ERR_jset_full;
	memcpy(e->_data, k, 8 * (size_t)k->k.u64s);
	return 0;
}

int bch_jset_add_key(struct jset_builder *b, enum btree_id btree, unsigned level,
		     const struct bkey_i *k)
{
	return add_key_entry(b, BCH_JSET_ENTRY_btree_keys, btree, level, k);
}

int bch_jset_add_overwrite(struct jset_builder *b, enum btree_id btree, unsigned level,
			   const struct bkey_i *k)
{
	return add_key_entry(b, BCH_JSET_ENTRY_overwrite, btree, level, k);
}

int bch_jset_add_root(struct jset_builder *b, enum btree_id btree, unsigned level,
		      const struct bkey_i *k)
{
	unsigned u64s = k ? k->k.u64s : 0;
	struct jset_entry *e;

	if (btree >= BTREE_ID_NR_MAX || (k && u64s < BKEY_U64s))
		return -BCH_ERR_bad_argument;
	e = bch_jset_entry_add(b, BCH_JSET_ENTRY_btree_root, btree, level, u64s);
	if (!e)
		return -BCH_ERR_jset_full;
	if (k)
		memcpy(e->_data, k, 8 * (size_t)u64s);
	return 0;
}

/* A log entry holding len bytes of text, zero padded to whole u64s. */
static int add_log_bytes(struct jset_builder *b, unsigned level, const char *text,
			 size_t len, size_t bytes)
{
	struct jset_entry *e;

	if (bytes > 8 * (size_t)UINT16_MAX)
		return -BCH_ERR_bad_argument;
	e = bch_jset_entry_add(b, BCH_JSET_ENTRY_log, 0, level, (bytes + 7) / 8);
	if (!e)
		return -BCH_ERR_jset_full;
	memcpy(((struct jset_entry_log *)e)->d, text, len);
	return 0;
}

/* The kernel's log messages are level 1 entries, transaction names level 0. */
int bch_jset_add_log(struct jset_builder *b, const char *msg)
{
	size_t len = strlen(msg);

	return add_log_bytes(b, 1, msg, len, len);
}

int bch_jset_add_trans_name(struct jset_builder *b, const char *name)
{
	size_t len = strnlen(name, LOG_TRANS_NAME_BYTES);

	return add_log_bytes(b, 0, name, len, LOG_TRANS_NAME_BYTES);
}

static int builder_put(struct jset_builder *b, int (*put)(struct entry_cursor *, unsigned, u64),
		       unsigned a, u64 v)
{
	struct entry_cursor cur = builder_cursor(b, JSET_TRAILER_U64s);
	u64 *start = cur.pos;
	int ret;

	if (b->finished || cur.end < cur.pos)
		return -BCH_ERR_jset_full;
	ret = put(&cur, a, v);
	if (!ret) {
		b->last = (void *)start;
		builder_advance(b, &cur);
	}
	return ret;
}

static int put_datetime(struct entry_cursor *cur, unsigned unused, u64 seconds)
{
	return cursor_datetime(cur, seconds);
}

int bch_jset_add_datetime(struct jset_builder *b, u64 seconds)
{
	return builder_put(b, put_datetime, 0, seconds);
}

int bch_jset_add_usage(struct jset_builder *b, enum bch_fs_usage_type type, u64 v)
{
	return builder_put(b, cursor_usage, type, v);
}

int bch_jset_add_clock(struct jset_builder *b, unsigned rw, u64 time)
{
	if (rw > 1)
		return -BCH_ERR_bad_argument;
	return builder_put(b, cursor_clock, rw, time);
}

int bch_jset_add_blacklist_v2(struct jset_builder *b, u64 start, u64 end)
{
	struct jset_entry *e;
	struct jset_entry_blacklist_v2 *bl;

	if (start > end)
		return -BCH_ERR_bad_argument;
	e = bch_jset_entry_add(b, BCH_JSET_ENTRY_blacklist_v2, 0, 0, 2);
	if (!e)
		return -BCH_ERR_jset_full;
	bl = (void *)e;
	bl->start = cpu_to_le64(start);
	bl->end = cpu_to_le64(end);
	return 0;
}

/* ---- finishing a jset ---- */

static int root_from_entry(struct bch_fs *c, const struct jset_entry *e,
			   struct printbuf *err)
{
	struct btree_root *r;
	const struct bkey_i *k = (const void *)e->_data;
	size_t bytes = 8 * (size_t)le16_to_cpu(e->u64s);

	if (bytes && (bytes > sizeof(r->_buf) || 8 * (size_t)k->k.u64s != bytes)) {
		pb_printf(err, "btree_root entry for btree %u: %zu bytes do not hold one root key",
			  e->btree_id, bytes);
		return -BCH_ERR_bad_argument;
	}
	r = bch_fs_root_change(c, e->btree_id);
	memset(r, 0, sizeof(*r));
	r->alive = true;
	r->level = e->level;
	r->error = !bytes;
	memcpy(r->_buf, k, bytes);
	return 0;
}

/*
 * The roots the jset's own btree_root entries name become c's roots, so
 * that later jsets carry them; *have gets a bit per btree named.
 */
static int roots_from_jset(struct bch_fs *c, const struct jset *j, u64 *have,
			   struct printbuf *err)
{
	*have = 0;
	jset_entry_for_each(e, j->start, jset_entries_end(j)) {
		int ret;

		if (e->type != BCH_JSET_ENTRY_btree_root || e->btree_id >= BTREE_ID_NR_MAX)
			continue;
		ret = root_from_entry(c, e, err);
		if (ret)
			return ret;
		*have |= 1ULL << e->btree_id;
	}
	return 0;
}

/* The trailer every written jset ends with, in the kernel's order. */
static int append_trailer(struct bch_fs *c, struct jset_builder *b, u64 roots_have,
			  u64 now, struct printbuf *err)
{
	struct entry_cursor cur = builder_cursor(b, 0);
	int ret = cursor_roots(&cur, c, roots_have) ?:
		cursor_datetime(&cur, now) ?:
		cursor_usage_clocks(&cur, &c->journal.w);

	if (ret) {
		pb_printf(err, "journal seq %llu: no room for the roots, datetime, usage and clock entries in a %zu byte jset",
			  (unsigned long long)c->journal.w.seq, b->bytes);
		return ret;
	}
	builder_advance(b, &cur);
	return 0;
}

static int meta_csum_type(const struct bch_fs *c, unsigned *type, struct printbuf *err)
{
	if (c->sb.encryption_type) {
		pb_str(err, "writing the journal of an encrypted filesystem is not implemented");
		return -BCH_ERR_encrypted;
	}
	*type = bch_csum_opt_to_type(c->sb.meta_csum_type, false);
	if (*type >= BCH_CSUM_NR) {
		pb_printf(err, "unknown metadata checksum option %u", c->sb.meta_csum_type);
		return -BCH_ERR_bad_argument;
	}
	return 0;
}

static size_t block_bytes(const struct bch_fs *c)
{
	return (size_t)c->sb.block_size << 9;
}

static size_t jset_padded_bytes(const struct bch_fs *c, const struct jset *j)
{
	size_t block = block_bytes(c);

	return (jset_bytes(j) + block - 1) / block * block;
}

static void jset_set_header(struct bch_fs *c, struct jset *j, bool flush, unsigned csum_type)
{
	const struct journal_write_state *w = &c->journal.w;

	j->magic = cpu_to_le64(c->sb.jset_magic);
	j->seq = cpu_to_le64(w->seq);
	j->version = cpu_to_le32(c->sb.version);
	j->flags = 0;
	set_jset_csum_type(j, csum_type);
	set_jset_no_flush(j, !flush);
	j->last_seq = cpu_to_le64(flush ? w->last_seq : 0);
	j->_read_clock = 0;
	j->_write_clock = 0;
}

static int finish_check(const struct bch_fs *c, const struct jset_builder *b,
			struct printbuf *err)
{
	if (!c->journal.w.started) {
		pb_str(err, "journal write state not started");
		return -BCH_ERR_bad_argument;
	}
	if (b->finished) {
		pb_str(err, "jset already finished");
		return -BCH_ERR_bad_argument;
	}
	if (!c->sb.block_size) {
		pb_str(err, "superblock has no block size");
		return -BCH_ERR_bad_argument;
	}
	return 0;
}

int bch_jset_finish(struct bch_fs *c, struct jset_builder *b, bool flush, u64 now,
		    struct printbuf *err)
{
	struct jset *j = b->j;
	unsigned csum_type;
	u64 roots_have;
	int ret = finish_check(c, b, err) ?:
		meta_csum_type(c, &csum_type, err) ?:
		roots_from_jset(c, j, &roots_have, err) ?:
		append_trailer(c, b, roots_have, now, err);

	if (ret)
		return ret;

	size_t padded = jset_padded_bytes(c, j);

	if (padded > b->bytes) {
		pb_printf(err, "journal seq %llu: %zu bytes rounded to the block size do not fit the %zu byte buffer",
			  (unsigned long long)c->journal.w.seq, jset_bytes(j), b->bytes);
		return -BCH_ERR_jset_full;
	}
	jset_set_header(c, j, flush, csum_type);
	j->csum = bch_checksum(csum_type, jset_nonce(j), &j->magic,
			       jset_bytes(j) - offsetof(struct jset, magic));
	memset((u8 *)j + jset_bytes(j), 0, padded - jset_bytes(j));
	b->finished = true;
	b->last = NULL;
	return 0;
}

/* ---- the write state ---- */

static bool dev_holds_journal(const struct bch_dev *ca)
{
	return ca && ca->nr_journal_buckets && ca->journal_buckets && ca->mi.bucket_size;
}

void bch_journal_write_exit(struct bch_fs *c)
{
	struct journal_write_state *w = &c->journal.w;

	for (unsigned i = 0; i < BCH_SB_MEMBERS_MAX; i++)
		free(w->dev[i].bucket_seq);
	if (w->open) {
		bch_jset_builder_exit(w->open);
		free(w->open);
	}
	memset(w, 0, sizeof(*w));
}

/*
 * Every device starts with its journal bucket 0 full, so that its first
 * write goes to bucket 1, as the kernel's does after format.
 */
static int start_common(struct bch_fs *c, u64 seq)
{
	struct journal_write_state *w = &c->journal.w;

	bch_journal_write_exit(c);
	for (unsigned i = 0; i < BCH_SB_MEMBERS_MAX; i++) {
		struct bch_dev *ca = c->devs[i];

		if (!dev_holds_journal(ca))
			continue;
		w->dev[i].bucket_seq = calloc(ca->nr_journal_buckets, sizeof(u64));
		if (!w->dev[i].bucket_seq) {
			bch_journal_write_exit(c);
			return -BCH_ERR_nomem;
		}
		w->dev[i].sectors_used = ca->mi.bucket_size;
	}
	w->seq = seq;
	w->last_seq = w->last_seq_ondisk = seq;
	w->flushed_seq = seq - 1;
	w->need_flush = true;
	w->started = true;
	return 0;
}

int bch_journal_write_start_new(struct bch_fs *c, u64 seq)
{
	if (!seq)
		return -BCH_ERR_bad_argument;
	return start_common(c, seq);
}

/* The counters usage and clock entries carry, which the next entries carry on. */
struct journal_counters {
	u64 *key_version;
	u64 *io_clock;		/* read, write */
};

static void take_counters(struct journal_counters w, const struct jset_entry *e)
{
	const struct jset_entry_usage *u = (const void *)e;
	const struct jset_entry_clock *clock = (const void *)e;

	if (e->type == BCH_JSET_ENTRY_usage && le16_to_cpu(e->u64s) >= 1 &&
	    e->btree_id == BCH_FS_USAGE_key_version)
		*w.key_version = le64_to_cpu(u->v);
	if (e->type == BCH_JSET_ENTRY_clock && le16_to_cpu(e->u64s) >= 2 && clock->rw < 2)
		w.io_clock[clock->rw] = le64_to_cpu(clock->time);
}

static void take_counters_from(struct journal_counters w, const u64 *start, const u64 *end)
{
	for (const struct jset_entry *e = (const void *)start;
	     jset_entry_fits(e, end); e = jset_entry_next(e))
		take_counters(w, e);
}

static struct journal_counters write_counters(struct bch_fs *c)
{
	return (struct journal_counters) { &c->journal.w.key_version, c->journal.w.io_clock };
}

/* Where the kernel resumes: the member's last_journal_bucket/_offset, when sane. */
static void pos_from_member(struct bch_fs *c, unsigned idx)
{
	struct journal_dev_pos *p = &c->journal.w.dev[idx];
	const struct bch_dev *ca = c->devs[idx];
	struct bch_member tmp;
	const struct bch_member *m = c->disk_sb.sb
		? bch_sb_member(c->disk_sb.sb, idx, &tmp) : NULL;

	if (!m)
		return;
	if (le32_to_cpu(m->last_journal_bucket) < ca->nr_journal_buckets)
		p->cur_idx = le32_to_cpu(m->last_journal_bucket);
	if (le32_to_cpu(m->last_journal_bucket_offset) <= ca->mi.bucket_size)
		p->sectors_used = le32_to_cpu(m->last_journal_bucket_offset);
}

static void pos_from_members(struct bch_fs *c)
{
	for (unsigned i = 0; i < BCH_SB_MEMBERS_MAX; i++)
		if (c->journal.w.dev[i].bucket_seq)
			pos_from_member(c, i);
}

int bch_journal_write_start_clean(struct bch_fs *c, struct printbuf *err)
{
	const struct bch_sb_field_clean *clean = c->disk_sb.sb
		? bch_sb_field_get_t(c->disk_sb.sb, clean) : NULL;
	int ret;

	if (!c->sb.clean || !clean) {
		pb_str(err, c->sb.clean ? "superblock marked clean but it has no clean section"
			    : "filesystem was not shut down cleanly: its journal must be read");
		return c->sb.clean ? -BCH_ERR_no_clean_section : -BCH_ERR_bad_argument;
	}
	ret = start_common(c, le64_to_cpu(clean->journal_seq) + 1);
	if (ret)
		return ret;
	take_counters_from(write_counters(c), clean->start,
			   (const u64 *)clean + le32_to_cpu(clean->field.u64s));
	pos_from_members(c);
	return 0;
}

static size_t jset_sectors(const struct bch_fs *c, const struct jset *j)
{
	return jset_padded_bytes(c, j) >> 9;
}

/* Each device resumes after the newest entry it holds. */
static void pos_from_entries(struct bch_fs *c)
{
	struct journal_write_state *w = &c->journal.w;
	u64 newest[BCH_SB_MEMBERS_MAX] = { 0 };

	for (size_t n = 0; n < c->journal.nr_entries; n++) {
		const struct journal_replay *i = c->journal.entries[n];
		u64 seq = le64_to_cpu(i->j->seq);

		for (unsigned p = 0; p < i->nr_ptrs; p++) {
			const struct journal_ptr *ptr = &i->ptrs[p];
			struct journal_dev_pos *pos = &w->dev[ptr->dev % BCH_SB_MEMBERS_MAX];

			if (ptr->dev >= BCH_SB_MEMBERS_MAX || !pos->bucket_seq ||
			    ptr->bucket >= c->devs[ptr->dev]->nr_journal_buckets)
				continue;
			if (seq > pos->bucket_seq[ptr->bucket])
				pos->bucket_seq[ptr->bucket] = seq;
			if (seq > newest[ptr->dev]) {
				newest[ptr->dev] = seq;
				pos->cur_idx = ptr->bucket;
				pos->sectors_used = ptr->bucket_offset + jset_sectors(c, i->j);
			}
		}
	}
}

/* Counters from the entries recovery replays (or the newest alone, as it does). */
static void counters_from_entries(struct bch_fs *c, struct journal_counters w)
{
	const struct bch_journal *jn = &c->journal;
	bool newest_only = bch_journal_use_newest_only(c);

	for (size_t n = 0; n < jn->nr_entries; n++) {
		const struct journal_replay *i = jn->entries[n];

		if (newest_only ? n + 1 == jn->nr_entries : !journal_replay_ignore(i))
			take_counters_from(w, (const u64 *)i->j->start, jset_entries_end(i->j));
	}
}

u64 bch_journal_recorded_key_version(struct bch_fs *c)
{
	const struct bch_sb_field_clean *clean = c->disk_sb.sb
		? bch_sb_field_get_t(c->disk_sb.sb, clean) : NULL;
	u64 key_version = 0, io_clock[2] = { 0, 0 };
	struct journal_counters w = { &key_version, io_clock };

	if (c->sb.clean && clean)
		take_counters_from(w, clean->start,
				   (const u64 *)clean + le32_to_cpu(clean->field.u64s));
	else
		counters_from_entries(c, w);
	return key_version;
}

/* The newest entry recovery uses: its last_seq starts what is still dirty. */
static const struct journal_replay *newest_used(const struct bch_fs *c)
{
	const struct bch_journal *jn = &c->journal;

	for (size_t n = jn->nr_entries; n--;)
		if (!journal_replay_ignore(jn->entries[n]))
			return jn->entries[n];
	return jn->nr_entries ? jn->entries[jn->nr_entries - 1] : NULL;
}

int bch_journal_write_start_unclean(struct bch_fs *c, struct printbuf *err)
{
	struct bch_journal *jn = &c->journal;
	struct journal_write_state *w = &jn->w;
	const struct journal_replay *newest = newest_used(c);
	u64 restart, last_seq;
	int ret;

	if (!jn->read_done || !newest) {
		pb_str(err, jn->read_done ? "no journal entries found" : "the journal was not read");
		return jn->read_done ? -BCH_ERR_journal_empty : -BCH_ERR_bad_argument;
	}
	/* the read path's max_seq is the newest entry it would replay */
	restart = (jn->blacklist_seq ? jn->max_seq : le64_to_cpu(newest->j->seq)) + 1;
	ret = start_common(c, restart + JOURNAL_SEQS_SKIPPED_UNCLEAN);
	if (ret)
		return ret;

	w->blacklist_start = jn->blacklist_seq ? jn->blacklist_seq : restart;
	w->blacklist_end = w->seq;
	last_seq = le64_to_cpu(newest->j->last_seq);
	if (last_seq && last_seq <= le64_to_cpu(newest->j->seq))
		w->last_seq = w->last_seq_ondisk = last_seq;
	counters_from_entries(c, write_counters(c));
	pos_from_members(c);
	pos_from_entries(c);
	return 0;
}

int bch_journal_write_start(struct bch_fs *c, struct printbuf *err)
{
	return c->sb.clean ? bch_journal_write_start_clean(c, err)
			   : bch_journal_write_start_unclean(c, err);
}

int bch_journal_set_last_seq(struct bch_fs *c, u64 seq)
{
	struct journal_write_state *w = &c->journal.w;

	if (!w->started || seq > w->seq)
		return -BCH_ERR_bad_argument;
	if (seq > w->last_seq)
		w->last_seq = seq;
	return 0;
}

/* ---- placing a jset ---- */

/* Member idx of a superblock, in place; NULL if its members_v2 lacks the journal fields. */
static struct bch_member *sb_member_mut(struct bch_sb *sb, unsigned idx)
{
	return bch_sb_member_v2_mut_min(sb, idx, offsetof(struct bch_member, last_journal_bucket_offset) + 4);
}

static void sb_set_journal_pos(struct bch_sb *sb, unsigned idx, const struct journal_dev_pos *p)
{
	struct bch_member *m = sb ? sb_member_mut(sb, idx) : NULL;

	if (!m)
		return;
	m->last_journal_bucket = cpu_to_le32(p->cur_idx);
	m->last_journal_bucket_offset = cpu_to_le32(p->sectors_used);
}

void bch_journal_pos_to_sb(struct bch_fs *c)
{
	const struct journal_write_state *w = &c->journal.w;

	for (unsigned idx = 0; idx < BCH_SB_MEMBERS_MAX; idx++) {
		if (!w->dev[idx].bucket_seq)
			continue;
		sb_set_journal_pos(c->disk_sb.sb, idx, &w->dev[idx]);
		for (unsigned d = 0; d < BCH_SB_MEMBERS_MAX; d++)
			if (c->devs[d] && c->devs[d]->sb.sb != c->disk_sb.sb)
				sb_set_journal_pos(c->devs[d]->sb.sb, idx, &w->dev[idx]);
	}
}

/* The devices a jset is written to this time. */
struct write_plan {
	unsigned nr;
	unsigned replicas;		/* durability they add up to */
	u8 devs[BCH_SB_MEMBERS_MAX];
	u64 picked;			/* bit per device */
};

static bool dev_writable(const struct bch_fs *c, unsigned idx)
{
	const struct bch_dev *ca = c->devs[idx];

	return dev_holds_journal(ca) && c->journal.w.dev[idx].bucket_seq &&
		ca->mi.state == BCH_MEMBER_STATE_rw && ca->mi.durability;
}

static unsigned dev_sectors_free(const struct bch_fs *c, unsigned idx)
{
	const struct journal_dev_pos *p = &c->journal.w.dev[idx];
	unsigned bucket_size = c->devs[idx]->mi.bucket_size;

	return p->sectors_used < bucket_size ? bucket_size - p->sectors_used : 0;
}

/* Takes devices where the jset fits in the current bucket, until enough replicas. */
static void plan_fill(const struct bch_fs *c, struct write_plan *plan, unsigned sectors,
		      unsigned want)
{
	for (unsigned i = 0; i < BCH_SB_MEMBERS_MAX && plan->replicas < want; i++) {
		if (!dev_writable(c, i) || (plan->picked & (1ULL << i)) ||
		    sectors > dev_sectors_free(c, i))
			continue;
		plan->devs[plan->nr++] = i;
		plan->picked |= 1ULL << i;
		plan->replicas += c->devs[i]->mi.durability;
	}
}

/*
 * Journal buckets after the current one that hold only seqs older than
 * the on-disk last_seq.  The ring is filled in order, so those are the
 * run that follows the current bucket.
 */
static unsigned dev_free_buckets(const struct bch_dev *ca, const struct journal_dev_pos *p,
				 u64 last_seq_ondisk)
{
	unsigned nr = ca->nr_journal_buckets, n = 0;

	while (n + 1 < nr && p->bucket_seq[(p->cur_idx + 1 + n) % nr] < last_seq_ondisk)
		n++;
	return n;
}

bool bch_journal_needs_reclaim(const struct bch_fs *c)
{
	const struct journal_write_state *w = &c->journal.w;

	for (unsigned i = 0; i < BCH_SB_MEMBERS_MAX; i++) {
		const struct bch_dev *ca = c->devs[i];

		if (!dev_writable(c, i))
			continue;
		if (2 * dev_free_buckets(ca, &w->dev[i], w->last_seq_ondisk) < ca->nr_journal_buckets)
			return true;
	}
	return false;
}

static void journal_full_to_text(struct printbuf *out, const struct bch_fs *c,
				 const struct bch_dev *ca, unsigned oldest, bool kept)
{
	const struct journal_write_state *w = &c->journal.w;
	const struct journal_dev_pos *p = &w->dev[ca->idx];

	pb_printf(out, "dev %u: journal full writing seq %llu: ", ca->idx,
		  (unsigned long long)w->seq);
	if (kept)
		pb_str(out, "its last free journal bucket is kept for a flush write that frees another; ");
	pb_printf(out, "journal bucket %u (bucket %llu) holds seq %llu, entries from seq %llu are needed (last_seq on disk %llu, current journal bucket %u)\n",
		  oldest, (unsigned long long)ca->journal_buckets[oldest],
		  (unsigned long long)p->bucket_seq[oldest],
		  (unsigned long long)w->last_seq, (unsigned long long)w->last_seq_ondisk,
		  p->cur_idx);
}

/*
 * Moves a device to its next journal bucket.  The last free bucket is
 * only taken by a flush write whose last_seq frees another one, so a
 * flush can always be written once the caller's last_seq moves on.
 */
static int dev_next_bucket(struct bch_fs *c, unsigned idx, unsigned sectors,
			   bool flush, struct printbuf *why)
{
	struct journal_dev_pos *p = &c->journal.w.dev[idx];
	const struct journal_write_state *w = &c->journal.w;
	const struct bch_dev *ca = c->devs[idx];
	unsigned nr = ca->nr_journal_buckets;
	unsigned nr_free = dev_free_buckets(ca, p, w->last_seq_ondisk);
	unsigned oldest = (p->cur_idx + 1 + nr_free) % nr;
	bool frees = flush && oldest != p->cur_idx && p->bucket_seq[oldest] < w->last_seq;

	if (sectors > ca->mi.bucket_size) {
		pb_printf(why, "dev %u: a jset of %u sectors does not fit a journal bucket of %u sectors\n",
			  idx, sectors, ca->mi.bucket_size);
		return -BCH_ERR_jset_full;
	}
	if (!nr_free || (nr_free == 1 && !frees)) {
		journal_full_to_text(why, c, ca, oldest, nr_free == 1);
		return -BCH_ERR_journal_full;
	}
	p->cur_idx = (p->cur_idx + 1) % nr;
	p->sectors_used = 0;
	return 0;
}

static unsigned meta_replicas(const struct bch_fs *c, bool required)
{
	const struct bch_sb *sb = c->disk_sb.sb;
	unsigned want = sb ? sb_meta_replicas_want(sb) : 1;
	unsigned req = sb ? sb_meta_replicas_req(sb) : 1;

	want = want ? want : 1;
	if (!required)
		return want;
	req = req ? req : 1;
	return req < want ? req : want;
}

/*
 * As the kernel allocates a journal write: devices with room in their
 * current bucket first, then devices moved to their next bucket.
 */
static int plan_devices(struct bch_fs *c, struct write_plan *plan, unsigned sectors,
			bool flush, struct printbuf *err)
{
	unsigned want = meta_replicas(c, false), need = meta_replicas(c, true);
	struct printbuf why = PRINTBUF;
	int ret = -BCH_ERR_journal_full;

	memset(plan, 0, sizeof(*plan));
	plan_fill(c, plan, sectors, want);
	for (unsigned i = 0; i < BCH_SB_MEMBERS_MAX && plan->replicas < want; i++) {
		if (!dev_writable(c, i) || (plan->picked & (1ULL << i)) ||
		    sectors <= dev_sectors_free(c, i))
			continue;
		int r = dev_next_bucket(c, i, sectors, flush, &why);

		if (r)
			ret = r;
	}
	plan_fill(c, plan, sectors, want);

	if (plan->replicas < need) {
		pb_printf(err, "journal seq %llu: %u of %u replicas found room%s%s",
			  (unsigned long long)c->journal.w.seq, plan->replicas, need,
			  why.pos ? ":\n" : " (no writable device holds a journal)", pb_cstr(&why));
		pb_strip_trailing_newline(err);
		pb_exit(&why);
		return ret;
	}
	pb_exit(&why);
	return 0;
}

/* Stands in for a device write helper in core/ until there is one. */
static int sync_journal_devices(const struct bch_fs *c, struct printbuf *err)
{
	for (unsigned i = 0; i < BCH_SB_MEMBERS_MAX; i++) {
		const struct bch_dev *ca = c->devs[i];

		if (!c->journal.w.dev[i].bucket_seq || !ca)
			continue;
		int ret = bch_dev_flush(ca, err);

		if (ret)
			return ret;
	}
	return 0;
}

static int write_copies(struct bch_fs *c, const struct write_plan *plan,
			const struct jset *j, unsigned sectors, struct printbuf *err)
{
	for (unsigned n = 0; n < plan->nr; n++) {
		const struct bch_dev *ca = c->devs[plan->devs[n]];
		const struct journal_dev_pos *p = &c->journal.w.dev[ca->idx];
		u64 sector = ca->journal_buckets[p->cur_idx] * ca->mi.bucket_size +
			p->sectors_used;
		int ret = bch_dev_pwrite(ca, j, (size_t)sectors << 9, sector << 9, err);

		if (ret)
			return ret;
	}
	return jset_no_flush(j) ? 0 : sync_journal_devices(c, err);
}

static int write_check(const struct bch_fs *c, const struct jset_builder *b,
		       struct printbuf *err)
{
	const struct journal_write_state *w = &c->journal.w;

	if (!w->started || !b->finished) {
		pb_str(err, !w->started ? "journal write state not started" : "jset not finished");
		return -BCH_ERR_bad_argument;
	}
	if (le64_to_cpu(b->j->seq) != w->seq) {
		pb_printf(err, "jset has seq %llu, the journal is at seq %llu",
			  (unsigned long long)le64_to_cpu(b->j->seq),
			  (unsigned long long)w->seq);
		return -BCH_ERR_bad_argument;
	}
	if (w->need_flush && jset_no_flush(b->j)) {
		pb_printf(err, "journal seq %llu: the first write after the journal starts must be a flush",
			  (unsigned long long)w->seq);
		return -BCH_ERR_bad_argument;
	}
	return 0;
}

/* Remembers a set of devices written together: the superblock's journal replicas entries. */
static void journal_dev_set_note(struct journal_write_state *w, u64 devs)
{
	for (unsigned i = 0; i < w->nr_dev_sets; i++)
		if (w->dev_sets[i] == devs)
			return;
	if (w->nr_dev_sets < JOURNAL_DEV_SETS_MAX)
		w->dev_sets[w->nr_dev_sets++] = devs;
}

int bch_journal_write_jset(struct bch_fs *c, struct jset_builder *b, struct printbuf *err)
{
	struct journal_write_state *w = &c->journal.w;
	struct write_plan plan;
	const struct jset *j = b->j;
	bool flush = !jset_no_flush(j);
	int ret = write_check(c, b, err);

	if (ret)
		return ret;

	unsigned sectors = jset_sectors(c, j);

	ret = plan_devices(c, &plan, sectors, flush, err) ?:
		write_copies(c, &plan, j, sectors, err);
	if (ret)
		return ret;

	for (unsigned n = 0; n < plan.nr; n++) {
		struct journal_dev_pos *p = &w->dev[plan.devs[n]];

		p->bucket_seq[p->cur_idx] = w->seq;
		p->sectors_used += sectors;
	}
	journal_dev_set_note(w, plan.picked);
	if (flush) {
		w->last_seq_ondisk = le64_to_cpu(j->last_seq);
		w->need_flush = false;
	}
	w->seq++;
	bch_journal_pos_to_sb(c);
	return 0;
}

/* ---- the clean section ---- */

int bch_sb_clean_build(const struct bch_fs *c, struct bch_sb_field_clean *clean,
		       size_t u64s, struct printbuf *err)
{
	const struct journal_write_state *w = &c->journal.w;
	struct entry_cursor cur;
	int ret;

	if (!w->started || u64s < sizeof(*clean) / 8 || u64s > UINT32_MAX) {
		pb_str(err, !w->started ? "journal write state not started"
			    : "clean section buffer too small");
		return -BCH_ERR_bad_argument;
	}
	memset(clean, 0, 8 * u64s);
	clean->field.u64s = cpu_to_le32(u64s);
	clean->field.type = cpu_to_le32(BCH_SB_FIELD_clean);
	clean->journal_seq = cpu_to_le64(w->seq - 1);

	cur = (struct entry_cursor) { .pos = clean->start, .end = (u64 *)clean + u64s };
	ret = cursor_usage_clocks(&cur, w) ?: cursor_roots(&cur, c, 0);
	if (ret)
		pb_printf(err, "the roots do not fit a clean section of %zu u64s", u64s);
	return ret;
}
