#!/bin/bash
# SPDX-License-Identifier: MIT
#
# fuzz.sh - run the gpuvmfs segment fuzz target under libFuzzer.
#
#   tests/fusefs/fuzz.sh [SECONDS] [BUILD_DIR]
#
# Builds fuzz_segment.c with the reader and renderers, instrumented
# (clang -fsanitize=fuzzer,address,undefined), against BUILD_DIR's
# libgpuvm.so (default: $GPUVM_BUILD, else build/), seeds the corpus with
# `segwriter corpus`, and fuzzes for SECONDS (default 60).  Crashes land in
# BUILD_DIR/fuzz/ as crash-*; replay one with BUILD_DIR/fuzz/fuzz_segment FILE.
# Exits 77 when clang has no libFuzzer.

set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-60}
build=$(cd "${2:-${GPUVM_BUILD:-$src/build}}" && pwd)
out=$build/fuzz
cc=${FUZZ_CC:-clang}

[ -e "$build/lib/libgpuvm.so" ] || { echo "build first: make O=$build"; exit 1; }
mkdir -p "$out/corpus" "$out/seeds"
if ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' |
	"$cc" -fsanitize=fuzzer -x c -o "$out/probe" - 2>/dev/null; then
	echo "skip: $cc has no libFuzzer"
	exit 77
fi

"$cc" -g -O1 -std=gnu11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
	-I"$src/include" -o "$out/fuzz_segment" \
	"$src/tests/fusefs/fuzz_segment.c" "$src/seg/seg_read.c" "$src/fusefs/render.c" \
	-L"$build/lib" -lgpuvm -Wl,-rpath,"$build/lib"
"$build/tests/fusefs/segwriter" corpus "$out/seeds"

cd "$out"
exec ./fuzz_segment -max_total_time="$secs" -timeout=5 -rss_limit_mb=1024 \
	-max_len=65536 corpus seeds
