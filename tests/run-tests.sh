#!/bin/bash
# SPDX-License-Identifier: MIT
#
# run-tests.sh - run test programs and scripts, each under a timeout.
#
# Each test exits 0 (pass), 77 (skip; it prints why) or anything else (fail).
# Output goes to $GPUVM_BUILD/tests/logs/<name>.log; a failing test's last
# lines are shown.  The last line is "N passed, N failed, N skipped".
#
# Environment: TESTS="glob ..." runs only matching test names;
# TEST_TIMEOUT (seconds, default 180) bounds each test.

set -u
build=${GPUVM_BUILD:?GPUVM_BUILD not set (run through make check)}
timeout_s=${TEST_TIMEOUT:-180}
logdir=$build/tests/logs
mkdir -p "$logdir"

# Every test runs with cudasim's leak check on: nothing may be outstanding
# at exit.  A test that means to leave something behind unsets it.
export CUDASIM_LEAKCHECK=${CUDASIM_LEAKCHECK:-1}
export GPUVM_BUILD GPUVM_SRC

pass=0 fail=0 skip=0
failed=()

selected() {
	[ -z "${TESTS:-}" ] && return 0
	local pat
	for pat in $TESTS; do
		# shellcheck disable=SC2053
		[[ $1 == $pat ]] && return 0
	done
	return 1
}

for t in "$@"; do
	name=$(basename "$t")
	selected "$name" || continue
	log=$logdir/$name.log
	start=$EPOCHREALTIME
	timeout -k 10 "$timeout_s" "$t" >"$log" 2>&1 </dev/null
	rc=$?
	secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	case $rc in
	0)	pass=$((pass + 1)); printf '  PASS    %-36s %5ss\n' "$name" "$secs" ;;
	77)	skip=$((skip + 1))
		why=$(grep -i 'skip' "$log" | tail -n 1)
		printf '  SKIP    %-36s %s\n' "$name" "${why:-}" ;;
	124|137)
		fail=$((fail + 1)); failed+=("$name")
		printf '  FAIL    %-36s timed out after %ss\n' "$name" "$timeout_s"
		tail -n 20 "$log" | sed 's/^/          | /' ;;
	*)	fail=$((fail + 1)); failed+=("$name")
		printf '  FAIL    %-36s exit %d (log: %s)\n' "$name" "$rc" "$log"
		tail -n 30 "$log" | sed 's/^/          | /' ;;
	esac
done

[ $fail -gt 0 ] && echo "failed: ${failed[*]}"
if [ $skip -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ $fail -eq 0 ]
