#!/bin/bash
# bench/list.sh: how fast is our `list` against the reference's?
#
# Builds (once; rebuilt when mktree.sh or this recipe changes) a 2 GiB
# sparse image holding 100k+ files (tests/corpus/mktree.sh profile "bench",
# formatted with the reference's format --source) in ${BCH_BENCH_DIR:-
# tests/out/bench}, then times one run that lists every btree, for ours
# ($BCH_OURS, default ./bcachefs) and for the reference: median of 3 runs
# each. Prints both times and their ratio; there is no pass or fail.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u -o pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
OURS=${BCH_OURS:-$top/bcachefs}
REF=${BCH_REF:-$top/tests/oracle/ref-bcachefs}
DIR=${BCH_BENCH_DIR:-$top/tests/out/bench}
RUNS=${BCH_BENCH_RUNS:-3}
BTREES="extents inodes dirents xattrs alloc quotas stripes reflink subvolumes
	snapshots lru freespace need_discard backpointers bucket_gens
	snapshot_trees deleted_inodes logged_ops rebalance_work
	subvolume_children accounting"
export TZ=UTC LC_ALL=C

if [ ! -x "$OURS" ]; then
	echo "bench/list.sh: no bcachefs to time at $OURS (build it, or set BCH_OURS); nothing to do"
	exit 0
fi

now() {
	date +%s.%N
}

# seconds since T (from now), three decimals
since() {
	awk -v t0="$1" -v t1="$(now)" 'BEGIN { printf "%.3f\n", t1 - t0 }'
}

# The image and how it is made; the stamp covers this recipe and mktree.sh.
recipe="format --source=TREE(bench) on a 2G sparse file"
stamp=$( { echo "$recipe"; sha256sum < "$top/tests/corpus/mktree.sh"; } | sha256sum | cut -c1-16)
img="$DIR/bench.img"
if [ ! -f "$img" ] || [ "$(cat "$DIR/stamp" 2>/dev/null)" != "$stamp" ]; then
	echo "bench: building the 100k-file image in $DIR (once)"
	rm -rf "$DIR"
	mkdir -p "$DIR"
	t=$(now)
	"$top/tests/corpus/mktree.sh" "$DIR/tree" bench || exit 1
	ok=
	for _ in 1 2 3 4 5; do
		# the reference's format crashes now and then: retry on a blank file
		rm -f "$img"
		truncate -s 2G "$img"
		if "$REF" format --source="$DIR/tree" "$img" > "$DIR/format.log" 2>&1 &&
			"$REF" fsck -n "$img" > "$DIR/fsck.log" 2>&1; then
			ok=1
			break
		fi
	done
	[ -n "$ok" ] || { echo "bench: could not build $img, see $DIR/format.log"; exit 1; }
	rm -rf "$DIR/tree"
	echo "$stamp" > "$DIR/stamp"
	echo "bench: image built in $(since "$t")s"
fi

# list_all BINARY: one run listing every btree; prints the seconds it took
list_all() {
	local t b
	t=$(now)
	for b in $BTREES; do
		"$1" list -b "$b" "$img" > /dev/null 2>&1
	done
	since "$t"
}

median() {
	sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

echo "bench: listing all $(echo $BTREES | wc -w) btrees of $img, median of $RUNS runs"
list_all "$REF" > /dev/null   # warm the page cache for both
ref_t=$(for _ in $(seq "$RUNS"); do list_all "$REF"; done | median)
ours_t=$(for _ in $(seq "$RUNS"); do list_all "$OURS"; done | median)
printf 'reference: %8.3fs\n' "$ref_t"
printf 'ours:      %8.3fs\n' "$ours_t"
printf 'ratio:     %8.2fx (ours / reference; below 1 is faster)\n' \
	"$(awk -v a="$ours_t" -v b="$ref_t" 'BEGIN { print a / b }')"
