/* Journal entries as text, in the layout list_journal and show-super print. */
#include <string.h>
#include <time.h>

#include "journal/journal.h"
#include "journal/jset.h"
#include "keys/key_types.h"
#include "util/names.h"

/*
 * Entries printed here may come from jsets that were never validated
 * (those outside the replay range), so nothing is read past limit: the
 * end of the jset when the caller knows it, else of the entry.  Within
 * that, a payload shorter than its type reads on into what follows, as
 * the reference's does; past it, it reads as zeroes.
 */
static void entry_copy(void *dst, size_t size, const struct jset_entry *e, const void *limit)
{
	size_t have = (const u8 *)limit - (const u8 *)e;

	memset(dst, 0, size);
	memcpy(dst, e, have < size ? have : size);
}

static void prt_name(struct printbuf *out, const char * const names[], unsigned nr,
		     const char *what, unsigned v)
{
	const char *name = bch_name_or_null(names, nr, v);

	if (name)
		pb_str(out, name);
	else
		pb_printf(out, "(unknown %s %u)", what, v);
}

static void prt_entry_type(struct printbuf *out, unsigned type)
{
	prt_name(out, bch_jset_entry_type_names, BCH_JSET_ENTRY_NR, "jset_entry_type", type);
}

/* ctime(3) form without the newline, in local time */
static void prt_datetime(struct printbuf *out, u64 seconds)
{
	time_t t = (time_t)seconds;
	char buf[64];

	if (!ctime_r(&t, buf)) {
		pb_printf(out, "%llu", (unsigned long long)seconds);
		return;
	}
	buf[strcspn(buf, "\n")] = '\0';
	pb_str(out, buf);
}

static void key_to_text(struct printbuf *out, const struct bch_fs *c,
			const struct jset_entry *e, const struct bkey_i *k)
{
	pb_printf(out, "btree=%s l=%u ",
		  e->btree_id < BTREE_ID_NR ? bch_btree_id_names[e->btree_id] : "(unknown)",
		  e->level);
	bch_bkey_val_to_text(out, c, bkey_i_to_s_c(k));
}

/*
 * A key whose value runs past the end of its entry (in a jset that was
 * not validated): the reference prints it with whatever follows.
 */
static void cut_key_to_text(struct printbuf *out, const struct bch_fs *c,
			    const struct jset_entry *e, const struct bkey_i *k,
			    const void *limit)
{
	u64 buf[BKEY_U64s_MAX] = { 0 };
	size_t have = (const u8 *)limit - (const u8 *)k;

	memcpy(buf, k, have < sizeof(buf) ? have : sizeof(buf));
	key_to_text(out, c, e, (const struct bkey_i *)buf);
}

/*
 * One key per line; lines after the first repeat the entry type, so that
 * each line reads on its own.  A key without a whole header, or of size
 * zero, ends the list.
 */
static void keys_to_text(struct printbuf *out, const struct bch_fs *c,
			 const struct jset_entry *e, const void *limit)
{
	const struct bkey_i *end = jset_entry_keys_end(e);

	for (const struct bkey_i *k = (const void *)e->_data;
	     (const u64 *)k + BKEY_U64s <= (const u64 *)end && k->k.u64s >= BKEY_U64s;
	     k = bkey_i_next(k)) {
		if (k != (const void *)e->_data) {
			pb_newline(out);
			prt_entry_type(out, e->type);
			pb_str(out, ": ");
		}
		if (bkey_i_next(k) > end) {
			cut_key_to_text(out, c, e, k, limit);
			break;
		}
		key_to_text(out, c, e, k);
	}
}

static void btree_keys_to_text(struct printbuf *out, const struct bch_fs *c,
			       const struct jset_entry *e, const void *limit)
{
	keys_to_text(out, c, e, limit);
}

static void btree_root_to_text(struct printbuf *out, const struct bch_fs *c,
			       const struct jset_entry *e, const void *limit)
{
	keys_to_text(out, c, e, limit);
}

static void overwrite_to_text(struct printbuf *out, const struct bch_fs *c,
			      const struct jset_entry *e, const void *limit)
{
	keys_to_text(out, c, e, limit);
}

static void write_buffer_keys_to_text(struct printbuf *out, const struct bch_fs *c,
				      const struct jset_entry *e, const void *limit)
{
	keys_to_text(out, c, e, limit);
}

static void prio_ptrs_to_text(struct printbuf *out, const struct bch_fs *c,
			      const struct jset_entry *e, const void *limit)
{
}

static void blacklist_to_text(struct printbuf *out, const struct bch_fs *c,
			      const struct jset_entry *e, const void *limit)
{
	struct jset_entry_blacklist bl;

	entry_copy(&bl, sizeof(bl), e, limit);
	pb_printf(out, "seq=%llu", (unsigned long long)le64_to_cpu(bl.seq));
}

static void blacklist_v2_to_text(struct printbuf *out, const struct bch_fs *c,
				 const struct jset_entry *e, const void *limit)
{
	struct jset_entry_blacklist_v2 bl;

	entry_copy(&bl, sizeof(bl), e, limit);
	pb_printf(out, "start=%llu end=%llu",
		  (unsigned long long)le64_to_cpu(bl.start),
		  (unsigned long long)le64_to_cpu(bl.end));
}

static void usage_to_text(struct printbuf *out, const struct bch_fs *c,
			  const struct jset_entry *e, const void *limit)
{
	struct jset_entry_usage u;

	entry_copy(&u, sizeof(u), e, limit);
	pb_str(out, "type=");
	prt_name(out, bch_fs_usage_type_names, BCH_FS_USAGE_NR, "fs_usage_type", e->btree_id);
	pb_printf(out, " v=%llu", (unsigned long long)le64_to_cpu(u.v));
}

static void data_usage_to_text(struct printbuf *out, const struct bch_fs *c,
			       const struct jset_entry *e, const void *limit)
{
	/* the replicas entry's device list is at most 255 bytes */
	union {
		struct jset_entry_data_usage u;
		u8 bytes[sizeof(struct jset_entry_data_usage) + 256];
	} d;

	entry_copy(&d, sizeof(d), e, limit);
	prt_name(out, bch_data_type_names, BCH_DATA_NR, "data_type", d.u.r.data_type);
	pb_printf(out, ": %u/%u [", d.u.r.nr_required, d.u.r.nr_devs);
	for (unsigned i = 0; i < d.u.r.nr_devs; i++)
		pb_printf(out, i ? " %u" : "%u", d.u.r.devs[i]);
	pb_printf(out, "]=%llu", (unsigned long long)le64_to_cpu(d.u.v));
}

static void clock_to_text(struct printbuf *out, const struct bch_fs *c,
			  const struct jset_entry *e, const void *limit)
{
	struct jset_entry_clock clock;

	entry_copy(&clock, sizeof(clock), e, limit);
	pb_printf(out, "%s=%llu", clock.rw ? "write" : "read",
		  (unsigned long long)le64_to_cpu(clock.time));
}

static void dev_usage_to_text(struct printbuf *out, const struct bch_fs *c,
			      const struct jset_entry *e, const void *limit)
{
	struct jset_entry_dev_usage u;
	size_t bytes = jset_entry_bytes(e);
	unsigned nr_types = bytes > sizeof(u)
		? (bytes - sizeof(u)) / sizeof(struct jset_entry_dev_usage_type) : 0;
	const struct jset_entry_dev_usage_type *d =
		(const void *)((const u8 *)e + sizeof(u));

	entry_copy(&u, sizeof(u), e, limit);
	pb_printf(out, "dev=%u", le32_to_cpu(u.dev));

	pb_indent_add(out, 2);
	for (unsigned i = 0; i < nr_types; i++) {
		pb_newline(out);
		prt_name(out, bch_data_type_names, BCH_DATA_NR, "data_type", i);
		pb_printf(out, ": buckets=%llu sectors=%llu fragmented=%llu",
			  (unsigned long long)le64_to_cpu(d[i].buckets),
			  (unsigned long long)le64_to_cpu(d[i].sectors),
			  (unsigned long long)le64_to_cpu(d[i].fragmented));
	}
	pb_indent_sub(out, 2);
}

static void log_to_text(struct printbuf *out, const struct bch_fs *c,
			const struct jset_entry *e, const void *limit)
{
	const struct jset_entry_log *l = (const void *)e;

	/* NUL padded to whole words: print up to the first NUL */
	pb_printf(out, "%.*s", (int)(jset_entry_bytes(e) - sizeof(*l)), (const char *)l->d);
}

static void datetime_to_text(struct printbuf *out, const struct bch_fs *c,
			     const struct jset_entry *e, const void *limit)
{
	struct jset_entry_datetime dt;

	entry_copy(&dt, sizeof(dt), e, limit);
	prt_datetime(out, le64_to_cpu(dt.seconds));
}

typedef void (*jset_entry_to_text_fn)(struct printbuf *, const struct bch_fs *,
				      const struct jset_entry *, const void *limit);

static const jset_entry_to_text_fn entry_to_text[BCH_JSET_ENTRY_NR] = {
#define x(name, nr) [nr] = name##_to_text,
	BCH_JSET_ENTRY_TYPES()
#undef x
};

void bch_jset_entry_to_text_within(struct printbuf *out, const struct bch_fs *c,
				   const struct jset_entry *e, const void *limit)
{
	prt_entry_type(out, e->type);
	if (e->type < BCH_JSET_ENTRY_NR) {
		pb_str(out, ": ");
		entry_to_text[e->type](out, c, e, limit);
	}
}

void bch_jset_entry_to_text(struct printbuf *out, const struct bch_fs *c,
			    const struct jset_entry *e)
{
	bch_jset_entry_to_text_within(out, c, e, jset_entry_next(e));
}
