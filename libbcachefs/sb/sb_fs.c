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

/* The superblock's entries (v0 or v1 section) into out; returns how many. */
static unsigned replicas_read(const struct bch_sb *sb, struct replicas_slot *out, unsigned max)
{
	const struct bch_sb_field *f = bch_sb_field_get(sb, BCH_SB_FIELD_replicas_v0);
	bool v0 = f != NULL;
	unsigned nr = 0;

	if (!f)
		f = bch_sb_field_get(sb, BCH_SB_FIELD_replicas);
	if (!f)
		return 0;

	const u8 *p = (const u8 *)f + sizeof(*f);
	const u8 *end = (const u8 *)f + le32_to_cpu(f->u64s) * 8;
	unsigned hdr = v0 ? 2 : 3;

	while (nr < max && p + hdr <= end && p[0] && p + hdr + p[1] <= end &&
	       p[1] <= BCH_SB_MEMBERS_MAX) {
		struct replicas_slot *s = &out[nr++];

		memset(s, 0, sizeof(*s));
		s->e.data_type = p[0];
		s->e.nr_devs = p[1];
		s->e.nr_required = v0 ? 1 : p[2];
		memcpy(s->e.devs, p + hdr, p[1]);
		p += hdr + p[1];
	}
	return nr;
}

static bool replicas_eq(const struct bch_replicas_entry_v1 *a, const struct bch_replicas_entry_v1 *b)
{
	return a->data_type == b->data_type && a->nr_devs == b->nr_devs &&
	       a->nr_required == b->nr_required && !memcmp(a->devs, b->devs, a->nr_devs);
}

int bch_fs_replicas_mark(struct bch_fs *c, const struct bch_replicas_entry_v1 *e,
			 struct printbuf *err)
{
	static const unsigned max = REPLICAS_MARK_MAX;
	struct replicas_slot slots[REPLICAS_MARK_MAX];
	const struct bch_replicas_entry_v1 *ptrs[REPLICAS_MARK_MAX];
	unsigned nr = replicas_read(c->disk_sb.sb, slots, max - 1);
	int ret = 0;

	for (unsigned i = 0; i < nr; i++)
		if (replicas_eq(&slots[i].e, e))
			return 0;
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
