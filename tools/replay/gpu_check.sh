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
# 3. with PyTorch installed, records a memory snapshot of a small run into
#    OUT_DIR/torch-snapshot.pickle and converts it.
set -u
build=${1:?usage: gpu_check.sh BUILD_DIR OUT_DIR}
out=${2:?usage: gpu_check.sh BUILD_DIR OUT_DIR}
src=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$out"
tmpd=$(mktemp -d) || exit 1
trap 'rm -rf "$tmpd"' EXIT
unset GPUVM_LIBCUDA CUDASIM_MEM
# libgpuvm needs liburing; a copy may sit in BUILD_DIR/lib
export LD_LIBRARY_PATH=$build/lib

nvidia-smi -L || echo "no nvidia-smi"
[ -s "$out/costs.txt" ] || "$build/bin/gpuvm-measure-costs" --iterations 200 > "$out/costs.txt" &&
	cat "$out/costs.txt" || echo "cost measurement failed"

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

if python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
	python3 - "$out/torch-snapshot.pickle" <<'PY'
import sys, torch
torch.cuda.memory._record_memory_history(max_entries=100000)
keep = []
for step in range(50):
    x = torch.empty((step % 7 + 1) * (1 << 20), dtype=torch.uint8, device="cuda")
    y = torch.empty((step % 5 + 1) * (3 << 20), dtype=torch.uint8, device="cuda")
    keep.append(torch.empty(4096 * (step + 1), dtype=torch.uint8, device="cuda"))
    del x
    z = torch.empty((step % 7 + 2) * (1 << 20), dtype=torch.uint8, device="cuda")
    del y, z
    if len(keep) > 10:
        keep.pop(0)
torch.cuda.synchronize()
torch.cuda.memory._dump_snapshot(sys.argv[1])
PY
	python3 "$src/tools/replay/torch_snapshot.py" "$out/torch-snapshot.pickle" \
		"$out/torch-snapshot.trace" --capacity 8G
else
	echo "no PyTorch with CUDA here: no snapshot recorded"
fi
ls -la "$out"
