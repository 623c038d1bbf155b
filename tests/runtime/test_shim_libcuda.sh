#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_shim_libcuda.sh - GPUVM_LIBCUDA naming a library that is no CUDA
# driver (libz, libgpuvm.so) or the preload shim itself.  The one loader
# (vmm/cuda_driver.c) passes it over in one line naming the path and what
# it lacks (or that it is the shim) and opens libcuda.so.1 instead, for the
# shim and libgpuvm alike: under the shim the program's memory is still
# routed to gpuvm, on the same driver the shim passes calls to.  With no
# libcuda.so.1 either, gpuvm_init() fails with -ENODEV, each time.  Nothing
# returns CUresult 500 and nothing spins: each run is bounded by timeout 20.

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

# passed_over LIB WHY: one warning "GPUVM_LIBCUDA=LIB WHY; using libcuda.so.1"
passed_over() {
	local lib=$1 out n

	run_bounded out LD_PRELOAD="$preload" GPUVM_LIBCUDA="$lib" "$bindir/cu_linked" routed
	n=$(grep -c "GPUVM_LIBCUDA=" <<<"$out")
	[ "$n" = 1 ] || fail "GPUVM_LIBCUDA=$lib: $n lines about it, want 1"
	grep -qF "gpuvm[" <<<"$out" || fail "GPUVM_LIBCUDA=$lib: not said by libgpuvm's loader"
	grep -qF "GPUVM_LIBCUDA=$lib $2; using libcuda.so.1" <<<"$out" ||
		fail "GPUVM_LIBCUDA=$lib: no '$2; using libcuda.so.1'"
	grep -q "CUresult 500" <<<"$out" && fail "GPUVM_LIBCUDA=$lib: CUresult 500"

	# libgpuvm alone (no shim around it): initialized on libcuda.so.1
	run_bounded out GPUVM_LIBCUDA="$lib" "$bindir/test_driver_init"
	grep -qF "GPUVM_LIBCUDA=$lib $2; using libcuda.so.1" <<<"$out" ||
		fail "GPUVM_LIBCUDA=$lib, no shim: no '$2; using libcuda.so.1'"
	# and without a libcuda.so.1 to fall back on, no driver at all
	run_bounded out LD_LIBRARY_PATH= GPUVM_LIBCUDA="$lib" "$bindir/test_driver_init" refused
	grep -q "no CUDA driver: libcuda.so.1 cannot be opened" <<<"$out" ||
		fail "GPUVM_LIBCUDA=$lib, no libcuda.so.1: not said"
}

libz=$(ldconfig -p 2>/dev/null | awk '$1 == "libz.so.1" && /x86-64|AArch64|64bit/ { print $NF; exit }')
[ -n "$libz" ] || libz=/lib/x86_64-linux-gnu/libz.so.1
if [ -e "$libz" ]; then
	passed_over "$libz" "is not a CUDA driver: it lacks cuInit, cuDriverGetVersion, cuDeviceGetCount, ..."
else
	echo "no libz.so.1 here: that case skipped"
fi
passed_over "$build/lib/libgpuvm.so" "is not a CUDA driver: it lacks cuInit, cuDriverGetVersion, cuDeviceGetCount, ..."
passed_over "$shim" "is gpuvm's preload shim, not a CUDA driver"
# the same file by another name is still the shim
ln -s "$shim" "$GPUVM_RUNDIR/libcuda.so.1"
passed_over "$GPUVM_RUNDIR/libcuda.so.1" "is gpuvm's preload shim, not a CUDA driver"
echo "ok"
