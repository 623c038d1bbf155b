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
"""

import argparse
import io
import pickle
import struct
import sys

MAGIC = 0x4352544D56475047
VERSION = 1
HEADER = struct.Struct("<QIIIIQQQiI32s")
RECORD = struct.Struct("<QIiQQQQ")

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


class SafeUnpickler(pickle.Unpickler):
    """Builtin containers and scalars only: no class is ever loaded."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"refusing {module}.{name}: not a plain snapshot")


def parse_size(text):
    units = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    t = text.strip().upper().rstrip("B").rstrip("I")
    unit = t[-1:] if t[-1:] in "KMGT" else ""
    num = t[: len(t) - len(unit)]
    try:
        value = float(num)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text}")
    if value < 0:
        raise argparse.ArgumentTypeError(f"not a size: {text}")
    return int(value * units[unit])


def load(path):
    with open(path, "rb") as f:
        data = SafeUnpickler(io.BytesIO(f.read())).load()
    if not isinstance(data, dict) or "device_traces" not in data:
        raise ValueError("no device_traces: not a torch.cuda.memory snapshot")
    traces = data["device_traces"]
    if not isinstance(traces, list):
        raise ValueError("device_traces is not a list")
    return traces


def records(traces, only_device):
    """Yield (time_ns, event, device, stream, addr, requested, granted)."""
    first = None
    index = 0
    for device, trace in enumerate(traces):
        if only_device is not None and device != only_device:
            continue
        for entry in trace or []:
            index += 1
            if not isinstance(entry, dict):
                raise ValueError(f"device {device}: trace entry is not a dict")
            action = entry.get("action")
            if action == "snapshot":
                continue
            if action not in EVENTS:
                raise ValueError(f"device {device}: unknown action {action!r}")
            if "time_us" in entry and isinstance(entry["time_us"], int):
                t = entry["time_us"] * 1000
            else:
                t = index * 1000
            if first is None:
                first = t
            size = int(entry.get("size", 0))
            addr = int(entry.get("addr", 0))
            stream = int(entry.get("stream", 0)) & (2**64 - 1)
            ev = EVENTS[action]
            requested = size if ev in (1, 9) else 0
            granted = 0 if ev in (2, 9) else size
            yield (max(t - first, 0), ev, device, stream, addr, requested, granted)


def write_trace(out, recs, capacity):
    header = HEADER.pack(MAGIC, VERSION, HEADER.size, RECORD.size, 0, capacity,
                         2 << 20, 0, 0, 0, b"torch-snapshot")
    with open(out, "wb") as f:
        f.write(header)
        n = 0
        for r in recs:
            f.write(RECORD.pack(*r))
            n += 1
    return n


def write_csv(out, recs):
    n = 0
    with open(out, "w") as f:
        f.write("Thread,Time,Action,Pointer,Size,Stream\n")
        for t, ev, _dev, stream, addr, requested, _granted in recs:
            if ev not in (1, 2):
                continue
            us = t // 1000
            stamp = "%02d:%02d:%02d:%06d" % (us // 3600000000 % 24, us // 60000000 % 60,
                                              us // 1000000 % 60, us % 1000000)
            action = "allocate" if ev == 1 else "free"
            f.write(f"0,{stamp},{action},{addr:#x},{requested},{stream:#x}\n")
            n += 1
    return n


def main(argv):
    p = argparse.ArgumentParser(description="PyTorch memory snapshot -> gpuvm trace")
    p.add_argument("snapshot")
    p.add_argument("out")
    p.add_argument("--device", type=int, default=None)
    p.add_argument("--capacity", type=parse_size, default=0)
    p.add_argument("--csv", action="store_true", help="write an RMM log CSV")
    args = p.parse_args(argv)
    try:
        traces = load(args.snapshot)
        recs = list(records(traces, args.device))
    except (OSError, ValueError, pickle.UnpicklingError, EOFError, TypeError) as e:
        print(f"torch_snapshot: {args.snapshot}: {e}", file=sys.stderr)
        return 1
    if args.csv:
        n = write_csv(args.out, recs)
    else:
        n = write_trace(args.out, recs, args.capacity)
    print(f"torch_snapshot: {n} records -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
