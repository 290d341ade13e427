/* Superblock: reading a device's superblock (with backups), validating every section, decoding it. */
#ifndef BCH_SB_SB_H
#define BCH_SB_SB_H

#include "bcachefs/format.h"
#include "sb/sb_types.h"
#include "util/printbuf.h"

/*
 * Reads the superblock of the device open on fd (size bytes): at `sector`
 * if non-zero, else sector 8; when that copy is missing or invalid, the
 * layout at sector 7 and every copy it lists are tried.  On success buf
 * owns a malloc'd copy; buf->from_backup says a backup was used and `log`
 * says why the primary was rejected.  Errors name what is wrong in err.
 */
int bch_sb_read(int fd, u64 size, u64 sector, struct bch_sb_buf *buf,
		struct printbuf *log, struct printbuf *err);
void bch_sb_buf_exit(struct bch_sb_buf *);

/* Every check of the header and of every field section. */
int bch_sb_validate(const struct bch_sb_buf *, struct printbuf *err);

/* Fills the decoded view. */
void bch_sb_to_cpu(const struct bch_sb *, struct bch_sb_cpu *);

/* Field sections */
struct bch_sb_field *bch_sb_field_get(const struct bch_sb *, enum bch_sb_field_type);
#define bch_sb_field_get_t(sb, name)	\
	((struct bch_sb_field_##name *)bch_sb_field_get(sb, BCH_SB_FIELD_##name))

static inline struct bch_sb_field *bch_sb_field_next(const struct bch_sb_field *f)
{
	return (struct bch_sb_field *)((u64 *)f + le32_to_cpu(f->u64s));
}

static inline void *bch_sb_end(const struct bch_sb *sb)
{
	return (u64 *)sb->fields + le32_to_cpu(sb->u64s);
}

#define sb_for_each_field(f, sb)					\
	for (struct bch_sb_field *f = (struct bch_sb_field *)(sb)->fields;	\
	     (void *)f < bch_sb_end(sb) && le32_to_cpu(f->u64s);		\
	     f = bch_sb_field_next(f))

/* Member idx from members_v2 (or members_v1 when there is no v2); NULL if none. */
const struct bch_member *bch_sb_member(const struct bch_sb *, unsigned idx,
				       struct bch_member *tmp);

/* show-super: fields is a bitmask of sections to print (1 << type) */
struct bch_fs;
/*
 * Calls fn for each entry of the replicas section (v0 or v1; a v0 entry
 * reads as nr_required 1); stops at the first nonzero return and returns it.
 */
int bch_sb_replicas_for_each(const struct bch_sb *sb,
			     int (*fn)(void *ctx, const struct bch_replicas_entry_v1 *), void *ctx);

void bch_sb_to_text(struct printbuf *, const struct bch_sb *, bool print_layout,
		    u64 fields);
void bch_sb_field_to_text(struct printbuf *, const struct bch_sb *,
			  const struct bch_sb_field *);
/* The section without its "name (size N):" line (show-super --field-only) */
void bch_sb_field_body_to_text(struct printbuf *, const struct bch_sb *,
			       const struct bch_sb_field *);
void bch_sb_layout_to_text(struct printbuf *, const struct bch_sb_layout *);

#endif
