/* Journal sections: this device's journal buckets (journal, journal_v2) and blacklisted seqs. */
#include <stdlib.h>

#include "sb/sb.h"
#include "sb/sb_fields.h"
#include "util/errcode.h"

/* A run of journal buckets [start, end) */
struct bucket_range {
	u64 start, end;
};

static int cmp_range(const void *l, const void *r)
{
	const struct bucket_range *a = l, *b = r;

	return (a->start > b->start) - (a->start < b->start);
}

/*
 * Sorted ranges must start past bucket 0 and first_bucket, end inside the
 * device and not overlap.  Checked against this device's member entry:
 * the journal sections are the only per-device ones.
 */
static int ranges_check(const struct bch_sb *sb, struct bucket_range *r,
			size_t nr, bool legacy, struct printbuf *err)
{
	struct bch_member tmp;
	const struct bch_member *m = bch_sb_member(sb, sb->dev_idx, &tmp);
	u64 first = m ? le16_to_cpu(m->first_bucket) : 0;
	u64 nbuckets = m ? le64_to_cpu(m->nbuckets) : 0;

	qsort(r, nr, sizeof(*r), cmp_range);

	if (!r[0].start) {
		pb_str(err, "journal bucket at sector 0");
		return -BCH_ERR_sb_invalid;
	}
	if (r[0].start < first) {
		pb_printf(err, "journal bucket %llu before first bucket %llu",
			  (unsigned long long)r[0].start, (unsigned long long)first);
		return -BCH_ERR_sb_invalid;
	}
	if (r[nr - 1].end > nbuckets) {
		pb_printf(err, "journal bucket %llu past end of device (nbuckets %llu)",
			  (unsigned long long)r[nr - 1].end - 1,
			  (unsigned long long)nbuckets);
		return -BCH_ERR_sb_invalid;
	}
	for (size_t i = 0; i + 1 < nr; i++) {
		if (r[i].end <= r[i + 1].start)
			continue;
		if (legacy)
			pb_printf(err, "duplicate journal buckets %llu",
				  (unsigned long long)r[i].start);
		else
			pb_printf(err, "duplicate journal buckets in ranges %llu-%llu, %llu-%llu",
				  (unsigned long long)r[i].start, (unsigned long long)r[i].end,
				  (unsigned long long)r[i + 1].start,
				  (unsigned long long)r[i + 1].end);
		return -BCH_ERR_sb_invalid;
	}
	return 0;
}

static size_t journal_nr(const struct bch_sb_field *f)
{
	return sb_field_nr_entries(f, sizeof(struct bch_sb_field_journal), sizeof(__le64));
}

static int journal_validate(const struct bch_sb *sb, const struct bch_sb_field *f,
			    struct printbuf *err)
{
	const struct bch_sb_field_journal *j = (const void *)f;
	size_t nr = journal_nr(f);
	struct bucket_range *r;
	int ret;

	if (!nr)
		return 0;
	r = calloc(nr, sizeof(*r));
	if (!r)
		return -BCH_ERR_nomem;
	for (size_t i = 0; i < nr; i++) {
		r[i].start = le64_to_cpu(j->buckets[i]);
		r[i].end = r[i].start + 1;
	}
	ret = ranges_check(sb, r, nr, true, err);
	free(r);
	return ret;
}

static void journal_to_text(struct printbuf *out, const struct bch_sb *sb,
			    const struct bch_sb_field *f)
{
	const struct bch_sb_field_journal *j = (const void *)f;
	size_t nr = journal_nr(f);

	pb_str(out, "Buckets: ");
	for (size_t i = 0; i < nr; i++)
		pb_printf(out, " %llu", (unsigned long long)le64_to_cpu(j->buckets[i]));
	pb_newline(out);
}

static size_t journal_v2_nr(const struct bch_sb_field *f)
{
	return sb_field_nr_entries(f, sizeof(struct bch_sb_field_journal_v2),
				   sizeof(struct bch_journal_bucket_range));
}

/* The ring position is a u32: the device may not hold more buckets than that. */
static int journal_v2_ranges(const struct bch_sb_field_journal_v2 *j, size_t nr,
			     struct bucket_range *r, struct printbuf *err)
{
	u64 sum = 0;

	for (size_t i = 0; i < nr; i++) {
		u64 start = le64_to_cpu(j->d[i].start), n = le64_to_cpu(j->d[i].nr);

		r[i].start = start;
		r[i].end = start + n;
		if (r[i].end <= r[i].start) {
			pb_printf(err, "journal buckets entry with bad nr: %llu+%llu",
				  (unsigned long long)start, (unsigned long long)n);
			return -BCH_ERR_sb_invalid;
		}
		sum += n;
	}
	if (sum > UINT32_MAX) {
		pb_printf(err, "too many journal buckets: %llu > %u",
			  (unsigned long long)sum, UINT32_MAX);
		return -BCH_ERR_sb_invalid;
	}
	return 0;
}

static int journal_v2_validate(const struct bch_sb *sb, const struct bch_sb_field *f,
			       struct printbuf *err)
{
	size_t nr = journal_v2_nr(f);
	struct bucket_range *r;
	int ret;

	if (!nr)
		return 0;
	r = calloc(nr, sizeof(*r));
	if (!r)
		return -BCH_ERR_nomem;
	ret =   journal_v2_ranges((const void *)f, nr, r, err) ?:
		ranges_check(sb, r, nr, false, err);
	free(r);
	return ret;
}

static void journal_v2_to_text(struct printbuf *out, const struct bch_sb *sb,
			       const struct bch_sb_field *f)
{
	const struct bch_sb_field_journal_v2 *j = (const void *)f;
	size_t nr = journal_v2_nr(f);

	pb_str(out, "Buckets: ");
	for (size_t i = 0; i < nr; i++) {
		u64 start = le64_to_cpu(j->d[i].start);

		pb_printf(out, " %llu-%llu", (unsigned long long)start,
			  (unsigned long long)(start + le64_to_cpu(j->d[i].nr)));
	}
	pb_newline(out);
}

static size_t blacklist_nr(const struct bch_sb_field *f)
{
	return sb_field_nr_entries(f, sizeof(struct bch_sb_field_journal_seq_blacklist),
				   sizeof(struct journal_seq_blacklist_entry));
}

/* Each entry is a non-empty [start, end), in order, not overlapping the next. */
static int blacklist_validate(const struct bch_sb *sb, const struct bch_sb_field *f,
			      struct printbuf *err)
{
	const struct bch_sb_field_journal_seq_blacklist *bl = (const void *)f;
	size_t nr = blacklist_nr(f);

	for (size_t i = 0; i < nr; i++) {
		u64 start = le64_to_cpu(bl->start[i].start);
		u64 end = le64_to_cpu(bl->start[i].end);

		if (start >= end) {
			pb_printf(err, "entry %zu start >= end (%llu >= %llu)", i,
				  (unsigned long long)start, (unsigned long long)end);
			return -BCH_ERR_sb_invalid;
		}
		if (i + 1 < nr && end > le64_to_cpu(bl->start[i + 1].start)) {
			pb_printf(err, "entry %zu out of order with next entry (%llu > %llu)",
				  i + 1, (unsigned long long)end,
				  (unsigned long long)le64_to_cpu(bl->start[i + 1].start));
			return -BCH_ERR_sb_invalid;
		}
	}
	return 0;
}

static void blacklist_to_text(struct printbuf *out, const struct bch_sb *sb,
			      const struct bch_sb_field *f)
{
	const struct bch_sb_field_journal_seq_blacklist *bl = (const void *)f;
	size_t nr = blacklist_nr(f);

	for (size_t i = 0; i < nr; i++)
		pb_printf(out, "%s%llu-%llu", i ? " " : "",
			  (unsigned long long)le64_to_cpu(bl->start[i].start),
			  (unsigned long long)le64_to_cpu(bl->start[i].end));
	pb_newline(out);
}

const struct bch_sb_field_ops bch_sb_field_ops_journal = {
	.validate	= journal_validate,
	.to_text	= journal_to_text,
};

const struct bch_sb_field_ops bch_sb_field_ops_journal_v2 = {
	.validate	= journal_v2_validate,
	.to_text	= journal_v2_to_text,
};

const struct bch_sb_field_ops bch_sb_field_ops_journal_seq_blacklist = {
	.validate	= blacklist_validate,
	.to_text	= blacklist_to_text,
};
