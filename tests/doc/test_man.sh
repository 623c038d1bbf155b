#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_man.sh - the man pages of make man ($GPUVM_BUILD/man): each formats
# at 80 columns without a groff warning and has its NAME and SYNOPSIS or
# DESCRIPTION; gpuvm(1) has a SYNOPSIS line and a SUBCOMMANDS entry for
# every subcommand gpuvm help lists; gpuvm(7) describes every knob gpuvm set
# --list lists and every GPUVM_* variable the code outside tests/ reads with
# getenv().  Skips only without rst2man (python3-docutils) or man (man-db).
set -u
build=${GPUVM_BUILD:?}
src=${GPUVM_SRC:?}
gpuvm=$build/bin/gpuvm
fails=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# make check passes the RST2MAN it found, empty for none
rst2man=${RST2MAN-$(command -v rst2man || command -v rst2man.py)}
if [ -z "$rst2man" ]; then
	echo "SKIP: rst2man not found (python3-docutils)"
	exit 77
fi
if ! command -v man >/dev/null 2>&1; then
	echo "SKIP: man not found (man-db)"
	exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# section NAME FILE: the lines of one section of a formatted page
section() {
	awk -v s="$1" '/^[A-Z]/ { in_s = ($0 == s); next } in_s' "$2"
}

for page in gpuvm.1 gpuvm.7 gpuvmfs.8; do
	f=$build/man/$page
	out=$tmp/$page.txt
	if [ ! -f "$f" ]; then
		fail "$page: $f not built (make man)"
		continue
	fi
	# every groff warning (-ww), no pager, no terminal
	MANWIDTH=80 MANPAGER=cat man --warnings=w -l "$f" >"$out" 2>"$tmp/$page.err" </dev/null ||
		fail "$page: man -l exited $?"
	[ -s "$tmp/$page.err" ] && fail "$page: warnings: $(cat "$tmp/$page.err")"
	grep -q "System Message" "$out" && fail "$page: rst2man left a system message"
	name=${page%.*}
	sect=${page##*.}
	head -n 1 "$out" | grep -q "^${name^^}($sect) " || fail "$page: no ${name^^}($sect) title"
	section NAME "$out" | grep -qE "^ +$name - [a-z]" || fail "$page: no '$name - ...' NAME line"
	[ -n "$(section SYNOPSIS "$out")$(section DESCRIPTION "$out")" ] ||
		fail "$page: neither SYNOPSIS nor DESCRIPTION"
	[ -n "$(section DESCRIPTION "$out")" ] || fail "$page: no DESCRIPTION"
done

# gpuvm(1): every subcommand in the SYNOPSIS and under SUBCOMMANDS (whose
# entries are headings such as "   status, maps, pagetable")
if [ -f "$tmp/gpuvm.1.txt" ]; then
	cmds=$("$gpuvm" help | awk '/^  [a-z]+ / { print $1 }')
	[ "$(wc -w <<<"$cmds")" -ge 14 ] || fail "gpuvm help lists too few commands: $cmds"
	section SYNOPSIS "$tmp/gpuvm.1.txt" >"$tmp/synopsis"
	section SUBCOMMANDS "$tmp/gpuvm.1.txt" | grep -E '^   [a-z]' |
		tr ',' '\n' | tr -d ' ' >"$tmp/subcommands"
	for c in $cmds; do
		grep -qE "^ +gpuvm $c( |$)" "$tmp/synopsis" || fail "gpuvm(1): no 'gpuvm $c' in SYNOPSIS"
		grep -qx "$c" "$tmp/subcommands" || fail "gpuvm(1): no '$c' entry in SUBCOMMANDS"
	done
fi

# gpuvm(7): every knob in the table and as an entry (a term such as
# "   high_watermark, low_watermark"), and every variable as an entry
if [ -f "$tmp/gpuvm.7.txt" ]; then
	knobs=$("$gpuvm" set --list | awk 'NR > 1 { print $1 }')
	[ "$(wc -w <<<"$knobs")" -ge 10 ] || fail "gpuvm set --list lists too few knobs: $knobs"
	section KNOBS "$tmp/gpuvm.7.txt" >"$tmp/knobs"
	for k in $knobs; do
		grep -qE "^ +$k +(size|uint|bool|enum) " "$tmp/knobs" ||
			fail "gpuvm(7): knob $k is not in the table of KNOBS"
		grep -qE "^ {7}([a-z0-9_]+, )*$k(,| |$)" "$tmp/knobs" ||
			fail "gpuvm(7): knob $k has no entry in KNOBS"
	done

	vars=$(grep -rhoE --include='*.[ch]' --exclude-dir=tests --exclude-dir='.*' \
		'getenv\("GPUVM_[A-Z0-9_]+"' "$src" | sed 's/.*("//; s/"$//' | sort -u)
	echo "variables read: $(echo $vars)"
	grep -qx GPUVM_RUNDIR <<<"$vars" || fail "no getenv(\"GPUVM_RUNDIR\") found in $src"
	section ENVIRONMENT "$tmp/gpuvm.7.txt" | grep -E '^ {7}GPUVM_' >"$tmp/environment"
	grep -q "GPUVM_<KNOB>=" "$tmp/environment" || fail "gpuvm(7): no GPUVM_<KNOB> entry"
	for v in $vars; do
		grep -qE "(^|[ ,])$v=" "$tmp/environment" ||
			fail "gpuvm(7): $v (read by the code) has no entry in ENVIRONMENT"
	done
fi

[ $fails -eq 0 ] || exit 1
echo "PASS: $(ls "$build/man" | tr '\n' ' ')"
