# kernel-batch.sh: put many filesystems through Linux 6.12 in a VM boot or two.
# Sourced by tests/t*.sh after test-lib.sh and oracle.sh.
# shellcheck shell=bash
#
#	kb_init DIR            work in DIR (made; shared with the guest): writes
#	                       the source tree (tests/lib/tree-tar.py, about
#	                       $KB_TREE_FILES files, default 5000) and the
#	                       checksums read back
#	kb_init_steps DIR FILE work in DIR, the guest running the steps() of
#	                       FILE (busybox sh, `s NAME` before each step,
#	                       set -e; $devs the device list, $o the output
#	                       folder in the share) instead of the tree copy
#	kb_add NAME FILE...    one filesystem, its device image files in order
#	kb_run                 run them all (see below); blocks
#	kb_extract NAME FILE...  after kb_run with KB_KEEP_PACKS=1: the images of
#	                       NAME as the guest left them, copied to FILEs
#	kb_run_background LOG  kb_run in a new bash process, output to LOG;
#	                       its pid in KB_PID (see there why)
#	kb_check_run NAME      test body: the guest mounted NAME, copied the
#	                       tree in, unmounted, mounted it with
#	                       -o fsck,fix_errors=no, read back the checksums
#	                       and unmounted, every step successful
#	kb_check_dmesg NAME    test body: the kernel logged no error or
#	                       problem for NAME (KB_DMESG_BAD, KB_DMESG_OK)
#	kb_unavailable         prints why no filesystem could be tried (the VM
#	                       did not boot); false when the VM ran
#
# The VM has room for 30 virtio disks and the kernel-vm script attaches
# whole files, so kb_run copies the data extents of the images of a boot
# into one sparse "pack" file, each at its own 1 MiB-aligned offset; the guest
# reaches each image through a loop device at that offset (busybox losetup
# has no size limit, so a device looks larger than its image: bcachefs
# uses the size recorded in its superblock). The images given to kb_add
# are not changed. Each filesystem's log, failing step, dmesg and time are
# kept in DIR/out/NAME/. A kernel crash, hang or taint ends the boot: that
# filesystem is reported with the kernel's report and the ones after it run
# in a new boot (at most $KB_MAX_BOOTS boots of each VM, default 6).
#
# The guest is emulated (TCG, one CPU) and copying ~5000 files into a
# filesystem takes it about 10 seconds: that, not the boot (5 seconds), is
# what costs. So $BCH_FORMAT_VM_JOBS VMs (default: 2 with two or more
# cores, else 1) boot at once, each with its share of the filesystems.

KB_KERNEL_VM=${KB_KERNEL_VM:-$BCH_ROOT/tests/oracle/kernel-vm}
KB_MAX_BOOTS=${KB_MAX_BOOTS:-6}

# What fails kb_check_dmesg in a filesystem's kernel log (each line after
# its "[seconds]" stamp): any bcachefs line that is not a progress line of
# KB_DMESG_OK, and any report of a kernel problem (KB_DMESG_BAD). Other
# lines are the emulated machine's ("hrtimer: interrupt took N ns" when the
# host is busy) and do not count. A progress line "pass... done" may be
# cut in two by another message: "pass..." and later " done". Allowed
# besides progress lines:
#   bch2_do_discards_fast_work(): error erofs_trans_commit
#       a device with --discard: Linux 6.12's discard worker can still be
#       running when unmount makes the filesystem read-only; its commit then
#       fails with EROFS and is dropped (seen now and then with the
#       reference's images too; the buckets are discarded at the next mount)
KB_DMESG_OK='^bcachefs \([^)]+\): (starting version [0-9]+\.[0-9]+: .*|recovering from clean shutdown, journal seq [0-9]+|[a-z_0-9]+\.\.\.( done)?|going read-write|shutdown complete, journal seq [0-9]+)$
^bcachefs \([^)]+\): bch2_do_discards_fast_work\(\): error erofs_trans_commit$'
KB_DMESG_BAD='(^|[^A-Z])BUG|WARNING|Oops|general protection|Kernel panic|blocked for more than|UBSAN|KASAN|bcachefs'

kb_init() {
	KB_DIR=$1
	mkdir -p "$KB_DIR/out" &&
	: > "$KB_DIR/filesystems" &&
	python3 "$BCH_ROOT/tests/lib/tree-tar.py" "$KB_DIR/tree.tar" "$KB_DIR/manifest" \
		"${KB_TREE_FILES:-5000}" &&
	# read back a tenth of the files and every large one
	awk 'NR % 10 == 0 || /big-/' "$KB_DIR/manifest" > "$KB_DIR/sample.md5"
}

kb_init_steps() {
	KB_DIR=$1
	mkdir -p "$KB_DIR/out" &&
	: > "$KB_DIR/filesystems" &&
	cp "$2" "$KB_DIR/steps.sh"
}

kb_add() {
	local name=$1
	shift
	echo "$name $*" >> "$KB_DIR/filesystems"
	rm -rf "${KB_DIR:?}/out/$name"
	mkdir -p "$KB_DIR/out/$name"
}

# kb_pack PACK NAME...: copy the images of NAMEs into PACK; prints
# "NAME OFFSET..." per filesystem
kb_pack() {
	local pack=$1 name
	shift
	for name in "$@"; do
		awk -v n="$name" '$1 == n' "$KB_DIR/filesystems"
	done | python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
off = 0
for line in sys.stdin:
    name, *files = line.split()
    offs = []
    for img in files:
        src = os.open(img, os.O_RDONLY)
        end, pos = os.fstat(src).st_size, 0
        while pos < end:
            try:
                start = os.lseek(src, pos, os.SEEK_DATA)
            except OSError:
                break
            stop = os.lseek(src, start, os.SEEK_HOLE)
            while start < stop:
                n = min(stop - start, 1 << 20)
                os.pwrite(fd, os.pread(src, n, start), off + start)
                start += n
            pos = stop
        os.close(src)
        offs.append(off)
        off += (end + (1 << 20) - 1) & ~((1 << 20) - 1)
    print(name, *offs)
os.ftruncate(fd, off)
' "$pack"
}

# The guest side: busybox sh. One call of row per filesystem; every step
# is recorded in /host/out/NAME/step before it starts, so a crash names it.
# A filesystem that takes longer than $KB_ROW_TIMEOUT seconds (10 seconds
# once the kernel is tainted by an oops or a warning) is taken for hung: the
# blocked tasks go to its dmesg and the guest powers off. So does a guest
# whose kernel became tainted: the next filesystem gets a fresh kernel in a
# new boot.
KB_ROW_TIMEOUT=${KB_ROW_TIMEOUT:-240}

kb_guest_prologue() {
	echo "ROW_TIMEOUT=$KB_ROW_TIMEOUT"
	cat <<-'EOF'
	DISK=/dev/vda
	TAINT0=$(cat /proc/sys/kernel/tainted)
	if [ -f /host/tree.tar ]; then
		cp /host/tree.tar /tmp/tree.tar && cp /host/sample.md5 /tmp/sample.md5 || exit 1
	fi
	uptime_s() { cut -d' ' -f1 /proc/uptime; }
	stop_now() {
		echo o > /proc/sysrq-trigger
		sleep 60
	}
	steps() {
		set -e
		s() { echo "$1" > "$o/step"; echo "--- $1"; }
		s mount
		mount -t bcachefs "$devs" /mnt
		s copy
		tar -xf /tmp/tree.tar -C /mnt
		s unmount
		umount /mnt
		s fsck-mount
		mount -t bcachefs -o fsck,fix_errors=no "$devs" /mnt
		s read-back
		cd /mnt
		md5sum -c /tmp/sample.md5 > /tmp/md5.out 2>&1 || { grep -v ': OK$' /tmp/md5.out | head -n 20; false; }
		cd /
		s final-unmount
		umount /mnt
		s ok
	}
	[ -f /host/steps.sh ] && . /host/steps.sh
	row() {
		o=/host/out/$1
		shift
		t0=$(uptime_s)
		: > "$o/started"
		devs= loops=
		for off in "$@"; do
			l=$(losetup -f) && losetup -o "$off" "$l" "$DISK" || { echo losetup > "$o/result"; return; }
			loops="$loops $l"
			devs="$devs${devs:+:}$l"
		done
		dmesg -c > /dev/null
		(steps) > "$o/log" 2>&1 &
		pid=$!
		n=0 limit=$((ROW_TIMEOUT * 5))
		while kill -0 $pid 2> /dev/null; do
			n=$((n + 1))
			# an oops: give the steps 10 more seconds, no more
			if [ $limit -gt $((n + 50)) ] && [ "$(cat /proc/sys/kernel/tainted)" != "$TAINT0" ]; then
				limit=$((n + 50))
			fi
			if [ $n -gt $limit ]; then
				echo "stuck in step '$(cat "$o/step")' for $((n / 5))s (kernel tainted: $(cat /proc/sys/kernel/tainted))" > "$o/hung"
				echo w > /proc/sysrq-trigger
				dmesg > "$o/dmesg"
				echo "$t0 $(uptime_s)" > "$o/time"
				stop_now
			fi
			sleep 0.2
		done
		cp "$o/step" "$o/result"
		umount /mnt 2> /dev/null
		dmesg > "$o/dmesg"
		for l in $loops; do losetup -d "$l"; done
		echo "$t0 $(uptime_s)" > "$o/time"
		if [ "$(cat /proc/sys/kernel/tainted)" != "$TAINT0" ]; then
			echo "kernel tainted ($(cat /proc/sys/kernel/tainted)) with this filesystem" > "$o/tainted"
			stop_now
		fi
	}
	EOF
}

# kb_console_excerpt LOG: the first kernel report in a console log, or its end
kb_console_excerpt() {
	local first
	first=$(grep -n -m 1 -E 'BUG:|Oops|WARNING:|Kernel panic|INFO: task|general protection|Show Blocked State' "$1" | cut -d: -f1)
	if [ -n "$first" ]; then
		sed -n "$first,$((first + 40))p" "$1"
		echo "[...]"
	fi
	tail -n 10 "$1"
}

# kb_boot BATCH N NAME...: one boot for NAMEs, whose images are in the
# batch's pack. Prints the names that did not start (for the next boot).
kb_boot() {
	local batch=$1 n=$2 name rc script log started=0
	shift 2
	script=$KB_DIR/guest$batch.$n.sh
	log=$KB_DIR/vm$batch.$n.log
	{
		kb_guest_prologue
		for name in "$@"; do
			echo "row $name $(awk -v n="$name" '$1 == n { $1 = ""; print }' "$KB_DIR/pack$batch.offsets")"
		done
	} > "$script"
	"$KB_KERNEL_VM" -t $((120 + (KB_ROW_TIMEOUT + 30) * $#)) -s "$KB_DIR" \
		-d "$KB_DIR/pack$batch.img" "$script" > "$log" 2>&1
	rc=$?
	for name in "$@"; do
		local o=$KB_DIR/out/$name
		if [ ! -f "$o/started" ]; then
			echo "$name"
			continue
		fi
		started=1
		if [ -f "$o/hung" ]; then
			{
				echo "the guest hung: $(cat "$o/hung"); its kernel log:"
				kb_console_excerpt "$o/dmesg"
			} > "$o/crash"
		elif [ ! -f "$o/result" ]; then
			{
				echo "the guest died during step '$(cat "$o/step" 2>/dev/null)'" \
					"(kernel-vm status $rc); console log $log:"
				kb_console_excerpt "$log"
			} > "$o/crash"
		fi
	done
	if [ $started = 0 ]; then
		{
			echo "kernel-vm status $rc before the first filesystem:" \
				"$(grep -v '^[[:space:]]*$' "$log" | tail -n 1)"
			echo "end of $log:"
			tail -n 20 "$log"
		} > "$KB_DIR/unavailable.$batch"
	fi
}

# kb_batch BATCH NAME...: pack NAMEs and boot until each has run: a new
# boot after a crash, as long as the last one got through at least one
# filesystem (at most $KB_MAX_BOOTS boots).
kb_batch() {
	local batch=$1 n=0 todo
	shift
	kb_pack "$KB_DIR/pack$batch.img" "$@" > "$KB_DIR/pack$batch.offsets" || return 1
	todo=("$@")
	while [ ${#todo[@]} -gt 0 ] && [ $n -lt "$KB_MAX_BOOTS" ]; do
		n=$((n + 1))
		mapfile -t todo < <(kb_boot "$batch" $n "${todo[@]}")
		[ -f "$KB_DIR/unavailable.$batch" ] && break
	done
	# the images after the guest wrote them: large, kept for kb_extract or debugging
	[ -n "${BCH_TEST_DEBUG:-}${KB_KEEP_PACKS:-}" ] || rm -f "$KB_DIR/pack$batch.img"
}

kb_run() {
	local jobs=${BCH_FORMAT_VM_JOBS:-$(($(nproc) >= 2 ? 2 : 1))} b i pids=()
	local all
	mapfile -t all < <(awk '{ print $1 }' "$KB_DIR/filesystems")
	[ ${#all[@]} -gt 0 ] || return 0
	rm -f "$KB_DIR"/unavailable.*
	[ "$jobs" -ge 1 ] || jobs=1
	for ((b = 0; b < jobs; b++)); do
		local names=()
		for ((i = b; i < ${#all[@]}; i += jobs)); do
			names+=("${all[$i]}")
		done
		[ ${#names[@]} -gt 0 ] || continue
		kb_batch "$b" "${names[@]}" &
		pids+=($!)
	done
	wait "${pids[@]}"
}

# A background job started from a script must not be a subshell of it:
# a subshell shares bash's open script file (and its offset) and moves it
# each time it starts a command, so the script would go on reading at a
# wrong place. This one is a new bash.
kb_run_background() {
	KB_DIR=$KB_DIR bash -c '. "$BCH_ROOT/tests/lib/kernel-batch.sh" && kb_run' \
		> "$1" 2>&1 &
	KB_PID=$!
}

kb_extract() {
	local name=$1 f line batch off i=0 sizes=()
	shift
	for f in "$KB_DIR"/pack*.offsets; do
		line=$(awk -v n="$name" '$1 == n' "$f")
		[ -n "$line" ] && batch=${f%.offsets} && break
	done
	[ -n "$line" ] && [ -f "$batch.img" ] || { echo "no pack holds $name"; return 1; }
	read -r -a sizes < <(awk -v n="$name" '$1 == n { for (i = 2; i <= NF; i++) printf "%s ", $i }' "$KB_DIR/filesystems" |
		xargs -r stat -c %s)
	for off in ${line#* }; do
		dd if="$batch.img" of="$1" bs=1M iflag=skip_bytes,count_bytes skip="$off" \
			count="${sizes[$i]}" conv=sparse status=none || return 1
		i=$((i + 1))
		shift
	done
}

kb_unavailable() {
	local f
	for f in "$KB_DIR"/unavailable.*; do
		[ -f "$f" ] || continue
		# unavailable only if no batch at all got going
		ls "$KB_DIR"/out/*/started > /dev/null 2>&1 && return 1
		head -n 1 "$f"
		return 0
	done
	return 1
}

kb_check_run() {
	local o=$KB_DIR/out/$1 r
	if [ ! -f "$o/started" ]; then
		echo "not run: $KB_MAX_BOOTS boots of the VM ended (crashes) before it got here, or it did not boot"
		cat "$KB_DIR"/unavailable.* 2>/dev/null
		return 1
	fi
	if [ -f "$o/crash" ]; then
		cat "$o/crash"
		return 1
	fi
	r=$(cat "$o/result")
	[ "$r" = ok ] && ! [ -f "$o/tainted" ] && return 0
	[ "$r" = ok ] && { cat "$o/tainted"; return 1; }
	echo "failed at step '$r'; guest log:"
	cat "$o/log"
	echo "kernel log:"
	sed -n '/bcachefs\|loop\|WARNING\|BUG/p' "$o/dmesg" 2>/dev/null | tail -n 40
	return 1
}

kb_check_dmesg() {
	local o=$KB_DIR/out/$1 bad
	[ -f "$o/dmesg" ] || { echo "no kernel log for $1 (see the run test)"; return 1; }
	bad=$(sed -E 's/^\[ *[0-9]+\.[0-9]+\] //' "$o/dmesg" | grep -E "$KB_DMESG_BAD" |
		grep -v -E -e "$KB_DMESG_OK")
	[ -z "$bad" ] && return 0
	echo "kernel messages that are not progress lines (full log: $o/dmesg):"
	printf '%s\n' "$bad" | head -n 60
	return 1
}
