#!/bin/bash
# SPDX-License-Identifier: MIT
#
# replay-cli.sh - gpuvm-replay end to end: every bundled workload is
# generated, dumped and replayed (models only, and with the real gpuvm
# when libgpuvm can run), and bad input fails with a message.
set -u
bin=${GPUVM_BUILD:?}/bin/gpuvm-replay
src=${GPUVM_SRC:?}
tmp=$(mktemp -d /tmp/gpuvm-replay-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

[ -x "$bin" ] || { echo "skip: $bin not built"; exit 77; }

for w in $("$bin" workload list | awk '{print $1}'); do
	"$bin" workload "$w" --out "$tmp/$w.trace" --seed 3 || fail "workload $w"
	"$bin" trace dump "$tmp/$w.trace" > "$tmp/$w.txt" || fail "dump $w"
	grep -q '^# source: workload:'"$w" "$tmp/$w.txt" || fail "dump header $w"
	"$bin" replay "$tmp/$w.trace" --no-gpuvm > "$tmp/$w.out" || fail "replay $w"
	for m in first-fit torch-caching torch-expandable; do
		grep -q "^$m " "$tmp/$w.out" || fail "no $m row for $w"
	done
done
cat "$tmp/classic.out"

# Same seed, same trace.
"$bin" workload churn --out "$tmp/again.trace" --seed 3 || fail "workload again"
cmp -s "$tmp/churn.trace" "$tmp/again.trace" || fail "workload not deterministic"

# The RMM importer through the command line.
"$bin" trace dump "$src/tests/replay/data/rmm_sample.csv" | grep -q 'source: rmm-csv' ||
	fail "rmm dump"

# The PyTorch snapshot converter (needs only python3's standard library).
if command -v python3 >/dev/null 2>&1; then
	python3 - "$tmp" <<'PY' || fail "making snapshots"
import pickle, sys
d = sys.argv[1]
tr = [{"action": "segment_alloc", "addr": 1 << 40, "size": 20 << 20, "stream": 0},
      {"action": "alloc", "addr": 1 << 40, "size": 5 << 20, "stream": 0},
      {"action": "alloc", "addr": (1 << 40) + (5 << 20), "size": 512, "stream": 0},
      {"action": "free_requested", "addr": 1 << 40, "size": 5 << 20, "stream": 0},
      {"action": "free_completed", "addr": 1 << 40, "size": 5 << 20, "stream": 0},
      {"action": "snapshot", "addr": 0, "size": 0, "stream": 0}]
pickle.dump({"segments": [], "device_traces": [tr]}, open(d + "/snap.pickle", "wb"))
class Evil:
    def __reduce__(self):
        return (print, ("code ran",))
pickle.dump({"device_traces": [[Evil()]]}, open(d + "/evil.pickle", "wb"))
PY
	conv=$src/tools/replay/torch_snapshot.py
	python3 "$conv" "$tmp/snap.pickle" "$tmp/snap.trace" --capacity 1G || fail "convert"
	"$bin" trace dump "$tmp/snap.trace" > "$tmp/snap.txt" || fail "dump snapshot"
	grep -q 'source: torch-snapshot' "$tmp/snap.txt" || fail "snapshot source"
	[ "$(grep -c ' alloc ' "$tmp/snap.txt")" = 2 ] || fail "snapshot allocs"
	"$bin" replay "$tmp/snap.trace" --no-gpuvm > /dev/null || fail "replay snapshot"
	python3 "$conv" "$tmp/evil.pickle" "$tmp/evil.trace" 2>/dev/null && fail "evil pickle"
	[ -e "$tmp/evil.trace" ] && fail "evil pickle wrote output"
	python3 "$conv" "$tmp/snap.pickle" "$tmp/snap.csv" --csv || fail "convert csv"
	"$bin" replay "$tmp/snap.csv" --no-gpuvm --capacity 1G > /dev/null || fail "replay csv"
else
	echo "note: no python3, snapshot converter not tested"
fi

# Bad input: a message and a non-zero exit, nothing written.
"$bin" replay "$tmp/nope.trace" 2>/dev/null && fail "missing trace accepted"
"$bin" replay "$tmp/classic.trace" --capacity 0 2>/dev/null && fail "capacity 0 accepted"
"$bin" workload nope --out "$tmp/x" 2>/dev/null && fail "unknown workload accepted"
[ -e "$tmp/x" ] && fail "output written for a bad workload"
"$bin" frobnicate 2>/dev/null && fail "unknown command accepted"

# Each command names itself as typed (it used to say "usage: replay TRACE").
"$bin" replay --help | grep -q '^usage: gpuvm-replay replay TRACE ' ||
	fail "replay --help: $("$bin" replay --help | head -n 1)"
"$bin" replay 2>&1 | grep -q '^usage: gpuvm-replay replay TRACE ' || fail "replay: no usage"
"$bin" trace 2>&1 | grep -q '^usage: gpuvm-replay trace dump FILE' || fail "trace: no usage"
"$bin" workload 2>&1 | grep -q '^usage: gpuvm-replay workload NAME' ||
	fail "workload: no usage"
"$bin" replay "$tmp/classic.trace" --capacity 0 2>&1 |
	grep -q '^gpuvm-replay replay: bad capacity "0"$' || fail "replay: message not named"

# Hostile sizes and lying headers: one line naming the record or line, exit 1.
# (Sizes near 2^64 used to wrap the rounding and crash the first-fit model.)
put_u64() {	# FILE OFFSET VALUE: write a little-endian u64 in place
	local hex
	hex=$(printf '%016x' "$3" | sed -E 's/(..)(..)(..)(..)(..)(..)(..)(..)/\8\7\6\5\4\3\2\1/')
	printf "$(echo "$hex" | sed 's/../\\x&/g')" |
		dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
hostile() {	# NAME EXPECTED-TEXT ARGS...: exit 1, one line on stderr naming it
	local name=$1 want=$2 rc
	shift 2
	"$bin" "$@" > /dev/null 2> "$tmp/$name.err"
	rc=$?
	[ $rc = 1 ] || fail "$name: exit $rc, not 1"
	[ "$(wc -l < "$tmp/$name.err")" = 1 ] || fail "$name: not one line: $(cat "$tmp/$name.err")"
	grep -q -- "$want" "$tmp/$name.err" || fail "$name: $(cat "$tmp/$name.err")"
}
# the header (88 bytes) and the first record of a workload, an ALLOC
head -c 136 "$tmp/classic.trace" > "$tmp/huge.trace"
put_u64 "$tmp/huge.trace" 120 18446744073709551615	# requested
hostile huge "record 0: request of 18446744073709551615 bytes" \
	replay "$tmp/huge.trace" --no-gpuvm
printf 'Thread,Time,Action,Pointer,Size,Stream\n1,00:00:00:1,allocate,0x1000,%s,0\n' \
	18446744073709551104 > "$tmp/huge.csv"
hostile huge-csv "huge.csv:2: size 18446744073709551104 bytes" \
	replay "$tmp/huge.csv" --no-gpuvm --capacity 1G
head -c 88 "$tmp/classic.trace" > "$tmp/hdrlie.trace"
printf '\xa0\x0f' | dd of="$tmp/hdrlie.trace" bs=1 seek=12 conv=notrunc status=none
hostile hdrlie "truncated trace: header_size 4000" trace dump "$tmp/hdrlie.trace"
head -c 136 "$tmp/classic.trace" > "$tmp/reclie.trace"
printf '\xa0\x0f' | dd of="$tmp/reclie.trace" bs=1 seek=16 conv=notrunc status=none
hostile reclie "truncated trace: record_size 4000, but only 48 bytes" \
	replay "$tmp/reclie.trace" --no-gpuvm

# The real manager column: runs when libgpuvm implements the API.
"$bin" replay "$tmp/classic.trace" > "$tmp/real.out" || fail "replay with gpuvm"
if grep -q '^gpuvm .*not run' "$tmp/real.out"; then
	grep '^gpuvm' "$tmp/real.out"
	echo "note: the gpuvm column did not run (see above)"
else
	grep -q '^gpuvm ' "$tmp/real.out" || fail "no gpuvm row"
fi
# driver ms by call: one line per column that ran, its kinds summing to
# its driver-ms
awk '$1 == "model" { for (i = 1; i <= NF; i++) if ($i == "driver-ms") col = i }
     /^ratios/ { table = 0 } table && NF > col { ms[$1] = $col } $1 == "model" { table = 1 }
     /^driver ms by call/ { split_ = 1; next }
     split_ && /^  / { sum = $3 + $6 + $9 + $12 + $15; n++
		       d = sum - ms[$1]; if (d < -0.6 || d > 0.6) { print "bad: " $0; bad = 1 } }
     END { if (!n) print "no lines"; exit bad || !n }' "$tmp/real.out" ||
	fail "driver ms by call does not add up: $(sed -n '/^driver ms by call/,$p' "$tmp/real.out")"

# A trace's source is printed escaped: an ESC in it must not reach the terminal.
cp "$tmp/classic.trace" "$tmp/esc.trace"
printf 'a\033[31mred\a\\\000' | dd of="$tmp/esc.trace" bs=1 seek=56 conv=notrunc status=none
for cli in "$bin" "$GPUVM_BUILD/bin/gpuvm"; do
	[ -x "$cli" ] || continue
	"$cli" trace dump "$tmp/esc.trace" > "$tmp/esc.txt" || fail "$cli: dump esc"
	grep -q '^# source: a\\x1b\[31mred\\x07\\\\$' "$tmp/esc.txt" ||
		fail "$cli: source not escaped: $(grep source "$tmp/esc.txt" | od -c)"
	"$cli" replay "$tmp/esc.trace" --no-gpuvm > "$tmp/esc.out" || fail "$cli: replay esc"
	LC_ALL=C grep -q $'\033' "$tmp/esc.txt" "$tmp/esc.out" && fail "$cli: a raw ESC"
done

# Pipes: the readers read once, front to back (they used to rewind after
# the magic, and a pipe then said "bad magic"); the helper gets the trace
# that was read.
cat "$tmp/classic.trace" | "$bin" replay /dev/stdin --no-gpuvm > "$tmp/pipe.out" ||
	fail "replay from a pipe"
cmp -s "$tmp/classic.out" "$tmp/pipe.out" || fail "a pipe replays differently"
"$bin" replay - < "$tmp/classic.trace" > "$tmp/stdin.out" || fail "replay -"
if ! grep -q '^gpuvm .*not run' "$tmp/real.out"; then
	grep -q '^gpuvm .*not run' "$tmp/stdin.out" && fail "gpuvm column not run from -"
	cmp -s "$tmp/real.out" "$tmp/stdin.out" || fail "- replays differently"
fi
cat "$tmp/classic.trace" | "$bin" trace dump - > "$tmp/pipe.txt" || fail "dump -"
cmp -s "$tmp/classic.txt" "$tmp/pipe.txt" || fail "dump - differs"
cat "$src/tests/replay/data/rmm_sample.csv" |
	"$bin" replay /dev/stdin --no-gpuvm --capacity 1G > /dev/null || fail "CSV from a pipe"
cat "$tmp/huge.trace" | "$bin" replay - --no-gpuvm 2>/dev/null && fail "hostile pipe accepted"
if command -v xz >/dev/null 2>&1; then
	xz -dc "$src/tools/replay/traces/torch-gpt.snapshot.trace.xz" |
		"$bin" replay /dev/stdin --no-gpuvm > "$tmp/xz.out" || fail "xz -dc | replay"
	grep -q '^first-fit ' "$tmp/xz.out" || fail "xz -dc | replay: no table"
fi
exit 0
