/* Editing a superblock in memory: section resizing, journal/replicas/downgrade sections, initialization flags, members. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "sb/sb.h"
#include "sb/sb_edit.h"
#include "sb/sb_fields.h"
#include "sb/sb_names.h"
#include "util/errcode.h"

/* ---- sections ---- */

static size_t sb_max_bytes(const struct bch_sb *sb)
{
	return (size_t)512 << (sb->layout.sb_max_size_bits & 31);
}

/* Room for `bytes` in buf, the new capacity zeroed. */
static int sb_buf_reserve(struct bch_sb_buf *buf, size_t bytes, size_t max)
{
	size_t cap = buf->bytes * 2;
	void *p;

	if (bytes <= buf->bytes)
		return 0;
	if (cap > max)
		cap = max;
	if (cap < bytes)
		cap = bytes;
	p = realloc(buf->sb, cap);
	if (!p)
		return -BCH_ERR_nomem;
	memset((u8 *)p + buf->bytes, 0, cap - buf->bytes);
	buf->sb = p;
	buf->bytes = cap;
	return 0;
}

void *bch_sb_field_resize(struct bch_sb_buf *buf, enum bch_sb_field_type type,
			  unsigned u64s, struct printbuf *err)
{
	struct bch_sb_field *f = bch_sb_field_get(buf->sb, type);
	size_t old_u64s = f ? le32_to_cpu(f->u64s) : 0;
	size_t f_off = f ? (size_t)((u8 *)f - (u8 *)buf->sb) : sb_bytes(buf->sb);
	size_t old_bytes = sb_bytes(buf->sb);
	size_t new_bytes = old_bytes - 8 * old_u64s + 8 * (size_t)u64s;
	size_t max = sb_max_bytes(buf->sb);
	u8 *base, *src, *dst, *end;

	if (!f && !u64s)
		return NULL;
	if (new_bytes > old_bytes && new_bytes > max) {
		pb_printf(err, "superblock of %zu bytes with section %u of %u u64s would not fit the layout's %zu bytes",
			  new_bytes, type, u64s, max);
		return NULL;
	}
	if (sb_buf_reserve(buf, new_bytes, max > new_bytes ? max : new_bytes)) {
		pb_str(err, "out of memory growing the superblock");
		return NULL;
	}

	base = (u8 *)buf->sb;
	f = (struct bch_sb_field *)(base + f_off);
	end = base + old_bytes;
	src = (u8 *)f + 8 * old_u64s;
	dst = (u8 *)f + 8 * (size_t)u64s;
	memmove(dst, src, end - src);
	if (dst > src)
		memset(src, 0, dst - src);
	else
		memset(end - (src - dst), 0, src - dst);

	buf->sb->u64s = cpu_to_le32(le32_to_cpu(buf->sb->u64s) - old_u64s + u64s);
	if (!u64s)
		return NULL;
	f->u64s = cpu_to_le32(u64s);
	f->type = cpu_to_le32(type);
	return f;
}

void bch_sb_field_delete(struct bch_sb_buf *buf, enum bch_sb_field_type type)
{
	bch_sb_field_resize(buf, type, 0, NULL);
}

void *bch_sb_field_get_minsize(struct bch_sb_buf *buf, enum bch_sb_field_type type,
			       unsigned u64s, struct printbuf *err)
{
	struct bch_sb_field *f = bch_sb_field_get(buf->sb, type);

	if (f && le32_to_cpu(f->u64s) >= u64s)
		return f;
	return bch_sb_field_resize(buf, type, u64s, err);
}

static unsigned bytes_to_u64s(size_t bytes)
{
	return (bytes + 7) / 8;
}

/* ---- journal buckets ---- */

int bch_sb_journal_v2_set(struct bch_sb_buf *buf, const u64 *buckets, unsigned nr,
			  struct printbuf *err)
{
	struct bch_sb_field_journal_v2 *j;
	unsigned ranges = nr ? 1 : 0, r = 0;

	if (!nr) {
		bch_sb_field_delete(buf, BCH_SB_FIELD_journal);
		bch_sb_field_delete(buf, BCH_SB_FIELD_journal_v2);
		return 0;
	}
	for (unsigned i = 1; i < nr; i++)
		ranges += buckets[i] != buckets[i - 1] + 1;

	j = bch_sb_field_resize_t(buf, journal_v2,
				  bytes_to_u64s(sizeof(*j) + ranges * sizeof(j->d[0])), err);
	if (!j)
		return -BCH_ERR_no_space;
	bch_sb_field_delete(buf, BCH_SB_FIELD_journal);
	j = bch_sb_field_get_t(buf->sb, journal_v2);

	j->d[0].start = cpu_to_le64(buckets[0]);
	j->d[0].nr = cpu_to_le64(1);
	for (unsigned i = 1; i < nr; i++) {
		if (buckets[i] != buckets[i - 1] + 1) {
			r++;
			j->d[r].start = cpu_to_le64(buckets[i]);
			j->d[r].nr = 0;
		}
		j->d[r].nr = cpu_to_le64(le64_to_cpu(j->d[r].nr) + 1);
	}
	return 0;
}

/* ---- replicas ---- */

/* A device index replicas entries use for a removed device */
#define REPLICAS_DEV_REMOVED	255

/*
 * An entry in v1 layout, zero padded to the largest possible, so that
 * memcmp() of whole slots orders entries as the kernel's memcmp() of its
 * padded in-memory entries does: data type, then nr_devs, nr_required,
 * devices.
 */
struct replicas_slot {
	u8 data_type;
	u8 nr_devs;
	u8 nr_required;
	u8 devs[255];
};

static int cmp_dev(const void *l, const void *r)
{
	return *(const u8 *)l - *(const u8 *)r;
}

static int cmp_slot(const void *l, const void *r)
{
	return memcmp(l, r, sizeof(struct replicas_slot));
}

static int replicas_slot_init(const struct bch_sb *sb, struct replicas_slot *s,
			      const struct bch_replicas_entry_v1 *e, struct printbuf *err)
{
	memset(s, 0, sizeof(*s));
	s->data_type = e->data_type;
	s->nr_devs = e->nr_devs;
	s->nr_required = e->nr_required;
	memcpy(s->devs, e->devs, e->nr_devs);
	qsort(s->devs, s->nr_devs, 1, cmp_dev);

	if (!s->data_type || s->data_type >= BCH_DATA_NR) {
		pb_printf(err, "replicas entry with data type %u", s->data_type);
		return -BCH_ERR_bad_argument;
	}
	if (!s->nr_devs) {
		pb_printf(err, "replicas entry for data type %u without devices", s->data_type);
		return -BCH_ERR_bad_argument;
	}
	if (s->nr_required > 1 && s->nr_required >= s->nr_devs) {
		pb_printf(err, "replicas entry requiring %u of %u devices",
			  s->nr_required, s->nr_devs);
		return -BCH_ERR_bad_argument;
	}
	for (unsigned i = 0; i < s->nr_devs; i++) {
		if (i && s->devs[i] == s->devs[i - 1]) {
			pb_printf(err, "replicas entry naming device %u twice", s->devs[i]);
			return -BCH_ERR_bad_argument;
		}
		if (s->devs[i] != REPLICAS_DEV_REMOVED && !bch_sb_member_exists(sb, s->devs[i])) {
			pb_printf(err, "replicas entry naming device %u, not a member", s->devs[i]);
			return -BCH_ERR_bad_argument;
		}
	}
	return 0;
}

/*
 * Eytzinger order of n sorted items: position p of the implicit binary
 * tree (children 2p + 1, 2p + 2) gets the item an in-order walk of the
 * tree reaches there.  order[p] is the sorted index.
 */
static void eytzinger0_order(unsigned *order, unsigned n, unsigned p, unsigned *next)
{
	if (p >= n)
		return;
	eytzinger0_order(order, n, 2 * p + 1, next);
	order[p] = (*next)++;
	eytzinger0_order(order, n, 2 * p + 2, next);
}

/* Sorted and without duplicates; returns how many are left. */
static unsigned replicas_sort_dedup(struct replicas_slot *s, unsigned nr)
{
	unsigned out = 0;

	qsort(s, nr, sizeof(*s), cmp_slot);
	for (unsigned i = 0; i < nr; i++)
		if (!out || cmp_slot(&s[out - 1], &s[i]))
			s[out++] = s[i];
	return out;
}

static int replicas_write(struct bch_sb_buf *buf, const struct replicas_slot *s,
			  const unsigned *order, unsigned nr, struct printbuf *err)
{
	bool v1 = false;
	size_t bytes = sizeof(struct bch_sb_field);
	enum bch_sb_field_type type, other;
	struct bch_sb_field *f;
	u8 *p;

	for (unsigned i = 0; i < nr; i++)
		v1 |= s[i].nr_required != 1;
	for (unsigned i = 0; i < nr; i++)
		bytes += (v1 ? 3 : 2) + s[i].nr_devs;
	type = v1 ? BCH_SB_FIELD_replicas : BCH_SB_FIELD_replicas_v0;
	other = v1 ? BCH_SB_FIELD_replicas_v0 : BCH_SB_FIELD_replicas;

	if (!bch_sb_field_resize(buf, type, bytes_to_u64s(bytes), err))
		return -BCH_ERR_no_space;
	bch_sb_field_delete(buf, other);
	f = bch_sb_field_get(buf->sb, type);
	memset(f->data, 0, sb_field_bytes(f) - sizeof(*f));

	p = (u8 *)f->data;
	for (unsigned i = 0; i < nr; i++) {
		const struct replicas_slot *e = &s[order[i]];

		*p++ = e->data_type;
		*p++ = e->nr_devs;
		if (v1)
			*p++ = e->nr_required;
		memcpy(p, e->devs, e->nr_devs);
		p += e->nr_devs;
	}
	return 0;
}

int bch_sb_replicas_set(struct bch_sb_buf *buf,
			const struct bch_replicas_entry_v1 *const *entries,
			unsigned nr, struct printbuf *err)
{
	struct replicas_slot *s = calloc(nr ? nr : 1, sizeof(*s));
	unsigned *order = calloc(nr ? nr : 1, sizeof(*order));
	unsigned next = 0;
	int ret = s && order ? 0 : -BCH_ERR_nomem;

	for (unsigned i = 0; !ret && i < nr; i++)
		ret = replicas_slot_init(buf->sb, &s[i], entries[i], err);
	if (!ret) {
		nr = replicas_sort_dedup(s, nr);
		eytzinger0_order(order, nr, 0, &next);
		ret = replicas_write(buf, s, order, nr, err);
	}
	free(order);
	free(s);
	return ret;
}

/* ---- downgrade ---- */

/* Stable recovery pass ids, as the superblock stores them */
enum sb_pass_stable {
#define x(name, id) SB_PASS_STABLE_##name = id,
	BCH_SB_RECOVERY_PASSES()
#undef x
};

#define PASS(name)	(1ULL << SB_PASS_STABLE_##name)
#define ERR(name)	BCH_FSERR_##name

/*
 * What going back to before a version needs: passes to run and fsck errors
 * to expect.  Rows with nothing are not written (bucket_stripe_sectors has
 * something only on a filesystem with stripes, which we never write).
 */
struct downgrade_row {
	u16 version;
	u64 passes;
	unsigned nr_errors;
	const u16 *errors;
};

#define ROW_ERRORS(...)							\
	.errors = (const u16[]){ __VA_ARGS__ },				\
	.nr_errors = sizeof((const u16[]){ __VA_ARGS__ }) / sizeof(u16)

/* The fs_usage and dev_usage counters that accounting v2 and v3 replaced */
#define USAGE_ERRORS							\
	ERR(dev_usage_buckets_wrong), ERR(dev_usage_sectors_wrong),		\
	ERR(dev_usage_fragmented_wrong), ERR(fs_usage_hidden_wrong),	\
	ERR(fs_usage_btree_wrong), ERR(fs_usage_data_wrong),		\
	ERR(fs_usage_cached_wrong), ERR(fs_usage_reserved_wrong),		\
	ERR(fs_usage_nr_inodes_wrong), ERR(fs_usage_persistent_reserved_wrong), \
	ERR(fs_usage_replicas_wrong)

static const struct downgrade_row downgrade_rows[] = {
	{ .version = bcachefs_metadata_version_bucket_stripe_sectors },
	{ .version = bcachefs_metadata_version_disk_accounting_v2,
	  .passes = PASS(check_allocations),
	  ROW_ERRORS(USAGE_ERRORS, ERR(bkey_version_in_future)) },
	{ .version = bcachefs_metadata_version_disk_accounting_v3,
	  .passes = PASS(check_allocations),
	  ROW_ERRORS(USAGE_ERRORS, ERR(accounting_replicas_not_marked),
		     ERR(bkey_version_in_future)) },
	{ .version = bcachefs_metadata_version_rebalance_work_acct_fix,
	  .passes = PASS(check_allocations),
	  ROW_ERRORS(ERR(accounting_mismatch)) },
};

#define DOWNGRADE_NR_ROWS	(sizeof(downgrade_rows) / sizeof(downgrade_rows[0]))

/* On disk: le16 version, le64 passes[2], le16 nr_errors, le16 errors[], 2-byte aligned */
#define DOWNGRADE_ENTRY_BYTES	(2 + 16 + 2)

static bool downgrade_row_used(const struct downgrade_row *r, unsigned major)
{
	return BCH_VERSION_MAJOR(r->version) == major && (r->passes || r->nr_errors);
}

static u8 *put_le16(u8 *p, u16 v)
{
	__le16 le = cpu_to_le16(v);

	memcpy(p, &le, sizeof(le));
	return p + sizeof(le);
}

static u8 *put_le64(u8 *p, u64 v)
{
	__le64 le = cpu_to_le64(v);

	memcpy(p, &le, sizeof(le));
	return p + sizeof(le);
}

int bch_sb_downgrade_set(struct bch_sb_buf *buf, struct printbuf *err)
{
	unsigned major = BCH_VERSION_MAJOR(le16_to_cpu(buf->sb->version));
	struct bch_sb_field *f = bch_sb_field_get(buf->sb, BCH_SB_FIELD_downgrade);
	size_t bytes = sizeof(struct bch_sb_field);
	unsigned u64s;
	u8 *p;

	for (size_t i = 0; i < DOWNGRADE_NR_ROWS; i++)
		if (downgrade_row_used(&downgrade_rows[i], major))
			bytes += DOWNGRADE_ENTRY_BYTES + 2 * downgrade_rows[i].nr_errors;
	u64s = bytes_to_u64s(bytes);

	/* the kernel never shrinks this section */
	if (!f || le32_to_cpu(f->u64s) <= u64s)
		f = bch_sb_field_resize(buf, BCH_SB_FIELD_downgrade, u64s, err);
	if (!f)
		return -BCH_ERR_no_space;

	memset(f->data, 0, sb_field_bytes(f) - sizeof(*f));
	p = (u8 *)f->data;
	for (size_t i = 0; i < DOWNGRADE_NR_ROWS; i++) {
		const struct downgrade_row *r = &downgrade_rows[i];

		if (!downgrade_row_used(r, major))
			continue;
		p = put_le16(p, r->version);
		p = put_le64(p, r->passes);
		p = put_le64(p, 0);
		p = put_le16(p, r->nr_errors);
		for (unsigned e = 0; e < r->nr_errors; e++)
			p = put_le16(p, r->errors[e]);
	}
	return 0;
}

/* ---- initialized, cleanly shut down ---- */

int bch_sb_mark_initialized(struct bch_sb_buf *buf, struct printbuf *err)
{
	struct bch_sb *sb = buf->sb;

	set_sb_initialized(sb, 1);
	set_sb_version_upgrade_complete(sb, le16_to_cpu(sb->version));
	sb->features[0] &= ~cpu_to_le64((1ULL << BCH_FEATURE_extents_above_btree_updates) |
					(1ULL << BCH_FEATURE_btree_updates_journalled));
	sb->compat[0] |= cpu_to_le64((1ULL << BCH_COMPAT_alloc_info) |
				     (1ULL << BCH_COMPAT_alloc_metadata) |
				     (1ULL << BCH_COMPAT_extents_above_btree_updates_done) |
				     (1ULL << BCH_COMPAT_bformat_overflow_done));

	if (!bch_sb_field_get_minsize(buf, BCH_SB_FIELD_counters,
				      bytes_to_u64s(sizeof(struct bch_sb_field_counters) +
						    8 * BCH_SB_COUNTER_NR), err) ||
	    !bch_sb_field_get_minsize(buf, BCH_SB_FIELD_errors,
				      bytes_to_u64s(sizeof(struct bch_sb_field_errors)), err) ||
	    !bch_sb_field_get_minsize(buf, BCH_SB_FIELD_ext,
				      bytes_to_u64s(sizeof(struct bch_sb_field_ext)), err))
		return -BCH_ERR_no_space;
	return 0;
}

/* ---- members ---- */

static struct bch_member *member_v2(struct bch_sb *sb, unsigned dev, size_t need)
{
	struct bch_sb_field_members_v2 *mi = bch_sb_field_get_t(sb, members_v2);
	size_t stride, off;

	if (!mi || dev >= BCH_SB_MEMBERS_MAX)
		return NULL;
	stride = le16_to_cpu(mi->member_bytes);
	off = sizeof(*mi) + (size_t)dev * stride;
	if (stride < need || off + stride > sb_field_bytes(&mi->field))
		return NULL;
	return (struct bch_member *)((u8 *)mi + off);
}

/* members_v1's entry of dev takes the first bytes of its members_v2 entry. */
static void member_v1_copy(struct bch_sb *sb, unsigned dev)
{
	struct bch_sb_field_members_v1 *mi1 = bch_sb_field_get_t(sb, members_v1);
	struct bch_sb_field_members_v2 *mi2 = bch_sb_field_get_t(sb, members_v2);
	size_t stride = mi2 ? le16_to_cpu(mi2->member_bytes) : 0;
	size_t off1 = sizeof(*mi1) + (size_t)dev * BCH_MEMBER_V1_BYTES;
	size_t n = stride < BCH_MEMBER_V1_BYTES ? stride : BCH_MEMBER_V1_BYTES;
	const struct bch_member *m = member_v2(sb, dev, n);

	if (!mi1 || !m || off1 + BCH_MEMBER_V1_BYTES > sb_field_bytes(&mi1->field))
		return;
	memset(mi1->members + (size_t)dev * BCH_MEMBER_V1_BYTES, 0, BCH_MEMBER_V1_BYTES);
	memcpy(mi1->members + (size_t)dev * BCH_MEMBER_V1_BYTES, m, n);
}

struct bch_member *bch_sb_member_v2_mut(struct bch_sb *sb, unsigned dev)
{
	return member_v2(sb, dev, sizeof(struct bch_member));
}

struct bch_member *bch_sb_member_v2_mut_min(struct bch_sb *sb, unsigned dev, size_t min_bytes)
{
	return member_v2(sb, dev, min_bytes);
}

void bch_sb_member_set_freespace_initialized(struct bch_sb *sb, unsigned dev, bool v)
{
	struct bch_member *m = member_v2(sb, dev, offsetof(struct bch_member, flags) + 8);

	if (!m)
		return;
	set_member_freespace_initialized(m, v);
	member_v1_copy(sb, dev);
}

/* log2 of the smallest power of two >= v (v >= 1) */
static unsigned log2_roundup(u64 v)
{
	unsigned l = 0;

	while (l < 64 && (1ULL << l) < v)
		l++;
	return l;
}

void bch_sb_member_btree_bitmap_mark(struct bch_sb *sb, unsigned dev,
				     u64 start_sector, unsigned sectors)
{
	struct bch_member *m = member_v2(sb, dev, offsetof(struct bch_member, btree_allocated_bitmap) + 8);
	u64 end = start_sector + sectors;
	u64 bitmap;
	unsigned shift;
	int resize;

	if (!m || !sectors)
		return;
	bitmap = le64_to_cpu(m->btree_allocated_bitmap);
	shift = m->btree_bitmap_shift;

	/* 64 bits must reach end: grow each bit's span, folding the old bits */
	resize = (int)log2_roundup(end) - (int)(shift + 6);
	if (resize > 0) {
		u64 folded = 0;

		for (unsigned i = 0; i < 64; i++)
			if (bitmap & (1ULL << i))
				folded |= 1ULL << (i >> resize);
		bitmap = folded;
		shift += resize;
	}
	for (u64 bit = start_sector >> shift; bit < 64 && bit << shift < end; bit++)
		bitmap |= 1ULL << bit;

	m->btree_allocated_bitmap = cpu_to_le64(bitmap);
	m->btree_bitmap_shift = shift;
	member_v1_copy(sb, dev);
}

int bch_sb_members_v1_sync(struct bch_sb_buf *buf, struct printbuf *err)
{
	unsigned nr = buf->sb->nr_devices;

	if (!bch_sb_field_get(buf->sb, BCH_SB_FIELD_members_v2))
		return 0;
	if (!bch_sb_field_resize(buf, BCH_SB_FIELD_members_v1,
				 bytes_to_u64s(sizeof(struct bch_sb_field_members_v1) +
					       (size_t)nr * BCH_MEMBER_V1_BYTES), err))
		return -BCH_ERR_no_space;
	for (unsigned i = 0; i < nr && i < BCH_SB_MEMBERS_MAX; i++)
		member_v1_copy(buf->sb, i);
	return 0;
}
