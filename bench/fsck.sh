#!/bin/bash
# bench/fsck.sh: how fast is our `fsck -n` against the reference's, and in how much memory?
#
# For each size in ${BCH_BENCH_SIZES:-100000 1000000} files: a tree of that
# many small files (in directories of 100, a tenth with an xattr) is made
# once in ${BCH_BENCH_DIR:-tests/out/bench}/fsck and copied into an image by
# our format --source (the image is kept for later runs); then ours and the
# reference run `fsck -n` on the same image, ${BCH_BENCH_RUNS:-3} times
# each alternately (and ours once more with --no-read-ahead: one thread).
# Prints the median wall time and peak memory of each and their ratios;
# there is no pass or fail.  A reference run killed by a
# signal is repeated.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u -o pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/lib.sh"
bench_setup fsck
SIZES=${BCH_BENCH_SIZES:-100000 1000000}

# image N: the image of N files, made once
image() {
	local n=$1 tree=$DIR/tree.$1 img=$DIR/img.$1
	if [ ! -f "$img.done" ]; then
		rm -rf "$tree" "$img"
		echo "making $n files and their image" >&2
		python3 - "$tree" "$n" <<'EOF' || return 1
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(1)
data = rng.randbytes(1 << 16)
os.makedirs(root)
for i in range(n):
    d = os.path.join(root, f"d{i // 10000}", f"e{(i // 100) % 100}")
    if i % 100 == 0:
        os.makedirs(d)
    p = os.path.join(d, f"f{i}")
    size = rng.choice([0, 0, 100, 1000, 3000])
    with open(p, "wb") as f:
        f.write(data[:size])
    if i % 10 == 0:
        os.setxattr(p, "user.bench", str(i).encode())
EOF
		truncate -s $(( (n / 1000 + 1) * 16 ))M "$img" &&
		"$OURS" format -q --source="$tree" "$img" > "$DIR/format.log" 2>&1 || {
			echo "format --source failed: $DIR/format.log" >&2
			return 1
		}
		rm -rf "$tree"
		touch "$img.done"
	fi
	echo "$img"
}

for n in $SIZES; do
	img=$(image "$n") || continue
	: > "$DIR/ours.$n" && : > "$DIR/ref.$n" && : > "$DIR/ours1.$n"
	for ((r = 0; r < RUNS; r++)); do
		bench_timed "$DIR/fsck.log" "$OURS" fsck -n "$img" >> "$DIR/ours.$n"
		bench_timed "$DIR/fsck.log" "$REF" fsck -n "$img" >> "$DIR/ref.$n"
		bench_timed "$DIR/fsck.log" "$OURS" fsck -n --no-read-ahead "$img" >> "$DIR/ours1.$n"
	done
	if grep -q failed "$DIR/ours.$n" "$DIR/ref.$n" "$DIR/ours1.$n"; then
		echo "$n files: a run failed or found problems ($DIR/fsck.log)"
		continue
	fi
	awk -v n="$n" \
	    -v a="$(awk '{ print $1 }' "$DIR/ours.$n" | bench_median)" \
	    -v b="$(awk '{ print $1 }' "$DIR/ref.$n" | bench_median)" \
	    -v ma="$(awk '{ print $2 }' "$DIR/ours.$n" | bench_median)" \
	    -v mb="$(awk '{ print $2 }' "$DIR/ref.$n" | bench_median)" \
	    -v a1="$(awk '{ print $1 }' "$DIR/ours1.$n" | bench_median)" 'BEGIN {
		printf "fsck -n, %d files: ours %.2f s, reference %.2f s, ratio %.2fx; ", n, a, b, a / b
		printf "peak memory ours %.0f MiB, reference %.0f MiB, ratio %.2fx; ", ma / 1024, mb / 1024, ma / mb
		printf "ours without read-ahead %.2f s, ratio %.2fx\n", a1, a1 / b
	}'
done
