#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_metrics_http.sh - /gpuvm/metrics over HTTP, as monitoring runs it.
#
# llmserve (unmodified, through the shim) paused mid-run, and a stand-in
# process whose comm needs escaping (segwriter -n 'a"b\c').  gpuvm exporter
# (from the segments) and, when FUSE works, gpuvmfs --metrics-listen, each
# on a free loopback port: their HTTP answers (200 for GET, HEAD and
# HTTP/1.0; 404, 405, 400, 505, 431, 414; 408 and bounded slow clients),
# the exposition format and naming, the same text as the file, and every
# series of llmserve against `gpuvm status --direct`.
#
# Then Debian's Prometheus server (package prometheus), when installed:
# started on loopback with a temporary config scraping both every second
# and a temporary storage directory; each target is up with no scrape
# error, it ingested every sample served, and its query API gives the
# status's values and the escaped comm back as it was, and every query of
# the Grafana dashboard (Documentation/grafana-gpuvm.json) evaluates; the
# dashboard's series are the exposition's in any case.  That part is
# skipped, not the test, without prometheus.  Whatever the exit, every
# process started here is stopped and its files removed.
set -u
build=${GPUVM_BUILD:?run through make check}
src=${GPUVM_SRC:?run through make check}
gpuvm=$build/bin/gpuvm
gpuvmfs=$build/bin/gpuvmfs
segwriter=$build/tests/fusefs/segwriter
check=$src/tests/fusefs/metrics_check.py
odd_comm='a"b\c'
fails=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# py ARGS...: one check of metrics_check.py, its lines in the log
py() { python3 "$check" "$@" || fails=$((fails + 1)); }

command -v python3 >/dev/null || { echo "skip: no python3"; exit 77; }

tmp=$(mktemp -d /tmp/test_metrics_http.XXXXXX)
export GPUVM_RUNDIR=$tmp/run
mkdir "$GPUVM_RUNDIR" "$tmp/mnt"
job= sw_pid= exp_pid= fs_pid= prom_pid=
stop() {
	[ -n "$1" ] || return 0
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
# stopped_clean NAME PID OUT: SIGTERM ends it with status 0, and it said
# nothing past its first line in OUT
stopped_clean() {
	local rc

	kill "$2"
	wait "$2"
	rc=$?
	[ $rc = 0 ] && [ "$(wc -l <"$3")" = 1 ] || fail "$1, stopped: exit $rc: $(cat "$3")"
}
cleanup() {
	stop "$prom_pid"
	stop "$exp_pid"
	stop "$fs_pid"
	if mountpoint -q "$tmp/mnt"; then
		fusermount3 -u "$tmp/mnt" 2>/dev/null || umount -l "$tmp/mnt"
	fi
	stop "$sw_pid"
	stop "$job"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# wait_line FILE SED-EXPR PID: the first match in FILE, while PID lives (30 s)
wait_line() {
	local got
	for _ in $(seq 600); do
		got=$(sed -n "$2" "$1")
		[ -n "$got" ] && { echo "$got"; return 0; }
		kill -0 "$3" 2>/dev/null || break
		sleep 0.05
	done
	return 1
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# ---- the programs ----
mkfifo "$tmp/fifo"
CUDASIM_MEM=128M GPUVM_MAINJOB_PAUSE_FIFO=$tmp/fifo "$gpuvm" run -q -- \
	"$build/bin/llmserve" --requests 8 --max-len 8 >"$tmp/out" 2>&1 &
job=$!
pid=$(wait_line "$tmp/out" 's/^llmserve: paused mid-run pid=\([0-9]*\)$/\1/p' "$job") || {
	echo "llmserve did not pause:"; cat "$tmp/out"; exit 1; }
"$segwriter" serve -n "$odd_comm" >"$tmp/sw.out" 2>&1 &
sw_pid=$!
wait_line "$tmp/sw.out" '/ready/p' "$sw_pid" >/dev/null || {
	echo "segwriter did not start:"; cat "$tmp/sw.out"; exit 1; }
"$gpuvm" status --direct "$pid" >"$tmp/status" || { fail "gpuvm status --direct $pid"; exit 1; }

# ---- gpuvm exporter ----
echo "== gpuvm exporter"
"$gpuvm" exporter --direct --listen 127.0.0.1:0 >"$tmp/exporter.out" 2>&1 &
exp_pid=$!
serving='s|^gpuvm exporter: serving http://\([0-9.]*:[0-9]*\)/metrics, from the segments .*|\1|p'
exp_addr=$(wait_line "$tmp/exporter.out" "$serving" "$exp_pid") || {
	fail "exporter did not start: $(cat "$tmp/exporter.out")"; exit 1; }
echo "listening on $exp_addr"
py http 127.0.0.1 "${exp_addr##*:}" "$tmp/exporter.txt"
py lint "$tmp/exporter.txt"
py status "$tmp/exporter.txt" "$tmp/status" "$pid"
grep -qF "gpuvm_mapped_bytes{pid=\"$sw_pid\",comm=\"a\\\"b\\\\c\"," "$tmp/exporter.txt" ||
	fail "no escaped comm: $(grep "^gpuvm_mapped_bytes{pid=\"$sw_pid\"" "$tmp/exporter.txt")"
# the Grafana dashboard: valid JSON, its queries over these series
py dashboard "$src/Documentation/grafana-gpuvm.json" "$tmp/exporter.txt"
# a port in use: exit 1, one line
out=$("$gpuvm" exporter --listen "$exp_addr" 2>&1)
rc=$?
[ $rc = 1 ] && [ "$(wc -l <<<"$out")" = 1 ] &&
	grep -q "cannot listen on $exp_addr: Address already in use" <<<"$out" ||
	fail "exporter on a port in use: exit $rc: $out"

# ---- gpuvmfs --metrics-listen ----
echo "== gpuvmfs --metrics-listen"
fs_addr=
if [ ! -x "$gpuvmfs" ] || [ ! -c /dev/fuse ] || ! command -v fusermount3 >/dev/null; then
	echo "SKIP part: FUSE or gpuvmfs unavailable"
else
	"$gpuvmfs" -f --rundir="$GPUVM_RUNDIR" --metrics-listen=127.0.0.1:0 "$tmp/mnt" \
		>"$tmp/fs.out" 2>&1 &
	fs_pid=$!
	for _ in $(seq 100); do
		mountpoint -q "$tmp/mnt" && break
		kill -0 "$fs_pid" 2>/dev/null || break
		sleep 0.05
	done
	if mountpoint -q "$tmp/mnt"; then
		fs_addr=$(sed -n 's|^gpuvmfs: serving http://\(.*\)/metrics$|\1|p' "$tmp/fs.out")
		echo "listening on $fs_addr"
		py http 127.0.0.1 "${fs_addr##*:}" "$tmp/gpuvmfs.txt"
		py lint "$tmp/gpuvmfs.txt"
		py status "$tmp/gpuvmfs.txt" "$tmp/status" "$pid"
		# one renderer: the file, its server and the exporter say the same
		cat "$tmp/mnt/metrics" >"$tmp/file.txt"
		cmp -s "$tmp/file.txt" "$tmp/gpuvmfs.txt" || fail "gpuvmfs: HTTP, file differ"
		cmp -s "$tmp/file.txt" "$tmp/exporter.txt" || fail "the exporter, file differ"
	else
		echo "SKIP part: gpuvmfs did not mount: $(cat "$tmp/fs.out")"
		stop "$fs_pid"
		fs_pid=
	fi
fi

# ---- Debian's Prometheus ----
echo "== prometheus"
if ! command -v prometheus >/dev/null; then
	echo "SKIP part: prometheus is not installed (apt-get install prometheus)"
else
	prometheus --version 2>&1 | head -n 1
	# its own linter of the exposition, beside ours
	if command -v promtool >/dev/null; then
		out=$(promtool check metrics <"$tmp/exporter.txt" 2>&1) ||
			fail "promtool check metrics: $out"
		echo "promtool check metrics: ${out:-nothing to say}"
	fi
	prom_port=$(free_port)
	mkdir "$tmp/prom"
	{
		echo "global:"
		echo "  scrape_interval: 1s"
		echo "  scrape_timeout: 1s"
		echo "  evaluation_interval: 1s"
		echo "scrape_configs:"
		echo "  - job_name: gpuvm-exporter"
		echo "    static_configs:"
		echo "      - targets: ['$exp_addr']"
		if [ -n "$fs_addr" ]; then
			echo "  - job_name: gpuvmfs"
			echo "    static_configs:"
			echo "      - targets: ['$fs_addr']"
		fi
	} >"$tmp/prom/prometheus.yml"
	# bounded even if this script is killed without its traps
	timeout -k 5 150 prometheus --config.file="$tmp/prom/prometheus.yml" \
		--storage.tsdb.path="$tmp/prom/data" --web.listen-address="127.0.0.1:$prom_port" \
		>"$tmp/prom/log" 2>&1 &
	prom_pid=$!
	url=http://127.0.0.1:$prom_port
	jobs_wanted=1
	[ -n "$fs_addr" ] && jobs_wanted=2
	# ready, and every target scraped once (60 s)
	up=
	for _ in $(seq 600); do
		kill -0 "$prom_pid" 2>/dev/null || break
		up=$(python3 - "$url" <<-'EOF' 2>/dev/null
			import json, sys, urllib.request
			url = sys.argv[1] + '/api/v1/targets'
			t = json.load(urllib.request.urlopen(url, timeout=2))
			print(sum(1 for x in t['data']['activeTargets'] if x['health'] == 'up'))
		EOF
		)
		[ "${up:-0}" = "$jobs_wanted" ] && break
		sleep 0.1
	done
	if [ "${up:-0}" != "$jobs_wanted" ]; then
		fail "prometheus: $up of $jobs_wanted targets up; its log:"
		tail -n 20 "$tmp/prom/log"
	else
		py prom "$url" gpuvm-exporter "$tmp/status" "$pid" "$odd_comm"
		[ -n "$fs_addr" ] && py prom "$url" gpuvmfs "$tmp/status" "$pid" "$odd_comm"
		py dashboard "$src/Documentation/grafana-gpuvm.json" "$tmp/exporter.txt" "$url"
		# it took every sample served
		served=$(grep -c '^gpuvm_' "$tmp/exporter.txt")
		got=$(python3 - "$url" <<-'EOF'
			import json, sys, urllib.parse, urllib.request
			q = 'scrape_samples_scraped{job="gpuvm-exporter"}'
			url = sys.argv[1] + '/api/v1/query?' + urllib.parse.urlencode({'query': q})
			r = json.load(urllib.request.urlopen(url, timeout=5))
			print(r['data']['result'][0]['value'][1])
		EOF
		)
		[ "$got" = "$served" ] || fail "prometheus scraped $got of the $served samples"
		echo "prometheus scraped all $served samples"
	fi
fi

# a clean stop: SIGTERM ends each server with status 0 (under the
# sanitizers: no leak) and nothing said past the first line
stop "$prom_pid"
prom_pid=
stopped_clean "gpuvm exporter" "$exp_pid" "$tmp/exporter.out"
exp_pid=
if [ -n "$fs_pid" ]; then
	stopped_clean gpuvmfs "$fs_pid" "$tmp/fs.out"
	fs_pid=
	mountpoint -q "$tmp/mnt" && fail "gpuvmfs stopped, still mounted"
fi

# let llmserve finish: past the end pause, then out
echo go >"$tmp/fifo"
wait_line "$tmp/out" '/^llmserve: paused at the end/p' "$job" >/dev/null
echo go >"$tmp/fifo"
wait "$job"
rc=$?
job=
[ $rc = 0 ] || fail "llmserve under gpuvm run exited $rc: $(tail -n 5 "$tmp/out")"

if [ $fails -ne 0 ]; then
	echo "$fails failures"
	exit 1
fi
echo "ok"
