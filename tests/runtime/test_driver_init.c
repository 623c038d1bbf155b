// SPDX-License-Identifier: MIT
/*
 * test_driver_init.c - libgpuvm opening the driver, without the shim.
 *
 * Alone (make check) it initializes on cudasim.  test_shim_libcuda.sh runs
 * it as "test_driver_init refused" with no driver to be found (GPUVM_LIBCUDA
 * naming a library that is none, and no libcuda.so.1): gpuvm_init() must
 * fail with -ENODEV (and say why on stderr), soon, and a second call must
 * fail the same way.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <gpuvm/gpuvm.h>

int main(int argc, char **argv)
{
	bool refused = argc > 1 && !strcmp(argv[1], "refused");
	int want = refused ? -ENODEV : 0, i, ret;

	for (i = 0; i < 2; i++) {
		ret = gpuvm_init();
		if (ret != want) {
			fprintf(stderr, "gpuvm_init() call %d: %d, want %d\n", i + 1, ret, want);
			return 1;
		}
	}
	if (!refused)
		gpuvm_shutdown();
	printf("gpuvm_init: %d\n", ret);
	return 0;
}
