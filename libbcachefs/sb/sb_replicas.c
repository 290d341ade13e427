/* Replicas sections (v0 and v1): which device sets hold which data types. */
#include <stdlib.h>
#include <string.h>

#include "sb/sb.h"
#include "sb/sb_fields.h"
#include "util/errcode.h"
#include "util/names.h"

/* A device index that stands for "device removed" in replicas entries */
#define SB_MEMBER_INVALID	255

/*
 * One entry decoded from either version; v0 entries have no nr_required,
 * which means 1.  The layout is that of a v1 entry, zero padded, so that
 * memcmp() of two entries orders them the way the kernel does.
 */
struct replicas_entry {
	u8 data_type;
	u8 nr_devs;
	u8 nr_required;
	u8 devs[255];
};

struct replicas_iter {
	const u8 *p, *end;
	bool v0;
};

static void replicas_iter_init(struct replicas_iter *it, const struct bch_sb_field *f)
{
	it->p = (const u8 *)f + sizeof(struct bch_sb_field);
	it->end = sb_field_end(f);
	it->v0 = le32_to_cpu(f->type) == BCH_SB_FIELD_replicas_v0;
}

/*
 * The next entry, or false at the end: a zero data type ends the list (the
 * tail of the section is zero padding), and so does an entry that would
 * run past the section.
 */
static bool replicas_next(struct replicas_iter *it, struct replicas_entry *e)
{
	size_t hdr = it->v0 ? 2 : 3;

	if (it->p + hdr > it->end || !it->p[0] || it->p + hdr + it->p[1] > it->end)
		return false;

	memset(e, 0, sizeof(*e));
	e->data_type	= it->p[0];
	e->nr_devs	= it->p[1];
	e->nr_required	= it->v0 ? 1 : it->p[2];
	memcpy(e->devs, it->p + hdr, e->nr_devs);
	it->p += hdr + e->nr_devs;
	return true;
}

int bch_sb_replicas_for_each(const struct bch_sb *sb,
			     int (*fn)(void *ctx, const struct bch_replicas_entry_v1 *), void *ctx)
{
	const struct bch_sb_field *f = bch_sb_field_get(sb, BCH_SB_FIELD_replicas_v0);
	struct replicas_iter it;
	struct replicas_entry e;
	int ret = 0;

	if (!f)
		f = bch_sb_field_get(sb, BCH_SB_FIELD_replicas);
	if (!f)
		return 0;
	replicas_iter_init(&it, f);
	while (!ret && replicas_next(&it, &e))
		ret = fn(ctx, (const struct bch_replicas_entry_v1 *)&e);
	return ret;
}

void bch_sb_data_type_to_text(struct printbuf *out, unsigned type)
{
	if (type < BCH_DATA_NR)
		pb_str(out, bch_data_type_names[type]);
	else
		pb_printf(out, "(unknown data_type %u)", type);
}

static void entry_to_text(struct printbuf *out, const struct replicas_entry *e, bool v0)
{
	bch_sb_data_type_to_text(out, e->data_type);
	if (v0)
		pb_printf(out, ": %u [", e->nr_devs);
	else
		pb_printf(out, ": %u/%u [", e->nr_required, e->nr_devs);
	for (unsigned i = 0; i < e->nr_devs; i++)
		pb_printf(out, i ? " %u" : "%u", e->devs[i]);
	pb_str(out, "]");
}

/* Why the entry is bad, or NULL; devices must be members or "removed". */
static bool entry_bad(const struct bch_sb *sb, const struct replicas_entry *e,
		      struct printbuf *why)
{
	if (!e->nr_devs) {
		pb_str(why, "no devices in entry ");
		return true;
	}
	if (e->nr_required > 1 && e->nr_required >= e->nr_devs) {
		pb_str(why, "bad nr_required in entry ");
		return true;
	}
	for (unsigned i = 0; i < e->nr_devs; i++)
		if (e->devs[i] != SB_MEMBER_INVALID &&
		    !bch_sb_member_exists(sb, e->devs[i])) {
			pb_printf(why, "invalid device %u in entry ", e->devs[i]);
			return true;
		}
	return false;
}

static int cmp_u8(const void *l, const void *r)
{
	return *(const u8 *)l - *(const u8 *)r;
}

static int cmp_entry(const void *l, const void *r)
{
	return memcmp(l, r, sizeof(struct replicas_entry));
}

/* The entries as the kernel keeps them: device lists sorted, then entries. */
static struct replicas_entry *decode_sorted(const struct bch_sb_field *f, unsigned *nr)
{
	struct replicas_entry e, *entries;
	struct replicas_iter it;
	unsigned n = 0;

	replicas_iter_init(&it, f);
	while (replicas_next(&it, &e))
		n++;

	entries = calloc(n ? n : 1, sizeof(*entries));
	if (!entries)
		return NULL;

	replicas_iter_init(&it, f);
	for (unsigned i = 0; i < n && replicas_next(&it, &entries[i]); i++)
		qsort(entries[i].devs, entries[i].nr_devs, 1, cmp_u8);
	qsort(entries, n, sizeof(*entries), cmp_entry);
	*nr = n;
	return entries;
}

static int replicas_validate(const struct bch_sb *sb, const struct bch_sb_field *f,
			     struct printbuf *err)
{
	unsigned nr;
	struct replicas_entry *e = decode_sorted(f, &nr);
	int ret = 0;

	if (!e)
		return -BCH_ERR_nomem;

	for (unsigned i = 0; i < nr && !ret; i++) {
		if (entry_bad(sb, &e[i], err)) {
			entry_to_text(err, &e[i], false);
			ret = -BCH_ERR_sb_invalid;
		} else if (i + 1 < nr && !cmp_entry(&e[i], &e[i + 1])) {
			pb_str(err, "duplicate replicas entry ");
			entry_to_text(err, &e[i], false);
			ret = -BCH_ERR_sb_invalid;
		}
	}
	free(e);
	return ret;
}

static void replicas_to_text(struct printbuf *out, const struct bch_sb *sb,
			     const struct bch_sb_field *f)
{
	struct replicas_iter it;
	struct replicas_entry e;
	bool first = true;

	replicas_iter_init(&it, f);
	while (replicas_next(&it, &e)) {
		if (!first)
			pb_str(out, " ");
		first = false;
		entry_to_text(out, &e, it.v0);
	}
	pb_newline(out);
}

unsigned bch_sb_dev_has_data(const struct bch_sb *sb, unsigned dev)
{
	const struct bch_sb_field *f = bch_sb_field_get(sb, BCH_SB_FIELD_replicas);
	struct replicas_iter it;
	struct replicas_entry e;
	unsigned mask = 0;

	/* v1 supersedes v0 when both are present */
	if (!f)
		f = bch_sb_field_get(sb, BCH_SB_FIELD_replicas_v0);
	if (!f)
		return 0;

	replicas_iter_init(&it, f);
	while (replicas_next(&it, &e)) {
		if (e.data_type >= 32)
			continue;
		for (unsigned i = 0; i < e.nr_devs; i++)
			if (e.devs[i] == dev)
				mask |= 1U << e.data_type;
	}
	return mask;
}

const struct bch_sb_field_ops bch_sb_field_ops_replicas = {
	.validate	= replicas_validate,
	.to_text	= replicas_to_text,
};

const struct bch_sb_field_ops bch_sb_field_ops_replicas_v0 = {
	.validate	= replicas_validate,
	.to_text	= replicas_to_text,
};
