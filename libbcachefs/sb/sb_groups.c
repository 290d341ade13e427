/* Disk groups section: the label tree devices and targets refer to. */
#include <stdlib.h>
#include <string.h>

#include "sb/sb.h"
#include "sb/sb_fields.h"
#include "util/errcode.h"

/* Labels nest ("ssd.fast"); deeper paths than this are treated as corrupt. */
#define DISK_PATH_MAX_DEPTH	32

static const struct bch_disk_group *groups_get(const struct bch_sb *sb, size_t *nr)
{
	const struct bch_sb_field *f = bch_sb_field_get(sb, BCH_SB_FIELD_disk_groups);

	*nr = f ? sb_field_nr_entries(f, sizeof(struct bch_sb_field_disk_groups),
				      sizeof(struct bch_disk_group)) : 0;
	return f ? ((const struct bch_sb_field_disk_groups *)f)->entries : NULL;
}

void bch_sb_disk_path_to_text(struct printbuf *out, const struct bch_sb *sb,
			      unsigned group)
{
	size_t nr_groups;
	const struct bch_disk_group *groups = groups_get(sb, &nr_groups);
	unsigned path[DISK_PATH_MAX_DEPTH], depth = 0, v = group;

	/* collect the path leaf first, then print it from the root */
	while (1) {
		if (depth == DISK_PATH_MAX_DEPTH || v >= nr_groups ||
		    group_deleted(&groups[v])) {
			pb_printf(out, "invalid label %u", v);
			return;
		}
		path[depth++] = v;
		if (!group_parent(&groups[v]))
			break;
		v = group_parent(&groups[v]) - 1;
	}

	while (depth--) {
		pb_printf(out, "%.*s", BCH_SB_LABEL_SIZE,
			  (const char *)groups[path[depth]].label);
		if (depth)
			pb_str(out, ".");
	}
}

/* Deleted groups last, then by parent, then by label. */
static int group_cmp(const void *l, const void *r)
{
	const struct bch_disk_group *a = l, *b = r;
	u64 da = group_deleted(a), db = group_deleted(b);
	u64 pa = group_parent(a), pb = group_parent(b);

	if (da != db)
		return da < db ? -1 : 1;
	if (pa != pb)
		return pa < pb ? -1 : 1;
	return strncmp((const char *)a->label, (const char *)b->label, BCH_SB_LABEL_SIZE);
}

/* Every member's group must exist and be live. */
static int members_groups_check(const struct bch_sb *sb,
				const struct bch_disk_group *groups, size_t nr,
				struct printbuf *err)
{
	struct bch_member tmp;

	for (unsigned i = 0; i < sb->nr_devices; i++) {
		const struct bch_member *m = bch_sb_member(sb, i, &tmp);
		unsigned g = m ? member_group(m) : 0;

		if (!g)
			continue;
		if (g - 1 >= nr) {
			pb_printf(err, "disk %u has invalid label %u (have %zu)", i, g - 1, nr);
			return -BCH_ERR_sb_invalid;
		}
		if (group_deleted(&groups[g - 1])) {
			pb_printf(err, "disk %u has deleted label %u", i, g - 1);
			return -BCH_ERR_sb_invalid;
		}
	}
	return 0;
}

static int labels_check(const struct bch_disk_group *groups, size_t nr,
			struct printbuf *err)
{
	struct bch_disk_group *sorted;
	int ret = 0;

	for (size_t i = 0; i < nr; i++)
		if (!group_deleted(&groups[i]) && !groups[i].label[0]) {
			pb_printf(err, "label %zu empty", i);
			return -BCH_ERR_sb_invalid;
		}

	sorted = malloc(nr * sizeof(*sorted));
	if (!sorted)
		return -BCH_ERR_nomem;
	memcpy(sorted, groups, nr * sizeof(*sorted));
	qsort(sorted, nr, sizeof(*sorted), group_cmp);

	/* two live groups with the same parent may not share a name */
	for (size_t i = 0; i + 1 < nr && !ret; i++)
		if (!group_deleted(&sorted[i]) && !group_cmp(&sorted[i], &sorted[i + 1])) {
			pb_printf(err, "duplicate label %llu.%.*s",
				  (unsigned long long)group_parent(&sorted[i]),
				  BCH_SB_LABEL_SIZE, (const char *)sorted[i].label);
			ret = -BCH_ERR_sb_invalid;
		}
	free(sorted);
	return ret;
}

static int disk_groups_validate(const struct bch_sb *sb, const struct bch_sb_field *f,
				struct printbuf *err)
{
	const struct bch_disk_group *groups =
		((const struct bch_sb_field_disk_groups *)f)->entries;
	size_t nr = sb_field_nr_entries(f, sizeof(struct bch_sb_field_disk_groups),
					sizeof(*groups));

	return  members_groups_check(sb, groups, nr, err) ?:
		(nr ? labels_check(groups, nr, err) : 0);
}

/* One line without a newline: "[parent 0 name ssd] [parent 1 name fast]" */
static void disk_groups_to_text(struct printbuf *out, const struct bch_sb *sb,
				const struct bch_sb_field *f)
{
	const struct bch_disk_group *g = ((const struct bch_sb_field_disk_groups *)f)->entries;
	size_t nr = sb_field_nr_entries(f, sizeof(struct bch_sb_field_disk_groups),
					sizeof(*g));

	for (size_t i = 0; i < nr; i++) {
		if (i)
			pb_str(out, " ");
		if (group_deleted(&g[i]))
			pb_str(out, "[deleted]");
		else
			pb_printf(out, "[parent %llu name %.*s]",
				  (unsigned long long)group_parent(&g[i]),
				  BCH_SB_LABEL_SIZE, (const char *)g[i].label);
	}
}

const struct bch_sb_field_ops bch_sb_field_ops_disk_groups = {
	.validate	= disk_groups_validate,
	.to_text	= disk_groups_to_text,
};
