#!/bin/sh
# SPDX-License-Identifier: MIT
#
# deps.sh [GOAL...] - make sure the Debian build dependencies are present.
# As root, installs what is missing; otherwise prints the exact command.
# The make goals given add what they alone need (man, check: the man pages).

pkgs="libfuse3-dev fuse3 liburing-dev check pkg-config xz-utils"
case " $* " in
*" man "* | *" check "*) man_pages=1; pkgs="$pkgs python3-docutils man-db" ;;
*) man_pages= ;;
esac
missing=""

have_pc() { pkg-config --exists "$1" 2>/dev/null; }

command -v pkg-config >/dev/null 2>&1 || missing="$missing pkg-config"
have_pc fuse3 || missing="$missing libfuse3-dev"
command -v fusermount3 >/dev/null 2>&1 || missing="$missing fuse3"
have_pc liburing || missing="$missing liburing-dev"
have_pc check || missing="$missing check"
command -v xz >/dev/null 2>&1 || missing="$missing xz-utils"	# the bundled traces
if [ -n "$man_pages" ]; then
	# rst2man on Debian, rst2man.py from pip; man for tests/doc/test_man.sh
	command -v rst2man >/dev/null 2>&1 || command -v rst2man.py >/dev/null 2>&1 ||
		missing="$missing python3-docutils"
	command -v man >/dev/null 2>&1 || missing="$missing man-db"
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
