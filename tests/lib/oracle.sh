# oracle.sh: helpers for differential tests against the reference tools.
# Sourced by tests/t*.sh after test-lib.sh.
# shellcheck shell=bash
#
#	ref ARGS...          the reference bcachefs (tests/oracle/ref-bcachefs)
#	ours ARGS...         the bcachefs under test: $BCH_OURS, default
#	                     ./bcachefs at the repository top
#	ref_filter           stdin to stdout: drop the reference's log lines
#	norm_inline_data     stdin to stdout: cut inline_data keys after "datalen N:"
#	corpus_images        names of the built corpus images, one a line
#	corpus_skipped       "NAME reason" for images not built on this machine
#	corpus_devs NAME     absolute paths of NAME's device files
#	cmp_queue ID ARGS... queue "ref ARGS" and "ours ARGS" for cmp_run_queue
#	cmp_run_queue        run the queue, $BCH_TEST_JOBS (default 2) at a time
#	cmp_check ID         test body: the two outputs must be identical
#	ref_fsck_verdict LOG DEV...  the reference's fsck -n: "clean" or why not
#	image_sum FILE...    one checksum of the files' contents, reading only
#	                     their data regions (fast on sparse images)
#
# Environment: BCH_OURS, BCH_REF, BCH_CORPUS (default tests/out/corpus),
# BCH_TEST_JOBS, BCH_REF_CACHE=0 to disable the reference output cache,
# BCH_FILTER_OURS=1 to pass our output through ref_filter as well (only for
# checking the harness with the reference standing in for ours).
#
# Judging the reference: it sometimes aborts at exit ("unaligned tcache
# chunk detected", from glibc) after its output is complete. Compare its
# stdout; never rely on its exit status. A run killed by a signal is retried
# (up to 3 runs) in case the crash came before the output was complete.

BCH_ROOT=${BCH_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BCH_OURS=${BCH_OURS:-$BCH_ROOT/bcachefs}
BCH_REF=${BCH_REF:-$BCH_ROOT/tests/oracle/ref-bcachefs}
BCH_CORPUS=${BCH_CORPUS:-$BCH_ROOT/tests/out/corpus}
BCH_TEST_JOBS=${BCH_TEST_JOBS:-2}
export BCH_ROOT BCH_OURS BCH_REF BCH_CORPUS
# dates in show-super and list_journal are printed in local time
export TZ=UTC LC_ALL=C

ref() {
	"$BCH_REF" "$@"
}

image_sum() {
	python3 "$BCH_ROOT/tests/lib/sparse-sum.py" "$@"
}

ours() {
	"$BCH_OURS" "$@"
}

# The reference is the upstream kernel code built for userspace: while it
# opens a filesystem it logs what the kernel would log, and those lines go
# to its stdout. For `list` (Rust, line-buffered stdout) they come after the
# keys, when C stdio flushes at exit; for `list_journal` (C) at the start.
# Found by running every list mode on every btree, list_journal and
# show-super on every corpus image (clean, unclean, multi-device):
#
#   starting version 1.13: inode_has_child_snapshots opts=ro,errors=continue,...
#   recovering from clean shutdown, journal seq 11
#   recovering from unclean shutdown
#   journal read done, replaying entries 11-11
#   dropped unflushed entries 347-353         (fsck of an interrupted format)
#   accounting_read... done                   (also alloc_read, stripes_read,
#                                              snapshots_read)
#   going read-write                          (unclean image: list replays)
#   unshutdown complete, journal seq 21       ("shutdown complete" when clean)
#
# Only whole lines matching these messages are removed. Everything else is
# the tool's output, including its error messages (e.g. "error getting device
# to read from: invalid device" for -m nodes-ondisk of an empty btree) and
# the second half of a dirent whose name contains a newline.
REF_LOG_PATTERNS='^starting version [0-9]+\.[0-9]+: [a-z0-9_]+( opts=.*)?$
^recovering from clean shutdown, journal seq [0-9]+$
^recovering from unclean shutdown$
^journal read done, replaying entries [0-9]+-[0-9]+$
^dropped unflushed entries [0-9]+-[0-9]+$
^(accounting_read|alloc_read|stripes_read|snapshots_read)\.\.\. done$
^going read-write$
^(journal_replay|resume_logged_ops|delete_dead_inodes)\.\.\. done$
^(un)?shutdown complete, journal seq [0-9]+$
^insufficient writeable journal devices available: have [0-9]+, need [0-9]+$
^rw journal devs:.*$'

ref_filter() {
	grep -v -E -e "$REF_LOG_PATTERNS"
	# 1 means every line was a log line: an empty listing is fine
	[ $? -le 1 ]
}

# For inline_data keys the reference prints a heap address (e.g.
# "datalen 8: 0x7f0cc8a680c8hN") where the data bytes belong, different on
# every run: keep such lines up to and including "datalen N:". Applied to
# both sides.
norm_inline_data() {
	sed -E 's/^(.* type inline_data .*: datalen [0-9]+:).*$/\1/'
}

# `list -m formats`: the kernel's node text ends with two counts of its
# in-memory search tree (bkey floats), which depend on how the kernel lays
# out that tree in memory, not on the node; we keep sorted arrays and do
# not print them. Removed from the reference's side.
norm_formats() {
	grep -v -E '^    (floats|failed unpacked) [0-9]+$'
	[ $? -le 1 ]
}

# The reference's list is a Rust program that turns each line into UTF-8
# lossily: bytes that are not UTF-8 (Latin-1 file names, binary xattr
# values) become U+FFFD. We print the bytes as stored. Both sides go
# through the same lossy conversion (a no-op on valid UTF-8).
norm_utf8() {
	local t
	t=$(mktemp)
	cat > "$t"
	if iconv -f UTF-8 -t UTF-8 < "$t" > /dev/null 2>&1; then
		cat "$t"
	else
		python3 -c 'import sys; sys.stdout.buffer.write(sys.stdin.buffer.read().decode("utf-8", "replace").encode())' < "$t"
	fi
	rm -f "$t"
}

# All normalizations applied to both sides of a comparison.
norm_both() {
	norm_inline_data | norm_formats | norm_utf8
}

corpus_manifest() {
	local m="$BCH_CORPUS/manifest"
	[ -f "$m" ] || { echo "oracle.sh: no corpus manifest $m (run tests/corpus/build.sh)" >&2; return 1; }
	echo "$m"
}

corpus_images() {
	local m
	m=$(corpus_manifest) || return 1
	awk '!/^#/ && NF >= 2 { print $1 }' "$m"
}

corpus_skipped() {
	local m
	m=$(corpus_manifest) || return 1
	sed -n 's/^#skip //p' "$m"
}

corpus_devs() {
	local m
	m=$(corpus_manifest) || return 1
	awk -v name="$1" -v dir="$BCH_CORPUS" '
		$1 == name { for (i = 2; i <= NF; i++) printf "%s%s/%s", (i > 2 ? " " : ""), dir, $i
		             print ""; found = 1 }
		END { exit !found }' "$m"
}

# ---------------------------------------------------------------------------
# Queued comparisons: every command runs once per side, in parallel, before
# the test cases look at the results. Files per ID in $TEST_TRASH/cmp/ID/:
# args (NUL-separated), {ref,ours}.{raw,rc}, ours.err, and the normalized
# {ref,ours} that are compared.

cmp_dir() {
	echo "$TEST_TRASH/cmp/${1//\//@}"
}

# CMP_REF_OPTS: extra options given to the reference only, after the
# command name (e.g. "-f" to let it replay the journal before listing).
cmp_queue() {
	local id=$1 d
	shift
	test_selected "$id" || return 0
	d=$(cmp_dir "$id")
	mkdir -p "$d"
	printf '%s\0' "$@" > "$d/args"
	rm -f "$d/ref_args"
	if [ -n "${CMP_REF_OPTS:-}" ]; then
		# shellcheck disable=SC2086
		printf '%s\0' "$1" $CMP_REF_OPTS "${@:2}" > "$d/ref_args"
	fi
	printf '%s\n' "$d" >> "$TEST_TRASH/cmp/queue"
}

# Where the reference's raw output for these arguments is cached: keyed by
# the reference (pinned version and unpacked binary), the arguments, and the
# identity (inode, size, mtime) of every argument that is a file, so a
# rebuilt image misses. Disable with BCH_REF_CACHE=0.
ref_cache_file() {
	local a key
	[ "${BCH_REF_CACHE:-1}" != 0 ] || return 1
	if [ -z "${REF_IDENTITY:-}" ]; then
		# our ref-bcachefs: its pinned version and the unpacked binary;
		# any other BCH_REF: its content
		REF_IDENTITY=$({
			grep '^REF_VERSION=' "$BCH_REF" || cat "$BCH_REF"
			stat -c '%i %s %Y' "${BCH_ORACLE_CACHE:-/var/cache/bch-oracle}/ref-tools/usr/sbin/bcachefs"
		} 2>/dev/null | sha256sum | cut -c1-32)
		export REF_IDENTITY
	fi
	key=$({
		echo "$REF_IDENTITY"
		for a in "$@"; do
			printf '%s\n' "$a"
			[ -f "$a" ] && stat -L -c '%i %s %Y' "$a"
		done
	} | sha256sum | cut -c1-32)
	mkdir -p "$BCH_CORPUS/.refcache" 2>/dev/null || return 1
	echo "$BCH_CORPUS/.refcache/$key"
}

# ref_raw OUT ARGS...: the reference's unfiltered stdout for ARGS into OUT,
# from the cache when possible; prints its exit status. Runs killed by a
# signal are retried (up to 3 runs in all).
ref_raw() {
	local out=$1 cache rc
	shift
	cache=$(ref_cache_file "$@")
	if [ -n "$cache" ] && [ -f "$cache.rc" ]; then
		cp "$cache.out" "$out"
		cat "$cache.rc"
		return 0
	fi
	for _ in 1 2 3; do
		"$BCH_REF" "$@" > "$out" 2> "$out.err" < /dev/null
		rc=$?
		[ $rc -lt 128 ] && break
	done
	rm -f "$out.err"
	if [ -n "$cache" ]; then
		cp "$out" "$cache.out.$$" && mv "$cache.out.$$" "$cache.out" &&
			echo "$rc" > "$cache.rc"
	fi
	echo "$rc"
}

# cmp_job SIDE DIR: run one side of one queued comparison.
cmp_job() {
	local side=$1 d=$2 args
	mapfile -d '' args < "$d/args"
	if [ "$side" = ref ]; then
		[ -f "$d/ref_args" ] && mapfile -d '' args < "$d/ref_args"
		ref_raw "$d/ref.raw" "${args[@]}" > "$d/ref.rc"
		ref_filter < "$d/ref.raw" | norm_both > "$d/ref"
	else
		"$BCH_OURS" "${args[@]}" > "$d/ours.raw" 2> "$d/ours.err" < /dev/null
		echo $? > "$d/ours.rc"
		if [ "${BCH_FILTER_OURS:-0}" = 1 ]; then
			ref_filter < "$d/ours.raw" | norm_both > "$d/ours"
		else
			norm_both < "$d/ours.raw" > "$d/ours"
		fi
	fi
}

cmp_run_queue() {
	local q="$TEST_TRASH/cmp/queue"
	[ -s "$q" ] || return 0
	# slowest first would be nicer; the queue order interleaves sizes well
	# enough. Each line becomes two jobs: ref and ours.
	awk '{ print "ref\n" $0; print "ours\n" $0 }' "$q" | tr '\n' '\0' |
		xargs -0 -n 2 -P "$BCH_TEST_JOBS" bash -c '
			. "$BCH_ROOT/tests/lib/oracle.sh"
			TEST_TRASH=$TEST_TRASH cmp_job "$1" "$2"' cmp_job
	rm -f "$q"
}
export TEST_TRASH

# cmp_check ID: identical normalized stdout; and our exit status must be 0
# when the reference finished normally (0, or killed at exit), otherwise
# the same as the reference's.
cmp_check() {
	local d rrc orc
	d=$(cmp_dir "$1")
	[ -f "$d/ref.rc" ] && [ -f "$d/ours.rc" ] || {
		echo "cmp_check: $1 was not run (cmp_run_queue?)"
		return 1
	}
	rrc=$(cat "$d/ref.rc")
	orc=$(cat "$d/ours.rc")
	test_cmp "$d/ref" "$d/ours" || {
		echo "(- reference, + ours; raw outputs in $d)"
		return 1
	}
	if [ "$rrc" -eq 0 ] || [ "$rrc" -ge 128 ]; then
		[ "$orc" -eq 0 ] || {
			echo "same output, but ours exited $orc (reference $rrc); stderr:"
			head -n 20 "$d/ours.err"
			return 1
		}
	elif [ "$orc" -ne "$rrc" ]; then
		echo "same output, but ours exited $orc and the reference $rrc"
		return 1
	fi
	[ -n "${BCH_TEST_DEBUG:-}" ] || rm -rf "$d"
}

# have_ours: is there a binary to test?
have_ours() {
	[ -x "$BCH_OURS" ]
}

# cmp_expect NAME: the test case for queued comparison NAME. Tests whose
# name matches a "GLOB|reason" entry of the calling script's
# KNOWN_DIFFERENCES array are expected to differ (test_expect_failure).
cmp_expect() {
	local entry
	for entry in "${KNOWN_DIFFERENCES[@]}"; do
		# shellcheck disable=SC2053
		if [[ $1 == ${entry%%|*} ]]; then
			test_expect_failure "$1" "cmp_check '$1'"
			return
		fi
	done
	test_expect_success "$1" "cmp_check '$1'"
}

# corpus_prologue: the checks every corpus-wide test script starts with;
# lists images that were not built here as skipped tests.
corpus_prologue() {
	have_ours || skip_all "no bcachefs to test at $BCH_OURS (set BCH_OURS)"
	corpus_manifest > /dev/null || skip_all "no corpus; run tests/corpus/build.sh"
	local name reason
	while read -r name reason; do
		test_skip "$name/*" "$reason"
	done < <(corpus_skipped)
}

# ref_fsck_verdict LOG DEVICE...: run the reference's fsck -n on one
# filesystem (its output into LOG) and print "clean" or "NOT CLEAN (...)".
# The rule tests/corpus/build.sh applies to every corpus image: clean means
# status 0 (or a crash at exit after "shutdown complete") and nothing in the
# output but its progress lines. Runs killed by a signal are retried (up to
# 3 runs in all).
REF_FSCK_PROGRESS='^(Running userspace offline fsck|going read-write|recovering from (clean|unclean) shutdown.*|journal read done, replaying entries [0-9]+-[0-9]+|dropped unflushed entries [0-9]+-[0-9]+|starting version .*|shutdown complete, journal seq [0-9]+|[a-z_0-9]+\.\.\. done|modprobe: FATAL: Module bcachefs not found.*|insufficient writeable journal devices.*|rw journal devs:.*)$'

ref_fsck_verdict() {
	local log=$1 rc
	shift
	for _ in 1 2 3; do
		"$BCH_REF" fsck -n "$@" > "$log" 2>&1 < /dev/null
		rc=$?
		[ $rc -lt 128 ] && break
	done
	if [ $rc -ne 0 ] && ! grep -q '^shutdown complete' "$log"; then
		echo "NOT CLEAN (fsck exit $rc)"
	elif grep -v -E -e "$REF_FSCK_PROGRESS" "$log" | grep -q .; then
		echo "NOT CLEAN (unexpected lines in its output)"
	else
		echo "clean"
	fi
}
