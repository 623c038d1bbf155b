# SPDX-License-Identifier: MIT
"""_lib.py - finding and opening libgpuvm.so, and the C types of
include/gpuvm/gpuvm.h that the package passes to it.

The layouts below mirror the public header; python/tests/test_abi.py
checks them against it, and the library is refused at import when its
count of driver calls (the size of struct gpuvm_stats) is not ours.
"""
import ctypes
import ctypes.util
import os

LIBRARY_NAME = "libgpuvm.so"
LIBRARY_SONAME = "libgpuvm.so.1"  # GPUVM_ABI 1: what a runtime install has
SHIM_MARKER = "gpuvm_preload_shim"  # GPUVM_SHIM_MARKER

c_uint64 = ctypes.c_uint64
c_int = ctypes.c_int

# struct gpuvm_stats, in the header's order
BYTE_FIELDS = ("requested", "allocated", "mapped", "cached", "physical", "reserved_va",
               "limit", "device_total", "peak_requested", "peak_allocated",
               "peak_mapped", "largest_free_run")
COUNT_FIELDS = ("live_allocs", "alloc_calls", "free_calls", "cache_hits", "stitches",
                "ooms", "chunks", "chunks_free", "reclaimed", "trace_dropped")
FRAC_FIELDS = ("frag_internal", "frag_external", "frag_peak")
DRIVER_CALLS = 14  # GPUVM_DRV_NR


class Stats(ctypes.Structure):
    """struct gpuvm_stats"""
    _fields_ = ([(n, c_uint64) for n in BYTE_FIELDS + COUNT_FIELDS] +
                [("driver_calls", c_uint64 * DRIVER_CALLS)] +
                [(n, ctypes.c_double) for n in FRAC_FIELDS])


# enum gpuvm_knob_type, by value
KNOB_TYPES = ("size", "uint", "bool", "enum")


class Knob(ctypes.Structure):
    """struct gpuvm_knob"""
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("type", c_int),
        ("unit", ctypes.c_char_p),
        ("min", c_uint64),
        ("max", c_uint64),
        ("def_", c_uint64),
        ("choices", ctypes.POINTER(ctypes.c_char_p)),
        ("new_allocs_only", ctypes.c_bool),
        ("init_only", ctypes.c_bool),
        ("help", ctypes.c_char_p),
    ]


_KNOB_P = ctypes.POINTER(Knob)
_U64_P = ctypes.POINTER(c_uint64)

# name: (restype, argtypes), for every function of the header with plain C types
_PROTOTYPES = {
    "gpuvm_init": (c_int, []),
    "gpuvm_shutdown": (None, []),
    "gpuvm_device_count": (c_int, []),
    "gpuvm_alloc": (c_int, [c_int, ctypes.c_size_t, ctypes.c_uint, _U64_P]),
    "gpuvm_alloc_async": (c_int, [c_int, ctypes.c_size_t, ctypes.c_void_p, _U64_P]),
    "gpuvm_alloc_growable": (c_int, [c_int, ctypes.c_size_t, ctypes.c_size_t, _U64_P]),
    "gpuvm_resize": (c_int, [c_uint64, ctypes.c_size_t]),
    "gpuvm_free": (c_int, [c_uint64]),
    "gpuvm_free_async": (c_int, [c_uint64, ctypes.c_void_p]),
    "gpuvm_owns": (ctypes.c_bool, [c_uint64, ctypes.POINTER(c_int)]),
    "gpuvm_driver_call_name": (ctypes.c_char_p, [c_int]),
    "gpuvm_stats": (c_int, [c_int, ctypes.POINTER(Stats)]),
    "gpuvm_reclaim": (ctypes.c_int64, [c_int, c_uint64]),
    "gpuvm_knob_count": (c_int, []),
    "gpuvm_knob_at": (_KNOB_P, [c_int]),
    "gpuvm_knob_find": (_KNOB_P, [ctypes.c_char_p]),
    "gpuvm_knob_format": (c_int, [_KNOB_P, c_uint64, ctypes.c_char_p, ctypes.c_size_t]),
    "gpuvm_policy_get": (c_int, [c_int, ctypes.c_char_p, _U64_P]),
    "gpuvm_policy_set": (c_int, [c_int, ctypes.c_char_p, c_uint64]),
    "gpuvm_policy_set_str": (c_int, [c_int, ctypes.c_char_p, ctypes.c_char_p]),
    "gpuvm_torch_malloc": (ctypes.c_void_p, [ctypes.c_size_t, c_int, ctypes.c_void_p]),
    "gpuvm_torch_free": (None, [ctypes.c_void_p, ctypes.c_size_t, c_int, ctypes.c_void_p]),
    "gpuvm_cupy_malloc": (ctypes.c_ssize_t, [ctypes.c_ssize_t, ctypes.c_size_t, c_int]),
    "gpuvm_cupy_free": (None, [ctypes.c_ssize_t, ctypes.c_ssize_t, c_int]),
}


class _DlInfo(ctypes.Structure):
    _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]


def _loaded_path(lib, fallback):
    """The file the loader opened for @lib (dladdr of one of its symbols)."""
    try:
        dladdr = ctypes.CDLL(None).dladdr
        dladdr.restype = c_int
        dladdr.argtypes = [ctypes.c_void_p, ctypes.POINTER(_DlInfo)]
        info = _DlInfo()
        if dladdr(ctypes.cast(lib.gpuvm_init, ctypes.c_void_p), ctypes.byref(info)) and \
                info.dli_fname:
            return os.path.abspath(os.fsdecode(info.dli_fname))
    except (AttributeError, OSError):
        pass
    return fallback


def _candidates():
    """(what to dlopen, how it was found) in the order tried."""
    env = os.environ.get("GPUVM_LIBRARY")
    if env:
        return [(env, "GPUVM_LIBRARY=" + env)]
    names = [(LIBRARY_SONAME, LIBRARY_SONAME), (LIBRARY_NAME, LIBRARY_NAME)]
    found = ctypes.util.find_library("gpuvm")
    if found and found not in (LIBRARY_SONAME, LIBRARY_NAME):
        names.append((found, found + " (ctypes.util.find_library)"))
    return names


def _check(lib, how):
    if hasattr(lib, SHIM_MARKER):
        raise ImportError(f"gpuvm: {how} is gpuvm's preload shim, not libgpuvm.so; "
                          "set GPUVM_LIBRARY=/path/to/libgpuvm.so")
    missing = [n for n in _PROTOTYPES if not hasattr(lib, n)]
    if missing:
        raise ImportError(f"gpuvm: {how} is not libgpuvm.so (it lacks "
                          f"{', '.join(missing[:3])}); set GPUVM_LIBRARY=/path/to/libgpuvm.so")
    for name, (restype, argtypes) in _PROTOTYPES.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    n = 0
    while lib.gpuvm_driver_call_name(n) is not None:
        n += 1
    if n != DRIVER_CALLS:
        raise ImportError(f"gpuvm: {how} counts {n} driver calls in struct gpuvm_stats, "
                          f"this package {DRIVER_CALLS}: install the package of that "
                          "library's source tree")


def load():
    """Open libgpuvm.so: (the ctypes library, its path).

    $GPUVM_LIBRARY when set, else the dynamic loader's libgpuvm.so.1 or
    libgpuvm.so (an installed copy, or one on LD_LIBRARY_PATH).  Raises
    ImportError.
    """
    errors = []
    for name, how in _candidates():
        try:
            lib = ctypes.CDLL(name)
        except OSError as e:
            errors.append(f"{how}: {e}")
            continue
        _check(lib, how)
        return lib, _loaded_path(lib, name)
    if os.environ.get("GPUVM_LIBRARY"):
        raise ImportError(f"gpuvm: cannot load {errors[0]}")
    raise ImportError("gpuvm: libgpuvm.so not found by the dynamic loader (not installed, "
                      "not on LD_LIBRARY_PATH); set GPUVM_LIBRARY=/path/to/libgpuvm.so")
