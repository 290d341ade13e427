#!/bin/bash
test_description='format --source: a directory tree copied into a new filesystem

tests/lib/mksource.py makes a source tree with every kind of entry
(regular files of every size class up to three buckets and one of 200 MB,
sparse files, 1- and 255-byte and non-ASCII names, a directory of 10000
entries, symlinks, hardlinks, device nodes, fifos, sockets, 120 xattrs on
one file, POSIX ACLs, several owners, odd modes, times with nanoseconds),
and a small one of the same kinds.  tests/guest/treestat prints every
entry with its type, mode, owner, size, link count, device number, times,
hardlink group, content hash (or symlink target) and xattrs; it runs on
the source before anything reads it.  Both trees have a lost+found, as a
filesystem root has: format --source leaves it out (the new filesystem
has its own), and the comparisons skip it.

 - the full tree with the default options; the small tree under every data checksum (none, crc32c, crc64,
   xxhash) x compression (none, lz4, gzip, zstd) on one device, and with
   replicas 2 on two devices for four pairs that take each checksum and
   each compression once: the reference fsck -n finds nothing; the reference list of
   the extents shows the checksum and compression asked for; for the full
   tree and those four pairs on one and on two devices (each checksum and
   each compression the kernel reads, a small filesystem costs it about
   15 s of emulation), Linux 6.12 mounts the image read-only and treestat
   there prints exactly what it printed for the source; then
   mount -o fsck,fix_errors=no reports nothing; the same for the small
   tree in btree nodes of 8 KiB, two blocks;
 - our cat reads back every regular file and symlink of the small tree
   from an image the reference made (format --source) and from one the
   kernel wrote (the tree extracted into a mounted filesystem);
 - refusals: a source that is not a directory (nothing written), a
   filesystem too small for the tree and an unreadable file (a non-zero
   exit, the message names the file).

Environment: BCH_SOURCE_FULL=0 leaves out the full tree (and its 200 MB
file).
'
. "$(dirname "$0")/lib/test-lib.sh"
. "$BCH_ROOT/tests/lib/oracle.sh"
. "$BCH_ROOT/tests/lib/kernel-batch.sh"

[ "${BCH_FILTER_OURS:-0}" = 1 ] && skip_all "tests our own format, not the reference"
have_ours || skip_all "no bcachefs to test at $BCH_OURS (set BCH_OURS)"
"$BCH_REF" version > /dev/null 2>&1 || skip_all "the reference tools do not run here"
TREESTAT=$BCH_ROOT/build/guest/treestat
[ -x "$TREESTAT" ] || skip_all "treestat is not built (make test-tools)"
export BCH_REF_CACHE=0

FULL=${BCH_SOURCE_FULL:-1}
CSUMS="none crc32c crc64 xxhash"
COMPS="none lz4 gzip zstd"

test_expect_success 'make the source trees, record them before anything reads them' '
	python3 "$BCH_ROOT/tests/lib/mksource.py" --small small > small.count &&
	"$TREESTAT" small | grep -v "^lost+found	" > small.stat &&
	if [ "$FULL" = 1 ]; then
		python3 "$BCH_ROOT/tests/lib/mksource.py" full > full.count &&
		"$TREESTAT" full | grep -v "^lost+found	" > full.stat
	fi &&
	cat small.count && { [ "$FULL" != 1 ] || cat full.count; }
'

# fmt NAME TREE SIZE NDEVS ARGS...: our format --source of TREE onto NDEVS
# images of SIZE, named NAME.N.img
fmt() {
	local name=$1 tree=$2 size=$3 n=$4 i devs=()
	shift 4
	for ((i = 0; i < n; i++)); do
		rm -f "$name.$i.img" && truncate -s "$size" "$name.$i.img" || return 1
		devs+=("$name.$i.img")
	done
	echo "${devs[*]}" > "$name.devs"
	ours format -q --source="$tree" "$@" "${devs[@]}" > "$name.format" 2>&1 ||
		{ cat "$name.format"; return 1; }
}

CONFIGS=()
KCONFIGS=()
add_config() {
	CONFIGS+=("$1")
	case $1 in
	full-* | *-2 | *-nodes) KCONFIGS+=("$1") ;;
	*-1) replicated "$(echo "$1" | cut -d- -f2)" "$(echo "$1" | cut -d- -f3)" && KCONFIGS+=("$1") ;;
	esac
	test_expect_success "$1: format --source" "fmt $*"
}

if [ "$FULL" = 1 ]; then
	add_config full-default full 1G 1
fi
# replicated: the i-th checksum with the i-th compression (each of both once)
replicated() {
	local i=0 j=0 x
	for x in $CSUMS; do [ "$x" = "$1" ] && break; i=$((i + 1)); done
	for x in $COMPS; do [ "$x" = "$2" ] && break; j=$((j + 1)); done
	[ $i = $j ]
}

# nodes of two blocks: a node written to its end is rewritten at its next
# change, which changes the alloc btree again (flushes must still end)
add_config small-8k-nodes small 128M 1 --btree_node_size=8k
for cs in $CSUMS; do
	for co in $COMPS; do
		add_config "small-$cs-$co-1" small 128M 1 --data_checksum=$cs --compression=$co
		replicated $cs $co &&
			add_config "small-$cs-$co-2" small 128M 2 --data_checksum=$cs --compression=$co --replicas=2
	done
done

for c in "${CONFIGS[@]}"; do
	test_expect_success "$c: the reference fsck -n finds nothing" '
		read -r -a devs < '"$c"'.devs &&
		v=$(ref_fsck_verdict '"$c"'.fsck.log "${devs[@]}") &&
		echo "$v" && test "$v" = clean
	'
done

# extents_check NAME CSUM COMP: the reference list of the extents shows
# every extent checksummed with CSUM, and compressed with COMP where that
# saved space (the random files do not compress)
extents_check() {
	local name=$1 cs=$2 co=$3 devs
	read -r -a devs < "$name.devs"
	"$BCH_REF" list -b extents "${devs[@]}" 2> /dev/null | grep " type extent " > "$name.extents"
	test -s "$name.extents" || { echo "no extents listed"; return 1; }
	if [ "$cs" = none ] && [ "$co" = none ]; then
		! grep -q "crc: " "$name.extents" || { echo "checksummed extents:"; grep -m3 "crc: " "$name.extents"; return 1; }
		return 0
	fi
	local bad
	bad=$(grep -v "csum $cs " "$name.extents" | head -n 3)
	[ -z "$bad" ] || { echo "extents without csum $cs:"; echo "$bad"; return 1; }
	if [ "$co" = none ]; then
		! grep -q -E "compress (lz4|gzip|zstd|incompressible)" "$name.extents" ||
			{ echo "compressed extents:"; grep -m3 -E "compress (lz4|gzip|zstd|inc)" "$name.extents"; return 1; }
	else
		grep -q "compress $co\b" "$name.extents" ||
			{ echo "no extent compressed with $co"; head -n 3 "$name.extents"; return 1; }
		grep -q "compress incompressible" "$name.extents" ||
			{ echo "no extent marked incompressible"; return 1; }
		bad=$(grep -v -E "compress ($co|incompressible)\b" "$name.extents" | head -n 3)
		[ -z "$bad" ] || { echo "extents of another compression:"; echo "$bad"; return 1; }
	fi
}

for cs in $CSUMS; do
	for co in $COMPS; do
		for r in 1 2; do
			[ $r = 1 ] || replicated $cs $co || continue
			test_expect_success "small-$cs-$co-$r: the reference lists csum $cs, compression $co" "
				extents_check small-$cs-$co-$r $cs $co
			"
		done
	done
done

# --- the kernel: mount read-only, treestat, then mount with fsck ---
# (a filesystem named write-*: the kernel extracts the small tree into it,
# for the read-back test below)
cat > steps.sh <<'EOF'
steps() {
	set -e
	s() { echo "$1" > "$o/step"; echo "--- $1"; }
	case "$o" in
	*/write-*)
		s mount
		mount -t bcachefs "$devs" /mnt
		s copy
		tar -xf /host/small.tar -C /mnt
		s unmount
		umount /mnt
		s ok
		return
	esac
	s mount
	mount -t bcachefs -o ro "$devs" /mnt
	s treestat
	/host/treestat /mnt > "$o/treestat"
	s unmount
	umount /mnt
	s fsck-mount
	mount -t bcachefs -o fsck,fix_errors=no,ro "$devs" /mnt
	s final-unmount
	umount /mnt
	s ok
}
EOF
kb_init_steps kvm steps.sh
cp "$TREESTAT" kvm/treestat
for c in "${KCONFIGS[@]}"; do
	read -r -a devs < "$c.devs"
	kb_add "$c" "${devs[@]/#/$PWD/}"
done
# the kernel-written image
tar -C small -cf kvm/small.tar . &&
truncate -s 256M kwrite.img && ours format -q kwrite.img > /dev/null 2>&1 &&
kb_add write-kwrite "$PWD/kwrite.img"

say "# kernel: $(wc -l < kvm/filesystems) filesystems"
KB_KEEP_PACKS=1 KB_ROW_TIMEOUT=600 kb_run > kvm.log 2>&1
kb_extract write-kwrite kwrite.img > kvm.extract 2>&1
rm -f kvm/pack*.img

why=$(kb_unavailable) && skip_all "the kernel VM is not available: $why"

for c in "${KCONFIGS[@]}"; do
	tree=${c%%-*}
	test_expect_success "$c: Linux 6.12 mounts it, every entry as in the source, fsck mount clean" '
		kb_check_run '"$c"' &&
		grep -v "^lost+found	" kvm/out/'"$c"'/treestat > '"$c"'.kstat &&
		diff '"$tree"'.stat '"$c"'.kstat > '"$c"'.diff ||
			{ echo "differences (source <, kernel >):"; head -n 40 '"$c"'.diff; false; }
	'
	test_expect_success "$c: the kernel logged no error" "kb_check_dmesg $c"
done

# --- our cat reads what the reference and the kernel wrote ---
# cat_all IMG...: every regular file and symlink of the small tree read
# back through our cat, compared with the source
cat_all() {
	local n=0 bad=0 rel
	while IFS= read -r -d '' rel; do
		rel=${rel#small/}
		if [ -L "small/$rel" ]; then
			ours cat "$@" "$rel" > cat.out 2> cat.err &&
				[ "$(cat cat.out)" = "$(readlink "small/$rel")" ]
		else
			ours cat "$@" "$rel" > cat.out 2> cat.err && cmp -s cat.out "small/$rel"
		fi || { bad=$((bad + 1)); [ $bad -le 5 ] && echo "differs: $rel $(cat cat.err)"; }
		n=$((n + 1))
	done < <(find small \( -type f -o -type l \) -print0)
	echo "$n files read, $bad differ"
	[ $bad = 0 ] && [ $n -gt 1000 ]
}

test_expect_success 'the reference format --source: our cat reads every file back' '
	truncate -s 256M refsrc.img &&
	"$BCH_REF" format --source=small refsrc.img > refsrc.log 2>&1 ;
	v=$(ref_fsck_verdict refsrc.fsck.log refsrc.img) && test "$v" = clean &&
	cat_all refsrc.img
'

test_expect_success 'the kernel wrote the tree: our cat reads every file back' '
	kb_check_run write-kwrite &&
	cat_all kwrite.img
'

# --- refusals ---
test_expect_success 'a source that is not a directory: refused, nothing written' '
	truncate -s 64M nodir.img &&
	test_expect_code 1 ours format --source=small.stat nodir.img 2> nodir.err &&
	grep "small.stat: not a directory" nodir.err &&
	test_expect_code 1 ours format --source=does-not-exist nodir.img 2> nodir.err &&
	grep "does-not-exist: No such file" nodir.err &&
	test "$(tr -d "\0" < nodir.img | wc -c)" = 0
'

test_expect_success 'a filesystem too small for the tree: an error naming a file' '
	truncate -s 20M tiny.img &&
	test_expect_code 1 ours format --source=small tiny.img > tiny.out 2> tiny.err &&
	cat tiny.err &&
	grep -E "small/[^:]+: (copying data|writing|creating).*(space|full)" tiny.err
'

# as a user who may not read the file: in a folder of /tmp that user can
# reach, with a copy of our binary (the checkout may be in a private home)
test_expect_success 'an unreadable file: an error naming it' '
	command -v setpriv > /dev/null || { echo "no setpriv"; false; } &&
	u=$(mktemp -d /tmp/bch-unreadable.XXXXXX) && chmod 755 "$u" &&
	cp "$BCH_OURS" "$u/bcachefs" &&
	mkdir -p "$u/src/d" && echo secret > "$u/src/d/file" && echo fine > "$u/src/ok" &&
	chmod 000 "$u/src/d/file" && chmod -R a+rX "$u/src" && chmod 000 "$u/src/d/file" &&
	truncate -s 64M "$u/img" && chmod 666 "$u/img" &&
	{ setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$u/bcachefs" format -q --source="$u/src" "$u/img" > unread.out 2> unread.err
	  rc=$?; } &&
	rm -rf "$u" &&
	cat unread.err && test $rc = 1 &&
	grep "src/d/file: opening: Permission denied" unread.err
'

test_done
