/* Opening a filesystem: devices and their superblocks, the journal, btree roots, the journal key overlay. */
#include <blkid.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "recovery.h"
#include "alloc/allocator.h"
#include "btree/cache.h"
#include "btree/overlay.h"
#include "btree/prefetch.h"
#include "journal/journal.h"
#include "journal/journal_write.h"
#include "sb/sb.h"
#include "util/errcode.h"

int bch_dev_pread(const struct bch_dev *ca, void *buf, size_t bytes, u64 off,
		  struct printbuf *err)
{
	size_t done = 0;

	if (off + bytes > ca->size) {
		pb_printf(err, "%s: read of %zu bytes at offset %llu is past the end of the device (%llu bytes)",
			  ca->path, bytes, (unsigned long long)off,
			  (unsigned long long)ca->size);
		return -BCH_ERR_device_short;
	}
	while (done < bytes) {
		ssize_t r = pread(ca->fd, (u8 *)buf + done, bytes - done, off + done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			pb_printf(err, "%s: read error at offset %llu: %s", ca->path,
				  (unsigned long long)(off + done),
				  r < 0 ? strerror(errno) : "unexpected end of file");
			return -BCH_ERR_device_read;
		}
		done += r;
	}
	return 0;
}

/* The only place that writes to a device: exactly bytes, or an error naming it. */
int bch_dev_pwrite(const struct bch_dev *ca, const void *buf, size_t bytes, u64 off,
		   struct printbuf *err)
{
	size_t done = 0;

	if (off + bytes > ca->size) {
		pb_printf(err, "%s: write of %zu bytes at offset %llu is past the end of the device (%llu bytes)",
			  ca->path, bytes, (unsigned long long)off,
			  (unsigned long long)ca->size);
		return -BCH_ERR_device_short;
	}
	if (ca->writes_left) {
		if (!*ca->writes_left) {
			pb_printf(err, "%s: simulated crash: no more writes", ca->path);
			return -BCH_ERR_device_write;
		}
		--*ca->writes_left;
	}
	while (done < bytes) {
		ssize_t r = pwrite(ca->fd, (const u8 *)buf + done, bytes - done, off + done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			pb_printf(err, "%s: write error at offset %llu: %s", ca->path,
				  (unsigned long long)(off + done),
				  r < 0 ? strerror(errno) : "no progress");
			return -BCH_ERR_device_write;
		}
		done += r;
	}
	return 0;
}

/* Waits until what was written is on stable storage. */
int bch_dev_flush(const struct bch_dev *ca, struct printbuf *err)
{
	if (fsync(ca->fd)) {
		pb_printf(err, "%s: flush error: %s", ca->path, strerror(errno));
		return -BCH_ERR_device_write;
	}
	return 0;
}

static int dev_size(struct bch_dev *ca, struct printbuf *err)
{
	struct stat st;

	if (fstat(ca->fd, &st)) {
		pb_printf(err, "%s: %s", ca->path, strerror(errno));
		return -BCH_ERR_device_open;
	}
	ca->logical_block_size = 512;
	if (S_ISBLK(st.st_mode)) {
		u64 size;
		int lbs;

		if (ioctl(ca->fd, BLKGETSIZE64, &size)) {
			pb_printf(err, "%s: cannot get device size: %s", ca->path, strerror(errno));
			return -BCH_ERR_device_open;
		}
		ca->size = size;
		if (!ioctl(ca->fd, BLKSSZGET, &lbs) && lbs > 0)
			ca->logical_block_size = lbs;
	} else if (S_ISREG(st.st_mode)) {
		ca->size = st.st_size;
	} else {
		pb_printf(err, "%s: not a block device or regular file", ca->path);
		return -BCH_ERR_device_open;
	}
	return 0;
}

/* What libblkid finds on a device that has no bcachefs superblock. */
static void describe_contents(const char *path, struct printbuf *out)
{
	blkid_probe pr = blkid_new_probe_from_filename(path);
	const char *type = NULL;

	if (!pr)
		return;
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
	blkid_probe_enable_partitions(pr, 1);
	if (!blkid_do_safeprobe(pr)) {
		if (!blkid_probe_lookup_value(pr, "TYPE", &type, NULL))
			pb_printf(out, "; libblkid identifies it as %s", type);
		else if (!blkid_probe_lookup_value(pr, "PTTYPE", &type, NULL))
			pb_printf(out, "; libblkid finds a %s partition table", type);
	}
	blkid_free_probe(pr);
}

void bch_dev_close(struct bch_dev *ca)
{
	if (!ca)
		return;
	if (ca->fd >= 0)
		close(ca->fd);
	bch_sb_buf_exit(&ca->sb);
	free(ca->bucket_gens);
	free(ca->journal_buckets);
	free(ca->path);
	free(ca);
}

int bch_dev_open(const char *path, const struct bch_open_opts *opts,
		 struct bch_dev **out, struct printbuf *err)
{
	struct bch_dev *ca = calloc(1, sizeof(*ca));
	int ret;

	*out = NULL;
	if (!ca || !(ca->path = strdup(path))) {
		free(ca);
		return -BCH_ERR_nomem;
	}
	ca->fd = open(path, (opts->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (ca->fd < 0) {
		pb_printf(err, "%s: cannot open: %s", path, strerror(errno));
		ret = -BCH_ERR_device_open;
		goto err;
	}
	ret = dev_size(ca, err);
	if (ret)
		goto err;

	struct printbuf log = PRINTBUF, msg = PRINTBUF;

	ret = bch_sb_read(ca->fd, ca->size, opts->sb_sector, &ca->sb, &log, &msg);
	if (ret) {
		pb_printf(err, "%s: %s", path, pb_cstr(&msg));
		describe_contents(path, err);
		pb_exit(&log);
		pb_exit(&msg);
		goto err;
	}
	pb_exit(&msg);
	ret = bch_sb_validate(&ca->sb, &msg);
	if (ret) {
		pb_printf(err, "%s: invalid superblock: %s", path, pb_cstr(&msg));
		pb_exit(&log);
		pb_exit(&msg);
		goto err;
	}
	pb_exit(&msg);
	pb_exit(&log);
	ca->idx = ca->sb.sb->dev_idx;
	*out = ca;
	return 0;
err:
	bch_dev_close(ca);
	return ret;
}

/* The device's journal buckets, in ring order, from journal_v2 (or the legacy field). */
static int dev_journal_buckets(struct bch_dev *ca)
{
	const struct bch_sb *sb = ca->sb.sb;
	struct bch_sb_field_journal_v2 *j2 = bch_sb_field_get_t(sb, journal_v2);
	struct bch_sb_field_journal *j1 = bch_sb_field_get_t(sb, journal);
	size_t nr = 0;

	if (j2) {
		unsigned n = (le32_to_cpu(j2->field.u64s) - 1) / 2;

		for (unsigned i = 0; i < n; i++)
			nr += le64_to_cpu(j2->d[i].nr);
		ca->journal_buckets = malloc((nr ? nr : 1) * sizeof(u64));
		if (!ca->journal_buckets)
			return -BCH_ERR_nomem;
		nr = 0;
		for (unsigned i = 0; i < n; i++)
			for (u64 b = 0; b < le64_to_cpu(j2->d[i].nr); b++)
				ca->journal_buckets[nr++] = le64_to_cpu(j2->d[i].start) + b;
	} else if (j1) {
		nr = le32_to_cpu(j1->field.u64s) - 1;
		ca->journal_buckets = malloc((nr ? nr : 1) * sizeof(u64));
		if (!ca->journal_buckets)
			return -BCH_ERR_nomem;
		for (size_t i = 0; i < nr; i++)
			ca->journal_buckets[i] = le64_to_cpu(j1->buckets[i]);
	}
	ca->nr_journal_buckets = nr;
	return 0;
}

/* Puts the opened devices in their slots and checks they form one filesystem. */
static int assemble(struct bch_fs *c, struct bch_dev **devs, unsigned nr,
		    struct printbuf *err)
{
	struct bch_dev *newest = devs[0];

	for (unsigned i = 1; i < nr; i++) {
		if (memcmp(devs[i]->sb.sb->uuid, devs[0]->sb.sb->uuid, 16)) {
			pb_printf(err, "%s and %s belong to different filesystems",
				  devs[0]->path, devs[i]->path);
			return -BCH_ERR_sb_mismatch;
		}
		if (le64_to_cpu(devs[i]->sb.sb->seq) > le64_to_cpu(newest->sb.sb->seq))
			newest = devs[i];
	}
	for (unsigned i = 0; i < nr; i++) {
		struct bch_dev *ca = devs[i];

		if (c->devs[ca->idx]) {
			pb_printf(err, "%s and %s are the same member (device %u)",
				  c->devs[ca->idx]->path, ca->path, ca->idx);
			return -BCH_ERR_sb_mismatch;
		}
		c->devs[ca->idx] = ca;
		c->nr_devs++;
		if (c->opts.fail_after_writes) {
			c->writes_left = c->opts.fail_after_writes;
			ca->writes_left = &c->writes_left;
		}
	}
	c->disk_sb = newest->sb;
	bch_sb_to_cpu(c->disk_sb.sb, &c->sb);

	for (unsigned i = 0; i < BCH_SB_MEMBERS_MAX; i++) {
		struct bch_dev *ca = c->devs[i];

		if (ca && ca->sb.from_backup)
			pb_printf(&c->log, "%s: primary superblock unusable, using the backup at sector %llu\n",
				  ca->path, (unsigned long long)ca->sb.sector);
		if (ca) {
			ca->mi = c->sb.members[i];
			int ret = dev_journal_buckets(ca);
			if (ret)
				return ret;
		} else if (c->sb.members[i].exists &&
			   c->sb.members[i].state != BCH_MEMBER_STATE_failed &&
			   !c->opts.degraded) {
			pb_printf(err, "device %u of this filesystem is missing (pass every device, or use degraded mode)", i);
			return -BCH_ERR_sb_missing_device;
		}
	}
	return 0;
}

void bch_fs_close(struct bch_fs *c)
{
	if (!c)
		return;
	bch_btree_prefetch_exit(c);
	bch_allocator_exit(c);
	bch_overlay_free(c->overlay);
	bch_btree_cache_exit(c);
	bch_journal_write_exit(c);
	bch_journal_exit(&c->journal);
	for (unsigned i = 0; i < BCH_SB_MEMBERS_MAX; i++) {
		/* disk_sb borrows the buffer of one of the devices */
		bch_dev_close(c->devs[i]);
	}
	pb_exit(&c->log);
	bch_typed_log_exit(&c->log_types);
	free(c);
}

int bch_fs_open(char * const *paths, unsigned nr, const struct bch_open_opts *opts,
		struct bch_fs **out, struct printbuf *err)
{
	struct bch_dev *devs[BCH_SB_MEMBERS_MAX] = { NULL };
	struct bch_fs *c;
	unsigned opened = 0;
	int ret;

	*out = NULL;
	if (!nr || nr > BCH_SB_MEMBERS_MAX) {
		pb_printf(err, "need 1 to %u devices", BCH_SB_MEMBERS_MAX);
		return -BCH_ERR_bad_argument;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -BCH_ERR_nomem;
	c->opts = *opts;

	for (; opened < nr; opened++) {
		ret = bch_dev_open(paths[opened], opts, &devs[opened], err);
		if (ret)
			goto err;
	}
	ret = assemble(c, devs, nr, err);
	opened = 0;	/* c owns the devices now */
	if (ret)
		goto err;
	if (c->sb.encryption_type) {
		/* its journal and nodes cannot be read without the key */
		pb_printf(err, "%s: the filesystem is encrypted: encryption is not supported yet",
			  paths[0]);
		ret = -BCH_ERR_encrypted;
		goto err;
	}

	ret = bch_fs_recover(c, err);
	if (ret)
		goto err;
	*out = c;
	return 0;
err:
	for (unsigned i = 0; i < opened; i++)
		bch_dev_close(devs[i]);
	bch_fs_close(c);
	return ret;
}
