#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_exports.sh - libgpuvm.so exports exactly the functions its headers
# declare GPUVM_API, each named in vmm/libgpuvm.map (no glob), so the ABI
# changes only when someone means it to.
set -u
build=${GPUVM_BUILD:?run through make check}
src=${GPUVM_SRC:?run through make check}
lib=$build/lib/libgpuvm.so
fail() { echo "FAIL: $*"; exit 1; }

[ -e "$lib" ] || { echo "skip: $lib is not built"; exit 77; }
command -v nm >/dev/null || { echo "skip: no nm"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

grep -q '\*;' <(sed -n '/global:/,/local:/p' "$src/vmm/libgpuvm.map") &&
	fail "libgpuvm.map exports a glob"
sed -n '/global:/,/local:/p' "$src/vmm/libgpuvm.map" |
	sed -n 's/^[[:space:]]*\(gpuvm_[a-z0-9_]*\);$/\1/p' | sort >"$tmp/map"
nm -D --defined-only "$lib" | awk '$2 == "T" { sub(/@.*/, "", $3); print $3 }' |
	sort >"$tmp/lib"
grep -h 'GPUVM_API' "$src"/include/gpuvm/*.h | grep -o 'gpuvm_[a-z0-9_]*(' | tr -d '(' |
	sort -u >"$tmp/hdr"

echo "$(wc -l <"$tmp/lib") exported, $(wc -l <"$tmp/map") in the map, $(wc -l <"$tmp/hdr") declared"
diff -u "$tmp/map" "$tmp/lib" >"$tmp/d1" || fail "library vs map: $(cat "$tmp/d1")"
diff -u "$tmp/hdr" "$tmp/lib" >"$tmp/d2" || fail "headers vs library: $(cat "$tmp/d2")"
nm -D --defined-only "$lib" | awk '$2 == "T"' | grep -qvE '@@GPUVM_[0-9]+$' &&
	fail "a function outside a GPUVM_<N> node"
echo "ok"
