// SPDX-License-Identifier: MIT
/*
 * shim_ipc.c - legacy CUDA IPC (cuIpcGetMemHandle, cuIpcOpenMemHandle,
 * cuIpcCloseMemHandle) on gpuvm memory.
 *
 * The driver's legacy IPC exports cuMemAlloc allocations only, and gpuvm's
 * memory is chunks mapped with the VMM calls: for it, libgpuvm makes and
 * opens the handles (vmm/ipc_socket.c, Documentation/shim.rst "CUDA IPC").
 * A handle of memory gpuvm does not own, and one gpuvm did not make, go to
 * the driver untouched; so do all of them under GPUVM_DISABLE=1.
 */
#include <errno.h>
#include <string.h>

#include "shim.h"

/* What the driver says for a handle or pointer it cannot use. */
static CUresult ipc_error(int err)
{
	switch (err) {
	case -ENOMEM:
		return CUDA_ERROR_OUT_OF_MEMORY;
	case -EOPNOTSUPP:
		return CUDA_ERROR_NOT_SUPPORTED;
	case -EPERM:
		return CUDA_ERROR_NOT_PERMITTED;	/* the run directory was refused */
	case -ESHUTDOWN:
		return CUDA_ERROR_DEINITIALIZED;
	default:
		return CUDA_ERROR_INVALID_VALUE;
	}
}

/** cuIpcGetMemHandle - the driver's, and gpuvm's for its own memory */
SHIM_EXPORT CUresult cuIpcGetMemHandle(CUipcMemHandle *handle, CUdeviceptr dptr)
{
	int err;

	shim_init();
	if (shim.disabled || !dptr || !gpuvm_owns(dptr, NULL))
		return shim.real.cuIpcGetMemHandle(handle, dptr);
	if (!handle)
		return CUDA_ERROR_INVALID_VALUE;
	err = gpuvm_ipc_get_handle(dptr, handle->reserved, NULL);
	if (err == -EOPNOTSUPP)
		shim_log_once(SHIM_LOG_WARN,
			      "cuIpcGetMemHandle(%#llx): gpuvm memory cannot be shared: the "
			      "driver does not export it as POSIX file descriptors; run with "
			      "GPUVM_DISABLE=1 to share the driver's own allocations",
			      (unsigned long long)dptr);
	else if (err)
		shim_warn("cuIpcGetMemHandle(%#llx): %s", (unsigned long long)dptr,
			  strerror(-err));
	return err ? ipc_error(err) : CUDA_SUCCESS;
}

static CUresult ipc_open(shim_cuIpcOpenMemHandle_fn *real, CUdeviceptr *dptr,
			 CUipcMemHandle handle, unsigned int flags)
{
	gpuvm_ptr_t ptr;
	int err, dev;

	shim_init();
	if (shim.disabled || !gpuvm_ipc_is_handle(handle.reserved))
		return real(dptr, handle, flags);
	if (!dptr)
		return CUDA_ERROR_INVALID_VALUE;
	dev = shim_current_device();
	if (dev < 0)
		return CUDA_ERROR_INVALID_CONTEXT;	/* as the driver, with no context */
	err = gpuvm_ipc_open_handle(handle.reserved, flags, dev, &ptr);
	if (err) {
		shim_info("cuIpcOpenMemHandle: %s", strerror(-err));
		return ipc_error(err);
	}
	*dptr = (CUdeviceptr)ptr;
	return CUDA_SUCCESS;
}

/** cuIpcOpenMemHandle - the driver's, and gpuvm's for gpuvm handles */
SHIM_EXPORT CUresult cuIpcOpenMemHandle(CUdeviceptr *dptr, CUipcMemHandle handle,
					unsigned int flags)
{
	return ipc_open(shim.real.cuIpcOpenMemHandle, dptr, handle, flags);
}

/** cuIpcOpenMemHandle_v2 - the same (CUDA 11.0+) */
SHIM_EXPORT CUresult cuIpcOpenMemHandle_v2(CUdeviceptr *dptr, CUipcMemHandle handle,
					   unsigned int flags)
{
	return ipc_open(shim.real.cuIpcOpenMemHandle_v2, dptr, handle, flags);
}

/** cuIpcCloseMemHandle - the driver's, and gpuvm's for what it opened */
SHIM_EXPORT CUresult cuIpcCloseMemHandle(CUdeviceptr dptr)
{
	int err;

	shim_init();
	if (shim.disabled)
		return shim.real.cuIpcCloseMemHandle(dptr);
	err = gpuvm_ipc_close_handle(dptr);
	if (err == -ENOENT)
		return shim.real.cuIpcCloseMemHandle(dptr);
	return err ? ipc_error(err) : CUDA_SUCCESS;
}
