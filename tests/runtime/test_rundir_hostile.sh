#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_rundir_hostile.sh - issue 19, items 1, 2, 4 and 8's orphans: what
# another user can plant in the run directory or at a trace path neither
# hangs a gpuvm program nor makes it write through a link, into someone
# else's file, or into a directory that others can rearrange.  The cases
# of a second user run as nobody (setpriv) when we are root.

. "$(dirname "$0")/shim-lib.sh"
need cu_query
export CUDASIM_MEM=64M

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 0755 "$tmp"
run=$tmp/run
export GPUVM_RUNDIR=$run
mkdir -m 01777 "$run"
chmod 01777 "$run"

# run_capture NAME VAR=value...: cu_query under the shim, bounded in time
# (a hang is the failure we look for), its stderr kept in $tmp/NAME.err.
run_capture() {
	local name=$1
	shift
	echo "+ $* cu_query routed"
	timeout 30 env LD_PRELOAD="$preload" "$@" "$bindir/cu_query" routed \
		2>"$tmp/$name.err" >/dev/null
	local rc=$?
	cat "$tmp/$name.err"
	[ $rc -eq 124 ] && fail "$name: the program hung"
	[ $rc -eq 0 ] || fail "$name: exit $rc"
}

published() {
	! grep -q "gpuvmfs will not see this process" "$tmp/$1.err"
}

# 1. A FIFO at a live pid's state name, and a FIFO as the trace file.
mkfifo "$run/1.state" "$tmp/fifo.trace"
run_capture fifo GPUVM_TRACE="$tmp/fifo.trace"
published fifo || fail "a FIFO in the run directory kept the process unpublished"
grep -q "cannot write the trace" "$tmp/fifo.err" || fail "a FIFO trace was not refused"
[ -p "$run/1.state" ] || fail "the FIFO (not ours to judge) was removed"
rm -f "$run/1.state"

# 2. A trace path that is a link to a file we must not overwrite.
echo precious >"$tmp/victim"
ln -s "$tmp/victim" "$tmp/link.trace"
run_capture link GPUVM_TRACE="$tmp/link.trace"
[ "$(cat "$tmp/victim")" = precious ] || fail "the trace was written through a link"

# A trace of our own is created 0600.
run_capture trace GPUVM_TRACE="$tmp/own.trace"
[ "$(stat -c %a "$tmp/own.trace")" = 600 ] || fail "the trace is not mode 0600"
[ -s "$tmp/own.trace" ] || fail "no trace was written"

# Stale files of dead pids are removed, control segments too; a link
# named like one is never followed nor judged.
touch "$run/999999999.ctl" "$run/999999998.state"
ln -s "$tmp/victim" "$run/999999997.state"
run_capture stale
[ -e "$run/999999999.ctl" ] && fail "an orphan control segment stayed"
[ -e "$run/999999998.state" ] && fail "a dead process's state segment stayed"
[ -L "$run/999999997.state" ] || fail "a link in the run directory was removed"
[ "$(cat "$tmp/victim")" = precious ] || fail "a link in the run directory was followed"
rm -f "$run/999999997.state"

# A live pid (1) whose state segment names another start time is a reused
# pid: its state and control segments both go.
python3 -c '
import struct, sys
h = bytearray(4096)
struct.pack_into("<I", h, 0, 0x53564d47)	# GPUVM_STATE_MAGIC
struct.pack_into("<Q", h, 40, 1 << 62)	# start_time, never pid 1s
open(sys.argv[1], "wb").write(h)' "$run/1.state"
touch "$run/1.ctl"
run_capture reused
[ -e "$run/1.state" ] && fail "a reused pid's state segment stayed"
[ -e "$run/1.ctl" ] && fail "a reused pid's control segment stayed"

# 4. A run directory others may rearrange (not sticky), or a link to one,
# is refused: the program runs, unpublished, and says so.
mkdir -m 0777 "$tmp/open"
chmod 0777 "$tmp/open"
run_capture open GPUVM_RUNDIR="$tmp/open"
published open && fail "a world-writable, non-sticky run directory was used"
grep -q "refusing the run directory" "$tmp/open.err" || fail "no reason was given"
ln -s "$run" "$tmp/linkdir"
run_capture linkdir GPUVM_RUNDIR="$tmp/linkdir"
published linkdir && fail "a symlinked run directory was used"

if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
	# 2. A world-writable file planted by another user at the trace path
	# gets nothing of ours.
	as_nobody touch "$run/planted.trace"
	as_nobody chmod 0666 "$run/planted.trace"
	run_capture planted GPUVM_TRACE="$run/planted.trace"
	[ -s "$run/planted.trace" ] && fail "our trace went into another user's file"
	# 4. A run directory another user made for us is refused.
	as_nobody mkdir -m 0700 "$run/theirs"
	run_capture theirs GPUVM_RUNDIR="$run/theirs"
	published theirs && fail "another user's run directory was used"
	grep -q "belongs to another user" "$tmp/theirs.err" || fail "no reason was given"
	# 1, as another user: their FIFO at a live pid's name.
	as_nobody mkfifo "$run/1.state"
	run_capture theirfifo
	published theirfifo || fail "another user's FIFO kept the process unpublished"
else
	echo "(not root or no setpriv: the second-user cases are not run)"
fi
echo "ok"
