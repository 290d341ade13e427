#!/bin/bash
test_description='the node cache: listing with a tiny cache (every unpinned node evicted and read again), or with the read-ahead thread, gives the same output as without either'
. "$(dirname "$0")/lib/test-lib.sh"

[ "${BCH_FILTER_OURS:-0}" = 1 ] && skip_all "tests our own binary, not the reference"
. "$BCH_ROOT/tests/lib/oracle.sh"
B="$BCH_ROOT/bcachefs"
corpus_manifest > /dev/null || skip_all "no corpus (run tests/corpus/build.sh)"

# images with several levels or many nodes
for img in full full-zstd-xxhash kernel-clean kernel-snapshots kernel-unclean multi3; do
	devs=$(corpus_devs "$img" 2>/dev/null) || continue
	for b in extents inodes dirents alloc backpointers accounting; do
		test_expect_success "$img/$b: keys and nodes with a 1-byte cache, and read ahead" '
			"$B" list -b '"$b"' --no-read-ahead '"$devs"' > want &&
			"$B" list -b '"$b"' --cache-size=1 '"$devs"' > got &&
			test_cmp want got &&
			"$B" list -b '"$b"' '"$devs"' > got &&
			test_cmp want got &&
			"$B" list -b '"$b"' -m nodes --no-read-ahead '"$devs"' > want &&
			"$B" list -b '"$b"' -m nodes --cache-size=1 '"$devs"' > got &&
			test_cmp want got &&
			"$B" list -b '"$b"' -m nodes '"$devs"' > got &&
			test_cmp want got
		'
	done
done

test_done
