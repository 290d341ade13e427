#!/usr/bin/env python3
# tree-tar.py TAR MANIFEST [FILES]: write a deterministic directory tree of
# about FILES (default 5000) files as a tar archive, for a guest to unpack
# into a filesystem under test, and the md5sum of every regular file (as
# `md5sum -c` reads it, paths relative to the directory the tar is unpacked
# in) to MANIFEST.
#
# The tree ("tree/"): two levels of directories, one directory with 400
# entries (dirent hashing, several btree nodes), files from 0 bytes (inline
# data sized) to 1 MiB, compressible text and incompressible noise,
# relative and dangling symlinks, hardlinks within and across directories,
# a few modes and owners. About 6 MiB of data, so that an emulated guest
# writes it within seconds. Same arguments, same bytes.
import hashlib
import io
import random
import sys
import tarfile

tar_path, manifest_path = sys.argv[1], sys.argv[2]
nfiles = int(sys.argv[3]) if len(sys.argv) > 3 else 5000
rng = random.Random("bch-format-interop")
T0 = 1700000000
WORDS = (b"alloc bucket btree journal extent inode dirent xattr snapshot "
         b"subvolume replicas checksum compression superblock member label "
         b"the of and a to in is").split()
members = []          # (TarInfo, data or None)
sums = {}             # path -> md5 of a regular file


def text(n):
    out, size = [], 0
    while size < n:
        w = rng.choice(WORDS)
        out.append(w)
        size += len(w) + 1
    return b" ".join(out)[:n]


def info(name, kind, i, mode):
    t = tarfile.TarInfo(name)
    t.type, t.mode, t.mtime = kind, mode, T0 + i * 61
    t.uid, t.gid, t.uname, t.gname = 0, 0, "root", "root"
    return t


def mkdir(name, i):
    members.append((info(name, tarfile.DIRTYPE, i, 0o755), None))


def put(name, data, i, mode=0o644, owner=None):
    t = info(name, tarfile.REGTYPE, i, mode)
    t.size = len(data)
    if owner:
        t.uid, t.gid = owner
    members.append((t, data))
    sums[name] = hashlib.md5(data).hexdigest()


def file_size(i):
    r = rng.random()
    if r < 0.10:
        return 0
    if r < 0.50:
        return rng.randrange(1, 100)        # inline data
    if r < 0.85:
        return rng.randrange(100, 2000)
    if r < 0.985:
        return rng.randrange(2000, 6000)
    return rng.randrange(6000, 30000)


mkdir("tree", 0)
files = []
leaves = [f"tree/g{g}/d{d:02d}" for g in range(10) for d in range(5)]
for g in range(10):
    mkdir(f"tree/g{g}", 1 + g)
for n, leaf in enumerate(leaves):
    mkdir(leaf, 20 + n)
mkdir("tree/many", 90)
i = 0
for i in range(nfiles - 400 - 100):
    name = f"{leaves[i % len(leaves)]}/f{i:05d}"
    size = file_size(i)
    data = text(size) if i % 3 else rng.randbytes(size)
    owner = (1000 + i % 3, 100) if i % 17 == 0 else None
    put(name, data, 100 + i, 0o600 if i % 29 == 0 else 0o644, owner)
    files.append(name)
put("tree/big-text", text(400000), 5000)
put("tree/big-noise", rng.randbytes(200000), 5001)
put("tree/big-mixed", text(100000) + rng.randbytes(100000) + text(100000), 5002)
for k in range(400):
    put(f"tree/many/entry-{k}-{'x' * (k % 50)}", text(k % 40), 6000 + k)
# symlinks: relative, to directories, dangling
for k in range(60):
    t = info(f"{leaves[(k * 7) % len(leaves)]}/sym{k:02d}", tarfile.SYMTYPE, 7000 + k, 0o777)
    t.linkname = ("../../" + files[k * 13][5:]) if k % 4 else "no/such/target"
    members.append((t, None))
# hardlinks: 100 names for 40 files, some in other directories
for k in range(100):
    target = files[(k % 40) * 31]
    where = leaves[(k * 3) % len(leaves)] if k % 2 else target.rsplit("/", 1)[0]
    t = info(f"{where}/hl{k:03d}", tarfile.LNKTYPE, 8000 + k, 0o644)
    t.linkname = target
    members.append((t, None))

with tarfile.open(tar_path, "w", format=tarfile.GNU_FORMAT) as tar:
    for t, data in members:
        tar.addfile(t, io.BytesIO(data) if data is not None else None)
with open(manifest_path, "w") as m:
    for name in sorted(sums):
        m.write(f"{sums[name]}  {name}\n")
