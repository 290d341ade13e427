# test-lib.sh: a small library for numbered shell tests, after git's t/.
# shellcheck shell=bash
#
# A test script (bash) reads like a specification:
#
#	test_description='what this script checks'   (shown by -h)
#	. "$(dirname "$0")/lib/test-lib.sh"
#
#	test_expect_success 'format makes a clean filesystem' '
#		ours format img && ref fsck -n img
#	'
#	test_expect_success LOOP 'needs a loop device' '...'
#	test_done
#
# Each body runs in a subshell (variables it sets do not survive it), with
# stdout and stderr captured; it passes when its last command succeeds, so
# chain commands with &&. The optional first word in capitals is a
# prerequisite set with test_set_prereq; without it the test is skipped.
#
# Options (or the environment variable in brackets):
#   -v, --verbose          show every test's output as it runs  [BCH_TEST_VERBOSE=1]
#   -r, --run=GLOB         run only tests whose description matches GLOB,
#                          skip the rest                        [BCH_TEST_RUN]
#   -d, --debug            keep the trash directory and every    [BCH_TEST_DEBUG=1]
#                          compared output
# Without -v a failing test prints its body and the last $BCH_TEST_FAIL_LINES
# (default 60) lines of its output, e.g. test_cmp's diff.
#
# Each run of a script has its own trash directory, $TEST_TRASH, under
# tests/out/ (removed at the end unless a test failed or -d was given). test_done prints
# a summary and, when $BCH_TEST_RESULTS is a directory, writes
# "passed N failed N skipped N" to $BCH_TEST_RESULTS/<script>.counts.

TEST_NAME=$(basename "$0" .sh)
TEST_DIR=$(cd "$(dirname "$0")" && pwd)
# The repository top: tests/ is one below it.
BCH_ROOT=${BCH_ROOT:-$(cd "$TEST_DIR/.." && pwd)}
TEST_OUT=${BCH_TEST_OUT:-$BCH_ROOT/tests/out}
export BCH_ROOT

test_verbose=${BCH_TEST_VERBOSE:-}
test_run_glob=${BCH_TEST_RUN:-}
test_debug=${BCH_TEST_DEBUG:-}
test_fail_lines=${BCH_TEST_FAIL_LINES:-60}
while [ $# -gt 0 ]; do
	case $1 in
	-v | --verbose) test_verbose=1 ;;
	-d | --debug) test_debug=1; export BCH_TEST_DEBUG=1 ;;
	-r) shift; test_run_glob=$1 ;;
	--run=*) test_run_glob=${1#--run=} ;;
	-h | --help)
		[ -z "${test_description:-}" ] || printf '%s: %s\n\n' "$TEST_NAME" "$test_description"
		sed -n '/^# Options/,/^# Without -v/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
		exit 0 ;;
	*) echo "$TEST_NAME: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

test_count=0
test_passed=0
test_failed=0
test_skipped=0
test_known_broken=0
test_failures=
test_prereqs=" "

# One trash directory per run: several people may run the same script in
# one work tree at once.
mkdir -p "$TEST_OUT" || exit 1
TEST_TRASH=$(mktemp -d "$TEST_OUT/trash.$TEST_NAME.XXXXXX") || exit 1
cd "$TEST_TRASH" || exit 1

say() {
	printf '%s\n' "$*"
}

# test_set_prereq NAME: mark prerequisite NAME as satisfied.
test_set_prereq() {
	test_prereqs="$test_prereqs$1 "
}

test_have_prereq() {
	case $test_prereqs in *" $1 "*) return 0 ;; esac
	return 1
}

# skip_all REASON: nothing in this script can run here; report and exit.
skip_all() {
	test_skipped=$((test_skipped + 1))
	say "1..0 # SKIP $1"
	test_count=0
	if [ -n "${BCH_TEST_RESULTS:-}" ] && [ -d "$BCH_TEST_RESULTS" ]; then
		echo "passed 0 failed 0 skipped 1" > "$BCH_TEST_RESULTS/$TEST_NAME.counts"
	fi
	cd "$TEST_OUT" && rm -rf "$TEST_TRASH"
	exit 0
}

# test_skip DESC REASON: record a test that cannot run here, and why.
test_skip() {
	test_count=$((test_count + 1))
	test_skipped=$((test_skipped + 1))
	say "ok $test_count # skip $1 ($2)"
}

# Run one body in a subshell; its output goes to $TEST_TRASH/.out (and to
# the terminal with -v).
test_run_body_() {
	if [ -n "$test_verbose" ]; then
		(cd "$TEST_TRASH" && eval "$1") 2>&1 | tee "$TEST_TRASH/.out"
		return "${PIPESTATUS[0]}"
	fi
	(cd "$TEST_TRASH" && eval "$1") > "$TEST_TRASH/.out" 2>&1
}

# test_took_ T0: a comment line with the time since T0 ($EPOCHREALTIME), for
# tests of a second or more (to see where a script's time goes)
test_took_() {
	awk -v t0="$1" -v t1="$EPOCHREALTIME" \
		'BEGIN { if (t1 - t0 >= 1) printf "# took %.1f s\n", t1 - t0 }'
}

test_report_failure_() {
	test_failed=$((test_failed + 1))
	test_failures="$test_failures $test_count"
	say "not ok $test_count - $1"
	[ -n "$test_verbose" ] && return
	printf '%s\n' "$2" | sed 's/^/#	/'
	if [ -s "$TEST_TRASH/.out" ]; then
		say "#	--- output (last $test_fail_lines lines) ---"
		tail -n "$test_fail_lines" "$TEST_TRASH/.out" | sed 's/^/#	/'
	fi
}

# test_selected DESC: false when --run excludes DESC (to skip expensive
# preparation for tests that will not run).
test_selected() {
	[ -z "$test_run_glob" ] && return 0
	# shellcheck disable=SC2053
	[[ $1 == $test_run_glob ]]
}

# Parse "[PREREQ] DESC BODY"; sets test_desc_ and test_body_, returns 1
# (after recording a skip) when the test must not run.
test_start_() {
	local prereq=
	if [ $# -eq 3 ]; then
		prereq=$1
		shift
	fi
	[ $# -eq 2 ] || { echo "bug in $TEST_NAME: test_expect_* takes [PREREQ] DESC BODY" >&2; exit 2; }
	test_desc_=$1
	test_body_=$2
	if ! test_selected "$test_desc_"; then
		test_skip "$test_desc_" "not selected by --run"
		return 1
	fi
	if [ -n "$prereq" ] && ! test_have_prereq "$prereq"; then
		test_skip "$test_desc_" "missing $prereq"
		return 1
	fi
	test_count=$((test_count + 1))
}

# test_expect_success [PREREQ] DESC BODY
test_expect_success() {
	test_start_ "$@" || return 0
	local t0=$EPOCHREALTIME
	if test_run_body_ "$test_body_"; then
		test_passed=$((test_passed + 1))
		say "ok $test_count - $test_desc_"
		test_took_ "$t0"
	else
		test_report_failure_ "$test_desc_" "$test_body_"
	fi
}

# test_expect_failure [PREREQ] DESC BODY: a known breakage. It is reported
# as "TODO" and counted with the skipped tests; if it starts passing it is
# reported as fixed and counted as passed, so the marker can be removed.
test_expect_failure() {
	test_start_ "$@" || return 0
	if test_run_body_ "$test_body_"; then
		test_passed=$((test_passed + 1))
		say "ok $test_count - $test_desc_ # TODO known breakage vanished"
	else
		test_known_broken=$((test_known_broken + 1))
		say "not ok $test_count - $test_desc_ # TODO known breakage"
	fi
}

# test_must_fail CMD...: succeed when CMD fails in an orderly way (exit
# status 1-125); a crash (signal) or a missing command is still a failure.
test_must_fail() {
	"$@"
	local status=$?
	if [ $status -eq 0 ]; then
		echo "test_must_fail: '$*' succeeded" >&2
		return 1
	elif [ $status -gt 125 ]; then
		echo "test_must_fail: '$*' died or was not found (status $status)" >&2
		return 1
	fi
	return 0
}

# test_cmp EXPECTED ACTUAL: succeed when the files are identical, else show
# a unified diff (EXPECTED is the "-" side).
# test_expect_code CODE CMD...: CMD exits with status CODE
test_expect_code() {
	local want=$1 rc
	shift
	"$@"
	rc=$?
	[ "$rc" = "$want" ] && return 0
	echo "test_expect_code: '$*' exited $rc, not $want" >&2
	return 1
}

test_cmp() {
	[ $# -eq 2 ] || { echo "test_cmp: takes EXPECTED ACTUAL" >&2; return 2; }
	cmp -s -- "$1" "$2" && return 0
	diff -u -- "$1" "$2"
	return 1
}

# test_done: print the summary, record the counts and exit.
test_done() {
	local skipped=$((test_skipped + test_known_broken))
	say "1..$test_count"
	if [ $test_failed -eq 0 ]; then
		if [ $skipped -eq 0 ]; then
			say "# $TEST_NAME: passed all $test_passed test(s)"
		else
			say "# $TEST_NAME: passed all $test_passed test(s), $skipped skipped"
		fi
	else
		local list=$test_failures
		[ $test_failed -le 20 ] ||
			list="$(echo $test_failures | cut -d' ' -f1-20) ..."
		say "# $TEST_NAME: failed $test_failed among $test_count test(s): ${list# }"
	fi
	[ $test_known_broken -eq 0 ] || say "# $TEST_NAME: $test_known_broken known breakage(s)"
	if [ -n "${BCH_TEST_RESULTS:-}" ] && [ -d "$BCH_TEST_RESULTS" ]; then
		echo "passed $test_passed failed $test_failed skipped $skipped" \
			> "$BCH_TEST_RESULTS/$TEST_NAME.counts"
	fi
	cd "$TEST_OUT" || exit 1
	if [ $test_failed -eq 0 ] && [ -z "$test_debug" ]; then
		rm -rf "$TEST_TRASH"
		exit 0
	fi
	[ $test_failed -eq 0 ] || say "# output kept in $TEST_TRASH"
	[ $test_failed -eq 0 ]
	exit
}
