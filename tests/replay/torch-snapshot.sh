#!/bin/bash
# SPDX-License-Identifier: MIT
#
# torch-snapshot.sh - tools/replay/torch_snapshot.py against truncated and
# hostile pickles: each is one line on stderr naming the file, exit status
# 1, no traceback, and no output file (nor temporary file) left behind; an
# existing output is left as it was.  A good snapshot converts from a file
# and from a pipe alike.
set -u
src=${GPUVM_SRC:?}
conv=$src/tools/replay/torch_snapshot.py
tmp=$(mktemp -d /tmp/gpuvm-torch-snapshot.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

command -v python3 >/dev/null 2>&1 || { echo "skip: no python3"; exit 77; }
# the interpreter itself: a version manager's shim costs most of a second a run
python3=$(python3 -c 'import sys; print(sys.executable)')

mkdir "$tmp/in" "$tmp/out"
"$python3" - "$tmp/in" <<'PY' || fail "making pickles"
import pickle, struct, sys
d = sys.argv[1]
def put(name, data):
    open(f"{d}/{name}", "wb").write(data)
def entry(**kw):
    e = {"action": "alloc", "addr": 1 << 40, "size": 4096, "stream": 0}
    e.update(kw)
    return e
good = pickle.dumps({"segments": [], "device_traces": [[entry(), entry(action="free_requested")]]},
                    protocol=4)
put("good.pickle", good)
# name -> bytes; the expected message is in the list the shell reads
put("empty", b"")
put("cut-half", good[: len(good) // 2])
put("cut-last", good[:-1])
put("binbytes8-1tib", b"\x80\x04\x8e" + struct.pack("<Q", 1 << 40) + b"abc")
put("binunicode8-huge", b"\x80\x04\x8d" + struct.pack("<Q", (1 << 64) - 1) + b"abc")
put("frame-huge", b"\x80\x04\x95" + struct.pack("<Q", 1 << 40) + b"N.")
put("memo-4g", b"\x80\x04N" + b"r" + struct.pack("<I", 0xFFFFFFFF) + b".")
put("garbage", b"\xff\xfe\xfd")
put("size-inf", pickle.dumps({"device_traces": [[entry(size=float("inf"))]]}))
put("size-2e70", pickle.dumps({"device_traces": [[entry(size=1 << 70)]]}))
put("addr-negative", pickle.dumps({"device_traces": [[entry(addr=-1)]]}))
put("time-huge", pickle.dumps({"device_traces": [[entry(time_us=1 << 62)]]}))
put("action-list", pickle.dumps({"device_traces": [[entry(action=[1, 2])]]}))
put("action-esc", pickle.dumps({"device_traces": [[entry(action="\x1b[2J")]]}))
put("not-a-dict", pickle.dumps({"device_traces": [[5]]}))
put("trace-int", pickle.dumps({"device_traces": [7]}))
put("no-traces", pickle.dumps([1, 2, 3]))
put("unhashable-key", b"\x80\x02}]Ns.")  # {[]: None}: a list as a key
put("class", pickle.dumps({"device_traces": [[entry(size=OverflowError())]]}))
# the last entry is bad: the old converter had written the first already
put("bad-tail", pickle.dumps({"device_traces": [[entry()] * 1 + [entry(size=1 << 70)]]}))
# one list referenced 100000 times: a tiny file, an endless trace
lst = [entry() for _ in range(50)]
put("shared-refs", pickle.dumps({"device_traces": [lst] * 100000}))
PY

# name:text the one line must hold
cases="
empty:truncated pickle at offset 0
cut-half:truncated pickle at offset
cut-last:truncated pickle at offset
binbytes8-1tib:truncated pickle at offset 2
binunicode8-huge:truncated pickle at offset 2
frame-huge:bad pickle
memo-4g:memo index 4294967295
garbage:bad pickle at offset 0
size-inf:size inf is not an integer
size-2e70:size 1180591620717411303424 is out of range
addr-negative:addr -1 is out of range
time-huge:time_us 4611686018427387904 is out of range
action-list:unknown action [1, 2]
action-esc:unknown action '\\x1b[2J'
not-a-dict:not a dict
trace-int:trace is not a list
no-traces:no device_traces
unhashable-key:bad snapshot
class:refusing
bad-tail:size 1180591620717411303424 is out of range
shared-refs:more entries than the file holds
"
echo "previous" > "$tmp/out/kept.trace"
while IFS=: read -r name want; do
	[ -n "$name" ] || continue
	for mode in trace csv; do
		flag=; [ $mode = csv ] && flag=--csv
		timeout 60 "$python3" "$conv" "$tmp/in/$name" "$tmp/out/$name.$mode" $flag \
			2> "$tmp/err" > /dev/null
		rc=$?
		[ $rc = 1 ] || fail "$name ($mode): exit $rc, not 1: $(head -c 300 "$tmp/err")"
		[ "$(wc -l < "$tmp/err")" = 1 ] || fail "$name ($mode): not one line: $(cat "$tmp/err")"
		grep -q '^torch_snapshot: .*/in/'"$name"': ' "$tmp/err" ||
			fail "$name ($mode): the line does not name the file: $(cat "$tmp/err")"
		grep -qF -- "$want" "$tmp/err" || fail "$name ($mode): $(cat "$tmp/err")"
		LC_ALL=C grep -q $'\033' "$tmp/err" && fail "$name: a raw ESC on stderr"
		[ -e "$tmp/out/$name.$mode" ] && fail "$name ($mode): output left behind"
	done
	# an existing output stays as it was
	"$python3" "$conv" "$tmp/in/$name" "$tmp/out/kept.trace" 2>/dev/null && fail "$name: kept"
	[ "$(cat "$tmp/out/kept.trace")" = previous ] || fail "$name: existing output changed"
	[ -z "$(ls -A "$tmp/out" | grep -v '^kept.trace$')" ] ||
		fail "$name: files left in the output directory: $(ls -A "$tmp/out")"
	echo "ok: $name: $(cat "$tmp/err")"
done <<< "$cases"

# A bad --capacity is a usage error, not a traceback.
"$python3" "$conv" "$tmp/in/good.pickle" "$tmp/out/x" --capacity inf 2> "$tmp/err"
[ $? = 2 ] || fail "--capacity inf: not a usage error"
grep -q Traceback "$tmp/err" && fail "--capacity inf: $(cat "$tmp/err")"
# An output directory that does not exist: one line, exit 1.
"$python3" "$conv" "$tmp/in/good.pickle" "$tmp/nowhere/x.trace" 2> "$tmp/err"
[ $? = 1 ] && [ "$(wc -l < "$tmp/err")" = 1 ] || fail "no output dir: $(cat "$tmp/err")"

# The good snapshot, from a file and from a pipe; it replaces an old output.
"$python3" "$conv" "$tmp/in/good.pickle" "$tmp/out/kept.trace" 2>/dev/null || fail "convert"
"$python3" "$conv" - "$tmp/out/pipe.trace" < "$tmp/in/good.pickle" 2>/dev/null ||
	fail "convert from -"
cat "$tmp/in/good.pickle" | "$python3" "$conv" /dev/stdin "$tmp/out/dev.trace" 2>/dev/null ||
	fail "convert from /dev/stdin"
cmp -s "$tmp/out/kept.trace" "$tmp/out/pipe.trace" || fail "- converts differently"
cmp -s "$tmp/out/kept.trace" "$tmp/out/dev.trace" || fail "/dev/stdin converts differently"
[ "$(stat -c %s "$tmp/out/kept.trace")" = $((88 + 2 * 48)) ] || fail "good: not 2 records"
[ -z "$(ls -A "$tmp/out" | grep -v '\.trace$')" ] || fail "temporary files left"
exit 0
