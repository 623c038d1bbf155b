#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_rundir_hostile.sh - issue 19, items 1, 2, 4, 5, 6 and 8's orphans:
# what another user can plant in a run directory or at a trace path
# neither hangs a gpuvm program nor makes it write through a link, into
# someone else's file, or into a directory that others can rearrange; each
# user's own run directory is 0700, and a root gpuvmfs (and `gpuvm ps`)
# with none named serves every user's.  The cases of a second user run as
# nobody and as a test uid (setpriv) when we are root.

. "$(dirname "$0")/shim-lib.sh"
need cu_query
export CUDASIM_MEM=64M

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 0755 "$tmp"
run=$tmp/run
export GPUVM_RUNDIR=$run
mkdir -m 0700 "$run"

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

# 4. A run directory others may write (sticky or not), or a link to one,
# is refused: the program runs, unpublished, and says so.
for mode in 0777 01777 0770; do
	mkdir -m $mode "$tmp/open$mode"
	chmod $mode "$tmp/open$mode"
	run_capture open$mode GPUVM_RUNDIR="$tmp/open$mode" CU_QUERY_IPC=refused
	published open$mode && fail "a run directory of mode $mode was used"
	[ -z "$(find "$tmp/open$mode" -name '*.ipc')" ] ||
		fail "mode $mode: an IPC socket was made there"
	grep -q "refusing the run directory.*writable by other users" "$tmp/open$mode.err" ||
		fail "mode $mode: no reason was given"
done
ln -s "$run" "$tmp/linkdir"
run_capture linkdir GPUVM_RUNDIR="$tmp/linkdir" CU_QUERY_IPC=refused
published linkdir && fail "a symlinked run directory was used"

# 5. An empty leftover at our own pid's state name (a pid reused after a
# crash) is replaced, not a reason to run unpublished.
echo "+ leftover $run/<pid>.state"
timeout 30 env LD_PRELOAD="$preload" sh -c \
	'touch "$GPUVM_RUNDIR/$$.state" "$GPUVM_RUNDIR/$$.ctl"; exec "$0" routed' \
	"$bindir/cu_query" 2>"$tmp/leftover.err" >/dev/null || fail "leftover: exit $?"
cat "$tmp/leftover.err"
published leftover || fail "an empty leftover at our pid's name kept us unpublished"

if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
	# a user of our own making, so no real user's run directory is touched
	victim=40001
	as_victim() { setpriv --reuid=$victim --regid=$victim --clear-groups "$@"; }
	vdir=/dev/shm/gpuvm-$victim
	rm -rf "$vdir"
	trap 'rm -rf "$tmp" "$vdir" /dev/shm/gpuvm-40002' EXIT
	shared=$tmp/shared
	mkdir -m 01777 "$shared"
	chmod 01777 "$shared"

	# 1, 4, 5: nobody cannot put anything in our run directory.
	as_nobody mkfifo "$run/1.state" 2>/dev/null && fail "nobody made a FIFO in our run directory"
	as_nobody touch "$run/2.state" 2>/dev/null && fail "nobody made a file in our run directory"
	# 2. A world-writable file planted by another user at the trace path
	# gets nothing of ours.
	as_nobody touch "$shared/planted.trace"
	as_nobody chmod 0666 "$shared/planted.trace"
	run_capture planted GPUVM_TRACE="$shared/planted.trace"
	[ -s "$shared/planted.trace" ] && fail "our trace went into another user's file"
	# 4. A run directory another user made for us is refused.
	as_nobody mkdir -m 0700 "$shared/theirs"
	run_capture theirs GPUVM_RUNDIR="$shared/theirs" CU_QUERY_IPC=refused
	published theirs && fail "another user's run directory was used"
	grep -q "belongs to another user" "$tmp/theirs.err" || fail "no reason was given"

	# With nothing set, a user's run directory is its own, made 0700.
	chmod 0755 "$tmp"
	echo "+ as uid $victim, no GPUVM_RUNDIR"
	timeout 30 setpriv --reuid=$victim --regid=$victim --clear-groups env -u GPUVM_RUNDIR LD_PRELOAD="$preload" "$bindir/cu_query" routed \
		2>"$tmp/own.err" >/dev/null || fail "own: exit $?"
	cat "$tmp/own.err"
	published own || fail "the default run directory was not used"
	[ "$(stat -c '%a %u' "$vdir")" = "700 $victim" ] ||
		fail "the default run directory is $(stat -c '%a %u' "$vdir"), not 700 $victim"
	as_nobody touch "$vdir/3.state" 2>/dev/null && fail "nobody wrote into a user's run directory"

	# ... and one another user made first is refused, with the way out.
	rm -rf "$vdir"
	as_nobody mkdir -m 0777 "$vdir"
	as_nobody chmod 0777 "$vdir"
	timeout 30 setpriv --reuid=$victim --regid=$victim --clear-groups env -u GPUVM_RUNDIR CU_QUERY_IPC=refused LD_PRELOAD="$preload" "$bindir/cu_query" routed \
		2>"$tmp/squat.err" >/dev/null || fail "squat: exit $?"
	cat "$tmp/squat.err"
	published squat && fail "a run directory another user made first was used"
	grep -q "belongs to another user.*set GPUVM_RUNDIR" "$tmp/squat.err" ||
		fail "no reason or way out was given"
	rm -rf "$vdir"

	# Root, with no run directory named, sees the user's live process in
	# the user's own directory (`gpuvm ps --direct`, and gpuvmfs).
	mkfifo -m 0666 "$tmp/pause"
	as_victim env -u GPUVM_RUNDIR LD_PRELOAD="$preload" CUDASIM_MEM=128M \
		GPUVM_MAINJOB_PAUSE_FIFO="$tmp/pause" "$build/bin/llmserve" --requests 4 \
		--max-len 8 >"$tmp/job.out" 2>&1 &
	job=$!
	vpid=
	for _ in $(seq 600); do
		vpid=$(sed -n 's/^llmserve: paused .* pid=\([0-9]*\)$/\1/p' "$tmp/job.out" | head -n 1)
		[ -n "$vpid" ] && break
		kill -0 $job 2>/dev/null || break
		sleep 0.05
	done
	[ -n "$vpid" ] || { cat "$tmp/job.out"; fail "llmserve did not pause"; }
	# a copy of its segment in a directory named for another uid but
	# not owned by it is not served: the process shows once
	mkdir -p /dev/shm/gpuvm-40002
	cp "$vdir/$vpid.state" /dev/shm/gpuvm-40002/
	chown -R nobody /dev/shm/gpuvm-40002
	chmod 0700 /dev/shm/gpuvm-40002
	env -u GPUVM_RUNDIR "$build/bin/gpuvm" ps --direct >"$tmp/ps.out" 2>&1
	cat "$tmp/ps.out"
	[ "$(grep -cE "^ *$vpid " "$tmp/ps.out")" = 1 ] ||
		fail "root's gpuvm ps does not show uid $victim's process once"
	# ... and tunes it there: the request goes to the user's directory
	env -u GPUVM_RUNDIR "$build/bin/gpuvm" set --direct "$vpid" low_watermark=2M \
		high_watermark=64M >"$tmp/set.out" 2>&1 || fail "root's gpuvm set: $(cat "$tmp/set.out")"
	if [ -e /dev/fuse ] && command -v fusermount3 >/dev/null; then
		mkdir "$tmp/mnt"
		env -u GPUVM_RUNDIR "$build/bin/gpuvmfs" -f "$tmp/mnt" 2>"$tmp/fs.log" &
		fspid=$!
		for _ in $(seq 100); do
			[ -e "$tmp/mnt/version" ] && break
			sleep 0.1
		done
		if [ -e "$tmp/mnt/version" ]; then
			[ -d "$tmp/mnt/$vpid" ] || fail "root's gpuvmfs does not show uid $victim's process"
			grep -q "^comm: llmserve" "$tmp/mnt/$vpid/status" ||
				fail "status of uid $victim's process: $(head -3 "$tmp/mnt/$vpid/status")"
			[ "$(stat -c %u "$tmp/mnt/$vpid/status")" = $victim ] ||
				fail "the process's files do not belong to its user"
			[ "$(cat "$tmp/mnt/$vpid/policy/high_watermark")" = 67108864 ] ||
				fail "root's gpuvm set did not reach uid $victim's process"
		else
			echo "(cannot mount: $(tail -n 1 "$tmp/fs.log"))"
		fi
		kill $fspid 2>/dev/null
		wait $fspid 2>/dev/null
	fi
	rm -rf /dev/shm/gpuvm-40002
	echo go >"$tmp/pause"
	for _ in $(seq 600); do
		grep -q '^llmserve: paused at the end' "$tmp/job.out" && break
		kill -0 $job 2>/dev/null || break
		sleep 0.05
	done
	echo go >"$tmp/pause"
	wait $job || fail "llmserve as uid $victim: exit $?"
	[ -z "$(ls -A "$vdir")" ] || fail "the user's segments stayed: $(ls "$vdir")"
else
	echo "(not root or no setpriv: the second-user cases are not run)"
fi

# 6. A link named `defaults` in the run directory does not break
# /gpuvm/policy: it reads as no defaults, and a write replaces the link.
if [ -e /dev/fuse ] && command -v fusermount3 >/dev/null; then
	echo precious >"$tmp/victim"
	ln -s "$tmp/victim" "$run/defaults"
	mkdir -p "$tmp/pmnt"
	"$build/bin/gpuvmfs" -f "$tmp/pmnt" --rundir="$run" 2>"$tmp/pfs.log" &
	pfs=$!
	for _ in $(seq 100); do
		[ -e "$tmp/pmnt/version" ] && break
		sleep 0.1
	done
	if [ -e "$tmp/pmnt/version" ]; then
		[ "$(cat "$tmp/pmnt/policy/limit")" = 0 ] || fail "policy/limit through a defaults link"
		echo 1G >"$tmp/pmnt/policy/limit" || fail "policy/limit write through a defaults link"
		[ "$(cat "$tmp/pmnt/policy/limit")" = 1073741824 ] || fail "policy/limit after the write"
		[ -L "$run/defaults" ] && fail "the defaults link was not replaced"
		[ "$(cat "$tmp/victim")" = precious ] || fail "the defaults write went through a link"
	else
		echo "(cannot mount: $(tail -n 1 "$tmp/pfs.log"))"
	fi
	kill $pfs 2>/dev/null
	wait $pfs 2>/dev/null
fi
echo "ok"
