#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_gpuvmfs_bounds.sh - issue 19, item 7: a user's own segment (nobody's
# when we are root), however large it claims to be, cannot make the daemon
# hold more than its documented bound (GPUVM_READ_MEM_MAX, 512 MiB,
# fusefs/segment.h).
#
# Three readers at once cat the page table of (1) a segment with a 1 GiB
# page table: refused (EFBIG, a table larger than readers copy), and (2) a
# 200 MiB page table of mapped granules: each read either gets a text cut
# at GPUVM_READ_TEXT_MAX with a last line saying so, or EAGAIN while the
# others hold the bound.  The daemon's peak RSS (VmHWM) must stay within
# 600 MiB of what it was before (512 MiB of copies and texts, plus
# slack for the FUSE buffers); without the bound it grew by 1 GiB per reader.

set -u
build=${GPUVM_BUILD:?run through make check}
segwriter=$build/tests/fusefs/segwriter
gpuvmfs=$build/bin/gpuvmfs

skip() { echo "skip: $*"; exit 77; }
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

[ -c /dev/fuse ] || skip "no /dev/fuse"
command -v fusermount3 >/dev/null || skip "no fusermount3"
[ -x "$gpuvmfs" ] || skip "gpuvmfs not built (CONFIG_GPUVM_FUSE=n)"
case ${SANITIZE:-} in
*address*) skip "RSS bounds are not meaningful under ASan's shadow memory" ;;
esac

tmp=$(mktemp -d /tmp/test_gpuvmfs_bounds.XXXXXX)
mnt=$tmp/mnt
run=$tmp/run
mkdir -p "$mnt" "$run"
chmod 0700 "$run"
# As root, the segments are another user's (nobody's), as in the attack:
# a user's own segment against the root daemon.
as_user=()
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	chmod 0755 "$tmp"
	chown nobody "$run"
	as_user=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
fi
export GPUVM_RUNDIR=$run
fspid=
cleanup() {
	local p
	# serve runs in a command substitution's subshell: its writers' pids
	# come back through a file, not a variable
	[ -f "$tmp/writers" ] && while read -r p; do
		kill "$p" 2>/dev/null
	done <"$tmp/writers"
	[ -n "$fspid" ] && kill "$fspid" 2>/dev/null
	fusermount3 -u "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$fspid/status"; }

# serve ENTRIES: a stand-in process whose page table has ENTRIES mapped
# granules (16 bytes each); prints its pid
serve() {
	local out=$tmp/serve.$1 i
	"${as_user[@]}" "$segwriter" serve -e "$1" -u "$1" -a 1 -c 1 >"$out" 2>&1 &
	echo $! >>"$tmp/writers"
	for i in $(seq 300); do
		grep -q '^ready' "$out" && break
		sleep 0.1
	done
	grep -q '^ready' "$out" || { cat "$out"; fail "segwriter did not publish"; exit 1; }
	sed -n 's/^ready //p' "$out"
}

big=$(serve 67108864)		# 1 GiB of page table
mid=$(serve 13107200)		# 200 MiB

"$gpuvmfs" -f "$mnt" --rundir="$run" 2>"$tmp/fs.log" &
fspid=$!
for _ in $(seq 100); do
	[ -e "$mnt/version" ] && break
	sleep 0.1
done
[ -e "$mnt/version" ] || { cat "$tmp/fs.log"; skip "cannot mount"; }
[ -d "$mnt/$big" ] && [ -d "$mnt/$mid" ] || fail "the stand-in processes are not shown"
base=$(hwm_kib)
echo "daemon VmHWM before: $base KiB"

# three readers at once; each one's result in $tmp/r.N.{out,err}
readers() {
	local i pids=()
	for i in 1 2 3; do
		cat "$1" >"$tmp/r.$i.out" 2>"$tmp/r.$i.err" &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i"
	done
}

readers "$mnt/$big/pagetable"
for i in 1 2 3; do
	grep -q "File too large" "$tmp/r.$i.err" ||
		fail "1 GiB page table, reader $i: $(cat "$tmp/r.$i.err") ($(wc -c <"$tmp/r.$i.out") bytes)"
done
grep -q "^state: ok" "$mnt/$big/status" || fail "status of the 1 GiB segment: $(head -3 "$mnt/$big/status")"

readers "$mnt/$mid/pagetable"
cut=0
for i in 1 2 3; do
	if [ -s "$tmp/r.$i.out" ]; then
		tail -n 1 "$tmp/r.$i.out" | grep -q "^# truncated: " ||
			fail "reader $i: a cut text without the line that says so"
		[ "$(wc -c <"$tmp/r.$i.out")" -le $((128 * 1048576 + 128)) ] ||
			fail "reader $i: $(wc -c <"$tmp/r.$i.out") bytes, past the text bound"
		cut=$((cut + 1))
	else
		grep -q "Resource temporarily unavailable" "$tmp/r.$i.err" ||
			fail "reader $i: $(cat "$tmp/r.$i.err")"
	fi
done
[ $cut -ge 1 ] || fail "no reader got the (cut) page table"

peak=$(hwm_kib)
echo "daemon VmHWM after: $peak KiB (grew $(((peak - base) / 1024)) MiB; bound 512 MiB + slack)"
[ $((peak - base)) -le $((600 * 1024)) ] || fail "the daemon grew by $(((peak - base) / 1024)) MiB"
kill -0 "$fspid" || fail "the daemon died"
[ $fails -eq 0 ] || exit 1
echo "ok"
