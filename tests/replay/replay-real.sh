#!/bin/bash
# SPDX-License-Identifier: MIT
#
# replay-real.sh - the replay against a real PyTorch job recorded on a GPU
# (tools/replay/traces/torch-gpt.*): each PyTorch model must hold what the
# real allocator held there, within 2%; gpuvm replayed on cudasim must hold
# what gpuvm held on the GPU, within 2%, and less than every model, with no
# out-of-memory.  Deterministic: sizes, not times.
set -u
bin=${GPUVM_BUILD:?}/bin/gpuvm-replay
src=${GPUVM_SRC:?}
dir=$src/tools/replay/traces
tmp=$(mktemp -d /tmp/gpuvm-replay-real.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

[ -x "$bin" ] || { echo "skip: $bin not built"; exit 77; }
command -v xz >/dev/null 2>&1 || { echo "skip: no xz to unpack the traces"; exit 77; }

# real MODE: what the real allocator held (MiB), from torch-gpt.txt
real() { sed -n "s/^RESULT mode=$1 .*peak_held=\([0-9]*\)MiB.*/\1/p" "$dir/torch-gpt.txt"; }
# col OUT MODEL N: field N of MODEL's row (1 name, 3 peak held, 4 frag, 5 OOMs)
col() { awk -v m="$2" -v n="$3" '$1 == m { print $n; exit }' "$1"; }
# mib SIZE: "12.62G" or "512.0M" in MiB
mib() { awk -v s="$1" 'BEGIN { u = substr(s, length(s)); v = substr(s, 1, length(s) - 1);
	printf "%.0f", u == "G" ? v * 1024 : u == "M" ? v : u == "K" ? v / 1024 : v / 1048576 }'; }
# near A B: A within 2% of B
near() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(b > 0 && (a - b) / b < 0.02 && (b - a) / b < 0.02) }'; }
# check OUT MODEL MODE: MODEL's peak held is near the real MODE's
check() {
	local held want
	held=$(mib "$(col "$1" "$2" 3)")
	want=$(real "$3")
	[ -n "$want" ] || { fail "no real figure for $3"; return; }
	near "$held" "$want" || fail "$2 held $held MiB on $(basename "$1" .out), the real $3 $want MiB"
	echo "$2: $held MiB replayed, $want MiB real ($3)"
}

for t in snapshot shim; do
	xz -dc "$dir/torch-gpt.$t.trace.xz" >"$tmp/$t.trace" || fail "unpacking $t"
	"$bin" replay "$tmp/$t.trace" --costs "$src/tools/replay/costs/h100.txt" \
		>"$tmp/$t.out" 2>&1 || fail "replay of $t: $(tail -n 3 "$tmp/$t.out")"
	[ "$(col "$tmp/$t.out" gpuvm 5)" = 0 ] || fail "gpuvm ran out of memory on $t"
	g=$(col "$tmp/$t.out" gpuvm 4)
	for m in first-fit torch-caching torch-expandable; do
		f=$(col "$tmp/$t.out" $m 4)
		awk -v g="$g" -v f="$f" 'BEGIN { exit !(g != "" && f != "" && g < f) }' ||
			fail "$t: gpuvm frag $g not below $m's $f"
	done
done
check "$tmp/snapshot.out" torch-caching torch-caching
check "$tmp/snapshot.out" torch-expandable torch-expandable
check "$tmp/shim.out" gpuvm gpuvm-shim
cat "$tmp/snapshot.out"

[ $fails = 0 ] && echo "replay-real: ok"
[ $fails = 0 ]
