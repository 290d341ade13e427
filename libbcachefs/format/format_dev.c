/* Format's devices: opening one for writing, its size and block size, what libblkid finds on it. */
#include <blkid.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fs.h>
#include <uuid/uuid.h>

#include "core/fs.h"
#include "format/format.h"
#include "sb/sb.h"
#include "util/errcode.h"

/*
 * The block size a filesystem on this device must have at least, as the
 * reference takes it: the physical block size of a block device, the
 * preferred I/O size of a file (capped at a page, where some filesystems
 * report far larger sizes).
 */
static int block_size_get(struct bch_format_dev *dev, const struct stat *st,
			  struct printbuf *err)
{
	unsigned pbs = 0;

	if (dev->is_file) {
		dev->dev_block_size = st->st_blksize > BCH_FORMAT_BLOCK_MAX
			? BCH_FORMAT_BLOCK_MAX : st->st_blksize;
		if (dev->dev_block_size < 512)
			dev->dev_block_size = 512;
		/* so writes past the end grow the file as the reference's do */
		dev->ca->logical_block_size = dev->dev_block_size;
		return 0;
	}
	if (ioctl(dev->ca->fd, BLKPBSZGET, &pbs) || !pbs) {
		pb_printf(err, "%s: cannot get the block size: %s", dev->path, strerror(errno));
		return -BCH_ERR_device_open;
	}
	dev->dev_block_size = pbs;
	return 0;
}

static int size_get(struct bch_format_dev *dev, struct printbuf *err)
{
	struct bch_dev *ca = dev->ca;
	struct stat st;
	u64 bytes;
	int lbs;

	if (fstat(ca->fd, &st)) {
		pb_printf(err, "%s: %s", dev->path, strerror(errno));
		return -BCH_ERR_device_open;
	}
	dev->is_file = S_ISREG(st.st_mode);
	ca->logical_block_size = 512;
	if (dev->is_file) {
		ca->size = st.st_size;
	} else if (S_ISBLK(st.st_mode)) {
		if (ioctl(ca->fd, BLKGETSIZE64, &bytes)) {
			pb_printf(err, "%s: cannot get the device size: %s", dev->path, strerror(errno));
			return -BCH_ERR_device_open;
		}
		ca->size = bytes;
		if (!ioctl(ca->fd, BLKSSZGET, &lbs) && lbs > 0)
			ca->logical_block_size = lbs;
	} else {
		pb_printf(err, "%s: not a block device or regular file", dev->path);
		return -BCH_ERR_device_open;
	}
	dev->dev_size = ca->size;
	return block_size_get(dev, &st, err);
}

/* A block device is opened exclusively: not while mounted or in use. */
static int open_fd(const char *path, struct printbuf *err)
{
	struct stat st;
	int flags = O_RDWR | O_CLOEXEC;
	int fd;

	if (!stat(path, &st) && S_ISBLK(st.st_mode))
		flags |= O_EXCL;
	fd = open(path, flags);
	if (fd < 0)
		pb_printf(err, "%s: cannot open for writing: %s%s", path, strerror(errno),
			  errno == EBUSY ? " (mounted or in use?)" : "");
	return fd;
}

int bch_format_dev_open(struct bch_format_dev *dev, struct printbuf *err)
{
	struct bch_dev *ca = calloc(1, sizeof(*ca));
	int ret;

	if (!ca || !(ca->path = strdup(dev->path))) {
		free(ca);
		return -BCH_ERR_nomem;
	}
	ca->fd = open_fd(dev->path, err);
	dev->ca = ca;
	ret = ca->fd < 0 ? -BCH_ERR_device_open : size_get(dev, err);
	if (ret)
		bch_format_dev_close(dev);
	return ret;
}

void bch_format_dev_close(struct bch_format_dev *dev)
{
	bch_dev_close(dev->ca);
	dev->ca = NULL;
}

/* "a filesystem of type ext4, labelled 'x'", "a partition table (gpt)" */
static void describe(struct bch_format_dev *dev, blkid_probe pr)
{
	const char *type = NULL, *label = NULL;

	if (dev->existing[0])
		return;
	if (!blkid_probe_lookup_value(pr, "TYPE", &type, NULL)) {
		if (!blkid_probe_lookup_value(pr, "LABEL", &label, NULL))
			snprintf(dev->existing, sizeof(dev->existing),
				 "a filesystem of type %s, labelled '%s'", type, label);
		else
			snprintf(dev->existing, sizeof(dev->existing),
				 "a filesystem of type %s", type);
	} else if (!blkid_probe_lookup_value(pr, "PTTYPE", &type, NULL)) {
		snprintf(dev->existing, sizeof(dev->existing), "a partition table (%s)", type);
	}
}

static void wipe_add(struct bch_format_dev *dev, u64 offset, u32 len)
{
	if (dev->nr_wipe < BCH_FORMAT_WIPE_MAX)
		dev->wipe[dev->nr_wipe++] = (struct bch_format_wipe) { offset, len };
}

/* Where the signature just found lies, to zero it later. */
static void record_wipe(struct bch_format_dev *dev, blkid_probe pr)
{
	static const char *const keys[][2] = {
		{ "SBMAGIC", "SBMAGIC_OFFSET" }, { "PTMAGIC", "PTMAGIC_OFFSET" },
	};
	const char *off;
	size_t len;

	for (unsigned i = 0; i < 2; i++)
		if (!blkid_probe_lookup_value(pr, keys[i][0], NULL, &len) &&
		    !blkid_probe_lookup_value(pr, keys[i][1], &off, NULL))
			wipe_add(dev, strtoull(off, NULL, 10), len);
}

static blkid_probe probe_new(const struct bch_format_dev *dev)
{
	blkid_probe pr = blkid_new_probe();

	if (!pr)
		return NULL;
	if (blkid_probe_set_device(pr, dev->ca->fd, 0, 0) ||
	    blkid_probe_enable_superblocks(pr, 1) ||
	    blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_LABEL |
					      BLKID_SUBLKS_MAGIC | BLKID_SUBLKS_BADCSUM) ||
	    blkid_probe_enable_partitions(pr, 1) ||
	    blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC)) {
		blkid_free_probe(pr);
		return NULL;
	}
	return pr;
}

/*
 * Our own reader first: libblkid before 2.39 does not know bcachefs 1.x.
 * The magic of every copy the old layout lists is wiped, so that no old
 * copy can be taken for a superblock of the new filesystem.
 */
static void bcachefs_probe(struct bch_format_dev *dev)
{
	struct printbuf log = PRINTBUF, err = PRINTBUF;
	struct bch_sb_buf buf;
	const struct bch_sb_layout *l;
	char uuid[37];

	if (bch_sb_read(dev->ca->fd, dev->dev_size, 0, &buf, &log, &err))
		goto out;
	l = &buf.sb->layout;
	uuid_unparse(buf.sb->user_uuid, uuid);
	snprintf(dev->existing, sizeof(dev->existing), "a bcachefs filesystem (uuid %s)", uuid);
	for (unsigned i = 0; i < l->nr_superblocks && i < 61; i++)
		wipe_add(dev, (le64_to_cpu(l->sb_offset[i]) << 9) +
			 offsetof(struct bch_sb, magic), sizeof(buf.sb->magic));
	bch_sb_buf_exit(&buf);
out:
	pb_exit(&log);
	pb_exit(&err);
}

int bch_format_check_existing(struct bch_format_dev *dev, bool force,
			      struct printbuf *err)
{
	blkid_probe pr;

	dev->existing[0] = 0;
	dev->nr_wipe = 0;
	if (!dev->ca) {
		pb_printf(err, "%s: not open", dev->path);
		return -BCH_ERR_bad_argument;
	}
	bcachefs_probe(dev);
	pr = probe_new(dev);
	if (!pr) {
		pb_printf(err, "%s: libblkid cannot probe it", dev->path);
		return -BCH_ERR_device_open;
	}
	while (!blkid_do_probe(pr)) {
		describe(dev, pr);
		record_wipe(dev, pr);
	}
	blkid_free_probe(pr);
	if (dev->existing[0] && !force) {
		pb_printf(err, "%s contains %s (use --force to format it anyway)",
			  dev->path, dev->existing);
		return -BCH_ERR_bad_argument;
	}
	return 0;
}
