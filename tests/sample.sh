#!/bin/sh
# The main job on a sample image: format it with a tree copied in, check it
# (ours, then the reference's fsck), show it, read a file back.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
ref="$top/tests/oracle/ref-bcachefs"
b="$top/bcachefs"
dir=${TMPDIR:-/tmp}/bcachefs-sample
rm -rf "$dir"; mkdir -p "$dir/src"
for i in $(seq 1 200); do echo "file $i" > "$dir/src/f$i"; done
mkdir -p "$dir/src/sub" && head -c 3000000 /dev/urandom > "$dir/src/sub/big"
ln -s f1 "$dir/src/link"
truncate -s 512M "$dir/sample.img"
"$b" format -q --compression=lz4 --source="$dir/src" "$dir/sample.img"
"$b" fsck -n "$dir/sample.img"
echo "our fsck: clean"
if "$ref" version > /dev/null 2>&1; then
	"$ref" fsck -n "$dir/sample.img" > "$dir/fsck.log" 2>&1 && echo "reference fsck: clean"
fi
"$b" show-super "$dir/sample.img"
"$b" list -b inodes "$dir/sample.img" | head -40
"$b" cat "$dir/sample.img" sub/big | cmp - "$dir/src/sub/big" && echo "sub/big reads back identical"
echo "sample image: $dir/sample.img"
