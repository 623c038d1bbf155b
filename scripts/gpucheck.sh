#!/bin/bash
# SPDX-License-Identifier: MIT
#
# gpucheck.sh - gpuvm against a real NVIDIA driver (make gpucheck).
#
#   scripts/gpucheck.sh            build the bundle (build-gpu/: libfuse3,
#                                  liburing and Check linked statically,
#                                  kernels as a fatbin); run it when this
#                                  machine has a GPU
#   scripts/gpucheck.sh run [S]    run the bundle here (on the GPU machine:
#                                  nothing is built or installed there);
#                                  S bounds the whole run in seconds (480)
#
# GPUCHECK_LIBCUDA_DIR=DIR puts DIR (a folder holding a libcuda.so.1, such as
# cudasim's) first on the library path: a dry run of the script here.
#
# Logs go to $OUT (default build-gpu/gpucheck), one file per step, and a
# summary to standard output.  Each step has its own timeout; a step that
# fails is reported and the next one runs.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
bundle=${GPUVM_BUNDLE:-$src/build-gpu}

have_gpu() {
	command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1
}

if [ "${1:-}" != run ]; then
	make -C "$src" O="$bundle" STATIC_DEPS=1 OPTFLAGS=-O2 || exit 1
	if ! have_gpu; then
		echo "gpucheck: bundle built in $bundle; no NVIDIA GPU here."
		echo "gpucheck: on a GPU machine run: scripts/gpucheck.sh run"
		exit 0
	fi
	exec "$0" run
fi

budget=${2:-480}
out=${OUT:-$bundle/gpucheck}
mkdir -p "$out"
t0=$SECONDS
unset GPUVM_LIBCUDA CUDASIM_MEM CUDASIM_DEVICES CUDASIM_FAIL CUDASIM_LEAKCHECK CUDASIM_ALLOC
export LD_LIBRARY_PATH=${GPUCHECK_LIBCUDA_DIR:+$GPUCHECK_LIBCUDA_DIR:}$bundle/lib
export GPUVM_BUILD=$bundle GPUVM_SRC=$src
shim=$bundle/lib/libgpuvm_preload.so
pass=0 fail=0

# step NAME TIMEOUT CMD...: run one step, keep its log, count it
step() {
	local name=$1 to=$2 left rc
	shift 2
	left=$((budget - (SECONDS - t0)))
	if [ "$left" -lt 10 ]; then
		echo "  SKIP    $name (time budget spent)"
		return
	fi
	[ "$to" -gt "$left" ] && to=$left
	timeout -k 5 "$to" "$@" > "$out/$name.log" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1)); echo "  PASS    $name"
	else
		fail=$((fail + 1)); echo "  FAIL    $name (exit $rc, $out/$name.log)"
	fi
	tail -n 6 "$out/$name.log" | sed 's/^/          | /'
}

echo "gpucheck: $(nvidia-smi --query-gpu=name,memory.total,driver_version \
	--format=csv,noheader 2>/dev/null | head -n 1)"

# Most telling first: the budget may end the run early.
# the driver's answers to the documented error cases, and the VMM demo
step driver_probe 30 "$bundle/tests/cudasim/driver_probe"
step demo_vmm 30 "$bundle/tests/cudasim/demo_vmm"
# how cuMemAlloc shares pages and fragments, for cudasim's paged model
step alloc_probe 60 "$bundle/tests/cudasim/alloc_probe"
# unmodified driver-API programs, plain and under the shim
for p in cu_linked cu_procaddr cu_dlsym cu_query; do
	step "$p-plain" 30 "$bundle/tests/runtime/$p" direct
	step "$p-shim" 30 env LD_PRELOAD="$shim" "$bundle/tests/runtime/$p" routed
done
# a CUDA runtime program, plain and under the shim
if command -v nvcc >/dev/null 2>&1 &&
   nvcc -O2 -o "$out/cudart_alloc" "$src/tests/gpu/cudart_alloc.cu" > "$out/nvcc.log" 2>&1; then
	step cudart-plain 60 "$out/cudart_alloc"
	step cudart-shim 60 env LD_PRELOAD="$shim" GPUVM_LOG=info "$out/cudart_alloc"
fi
# issue 13's runtime programs (static and shared cudart), plain and under
# the shim: on the real driver every run must pass
if [ -x "${CUDA_HOME:-/usr/local/cuda}/bin/nvcc" ]; then
	step cudart-programs 240 env GPUVM_BUILD="$bundle" bash "$src/tests/cudart/test_cudart.sh"
fi
# PyTorch: under the shim without its cache, and through the pluggable allocator
if python3 -c 'import torch' 2>/dev/null; then
	step torch-shim 90 env PYTORCH_NO_CUDA_MEMORY_CACHING=1 LD_PRELOAD="$shim" \
		python3 "$src/tests/gpu/torch_train.py" shim "$bundle/lib/libgpuvm.so"
	step torch-pluggable 90 python3 "$src/tests/gpu/torch_train.py" pluggable \
		"$bundle/lib/libgpuvm.so"
	# the same through the Python package (python/): gpuvm.torch.enable()
	step torch-package 120 python3 "$src/tests/gpu/python_package.py" torch \
		"$bundle/lib/libgpuvm.so"
fi
# CuPy through the Python package: gpuvm.cupy.enable()
if python3 -c 'import cupy' 2>/dev/null; then
	step cupy-package 120 python3 "$src/tests/gpu/python_package.py" cupy \
		"$bundle/lib/libgpuvm.so"
fi
# the main job on the real driver (256 MiB of the device, the rest set aside)
step mainjob 120 env GPUVM_BUILD="$bundle" GPUVM_SRC="$src" bash "$src/scripts/run-main-job.sh"
# issue 7's GPU side: the cost table, the bundled workloads on the real
# driver, a real PyTorch job's snapshot and its trace under the shim
step traces 240 bash "$src/tools/replay/gpu_check.sh" "$bundle" "$out/traces"
# stress with the real kernels
step stress 150 "$bundle/bin/gpuvm" stress --duration "${GPUCHECK_STRESS:-2m}" --threads 4
step bench_vmm 60 "$bundle/bin/bench_vmm"
# the manager's suites on the real driver
for t in test_vmm_alloc test_vmm_stress test_vmm_publish; do
	step "$t" 60 "$bundle/tests/vmm/$t"
done

echo "gpucheck: $pass passed, $fail failed in $((SECONDS - t0)) s (logs: $out)"
[ $fail -eq 0 ]
