#!/bin/bash
# SPDX-License-Identifier: MIT
#
# run-bench.sh - `make bench`: run each benchmark program given as an
# argument (the vmm and shim microbenchmarks), then replay every bundled
# workload and every real trace bundled in tools/replay/traces through
# gpuvm and the allocator models and print the tables.
#
# Every comparison is a ratio between numbers measured in this same run;
# absolute times depend on the machine and are never pass/fail.  A
# benchmark that fails is reported and the others still run; the exit
# status says whether any failed.
#
# Environment (set by make): GPUVM_BUILD, GPUVM_SRC, LD_LIBRARY_PATH.
# BENCH_SEED (default 1) seeds the workloads; BENCH_COSTS names the cost
# file of the replay (see Documentation/trace.rst): by default the costs
# measured on an H100 (tools/replay/costs/h100.txt); set but empty, the
# replay's built-in public A100 figures.

set -u
build=${GPUVM_BUILD:?GPUVM_BUILD not set (run through make bench)}
seed=${BENCH_SEED:-1}
replay=$build/bin/gpuvm-replay
failed=0

for b in "$@"; do
	echo "== $(basename "$b")"
	if ! "$b"; then
		echo "   $(basename "$b") failed (exit $?)"
		failed=1
	fi
	echo
done

if [ ! -x "$replay" ]; then
	echo "run-bench: $replay not built; no replay" >&2
	exit 1
fi

tmp=$(mktemp -d /tmp/gpuvm-bench.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
costs=()
bench_costs=${BENCH_COSTS-${GPUVM_SRC:-.}/tools/replay/costs/h100.txt}
[ -n "$bench_costs" ] && costs=(--costs "$bench_costs")

for w in $("$replay" workload list | awk '{ print $1 }'); do
	echo "== replay: workload $w (seed $seed)"
	if ! "$replay" workload "$w" --seed "$seed" --out "$tmp/$w.trace" ||
	   ! "$replay" replay "$tmp/$w.trace" "${costs[@]}"; then
		echo "   replay of $w failed"
		failed=1
	fi
	echo
done

# the real jobs recorded on a GPU (tools/replay/traces)
for t in "${GPUVM_SRC:-.}"/tools/replay/traces/*.trace.xz; do
	[ -e "$t" ] || continue
	n=$(basename "$t" .trace.xz)
	echo "== replay: $n (recorded on a GPU, see tools/replay/traces/)"
	if ! xz -dc "$t" >"$tmp/$n.trace" || ! "$replay" replay "$tmp/$n.trace" "${costs[@]}"; then
		echo "   replay of $n failed"
		failed=1
	fi
	echo
done
exit $failed
