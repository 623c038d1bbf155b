#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_shim_trace_dropped.sh - trace_dropped in the status of a running
# shim program that never calls gpuvm_stats(): cu_trace_burst, traced
# through a 16-record ring, drops events; paused after its burst, its
# status (read from the segment by the gpuvm command) shows the drops
# within a second, exactly as many as the trace file holds by then (the
# program is idle, the writer has drained); at exit the file holds no
# fewer.

. "$(dirname "$0")/shim-lib.sh"
need cu_trace_burst
gpuvm=$build/bin/gpuvm

tmp=$(mktemp -d /tmp/gpuvm-trace-dropped.XXXXXX)
job=
cleanup() {
	[ -n "$job" ] && kill "$job" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
export GPUVM_RUNDIR=$tmp/run
mkdir "$GPUVM_RUNDIR"
mkfifo "$tmp/fifo"

env LD_PRELOAD="$preload" GPUVM_TRACE="$tmp/trace" GPUVM_TRACE_RING=16 \
	"$bindir/cu_trace_burst" "$tmp/fifo" >"$tmp/out" 2>&1 &
job=$!
pid=
for _ in $(seq 600); do
	pid=$(sed -n 's/^cu_trace_burst: paused pid=\([0-9]*\)$/\1/p' "$tmp/out")
	[ -n "$pid" ] && break
	kill -0 "$job" 2>/dev/null || break
	sleep 0.05
done
[ -n "$pid" ] || fail "cu_trace_burst did not pause: $(cat "$tmp/out")"

# The drops a trace file holds.
file_dropped() {
	"$gpuvm" trace dump "$1" | awk '$2 == "dropped" { n += $NF } END { print n + 0 }'
}

sleep 1
live=$("$gpuvm" status --direct "$pid" | sed -n 's/^trace_dropped: //p')
cp "$tmp/trace" "$tmp/trace.paused"
in_file=$(file_dropped "$tmp/trace.paused")
echo "paused: trace_dropped $live, the file $in_file"
[ -n "$live" ] && [ "$live" -gt 0 ] || fail "trace_dropped is '$live' while running, want > 0"
[ "$live" = "$in_file" ] || fail "trace_dropped $live, the file says $in_file"

echo go >"$tmp/fifo"
wait "$job"
rc=$?
job=
[ $rc = 0 ] || fail "cu_trace_burst exited $rc: $(tail -n 5 "$tmp/out")"
at_exit=$(file_dropped "$tmp/trace")
echo "at exit: the file $at_exit"
[ "$at_exit" -ge "$live" ] || fail "at exit the file says $at_exit, below $live"
echo "ok"
