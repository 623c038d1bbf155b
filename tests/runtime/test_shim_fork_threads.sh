#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_shim_fork_threads.sh - issue 4, test 6: threads allocating
# concurrently and fork after initialization, with and without the shim,
# and GPUVM_DISABLE=1 making the shim a pure pass-through.

. "$(dirname "$0")/shim-lib.sh"
need cu_fork_threads

run_direct "$bindir/cu_fork_threads" direct
run_shim "$bindir/cu_fork_threads" routed
run_shim GPUVM_DISABLE=1 "$bindir/cu_fork_threads" direct
echo "ok"
