# SPDX-License-Identifier: MIT
#
# stress-lib.sh - sourced by the test_stress*.sh scripts: run_stress NAME
# EXPECT ARGS... runs bin/gpuvm-stress with ARGS (the environment as given),
# shows its output, and checks its exit status (EXPECT: "0", or "0|1" for a
# run that may fail cleanly), that it found no corruption and, when it got
# to its summary, that errors and leaks are 0.

set -u
build=${GPUVM_BUILD:?run through make check}
stress=$build/bin/gpuvm-stress
[ -x "$stress" ] || { echo "skip: $stress not built"; exit 77; }
export GPUVM_RUNDIR=${GPUVM_RUNDIR:-$build/tests/run}
mkdir -p "$GPUVM_RUNDIR"
failures=0

run_stress() {
	local name=$1 expect=$2 out rc
	shift 2
	out=$(mktemp /tmp/gpuvm-stress-out.XXXXXX)
	"$stress" "$@" >"$out" 2>&1
	rc=$?
	sed "s/^/[$name] /" "$out"
	if ! [[ $rc =~ ^($expect)$ ]]; then
		echo "FAIL: $name: exit $rc (want $expect)"
		failures=$((failures + 1))
	elif grep -q 'CORRUPT\|\<ERROR\>\|LEAK\|AddressSanitizer\|ThreadSanitizer\|runtime error' "$out"; then
		echo "FAIL: $name: see above"
		failures=$((failures + 1))
	elif grep -q '^stress: .* ops in' "$out" &&
	     ! grep -q 'errors 0, leaks 0' "$out"; then
		echo "FAIL: $name: errors or leaks"
		failures=$((failures + 1))
	else
		echo "ok: $name (exit $rc)"
	fi
	rm -f "$out"
}

finish() {
	[ "$failures" -eq 0 ] || { echo "$failures failed"; exit 1; }
	exit 0
}
