#!/bin/bash
test_description='damaged images: a clear message naming what is wrong and where, no crash, never a write'
. "$(dirname "$0")/lib/test-lib.sh"

# These check our own binary's interface: nothing to do when the reference
# stands in for it (run-tests.sh --self-check).
[ "${BCH_FILTER_OURS:-0}" = 1 ] && skip_all "tests our own binary, not the reference"

B="$BCH_ROOT/bcachefs"
C="${BCH_CORPUS:-$BCH_ROOT/tests/out/corpus}"

if [ ! -f "$C/default/dev0.img" ] || [ ! -f "$C/kernel-unclean/dev0.img" ]; then
	skip_all "corpus images default and kernel-unclean are not built"
fi

# run CMD...: runs ours, keeps stderr in err, fails on a crash (signal)
run() {
	"$B" "$@" > out 2> err
	rc=$?
	[ $rc -lt 128 ] || { echo "crashed: status $rc"; return 1; }
	return 0
}

test_expect_success 'truncated image: list says which read went past the end, exit 1' '
	cp --sparse=always "$C/default/dev0.img" t.img && truncate -s 4M t.img &&
	sum=$(sha256sum < t.img) &&
	run list -b inodes t.img && test $rc -eq 1 &&
	grep -q "past the end of the device" err && grep -q "btree inodes" err &&
	test "$sum" = "$(sha256sum < t.img)"
'

test_expect_success 'image smaller than a superblock: no superblock, exit 1' '
	head -c 3000 /dev/zero > tiny.img &&
	run show-super tiny.img && test $rc -eq 1 && grep -q "tiny.img" err &&
	run list -b inodes tiny.img && test $rc -eq 1
'

test_expect_success 'zeroed primary superblock: the backup is used, and said so' '
	cp --sparse=always "$C/default/dev0.img" z.img &&
	dd if=/dev/zero of=z.img bs=512 seek=8 count=8 conv=notrunc 2>/dev/null &&
	sum=$(sha256sum < z.img) &&
	run show-super z.img && test $rc -eq 0 && grep -q "backup superblock" err &&
	run list -b inodes z.img && test $rc -eq 0 && grep -q "backup" err &&
	"$B" list -b inodes "$C/default/dev0.img" > want && test_cmp want out &&
	test "$sum" = "$(sha256sum < z.img)"
'

test_expect_success 'btree node with a bad checksum: device, sector, btree and both checksums' '
	cp --sparse=always "$C/default/dev0.img" c.img &&
	ptr=$("$B" list -b inodes -m nodes c.img | grep -o "ptr: 0:[0-9]*:[0-9]*" | head -1) &&
	bucket=$(echo "$ptr" | cut -d: -f3) && off=$(echo "$ptr" | cut -d: -f4) &&
	bsize=$("$B" show-super c.img | sed -n "s/^  Bucket size: *\([0-9]*\) KiB/\1/p" | head -1) &&
	sector=$((bucket * bsize * 2 + off)) &&
	printf "\377\377\377\377" | dd of=c.img bs=1 seek=$((sector * 512 + 4096 + 100)) conv=notrunc 2>/dev/null &&
	sum=$(sha256sum < c.img) &&
	run list -b inodes c.img && test $rc -eq 1 &&
	grep -q "checksum error" err && grep -q "sector $sector" err && grep -q "btree inodes" err &&
	test "$sum" = "$(sha256sum < c.img)"
'

# Like the kernel and the reference, we carry on past a damaged journal
# entry, listing what can be read; the damage is reported (device, bucket,
# sector, seq) and the exit status says the filesystem is not clean.
test_expect_success 'garbage in a journal entry: reported where, exit 1, no crash, no write' '
	cp --sparse=always "$C/kernel-unclean/dev0.img" j.img &&
	sector=$("$B" list_journal -a j.img 2>/dev/null | sed -n "s/.*written at .*(sector \([0-9]*\))/\1/p" | tail -2 | head -1) &&
	test -n "$sector" &&
	head -c 64 /dev/urandom | dd of=j.img bs=1 seek=$((sector * 512 + 200)) conv=notrunc 2>/dev/null &&
	sum=$(sha256sum < j.img) &&
	run list_journal -a j.img && test $rc -eq 1 &&
	grep -q "sector $sector seq [0-9]*: journal checksum error" err &&
	run list -b inodes j.img && test $rc -eq 1 && grep -q "checksum error" err &&
	test "$sum" = "$(sha256sum < j.img)"
'

test_expect_success 'another filesystem: libblkid says what it is, exit 1' '
	truncate -s 64M e4.img && mkfs.ext4 -q -F e4.img &&
	run list e4.img && test $rc -eq 1 && grep -q "identifies it as ext4" err
'

test_expect_success 'devices of different filesystems are refused' '
	run list -b inodes "$C/default/dev0.img" "$C/labels/dev0.img" && test $rc -eq 1 &&
	grep -q "different filesystems" err
'

test_done
