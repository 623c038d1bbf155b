#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_cudart.sh - issue 13: ordinary CUDA runtime programs (host code
# only), each built by nvcc with the static runtime (the default) and with
# -cudart shared, run plain, under the shim and under the shim with
# GPUVM_DISABLE=1.  Each checks its data byte for byte; the runner's
# CUDASIM_LEAKCHECK=1 turns anything left outstanding into a failure.
#
# NVIDIA's runtime does not start on cudasim: it needs the driver's
# private export tables, one of which checks that the driver is NVIDIA's
# own (Documentation/cudasim.rst).  On cudasim every program must then fail
# the same documented way (cudaErrorSymbolNotFound at its first call, no
# crash, no leak) and the test is skipped with that reason; on a driver
# where the runtime starts, every run must pass.

. "$(dirname "$0")/../runtime/shim-lib.sh"

nvcc=${CUDA_HOME:-/usr/local/cuda}/bin/nvcc
if [ ! -x "$nvcc" ]; then
	echo "skip: no nvcc at $nvcc (set CUDA_HOME)"
	exit 77
fi
case ${SANITIZE:-} in
*thread*)
	# an instrumented cudasim in an uninstrumented program
	echo "skip: nvcc's programs cannot load a thread-sanitized libcuda"
	exit 77 ;;
esac
# What shim-lib puts ahead of the shim (the address sanitizer's runtime),
# the plain runs need too: cudasim is instrumented, the program is not.
san=${preload%"$shim"}
san=${san%:}
src=$(cd "$(dirname "$0")" && pwd)
out=$build/tests/cudart
mkdir -p "$out"
on_cudasim=0
case ":${LD_LIBRARY_PATH:-}:" in
*/lib/cudasim:*) on_cudasim=1 ;;
esac

progs=()
for cu in "$src"/cudart_*.cu; do
	name=$(basename "$cu" .cu)
	for rt in static shared; do
		bin=$out/$name-$rt
		if [ ! -x "$bin" ] || [ "$cu" -nt "$bin" ] ||
		   [ "$src/cudart_test.h" -nt "$bin" ]; then
			echo "+ nvcc -cudart $rt -o $bin $cu"
			"$nvcc" -O2 -cudart "$rt" -o "$bin.tmp" "$cu" || fail "nvcc $cu ($rt)"
			mv "$bin.tmp" "$bin"
		fi
		progs+=("$bin")
	done
done

passed=0 refused=0 reason=
# run LABEL PROGRAM [ENV...]: exit 0 passes; 77 is a runtime that did not
# start, which on cudasim must be the documented refusal.
run() {
	local label=$1 prog=$2 log rc
	shift 2
	log=$out/$(basename "$prog").$label.log
	echo "+ [$label] $prog"
	env "$@" "$prog" >"$log" 2>&1
	rc=$?
	cat "$log"
	grep -q '^cudasim: leak' "$log" && fail "$prog [$label]: cudasim reports a leak"
	case $rc in
	0)	passed=$((passed + 1)) ;;
	77)	refused=$((refused + 1))
		reason=$(grep '^skip:' "$log" | tail -n 1)
		if [ $on_cudasim = 1 ] && ! grep -qx 'runtime: cudaErrorSymbolNotFound' "$log"; then
			fail "$prog [$label]: the runtime failed otherwise than documented"
		fi ;;
	*)	fail "$prog [$label]: exit $rc" ;;
	esac
}

for p in "${progs[@]}"; do
	run plain "$p" ${san:+LD_PRELOAD="$san"}
	run shim "$p" LD_PRELOAD="$preload"
	run shim-disabled "$p" LD_PRELOAD="$preload" GPUVM_DISABLE=1
done

echo "$passed runs passed, $refused found the runtime refusing to start"
if [ $refused -gt 0 ] && [ $passed -gt 0 ]; then
	fail "the runtime started in some runs and not in others"
fi
if [ $refused -gt 0 ]; then
	echo "${reason:-skip: the CUDA runtime does not start}"
	exit 77
fi
echo "ok"
