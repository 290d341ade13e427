/* Changing a journal entry where it lies on disk, for tests of the journal read and fsck. */
#include <stdlib.h>
#include <string.h>

#include "checksum/checksum.h"
#include "core/fs.h"
#include "debug/journal_edit.h"
#include "debug/key_edit.h"
#include "journal/journal_read.h"
#include "journal/jset.h"
#include "util/errcode.h"
#include "util/names.h"

enum edit_level { EDIT_JSET, EDIT_ENTRY, EDIT_KEY };

/* A named field: where it lies in the object of its level, and the names VALUE may use. */
struct named_field {
	enum edit_level level;
	const char *name;
	unsigned offset, bytes;
	const char *const *value_names;
	unsigned nr_value_names;
};

static const struct named_field named_fields[] = {
	{ EDIT_JSET,  "u64s",		offsetof(struct jset, u64s),	  4 },
	{ EDIT_JSET,  "version",	offsetof(struct jset, version),	  4 },
	{ EDIT_JSET,  "last_seq",	offsetof(struct jset, last_seq),  8 },
	{ EDIT_JSET,  "flags",		offsetof(struct jset, flags),	  4 },
	{ EDIT_ENTRY, "u64s",		offsetof(struct jset_entry, u64s), 2 },
	{ EDIT_ENTRY, "btree_id",	offsetof(struct jset_entry, btree_id), 1,
	  bch_btree_id_names, BTREE_ID_NR },
	{ EDIT_ENTRY, "level",		offsetof(struct jset_entry, level), 1 },
	{ EDIT_ENTRY, "type",		offsetof(struct jset_entry, type), 1,
	  bch_jset_entry_type_names, BCH_JSET_ENTRY_NR },
	{ EDIT_KEY,   "u64s",		offsetof(struct bkey, u64s),	  1 },
	{ EDIT_KEY,   "format",		offsetof(struct bkey, format_whiteout), 1 },
	{ EDIT_KEY,   "type",		offsetof(struct bkey, type),	  1,
	  bch_bkey_type_names, KEY_TYPE_MAX },
	{ EDIT_KEY,   "size",		offsetof(struct bkey, size),	  4 },
};

static const char *const width_names[] = { NULL, "u8", "u16", NULL, "u32", NULL, NULL, NULL, "u64" };

/*
 * FIELD=VALUE on obj (size bytes): a named field becomes WIDTH@OFF, a
 * VALUE naming a btree, entry type or key type becomes its number.
 */
static int set_field(void *obj, size_t size, enum edit_level level, const char *assign,
		     struct printbuf *err)
{
	const char *eq = strchr(assign, '=');
	size_t len = eq ? (size_t)(eq - assign) : 0;

	if (!eq || memchr(assign, '@', len))
		return bch_bytes_set_field(obj, size, assign, err);

	for (unsigned i = 0; i < sizeof(named_fields) / sizeof(named_fields[0]); i++) {
		const struct named_field *f = &named_fields[i];
		struct printbuf raw = PRINTBUF;
		int v = -1, ret;

		if (f->level != level || strlen(f->name) != len || memcmp(f->name, assign, len))
			continue;
		if (f->value_names)
			v = bch_name_index(f->value_names, f->nr_value_names, eq + 1);
		if (v >= 0)
			pb_printf(&raw, "%s@%u=%d", width_names[f->bytes], f->offset, v);
		else
			pb_printf(&raw, "%s@%u=%s", width_names[f->bytes], f->offset, eq + 1);
		ret = bch_bytes_set_field(obj, size, pb_cstr(&raw), err);
		pb_exit(&raw);
		return ret;
	}
	pb_printf(err, "%s: no such field of a %s", assign,
		  level == EDIT_JSET ? "jset" : level == EDIT_ENTRY ? "journal entry" : "key");
	return -BCH_ERR_bad_argument;
}

/* Whether entry counts among those e->entry indexes. */
static bool entry_matches(const struct bch_journal_edit *e, const struct jset_entry *entry)
{
	return (e->entry_type < 0 || entry->type == e->entry_type) &&
	       (e->btree < 0 || (jset_entry_has_keys(entry->type) && entry->btree_id == e->btree));
}

/* Whether j holds the entry e names (as read, repaired or not: the same places). */
static bool jset_has_entry(const struct jset *j, const struct bch_journal_edit *e)
{
	const u64 *end = jset_entries_end(j);
	int i = 0;

	for (const struct jset_entry *entry = j->start; (const u64 *)(entry + 1) <= end;
	     entry = jset_entry_next(entry))
		if (entry_matches(e, entry) && i++ == e->entry)
			return true;
	return false;
}

/* The object e names in j: its start and how many bytes it may span. */
static int find_target(struct jset *j, const struct bch_journal_edit *e, void **obj,
		       size_t *size, struct printbuf *out, struct printbuf *err)
{
	u64 *end = jset_entries_end(j);
	struct jset_entry *entry = j->start;
	int i;

	pb_printf(out, "journal seq %llu", (unsigned long long)e->seq);
	if (e->entry < 0) {
		*obj = j;
		*size = sizeof(*j);
		return 0;
	}
	for (i = 0; (u64 *)(entry + 1) <= end; entry = jset_entry_next(entry)) {
		if (!entry_matches(e, entry))
			continue;
		if (i++ == e->entry)
			break;
	}
	if ((u64 *)(entry + 1) > end) {
		pb_printf(err, "journal seq %llu has %d entries%s, no entry %d",
			  (unsigned long long)e->seq, i,
			  e->entry_type >= 0 || e->btree >= 0 ? " of that kind" : "", e->entry);
		return -BCH_ERR_not_found;
	}
	pb_printf(out, " entry %d (%s", e->entry,
		  bch_name_or_null(bch_jset_entry_type_names, BCH_JSET_ENTRY_NR, entry->type) ?: "unknown type");
	if (jset_entry_has_keys(entry->type))
		pb_printf(out, " %s", bch_name_or_null(bch_btree_id_names, BTREE_ID_NR, entry->btree_id) ?: "?");
	pb_char(out, ')');
	if (e->key < 0) {
		*obj = entry;
		*size = (u8 *)end - (u8 *)entry;
		return 0;
	}

	struct bkey_i *k = (struct bkey_i *)entry->_data;
	u64 *keys_end = (u64 *)jset_entry_keys_end(entry);

	if (!jset_entry_has_keys(entry->type)) {
		pb_printf(err, "entry %d of journal seq %llu does not hold keys",
			  e->entry, (unsigned long long)e->seq);
		return -BCH_ERR_bad_argument;
	}
	for (i = 0; i < e->key && (u64 *)k < keys_end && k->k.u64s; i++)
		k = bkey_i_next(k);
	if ((u64 *)k + BKEY_U64s > keys_end || (u64 *)k + BKEY_U64s > end) {
		pb_printf(err, "entry %d of journal seq %llu has %d keys, no key %d",
			  e->entry, (unsigned long long)e->seq, i, e->key);
		return -BCH_ERR_not_found;
	}
	pb_printf(out, " key %d", e->key);
	*obj = k;
	*size = (u8 *)end - (u8 *)k;
	return 0;
}

/* Reads the copy at ptr whole (every block it spans, as edited), in *buf. */
static int read_copy(const struct bch_dev *ca, const struct journal_ptr *ptr, size_t block,
		     u8 **buf, size_t *bytes, size_t want, struct printbuf *err)
{
	size_t n = (want + block - 1) / block * block;
	u8 *p;
	int ret;

	if (n <= *bytes)
		return 0;
	if (n > JSET_BYTES_MAX) {
		pb_printf(err, "journal entry of %zu bytes: larger than a journal entry can be", want);
		return -BCH_ERR_bad_argument;
	}
	if (!(p = realloc(*buf, n)))
		return -BCH_ERR_nomem;
	*buf = p;
	ret = bch_dev_pread(ca, p + *bytes, n - *bytes, (ptr->sector << 9) + *bytes, err);
	if (!ret)
		*bytes = n;
	return ret;
}

static int edit_copy(struct bch_fs *c, const struct bch_journal_edit *e,
		     const struct journal_ptr *ptr, struct printbuf *out,
		     struct printbuf *err)
{
	const struct bch_dev *ca = bch_dev_get(c, ptr->dev);
	size_t block = (size_t)c->sb.block_size << 9, bytes = 0, size;
	u8 *buf = NULL;
	struct printbuf what = PRINTBUF;
	struct jset *j;
	void *obj;
	int ret;

	if (!ca) {
		pb_printf(err, "journal seq %llu: device %u is not open",
			  (unsigned long long)e->seq, ptr->dev);
		return -BCH_ERR_bad_argument;
	}
	ret = read_copy(ca, ptr, block, &buf, &bytes, sizeof(*j), err);
	j = (struct jset *)buf;
	if (!ret && le64_to_cpu(j->seq) != e->seq) {
		pb_printf(err, "%s sector %llu: holds journal seq %llu, not %llu", ca->path,
			  (unsigned long long)ptr->sector, (unsigned long long)le64_to_cpu(j->seq),
			  (unsigned long long)e->seq);
		ret = -BCH_ERR_journal_invalid;
	}
	ret = ret ?: read_copy(ca, ptr, block, &buf, &bytes, jset_bytes(j), err);
	if (ret)
		goto out;
	j = (struct jset *)buf;
	size_t old_bytes = jset_bytes(j);

	ret = find_target(j, e, &obj, &size, &what, err);
	for (unsigned i = 0; i < e->nr_sets && !ret; i++)
		ret = set_field(obj, size, e->entry < 0 ? EDIT_JSET : e->key < 0 ? EDIT_ENTRY : EDIT_KEY,
				e->sets[i], err);
	/* a bigger jset takes in the bytes after it, as a reader would */
	ret = ret ?: read_copy(ca, ptr, block, &buf, &bytes, jset_bytes((struct jset *)buf), err);
	if (ret)
		goto out;
	j = (struct jset *)buf;
	if (!e->keep_csum) {
		struct bch_csum csum;

		if (!bch_csum_type_valid(jset_csum_type(j)) ||
		    bch_csum_type_is_encryption(jset_csum_type(j))) {
			pb_printf(err, "journal seq %llu: checksum type %u cannot be computed here",
				  (unsigned long long)e->seq, (unsigned)jset_csum_type(j));
			ret = -BCH_ERR_bad_argument;
			goto out;
		}
		bch_jset_csum_good(j, &csum);
		j->csum = csum;
	}
	ret = bch_dev_pwrite(ca, buf, bytes, ptr->sector << 9, err) ?: bch_dev_flush(ca, err);
	if (!ret)
		pb_printf(out, "%s: %s sector %llu, %zu bytes (was %zu)%s\n", pb_cstr(&what), ca->path,
			  (unsigned long long)ptr->sector, jset_bytes(j), old_bytes,
			  e->keep_csum ? ", old checksum kept" : "");
out:
	pb_exit(&what);
	free(buf);
	return ret;
}

int bch_journal_edit(struct bch_fs *c, const struct bch_journal_edit *e,
		     struct printbuf *out, struct printbuf *err)
{
	const struct journal_replay *r = NULL;
	struct bch_journal_edit found = *e;
	int ret = 0;

	if (e->seq) {
		bool have;
		size_t idx = bch_journal_entry_find(&c->journal, e->seq, &have);

		r = have ? c->journal.entries[idx] : NULL;
		if (!r) {
			pb_printf(err, "no journal entry with seq %llu was read",
				  (unsigned long long)e->seq);
			return -BCH_ERR_not_found;
		}
	} else {
		for (size_t n = 0; n < c->journal.nr_entries && !r; n++)
			if (!journal_replay_ignore(c->journal.entries[n]) &&
			    jset_has_entry(c->journal.entries[n]->j, e))
				r = c->journal.entries[n];
		if (!r) {
			pb_str(err, "no journal entry of the replay range holds such an entry");
			return -BCH_ERR_not_found;
		}
		found.seq = le64_to_cpu(r->j->seq);
	}
	unsigned edited = 0;

	for (unsigned i = 0; i < r->nr_ptrs && !ret; i++)
		if (e->dev < 0 || r->ptrs[i].dev == (unsigned)e->dev) {
			ret = edit_copy(c, &found, &r->ptrs[i], out, err);
			edited++;
		}
	if (!ret && !edited) {
		pb_printf(err, "journal entry %llu has no copy on device %d",
			  (unsigned long long)found.seq, e->dev);
		ret = -BCH_ERR_not_found;
	}
	return ret;
}
