#!/bin/bash
# build.sh [-f] [-k] [NAME...]: build the image corpus for the differential
# tests into ${BCH_CORPUS:-tests/out/corpus}.
#
#   -f      rebuild even when an image is up to date
#   -k      no kernel images (skip the VM boot)
#   NAME    build only these images (default: all)
#
# Every image is one shell function below: image_NAME runs on the host with
# the reference tools, kernel_NAME prepares devices on the host and hands a
# fragment of guest script to the Linux 6.12 VM; all kernel images share one
# VM boot. An image is rebuilt only when it is missing or its recipe changed:
# NAME/recipe holds a hash of the function's body (plus mktree.sh when the
# recipe uses a source tree, plus $CORPUS_EPOCH, to bump when a shared helper
# changes). Each new image is checked with the reference's `fsck -n`; an
# unclean verdict is reported, not fatal.
#
# Output: $BCH_CORPUS/manifest, one line per image, "NAME DEVICE..." with
# device paths relative to $BCH_CORPUS; images that cannot be built here
# (no loop devices, VM failure) appear as "#skip NAME reason".
set -u -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
BCH_ROOT=${BCH_ROOT:-$(cd "$here/../.." && pwd)}
CORPUS=${BCH_CORPUS:-$BCH_ROOT/tests/out/corpus}
REF=${BCH_REF:-$BCH_ROOT/tests/oracle/ref-bcachefs}
KERNEL_VM=$BCH_ROOT/tests/oracle/kernel-vm
MKTREE=$here/mktree.sh
CORPUS_EPOCH=1
JOBS=${BCH_CORPUS_JOBS:-2}

force=
no_kernel=
while getopts fkh opt; do
	case $opt in
	f) force=1 ;;
	k) no_kernel=1 ;;
	*) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
only=" $* "

# since START (a `date +%s.%N`), in seconds with one decimal
seconds_since() {
	awk -v t0="$1" -v t1="$(date +%s.%N)" 'BEGIN { printf "%.1f", t1 - t0 }'
}
t_start=$(date +%s.%N)
elapsed() {
	printf '%6ss' "$(seconds_since "$t_start")"
}
progress() {
	printf '[%s] %s\n' "$(elapsed)" "$*"
}
die() {
	echo "build.sh: $*" >&2
	exit 1
}

# ---------------------------------------------------------------------------
# Helpers for recipes. A recipe runs in its own staging directory.

# dev FILE SIZE: create a sparse device file; recipes list devices in order.
dev() {
	truncate -s "$2" "$1" && echo "$1" >> .devices && echo "$1 $2" >> .sizes
}

# fmt ARGS...: the reference's format, on the devices made by dev. It
# crashes now and then (glibc heap checks: "unaligned tcache chunk
# detected", "corrupted double-linked list", segfaults), sometimes after
# finishing, sometimes midway; so a failed run is retried on blank devices
# (same inodes: a loop device may point at one), and fsck -n judges the
# image afterwards.
fmt() {
	local try file size
	for try in 1 2 3 4 5; do
		echo "--- format $* (try $try)" >> format.log
		"$REF" format "$@" >> format.log 2>&1 && return 0
		while read -r file size; do
			truncate -s 0 "$file" && truncate -s "$size" "$file" || return 1
		done < .sizes
	done
	echo "format $* failed 5 times, see $(pwd)/format.log" >&2
	return 1
}

# tree PROFILE: the path of a source tree (built before the recipes run).
tree() {
	echo "$CORPUS/trees/$1"
}

# fmt_loop512 FILE ARGS...: format FILE through a loop device with 512-byte
# logical sectors (the reference formats block size 512 only on a device
# that has them). Exit 77 (skip, with the reason in ./skip) without loop
# devices.
fmt_loop512() {
	local file=$1 loop rc
	shift
	loop=$(losetup -b 512 -f --show "$file" 2>loop.err) || {
		echo "needs a loop device ($(head -n 1 loop.err))" > skip
		return 77
	}
	fmt "$@" "$loop"
	rc=$?
	losetup -d "$loop"
	return $rc
}

# guest: read a fragment of busybox sh for the VM from stdin. Inside it
# $D0, $D1... are the image's devices (/dev/vdX), $OUT a host directory
# shared at /host/out/NAME and $HELPER the guest helper (see below).
guest() {
	cat > guest.sh
}

# ---------------------------------------------------------------------------
# The recipes. Sizes: sparse files, 256 MiB to 1 GiB.

image_default() {
	dev dev0.img 1G
	fmt dev0.img
}

image_bs512() {
	dev dev0.img 512M
	fmt_loop512 dev0.img --block_size=512 --source="$(tree small)"
}

image_bs4096() {
	dev dev0.img 512M
	fmt --block_size=4096 --source="$(tree small)" dev0.img
}

image_bucket128k() {
	dev dev0.img 512M
	fmt --bucket=128k --source="$(tree small)" dev0.img
}

image_bucket512k() {
	dev dev0.img 1G
	fmt --bucket=512k --source="$(tree small)" dev0.img
}

image_bucket2m() {
	dev dev0.img 1G
	fmt --bucket=2M --source="$(tree small)" dev0.img
}

image_btree128k() {
	dev dev0.img 512M
	fmt --btree_node_size=128k --source="$(tree small)" dev0.img
}

image_btree256k() {
	dev dev0.img 1G
	fmt --bucket=512k --btree_node_size=256k --source="$(tree small)" dev0.img
}

image_csum_none() {
	dev dev0.img 512M
	fmt --metadata_checksum=none --data_checksum=none --source="$(tree small)" dev0.img
}

image_csum_crc32c() {
	dev dev0.img 512M
	fmt --metadata_checksum=crc32c --data_checksum=crc32c --source="$(tree small)" dev0.img
}

image_csum_crc64() {
	dev dev0.img 512M
	fmt --metadata_checksum=crc64 --data_checksum=crc64 --source="$(tree small)" dev0.img
}

image_csum_xxhash() {
	dev dev0.img 512M
	fmt --metadata_checksum=xxhash --data_checksum=xxhash --source="$(tree small)" dev0.img
}

image_compress_lz4() {
	dev dev0.img 512M
	fmt --compression=lz4 --source="$(tree small)" dev0.img
}

image_compress_gzip() {
	dev dev0.img 512M
	fmt --compression=gzip --source="$(tree small)" dev0.img
}

image_compress_zstd() {
	dev dev0.img 512M
	fmt --compression=zstd --source="$(tree small)" dev0.img
}

image_compress_background() {
	dev dev0.img 512M
	fmt --background_compression=zstd --source="$(tree small)" dev0.img
}

image_strhash_crc32c() {
	dev dev0.img 512M
	fmt --str_hash=crc32c --source="$(tree small)" dev0.img
}

image_strhash_crc64() {
	dev dev0.img 512M
	fmt --str_hash=crc64 --source="$(tree small)" dev0.img
}

image_strhash_siphash() {
	dev dev0.img 512M
	fmt --str_hash=siphash --source="$(tree small)" dev0.img
}

image_labels() {
	dev dev0.img 512M
	fmt -L "corpus label" --uuid=0b5e55ed-c0de-4b1d-9a11-5ca1ab1e0001 \
		--label=ssd.fast --source="$(tree small)" dev0.img
}

image_multi2() {
	dev dev0.img 512M
	dev dev1.img 512M
	fmt --replicas=2 --source="$(tree small)" dev0.img dev1.img
}

image_multi3() {
	dev dev0.img 384M
	dev dev1.img 512M
	dev dev2.img 512M
	fmt --replicas=2 --foreground_target=ssd --background_target=hdd \
		--promote_target=ssd --metadata_target=ssd \
		--label=ssd --discard dev0.img --label=hdd.a --durability=2 dev1.img \
		--label=hdd.b dev2.img \
		--source="$(tree small)"
}

image_encrypted() {
	dev dev0.img 512M
	fmt --encrypted --no_passphrase --source="$(tree small)" dev0.img
}

image_nocow() {
	dev dev0.img 512M
	fmt --nocow --source="$(tree small)" dev0.img
}

image_quota() {
	dev dev0.img 512M
	fmt --usrquota --grpquota --prjquota --source="$(tree small)" dev0.img
}

# wipe_freed DEV: punch out the buckets the alloc btree calls free or
# need_discard: what the format's own node rewrites left there (old copies
# of nodes, whose number and places vary from build to build) would be
# found by a scan for btree nodes; wiped, a scan finds the live nodes only
wipe_freed() {
	local kib
	kib=$("$REF" show-super "$1" | sed -n 's/^ *Bucket size: *\([0-9]*\) KiB$/\1/p')
	[ -n "$kib" ] || return 1
	"$REF" list -b alloc "$1" |
		awk '/^u64s/ { split($5, p, ":") } / data_type (free|need_discard)$/ { print p[2] }' |
		while read -r b; do
			fallocate -p -o $((b * kib * 1024)) -l $((kib * 1024)) "$1" || exit 1
		done
}

image_full() {
	dev dev0.img 1G
	fmt --source="$(tree full)" dev0.img &&
		wipe_freed dev0.img
}

image_full_zstd_xxhash() {
	dev dev0.img 1G
	fmt --compression=zstd --data_checksum=xxhash --str_hash=crc64 \
		--source="$(tree full)" dev0.img
}

# Written by Linux 6.12 and unmounted cleanly, after creating, deleting and
# renaming: inline_data extents, 255-byte names, holes, reservations,
# reflinks, kernel-made xattrs and quotas.
kernel_clean() {
	dev dev0.img 512M
	fmt --usrquota --grpquota dev0.img
	guest <<-'EOF'
	mount -t bcachefs "$D0" /mnt || exit 1
	cp -a /host/trees/tiny /mnt/tree
	mkdir /mnt/work /mnt/work/sub
	for i in 0 1 2 3 4 5 6 7 8 9; do
		echo "file $i" > /mnt/work/f$i
		head -c $((i * 700)) /host/trees/tiny/two-blocks > /mnt/work/g$i
	done
	chown 1000:100 /mnt/work/f1 /mnt/work/g9
	n255=$(printf 'k%.0s' $(seq 255))
	echo long > "/mnt/work/$n255"
	mkdir "/mnt/work/sub/$n255"
	mv /mnt/work/f2 /mnt/work/sub/moved-f2
	mv /mnt/work/f3 /mnt/work/f3-renamed
	mv /mnt/tree/d /mnt/work/sub/tree-d
	rm /mnt/work/f4 /mnt/work/g5 /mnt/tree/one-kib
	ln /mnt/work/f6 /mnt/work/sub/f6-link
	ln -s ../f7 /mnt/work/sub/f7-symlink
	mkfifo /mnt/work/fifo
	dd if=/dev/urandom of=/mnt/work/big bs=64k count=40 2>/dev/null
	dd if=/dev/zero of=/mnt/work/big bs=4k seek=100 count=3 conv=notrunc 2>/dev/null
	truncate -s 1000000 /mnt/work/big
	if [ -x "$HELPER" ]; then
		$HELPER setxattr /mnt/work/f0 user.kernel "set by the kernel" &&
		$HELPER setxattr /mnt/work user.dir-attr "on a directory" &&
		$HELPER falloc /mnt/work/reserved 0 1048576 &&
		$HELPER punch /mnt/work/big 65536 131072 &&
		$HELPER clone /mnt/work/big /mnt/work/big-reflink &&
		$HELPER clone /mnt/work/g9 /mnt/work/g9-reflink &&
		$HELPER setquota "$D0" user 1000 1000 2000 100 200 &&
		$HELPER setquota "$D0" group 100 5000 6000 0 0 || exit 1
	fi
	rm -r /mnt/work/sub/tree-d/small1*
	umount /mnt || exit 1
	EOF
}

# Subvolumes and snapshots made by the kernel, one snapshot deleted again.
kernel_snapshots() {
	dev dev0.img 512M
	fmt dev0.img
	guest <<-'EOF'
	[ -x "$HELPER" ] || { echo "no guest helper"; exit 1; }
	mount -t bcachefs "$D0" /mnt || exit 1
	$HELPER subvol /mnt/vol || exit 1
	cp -a /host/trees/tiny/d /mnt/vol/d
	echo before > /mnt/vol/changed
	$HELPER snapshot /mnt/vol /mnt/snap1 || exit 1
	echo after > /mnt/vol/changed
	rm /mnt/vol/d/small0*
	echo "only in snap1" > /mnt/snap1/new
	$HELPER snapshot-ro /mnt/vol /mnt/snap2-ro || exit 1
	$HELPER snapshot /mnt/snap1 /mnt/snap1-child || exit 1
	$HELPER subvol /mnt/vol/nested || exit 1
	echo nested > /mnt/vol/nested/file
	$HELPER snapshot /mnt/vol /mnt/doomed || exit 1
	$HELPER subvol-destroy /mnt/doomed || exit 1
	# The kernel deletes a destroyed snapshot in background work; an
	# unmount that starts before that work has finished leaves it half
	# done (the snapshot node flagged deleted, its keys still there).
	# Wait until the kernel's own view of the btrees (debugfs) shows six
	# subvolumes, no snapshot flagged deleted and no interior node with a
	# single child, so the image is the same on every run.
	mount -t debugfs none /sys/kernel/debug 2>/dev/null
	bt=$(echo /sys/kernel/debug/bcachefs/*/btrees)
	n=0
	until [ "$(grep -c 'type subvolume ' "$bt/subvolumes/keys")" = 6 ] &&
		! grep -q 'deleted 1' "$bt/snapshots/keys" &&
		! grep -q 'is_subvol 0 .* children *[1-9][0-9]* *0 ' "$bt/snapshots/keys"; do
		n=$((n + 1))
		[ $n -lt 120 ] || { echo "snapshot deletion did not finish"; cat "$bt/snapshots/keys"; exit 1; }
		sleep 1
	done
	umount /mnt || exit 1
	EOF
}

# Two devices, replicas=2, data written by the kernel.
kernel_multi() {
	dev dev0.img 384M
	dev dev1.img 384M
	fmt --replicas=2 dev0.img dev1.img
	guest <<-'EOF'
	mount -t bcachefs "$D0:$D1" /mnt || exit 1
	cp -a /host/trees/tiny /mnt/tree
	dd if=/dev/urandom of=/mnt/random bs=64k count=20 2>/dev/null
	rm /mnt/tree/d/small2*
	umount /mnt || exit 1
	EOF
}

# Left unclean: written, synced, never unmounted, so opening it replays
# journal entries. (Fragments of images named *unclean* run last.)
kernel_unclean() {
	dev dev0.img 512M
	fmt dev0.img
	guest <<-'EOF'
	mount -t bcachefs "$D0" /mnt || exit 1
	cp -a /host/trees/tiny /mnt/tree
	n255=$(printf 'u%.0s' $(seq 255))
	echo "written before the crash" > "/mnt/$n255"
	mkdir /mnt/dir
	for i in 1 2 3 4 5; do echo "entry $i" > /mnt/dir/e$i; done
	mv /mnt/dir/e1 /mnt/dir/e1-renamed
	rm /mnt/dir/e2 /mnt/tree/d/small00
	dd if=/dev/urandom of=/mnt/data bs=4k count=50 2>/dev/null
	sync
	EOF
}

# The guest helper (guest-helper.c) does what busybox cannot: bcachefs
# subvolume ioctls, FICLONE (reflink), setxattr, fallocate, quota limits.
guest_helper_source() {
	cat "$here/guest-helper.c"
}

# ---------------------------------------------------------------------------
# Machinery.

recipe_hash() {
	{
		echo "epoch $CORPUS_EPOCH"
		declare -f "$1"
		# kernel recipes copy the tiny tree in the guest
		case $1 in kernel_*) sha256sum < "$MKTREE"; guest_helper_source ;; esac
		if declare -f "$1" | grep -q 'tree [a-z]'; then
			sha256sum < "$MKTREE"
		fi
	} | sha256sum | cut -c1-16
}

up_to_date() {
	local name=$1 d="$CORPUS/$1"
	[ -z "$force" ] && [ -f "$d/recipe" ] && [ -f "$d/devices" ] &&
		[ "$(cat "$d/recipe")" = "$(recipe_hash "$2")" ] || return 1
	local f
	for f in $(cat "$d/devices"); do
		[ -f "$d/$f" ] || return 1
	done
}

wanted() {
	[ "$only" = "  " ] || [[ $only == *" $1 "* ]]
}

# Trees needed by the selected recipes, built once, regenerated when
# mktree.sh changes.
build_trees() {
	local profile stamp want
	want=$(for fn in "$@"; do declare -f "$fn"; done | grep -o 'tree [a-z]*' | awk '{print $2}' | sort -u)
	case " $* " in *" kernel_"*) want="$want tiny" ;; esac
	mkdir -p "$CORPUS/trees"
	stamp=$(sha256sum < "$MKTREE" | cut -c1-16)
	for profile in $want; do
		if [ -d "$CORPUS/trees/$profile" ] &&
			[ "$(cat "$CORPUS/trees/$profile.stamp" 2>/dev/null)" = "$stamp" ]; then
			continue
		fi
		progress "making source tree '$profile'"
		rm -rf "$CORPUS/trees/$profile" "$CORPUS/trees/$profile.stamp"
		"$MKTREE" "$CORPUS/trees/$profile" "$profile" || die "mktree.sh $profile failed"
		echo "$stamp" > "$CORPUS/trees/$profile.stamp"
	done
}

# fsck_image NAME: run the reference's fsck -n and record the verdict.
# Clean means status 0 and nothing but progress lines in its output.
fsck_image() {
	local d="$CORPUS/$1" devs rc try
	devs=$(sed "s|^|$d/|" "$d/devices" | tr '\n' ' ')
	# the reference crashes now and then (see fmt): retry when it did
	for try in 1 2 3; do
		# shellcheck disable=SC2086
		"$REF" fsck -n $devs > "$d/fsck.log" 2>&1
		rc=$?
		[ $rc -lt 128 ] && break
	done
	if [ $rc -ne 0 ] && ! grep -q '^shutdown complete' "$d/fsck.log"; then
		echo "NOT CLEAN (fsck exit $rc)" > "$d/fsck.verdict"
	elif grep -v -E -e '^(Running userspace offline fsck|going read-write|recovering from (clean|unclean) shutdown.*|journal read done, replaying entries [0-9]+-[0-9]+|dropped unflushed entries [0-9]+-[0-9]+|starting version .*|shutdown complete, journal seq [0-9]+|[a-z_0-9]+\.\.\. done|modprobe: FATAL: Module bcachefs not found.*|insufficient writeable journal devices.*|rw journal devs:.*)$' \
		"$d/fsck.log" | grep -q .; then
		echo "NOT CLEAN (see $d/fsck.log)" > "$d/fsck.verdict"
	else
		echo "clean" > "$d/fsck.verdict"
	fi
	# an unclean verdict shows its reasons here, so that a CI log has them
	case $(cat "$d/fsck.verdict") in
	NOT*)
		echo "$1: the reference's fsck -n said (first 40 lines):"
		head -n 40 "$d/fsck.log" | sed 's/^/    /'
		;;
	esac
}

# install_image NAME STAGE HASH: move a finished image into place.
install_image() {
	local d="$CORPUS/$1"
	rm -rf "$d"
	mv "$2" "$d"
	mv "$d/.devices" "$d/devices"
	rm -f "$d/.sizes"
	echo "$3" > "$d/recipe"
	fsck_image "$1"
}

build_host_image() {
	local name=$1 fn=$2 stage="$CORPUS/$1.tmp" t0 rc hash
	hash=$(recipe_hash "$fn")
	rm -rf "$stage"
	mkdir -p "$stage"
	t0=$(date +%s.%N)
	(cd "$stage" && set -e && "$fn") > "$stage/build.log" 2>&1
	rc=$?
	local took
	took=$(seconds_since "$t0")
	if [ $rc -eq 77 ]; then
		rm -rf "${CORPUS:?}/$name"
		mkdir -p "$CORPUS/$name"
		cat "$stage/skip" > "$CORPUS/$name/skip"
		rm -rf "$stage"
		progress "$name: $(cat "$CORPUS/$name/skip")"
		return 0
	elif [ $rc -ne 0 ]; then
		progress "$name: FAILED (status $rc), log:"
		sed 's/^/    /' "$stage/build.log"
		return 1
	fi
	install_image "$name" "$stage" "$hash"
	echo "$took" > "$CORPUS/$name/build.time"
	progress "$name: built in ${took}s, fsck -n: $(cat "$CORPUS/$name/fsck.verdict")"
}

# All kernel images in one VM boot: prepare each on the host, concatenate
# the fragments (images named *unclean* last), attach every device.
build_kernel_images() {
	local share="$CORPUS/vm.tmp" script fn name i=0 disks=() letters=abcdefghijklmnop
	local t0 rc names=()
	rm -rf "$share"
	mkdir -p "$share/trees" "$share/out"
	cp -a "$CORPUS/trees/tiny" "$share/trees/tiny"
	script="$share/guest.sh"
	echo 'HELPER=/host/helper' > "$script"
	if command -v gcc >/dev/null &&
		guest_helper_source | gcc -static -O2 -Wall -o "$share/helper" -x c - 2> "$share/helper.log"; then
		:
	else
		progress "kernel images: cannot build the static guest helper (gcc -static); snapshots/reflinks skipped"
		cat "$share/helper.log" 2>/dev/null
	fi
	for fn in $(printf '%s\n' "$@" | grep -v unclean) $(printf '%s\n' "$@" | grep unclean); do
		name=${fn#kernel_}
		name=kernel-${name//_/-}
		local stage="$CORPUS/$name.tmp"
		rm -rf "$stage"
		mkdir -p "$stage" "$share/out/$name"
		if ! (cd "$stage" && set -e && "$fn") > "$stage/build.log" 2>&1; then
			progress "$name: host preparation FAILED:"
			sed 's/^/    /' "$stage/build.log"
			continue
		fi
		names+=("$name")
		{
			echo "echo '--- $name'"
			echo "OUT=/host/out/$name"
			local n=0 f
			for f in $(cat "$stage/.devices"); do
				echo "D$n=/dev/vd${letters:$i:1}"
				disks+=(-d "$stage/$f")
				i=$((i + 1))
				n=$((n + 1))
			done
			echo "("
			cat "$stage/guest.sh"
			echo ") > \$OUT/log 2>&1"
			echo "echo \$? > \$OUT/status"
		} >> "$script"
	done
	[ ${#names[@]} -gt 0 ] || return 1
	echo 'dmesg > /host/out/dmesg' >> "$script"
	# an unclean image's filesystem is still mounted here: stop without
	# unmounting anything
	progress "kernel images: booting Linux 6.12 for ${names[*]}"
	t0=$(date +%s.%N)
	"$KERNEL_VM" -t 600 -s "$share" "${disks[@]}" "$script" > "$share/vm.log" 2>&1
	rc=$?
	local took
	took=$(seconds_since "$t0")
	progress "kernel images: VM finished in ${took}s (status $rc)"
	local failed=0
	for name in "${names[@]}"; do
		local stage="$CORPUS/$name.tmp" status
		status=$(cat "$share/out/$name/status" 2>/dev/null)
		cp "$share/out/$name/log" "$stage/guest.log" 2>/dev/null
		cp "$share/out/dmesg" "$stage/dmesg" 2>/dev/null
		if [ "$status" != 0 ]; then
			progress "$name: guest script FAILED (status ${status:-none}); guest log:"
			sed 's/^/    /' "$stage/guest.log" "$share/vm.log" 2>/dev/null | tail -n 40
			rm -rf "${CORPUS:?}/$name"
			mkdir -p "$CORPUS/$name"
			echo "the kernel VM step failed (status ${status:-none})" > "$CORPUS/$name/skip"
			failed=1
			continue
		fi
		install_image "$name" "$stage" "$(recipe_hash "kernel_${name#kernel-}")"
		echo "$took" > "$CORPUS/$name/build.time"
		progress "$name: built (shared VM boot), fsck -n: $(cat "$CORPUS/$name/fsck.verdict")"
	done
	[ $failed -eq 0 ] && rm -rf "$share"
	return $failed
}

write_manifest() {
	local fn name d
	{
		echo "# corpus manifest: NAME DEVICE... (paths relative to this directory)"
		echo "# written by tests/corpus/build.sh; '#skip NAME reason' = not built here"
		for fn in "$@"; do
			name=$(name_of "$fn")
			d="$CORPUS/$name"
			if [ -f "$d/skip" ]; then
				echo "#skip $name $(cat "$d/skip")"
			elif [ -f "$d/devices" ]; then
				echo "$name $(sed "s|^|$name/|" "$d/devices" | tr '\n' ' ' | sed 's/ $//')"
			else
				echo "#skip $name not built (build.sh -k, or its build failed)"
			fi
		done
	} > "$CORPUS/manifest.tmp"
	mv "$CORPUS/manifest.tmp" "$CORPUS/manifest"
}

name_of() {
	case $1 in
	image_*) local n=${1#image_}; echo "${n//_/-}" ;;
	kernel_*) local n=${1#kernel_}; echo "kernel-${n//_/-}" ;;
	esac
}

summary() {
	local fn name d
	echo
	printf '%-22s %-8s %-9s %s\n' IMAGE DEVICES "BUILD(s)" "FSCK -n"
	for fn in "$@"; do
		name=$(name_of "$fn")
		d="$CORPUS/$name"
		if [ -f "$d/skip" ]; then
			printf '%-22s %s\n' "$name" "$(cat "$d/skip")"
		elif [ -f "$d/devices" ]; then
			printf '%-22s %-8s %-9s %s\n' "$name" "$(wc -l < "$d/devices")" \
				"$(cat "$d/build.time" 2>/dev/null)" "$(cat "$d/fsck.verdict" 2>/dev/null)"
		elif [ -n "$no_kernel" ] && [[ $fn == kernel_* ]]; then
			printf '%-22s %s\n' "$name" "not built (-k)"
		else
			printf '%-22s %s\n' "$name" "MISSING (build failed)"
		fi
	done
}

main() {
	local fn name all=() host=() kern=() failed=0
	command -v python3 > /dev/null || {
		# mktree.sh is python3; install it like the oracle scripts do
		. "$BCH_ROOT/tests/oracle/apt.sh" && oracle_host_install python3-minimal
	} || die "needs python3"
	mkdir -p "$CORPUS"
	exec 8>"$CORPUS/.lock"
	flock 8 || die "cannot lock $CORPUS"

	for fn in $(declare -F | awk '{print $3}' | grep -E '^(image|kernel)_'); do
		wanted "$(name_of "$fn")" || continue
		all+=("$fn")
		if up_to_date "$(name_of "$fn")" "$fn"; then
			# a verdict from a crashed fsck says nothing: ask again
			if grep -q 'fsck exit 1[2-9][0-9]' "$CORPUS/$(name_of "$fn")/fsck.verdict" 2>/dev/null; then
				fsck_image "$(name_of "$fn")"
			fi
			continue
		fi
		case $fn in
		image_*) host+=("$fn") ;;
		kernel_*) [ -n "$no_kernel" ] || kern+=("$fn") ;;
		esac
	done
	[ ${#all[@]} -gt 0 ] || die "no image matches:$only"
	progress "corpus in $CORPUS: ${#all[@]} images, $((${#host[@]} + ${#kern[@]})) to build"
	build_trees "${host[@]}" "${kern[@]}"
	"$REF" version > /dev/null 2>&1 || die "the reference tools do not run ($REF)"

	# the VM is one slow single-threaded job: start it first, in parallel
	local vm_pid=
	if [ ${#kern[@]} -gt 0 ]; then
		build_kernel_images "${kern[@]}" &
		vm_pid=$!
	fi
	local slots=$JOBS pids=() done_pid p rest
	[ -z "$vm_pid" ] || slots=$((JOBS > 1 ? JOBS - 1 : 1))
	for fn in "${host[@]}" ""; do
		# wait for a free slot (and, after the last recipe, for all of them)
		while [ ${#pids[@]} -gt 0 ] && { [ -z "$fn" ] || [ ${#pids[@]} -ge $slots ]; }; do
			wait -n -p done_pid "${pids[@]}" || failed=1
			rest=()
			for p in "${pids[@]}"; do
				[ "$p" = "$done_pid" ] || rest+=("$p")
			done
			pids=("${rest[@]}")
		done
		[ -n "$fn" ] || break
		build_host_image "$(name_of "$fn")" "$fn" &
		pids+=($!)
	done
	if [ -n "$vm_pid" ]; then
		wait "$vm_pid" || failed=1
	fi

	# the manifest lists every image built so far, not just this selection
	# shellcheck disable=SC2046
	write_manifest $(declare -F | awk '{print $3}' | grep -E '^(image|kernel)_')
	summary "${all[@]}"
	progress "corpus done$([ $failed -eq 0 ] || echo ', WITH FAILURES')"
	return $failed
}

main
