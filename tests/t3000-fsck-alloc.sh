#!/bin/bash
test_description='fsck, allocation passes: each damage found, named as the kernel names it, and repaired

A small tree (mksource.py --small) is copied in by our format --source.
Then each case damages one copy precisely with tests/tools/recompute
(damage alloc: a field of an alloc key rewritten in its leaf; damage
delete: a key turned into a deleted key; damage put: a key committed
without triggers).  For each: our fsck -n exits 4 and names the error
type; the reference (fsck -y, then show-super -f errors) records the
same type; our fsck -y exits 1; the reference fsck -n then finds the
image clean and ours exits 0.
'
. "$(dirname "$0")/lib/test-lib.sh"
. "$BCH_ROOT/tests/lib/oracle.sh"

[ "${BCH_FILTER_OURS:-0}" = 1 ] && skip_all "tests our own library, not the reference"

TOOL="$BCH_ROOT/build/rel/tests/tools/recompute"
[ -x "$TOOL" ] || skip_all "recompute is not built (make test-tools)"
have_ours || skip_all "no bcachefs to test at $BCH_OURS (set BCH_OURS)"
"$BCH_REF" version > /dev/null 2>&1 || skip_all "the reference tools do not run here"
export BCH_REF_CACHE=0

# error type names in our fsck's output: "... [type]" or "... [type]: fixing"
our_types() {
	sed -n 's/.* \[\([a-z_0-9]*\)\]\(: .*\)\{0,1\}$/\1/p' "$1" | sort -u
}

# the error types the reference recorded in the superblock of IMG
ref_types() {
	ref show-super -f errors "$1" | sed -n '/^errors (size/,$p' |
		awk 'NR > 1 && NF >= 2 { print $1 }' | sort -u
}

# check_case NAME TYPE: NAME.img is damaged; runs the whole cycle
check_case() {
	local name=$1 type=$2 rc
	cp --sparse=always $name.img $name.ref.img &&
	ours fsck -n $name.img > $name.n.out 2>&1
	rc=$?
	cat $name.n.out
	test $rc -eq 4 || { echo "fsck -n exit $rc, expected 4"; return 1; }
	our_types $name.n.out > $name.ours &&
	grep -qx "$type" $name.ours || { echo "$type not named"; return 1; }
	for _ in 1 2 3; do
		ref fsck -y $name.ref.img > $name.ref.out 2>&1 < /dev/null
		[ $? -lt 128 ] && break
	done
	ref_types $name.ref.img > $name.reftypes &&
	echo "reference recorded: $(tr '\n' ' ' < $name.reftypes)" &&
	test_cmp $name.reftypes $name.ours &&
	ours fsck -y $name.img > $name.y.out 2>&1
	rc=$?
	cat $name.y.out
	test $rc -eq 1 || { echo "fsck -y exit $rc, expected 1"; return 1; }
	verdict=$(ref_fsck_verdict $name.after.out $name.img) &&
	echo "reference after repair: $verdict" &&
	{ test "$verdict" = clean || { cat $name.after.out; false; }; } &&
	ours fsck -n $name.img > $name.n2.out 2>&1
	rc=$?
	cat $name.n2.out
	test $rc -eq 0
}

test_expect_success 'format a small tree' '
	python3 "$BCH_ROOT/tests/lib/mksource.py" --small src > /dev/null &&
	truncate -s 64M base.img &&
	ours format --source=src base.img > format.out 2>&1 &&
	"$TOOL" base.img | tail -n 1 | grep -q "differences 0$"
'

test_expect_success 'clean image: exit 0, nothing reported' '
	ours fsck -n base.img > clean.out 2>&1 &&
	cat clean.out &&
	! grep -q . clean.out
'

# a user bucket with more than 16 dirty sectors: "DEV:BUCKET SECTORS"
user_bucket() {
	ours list -b alloc base.img | awk '
		/^u64s/ { pos = $5; sub(/:0$/, "", pos); user = 0 }
		/ data_type user$/ { user = 1 }
		user && $1 == "dirty_sectors" && $2 > 16 { print pos, $2; exit }'
}

# nth_pos BTREE N [PATTERN]: the position of the Nth key of BTREE (matching PATTERN)
nth_pos() {
	ours list -b $1 base.img | grep "^u64s" | grep -e "${3:-.}" | sed -n "$2p" | cut -d" " -f5
}

test_expect_success 'alloc key with wrong dirty_sectors' '
	set -- $(user_bucket) &&
	cp --sparse=always base.img dirty.img &&
	"$TOOL" damage alloc $1 dirty_sectors $(($2 - 8)) dirty.img &&
	check_case dirty alloc_key_dirty_sectors_wrong
'

test_expect_success 'alloc key with a new gen: bucket_gens disagrees' '
	cp --sparse=always base.img gen.img &&
	"$TOOL" damage alloc 0:1 gen 3 gen.img &&
	check_case gen bucket_gens_key_wrong
'

test_expect_success 'missing freespace entry (a hole in the alloc btree)' '
	pos=$(nth_pos freespace 1) &&
	cp --sparse=always base.img fs.img &&
	"$TOOL" damage delete freespace $pos fs.img &&
	check_case fs freespace_hole_missing
'

test_expect_success 'freespace entry for a bucket holding data' '
	set -- $(user_bucket) &&
	b=${1#0:} &&
	cp --sparse=always base.img fsx.img &&
	"$TOOL" damage put freespace 0:$((b + 1)):0 set 1 fsx.img &&
	check_case fsx freespace_key_wrong
'

test_expect_success 'extra need_discard entry' '
	cp --sparse=always base.img nd.img &&
	"$TOOL" damage put need_discard 0:300:0 set nd.img &&
	check_case nd need_discard_freespace_key_bad
'

test_expect_success 'missing lru entry' '
	pos=$(nth_pos lru 1) &&
	cp --sparse=always base.img lrum.img &&
	"$TOOL" damage delete lru $pos lrum.img &&
	check_case lrum alloc_key_to_missing_lru_entry
'

test_expect_success 'stale lru entry (its bucket has no fragmentation)' '
	pos=$(nth_pos lru 1) &&
	cp --sparse=always base.img lrus.img &&
	"$TOOL" damage put lru ${pos%%:*}:300:0 set lrus.img &&
	check_case lrus lru_entry_bad
'

test_expect_success 'missing backpointer' '
	pos=$(nth_pos backpointers 50 btree=extents) &&
	cp --sparse=always base.img bpm.img &&
	"$TOOL" damage delete backpointers $pos bpm.img &&
	check_case bpm ptr_to_missing_backpointer
'

# the same backpointer moved to superblock bucket 1 (same offset in the
# bucket, so it is valid): no pointer has it
test_expect_success 'backpointer to nothing' '
	pos=$(nth_pos backpointers 50 btree=extents) &&
	bucket=$(ours list -b backpointers base.img | grep " $pos " | sed "s/.*bucket=0:\([0-9]*\):.*/\1/") &&
	off=$(echo $pos | cut -d: -f2) &&
	bs=$(ours show-super base.img | sed -n "s/^  Bucket size: *\([0-9]*\) KiB$/\1/p") &&
	new=$((off - (bucket - 1) * bs * 2 * 1024)) &&
	cp --sparse=always base.img bpx.img &&
	"$TOOL" damage put backpointers 0:$new:0 copy $pos bpx.img &&
	check_case bpx backpointer_to_missing_ptr
'

test_expect_success 'accounting counter off (dev_data_type user deleted)' '
	pos=$(nth_pos accounting 1 "data_type=user") &&
	cp --sparse=always base.img acc.img &&
	"$TOOL" damage delete accounting $pos acc.img &&
	check_case acc accounting_mismatch
'

test_done
