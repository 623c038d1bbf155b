#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_stress_fs.sh - the stress with gpuvmfs mounted in a temporary folder:
# another process changes the knobs (limit, chunk_size, watermarks,
# placement, stitch, reclaim) and reads the page table; a client killed
# with SIGKILL (the daemon survives, the client's segments go); the daemon
# killed and restarted (the workers never notice).  Skips without FUSE.
. "$(dirname "$0")/stress-lib.sh"

[ -c /dev/fuse ] || { echo "skip: no /dev/fuse"; exit 77; }
command -v fusermount3 >/dev/null || { echo "skip: no fusermount3"; exit 77; }
[ -x "$build/bin/gpuvmfs" ] || { echo "skip: gpuvmfs not built"; exit 77; }

run_stress churn-kill 0 --duration 8s --threads 3 --policy-churn --kill --verbose --seed 31
finish
