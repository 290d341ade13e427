#!/bin/bash
test_description='format: the filesystems we make work with the reference tools and Linux 6.12

For every row of the matrix below, our `format` (fully initializing, no
--no_initialize) makes image files in the trash directory, then:
  - NAME: format                our format exits 0;
  - NAME: reference fsck -n     the reference'"'"'s fsck -n finds it clean (the
                                rule of tests/corpus/build.sh: status 0 and
                                nothing but progress lines);
  - NAME: list -b BTREE         for every btree, our list prints what the
                                reference'"'"'s list prints for the same image
                                (normalized as in t1000);
  - NAME: kernel ...            Linux 6.12 (tests/oracle/kernel-vm; all rows
                                share one boot per VM) mounts it, copies a
                                ~3000-file tree in, unmounts, mounts it again
                                with -o fsck,fix_errors=no, reads files back
                                and unmounts, all without error, and logs no
                                error (dmesg: bcachefs lines other than
                                progress, oopses, warnings).
Then the refusals: formatting over an existing bcachefs or ext4 without
--force, and impossible geometry (bucket smaller than a btree node, block
larger than a bucket, device too small) must fail with a message and
leave the devices byte for byte as they were.

BCH_NO_KERNEL=1 skips the kernel tests; BCH_FORMAT_VM_JOBS=N sets how many
VMs share them (default 2 with two cores; see tests/lib/kernel-batch.sh).
'
# Development aid only: BCH_FORMAT_CMD replaces our format command, e.g.
#   BCH_FORMAT_CMD="tests/oracle/ref-bcachefs format" tests/t2400-format-interop.sh
# checks this harness on images the reference makes (everything must pass).
# In that mode a format killed by a signal is retried on blank devices, as
# tests/corpus/build.sh does for the reference's crashes; ours never is.
format_cwd=$PWD
. "$(dirname "$0")/lib/test-lib.sh"
. "$BCH_ROOT/tests/lib/oracle.sh"
. "$BCH_ROOT/tests/lib/kernel-batch.sh"

if [ -n "${BCH_FORMAT_CMD:-}" ]; then
	read -r -a FORMAT_CMD <<< "$BCH_FORMAT_CMD"
	case ${FORMAT_CMD[0]} in
	/*) ;;
	*/*) FORMAT_CMD[0]=$format_cwd/${FORMAT_CMD[0]} ;;
	esac
	FORMAT_TRIES=5
else
	FORMAT_CMD=("$BCH_OURS" format)
	FORMAT_TRIES=1
	# run-tests.sh --self-check: the reference stands in for ours
	[ "${BCH_FILTER_OURS:-0}" = 1 ] && FORMAT_TRIES=5
fi
# every run makes new images: caching the reference's output is no use
export BCH_REF_CACHE=0

have_ours || skip_all "no bcachefs to test at $BCH_OURS (set BCH_OURS)"
"$BCH_REF" version > /dev/null 2>&1 || skip_all "the reference tools do not run here"
command -v python3 > /dev/null || skip_all "needs python3"

BTREES="extents inodes dirents xattrs alloc quotas stripes reflink subvolumes
	snapshots lru freespace need_discard backpointers bucket_gens
	snapshot_trees deleted_inodes logged_ops rebalance_work
	subvolume_children accounting"
# "GLOB|reason" entries: tests expected to differ (see cmp_expect)
KNOWN_DIFFERENCES=()

if [ "$(id -u)" = 0 ] && command -v losetup > /dev/null &&
   truncate -s 16M loopcheck.img && dev=$(losetup -f --show -b 512 loopcheck.img 2> /dev/null); then
	losetup -d "$dev"
	test_set_prereq LOOP
fi
rm -f loopcheck.img
command -v mkfs.ext4 > /dev/null && test_set_prereq EXT4
[ "${BCH_NO_KERNEL:-0}" = 1 ] || test_set_prereq KERNEL

LOOPS=()
detach_loops() {
	local d
	for d in "${LOOPS[@]}"; do losetup -d "$d" 2> /dev/null; done
	LOOPS=()
}
trap detach_loops EXIT

# The matrix. One row a line: NAME, device sizes (comma-separated: one to
# three devices), flags, format arguments (shell words; DEVn is the n-th
# device). Flags: loop512 = format through loop devices with 512-byte
# logical sectors; over-bcachefs, over-ext4 = the devices hold that
# filesystem before the format (made by the reference's format, mkfs.ext4).
# Each option is covered at least once. replicas-required has 1 GiB
# devices: with three 384 MiB devices and metadata_replicas=3, Linux 6.12
# oopses while the tree is copied in (bch2_btree_path_peek_slot from
# btree_interior_update_work, then the journal is stuck), on the
# reference's image as on any other.
MATRIX=$(cat <<'EOF'
default              512M            -             DEV0
block-4k             512M            -             --block_size=4096 DEV0
block-512            256M            loop512       --block_size=512 DEV0
sectors-512-2dev     256M,512M       loop512       --label=fast DEV0 --label=slow DEV1 --foreground_target=fast
bucket-128k          512M            -             --bucket=128k DEV0
bucket-2m            1G              -             --bucket=2M DEV0
btree-128k           512M            -             --btree_node_size=128k DEV0
csum-none            512M            -             --metadata_checksum=none --data_checksum=none DEV0
csum-crc64           512M            -             --metadata_checksum=crc64 --data_checksum=crc64 DEV0
csum-xxhash          512M            -             --metadata_checksum=xxhash --data_checksum=xxhash DEV0
compress-lz4         512M            -             --compression=lz4 DEV0
compress-gzip        512M            -             --compression=gzip DEV0
compress-zstd        512M            -             --compression=zstd DEV0
compress-zstd3-bg-gzip 512M          -             --compression=zstd:3 --background_compression=gzip DEV0
bg-compress-zstd     512M            -             --background_compression=zstd:7 DEV0
strhash-crc64        512M            -             --str_hash=crc64 DEV0
strhash-siphash      512M            -             --str_hash=siphash DEV0
replicas-2           512M,512M       -             --replicas=2 DEV0 DEV1
replicas-required    1G,1G,1G        -             --metadata_replicas=3 --data_replicas=2 --metadata_replicas_required=2 --data_replicas_required=2 DEV0 DEV1 DEV2
targets-labels       384M,512M,512M  -             --replicas=2 --foreground_target=ssd --background_target=hdd --promote_target=ssd --metadata_target=ssd --label=ssd --discard DEV0 --label=hdd.a --durability=2 DEV1 --label=hdd.b DEV2
targets-devices      512M,512M       -             --metadata_target=DEV0 --foreground_target=b --promote_target=DEV0 --label=a DEV0 --label=b DEV1
fs-size              1G              -             --fs_size=600M DEV0
fs-size-2dev         512M,512M       -             --fs_size=300M DEV0 DEV1
durability           512M,512M,512M  -             --data_replicas=2 --durability=2 DEV0 --durability=1 DEV1 --durability=0 DEV2
discard              512M            -             --discard DEV0
label-uuid           512M            -             -L 'interop label' -U 5f2d0c1e-8a3b-4c6d-9e7f-0a1b2c3d4e5f DEV0
superblock-64k       512M            -             --superblock_size=64k DEV0
force-over-bcachefs  512M            over-bcachefs --force DEV0
force-over-ext4      512M            over-ext4     --force DEV0
big-64g              64G             -             DEV0
mixed-1dev           512M            -             --bucket=512k --btree_node_size=64k --metadata_checksum=xxhash --data_checksum=crc64 --compression=lz4 --background_compression=zstd --str_hash=crc64 -L mixed DEV0
mixed-3dev-crc32c    256M,512M,1G    -             --metadata_replicas=2 --metadata_checksum=crc32c --data_checksum=crc32c --str_hash=crc32c --compression=gzip --bucket=128k DEV0 --bucket=1M DEV1 DEV2
EOF
)

row_descs() {
	local b
	echo "$1: format"
	echo "$1: reference fsck -n"
	for b in $BTREES; do echo "$1: list -b $b"; done
	echo "$1: kernel: mount, copy the tree, unmount, fsck mount, read back"
	echo "$1: kernel: dmesg has no errors"
}

row_selected() {
	local d
	while read -r d; do
		test_selected "$d" && return 0
	done < <(row_descs "$1")
	return 1
}

# expand ARGS...: DEV0, DEV1... replaced by the devices in DEVS
expand() {
	local a i
	EXPANDED=()
	for a in "$@"; do
		for i in "${!DEVS[@]}"; do a=${a//DEV$i/${DEVS[$i]}}; done
		EXPANDED+=("$a")
	done
}

# prep_devices DIR SIZES FLAGS: fresh image files DIR/devN.img (listed in
# DIR/files), loop devices over them with loop512; the filesystem FLAGS
# asks for on them. Sets DEVS (what format is given).
prep_devices() {
	local dir=$1 sizes=$2 flags=$3 i=0 s img dev
	DEVS=()
	: > "$dir/files"
	for s in ${sizes//,/ }; do
		img=$TEST_TRASH/$dir/dev$i.img
		rm -f "$img"
		truncate -s "$s" "$img" || return 1
		echo "$img" >> "$dir/files"
		dev=$img
		if [[ $flags == *loop512* ]]; then
			dev=$(losetup -f --show -b 512 "$img") || return 1
			LOOPS+=("$dev")
		fi
		DEVS+=("$dev")
		case $flags in
		*over-bcachefs*) "$BCH_REF" format -q -f "$dev" > /dev/null 2>&1 < /dev/null ||
			"$BCH_REF" show-super "$dev" > /dev/null 2>&1 || return 1 ;;
		*over-ext4*) mkfs.ext4 -q -F "$dev" > /dev/null 2>&1 || return 1 ;;
		esac
		i=$((i + 1))
	done
}

# format_row NAME SIZES FLAGS ARGS: make the row's images; DIR/format.rc,
# format.out, format.err
format_row() {
	local name=$1 sizes=$2 flags=$3 fmt_args=$4 dir=$1 try rc
	mkdir -p "$dir"
	for ((try = 1; try <= FORMAT_TRIES; try++)); do
		detach_loops
		prep_devices "$dir" "$sizes" "$flags" || { echo 125 > "$dir/format.rc"; return; }
		eval "set -- $fmt_args"
		expand "$@"
		echo "$ ${FORMAT_CMD[*]} ${EXPANDED[*]}" > "$dir/format.err"
		# (in a subshell that reports a crash to format.err, not here)
		rc=$( ("${FORMAT_CMD[@]}" "${EXPANDED[@]}" > "$dir/format.out" 2>> "$dir/format.err" < /dev/null
			echo $?) 2>> "$dir/format.err")
		[ "$rc" -lt 128 ] && break
	done
	echo "$rc" > "$dir/format.rc"
	detach_loops
}

# ------------------------------------------------------------------------
# Format every selected row, hand the formatted ones to the VM (in the
# background) and meanwhile run the reference's fsck and the list
# comparisons on the same images, which the VM does not touch.

t_start=$SECONDS
ROWS=()
declare -A ROW_FLAGS=()
while read -r name sizes flags args; do
	case $name in '' | '#'*) continue ;; esac
	row_selected "$name" || continue
	if [[ $flags == *loop512* ]] && ! test_have_prereq LOOP; then
		ROW_FLAGS[$name]="skip:needs loop devices with 512-byte sectors (root and losetup)"
	elif [[ $flags == *over-ext4* ]] && ! test_have_prereq EXT4; then
		ROW_FLAGS[$name]="skip:needs mkfs.ext4"
	else
		ROW_FLAGS[$name]=$flags
		format_row "$name" "$sizes" "$flags" "$args"
	fi
	ROWS+=("$name")
done <<< "$MATRIX"

formatted() {
	[ -f "$1/format.rc" ] && [ "$(cat "$1/format.rc")" = 0 ]
}

say "# formatted ${#ROWS[@]} rows in $((SECONDS - t_start))s"
if test_have_prereq KERNEL; then
	# 3000 files: 32 emulated copies are most of this script's time
	KB_TREE_FILES=3000 kb_init "$TEST_TRASH/vm" || skip_all "cannot write the source tree (tests/lib/tree-tar.py)"
	for name in "${ROWS[@]}"; do
		# shellcheck disable=SC2046
		formatted "$name" && kb_add "$name" $(cat "$name/files")
	done
	say "# running $(wc -l < "$KB_DIR/filesystems") filesystems through Linux 6.12 in the background"
	kb_run_background vm-run.log
	vm_pid=$KB_PID
fi

: > fsck.queue
for name in "${ROWS[@]}"; do
	formatted "$name" || continue
	devs=$(tr "\n" " " < "$name/files")
	echo "$name $devs" >> fsck.queue
	for b in $BTREES; do
		# shellcheck disable=SC2086
		cmp_queue "$name: list -b $b" list -b "$b" $devs
	done
done
say "# reference fsck -n of $(wc -l < fsck.queue) filesystems, then $( { wc -l < cmp/queue; } 2> /dev/null || echo 0) list comparisons, $BCH_TEST_JOBS at a time"
# at a lower priority: the emulated guest is what takes longest
(
	renice -n 10 "$BASHPID" > /dev/null
	tr '\n' '\0' < fsck.queue | xargs -0 -r -n 1 -P "$BCH_TEST_JOBS" bash -c '
		. "$BCH_ROOT/tests/lib/oracle.sh"
		set -- $1
		ref_fsck_verdict "$1/fsck.log" "${@:2}" > "$1/fsck.verdict"' fsck_job
	cmp_run_queue
)
say "# reference checks done at $((SECONDS - t_start))s"

# ------------------------------------------------------------------------
# The results of the host side, row by row, while the VM is still busy.

for name in "${ROWS[@]}"; do
	case ${ROW_FLAGS[$name]} in
	skip:*) test_skip "$name: *" "${ROW_FLAGS[$name]#skip:}"; continue ;;
	esac
	ROW=$name
	test_expect_success "$name: format" '
		cat "$ROW/format.out" "$ROW/format.err" &&
		test "$(cat "$ROW/format.rc")" = 0
	'
	formatted "$name" || { test_skip "$name: *" "format failed"; continue; }
	test_expect_success "$name: reference fsck -n" '
		cat "$ROW/fsck.verdict" &&
		test "$(cat "$ROW/fsck.verdict")" = clean || { cat "$ROW/fsck.log"; false; }
	'
	for b in $BTREES; do
		cmp_expect "$name: list -b $b"
	done
done

# ------------------------------------------------------------------------
# Refusals: a non-zero exit in good order, a message, nothing written.

# refused NAME SIZE PREP KEYWORD ARGS...: format ARGS (DEV0: a SIZE image
# prepared by PREP) must fail with a message matching KEYWORD (grep -Ei)
# and leave the image as it was
refused() {
	local name=$1 size=$2 prep=$3 keyword=$4 dir
	shift 4
	test_selected "$name" || { test_skip "$name" "not selected by --run"; return; }
	dir=refused-$(printf '%s' "$name" | tr -c 'A-Za-z0-9' '_')
	mkdir -p "$dir"
	prep_devices "$dir" "$size" "$prep" || { test_expect_success "$name" 'echo "cannot prepare the image"; false'; return; }
	expand "$@"
	R_DIR=$dir R_KEYWORD=$keyword R_ARGS=("${EXPANDED[@]}")
	test_expect_success "$name" '
		img=$(cat "$R_DIR/files") &&
		before=$(sha256sum < "$img") &&
		test_must_fail "${FORMAT_CMD[@]}" "${R_ARGS[@]}" > out 2>&1 < /dev/null &&
		cat out &&
		{ grep -Eiq "$R_KEYWORD" out || { echo "no message matching /$R_KEYWORD/"; false; }; } &&
		{ test "$(sha256sum < "$img")" = "$before" || { echo "the image changed"; false; }; }
	'
}

refused 'refused: an existing bcachefs without --force' 512M over-bcachefs \
	'bcachefs|force|contains' DEV0
if test_have_prereq EXT4; then
	refused 'refused: an existing ext4 without --force' 512M over-ext4 \
		'ext4|force|contains' DEV0
else
	test_skip 'refused: an existing ext4 without --force' "needs mkfs.ext4"
fi
refused 'refused: bucket smaller than a btree node' 512M - 'bucket|btree' \
	--bucket=64k --btree_node_size=128k DEV0
refused 'refused: block larger than a bucket' 512M - 'block' \
	--block_size=8k --bucket=4k DEV0
# (the reference's format takes it, then never ends)
[ -n "${BCH_FORMAT_CMD:-}" ] ||
	refused 'refused: btree nodes of one block' 512M - 'btree node size.*twice the block size' \
		--block_size=4k --btree_node_size=4k DEV0
refused 'refused: device too small' 200k - 'small|space' DEV0
refused 'refused: no room for the superblocks' 1M - 'small|space|superblock' DEV0

# ------------------------------------------------------------------------
# The kernel's results, row by row.

if [ -n "${vm_pid:-}" ]; then
	wait "$vm_pid"
	say "# kernel VM done at $((SECONDS - t_start))s"
	if reason=$(kb_unavailable); then
		test_set_prereq NO_VM
		say "# the kernel VM is unavailable: $reason"
	fi
fi
for name in "${ROWS[@]}"; do
	ROW=$name
	[[ ${ROW_FLAGS[$name]} == skip:* ]] && continue
	formatted "$name" || continue
	if ! test_have_prereq KERNEL; then
		test_skip "$name: kernel: *" "BCH_NO_KERNEL=1"
	elif test_have_prereq NO_VM; then
		test_skip "$name: kernel: *" "the kernel VM is unavailable: $reason"
	else
		test_expect_success "$name: kernel: mount, copy the tree, unmount, fsck mount, read back" '
			kb_check_run "$ROW"
		'
		test_expect_success "$name: kernel: dmesg has no errors" '
			kb_check_dmesg "$ROW"
		'
	fi
done

test_done
