/* Superblock lookups: field sections by type and the decoded view the rest of the library reads. */
#include <string.h>

#include "sb/sb.h"
#include "sb/sb_fields.h"

struct bch_sb_field *bch_sb_field_get(const struct bch_sb *sb, enum bch_sb_field_type type)
{
	sb_for_each_field(f, sb)
		if (le32_to_cpu(f->type) == type)
			return f;
	return NULL;
}

static void member_to_cpu(const struct bch_member *m, struct bch_member_cpu *c)
{
	unsigned durability = member_durability(m);

	memset(c, 0, sizeof(*c));
	c->exists		= !mem_is_zero(m->uuid, sizeof(m->uuid));
	memcpy(c->uuid, m->uuid, sizeof(c->uuid));
	c->nbuckets		= le64_to_cpu(m->nbuckets);
	c->first_bucket		= le16_to_cpu(m->first_bucket);
	c->bucket_size		= le16_to_cpu(m->bucket_size);
	c->state		= member_state(m);
	/* stored as durability + 1, with 0 meaning the default of 1 */
	c->durability		= durability ? durability - 1 : 1;
	c->data_allowed		= member_data_allowed(m);
	c->group		= member_group(m);
	c->discard		= member_discard(m);
	c->freespace_initialized = member_freespace_initialized(m);
	c->btree_bitmap_shift	= m->btree_bitmap_shift;
	c->btree_allocated_bitmap = le64_to_cpu(m->btree_allocated_bitmap);
}

void bch_sb_to_cpu(const struct bch_sb *sb, struct bch_sb_cpu *c)
{
	u64 magic;

	memset(c, 0, sizeof(*c));
	c->version		= le16_to_cpu(sb->version);
	c->version_min		= le16_to_cpu(sb->version_min);
	c->version_upgrade_complete = sb_version_upgrade_complete(sb);
	memcpy(c->uuid, sb->uuid, sizeof(c->uuid));
	memcpy(c->user_uuid, sb->user_uuid, sizeof(c->user_uuid));

	/* the "sb magic" behind the jset and bset magics: the uuid's first 8 bytes */
	memcpy(&magic, sb->uuid, sizeof(magic));
	c->magic		= le64_to_cpu(magic);
	c->jset_magic		= c->magic ^ JSET_MAGIC_XOR;
	c->bset_magic		= c->magic ^ BSET_MAGIC_XOR;

	c->nr_devices		= sb->nr_devices;
	c->block_size		= le16_to_cpu(sb->block_size);
	c->btree_node_size	= sb_btree_node_size(sb);
	c->encoded_extent_max	= 1U << (sb_encoded_extent_max_bits(sb) & 31);
	c->meta_csum_type	= sb_meta_csum_type(sb);
	c->data_csum_type	= sb_data_csum_type(sb);
	c->str_hash_type	= sb_str_hash_type(sb);
	c->encryption_type	= sb_encryption_type(sb);
	c->clean		= sb_clean(sb);
	c->initialized		= sb_initialized(sb);
	c->features		= le64_to_cpu(sb->features[0]);
	c->compat		= le64_to_cpu(sb->compat[0]);
	c->time_base_lo		= le64_to_cpu(sb->time_base_lo);
	c->time_precision	= le32_to_cpu(sb->time_precision);

	for (unsigned i = 0; i < sb->nr_devices && i < BCH_SB_MEMBERS_MAX; i++) {
		struct bch_member tmp;
		const struct bch_member *m = bch_sb_member(sb, i, &tmp);

		if (m)
			member_to_cpu(m, &c->members[i]);
	}
}
