#!/bin/bash
# bench/format-source.sh: how fast is our `format --source` against the reference's?
#
# One tree of ${BCH_BENCH_FILES:-100000} files (in directories of 100,
# sizes from 0 to 64 KiB, a tenth of them with an xattr, some hardlinks
# and symlinks) made once in ${BCH_BENCH_DIR:-tests/out/bench}/format-source
# (on the filesystem of that folder: the reference needs FIEMAP, which
# tmpfs has not), then copied into a new 4 GiB sparse image by ours
# ($BCH_OURS, default ./bcachefs) and by the reference, median of
# ${BCH_BENCH_RUNS:-3} runs each, the page cache warm for both.  Prints
# both times, their ratio and each one's peak memory; there is no pass or
# fail.  A run of the reference killed by a signal is repeated.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u -o pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/lib.sh"
bench_setup format-source
FILES=${BCH_BENCH_FILES:-100000}
TREE=$DIR/tree.$FILES
if [ ! -f "$TREE.done" ]; then
	rm -rf "$TREE"
	echo "making a tree of $FILES files in $TREE"
	python3 - "$TREE" "$FILES" <<'EOF' || exit 1
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(1)
blob = rng.randbytes(1 << 20)
text = b"".join(rng.choice([b"bcachefs ", b"extent ", b"btree ", b"\n"]) for _ in range(200000))
os.makedirs(root)
for i in range(n):
    d = os.path.join(root, f"d{i // 10000}", f"e{(i // 100) % 100}")
    if i % 100 == 0:
        os.makedirs(d)
    p = os.path.join(d, f"f{i}")
    if i % 97 == 5:
        os.symlink(f"../e0/f{i - 5}", p)
        continue
    first = os.path.join(d, f"f{i - 7}")
    if i % 89 == 7 and os.path.isfile(first) and not os.path.islink(first):
        os.link(first, p)
        continue
    size = rng.choice([0, 100, 1000, 4096, 5000, 20000, 65536])
    src = text if i % 2 else blob
    off = rng.randrange(len(src) - size) if size else 0
    with open(p, "wb") as f:
        f.write(src[off:off + size])
    if i % 10 == 0:
        os.setxattr(p, "user.bench", str(i).encode())
EOF
	touch "$TREE.done"
fi
du -sh "$TREE" 2> /dev/null | awk '{ print "tree: " $1 " on disk" }'

# once BINARY: a new image, one format --source, checked by the reference's
# fsck; prints "SECONDS MAX_RSS_KIB" or "failed"
once() {
	local img=$DIR/img r
	rm -f "$img" && truncate -s 4G "$img" || return 1
	# --force: a retry after a crash of the reference finds its filesystem there
	r=$(bench_timed "$DIR/run.log" "$1" format -q --force --source="$TREE" "$img")
	[ "$r" != failed ] && "$REF" fsck -n "$img" > "$DIR/fsck.log" 2>&1 || r=failed
	echo "$r"
}

# warm the page cache with the tree
find "$TREE" -type f -print0 | xargs -0 cat > /dev/null 2>&1

for who in ours ref; do
	bin=$OURS
	[ $who = ref ] && bin=$REF
	: > "$DIR/$who.times"
	for ((r = 0; r < RUNS; r++)); do
		once "$bin" >> "$DIR/$who.times"
	done
done
if grep -q failed "$DIR/ours.times" "$DIR/ref.times"; then
	echo "a run failed (or its image did not pass the reference fsck): $DIR/run.log"
	cat "$DIR/ours.times" "$DIR/ref.times"
	exit 0
fi
t_ours=$(awk '{ print $1 }' "$DIR/ours.times" | bench_median)
t_ref=$(awk '{ print $1 }' "$DIR/ref.times" | bench_median)
m_ours=$(awk '{ print $2 }' "$DIR/ours.times" | bench_median)
m_ref=$(awk '{ print $2 }' "$DIR/ref.times" | bench_median)
awk -v n="$FILES" -v a="$t_ours" -v b="$t_ref" -v ma="$m_ours" -v mb="$m_ref" 'BEGIN {
	printf "format --source, %d files: ours %.2f s, reference %.2f s, ratio %.2fx (below 1: ours is faster)\n", n, a, b, a / b
	printf "peak memory: ours %.0f MiB, reference %.0f MiB, ratio %.2fx\n", ma / 1024, mb / 1024, ma / mb
}'
