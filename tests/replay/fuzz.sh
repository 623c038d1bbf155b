#!/bin/bash
# SPDX-License-Identifier: MIT
#
# fuzz.sh - run the trace reader fuzz target under libFuzzer.
#
#   tests/replay/fuzz.sh [SECONDS] [BUILD_DIR]
#
# Builds fuzz_trace.c with the trace reader, the RMM CSV importer, the
# request builder and the models, instrumented (clang
# -fsanitize=fuzzer,address,undefined), seeds the corpus with
# `test_fuzz_trace seeds` from BUILD_DIR (default: $GPUVM_BUILD, else
# build/), and fuzzes for SECONDS (default 60).  Crashes land in
# BUILD_DIR/fuzz-trace/ as crash-*; replay one with
# BUILD_DIR/fuzz-trace/fuzz_trace FILE.  Exits 77 when clang has no
# libFuzzer.

set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-60}
build=$(cd "${2:-${GPUVM_BUILD:-$src/build}}" && pwd)
out=$build/fuzz-trace
cc=${FUZZ_CC:-clang}
seeder=$build/tests/replay/test_fuzz_trace

[ -x "$seeder" ] || { echo "build first: make O=$build check TESTS=test_fuzz_trace"; exit 1; }
mkdir -p "$out/corpus" "$out/seeds"
if ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' |
	"$cc" -fsanitize=fuzzer -x c -o "$out/probe" - 2>/dev/null; then
	echo "skip: $cc has no libFuzzer"
	exit 77
fi

r=$src/tools/replay
"$cc" -g -O1 -std=gnu11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
	-I"$src/include" -I"$src/common" -I"$r" -o "$out/fuzz_trace" "$src/tests/replay/fuzz_trace.c" \
	"$r/trace_io.c" "$r/rmm_csv.c" "$r/trace_ops.c" "$r/engine.c" "$r/costs.c" "$r/firstfit.c" \
	"$r/torch_caching.c" "$r/expandable.c" -lm
"$seeder" seeds "$out/seeds"

cd "$out"
# -close_fd_mask=2: the readers' messages; libFuzzer's own reports still show
exec ./fuzz_trace -max_total_time="$secs" -timeout=5 -rss_limit_mb=1024 \
	-max_len=65536 -close_fd_mask=2 corpus seeds
