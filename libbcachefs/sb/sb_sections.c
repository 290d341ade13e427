/* The smaller field sections: crypt, quota, clean, counters, errors, ext, downgrade. */
#include <string.h>

#include "journal/journal.h"
#include "sb/sb.h"
#include "sb/sb_fields.h"
#include "sb/sb_names.h"
#include "util/errcode.h"
#include "util/names.h"

/*
 * A section's fixed part, zero-extended when the section is shorter (a
 * damaged one is printed too, after the message saying what is wrong).
 */
static void field_copy(void *dst, size_t size, const struct bch_sb_field *f)
{
	size_t bytes = sb_field_bytes(f);

	memset(dst, 0, size);
	memcpy(dst, f, bytes < size ? bytes : size);
}

static int size_at_least(const struct bch_sb_field *f, size_t want, struct printbuf *err)
{
	if (sb_field_bytes(f) >= want)
		return 0;
	pb_printf(err, "wrong size (got %zu should be %zu)", sb_field_bytes(f), want);
	return -BCH_ERR_sb_invalid;
}

/* crypt: only the scrypt key derivation (kdf type 0) exists */
static int crypt_validate(const struct bch_sb *sb, const struct bch_sb_field *f,
			  struct printbuf *err)
{
	const struct bch_sb_field_crypt *c = (const void *)f;
	int ret = size_at_least(f, sizeof(*c), err);

	if (ret)
		return ret;
	if (crypt_kdf_type(c)) {
		pb_printf(err, "bad kdf type %llu", (unsigned long long)crypt_kdf_type(c));
		return -BCH_ERR_sb_invalid;
	}
	return 0;
}

/* scrypt parameters are stored as log2 */
static void crypt_to_text(struct printbuf *out, const struct bch_sb *sb,
			  const struct bch_sb_field *f)
{
	struct bch_sb_field_crypt crypt, *c = &crypt;

	field_copy(c, sizeof(*c), f);
	pb_printf(out, "KFD:               %llu\n", (unsigned long long)crypt_kdf_type(c));
	pb_printf(out, "scrypt n:          %llu\n", (unsigned long long)crypt_scrypt_n(c));
	pb_printf(out, "scrypt r:          %llu\n", (unsigned long long)crypt_scrypt_r(c));
	pb_printf(out, "scrypt p:          %llu\n", (unsigned long long)crypt_scrypt_p(c));
}

static int quota_validate(const struct bch_sb *sb, const struct bch_sb_field *f,
			  struct printbuf *err)
{
	return size_at_least(f, sizeof(struct bch_sb_field_quota), err);
}

static void quota_to_text(struct printbuf *out, const struct bch_sb *sb,
			  const struct bch_sb_field *f)
{
	static const char * const types[] = { "user", "group", "project" };
	static const char * const counters[] = { "space", "inodes" };
	struct bch_sb_field_quota quota, *q = &quota;

	field_copy(q, sizeof(*q), f);
	for (unsigned t = 0; t < 3; t++) {
		pb_printf(out, "%s: flags %llx", types[t],
			  (unsigned long long)le64_to_cpu(q->q[t].flags));
		for (unsigned c = 0; c < 2; c++)
			pb_printf(out, " %s timelimit %u warnlimit %u", counters[c],
				  le32_to_cpu(q->q[t].c[c].timelimit),
				  le32_to_cpu(q->q[t].c[c].warnlimit));
		pb_newline(out);
	}
}

static const struct jset_entry *jset_entry_next(const struct jset_entry *e)
{
	return (const void *)((const u64 *)e->_data + le16_to_cpu(e->u64s));
}

static void jset_entry_type_to_text(struct printbuf *out, unsigned type)
{
	if (type < BCH_JSET_ENTRY_NR)
		pb_str(out, bch_jset_entry_type_names[type]);
	else
		pb_printf(out, "(unknown jset_entry_type %u)", type);
}

/* clean: journal entries, exactly as in a jset, filling the section */
static int clean_validate(const struct bch_sb *sb, const struct bch_sb_field *f,
			  struct printbuf *err)
{
	const struct bch_sb_field_clean *c = (const void *)f;
	const void *end = sb_field_end(f);
	int ret = size_at_least(f, sizeof(*c), err);

	if (ret)
		return ret;
	for (const struct jset_entry *e = (const void *)c->start;
	     (const void *)e != end; e = jset_entry_next(e))
		if ((const void *)jset_entry_next(e) > end) {
			pb_str(err, "entry type ");
			jset_entry_type_to_text(err, e->type);
			pb_str(err, " overruns end of section");
			return -BCH_ERR_sb_invalid;
		}
	return 0;
}

static void clean_to_text(struct printbuf *out, const struct bch_sb *sb,
			  const struct bch_sb_field *f)
{
	const struct bch_sb_field_clean *c = (const void *)f;
	const void *end = sb_field_end(f);
	struct bch_sb_field_clean hdr;

	field_copy(&hdr, sizeof(hdr), f);
	pb_printf(out, "flags:          %x\n", le32_to_cpu(hdr.flags));
	pb_printf(out, "journal_seq:    %llu\n",
		  (unsigned long long)le64_to_cpu(hdr.journal_seq));

	if (sb_field_bytes(f) < sizeof(*c))
		return;
	for (const struct jset_entry *e = (const void *)c->start;
	     (const void *)e != end && (const void *)jset_entry_next(e) <= end;
	     e = jset_entry_next(e)) {
		/* the zeroed tail of the section reads as empty btree_keys entries */
		if (e->type == BCH_JSET_ENTRY_btree_keys && !e->u64s)
			continue;
		bch_jset_entry_to_text(out, NULL, e);
		pb_newline(out);
	}
}

static void counters_to_text(struct printbuf *out, const struct bch_sb *sb,
			     const struct bch_sb_field *f)
{
	const struct bch_sb_field_counters *c = (const void *)f;
	size_t nr = sb_field_nr_entries(f, sizeof(*c), sizeof(c->d[0]));

	for (size_t i = 0; i < nr; i++)
		pb_printf(out, "%s \t%llu\n",
			  i < BCH_SB_COUNTER_NR ? bch_sb_counter_names[i] : "(unknown)",
			  (unsigned long long)le64_to_cpu(c->d[i]));
}

void bch_sb_error_id_to_text(struct printbuf *out, unsigned id)
{
	if (id < BCH_FSERR_MAX)
		pb_str(out, bch_sb_err_names[id]);
	else
		pb_printf(out, "(unknown error %u)", id);
}

static size_t errors_nr(const struct bch_sb_field *f)
{
	return sb_field_nr_entries(f, sizeof(struct bch_sb_field_errors),
				   sizeof(struct bch_sb_field_error_entry));
}

/* errors: sorted by error id, each seen at least once */
static int errors_validate(const struct bch_sb *sb, const struct bch_sb_field *f,
			   struct printbuf *err)
{
	const struct bch_sb_field_error_entry *e =
		((const struct bch_sb_field_errors *)f)->entries;
	size_t nr = errors_nr(f);

	for (size_t i = 0; i < nr; i++) {
		if (!sb_error_entry_nr(&e[i])) {
			pb_str(err, "entry with count 0 (id ");
			bch_sb_error_id_to_text(err, sb_error_entry_id(&e[i]));
			pb_str(err, ")");
			return -BCH_ERR_sb_invalid;
		}
		if (i + 1 < nr && sb_error_entry_id(&e[i]) >= sb_error_entry_id(&e[i + 1])) {
			pb_str(err, "entries out of order");
			return -BCH_ERR_sb_invalid;
		}
	}
	return 0;
}

static void errors_to_text(struct printbuf *out, const struct bch_sb *sb,
			   const struct bch_sb_field *f)
{
	const struct bch_sb_field_error_entry *e =
		((const struct bch_sb_field_errors *)f)->entries;
	size_t nr = errors_nr(f);

	if (out->nr_tabstops <= 1)
		pb_tabstop_push(out, 16);

	for (size_t i = 0; i < nr; i++) {
		bch_sb_error_id_to_text(out, sb_error_entry_id(&e[i]));
		pb_tab(out);
		pb_u64(out, sb_error_entry_nr(&e[i]));
		pb_tab(out);
		bch_sb_datetime_to_text(out, le64_to_cpu(e[i].last_error_time));
		pb_newline(out);
	}
}

/* The ext section is read as its full size even if older writers made it shorter. */
#define SB_EXT_MIN_BYTES	88

static int ext_validate(const struct bch_sb *sb, const struct bch_sb_field *f,
			struct printbuf *err)
{
	if (sb_field_bytes(f) >= SB_EXT_MIN_BYTES)
		return 0;
	pb_printf(err, "field too small (%zu < %u)", sb_field_bytes(f), SB_EXT_MIN_BYTES);
	return -BCH_ERR_sb_invalid;
}

/* Names of the set bits of a little-endian bitmap of error ids */
static void error_bitmap_to_text(struct printbuf *out, const __le64 *words, unsigned nr_words)
{
	bool first = true;

	for (unsigned id = 0; id < nr_words * 64 && id < BCH_FSERR_MAX; id++) {
		if (!(le64_to_cpu(words[id / 64]) & (1ULL << (id % 64))))
			continue;
		if (!first)
			pb_str(out, ",");
		first = false;
		pb_str(out, bch_sb_err_names[id]);
	}
}

static void ext_to_text(struct printbuf *out, const struct bch_sb *sb,
			const struct bch_sb_field *f)
{
	struct bch_sb_field_ext e;

	field_copy(&e, sizeof(e), f);

	pb_printf(out, "Recovery passes required:\t");
	pb_bitflags(out, bch_sb_recovery_pass_names,
		    bch_sb_recovery_passes_from_stable(le64_to_cpu(e.recovery_passes_required[0])));
	pb_newline(out);

	pb_printf(out, "Errors to silently fix:\t");
	error_bitmap_to_text(out, e.errors_silent, 8);
	pb_newline(out);

	pb_printf(out, "Btrees with missing data:\t");
	pb_bitflags(out, bch_btree_id_names, le64_to_cpu(e.btrees_lost_data));
	pb_newline(out);
}

/*
 * downgrade entries are 2-byte aligned and variable length; the section is
 * padded to whole words, so a last entry whose fixed part does not fit is
 * padding, not an error.
 */
#define DOWNGRADE_FIXED	offsetof(struct bch_sb_field_downgrade_entry, errors)

static const struct bch_sb_field_downgrade_entry *
downgrade_next(const struct bch_sb_field_downgrade_entry *e)
{
	return (const void *)((const u8 *)e + DOWNGRADE_FIXED +
			      2 * (size_t)le16_to_cpu(e->nr_errors));
}

static bool downgrade_fits(const struct bch_sb_field_downgrade_entry *e, const void *end)
{
	return (const void *)e < end &&
		(const u8 *)e + DOWNGRADE_FIXED <= (const u8 *)end &&
		(const void *)downgrade_next(e) <= end;
}

static int downgrade_validate(const struct bch_sb *sb, const struct bch_sb_field *f,
			      struct printbuf *err)
{
	const void *end = sb_field_end(f);
	unsigned major = BCH_VERSION_MAJOR(le16_to_cpu(sb->version));

	for (const struct bch_sb_field_downgrade_entry *e =
		(const void *)((const struct bch_sb_field_downgrade *)f)->entries;
	     (const void *)e < end && (const u8 *)e + DOWNGRADE_FIXED <= (const u8 *)end;
	     e = downgrade_next(e)) {
		unsigned v = le16_to_cpu(e->version);

		if (BCH_VERSION_MAJOR(v) != major) {
			pb_printf(err, "downgrade entry with mismatched major version (%u != %u)",
				  BCH_VERSION_MAJOR(v), major);
			return -BCH_ERR_sb_invalid;
		}
	}
	return 0;
}

static void downgrade_entry_to_text(struct printbuf *out,
				    const struct bch_sb_field_downgrade_entry *e)
{
	/* pb_str: these tabs are printed as they are, like the reference does */
	pb_str(out, "version:\t");
	bch_version_to_text(out, le16_to_cpu(e->version));
	pb_newline(out);

	pb_str(out, "recovery passes:\t");
	pb_bitflags(out, bch_sb_recovery_pass_names,
		    bch_sb_recovery_passes_from_stable(le64_to_cpu(e->recovery_passes[0])));
	pb_newline(out);

	pb_str(out, "errors:\t");
	for (unsigned i = 0; i < le16_to_cpu(e->nr_errors); i++) {
		if (i)
			pb_char(out, ',');
		bch_sb_error_id_to_text(out, le16_to_cpu(e->errors[i]));
	}
	pb_newline(out);
}

static void downgrade_to_text(struct printbuf *out, const struct bch_sb *sb,
			      const struct bch_sb_field *f)
{
	const void *end = sb_field_end(f);

	if (out->nr_tabstops <= 1)
		pb_tabstop_push(out, 16);

	for (const struct bch_sb_field_downgrade_entry *e =
		(const void *)((const struct bch_sb_field_downgrade *)f)->entries;
	     downgrade_fits(e, end); e = downgrade_next(e))
		downgrade_entry_to_text(out, e);
}

const struct bch_sb_field_ops bch_sb_field_ops_crypt = {
	.validate	= crypt_validate,
	.to_text	= crypt_to_text,
};

const struct bch_sb_field_ops bch_sb_field_ops_quota = {
	.validate	= quota_validate,
	.to_text	= quota_to_text,
};

const struct bch_sb_field_ops bch_sb_field_ops_clean = {
	.validate	= clean_validate,
	.to_text	= clean_to_text,
};

const struct bch_sb_field_ops bch_sb_field_ops_counters = {
	.to_text	= counters_to_text,
};

const struct bch_sb_field_ops bch_sb_field_ops_errors = {
	.validate	= errors_validate,
	.to_text	= errors_to_text,
};

const struct bch_sb_field_ops bch_sb_field_ops_ext = {
	.validate	= ext_validate,
	.to_text	= ext_to_text,
};

const struct bch_sb_field_ops bch_sb_field_ops_downgrade = {
	.validate	= downgrade_validate,
	.to_text	= downgrade_to_text,
};
