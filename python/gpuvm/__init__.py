# SPDX-License-Identifier: MIT
"""gpuvm - libgpuvm, the user-space GPU virtual-memory manager, from Python.

    import gpuvm
    gpuvm.stats(0)                  # struct gpuvm_stats of device 0, as a dict
    gpuvm.set("limit", "8G")        # a knob, validated by the library
    gpuvm.get("limit")              # 8589934592
    gpuvm.knobs()                   # the schema
    gpuvm.processes()               # every process using gpuvm
    gpuvm.torch.enable()            # PyTorch allocates through gpuvm
    gpuvm.cupy.enable()             # CuPy too

The library is $GPUVM_LIBRARY, else the dynamic loader's libgpuvm.so.1
(or libgpuvm.so).
Knob errors are ValueError (EINVAL, ERANGE: the value is refused and
nothing changes), PermissionError (EACCES) or OSError (anything else),
each naming the knob and the errno's text.  See Documentation/python.rst.
"""
import dataclasses
import errno as _errno
import os as _os
from typing import List, Optional, Tuple

from . import _lib
from ._proc import processes

# not set (the builtin) nor torch and cupy (the frameworks' own names)
__all__ = ["stats", "get", "knobs", "Knob", "device_count", "processes", "library_path",
           "lib"]
__version__ = "1.0.0"

lib, library_path = _lib.load()

_DRIVER_NAMES = tuple(lib.gpuvm_driver_call_name(i).decode()
                      for i in range(_lib.DRIVER_CALLS))
_U64_MAX = (1 << 64) - 1


def _fail(err: int, what: str):
    """Raise the exception for the negative errno @err of the call @what."""
    err = -err
    msg = f"{what}: {_os.strerror(err)}"
    if err in (_errno.EINVAL, _errno.ERANGE):
        e = ValueError(msg)
        e.errno = err
        raise e
    raise OSError(err, msg)  # EACCES becomes PermissionError


def _on(device: int) -> str:
    return "" if device == -1 else f" on device {device}"


def device_count() -> int:
    """The number of devices gpuvm manages (initializes the library)."""
    n = lib.gpuvm_device_count()
    if n < 0:
        _fail(n, "gpuvm_device_count")
    return n


def stats(device: int = 0) -> dict:
    """struct gpuvm_stats of @device as a dict.

    The keys are those of /gpuvm/<pid>/status for the same quantities:
    bytes (requested, mapped, cached, ...), counts (live_allocs,
    alloc_calls, ...), the fractions frag_internal, frag_external and
    frag_peak (0..1), and driver_<name> per driver call counted
    (driver_cuMemCreate, ..., driver_other).
    """
    st = _lib.Stats()
    ret = lib.gpuvm_stats(device, st)
    if ret:
        _fail(ret, f"stats of device {device}")
    out = {n: getattr(st, n) for n in _lib.BYTE_FIELDS + _lib.COUNT_FIELDS}
    out.update((n, getattr(st, n)) for n in _lib.FRAC_FIELDS)
    out.update(("driver_" + name, st.driver_calls[i]) for i, name in enumerate(_DRIVER_NAMES))
    return out


@dataclasses.dataclass(frozen=True)
class Knob:
    """One knob of the schema (struct gpuvm_knob)."""
    name: str
    type: str  # "size" (bytes), "uint", "bool" or "enum"
    unit: Optional[str]  # "bytes", "x device memory", ... or None
    min: int  # inclusive range (size, uint)
    max: int
    default: int  # enums: the index of the choice
    choices: Tuple[str, ...]  # enum choices by index, else ()
    new_allocs_only: bool  # applies to allocations made later
    init_only: bool  # read once when a device is set up
    help: str


def _knob(k) -> Knob:
    c = k.contents
    choices = []
    if c.choices:
        while c.choices[len(choices)] is not None:
            choices.append(c.choices[len(choices)].decode())
    return Knob(name=c.name.decode(), type=_lib.KNOB_TYPES[c.type],
                unit=c.unit.decode() if c.unit else None, min=c.min, max=c.max,
                default=c.def_, choices=tuple(choices), new_allocs_only=c.new_allocs_only,
                init_only=c.init_only, help=c.help.decode() if c.help else "")


def knobs() -> List[Knob]:
    """The knob schema, in the library's order (gpuvm_knob_at())."""
    return [_knob(lib.gpuvm_knob_at(i)) for i in range(lib.gpuvm_knob_count())]


def _name(knob: str) -> bytes:
    if not isinstance(knob, str):
        raise TypeError(f"knob name must be str, not {type(knob).__name__}")
    b = knob.encode()
    if "\0" in knob or not lib.gpuvm_knob_find(b):
        e = ValueError(f"{knob}: no such knob (gpuvm.knobs() lists them)")
        e.errno = _errno.EINVAL
        raise e
    return b


def get(knob: str, device: int = -1) -> int:
    """The live value of @knob on @device (-1: the process defaults).

    Sizes in bytes, enums as the index of the choice (Knob.choices),
    bools 0 or 1.
    """
    name = _name(knob)
    val = _lib.c_uint64()
    ret = lib.gpuvm_policy_get(device, name, val)
    if ret:
        _fail(ret, f"{knob}{_on(device)}")
    return val.value


def set(knob: str, value, device: int = -1) -> None:  # pylint: disable=redefined-builtin
    """Change @knob on @device (-1: every device and the process defaults).

    @value is an int (bytes, a count, an enum index, a bool) or text the
    knob files take ("8G", "first-fit", "on"), parsed by the library
    (gpuvm_policy_set_str()).  Validated there; nothing changes when it
    raises.
    """
    name = _name(knob)
    what = f"{knob}={value}{_on(device)}"
    if isinstance(value, str):
        if "\0" in value:
            _fail(-_errno.EINVAL, what.replace("\0", "\\0"))
        ret = lib.gpuvm_policy_set_str(device, name, value.encode())
    elif isinstance(value, int):  # bool too
        if value < 0:
            _fail(-_errno.EINVAL, what)
        if value > _U64_MAX:
            _fail(-_errno.ERANGE, what)
        ret = lib.gpuvm_policy_set(device, name, int(value))
    else:
        raise TypeError(f"{knob}: value must be int or str, not {type(value).__name__}")
    if ret:
        _fail(ret, what)


from . import cupy, torch  # noqa: E402,F401  (they need lib and library_path)
