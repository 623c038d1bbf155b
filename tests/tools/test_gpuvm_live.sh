#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_gpuvm_live.sh - every reading and writing subcommand against a live
# program: llmserve (unmodified, through the shim) paused mid-run, first
# from the segments (nothing mounted), then through a gpuvmfs mount (skipped
# when FUSE is unavailable).  Values refused by the schema get the same
# errno as a write into /gpuvm; good ones reach the process.
set -u
build=${GPUVM_BUILD:?}
gpuvm=$build/bin/gpuvm
fails=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

expect() {
	local want=$1 pat=$2 out rc
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	[ "$rc" = "$want" ] || fail "$* exited $rc, want $want: $(head -c 600 <<<"$out")"
	[ -z "$pat" ] || grep -qE -- "$pat" <<<"$out" || fail "$*: no '$pat' in: $(head -c 600 <<<"$out")"
}

tmp=$(mktemp -d)
export GPUVM_RUNDIR=$tmp/run
mkdir "$GPUVM_RUNDIR" "$tmp/mnt"
fs_pid=
other_pid=
job=
cleanup() {
	[ -n "$job" ] && kill "$job" 2>/dev/null
	[ -n "$other_pid" ] && kill "$other_pid" 2>/dev/null && wait "$other_pid" 2>/dev/null
	[ -n "$fs_pid" ] && kill "$fs_pid" 2>/dev/null && wait "$fs_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

mkfifo "$tmp/fifo"
CUDASIM_MEM=128M GPUVM_MAINJOB_PAUSE_FIFO=$tmp/fifo "$gpuvm" run -q -- \
	"$build/bin/llmserve" --requests 8 --max-len 8 >"$tmp/out" 2>&1 &
job=$!
pid=
for _ in $(seq 600); do
	pid=$(sed -n 's/^llmserve: paused mid-run pid=\([0-9]*\)$/\1/p' "$tmp/out")
	[ -n "$pid" ] && break
	kill -0 "$job" 2>/dev/null || break
	sleep 0.05
done
if [ -z "$pid" ]; then
	echo "llmserve did not pause:"
	cat "$tmp/out"
	exit 1
fi

# svg_planted SOURCE...: links planted at the names gpuvm map once wrote
# aside (FILE.tmp<pid>, the next few hundred pids) and at FILE itself lead
# to a file of someone else's; the picture lands at FILE, the file is left
# as it was, nothing is left aside, and FILE gets 0666 less the umask.
svg_planted() {
	rm -rf "$tmp/plant" && mkdir "$tmp/plant"
	echo precious >"$tmp/victim"
	# one process plants them all, so the pids it names are still to come
	python3 -c '
import os, sys
last = int(open("/proc/sys/kernel/ns_last_pid").read())
for n in range(last + 1, last + 400):
	os.symlink(sys.argv[1], "%s/map.svg.tmp%d" % (sys.argv[2], n))
' "$tmp/victim" "$tmp/plant" || fail "cannot plant the links"
	expect 0 "" bash -c 'umask 022 && exec "$@"' - "$gpuvm" map "$@" "$pid" \
		--svg "$tmp/plant/map.svg"
	[ "$(cat "$tmp/victim")" = precious ] || fail "map --svg wrote through a planted link"
	grep -q '^</svg>$' "$tmp/plant/map.svg" || fail "map --svg beside planted links: no SVG"
	[ "$(stat -c %a "$tmp/plant/map.svg")" = 644 ] ||
		fail "map.svg mode $(stat -c %a "$tmp/plant/map.svg"), want 644 under umask 022"
	[ -z "$(find "$tmp/plant" -name 'map.svg.*' -type f)" ] || fail "map --svg left a file aside"
	echo precious >"$tmp/victim"
	ln -sfn "$tmp/victim" "$tmp/plant/link.svg"
	expect 0 "" "$gpuvm" map "$@" "$pid" --svg "$tmp/plant/link.svg"
	[ "$(cat "$tmp/victim")" = precious ] || fail "map --svg wrote through the link at FILE"
	[ -f "$tmp/plant/link.svg" ] && [ ! -L "$tmp/plant/link.svg" ] ||
		fail "map --svg did not replace the link at FILE"
}

# a size as cli_human prints it: 512M, 1.5G
human='[0-9]+(\.[0-9])?[BKMGTPE]'

# top_fits COLS SOURCE...: no line of a frame --width COLS is wider, and
# its table row and bar are there
top_fits() {
	local w=$1 out long
	shift
	out=$("$gpuvm" top --once --no-color --width "$w" "$@" "$pid")
	long=$(awk -v w="$w" 'length > w' <<<"$out")
	[ -z "$long" ] || fail "top --width $w: lines past $w columns: $long"
	grep -qE "^ *$pid llmserve +0 " <<<"$out" || fail "top --width $w: no row: $out"
	grep -qE '^      \[[#+o. ]+\]( |$)' <<<"$out" || fail "top --width $w: no bar: $out"
	# the bar's text says what its sizes are, beside the bar or under it
	grep -qE "(\] |^      )$human used span of $human arena$" <<<"$out" ||
		fail "top --width $w: no used span of arena: $out"
	grep -q "^used span: arena base to last" <<<"$out" || fail "top --width $w: legend: $out"
}

# top_sizes SOURCE...: the bar's two sizes are the used span (the arena's
# base to the end of its last granule in use) and the arena's size, in
# MiB (checked when both are whole MiB, as cli_human then prints them)
top_sizes() {
	local st base size gran last span want
	st=$("$gpuvm" status --device 0 "$@" "$pid")
	base=$(sed -n 's/^arena_base: //p' <<<"$st")
	size=$(sed -n 's/^arena_size: //p' <<<"$st")
	gran=$(sed -n 's/^granularity: //p' <<<"$st")
	last=$("$gpuvm" pagetable --device 0 "$@" "$pid" | tail -n 1 | cut -d' ' -f1)
	span=$((0x$last + gran - base))
	(( span % 1048576 == 0 && size % 1048576 == 0 && span >> 20 >= 10 &&
	   size >> 20 >= 10 && span >> 20 < 1024 && size >> 20 < 1024 )) || return 0
	want="$((span >> 20))M used span of $((size >> 20))M arena"
	"$gpuvm" top --once --no-color "$@" "$pid" | grep -q "\] $want$" ||
		fail "top: not '$want': $("$gpuvm" top --once --no-color "$@" "$pid")"
}

# svg_looks FILE: the legend of gpuvm map's picture says what its numbers
# are, and its allocations are told apart: each a colour of the palette,
# or a pattern of one, no two of the first 36 alike, no two next to each
# other in address of one colour (hues by id put 624, 448 and 80 within
# 16 degrees); every mapped cell has its allocation's look.
svg_looks() {
	python3 - "$1" <<'PY' || fail "map --svg: the legend and its looks (above)"
import re, sys
import xml.etree.ElementTree as ET

S = "{http://www.w3.org/2000/svg}"
PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
           "#edc948", "#b07aa1", "#ff9da7", "#9c755f"]
root = ET.parse(sys.argv[1]).getroot()
els = list(root.iter())
pattern_colour = {p.get("id"): p.find(S + "rect").get("fill") for p in root.iter(S + "pattern")}
texts = [t.text or "" for t in root.iter(S + "text")]
bad = []

def colour(fill):
    m = re.fullmatch(r"url\(#(\w+)\)", fill)
    return pattern_colour.get(m.group(1)) if m else fill

heading = r"allocations by address: id, first address, bytes usable, bytes requested .*KiB"
if not any(re.search(heading, t) for t in texts):
    bad.append("no heading says what the allocations' numbers are")
over = r"from 0x[0-9a-f]+: \S+ of VA shown, \S+ per cell, \d+ granules of \S+ in use"
if not any(re.match(over, t) for t in texts):
    bad.append("the line over the cells does not say what its numbers are")
legend = []
for i, el in enumerate(els):
    if el.tag != S + "text" or not (el.text or "").startswith("alloc "):
        continue
    m = re.match(r"alloc (\d+)", el.text)
    if not re.fullmatch(r"alloc \d+ at 0x[0-9a-f]{12}: [0-9.]+[BKMGTPE] usable, "
                        r"[0-9.]+[BKMGTPE] requested(, sub-allocated)?", el.text):
        bad.append("legend line not labelled: %r" % el.text)
    fill = els[i - 1].get("fill")
    if colour(fill) not in PALETTE:
        bad.append("alloc %s: %s is neither a palette colour nor a pattern of one"
                   % (m.group(1), fill))
    legend.append((m.group(1), fill))
if not legend:
    bad.append("no allocation in the legend")
fills = [f for _, f in legend[:36]]
if len(set(fills)) != len(fills):
    bad.append("two allocations look the same: %s" % fills)
for (a, f), (b, g) in zip(legend, legend[1:]):
    if colour(f) == colour(g):
        bad.append("neighbours %s and %s share %s" % (a, b, colour(f)))
if len(legend) > len(PALETTE) and not any(f.startswith("url(") for _, f in legend):
    bad.append("%d allocations and no pattern" % len(legend))
looks = dict(legend)
for el in root.iter(S + "rect"):
    t = el.find(S + "title")
    m = re.search(r" mapped alloc (\d+)$", t.text or "") if t is not None else None
    if m and m.group(1) in looks and el.get("fill") != looks[m.group(1)]:
        bad.append("a cell of alloc %s is %s, its legend %s"
                   % (m.group(1), el.get("fill"), looks[m.group(1)]))
        break
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
PY
}

# knob_is SOURCE... NAME VALUE: through a mount, the knob file says VALUE
# (nothing reads one knob from the segments; there the next set tells)
knob_is() {
	local got
	[ "$1" = --mount ] || return 0
	got=$(cat "$2/$pid/policy/$3")
	[ "$got" = "$4" ] || fail "policy/$3 is $got, want $4"
}

# set_all_or_nothing SOURCE...: several pairs are checked together with the
# knobs not named, applied in an order that works, and undone when the
# process refuses one halfway.  On entry high_watermark=64M, the rest 0.
set_all_or_nothing() {
	expect 2 "low_watermark above high_watermark.*nothing changed" \
		"$gpuvm" set "$@" "$pid" low_watermark=8M high_watermark=4M
	knob_is "$@" low_watermark 0
	knob_is "$@" high_watermark 67108864
	# low_watermark is still at most 4M, or this one would be refused
	expect 0 "" "$gpuvm" set "$@" "$pid" high_watermark=4M
	# against the current high_watermark=4M
	expect 2 "low_watermark above high_watermark" "$gpuvm" set "$@" "$pid" low_watermark=8M
	# valid as a whole, though low_watermark=16M alone is not: high goes first
	expect 0 "" "$gpuvm" set "$@" "$pid" low_watermark=16M high_watermark=32M
	knob_is "$@" low_watermark 16777216
	knob_is "$@" high_watermark 33554432
	expect 2 "low_watermark above high_watermark" "$gpuvm" set "$@" "$pid" high_watermark=8M
	# and down again: low first
	expect 0 "" "$gpuvm" set "$@" "$pid" high_watermark=2M low_watermark=1M
	knob_is "$@" low_watermark 1048576
	# the process refuses a chunk of 3M (granules are 2M): limit goes back
	expect 1 "put back; nothing changed" \
		"$gpuvm" set "$@" "$pid" limit=50M chunk_size=3M
	expect 0 "^limit: 0$" "$gpuvm" status "$@" "$pid"
	expect 0 "^chunk_size: 2097152$" "$gpuvm" status "$@" "$pid"
	expect 2 "named twice" "$gpuvm" set "$@" "$pid" limit=1M limit=2M
	expect 1 "Permission denied" "$gpuvm" set "$@" "$pid" limit=1M pool_reserve=0
	expect 0 "^limit: 0$" "$gpuvm" status "$@" "$pid"
	expect 0 "" "$gpuvm" set "$@" "$pid" high_watermark=0 low_watermark=0
	knob_is "$@" high_watermark 0
}

# frag_agrees SOURCE...: at its end pause the process holds freed memory;
# with stitching all of it is one mappable run (largest_free_run is
# published with cached), so status says frag_external 0 and ps FRAG 0.0%
frag_agrees() {
	local st cached run
	st=$("$gpuvm" status "$@" "$pid")
	cached=$(sed -n 's/^cached: //p' <<<"$st")
	run=$(sed -n 's/^largest_free_run: //p' <<<"$st")
	[ "${cached:-0}" -gt 0 ] || fail "no cached memory mid-run: $st"
	[ "$run" = "$cached" ] || fail "largest_free_run $run with $cached cached and stitching on"
	grep -q '^frag_external: 0.0000$' <<<"$st" ||
		fail "status: $(grep '^frag_external' <<<"$st"), want 0.0000"
	expect 0 "^ *$pid .* 0\.0% " "$gpuvm" ps "$@"
}

# check SOURCE...: the whole set against the paused process
check() {
	expect 0 "^ *$pid +[^ ]+ +llmserve +0 " "$gpuvm" ps "$@"
	expect 0 "^state: ok" "$gpuvm" status "$@" "$pid"
	expect 0 "^comm: llmserve" "$gpuvm" status "$@" "$pid"
	expect 0 "^flags: simulated shim" "$gpuvm" status "$@" "$pid"
	expect 0 "^device: 0" "$gpuvm" status --device 0 "$@" "$pid"
	expect 1 "no device 3" "$gpuvm" status --device 3 "$@" "$pid"
	expect 0 "^[0-9a-f]{12}-[0-9a-f]{12} [-sga]{3} 0 [0-9]+ [0-9]+ [0-9]+ [0-9]+$" \
		"$gpuvm" maps "$@" "$pid"
	expect 0 "^[0-9a-f]{12} mapped [0-9]+:[0-9]+ [0-9]+ rw-$" "$gpuvm" pagetable "$@" "$pid"

	# writes: good values reach the process, bad ones change nothing
	expect 0 "" "$gpuvm" set "$@" "$pid" limit=100M
	expect 0 "^limit: 104857600$" "$gpuvm" status "$@" "$pid"
	expect 0 "" "$gpuvm" set "$@" "$pid" limit=0 high_watermark=64M
	expect 0 "^limit: 0$" "$gpuvm" status "$@" "$pid"
	for bad in limit=abc limit=12Q stitch=2 placement=nope "limit= "; do
		expect 2 "Invalid argument" "$gpuvm" set "$@" "$pid" "$bad"
	done
	expect 2 "Numerical result out of range" "$gpuvm" set "$@" "$pid" \
		small_max=99999999999999999999
	# a read-only-at-start knob: EACCES, as echo into its file
	expect 1 "Permission denied" "$gpuvm" set "$@" "$pid" pool_reserve=0
	expect 0 "^limit: 0$" "$gpuvm" status "$@" "$pid"
	set_all_or_nothing "$@"
	expect 0 "^$pid: released [0-9.]+[BKMG] \([0-9]+ chunks?\) to the driver; 0B stays cached$" \
		"$gpuvm" reclaim "$@" "$pid"
	expect 0 "^cached: 0$" "$gpuvm" status "$@" "$pid"
	expect 0 "^$pid: released 0B \(0 chunks\) to the driver; 0B stays cached$" \
		"$gpuvm" reclaim "$@" "$pid" 4M
	expect 1 "no such process using gpuvm, or no device 3 in it" \
		"$gpuvm" reclaim --device 3 "$@" "$pid"
	expect 2 "expected all or a size" "$gpuvm" reclaim "$@" "$pid" lots
	expect 2 "expected all or a size" "$gpuvm" reclaim "$@" "$pid" 12abc

	# the picture and the live view
	rm -f "$tmp/map.svg"
	expect 0 "" "$gpuvm" map "$@" "$pid" --svg "$tmp/map.svg"
	if command -v xmllint >/dev/null 2>&1; then
		xmllint --noout "$tmp/map.svg" || fail "map.svg is not well-formed XML"
	else
		grep -q '^<svg ' "$tmp/map.svg" && tail -n 1 "$tmp/map.svg" | grep -q '^</svg>$' ||
			fail "map.svg does not look like SVG"
	fi
	grep -q '<rect ' "$tmp/map.svg" || fail "map.svg draws nothing"
	svg_looks "$tmp/map.svg"
	svg_planted "$@"
	expect 0 "^ *$pid llmserve +0 " "$gpuvm" top --once --no-color "$@"
	top_sizes "$@"
	for w in 40 47 60 80 92 150; do
		top_fits "$w" "$@"
	done
	out=$("$gpuvm" top --once --no-color --width 40 "$@" "$pid")
	grep -qE "^ +PID COMM +DEV +MAPPED$" <<<"$out" || fail "top --width 40: columns: $out"
	out=$("$gpuvm" top --once --no-color "$@" "$pid")
	grep -qE "^ +PID COMM +DEV +MAPPED +REQUESTED +CACHED +LIMIT +EXTFRAG +INTFRAG +CALLS/s$" \
		<<<"$out" || fail "top, not a terminal: not the whole table: $out"
	out=$("$gpuvm" top -n 2 -d 1 --no-color "$@" "$pid")
	[ "$(grep -c '^gpuvm top' <<<"$out")" = 2 ] || fail "top -n 2: $out"
	grep -qE "^ *$pid llmserve +0 .* [0-9]+$" <<<"$out" || fail "top -n 2: no calls/s: $out"
}

echo "== from the segments"
check --direct
# whatever the test machine has mounted, --direct above and auto here agree
expect 0 "^comm: llmserve" "$gpuvm" status --direct "$pid"

echo "== through gpuvmfs"
if [ ! -x "$build/bin/gpuvmfs" ] || [ ! -c /dev/fuse ]; then
	echo "SKIP part: FUSE or gpuvmfs unavailable"
else
	# mount_fs RUNDIR DIR LOG: a gpuvmfs in the background ($! its pid),
	# waited for until it is mounted (or gave up)
	mount_fs() {
		"$build/bin/gpuvmfs" -f --rundir="$1" "$2" 2>"$3" &
		for _ in $(seq 100); do
			mountpoint -q "$2" && break
			sleep 0.05
		done
	}
	# another run directory's gpuvmfs, mounted first: never chosen for ours
	mkdir -m 0700 "$tmp/other-run" "$tmp/mnt-other"
	mount_fs "$tmp/other-run" "$tmp/mnt-other" "$tmp/fs-other.log"
	other_pid=$!
	if mountpoint -q "$tmp/mnt-other"; then
		expect 0 "^# from the segments in $GPUVM_RUNDIR \([0-9]+ gpuvmfs mounted, none serving it\)" \
			env -u GPUVM_MOUNT "$gpuvm" ps
		expect 0 "^ *$pid +[^ ]+ +llmserve " env -u GPUVM_MOUNT "$gpuvm" ps
	fi
	mount_fs "$GPUVM_RUNDIR" "$tmp/mnt" "$tmp/fs.log"
	fs_pid=$!
	if mountpoint -q "$tmp/mnt"; then
		# with two mounted, the CLI takes the one serving its run directory
		# and says which
		real_run=$(cd "$GPUVM_RUNDIR" && pwd -P)
		expect 0 "^# through $tmp/mnt \(gpuvmfs serving $real_run\)" env -u GPUVM_MOUNT "$gpuvm" ps
		expect 0 "^ *$pid +[^ ]+ +llmserve " env -u GPUVM_MOUNT "$gpuvm" ps
		expect 0 "^comm: llmserve" env -u GPUVM_MOUNT "$gpuvm" status "$pid"
		expect 0 "^# from the segments in $GPUVM_RUNDIR \(--direct\)" "$gpuvm" ps --direct
		expect 0 "^gpuvm top .*, through $tmp/mnt \(gpuvmfs serving $real_run\)" \
			env -u GPUVM_MOUNT "$gpuvm" top --once --no-color --width 250
		# named, the other one is used as asked: it shows no process of ours
		expect 0 "^# through $tmp/mnt-other \(gpuvmfs serving $(cd "$tmp/other-run" && pwd -P)\)" \
			"$gpuvm" ps --mount "$tmp/mnt-other"
		expect 1 "no such process" "$gpuvm" status --mount "$tmp/mnt-other" "$pid"
		check --mount "$tmp/mnt"
		# the same text both ways
		a=$("$gpuvm" maps --mount "$tmp/mnt" "$pid")
		b=$("$gpuvm" maps --direct "$pid")
		[ "$a" = "$b" ] || fail "maps differ between the mount and the segments"
		# the same refusal as echo into the file
		msg=$( (echo abc >"$tmp/mnt/$pid/policy/limit") 2>&1)
		grep -q "Invalid argument" <<<"$msg" || fail "gpuvmfs accepted limit=abc: $msg"
		kill "$fs_pid"
		wait "$fs_pid" 2>/dev/null
		fs_pid=
		kill "$other_pid" 2>/dev/null
		wait "$other_pid" 2>/dev/null
		other_pid=
	else
		echo "SKIP part: gpuvmfs did not mount: $(cat "$tmp/fs.log")"
		kill "$fs_pid" 2>/dev/null
		fs_pid=
	fi
fi

# let it finish: at the end pause, then out
echo go >"$tmp/fifo"
for _ in $(seq 600); do
	grep -q '^llmserve: paused at the end' "$tmp/out" && break
	kill -0 "$job" 2>/dev/null || break
	sleep 0.05
done
frag_agrees --direct
# reclaim says what went back (every cached chunk) and what stays
cached=$("$gpuvm" status --direct "$pid" | sed -n 's/^cached: //p')
chunks=$((cached / 2097152))
want=$(numfmt --to=iec "$cached")
expect 0 "^$pid: released ${want}B? \($chunks chunks\) to the driver; 0B stays cached$" \
	"$gpuvm" reclaim --direct "$pid"
echo go >"$tmp/fifo"
wait "$job"
rc=$?
job=
[ $rc = 0 ] || fail "llmserve under gpuvm run exited $rc: $(tail -n 5 "$tmp/out")"
grep -q '^result.served=8$' "$tmp/out" || fail "not every request served: $(grep result "$tmp/out")"
expect 1 "no such process" "$gpuvm" status --direct "$pid"

if [ $fails -ne 0 ]; then
	echo "$fails failures"
	exit 1
fi
echo "ok"
