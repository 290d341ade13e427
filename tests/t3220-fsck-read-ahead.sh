#!/bin/bash
test_description='fsck and list with the read-ahead thread: the same as without it

fsck and list have a second thread read the nodes a walk along a btree
level wants next (btree/prefetch.c). It reads quietly: a node with anything
to report is read again by the walking thread, so the output must not
depend on it. On a filesystem of 30000 files (inodes and dirents btrees of
many leaves): fsck -n -v, clean and with an invalid inode in a leaf the
thread reads, prints the same with and without --no-read-ahead but for the
count of nodes read ahead, which must not be 0; fsck -y repairs the damaged
copy so that the reference finds it clean; list prints the same keys.
'
. "$(dirname "$0")/lib/test-lib.sh"
. "$BCH_ROOT/tests/lib/oracle.sh"

[ "${BCH_FILTER_OURS:-0}" = 1 ] && skip_all "tests our own fsck, not the reference"
have_ours || skip_all "no bcachefs to test at $BCH_OURS (set BCH_OURS)"

# fsck_both IMG NAME: fsck -n -v with and without read-ahead: the same exit
# status and output, but the last count (into NAME.ahead)
fsck_both() {
	{ ours fsck -n -v "$1" > "$2.ra" 2>&1; rc1=$?; } &&
	{ ours fsck -n -v --no-read-ahead "$1" > "$2.nora" 2>&1; rc2=$?; } &&
	echo "exit $rc1 and $rc2" &&
	test $rc1 = $rc2 &&
	grep -v "^btree nodes read: " "$2.ra" > "$2.ra.rest" &&
	grep -v "^btree nodes read: " "$2.nora" > "$2.nora.rest" &&
	test_cmp "$2.nora.rest" "$2.ra.rest" &&
	sed -n "s/^btree nodes read: [0-9]*, \([0-9]*\) of them by the read-ahead thread$/\1/p" "$2.ra" > "$2.ahead" &&
	grep -q "^0 of them" <(sed -n "s/^btree nodes read: [0-9]*, //p" "$2.nora") &&
	cat "$2.ahead" &&
	test "$(cat "$2.ahead")" -gt 0
}

test_expect_success 'a filesystem of 30000 files' '
	python3 - <<-EOF &&
	import os
	for d in range(100):
	    os.makedirs(f"src/d{d}")
	    for f in range(300):
	        with open(f"src/d{d}/f{d * 300 + f}", "wb") as fh:
	            fh.write(b"x" * ((d * 300 + f) % 5 * 700))
	EOF
	truncate -s 1G fs.img &&
	ours format -q --source=src fs.img > /dev/null &&
	rm -rf src &&
	test $(ours list -b inodes -m nodes fs.img | grep -c "type btree_ptr") -gt 8
'

test_expect_success 'clean: fsck -n -v prints the same with and without read-ahead' '
	fsck_both fs.img clean &&
	test "$rc1" = 0 &&
	test "$(cat clean.ahead)" -gt 50
'

test_expect_success 'list prints the same keys with and without read-ahead' '
	for b in inodes dirents extents xattrs alloc; do
		ours list -b $b fs.img > $b.ra &&
		ours list -b $b --no-read-ahead fs.img > $b.nora &&
		test_cmp $b.nora $b.ra || return 1
	done
'

test_expect_success 'an invalid inode in a leaf read ahead: the same report with and without' '
	cp --sparse=always fs.img bad.img &&
	ours debug set --in-place --inode /d66/f20000 -s u8@19=127 bad.img &&
	fsck_both bad.img bad &&
	test "$rc1" = 4 &&
	grep -q "unpack error.*\[inode_unpack_error\]" bad.ra &&
	grep -q "f20000 -> .*\[dirent_to_missing_inode\]" bad.ra
'

test_expect_success 'fsck -y repairs it: the reference finds it clean' '
	{ ours fsck -y bad.img > fix.out 2>&1; rc=$?; } &&
	test $rc = 1 &&
	ours fsck -n bad.img &&
	if "$BCH_REF" version > /dev/null 2>&1; then
		verdict=$(ref_fsck_verdict ref.log bad.img) &&
		echo "$verdict" && test "$verdict" = clean
	fi
'

test_done
