/* Inside the superblock module: the per-field-type ops table and helpers the field files share. */
#ifndef BCH_SB_SB_FIELDS_H
#define BCH_SB_SB_FIELDS_H

#include "bcachefs/format.h"
#include "util/printbuf.h"

/*
 * What each field type knows about itself.  validate() explains a problem
 * in err (the caller adds which section) and returns -BCH_ERR_sb_invalid;
 * to_text() prints the body of the section, after its header line.
 */
struct bch_sb_field_ops {
	int (*validate)(const struct bch_sb *, const struct bch_sb_field *,
			struct printbuf *err);
	void (*to_text)(struct printbuf *, const struct bch_sb *,
			const struct bch_sb_field *);
};

extern const struct bch_sb_field_ops *const bch_sb_field_ops[BCH_SB_FIELD_NR];

#define SB_FIELD_OPS_DECLARE(name)						\
	extern const struct bch_sb_field_ops bch_sb_field_ops_##name;
#define x(name, nr) SB_FIELD_OPS_DECLARE(name)
BCH_SB_FIELDS()
#undef x

/* Field geometry: a section is u64s words long, header included. */
static inline size_t sb_field_bytes(const struct bch_sb_field *f)
{
	return (size_t)le32_to_cpu(f->u64s) * sizeof(u64);
}

static inline const void *sb_field_end(const struct bch_sb_field *f)
{
	return (const u8 *)f + sb_field_bytes(f);
}

/* Whole array entries of `entry` bytes after a section's fixed part. */
static inline size_t sb_field_nr_entries(const struct bch_sb_field *f,
					 size_t fixed, size_t entry)
{
	size_t bytes = sb_field_bytes(f);

	return bytes > fixed ? (bytes - fixed) / entry : 0;
}

static inline size_t sb_bytes(const struct bch_sb *sb)
{
	return BCH_SB_HEADER_BYTES + (size_t)le32_to_cpu(sb->u64s) * sizeof(u64);
}

static inline bool mem_is_zero(const void *p, size_t n)
{
	const u8 *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* sb_validate.c */
bool bch_sb_magic_ok(const u8 magic[16]);
int bch_sb_check_versions(const struct bch_sb *, struct printbuf *err);
int bch_sb_layout_validate(const struct bch_sb_layout *, struct printbuf *err);

/* sb_members.c */
bool bch_sb_member_exists(const struct bch_sb *, unsigned idx);
unsigned bch_sb_nr_members_alive(const struct bch_sb *);

/* sb_replicas.c: bitmask of data types the replicas section puts on dev */
unsigned bch_sb_dev_has_data(const struct bch_sb *, unsigned dev);
void bch_sb_data_type_to_text(struct printbuf *, unsigned type);

/* sb_groups.c: "ssd.fast" for a disk group index */
void bch_sb_disk_path_to_text(struct printbuf *, const struct bch_sb *,
			      unsigned group);

/* sb_text.c: ctime() style, local time */
void bch_sb_datetime_to_text(struct printbuf *, s64 seconds);

/* sb_sections.c: an fsck error's name, by stable id */
void bch_sb_error_id_to_text(struct printbuf *, unsigned id);

#endif
