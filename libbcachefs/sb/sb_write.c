/* Writing a device's superblock: every copy its layout lists, the layout in sector 7, checksums, seq. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "checksum/checksum.h"
#include "core/fs.h"
#include "sb/sb.h"
#include "sb/sb_fields.h"
#include "sb/sb_write.h"
#include "util/errcode.h"

/* Copies must start block aligned: sector 8 is, up to 4 KiB blocks. */
#define SB_WRITE_BLOCK_MAX	4096

static size_t round_up_to(size_t v, size_t align)
{
	return (v + align - 1) / align * align;
}

static unsigned write_block(const struct bch_dev *ca)
{
	return ca->logical_block_size > 512 ? ca->logical_block_size : 512;
}

/* What must hold before anything is written: a usable layout and checksum type. */
static int check_writable(const struct bch_dev *ca, const struct bch_sb *sb,
			  struct printbuf *err)
{
	struct printbuf why = PRINTBUF;
	unsigned type = sb_csum_type(sb);
	u64 max = 512ULL << (sb->layout.sb_max_size_bits & 63);

	if (write_block(ca) > SB_WRITE_BLOCK_MAX) {
		pb_printf(err, "%s: logical block size %u is above %u, the largest a superblock can be written with",
			  ca->path, write_block(ca), SB_WRITE_BLOCK_MAX);
		return -BCH_ERR_unsupported;
	}
	if (sb->layout.sb_max_size_bits > BCH_SB_LAYOUT_SIZE_BITS_MAX) {
		pb_printf(err, "%s: layout's sb_max_size_bits %u is above %u", ca->path,
			  sb->layout.sb_max_size_bits, BCH_SB_LAYOUT_SIZE_BITS_MAX);
		return -BCH_ERR_sb_invalid;
	}
	if (bch_sb_layout_validate(&sb->layout, &why)) {
		pb_printf(err, "%s: not writing a superblock with an invalid layout: %s",
			  ca->path, pb_cstr(&why));
		pb_exit(&why);
		return -BCH_ERR_sb_invalid;
	}
	pb_exit(&why);
	if (sb_bytes(sb) > max) {
		pb_printf(err, "%s: superblock of %zu bytes does not fit the layout's %llu",
			  ca->path, sb_bytes(sb), (unsigned long long)max);
		return -BCH_ERR_sb_invalid;
	}
	if (!bch_csum_type_valid(type) || bch_csum_type_is_encryption(type)) {
		pb_printf(err, "%s: superblock checksum type %u cannot checksum a superblock",
			  ca->path, type);
		return -BCH_ERR_sb_invalid;
	}
	return 0;
}

/* The layout goes in the last 512 bytes of the first 4 KiB: read-modify-write of its block. */
static int write_layout(const struct bch_dev *ca, const struct bch_sb_layout *layout,
			struct printbuf *err)
{
	unsigned bs = write_block(ca);
	u64 sector_off = (u64)BCH_SB_LAYOUT_SECTOR << 9;
	u64 block_off = sector_off / bs * bs;
	u8 *buf = malloc(bs);
	int ret;

	if (!buf)
		return -BCH_ERR_nomem;
	ret = bch_dev_pread(ca, buf, bs, block_off, err);
	if (!ret) {
		memcpy(buf + (sector_off - block_off), layout, sizeof(*layout));
		ret = bch_dev_pwrite(ca, buf, bs, block_off, err);
	}
	free(buf);
	return ret;
}

/* One copy: its offset, then the checksum over everything after the csum field. */
static int write_copy(const struct bch_dev *ca, struct bch_sb *copy, size_t bytes,
		      size_t padded, u64 sector, struct printbuf *err)
{
	copy->offset = cpu_to_le64(sector);
	copy->csum = bch_checksum(sb_csum_type(copy), bch_nonce_null(),
				  (const u8 *)copy + sizeof(copy->csum),
				  bytes - sizeof(copy->csum));
	return bch_dev_pwrite(ca, copy, padded, sector << 9, err);
}

int bch_sb_write(const struct bch_dev *ca, const struct bch_sb *sb,
		 struct printbuf *err)
{
	size_t bytes = sb_bytes(sb);
	size_t padded = round_up_to(bytes, write_block(ca));
	struct bch_sb *copy;
	int ret = check_writable(ca, sb, err);

	if (ret)
		return ret;
	copy = calloc(1, padded);
	if (!copy)
		return -BCH_ERR_nomem;
	memcpy(copy, sb, bytes);

	ret = write_layout(ca, &sb->layout, err);
	for (unsigned i = 0; !ret && i < sb->layout.nr_superblocks; i++)
		ret = write_copy(ca, copy, bytes, padded,
				 le64_to_cpu(sb->layout.sb_offset[i]), err);
	free(copy);
	return ret ?: bch_dev_flush(ca, err);
}

/* members_v2 holds member.seq; members_v1's 56-byte entries stop before it. */
static void members_set_seq(struct bch_sb *sb, u64 seq, u64 written)
{
	struct bch_sb_field_members_v2 *mi = bch_sb_field_get_t(sb, members_v2);
	size_t seq_off = offsetof(struct bch_member, seq);
	__le64 v = cpu_to_le64(seq);
	size_t stride;

	if (!mi)
		return;
	stride = le16_to_cpu(mi->member_bytes);
	if (stride < seq_off + sizeof(v))
		return;
	for (unsigned i = 0; i < sb->nr_devices && i < BCH_SB_MEMBERS_MAX; i++) {
		size_t off = sizeof(*mi) + (size_t)i * stride;

		if ((written & (1ULL << i)) && off + stride <= sb_field_bytes(&mi->field))
			memcpy((u8 *)mi + off + seq_off, &v, sizeof(v));
	}
}

void bch_sb_next_seq(struct bch_sb *sb, u64 write_time, u64 written)
{
	u64 seq = le64_to_cpu(sb->seq) + 1;

	sb->seq = cpu_to_le64(seq);
	sb->write_time = cpu_to_le64(write_time);
	set_sb_csum_type(sb, bch_csum_opt_to_type(sb_meta_csum_type(sb), false));
	members_set_seq(sb, seq, written);
}
