#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_shim_linked.sh - issue 4, test 1: a program linked to libcuda.so.1
# calling cuMemAlloc_v2/cuMemFree_v2 gets gpuvm memory under the shim, the
# driver's without it or with GPUVM_DISABLE=1.

. "$(dirname "$0")/shim-lib.sh"
need cu_linked

run_direct "$bindir/cu_linked" direct
run_shim "$bindir/cu_linked" routed
run_shim GPUVM_DISABLE=1 "$bindir/cu_linked" direct
echo "ok"
