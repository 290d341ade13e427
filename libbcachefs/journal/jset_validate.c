/* Validating jsets: header and per-entry-type checks, and the repairs the reference makes. */
#include <stddef.h>
#include <string.h>

#include "checksum/checksum.h"
#include "journal/jset.h"
#include "keys/accounting.h"
#include "keys/key_types.h"
#include "util/errcode.h"
#include "util/names.h"
#include "util/typed_log.h"

bool bch_jset_csum_good(const struct jset *j, struct bch_csum *computed)
{
	unsigned type = jset_csum_type(j);

	*computed = (struct bch_csum) { 0 };
	if (!bch_csum_type_valid(type) || bch_csum_type_is_encryption(type))
		return false;

	/* covers everything after the csum field itself */
	*computed = bch_checksum(type, jset_nonce(j), &j->magic,
				 jset_bytes(j) - offsetof(struct jset, magic));
	return bch_csum_eq(*computed, j->csum);
}

void bch_jset_validate_ctx_init(struct jset_validate_ctx *ctx, const struct bch_fs *c,
				struct printbuf *log, struct jset *j,
				const struct journal_ptr *ptr)
{
	*ctx = (struct jset_validate_ctx) {
		.c = c, .log = log, .j = j, .ptr = ptr,
		.version = c->sb.version,
	};
	if (j) {
		ctx->area = (const u64 *)j->start;
		ctx->area_u64s = le32_to_cpu(j->u64s);
		ctx->version = le32_to_cpu(j->version);
	}
}

void bch_jset_err_prefix(struct jset_validate_ctx *ctx, const struct jset_entry *e)
{
	struct printbuf *out = ctx->log;

	if (!ctx->j)
		pb_str(out, "superblock clean section");
	else if (ctx->ptr)
		pb_printf(out, "journal seq %llu (dev %u bucket %u sector %llu)",
			  (unsigned long long)le64_to_cpu(ctx->j->seq), ctx->ptr->dev,
			  ctx->ptr->bucket, (unsigned long long)ctx->ptr->sector);
	else
		pb_printf(out, "journal seq %llu",
			  (unsigned long long)le64_to_cpu(ctx->j->seq));

	if (e) {
		const char *name = bch_name_or_null(bch_jset_entry_type_names,
						    BCH_JSET_ENTRY_NR, e->type);

		pb_str(out, ", ");
		if (name)
			pb_str(out, name);
		else
			pb_printf(out, "type %u", e->type);
		pb_printf(out, " entry at word %zu of %u",
			  (size_t)((const u64 *)e - ctx->area), ctx->area_u64s);
	}
	pb_str(out, ": ");
}

__attribute__((format(printf, 4, 5)))
static void entry_err(struct jset_validate_ctx *ctx, const struct jset_entry *e,
		      enum bch_sb_error_id id, const char *fmt, ...)
{
	size_t start = ctx->log->pos;
	va_list args;

	bch_jset_err_prefix(ctx, e);
	va_start(args, fmt);
	pb_vprintf(ctx->log, fmt, args);
	va_end(args);
	pb_newline(ctx->log);
	if (ctx->types)
		bch_typed_log_add(ctx->types, ctx->log, start, id);
	ctx->nr_repaired++;
}

/*
 * Turns [start, end) into empty entries: every word becomes a zeroed entry
 * header, so whatever walks the entries steps over the range 8 bytes at
 * a time and the sizes around it stay valid.
 */
static void null_range(void *start, void *end)
{
	memset(start, 0, (u8 *)end - (u8 *)start);
}

static void null_entry(struct jset_entry *e)
{
	null_range(e, jset_entry_next(e));
}

/* Ends the entry just before k; the words cut off become empty entries. */
static void truncate_at_key(struct jset_entry *e, struct bkey_i *k)
{
	void *old_end = jset_entry_next(e);

	e->u64s = cpu_to_le16((u64 *)k - e->_data);
	null_range(jset_entry_next(e), old_end);
}

/* Removes key k, closing the gap; the freed words at the end become empty entries. */
static void delete_key(struct jset_entry *e, struct bkey_i *k)
{
	void *old_end = jset_entry_next(e);
	unsigned u64s = k->k.u64s;

	memmove(k, bkey_i_next(k), (u8 *)old_end - (u8 *)bkey_i_next(k));
	e->u64s = cpu_to_le16(le16_to_cpu(e->u64s) - u64s);
	null_range(jset_entry_next(e), old_end);
}

/*
 * Checks one key; a bad key is removed (returns true), as the reference
 * always deletes invalid keys found in the journal.
 */
static bool key_removed(struct jset_validate_ctx *ctx, struct jset_entry *e,
			struct bkey_i *k, const struct bkey_where *where)
{
	if (!k->k.u64s) {
		entry_err(ctx, e, BCH_FSERR_journal_entry_bkey_u64s_0, "key with u64s 0, entry cut short");
		truncate_at_key(e, k);
		return true;
	}
	if ((u64 *)bkey_i_next(k) > (u64 *)jset_entry_keys_end(e)) {
		entry_err(ctx, e, BCH_FSERR_journal_entry_bkey_past_end, "key of %u u64s runs past the end of the entry, entry cut short",
			  k->k.u64s);
		truncate_at_key(e, k);
		return true;
	}
	if (bkey_format_of(&k->k) != KEY_FORMAT_CURRENT) {
		entry_err(ctx, e, BCH_FSERR_journal_entry_bkey_bad_format, "key in packed format %u, expected unpacked; key deleted",
			  bkey_format_of(&k->k));
		delete_key(e, k);
		return true;
	}
	if (k->k.u64s < BKEY_U64s) {
		entry_err(ctx, e, BCH_FSERR_bkey_u64s_too_small, "key of %u u64s is smaller than a key header; key deleted",
			  k->k.u64s);
		delete_key(e, k);
		return true;
	}

	struct printbuf err = PRINTBUF;
	enum bch_sb_error_id id = BCH_FSERR_journal_entry_bkey_invalid;
	int ret = bch_bkey_validate_id(ctx->c, bkey_i_to_s_c(k), where, &err, &id);

	if (ret) {
		struct printbuf key = PRINTBUF;

		bch_bkey_val_to_text(&key, ctx->c, bkey_i_to_s_c(k));
		entry_err(ctx, e, id, "invalid key %s: %s; key deleted", pb_cstr(&key), pb_cstr(&err));
		pb_exit(&key);
		delete_key(e, k);
	}
	pb_exit(&err);
	return ret != 0;
}

static int validate_keys_at(struct jset_validate_ctx *ctx, struct jset_entry *e,
			    unsigned level, bool from_journal)
{
	struct bkey_where where = {
		.btree = e->btree_id, .level = level, .from_journal = from_journal,
	};
	struct bkey_i *k = (struct bkey_i *)e->_data;

	while (k < jset_entry_keys_end(e))
		if (!key_removed(ctx, e, k, &where))
			k = bkey_i_next(k);
	return 0;
}

static int validate_btree_keys(struct jset_validate_ctx *ctx, struct jset_entry *e)
{
	return validate_keys_at(ctx, e, e->level, true);
}

static int validate_overwrite(struct jset_validate_ctx *ctx, struct jset_entry *e)
{
	return validate_keys_at(ctx, e, e->level, true);
}

static int validate_write_buffer_keys(struct jset_validate_ctx *ctx, struct jset_entry *e)
{
	return validate_keys_at(ctx, e, e->level, true);
}

/*
 * A root entry holds exactly one key.  When it does not, the payload is
 * emptied but the header kept: an empty root entry means "this btree has
 * a root, and it cannot be read".  The key is checked as a pointer from
 * an interior node (level 1), whatever the root's level.
 */
static int validate_btree_root(struct jset_validate_ctx *ctx, struct jset_entry *e)
{
	struct bkey_i *k = (struct bkey_i *)e->_data;
	unsigned u64s = le16_to_cpu(e->u64s);

	if (!u64s || u64s != k->k.u64s) {
		void *old_end = jset_entry_next(e);

		entry_err(ctx, e, BCH_FSERR_journal_entry_btree_root_bad_size, "btree root entry of %u u64s does not hold exactly one key; emptied",
			  u64s);
		e->u64s = 0;
		null_range(jset_entry_next(e), old_end);
		return 0;
	}
	return validate_keys_at(ctx, e, 1, false);
}

static int validate_prio_ptrs(struct jset_validate_ctx *ctx, struct jset_entry *e)
{
	return 0;	/* obsolete type, never read */
}

static int validate_blacklist(struct jset_validate_ctx *ctx, struct jset_entry *e)
{
	if (le16_to_cpu(e->u64s) != 1) {
		entry_err(ctx, e, BCH_FSERR_journal_entry_blacklist_bad_size, "blacklist entry has %u u64s, expected 1; dropped",
			  le16_to_cpu(e->u64s));
		null_entry(e);
	}
	return 0;
}

static int validate_blacklist_v2(struct jset_validate_ctx *ctx, struct jset_entry *e)
{
	const struct jset_entry_blacklist_v2 *bl = (const void *)e;

	if (le16_to_cpu(e->u64s) != 2) {
		entry_err(ctx, e, BCH_FSERR_journal_entry_blacklist_v2_bad_size, "blacklist_v2 entry has %u u64s, expected 2; dropped",
			  le16_to_cpu(e->u64s));
		null_entry(e);
	} else if (le64_to_cpu(bl->start) > le64_to_cpu(bl->end)) {
		entry_err(ctx, e, BCH_FSERR_journal_entry_blacklist_v2_start_past_end, "blacklist_v2 start %llu > end %llu; dropped",
			  (unsigned long long)le64_to_cpu(bl->start),
			  (unsigned long long)le64_to_cpu(bl->end));
		null_entry(e);
	}
	return 0;
}

/* Drops e if it is smaller than the fixed part of its type. */
static bool too_small(struct jset_validate_ctx *ctx, struct jset_entry *e, size_t min,
		      enum bch_sb_error_id id)
{
	if (jset_entry_bytes(e) >= min)
		return false;
	entry_err(ctx, e, id, "entry of %zu bytes, expected at least %zu; dropped",
		  jset_entry_bytes(e), min);
	null_entry(e);
	return true;
}

static int validate_usage(struct jset_validate_ctx *ctx, struct jset_entry *e)
{
	too_small(ctx, e, sizeof(struct jset_entry_usage), BCH_FSERR_journal_entry_usage_bad_size);
	return 0;
}

static const char *replicas_problem(const struct bch_fs *c,
				    const struct bch_replicas_entry_v1 *r)
{
	if (!r->nr_devs)
		return "no devices";
	if (r->nr_required > 1 && r->nr_required >= r->nr_devs)
		return "bad nr_required";
	return bch_replicas_devs_exist(c, r) ? NULL : "nonexistent device";
}

/* header, value and replicas entry header: 19 bytes, the on-disk struct being packed */
#define DATA_USAGE_FIXED_BYTES	(offsetof(struct jset_entry_data_usage, r) + \
				 sizeof(struct bch_replicas_entry_v1))

static int validate_data_usage(struct jset_validate_ctx *ctx, struct jset_entry *e)
{
	const struct jset_entry_data_usage *u = (const void *)e;

	if (too_small(ctx, e, DATA_USAGE_FIXED_BYTES, BCH_FSERR_journal_entry_data_usage_bad_size) ||
	    too_small(ctx, e, DATA_USAGE_FIXED_BYTES + u->r.nr_devs,
		      BCH_FSERR_journal_entry_data_usage_bad_size))
		return 0;

	const char *problem = replicas_problem(ctx->c, &u->r);

	if (problem) {
		entry_err(ctx, e, BCH_FSERR_journal_entry_data_usage_bad_size, "data_usage replicas entry: %s; dropped", problem);
		null_entry(e);
	}
	return 0;
}

static int validate_clock(struct jset_validate_ctx *ctx, struct jset_entry *e)
{
	const struct jset_entry_clock *clock = (const void *)e;

	if (jset_entry_bytes(e) != sizeof(*clock)) {
		entry_err(ctx, e, BCH_FSERR_journal_entry_clock_bad_size, "clock entry of %zu bytes, expected %zu; dropped",
			  jset_entry_bytes(e), sizeof(*clock));
		null_entry(e);
	} else if (clock->rw > 1) {
		entry_err(ctx, e, BCH_FSERR_journal_entry_clock_bad_rw, "clock entry for rw %u (0 read, 1 write); dropped", clock->rw);
		null_entry(e);
	}
	return 0;
}

static int validate_dev_usage(struct jset_validate_ctx *ctx, struct jset_entry *e)
{
	const struct jset_entry_dev_usage *u = (const void *)e;

	if (too_small(ctx, e, sizeof(*u), BCH_FSERR_journal_entry_dev_usage_bad_size))
		return 0;
	if (u->pad) {
		entry_err(ctx, e, BCH_FSERR_journal_entry_dev_usage_bad_pad, "dev_usage entry with nonzero pad; dropped");
		null_entry(e);
	}
	return 0;
}

static int validate_log(struct jset_validate_ctx *ctx, struct jset_entry *e)
{
	return 0;	/* free text */
}

static int validate_datetime(struct jset_validate_ctx *ctx, struct jset_entry *e)
{
	/* recorded as the kernel records it, under dev_usage */
	too_small(ctx, e, sizeof(struct jset_entry_datetime), BCH_FSERR_journal_entry_dev_usage_bad_size);
	return 0;
}

typedef int (*jset_entry_validate_fn)(struct jset_validate_ctx *, struct jset_entry *);

static const jset_entry_validate_fn entry_validators[BCH_JSET_ENTRY_NR] = {
#define x(name, nr) [nr] = validate_##name,
	BCH_JSET_ENTRY_TYPES()
#undef x
};

int bch_jset_entry_validate(struct jset_validate_ctx *ctx, struct jset_entry *e)
{
	/* unknown types are kept and skipped: newer versions may add some */
	return e->type < BCH_JSET_ENTRY_NR ? entry_validators[e->type](ctx, e) : 0;
}

static void validate_header(struct jset_validate_ctx *ctx)
{
	struct jset *j = ctx->j;

	if (!bch_csum_type_valid(jset_csum_type(j))) {
		size_t start = ctx->log->pos;

		bch_jset_err_prefix(ctx, NULL);
		pb_printf(ctx->log, "unknown checksum type %llu\n",
			  (unsigned long long)jset_csum_type(j));
		if (ctx->types)
			bch_typed_log_add(ctx->types, ctx->log, start, BCH_FSERR_jset_unknown_csum);
	}

	/* a noflush entry's last_seq is meaningless */
	if (!jset_no_flush(j) && le64_to_cpu(j->last_seq) > le64_to_cpu(j->seq)) {
		size_t start = ctx->log->pos;

		bch_jset_err_prefix(ctx, NULL);
		pb_printf(ctx->log, "last_seq %llu newer than seq; set to seq\n",
			  (unsigned long long)le64_to_cpu(j->last_seq));
		j->last_seq = j->seq;
		if (ctx->types)
			bch_typed_log_add(ctx->types, ctx->log, start,
					  BCH_FSERR_jset_last_seq_newer_than_seq);
		ctx->nr_repaired++;
	}
}

int bch_jset_validate(struct jset_validate_ctx *ctx)
{
	struct jset *j = ctx->j;
	void *end = jset_entries_end(j);
	int ret = 0;

	if (!bch_jset_version_ok(le32_to_cpu(j->version))) {
		bch_jset_err_prefix(ctx, NULL);
		pb_printf(ctx->log, "unsupported metadata version %u.%u\n",
			  BCH_VERSION_MAJOR(ctx->version), BCH_VERSION_MINOR(ctx->version));
		return -BCH_ERR_journal_invalid;
	}
	validate_header(ctx);

	for (struct jset_entry *e = j->start; (void *)e < end; e = jset_entry_next(e)) {
		if (!jset_entry_fits(e, end)) {
			entry_err(ctx, e, BCH_FSERR_journal_entry_past_jset_end, "entry runs past the end of the jset; jset cut short");
			j->u64s = cpu_to_le32((u64 *)e - (u64 *)j->start);
			break;
		}
		ret = bch_jset_entry_validate(ctx, e);
		if (ret)
			break;
	}
	return ret;
}
