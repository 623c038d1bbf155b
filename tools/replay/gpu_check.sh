#!/bin/bash
# SPDX-License-Identifier: MIT
#
# gpu_check.sh - the trace tools on a machine with an NVIDIA GPU.
#
#   tools/replay/gpu_check.sh BUILD_DIR OUT_DIR
#
# 1. measures the driver's VMM call costs (gpuvm-measure-costs) into
#    OUT_DIR/costs.txt, the table "gpuvm-replay replay --costs" reads;
# 2. replays every bundled workload through the real manager on the real
#    driver (limit knob = the workload's capacity), recording each run with
#    GPUVM_TRACE into OUT_DIR/real-NAME.trace;
# 3. with PyTorch installed, runs tests/gpu/torch_workload.py three ways:
#    recording a memory snapshot (OUT_DIR/torch-snapshot.pickle, converted
#    to torch-snapshot.trace), with expandable segments, and under the shim
#    recording GPUVM_TRACE (torch-shim.trace); then replays both traces.
set -u
build=${1:?usage: gpu_check.sh BUILD_DIR OUT_DIR}
out=${2:?usage: gpu_check.sh BUILD_DIR OUT_DIR}
src=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$out"
tmpd=$(mktemp -d) || exit 1
trap 'rm -rf "$tmpd"' EXIT
unset GPUVM_LIBCUDA CUDASIM_MEM
# libgpuvm needs liburing; a copy may sit in BUILD_DIR/lib
export LD_LIBRARY_PATH=$build/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

nvidia-smi -L || echo "no nvidia-smi"
costs=()
if [ -s "$out/costs.txt" ] ||
   { "$build/bin/gpuvm-measure-costs" --iterations 200 > "$tmpd/costs.txt" &&
     mv "$tmpd/costs.txt" "$out/costs.txt"; }; then
	cat "$out/costs.txt"
	costs=(--costs "$out/costs.txt")
else
	echo "cost measurement failed: the replays use the default table"
fi

declare -A cap=([llm-serving]=8G [training]=8G [classic]=4G [churn]=4G)
for w in llm-serving training classic churn; do
	"$build/bin/gpuvm-replay" workload "$w" --out "$tmpd/wl-$w.trace" --seed 1 || continue
	start=$EPOCHREALTIME
	GPUVM_TRACE=$out/real-$w.trace GPUVM_REPLAY_LIBGPUVM=$build/lib/libgpuvm.so \
		timeout 120 "$build/bin/gpuvm-replay-real" "$tmpd/wl-$w.trace" \
		--capacity "${cap[$w]}" --device 0 --policy "limit=${cap[$w]}" \
		> "$out/real-$w.result"
	echo "== $w on the GPU: exit $?, $(awk -v a="$start" -v b="$EPOCHREALTIME" \
		'BEGIN { printf "%.2f s", b - a }')"
	cat "$out/real-$w.result"
done

# a real PyTorch job (tests/gpu/torch_workload.py), three ways: its caching
# allocator recording a snapshot, expandable segments, and under the shim
# with gpuvm's trace on; each prints what its allocator held at the peak
if python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
	job=$src/tests/gpu/torch_workload.py
	capm=$(nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits |
	       head -n 1 | tr -d ' ')
	timeout 120 python3 "$job" snapshot "$out/torch-snapshot.pickle"
	python3 "$src/tools/replay/torch_snapshot.py" "$out/torch-snapshot.pickle" \
		"$out/torch-snapshot.trace" --capacity "${capm:-0}M"
	PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True timeout 120 python3 "$job" plain
	PYTORCH_NO_CUDA_MEMORY_CACHING=1 GPUVM_TRACE=$out/torch-shim.trace \
		LD_PRELOAD=$build/lib/libgpuvm_preload.so \
		timeout 180 python3 "$job" shim "$build/lib/libgpuvm.so"
	for t in torch-snapshot torch-shim; do
		[ -s "$out/$t.trace" ] || continue
		echo "== $t replayed"
		timeout 120 "$build/bin/gpuvm-replay" replay "$out/$t.trace" "${costs[@]}"
	done
else
	echo "no PyTorch with CUDA here: no snapshot recorded"
fi
ls -la "$out"
