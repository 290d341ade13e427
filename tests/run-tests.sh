#!/bin/bash
# run-tests.sh [-v] [--no-build] [--no-kernel] [--self-check]: build the
# image corpus, then run every tests/t[0-9]*.sh and add up their results.
#
#   -v            show every test's output (passed on to the scripts)
#   --no-build    use the corpus as it is (do not run tests/corpus/build.sh)
#   --no-kernel   build the corpus without the kernel VM images
#   --self-check  test the harness itself: the reference stands in for ours
#                 (BCH_OURS=tests/oracle/ref-bcachefs, BCH_FILTER_OURS=1);
#                 everything must pass
#
# The kernel-VM-bound scripts (BCH_TEST_BACKGROUND names them) run in a
# second lane beside the others and report last.
# BCH_TESTS="t1000*" selects scripts by glob; other BCH_* variables are
# described in tests/lib/test-lib.sh and tests/lib/oracle.sh. Each script's
# full output is kept in tests/out/results/<run>/<script>.log; without -v only
# failures and summaries are shown. The last line is "N passed, N failed"
# (", N skipped" when some were); the exit status is non-zero when anything
# failed, including the corpus build.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
export BCH_ROOT=$top
verbose=
build=1
build_args=()
while [ $# -gt 0 ]; do
	case $1 in
	-v | --verbose) verbose=1 ;;
	--no-build) build= ;;
	--no-kernel) build_args+=(-k) ;;
	--self-check)
		export BCH_OURS="$top/tests/oracle/ref-bcachefs" BCH_FILTER_OURS=1 ;;
	-h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "run-tests.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

# one results directory per run (runs may overlap in a shared work tree);
# the five newest are kept
mkdir -p "$top/tests/out/results"
results=$(mktemp -d "$top/tests/out/results/$(date +%Y%m%d-%H%M%S).XXXX") || exit 1
ls -1d "$top"/tests/out/results/*/ 2>/dev/null | head -n -5 | xargs -r rm -rf
export BCH_TEST_RESULTS=$results

passed=0
failed=0
skipped=0
t0=$(date +%s)

if [ -n "$build" ]; then
	echo "=== building the corpus (tests/corpus/build.sh)"
	if ! "$top/tests/corpus/build.sh" "${build_args[@]}" 2>&1 | tee "$results/corpus-build.log"; then
		echo "=== corpus build FAILED (log: $results/corpus-build.log)"
		failed=$((failed + 1))
	fi
fi

# run_one NAME SCRIPT: runs SCRIPT, its full output in NAME.log, what is
# shown of it in NAME.shown (all of it with -v), its exit status in
# NAME.status and its seconds in NAME.time
run_one() {
	local name=$1 script=$2 start status

	start=$(date +%s)
	if [ -n "$verbose" ]; then
		# shown as it comes (only the foreground lane runs then)
		bash "$script" -v 2>&1 | tee "$results/$name.log"
		: > "$results/$name.shown"
	else
		# failures (with their details), skips with their reasons, summaries
		bash "$script" 2>&1 | tee "$results/$name.log" |
			awk '/^not ok / { show = 1; print; next }
			     /^ok .* # skip / && !/not selected by --run/ { show = 0; print; next }
			     /^ok / { show = 0; next }
			     /^1\.\./ { show = 0; if ($0 ~ /SKIP/) print; next }
			     /^# [a-z0-9-]+: / || /^# output kept/ { print; next }
			     show || /^# running/ { print }' > "$results/$name.shown"
	fi
	status=${PIPESTATUS[0]}
	echo "$status" > "$results/$name.status"
	echo $(($(date +%s) - start)) > "$results/$name.time"
}

# report NAME [-q]: prints what run_one kept of NAME (-q: without its
# heading) and adds up its counts
report() {
	local name=$1 status counts p f s

	[ "${2:-}" = -q ] || echo "=== $name"
	cat "$results/$name.shown"
	status=$(cat "$results/$name.status")
	counts="$results/$name.counts"
	if [ -f "$counts" ]; then
		read -r _ p _ f _ s < "$counts"
		passed=$((passed + p))
		failed=$((failed + f))
		skipped=$((skipped + s))
		if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
			echo "=== $name exited $status without a failed test: counted as a failure"
			failed=$((failed + 1))
		fi
	else
		echo "=== $name ended (status $status) before test_done: counted as a failure"
		failed=$((failed + 1))
	fi
	echo "=== $name: $(cat "$results/$name.time")s"
}

# The scripts whose time goes mostly to the kernel VM (one emulated CPU)
# run in a second lane beside the others, and report at the end: on two
# cores that saves most of their time. Not with -v (outputs would mix).
BACKGROUND=" ${BCH_TEST_BACKGROUND:-t2400-format-interop t2800-format-source} "
[ -z "$verbose" ] || BACKGROUND=
names=()
scripts=()
for script in "$top"/tests/t[0-9]*.sh; do
	[ -e "$script" ] || continue
	name=$(basename "$script" .sh)
	# shellcheck disable=SC2053
	[[ $name == ${BCH_TESTS:-*} || $name.sh == ${BCH_TESTS:-*} ]] || continue
	names+=("$name")
	scripts+=("$script")
done
ran=${#names[@]}
lane=
for i in "${!names[@]}"; do
	[[ $BACKGROUND == *" ${names[$i]} "* ]] && lane+=" $i"
done
if [ -n "$lane" ]; then
	( for i in $lane; do run_one "${names[$i]}" "${scripts[$i]}"; done ) &
	lane_pid=$!
	echo "=== running beside the others:$(for i in $lane; do printf ' %s' "${names[$i]}"; done)"
fi
for i in "${!names[@]}"; do
	[[ " $lane " == *" $i "* ]] && continue
	name=${names[$i]}
	# with -v the output shows as it comes, after the heading
	[ -z "$verbose" ] || echo "=== $name"
	run_one "$name" "${scripts[$i]}"
	report "$name" ${verbose:+-q}
done
if [ -n "$lane" ]; then
	wait "$lane_pid"
	for i in $lane; do
		report "${names[$i]}"
	done
fi
[ $ran -gt 0 ] || echo "=== no test script matches BCH_TESTS='${BCH_TESTS:-}'"

echo "=== total time $(($(date +%s) - t0))s; logs in $results"
if [ $skipped -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ $failed -eq 0 ]
