#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_llmserve_capacity.sh - llmserve --capacity, which the main job uses on
# a real GPU: a 384 MiB device cut down to 96 MiB must run exactly like a
# 96 MiB device, plain and under gpuvm, and gpuvm must not see what was set
# aside (physical handles, not cuMemAlloc).  Bad values change nothing.
# 12 requests, not the main job's 40: the same story, a tenth of the bytes
# to verify (sanitizer builds run it too).
set -u
build=${GPUVM_BUILD:?}
llmserve=$build/bin/llmserve
gpuvm=$build/bin/gpuvm
fails=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

tmp=$(mktemp -d)
export GPUVM_RUNDIR=$tmp/run
mkdir "$GPUVM_RUNDIR"
trap 'rm -rf "$tmp"' EXIT
# plain must fragment for the comparison below: cudasim's first fit
export GPUVM_LIBCUDA=$build/lib/cudasim/libcuda.so.1 CUDASIM_LEAKCHECK=1
export CUDASIM_ALLOC=contiguous
cap=$((96 << 20))
args=(--requests 12)

# the workload's outcome: every result line but the set-aside's size
outcome() { grep '^result\.' "$1" | grep -v '^result\.ballast='; }

for mode in plain gpuvm; do
	if [ $mode = plain ]; then run=(); else run=("$gpuvm" run -q --); fi
	CUDASIM_MEM=96M "${run[@]}" "$llmserve" "${args[@]}" >"$tmp/small.$mode" 2>&1 ||
		fail "$mode on 96 MiB exited $?: $(tail -n 3 "$tmp/small.$mode")"
	CUDASIM_MEM=384M "${run[@]}" "$llmserve" "${args[@]}" --capacity $cap \
		>"$tmp/cut.$mode" 2>&1 ||
		fail "$mode with --capacity exited $?: $(tail -n 3 "$tmp/cut.$mode")"
	grep -q '^llmserve: capacity: 96 MiB of the device, 288 MiB set aside' "$tmp/cut.$mode" ||
		fail "$mode: no capacity line: $(head -n 3 "$tmp/cut.$mode")"
	grep -q '^result.ballast=301989888$' "$tmp/cut.$mode" ||
		fail "$mode: set-aside not 288 MiB: $(grep ballast "$tmp/cut.$mode")"
	[ -n "$(outcome "$tmp/small.$mode")" ] || fail "$mode: no result lines"
	diff <(outcome "$tmp/small.$mode") <(outcome "$tmp/cut.$mode") >"$tmp/diff" ||
		fail "$mode: --capacity differs from a 96 MiB device: $(cat "$tmp/diff")"
	grep -qi 'leak' "$tmp/cut.$mode" && fail "$mode: $(grep -i leak "$tmp/cut.$mode")"
done
# gpuvm served more than plain first-fit (CUDASIM_ALLOC=contiguous) on the same capacity
served() { sed -n 's/^result.served=//p' "$1"; }
[ "$(served "$tmp/cut.gpuvm")" -gt "$(served "$tmp/cut.plain")" ] ||
	fail "gpuvm served $(served "$tmp/cut.gpuvm"), plain $(served "$tmp/cut.plain")"

# a capacity above the device: the whole device, nothing set aside
out=$(CUDASIM_MEM=64M "$llmserve" "${args[@]}" --capacity $((1 << 40)) --quiet 2>&1)
grep -q '^result.ballast=0$' <<<"$out" || fail "capacity above the device set memory aside: $out"
out=$(CUDASIM_MEM=256M "$llmserve" --capacity 1000 2>&1)
[ $? = 2 ] || fail "--capacity 1000 accepted: $out"

[ $fails = 0 ] && echo "test_llmserve_capacity: ok"
[ $fails = 0 ]
