#!/bin/bash
# SPDX-License-Identifier: MIT
#
# run-main-job.sh - the main job (make run): one unmodified CUDA program
# (tests/llmserve, an LLM-like server) run twice with the same device
# capacity, plain and under gpuvm, and a side-by-side table.
#
#   - the real driver when a libcuda.so.1 with a device initializes (llmserve
#     --capacity then sets all but MAINJOB_MEM aside first), else cudasim
#     (build/lib/cudasim/libcuda.so.1) with CUDASIM_MEM; MAINJOB_MEM
#     (default 256M) for both runs; one line says which; on cudasim plain
#     cuMemAlloc is the contiguous first fit (CUDASIM_ALLOC=contiguous);
#   - gpuvmfs mounted at /gpuvm when root and /gpuvm is free, else at a
#     temporary folder it names; without FUSE it says so and shows the
#     mid-run state from the segments instead (gpuvm status --direct);
#   - mid-run: the program's /gpuvm/<pid>/status and the first lines of
#     its maps;
#   - unmounts, removes what it made, exits 0 when both runs completed
#     with every byte verified.
#
# Environment (set by make run): GPUVM_BUILD, GPUVM_SRC, LD_LIBRARY_PATH.
set -u
build=${GPUVM_BUILD:?GPUVM_BUILD not set (run through make run)}
gpuvm=$build/bin/gpuvm
llmserve=$build/bin/llmserve
gpuvmfs=$build/bin/gpuvmfs
cudasim_dir=$build/lib/cudasim
mem=${MAINJOB_MEM:-256M}
# one bound for every wait, far above what the job needs
wait_s=${MAINJOB_TIMEOUT:-120}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gpuvm-mainjob.XXXXXX") || exit 1
rundir=$tmp/run
mkdir -p "$rundir"
export GPUVM_RUNDIR=$rundir
mnt=
fs_pid=
made_mnt=
job_pid=

cleanup() {
	if [ -n "$job_pid" ] && kill -0 "$job_pid" 2>/dev/null; then
		kill "$job_pid" 2>/dev/null
		wait "$job_pid" 2>/dev/null
	fi
	if [ -n "$fs_pid" ]; then
		kill -TERM "$fs_pid" 2>/dev/null
		wait "$fs_pid" 2>/dev/null
		# a daemon that did not unmount on SIGTERM
		mountpoint -q "$mnt" 2>/dev/null && { fusermount3 -u "$mnt" 2>/dev/null ||
						      umount "$mnt" 2>/dev/null; }
		echo "unmounted $mnt"
	fi
	[ -n "$made_mnt" ] && rmdir "$mnt" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for f in "$gpuvm" "$llmserve" "$build/lib/libgpuvm_preload.so"; do
	[ -x "$f" ] || [ -f "$f" ] || { echo "run-main-job: $f is missing (make first)"; exit 1; }
done

mib() { awk -v b="$1" 'BEGIN { printf "%.0f MiB", b / 1048576 }'; }
key() { sed -n "s/^result\.$2=//p" "$1" | head -n 1; }
st() { sed -n "s/^$2: //p" "$1" | head -n 1; }

# ---- which driver ----
# The real driver first: LD_LIBRARY_PATH without cudasim's folder.
real_path=$(printf '%s' "${LD_LIBRARY_PATH:-}" | tr ':' '\n' | grep -vxF "$cudasim_dir" |
	    paste -sd: -)
if line=$(env -u GPUVM_LIBCUDA LD_LIBRARY_PATH="$real_path" "$gpuvm" driver 2>/dev/null) &&
   [[ $line != *cudasim* ]]; then
	export LD_LIBRARY_PATH=$real_path
	unset GPUVM_LIBCUDA
	sim=0
	# the same small capacity as on cudasim: llmserve sets the rest aside
	bytes=$(numfmt --from=iec "$mem" 2>/dev/null) || { echo "run-main-job: bad MAINJOB_MEM=$mem"; exit 1; }
	serve_args=(--capacity "$bytes")
	capacity="$mem of the device (llmserve --capacity), the same for both runs"
else
	export GPUVM_LIBCUDA=$cudasim_dir/libcuda.so.1
	export LD_LIBRARY_PATH=$cudasim_dir${real_path:+:$real_path}
	export CUDASIM_MEM=$mem
	# Plain cuMemAlloc on cudasim's contiguous first fit, the worst case:
	# paged cudasim (the default) and the real driver do not fragment so.
	# What the comparison should run on is another issue's; until then
	# the headline figure is the contiguous model's.
	export CUDASIM_ALLOC=${CUDASIM_ALLOC:-contiguous}
	line=$("$gpuvm" driver) || { echo "run-main-job: $line"; exit 1; }
	sim=1
	serve_args=()
	capacity="$mem (CUDASIM_MEM), the same for both runs; CUDASIM_ALLOC=$CUDASIM_ALLOC"
fi
echo "$line"
echo "device capacity: $capacity"

# ---- gpuvmfs ----
if [ ! -x "$gpuvmfs" ]; then
	echo "gpuvmfs: not built (no libfuse3): no mount; the mid-run view comes from the segments"
elif [ ! -c /dev/fuse ] ||
     { ! command -v fusermount3 >/dev/null 2>&1 && [ "$(id -u)" != 0 ]; }; then
	echo "gpuvmfs: FUSE is not available here: no mount; the mid-run view comes from the segments"
else
	if [ "$(id -u)" = 0 ] && ! mountpoint -q /gpuvm 2>/dev/null &&
	   { [ ! -e /gpuvm ] || [ -z "$(ls -A /gpuvm 2>/dev/null)" ]; }; then
		mnt=/gpuvm
		[ -e /gpuvm ] || { mkdir /gpuvm && made_mnt=1; }
	else
		mnt=$tmp/mnt
		mkdir "$mnt"
	fi
	"$gpuvmfs" -f --rundir="$rundir" "$mnt" 2>"$tmp/gpuvmfs.log" &
	fs_pid=$!
	for _ in $(seq 100); do
		mountpoint -q "$mnt" && break
		kill -0 "$fs_pid" 2>/dev/null || break
		sleep 0.05
	done
	if mountpoint -q "$mnt"; then
		echo "gpuvmfs: mounted at $mnt"
	else
		echo "gpuvmfs: could not mount ($(head -n 1 "$tmp/gpuvmfs.log")):" \
		     "FUSE unavailable; the mid-run view comes from the segments"
		kill "$fs_pid" 2>/dev/null
		wait "$fs_pid" 2>/dev/null
		fs_pid=
		[ "$mnt" = /gpuvm ] || rmdir "$mnt"
		[ -n "$made_mnt" ] && rmdir /gpuvm
		made_mnt=
		mnt=
	fi
fi
if [ -n "$mnt" ]; then
	view=(--mount "$mnt")
	run_mount=(--mount "$mnt")
else
	view=(--direct)
	run_mount=()
fi

# ---- run 1: plain ----
echo
echo "== run 1: llmserve, plain cuMemAlloc =="
"$llmserve" "${serve_args[@]}" >"$tmp/plain.out" 2>&1
rc_plain=$?
grep '^llmserve:' "$tmp/plain.out" | grep -v '^llmserve: driver:' | sed 's/^/  /'

# ---- run 2: under gpuvm, paused mid-run and at the end ----
echo
echo "== run 2: gpuvm run -- llmserve (the same binary, unmodified) =="
fifo=$tmp/pause
mkfifo "$fifo"
GPUVM_MAINJOB_PAUSE_FIFO=$fifo "$gpuvm" run -q "${run_mount[@]}" -- "$llmserve" "${serve_args[@]}" \
	>"$tmp/gpuvm.out" 2>&1 &
job_pid=$!

# Wait until the program says "paused WHERE pid=N"; print the pid.
wait_pause() {
	local i pid
	for ((i = 0; i < wait_s * 20; i++)); do
		pid=$(sed -n "s/^llmserve: paused $1 pid=\([0-9]*\)$/\1/p" "$tmp/gpuvm.out")
		[ -n "$pid" ] && { echo "$pid"; return 0; }
		kill -0 "$job_pid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}
resume() { echo go >"$fifo"; }

rc_gpuvm=1
if pid=$(wait_pause mid-run); then
	grep '^llmserve:' "$tmp/gpuvm.out" | grep -v 'paused\|^llmserve: driver:' | sed 's/^/  /'
	if [ -n "$mnt" ]; then
		echo "-- mid-run: cat $mnt/$pid/status"
		cat "$mnt/$pid/status" >"$tmp/mid.status"
		cat "$tmp/mid.status"
		echo "-- mid-run: head $mnt/$pid/maps (start-end flags dev id requested max_size chunks)"
		head -n 8 "$mnt/$pid/maps"
	else
		echo "-- mid-run: gpuvm status $pid (from the segments: no gpuvmfs)"
		"$gpuvm" status --direct "$pid"
		echo "-- mid-run: gpuvm maps $pid | head (start-end flags dev id requested max_size chunks)"
		"$gpuvm" maps --direct "$pid" | head -n 8
	fi
	echo "-- mid-run: gpuvm top --once"
	"$gpuvm" top --once --no-color --width 92 "${view[@]}" "$pid" | sed -n '/^ *PID /,$p'
	resume
	if pid=$(wait_pause "at the end"); then
		"$gpuvm" status "${view[@]}" "$pid" >"$tmp/end.status"
		resume
	fi
fi
wait "$job_pid"
rc_gpuvm=$?
job_pid=
grep '^llmserve: \(done\|first\)' "$tmp/gpuvm.out" | sed 's/^/  /'

if [ $rc_plain -ne 0 ] || [ $rc_gpuvm -ne 0 ] || [ ! -s "$tmp/end.status" ]; then
	echo "run-main-job: a run failed (plain: exit $rc_plain, gpuvm: exit $rc_gpuvm)"
	echo "--- plain"; tail -n 5 "$tmp/plain.out"
	echo "--- gpuvm"; tail -n 5 "$tmp/gpuvm.out"
	exit 1
fi

# ---- the table ----
P=$tmp/plain.out G=$tmp/gpuvm.out E=$tmp/end.status
row() { printf '%-32s %-26s %s\n' "$1" "$2" "$3"; }
oom_cell() {
	if [ "$(key "$1" first_oom)" = none ]; then
		echo "none"
	else
		echo "$(mib "$(key "$1" first_oom_asked)") asked"
	fi
}
oom_free() {
	[ "$(key "$1" first_oom)" = none ] && { echo "-"; return; }
	echo "$(mib "$(key "$1" first_oom_free)") free"
}
frag_oom() {
	local f
	[ "$(key "$1" first_oom)" = none ] && { echo "- (no OOM)"; return; }
	f=$(key "$1" first_oom_free)
	awk -v l="$(key "$1" first_oom_largest)" -v f="$f" \
	    'BEGIN { printf "%.0f%% (largest block %.0f MiB)", f ? 100 * (1 - l / f) : 0, l / 1048576 }'
}
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f%%", b ? 100 * (1 - a / b) : 0 }'; }
gpuvm_calls=$(awk -F': ' '/^driver_cuMem/ { s += $2 } END { print s + 0 }' "$E")
gpuvm_creates=$(st "$E" driver_cuMemCreate)
gpuvm_maps=$(st "$E" driver_cuMemMap)
plain_calls=$(( $(key "$P" alloc_calls) + $(key "$P" free_calls) ))

echo
echo "== llmserve on $( ((sim)) && echo "cudasim, $mem" || echo "${line#driver: }"): plain vs gpuvm =="
row "" "plain cuMemAlloc" "gpuvm"
row "requests served" "$(key "$P" served) / $(key "$P" requests)" \
    "$(key "$G" served) / $(key "$G" requests)"
row "first out-of-memory" "$(oom_cell "$P")" "$(oom_cell "$G")"
row "  free memory reported then" "$(oom_free "$P")" "$(oom_free "$G")"
# llmserve's --capacity set-aside is physical memory gpuvm never sees
g_req=$(st "$E" peak_requested)
g_held=$(st "$E" peak_mapped)
row "peak requested" "$(mib "$(key "$P" peak_requested)")" "$(mib "$g_req")"
row "peak held (physical)" "$(mib "$(key "$P" peak_held)")" "$(mib "$g_held")"
row "fragmentation at 1st OOM" "$(frag_oom "$P")" "$(frag_oom "$G")"
row "  1 - peak requested/peak held" \
    "$(pct "$(key "$P" peak_requested)" "$(key "$P" peak_held)")" \
    "$(pct "$g_req" "$g_held")"
row "driver calls for memory" "$plain_calls (cuMemAlloc/Free)" \
    "$gpuvm_calls ($gpuvm_creates cuMemCreate, $gpuvm_maps cuMemMap)"
row "bytes verified" "$(mib "$(key "$P" verified)")" "$(mib "$(key "$G" verified)")"
echo
echo "fragmentation at 1st OOM: 1 - largest free block / free memory, when the first"
echo "allocation failed; gpuvm needs no contiguous physical memory, so none fails."
exit 0
