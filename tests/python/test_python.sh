#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_python.sh - the Python package (python/) on cudasim: pytest runs
# python/tests with GPUVM_LIBRARY naming the built libgpuvm.so and a run
# directory of their own.  The interpreter is the first python3 that has
# pytest: $PATH's, else Debian's /usr/bin/python3 (scripts/deps.sh installs
# python3-pytest there).  Skips (77) without one.
set -u
build=${GPUVM_BUILD:?GPUVM_BUILD not set (run through make check)}
src=${GPUVM_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
lib=$build/lib/libgpuvm.so

skip() { echo "SKIP: $*"; exit 77; }

[ -e "$lib" ] || skip "$lib is not built"
py=
seen=
for cand in python3 /usr/bin/python3; do
	command -v "$cand" >/dev/null 2>&1 || continue
	seen="$seen $(command -v "$cand")"
	if "$cand" -c 'import pytest' 2>/dev/null; then
		py=$cand
		break
	fi
done
[ -n "$seen" ] || skip "no python3"
[ -n "$py" ] || skip "no pytest for${seen} (apt-get install python3-pytest)"

case ${SANITIZE:-} in
*thread*)
	skip "an uninstrumented python3 cannot load a thread-sanitized libgpuvm.so" ;;
*address*)
	# the runtime first, as for the shim (tests/runtime/shim-lib.sh); the
	# interpreter's own allocations are not ours to leak-check
	asan=$(ldd "$lib" 2>/dev/null | awk '/libasan|asan-/ { print $3; exit }')
	[ -n "$asan" ] || asan=$(gcc -print-file-name=libasan.so)
	export LD_PRELOAD=$asan${LD_PRELOAD:+:$LD_PRELOAD}
	export ASAN_OPTIONS=${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}detect_leaks=0:verify_asan_link_order=0
	;;
esac

tmp=$(mktemp -d /tmp/test_python.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -m 0700 "$tmp/run"
export GPUVM_LIBRARY=$lib GPUVM_RUNDIR=$tmp/run PYTHONDONTWRITEBYTECODE=1
unset GPUVM_MOUNT PYTHONPATH
"$py" -c 'import pytest, sys; print("+", sys.executable, "-m pytest", pytest.__version__)'
# from $tmp, with no cache: nothing lands in the source tree
cd "$tmp" &&
	"$py" -m pytest -q -rs -p no:cacheprovider --basetemp="$tmp/pytest" "$src/python/tests"
