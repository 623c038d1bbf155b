#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_shim_libcuda.sh - GPUVM_LIBCUDA naming a library that is no CUDA
# driver (libz, libgpuvm.so) or the preload shim itself.  The shim refuses
# it in one line naming the path and what it lacks (or that it is the
# shim), and goes on with libcuda.so.1, as for a path it cannot open;
# libgpuvm refuses it too (gpuvm_init: -ENODEV), so the program's memory
# comes from the driver.  Nothing returns CUresult 500 and nothing spins:
# each run is bounded by timeout 20.

. "$(dirname "$0")/shim-lib.sh"
need cu_linked
need test_driver_init

GPUVM_RUNDIR=$(mktemp -d)
export GPUVM_RUNDIR
trap 'rm -rf "$GPUVM_RUNDIR"' EXIT

# run_bounded OUTVAR PROGRAM ARGS...: output in OUTVAR, a hang fails
run_bounded() {
	local -n _out=$1
	local rc
	shift
	echo "+ $*"
	_out=$(timeout 20 env "$@" 2>&1)
	rc=$?
	[ $rc = 124 ] && fail "$* did not finish in 20 s"
	[ $rc = 0 ] || fail "$* exited $rc: $_out"
	echo "$_out"
}

# refused LIB SHIM_WHY GPUVM_WHY
refused() {
	local lib=$1 out n

	run_bounded out LD_PRELOAD="$preload" GPUVM_LIBCUDA="$lib" "$bindir/cu_linked" direct
	n=$(grep -c "^gpuvm-shim\[[0-9]*\] warn: GPUVM_LIBCUDA=" <<<"$out")
	[ "$n" = 1 ] || fail "GPUVM_LIBCUDA=$lib: $n lines from the shim about it, want 1"
	grep -qF "GPUVM_LIBCUDA=$lib: $2" <<<"$out" ||
		fail "GPUVM_LIBCUDA=$lib: the shim did not say '$2'"
	grep -F "GPUVM_LIBCUDA=$lib: $2" <<<"$out" | grep -qF "; trying libcuda.so.1" ||
		fail "GPUVM_LIBCUDA=$lib: the shim did not go on with libcuda.so.1"
	grep -qF "$lib $3" <<<"$out" || fail "GPUVM_LIBCUDA=$lib: libgpuvm did not say '$3'"
	grep -q "CUresult 500" <<<"$out" && fail "GPUVM_LIBCUDA=$lib: CUresult 500"

	# libgpuvm alone (no shim around it)
	run_bounded out GPUVM_LIBCUDA="$lib" "$bindir/test_driver_init" refused
	grep -qF "$lib $3" <<<"$out" || fail "GPUVM_LIBCUDA=$lib: gpuvm_init did not say '$3'"
}

libz=$(ldconfig -p 2>/dev/null | awk '$1 == "libz.so.1" && /x86-64|AArch64|64bit/ { print $NF; exit }')
[ -n "$libz" ] || libz=/lib/x86_64-linux-gnu/libz.so.1
if [ -e "$libz" ]; then
	refused "$libz" "not a CUDA driver, it lacks cuInit, cuGetProcAddress, cuMemAlloc_v2, ..." \
		"is not a CUDA driver: it lacks cuInit, cuDeviceGetCount, cuDeviceGet, ..."
else
	echo "no libz.so.1 here: that case skipped"
fi
refused "$build/lib/libgpuvm.so" "not a CUDA driver, it lacks cuInit" \
	"is not a CUDA driver: it lacks cuInit"
refused "$shim" "gpuvm's preload shim, not a CUDA driver" \
	"is gpuvm's preload shim, not a CUDA driver"
# the same file by another name is still the shim
ln -s "$shim" "$GPUVM_RUNDIR/libcuda.so.1"
refused "$GPUVM_RUNDIR/libcuda.so.1" "gpuvm's preload shim, not a CUDA driver" \
	"is gpuvm's preload shim, not a CUDA driver"
echo "ok"
