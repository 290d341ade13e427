#!/usr/bin/env python3
"""mksource.py: build a source tree for format --source tests.

usage: mksource.py DIR [--small] [--seed N] [--bucket BYTES]

Every kind of entry a filesystem holds, with the metadata a copy must keep:
regular files of many sizes (every size class up to three buckets, one big
file of 200 MB unless --small), sparse files, files with holes at both ends,
compressible and incompressible contents, directories (one with 10000
entries unless --small), names of 1 and 255 bytes and non-ASCII names,
symlinks (short and long targets), hardlinks across directories, character
and block devices, fifos, sockets, user/trusted/security xattrs (one file
with 120 of them), POSIX ACLs (access and default), several owners,
setuid/setgid/sticky modes, and times with nanoseconds, set last so that
directories keep theirs.  The same seed makes the same tree.
"""

import os
import random
import socket
import stat
import struct
import sys
import time


def acl_xattr(entries):
    """The Linux POSIX ACL xattr value: version 2, then (tag, perm, id)."""
    out = struct.pack("<I", 2)
    for tag, perm, ident in entries:
        out += struct.pack("<HHI", tag, perm, ident)
    return out


ACL_USER_OBJ, ACL_USER, ACL_GROUP_OBJ, ACL_GROUP, ACL_MASK, ACL_OTHER = 1, 2, 4, 8, 0x10, 0x20
UNDEF = 0xFFFFFFFF


class Tree:
    def __init__(self, root, rng, bucket):
        self.root = root
        self.rng = rng
        self.bucket = bucket
        self.times = []         # (path, atime_ns, mtime_ns), applied at the end
        self.count = 0

    def path(self, rel):
        return os.path.join(self.root, rel)

    def stamp(self, rel):
        base = 1_600_000_000 + self.rng.randrange(100_000_000)
        at = base * 10**9 + self.rng.randrange(10**9)
        mt = (base - self.rng.randrange(10**6)) * 10**9 + self.rng.randrange(10**9)
        self.times.append((rel, at, mt))

    def owner(self, rel, follow=False):
        uid = self.rng.choice([0, 0, 1000, 1001, 65534, 123456])
        gid = self.rng.choice([0, 100, 1000, 54321])
        os.chown(self.path(rel), uid, gid, follow_symlinks=follow)

    def mkdir(self, rel, mode=0o755):
        os.mkdir(self.path(rel))
        os.chmod(self.path(rel), mode)
        self.owner(rel)
        self.stamp(rel)
        self.count += 1

    def data(self, size, kind):
        if kind == "zero":
            return bytes(size)
        if kind == "random":
            return self.rng.randbytes(size)
        # compressible text: slices of a block of random words
        if not hasattr(self, "text"):
            words = [b"bcachefs", b"extent", b"bucket", b"journal", b"btree", b"\n", b" "]
            self.text = b"".join(self.rng.choice(words) for _ in range(300000))
        out = bytearray()
        while len(out) < size:
            off = self.rng.randrange(len(self.text) // 2)
            out += self.text[off:off + min(size - len(out), len(self.text) - off)]
        return bytes(out)

    def file(self, rel, size, kind="text", mode=0o644, holes=()):
        p = self.path(rel)
        with open(p, "wb") as f:
            pos = 0
            chunk = 1 << 20
            while pos < size:
                n = min(chunk, size - pos)
                hole = any(a <= pos and pos + n <= b for a, b in holes)
                if hole:
                    f.seek(n, os.SEEK_CUR)
                else:
                    f.write(self.data(n, kind))
                pos += n
            f.truncate(size)
        os.chmod(p, mode)
        self.owner(rel)
        self.stamp(rel)
        self.count += 1

    def sparse(self, rel, size, pieces):
        p = self.path(rel)
        with open(p, "wb") as f:
            f.truncate(size)
            for off, n in pieces:
                f.seek(off)
                f.write(self.data(n, self.rng.choice(["text", "random"])))
        self.owner(rel)
        self.stamp(rel)
        self.count += 1

    def symlink(self, rel, target):
        os.symlink(target, self.path(rel))
        self.owner(rel)
        # an atime in the future: relatime then leaves it alone when the
        # link is read (readlink updates a symlink's atime)
        now = time.time_ns() + 3600 * 10**9
        self.times.append((rel, now, now - self.rng.randrange(10**6) * 10**9))
        self.count += 1

    def special(self, rel, kind):
        p = self.path(rel)
        if kind == "fifo":
            os.mkfifo(p, 0o640)
        elif kind == "chr":
            os.mknod(p, 0o620 | stat.S_IFCHR, os.makedev(4, 64 + self.rng.randrange(8)))
        elif kind == "blk":
            os.mknod(p, 0o660 | stat.S_IFBLK, os.makedev(8, self.rng.randrange(16)))
        elif kind == "sock":
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(p)
            s.close()
            os.chmod(p, 0o755)
        self.owner(rel)
        self.stamp(rel)
        self.count += 1

    def xattr(self, rel, name, value):
        try:
            os.setxattr(self.path(rel), name, value, follow_symlinks=False)
        except OSError as e:
            # a host filesystem with one block of xattrs per inode (ext4):
            # keep the name, shorten the value
            if e.errno != 28:
                raise
            os.setxattr(self.path(rel), name, value[:1], follow_symlinks=False)

    def finish(self):
        # deepest first, so setting a child's times does not change its parent's
        for rel, at, mt in sorted(self.times, key=lambda t: -t[0].count("/")):
            if at is None:
                continue
            os.utime(self.path(rel), ns=(at, mt), follow_symlinks=False)


def size_classes(bucket):
    sizes = [0, 1, 2, 100, 511, 512, 513, 1000, 2047, 2048, 4095, 4096, 4097,
             8191, 8192, 12288, 65535, 65536, 65537, 131072, 131073]
    b = bucket
    sizes += [b - 1, b, b + 1, 2 * b - 4096, 2 * b, 2 * b + 7, 3 * b - 1, 3 * b]
    return sorted(set(sizes))


def build(root, small, seed, bucket):
    rng = random.Random(seed)
    t = Tree(root, rng, bucket)
    os.makedirs(root, exist_ok=True)
    # as in a filesystem's root; format --source leaves it out (the new
    # filesystem has its own), so comparisons skip it
    t.mkdir("lost+found", 0o700)

    t.mkdir("sizes")
    for i, s in enumerate(size_classes(bucket)):
        for kind in ("text", "random", "zero"):
            t.file(f"sizes/{kind}-{s:08d}", s, kind)

    t.mkdir("sparse")
    mb = 1 << 20
    t.sparse("sparse/hole-only", 64 * mb, [])
    t.sparse("sparse/data-at-end", 16 * mb, [(16 * mb - 5000, 5000)])
    t.sparse("sparse/data-at-start", 16 * mb, [(0, 70000)])
    t.sparse("sparse/islands", 40 * mb, [(i * 3 * mb + rng.randrange(mb), 1 + rng.randrange(300000))
                                         for i in range(12)])
    t.sparse("sparse/unaligned", 10 * mb + 3, [(4097, 1), (mb + 511, 4096 * 3 + 5)])

    if not small:
        t.file("big-200M", 200 * mb, "text", holes=[(50 * mb, 60 * mb)])
        t.file("big-random-8M", 8 * mb, "random")

    t.mkdir("names")
    t.file("names/a", 3)
    t.file("names/" + "n" * 255, 10)
    t.file("names/" + "é" * 127 + "x", 7)            # 255 bytes of UTF-8
    for n in ["日本語のファイル", "Ünïcödé-ñame", "emoji-\U0001F600", "space name",
              "tab\tname", "new\nline", "-dash", ".hidden", "..dotdot", "quote'\"",
              "back\\slash", "\x01ctrl"]:
        t.file("names/" + n, rng.randrange(5000))
    t.mkdir("names/d" * 1 + "ir-" + "é" * 20)

    big_dir = 10000 if not small else 500
    t.mkdir("bigdir")
    for i in range(big_dir):
        name = f"bigdir/f{i:05d}-{rng.getrandbits(32):08x}"
        if i % 97 == 0:
            t.mkdir(name)
        else:
            t.file(name, rng.choice([0, 0, 1, 100, 3000, 5000]))

    # a tree of directories, files spread through it
    t.mkdir("tree")
    dirs = ["tree"]
    nfiles = 10000 if not small else 800
    for i in range(nfiles // 20):
        d = f"{rng.choice(dirs)}/d{i}"
        t.mkdir(d, rng.choice([0o755, 0o700, 0o1777, 0o2755, 0o750]))
        dirs.append(d)
    for i in range(nfiles):
        d = rng.choice(dirs)
        s = 300000 if rng.randrange(50) == 0 else rng.choice([0, 10, 200, 4096, 9000, 40000])
        mode = rng.choice([0o644, 0o600, 0o755, 0o4755, 0o2711, 0o444])
        t.file(f"{d}/f{i}", s, rng.choice(["text", "random"]), mode)

    t.mkdir("links")
    for i in range(30):
        t.symlink(f"links/s{i}", rng.choice(["../sizes", "/etc/passwd", "x" * rng.randrange(1, 200),
                                            "dangling/target", "日本"]))
    t.symlink("links/long", "/".join(["component"] * 400)[:4000])
    t.symlink("links/len-1", "z")
    for i in range(10):
        src = f"links/h{i}"
        t.file(src, rng.randrange(20000))
        for j in range(1 + i % 4):
            dst = f"{rng.choice(dirs)}/hl{i}-{j}"
            os.link(t.path(src), t.path(dst))
            t.count += 1

    t.mkdir("special")
    for i, kind in enumerate(["fifo", "chr", "blk", "sock"] * 3):
        t.special(f"special/{kind}{i}", kind)

    t.mkdir("xattrs")
    t.file("xattrs/many", 100)
    for i in range(120):
        t.xattr("xattrs/many", f"user.attr{i:03d}", rng.randbytes(rng.randrange(0, 5)))
    t.file("xattrs/kinds", 10)
    t.xattr("xattrs/kinds", "user.empty", b"")
    t.xattr("xattrs/kinds", "user." + "k" * 200, b"long name")
    t.xattr("xattrs/kinds", "trusted.t", b"trusted value")
    t.xattr("xattrs/kinds", "security.s", b"security value")
    t.xattr("xattrs/kinds", "user.big", rng.randbytes(1900))
    t.mkdir("xattrs/dir")
    t.xattr("xattrs/dir", "user.on-a-dir", b"yes")
    t.symlink("xattrs/link", "kinds")

    t.file("xattrs/acl-file", 10, mode=0o640)
    t.xattr("xattrs/acl-file", "system.posix_acl_access", acl_xattr([
        (ACL_USER_OBJ, 6, UNDEF), (ACL_USER, 4, 1000), (ACL_USER, 6, 1234),
        (ACL_GROUP_OBJ, 4, UNDEF), (ACL_GROUP, 4, 100), (ACL_MASK, 6, UNDEF),
        (ACL_OTHER, 0, UNDEF)]))
    t.mkdir("xattrs/acl-dir", 0o750)
    t.xattr("xattrs/acl-dir", "system.posix_acl_default", acl_xattr([
        (ACL_USER_OBJ, 7, UNDEF), (ACL_USER, 5, 1000), (ACL_GROUP_OBJ, 5, UNDEF),
        (ACL_MASK, 5, UNDEF), (ACL_OTHER, 0, UNDEF)]))

    t.finish()
    return t.count


def main():
    args = sys.argv[1:]
    small = "--small" in args
    seed, bucket = 1, 256 << 10
    if "--seed" in args:
        seed = int(args[args.index("--seed") + 1])
    if "--bucket" in args:
        bucket = int(args[args.index("--bucket") + 1])
    root = [a for i, a in enumerate(args)
            if not a.startswith("--") and (i == 0 or args[i - 1] not in ("--seed", "--bucket"))]
    if len(root) != 1:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    n = build(root[0], small, seed, bucket)
    print(f"{n} entries")


if __name__ == "__main__":
    main()
