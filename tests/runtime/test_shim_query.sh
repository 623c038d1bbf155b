#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_shim_query.sh - issue 4, test 5: cuMemGetInfo under a limit, address
# range and pointer attributes of sub-allocated pointers, and a program's
# own cuMemCreate/cuMemMap memory left to the driver.

. "$(dirname "$0")/shim-lib.sh"
need cu_query
export CUDASIM_MEM=64M

run_direct "$bindir/cu_query" direct
run_direct "$bindir/cu_query" direct 32
run_shim "$bindir/cu_query" routed
run_shim GPUVM_LIMIT=32M "$bindir/cu_query" routed 32
run_shim GPUVM_DISABLE=1 GPUVM_LIMIT=32M "$bindir/cu_query" direct 32
echo "ok"
