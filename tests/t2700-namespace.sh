#!/bin/bash
test_description='namespace: directories, files, names, xattrs, ACLs, links, renames, unlinks and truncates through libbcachefs/fs

tests/tools/ns-build (make test-tools) builds a namespace on a filesystem
our format made: a directory of many files (each checked by name), names
of 1, 255 and 512 bytes and a non-ASCII one, device nodes, a fifo, a
socket, a symlink inode, a file with 120 xattrs and an access ACL, a
directory with a default ACL, hardlinks, renames within and across
directories (replacing and exchanging), rmdir, unlink of a last link,
truncates of a file with reserved extents, and in a crc32c directory two
names of one hash (the first unlinked: a whiteout stays).  Then:
 - the reference'"'"'s fsck -n finds nothing;
 - the reference'"'"'s list of dirents, inodes and xattrs shows what was made;
 - our list of those btrees prints what the reference'"'"'s does.

Environment: BCH_NS_FILES (files in the big directory, default 20000).
'
. "$(dirname "$0")/lib/test-lib.sh"
. "$BCH_ROOT/tests/lib/oracle.sh"

[ "${BCH_FILTER_OURS:-0}" = 1 ] && skip_all "tests our own library, not the reference"

TOOL="$BCH_ROOT/build/rel/tests/tools/ns-build"
[ -x "$TOOL" ] || skip_all "ns-build is not built (make test-tools)"
have_ours || skip_all "no bcachefs to test at $BCH_OURS (set BCH_OURS)"
"$BCH_REF" version > /dev/null 2>&1 || skip_all "the reference tools do not run here"
export BCH_REF_CACHE=0

FILES=${BCH_NS_FILES:-20000}

test_expect_success 'format a 256 MiB image' '
	truncate -s 256M ns.img &&
	ours format ns.img > format.out 2>&1 || { cat format.out; false; }
'

test_expect_success "build the namespace ($FILES files in one directory)" '
	"$TOOL" --files $FILES ns.img > build.out 2>&1; rc=$?
	cat build.out &&
	test $rc = 0 && grep -q "^done$" build.out
'

test_expect_success 'the reference fsck -n finds nothing' '
	v=$(ref_fsck_verdict fsck.log ns.img) &&
	echo "$v" &&
	test "$v" = clean || { grep -v -E -e "$REF_FSCK_PROGRESS" fsck.log | head -n 60; false; }
'

test_expect_success 'reference list: the dirents' '
	"$BCH_REF" list -b dirents ns.img > dirents.txt 2> /dev/null
	test $(grep -c ": file-[0-9]* -> [0-9]* type reg$" dirents.txt) = $FILES &&
	grep -q ": a -> [0-9]* type reg$" dirents.txt &&
	grep -q ": $(printf "l%.0s" $(seq 255)) -> [0-9]* type reg$" dirents.txt &&
	grep -q ": $(printf "m%.0s" $(seq 512)) -> [0-9]* type reg$" dirents.txt &&
	grep -q ": h$(printf "\303\251")llo-$(printf "\346\227\245\346\234\254") -> [0-9]* type reg$" dirents.txt &&
	for t in "null chr" "sda1 blk" "fifo fifo" "sock sock" "link lnk"; do
		grep -q ": ${t% *} -> [0-9]* type ${t#* }$" dirents.txt || { echo "no $t"; false; } || return 1
	done &&
	grep -q ": hard1 -> [0-9]* type reg$" dirents.txt &&
	! grep -q ": hard2 -> " dirents.txt &&
	! grep -q ": sub2 -> " dirents.txt &&
	! grep -q ": gone -> " dirents.txt &&
	grep -q "type hash_whiteout" dirents.txt
'

test_expect_success 'reference list: the inodes' '
	"$BCH_REF" list -b inodes ns.img > inodes.txt 2> /dev/null
	test $(grep -c "type inode_v3" inodes.txt) -ge $((FILES + 20)) &&
	grep -q "mode=20600" inodes.txt &&
	grep -q "mode=60660" inodes.txt &&
	grep -q "bi_dev=259" inodes.txt &&
	grep -q "bi_dev=2049" inodes.txt &&
	grep -q "bi_size=1000$" inodes.txt &&
	grep -q "mode=100660" inodes.txt &&
	grep -q "type inode_generation" inodes.txt
'

test_expect_success 'reference list: the xattrs' '
	"$BCH_REF" list -b xattrs ns.img > xattrs.txt 2> /dev/null
	test $(grep -c "user\.attr[0-9]*:value" xattrs.txt) = 119 &&
	! grep -q "user\.attr007:" xattrs.txt &&
	grep -q "trusted\.t:T" xattrs.txt &&
	grep -q "security\.s:S" xattrs.txt &&
	grep -q "user_obj 6 user uid 1001 4 group_obj 4 mask 6 other 0" xattrs.txt &&
	test $(grep -c "user_obj 6 user uid 1001 4" xattrs.txt) = 2
'

for b in dirents inodes xattrs deleted_inodes accounting; do
	cmp_queue "list -b $b" list -b "$b" "$PWD/ns.img"
done
cmp_run_queue
for b in dirents inodes xattrs deleted_inodes accounting; do
	cmp_expect "list -b $b"
done

test_done
