#!/bin/bash
test_description='derived metadata: recomputed from the keys, it equals what every corpus image stores

tests/tools/recompute (make test-tools) drives libbcachefs/alloc/derive.c
and recompute.c: from every key and node pointer it recomputes bucket
usage, backpointers and accounting, and compares them, and what the alloc
keys imply for the freespace, need_discard, lru and bucket_gens btrees,
and the rebalance_work btree, with what the image holds. The images were
written by the reference and by Linux 6.12 and are fsck-clean, so nothing
may differ. Then single keys are damaged in copies (bcachefs debug --in-place: a leaf rewritten in
place, its bset re-checksummed) and the difference must be reported
precisely: device, bucket, field, expected and found; the reference'"'"'s
fsck -n must name the same damage.

kernel-unclean is compared as the journal overlay shows it (the state after
replay). Nothing there may differ either: every transaction the kernel
journaled carries its own alloc, backpointer and accounting updates, so the
replay range is consistent on its own; entries past the last flush are
dropped whole; accounting deltas the btree already has (by version) are
not added twice. Allocations made during replay (node splits) exist only in
a kernel that replays and writes them, never in the image, so they cannot
make a legitimate difference here.
'
. "$(dirname "$0")/lib/test-lib.sh"
. "$BCH_ROOT/tests/lib/oracle.sh"

[ "${BCH_FILTER_OURS:-0}" = 1 ] && skip_all "tests our own library, not the reference"

TOOL="$BCH_ROOT/build/rel/tests/tools/recompute"
[ -x "$TOOL" ] || skip_all "recompute is not built (make test-tools)"
[ -f "$BCH_CORPUS/full/dev0.img" ] || skip_all "corpus image full is not built"

# "keys N ptrs N buckets N backpointers N accounting N: differences N ..."
summary_field() {
	sed -n "s/.*$1 \([0-9]*\).*/\1/p" | tail -1
}

test_expect_success 'every corpus image: recomputed metadata equals the stored' '
	checked=0 &&
	for img in $(corpus_images); do
		case $img in
		# its nodes are encrypted: the read path has no decryption yet
		encrypted) echo "$img: skipped (encrypted btree nodes)"; continue ;;
		esac
		"$TOOL" -a $(corpus_devs $img) > $img.out 2>&1
		rc=$?
		echo "$img: $(tail -1 $img.out)"
		if [ $rc -ne 0 ]; then
			cat $img.out
			return 1
		fi
		test "$(summary_field buckets < $img.out)" -gt 0 &&
		test "$(summary_field backpointers < $img.out)" -gt 0 &&
		test "$(summary_field accounting < $img.out)" -gt 0 || return 1
		checked=$((checked + 1))
	done &&
	echo "images compared: $checked" &&
	test $checked -gt 0
'

# The reference'"'"'s list does not replay: it shows the btree as on disk,
# where kernel-unclean has no extent yet; all its data is in the journal.
# How much the kernel flushed to btree nodes before its VM stopped varies
# from one corpus build to the next; what matters is that the image needs
# replay (not clean, extent keys in the journal's replay range) and that
# the replayed view, which we compare, holds them.
test_expect_success 'the unclean image is compared after replay: its extents come from the journal' '
	test -f "$BCH_CORPUS/kernel-unclean/dev0.img" || { echo "image not built"; return 0; }
	cp --sparse=always "$BCH_CORPUS/kernel-unclean/dev0.img" unclean.img &&
	"$TOOL" unclean.img > unclean.out &&
	cat unclean.out &&
	ours show-super unclean.img | grep -q "^Clean: *0$" &&
	ours list_journal unclean.img 2>/dev/null | grep -q "btree_keys: btree=extents .* type extent " &&
	ours list -b extents unclean.img 2>/dev/null > our.extents &&
	grep "type extent " our.extents
'

# ref_fsck_says IMAGE PATTERN: the reference'"'"'s fsck -n output on IMAGE has a
# line matching PATTERN (grep -E). It aborts now and then at exit, sometimes
# before its output is out: up to three runs.
ref_fsck_says() {
	for try in 1 2 3; do
		ref fsck -n "$1" > fsck.out 2>&1
		grep -E -- "$2" fsck.out && return 0
	done
	cat fsck.out
	return 1
}

# first_user_bucket IMAGE: "DEV:BUCKET GEN SECTORS" of the first user bucket
# with more than 16 dirty sectors, from `list -b alloc`
first_user_bucket() {
	ours list -b alloc "$1" | awk '
		/^u64s/ { pos = $5; sub(/:0$/, "", pos); user = 0 }
		/ gen .* data_type user$/ { user = 1; gen = $2 }
		user && $1 == "dirty_sectors" && $2 > 16 { print pos, gen, $2; exit }'
}

test_expect_success 'a wrong dirty_sectors in an alloc key: bucket, field, expected and found' '
	cp --sparse=always "$BCH_CORPUS/full/dev0.img" alloc.img &&
	set -- $(first_user_bucket alloc.img) &&
	bucket=$1 gen=$2 sectors=$3 &&
	test -n "$sectors" &&
	ours debug set --in-place -b alloc -p $bucket:0 -s dirty_sectors=$((sectors - 9)) alloc.img &&
	test_must_fail "$TOOL" alloc.img > out &&
	cat out &&
	echo "alloc $bucket gen $gen: dirty_sectors: expected $sectors, found $((sectors - 9))" > want &&
	head -n 1 out > got && test_cmp want got &&
	tail -n 1 out | grep -q "differences 1 (alloc 1)$" &&
	test $(wc -l < out) -eq 2 &&
	ref_fsck_says alloc.img "bucket $bucket gen $gen data type user has wrong dirty_sectors: got $((sectors - 9)), should be $sectors"
'

test_expect_success 'a bucket generation moved on: every pointer into it is a stale dirty pointer' '
	cp --sparse=always "$BCH_CORPUS/full/dev0.img" gen.img &&
	set -- $(first_user_bucket gen.img) &&
	bucket=$1 gen=$2 &&
	ours debug set --in-place -b alloc -p $bucket:0 -s gen=$((gen + 1)) gen.img &&
	test_must_fail "$TOOL" -a gen.img > out &&
	ours list -b extents gen.img | grep -c "ptr: $bucket:[0-9]* gen $gen" > want &&
	grep -c "^ptr extents l0 .* ptr $bucket:[0-9]* gen $gen: stale dirty pointer (bucket gen $((gen + 1)))$" out > got &&
	test_cmp want got &&
	test $(cat got) -gt 0 &&
	grep -q "^alloc $bucket gen $((gen + 1)): dirty_sectors: expected 0, found" out &&
	ref_fsck_says gen.img "^bucket $bucket gen $((gen + 1)) .*stale dirty ptr \\(gen $gen\\)"
'

test_expect_success 'a deleted backpointer: reported missing, with the value it should have' '
	cp --sparse=always "$BCH_CORPUS/full/dev0.img" bp.img &&
	line=$(ours list -b backpointers bp.img | grep "btree=extents" | sed -n 100p) &&
	pos=$(echo "$line" | cut -d" " -f5) &&
	val=${line#*ver 0: } &&
	ours debug delete --in-place -b backpointers -p $pos bp.img &&
	test_must_fail "$TOOL" bp.img > out &&
	cat out &&
	echo "backpointers $pos: missing: $val data_type=user" > want &&
	head -n 1 out > got && test_cmp want got &&
	tail -n 1 out | grep -q "differences 1 (backpointers 1)$" &&
	ref_fsck_says bp.img "^ *want: .* type backpointer $pos .*: $val"
'

test_expect_success 'a deleted node backpointer (level 1 of a btree)' '
	cp --sparse=always "$BCH_CORPUS/full/dev0.img" nodebp.img &&
	line=$(ours list -b backpointers nodebp.img | grep " l=1 " | head -n 1) &&
	pos=$(echo "$line" | cut -d" " -f5) &&
	val=${line#*ver 0: } &&
	ours debug delete --in-place -b backpointers -p $pos nodebp.img &&
	test_must_fail "$TOOL" nodebp.img > out &&
	echo "backpointers $pos: missing: $val data_type=btree" > want &&
	head -n 1 out > got && test_cmp want got
'

test_expect_success 'a deleted extent: its bucket, backpointer and counters all disagree' '
	cp --sparse=always "$BCH_CORPUS/kernel-clean/dev0.img" ext.img &&
	line=$(ours list -b extents ext.img | grep "type extent " | head -n 1) &&
	pos=$(echo "$line" | cut -d" " -f5) &&
	inum=${pos%%:*} &&
	ours debug delete --in-place -b extents -p $pos ext.img &&
	test_must_fail "$TOOL" ext.img > out &&
	cat out &&
	grep -q "^alloc .*: dirty_sectors: expected" out &&
	grep -q "^backpointers .*: no pointer has it: .* pos=$pos data_type=user$" out &&
	grep -q "^accounting replicas user: 1/1 \[0\]: expected" out &&
	grep -q "^accounting inum $inum: expected" out &&
	grep -q "^accounting dev_data_type dev=0 data_type=user: expected" out
'

# damage_index IMAGE BTREE N: deletes the Nth key of BTREE in a copy of
# IMAGE and prints recompute's output
damage_index() {
	cp --sparse=always "$BCH_CORPUS/$1/dev0.img" idx.img &&
	line=$(ours list -b $2 idx.img | grep "^u64s" | sed -n "$3p") &&
	pos=$(echo "$line" | cut -d" " -f5) &&
	ours debug delete --in-place -b $2 -p $pos idx.img > /dev/null &&
	{ "$TOOL" idx.img; test $? -eq 1; }
}

test_expect_success 'deleted lru, freespace, need_discard and rebalance_work entries' '
	damage_index btree256k lru 2 > lru.out &&
	cat lru.out && grep -q "^lru fragmentation 0:[0-9]*: missing entry at time [0-9]*$" lru.out &&
	tail -n 1 lru.out | grep -q "(lru 1)$" &&
	damage_index full freespace 3 > fs.out &&
	cat fs.out && grep -q "^freespace 0:[0-9-]*: missing (free bucket)$" fs.out &&
	tail -n 1 fs.out | grep -q "(freespace [0-9]*)$" &&
	damage_index full need_discard 2 > nd.out &&
	cat nd.out && grep -q "^need_discard 0:[0-9]*: missing (bucket needs a discard)$" nd.out &&
	damage_index compress-background rebalance_work 5 > rb.out &&
	cat rb.out && grep -q "^rebalance_work [0-9:A-Z_]*: missing (the extent has rebalance work)$" rb.out &&
	tail -n 1 rb.out | grep -q "(rebalance_work 1)$"
'

test_expect_success 'a deleted accounting key: the counter and its expected value' '
	cp --sparse=always "$BCH_CORPUS/full/dev0.img" acc.img &&
	line=$(ours list -b accounting acc.img | grep " inum " | head -n 1) &&
	pos=$(echo "$line" | cut -d" " -f5) &&
	counters=${line#*inum  } &&
	ours debug delete --in-place -b accounting -p $pos acc.img &&
	test_must_fail "$TOOL" acc.img > out &&
	cat out &&
	grep -q "^accounting inum [0-9]*: expected $counters, found no key$" out
'

test_expect_success 'a deleted bucket_gens key: the generations no key holds' '
	cp --sparse=always "$BCH_CORPUS/full/dev0.img" gens.img &&
	ours debug delete --in-place -b bucket_gens -p 0:0:0 gens.img &&
	test_must_fail "$TOOL" gens.img > out &&
	cat out &&
	grep -q "^bucket_gens 0:[0-9]*: no key holds gen [1-9][0-9]*$" out &&
	! grep -v "^bucket_gens\|^keys" out
'

test_done
