#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_shim_dlsym.sh - issue 4, test 3: a program that finds the driver
# with dlopen + dlsym (both dlsym versions) gets gpuvm memory under the
# shim, the driver's without it or with GPUVM_DISABLE=1.

. "$(dirname "$0")/shim-lib.sh"
need cu_dlsym

run_direct "$bindir/cu_dlsym" direct
run_shim "$bindir/cu_dlsym" routed
run_shim GPUVM_DISABLE=1 "$bindir/cu_dlsym" direct
echo "ok"
