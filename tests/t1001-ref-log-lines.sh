#!/bin/bash
test_description='the reference'"'"'s log lines: ref_filter knows all of them

The differential tests remove the reference'"'"'s kernel-style log lines from
its stdout with ref_filter (tests/lib/oracle.sh), which knows each message
by its full text. This checks, on every corpus image, that
 - every line of `list -b BTREE` that is not a key line (starts with "u64s",
   is indented or blank) is one of those messages, so a new message cannot
   slip into the comparisons unnoticed;
 - the log lines come after the keys (the order oracle.sh documents);
 - `list_journal -a` logs only before its first journal entry;
 - `show-super -f all` logs nothing.
It runs only the reference, so it needs no bcachefs of ours.
'
. "$(dirname "$0")/lib/test-lib.sh"
. "$BCH_ROOT/tests/lib/oracle.sh"

BTREES="extents inodes dirents xattrs alloc quotas stripes reflink subvolumes
	snapshots lru freespace need_discard backpointers bucket_gens
	snapshot_trees deleted_inodes logged_ops rebalance_work
	subvolume_children accounting"

corpus_manifest > /dev/null || skip_all "no corpus; run tests/corpus/build.sh"
while read -r name reason; do
	test_skip "$name/*" "$reason"
done < <(corpus_skipped)

# is_log_line: stdin lines matching a known log message
is_log_line() {
	grep -E -e "$REF_LOG_PATTERNS"
}

# check_list_log OUT BTREE: OUT is a raw `list -b BTREE`
check_list_log() {
	local out=$1 bt=$2 other
	# a dirent name with a newline continues its key on a line of its own
	other=$(grep -v -E -e '^(u64s |[[:space:]]|$)' "$out" | grep -v -E -e "$REF_LOG_PATTERNS" |
		{ if [ "$bt" = dirents ]; then grep -v -E -e ' -> [0-9]+ type [a-z]+$'; else cat; fi; })
	if [ -n "$other" ]; then
		echo "list -b $bt: lines that are neither keys nor known log messages:"
		printf '%s\n' "$other" | head -n 10
		return 1
	fi
	# after the first log line, only log lines
	if PAT="$REF_LOG_PATTERNS" awk 'BEGIN { n = split(ENVIRON["PAT"], p, "\n") }
		{ log_line = 0; for (i = 1; i <= n; i++) if ($0 ~ p[i]) log_line = 1 }
		log_line { seen = 1; next }
		seen { print "key output after a log line: " $0; bad = 1; exit }
		END { exit !bad }' "$out"; then
		echo "in list -b $bt"
		return 1
	fi
}

check_image() {
	local img=$1 devs bt dev
	devs=$(corpus_devs "$img") || return 1
	for bt in $BTREES; do
		# shellcheck disable=SC2086
		ref_raw out "list" -b "$bt" $devs > /dev/null
		check_list_log out "$bt" || return 1
	done
	# shellcheck disable=SC2086
	ref_raw out list_journal -a $devs > /dev/null
	PAT="$REF_LOG_PATTERNS" awk 'BEGIN { n = split(ENVIRON["PAT"], p, "\n") }
		/^journal entry / { entries = 1 }
		{ log_line = 0; for (i = 1; i <= n; i++) if ($0 ~ p[i]) log_line = 1 }
		!entries && !log_line && NF { print "list_journal: unknown line before the entries: " $0; bad = 1 }
		entries && log_line { print "list_journal: log line among the entries: " $0; bad = 1 }
		END { exit bad }' out || return 1
	for dev in $devs; do
		ref_raw out show-super -f all "$dev" > /dev/null
		! is_log_line < out || { echo "show-super -f all $dev logs"; return 1; }
	done
}

for img in $(corpus_images); do
	test_expect_success "$img: only known log lines" "check_image '$img'"
done

test_done
