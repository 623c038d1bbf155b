# SPDX-License-Identifier: MIT
"""python_package.py torch|cupy [LIBGPUVM] - the gpuvm Python package
(python/, from this source tree) on a real GPU, for make gpucheck:
gpuvm.torch.enable() or gpuvm.cupy.enable(), a few tensors written and
read back, and gpuvm.stats(0) moving with them.  Prints one line; exits
non-zero when a check fails."""
import os
import subprocess
import sys

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SRC, "python"))
if len(sys.argv) > 2:
    os.environ["GPUVM_LIBRARY"] = sys.argv[2]

import gpuvm  # noqa: E402  pylint: disable=wrong-import-position

MODE = sys.argv[1]
SIZES = (1 << 10, 1 << 20, 1 << 24, (3 << 20) + 5)  # elements, float32
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)


def run_torch():
    import torch  # pylint: disable=import-outside-toplevel
    gpuvm.torch.enable()
    before = gpuvm.stats(0)
    xs = [torch.full((n,), float(i), device="cuda") for i, n in enumerate(SIZES)]
    y = xs[2] * 2
    torch.cuda.synchronize()
    mid = gpuvm.stats(0)
    check(all(bool((x == i).all()) for i, x in enumerate(xs)), "tensor contents")
    check(float(y.sum()) == 4.0 * SIZES[2], "y = 2 * x")
    del xs, y
    torch.cuda.synchronize()
    after = gpuvm.stats(0)
    # too late in a process that has initialized CUDA: a clear error
    late = subprocess.run([sys.executable, "-c",
                           "import torch; torch.zeros(1, device='cuda'); import gpuvm; "
                           "gpuvm.torch.enable()"], capture_output=True, text=True,
                          timeout=120, check=False,
                          env=dict(os.environ, PYTHONPATH=os.path.join(SRC, "python")))
    check(late.returncode != 0 and "already initialized CUDA" in late.stderr,
          "enable() after CUDA init: " + late.stderr.strip()[-200:])
    return before, mid, after


def run_cupy():
    import cupy  # pylint: disable=import-outside-toplevel
    gpuvm.cupy.enable()
    before = gpuvm.stats(0)
    xs = [cupy.full((n,), float(i), dtype=cupy.float32) for i, n in enumerate(SIZES)]
    y = xs[2] * 2
    cupy.cuda.Device(0).synchronize()
    mid = gpuvm.stats(0)
    check(all(bool((x == i).all()) for i, x in enumerate(xs)), "array contents")
    check(float(y.sum()) == 4.0 * SIZES[2], "y = 2 * x")
    del xs, y
    cupy.cuda.Device(0).synchronize()
    after = gpuvm.stats(0)
    return before, mid, after


before, mid, after = {"torch": run_torch, "cupy": run_cupy}[MODE]()
want = 4 * sum(SIZES)
check(mid["alloc_calls"] - before["alloc_calls"] >= len(SIZES) + 1, "alloc_calls moved")
check(mid["requested"] - before["requested"] >= want, "requested moved")
check(after["requested"] < mid["requested"], "freed memory went back")
print(f"{MODE}: {mid['alloc_calls'] - before['alloc_calls']} allocations through gpuvm "
      f"({gpuvm.library_path}), requested {before['requested']} -> {mid['requested']} -> "
      f"{after['requested']}, mapped {mid['mapped']}, driver_cuMemMap "
      f"{after['driver_cuMemMap']}" + (f"; FAILED: {', '.join(failures)}" if failures else ""))
sys.exit(1 if failures else 0)
