#!/bin/bash
test_description='btree node writer: formats as the kernel computes them, nodes the reference reads back

tests/tools/node-tool (make test-tools) drives libbcachefs/btree/node_write.c
and libbcachefs/bkey/format_calc.c on the corpus images:

 - every node whose single bset the reference wrote at once (a split half,
   a merge, a rewrite) must have exactly the format we compute from its
   range and keys, and compacting it again must give the node byte for
   byte, checksum included. Nodes with several bsets keep the format they
   got when created (an empty root: POS_MIN..SPOS_MAX and no keys; a split
   half that took more keys later), so their format may legitimately
   differ from one computed from the keys they hold now; they are counted,
   not judged.
 - multi-bset leaves rewritten in place by their compaction (same location,
   seq and generation; the parent pointer'"'"'s sectors_written patched and
   its bset re-checksummed) must leave both tools listing the same keys,
   and the reference'"'"'s fsck -n must say what it said before.
'
. "$(dirname "$0")/lib/test-lib.sh"
. "$BCH_ROOT/tests/lib/oracle.sh"

[ "${BCH_FILTER_OURS:-0}" = 1 ] && skip_all "tests our own library, not the reference"

TOOL="$BCH_ROOT/build/rel/tests/tools/node-tool"
[ -x "$TOOL" ] || skip_all "node-tool is not built (make test-tools)"
[ -f "$BCH_CORPUS/full/dev0.img" ] || skip_all "corpus image full is not built"

# "nodes N single-bset S matched M identical I multi-bset K matched J"
field() {
	sed -n "s/.* $1 \([0-9]*\).*/\1/p"
}

test_expect_success 'every single-bset node has the computed format and recompacts byte for byte' '
	total=0 &&
	for img in $(corpus_images); do
		case $img in encrypted) continue ;; esac
		"$TOOL" formats $(corpus_devs $img) > $img.out || {
			echo "$img: node-tool failed"; return 1; }
		line=$(tail -1 $img.out) &&
		echo "$img: $line" &&
		single=$(echo "$line" | sed -n "s/.*single-bset \([0-9]*\) matched \([0-9]*\) identical \([0-9]*\).*/\1 \2 \3/p") &&
		set -- $single &&
		test "$1" = "$2" && test "$1" = "$3" || return 1
		total=$((total + $1))
	done &&
	echo "single-bset nodes checked: $total" &&
	test $total -gt 0
'

# The multi-bset leaf with the most bsets in BTREE, from `node-tool formats -v`
# output: "BTREE l 0 MIN - MAX bsets N ..." -> MIN
busiest_leaf() {
	awk -v bt="$1" '$1 == bt && $3 == 0 && $8 > 1 && $8 > best { best = $8; pos = $4 }
		END { if (pos != "") print pos }' "$2"
}

has_parent() {
	awk -v bt="$1" '$1 == bt && $3 >= 1 { found = 1 } END { exit !found }' "$2"
}

# rewrite_and_check IMAGE BTREE...: rewrites the busiest leaf of each btree
# in a copy of IMAGE and compares both tools' views with the original's.
# fsck runs on copies (-n writes nothing, but the corpus is shared); its log
# lines go (ref_filter): the journal seq it ends at varies from run to run.
rewrite_and_check() {
	img=$1
	shift
	orig=$BCH_CORPUS/$img/dev0.img
	cp --sparse=always "$orig" $img.img &&
	"$TOOL" formats -v $img.img > $img.before &&
	for bt in "$@"; do
		pos=$(busiest_leaf $bt $img.before) &&
		test -n "$pos" && has_parent $bt $img.before || {
			echo "$img: no multi-bset leaf with a parent in $bt"; return 1; }
		"$TOOL" rewrite $bt 0 "$pos" $img.img > $img.$bt.rw || return 1
		cat $img.$bt.rw &&
		grep -q -- "-> 1 bset in" $img.$bt.rw || return 1
	done &&
	"$TOOL" formats -v $img.img > $img.after &&
	for bt in "$@"; do
		pos=$(busiest_leaf $bt $img.before) &&
		grep -q "^$bt l 0 $pos - .* bsets 1 .* match identical$" $img.after &&
		ours list -b $bt "$orig" > want.ours &&
		ours list -b $bt $img.img > got.ours &&
		test_cmp want.ours got.ours &&
		ref list -b $bt "$orig" | ref_filter > want.ref &&
		ref list -b $bt $img.img | ref_filter > got.ref &&
		test_cmp want.ref got.ref || return 1
	done &&
	cp --sparse=always "$orig" pristine.img &&
	{ ref fsck -n pristine.img 2>&1 | ref_filter > want.fsck; } &&
	{ ref fsck -n $img.img 2>&1 | ref_filter > got.fsck; } &&
	test_cmp want.fsck got.fsck
}

# accounting: its leaf'"'"'s format changes (keys got newer versions after the
# split), so the rewrite repacks every key
test_expect_success 'rewrite leaves in place (crc32c): same keys for both tools, fsck unchanged' '
	rewrite_and_check full inodes accounting extents backpointers
'

test_expect_success 'rewrite leaves in place (xxhash): same keys for both tools, fsck unchanged' '
	test -f "$BCH_CORPUS/full-zstd-xxhash/dev0.img" || { echo "image not built"; return 0; }
	rewrite_and_check full-zstd-xxhash inodes dirents accounting
'

test_expect_success 'rewriting a root leaf is refused: its pointer lives in the journal' '
	cp --sparse=always "$BCH_CORPUS/full/dev0.img" root.img &&
	sum=$(image_sum root.img) &&
	test_must_fail "$TOOL" rewrite xattrs 0 POS_MIN root.img 2> err &&
	grep -q "root" err &&
	test "$sum" = "$(image_sum root.img)"
'

test_done
