// SPDX-License-Identifier: MIT
/*
 * frameworks.c - allocator entry points for frameworks that take one.
 *
 * Part of libgpuvm.so (not the preload shim): a framework that lets the
 * user plug an allocator in loads libgpuvm.so and calls these, no
 * LD_PRELOAD needed.  Their signatures are the frameworks' own; see
 * Documentation/usage.rst for the copy-paste snippets.
 */
#include <gpuvm/gpuvm.h>

/**
 * gpuvm_torch_malloc - PyTorch CUDAPluggableAllocator allocation
 * @size: bytes
 * @device: device ordinal
 * @stream: the cudaStream_t the memory is allocated for
 *
 * Stream ordered: memory freed on @stream is reused on it without waiting.
 * Return: the device address, or NULL (PyTorch raises its out-of-memory
 * error; a zero @size also yields NULL, as PyTorch never uses it).
 */
GPUVM_API void *gpuvm_torch_malloc(size_t size, int device, void *stream)
{
	gpuvm_ptr_t ptr;

	if (!size || gpuvm_alloc_async(device, size, stream, &ptr))
		return NULL;
	return (void *)(uintptr_t)ptr;
}

/**
 * gpuvm_torch_free - PyTorch CUDAPluggableAllocator free
 * @ptr: what gpuvm_torch_malloc() returned (NULL is ignored)
 * @size: its size (unused: gpuvm knows)
 * @device: its device (unused)
 * @stream: the stream it was allocated for; reuse waits for its queued work
 */
GPUVM_API void gpuvm_torch_free(void *ptr, size_t size, int device, void *stream)
{
	if (ptr)
		gpuvm_free_async((gpuvm_ptr_t)(uintptr_t)ptr, stream);
}

/**
 * gpuvm_cupy_malloc - CuPy CFunctionAllocator allocation
 * @param: the allocator's opaque parameter (unused)
 * @size: bytes
 * @device: device ordinal
 *
 * Return: the device address, or 0 when out of memory (or @size is 0).
 */
GPUVM_API intptr_t gpuvm_cupy_malloc(intptr_t param, size_t size, int device)
{
	gpuvm_ptr_t ptr;

	if (!size || gpuvm_alloc(device, size, 0, &ptr))
		return 0;
	return (intptr_t)ptr;
}

/**
 * gpuvm_cupy_free - CuPy CFunctionAllocator free
 * @param: the allocator's opaque parameter (unused)
 * @ptr: what gpuvm_cupy_malloc() returned (0 is ignored)
 * @device: its device (unused)
 */
GPUVM_API void gpuvm_cupy_free(intptr_t param, intptr_t ptr, int device)
{
	if (ptr)
		gpuvm_free((gpuvm_ptr_t)ptr);
}
