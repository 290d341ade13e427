#!/bin/sh
# bench/overlay.sh: times the overlay index (bench/overlay.c); no pass or fail.
top=$(cd "$(dirname "$0")/.." && pwd)
bin=$top/build/rel/bench/overlay
if [ ! -x "$bin" ]; then
	echo "bench/overlay.sh: $bin not built (make build/rel/bench/overlay); nothing to do"
	exit 0
fi
exec "$bin" "$@"
