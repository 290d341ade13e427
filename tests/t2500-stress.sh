#!/bin/bash
test_description='stress: random file operations through the transaction API, clean and crashed

tests/tools/stress (make test-tools) runs a random mix of file creates,
writes over random ranges (new extents: the transaction trims what they
overwrite), hole punches, truncates, renames, xattr sets and removes and
file deletes on a 512 MiB filesystem our format made, one transaction
each, flushing the journal every few dozen operations and the overlay
into btree nodes every thousand.  It checks every inode, dirent, extent
and xattr against its model (and that no two live extents share disk
space) before the clean shutdown and again after reopening.

 - clean run: after tens of thousands of operations (they write more data
   than the device holds, so buckets are emptied, discarded and reused;
   the btrees grow to several nodes) and a clean shutdown,
   the reference'"'"'s fsck -n finds nothing, and our list of every btree
   prints what the reference'"'"'s does;
 - crash runs: a shorter run is first made whole to count its device
   writes W (and where its btree flushes and the clean shutdown write);
   then for N over a sample of 1..W (every N when W is small; both ends,
   a stride, and the writes at the edges and middle of every flush
   otherwise), the same run on a fresh copy of the formatted image with
   every write after the N-th failing (a simulated crash).  The
   reference'"'"'s fsck -y must then recover it (exit status 0: journal
   replay alone makes it whole, nothing to repair) and a following
   fsck -n must find it clean.  Each N is one test, named by N.

Environment: BCH_STRESS_SEED (default 1), BCH_STRESS_OPS (clean run,
default 60000), BCH_STRESS_CRASH_OPS (default 1000), BCH_STRESS_CRASH_POINTS
(how many N at most, default 300).
'
. "$(dirname "$0")/lib/test-lib.sh"
. "$BCH_ROOT/tests/lib/oracle.sh"

[ "${BCH_FILTER_OURS:-0}" = 1 ] && skip_all "tests our own library, not the reference"

TOOL="$BCH_ROOT/build/rel/tests/tools/stress"
[ -x "$TOOL" ] || skip_all "stress is not built (make test-tools)"
have_ours || skip_all "no bcachefs to test at $BCH_OURS (set BCH_OURS)"
"$BCH_REF" version > /dev/null 2>&1 || skip_all "the reference tools do not run here"
# every run makes new images: caching the reference's output is no use
export BCH_REF_CACHE=0

SEED=${BCH_STRESS_SEED:-1}
OPS=${BCH_STRESS_OPS:-60000}
CRASH_OPS=${BCH_STRESS_CRASH_OPS:-1000}
CRASH_POINTS=${BCH_STRESS_CRASH_POINTS:-300}
# The crash runs flush often so that the crash points land in every kind
# of write: journal entries, node writes of many flushes, superblocks.
CRASH_ARGS="--seed $SEED --ops $CRASH_OPS --flush-every 100 --journal-flush-every 8"

BTREES="extents inodes dirents xattrs alloc quotas stripes reflink subvolumes
	snapshots lru freespace need_discard backpointers bucket_gens
	snapshot_trees deleted_inodes logged_ops rebalance_work
	subvolume_children accounting"

# fsck_unclean LOG: print the lines of a reference fsck log that are not
# progress lines (nothing when it found nothing).
fsck_unclean() {
	grep -v -E -e "$REF_FSCK_PROGRESS" "$1"
}

test_expect_success 'format a 512 MiB image' '
	truncate -s 512M base.img &&
	ours format base.img > format.out 2>&1 || { cat format.out; false; }
'

test_expect_success "clean run: $OPS operations, verified before and after reopening" '
	cp --sparse=always base.img clean.img &&
	{ "$TOOL" --seed $SEED --ops $OPS --max-files 1500 --flush-every 1000 \
		--journal-flush-every 64 clean.img > clean.out 2>&1; rc=$?; } &&
	cat clean.out &&
	test $rc = 0 &&
	grep -q "^verified after reopening" clean.out
'

test_expect_success 'clean run: the reference fsck -n finds nothing' '
	v=$(ref_fsck_verdict fsck-clean.log clean.img) &&
	echo "$v" &&
	test "$v" = clean || { fsck_unclean fsck-clean.log | head -n 100; false; }
'

# our list against the reference's, every btree of the clean run's image
# (meaningless when the run stopped early: the image is then unclean)
if grep -q "^verified after reopening" clean.out 2> /dev/null; then
	for b in $BTREES; do
		cmp_queue "clean run: list -b $b" list -b "$b" "$PWD/clean.img"
	done
	cmp_run_queue
	for b in $BTREES; do
		cmp_expect "clean run: list -b $b"
	done
else
	test_skip "clean run: list -b *" "the clean run did not finish"
fi
[ -n "$test_debug" ] || [ "$test_failed" -ne 0 ] || rm -f clean.img

# Journal reclaim: no explicit btree flush at all; commits flush the
# btree themselves whenever the journal is half full, so a long run never
# finds the journal full (the 512 MiB image has a 4 MiB journal).
test_expect_success "reclaim run: $OPS operations with no explicit btree flush" '
	cp --sparse=always base.img reclaim.img &&
	{ "$TOOL" --seed $((SEED + 1)) --ops $OPS --max-files 1500 --flush-every 0 \
		--journal-flush-every 64 --quiet reclaim.img > reclaim.out 2>&1; rc=$?; } &&
	cat reclaim.out &&
	test $rc = 0
'

test_expect_success 'reclaim run: the reference fsck -n finds nothing' '
	v=$(ref_fsck_verdict fsck-reclaim.log reclaim.img) &&
	echo "$v" &&
	test "$v" = clean || { fsck_unclean fsck-reclaim.log | head -n 100; false; }
'
[ -n "$test_debug" ] || [ "$test_failed" -ne 0 ] || rm -f reclaim.img

test_expect_success "crash runs: $CRASH_OPS operations made whole, writes counted" '
	cp --sparse=always base.img whole.img &&
	{ "$TOOL" $CRASH_ARGS whole.img > whole.out 2>&1; rc=$?; } &&
	cat whole.out &&
	test $rc = 0 &&
	sed -n "s/^done: .* \([0-9][0-9]*\) device writes$/\1/p" whole.out > writes &&
	test -s writes && echo "W = $(cat writes)"
'

test_expect_success 'crash runs: the whole run, the reference fsck -n finds nothing' '
	v=$(ref_fsck_verdict fsck-whole.log whole.img) && echo "$v" &&
	test "$v" = clean || { fsck_unclean fsck-whole.log | head -n 100; false; }
'

# crash_points W: the N to try, one a line, ascending.
crash_points() {
	local w=$1
	if [ "$w" -le "$CRASH_POINTS" ]; then
		seq 1 "$w"
		return
	fi
	{
		seq 1 3
		seq $((w - 2)) "$w"
		# around every flush and the shutdown: N = A-1 fails write A, its first
		sed -n "s/.*: device writes \([0-9]*\)-\([0-9]*\)$/\1 \2/p" whole.out |
			while read -r a b; do
				echo $((a - 1)) "$a" $(((a + b) / 2)) $((b - 1)) "$b"
			done | tr " " "\n"
	} > points.fixed
	local nfixed stride
	nfixed=$(sort -nu points.fixed | wc -l)
	stride=$((w / (CRASH_POINTS > nfixed + 10 ? CRASH_POINTS - nfixed : 10) + 1))
	{ cat points.fixed; seq 1 "$stride" "$w"; } |
		awk -v w="$w" '$1 >= 1 && $1 <= w' | sort -nu
}

# crash_one N: run with a crash after N writes on a fresh copy, then the
# reference's fsck -y and fsck -n; crash/N/result says "ok" or why not.
crash_one() {
	local n=$1 w d rc
	w=$(cat writes)
	d=crash/$n
	mkdir -p "$d"
	cp --sparse=always base.img "$d/img" || { echo "cannot copy the image" > "$d/result"; return; }
	"$TOOL" $CRASH_ARGS --quiet --crash-after-writes "$n" "$d/img" > "$d/stress.out" 2>&1
	rc=$?
	if [ "$n" -lt "$w" ] && [ $rc != 3 ]; then
		echo "stress exited $rc, not 3 (crashed): $(tail -n 3 "$d/stress.out")" > "$d/result"
		return
	elif [ "$n" -ge "$w" ] && [ $rc != 0 ]; then
		echo "stress exited $rc with the write limit at or past W: $(tail -n 3 "$d/stress.out")" > "$d/result"
		return
	fi
	for _ in 1 2 3; do
		"$BCH_REF" fsck -y "$d/img" > "$d/fsck-y.log" 2>&1 < /dev/null
		rc=$?
		[ $rc -lt 128 ] && break
	done
	if [ $rc -ne 0 ] && ! { [ $rc -ge 128 ] && grep -q '^shutdown complete' "$d/fsck-y.log"; }; then
		echo "fsck -y exited $rc" > "$d/result"
	elif fsck_unclean "$d/fsck-y.log" | grep -q .; then
		echo "fsck -y repaired something" > "$d/result"
	else
		local v
		v=$(ref_fsck_verdict "$d/fsck-n.log" "$d/img")
		if [ "$v" = clean ]; then
			echo ok > "$d/result"
		else
			echo "after fsck -y, fsck -n: $v" > "$d/result"
		fi
	fi
	[ -n "${BCH_TEST_DEBUG:-}" ] || rm -f "$d/img"
}

if [ -s writes ]; then
	crash_points "$(cat writes)" > points
	say "# crash runs: W = $(cat writes) writes, $(wc -l < points) crash points, $BCH_TEST_JOBS at a time"
	export TOOL CRASH_ARGS
	export -f crash_one fsck_unclean
	tr '\n' '\0' < points | xargs -0 -r -n 1 -P "$BCH_TEST_JOBS" bash -c '
		. "$BCH_ROOT/tests/lib/oracle.sh"
		crash_one "$1"' crash_job
	while read -r n; do
		test_expect_success "crash after $n of $(cat writes) writes: fsck -y recovers, fsck -n clean" '
			cat crash/'"$n"'/result &&
			test "$(cat crash/'"$n"'/result)" = ok || {
				cat crash/'"$n"'/stress.out
				for f in fsck-y fsck-n; do
					[ -f crash/'"$n"'/$f.log ] || continue
					echo "--- $f (not progress lines):"
					fsck_unclean crash/'"$n"'/$f.log | head -n 40
				done
				false
			}
		'
	done < points
	failed=$(grep -L -x ok crash/*/result 2> /dev/null | sed "s|crash/\([0-9]*\)/result|\1|" | sort -n | tr "\n" " ")
	[ -z "$failed" ] || say "# crash points that failed: $failed"
	[ -n "$test_debug" ] || [ -n "$failed" ] || rm -rf crash
else
	test_skip "crash runs" "the whole run did not count its writes"
fi

test_done
