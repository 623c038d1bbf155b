# SPDX-License-Identifier: MIT
"""gpuvm.stats(): struct gpuvm_stats as a dict, moving with allocations made
through the library (gpuvm_alloc, and the framework entry points)."""
import ctypes
import errno
import os

import pytest

import gpuvm
from conftest import MiB


def alloc(size, device=0):
    ptr = ctypes.c_uint64()
    assert gpuvm.lib.gpuvm_alloc(device, size, 0, ctypes.byref(ptr)) == 0
    return ptr.value


def test_keys_in_status_order():
    st = gpuvm.stats(0)
    keys = list(st)
    assert keys[:3] == ["requested", "allocated", "mapped"]
    assert keys.index("largest_free_run") < keys.index("live_allocs") < keys.index("frag_internal")
    assert [k for k in keys if k.startswith("driver_")] == [
        "driver_cuMemCreate", "driver_cuMemRelease", "driver_cuMemMap", "driver_cuMemUnmap",
        "driver_cuMemSetAccess", "driver_cuMemAddressReserve", "driver_cuMemAddressFree",
        "driver_cuEventCreate", "driver_cuEventRecord", "driver_cuEventQuery",
        "driver_cuEventSynchronize", "driver_cuEventDestroy", "driver_cuCtxSynchronize",
        "driver_other"]
    assert all(isinstance(st[k], float) for k in ("frag_internal", "frag_external", "frag_peak"))
    assert all(isinstance(v, int) for k, v in st.items() if not k.startswith("frag_"))
    # cudasim's device, gpuvm's arena over it
    assert st["device_total"] > 0 and st["reserved_va"] >= st["device_total"]
    assert st["driver_cuMemAddressReserve"] >= 1


def test_alloc_and_free_move_the_counters():
    before = gpuvm.stats(0)
    ptr = alloc(5 * MiB)
    mid = gpuvm.stats(0)
    assert mid["requested"] == before["requested"] + 5 * MiB
    assert mid["live_allocs"] == before["live_allocs"] + 1
    assert mid["alloc_calls"] == before["alloc_calls"] + 1
    assert mid["allocated"] >= before["allocated"] + 5 * MiB
    assert mid["mapped"] >= mid["requested"] and mid["physical"] >= mid["mapped"]
    assert mid["peak_requested"] >= mid["requested"]
    assert 0.0 <= mid["frag_internal"] < 1.0
    assert gpuvm.lib.gpuvm_owns(ptr, None)
    assert gpuvm.lib.gpuvm_free(ptr) == 0
    after = gpuvm.stats(0)
    assert after["requested"] == before["requested"]
    assert after["live_allocs"] == before["live_allocs"]
    assert after["free_calls"] == before["free_calls"] + 1
    assert after["cached"] > 0  # freed memory stays mapped for reuse


def test_torch_and_cupy_entry_points():
    before = gpuvm.stats(0)
    p = gpuvm.lib.gpuvm_torch_malloc(3 * MiB, 0, None)
    c = gpuvm.lib.gpuvm_cupy_malloc(0, 1000, 0)
    assert p and c
    mid = gpuvm.stats(0)
    assert mid["requested"] == before["requested"] + 3 * MiB + 1000
    assert mid["live_allocs"] == before["live_allocs"] + 2
    gpuvm.lib.gpuvm_torch_free(p, 3 * MiB, 0, None)
    gpuvm.lib.gpuvm_cupy_free(0, c, 0)
    after = gpuvm.stats(0)
    assert after["requested"] == before["requested"]
    assert after["live_allocs"] == before["live_allocs"]


def test_same_numbers_as_the_status_of_this_process():
    ptr = alloc(2 * MiB + 4096)
    try:
        st = gpuvm.stats(0)
        mine = [p for p in gpuvm.processes(direct=True) if p["pid"] == os.getpid()]
        assert len(mine) == 1
        status = mine[0]
        for key, val in st.items():
            if key.startswith("frag_"):
                assert status[key] == pytest.approx(val, abs=1e-4), key
            else:
                assert status[key] == val, key
    finally:
        gpuvm.lib.gpuvm_free(ptr)


def test_bad_device():
    with pytest.raises(ValueError) as e:
        gpuvm.stats(gpuvm.device_count() + 3)
    assert e.value.errno == errno.EINVAL
    assert "Invalid argument" in str(e.value)
    assert gpuvm.device_count() >= 1
