#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_shim_procaddr.sh - issue 4, test 2: a program that finds every entry
# point through cuGetProcAddress_v2 as the CUDA runtime does (with a _ptsz
# request and a cudaVersion selecting the old cuMemAlloc) gets gpuvm memory
# under the shim, the driver's without it or with GPUVM_DISABLE=1.

. "$(dirname "$0")/shim-lib.sh"
need cu_procaddr

run_direct "$bindir/cu_procaddr" direct
run_shim "$bindir/cu_procaddr" routed
run_shim GPUVM_DISABLE=1 "$bindir/cu_procaddr" direct
echo "ok"
