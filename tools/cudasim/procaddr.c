// SPDX-License-Identifier: MIT
/*
 * procaddr.c - cuGetProcAddress and the driver symbol table.
 *
 * Callers ask for a name without suffix ("cuMemAlloc") and the API version
 * they were built for (1000 * major + 10 * minor).  The table lists, per
 * name, each ABI version with the first API version that uses it; the
 * newest one not above the caller's version wins.  With
 * CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM the _ptds/_ptsz variant is
 * returned where one exists.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cudasim.h"

/* Entry points without a prototype in cuda.h: only their address is used. */
#define CS_DECLARE(name) extern void name(void)
CS_DECLARE(cuCtxCreate_v3);
CS_DECLARE(cuCtxCreate_v4);
CS_DECLARE(cuMemAllocAsync_ptsz);
CS_DECLARE(cuMemFreeAsync_ptsz);
CS_DECLARE(cuMemAllocFromPoolAsync_ptsz);
CS_DECLARE(cuMemcpy_ptds);
CS_DECLARE(cuMemcpyAsync_ptsz);
CS_DECLARE(cuMemcpyPeer_ptds);
CS_DECLARE(cuMemcpyHtoD_v2_ptds);
CS_DECLARE(cuMemcpyDtoH_v2_ptds);
CS_DECLARE(cuMemcpyDtoD_v2_ptds);
CS_DECLARE(cuMemcpyHtoDAsync_v2_ptsz);
CS_DECLARE(cuMemcpyDtoHAsync_v2_ptsz);
CS_DECLARE(cuMemcpyDtoDAsync_v2_ptsz);
CS_DECLARE(cuMemsetD8_v2_ptds);
CS_DECLARE(cuMemsetD16_v2_ptds);
CS_DECLARE(cuMemsetD32_v2_ptds);
CS_DECLARE(cuMemsetD8Async_ptsz);
CS_DECLARE(cuMemsetD16Async_ptsz);
CS_DECLARE(cuMemsetD32Async_ptsz);
CS_DECLARE(cuStreamQuery_ptsz);
CS_DECLARE(cuStreamSynchronize_ptsz);
CS_DECLARE(cuStreamWaitEvent_ptsz);
CS_DECLARE(cuStreamGetCtx_ptsz);
CS_DECLARE(cuStreamGetFlags_ptsz);
CS_DECLARE(cuStreamBeginCapture_ptsz);
CS_DECLARE(cuStreamBeginCapture_v2_ptsz);
CS_DECLARE(cuStreamEndCapture_ptsz);
CS_DECLARE(cuStreamIsCapturing_ptsz);
CS_DECLARE(cuStreamGetCaptureInfo_ptsz);
CS_DECLARE(cuStreamGetCaptureInfo_v2_ptsz);
CS_DECLARE(cuStreamGetCaptureInfo_v3);
CS_DECLARE(cuStreamGetCaptureInfo_v3_ptsz);
CS_DECLARE(cuEventRecord_ptsz);
CS_DECLARE(cuLaunchKernel_ptsz);
CS_DECLARE(cuModuleLoadDataEx);
CS_DECLARE(cuModuleLoadFatBinary);
CS_DECLARE(cuModuleGetGlobal_v2);
CS_DECLARE(cuModuleGetLoadingMode);
CS_DECLARE(cuLibraryLoadData);
CS_DECLARE(cuLibraryLoadFromFile);
CS_DECLARE(cuLibraryUnload);
CS_DECLARE(cuLibraryGetKernel);
CS_DECLARE(cuLibraryGetModule);
CS_DECLARE(cuKernelGetFunction);
CS_DECLARE(cuLibraryGetGlobal);
CS_DECLARE(cuLibraryGetManaged);
CS_DECLARE(cuLibraryGetUnifiedFunction);
CS_DECLARE(cuKernelGetAttribute);
CS_DECLARE(cuKernelSetAttribute);
CS_DECLARE(cuKernelSetCacheConfig);
CS_DECLARE(cuKernelGetName);
CS_DECLARE(cuFuncGetAttribute);
CS_DECLARE(cuFuncSetAttribute);
CS_DECLARE(cuFuncSetCacheConfig);
CS_DECLARE(cuFuncGetName);
CS_DECLARE(cuCtxGetCacheConfig);
CS_DECLARE(cuCtxGetLimit);
CS_DECLARE(cuCtxGetSharedMemConfig);
CS_DECLARE(cuCtxResetPersistingL2Cache);
CS_DECLARE(cuCtxSetCacheConfig);
CS_DECLARE(cuCtxSetLimit);
CS_DECLARE(cuCtxSetSharedMemConfig);
CS_DECLARE(cuDeviceGetByPCIBusId);
CS_DECLARE(cuDeviceGetP2PAttribute);
CS_DECLARE(cuDevicePrimaryCtxReset);
CS_DECLARE(cuDevicePrimaryCtxSetFlags);
CS_DECLARE(cuDeviceSetMemPool);
CS_DECLARE(cuEventRecordWithFlags);
CS_DECLARE(cuEventRecordWithFlags_ptsz);
CS_DECLARE(cuLaunchHostFunc);
CS_DECLARE(cuLaunchHostFunc_ptsz);
CS_DECLARE(cuMemAllocHost_v2);
CS_DECLARE(cuMemFreeHost);
CS_DECLARE(cuMemGetDefaultMemPool);
CS_DECLARE(cuMemGetMemPool);
CS_DECLARE(cuMemHostAlloc);
CS_DECLARE(cuMemHostGetDevicePointer_v2);
CS_DECLARE(cuMemHostGetFlags);
CS_DECLARE(cuMemHostRegister_v2);
CS_DECLARE(cuMemHostUnregister);
CS_DECLARE(cuMemPoolGetAccess);
CS_DECLARE(cuMemPoolGetAttribute);
CS_DECLARE(cuMemPoolSetAccess);
CS_DECLARE(cuMemPoolSetAttribute);
CS_DECLARE(cuMemcpy2DAsync_v2);
CS_DECLARE(cuMemcpy2DAsync_v2_ptsz);
CS_DECLARE(cuMemcpy2DUnaligned_v2);
CS_DECLARE(cuMemcpy2DUnaligned_v2_ptds);
CS_DECLARE(cuMemcpy2D_v2);
CS_DECLARE(cuMemcpy2D_v2_ptds);
CS_DECLARE(cuMemcpyPeerAsync);
CS_DECLARE(cuMemcpyPeerAsync_ptsz);
CS_DECLARE(cuMemsetD2D16Async);
CS_DECLARE(cuMemsetD2D16Async_ptsz);
CS_DECLARE(cuMemsetD2D16_v2);
CS_DECLARE(cuMemsetD2D16_v2_ptds);
CS_DECLARE(cuMemsetD2D32Async);
CS_DECLARE(cuMemsetD2D32Async_ptsz);
CS_DECLARE(cuMemsetD2D32_v2);
CS_DECLARE(cuMemsetD2D32_v2_ptds);
CS_DECLARE(cuMemsetD2D8Async);
CS_DECLARE(cuMemsetD2D8Async_ptsz);
CS_DECLARE(cuMemsetD2D8_v2);
CS_DECLARE(cuMemsetD2D8_v2_ptds);
CS_DECLARE(cuProfilerInitialize);
CS_DECLARE(cuProfilerStart);
CS_DECLARE(cuProfilerStop);
CS_DECLARE(cuStreamAddCallback);
CS_DECLARE(cuStreamAddCallback_ptsz);
CS_DECLARE(cuStreamGetDevice);
CS_DECLARE(cuStreamGetDevice_ptsz);
CS_DECLARE(cuStreamGetId);
CS_DECLARE(cuStreamGetId_ptsz);
CS_DECLARE(cuStreamGetPriority);
CS_DECLARE(cuStreamGetPriority_ptsz);
CS_DECLARE(cuThreadExchangeStreamCaptureMode);

#define CS_REFUSED(name, version) CS_DECLARE(name);
#include "refused.h"
#undef CS_REFUSED
CS_DECLARE(cuGetExportTable);

struct cs_proc {
	const char *name;
	int version;		/* first API version using this ABI */
	void *fn;
	void *fn_per_thread;	/* _ptds/_ptsz variant, or NULL */
};

#define P(name, version, fn)		{ name, version, (void *)(fn), NULL }
#define PT(name, version, fn, fn_pt)	{ name, version, (void *)(fn), (void *)(fn_pt) }

static const struct cs_proc cs_procs[] = {
	P("cuInit", 2000, cuInit),
	P("cuDriverGetVersion", 2020, cuDriverGetVersion),
	P("cuGetErrorName", 6000, cuGetErrorName),
	P("cuGetErrorString", 6000, cuGetErrorString),
	P("cuGetProcAddress", 11030, cuGetProcAddress),
	P("cuGetProcAddress", 12000, cuGetProcAddress_v2),

	P("cuDeviceGet", 2000, cuDeviceGet),
	P("cuDeviceGetCount", 2000, cuDeviceGetCount),
	P("cuDeviceGetName", 2000, cuDeviceGetName),
	P("cuDeviceGetUuid", 9020, cuDeviceGetUuid),
	P("cuDeviceGetUuid", 11040, cuDeviceGetUuid_v2),
	P("cuDeviceTotalMem", 2000, cuDeviceTotalMem),
	P("cuDeviceTotalMem", 3020, cuDeviceTotalMem_v2),
	P("cuDeviceGetAttribute", 2000, cuDeviceGetAttribute),
	P("cuDeviceGetPCIBusId", 4010, cuDeviceGetPCIBusId),
	P("cuDeviceComputeCapability", 2000, cuDeviceComputeCapability),
	P("cuDeviceCanAccessPeer", 4000, cuDeviceCanAccessPeer),
	P("cuDeviceGetDefaultMemPool", 11020, cuDeviceGetDefaultMemPool),
	P("cuDeviceGetMemPool", 11020, cuDeviceGetMemPool),

	P("cuDevicePrimaryCtxRetain", 7000, cuDevicePrimaryCtxRetain),
	P("cuDevicePrimaryCtxRelease", 7000, cuDevicePrimaryCtxRelease),
	P("cuDevicePrimaryCtxRelease", 11000, cuDevicePrimaryCtxRelease_v2),
	P("cuDevicePrimaryCtxGetState", 7000, cuDevicePrimaryCtxGetState),
	P("cuDevicePrimaryCtxSetFlags", 11000, cuDevicePrimaryCtxSetFlags_v2),
	P("cuDevicePrimaryCtxReset", 11000, cuDevicePrimaryCtxReset_v2),
	P("cuCtxCreate", 2000, cuCtxCreate),
	P("cuCtxCreate", 3020, cuCtxCreate_v2),
	P("cuCtxCreate", 11040, cuCtxCreate_v3),
	P("cuCtxCreate", 12050, cuCtxCreate_v4),
	P("cuCtxDestroy", 2000, cuCtxDestroy),
	P("cuCtxDestroy", 4000, cuCtxDestroy_v2),
	P("cuCtxPushCurrent", 2000, cuCtxPushCurrent),
	P("cuCtxPushCurrent", 4000, cuCtxPushCurrent_v2),
	P("cuCtxPopCurrent", 2000, cuCtxPopCurrent),
	P("cuCtxPopCurrent", 4000, cuCtxPopCurrent_v2),
	P("cuCtxSetCurrent", 4000, cuCtxSetCurrent),
	P("cuCtxGetCurrent", 4000, cuCtxGetCurrent),
	P("cuCtxGetDevice", 2000, cuCtxGetDevice),
	P("cuCtxGetFlags", 7000, cuCtxGetFlags),
	P("cuCtxGetApiVersion", 3020, cuCtxGetApiVersion),
	P("cuCtxSynchronize", 2000, cuCtxSynchronize),
	P("cuCtxEnablePeerAccess", 4000, cuCtxEnablePeerAccess),
	P("cuCtxDisablePeerAccess", 4000, cuCtxDisablePeerAccess),
	P("cuCtxGetStreamPriorityRange", 5050, cuCtxGetStreamPriorityRange),

	P("cuMemGetInfo", 2000, cuMemGetInfo),
	P("cuMemGetInfo", 3020, cuMemGetInfo_v2),
	P("cuMemAlloc", 2000, cuMemAlloc),
	P("cuMemAlloc", 3020, cuMemAlloc_v2),
	P("cuMemAllocPitch", 2000, cuMemAllocPitch),
	P("cuMemAllocPitch", 3020, cuMemAllocPitch_v2),
	P("cuMemFree", 2000, cuMemFree),
	P("cuMemFree", 3020, cuMemFree_v2),
	P("cuMemGetAddressRange", 2000, cuMemGetAddressRange),
	P("cuMemGetAddressRange", 3020, cuMemGetAddressRange_v2),
	PT("cuMemAllocAsync", 11020, cuMemAllocAsync, cuMemAllocAsync_ptsz),
	PT("cuMemFreeAsync", 11020, cuMemFreeAsync, cuMemFreeAsync_ptsz),
	PT("cuMemAllocFromPoolAsync", 11020, cuMemAllocFromPoolAsync,
	   cuMemAllocFromPoolAsync_ptsz),
	P("cuMemPoolTrimTo", 11020, cuMemPoolTrimTo),
	P("cuPointerGetAttribute", 4000, cuPointerGetAttribute),
	P("cuPointerGetAttributes", 7000, cuPointerGetAttributes),
	P("cuIpcGetMemHandle", 4010, cuIpcGetMemHandle),

	PT("cuMemcpy", 4000, cuMemcpy, cuMemcpy_ptds),
	PT("cuMemcpyAsync", 4000, cuMemcpyAsync, cuMemcpyAsync_ptsz),
	PT("cuMemcpyPeer", 4000, cuMemcpyPeer, cuMemcpyPeer_ptds),
	P("cuMemcpyHtoD", 2000, cuMemcpyHtoD),
	PT("cuMemcpyHtoD", 3020, cuMemcpyHtoD_v2, cuMemcpyHtoD_v2_ptds),
	P("cuMemcpyDtoH", 2000, cuMemcpyDtoH),
	PT("cuMemcpyDtoH", 3020, cuMemcpyDtoH_v2, cuMemcpyDtoH_v2_ptds),
	P("cuMemcpyDtoD", 2000, cuMemcpyDtoD),
	PT("cuMemcpyDtoD", 3020, cuMemcpyDtoD_v2, cuMemcpyDtoD_v2_ptds),
	P("cuMemcpyHtoDAsync", 2000, cuMemcpyHtoDAsync),
	PT("cuMemcpyHtoDAsync", 3020, cuMemcpyHtoDAsync_v2, cuMemcpyHtoDAsync_v2_ptsz),
	P("cuMemcpyDtoHAsync", 2000, cuMemcpyDtoHAsync),
	PT("cuMemcpyDtoHAsync", 3020, cuMemcpyDtoHAsync_v2, cuMemcpyDtoHAsync_v2_ptsz),
	P("cuMemcpyDtoDAsync", 3000, cuMemcpyDtoDAsync),
	PT("cuMemcpyDtoDAsync", 3020, cuMemcpyDtoDAsync_v2, cuMemcpyDtoDAsync_v2_ptsz),
	P("cuMemsetD8", 2000, cuMemsetD8),
	PT("cuMemsetD8", 3020, cuMemsetD8_v2, cuMemsetD8_v2_ptds),
	P("cuMemsetD16", 2000, cuMemsetD16),
	PT("cuMemsetD16", 3020, cuMemsetD16_v2, cuMemsetD16_v2_ptds),
	P("cuMemsetD32", 2000, cuMemsetD32),
	PT("cuMemsetD32", 3020, cuMemsetD32_v2, cuMemsetD32_v2_ptds),
	PT("cuMemsetD8Async", 3020, cuMemsetD8Async, cuMemsetD8Async_ptsz),
	PT("cuMemsetD16Async", 3020, cuMemsetD16Async, cuMemsetD16Async_ptsz),
	PT("cuMemsetD32Async", 3020, cuMemsetD32Async, cuMemsetD32Async_ptsz),

	P("cuMemGetAllocationGranularity", 10020, cuMemGetAllocationGranularity),
	P("cuMemAddressReserve", 10020, cuMemAddressReserve),
	P("cuMemAddressFree", 10020, cuMemAddressFree),
	P("cuMemCreate", 10020, cuMemCreate),
	P("cuMemRelease", 10020, cuMemRelease),
	P("cuMemMap", 10020, cuMemMap),
	P("cuMemUnmap", 10020, cuMemUnmap),
	P("cuMemSetAccess", 10020, cuMemSetAccess),
	P("cuMemGetAccess", 10020, cuMemGetAccess),
	P("cuMemRetainAllocationHandle", 11000, cuMemRetainAllocationHandle),
	P("cuMemGetAllocationPropertiesFromHandle", 10020,
	  cuMemGetAllocationPropertiesFromHandle),
	P("cuMemExportToShareableHandle", 10020, cuMemExportToShareableHandle),
	P("cuMemImportFromShareableHandle", 10020, cuMemImportFromShareableHandle),

	P("cuStreamCreate", 2000, cuStreamCreate),
	P("cuStreamCreateWithPriority", 5050, cuStreamCreateWithPriority),
	P("cuStreamDestroy", 2000, cuStreamDestroy),
	P("cuStreamDestroy", 4000, cuStreamDestroy_v2),
	PT("cuStreamQuery", 2000, cuStreamQuery, cuStreamQuery_ptsz),
	PT("cuStreamSynchronize", 2000, cuStreamSynchronize, cuStreamSynchronize_ptsz),
	PT("cuStreamWaitEvent", 3020, cuStreamWaitEvent, cuStreamWaitEvent_ptsz),
	PT("cuStreamGetCtx", 9020, cuStreamGetCtx, cuStreamGetCtx_ptsz),
	PT("cuStreamGetFlags", 5050, cuStreamGetFlags, cuStreamGetFlags_ptsz),
	PT("cuStreamBeginCapture", 10000, cuStreamBeginCapture, cuStreamBeginCapture_ptsz),
	PT("cuStreamBeginCapture", 10010, cuStreamBeginCapture_v2, cuStreamBeginCapture_v2_ptsz),
	PT("cuStreamEndCapture", 10000, cuStreamEndCapture, cuStreamEndCapture_ptsz),
	PT("cuStreamIsCapturing", 10000, cuStreamIsCapturing, cuStreamIsCapturing_ptsz),
	PT("cuStreamGetCaptureInfo", 10010, cuStreamGetCaptureInfo, cuStreamGetCaptureInfo_ptsz),
	PT("cuStreamGetCaptureInfo", 11030, cuStreamGetCaptureInfo_v2,
	   cuStreamGetCaptureInfo_v2_ptsz),
	PT("cuStreamGetCaptureInfo", 12030, cuStreamGetCaptureInfo_v3,
	   cuStreamGetCaptureInfo_v3_ptsz),
	P("cuEventCreate", 2000, cuEventCreate),
	P("cuEventDestroy", 2000, cuEventDestroy),
	P("cuEventDestroy", 4000, cuEventDestroy_v2),
	PT("cuEventRecord", 2000, cuEventRecord, cuEventRecord_ptsz),
	P("cuEventQuery", 2000, cuEventQuery),
	P("cuEventSynchronize", 2000, cuEventSynchronize),
	P("cuEventElapsedTime", 2000, cuEventElapsedTime),
	P("cuEventElapsedTime", 12080, cuEventElapsedTime_v2),

	P("cuModuleLoad", 2000, cuModuleLoad),
	P("cuModuleLoadData", 2000, cuModuleLoadData),
	P("cuModuleLoadDataEx", 2010, cuModuleLoadDataEx),
	P("cuModuleLoadFatBinary", 2000, cuModuleLoadFatBinary),
	P("cuModuleUnload", 2000, cuModuleUnload),
	P("cuModuleGetFunction", 2000, cuModuleGetFunction),
	PT("cuLaunchKernel", 4000, cuLaunchKernel, cuLaunchKernel_ptsz),
	P("cuModuleGetGlobal", 3020, cuModuleGetGlobal_v2),
	P("cuModuleGetLoadingMode", 11070, cuModuleGetLoadingMode),
	P("cuLibraryLoadData", 12000, cuLibraryLoadData),
	P("cuLibraryLoadFromFile", 12000, cuLibraryLoadFromFile),
	P("cuLibraryUnload", 12000, cuLibraryUnload),
	P("cuLibraryGetKernel", 12000, cuLibraryGetKernel),
	P("cuLibraryGetModule", 12000, cuLibraryGetModule),
	P("cuKernelGetFunction", 12000, cuKernelGetFunction),
	P("cuLibraryGetGlobal", 12000, cuLibraryGetGlobal),
	P("cuLibraryGetManaged", 12000, cuLibraryGetManaged),
	P("cuLibraryGetUnifiedFunction", 12000, cuLibraryGetUnifiedFunction),
	P("cuKernelGetAttribute", 12000, cuKernelGetAttribute),
	P("cuKernelSetAttribute", 12000, cuKernelSetAttribute),
	P("cuKernelSetCacheConfig", 12000, cuKernelSetCacheConfig),
	P("cuKernelGetName", 12030, cuKernelGetName),
	P("cuFuncGetAttribute", 2020, cuFuncGetAttribute),
	P("cuFuncSetAttribute", 9000, cuFuncSetAttribute),
	P("cuFuncSetCacheConfig", 3000, cuFuncSetCacheConfig),
	P("cuFuncGetName", 12030, cuFuncGetName),
	P("cuGetExportTable", 3000, cuGetExportTable),

	P("cuDevicePrimaryCtxSetFlags", 7000, cuDevicePrimaryCtxSetFlags),
	P("cuDevicePrimaryCtxReset", 7000, cuDevicePrimaryCtxReset),
	P("cuDeviceGetP2PAttribute", 8000, cuDeviceGetP2PAttribute),
	P("cuDeviceGetByPCIBusId", 4010, cuDeviceGetByPCIBusId),
	P("cuDeviceSetMemPool", 11020, cuDeviceSetMemPool),
	P("cuCtxGetLimit", 3010, cuCtxGetLimit),
	P("cuCtxSetLimit", 3010, cuCtxSetLimit),
	P("cuCtxGetCacheConfig", 3020, cuCtxGetCacheConfig),
	P("cuCtxSetCacheConfig", 3020, cuCtxSetCacheConfig),
	P("cuCtxGetSharedMemConfig", 4020, cuCtxGetSharedMemConfig),
	P("cuCtxSetSharedMemConfig", 4020, cuCtxSetSharedMemConfig),
	P("cuCtxResetPersistingL2Cache", 11000, cuCtxResetPersistingL2Cache),
	P("cuProfilerInitialize", 4000, cuProfilerInitialize),
	P("cuProfilerStart", 4000, cuProfilerStart),
	P("cuProfilerStop", 4000, cuProfilerStop),

	P("cuMemAllocHost", 3020, cuMemAllocHost_v2),
	P("cuMemFreeHost", 2000, cuMemFreeHost),
	P("cuMemHostAlloc", 2020, cuMemHostAlloc),
	P("cuMemHostGetDevicePointer", 3020, cuMemHostGetDevicePointer_v2),
	P("cuMemHostGetFlags", 2030, cuMemHostGetFlags),
	P("cuMemHostRegister", 6050, cuMemHostRegister_v2),
	P("cuMemHostUnregister", 4000, cuMemHostUnregister),
	P("cuMemPoolGetAttribute", 11020, cuMemPoolGetAttribute),
	P("cuMemPoolSetAttribute", 11020, cuMemPoolSetAttribute),
	P("cuMemPoolGetAccess", 11020, cuMemPoolGetAccess),
	P("cuMemPoolSetAccess", 11020, cuMemPoolSetAccess),
	P("cuMemGetDefaultMemPool", 13000, cuMemGetDefaultMemPool),
	P("cuMemGetMemPool", 13000, cuMemGetMemPool),

	PT("cuMemcpyPeerAsync", 4000, cuMemcpyPeerAsync, cuMemcpyPeerAsync_ptsz),
	PT("cuMemcpy2D", 3020, cuMemcpy2D_v2, cuMemcpy2D_v2_ptds),
	PT("cuMemcpy2DUnaligned", 3020, cuMemcpy2DUnaligned_v2, cuMemcpy2DUnaligned_v2_ptds),
	PT("cuMemcpy2DAsync", 3020, cuMemcpy2DAsync_v2, cuMemcpy2DAsync_v2_ptsz),
	PT("cuMemsetD2D8", 3020, cuMemsetD2D8_v2, cuMemsetD2D8_v2_ptds),
	PT("cuMemsetD2D16", 3020, cuMemsetD2D16_v2, cuMemsetD2D16_v2_ptds),
	PT("cuMemsetD2D32", 3020, cuMemsetD2D32_v2, cuMemsetD2D32_v2_ptds),
	PT("cuMemsetD2D8Async", 3020, cuMemsetD2D8Async, cuMemsetD2D8Async_ptsz),
	PT("cuMemsetD2D16Async", 3020, cuMemsetD2D16Async, cuMemsetD2D16Async_ptsz),
	PT("cuMemsetD2D32Async", 3020, cuMemsetD2D32Async, cuMemsetD2D32Async_ptsz),

	PT("cuStreamGetPriority", 5050, cuStreamGetPriority, cuStreamGetPriority_ptsz),
	PT("cuStreamGetDevice", 12080, cuStreamGetDevice, cuStreamGetDevice_ptsz),
	PT("cuStreamGetId", 12000, cuStreamGetId, cuStreamGetId_ptsz),
	PT("cuStreamAddCallback", 5000, cuStreamAddCallback, cuStreamAddCallback_ptsz),
	PT("cuLaunchHostFunc", 10000, cuLaunchHostFunc, cuLaunchHostFunc_ptsz),
	PT("cuEventRecordWithFlags", 11010, cuEventRecordWithFlags, cuEventRecordWithFlags_ptsz),
	P("cuThreadExchangeStreamCaptureMode", 10010, cuThreadExchangeStreamCaptureMode),

#define CS_REFUSED(name, version) P(#name, version, name),
#include "refused.h"
#undef CS_REFUSED
};

static CUresult get_proc_address(const char *symbol, void **pfn, int cudaVersion,
				 cuuint64_t flags, CUdriverProcAddressQueryResult *status)
{
	const struct cs_proc *best = NULL;
	bool found = false;
	size_t i;

	if (!symbol || !pfn)
		return CUDA_ERROR_INVALID_VALUE;
	if (flags & ~(cuuint64_t)(CU_GET_PROC_ADDRESS_LEGACY_STREAM |
				  CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM))
		return CUDA_ERROR_INVALID_VALUE;
	*pfn = NULL;
	for (i = 0; i < sizeof(cs_procs) / sizeof(cs_procs[0]); i++) {
		const struct cs_proc *p = &cs_procs[i];

		if (strcmp(p->name, symbol))
			continue;
		found = true;
		if (p->version <= cudaVersion && (!best || p->version > best->version))
			best = p;
	}
	if (!best) {
		/* With a status to say why, the driver returns success
		 * (measured); the 4-argument form has only the error. */
		if (!status)
			return CUDA_ERROR_NOT_FOUND;
		*status = found ? CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT
				: CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
		return CUDA_SUCCESS;
	}
	if ((flags & CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM) && best->fn_per_thread)
		*pfn = best->fn_per_thread;
	else
		*pfn = best->fn;
	if (status)
		*status = CU_GET_PROC_ADDRESS_SUCCESS;
	return CUDA_SUCCESS;
}

static bool cs_trace_procaddr;

static void cs_trace_procaddr_read(void)
{
	const char *s = getenv("CUDASIM_TRACE_PROCADDR");

	cs_trace_procaddr = s && !strcmp(s, "1");
}

/*
 * With CUDASIM_TRACE_PROCADDR=1 every request is logged on stderr, one
 * line each: how to learn which entry points a library asks for.
 */
static CUresult get_proc_address_traced(const char *symbol, void **pfn, int cudaVersion,
					cuuint64_t flags,
					CUdriverProcAddressQueryResult *status)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	CUdriverProcAddressQueryResult st = CU_GET_PROC_ADDRESS_SUCCESS;
	CUresult res;

	pthread_once(&once, cs_trace_procaddr_read);
	if (!cs_trace_procaddr)
		return get_proc_address(symbol, pfn, cudaVersion, flags, status);
	res = get_proc_address(symbol, pfn, cudaVersion, flags, &st);
	fprintf(stderr, "cudasim: procaddr %s %d %#llx -> %s\n", symbol ? symbol : "(null)",
		cudaVersion, (unsigned long long)flags,
		res != CUDA_SUCCESS ? "error" :
		st == CU_GET_PROC_ADDRESS_SUCCESS ? "found" :
		st == CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT ? "version-not-sufficient" :
		"not-found");
	if (res == CUDA_SUCCESS && st != CU_GET_PROC_ADDRESS_SUCCESS && !status)
		return CUDA_ERROR_NOT_FOUND;
	if (res == CUDA_SUCCESS && status)
		*status = st;
	return res;
}

/* Both forms work before cuInit: the runtime resolves everything first. */
CS_API CUresult cuGetProcAddress_v2(const char *symbol, void **pfn, int cudaVersion,
				    cuuint64_t flags, CUdriverProcAddressQueryResult *symbolStatus)
{
	CS_ENTER("cuGetProcAddress");
	return get_proc_address_traced(symbol, pfn, cudaVersion, flags, symbolStatus);
}

CS_API CUresult cuGetProcAddress(const char *symbol, void **pfn, int cudaVersion,
				 cuuint64_t flags)
{
	CS_ENTER("cuGetProcAddress");
	return get_proc_address_traced(symbol, pfn, cudaVersion, flags, NULL);
}
