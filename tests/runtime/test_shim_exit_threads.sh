#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_shim_exit_threads.sh - issue 19, item 8: exit(), quick_exit(), a
# return from main and dlclose() of libgpuvm.so while four threads
# allocate and free.  Each way, 10 runs: exit status 0 (no crash, no hang),
# the process's segments removed from the run directory, and cudasim's
# leak check clean where gpuvm could tear down.

. "$(dirname "$0")/shim-lib.sh"
need cu_exit_threads
export CUDASIM_MEM=256M

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export GPUVM_RUNDIR=$tmp/run
mkdir -m 0700 "$GPUVM_RUNDIR"
runs=${EXIT_RUNS:-10}

# once HOW RUNNER...: one run, bounded in time, the run directory empty after
once() {
	local how=$1 rc
	shift
	timeout 60 "$@" >"$tmp/out" 2>&1
	rc=$?
	if [ $rc -ne 0 ]; then
		cat "$tmp/out"
		[ $rc -eq 124 ] && fail "$how: hung"
		fail "$how: exit $rc"
	fi
	[ -z "$(ls -A "$GPUVM_RUNDIR")" ] ||
		fail "$how: left in the run directory: $(ls "$GPUVM_RUNDIR")"
}

for how in exit quick_exit return; do
	echo "+ $runs x cu_exit_threads routed $how"
	for _ in $(seq "$runs"); do
		once "$how" env LD_PRELOAD="$preload" "$bindir/cu_exit_threads" routed $how
	done
	# the driver alone (threads may be inside cuMemAlloc: no leak check)
	once "direct $how" env CUDASIM_LEAKCHECK=0 "$bindir/cu_exit_threads" direct $how
done
grep -q "leak" "$tmp/out" && fail "leak report: $(cat "$tmp/out")"

echo "+ $runs x cu_exit_threads dlclose libgpuvm.so"
for _ in $(seq "$runs"); do
	once dlclose "$bindir/cu_exit_threads" dlclose "$build/lib/libgpuvm.so"
done
grep -q "returning from main" "$tmp/out" || fail "dlclose: did not get to the end"
echo "ok"
