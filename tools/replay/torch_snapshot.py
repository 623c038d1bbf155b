#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""torch_snapshot.py - convert a PyTorch memory snapshot to a gpuvm trace.

    python3 torch_snapshot.py SNAPSHOT.pickle OUT.trace [--device N]
                              [--capacity SIZE] [--csv]

SNAPSHOT is what torch.cuda.memory._dump_snapshot(path) writes (record it
with torch.cuda.memory._record_memory_history() on first).  Its
device_traces become records:

    alloc -> alloc              free_requested -> free_requested
    free_completed -> free_completed
    segment_alloc -> chunk_create   segment_free -> chunk_release
    segment_map -> map              segment_unmap -> unmap
    oom -> oom                      snapshot -> (skipped)

Needs only Python 3's standard library (pickle, struct): torch is not
imported.  The pickle is read with a restricted unpickler that refuses every
class, so a hostile file cannot run code.  Without --device, every device's
trace is converted.  The snapshot does not name the device's memory; give
--capacity (e.g. 80G) or pass --capacity to the replay.  --csv writes RMM's
logging-adaptor CSV instead (allocations and frees only).

Bad input (a truncated or hostile pickle, a value out of range) is one line
on stderr and exit status 1: nothing is written.  The output goes to a
temporary file beside OUT, renamed into place only once every record is
written.  SNAPSHOT may be a pipe, or - for standard input.  Every allocation
is bounded by the input's real size: the opcode stream is checked (each
length against the bytes that remain) before the unpickler sees it.
"""

import argparse
import io
import os
import pickle
import pickletools
import reprlib
import struct
import sys
import tempfile

MAGIC = 0x4352544D56475047
VERSION = 1
HEADER = struct.Struct("<QIIIIQQQiI32s")
RECORD = struct.Struct("<QIiQQQQ")
U64 = 1 << 64
MAX_BYTES = 1 << 60  # REPLAY_MAX_BYTES: the largest size the trace readers accept

EVENTS = {
    "alloc": 1,
    "free_requested": 2,
    "free_completed": 3,
    "segment_alloc": 5,
    "segment_free": 6,
    "segment_map": 7,
    "segment_unmap": 8,
    "oom": 9,
}

# Memo indices a put may name: the C unpickler grows its memo to twice the
# index at once, so one LONG_BINPUT 0xffffffff asks for 64 GiB.
PUTS = ("PUT", "BINPUT", "LONG_BINPUT")


class BadInput(Exception):
    """The snapshot cannot be converted; the message is the reason."""


def short(value):
    """A bounded repr: a hostile value may be huge or deeply nested."""
    r = reprlib.Repr()
    r.maxstring = r.maxother = 40
    return r.repr(value)


def one_line(text):
    """Text for one line of stderr: no control bytes, bounded length."""
    text = "".join(c if " " <= c <= "~" else c.encode("unicode_escape").decode("ascii")
                   for c in str(text))
    return text if len(text) <= 200 else text[:200] + "..."


class SafeUnpickler(pickle.Unpickler):
    """Builtin containers and scalars only: no class is ever loaded."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(
            f"refusing {one_line(module)}.{one_line(name)}: not a plain snapshot")


def parse_size(text):
    units = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    t = text.strip().upper().rstrip("B").rstrip("I")
    unit = t[-1:] if t[-1:] in "KMGT" else ""
    num = t[: len(t) - len(unit)]
    try:
        value = float(num)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text}")
    # inf and nan are floats too; the trace readers refuse more than 2^60
    if not 0 <= value <= MAX_BYTES / units[unit]:
        raise argparse.ArgumentTypeError(f"not a size (0 to 1E): {text}")
    return int(value * units[unit])


def read_input(path):
    """The whole input, read once (a pipe will do): its real size bounds the rest."""
    if path == "-":
        return sys.stdin.buffer.read()
    with open(path, "rb") as f:
        return f.read()


def check_opcodes(data):
    """Walk the opcode stream without building anything.

    pickletools reads each argument from the bytes that are there, so a
    length beyond them is an error here, where the unpickler would have
    allocated it first (a 1 TiB BINBYTES8 is a MemoryError).
    """
    f = io.BytesIO(data)
    start = 0
    try:
        for op, arg, _pos in pickletools.genops(f):
            if op.name in PUTS and not 0 <= arg < len(data):
                raise BadInput(f"bad pickle at offset {start}: memo index {arg}")
            start = f.tell()
    except BadInput:
        raise
    except ValueError as e:
        msg = str(e)
        if any(w in msg for w in ("remain", "not enough data", "exhausted", "no newline",
                                  "sys.maxsize")):
            raise BadInput(f"truncated pickle at offset {start}")
        raise BadInput(f"bad pickle at offset {start}: {one_line(msg)}")


def load(data):
    check_opcodes(data)
    try:
        snap = SafeUnpickler(io.BytesIO(data)).load()
    except (pickle.UnpicklingError, EOFError) as e:
        raise BadInput(f"bad pickle: {one_line(e) or type(e).__name__}")
    if not isinstance(snap, dict) or "device_traces" not in snap:
        raise BadInput("no device_traces: not a torch.cuda.memory snapshot")
    traces = snap["device_traces"]
    if not isinstance(traces, list):
        raise BadInput("device_traces is not a list")
    return traces


def field(entry, key, where, lo=0, hi=U64 - 1):
    value = entry.get(key, 0)
    if type(value) is not int:  # bool, float, str...: not what torch writes
        raise BadInput(f"{where}: {key} {short(value)} is not an integer")
    if not lo <= value <= hi:
        raise BadInput(f"{where}: {key} {value} is out of range")
    return value


def records(traces, only_device, limit):
    """Yield (time_ns, event, device, stream, addr, requested, granted).

    At most @limit entries are walked: each costs the pickle at least a
    byte, so more means one list referenced over and over (a small file
    that would expand into an endless trace).
    """
    first = None
    index = 0
    for device, trace in enumerate(traces):
        if only_device is not None and device != only_device:
            continue
        if trace is None:
            continue
        if not isinstance(trace, list):
            raise BadInput(f"device {device}: trace is not a list")
        if device >= 1 << 31:
            raise BadInput(f"device {device}: out of range")
        for entry in trace:
            index += 1
            where = f"device {device} entry {index}"
            if index > limit:
                raise BadInput(f"{where}: more entries than the file holds "
                               "(one list referenced many times)")
            if not isinstance(entry, dict):
                raise BadInput(f"{where}: not a dict")
            action = entry.get("action")
            if action == "snapshot":
                continue
            if type(action) is not str or action not in EVENTS:
                raise BadInput(f"{where}: unknown action {short(action)}")
            if type(entry.get("time_us")) is int:
                t = field(entry, "time_us", where, hi=(U64 - 1) // 1000) * 1000
            else:
                t = index * 1000
            if first is None:
                first = t
            size = field(entry, "size", where, hi=MAX_BYTES)
            addr = field(entry, "addr", where)
            stream = field(entry, "stream", where, lo=-(1 << 63)) & (U64 - 1)
            ev = EVENTS[action]
            requested = size if ev in (1, 9) else 0
            granted = 0 if ev in (2, 9) else size
            yield (max(t - first, 0), ev, device, stream, addr, requested, granted)


def write_trace(f, recs, capacity):
    f.write(HEADER.pack(MAGIC, VERSION, HEADER.size, RECORD.size, 0, capacity,
                        2 << 20, 0, 0, 0, b"torch-snapshot"))
    n = 0
    for r in recs:
        f.write(RECORD.pack(*r))
        n += 1
    return n


def write_csv(f, recs):
    n = 0
    f.write(b"Thread,Time,Action,Pointer,Size,Stream\n")
    for t, ev, _dev, stream, addr, requested, _granted in recs:
        if ev not in (1, 2):
            continue
        us = t // 1000
        stamp = "%02d:%02d:%02d:%06d" % (us // 3600000000 % 24, us // 60000000 % 60,
                                          us // 1000000 % 60, us % 1000000)
        action = "allocate" if ev == 1 else "free"
        f.write(f"0,{stamp},{action},{addr:#x},{requested},{stream:#x}\n".encode())
        n += 1
    return n


def write_atomically(out, write):
    """write(file) into a temporary file beside @out, renamed over it on success."""
    d = os.path.dirname(os.path.abspath(out))
    fd, tmp = tempfile.mkstemp(dir=d, prefix="." + os.path.basename(out) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            umask = os.umask(0)
            os.umask(umask)
            os.fchmod(f.fileno(), 0o666 & ~umask)  # what open() would have made
            n = write(f)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, out)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return n


def main(argv):
    p = argparse.ArgumentParser(description="PyTorch memory snapshot -> gpuvm trace")
    p.add_argument("snapshot", help="the pickle; - for standard input")
    p.add_argument("out")
    p.add_argument("--device", type=int, default=None)
    p.add_argument("--capacity", type=parse_size, default=0)
    p.add_argument("--csv", action="store_true", help="write an RMM log CSV")
    args = p.parse_args(argv)
    name = "<stdin>" if args.snapshot == "-" else args.snapshot
    try:
        data = read_input(args.snapshot)
        traces = load(data)
        recs = records(traces, args.device, len(data))
        if args.csv:
            n = write_atomically(args.out, lambda f: write_csv(f, recs))
        else:
            n = write_atomically(args.out, lambda f: write_trace(f, recs, args.capacity))
    except BadInput as e:
        print(f"torch_snapshot: {one_line(name)}: {one_line(e)}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"torch_snapshot: {one_line(e.filename or name)}: {one_line(e.strerror or e)}",
              file=sys.stderr)
        return 1
    except MemoryError:
        print(f"torch_snapshot: {one_line(name)}: out of memory", file=sys.stderr)
        return 1
    except Exception as e:  # anything else a hostile file reaches is still bad input
        print(f"torch_snapshot: {one_line(name)}: bad snapshot ({type(e).__name__}: "
              f"{one_line(e)})", file=sys.stderr)
        return 1
    print(f"torch_snapshot: {n} records -> {one_line(args.out)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
