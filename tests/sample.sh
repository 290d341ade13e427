#!/bin/sh
# The main job on a sample image: format it, fill it, check it, show it.
# Until our `format` exists the image comes from the reference tools.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
ref="$top/tests/oracle/ref-bcachefs"
dir=${TMPDIR:-/tmp}/bcachefs-sample
rm -rf "$dir"; mkdir -p "$dir/src"
for i in $(seq 1 200); do echo "file $i" > "$dir/src/f$i"; done
mkdir -p "$dir/src/sub" && head -c 3000000 /dev/urandom > "$dir/src/sub/big"
ln -s f1 "$dir/src/link"
truncate -s 512M "$dir/sample.img"
"$ref" format --source="$dir/src" "$dir/sample.img" > "$dir/format.log" 2>&1
"$ref" fsck -n "$dir/sample.img" > "$dir/fsck.log" 2>&1 || true
"$top/bcachefs" show-super "$dir/sample.img"
"$top/bcachefs" list -b inodes "$dir/sample.img" | head -40
echo "sample image: $dir/sample.img"
