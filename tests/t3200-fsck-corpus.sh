#!/bin/bash
test_description='fsck -n on every corpus image: the verdict the reference gives, nothing written

Every corpus image (made by the reference, and by Linux 6.12: clean,
several devices, and left unclean with its journal to replay) is clean
for the reference: our fsck -n must find nothing on it (exit status 0,
no problem line; the unclean one is read as after replay, in memory), and
leave every device image as it was (no write: size, mtime and ctime to
the nanosecond unchanged; the images are large and sparse, hashing them
would cost minutes).  Those we cannot check
yet (encryption) must be refused with exit status 8, still
writing nothing.
'
. "$(dirname "$0")/lib/test-lib.sh"
. "$BCH_ROOT/tests/lib/oracle.sh"

have_ours || skip_all "no bcachefs to test at $BCH_OURS (set BCH_OURS)"
[ -f "$BCH_CORPUS/full/dev0.img" ] || skip_all "corpus image full is not built"

for img in $(corpus_images); do
	want=0
	case $img in
	encrypted) want=8 ;;
	esac
	test_expect_success "$img: fsck -n exits $want, writes nothing" '
		devs=$(corpus_devs '"$img"') &&
		stat -c "%n %s %y %z" $devs > before &&
		{ ours fsck -n $devs > out 2>&1; rc=$?; } &&
		cat out &&
		test $rc = '"$want"' &&
		{ test '"$want"' = 0 || grep -q ": the filesystem is encrypted: encryption is not supported yet$" out; } &&
		! grep -E "\[[a-z0-9_]+\]" out &&
		stat -c "%n %s %y %z" $devs > after && test_cmp before after
	'
done

test_done
