#!/bin/bash
test_description='fsck cases in the e2fsprogs style: tests/fsck/NAME/

One clean image (the small tree of tests/lib/mksource.py, by our format
--source); each case damages a copy of it in one precise way and expects:
- our fsck -n exits 4 and names the error types of the case'"'"'s "types"
  file, which are the types the reference records in the superblock errors
  section when its fsck -y runs on the same damaged image;
- our fsck -y prints "expect.1" and exits 1, a second run prints
  "expect.2" and exits 0 (numbers of 10 digits or more, which hash seeds
  and times make random, and inode times replaced by N);
- the reference'"'"'s fsck -n then finds the image clean, and every entry of
  the tree but those matching the case'"'"'s "touched" patterns reads back
  identical: file data, type, permissions, owner, xattrs and ACLs, symlink
  target, device number;
- Linux 6.12 mounts every repaired image with -o fsck,fix_errors=no and
  logs nothing about it (one boot for all the cases).

A case is a directory with "script" (bash: damages $IMG; `dbg ARGS` runs
bcachefs debug ARGS on it; $SRC is the tree), "types", "expect.1", "expect.2" and optionally
"touched", "summary" (the image'"'"'s layout differs from build to build,
as the corpus images are written by the reference: expect.1 holds the
error types of the first run with their outcome, not its lines),
"unordered" (the lines of expect.1 are compared sorted: the
order of entries in one directory follows its random hash seed),
"ref-gives-up" (the reference'"'"'s fsck -y exits 8 or crashes on this
damage: its types are not compared, ours must still repair it),
"ref-misses" (a first line saying why, then types the reference does not
find on this damage and the kernel does: they join the reference'"'"'s),
"ref-adds" (a first line saying why, then types the reference'"'"'s own repair
causes and then finds, where ours repairs otherwise: they are taken out of
the reference'"'"'s, and each must be among them but those marked "?", which
depend on the image'"'"'s layout) and
"padded" (files whose inodes fsck made again are as long as their data:
zeros at the end of a file are not compared), "no-meta" (why the metadata of
entries the damage did not touch is lost: only file data is compared), "after" (bash: what the
repair must have made of $IMG besides, checked with the untouched files; $BASE the clean image). A script
on a corpus image may write to $LAYOUT the types this image'"'"'s layout adds
(found from the clean image before damaging it): they join "types" and,
as "TYPE: fixing", the summary of expect.1. A case
with a "base" file damages the corpus image it names instead (written by
Linux 6.12: reflinks, ...); its "files" list the files that must read
back as they were. When that image has several devices, $IMG is the
first device of the damaged copy, $IMGS all of them and $BASE the clean
ones, separated by spaces. BCH_FSCK_BLESS=1 writes expect.1 and expect.2 from our output.
'
. "$(dirname "$0")/lib/test-lib.sh"
. "$BCH_ROOT/tests/lib/oracle.sh"
. "$BCH_ROOT/tests/lib/kernel-batch.sh"

[ "${BCH_FILTER_OURS:-0}" = 1 ] && skip_all "tests our own library, not the reference"
CMPTREE="$BCH_ROOT/build/rel/tests/tools/data-tool"
[ -x "$CMPTREE" ] || skip_all "data-tool is not built (make test-tools)"
# for the scripts that damage a superblock
SB_EDIT="$BCH_ROOT/build/rel/tests/tools/sb-edit"
[ -x "$SB_EDIT" ] || skip_all "sb-edit is not built (make test-tools)"
have_ours || skip_all "no bcachefs to test at $BCH_OURS (set BCH_OURS)"
"$BCH_REF" version > /dev/null 2>&1 || skip_all "the reference tools do not run here"
export BCH_REF_CACHE=0
CASES=$BCH_ROOT/tests/fsck

# ---- what a case script may use ----

# dbg ARGS...: bcachefs debug on the damaged image
dbg() {
	ours debug "$@" ${IMGS:-"$IMG"}
}

# nth_pos BTREE N [PATTERN]: the position of the Nth key of BTREE (matching PATTERN) in the clean image
nth_pos() {
	ours list -b "$1" "$BASE" | grep "^u64s" | grep -e "${3:-.}" | sed -n "$2p" | cut -d" " -f5
}

# leaf_of BTREE INODE: "MAX MIN", the range of the leaf of BTREE in the clean image that holds
# the keys of INODE (the first whose max key is in INODE or past it)
leaf_of() {
	ours list -m nodes -l 0 -b "$1" "$BASE" | awk -v ino="$2" '{ split($5, m, ":")
		if ($5 == "SPOS_MAX" || m[1] + 0 >= ino + 0) { print $5, $15; exit } }'
}

# key_pos ARGS...: the position of the key bcachefs debug print ARGS names
key_pos() {
	dbg print "$@" | sed -n '1s/^u64s [0-9]* type [a-z_0-9]* \([^ ]*\) .*/\1/p'
}

# reflink_of PATH: "IDX END POS" of the first reflink pointer of PATH in the clean image: the
# range of the indirect extents it references (END: where the key of the last one is) and its own position
reflink_of() {
	local ino
	ino=$(ours debug print --inode "$1" "$BASE" | sed -n '1s/^u64s [0-9]* type [a-z_0-9]* 0:\([0-9]*\):.*/\1/p')
	ours list -b extents "$BASE" |
		sed -n "s/^u64s [0-9]* type reflink_p \($ino:[0-9]*:U32_MAX\) len \([0-9]*\) ver 0: idx \([0-9]*\) .*/\3 \2 \1/p" |
		awk 'NR == 1 { print $1, $1 + $2, $3 }'
}

# user_bucket: "DEV:BUCKET SECTORS" of the first user-data bucket with more than 16 dirty sectors
user_bucket() {
	ours list -b alloc "$BASE" | awk '
		/^u64s/ { pos = $5; sub(/:0$/, "", pos); user = 0 }
		/ data_type user$/ { user = 1 }
		user && $1 == "dirty_sectors" && $2 > 16 { print pos, $2; exit }'
}

# bucket_sectors: the bucket size of the clean image's first device, in sectors
bucket_sectors() {
	ours show-super "${BASE%% *}" | awk '$1 == "Bucket" && $2 == "size:" {
		print $3 * ($4 == "MiB" ? 2048 : $4 == "KiB" ? 2 : 1 / 512); exit }'
}

# extent_crc_ptr POS: the value of the extent at POS in the clean image, a crc32 entry
# (crc32c, uncompressed) and one pointer, as two unsigned u64 numbers "CRC PTR"
extent_crc_ptr() {
	local cs us off csum dev b bo gen bs
	read -r cs us off csum dev b bo gen < <(ours list -b extents -s "$1" -e "$1" $BASE | sed -n \
		's/.* crc: c_size \([0-9]*\) size \([0-9]*\) offset \([0-9]*\) nonce 0 csum crc32c 0:\([0-9a-f]*\)  compress none ptr: \([0-9]*\):\([0-9]*\):\([0-9]*\) gen \([0-9]*\)$/\1 \2 \3 \4 \5 \6 \7 \8/p')
	[ -n "$gen" ] && bs=$(bucket_sectors) && [ -n "$bs" ] || return 1
	printf '%u %u\n' $((2 | (cs - 1) << 2 | (us - 1) << 9 | off << 16 | 5 << 24 | 0x$csum << 32)) \
		$((1 | (b * bs + bo) << 4 | dev << 48 | gen << 56))
}

# two_replica_extent: the position of the clean image's first extent that is a crc32 entry
# (crc32c, uncompressed), then pointers to device 0 and device 1, each at the start of a bucket
# (the value: the crc32 entry in bytes 0-7, the pointers in 8-15 and 16-23)
two_replica_extent() {
	ours list -b extents $BASE | sed -n 's/^u64s [0-9]* type extent \([^ ]*\) .* csum crc32c [0-9a-f:]*  compress none ptr: 0:[0-9]*:0 gen [0-9]* ptr: 1:[0-9]*:0 gen [0-9]*$/\1/p' |
		head -n 1
}

# ptr_low_byte BUCKET OFFSET: the low byte of a pointer to sector OFFSET of BUCKET (of the clean
# image's bucket size): its type bit (1), cached (2), unused (4), unwritten (8), then the low four
# bits of its sector
ptr_low_byte() {
	echo $(( ((($1 * $(bucket_sectors) + $2) << 4) | 1) & 255 ))
}

# user_replicas_acc: "INODE OFFSET SNAPSHOT", the position of the accounting key of user data on
# devices [0 1] in the clean image, which must be its last accounting key (so that a position
# edited upwards keeps the keys in order).  The position holds the entry byte by byte from the low
# end of the snapshot field: the type (2, replicas), data_type, nr_devs, nr_required, then the
# devices from the low end of the offset
user_replicas_acc() {
	local p last
	p=$(ours list -b accounting $BASE | sed -n 's/^u64s [0-9]* type accounting \([^ ]*\) len 0 ver [0-9]*: replicas user: 1\/2 \[0 1\] [0-9]*$/\1/p')
	last=$(ours list -b accounting $BASE | tail -n 1 | cut -d" " -f5)
	[ -n "$p" ] && [ "$p" = "$last" ] || return 1
	echo "$p" | tr : " "
}

# inode_flags PATH: bi_flags of PATH's inode, as a number
inode_flags() {
	echo $((0x$(dbg print --inode "$1" | sed -n 's/^  flags=(\([0-9a-f]*\))$/\1/p')))
}

# unclean_write: leaves the image unclean, /tree/f152's inode written again (unchanged) in a
# flush journal entry only: the replay range the journal cases damage
unclean_write() {
	dbg set --inode /tree/f152 -s "bi_uid=$(dbg print --inode /tree/f152 | sed -n 's/^  bi_uid=//p')" --unclean
}

# newest_seq: the seq of the newest journal entry on the image
newest_seq() {
	ours list_journal ${IMGS:-"$IMG"} 2> /dev/null | sed -n 's/^journal entry *\([0-9]*\)$/\1/p' | tail -n 1
}

# ---- the cycle ----

our_types() {
	sed -n 's/.* \[\([a-z_0-9]*\)\]\(: .*\)\{0,1\}$/\1/p' "$1" | sort -u
}

# the error types the reference recorded in IMG's superblock (a name of
# 44 or more characters runs into its count: the longest known name wins)
ERR_NAMES=$(grep -o 'x([0-9]*, [a-z_0-9]*,' "$BCH_ROOT/include/bcachefs/errors_format.h" |
	sed 's/x([0-9]*, \([a-z_0-9]*\),/\1/')
ref_types() {
	ref show-super -f errors "$1" | sed -n '/^errors (size/,$p' |
		awk -v names="$ERR_NAMES" '
			BEGIN { n = split(names, a, "\n"); for (i = 1; i <= n; i++) known[a[i]] = 1 }
			NR > 1 && NF >= 2 {
				t = $1
				while (!(t in known) && t ~ /[0-9]$/) t = substr(t, 1, length(t) - 1)
				print (t in known) ? t : $1
			}' | sort -u
}

# (the journal_seq of an alloc key or an inode too: the clean image's format writes one journal
# entry more or less from run to run, as its directories' random hash seeds order the keys)
norm() {
	sed -E 's/bad magic: want [0-9a-f]+,/bad magic: want M,/; s/[0-9]{10,}/N/g; s/(bi_[acmo]time=)[0-9]+/\1N/g
		s/(journal_seq( +|=))[0-9]+/\1N/g'
}

# summarize OUT: for cases with a "summary" file, what expect.1 holds: the
# error types (and their outcome) and the nodes recovered from the scan,
# sorted, then the exit status
summarize() {
	{ sed -n 's/.* \[\([a-z_0-9]*\)\]\(: .*\)\{0,1\}$/\1\2/p' "$1"
	  grep -o '^btree [a-z_]*: recovering a node found by the scan' "$1"; } | sort -u
	grep '^Exit status' "$1"
}

# run_fsck OUT DEVICE...: our fsck -y, its normalized output and exit status in OUT
run_fsck() {
	local out=$1
	shift
	ours fsck -y "$@" > "$out.raw" 2>&1
	echo "Exit status is $?" >> "$out.raw"
	norm < "$out.raw" > "$out"
}

python3 "$BCH_ROOT/tests/lib/mksource.py" --small src > /dev/null &&
truncate -s 64M base.img &&
ours format --source=src base.img > format.out 2>&1 &&
ours fsck -n base.img > /dev/null || { cat format.out; skip_all "could not make the clean image"; }
BASE=$PWD/base.img

# case_base DIR: the clean image case DIR damages, its devices separated by spaces
# (nothing when its corpus image is not built)
case_base() {
	if [ -f "$1/base" ]; then
		local imgs f
		imgs=$(corpus_devs "$(cat "$1/base")" 2> /dev/null) || return 0
		for f in $imgs; do
			[ -f "$f" ] || return 0
		done
		echo "$imgs"
	else
		echo "$BASE"
	fi
}

# A filesystem of a case is a set of image files named by a prefix P: P.img,
# then P.d1.img, P.d2.img... for its other devices.

# devs P: the image files of set P, in device order
devs() {
	local i=1
	echo "$1.img"
	while [ -f "$1.d$i.img" ]; do
		echo "$1.d$i.img"
		i=$((i + 1))
	done
}

# copy_set P FILE...: the devices FILE... copied (sparse) to set P
copy_set() {
	local p=$1 i=0 f
	shift
	rm -f "$p.img" "$p".d[0-9]*.img
	for f; do
		if [ $i = 0 ]; then
			cp --sparse=always "$f" "$p.img"
		else
			cp --sparse=always "$f" "$p.d$i.img"
		fi || return
		i=$((i + 1))
	done
}

# set_sum P: one checksum of all the devices of set P
set_sum() {
	image_sum $(devs "$1")
}

# files_intact NAME DIR BASE: what the damage of case DIR left alone reads back from
# set NAME as from BASE (its devices separated by spaces): a corpus case'"'"'s "files" list, else the tree but for "touched"
files_intact() {
	local f

	if [ ! -f "$2/base" ]; then
		"$CMPTREE" cmp-tree $([ -f "$2/no-meta" ] || echo --meta) $([ -f "$2/padded" ] && echo --padded) "$1.img" -- src "" \
			$(cat "$2/touched" 2> /dev/null) || return
		[ ! -f "$2/after" ] || ( IMG=$PWD/$1.img SRC=$PWD/src; . "$2/after" ) ||
			{ echo "$2/after: the repair did not leave what it should"; return 1; }
		return
	fi
	while read -r f; do
		ours cat $3 "$f" > "$1.want" && ours cat $(devs "$1") "$f" > "$1.got" &&
			cmp "$1.want" "$1.got" || { echo "$f differs"; return 1; }
	done < "$2/files"
	[ ! -f "$2/after" ] || ( IMG=$PWD/$1.img IMGS=$(devs "$PWD/$1" | tr '\n' ' ') BASE=$3; . "$2/after" ) ||
		{ echo "$2/after: the repair did not leave what it should"; return 1; }
	echo "$(wc -l < "$2/files") files read back"
}

test_expect_success 'bcachefs debug: bad requests are refused, naming what is wrong, and change nothing' '
	cp --sparse=always base.img bad.img &&
	image_sum bad.img > bad.sum0 &&
	test_expect_code 2 ours debug set -b nosuch -p 0:1:0 -s gen=1 bad.img 2> err &&
	grep -q "unknown btree .nosuch." err &&
	test_expect_code 2 ours debug copy --inode /tree/f152 bad.img 2> err &&
	grep -q -- "--to" err &&
	test_expect_code 1 ours debug set --inode /tree/f152 -s bi_nosuch=1 bad.img 2> err &&
	grep -q "bi_nosuch=1: no such field" err &&
	test_expect_code 1 ours debug set --inode /tree/f152 -s bi_nlink=99999999999 bad.img 2> err &&
	grep -q "too large" err &&
	test_expect_code 1 ours debug delete --inode /no/such/file bad.img 2> err &&
	grep -q "\"no\" not found" err &&
	test_expect_code 1 ours debug delete -b alloc -p 0:99999:0 --in-place bad.img 2> err &&
	grep -q "no key at 0:99999:0" err &&
	test_expect_code 1 ours debug move --inode /tree/d0 --to-dir /tree bad.img 2> err &&
	grep -q "to-dir moves dirents only" err &&
	test_expect_code 1 ours debug move --dirent /tree/d0 --to-dir /tree/f152 bad.img 2> err &&
	grep -q "/tree/f152: not a directory" err &&
	test_expect_code 1 ours debug copy --dirent /tree/d0 --to-dir /tree bad.img 2> err &&
	grep -q "slot of \"d0\" is taken" err &&
	test_expect_code 2 ours debug move --dirent /tree/d0 --to-dir /tree --to 1:2 bad.img 2> err &&
	test_expect_code 1 ours debug kill-node -b alloc -p 0:1:0 -l 3 bad.img 2> err &&
	grep -q "no node of btree alloc at level 3" err &&
	test_expect_code 2 ours debug copy -b alloc -p 0:1:0 -l 1 --to 0:2:0 bad.img 2> err &&
	grep -q -- "--level is not for copy, move" err &&
	test_expect_code 1 ours debug set -b extents -p 0:1:0 -l 1 -s min_key=0:0:0 bad.img 2> err &&
	grep -q "no key at 0:1:0 in btree extents level 1" err &&
	test_expect_code 2 ours debug node-edit -b alloc -p 0:1:0 bad.img 2> err &&
	grep -q "node-edit needs at least one --set" err &&
	test_expect_code 2 ours debug node-edit -b alloc -p 0:1:0 --seq 3 -s seq=1 bad.img 2> err &&
	grep -q -- "--seq, --entry, --entry-type, --key and --dev are for journal-edit" err &&
	test_expect_code 2 ours debug set -b alloc -p 0:1:0 --bset 1 -s gen=1 bad.img 2> err &&
	grep -q -- "--bset for node-edit" err &&
	test_expect_code 1 ours debug node-edit -b alloc -p 0:1:0 --bset 99 -s seq=1 bad.img 2> err &&
	grep -q "the node has [0-9]* bsets, no bset 99" err &&
	test_expect_code 1 ours debug node-edit -b alloc -p 0:1:0 -s nosuch=1 bad.img 2> err &&
	grep -q "nosuch=1: no such field of a btree node or bset" err &&
	test_expect_code 1 ours debug node-edit -b alloc -p 0:1:0 -s level=99 bad.img 2> err &&
	grep -q "level=99: value too large for the field" err &&
	test_expect_code 1 ours debug node-edit -b alloc -p 0:1:0 -s min_key=x bad.img 2> err &&
	grep -q "expected a position" err &&
	test_expect_code 2 ours debug set --overlap --inode /tree/f152 -s bi_nlink=1 bad.img 2> err &&
	grep -q -- "--overlap is for copy and move" err &&
	test_expect_code 2 ours debug journal-edit --set u64s=0 bad.img 2> err &&
	grep -q "journal-edit needs --seq or --entry-type" err &&
	test_expect_code 2 ours debug journal-edit --entry-type nosuch --entry 0 --set u64s=0 bad.img 2> err &&
	grep -q "unknown journal entry type .nosuch." err &&
	test_expect_code 2 ours debug set --inode /tree/f152 -s bi_uid=0 --unclean --in-place bad.img 2> err &&
	grep -q -- "--unclean is for set, delete, copy and move" err &&
	test_expect_code 1 ours debug journal-edit --entry-type clock --entry 9 --set u64s=0 bad.img 2> err &&
	grep -q "no journal entry of the replay range holds such an entry" err &&
	test_expect_code 1 ours debug journal-edit --seq 99999 --set last_seq=1 bad.img 2> err &&
	grep -q "no journal entry with seq 99999 was read" err &&
	seq=$(ours list_journal -a bad.img 2> /dev/null | sed -n "s/^journal entry *\([0-9]*\)$/\1/p" | tail -n 1) &&
	test_expect_code 1 ours debug journal-edit --seq $seq --dev 5 --set last_seq=1 bad.img 2> err &&
	grep -q "journal entry $seq has no copy on device 5" err &&
	test_expect_code 1 ours debug journal-edit --seq $seq --entry 0 --set nosuch=1 bad.img 2> err &&
	grep -q "nosuch=1: no such field of a journal entry" err &&
	test_expect_code 1 ours debug journal-edit --seq $seq --entry 0 --set u64@99999=1 bad.img 2> err &&
	grep -q "past the end" err &&
	image_sum bad.img > bad.sum1 &&
	test_cmp bad.sum0 bad.sum1 &&
	ours debug print --inode /tree/f152 bad.img > print.out &&
	grep -q "^u64s [0-9]* type inode_v3 0:[0-9]*:U32_MAX" print.out
'

test_expect_success 'bcachefs debug set --in-place rewrites the key header where it lies (size, position), in the node'"'"'s key format' '
	cp --sparse=always base.img inplace.img &&
	p=$(nth_pos extents 1 "type extent ") &&
	x=$(nth_pos xattrs 1) &&
	test_expect_code 1 ours debug set -b xattrs -p $x -s pos=${x%%:*}:1:U32_MAX inplace.img 2> err &&
	grep -q "pos= is for --in-place" err &&
	s=$(ours list -b extents base.img | sed -n "s/^u64s [0-9]* type extent [0-9:U32_MAX]* len \([0-9]*\) .*/\1/p" | sort -n | head -n 1) &&
	ours debug set --in-place -b extents -p $p -s size=$s inplace.img &&
	ours list -b extents inplace.img | grep -a -q "^u64s [0-9]* type extent $p len $s ver 0:" &&
	ours debug set --in-place -b xattrs -p $x -s pos=${x%%:*}:1:U32_MAX inplace.img &&
	ours list -b xattrs inplace.img | grep -a "^u64s" | head -n 1 | grep -a -q " ${x%%:*}:1:U32_MAX len 0 " &&
	test_expect_code 1 ours debug set --in-place -b extents -p $p -s version=77 inplace.img 2> err &&
	grep -q "does not fit the node.s key format" err
'

test_expect_success 'fsck --progress=0 says how far each long pass is; by default (every 10 s) a short check says nothing' '
	ours fsck -n --progress=0 base.img > progress.out &&
	grep -E -q "^check_allocations: [0-9]+ keys examined, [0-9]+ s$" progress.out &&
	! grep -v -E "^check_[a-z_]+: [0-9]+ keys examined, [0-9]+ s$" progress.out &&
	ours fsck -n base.img > quiet.out &&
	! test -s quiet.out
'

# ---- the cases: the slow work of each (damage, our runs and the reference's)
# runs first, $BCH_TEST_JOBS cases at a time, into NAME.* files; the tests
# then judge those files, three per case ----

# case_job NAME DIR BASE: damage a copy of BASE (set NAME) with DIR's script, then run
# what the three tests of the case judge
case_job() {
	local name=$1 d=$2 cbase=$3 rc _
	copy_set "$name" $cbase && : > "$name.layout" || return
	( IMG=$PWD/$name.img IMGS=$(devs "$PWD/$name" | tr '\n' ' ') SRC=$PWD/src BASE=$cbase \
		LAYOUT=$PWD/$name.layout; . "$d/script" ) > "$name.damage.out" 2>&1
	echo $? > "$name.damage.rc"
	sort -u "$d/types" "$name.layout" > "$name.types"
	copy_set "$name.ref" $(devs "$name") &&
		copy_set "$name.dmg" $(devs "$name") &&
		set_sum "$name" > "$name.sum0" || return
	ours fsck -n $(devs "$name") > "$name.n.out" 2>&1
	echo $? > "$name.n.rc"
	set_sum "$name" > "$name.sum1"
	for _ in 1 2 3; do
		ref fsck -y $(devs "$name.ref") > "$name.ref.out" 2>&1 < /dev/null
		rc=$?
		[ $rc -lt 128 ] && break
	done
	echo $rc > "$name.ref.rc"
	[ -f "$d/ref-gives-up" ] || ref_types "$name.ref.img" > "$name.reftypes"
	rm -f $(devs "$name.ref")
	run_fsck "$name.1" $(devs "$name")
	run_fsck "$name.2" $(devs "$name")
	ref_fsck_verdict "$name.after.out" $(devs "$name") > "$name.after"
	files_intact "$name" "$d" "$cbase" > "$name.files" 2>&1
	echo $? >> "$name.files"
}

# jobs_wait N: wait until fewer than N background jobs run
jobs_wait() {
	while [ "$(jobs -rp | wc -l)" -ge "$1" ]; do
		wait -n
	done
}

# BCH_FSCK_CASES="GLOB...": only the cases matching
mapfile -t NAMES < <(cd "$CASES" && ls -d ${BCH_FSCK_CASES:-*} | tr -d /)
RUN=()
for name in "${NAMES[@]}"; do
	cbase=$(case_base "$CASES/$name")
	if [ -z "$cbase" ]; then
		say "# $name: skipped, corpus image $(cat "$CASES/$name/base") is not built"
		continue
	fi
	RUN+=("$name")
	jobs_wait "$BCH_TEST_JOBS"
	case_job "$name" "$CASES/$name" "$cbase" > "$name.job.out" 2>&1 &
done
wait
say "# ran ${#RUN[@]} cases, $BCH_TEST_JOBS at a time"

for name in "${RUN[@]}"; do
	d=$CASES/$name
	cbase=$(case_base "$d")
	test_expect_success "$name: damage, then our fsck -n names the case's types, as the reference does" '
		cat '$name'.job.out '$name'.damage.out &&
		test "$(cat '$name'.damage.rc)" = 0 &&
		cat '$name'.n.out &&
		test_cmp '$name'.sum0 '$name'.sum1 &&
		rc=$(cat '$name'.n.rc) &&
		{ test $rc = 4 || { echo "fsck -n exit $rc, expected 4"; false; }; } &&
		our_types '$name'.n.out > '$name'.ours &&
		test_cmp '$name'.types '$name'.ours &&
		refrc=$(cat '$name'.ref.rc) &&
		if [ -f "'$d'/ref-gives-up" ]; then
			echo "the reference gives up (exit $refrc): $(cat "'$d'/ref-gives-up")" &&
			{ test $refrc = 8 || test $refrc -ge 128; }
		elif [ -f "'$d'/ref-adds" ]; then
			echo "the reference'"'"'s repair adds: $(head -n 1 "'$d'/ref-adds")" &&
			sed "1d; /^?/d" "'$d'/ref-adds" | sort -u > '$name'.adds &&
			{ test -z "$(comm -13 '$name'.reftypes '$name'.adds)" ||
				{ echo "the reference did not find: $(comm -13 '$name'.reftypes '$name'.adds)"; false; }; } &&
			sed -n "1d; s/^?//p" "'$d'/ref-adds" | sort -u - '$name'.adds > '$name'.adds2 &&
			comm -23 '$name'.reftypes '$name'.adds2 > '$name'.reftypes2 &&
			{ test_cmp '$name'.types '$name'.reftypes2 || { cat '$name'.ref.out; false; }; }
		elif [ -f "'$d'/ref-misses" ]; then
			echo "the reference does not find: $(head -n 1 "'$d'/ref-misses")" &&
			sed 1d "'$d'/ref-misses" | sort -u - '$name'.reftypes > '$name'.reftypes2 &&
			{ test_cmp '$name'.types '$name'.reftypes2 || { cat '$name'.ref.out; false; }; }
		else
			{ test_cmp '$name'.types '$name'.reftypes || { cat '$name'.ref.out; false; }; }
		fi
	'
	test_expect_success "$name: fsck -y repairs (expect.1), a second run finds nothing (expect.2)" '
		if [ -f "'$d'/summary" ]; then
			summarize '$name'.1 > '$name'.1.sum && mv '$name'.1.sum '$name'.1
		fi &&
		if [ -n "${BCH_FSCK_BLESS:-}" ]; then
			{ grep -v -x -F -f <(sed "s/\$/: fixing/" '$name'.layout) '$name'.1 > "'$d'/expect.1"; true; } &&
			cp '$name'.2 "'$d'/expect.2"
		fi &&
		{ sed "s/\$/: fixing/" '$name'.layout; cat "'$d'/expect.1"; } > '$name'.1.exp &&
		if [ -f "'$d'/summary" ]; then
			{ grep -v "^Exit status" '$name'.1.exp | sort -u; grep "^Exit status" '$name'.1.exp; } > '$name'.1.want &&
			test_cmp '$name'.1.want '$name'.1
		elif [ -f "'$d'/unordered" ]; then
			sort "'$d'/expect.1" > '$name'.1.want && sort '$name'.1 > '$name'.1.got &&
			test_cmp '$name'.1.want '$name'.1.got
		else
			test_cmp "'$d'/expect.1" '$name'.1
		fi &&
		test_cmp "'$d'/expect.2" '$name'.2
	'
	test_expect_success "$name: the reference finds the repaired image clean; untouched files intact" '
		v=$(cat '$name'.after) &&
		echo "reference after repair: $v" &&
		{ test "$v" = clean || { cat '$name'.after.out; false; }; } &&
		cat '$name'.files &&
		test "$(tail -n 1 '$name'.files)" = 0
	'
done

# ---- crashes: fsck -y stopped at each of its device writes in turn ----
# After each crash our fsck -y must finish the repair (exit 0 or 1), a
# second run find nothing, the reference find the result clean and the
# case's files read back: every repair reaches the disk through the journal.
# The sweeps run $BCH_TEST_JOBS at a time; each prints its verdict last.

# crash_job NAME DIR: the sweep of case NAME (from NAME.dmg.img); the last line is 0 when it passed
crash_job() {
	local name=$1 d=$2 n=0 tested=0 rc v set=$1.crash base

	base=$(case_base "$d")
	while :; do
		n=$((n + 1))
		# the first CRASH_EVERY writes each, then every third (the run that
		# passes the last write ends the sweep wherever it falls)
		[ "$n" -le "$CRASH_EVERY" ] || [ $(((n - CRASH_EVERY) % 3)) = 0 ] || continue
		copy_set "$set" $(devs "$name.dmg") || return
		ours fsck -y --fail-after-writes=$n $(devs "$set") > "$name.crash.out" 2>&1
		rc=$?
		if ! grep -q "simulated crash" "$name.crash.out"; then
			[ $rc = 1 ] || { cat "$name.crash.out"; echo "uninterrupted run: exit $rc"; return 1; }
			echo "$tested crash points among at most $((n - 1)) writes"
			return 0
		fi
		tested=$((tested + 1))
		ours fsck -y $(devs "$set") > "$name.again.out" 2>&1
		rc=$?
		[ $rc -le 1 ] || { cat "$name.crash.out" "$name.again.out"; echo "after a crash at write $n: exit $rc"; return 1; }
		ours fsck -n $(devs "$set") > "$name.clean.out" 2>&1 ||
			{ cat "$name.crash.out" "$name.again.out" "$name.clean.out"; echo "after a crash at write $n: not clean"; return 1; }
		v=$(ref_fsck_verdict "$name.crash.ref.out" $(devs "$set"))
		[ "$v" = clean ] || { cat "$name.crash.ref.out"; echo "crash at write $n: reference: $v"; return 1; }
		files_intact "$set" "$d" "$base" > /dev/null ||
			{ echo "crash at write $n: files differ"; return 1; }
	done
}

# BCH_FSCK_CRASH_EVERY=N: crash after each of the first N writes (default 8), then every third;
# a large N crashes after every write
CRASH_EVERY=${BCH_FSCK_CRASH_EVERY:-8}
CRASH_CASES=${BCH_FSCK_CRASH_CASES:-ns-dir-loop ns-root-inode-missing reflink-v-missing snap-tree-wrong topo-node-lost topo-root-lost-scan topo-snapshots-root-lost topo-subvolumes-root-lost ns-dead-inode-clean ns-logged-truncate ns-logged-collapse ns-logged-insert ns-snap-overlap-second alloc-ptr-stale topo-leaf-bad-csum journal-bkey-u64s-0 journal-root-bad-size journal-newest-torn journal-seq-blacklisted alloc-accounting-invalid-device}
CRASHED=()
for name in $CRASH_CASES; do
	[ -f $name.dmg.img ] || continue
	CRASHED+=("$name")
	jobs_wait "$BCH_TEST_JOBS"
	{ crash_job "$name" "$CASES/$name"; echo $?; } > "$name.sweep" 2>&1 &
done
wait
for name in "${CRASHED[@]}"; do
	test_expect_success "$name: fsck -y crashed after its Nth write (each of the first $CRASH_EVERY, every third after): the next fsck -y finishes the repair" '
		cat '$name'.sweep &&
		test "$(tail -n 1 '$name'.sweep)" = 0
	'
done

# ---- the kernel: every repaired image mounted with fsck, one boot ----
cat > steps.sh <<'EOF'
steps() {
	set -e
	s() { echo "$1" > "$o/step"; echo "--- $1"; }
	s fsck-mount
	mount -t bcachefs -o fsck,fix_errors=no,ro "$devs" /mnt
	s unmount
	umount /mnt
	s ok
}
EOF
kb_init_steps kvm steps.sh
for name in "${NAMES[@]}"; do
	[ -f $name.img ] && kb_add "$name" $(devs "$PWD/$name")
done
KB_ROW_TIMEOUT=600 kb_run > kvm.log 2>&1
if why=$(kb_unavailable); then
	say "# the kernel VM is not available: $why"
else
	test_set_prereq KVM
fi
for name in "${NAMES[@]}"; do
	test_expect_success KVM "$name: Linux 6.12 mounts the repaired image with fsck and reports nothing" "
		kb_check_run $name && kb_check_dmesg $name
	"
done

test_done
