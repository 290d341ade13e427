#!/bin/bash
test_description='fsck: the namespace passes find and repair one precise damage at a time

A small tree (tests/lib/mksource.py --small) goes in with format --source;
tests/tools/fsck-damage then commits one wrong key per case (a deleted
inode or dirent, a wrong d_type, link count, i_sectors, i_size, flag or
backpointer, a dirent at a wrong hash offset, an xattr of a missing
inode).  For each case: our fsck -n exits 4 naming the kernel'"'"'s error
type, the reference'"'"'s fsck -y records that type, our fsck -y exits 1,
then the reference'"'"'s fsck -n and ours find nothing, and files not
damaged read back identical.
'
. "$(dirname "$0")/lib/test-lib.sh"
. "$BCH_ROOT/tests/lib/oracle.sh"

[ "${BCH_FILTER_OURS:-0}" = 1 ] && skip_all "tests our own library, not the reference"

DMG="$BCH_ROOT/build/rel/tests/tools/fsck-damage"
[ -x "$DMG" ] || skip_all "fsck-damage is not built (make test-tools)"
have_ours || skip_all "no bcachefs to test at $BCH_OURS (set BCH_OURS)"
"$BCH_REF" version > /dev/null 2>&1 || skip_all "the reference tools do not run here"
export BCH_REF_CACHE=0

KEEP="sizes/random-00008191 tree/d2/f710 sizes/random-00000513"

test_expect_success 'a small tree in a clean image' '
	python3 "$BCH_ROOT/tests/lib/mksource.py" --small src > /dev/null &&
	truncate -s 64M clean.img &&
	ours format --source=src clean.img > format.out 2>&1 &&
	ours fsck -n clean.img
'

# case NAME TYPE ACTION ARGS...
fsck_case() {
	name=$1 type=$2
	shift 2
	test_expect_success "$name: $type" '
		cp clean.img $name.img &&
		"$DMG" $name.img '"$*"' &&
		{ ours fsck -n $name.img > $name.n1 2>&1; test $? = 4; } &&
		grep -q "\['"$type"'\]" $name.n1 &&
		cp $name.img $name.ref.img &&
		{ "$BCH_REF" fsck -y $name.ref.img > /dev/null 2>&1; true; } &&
		"$BCH_REF" show-super -f errors $name.ref.img | grep -q "'"$type"'" &&
		{ ours fsck -y $name.img > $name.y 2>&1; test $? = 1; } &&
		v=$(ref_fsck_verdict $name.ref-n.log $name.img) &&
		{ test "$v" = clean || { echo "$v"; cat $name.ref-n.log; false; }; } &&
		ours fsck -n $name.img &&
		for f in $KEEP; do
			ours cat $name.img /$f > $name.cat && cmp $name.cat src/$f || return 1
		done
	'
}

fsck_case dtype		dirent_d_type_wrong		dtype /sizes/random-00008192 4
fsck_case nlink		inode_wrong_nlink		nlink /sizes/random-00004096 5
fsck_case dirnlink	inode_dir_wrong_nlink		nlink /tree/d2 7
fsck_case sectors	inode_i_sectors_wrong		sectors /sizes/random-00008192 3
fsck_case isize		extent_past_end_of_inode	isize /sizes/random-00012288 100
fsck_case unlinked	inode_unlinked_but_has_dirent	unlinked /sizes/random-00004097
fsck_case bp		inode_points_to_missing_dirent	bp-offset /sizes/random-00002048
fsck_case rmdirent	inode_points_to_missing_dirent	rm-dirent /tree/f639
fsck_case movedirent	hash_table_key_wrong_offset	move-dirent /tree/f733
fsck_case xattr		key_in_missing_inode		xattr-orphan 99999
fsck_case rminode	dirent_to_missing_inode		rm-inode /sizes/random-00000000

test_done
