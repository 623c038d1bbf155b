# SPDX-License-Identifier: MIT
"""pip install ./python into a fresh virtual environment, then the issue's
check: python -c 'import gpuvm; print(gpuvm.stats(0))'."""
import os
import shutil
import subprocess
import sys

import pytest

from conftest import PKG_DIR

# What a venv lacks to build the package offline (no index to fetch from).
NO_BUILD_TOOLS = ("invalid command 'bdist_wheel'", "No module named 'setuptools'",
                  "No module named 'wheel'")


def run(args, cwd, env):
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300, check=False)


def test_pip_install_into_a_venv(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    venv = tmp_path / "venv"
    r = run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], tmp_path, env)
    if r.returncode:
        pytest.skip("no venv for %s: %s" % (sys.executable,
                                                  (r.stdout + r.stderr).strip()[-300:]))
    # a copy, so the build's files stay out of the source tree
    shutil.copytree(PKG_DIR, tmp_path / "python",
                    ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info", "tests"))
    py = str(venv / "bin" / "python")
    r = run([py, "-m", "pip", "install", "--no-index", "--no-build-isolation",
             "--disable-pip-version-check", "./python"], tmp_path, env)
    out = r.stdout + r.stderr
    lacks = [s for s in NO_BUILD_TOOLS if s in out]
    if r.returncode and lacks:
        pytest.skip(f"{py} cannot build a wheel offline: {lacks[0]}")
    assert r.returncode == 0, out
    assert "Successfully installed gpuvm-1.0.0" in out, out

    r = run([py, "-c", "import gpuvm; print(gpuvm.__file__)"], tmp_path, env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().startswith(str(venv)), r.stdout
    r = run([py, "-c", "import gpuvm; print(gpuvm.stats(0))"], tmp_path, env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("{'requested': 0, 'allocated': 0, "), r.stdout
    assert "'driver_cuMemAddressReserve': 1" in r.stdout, r.stdout
