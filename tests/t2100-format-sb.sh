#!/bin/bash
test_description='format --no_initialize: superblocks and layout against the reference

For each case the reference and ours format their own image files (or loop
devices) with the same options and `-U` uuid, then:
  - both format runs succeed, and print the same superblock summary;
  - the reference'"'"'s show-super -f all -l prints the same for both images
    (so it also accepts ours without an error), and ours prints for our
    image what the reference prints for its own;
  - the images are equal byte for byte outside the fields listed below.
Cases the reference refuses must be refused by ours too, with nothing
written.

Normalized in show-super and format output (and masked in the byte
comparison), because they are random or the time of the run:
  Internal UUID      sb.uuid, random at every format (bytes 40-55)
  member UUID        each member'"'"'s uuid ("  UUID:" lines; bytes 0-15 of
                     each members_v2 and members_v1 entry), random
  Created            sb.time_base_lo, the clock at format (bytes 128-135)
  Device <uuid> (N)  a target naming a device prints its member uuid
Masked in the reference'"'"'s image only: the bytes after each superblock copy
up to the next 4 KiB. The reference writes every copy rounded up to 4 KiB
from an allocation it never cleared, so they hold whatever its heap held;
ours are zero (checked).
'
. "$(dirname "$0")/lib/test-lib.sh"
. "$BCH_ROOT/tests/lib/oracle.sh"

have_ours || skip_all "no bcachefs to test at $BCH_OURS (set BCH_OURS)"
"$BCH_REF" version > /dev/null 2>&1 || skip_all "the reference tools do not run here"

UUID=0f5c3e8a-2b1d-4c7e-9a6f-3d2e1b0c9a87

if [ "$(id -u)" = 0 ] && command -v losetup > /dev/null &&
   img=$(mktemp "$TEST_TRASH/loopcheck.XXXXXX") && truncate -s 16M "$img" &&
   dev=$(losetup -f --show -b 512 "$img" 2> /dev/null); then
	losetup -d "$dev"
	test_set_prereq LOOP
fi
rm -f "$TEST_TRASH"/loopcheck.*

LOOPS=()
detach_loops() {
	local d
	for d in "${LOOPS[@]}"; do losetup -d "$d" 2> /dev/null; done
}
trap detach_loops EXIT

norm_sb() {
	sed -E -e 's/^(Internal UUID:[[:space:]]+).*/\1<random>/' \
		-e 's/^(  UUID:[[:space:]]+).*/\1<random>/' \
		-e 's/^(Created:[[:space:]]+).*/\1<format time>/' \
		-e 's/Device [0-9a-f-]{36} \(/Device <member uuid> (/g'
}

# image_cmp REF OURS: equal bytes outside the masked fields (see above)
image_cmp() {
	python3 - "$1" "$2" <<'EOF'
import os, struct, sys

def data(path):
    """Nonzero 4 KiB blocks of the file, by offset (holes read as zero)."""
    blocks = {}
    with open(path, 'rb') as f:
        fd, end, pos = f.fileno(), os.fstat(f.fileno()).st_size, 0
        while pos < end:
            try:
                start = os.lseek(fd, pos, os.SEEK_DATA)
            except OSError:
                break
            stop = os.lseek(fd, start, os.SEEK_HOLE)
            start -= start % 4096
            f.seek(start)
            for off in range(start, stop, 4096):
                b = bytearray(f.read(4096).ljust(4096, b'\0'))
                if any(b):
                    blocks[off] = b
            pos = stop
    return blocks

def zero(blocks, off, length):
    while length > 0:
        base = off - off % 4096
        n = min(length, base + 4096 - off)
        if base in blocks:
            blocks[base][off - base:off - base + n] = bytes(n)
        off += n
        length -= n

def read(blocks, off, length):
    out = bytearray()
    while len(out) < length:
        base = (off + len(out)) - (off + len(out)) % 4096
        b = blocks.get(base, bytes(4096))
        s = off + len(out) - base
        out += b[s:s + length - len(out)]
    return bytes(out)

def mask(blocks, pad_too):
    layout = read(blocks, 7 * 512, 512)
    nr = layout[18]
    for i in range(nr):
        sb = struct.unpack_from('<Q', layout, 24 + 8 * i)[0] * 512
        u64s = struct.unpack_from('<I', read(blocks, sb + 124, 4))[0]
        size = 752 + 8 * u64s
        zero(blocks, sb + 40, 16)
        zero(blocks, sb + 128, 8)
        f = sb + 752
        while f < sb + size:
            fu64s, ftype = struct.unpack('<II', read(blocks, f, 8))
            if fu64s == 0:
                break
            if ftype == 11:     # members_v2
                mb = struct.unpack('<H', read(blocks, f + 8, 2))[0]
                for m in range(f + 16, f + 8 * fu64s - mb + 1, mb):
                    zero(blocks, m, 16)
            elif ftype == 1:    # members_v1
                for m in range(f + 8, f + 8 * fu64s - 56 + 1, 56):
                    zero(blocks, m, 16)
            f += 8 * fu64s
        if pad_too:
            end = sb + size
            zero(blocks, end, -end % 4096)

ref, ours = data(sys.argv[1]), data(sys.argv[2])
mask(ref, True)
mask(ours, False)
bad = [o for o in sorted(set(ref) | set(ours))
       if ref.get(o, bytes(4096)) != ours.get(o, bytes(4096))]
for o in bad[:5]:
    r, u = ref.get(o, bytes(4096)), ours.get(o, bytes(4096))
    first = next(i for i in range(4096) if r[i] != u[i])
    print(f'differ at byte {o + first}: reference {r[first:first+16].hex()} ours {u[first:first+16].hex()}')
sys.exit(1 if bad else 0)
EOF
}

# all_zero FILE...: nothing was written
all_zero() {
	local f
	for f in "$@"; do
		cmp -s -n "$(stat -c %s "$f")" "$f" /dev/zero || { echo "$f was written to"; return 1; }
	done
}

# setup DIR SIZES [loop]: image files DIR/{ref,ours}{0,1,...}.img; with
# "loop", 512-byte-sector loop devices over them. Sets REF_DEVS, OUR_DEVS.
setup() {
	local dir=$1 sizes=$2 loop=${3:-} i=0 s side img dev
	mkdir -p "$dir"
	REF_DEVS=()
	OUR_DEVS=()
	for s in $sizes; do
		for side in ref ours; do
			img=$dir/$side$i.img
			rm -f "$img"
			truncate -s "$s" "$img"
			if [ -n "$loop" ]; then
				dev=$(losetup -f --show -b 512 "$img") || return 1
				LOOPS+=("$dev")
				img=$dev
			fi
			if [ $side = ref ]; then REF_DEVS+=("$img"); else OUR_DEVS+=("$img"); fi
		done
		i=$((i + 1))
	done
}

# expand ARRAY ARGS...: DEV0, DEV1... replaced by the devices in ARRAY
expand() {
	local -n devs_=$1
	local a i
	shift
	EXPANDED=()
	for a in "$@"; do
		for i in "${!devs_[@]}"; do a=${a//DEV$i/${devs_[$i]}}; done
		EXPANDED+=("$a")
	done
}

# the reference sometimes aborts at exit after finishing: judge by signal
ref_succeeded() {
	local rc
	rc=$(cat "$1/ref.rc")
	[ "$rc" -eq 0 ] || [ "$rc" -ge 128 ]
}

# check DIR: the comparisons for a case formatted by both
check() {
	local dir=$1 i
	ref_filter < "$dir/ref.out" | norm_sb > "$dir/ref.norm" &&
	norm_sb < "$dir/ours.out" > "$dir/ours.norm" &&
	test_cmp "$dir/ref.norm" "$dir/ours.norm" || return 1
	for i in "${!REF_DEVS[@]}"; do
		ref show-super -f all -l "${REF_DEVS[$i]}" 2>&1 | ref_filter | norm_sb > "$dir/ref$i.ss"
		ref show-super -f all -l "${OUR_DEVS[$i]}" 2>&1 | ref_filter | norm_sb > "$dir/ours$i.ss"
		ours show-super -f all -l "${OUR_DEVS[$i]}" 2>&1 | norm_sb > "$dir/ours$i.ss-ours"
		grep -q "^Device:" "$dir/ours$i.ss" || { cat "$dir/ours$i.ss"; return 1; }
		test "$(stat -L -c %s "${REF_DEVS[$i]}")" = "$(stat -L -c %s "${OUR_DEVS[$i]}")" ||
			{ ls -l "${REF_DEVS[$i]}" "${OUR_DEVS[$i]}"; return 1; }
		test_cmp "$dir/ref$i.ss" "$dir/ours$i.ss" &&
		test_cmp "$dir/ref$i.ss" "$dir/ours$i.ss-ours" &&
		image_cmp "${REF_DEVS[$i]}" "${OUR_DEVS[$i]}" || return 1
	done
}

case_dir() {
	printf '%s' "$1" | tr -c 'A-Za-z0-9' '_'
}

# format_case [PREREQ] NAME SIZES ARGS...: both format, then check
format_case() {
	local prereq= loop=
	case $1 in [A-Z]*) prereq=$1; shift ;; esac
	local name=$1 sizes=$2
	shift 2
	[ "$prereq" = LOOP ] && loop=loop
	if [ -n "$prereq" ] && ! test_have_prereq "$prereq"; then
		test_skip "$name" "missing $prereq"
		return
	fi
	test_selected "$name" || { test_skip "$name" "not selected by --run"; return; }
	CASE=$(case_dir "$name")
	setup "$CASE" "$sizes" $loop || { test_expect_success "$name" false; return; }
	expand REF_DEVS "$@"
	ref format --no_initialize -U "$UUID" "${EXPANDED[@]}" > "$CASE/ref.out" 2>&1
	echo $? > "$CASE/ref.rc"
	expand OUR_DEVS "$@"
	ours format --no_initialize -U "$UUID" "${EXPANDED[@]}" > "$CASE/ours.out" 2> "$CASE/ours.err"
	echo $? > "$CASE/ours.rc"
	test_expect_success "$name" '
		{ ref_succeeded "$CASE" || { cat "$CASE/ref.out"; false; }; } &&
		{ test "$(cat "$CASE/ours.rc")" = 0 || { cat "$CASE/ours.err"; false; }; } &&
		check "$CASE"
	'
}

# refused_case NAME SIZES ARGS...: the reference refuses; so do we, writing nothing
refused_case() {
	local name=$1 sizes=$2
	shift 2
	test_selected "$name" || { test_skip "$name" "not selected by --run"; return; }
	CASE=$(case_dir "$name")
	setup "$CASE" "$sizes"
	expand REF_DEVS "$@"
	ref format --no_initialize -U "$UUID" "${EXPANDED[@]}" > "$CASE/ref.out" 2>&1
	echo $? > "$CASE/ref.rc"
	expand OUR_DEVS "$@"
	OUR_ARGS=("${EXPANDED[@]}")
	test_expect_success "$name" '
		! ref_succeeded "$CASE" &&
		test_must_fail ours format --no_initialize -U "$UUID" "${OUR_ARGS[@]}" 2> err &&
		cat err && test -s err &&
		all_zero "${OUR_DEVS[@]}"
	'
}

format_case 'defaults, 1 GiB'		1G	DEV0
format_case 'smallest: 64 buckets'	8M	DEV0
format_case 'buckets halved: 5 MiB'	5M	DEV0
format_case '1 TiB: 512k buckets'	1T	DEV0
format_case 'bucket and btree node size'	1G	--bucket=256k --btree_node_size=64k DEV0
format_case 'btree node size raises bucket'	1G	--btree_node_size=512k DEV0
format_case 'checksums, compression, hash'	1G \
	--metadata_checksum=xxhash --data_checksum=none --compression=zstd:3 \
	--background_compression=lz4 --str_hash=crc64 DEV0
format_case 'flags on and off'	1G \
	--errors=ro --acl=0 --usrquota --grpquota --prjquota --nocow --wide_macs \
	--erasure_code --journal_transaction_names=0 --shard_inode_numbers=0 \
	--inodes_use_key_cache=0 DEV0
format_case 'reserves and extents'	1G \
	--gc_reserve_percent=10 --gc_reserve_bytes=1M --root_reserve_percent=5 \
	--allocator_stuck_timeout=60 --encoded_extent_max=128k DEV0
format_case 'label and 64k superblocks'	1G	-L 'my filesystem' --superblock_size=64k DEV0
format_case 'superblock_size not a power of two'	1G	--superblock_size=3k DEV0
format_case 'fs_size'	4G	--fs_size=3G DEV0
format_case 'fs_size grows an empty file'	0	--fs_size=1G DEV0
format_case 'two devices, replicas'	'1G 1G'	--replicas=2 DEV0 DEV1
format_case 'labels, targets, device options'	'1G 2G 512M' \
	--label=ssd.fast DEV0 --label=hdd.slow --durability=2 --discard DEV1 \
	--label=ssd.slow --bucket=64k --data_allowed=user DEV2 \
	--foreground_target=ssd --background_target=DEV1 --promote_target=ssd.fast
format_case 'replicas, fs_size, bucket, durability 0'	'1G 1G 1G' \
	--metadata_replicas=3 --data_replicas=2 --metadata_replicas_required=2 \
	--fs_size=700M DEV0 --bucket=512k DEV1 --durability=0 DEV2
format_case 'data_allowed split'	'1G 1G' \
	--data_allowed=journal,btree DEV0 --data_allowed=user DEV1 --metadata_target=DEV0
format_case 'older metadata version'	1G	--version=1034 DEV0
format_case 'device path as target'	1G	--metadata_target=DEV0 --label=a DEV0
format_case LOOP '512-byte sectors (loop device)'	256M	DEV0
format_case LOOP '512-byte sectors, two devices'	'256M 1G' \
	--label=fast DEV0 --label=slow DEV1 --foreground_target=fast

refused_case 'refused: block size below the file'"'"'s'	1G	--block_size=512 DEV0
refused_case 'refused: no room for superblocks'	2M	DEV0
refused_case 'refused: device too small'	200k	DEV0
refused_case 'refused: unknown target'	1G	--foreground_target=nope DEV0
refused_case 'refused: durability too high'	1G	--durability=5 DEV0
refused_case 'refused: device option without a device'	1G	DEV0 --label=x

test_expect_success 'an existing filesystem needs --force' '
	truncate -s 1G again.img &&
	ours format -q --no_initialize again.img &&
	test_must_fail ours format -q --no_initialize again.img 2> err &&
	grep "again.img contains a bcachefs filesystem" err &&
	ours format -q --no_initialize -f -U "$UUID" again.img &&
	ours show-super again.img | grep "External UUID:.*$UUID"
'

test_expect_success '--dry_run prints the superblock and writes nothing' '
	truncate -s 1G dry.img &&
	ours format --dry_run -U "$UUID" dry.img > out &&
	grep "External UUID:.*$UUID" out && all_zero dry.img
'

test_done
