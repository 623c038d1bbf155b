# SPDX-License-Identifier: MIT
"""torch_train.py MODE [LIBGPUVM] - a short PyTorch training loop for make
gpucheck.  MODE "shim": run under the preload shim with
PYTORCH_NO_CUDA_MEMORY_CACHING=1; "pluggable": gpuvm through
torch.cuda.memory.CUDAPluggableAllocator(LIBGPUVM, ...).  Prints the loss
and gpuvm's allocation count (gpuvm_stats of device 0)."""
import sys

import torch

import gpuvm_stats

mode = sys.argv[1]
lib_path = sys.argv[2] if len(sys.argv) > 2 else "libgpuvm.so"
if mode == "pluggable":
    alloc = torch.cuda.memory.CUDAPluggableAllocator(
        lib_path, "gpuvm_torch_malloc", "gpuvm_torch_free")
    torch.cuda.memory.change_current_allocator(alloc)
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(1024, 4096), torch.nn.ReLU(),
                            torch.nn.Linear(4096, 10)).cuda()
opt = torch.optim.SGD(model.parameters(), lr=0.05)
for step in range(300):
    x = torch.randn(256, 1024, device="cuda")
    y = (x[:, 0] > 0).long()
    loss = torch.nn.functional.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
torch.cuda.synchronize()


rc, st = gpuvm_stats.read(lib_path)
print(f"{mode}: loss {loss.item():.4f}, gpuvm_stats rc {rc}, alloc_calls {st.alloc_calls}, "
      f"peak_requested {st.peak_requested}, mapped {st.mapped}")
sys.exit(0 if rc == 0 and st.alloc_calls > 0 else 1)
