# SPDX-License-Identifier: MIT
"""gpuvm.torch - PyTorch's CUDA allocations through gpuvm.

    import gpuvm
    gpuvm.torch.enable()            # before the first CUDA allocation
    x = torch.empty(1 << 28, device="cuda")

enable() installs torch.cuda.memory.CUDAPluggableAllocator over
gpuvm_torch_malloc and gpuvm_torch_free of the libgpuvm.so this package
opened (vmm/frameworks.c: stream ordered, so memory freed on a stream
is reused on it without waiting).  PyTorch is imported only then.
"""
MALLOC = "gpuvm_torch_malloc"
FREE = "gpuvm_torch_free"

_allocator = None


def enable():
    """Make gpuvm PyTorch's CUDA allocator; returns the allocator.

    Raises ImportError without PyTorch, RuntimeError when this PyTorch has
    no CUDA or has already initialized CUDA (the allocator can only be
    swapped before that).  A second call returns the first allocator.
    """
    global _allocator  # pylint: disable=global-statement
    from . import library_path  # pylint: disable=import-outside-toplevel
    try:
        import torch  # pylint: disable=import-outside-toplevel
    except ImportError as e:
        raise ImportError(f"gpuvm.torch.enable() needs PyTorch: {e}") from e
    if _allocator is not None:
        return _allocator
    if getattr(torch.version, "cuda", None) is None:
        raise RuntimeError("gpuvm.torch.enable(): this PyTorch is built without CUDA")
    if torch.cuda.is_initialized():
        raise RuntimeError("gpuvm.torch.enable(): PyTorch has already initialized CUDA and "
                           "its allocator; call it before the first CUDA tensor or call")
    alloc = torch.cuda.memory.CUDAPluggableAllocator(library_path, MALLOC, FREE)
    try:
        torch.cuda.memory.change_current_allocator(alloc)
    except RuntimeError as e:
        raise RuntimeError(f"gpuvm.torch.enable(): PyTorch refused the allocator: {e}") from e
    _allocator = alloc
    return alloc
