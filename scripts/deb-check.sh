#!/bin/bash
# SPDX-License-Identifier: MIT
#
# deb-check.sh - the Debian package as a user gets it (CI; needs root and
# apt): build it (make deb), lintian without errors, apt-get install it,
# run the installed gpuvm on the installed cudasim from another folder,
# read its man pages, scrape the installed gpuvm exporter,
# then apt-get purge it and check that nothing it installed is left.
#
#   scripts/deb-check.sh [BUILD]      BUILD: a build folder whose tests
#                                     are built (default build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(realpath "${1:-build}")
fail() { echo "deb-check: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "needs root (apt-get install)"
export DEBIAN_FRONTEND=noninteractive
need=""
for p in debhelper lintian python3-docutils; do
	dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"
done
if [ -n "$need" ]; then
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends $need >/dev/null
fi
dpkg -s gpuvm >/dev/null 2>&1 && fail "a gpuvm package is installed already"

make O="$build" deb
deb=$(ls "$build"/deb/gpuvm_*.deb)
echo "+ lintian $deb"
lintian --fail-on error "$deb"

echo "+ apt-get install $deb"
apt-get install -y -qq "$deb" >/dev/null
files=$(dpkg -L gpuvm)
cu_query=$build/tests/runtime/cu_query
[ -x "$cu_query" ] || fail "$cu_query is not built (make check first)"
out=$(cd / && env -u GPUVM_LIBCUDA -u LD_LIBRARY_PATH gpuvm run -- "$cu_query" 2>&1) ||
	fail "installed gpuvm run failed: $out"
echo "$out" | sed 's/^/  /'
grep -q "^gpuvm: driver: cudasim (/usr/lib/.*/gpuvm/cudasim/libcuda.so.1), 1 device" <<<"$out" ||
	fail "the installed gpuvm run did not use the installed cudasim"
grep -q '^ok$' <<<"$out" || fail "cu_query under the installed gpuvm run"
[ "$(command -v gpuvm)" = /usr/bin/gpuvm ] || fail "gpuvm is $(command -v gpuvm), not /usr/bin/gpuvm"
pkg-config --exists gpuvm || fail "pkg-config finds no gpuvm"
[ -f /lib/systemd/system/gpuvmfs.service ] || fail "no gpuvmfs.service"
for page in "1 gpuvm" "7 gpuvm" "8 gpuvmfs"; do
	man -w $page >/dev/null 2>&1 || fail "man $page: no page installed"
	MANWIDTH=80 man $page 2>/dev/null | grep -q '^NAME' || fail "man $page shows no NAME"
done

# The installed exporter answers a scrape with gpuvm's series.
expout=$(mktemp)
gpuvm exporter --direct --listen 127.0.0.1:0 >"$expout" 2>&1 &
exp_pid=$!
addr=""
for _ in $(seq 50); do
	addr=$(sed -n 's|^gpuvm exporter: serving http://\([0-9.]*:[0-9]*\)/metrics.*|\1|p' "$expout")
	[ -n "$addr" ] && break
	sleep 0.1
done
scrape=$(python3 -c 'import sys, urllib.request
print(urllib.request.urlopen("http://%s/metrics" % sys.argv[1], timeout=5).read().decode())' "$addr" 2>&1) || true
kill "$exp_pid" 2>/dev/null; wait "$exp_pid" 2>/dev/null || true
[ -n "$addr" ] || fail "installed gpuvm exporter did not start: $(cat "$expout")"
rm -f "$expout"
grep -q '^# TYPE gpuvm_' <<<"$scrape" || fail "installed gpuvm exporter: no gpuvm series: $scrape"
echo "  gpuvm exporter on $addr: $(grep -c '^# TYPE gpuvm_' <<<"$scrape") families"

echo "+ apt-get purge gpuvm"
apt-get purge -y -qq gpuvm >/dev/null
left=""
while read -r f; do
	[ -e "$f" ] && [ ! -d "$f" ] && left="$left $f"
done <<<"$files"
[ -z "$left" ] || fail "left after purge:$left"
for d in /gpuvm /usr/lib/x86_64-linux-gnu/gpuvm /usr/include/gpuvm; do
	[ ! -e "$d" ] || fail "left after purge: $d"
done
echo "deb-check: ok ($(basename "$deb"))"
