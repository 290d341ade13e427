#!/usr/bin/env python3
"""sparse-sum.py FILE...: one SHA-256 of the files, reading only their data.

The same as hashing the files' bytes for telling whether anything wrote to
them, but as fast on a sparse image of 1 GiB holding 2 MiB as on a file of
2 MiB: what is hashed is each file's size and, for every data region the
filesystem reports (SEEK_DATA/SEEK_HOLE), its offset, length and bytes.  A
write into a hole makes a new region, so it changes the sum too.  On a
filesystem without SEEK_DATA the whole file is one region.
"""

import hashlib
import os
import sys

CHUNK = 1 << 20


def add_file(h, path):
    with open(path, "rb") as f:
        fd = f.fileno()
        size = os.fstat(fd).st_size
        h.update(b"file %d\n" % size)
        pos = 0
        while pos < size:
            try:
                start = os.lseek(fd, pos, os.SEEK_DATA)
            except OSError:
                break       # no data after pos (ENXIO)
            end = os.lseek(fd, start, os.SEEK_HOLE)
            h.update(b"data %d %d\n" % (start, end - start))
            f.seek(start)
            left = end - start
            while left:
                buf = f.read(min(CHUNK, left))
                if not buf:
                    raise SystemExit(f"{path}: short read at {end - left}")
                h.update(buf)
                left -= len(buf)
            pos = end


def main():
    h = hashlib.sha256()
    for path in sys.argv[1:]:
        add_file(h, path)
    print(h.hexdigest())


if __name__ == "__main__":
    main()
