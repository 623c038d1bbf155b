#!/bin/sh
# SPDX-License-Identifier: MIT
#
# deps.sh [GOAL...] - make sure the Debian build dependencies are present.
# As root, installs what is missing; otherwise prints the exact command.
# The make goals given add what they alone need: man and install the man
# pages' rst2man; check also man for their test and the Python package's
# pytest and venv.

pkgs="libfuse3-dev fuse3 liburing-dev check pkg-config xz-utils"
man_pages= check_deps=
case " $* " in
*" man "* | *" install "*) man_pages=1 ;;
esac
case " $* " in
*" check "*) man_pages=1 check_deps=1 ;;
esac
[ -n "$man_pages" ] && pkgs="$pkgs python3-docutils"
[ -n "$check_deps" ] && pkgs="$pkgs man-db python3-pytest python3-venv"
missing=""

have_pc() { pkg-config --exists "$1" 2>/dev/null; }

command -v pkg-config >/dev/null 2>&1 || missing="$missing pkg-config"
have_pc fuse3 || missing="$missing libfuse3-dev"
command -v fusermount3 >/dev/null 2>&1 || missing="$missing fuse3"
have_pc liburing || missing="$missing liburing-dev"
have_pc check || missing="$missing check"
command -v xz >/dev/null 2>&1 || missing="$missing xz-utils"	# the bundled traces
if [ -n "$man_pages" ]; then
	# rst2man on Debian, rst2man.py from pip
	command -v rst2man >/dev/null 2>&1 || command -v rst2man.py >/dev/null 2>&1 ||
		missing="$missing python3-docutils"
fi
if [ -n "$check_deps" ]; then
	# man for tests/doc/test_man.sh; the Python package's tests
	# (tests/python): Debian's python3 with pytest, venv with ensurepip
	command -v man >/dev/null 2>&1 || missing="$missing man-db"
	/usr/bin/python3 -c 'import pytest' >/dev/null 2>&1 || missing="$missing python3-pytest"
	/usr/bin/python3 -c 'import ensurepip' >/dev/null 2>&1 || missing="$missing python3-venv"
fi

[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "  DEPS    installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null &&
	apt-get install -y -qq $pkgs >/dev/null || {
		echo "deps: apt-get install failed; run: apt-get install -y $pkgs" >&2
		exit 1
	}
	exit 0
fi

echo "gpuvm: missing build dependencies:$missing" >&2
echo "run:   sudo apt-get install -y $pkgs" >&2
exit 1
