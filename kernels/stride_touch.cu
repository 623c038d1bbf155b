// SPDX-License-Identifier: MIT
/* stride_touch.cu - read and write one byte per stride: faults on any hole. */
#include <stdint.h>

#include "kernels.h"

extern "C" __global__ void gpuvm_stride_touch(volatile uint8_t *p, uint64_t bytes, uint64_t stride)
{
	uint64_t k = blockIdx.x * (uint64_t)blockDim.x + threadIdx.x;
	uint64_t step = (uint64_t)gridDim.x * blockDim.x;

	for (; k * stride < bytes; k += step)
		p[k * stride] ^= 0;
}
