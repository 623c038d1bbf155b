#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_tree_layout.sh - the tree keeps the shape Documentation/architecture.rst
# describes: no two C files share a name (each name says its component:
# shim_*.c in runtime/, fuse_ops.c in fusefs/, ...), no Kbuild adds another
# component's folder to the include path outside tests/ (interfaces other
# components use live under include/), and every file of the manager (vmm/*.c)
# has its line in Documentation/vmm.rst.
set -u
src=${GPUVM_SRC:?}
fails=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

cd "$src" || exit 1
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	files=$(git ls-files -- '*.c' '*.h')
else
	files=$(find . -path ./build -prune -o -path ./.git -prune -o \
		\( -name '*.c' -o -name '*.h' \) -print | sed 's|^\./||')
fi
[ -n "$files" ] || { echo "FAIL: no C files found under $src"; exit 1; }

# one name, one file
dups=$(for f in $files; do basename "$f"; done | sort | uniq -d)
for d in $dups; do
	fail "file name $d used by: $(for f in $files; do [ "$(basename "$f")" = "$d" ] && printf '%s ' "$f"; done)"
done

# no component reaches into another's folder for headers
for k in $(find . -path ./build -prune -o -path ./tests -prune -o -name Kbuild -print); do
	dir=$(dirname "${k#./}")
	for inc in $(grep -o -- '-I\$(srctree)/[^ ]*' "$k"); do
		target=${inc#-I\$(srctree)/}
		case $target in
		include | include/* | common | "$dir" | "$dir"/*) ;;
		*) fail "$k: $inc reaches into $target" ;;
		esac
	done
done

# every manager file documented
for f in vmm/*.c; do
	b=$(basename "$f")
	grep -q "\`\`$b\`\`" Documentation/vmm.rst ||
		fail "vmm/$b is not in the files table of Documentation/vmm.rst"
done

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "tree layout: $(echo "$files" | wc -l) C files, names unique; include paths and vmm/ files table in order"
