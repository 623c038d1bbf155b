#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_install.sh - make install into a DESTDIR, used from there as a user
# would: the installed gpuvm runs a program on the cudasim installed beside
# libgpuvm (nothing on LD_LIBRARY_PATH, from another folder), gpuvm.pc
# builds a program against the installed header and library, the ABI's
# archive reads a segment, and make uninstall leaves nothing behind.
set -u
build=${GPUVM_BUILD:?}
src=${GPUVM_SRC:?}
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest
prefix=/opt/gpuvm-test
root=$dest$prefix

# the same build (O=, SANITIZE= and the rest come through MAKEFLAGS)
inst() { make -C "$src" O="$build" DESTDIR="$dest" PREFIX="$prefix" "$@" >"$tmp/make.log" 2>&1; }
inst install || { fail "make install: $(tail -n 20 "$tmp/make.log")"; exit 1; }
for f in bin/gpuvm lib/libgpuvm.so.1 lib/libgpuvm.a lib/libgpuvm-seg.a lib/libgpuvm_preload.so \
	 lib/gpuvm/cudasim/libcuda.so.1 include/gpuvm/gpuvm.h include/gpuvm/segment.h \
	 lib/pkgconfig/gpuvm.pc share/bash-completion/completions/gpuvm \
	 share/man/man1/gpuvm.1 share/man/man7/gpuvm.7 share/man/man8/gpuvmfs.8; do
	[ -f "$root/$f" ] || fail "make install did not install $f"
done
[ "$(readlink "$root/lib/libgpuvm.so")" = libgpuvm.so.1 ] || fail "lib/libgpuvm.so is not a link to libgpuvm.so.1"
readelf -d "$root/lib/libgpuvm.so.1" | grep -q 'SONAME.*\[libgpuvm.so.1\]' || fail "libgpuvm has no soname libgpuvm.so.1"
readelf -d "$root/bin/gpuvm" | grep -q "$build" && fail "the installed gpuvm has the build folder in its run path"

# an installed gpuvm run, from another folder, with nothing set
cu_query=$build/tests/runtime/cu_query
out=$(cd / && env -u GPUVM_LIBCUDA LD_LIBRARY_PATH= "$root/bin/gpuvm" run -- "$cu_query" 2>&1)
grep -q "^gpuvm: driver: cudasim ($root/lib/gpuvm/cudasim/libcuda.so.1), 1 device" <<<"$out" ||
	fail "installed gpuvm run did not take the installed cudasim: $out"
grep -q '^ok$' <<<"$out" || fail "installed gpuvm run of cu_query: $out"
out=$(env -u GPUVM_LIBCUDA LD_LIBRARY_PATH= LD_PRELOAD= "$root/bin/gpuvm" run -q -- sh -c 'echo "$LD_PRELOAD"')
[[ $out == *"$root/lib/libgpuvm_preload.so"* ]] || fail "installed gpuvm run preloads: $out"

# bash completion: subcommands, and knobs after --set
comp=$root/share/bash-completion/completions/gpuvm
[ -f "$comp" ] || fail "no bash completion installed"
out=$(PATH=$root/bin:$PATH bash -c '
	source "$1"
	COMP_WORDS=(gpuvm st); COMP_CWORD=1; _gpuvm; echo "${COMPREPLY[*]}"
	COMP_WORDS=(gpuvm run --set lim); COMP_CWORD=3; _gpuvm; echo "${COMPREPLY[*]}"
' - "$comp" 2>&1)
[ "$out" = "status stress
limit=" ] || fail "bash completion: $out"

# gpuvm.pc: a program built against what was installed
export PKG_CONFIG_PATH=$root/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest
cat >"$tmp/prog.c" <<'PROG'
#include <stdio.h>
#include <gpuvm/gpuvm.h>

int main(void)
{
	gpuvm_ptr_t p;
	struct gpuvm_stats st;

	if (gpuvm_alloc(0, 1 << 20, 0, &p) || gpuvm_stats(0, &st) || gpuvm_free(p))
		return 1;
	printf("requested %llu\n", (unsigned long long)st.requested);
	gpuvm_shutdown();
	return 0;
}
PROG
flags=$(pkg-config --cflags --libs gpuvm) || fail "pkg-config gpuvm failed"
grep -q '^Cflags: -I${includedir}$' "$root/lib/pkgconfig/gpuvm.pc" || fail "gpuvm.pc: $(cat "$root/lib/pkgconfig/gpuvm.pc")"
grep -q "^libdir=$prefix/lib$" "$root/lib/pkgconfig/gpuvm.pc" || fail "gpuvm.pc libdir: $(cat "$root/lib/pkgconfig/gpuvm.pc")"
if ${CC:-cc} ${SANITIZE:+-fsanitize=$SANITIZE} -o "$tmp/prog" "$tmp/prog.c" $flags \
	-Wl,-rpath,"$root/lib" 2>"$tmp/cc.log"; then
	out=$(GPUVM_LIBCUDA="$root/lib/gpuvm/cudasim/libcuda.so.1" GPUVM_RUNDIR=$tmp/run "$tmp/prog" 2>&1)
	[ "$out" = "requested 1048576" ] || fail "a program built with gpuvm.pc: $out"
else
	fail "cannot build against the installed gpuvm: $(cat "$tmp/cc.log")"
fi

# libgpuvm-seg.a: a program reads its own published segment through the
# installed ABI reader (the shared library keeps those symbols hidden)
cat >"$tmp/seg.c" <<'PROG'
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <gpuvm/gpuvm.h>
#include <gpuvm/segment.h>

int main(void)
{
	struct gpuvm_snapshot snap;
	struct gpuvm_segment seg;
	gpuvm_ptr_t p;
	int err;

	if (gpuvm_alloc(0, 1 << 20, 0, &p))
		return 1;
	err = gpuvm_segment_open(getenv("GPUVM_RUNDIR"), getpid(), &seg);
	if (!err)
		err = gpuvm_snapshot_take(&seg, 0, &snap);
	if (err)
		return 2;
	printf("%s requested %llu\n", snap.comm,
	       (unsigned long long)snap.dev[0]->blk.stats.requested);
	gpuvm_snapshot_release(&snap);
	gpuvm_segment_close(&seg);
	gpuvm_free(p);
	gpuvm_shutdown();
	return 0;
}
PROG
if ${CC:-cc} ${SANITIZE:+-fsanitize=$SANITIZE} -o "$tmp/segread" "$tmp/seg.c" $flags -lgpuvm-seg \
	-Wl,-rpath,"$root/lib" 2>"$tmp/cc.log"; then
	out=$(GPUVM_LIBCUDA="$root/lib/gpuvm/cudasim/libcuda.so.1" GPUVM_RUNDIR=$tmp/run "$tmp/segread" 2>&1)
	[ "$out" = "segread requested 1048576" ] || fail "the installed segment reader: $out"
else
	fail "cannot build against libgpuvm-seg.a: $(cat "$tmp/cc.log")"
fi

inst uninstall || fail "make uninstall: $(tail -n 20 "$tmp/make.log")"
left=$(find "$dest" -type f -o -type l)
[ -z "$left" ] || fail "make uninstall left: $left"

if [ $fails -ne 0 ]; then
	echo "$fails failures"
	exit 1
fi
echo "ok"
