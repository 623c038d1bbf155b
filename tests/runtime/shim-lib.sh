# SPDX-License-Identifier: MIT
#
# shim-lib.sh - sourced by the test_shim_*.sh scripts: where things are,
# and how to run a program with and without the preload shim.
#
# The runner (tests/run-tests.sh) sets GPUVM_BUILD, LD_LIBRARY_PATH (cudasim)
# and SANITIZE.  Under SANITIZE=address or thread the sanitizer runtime has
# to be the first object of the process, so it is preloaded ahead of the shim.

set -u

build=${GPUVM_BUILD:?GPUVM_BUILD not set (run through make check)}
bindir=$build/tests/runtime
shim=$build/lib/libgpuvm_preload.so

if [ ! -e "$shim" ]; then
	echo "skip: $shim is not built"
	exit 77
fi

preload=$shim
case ${SANITIZE:-} in
*address*)
	# The runtime the shim was linked with (gcc), else clang's.
	asan=$(ldd "$shim" 2>/dev/null | awk '/libasan|asan-/ { print $3; exit }')
	if [ -z "$asan" ]; then
		asan=$(clang -print-file-name="libclang_rt.asan-$(uname -m).so" 2>/dev/null)
		[ -e "$asan" ] || asan=$(gcc -print-file-name=libasan.so)
	fi
	preload=$asan:$shim
	export ASAN_OPTIONS=${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}verify_asan_link_order=0
	;;
*thread*)
	# gcc links libtsan.so into the shim and the programs: behind the shim
	# in the search order, its interceptors look up the "real" functions
	# and find themselves (endless recursion in __cxa_atexit, exit 139).
	# clang links its runtime into the program statically: nothing to add.
	tsan=$(ldd "$shim" 2>/dev/null | awk '/libtsan/ { print $3; exit }')
	[ -n "$tsan" ] && preload=$tsan:$shim
	;;
esac

# run_direct PROGRAM ARGS...: without the shim.
run_direct() {
	echo "+ $*"
	"$@" || fail "$* (without the shim): exit $?"
}

# run_shim PROGRAM ARGS...: with the shim preloaded (extra VAR=value
# assignments before the program are passed through env).
run_shim() {
	echo "+ LD_PRELOAD=$preload $*"
	env LD_PRELOAD="$preload" "$@" || fail "$* (with the shim): exit $?"
}

fail() {
	echo "FAIL: $*"
	exit 1
}

# need PROGRAM: skip when a test program is missing (not built).
need() {
	[ -x "$bindir/$1" ] || { echo "skip: $bindir/$1 is not built"; exit 77; }
}
