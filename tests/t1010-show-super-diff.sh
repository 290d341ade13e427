#!/bin/bash
test_description='show-super: every device of every corpus image, ours against the reference

`bcachefs show-super DEV`, `show-super -f all DEV` and `show-super -l DEV`
(the layout) must print what the reference prints, line for line.
'
. "$(dirname "$0")/lib/test-lib.sh"
. "$BCH_ROOT/tests/lib/oracle.sh"

# Deliberate differences, "TEST-NAME-GLOB|reason" (see t1000).
KNOWN_DIFFERENCES=(
)

corpus_prologue

# test names: IMAGE/devN show-super [OPTIONS]
for img in $(corpus_images); do
	n=0
	for dev in $(corpus_devs "$img"); do
		cmp_queue "$img/dev$n show-super" show-super "$dev"
		cmp_queue "$img/dev$n show-super -f all" show-super -f all "$dev"
		cmp_queue "$img/dev$n show-super -l" show-super -l "$dev"
		n=$((n + 1))
	done
done
cmp_run_queue

for img in $(corpus_images); do
	n=0
	for dev in $(corpus_devs "$img"); do
		cmp_expect "$img/dev$n show-super"
		cmp_expect "$img/dev$n show-super -f all"
		cmp_expect "$img/dev$n show-super -l"
		n=$((n + 1))
	done
done

test_done
