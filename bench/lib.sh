# bench/lib.sh: helpers the benchmarks share (sourced; bash).
#
#	bench_setup NAME       OURS, REF, RUNS and DIR ($BCH_BENCH_DIR/NAME, made)
#	                       for bench/NAME.sh; exits 0 saying why when ours,
#	                       the reference or /usr/bin/time cannot run
#	bench_median           the median of the numbers on stdin, one a line
#	bench_timed LOG CMD... runs CMD (output to LOG) under /usr/bin/time:
#	                       prints "SECONDS MAX_RSS_KIB", or "failed" when
#	                       it exits non-zero; a run of the reference ($REF)
#	                       killed by a signal (it crashes now and then) is
#	                       repeated, twice at most
# shellcheck shell=bash

bench_setup() {
	local top
	top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	OURS=${BCH_OURS:-$top/bcachefs}
	REF=${BCH_REF:-$top/tests/oracle/ref-bcachefs}
	DIR=${BCH_BENCH_DIR:-$top/tests/out/bench}/$1
	RUNS=${BCH_BENCH_RUNS:-3}
	if [ ! -x "$OURS" ]; then
		echo "bench/$1.sh: no bcachefs to time at $OURS (build it, or set BCH_OURS); nothing to do"
		exit 0
	fi
	if ! "$REF" version > /dev/null 2>&1; then
		echo "bench/$1.sh: the reference tools do not run ($REF); nothing to do"
		exit 0
	fi
	if ! command -v /usr/bin/time > /dev/null; then
		echo "bench/$1.sh: needs /usr/bin/time (package time)"
		exit 0
	fi
	mkdir -p "$DIR" || exit 1
}

bench_median() {
	sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

bench_timed() {
	local log=$1 tf i rc
	shift
	tf=$(mktemp)
	for i in 1 2 3; do
		/usr/bin/time -o "$tf" -f "%e %M" "$@" > "$log" 2>&1 < /dev/null
		rc=$?
		[ "$1" = "${REF:-}" ] && grep -q "terminated by signal" "$tf" && continue
		break
	done
	if [ $rc = 0 ]; then
		tail -n 1 "$tf"
	else
		echo failed
	fi
	rm -f "$tf"
}
