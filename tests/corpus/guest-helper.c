/*
 * The kernel VM's helper (tests/corpus/build.sh, t3300): what busybox
 * cannot do, bcachefs subvolume ioctls, FICLONE, setxattr, fallocate and
 * quota limits. Built static, the guest has no C library.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <libgen.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/quota.h>
#include <sys/xattr.h>
#include <unistd.h>

/* The bcachefs ioctl ABI (bcachefs_ioctl.h), version 1 of the call. */
struct bch_ioctl_subvolume {
uint32_t flags;
uint32_t dirfd;
uint16_t mode;
uint16_t pad[3];
uint64_t dst_ptr;
uint64_t src_ptr;
};
#define BCH_IOCTL_SUBVOLUME_CREATE  _IOW(0xbc, 16, struct bch_ioctl_subvolume)
#define BCH_IOCTL_SUBVOLUME_DESTROY _IOW(0xbc, 17, struct bch_ioctl_subvolume)
#define BCH_SUBVOL_SNAPSHOT_CREATE  (1U << 0)
#define BCH_SUBVOL_SNAPSHOT_RO      (1U << 1)

static int fail(const char *what)
{
perror(what);
return 1;
}

static int subvol(unsigned long req, uint32_t flags, const char *src, const char *dst)
{
char *parent = dirname(strdup(dst));
int fd = open(parent, O_RDONLY | O_DIRECTORY);
struct bch_ioctl_subvolume arg = {
.flags = flags, .dirfd = (uint32_t)AT_FDCWD, .mode = 0777,
.dst_ptr = (uintptr_t)dst, .src_ptr = (uintptr_t)src,
};

if (fd < 0)
return fail(parent);
return ioctl(fd, req, &arg) ? fail(dst) : 0;
}

static int range(const char *path, int mode, const char *off, const char *len)
{
int fd = open(path, O_RDWR | O_CREAT, 0644);

if (fd < 0)
return fail(path);
return fallocate(fd, mode, atoll(off), atoll(len)) ? fail(path) : 0;
}

static int clone(const char *src, const char *dst)
{
int in = open(src, O_RDONLY), out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);

if (in < 0 || out < 0)
return fail(in < 0 ? src : dst);
return ioctl(out, FICLONE, in) ? fail(dst) : 0;
}

/* Quota limits are what the quotas btree stores (usage is counted at
 * mount time), so keys appear only once limits are set. */
static int setquota(const char *dev, const char *type, char **v)
{
struct if_dqblk q = {
.dqb_bsoftlimit = atoll(v[1]), .dqb_bhardlimit = atoll(v[2]),
.dqb_isoftlimit = atoll(v[3]), .dqb_ihardlimit = atoll(v[4]),
.dqb_valid = QIF_LIMITS,
};
int t = !strcmp(type, "user") ? USRQUOTA : GRPQUOTA;

return quotactl(QCMD(Q_SETQUOTA, t), dev, atoi(v[0]), (caddr_t)&q) ? fail(dev) : 0;
}

int main(int argc, char **argv)
{
const char *c = argc > 1 ? argv[1] : "";

if (!strcmp(c, "subvol") && argc == 3)
return subvol(BCH_IOCTL_SUBVOLUME_CREATE, 0, NULL, argv[2]);
if (!strcmp(c, "snapshot") && argc == 4)
return subvol(BCH_IOCTL_SUBVOLUME_CREATE, BCH_SUBVOL_SNAPSHOT_CREATE, argv[2], argv[3]);
if (!strcmp(c, "snapshot-ro") && argc == 4)
return subvol(BCH_IOCTL_SUBVOLUME_CREATE,
      BCH_SUBVOL_SNAPSHOT_CREATE | BCH_SUBVOL_SNAPSHOT_RO, argv[2], argv[3]);
if (!strcmp(c, "subvol-destroy") && argc == 3)
return subvol(BCH_IOCTL_SUBVOLUME_DESTROY, 0, NULL, argv[2]);
if (!strcmp(c, "clone") && argc == 4)
return clone(argv[2], argv[3]);
if (!strcmp(c, "setxattr") && argc == 5)
return setxattr(argv[2], argv[3], argv[4], strlen(argv[4]), 0) ? fail(argv[2]) : 0;
if (!strcmp(c, "falloc") && argc == 5)
return range(argv[2], 0, argv[3], argv[4]);
if (!strcmp(c, "setquota") && argc == 9)
return setquota(argv[2], argv[3], argv + 4);
if (!strcmp(c, "punch") && argc == 5)
return range(argv[2], FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, argv[3], argv[4]);
fprintf(stderr, "usage: helper subvol|snapshot|snapshot-ro|subvol-destroy|"
"clone|setxattr|falloc|punch|setquota ARGS\n");
return 2;
}
