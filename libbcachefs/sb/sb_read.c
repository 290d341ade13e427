/* Reading a device's superblock: the primary copy, else the copies the layout at sector 7 lists. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checksum/checksum.h"
#include "sb/sb.h"
#include "sb/sb_fields.h"
#include "util/errcode.h"

/* The first read of a copy: the header and, usually, every field. */
#define SB_FIRST_READ	4096

void bch_sb_buf_exit(struct bch_sb_buf *buf)
{
	free(buf->sb);
	memset(buf, 0, sizeof(*buf));
}

/*
 * Reads bytes at byte offset off.  Bytes past the end of the device read
 * as zeroes, so a truncated copy fails the checks that follow with a
 * message about what it contains.
 */
static int read_at(int fd, u64 size, void *p, size_t bytes, u64 off,
		   struct printbuf *err)
{
	size_t done = 0;

	if (size && off >= size) {
		pb_printf(err, "past the end of the device (%llu sectors)",
			  (unsigned long long)(size >> 9));
		return -BCH_ERR_device_short;
	}
	while (done < bytes) {
		ssize_t r = pread(fd, (u8 *)p + done, bytes - done, off + done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			pb_printf(err, "IO error: %s", strerror(errno));
			return -BCH_ERR_device_read;
		}
		if (!r)
			break;
		done += r;
	}
	memset((u8 *)p + done, 0, bytes - done);
	return 0;
}

static void csum_hex(struct printbuf *out, unsigned type, struct bch_csum csum)
{
	pb_hex_bytes(out, &csum, bch_csum_bytes(type), false);
}

/* The checksum covers everything after the csum field, fields included. */
static int check_csum(const struct bch_sb *sb, struct printbuf *err)
{
	unsigned type = sb_csum_type(sb);
	struct bch_csum got;

	if (type >= BCH_CSUM_NR) {
		pb_printf(err, "unknown checksum type %u", type);
		return -BCH_ERR_sb_invalid;
	}
	got = bch_checksum(type, bch_nonce_null(), (const u8 *)sb + sizeof(sb->csum),
			   sb_bytes(sb) - sizeof(sb->csum));
	if (bch_csum_eq(got, sb->csum))
		return 0;

	pb_printf(err, "checksum error, type %s: got ", bch_csum_type_name(type));
	csum_hex(err, type, got);
	pb_str(err, " should be ");
	csum_hex(err, type, sb->csum);
	return -BCH_ERR_sb_csum;
}

/* What makes a copy unusable before it is validated: magic, version, size. */
static int check_copy(const struct bch_sb *sb, struct printbuf *err)
{
	u64 max = 512ULL << (sb->layout.sb_max_size_bits < BCH_SB_LAYOUT_SIZE_BITS_MAX
			     ? sb->layout.sb_max_size_bits : BCH_SB_LAYOUT_SIZE_BITS_MAX);
	int ret;

	if (!bch_sb_magic_ok(sb->magic)) {
		pb_str(err, "Not a bcachefs superblock (got magic ");
		pb_uuid(err, sb->magic);
		pb_str(err, ")");
		return -BCH_ERR_no_superblock;
	}
	ret = bch_sb_check_versions(sb, err);
	if (ret)
		return ret;
	if (sb_bytes(sb) > max) {
		pb_printf(err, "Invalid superblock: too big (got %zu bytes, layout max %llu)",
			  sb_bytes(sb), (unsigned long long)max);
		return -BCH_ERR_sb_invalid;
	}
	return 0;
}

/* A copy bigger than the first read: read it again whole. */
static int read_rest(int fd, u64 size, u64 sector, struct bch_sb **sb,
		     struct printbuf *err)
{
	size_t bytes = sb_bytes(*sb);
	struct bch_sb *big = realloc(*sb, bytes);
	int ret;

	if (!big)
		return -BCH_ERR_nomem;
	*sb = big;
	ret =   read_at(fd, size, big, bytes, sector << 9, err) ?:
		check_copy(big, err);
	if (!ret && sb_bytes(big) > bytes) {
		pb_str(err, "superblock changed size while being read");
		ret = -BCH_ERR_device_read;
	}
	return ret;
}

/* Reads and checks the copy at sector into a new buffer. */
static int read_one(int fd, u64 size, u64 sector, struct bch_sb_buf *buf,
		    struct printbuf *err)
{
	struct bch_sb *sb = malloc(SB_FIRST_READ);
	int ret;

	if (!sb)
		return -BCH_ERR_nomem;
	ret =   read_at(fd, size, sb, SB_FIRST_READ, sector << 9, err) ?:
		check_copy(sb, err);
	if (!ret && sb_bytes(sb) > SB_FIRST_READ)
		ret = read_rest(fd, size, sector, &sb, err);
	ret = ret ?: check_csum(sb, err);
	if (ret) {
		free(sb);
		return ret;
	}
	*buf = (struct bch_sb_buf) { .sb = sb, .bytes = sb_bytes(sb), .sector = sector };
	return 0;
}

/*
 * The primary copy failed: try every copy the layout lists, except the one
 * already tried.  err collects why each one was refused.
 */
static int read_backups(int fd, u64 size, u64 tried, struct bch_sb_buf *buf,
			struct printbuf *err)
{
	struct bch_sb_layout layout;
	int ret;

	pb_printf(err, "; layout at sector %u: ", BCH_SB_LAYOUT_SECTOR);
	ret =   read_at(fd, size, &layout, sizeof(layout),
			(u64)BCH_SB_LAYOUT_SECTOR << 9, err) ?:
		bch_sb_layout_validate(&layout, err);
	if (ret)
		return ret;
	pb_str(err, "valid");

	ret = -BCH_ERR_no_superblock;
	for (unsigned i = 0; i < layout.nr_superblocks; i++) {
		u64 sector = le64_to_cpu(layout.sb_offset[i]);

		if (sector == tried)
			continue;
		pb_printf(err, "; backup at sector %llu: ", (unsigned long long)sector);
		ret = read_one(fd, size, sector, buf, err);
		if (!ret) {
			buf->from_backup = true;
			break;
		}
	}
	return ret;
}

/*
 * The kernel fills in these options when a superblock is read, when older
 * versions (or damage) left them zero; show-super prints them filled in.
 */
static void apply_read_defaults(struct bch_sb *sb)
{
	unsigned version = le16_to_cpu(sb->version);

	if (!sb_journal_flush_delay(sb))
		set_sb_journal_flush_delay(sb, 1000);
	if (!sb_journal_reclaim_delay(sb))
		set_sb_journal_reclaim_delay(sb, 1000);
	if (!sb_version_upgrade_complete(sb))
		set_sb_version_upgrade_complete(sb, version);
	if (version <= bcachefs_metadata_version_disk_accounting_v2) {
		if (!sb_allocator_stuck_timeout(sb))
			set_sb_allocator_stuck_timeout(sb, 30);
		set_sb_promote_whole_extents(sb, 1);
	}
}

int bch_sb_read(int fd, u64 size, u64 sector, struct bch_sb_buf *buf,
		struct printbuf *log, struct printbuf *err)
{
	u64 primary = sector ? sector : BCH_SB_SECTOR;
	struct printbuf why = PRINTBUF, msg = PRINTBUF;
	int ret;

	memset(buf, 0, sizeof(*buf));
	ret = read_one(fd, size, primary, buf, &why);
	if (ret) {
		pb_printf(&msg, "superblock at sector %llu: %s",
			  (unsigned long long)primary, pb_cstr(&why));
		pb_str(log, pb_cstr(&why));
		/* a location the caller asked for has no fallback */
		if (!sector)
			ret = read_backups(fd, size, primary, buf, &msg);
	}

	if (!ret) {
		apply_read_defaults(buf->sb);
		pb_reset(&msg);
		pb_printf(&msg, "superblock at sector %llu is invalid: ",
			  (unsigned long long)buf->sector);
		ret = bch_sb_validate(buf, &msg);
		if (ret)
			bch_sb_buf_exit(buf);
	}
	if (ret)
		pb_str(err, pb_cstr(&msg));
	pb_exit(&why);
	pb_exit(&msg);
	return ret;
}
