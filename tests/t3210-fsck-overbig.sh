#!/bin/bash
test_description='fsck reports checksummed or compressed extents longer than encoded_extent_max

The kernel never writes an encoded extent (checksummed or compressed)
longer than the superblock'"'"'s encoded_extent_max. Its fsck only reports
one ("overbig encoded extent, please report this", in check_extents and
check_indirect_extents) and changes nothing; so must ours. The damage:
the superblock field lowered to 4 KiB under extents written at 64 KiB,
on a compressed filesystem our format made (extents btree) and on the
kernel-written corpus image with reflinked files (reflink btree). Our
fsck -n names the same keys the reference'"'"'s does, exits 0 as it does,
and writes nothing.
'
. "$(dirname "$0")/lib/test-lib.sh"
. "$BCH_ROOT/tests/lib/oracle.sh"

[ "${BCH_FILTER_OURS:-0}" = 1 ] && skip_all "tests our own fsck, not the reference"
have_ours || skip_all "no bcachefs to test at $BCH_OURS (set BCH_OURS)"
"$BCH_REF" version > /dev/null 2>&1 || skip_all "the reference tools do not run here"
SB_EDIT="$BCH_ROOT/build/rel/tests/tools/sb-edit"
[ -x "$SB_EDIT" ] || skip_all "sb-edit is not built (make test-tools)"

# overbig IMG NAME: our fsck -n and the reference's on IMG, each exit
# status 0; the keys each reports as overbig into NAME.ours, NAME.ref
overbig() {
	stat -c "%s %y %z" "$1" > "$2.before" &&
	{ ours fsck -n "$1" > "$2.ours.out" 2>&1; rc=$?; } &&
	cat "$2.ours.out" &&
	test $rc = 0 &&
	stat -c "%s %y %z" "$1" > "$2.after" &&
	test_cmp "$2.before" "$2.after" &&
	{ ref fsck -n "$1" > "$2.ref.out" 2>&1; rc=$?; } &&
	test $rc = 0 &&
	grep -A1 "overbig encoded extent, please report this" "$2.ours.out" | grep "^  u64s" > "$2.ours" &&
	grep -A1 "overbig encoded extent, please report this" "$2.ref.out" | grep "^  u64s" > "$2.ref"
}

test_expect_success 'extents: compressed 64 KiB extents under a 4 KiB limit, reported as by the reference' '
	mkdir src &&
	for i in $(seq 20000); do echo "line $i of a compressible file"; done > src/big &&
	echo small > src/small &&
	truncate -s 64M c.img &&
	ours format -q --compression=lz4 --source=src c.img > /dev/null &&
	ours fsck -n c.img > clean.out 2>&1 &&
	! grep -q overbig clean.out &&
	"$SB_EDIT" --encoded-extent-max 3 c.img &&
	overbig c.img c &&
	test_cmp c.ref c.ours &&
	test $(grep -c "type extent .*compress lz4" c.ours) -gt 5
'

IMG=$(corpus_devs kernel-clean 2> /dev/null)
if [ -n "$IMG" ] && [ -f "$IMG" ]; then
	test_expect_success 'indirect extents: the kernel'"'"'s reflinked data under a 4 KiB limit, reported as by the reference' '
		cp --sparse=always "$IMG" k.img &&
		"$SB_EDIT" --encoded-extent-max 3 k.img &&
		overbig k.img k &&
		sort k.ref > k.ref.sorted && sort k.ours > k.ours.sorted &&
		test_cmp k.ref.sorted k.ours.sorted &&
		grep -q "type reflink_v" k.ours
	'
else
	echo "# the corpus image kernel-clean is not built: no reflink case"
fi

test_done
