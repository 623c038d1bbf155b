#!/bin/bash
# SPDX-License-Identifier: MIT
#
# driver_probe.sh - hold cudasim to the real driver's answers.
#
# driver_probe.expected is driver_probe's output on a GPU (NVIDIA H200,
# CUDA 12/13 driver).  cudasim must print the same, except for the cases
# listed in known_differences below, each with its reason.  To refresh the
# reference on a GPU machine:
#   cc -Iinclude/compat tests/cudasim/driver_probe.c -l:libcuda.so.1 -o probe
#   ./probe > tests/cudasim/driver_probe.expected  (then put back the header)

set -u
src=${GPUVM_SRC:?run through make check}
build=${GPUVM_BUILD:?run through make check}

# "case" prefixes whose answers differ on purpose:
known_differences=(
	# cudasim can only map inside a reservation it made; the driver
	# accepted a range running past the end of one.
	'cuMemMap(past the end of the reservation):'
	# added after the last GPU run (H200): gpuvm cuts one cuMemCreate
	# into chunks mapped at their offsets and asks the driver once
	# whether it can (vmm/chunk_pool.c); cudasim's answer is tested in
	# test_cudasim_vmm.c.  Drop these once a GPU run refreshed the file.
	'cuMemMap(at an offset into the handle):'
	'cuMemSetAccess(offset mapping):'
	'offset mapping shows:'
	'cuMemUnmap(offset mapping):'
)

filter() {
	local k line
	while IFS= read -r line; do
		[[ $line == '#'* ]] && continue
		for k in "${known_differences[@]}"; do
			[[ $line == "$k"* ]] && continue 2
		done
		printf '%s\n' "$line"
	done
}

out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$build/tests/cudasim/driver_probe" > "$out"
rc=$?
if [ $rc -ne 0 ]; then
	echo "driver_probe exited $rc"
	exit 1
fi
if ! diff -u <(filter < "$src/tests/cudasim/driver_probe.expected") <(filter < "$out"); then
	echo "FAIL: cudasim differs from the driver (- driver, + cudasim)"
	exit 1
fi
echo "cudasim answers as the driver in $(grep -c : "$out") cases"
