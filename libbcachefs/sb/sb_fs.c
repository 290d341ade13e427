/* Superblocks of an open filesystem: refresh, write all, replicas marking. */
#include <string.h>
#include <time.h>

#include "sb/sb_fs.h"
#include "sb/sb.h"
#include "sb/sb_edit.h"
#include "sb/sb_write.h"
#include "util/errcode.h"

void bch_fs_sb_refresh(struct bch_fs *c)
{
	for (unsigned i = 0; i < BCH_SB_MEMBERS_MAX; i++)
		if (c->devs[i]) {
			c->disk_sb = c->devs[i]->sb;
			break;
		}
	bch_sb_to_cpu(c->disk_sb.sb, &c->sb);
	for (unsigned i = 0; i < BCH_SB_MEMBERS_MAX; i++)
		if (c->devs[i])
			c->devs[i]->mi = c->sb.members[i];
}

int bch_fs_sb_write_all(struct bch_fs *c, struct printbuf *err)
{
	u64 written = 0;
	int ret = 0;

	bch_fs_sb_edit_begin(c);
	for (unsigned i = 0; i < BCH_SB_MEMBERS_MAX; i++)
		if (c->devs[i])
			written |= 1ULL << i;
	for (unsigned i = 0; i < BCH_SB_MEMBERS_MAX && !ret; i++) {
		struct bch_dev *ca = c->devs[i];

		if (!ca)
			continue;
		bch_sb_next_seq(ca->sb.sb, (u64)time(NULL), written);
		ret = bch_sb_write(ca, ca->sb.sb, err);
	}
	if (!ret)
		c->sb_dirty = false;
	bch_fs_sb_refresh(c);
	return ret;
}

/* Room for an entry of any size as the superblock stores it. */
struct replicas_slot {
	struct bch_replicas_entry_v1 e;
	u8 devs[BCH_SB_MEMBERS_MAX];
};

#define REPLICAS_MARK_MAX	512

struct replicas_read {
	struct replicas_slot *slots;
	unsigned nr, max;
};

static int replicas_read_one(void *ctx, const struct bch_replicas_entry_v1 *e)
{
	struct replicas_read *r = ctx;

	if (r->nr == r->max || e->nr_devs > BCH_SB_MEMBERS_MAX)
		return -BCH_ERR_unsupported;
	memset(&r->slots[r->nr], 0, sizeof(r->slots[0]));
	memcpy(&r->slots[r->nr++].e, e, sizeof(*e) + e->nr_devs);
	return 0;
}

static bool replicas_eq(const struct bch_replicas_entry_v1 *a, const struct bch_replicas_entry_v1 *b)
{
	return a->data_type == b->data_type && a->nr_devs == b->nr_devs &&
	       a->nr_required == b->nr_required && !memcmp(a->devs, b->devs, a->nr_devs);
}

struct replicas_find {
	const struct bch_replicas_entry_v1 *want;
	bool found;
};

static int replicas_find_one(void *ctx, const struct bch_replicas_entry_v1 *e)
{
	struct replicas_find *r = ctx;

	r->found |= replicas_eq(e, r->want);
	return 0;
}

bool bch_fs_replicas_marked(struct bch_fs *c, const struct bch_replicas_entry_v1 *e)
{
	struct replicas_find r = { .want = e };

	bch_sb_replicas_for_each(c->disk_sb.sb, replicas_find_one, &r);
	return r.found;
}

int bch_fs_replicas_mark(struct bch_fs *c, const struct bch_replicas_entry_v1 *e,
			 struct printbuf *err)
{
	static const unsigned max = REPLICAS_MARK_MAX;
	struct replicas_slot slots[REPLICAS_MARK_MAX];
	const struct bch_replicas_entry_v1 *ptrs[REPLICAS_MARK_MAX];
	struct replicas_read r = { slots, 0, max - 1 };
	int ret;
	unsigned nr;

	if (bch_fs_replicas_marked(c, e))
		return 0;
	bch_fs_sb_edit_begin(c);
	ret = bch_sb_replicas_for_each(c->disk_sb.sb, replicas_read_one, &r);
	nr = r.nr;
	if (ret) {
		pb_str(err, "superblock replicas section: more entries than can be kept");
		return ret;
	}
	if (e->nr_devs > BCH_SB_MEMBERS_MAX)
		return -BCH_ERR_bad_argument;
	memset(&slots[nr], 0, sizeof(slots[nr]));
	memcpy(&slots[nr].e, e, sizeof(*e) + e->nr_devs);
	nr++;
	for (unsigned i = 0; i < nr; i++)
		ptrs[i] = &slots[i].e;
	for (unsigned i = 0; i < BCH_SB_MEMBERS_MAX && !ret; i++)
		if (c->devs[i])
			ret = bch_sb_replicas_set(&c->devs[i]->sb, ptrs, nr, err);
	bch_fs_sb_refresh(c);
	c->sb_dirty = true;
	return ret;
}

void bch_fs_feature_set(struct bch_fs *c, unsigned feature)
{
	u64 bit = 1ULL << feature;

	if (feature >= 64 || (le64_to_cpu(c->disk_sb.sb->features[0]) & bit))
		return;
	bch_fs_sb_edit_begin(c);
	for (unsigned i = 0; i < BCH_SB_MEMBERS_MAX; i++)
		if (c->devs[i])
			c->devs[i]->sb.sb->features[0] |= cpu_to_le64(bit);
	bch_fs_sb_refresh(c);
	c->sb_dirty = true;
}

u64 bch_fs_lost_data(const struct bch_fs *c)
{
	const struct bch_sb_field_ext *e = bch_sb_field_get_t(c->disk_sb.sb, ext);

	if (!e || le32_to_cpu(e->field.u64s) * 8 < sizeof(*e))
		return 0;
	return le64_to_cpu(e->btrees_lost_data);
}

void bch_fs_version_min_lower(struct bch_fs *c, u16 version)
{
	if (!version || c->sb.version_min <= version)
		return;
	bch_fs_sb_edit_begin(c);
	for (unsigned i = 0; i < BCH_SB_MEMBERS_MAX; i++)
		if (c->devs[i])
			c->devs[i]->sb.sb->version_min = cpu_to_le16(version);
	bch_fs_sb_refresh(c);
	c->sb_dirty = true;
}

int bch_fs_lost_data_set(struct bch_fs *c, u64 mask, struct printbuf *err)
{
	if (bch_fs_lost_data(c) == mask)
		return 0;
	bch_fs_sb_edit_begin(c);
	for (unsigned i = 0; i < BCH_SB_MEMBERS_MAX; i++) {
		struct bch_sb_field_ext *e;

		if (!c->devs[i])
			continue;
		e = bch_sb_field_get_minsize(&c->devs[i]->sb, BCH_SB_FIELD_ext,
					     sizeof(*e) / 8, err);
		if (!e) {
			bch_fs_sb_refresh(c);
			return -BCH_ERR_nomem;
		}
		e->btrees_lost_data = cpu_to_le64(mask);
	}
	bch_fs_sb_refresh(c);
	c->sb_dirty = true;
	return 0;
}
