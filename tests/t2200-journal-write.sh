#!/bin/bash
test_description='journal writer: entries we append, the reference reads and replays

tests/tools/journal-append (make test-tools) drives
libbcachefs/journal/journal_write.c on copies of clean corpus images: it
appends a flush entry after the clean shutdown'"'"'s journal_seq (a log line,
the first dirents key journalled again unchanged, then the roots, datetime,
usage and clocks every entry ends with) and two noflush entries, and marks
the superblock not clean. Then:

 - both tools'"'"' list_journal -a print the same, our entries included;
 - the reference'"'"'s fsck -n replays our flush entry and finds nothing;
 - with --clean, the clean section we write is the kernel'"'"'s but for
   journal_seq, and the next append resumes where the member fields say;
 - with --unclean, the journal restarts where the kernel restarts it after
   the same unclean shutdown (seq and position).
'
. "$(dirname "$0")/lib/test-lib.sh"
. "$BCH_ROOT/tests/lib/oracle.sh"

[ "${BCH_FILTER_OURS:-0}" = 1 ] && skip_all "tests our own library, not the reference"

TOOL="$BCH_ROOT/build/rel/tests/tools/journal-append"
[ -x "$TOOL" ] || skip_all "journal-append is not built (make test-tools)"
corpus_prologue

# A fixed time for the datetime entries: outputs do not depend on the clock.
NOW=1700000000

# Clean images of every checksum type, block and bucket size, one to three
# devices, and two the kernel wrote.
IMAGES="default csum-none csum-crc64 csum-xxhash bs512 bucket2m multi2 multi3 kernel-clean kernel-multi"

# copy_image NAME DIR: sparse copies of NAME's devices in DIR; prints their paths.
copy_image() {
	mkdir -p "$2" &&
	for dev in $(corpus_devs "$1"); do
		cp --sparse=always "$dev" "$2/" || return 1
		echo "$PWD/$2/$(basename "$dev")"
	done
}

clean_seq() {
	ref show-super -f clean "$1" | sed -n 's/^journal_seq: *//p'
}

# entry_pos SEQ < list_journal output: where entry SEQ was written ("0:1:168 ...")
entry_pos() {
	awk -v s="$1" '
		$1 == "journal" && $2 == "entry" { cur = $3 }
		$1 == "blacklisted" { cur = $5 }
		/written at/ && cur == s { sub(/.*written at +/, ""); print; exit }'
}

# fsck_quiet FILE: the reference's fsck said nothing but its progress lines
# (and, on stderr, that it found no kernel module to use).
fsck_quiet() {
	! grep -v -E -e "$REF_LOG_PATTERNS" -e '^Running userspace offline fsck$' \
		-e '^[a-z_]+\.\.\. done$' -e '^modprobe: FATAL: Module bcachefs not found' "$1"
}

same_list_journal() {
	ref list_journal -a "$@" | ref_filter | norm_both > ref.lj &&
	ours list_journal -a "$@" | norm_both > ours.lj &&
	test_cmp ref.lj ours.lj
}

for img in $IMAGES; do
	if ! corpus_devs "$img" > /dev/null 2>&1; then
		test_skip "$img/*" "image not built"
		continue
	fi

	test_expect_success "$img: a flush entry after the clean shutdown, two noflush" '
		devs=$(copy_image '$img' '$img') &&
		n=$(clean_seq ${devs%% *}) &&
		"$TOOL" --log "appended by journal-append" --rejournal dirents \
			--noflush 2 --time $NOW $devs > append.out &&
		cat append.out &&
		test "$(head -1 append.out)" = "seq $((n + 1)) flush" &&
		grep -q "^seq $((n + 3)) noflush$" append.out
	'

	test_expect_success "$img: list_journal -a of both tools agree" '
		devs=$(ls -d $PWD/'$img'/*) &&
		same_list_journal $devs &&
		grep -q "log: appended by journal-append" ours.lj
	'

	test_expect_success "$img: the reference's fsck -n replays it and finds nothing" '
		devs=$(ls -d $PWD/'$img'/*) &&
		n=$(sed -n "s/^seq \([0-9]*\) flush$/\1/p" append.out) &&
		ref fsck -n $devs > fsck.out 2>&1 ;
		cat fsck.out &&
		grep -q "^journal read done, replaying entries $n-$n$" fsck.out &&
		fsck_quiet fsck.out
	'
	rm -rf "${TEST_TRASH:?}/$img"
done

test_expect_success 'clean: our clean section is the kernel'"'"'s but for journal_seq' '
	devs=$(copy_image default clean) &&
	n=$(clean_seq $devs) &&
	ref show-super -f clean $devs | sed -n "/^clean/,\$p" > before &&
	"$TOOL" --clean --log one --time $NOW $devs &&
	ref show-super -f clean $devs | sed -n "/^clean/,\$p" > after &&
	sed "s/^journal_seq: *$n\$/journal_seq:    $((n + 1))/" before > expect &&
	test_cmp expect after &&
	ref show-super $devs > ref.ss && ours show-super $devs > ours.ss &&
	test_cmp ref.ss ours.ss
'

test_expect_success 'clean: the reference mounts it clean, at our journal_seq' '
	devs=$PWD/clean/dev0.img &&
	n=$(clean_seq $devs) &&
	ref fsck -n $devs > fsck.out 2>&1 ;
	cat fsck.out &&
	grep -q "^recovering from clean shutdown, journal seq $n$" fsck.out &&
	fsck_quiet fsck.out
'

test_expect_success 'clean: a second append resumes where the member fields say' '
	devs=$PWD/clean/dev0.img &&
	n=$(clean_seq $devs) &&
	"$TOOL" --clean --log two --time $((NOW + 1)) $devs &&
	ref list_journal -a $devs > lj &&
	first=$(entry_pos $n < lj) && second=$(entry_pos $((n + 1)) < lj) &&
	echo "$first / $second" &&
	off=$(echo "$first" | cut -d" " -f1 | cut -d: -f3) &&
	test "$(echo "$second" | cut -d" " -f1)" = "0:1:$((off + 8))" &&
	same_list_journal $devs
'

test_expect_success 'unclean: the journal restarts where the kernel restarts it' '
	devs=$(copy_image default ours) &&
	"$TOOL" --log one --rejournal inodes --noflush 1 --time $NOW $devs &&
	cp --sparse=always $devs kernel.img &&
	ref fsck -y kernel.img > kfsck.out 2>&1 ;
	"$TOOL" --unclean --log ours --time $NOW $devs > unclean.out &&
	cat unclean.out &&
	s=$(sed -n "s/^seq \([0-9]*\) flush$/\1/p" unclean.out) &&
	ref list_journal -a kernel.img > k.lj && ref list_journal -a $devs > o.lj &&
	echo "kernel: $(entry_pos $s < k.lj), ours: $(entry_pos $s < o.lj)" &&
	test -n "$(entry_pos $s < o.lj)" &&
	test "$(entry_pos $s < k.lj)" = "$(entry_pos $s < o.lj)" &&
	grep -q "blacklisting entries $((s - 9))-$s" k.lj
'

test_expect_success 'unclean: the reference replays our entry alone' '
	devs=$PWD/ours/dev0.img &&
	s=$(sed -n "s/^seq \([0-9]*\) flush$/\1/p" unclean.out) &&
	ref fsck -n $devs > fsck.out 2>&1 ;
	cat fsck.out &&
	grep -q "^journal read done, replaying entries $s-$s$" fsck.out &&
	fsck_quiet fsck.out &&
	same_list_journal $devs
'

test_done
