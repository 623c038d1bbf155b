#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_stress_faults.sh - every driver call gpuvm and the launcher make
# fails in turn (cudasim's fault injection) while the stress runs: it goes
# on or fails cleanly, the data is never corrupt, nothing leaks.  Then a
# failure at start-up of each call the set-up makes (CUDASIM_FAIL).
. "$(dirname "$0")/stress-lib.sh"

run_stress faults 0 --duration 8s --threads 4 --faults --seed 21
CUDASIM_MEM=256M run_stress faults-two-devices 0 --duration 4s --threads 2 --devices 2 \
	--faults --seed 22
for call in cuMemAddressReserve cuMemCreate cuMemMap cuMemSetAccess \
	    cuMemGetAllocationGranularity cuDevicePrimaryCtxRetain cuModuleLoadData \
	    cuMemAlloc cuStreamCreate cuEventCreate; do
	CUDASIM_FAIL=$call:1 run_stress "startup:$call" "0|1" --duration 0.5s \
		--threads 2 --faults --seed 23
done
finish
