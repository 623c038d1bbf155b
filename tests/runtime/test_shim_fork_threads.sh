#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_shim_fork_threads.sh - issue 4, test 6: threads allocating
# concurrently and fork after initialization, with and without the shim,
# and GPUVM_DISABLE=1 making the shim a pure pass-through.

. "$(dirname "$0")/shim-lib.sh"
need cu_fork_threads

# The routed child sets gpuvm up afresh, which starts its control thread,
# after a fork from a multi-threaded parent: legal with glibc, but TSan
# refuses it by default (it cannot vouch for its own state in such a child).
case ${SANITIZE:-} in
*thread*) export TSAN_OPTIONS=${TSAN_OPTIONS:-}${TSAN_OPTIONS:+:}die_after_fork=0 ;;
esac

run_direct "$bindir/cu_fork_threads" direct
run_shim "$bindir/cu_fork_threads" routed
run_shim GPUVM_DISABLE=1 "$bindir/cu_fork_threads" direct
echo "ok"
