# SPDX-License-Identifier: MIT
"""gpuvm.processes(): a live process using gpuvm, seen from its segments
(through the gpuvm command) and through a gpuvmfs mount of the run
directory, the same either way."""
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

import gpuvm
from gpuvm import _proc
from conftest import LIVE_SCRIPT, MiB, child_env

BUILD_BIN = os.path.join(os.path.dirname(os.path.dirname(gpuvm.library_path)), "bin")


def comm_of(pid):
    with open(f"/proc/{pid}/comm", encoding="utf-8") as f:
        return f.read().strip()


def find(procs, pid):
    mine = [p for p in procs if p["pid"] == pid]
    assert len(mine) == 1, f"pid {pid} in {[p['pid'] for p in procs]}"
    return mine[0]


def check_live(p, pid):
    assert p["comm"] == comm_of(pid)
    assert p["state"] == "ok"
    assert p["uid"] == os.geteuid()
    assert p["driver"] == "cudasim" and "simulated" in p["flags"]
    assert p["devices"] == [0]
    assert p["requested"] == 3 * MiB and p["live_allocs"] == 1
    assert p["mapped"] >= 3 * MiB
    assert p["alloc_calls"] == 1 and p["driver_cuMemCreate"] >= 1
    assert isinstance(p["frag_internal"], float) and isinstance(p["arena_base"], int)
    assert p["version"] == "1.1"


def test_from_the_segments(live):
    procs = gpuvm.processes(direct=True)
    assert [p["pid"] for p in procs] == sorted(p["pid"] for p in procs)
    check_live(find(procs, live), live)
    # nothing is mounted for this run directory: the default reads the segments too
    assert find(gpuvm.processes(), live) == find(procs, live)


def test_only_processes_using_gpuvm():
    proc = subprocess.Popen(["sleep", "60"])
    try:
        assert all(p["pid"] != proc.pid for p in gpuvm.processes(direct=True))
    finally:
        proc.kill()
        proc.wait()


def test_a_process_that_ends_goes():
    proc = subprocess.Popen([sys.executable, "-c", LIVE_SCRIPT], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=child_env())
    assert proc.stdout.readline().strip() == "ready"
    find(gpuvm.processes(direct=True), proc.pid)
    proc.communicate("go\n", timeout=30)
    assert proc.returncode == 0
    assert all(p["pid"] != proc.pid for p in gpuvm.processes(direct=True))


def test_parse_status():
    st = _proc.parse_status("state: ok\npid: 42\ncomm: 123\ndevices: 0 1\nflags: simulated shim\n"
                            "version: 1.0\narena_base: 0x7f0000000000\nfrag_internal: 0.5000\n"
                            "odd line\nmapped: 8388608\nerror: \n")
    assert st == {"state": "ok", "pid": 42, "comm": "123", "devices": [0, 1],
                  "flags": "simulated shim", "version": "1.0", "arena_base": 0x7f0000000000,
                  "frag_internal": 0.5, "mapped": 8388608, "error": ""}
    assert _proc.parse_status("state: error\nerror: bad magic (Invalid argument)\n") == {
        "state": "error", "error": "bad magic (Invalid argument)"}


def test_no_mount_there(tmp_path):
    with pytest.raises(ValueError, match="no gpuvmfs is mounted at"):
        gpuvm.processes(mount=str(tmp_path))
    with pytest.raises(ValueError):
        gpuvm.processes(mount=str(tmp_path), direct=True)


def test_gpuvm_mount_that_is_no_gpuvmfs(live, tmp_path, monkeypatch):
    # like the command: a $GPUVM_MOUNT that is no gpuvmfs is passed over
    monkeypatch.setenv("GPUVM_MOUNT", str(tmp_path))
    check_live(find(gpuvm.processes(), live), live)


def test_no_command_and_no_mount(monkeypatch):
    monkeypatch.setattr(_proc, "_cli", lambda: _proc_cli_missing())
    with pytest.raises(FileNotFoundError):
        gpuvm.processes(direct=True)


def _proc_cli_missing():
    raise FileNotFoundError(2, "no gpuvm command")


@pytest.fixture
def mounted(tmp_path):
    """A gpuvmfs of this run directory at a folder of its own."""
    gpuvmfs = os.path.join(BUILD_BIN, "gpuvmfs")
    if not os.access(gpuvmfs, os.X_OK):
        pytest.skip("gpuvmfs not built")
    if not os.path.exists("/dev/fuse") or not shutil.which("fusermount3"):
        pytest.skip("no /dev/fuse or fusermount3")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    log = open(tmp_path / "gpuvmfs.log", "w+", encoding="utf-8")
    fs = subprocess.Popen([gpuvmfs, "-f", "--rundir=" + os.environ["GPUVM_RUNDIR"], str(mnt)],
                          stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            if os.path.ismount(mnt) or fs.poll() is not None:
                break
            time.sleep(0.05)
        if not os.path.ismount(mnt):
            log.seek(0)
            pytest.skip(f"gpuvmfs did not mount: {log.read().strip()}")
        yield str(mnt)
    finally:
        if fs.poll() is None:
            fs.send_signal(signal.SIGTERM)
            try:
                fs.wait(timeout=10)
            except subprocess.TimeoutExpired:
                fs.kill()
                fs.wait()
        log.close()


def test_through_a_mount(live, mounted, monkeypatch):
    through = gpuvm.processes(mount=mounted)
    check_live(find(through, live), live)
    # the same status text as the command's from the segments
    assert find(through, live) == find(gpuvm.processes(direct=True), live)
    assert find(through, os.getpid())["comm"] == comm_of(os.getpid())
    # $GPUVM_MOUNT is read by itself: no command needed
    monkeypatch.setenv("GPUVM_MOUNT", mounted)
    monkeypatch.setattr(_proc, "_cli", lambda: _proc_cli_missing())
    assert find(gpuvm.processes(), live) == find(through, live)
