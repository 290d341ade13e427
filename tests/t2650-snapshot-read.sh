#!/bin/bash
test_description='cat into subvolumes and snapshots the kernel made

The corpus image kernel-snapshots was written by Linux 6.12 (see
kernel_snapshots in tests/corpus/build.sh): a subvolume vol with the tiny
tree'"'"'s d/ and a file "changed" ("before"), snapshot snap1 of it, then in
vol "changed" rewritten ("after") and d/small0* deleted, a file "new" only
in snap1, a read-only snapshot snap2-ro of vol, snap1-child of snap1, a
subvolume vol/nested with a file, and a destroyed snapshot. Our cat must
read every file as the kernel left it in each subvolume: each snapshot
sees its own keys and else its nearest ancestor'"'"'s, whiteouts hide what
was deleted, and a subvolume entry is seen only from its parent subvolume.
'
. "$(dirname "$0")/lib/test-lib.sh"
. "$BCH_ROOT/tests/lib/oracle.sh"

[ "${BCH_FILTER_OURS:-0}" = 1 ] && skip_all "tests our own reader, not the reference"
have_ours || skip_all "no bcachefs to test at $BCH_OURS (set BCH_OURS)"
IMG=$(corpus_devs kernel-snapshots 2> /dev/null) && [ -f "$IMG" ] ||
	skip_all "the corpus image kernel-snapshots is not built (it needs the kernel VM)"
TREE=$BCH_CORPUS/trees/tiny/d
[ -d "$TREE" ] || skip_all "the corpus tree $TREE is missing"

# reads PATH WANT: our cat of PATH prints exactly WANT (and a newline)
reads() {
	ours cat "$IMG" "$1" > got 2> err || { cat err; echo "cat $1 failed"; return 1; }
	printf '%s\n' "$2" > want &&
	test_cmp want got
}

test_expect_success 'each subvolume sees its own version of a changed file' '
	reads vol/changed after &&
	reads snap1/changed before &&
	reads snap2-ro/changed after &&
	reads snap1-child/changed before
'

test_expect_success 'a file made in a snapshot after it was taken: there and in its child only' '
	reads snap1/new "only in snap1" &&
	reads snap1-child/new "only in snap1" &&
	test_must_fail ours cat "$IMG" vol/new 2> err &&
	grep -q "\"new\" not found" err &&
	test_must_fail ours cat "$IMG" snap2-ro/new 2> err &&
	grep -q "\"new\" not found" err
'

test_expect_success 'a nested subvolume, seen from its parent only; .. leads back out' '
	reads vol/nested/file nested &&
	reads vol/nested/../changed after &&
	reads snap1/../vol/changed after &&
	test_must_fail ours cat "$IMG" snap1/nested/file 2> err &&
	grep -q "\"nested\" not found" err
'

test_expect_success 'files deleted after snap1 was taken: gone from vol and later snapshots, whole in snap1' '
	n=0 bad=0 &&
	for f in $(cd "$TREE" && ls); do
		for s in snap1 snap1-child vol snap2-ro; do
			case $s/$f in
			vol/small0* | snap2-ro/small0*)
				if ours cat "$IMG" $s/d/$f > got 2> err || ! grep -q "\"$f\" not found" err; then
					echo "$s/d/$f is there"
					bad=$((bad + 1))
				fi
				;;
			*)
				ours cat "$IMG" $s/d/$f > got && cmp -s got "$TREE/$f" ||
					{ echo "$s/d/$f differs"; bad=$((bad + 1)); }
				n=$((n + 1))
			esac
		done
	done &&
	echo "$n files read, $bad wrong" &&
	test $bad = 0 && test $n -gt 60
'

test_expect_success 'debug print by path names the key the path sees, an ancestor'"'"'s in a snapshot' '
	ours debug print --inode vol/changed "$IMG" > vol.key &&
	ours debug print --inode snap1/changed "$IMG" > snap1.key &&
	ours debug print --inode snap1-child/changed "$IMG" > child.key &&
	head -n 1 vol.key snap1.key child.key &&
	vol=$(sed -n "1s/^u64s [0-9]* type inode_v3 0:[0-9]*:\([0-9]*\) .*/\1/p" vol.key) &&
	snap1=$(sed -n "1s/^u64s [0-9]* type inode_v3 0:[0-9]*:\([0-9]*\) .*/\1/p" snap1.key) &&
	test -n "$vol" && test -n "$snap1" && test "$vol" != "$snap1" &&
	test_cmp snap1.key child.key
'

test_expect_success 'writing through a path into a snapshot with ancestors: refused, the filesystem as it was' '
	cp "$IMG" w.img &&
	test_must_fail ours debug move --dirent vol/changed --to-dir vol/d w.img 2> err &&
	cat err &&
	grep -q "writing into a snapshot with ancestors" err &&
	ours list -b dirents "$IMG" > before &&
	ours list -b dirents w.img > after &&
	test_cmp before after &&
	v=$(ref_fsck_verdict w.fsck.log w.img) &&
	echo "reference: $v" && test "$v" = clean
'

test_done
