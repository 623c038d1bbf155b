# SPDX-License-Identifier: MIT
"""Fixtures of the gpuvm package's tests (tests/python/test_python.sh runs
them on cudasim with GPUVM_LIBRARY naming the built libgpuvm.so and
GPUVM_RUNDIR a folder of their own)."""
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PKG_DIR = os.path.dirname(HERE)  # python/
SRC = os.path.dirname(PKG_DIR)  # the source tree
sys.path.insert(0, PKG_DIR)

import gpuvm  # noqa: E402  pylint: disable=wrong-import-position

MiB = 1 << 20

# A second process using gpuvm: allocates 3 MiB, says so, waits for a line.
LIVE_SCRIPT = r"""
import ctypes, sys
import gpuvm
p = ctypes.c_uint64()
rc = gpuvm.lib.gpuvm_alloc(0, 3 << 20, 0, ctypes.byref(p))
print("ready" if rc == 0 else "failed %d" % rc, flush=True)
sys.stdin.readline()
gpuvm.lib.gpuvm_free(p.value)
"""


def child_env(**extra):
    """The environment for a Python child that imports this tree's package."""
    env = dict(os.environ)
    env["PYTHONPATH"] = PKG_DIR + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH")
                                   else "")
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def live():
    """A live process using gpuvm (its pid), stopped after the module."""
    proc = subprocess.Popen([sys.executable, "-c", LIVE_SCRIPT], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=child_env())
    try:
        line = proc.stdout.readline().strip()
        assert line == "ready", f"the live process said {line!r}"
        yield proc.pid
    finally:
        try:
            proc.stdin.write("go\n")
            proc.stdin.close()
        except OSError:
            pass
        try:
            rc = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
    assert rc == 0, f"the live process exited {rc}"


def _all_knobs(device):
    return {k.name: gpuvm.get(k.name, device) for k in gpuvm.knobs()}


@pytest.fixture
def restore_knobs():
    """Put every knob of the process defaults and of device 0 back after a test."""
    gpuvm.stats(0)  # device 0 set up, so its knobs can be read
    saved = {-1: _all_knobs(-1), 0: _all_knobs(0)}
    yield saved
    init_only = {k.name for k in gpuvm.knobs() if k.init_only}
    for dev, vals in saved.items():
        gpuvm.set("low_watermark", 0, dev)  # so any high_watermark goes back
        for name, val in vals.items():
            if not (dev == 0 and name in init_only) and name != "low_watermark":
                gpuvm.set(name, val, dev)
        gpuvm.set("low_watermark", vals["low_watermark"], dev)
    assert {-1: _all_knobs(-1), 0: _all_knobs(0)} == saved
