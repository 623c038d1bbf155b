# SPDX-License-Identifier: MIT
"""gpuvm_stats.py - gpuvm_stats() of a libgpuvm.so from Python (ctypes),
for the PyTorch programs of make gpucheck."""
import ctypes


class Stats(ctypes.Structure):
    # the leading fields of struct gpuvm_stats (include/gpuvm/gpuvm.h)
    _fields_ = [(n, ctypes.c_uint64) for n in (
        "requested", "allocated", "mapped", "cached", "physical", "reserved_va",
        "limit", "device_total", "peak_requested", "peak_allocated", "peak_mapped",
        "largest_free_run", "live_allocs", "alloc_calls")] + [
        ("rest", ctypes.c_uint64 * 64)]


def read(lib_path, dev=0):
    """(rc, Stats) of device @dev: rc is gpuvm_stats()'s return value."""
    st = Stats()
    rc = ctypes.CDLL(lib_path).gpuvm_stats(dev, ctypes.byref(st))
    return rc, st
