#!/bin/bash
# bench/format.sh: how fast is our `format` against the reference's?
#
# Two cases, each formatted by ours ($BCH_OURS, default ./bcachefs) and by
# the reference, on new sparse files in ${BCH_BENCH_DIR:-tests/out/bench}
# (made before the clock starts), median of ${BCH_BENCH_RUNS:-3} runs each:
#   1tib     one 1 TiB device, default options (half a million buckets
#            whose allocation information format initializes)
#   3dev     three 64 GiB devices with labels, targets and replicas=2
# Prints both times and their ratio per case; there is no pass or fail.
# A run of the reference killed by a signal (it crashes now and then) is
# repeated; a run of ours that fails is reported and the case skipped.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u -o pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
OURS=${BCH_OURS:-$top/bcachefs}
REF=${BCH_REF:-$top/tests/oracle/ref-bcachefs}
DIR=${BCH_BENCH_DIR:-$top/tests/out/bench}/format
RUNS=${BCH_BENCH_RUNS:-3}

if [ ! -x "$OURS" ]; then
	echo "bench/format.sh: no bcachefs to time at $OURS (build it, or set BCH_OURS); nothing to do"
	exit 0
fi
"$REF" version > /dev/null 2>&1 || {
	echo "bench/format.sh: the reference tools do not run ($REF); nothing to do"
	exit 0
}

now() {
	date +%s.%N
}

since() {
	awk -v t0="$1" -v t1="$(now)" 'BEGIN { printf "%.3f\n", t1 - t0 }'
}

median() {
	sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# The cases: "SIZE..." and the format arguments (DEVn: the n-th device).
CASES="1tib 3dev"
case_sizes() {
	case $1 in
	1tib) echo 1T ;;
	3dev) echo 64G 64G 64G ;;
	esac
}
case_args() {
	case $1 in
	1tib) echo DEV0 ;;
	3dev) echo --replicas=2 --foreground_target=ssd --promote_target=ssd \
		--background_target=hdd --label=ssd DEV0 --label=hdd.a DEV1 --label=hdd.b DEV2 ;;
	esac
}

# format_once BINARY CASE: new devices, one format; prints its seconds, or
# "failed" (the log is in $DIR/format.log)
format_once() {
	local bin=$1 name=$2 i=0 s a t rc args=()
	rm -f "$DIR"/dev*.img
	for s in $(case_sizes "$name"); do
		truncate -s "$s" "$DIR/dev$i.img" || return 1
		i=$((i + 1))
	done
	for a in $(case_args "$name"); do
		for ((i = 0; i < 3; i++)); do a=${a//DEV$i/$DIR/dev$i.img}; done
		args+=("$a")
	done
	t=$(now)
	"$bin" format -q "${args[@]}" > "$DIR/format.log" 2>&1 < /dev/null
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "failed $rc"
	else
		since "$t"
	fi
}

# time_runs BINARY CASE: RUNS timings (a reference crash is run again)
time_runs() {
	local bin=$1 name=$2 n=0 tries=0 r
	while [ $n -lt "$RUNS" ] && [ $tries -lt $((RUNS + 5)) ]; do
		tries=$((tries + 1))
		r=$(format_once "$bin" "$name")
		case $r in
		"failed "*)
			local rc=${r#failed }
			[ "$bin" = "$REF" ] && [ "$rc" -ge 128 ] && continue
			echo "failed (status $rc): $(grep -v '^$' "$DIR/format.log" | tail -n 1)"
			return 1 ;;
		esac
		echo "$r"
		n=$((n + 1))
	done
}

mkdir -p "$DIR"
for name in $CASES; do
	echo "bench: format $name ($(case_sizes "$name" | wc -w) device(s): $(case_sizes "$name")), median of $RUNS runs"
	if ! ref_runs=$(time_runs "$REF" "$name"); then
		echo "reference: $(echo "$ref_runs" | tail -n 1)"
		continue
	fi
	if ! our_runs=$(time_runs "$OURS" "$name"); then
		echo "ours:      $(echo "$our_runs" | tail -n 1)"
		continue
	fi
	ref_t=$(echo "$ref_runs" | median)
	ours_t=$(echo "$our_runs" | median)
	printf 'reference: %8.3fs\n' "$ref_t"
	printf 'ours:      %8.3fs\n' "$ours_t"
	printf 'ratio:     %8.2fx (ours / reference; below 1 is faster)\n' \
		"$(awk -v a="$ours_t" -v b="$ref_t" 'BEGIN { print (b > 0 ? a / b : 0) }')"
done
rm -f "$DIR"/dev*.img
