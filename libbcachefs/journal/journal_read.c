/* Reading the journal from disk: every journal bucket of every device, merged by seq. */
#include <stdlib.h>
#include <string.h>

#include "checksum/checksum.h"
#include "core/fs.h"
#include "journal/journal.h"
#include "journal/journal_read.h"
#include "journal/jset.h"
#include "util/errcode.h"

/* ---- the list of entries read, sorted by seq ---- */

size_t bch_journal_entry_find(const struct bch_journal *jn, u64 seq, bool *found)
{
	size_t l = 0, r = jn->nr_entries;

	while (l < r) {
		size_t m = l + (r - l) / 2;

		if (le64_to_cpu(jn->entries[m]->j->seq) < seq)
			l = m + 1;
		else
			r = m;
	}
	*found = l < jn->nr_entries && le64_to_cpu(jn->entries[l]->j->seq) == seq;
	return l;
}

void bch_journal_replay_free(struct journal_replay *i)
{
	if (i)
		free(i->j);
	free(i);
}

static struct jset *jset_dup(const struct jset *j)
{
	struct jset *n = malloc(jset_bytes(j));

	if (n)
		memcpy(n, j, jset_bytes(j));
	return n;
}

static size_t roundup_pow2(size_t v)
{
	size_t r = 1;

	while (r < v)
		r <<= 1;
	return r;
}

/* The array's capacity is nr rounded up to a power of two (at least 8). */
static int entries_insert(struct bch_journal *jn, size_t idx, struct journal_replay *i)
{
	size_t nr = jn->nr_entries;

	if (!jn->entries || (nr >= 8 && nr == roundup_pow2(nr))) {
		struct journal_replay **n = realloc(jn->entries,
						    (nr < 8 ? 8 : 2 * nr) * sizeof(*n));

		if (!n)
			return -BCH_ERR_nomem;
		jn->entries = n;
	}
	memmove(jn->entries + idx + 1, jn->entries + idx, (nr - idx) * sizeof(*jn->entries));
	jn->entries[idx] = i;
	jn->nr_entries++;
	return 0;
}

void bch_journal_ptrs_to_text(struct printbuf *out, const struct journal_replay *i)
{
	for (unsigned p = 0; p < i->nr_ptrs; p++)
		pb_printf(out, "%s%u:%u:%u (sector %llu)", p ? " " : "",
			  i->ptrs[p].dev, i->ptrs[p].bucket, i->ptrs[p].bucket_offset,
			  (unsigned long long)i->ptrs[p].sector);
}

static void note_duplicate(struct bch_fs *c, const struct journal_replay *dup,
			   const char *what, enum bch_sb_error_id id)
{
	size_t start = c->log.pos;

	pb_printf(&c->log, "journal seq %llu: %s; copies at ",
		  (unsigned long long)le64_to_cpu(dup->j->seq), what);
	bch_journal_ptrs_to_text(&c->log, dup);
	pb_newline(&c->log);
	bch_typed_log_add(&c->log_types, &c->log, start, id);
}

/*
 * Another copy of a seq already found.  Locations are kept in the order
 * they were found; the contents are those of the first good copy.
 */
static int entry_add_copy(struct bch_fs *c, struct journal_replay *dup,
			  const struct jset *j, const struct journal_ptr *ptr)
{
	bool identical = jset_bytes(j) == jset_bytes(dup->j) &&
		!memcmp(j, dup->j, jset_bytes(j));
	bool same_device = false;

	for (unsigned p = 0; p < dup->nr_ptrs; p++)
		same_device |= dup->ptrs[p].dev == ptr->dev;

	if (dup->nr_ptrs < JOURNAL_MAX_COPIES)
		dup->ptrs[dup->nr_ptrs++] = *ptr;
	else
		pb_printf(&c->log, "journal seq %llu: more than %u copies, copy at sector %llu not recorded\n",
			  (unsigned long long)le64_to_cpu(j->seq), JOURNAL_MAX_COPIES,
			  (unsigned long long)ptr->sector);

	if (same_device)
		note_duplicate(c, dup, "found twice on the same device",
			       BCH_FSERR_journal_entry_dup_same_device);
	if (!identical && ptr->csum_good && dup->csum_good)
		note_duplicate(c, dup, "copies with good checksums differ",
			       BCH_FSERR_journal_entry_replicas_data_mismatch);

	if (ptr->csum_good && !identical) {
		struct jset *n = jset_dup(j);

		if (!n)
			return -BCH_ERR_nomem;
		free(dup->j);
		dup->j = n;
		dup->csum_good = true;
	}
	return 0;
}

int bch_journal_entry_add(struct bch_fs *c, const struct jset *j,
			  const struct journal_ptr *ptr)
{
	struct bch_journal *jn = &c->journal;
	u64 seq = le64_to_cpu(j->seq);
	bool found;
	size_t idx = bch_journal_entry_find(jn, seq, &found);

	if (seq > jn->max_seq)
		jn->max_seq = seq;
	if (found)
		return entry_add_copy(c, jn->entries[idx], j, ptr);

	struct journal_replay *i = calloc(1, sizeof(*i));

	if (!i || !(i->j = jset_dup(j))) {
		free(i);
		return -BCH_ERR_nomem;
	}
	i->ptrs[0] = *ptr;
	i->nr_ptrs = 1;
	i->csum_good = ptr->csum_good;

	int ret = entries_insert(jn, idx, i);

	if (ret)
		bch_journal_replay_free(i);
	return ret;
}

/* ---- reading one bucket ---- */

/*
 * The reference reads a bucket through a buffer that starts at 4 KiB and
 * grows to fit the biggest jset seen on the device, up to JSET_BYTES_MAX;
 * a jset claiming more than that ends the whole journal read.  Whether a
 * jset's size is ever checked against the buffer depends on how much of
 * the bucket the buffer held at that point, so that window is followed
 * here even though the bucket is read whole.
 */
struct read_window {
	size_t buf_bytes;
	unsigned sectors;	/* of the current window, from the current offset */
};

struct bucket_read {
	struct bch_fs *c;
	struct bch_dev *ca;
	unsigned idx;		/* in the device's journal ring */
	u64 start;		/* first sector of the bucket */
	unsigned sectors;	/* bucket size */
	u8 *data;
	struct read_window *win;
	struct printbuf *err;
};

enum early_result {
	JSET_FOUND,
	JSET_NONE,		/* no jset here */
};

static void where_to_text(struct printbuf *out, const struct bucket_read *b, unsigned off)
{
	pb_printf(out, "dev %u journal bucket %u (bucket %llu) sector %llu",
		  b->ca->idx, b->idx,
		  (unsigned long long)b->ca->journal_buckets[b->idx],
		  (unsigned long long)(b->start + off));
}

/* The window-driven size check; see struct read_window. */
static int window_fit(struct bucket_read *b, unsigned off, size_t bytes)
{
	struct read_window *w = b->win;
	unsigned left = b->sectors - off;

	while (bytes > ((size_t)w->sectors << 9) && w->sectors < left) {
		if (bytes > w->buf_bytes) {
			if (bytes > JSET_BYTES_MAX) {
				where_to_text(b->err, b, off);
				pb_printf(b->err, ": journal entry of %zu bytes is bigger than the %u byte maximum",
					  bytes, JSET_BYTES_MAX);
				return -BCH_ERR_journal_read;
			}
			w->buf_bytes = roundup_pow2(bytes);
		}
		w->sectors = left < (w->buf_bytes >> 9) ? left : w->buf_bytes >> 9;
	}
	return 0;
}

/*
 * Is there a jset at this offset, and how many sectors does it take?
 * A jset too big for what is left of the bucket is cut to fit, as the
 * reference does (its checksum then fails).
 */
static int jset_early(struct bucket_read *b, unsigned off, unsigned *sectors)
{
	struct bch_fs *c = b->c;
	struct jset *j = (struct jset *)(b->data + ((size_t)off << 9));
	size_t left_bytes = (size_t)(b->sectors - off) << 9;
	size_t block_bytes = (size_t)c->sb.block_size << 9;

	if (left_bytes < sizeof(*j) || le64_to_cpu(j->magic) != c->sb.jset_magic)
		return JSET_NONE;

	if (!bch_jset_version_ok(le32_to_cpu(j->version))) {
		u16 v = le32_to_cpu(j->version);

		where_to_text(b->err, b, off);
		pb_printf(b->err, " seq %llu: journal entry has unsupported version %u.%u",
			  (unsigned long long)le64_to_cpu(j->seq),
			  BCH_VERSION_MAJOR(v), BCH_VERSION_MINOR(v));
		return -BCH_ERR_journal_invalid;
	}

	int ret = window_fit(b, off, jset_bytes(j));

	if (ret)
		return ret;

	if (jset_bytes(j) > left_bytes) {
		size_t start = c->log.pos;

		c->nr_errors++;
		where_to_text(&c->log, b, off);
		pb_printf(&c->log, " seq %llu: journal entry of %zu bytes runs past the bucket end; cut short\n",
			  (unsigned long long)le64_to_cpu(j->seq), jset_bytes(j));
		bch_typed_log_add(&c->log_types, &c->log, start, BCH_FSERR_jset_past_bucket_end);
		j->u64s = cpu_to_le32(le32_to_cpu(j->u64s) - (jset_bytes(j) - left_bytes) / 8);
	}

	*sectors = ((jset_bytes(j) + block_bytes - 1) / block_bytes * block_bytes) >> 9;
	return JSET_FOUND;
}

/* A checksum as wide as its type: "f38b4666" for crc32c */
static void csum_to_text(struct printbuf *out, unsigned type, struct bch_csum csum)
{
	unsigned bytes = bch_csum_bytes(type);

	if (bytes > 8)
		pb_printf(out, "%016llx:%016llx", (unsigned long long)le64_to_cpu(csum.hi),
			  (unsigned long long)le64_to_cpu(csum.lo));
	else
		pb_printf(out, "%0*llx", (int)(bytes ? bytes : 8) * 2,
			  (unsigned long long)le64_to_cpu(csum.lo));
}

static void note_bad_csum(struct bucket_read *b, unsigned off, const struct jset *j,
			  struct bch_csum computed)
{
	struct printbuf *log = &b->c->log;
	unsigned type = jset_csum_type(j);

	b->c->nr_errors++;
	where_to_text(log, b, off);
	pb_printf(log, " seq %llu: journal checksum error (%s): stored ",
		  (unsigned long long)le64_to_cpu(j->seq), bch_csum_type_name(type));
	csum_to_text(log, type, j->csum);
	pb_str(log, ", computed ");
	csum_to_text(log, type, computed);
	pb_newline(log);
}

static int found_jset(struct bucket_read *b, unsigned off, bool *saw_bad)
{
	struct jset *j = (struct jset *)(b->data + ((size_t)off << 9));
	struct bch_csum computed;
	bool good = bch_jset_csum_good(j, &computed);

	if (bch_csum_type_is_encryption(jset_csum_type(j))) {
		where_to_text(b->err, b, off);
		pb_str(b->err, ": the journal is encrypted");
		return -BCH_ERR_encrypted;
	}
	if (!good) {
		note_bad_csum(b, off, j, computed);
		*saw_bad = true;
	}

	struct journal_ptr ptr = {
		.dev		= b->ca->idx,
		.bucket		= b->idx,
		.bucket_offset	= off,
		.sector		= b->start + off,
		.csum_good	= good,
	};

	return bch_journal_entry_add(b->c, j, &ptr);
}

/*
 * Walks the jsets of one bucket.  The bucket ends at the first position
 * without a jset, or where seq goes backwards (older entries not yet
 * overwritten).  After a checksum error the sizes found are not trusted
 * so much: a position without a jset then only moves on one block.
 */
static int read_bucket_jsets(struct bucket_read *b)
{
	u64 bucket_seq = 0;
	bool saw_bad = false;
	unsigned off = 0, sectors;

	b->win->sectors = 0;
	while (off < b->sectors) {
		if (!b->win->sectors) {
			unsigned left = b->sectors - off;

			b->win->sectors = left < (b->win->buf_bytes >> 9)
				? left : b->win->buf_bytes >> 9;
		}

		int ret = jset_early(b, off, &sectors);

		if (ret < 0)
			return ret;
		if (ret == JSET_NONE) {
			if (!saw_bad)
				break;
			sectors = b->c->sb.block_size;
		} else {
			const struct jset *j = (const void *)(b->data + ((size_t)off << 9));

			if (le64_to_cpu(j->seq) < bucket_seq)
				break;
			bucket_seq = le64_to_cpu(j->seq);

			ret = found_jset(b, off, &saw_bad);
			if (ret)
				return ret;
		}
		off += sectors;
		b->win->sectors -= sectors < b->win->sectors ? sectors : b->win->sectors;
	}
	return 0;
}

int bch_journal_scan_bucket(struct bch_fs *c, struct bch_dev *ca, unsigned idx,
			    u8 *data, size_t *read_buf_bytes, struct printbuf *err)
{
	struct read_window win = { .buf_bytes = *read_buf_bytes };
	struct bucket_read b = {
		.c = c, .ca = ca, .idx = idx, .data = data, .win = &win, .err = err,
		.sectors = ca->mi.bucket_size,
		.start = ca->journal_buckets[idx] * ca->mi.bucket_size,
	};
	int ret = read_bucket_jsets(&b);

	*read_buf_bytes = win.buf_bytes;
	return ret;
}

static int read_bucket(struct bch_fs *c, struct bch_dev *ca, unsigned idx, u8 *data,
		       size_t *read_buf_bytes, struct printbuf *err)
{
	struct printbuf msg = PRINTBUF;
	unsigned sectors = ca->mi.bucket_size;
	int ret = bch_dev_pread(ca, data, (size_t)sectors << 9,
				(ca->journal_buckets[idx] * sectors) << 9, &msg);

	if (ret) {
		/* another device may hold the same entries: go on */
		c->nr_errors++;
		pb_printf(&c->log, "dev %u journal bucket %u (bucket %llu): journal read error: %s\n",
			  ca->idx, idx, (unsigned long long)ca->journal_buckets[idx], pb_cstr(&msg));
		pb_exit(&msg);
		return 0;
	}
	pb_exit(&msg);
	return bch_journal_scan_bucket(c, ca, idx, data, read_buf_bytes, err);
}

static bool dev_journal_readable(const struct bch_fs *c, const struct bch_dev *ca)
{
	unsigned state = ca->mi.state;

	return state == BCH_MEMBER_STATE_rw || state == BCH_MEMBER_STATE_ro;
}

static int read_device(struct bch_fs *c, struct bch_dev *ca, struct printbuf *err)
{
	/* the reference's read buffer starts at one page */
	size_t read_buf_bytes = 4096;
	int ret = 0;

	if (!ca->mi.bucket_size || !c->sb.block_size)
		return 0;

	u8 *data = malloc((size_t)ca->mi.bucket_size << 9);

	if (!data)
		return -BCH_ERR_nomem;
	for (unsigned idx = 0; idx < ca->nr_journal_buckets && !ret; idx++)
		ret = read_bucket(c, ca, idx, data, &read_buf_bytes, err);
	free(data);
	return ret;
}

static int read_devices(struct bch_fs *c, struct printbuf *err)
{
	for (unsigned d = 0; d < BCH_SB_MEMBERS_MAX; d++) {
		struct bch_dev *ca = c->devs[d];
		int ret;

		if (!ca || !ca->journal_buckets || !dev_journal_readable(c, ca))
			continue;
		ret = read_device(c, ca, err);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Entries the superblock blacklists are not replayed, and list_journal
 * marks them, whether or not they are in the replay range.
 */
static void mark_sb_blacklisted(struct bch_fs *c)
{
	for (size_t n = 0; n < c->journal.nr_entries; n++) {
		struct journal_replay *i = c->journal.entries[n];

		if (bch_sb_journal_seq_blacklisted(c, le64_to_cpu(i->j->seq)))
			i->ignore_blacklisted = true;
	}
}

int bch_journal_read(struct bch_fs *c, struct printbuf *err)
{
	bch_journal_exit(&c->journal);

	int ret = read_devices(c, err);

	if (ret)
		return ret;

	bch_journal_choose_range(c);
	ret = bch_journal_validate_range(c, err);
	if (ret)
		return ret;

	mark_sb_blacklisted(c);
	c->journal.read_done = true;
	return 0;
}

void bch_journal_exit(struct bch_journal *jn)
{
	for (size_t n = 0; n < jn->nr_entries; n++)
		bch_journal_replay_free(jn->entries[n]);
	free(jn->entries);

	for (size_t n = 0; n < jn->keys.nr; n++)
		if (jn->keys.data[n].allocated)
			free(jn->keys.data[n].k);
	free(jn->keys.data);
	free(jn->blacklist);
	/* the write position is the writer's (bch_journal_write_exit) */
	struct journal_write_state w = jn->w;
	*jn = (struct bch_journal) { .w = w };
}
