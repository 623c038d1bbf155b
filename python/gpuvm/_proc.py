# SPDX-License-Identifier: MIT
"""_proc.py - gpuvm.processes(): every process using gpuvm, with its status.

Through a gpuvmfs mount when one serves our run directory (its files,
Documentation/gpuvmfs.rst), else through the gpuvm command, which reads
the segments with gpuvmfs's own code (`gpuvm ps`, `gpuvm status PID`).
The mount is chosen as the command chooses it (tools/gpuvm/source.c):
the one named, else $GPUVM_MOUNT when it is a gpuvmfs, else /gpuvm when
it serves the run directory ($GPUVM_RUNDIR, else /dev/shm/gpuvm-<euid>);
any other mount that serves it the command finds itself.
"""
import errno
import os
import re
import shutil
import subprocess
from typing import Dict, List, Optional

GPUVMFS_FSTYPE = "fuse.gpuvm"
GPUVMFS_SOURCE = "gpuvmfs"
GPUVMFS_PER_USER = "per-user"
RUNDIR_PARENT = "/dev/shm"
CLI_TIMEOUT = 30  # seconds per command

# status keys whose values stay text, and the one that is a list
_TEXT_KEYS = frozenset(("state", "error", "comm", "driver", "flags", "version"))
_INT = re.compile(r"-?[0-9]+\Z")
_HEX = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT = re.compile(r"-?[0-9]+\.[0-9]+\Z")


def parse_status(text: str) -> Dict[str, object]:
    """The "key: value" lines of a status file as a dict: integers (decimal
    or 0x hex) and fractions as numbers, devices as a list of ordinals,
    the rest as text."""
    out: Dict[str, object] = {}
    for line in text.splitlines():
        key, sep, val = line.partition(":")
        if not sep or not key:
            continue
        val = val.strip()
        if key == "devices":
            out[key] = [int(d) for d in val.split() if d.isdigit()]
        elif key in _TEXT_KEYS:
            out[key] = val
        elif _INT.match(val):
            out[key] = int(val)
        elif _HEX.match(val):
            out[key] = int(val, 16)
        elif _FLOAT.match(val):
            out[key] = float(val)
        else:
            out[key] = val
    return out


def _unescape(s: str) -> str:
    """Undo /proc/self/mountinfo's octal escapes ("\\040" for a space)."""
    return re.sub(r"\\([0-3][0-7][0-7])", lambda m: chr(int(m.group(1), 8)), s)


def _gpuvmfs_mounts():
    """(mount point, what it serves) of every gpuvmfs mount."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
            lines = f.readlines()
    except OSError:
        return
    for line in lines:
        head, sep, tail = line.partition(" - ")
        fields, rest = head.split(), tail.split()
        if not sep or len(fields) < 5 or len(rest) < 2 or rest[0] != GPUVMFS_FSTYPE:
            continue
        source = rest[1]
        if not source.startswith(GPUVMFS_SOURCE):
            continue
        served = source[len(GPUVMFS_SOURCE):]
        if served and not served.startswith(":"):
            continue
        yield _unescape(fields[4]), _unescape(served[1:])


def _served_by(path: str) -> Optional[str]:
    """What the gpuvmfs mounted at @path serves, or None when none is."""
    if not os.path.isdir(path):
        return None
    real = os.path.realpath(path)
    for mnt, served in _gpuvmfs_mounts():
        if mnt == real:
            return served
    return None


def _same_dir(a: str, b: str) -> bool:
    return a == b or (os.path.isdir(a) and os.path.isdir(b) and
                      os.path.realpath(a) == os.path.realpath(b))


def _serves_us(served: str) -> bool:
    own = f"{RUNDIR_PARENT}/gpuvm-{os.geteuid()}"
    env = os.environ.get("GPUVM_RUNDIR")
    rundir = env or own
    per_user = not env and os.geteuid() == 0
    if served == GPUVMFS_PER_USER:
        return per_user or _same_dir(rundir, own)
    return bool(served) and not per_user and _same_dir(rundir, served)


def _find_mount() -> Optional[str]:
    env = os.environ.get("GPUVM_MOUNT")
    if env and _served_by(env) is not None:
        return env
    served = _served_by("/gpuvm")
    if served is not None and _serves_us(served):
        return "/gpuvm"
    return None


def _read(path: str) -> str:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "r", encoding="utf-8", errors="replace") as f:
        return f.read()


def _entry(pid: int, status: Dict[str, object]) -> Dict[str, object]:
    out: Dict[str, object] = {"pid": pid, "comm": None}
    out.update(status)
    out["pid"] = pid
    return out


def _from_mount(mount: str) -> List[Dict[str, object]]:
    procs = []
    for name in os.listdir(mount):
        if not name.isdigit():
            continue
        try:
            text = _read(os.path.join(mount, name, "status"))
        except (FileNotFoundError, ProcessLookupError):
            continue  # gone meanwhile
        except OSError as e:
            procs.append(_entry(int(name), {"state": "error", "error": e.strerror}))
            continue
        procs.append(_entry(int(name), parse_status(text)))
    return procs


def _cli() -> str:
    """The gpuvm command: bin/gpuvm beside the library's lib/, else $PATH's."""
    from . import library_path  # pylint: disable=import-outside-toplevel
    beside = os.path.join(os.path.dirname(os.path.dirname(library_path)), "bin", "gpuvm")
    if os.access(beside, os.X_OK):
        return beside
    found = shutil.which("gpuvm")
    if found:
        return found
    raise FileNotFoundError(errno.ENOENT, "gpuvm.processes(): no gpuvmfs mount serves this "
                            f"run directory and no gpuvm command (not beside {library_path}, "
                            "not on PATH)")


def _run(args: List[str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          errors="replace", timeout=CLI_TIMEOUT, check=False)


def _from_cli(direct: bool) -> List[Dict[str, object]]:
    cli = _cli()
    src = ["--direct"] if direct else []
    ps = _run([cli, "ps"] + src)
    if ps.returncode:
        raise OSError(errno.EIO, f"{cli} ps: {ps.stderr.strip() or 'exit %d' % ps.returncode}")
    pids = []
    for line in ps.stdout.splitlines():
        first = line.split(None, 1)[:1]
        if first and first[0].isdigit():  # not the "#" line nor the header
            pids.append(int(first[0]))
    procs = []
    for pid in pids:
        st = _run([cli, "status"] + src + [str(pid)])
        if st.returncode == 1 and "no such process" in st.stderr:
            continue  # gone meanwhile
        if st.returncode:
            raise OSError(errno.EIO, f"{cli} status {pid}: "
                          f"{st.stderr.strip() or 'exit %d' % st.returncode}")
        procs.append(_entry(pid, parse_status(st.stdout)))
    return procs


def processes(mount: Optional[str] = None, direct: bool = False) -> List[Dict[str, object]]:
    """Every process using gpuvm: a list of dicts, by pid.

    Each holds pid, comm and the keys of its /gpuvm/<pid>/status (state,
    driver, devices, requested, mapped, ..., driver_<name>), numbers as
    numbers; one whose segment does not validate has state "error" and
    the reason in error.  @mount names a gpuvmfs mount to read; @direct
    reads the segments (through the gpuvm command) even when one is
    mounted.  By default: a gpuvmfs mount that serves this run directory,
    else the segments.
    """
    if mount is not None and direct:
        raise ValueError("processes(): mount and direct exclude each other")
    if mount is None and not direct:
        mount = _find_mount()
    elif mount is not None and _served_by(mount) is None:
        raise ValueError(f"processes(): no gpuvmfs is mounted at {mount}")
    procs = _from_mount(mount) if mount is not None else _from_cli(direct)
    return sorted(procs, key=lambda p: p["pid"])
