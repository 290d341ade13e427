#!/bin/bash
test_description='fsck of filesystems the kernel left unclean

Linux 6.12 (kernel-vm) writes into four filesystems we formatted and is
powered off without unmounting them, each at another point of a workload:
right after copying a tree in (and unlinking a file still open); after deleting a directory with hardlinked
files, renaming and truncating; after a clean remount and a few small
changes; in the middle of writing a large file; while the kernel is
deleting a destroyed snapshot (a file in it still open, so the
subvolume is flagged unlinked but not yet deleted). Each then has journal
entries to replay. Our fsck -n replays them in memory, reports the
filesystem clean (as the reference does) and writes nothing: the image is
byte for byte the same. Our fsck -y replays them for real and finds
nothing to fix; the reference then finds the result clean, and the files
the workload did not touch read back identical. Where the kernel was
deleting a snapshot, our fsck -y finishes the deletion as the
reference'"'"'s does: the same subvolumes and snapshots are left; the
file unlinked while open is removed, as the reference'"'"'s fsck -y does.
'
. "$(dirname "$0")/lib/test-lib.sh"
. "$BCH_ROOT/tests/lib/oracle.sh"

[ "${BCH_FILTER_OURS:-0}" = 1 ] && skip_all "tests our own library, not the reference"
have_ours || skip_all "no bcachefs to test at $BCH_OURS (set BCH_OURS)"
"$BCH_REF" version > /dev/null 2>&1 || skip_all "the reference tools do not run here"
KVM=${KB_KERNEL_VM:-$BCH_ROOT/tests/oracle/kernel-vm}
IMGS="a b c d"

python3 "$BCH_ROOT/tests/lib/mksource.py" --small src > /dev/null || exit 1
mkdir share &&
tar -C src -cf share/small.tar tree sizes || exit 1
# the snapshot workload needs the guest helper (subvolume ioctls), a
# static binary: the guest has no C library
if gcc -static -O2 -o share/helper "$BCH_ROOT/tests/corpus/guest-helper.c" 2> helper.log; then
	IMGS="$IMGS e"
else
	cat helper.log
	echo "# no static guest helper: the snapshot image e is left out"
fi
for x in $IMGS; do
	truncate -s 256M $x.img && ours format -q $x.img > /dev/null 2>&1 || exit 1
done

cat > share/script.sh <<'EOF'
set -e
: > /host/started
mkdir -p /mnt/a /mnt/b /mnt/c /mnt/d
mount -t bcachefs /dev/vda /mnt/a
tar -xf /host/small.tar -C /mnt/a
sync
# a file unlinked while still open: on the deleted list when the power goes
sleep 3600 < /mnt/a/sizes/random-00004096 &
rm /mnt/a/sizes/random-00004096
sync
mount -t bcachefs /dev/vdb /mnt/b
tar -xf /host/small.tar -C /mnt/b
sync
rm -rf /mnt/b/tree/d1 /mnt/b/sizes/random-0000819*
mv /mnt/b/tree /mnt/b/tree2
for f in /mnt/b/sizes/random-0001*; do truncate -s 1000 $f; done
sync
mount -t bcachefs /dev/vdc /mnt/c
tar -xf /host/small.tar -C /mnt/c
umount /mnt/c
mount -t bcachefs /dev/vdc /mnt/c
mkdir /mnt/c/new
echo hello > /mnt/c/new/file
ln /mnt/c/new/file /mnt/c/new/link
dd if=/dev/urandom of=/mnt/c/new/big bs=64k count=100 2> /dev/null
sync
mount -t bcachefs /dev/vdd /mnt/d
tar -xf /host/small.tar -C /mnt/d
dd if=/dev/urandom of=/mnt/d/big bs=64k count=200 2> /dev/null &
sleep 1
if [ -x /host/helper ]; then
	mkdir -p /mnt/e
	mount -t bcachefs /dev/vde /mnt/e
	/host/helper subvol /mnt/e/vol
	tar -xf /host/small.tar -C /mnt/e/vol
	/host/helper snapshot /mnt/e/vol /mnt/e/snap
	/host/helper snapshot /mnt/e/vol /mnt/e/doomed
	echo "only in doomed" > /mnt/e/doomed/only-doomed
	rm -rf /mnt/e/doomed/tree/d1 /mnt/e/vol/tree/d4
	# an open file keeps the kernel from deleting the subvolume: its
	# background work waits for the subvolume's inodes to go
	sleep 3600 < /mnt/e/doomed/sizes/random-00000513 &
	/host/helper subvol-destroy /mnt/e/doomed
	sync
fi
: > /host/finished
EOF

disks=$(for x in $IMGS; do printf -- "-d %s.img " $x; done)
# shellcheck disable=SC2086
"$KVM" -t 900 $disks -s "$PWD/share" share/script.sh > vm.log 2>&1
vm_rc=$?
[ -f share/started ] || skip_all "the kernel VM did not run (kernel-vm status $vm_rc): $(tail -n 1 vm.log)"

test_expect_success 'the kernel ran the workload and left every filesystem unclean' '
	cat vm.log &&
	test -f share/finished &&
	for x in $IMGS; do
		ours show-super $x.img > $x.sb 2>&1 &&
		grep -E "^Clean: +0$" $x.sb > /dev/null || { echo "$x is clean"; grep -i clean $x.sb; return 1; }
	done
'

# files of the tree the workload left alone in each image
keep_a="tree/d2/f710 sizes/random-00008191 sizes/random-00000513"
keep_b="sizes/random-00004096 sizes/random-00000513"
keep_c="tree/d2/f710 sizes/random-00012288"
keep_d="sizes/random-00002048"
# (in e, under the subvolume or snapshot the file is read through)
keep_e="vol/tree/d2/f710 vol/sizes/random-00008191 snap/tree/d4/f105 snap/tree/d1/f366"

for x in $IMGS; do
	test_expect_success "$x: our fsck -n replays, finds it clean and writes nothing" '
		image_sum '$x'.img > '$x'.sum0 &&
		ours fsck -n '$x'.img > '$x'.n.out 2>&1 &&
		cat '$x'.n.out &&
		grep -q "^journal read: replaying entries" '$x'.n.out &&
		! grep -v "^journal read: replaying entries" '$x'.n.out | grep -q . &&
		image_sum '$x'.img > '$x'.sum1 &&
		test_cmp '$x'.sum0 '$x'.sum1
	'
	test_expect_success "$x: the reference finds it clean too" '
		cp --sparse=always '$x'.img '$x'.ref.img &&
		v=$(ref_fsck_verdict '$x'.ref.out '$x'.ref.img) &&
		echo "reference: $v" &&
		test "$v" = clean
	'
	eval "keep=\$keep_$x"
	test_expect_success "$x: our fsck -y replays; nothing to fix, the reference agrees, files intact" '
		cp --sparse=always '$x'.img '$x'.y.img &&
		ours fsck -y '$x'.y.img > '$x'.y.out 2>&1 &&
		cat '$x'.y.out &&
		! grep -v "^journal read: replaying entries" '$x'.y.out | grep -q . &&
		v=$(ref_fsck_verdict '$x'.after.out '$x'.y.img) &&
		echo "reference after: $v" &&
		test "$v" = clean &&
		ours fsck -n '$x'.y.img &&
		for f in '"$keep"'; do
			s=${f#vol/} && s=${s#snap/} &&
			ours cat '$x'.y.img /$f > cat.out && cmp cat.out src/$s || return 1
		done
	'
done

# the journal_seq_blacklist section of image $1, one line
blacklist_of() {
	ref show-super -f journal_seq_blacklist "$1" | sed -n '/^journal_seq_blacklist (size/{n;p}'
}

test_expect_success 'our fsck -y blacklists the seqs recovery skips in the superblock, as the reference'"'"'s does' '
	for x in $IMGS; do
		cp --sparse=always $x.img $x.bl.img &&
		{ ref fsck -y $x.bl.img > $x.bl.out 2>&1; test $? -le 1; } &&
		blacklist_of $x.bl.img > $x.bl.ref &&
		blacklist_of $x.y.img > $x.bl.ours &&
		echo "$x: $(cat $x.bl.ours)" &&
		test -s $x.bl.ref &&
		test_cmp $x.bl.ref $x.bl.ours || return 1
	done
'

test_expect_success 'a: the file unlinked while open is removed by our fsck -y, as by the reference'"'"'s' '
	ours list -b deleted_inodes a.img > dead.before &&
	test $(grep -c "type set" dead.before) = 1 &&
	ino=$(sed -n "s/^u64s [0-9]* type set 0:\([0-9]*\):.*/\1/p" dead.before) &&
	cp --sparse=always a.img a.refy.img &&
	{ ref fsck -y a.refy.img > a.refy.out 2>&1; test $? -le 1; } &&
	for i in a.y a.refy; do
		ours list -b deleted_inodes $i.img > $i.dead &&
		ours list -b inodes $i.img | grep "^u64s.* 0:$ino:" > $i.inode || return 1
	done &&
	test_cmp a.refy.dead a.y.dead &&
	! test -s a.y.dead &&
	test_cmp a.refy.inode a.y.inode &&
	grep -q "type inode_generation" a.y.inode
'

if [[ " $IMGS " == *" e "* ]]; then
	test_expect_success 'e: the subvolume being deleted is gone after our fsck -y, as after the reference'"'"'s' '
		ours list -b subvolumes e.img > sv.before &&
		test $(grep -c "type subvolume" sv.before) = 4 &&
		cp --sparse=always e.img e.refy.img &&
		{ ref fsck -y e.refy.img > e.refy.out 2>&1; test $? -le 1; } &&
		for b in subvolumes snapshots subvolume_children; do
			ours list -b $b e.y.img > ours.$b &&
			ours list -b $b e.refy.img > ref.$b &&
			test_cmp ref.$b ours.$b || return 1
		done &&
		test $(grep -c "type subvolume" ours.subvolumes) = 3
	'
fi

test_done
