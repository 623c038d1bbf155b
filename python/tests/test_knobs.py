# SPDX-License-Identifier: MIT
"""gpuvm.knobs(), gpuvm.get() and gpuvm.set(): the library's schema and
validation; a refused value raises and changes nothing."""
import errno
import os
import subprocess

import pytest

import gpuvm
from conftest import MiB

GiB = 1 << 30


def test_schema():
    knobs = gpuvm.knobs()
    names = [k.name for k in knobs]
    assert len(names) == gpuvm.lib.gpuvm_knob_count() == len(set(names))
    by = {k.name: k for k in knobs}
    assert {"chunk_size", "limit", "pool_reserve", "placement", "stitch"} <= set(names)
    limit = by["limit"]
    assert (limit.type, limit.unit, limit.default, limit.min) == ("size", "bytes", 0, 0)
    assert limit.max >= GiB and limit.help
    placement = by["placement"]
    assert placement.type == "enum" and placement.choices == ("best-fit", "first-fit")
    assert placement.choices[placement.default] == "best-fit"
    assert by["stitch"].type == "bool" and by["stitch"].default == 1
    assert by["pool_reserve"].init_only and not by["limit"].init_only
    assert by["chunk_size"].new_allocs_only
    assert by["va_factor"].type == "uint" and by["va_factor"].unit == "x device memory"
    for k in knobs:
        assert k.min <= k.default <= k.max, k.name
        assert isinstance(k.help, str) and k.help, k.name


def test_schema_is_the_cli_s():
    """gpuvm set --list prints the same schema from the same table."""
    cli = os.path.join(os.path.dirname(os.path.dirname(gpuvm.library_path)), "bin", "gpuvm")
    if not os.access(cli, os.X_OK):
        pytest.skip(f"no gpuvm command at {cli}")
    out = subprocess.run([cli, "set", "--list"], capture_output=True, text=True, check=True,
                         timeout=30).stdout
    for k in gpuvm.knobs():
        assert k.name in out, k.name


def test_set_and_get(restore_knobs):
    gpuvm.set("limit", "8G")
    assert gpuvm.get("limit") == 8 * GiB
    assert gpuvm.get("limit", 0) == 8 * GiB  # -1: every device too
    gpuvm.set("limit", 512 * MiB, device=0)
    assert gpuvm.get("limit", 0) == 512 * MiB
    assert gpuvm.get("limit") == 8 * GiB  # the defaults kept theirs
    gpuvm.set("placement", "first-fit")
    assert gpuvm.get("placement") == 1
    gpuvm.set("placement", 0)
    assert gpuvm.get("placement") == 0
    gpuvm.set("stitch", "off")
    assert gpuvm.get("stitch") == 0
    gpuvm.set("stitch", True)
    assert gpuvm.get("stitch") == 1
    gpuvm.set("limit", "1G\n")  # as echo writes it
    assert gpuvm.get("limit") == GiB
    assert gpuvm.stats(0)["limit"] == GiB


@pytest.mark.parametrize("knob,value,err", [
    ("limit", "abc", errno.EINVAL),
    ("limit", "12Q", errno.EINVAL),
    ("limit", "1.5G", errno.EINVAL),
    ("limit", "", errno.EINVAL),
    ("limit", " 1G", errno.EINVAL),
    ("limit", "-1", errno.EINVAL),
    ("limit", "1G\0junk", errno.EINVAL),
    ("limit", -1, errno.EINVAL),
    ("limit", 1 << 64, errno.ERANGE),
    ("limit", "99999999999999999999", errno.ERANGE),
    ("limit", "1025T", errno.ERANGE),
    ("small_max", "65M", errno.ERANGE),
    ("va_factor", 0, errno.ERANGE),
    ("placement", "nope", errno.EINVAL),
    ("placement", 2, errno.ERANGE),
    ("stitch", 2, errno.ERANGE),
    ("stitch", "maybe", errno.EINVAL),
])
@pytest.mark.parametrize("device", [-1, 0])
def test_bad_values_change_nothing(restore_knobs, knob, value, err, device):
    gpuvm.set("limit", "256M", device)
    before = {d: {k: gpuvm.get(k, d) for k in restore_knobs[d]} for d in (-1, 0)}
    with pytest.raises(ValueError) as e:
        gpuvm.set(knob, value, device)
    assert e.value.errno == err
    msg = str(e.value)
    assert msg.startswith(f"{knob}=") and msg.endswith(os.strerror(err)), msg
    if device != -1:
        assert f"on device {device}" in msg
    assert {d: {k: gpuvm.get(k, d) for k in restore_knobs[d]} for d in (-1, 0)} == before


def test_refused_by_the_device(restore_knobs):
    # a chunk that is not a multiple of the granularity (cudasim: 2 MiB)
    with pytest.raises(ValueError, match=r"^chunk_size=3M on device 0: Invalid argument$"):
        gpuvm.set("chunk_size", "3M", 0)
    assert gpuvm.get("chunk_size", 0) == restore_knobs[0]["chunk_size"]
    # read once when the device was set up
    with pytest.raises(PermissionError):
        gpuvm.set("pool_reserve", "2M", 0)
    assert gpuvm.get("pool_reserve", 0) == restore_knobs[0]["pool_reserve"]
    # a rule between knobs: low_watermark at most a set high_watermark
    gpuvm.set("high_watermark", "4M")
    with pytest.raises(ValueError):
        gpuvm.set("low_watermark", "8M")
    assert gpuvm.get("low_watermark") == restore_knobs[-1]["low_watermark"]


def test_not_a_knob():
    with pytest.raises(ValueError, match="no such knob"):
        gpuvm.set("no_such_knob", 1)
    with pytest.raises(ValueError, match="no such knob"):
        gpuvm.get("no_such_knob")
    with pytest.raises(ValueError, match="no such knob"):
        gpuvm.get("limit\0x")
    with pytest.raises(TypeError):
        gpuvm.set("limit", 1.5)
    with pytest.raises(TypeError):
        gpuvm.set(b"limit", 1)
    with pytest.raises(ValueError):
        gpuvm.get("limit", 7)  # no device 7


@pytest.mark.parametrize("err,cls", [
    (errno.EINVAL, ValueError), (errno.ERANGE, ValueError), (errno.EACCES, PermissionError),
    (errno.ENODEV, OSError), (errno.ESHUTDOWN, OSError)])
def test_errno_to_exception(err, cls):
    with pytest.raises(cls) as e:
        gpuvm._fail(-err, "limit=1M")  # pylint: disable=protected-access
    assert type(e.value) is cls or cls is OSError
    assert e.value.errno == err
    assert str(e.value).endswith(f"limit=1M: {os.strerror(err)}")
