# bench/lib.sh: helpers the benchmarks share (sourced; bash).
#
#	bench_median           the median of the numbers on stdin, one a line
#	bench_timed LOG CMD... runs CMD (output to LOG) under /usr/bin/time:
#	                       prints "SECONDS MAX_RSS_KIB", or "failed" when
#	                       it exits non-zero; a run of the reference ($REF)
#	                       killed by a signal (it crashes now and then) is
#	                       repeated, twice at most
# shellcheck shell=bash

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
