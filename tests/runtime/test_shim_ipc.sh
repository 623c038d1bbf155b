#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_shim_ipc.sh - legacy CUDA IPC on gpuvm memory between unmodified
# driver-API processes (cu_ipc): both directions, the same handle opened
# twice, eight consumers at once, a consumer killed, forged, truncated,
# stale and (as root) another user's handles refused, the exporter freeing
# and exiting while a consumer reads.  Every process runs with cudasim's
# leak check.

. "$(dirname "$0")/shim-lib.sh"
need cu_ipc
export CUDASIM_MEM=512M CUDASIM_LEAKCHECK=1
export GPUVM_RUNDIR=$(mktemp -d)
chmod 700 "$GPUVM_RUNDIR"
trap 'rm -rf "$GPUVM_RUNDIR"' EXIT

nobody=
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	nobody=CU_IPC_NOBODY=1
fi
run_direct "$bindir/cu_ipc" direct
run_shim $nobody CU_IPC_GPUVM="$build/bin/gpuvm" timeout 120 "$bindir/cu_ipc" routed
run_shim GPUVM_DISABLE=1 "$bindir/cu_ipc" direct
# nothing is left behind in the run directory: no socket of a gone process
left=$(find "$GPUVM_RUNDIR" -name '*.ipc')
[ -z "$left" ] || fail "sockets left in the run directory: $left"
echo "ok"
