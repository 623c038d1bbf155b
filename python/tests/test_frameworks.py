# SPDX-License-Identifier: MIT
"""gpuvm.torch.enable() and gpuvm.cupy.enable() without the frameworks:
stand-ins for torch and cupy record what they are given and call the
library the way the frameworks do (the real ones run in make gpucheck:
tests/gpu/python_package.py)."""
import ctypes
import sys
import types

import pytest

import gpuvm
from conftest import MiB


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    monkeypatch.setattr(gpuvm.torch, "_allocator", None)
    monkeypatch.setattr(gpuvm.cupy, "_allocator", None)


def address(lib, name):
    return ctypes.cast(getattr(lib, name), ctypes.c_void_p).value


def fake_torch(monkeypatch, initialized=False, cuda="12.4"):
    """A torch with the pieces enable() uses."""
    torch = types.ModuleType("torch")
    torch.version = types.SimpleNamespace(cuda=cuda)
    torch.changed = []

    class CUDAPluggableAllocator:  # as PyTorch: dlopen the file, look the names up
        def __init__(self, path, malloc, free):
            lib = ctypes.CDLL(path)
            self.path = path
            self.malloc = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                                           ctypes.c_void_p)(address(lib, malloc))
            self.free = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                                         ctypes.c_void_p)(address(lib, free))

    def change_current_allocator(alloc):
        if initialized:
            raise RuntimeError("Can't swap an already initialized allocator")
        torch.changed.append(alloc)

    memory = types.SimpleNamespace(CUDAPluggableAllocator=CUDAPluggableAllocator,
                                   change_current_allocator=change_current_allocator)
    torch.cuda = types.SimpleNamespace(memory=memory, is_initialized=lambda: initialized)
    monkeypatch.setitem(sys.modules, "torch", torch)
    return torch


def test_torch_enable(monkeypatch):
    torch = fake_torch(monkeypatch)
    alloc = gpuvm.torch.enable()
    assert torch.changed == [alloc] and alloc.path == gpuvm.library_path
    assert gpuvm.torch.enable() is alloc and torch.changed == [alloc]
    # what PyTorch would call lands in this process's gpuvm
    before = gpuvm.stats(0)
    p = alloc.malloc(4 * MiB, 0, None)
    assert p and gpuvm.lib.gpuvm_owns(p, None)
    assert gpuvm.stats(0)["requested"] == before["requested"] + 4 * MiB
    alloc.free(p, 4 * MiB, 0, None)
    assert gpuvm.stats(0)["requested"] == before["requested"]


def test_torch_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match=r"gpuvm.torch.enable\(\) needs PyTorch"):
        gpuvm.torch.enable()


def test_torch_already_initialized(monkeypatch):
    torch = fake_torch(monkeypatch, initialized=True)
    with pytest.raises(RuntimeError, match="already initialized CUDA"):
        gpuvm.torch.enable()
    assert not torch.changed and gpuvm.torch._allocator is None  # pylint: disable=W0212


def test_torch_without_cuda(monkeypatch):
    fake_torch(monkeypatch, cuda=None)
    with pytest.raises(RuntimeError, match="without CUDA"):
        gpuvm.torch.enable()


def fake_cupy(monkeypatch):
    cupy = types.ModuleType("cupy")
    cupy.allocators = []

    class CFunctionAllocator:  # as CuPy: call the C functions by address
        def __init__(self, param, malloc, free, owner):
            self.param, self.owner = param, owner
            self.c_malloc = ctypes.CFUNCTYPE(ctypes.c_ssize_t, ctypes.c_ssize_t,
                                             ctypes.c_size_t, ctypes.c_int)(malloc)
            self.c_free = ctypes.CFUNCTYPE(None, ctypes.c_ssize_t, ctypes.c_ssize_t,
                                           ctypes.c_int)(free)

        def malloc(self, size):
            return self.c_malloc(self.param, size, 0)

    cupy.cuda = types.SimpleNamespace(memory=types.SimpleNamespace(
        CFunctionAllocator=CFunctionAllocator), set_allocator=cupy.allocators.append)
    monkeypatch.setitem(sys.modules, "cupy", cupy)
    return cupy


def test_cupy_enable(monkeypatch):
    cupy = fake_cupy(monkeypatch)
    alloc = gpuvm.cupy.enable()
    assert cupy.allocators == [alloc.malloc] and alloc.owner is gpuvm.lib
    before = gpuvm.stats(0)
    ptr = cupy.allocators[0](MiB + 3)
    assert ptr and gpuvm.lib.gpuvm_owns(ptr, None)
    assert gpuvm.stats(0)["requested"] == before["requested"] + MiB + 3
    alloc.c_free(alloc.param, ptr, 0)
    assert gpuvm.stats(0)["requested"] == before["requested"]
    assert gpuvm.cupy.enable() is alloc


def test_cupy_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)
    with pytest.raises(ImportError, match=r"gpuvm.cupy.enable\(\) needs CuPy"):
        gpuvm.cupy.enable()
