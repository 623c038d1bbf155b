#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_gpuvm_cli.sh - the gpuvm command's arguments: usage errors exit 2
# with a message, every subcommand has --help, run returns its program's
# status, and the driver line names cudasim.
set -u
gpuvm=${GPUVM_BUILD:?}/bin/gpuvm
fails=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect RC PATTERN CMD...: exit status RC and PATTERN in stdout+stderr
expect() {
	local want=$1 pat=$2 out rc
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	[ "$rc" = "$want" ] || fail "$* exited $rc, want $want: $out"
	[ -z "$pat" ] || grep -qE -- "$pat" <<<"$out" || fail "$*: no '$pat' in: $out"
}

export GPUVM_RUNDIR=$(mktemp -d)
trap 'rm -rf "$GPUVM_RUNDIR"' EXIT

expect 2 "usage: gpuvm" "$gpuvm"
expect 0 "usage: gpuvm" "$gpuvm" --help
expect 2 "no such command 'bogus'" "$gpuvm" bogus
expect 2 "no such command" "$gpuvm" help bogus

cmds=$("$gpuvm" help | awk '/^  [a-z]+ / { print $1 }')
[ "$(wc -w <<<"$cmds")" -ge 14 ] || fail "gpuvm help lists too few commands: $cmds"
for c in $cmds; do
	case $c in
	stress) continue ;;	# its own tool, stubbed until it lands
	esac
	expect 0 "^usage: gpuvm $c" "$gpuvm" "$c" --help
	expect 0 "^usage: gpuvm $c" "$gpuvm" help "$c"
done
# the trace tools name themselves as typed, in their usage and their messages
expect 0 "^usage: gpuvm replay TRACE " "$gpuvm" replay --help
expect 2 "^usage: gpuvm replay TRACE " "$gpuvm" replay
expect 2 "^usage: gpuvm trace dump FILE" "$gpuvm" trace bogus
expect 2 "^gpuvm replay: bad capacity" "$gpuvm" replay /dev/null --capacity 0
out=$("$gpuvm" replay --help; "$gpuvm" replay 2>&1; "$gpuvm" trace bogus 2>&1)
grep -qE '^usage: (replay|trace) ' <<<"$out" && fail "a usage without gpuvm: $out"

# arguments
for c in status maps pagetable; do
	expect 2 "no PID given" "$gpuvm" "$c"
	expect 2 "not a number" "$gpuvm" "$c" 12x
	expect 2 "not a number" "$gpuvm" "$c" -- -5
	expect 2 "not a number" "$gpuvm" "$c" 99999999999
	expect 2 "not a process id" "$gpuvm" "$c" 0
	expect 2 "one PID" "$gpuvm" "$c" 1 2
	expect 2 "not a number" "$gpuvm" "$c" --device x 1
	expect 2 "exclude" "$gpuvm" "$c" --direct --mount / 1
	expect 2 "no gpuvmfs is mounted" "$gpuvm" "$c" --mount / 1
	expect 1 "no such process" "$gpuvm" "$c" --direct 1
done
expect 2 "unexpected argument" "$gpuvm" ps extra
expect 2 "" "$gpuvm" ps --bogus
expect 2 "no PID" "$gpuvm" set
expect 2 "no KNOB=VALUE" "$gpuvm" set 1
expect 2 "expected KNOB=VALUE" "$gpuvm" set 1 limit
expect 2 "expected KNOB=VALUE" "$gpuvm" set 1 =5
expect 2 "no such knob" "$gpuvm" set 1 nosuch=1
expect 2 "Invalid argument" "$gpuvm" set 1 limit=abc
expect 2 "Invalid argument" "$gpuvm" set 1 limit=-1
expect 2 "Invalid argument" "$gpuvm" set 1 stitch=maybe
expect 2 "Invalid argument" "$gpuvm" set 1 placement=worst-fit
expect 2 "Numerical result out of range" "$gpuvm" set 1 limit=99999999999999999999
expect 1 "no such process" "$gpuvm" set --direct 1 limit=1G
expect 0 "chunk_size" "$gpuvm" set --list
expect 2 "expected all or a size" "$gpuvm" reclaim 1 lots
expect 2 "unexpected argument" "$gpuvm" reclaim 1 all more
expect 1 "no such process" "$gpuvm" reclaim --direct 1
expect 2 "at least one frame" "$gpuvm" top -n 0
expect 2 "not a number" "$gpuvm" top -d x
expect 2 "at least" "$gpuvm" top --width 3
expect 2 "--width: at least 40 columns" "$gpuvm" top --once --width 39
expect 2 "not a number in \[0, 512\]" "$gpuvm" top --once --width 513
expect 2 "svg FILE is required" "$gpuvm" map 1
expect 1 "no such process" "$gpuvm" map --direct 1 --svg /dev/null
expect 2 "" "$gpuvm" driver extra
expect 2 "unexpected argument" "$gpuvm" exporter extra
for bad in foo :9464 ::1:9464 "[::1]" 127.0.0.1:65536 127.0.0.1:x 1.2.3:80 ""; do
	expect 2 "^gpuvm exporter: --listen '.*': (expected|no address|an IPv6|PORT|ADDR)" \
		"$gpuvm" exporter --listen "$bad"
done
expect 2 "no program" "$gpuvm" run
expect 2 "expected KNOB=VALUE" "$gpuvm" run --set limit -- true
expect 2 "no knob 'nosuch'" "$gpuvm" run --set nosuch=1 -- true
expect 2 "Invalid argument" "$gpuvm" run --set limit=1X -- true

# the driver line
expect 0 "^driver: cudasim \(.*libcuda.so.1\), 1 device" "$gpuvm" driver
expect 1 "^driver: none" env GPUVM_LIBCUDA=/nonexistent/libcuda.so.1 "$gpuvm" driver
expect 1 "^driver: none \(.*libgpuvm.so(.1)? is not a CUDA driver: it lacks cuInit, .*\)" \
	env GPUVM_LIBCUDA="$GPUVM_BUILD/lib/libgpuvm.so" "$gpuvm" driver
expect 1 "^driver: none \(.*libgpuvm_preload.so is gpuvm's preload shim, not a CUDA driver\)" \
	env GPUVM_LIBCUDA="$GPUVM_BUILD/lib/libgpuvm_preload.so" "$gpuvm" driver

# finding a driver with nothing set (no cudasim on LD_LIBRARY_PATH): gpuvm
# names the cudasim built beside it, and the program gets that very file,
# linked (cu_query needs libcuda.so.1 to start) or dlopen()ed (llmserve)
bare() { env -u GPUVM_LIBCUDA LD_LIBRARY_PATH= "$@"; }
sim=$(cd "$GPUVM_BUILD/lib/cudasim" && pwd -P)/libcuda.so.1
cu_query=$GPUVM_BUILD/tests/runtime/cu_query
llmserve=$GPUVM_BUILD/bin/llmserve
expect 0 "^driver: cudasim \($sim\), 1 device" bare "$gpuvm" driver
expect 0 "^driver: cudasim \($sim\)" bare "$gpuvm" driver --driver cudasim
expect 2 "usage: gpuvm driver" "$gpuvm" driver extra
if ! bare "$gpuvm" driver --driver real >/dev/null 2>&1; then
	expect 1 "^driver: none" bare "$gpuvm" driver --driver real
	expect 1 "gpuvm run: --driver real: none" bare "$gpuvm" run --driver real -- true
fi
# the cudasim on LD_LIBRARY_PATH is a libcuda.so.1, but not the real driver
expect 1 "found is cudasim, not NVIDIA's driver" "$gpuvm" driver --driver real
expect 1 "gpuvm run: --driver /nonexistent.so: none \(/nonexistent.so cannot be opened: cannot open shared object file" \
	"$gpuvm" run --driver /nonexistent.so -- true
expect 0 "^ok$" bare "$gpuvm" run -q -- "$cu_query"
out=$(bare "$gpuvm" run -- "$llmserve" --requests 2 --max-len 2 2>&1)
[ "$(grep -c '^gpuvm: driver: ' <<<"$out")" = 1 ] || fail "gpuvm run: not one driver line: $out"
grep -q "^gpuvm: driver: cudasim ($sim), 1 device" <<<"$out" || fail "gpuvm run named: $out"
grep -q "^llmserve: driver: cudasim ($sim), 1 device" <<<"$out" ||
	fail "the program did not get the driver gpuvm named: $out"
grep -q '^result.served=2$' <<<"$out" || fail "llmserve under gpuvm run, found driver: $out"
# GPUVM_LIBCUDA naming cudasim: the program gets it too, not "no driver"
expect 0 "^ok$" env LD_LIBRARY_PATH= GPUVM_LIBCUDA="$sim" "$gpuvm" run -q -- "$cu_query"
# a driver file of another name: preloaded, so libcuda.so.1 is that file
cp "$sim" "$GPUVM_RUNDIR/mysim.so"
expect 0 "^gpuvm: driver: cudasim \($GPUVM_RUNDIR/mysim.so\)" \
	bare "$gpuvm" run --driver "$GPUVM_RUNDIR/mysim.so" -- "$cu_query"
rm "$GPUVM_RUNDIR/mysim.so"
out=$(bare "$gpuvm" stress --duration 1s 2>&1) || fail "gpuvm stress, found driver: $out"
grep -q '^stress: cudasim, ' <<<"$out" && grep -q 'errors 0, leaks 0$' <<<"$out" ||
	fail "gpuvm stress did not run on the cudasim beside it: $out"
# GPUVM_LOG has one reader: a bad value is said once, not by shim and library
out=$(GPUVM_LOG=loud "$gpuvm" run -q -- "$cu_query" 2>&1)
[ "$(grep -c 'GPUVM_LOG=loud' <<<"$out")" = 1 ] || fail "GPUVM_LOG=loud not warned once: $out"
expect 0 "usage: gpuvm run .*\[--rundir DIR\]" "$gpuvm" run --help
expect 0 "\[--driver real\|cudasim\|PATH\]" "$gpuvm" run --help

# run: the program's status, 128+N for signals, 127 when it cannot run
expect 0 "" "$gpuvm" run -q -- true
expect 7 "" "$gpuvm" run -q -- sh -c 'exit 7'
expect 143 "" "$gpuvm" run -q -- sh -c 'kill -TERM $$'
expect 127 "No such file" "$gpuvm" run -q -- /nonexistent/program
expect 0 "^gpuvm: driver: cudasim" "$gpuvm" run -- true
# the preload, the run directory and the knob defaults reach the program
out=$("$gpuvm" run -q --set limit=64M --set placement=first-fit -- sh -c \
      'echo "$LD_PRELOAD|$GPUVM_RUNDIR|$GPUVM_LIMIT|$GPUVM_PLACEMENT"')
[[ $out == */lib/libgpuvm_preload.so\|$GPUVM_RUNDIR\|64M\|first-fit ]] ||
	fail "gpuvm run environment: $out"

# PyTorch's caching allocator goes onto gpuvm unless the user chose
pt='echo "[${PYTORCH_NO_CUDA_MEMORY_CACHING-unset}]"'
expect 0 "^\[1\]$" env -u PYTORCH_NO_CUDA_MEMORY_CACHING -u PYTORCH_CUDA_ALLOC_CONF \
	"$gpuvm" run -q -- sh -c "$pt"
expect 0 "^gpuvm: PYTORCH_NO_CUDA_MEMORY_CACHING=1: PyTorch allocates through gpuvm" \
	env -u PYTORCH_NO_CUDA_MEMORY_CACHING -u PYTORCH_CUDA_ALLOC_CONF "$gpuvm" run -- true
out=$(env -u PYTORCH_NO_CUDA_MEMORY_CACHING -u PYTORCH_CUDA_ALLOC_CONF "$gpuvm" run -- true 2>&1)
[ "$(grep -c PYTORCH <<<"$out")" = 1 ] || fail "the framework line is not one line: $out"
expect 0 "^\[0\]$" env PYTORCH_NO_CUDA_MEMORY_CACHING=0 "$gpuvm" run -q -- sh -c "$pt"
out=$(env PYTORCH_NO_CUDA_MEMORY_CACHING=0 "$gpuvm" run -- true 2>&1)
grep -q PYTORCH <<<"$out" && fail "the user's own PYTORCH_NO_CUDA_MEMORY_CACHING reported: $out"
expect 0 "^\[unset\]$" env -u PYTORCH_NO_CUDA_MEMORY_CACHING PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True \
	"$gpuvm" run -q -- sh -c "$pt"
expect 0 "PYTORCH_CUDA_ALLOC_CONF is set: PyTorch's caching allocator stays on" \
	env -u PYTORCH_NO_CUDA_MEMORY_CACHING PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True \
	"$gpuvm" run -- true
expect 0 "^\[unset\]$" env -u PYTORCH_NO_CUDA_MEMORY_CACHING -u PYTORCH_CUDA_ALLOC_CONF \
	"$gpuvm" run -q --keep-framework-cache -- sh -c "$pt"
out=$(env -u PYTORCH_NO_CUDA_MEMORY_CACHING -u PYTORCH_CUDA_ALLOC_CONF "$gpuvm" run --keep-framework-cache -- true 2>&1)
grep -q PYTORCH <<<"$out" && fail "--keep-framework-cache still reported: $out"
expect 0 "--keep-framework-cache" "$gpuvm" run --help

# nothing is mounted here: ps reads the (empty) run directory
expect 0 "^# from the segments in $GPUVM_RUNDIR \(--direct\)" "$gpuvm" ps --direct

if [ $fails -ne 0 ]; then
	echo "$fails failures"
	exit 1
fi
echo "ok"
