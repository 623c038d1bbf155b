# SPDX-License-Identifier: MIT
"""gpuvm.cupy - CuPy's device allocations through gpuvm.

    import gpuvm
    gpuvm.cupy.enable()
    x = cupy.zeros(1 << 28, dtype=cupy.float32)

enable() gives cupy.cuda.set_allocator() a CFunctionAllocator over the C
functions gpuvm_cupy_malloc and gpuvm_cupy_free of the libgpuvm.so this
package opened (vmm/frameworks.c), so CuPy calls them directly, with
no Python in between.  It replaces CuPy's memory pool: gpuvm caches freed
memory itself.  CuPy is imported only then.
"""
import ctypes

MALLOC = "gpuvm_cupy_malloc"
FREE = "gpuvm_cupy_free"

_allocator = None


def enable():
    """Make gpuvm CuPy's allocator (for every thread without its own
    cupy.cuda.using_allocator); returns the CFunctionAllocator.

    Memory CuPy allocated before is freed by the allocator it came from.
    Raises ImportError without CuPy.
    """
    global _allocator  # pylint: disable=global-statement
    from . import lib  # pylint: disable=import-outside-toplevel
    try:
        import cupy  # pylint: disable=import-outside-toplevel
    except ImportError as e:
        raise ImportError(f"gpuvm.cupy.enable() needs CuPy: {e}") from e
    if _allocator is None:
        memory = cupy.cuda.memory
        malloc = ctypes.cast(getattr(lib, MALLOC), ctypes.c_void_p).value
        free = ctypes.cast(getattr(lib, FREE), ctypes.c_void_p).value
        # param 0 (unused); the library object keeps the functions alive
        _allocator = memory.CFunctionAllocator(0, malloc, free, lib)
    cupy.cuda.set_allocator(_allocator.malloc)
    return _allocator
