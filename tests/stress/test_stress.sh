#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_stress.sh - the short stress runs: threads x random alloc / free /
# resize / free_async of mixed sizes, every allocation filled and verified
# by the kernels, on one device and on two; argument errors.
. "$(dirname "$0")/stress-lib.sh"

run_stress one-device 0 --duration 4s --threads 4 --seed 11
CUDASIM_MEM=512M run_stress two-devices 0 --duration 3s --threads 3 --devices 2 --seed 12
# under pressure: a small device, ooms expected, never corruption
CUDASIM_MEM=128M run_stress small-device 0 --duration 2s --threads 4 --seed 13

# bad usage: exit 2, nothing run
for bad in "--threads 0" "--threads 65" "--devices 3" "--duration 5x" "--duration -1" \
	   "--seed x" "--bogus" "extra"; do
	# shellcheck disable=SC2086
	run_stress "usage:$bad" 2 $bad
done
finish
