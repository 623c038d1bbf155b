# SPDX-License-Identifier: MIT
"""Finding libgpuvm.so, refusing what is not it, and the C layouts of the
package against include/gpuvm/gpuvm.h."""
import os
import re
import subprocess
import sys

import pytest

import gpuvm
from gpuvm import _lib
from conftest import SRC, child_env

HEADER = os.path.join(SRC, "include", "gpuvm", "gpuvm.h")
BUILD_LIB = os.path.dirname(gpuvm.library_path)


def import_in_child(**env):
    e = child_env(**env)
    for k, v in env.items():
        if v is None:
            del e[k]
    return subprocess.run([sys.executable, "-c", "import gpuvm; print(gpuvm.library_path)"],
                          env=e, capture_output=True, text=True, timeout=60, check=False)


def last_line(r):
    return (r.stderr.strip().splitlines() or [""])[-1]


def test_the_library_named():
    assert gpuvm.library_path == os.path.abspath(os.environ["GPUVM_LIBRARY"])
    assert os.path.isabs(gpuvm.library_path)


def test_library_missing():
    r = import_in_child(GPUVM_LIBRARY="/nonexistent/libgpuvm.so")
    assert r.returncode == 1
    assert last_line(r).startswith(
        "ImportError: gpuvm: cannot load GPUVM_LIBRARY=/nonexistent/libgpuvm.so: "), r.stderr


def test_not_libgpuvm():
    cudasim = os.path.join(BUILD_LIB, "cudasim", "libcuda.so.1")
    r = import_in_child(GPUVM_LIBRARY=cudasim)
    assert r.returncode == 1
    assert f"GPUVM_LIBRARY={cudasim} is not libgpuvm.so (it lacks gpuvm_init" in last_line(r)


def test_the_shim_is_refused():
    shim = os.path.join(BUILD_LIB, "libgpuvm_preload.so")
    r = import_in_child(GPUVM_LIBRARY=shim)
    assert r.returncode == 1
    assert "is gpuvm's preload shim, not libgpuvm.so" in last_line(r), r.stderr


def test_found_by_the_loader():
    ld = os.environ.get("LD_LIBRARY_PATH", "")
    r = import_in_child(GPUVM_LIBRARY=None, LD_LIBRARY_PATH=BUILD_LIB + ":" + ld)
    assert r.returncode == 0, r.stderr
    # the soname, libgpuvm.so.1, which lib/libgpuvm.so links to
    assert os.path.basename(r.stdout.strip()) == "libgpuvm.so.1"
    assert os.path.realpath(r.stdout.strip()) == os.path.realpath(gpuvm.library_path)


def test_not_found():
    ld = ":".join(p for p in os.environ.get("LD_LIBRARY_PATH", "").split(":")
                  if p and os.path.realpath(p) != os.path.realpath(BUILD_LIB))
    r = import_in_child(GPUVM_LIBRARY=None, LD_LIBRARY_PATH=ld)
    if r.returncode == 0:
        pytest.skip(f"a libgpuvm.so is installed: {r.stdout.strip()}")
    assert "ImportError: gpuvm: libgpuvm.so not found by the dynamic loader" in last_line(r)
    assert "set GPUVM_LIBRARY=" in last_line(r)


def header():
    with open(HEADER, encoding="utf-8") as f:
        return re.sub(r"/\*.*?\*/", "", f.read(), flags=re.S)


def struct_fields(text, name):
    body = re.search(r"struct %s \{(.*?)\};" % name, text, re.S).group(1)
    return [re.search(r"(\w+)(\[\w+\])?;", d.strip() + ";").group(1)
            for d in body.split(";") if d.strip()]


def test_stats_layout_is_the_header_s():
    text = header()
    assert [f[0] for f in _lib.Stats._fields_] == struct_fields(text, "gpuvm_stats")
    enum = re.search(r"enum gpuvm_driver_call \{(.*?)\};", text, re.S).group(1)
    calls = [c.strip() for c in enum.split(",") if c.strip()]
    assert calls[-1] == "GPUVM_DRV_NR" and len(calls) - 1 == _lib.DRIVER_CALLS


def test_knob_layout_is_the_header_s():
    text = header()
    fields = struct_fields(text, "gpuvm_knob")
    # "uint64_t min, max;" is two fields
    fields[fields.index("max")] = "min, max"
    ours = [f[0] for f in _lib.Knob._fields_]
    ours[ours.index("min"):ours.index("max") + 1] = ["min, max"]
    ours[ours.index("def_")] = "def"
    assert ours == fields
    enum = re.search(r"enum gpuvm_knob_type \{(.*?)\};", text, re.S).group(1)
    types = [t.strip().split()[0].replace("GPUVM_KNOB_", "").lower()
             for t in enum.split(",") if t.strip()]
    assert tuple(types) == _lib.KNOB_TYPES
