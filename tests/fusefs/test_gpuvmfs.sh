#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_gpuvmfs.sh - a real mount of gpuvmfs over stand-in processes
# (segwriter serve publishes segments exactly as the library does and
# applies control requests the way it does).
#
# Checks: the tree, status/maps/pagetable/allocs against what was
# published, knob reads and writes (good ones applied, every kind of bad
# one refused with the value unchanged), /gpuvm/policy defaults, reclaim,
# per-device directories, a second user refused, a hostile segment shown as
# an error while the daemon lives on, kill -9 of a process (its directory
# and files go), a daemon restart (processes found again), a clean unmount
# on SIGTERM.  Skips (77) without /dev/fuse, fusermount3 or mount rights.

set -u
build=${GPUVM_BUILD:?run through make check}
segwriter=$build/tests/fusefs/segwriter
gpuvmfs=$build/bin/gpuvmfs

skip() { echo "skip: $*"; exit 77; }
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

[ -c /dev/fuse ] || skip "no /dev/fuse"
command -v fusermount3 >/dev/null || skip "no fusermount3"
[ -x "$gpuvmfs" ] || skip "gpuvmfs not built (CONFIG_GPUVM_FUSE=n)"

tmp=$(mktemp -d /tmp/test_gpuvmfs.XXXXXX)
chmod 755 "$tmp"		# the second user must reach the mount
mnt=$tmp/mnt
run=$tmp/run
mkdir -p "$mnt" "$run"
chmod 1777 "$run"
export GPUVM_RUNDIR=$run
fspid=
procs=()

unmount() {
	fusermount3 -u "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null
}

cleanup() {
	local p
	for p in "${procs[@]}"; do
		kill "$p" 2>/dev/null
	done
	[ -n "$fspid" ] && kill "$fspid" 2>/dev/null
	unmount
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# wait_for CMD... : poll up to 5 s
wait_for() {
	local i
	for i in $(seq 50); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

start_fs() {
	"$gpuvmfs" -f "$mnt" --rundir="$run" 2>>"$tmp/fs.log" &
	fspid=$!
	if ! wait_for test -e "$mnt/version"; then
		if ! kill -0 "$fspid" 2>/dev/null; then
			grep -qiE 'permission|not permitted|fusermount' "$tmp/fs.log" &&
				skip "cannot mount: $(tail -n 1 "$tmp/fs.log")"
		fi
		cat "$tmp/fs.log"
		echo "FAIL: gpuvmfs did not mount"
		exit 1
	fi
}

stop_fs() {
	kill -TERM "$fspid"
	wait "$fspid"
	local rc=$?
	fspid=
	return $rc
}

# start_proc NAME ARGS... : a stand-in process; its pid in $NAME
start_proc() {
	local var=$1 out=$tmp/$1.out
	shift
	"$segwriter" serve "$@" >"$out" 2>&1 &
	local pid=$!
	procs+=("$pid")
	wait_for grep -q ready "$out" || { cat "$out"; echo "FAIL: segwriter"; exit 1; }
	printf -v "$var" '%s' "$pid"
}

# key FILE KEY : the value of "key: value"
key() { sed -n "s/^$2: //p" "$1"; }

# bad_write FILE TEXT ERRNO-TEXT : the write must fail with that error
bad_write() {
	local f=$1 text=$2 want=$3 before after err
	before=$(cat "$f")
	if err=$( (printf '%s' "$text" >"$f") 2>&1); then
		fail "write '${text:0:40}' to $f succeeded"
		return
	fi
	case $err in
	*"$want"*) ;;
	*) fail "write '${text:0:40}' to $f: '$err', want '$want'" ;;
	esac
	after=$(cat "$f")
	[ "$before" = "$after" ] || fail "bad write '${text:0:40}' changed $f: $before -> $after"
}

start_proc p1
start_fs

# ---- the tree and what it shows ----
[ "$(cat "$mnt/version")" = "gpuvmfs 1.0 segment 1.1" ] || fail "version: $(cat "$mnt/version")"
ls "$mnt" | grep -qx "$p1" || fail "pid $p1 not listed: $(ls "$mnt")"
d=$mnt/$p1
for f in status maps pagetable allocs policy reclaim; do
	[ -e "$d/$f" ] || fail "$d/$f missing"
done
[ "$(key "$d/status" pid)" = "$p1" ] || fail "status pid"
[ "$(key "$d/status" comm)" = "segwriter" ] || fail "status comm"
[ "$(key "$d/status" live_allocs)" = 8 ] || fail "status live_allocs"
[ "$(key "$d/status" state)" = ok ] || fail "status state"
[ "$(wc -l <"$d/maps")" = 8 ] || fail "maps: $(wc -l <"$d/maps") lines, want 8"
[ "$(wc -l <"$d/pagetable")" = 20 ] || fail "pagetable: $(wc -l <"$d/pagetable") lines, want 20"
read -r va state chunk owner access < <(head -n 1 "$d/pagetable")
[ "$va $state $chunk $owner $access" = "7f0000000000 mapped 0:0 1 rw-" ] ||
	fail "pagetable line: $va $state $chunk $owner $access"
read -r range flags dev id req max nchunks < <(head -n 1 "$d/maps")
[ "$range $dev $id $nchunks" = "7f0000000000-7f0000400000 0 1 2" ] || fail "maps line: $range"
[ "$(ls "$d/allocs" | wc -l)" = 8 ] || fail "allocs: $(ls "$d/allocs")"
[ "$(key "$d/allocs/3/info" id)" = 3 ] || fail "allocs/3/info"
[ "$(key "$d/allocs/3/info" size)" = 4194304 ] || fail "allocs/3/info size"
# one chunk per granule in segwriter's layout: two runs
[ "$(cat "$d/allocs/3/mappings")" = "7f0000800000-7f0000a00000 mapped 4 0 rw-
7f0000a00000-7f0000c00000 mapped 5 0 rw-" ] || fail "allocs/3/mappings: $(cat "$d/allocs/3/mappings")"
[ -e "$d/allocs/9" ] && fail "allocs/9 exists"
[ -e "$d/dev0" ] && fail "dev0 exists for a one-device process"
grep -q "^gpuvm_live_allocs{pid=\"$p1\",comm=\"segwriter\",uid=\"$(id -u)\",device=\"0\"} 8$" "$mnt/metrics" ||
	fail "metrics: $(grep live_allocs "$mnt/metrics")"
[ "$(stat -c %a "$d/reclaim")" = 200 ] || fail "reclaim mode $(stat -c %a "$d/reclaim")"
ok "tree, status, maps, pagetable, allocs, metrics"

# ---- reclaim ----
cached=$(key "$d/status" cached)
[ "$cached" -gt 0 ] || fail "nothing cached to reclaim"
bad_write "$d/reclaim" "garbage" "Invalid argument" 2>/dev/null
bad_write "$d/reclaim" "12abc" "Invalid argument" 2>/dev/null
echo 2M >"$d/reclaim" || fail "reclaim 2M write"
echo all >"$d/reclaim" || fail "reclaim write"
[ "$(key "$d/status" cached)" = 0 ] || fail "cached after reclaim: $(key "$d/status" cached)"
[ "$(key "$d/status" reclaimed)" = "$cached" ] || fail "reclaimed: $(key "$d/status" reclaimed)"
ok "reclaim"

# ---- knobs (once libgpuvm exports the schema) ----
if [ -e "$d/policy/limit" ]; then
	[ "$(cat "$d/policy/limit")" = 0 ] || fail "limit: $(cat "$d/policy/limit")"
	echo 1G >"$d/policy/limit" || fail "write 1G"
	[ "$(cat "$d/policy/limit")" = 1073741824 ] || fail "limit after 1G: $(cat "$d/policy/limit")"
	[ "$(key "$d/status" limit)" = 1073741824 ] || fail "status limit"
	bad_write "$d/policy/limit" "garbage" "Invalid argument"
	bad_write "$d/policy/limit" "-1" "Invalid argument"
	bad_write "$d/policy/limit" "99999999999999999999999" "Numerical result out of range"
	bad_write "$d/policy/limit" "$(printf '\n')x" "Invalid argument"
	bad_write "$d/policy/limit" "
" "Invalid argument"
	bad_write "$d/policy/limit" "12abc" "Invalid argument"
	bad_write "$d/policy/limit" "$(head -c 300 /dev/zero | tr '\0' 1)" "Invalid argument"
	bad_write "$d/policy/limit" "20000000000G" "Numerical result out of range"
	[ -e "$d/policy/chunk_size" ] &&
		bad_write "$d/policy/chunk_size" "64G" "Numerical result out of range"
	if [ -e "$d/policy/placement" ]; then
		grep -q '^\[best-fit\] first-fit$' "$d/policy/placement" ||
			fail "placement: $(cat "$d/policy/placement")"
		echo first-fit >"$d/policy/placement" || fail "placement write"
		grep -q '^best-fit \[first-fit\]$' "$d/policy/placement" ||
			fail "placement after: $(cat "$d/policy/placement")"
		bad_write "$d/policy/placement" "worst-fit" "Invalid argument"
	fi
	# read only at set-up: the file says so, and root (past the mode) is
	# refused by the process itself; the default still takes it
	if [ -e "$d/policy/pool_reserve" ]; then
		[ "$(stat -c %a "$d/policy/pool_reserve")" = 444 ] ||
			fail "pool_reserve mode $(stat -c %a "$d/policy/pool_reserve")"
		was=$(cat "$d/policy/pool_reserve")
		bad_write "$d/policy/pool_reserve" "4M" "Permission denied"
		[ "$(cat "$d/policy/pool_reserve")" = "$was" ] || fail "pool_reserve changed"
		echo 4M >"$mnt/policy/pool_reserve" || fail "pool_reserve default write"
		echo 0 >"$mnt/policy/pool_reserve" || fail "pool_reserve default back"
	fi
	if [ -e "$d/policy/chunk_size" ]; then
		echo 4M >"$d/policy/chunk_size" || fail "chunk_size write"
		[ "$(key "$d/status" chunk_size)" = 4194304 ] || fail "status chunk_size"
	fi
	# defaults for processes that start later
	echo 2G >"$mnt/policy/limit" || fail "default write"
	[ "$(cat "$mnt/policy/limit")" = 2147483648 ] || fail "default: $(cat "$mnt/policy/limit")"
	grep -qx "limit=2147483648" "$run/defaults" || fail "defaults file: $(cat "$run/defaults")"
	bad_write "$mnt/policy/limit" "2X" "Invalid argument"
	grep -qx "limit=2147483648" "$run/defaults" || fail "defaults changed by a bad write"
	ok "knobs"
else
	echo "note: no knob schema in libgpuvm yet: knob checks not run"
fi

# ---- a second user ----
if command -v setpriv >/dev/null && id nobody >/dev/null 2>&1; then
	as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
	as_nobody cat "$d/status" >/dev/null || fail "nobody cannot read status"
	as_nobody sh -c "echo all > $d/reclaim" 2>/dev/null && fail "nobody reclaimed"
	if [ -e "$d/policy/limit" ]; then
		as_nobody sh -c "echo 5M > $d/policy/limit" 2>/dev/null && fail "nobody set a knob"
		[ "$(cat "$d/policy/limit")" = 1073741824 ] || fail "limit changed by nobody"
		as_nobody sh -c "echo 5M > $mnt/policy/limit" 2>/dev/null &&
			fail "nobody set a default"
	fi
	ok "second user refused"
fi

# ---- several devices ----
start_proc p2 -d 2
wait_for test -d "$mnt/$p2" || fail "second process not shown"
d2=$mnt/$p2
[ -d "$d2/dev0" ] && [ -d "$d2/dev1" ] || fail "dev0/dev1 missing: $(ls "$d2")"
[ "$(key "$d2/dev1/status" device)" = 1 ] || fail "dev1/status device"
[ "$(wc -l <"$d2/dev1/pagetable")" = 20 ] || fail "dev1/pagetable lines"
[ "$(wc -l <"$d2/pagetable")" = 40 ] || fail "process pagetable lines"
[ "$(key "$d2/status" live_allocs)" = 16 ] || fail "summed live_allocs"
[ "$(ls "$d2/dev1/allocs" | wc -l)" = 8 ] || fail "dev1/allocs"
[ -e "$d2/dev2" ] && fail "dev2 exists"
echo all >"$d2/dev1/reclaim" || fail "dev1 reclaim"
[ "$(key "$d2/dev1/status" cached)" = 0 ] || fail "dev1 cached after reclaim"
[ "$(key "$d2/dev0/status" cached)" != 0 ] || fail "dev0 reclaimed by dev1's reclaim"
ok "per-device directories"

# ---- a hostile segment ----
sleep 60 &
victim=$!
procs+=("$victim")
head -c 5000 /dev/urandom >"$run/$victim.state"
wait_for test -d "$mnt/$victim" || fail "broken segment's process not shown"
[ "$(key "$mnt/$victim/status" state)" = error ] || fail "broken segment status"
cat "$mnt/$victim/maps" >/dev/null 2>&1 && fail "maps of a broken segment read"
ls "$mnt" >/dev/null && [ "$(key "$d/status" pid)" = "$p1" ] || fail "daemon hurt"
ok "hostile segment"

# ---- kill -9: the directory and files go ----
kill -9 "$p1"
wait "$p1" 2>/dev/null
wait_for test ! -e "$mnt/$p1" || fail "$p1 still shown after kill -9"
ls "$mnt" >/dev/null
wait_for test ! -e "$run/$p1.state" || fail "$p1.state not removed"
[ -e "$run/$p1.ctl" ] && fail "$p1.ctl not removed"
ok "kill -9"

# ---- restart ----
stop_fs || fail "gpuvmfs exit status $? on SIGTERM"
mountpoint -q "$mnt" && fail "still mounted after SIGTERM"
kill -0 "$p2" || fail "process died with the daemon"
start_fs
wait_for test -d "$mnt/$p2" || fail "$p2 not found after restart"
[ "$(key "$mnt/$p2/status" pid)" = "$p2" ] || fail "status after restart"
ok "restart"

stop_fs || fail "gpuvmfs exit status on SIGTERM"
[ $failures -eq 0 ] || { echo "$failures failures"; cat "$tmp/fs.log"; exit 1; }
echo "all passed"
