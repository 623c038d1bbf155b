#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_shim_fragment.sh - issue 4, test 4: the fragmenting pattern fails with
# CUDA_ERROR_OUT_OF_MEMORY on a contiguous allocator although enough memory
# is free, and succeeds under the shim with every byte read back.
#
# The fragmenting driver is cudasim with CUDASIM_ALLOC=contiguous (first
# fit); paged cudasim, the default, serves the request as the real driver
# does, which the last run checks.

. "$(dirname "$0")/shim-lib.sh"
need cu_fragment
export CUDASIM_MEM=64M CUDASIM_ALLOC=contiguous

run_direct "$bindir/cu_fragment" direct
run_shim "$bindir/cu_fragment" routed
run_shim GPUVM_DISABLE=1 "$bindir/cu_fragment" direct
run_direct env CUDASIM_ALLOC=paged "$bindir/cu_fragment" direct
echo "ok"
