#!/bin/bash
test_description='data path: files written through our library, checked by the reference; files the kernel wrote, read by us

tests/tools/data-tool (make test-tools) copies the regular files of a
directory into the root directory of a filesystem our format made (one
inode and dirent each, data written by bch_data_write: holes skipped,
small files as inline data), then shuts down cleanly; "cat" reads a file
back by path with bch_data_read.

 - for several data checksum and compression options (and two devices
   with replicas=2; 512-byte blocks need a device that has them: the
   unit tests write those): the reference'"'"'s fsck -n finds nothing, its
   list -b extents shows the checksum type and compression asked for
   (compressed text, incompressible random bytes), and every file reads
   back byte for byte;
 - inode options (compression, data_checksum) override the filesystem'"'"'s;
 - fallocate: a reservation key of data_replicas replicas, fsck clean;
 - a large file (BCH_DATA_BIG_MB, default 64 MiB; t2800 copies one of 200 MB) streamed in 1 MiB
   chunks: fsck clean, reads back;
 - the corpus: every regular file of the source tree the reference'"'"'s
   format --source copied in (every checksum and compression option, 512
   and 4096-byte blocks, two and three devices) reads back as in the tree;
   on the kernel-written images, files of known content (inline data,
   holes, punched ranges, reservations, reflinks) read as the kernel wrote
   them.
'
. "$(dirname "$0")/lib/test-lib.sh"
. "$BCH_ROOT/tests/lib/oracle.sh"

[ "${BCH_FILTER_OURS:-0}" = 1 ] && skip_all "tests our own library, not the reference"

TOOL="$BCH_ROOT/build/rel/tests/tools/data-tool"
[ -x "$TOOL" ] || skip_all "data-tool is not built (make test-tools)"
have_ours || skip_all "no bcachefs to test at $BCH_OURS (set BCH_OURS)"
"$BCH_REF" version > /dev/null 2>&1 || skip_all "the reference tools do not run here"
export BCH_REF_CACHE=0
BIG_MB=${BCH_DATA_BIG_MB:-64}

fsck_unclean() {
	grep -v -E -e "$REF_FSCK_PROGRESS" "$1"
}

# fsck_clean LOG DEVICE...: the reference's fsck -n finds nothing.
fsck_clean() {
	local log=$1 v
	shift
	v=$(ref_fsck_verdict "$log" "$@") && echo "$v" &&
	test "$v" = clean || { fsck_unclean "$log" | head -n 60; false; }
}

# cat_same SRCDIR DEVICE...: every regular file of SRCDIR reads back from the root.
cat_same() {
	local src=$1 f
	shift
	for f in "$src"/*; do
		[ -f "$f" ] || continue
		"$TOOL" cat "$@" -- "$(basename "$f")" > got || return 1
		cmp got "$f" || return 1
	done
}

test_expect_success 'source files: inline-sized, text, random, sparse, empty' '
	mkdir src &&
	printf "small enough to live in its extent key\n" > src/small &&
	head -c 1000 "$BCH_ROOT/libbcachefs/DESIGN.md" > src/kilo &&
	head -c 5000 "$BCH_ROOT/libbcachefs/DESIGN.md" > src/five-k &&
	for i in 1 2 3 4 5 6 7 8; do cat "$BCH_ROOT"/libbcachefs/btree/*.c; done |
		head -c 1500000 > src/text &&
	head -c 700000 /dev/urandom > src/random &&
	truncate -s 3M src/sparse &&
	dd if=/dev/urandom of=src/sparse bs=4k seek=200 count=7 conv=notrunc 2> /dev/null &&
	dd if=src/text of=src/sparse bs=4k seek=500 count=30 conv=notrunc 2> /dev/null &&
	printf "tail" >> src/sparse &&
	: > src/empty
'

# one configuration: NAME, then format options
data_config() {
	local name=$1
	shift
	test_expect_success "$name: copy in, shut down" '
		truncate -s 256M '"$name"'.img &&
		ours format -q '"$*"' '"$name"'.img > /dev/null &&
		"$TOOL" copy-in src '"$name"'.img
	'
	test_expect_success "$name: the reference fsck -n finds nothing" '
		fsck_clean fsck-'"$name"'.log '"$name"'.img
	'
	test_expect_success "$name: every file reads back" '
		cat_same src '"$name"'.img
	'
}

data_config none --data_checksum=none
data_config crc32c-lz4 --data_checksum=crc32c --compression=lz4
data_config crc64-gzip --data_checksum=crc64 --compression=gzip
data_config xxhash-zstd --data_checksum=xxhash --compression=zstd
data_config none-zstd --data_checksum=none --compression=zstd:15
data_config bgzstd --background_compression=zstd

# list_has IMG PATTERN...: the reference lists an extent line matching each pattern
list_has() {
	local img=$1 p
	shift
	"$BCH_REF" list -b extents "$img" > list.out 2>&1 || return 1
	for p in "$@"; do
		grep -E -q -e "$p" list.out || { echo "no extent matches: $p"; return 1; }
	done
}

test_expect_success 'list: checksum and compression types as asked' '
	list_has none.img "type inline_data" "type extent .*ptr:" &&
	! grep -q "crc:" list.out &&
	list_has crc32c-lz4.img "csum crc32c .*compress lz4" "compress incompressible" &&
	list_has crc64-gzip.img "csum crc64 .*compress gzip" &&
	list_has xxhash-zstd.img "csum xxhash .*compress zstd" &&
	list_has none-zstd.img "csum none .*compress zstd" &&
	list_has bgzstd.img "csum crc32c .*compress none.*rebalance: .*zstd"
'

test_expect_success 'two devices, replicas=2: fsck clean, two pointers, reads back' '
	truncate -s 256M r2a.img r2b.img &&
	ours format -q --replicas=2 --compression=lz4 r2a.img r2b.img > /dev/null &&
	"$TOOL" copy-in src r2a.img r2b.img &&
	fsck_clean fsck-r2.log r2a.img r2b.img &&
	list_has r2a.img "ptr: 0:.*ptr: 1:" &&
	cat_same src r2a.img r2b.img
'

test_expect_success 'inode options override the filesystem options' '
	truncate -s 256M iopt.img &&
	ours format -q --data_checksum=crc32c iopt.img > /dev/null &&
	"$TOOL" copy-in --inode-compression gzip --inode-csum xxhash src iopt.img &&
	fsck_clean fsck-iopt.log iopt.img &&
	list_has iopt.img "csum xxhash .*compress gzip" &&
	! grep -q "csum crc32c" list.out &&
	cat_same src iopt.img
'

test_expect_success 'fallocate: a reservation of data_replicas, fsck clean' '
	truncate -s 256M fa.img fb.img &&
	ours format -q --replicas=2 fa.img fb.img > /dev/null &&
	"$TOOL" falloc fa.img fb.img -- reserved 1000000 &&
	fsck_clean fsck-falloc.log fa.img fb.img &&
	list_has fa.img "type reservation .*replicas 2" &&
	"$TOOL" cat fa.img fb.img -- reserved > got &&
	head -c 1000000 /dev/zero | cmp - got
'

test_expect_success "a ${BIG_MB} MiB file streamed in chunks: fsck clean, reads back" '
	mkdir big &&
	head -c 1048576 /dev/urandom > noise &&
	head -c 1048576 src/text > words &&
	for i in $(seq 1 '"$BIG_MB"'); do
		if [ $((i % 4)) = 0 ]; then cat noise; else cat words; fi
	done > big/big &&
	truncate -s 1G big.img &&
	ours format -q --compression=zstd big.img > /dev/null &&
	"$TOOL" copy-in big big.img &&
	fsck_clean fsck-big.log big.img &&
	cat_same big big.img
'
rm -rf big big.img noise words

# ---- the corpus ----

if corpus_manifest > /dev/null 2>&1 && [ -d "$BCH_CORPUS/trees" ]; then
	# every regular file of TREE (relative paths) reads back from IMAGE
	corpus_tree_same() {
		local devs
		devs=$(corpus_devs "$1") || return 1
		# shellcheck disable=SC2086
		"$TOOL" cmp-tree $devs -- "$BCH_CORPUS/trees/$2" ""
	}
	for img in bs512 bs4096 csum-none csum-crc32c csum-crc64 csum-xxhash \
		   compress-lz4 compress-gzip compress-zstd compress-background \
		   multi2 multi3 nocow full-zstd-xxhash; do
		case $img in full*) tree=full ;; *) tree=small ;; esac
		if ! corpus_devs "$img" > /dev/null 2>&1; then
			test_skip "corpus $img: files read back" "not in the corpus"
			continue
		fi
		test_expect_success "corpus $img: files written by format --source read back" '
			corpus_tree_same '"$img"' '"$tree"'
		'
	done

	if devs=$(corpus_devs kernel-clean 2> /dev/null); then
		test_expect_success 'corpus kernel-clean: kernel-written files read back' '
			k() { "$TOOL" cat '"$devs"' -- "$1"; } &&
			tiny=$BCH_CORPUS/trees/tiny &&
			k work/f0 > got && printf "file 0\n" | cmp - got &&
			k work/sub/moved-f2 > got && printf "file 2\n" | cmp - got &&
			for i in 1 2 3 4 6 7 8 9; do
				k work/g$i > got && head -c $((i * 700)) "$tiny/two-blocks" | cmp - got || exit 1
			done &&
			k work/big > big && test "$(stat -c %s big)" = 1000000 &&
			head -c 65536 /dev/zero > zeros &&
			dd if=big bs=4096 skip=16 count=16 2> /dev/null | cmp - zeros &&
			dd if=big bs=4096 skip=100 count=3 2> /dev/null | cmp - <(head -c 12288 /dev/zero) &&
			k work/big-reflink | cmp - big &&
			k work/g9-reflink > got && head -c 6300 "$tiny/two-blocks" | cmp - got &&
			k work/reserved > got && head -c 1048576 /dev/zero | cmp - got
		'
	else
		test_skip "corpus kernel-clean: kernel-written files read back" "not in the corpus"
	fi
	for img in kernel-multi kernel-unclean; do
		if devs=$(corpus_devs $img 2> /dev/null); then
			test_expect_success "corpus $img: the tree the kernel copied reads back" '
				"$TOOL" cmp-tree '"$devs"' -- "$BCH_CORPUS/trees/tiny" tree "d/small0*" "d/small2*" > out &&
				cat out && ! grep -q "^0 files" out
			'
		else
			test_skip "corpus $img: the tree the kernel copied reads back" "not in the corpus"
		fi
	done
else
	test_skip "corpus: files read back" "no corpus (tests/corpus/build.sh)"
fi

test_done
