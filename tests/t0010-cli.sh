#!/bin/bash
test_description='the command line: every command answers --help, usage errors fail, the man page is current'
. "$(dirname "$0")/lib/test-lib.sh"

# These check our own binary's interface: nothing to do when the reference
# stands in for it (run-tests.sh --self-check).
[ "${BCH_FILTER_OURS:-0}" = 1 ] && skip_all "tests our own binary, not the reference"

B="$BCH_ROOT/bcachefs"

test_expect_success 'top-level help lists every command' '
	"$B" --help > help &&
	for c in $("$B" --list-commands); do grep -q "^  $c " help || exit 1; done
'

for c in $("$B" --list-commands); do
	test_expect_success "$c --help prints its usage and exits 0" '
		"$B" '"$c"' --help > out &&
		grep -q "^Usage: bcachefs '"$c"' " out &&
		"$B" '"$c"' -h > out2 && test_cmp out out2
	'
	# fsck exits as fsck(8) says: 16 for a usage error
	usage=2
	[ "$c" = fsck ] && usage=16
	test_expect_success "$c rejects an unknown option with status $usage" '
		"$B" '"$c"' --no-such-option 2> err; test $? -eq '$usage' &&
		grep -q "no-such-option" err
	'
done

test_expect_success 'an unknown command is a usage error' '
	"$B" no-such-command 2> err; test $? -eq 2 && grep -q "unknown command" err
'

test_expect_success 'no command at all is a usage error' '
	"$B" 2> err; test $? -eq 2
'

test_expect_success 'the committed man page is the one the tables make' '
	"$B" --man-page > man && test_cmp "$BCH_ROOT/bcachefs.8" man
'

test_expect_success 'mkfs.bcachefs and fsck.bcachefs entry points exist' '
	test -x "$BCH_ROOT/mkfs.bcachefs" && test -x "$BCH_ROOT/fsck.bcachefs"
'

test_expect_success 'a missing device is a clear error, exit 1' '
	"$B" show-super /nonexistent/dev 2> err; test $? -eq 1 &&
	grep -q "/nonexistent/dev" err
'

test_expect_success 'version names the metadata version' '
	"$B" version > out && grep -q "1.13: inode_has_child_snapshots" out
'

test_done
