#!/bin/sh
# mktree.sh DIR PROFILE: write a deterministic source tree for `format --source`.
#
# Profiles:
#   tiny   ~40 entries: files of at most 1 KiB (inline-data sized), a symlink,
#          a hardlink, xattrs; small enough to copy inside the emulated VM
#   small  ~700 entries: compressible text and binary files from 0 B to 2 MiB,
#          one directory with 400 entries and a file with 30 xattrs (to give
#          str_hash something to hash), hardlinks, symlinks, a fifo
#   full   20k+ entries: everything in small, plus hardlink groups, relative,
#          absolute, dangling and 4000-byte symlinks, user.* xattrs up to
#          2 KiB (binary values too), sparse files, multi-megabyte files,
#          240-byte, UTF-8 and non-UTF-8 names, fifos, device nodes, odd
#          modes and owners
#   bench  full with 100k+ files of at most 2000 bytes, for bench/list.sh
#
# The same DIR and PROFILE always give the same names, contents, modes,
# owners, xattrs and m/atimes (ctime cannot be set). DIR must not exist.
set -e
[ $# -eq 2 ] || { awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0" >&2; exit 2; }
[ ! -e "$1" ] || { echo "mktree: $1 exists" >&2; exit 1; }
command -v python3 >/dev/null || { echo "mktree: needs python3" >&2; exit 1; }
exec python3 - "$1" "$2" <<'PY'
import os, random, stat, sys

root, profile = sys.argv[1].encode(), sys.argv[2]
os.umask(0o022)   # modes must not depend on the caller's umask
rng = random.Random("bch-corpus-" + profile)
T0 = 1700000000  # fixed timestamps: 2023-11-14
WORDS = (b"alloc bucket btree journal extent inode dirent xattr snapshot "
         b"subvolume replicas checksum compression superblock member label "
         b"rebalance backpointer freespace discard the of and a to in is").split()
dirs = []

def path(*parts):
    return os.path.join(root, *[p if isinstance(p, bytes) else p.encode()
                                for p in parts])

def text(n):
    out, size = [], 0
    while size < n:
        w = rng.choice(WORDS)
        out.append(w)
        size += len(w) + 1
    return b" ".join(out)[:n]

def noise(n):
    return rng.randbytes(n)

def stamp(p, i, link=False):
    t = (T0 + i * 7919) * 10**9 + (i * 104729) % 10**9
    os.utime(p, ns=(t + 3600 * 10**9, t), follow_symlinks=not link)

def mkdir(p):
    os.makedirs(p, exist_ok=True)
    dirs.append(p)

def put(p, data, i=0, mode=0o644, owner=None):
    with open(p, "wb") as f:
        f.write(data)
    os.chmod(p, mode)
    if owner:
        os.chown(p, *owner)
    stamp(p, i)

def xattrs(p, pairs):
    for k, v in pairs:
        os.setxattr(p, b"user." + k, v, follow_symlinks=False)

def sparse(p, pieces, size, i):
    with open(p, "wb") as f:
        for off, data in pieces:
            f.seek(off)
            f.write(data)
        f.truncate(size)
    stamp(p, i)

def symlink(target, p, i):
    os.symlink(target, p)
    stamp(p, i, link=True)

def small_files(d, n, maxsize, start=0):
    """n files of 0..maxsize bytes, mixed text and noise."""
    for i in range(n):
        size = rng.choice((0, 1, 17, 100, 511, 512, 1000, 4096, 5000, maxsize))
        size = min(size, maxsize) if i % 5 else rng.randrange(maxsize + 1)
        data = text(size) if i % 3 else noise(size)
        put(os.path.join(d, b"f%05d" % (start + i)), data, start + i)

def tiny():
    mkdir(root)
    mkdir(path("d"))
    for i in range(24):
        size = (0, 1, 60, 200, 511, 700, 1024)[i % 7]
        put(path("d", "small%02d" % i), text(size), i)
    put(path("one-kib"), text(1024), 30)
    put(path("two-blocks"), noise(8192), 31)
    os.link(path("d", "small03"), path("hardlink-to-small03"))
    symlink(b"d/small01", path("symlink"), 32)
    xattrs(path("d", "small05"), [(b"colour", b"blue"), (b"empty", b"")])
    mkdir(path("empty-dir"))

def small():
    mkdir(root)
    mkdir(path("text"))
    for i in range(120):
        put(path("text", "t%03d.txt" % i), text(rng.choice((300, 5000, 70000, 200000))), i)
    mkdir(path("bin"))
    for i in range(60):
        put(path("bin", "b%03d.dat" % i), noise(rng.choice((100, 4096, 65536, 150000))), 200 + i)
    put(path("big-text"), text(2 << 20), 300)
    put(path("big-noise"), noise(1 << 20), 301)
    mkdir(path("many"))           # one directory with many dirents to hash
    for i in range(400):
        put(path("many", "entry-%d-%s" % (i, "x" * (i % 40))), b"", 400 + i)
    put(path("xattr-host"), b"has xattrs\n", 900)
    xattrs(path("xattr-host"), [(b"attr%02d" % i, text(i * 3)) for i in range(30)])
    for i in range(5):
        os.link(path("text", "t%03d.txt" % i), path("link-t%03d" % i))
    symlink(b"text/t000.txt", path("sym-rel"), 901)
    symlink(b"/nonexistent/target", path("sym-dangling"), 902)
    os.mkfifo(path("fifo"))
    stamp(path("fifo"), 903)

def full(nfiles=20000, ndirs=200, maxsize=6000):
    small()
    # bulk: many small files across a two-level hierarchy
    per = nfiles // ndirs
    for d in range(ndirs):
        dd = path("bulk", "g%02d" % (d % 10), "d%03d" % d)
        mkdir(path("bulk")); mkdir(path("bulk", "g%02d" % (d % 10))); mkdir(dd)
        small_files(dd, per, maxsize, start=d * per)
    # hardlink groups of 2, 3 and 10 names, some across directories
    mkdir(path("links"))
    for g, n in enumerate((2, 3, 10, 2, 3)):
        src = path("links", "group%d" % g)
        put(src, text(3000 + g), 1000 + g)
        for k in range(1, n):
            where = path("links", "group%d.%d" % (g, k)) if k % 2 else \
                path("bulk", "g0%d" % g, "link-group%d.%d" % (g, k))
            os.link(src, where)
    # symlinks
    mkdir(path("symlinks"))
    symlink(b"../links/group0", path("symlinks", "relative"), 1100)
    symlink(b"/links/group1", path("symlinks", "absolute"), 1101)
    symlink(b"no/such/file", path("symlinks", "dangling"), 1102)
    symlink(b"a" * 255, path("symlinks", "target255"), 1103)
    symlink(b"/" + b"long-component/" * 266, path("symlinks", "long4000"), 1104)
    symlink(b".", path("symlinks", "dot"), 1105)
    # xattrs of assorted sizes, some on directories and symlinks
    mkdir(path("xattrs"))
    for i in range(50):
        p = path("xattrs", "x%02d" % i)
        put(p, text(i * 10), 1200 + i)
        xattrs(p, [(b"k%d" % j, text(rng.randrange(0, 2000 if j == 0 else 150)))
                   for j in range(1 + i % 7)])
    xattrs(path("xattrs"), [(b"on-a-directory", b"yes")])
    put(path("xattrs", "binary"), b"binary xattr values\n", 1260)
    xattrs(path("xattrs", "binary"), [(b"nul-bytes", b"a\0b\0\0c"), (b"noise", noise(200)),
                                      (b"high-bytes", bytes(range(128, 256))), (b"empty", b"")])
    # sparse files: holes at the start, middle and end
    mkdir(path("sparse"))
    sparse(path("sparse", "hole-start"), [(8 << 20, b"end")], (8 << 20) + 3, 1300)
    sparse(path("sparse", "hole-middle"), [(0, noise(65536)), (32 << 20, noise(4096))], (32 << 20) + 4096, 1301)
    sparse(path("sparse", "hole-end"), [(0, text(5000))], 64 << 20, 1302)
    sparse(path("sparse", "checkerboard"),
           [(k * 262144, noise(4096 * (1 + k % 4))) for k in range(40)], 40 * 262144, 1303)
    sparse(path("sparse", "all-hole"), [], 16 << 20, 1304)
    # multi-megabyte files, text (compressible) and noise (incompressible)
    mkdir(path("large"))
    put(path("large", "text-6m"), text(6 << 20), 1400)
    put(path("large", "noise-5m"), noise(5 << 20), 1401)
    put(path("large", "mixed-3m"), (text(1 << 20) + noise(1 << 20)) + text((1 << 20) + 12345), 1402)
    # awkward names: long, UTF-8, not UTF-8, shell metacharacters. Not 254 or
    # 255 bytes: the reference's format --source corrupts its heap on those
    # (the kernel-written corpus images have 255-byte names instead).
    mkdir(path("names"))
    for i, n in enumerate([b"n" * 240, "\u00e9t\u00e9-\u65e5\u672c\u8a9e-\u0436\u0443\u0440\u043d\u0430\u043b".encode(),
                           "\U0001F600-emoji".encode(), b"latin1-\xe9\xe8\xff", b"\x01\x1f-control",
                           b" leading space", b"trailing space ", b"-dash", b"new\nline",
                           b"tab\there", b"star*?[x]", b"quote'\"`$(x)", b".hidden", b"..."]):
        put(path("names", n), text(i * 3), 1500 + i)
    mkdir(path("names", "\u00fcml\u00e4ut-dir"))
    put(path("names", "\u00fcml\u00e4ut-dir", "\u00e9" * 120), b"240 bytes of name\n", 1530)
    # special files and odd metadata
    mkdir(path("special"))
    for i in range(3):
        os.mkfifo(path("special", "fifo%d" % i)); stamp(path("special", "fifo%d" % i), 1600 + i)
    os.mknod(path("special", "null-like"), 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    os.mknod(path("special", "loop-like"), 0o660 | stat.S_IFBLK, os.makedev(7, 99))
    for i, n in enumerate(("null-like", "loop-like")):
        os.chmod(path("special", n), (0o666, 0o660)[i])
        stamp(path("special", n), 1605 + i)
    for i, mode in enumerate((0, 0o4755, 0o2755, 0o1777, 0o400, 0o777)):
        put(path("special", "mode%o" % mode), b"m", 1610 + i, mode, owner=(1000 + i, 2000 + i))
    os.chown(path("special"), 65534, 65534)
    # a deep directory chain
    p = path("deep")
    mkdir(p)
    for i in range(40):
        p = os.path.join(p, b"level%02d" % i)
        mkdir(p)
    put(os.path.join(p, b"bottom"), b"deep\n", 1700)

def bench():
    full(nfiles=100000, ndirs=1000, maxsize=2000)

{"tiny": tiny, "small": small, "full": full, "bench": bench}[profile]()
for i, d in enumerate(reversed(dirs)):   # children before parents
    stamp(d, 5000 + i)
PY
