/* SPDX-License-Identifier: MIT */
/*
 * cuda.h - gpuvm's own declarations of the CUDA driver API subset it uses.
 *
 * Written from the documented driver ABI: numeric values, struct layouts and
 * calling conventions match the real driver so that a program compiled
 * against the toolkit's header runs on tools/cudasim and one compiled against
 * this header runs on the real libcuda.so.1.  It is deliberately small.
 *
 * As in the toolkit header, the unsuffixed names of functions whose ABI
 * changed are macros for their current versions (cuMemAlloc -> cuMemAlloc_v2)
 * unless __CUDA_API_VERSION_INTERNAL is defined; an implementation (cudasim)
 * defines it and then sees the legacy prototypes under their own names.
 */
#ifndef GPUVM_COMPAT_CUDA_H
#define GPUVM_COMPAT_CUDA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The API version this header describes (1000 * major + 10 * minor). */
#define CUDA_VERSION 12080

#define CUDAAPI

typedef uint32_t cuuint32_t;
typedef uint64_t cuuint64_t;

#ifndef __CUDA_API_VERSION_INTERNAL
#define cuDeviceTotalMem		cuDeviceTotalMem_v2
#define cuCtxCreate			cuCtxCreate_v2
#define cuCtxDestroy			cuCtxDestroy_v2
#define cuCtxPopCurrent			cuCtxPopCurrent_v2
#define cuCtxPushCurrent		cuCtxPushCurrent_v2
#define cuDevicePrimaryCtxRelease	cuDevicePrimaryCtxRelease_v2
#define cuMemGetInfo			cuMemGetInfo_v2
#define cuMemAlloc			cuMemAlloc_v2
#define cuMemAllocPitch			cuMemAllocPitch_v2
#define cuMemFree			cuMemFree_v2
#define cuMemGetAddressRange		cuMemGetAddressRange_v2
#define cuMemcpyHtoD			cuMemcpyHtoD_v2
#define cuMemcpyDtoH			cuMemcpyDtoH_v2
#define cuMemcpyDtoD			cuMemcpyDtoD_v2
#define cuMemcpyHtoDAsync		cuMemcpyHtoDAsync_v2
#define cuMemcpyDtoHAsync		cuMemcpyDtoHAsync_v2
#define cuMemcpyDtoDAsync		cuMemcpyDtoDAsync_v2
#define cuMemsetD8			cuMemsetD8_v2
#define cuMemsetD16			cuMemsetD16_v2
#define cuMemsetD32			cuMemsetD32_v2
#define cuStreamDestroy			cuStreamDestroy_v2
#define cuStreamBeginCapture		cuStreamBeginCapture_v2
#define cuStreamGetCaptureInfo		cuStreamGetCaptureInfo_v2
#define cuEventDestroy			cuEventDestroy_v2
#define cuEventElapsedTime		cuEventElapsedTime_v2
#define cuGetProcAddress		cuGetProcAddress_v2
#endif

/* ---- basic handle types ---- */

typedef unsigned long long CUdeviceptr_v2;
typedef CUdeviceptr_v2 CUdeviceptr;
typedef unsigned int CUdeviceptr_v1;	/* pre-3.2 32-bit device pointers */
typedef int CUdevice_v1;
typedef CUdevice_v1 CUdevice;

typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUevent_st *CUevent;
typedef struct CUstream_st *CUstream;
typedef struct CUgraph_st *CUgraph;
typedef struct CUgraphNode_st *CUgraphNode;
typedef struct CUmemPoolHandle_st *CUmemoryPool;

typedef unsigned long long CUmemGenericAllocationHandle_v1;
typedef CUmemGenericAllocationHandle_v1 CUmemGenericAllocationHandle;

#define CU_STREAM_LEGACY	((CUstream)0x1)
#define CU_STREAM_PER_THREAD	((CUstream)0x2)

typedef struct CUuuid_st {
	char bytes[16];
} CUuuid;

#define CU_IPC_HANDLE_SIZE 64

typedef struct CUipcMemHandle_st {
	char reserved[CU_IPC_HANDLE_SIZE];
} CUipcMemHandle_v1;
typedef CUipcMemHandle_v1 CUipcMemHandle;

typedef struct CUipcEventHandle_st {
	char reserved[CU_IPC_HANDLE_SIZE];
} CUipcEventHandle_v1;
typedef CUipcEventHandle_v1 CUipcEventHandle;

/* ---- result codes ---- */

typedef enum cudaError_enum {
	CUDA_SUCCESS				= 0,
	CUDA_ERROR_INVALID_VALUE		= 1,
	CUDA_ERROR_OUT_OF_MEMORY		= 2,
	CUDA_ERROR_NOT_INITIALIZED		= 3,
	CUDA_ERROR_DEINITIALIZED		= 4,
	CUDA_ERROR_STUB_LIBRARY			= 34,
	CUDA_ERROR_NO_DEVICE			= 100,
	CUDA_ERROR_INVALID_DEVICE		= 101,
	CUDA_ERROR_INVALID_IMAGE		= 200,
	CUDA_ERROR_INVALID_CONTEXT		= 201,
	CUDA_ERROR_CONTEXT_ALREADY_CURRENT	= 202,
	CUDA_ERROR_MAP_FAILED			= 205,
	CUDA_ERROR_UNMAP_FAILED			= 206,
	CUDA_ERROR_ALREADY_MAPPED		= 208,
	CUDA_ERROR_NO_BINARY_FOR_GPU		= 209,
	CUDA_ERROR_UNSUPPORTED_LIMIT		= 215,
	CUDA_ERROR_NOT_MAPPED			= 211,
	CUDA_ERROR_PEER_ACCESS_UNSUPPORTED	= 217,
	CUDA_ERROR_INVALID_SOURCE		= 300,
	CUDA_ERROR_FILE_NOT_FOUND		= 301,
	CUDA_ERROR_OPERATING_SYSTEM		= 304,
	CUDA_ERROR_INVALID_HANDLE		= 400,
	CUDA_ERROR_ILLEGAL_STATE		= 401,
	CUDA_ERROR_NOT_FOUND			= 500,
	CUDA_ERROR_NOT_READY			= 600,
	CUDA_ERROR_ILLEGAL_ADDRESS		= 700,
	CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES	= 701,
	CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED	= 704,
	CUDA_ERROR_PEER_ACCESS_NOT_ENABLED	= 705,
	CUDA_ERROR_PRIMARY_CONTEXT_ACTIVE	= 708,
	CUDA_ERROR_CONTEXT_IS_DESTROYED		= 709,
	CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED = 712,
	CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED	= 713,
	CUDA_ERROR_LAUNCH_FAILED		= 719,
	CUDA_ERROR_NOT_PERMITTED		= 800,
	CUDA_ERROR_NOT_SUPPORTED		= 801,
	CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED	= 900,
	CUDA_ERROR_STREAM_CAPTURE_INVALIDATED	= 901,
	CUDA_ERROR_STREAM_CAPTURE_UNMATCHED	= 903,
	CUDA_ERROR_STREAM_CAPTURE_IMPLICIT	= 906,
	CUDA_ERROR_CAPTURED_EVENT		= 907,
	CUDA_ERROR_STREAM_CAPTURE_WRONG_THREAD	= 908,
	CUDA_ERROR_TIMEOUT			= 909,
	CUDA_ERROR_UNKNOWN			= 999
} CUresult;

/* ---- devices and contexts ---- */

typedef enum CUdevice_attribute_enum {
	CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK			= 1,
	CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X				= 2,
	CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y				= 3,
	CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z				= 4,
	CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X				= 5,
	CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y				= 6,
	CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z				= 7,
	CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK			= 8,
	CU_DEVICE_ATTRIBUTE_TOTAL_CONSTANT_MEMORY			= 9,
	CU_DEVICE_ATTRIBUTE_WARP_SIZE					= 10,
	CU_DEVICE_ATTRIBUTE_MAX_PITCH					= 11,
	CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK			= 12,
	CU_DEVICE_ATTRIBUTE_CLOCK_RATE					= 13,
	CU_DEVICE_ATTRIBUTE_TEXTURE_ALIGNMENT				= 14,
	CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT			= 16,
	CU_DEVICE_ATTRIBUTE_KERNEL_EXEC_TIMEOUT				= 17,
	CU_DEVICE_ATTRIBUTE_INTEGRATED					= 18,
	CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY				= 19,
	CU_DEVICE_ATTRIBUTE_COMPUTE_MODE				= 20,
	CU_DEVICE_ATTRIBUTE_CONCURRENT_KERNELS				= 31,
	CU_DEVICE_ATTRIBUTE_ECC_ENABLED					= 32,
	CU_DEVICE_ATTRIBUTE_PCI_BUS_ID					= 33,
	CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID				= 34,
	CU_DEVICE_ATTRIBUTE_TCC_DRIVER					= 35,
	CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE				= 36,
	CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH			= 37,
	CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE				= 38,
	CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR		= 39,
	CU_DEVICE_ATTRIBUTE_ASYNC_ENGINE_COUNT				= 40,
	CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING				= 41,
	CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID				= 50,
	CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR			= 75,
	CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR			= 76,
	CU_DEVICE_ATTRIBUTE_STREAM_PRIORITIES_SUPPORTED			= 78,
	CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR	= 81,
	CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_MULTIPROCESSOR		= 82,
	CU_DEVICE_ATTRIBUTE_MANAGED_MEMORY				= 83,
	CU_DEVICE_ATTRIBUTE_MULTI_GPU_BOARD				= 84,
	CU_DEVICE_ATTRIBUTE_PAGEABLE_MEMORY_ACCESS			= 88,
	CU_DEVICE_ATTRIBUTE_CONCURRENT_MANAGED_ACCESS			= 89,
	CU_DEVICE_ATTRIBUTE_COOPERATIVE_LAUNCH				= 95,
	CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN		= 97,
	CU_DEVICE_ATTRIBUTE_HOST_REGISTER_SUPPORTED			= 99,
	CU_DEVICE_ATTRIBUTE_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED		= 102,
	CU_DEVICE_ATTRIBUTE_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR_SUPPORTED	= 103,
	CU_DEVICE_ATTRIBUTE_GENERIC_COMPRESSION_SUPPORTED		= 107,
	CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED			= 115,
	CU_DEVICE_ATTRIBUTE_GPU_DIRECT_RDMA_SUPPORTED			= 116,
	CU_DEVICE_ATTRIBUTE_MEMPOOL_SUPPORTED_HANDLE_TYPES		= 119,
	CU_DEVICE_ATTRIBUTE_HANDLE_TYPE_FABRIC_SUPPORTED		= 128
} CUdevice_attribute;

typedef enum CUctx_flags_enum {
	CU_CTX_SCHED_AUTO		= 0x00,
	CU_CTX_SCHED_SPIN		= 0x01,
	CU_CTX_SCHED_YIELD		= 0x02,
	CU_CTX_SCHED_BLOCKING_SYNC	= 0x04,
	CU_CTX_SCHED_MASK		= 0x07,
	CU_CTX_MAP_HOST			= 0x08,
	CU_CTX_LMEM_RESIZE_TO_MAX	= 0x10,
	CU_CTX_FLAGS_MASK		= 0xFF
} CUctx_flags;

/* ---- streams, events, capture ---- */

typedef enum CUstream_flags_enum {
	CU_STREAM_DEFAULT	= 0x0,
	CU_STREAM_NON_BLOCKING	= 0x1
} CUstream_flags;

typedef enum CUevent_flags_enum {
	CU_EVENT_DEFAULT	= 0x0,
	CU_EVENT_BLOCKING_SYNC	= 0x1,
	CU_EVENT_DISABLE_TIMING	= 0x2,
	CU_EVENT_INTERPROCESS	= 0x4
} CUevent_flags;

typedef enum CUstreamCaptureStatus_enum {
	CU_STREAM_CAPTURE_STATUS_NONE		= 0,
	CU_STREAM_CAPTURE_STATUS_ACTIVE		= 1,
	CU_STREAM_CAPTURE_STATUS_INVALIDATED	= 2
} CUstreamCaptureStatus;

typedef enum CUstreamCaptureMode_enum {
	CU_STREAM_CAPTURE_MODE_GLOBAL		= 0,
	CU_STREAM_CAPTURE_MODE_THREAD_LOCAL	= 1,
	CU_STREAM_CAPTURE_MODE_RELAXED		= 2
} CUstreamCaptureMode;

/* ---- pointers ---- */

typedef enum CUmemorytype_enum {
	CU_MEMORYTYPE_HOST	= 0x01,
	CU_MEMORYTYPE_DEVICE	= 0x02,
	CU_MEMORYTYPE_ARRAY	= 0x03,
	CU_MEMORYTYPE_UNIFIED	= 0x04
} CUmemorytype;

typedef enum CUpointer_attribute_enum {
	CU_POINTER_ATTRIBUTE_CONTEXT			= 1,
	CU_POINTER_ATTRIBUTE_MEMORY_TYPE		= 2,
	CU_POINTER_ATTRIBUTE_DEVICE_POINTER		= 3,
	CU_POINTER_ATTRIBUTE_HOST_POINTER		= 4,
	CU_POINTER_ATTRIBUTE_P2P_TOKENS			= 5,
	CU_POINTER_ATTRIBUTE_SYNC_MEMOPS		= 6,
	CU_POINTER_ATTRIBUTE_BUFFER_ID			= 7,
	CU_POINTER_ATTRIBUTE_IS_MANAGED			= 8,
	CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL		= 9,
	CU_POINTER_ATTRIBUTE_IS_LEGACY_CUDA_IPC_CAPABLE	= 10,
	CU_POINTER_ATTRIBUTE_RANGE_START_ADDR		= 11,
	CU_POINTER_ATTRIBUTE_RANGE_SIZE			= 12,
	CU_POINTER_ATTRIBUTE_MAPPED			= 13,
	CU_POINTER_ATTRIBUTE_ALLOWED_HANDLE_TYPES	= 14,
	CU_POINTER_ATTRIBUTE_IS_GPU_DIRECT_RDMA_CAPABLE	= 15,
	CU_POINTER_ATTRIBUTE_ACCESS_FLAGS		= 16,
	CU_POINTER_ATTRIBUTE_MEMPOOL_HANDLE		= 17,
	CU_POINTER_ATTRIBUTE_MAPPING_SIZE		= 18,
	CU_POINTER_ATTRIBUTE_MAPPING_BASE_ADDR		= 19,
	CU_POINTER_ATTRIBUTE_MEMORY_BLOCK_ID		= 20
} CUpointer_attribute;

typedef enum CUpointer_attribute_access_flags_enum {
	CU_POINTER_ATTRIBUTE_ACCESS_FLAG_NONE		= 0x0,
	CU_POINTER_ATTRIBUTE_ACCESS_FLAG_READ		= 0x1,
	CU_POINTER_ATTRIBUTE_ACCESS_FLAG_READWRITE	= 0x3
} CUpointer_attribute_access_flags;

/* ---- virtual memory management ---- */

typedef enum CUmemAllocationHandleType_enum {
	CU_MEM_HANDLE_TYPE_NONE			= 0x0,
	CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR = 0x1,
	CU_MEM_HANDLE_TYPE_WIN32		= 0x2,
	CU_MEM_HANDLE_TYPE_WIN32_KMT		= 0x4,
	CU_MEM_HANDLE_TYPE_FABRIC		= 0x8,
	CU_MEM_HANDLE_TYPE_MAX			= 0x7FFFFFFF
} CUmemAllocationHandleType;

typedef enum CUmemAccess_flags_enum {
	CU_MEM_ACCESS_FLAGS_PROT_NONE		= 0x0,
	CU_MEM_ACCESS_FLAGS_PROT_READ		= 0x1,
	CU_MEM_ACCESS_FLAGS_PROT_READWRITE	= 0x3,
	CU_MEM_ACCESS_FLAGS_PROT_MAX		= 0x7FFFFFFF
} CUmemAccess_flags;

typedef enum CUmemLocationType_enum {
	CU_MEM_LOCATION_TYPE_INVALID	= 0x0,
	CU_MEM_LOCATION_TYPE_DEVICE	= 0x1,
	CU_MEM_LOCATION_TYPE_HOST	= 0x2,
	CU_MEM_LOCATION_TYPE_HOST_NUMA	= 0x3,
	CU_MEM_LOCATION_TYPE_HOST_NUMA_CURRENT = 0x4,
	CU_MEM_LOCATION_TYPE_MAX	= 0x7FFFFFFF
} CUmemLocationType;

typedef enum CUmemAllocationType_enum {
	CU_MEM_ALLOCATION_TYPE_INVALID	= 0x0,
	CU_MEM_ALLOCATION_TYPE_PINNED	= 0x1,
	CU_MEM_ALLOCATION_TYPE_MAX	= 0x7FFFFFFF
} CUmemAllocationType;

typedef enum CUmemAllocationGranularity_flags_enum {
	CU_MEM_ALLOC_GRANULARITY_MINIMUM	= 0x0,
	CU_MEM_ALLOC_GRANULARITY_RECOMMENDED	= 0x1
} CUmemAllocationGranularity_flags;

typedef struct CUmemLocation_st {
	CUmemLocationType type;
	int id;
} CUmemLocation_v1;
typedef CUmemLocation_v1 CUmemLocation;

typedef struct CUmemAllocationProp_st {
	CUmemAllocationType type;
	CUmemAllocationHandleType requestedHandleTypes;
	CUmemLocation location;
	void *win32HandleMetaData;	/* must be NULL outside Windows */
	struct {
		unsigned char compressionType;
		unsigned char gpuDirectRDMACapable;
		unsigned short usage;
		unsigned char reserved[4];
	} allocFlags;
} CUmemAllocationProp_v1;
typedef CUmemAllocationProp_v1 CUmemAllocationProp;

typedef struct CUmemAccessDesc_st {
	CUmemLocation location;
	CUmemAccess_flags flags;
} CUmemAccessDesc_v1;
typedef CUmemAccessDesc_v1 CUmemAccessDesc;

/* ---- cuGetProcAddress ---- */

typedef enum CUdriverProcAddress_flags_enum {
	CU_GET_PROC_ADDRESS_DEFAULT			= 0,
	CU_GET_PROC_ADDRESS_LEGACY_STREAM		= 1 << 0,
	CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM	= 1 << 1
} CUdriverProcAddress_flags;

typedef enum CUdriverProcAddressQueryResult_enum {
	CU_GET_PROC_ADDRESS_SUCCESS			= 0,
	CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND		= 1,
	CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT	= 2
} CUdriverProcAddressQueryResult;

/* ---- prototypes: current ABI ---- */

CUresult cuInit(unsigned int flags);
CUresult cuDriverGetVersion(int *driverVersion);
CUresult cuGetErrorName(CUresult error, const char **pStr);
CUresult cuGetErrorString(CUresult error, const char **pStr);
CUresult cuGetProcAddress_v2(const char *symbol, void **pfn, int cudaVersion,
			     cuuint64_t flags, CUdriverProcAddressQueryResult *symbolStatus);

CUresult cuDeviceGet(CUdevice *device, int ordinal);
CUresult cuDeviceGetCount(int *count);
CUresult cuDeviceGetName(char *name, int len, CUdevice dev);
CUresult cuDeviceGetUuid(CUuuid *uuid, CUdevice dev);
CUresult cuDeviceGetUuid_v2(CUuuid *uuid, CUdevice dev);
CUresult cuDeviceTotalMem_v2(size_t *bytes, CUdevice dev);
CUresult cuDeviceGetAttribute(int *pi, CUdevice_attribute attrib, CUdevice dev);
CUresult cuDeviceGetPCIBusId(char *pciBusId, int len, CUdevice dev);
CUresult cuDeviceComputeCapability(int *major, int *minor, CUdevice dev);
CUresult cuDeviceCanAccessPeer(int *canAccessPeer, CUdevice dev, CUdevice peerDev);
CUresult cuDeviceGetDefaultMemPool(CUmemoryPool *pool_out, CUdevice dev);
CUresult cuDeviceGetMemPool(CUmemoryPool *pool, CUdevice dev);

CUresult cuDevicePrimaryCtxRetain(CUcontext *pctx, CUdevice dev);
CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev);
CUresult cuDevicePrimaryCtxGetState(CUdevice dev, unsigned int *flags, int *active);
CUresult cuDevicePrimaryCtxSetFlags_v2(CUdevice dev, unsigned int flags);
CUresult cuDevicePrimaryCtxReset_v2(CUdevice dev);
CUresult cuCtxCreate_v2(CUcontext *pctx, unsigned int flags, CUdevice dev);
CUresult cuCtxDestroy_v2(CUcontext ctx);
CUresult cuCtxSetCurrent(CUcontext ctx);
CUresult cuCtxGetCurrent(CUcontext *pctx);
CUresult cuCtxPushCurrent_v2(CUcontext ctx);
CUresult cuCtxPopCurrent_v2(CUcontext *pctx);
CUresult cuCtxGetDevice(CUdevice *device);
CUresult cuCtxGetFlags(unsigned int *flags);
CUresult cuCtxGetApiVersion(CUcontext ctx, unsigned int *version);
CUresult cuCtxSynchronize(void);
CUresult cuCtxEnablePeerAccess(CUcontext peerContext, unsigned int Flags);
CUresult cuCtxDisablePeerAccess(CUcontext peerContext);
CUresult cuCtxGetStreamPriorityRange(int *leastPriority, int *greatestPriority);

CUresult cuMemGetInfo_v2(size_t *free, size_t *total);
CUresult cuMemAlloc_v2(CUdeviceptr *dptr, size_t bytesize);
CUresult cuMemAllocPitch_v2(CUdeviceptr *dptr, size_t *pPitch, size_t WidthInBytes,
			    size_t Height, unsigned int ElementSizeBytes);
CUresult cuMemFree_v2(CUdeviceptr dptr);
CUresult cuMemGetAddressRange_v2(CUdeviceptr *pbase, size_t *psize, CUdeviceptr dptr);
CUresult cuMemAllocAsync(CUdeviceptr *dptr, size_t bytesize, CUstream hStream);
CUresult cuMemAllocFromPoolAsync(CUdeviceptr *dptr, size_t bytesize, CUmemoryPool pool,
				 CUstream hStream);
CUresult cuMemFreeAsync(CUdeviceptr dptr, CUstream hStream);
CUresult cuMemPoolTrimTo(CUmemoryPool pool, size_t minBytesToKeep);
CUresult cuPointerGetAttribute(void *data, CUpointer_attribute attribute, CUdeviceptr ptr);
CUresult cuPointerGetAttributes(unsigned int numAttributes, CUpointer_attribute *attributes,
				void **data, CUdeviceptr ptr);
CUresult cuIpcGetMemHandle(CUipcMemHandle *pHandle, CUdeviceptr dptr);

CUresult cuMemcpy(CUdeviceptr dst, CUdeviceptr src, size_t ByteCount);
CUresult cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src, size_t ByteCount, CUstream hStream);
CUresult cuMemcpyHtoD_v2(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount);
CUresult cuMemcpyDtoH_v2(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount);
CUresult cuMemcpyDtoD_v2(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount);
CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount,
			      CUstream hStream);
CUresult cuMemcpyDtoHAsync_v2(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount,
			      CUstream hStream);
CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount,
			      CUstream hStream);
CUresult cuMemcpyPeer(CUdeviceptr dstDevice, CUcontext dstContext, CUdeviceptr srcDevice,
		      CUcontext srcContext, size_t ByteCount);
CUresult cuMemsetD8_v2(CUdeviceptr dstDevice, unsigned char uc, size_t N);
CUresult cuMemsetD16_v2(CUdeviceptr dstDevice, unsigned short us, size_t N);
CUresult cuMemsetD32_v2(CUdeviceptr dstDevice, unsigned int ui, size_t N);
CUresult cuMemsetD8Async(CUdeviceptr dstDevice, unsigned char uc, size_t N, CUstream hStream);
CUresult cuMemsetD16Async(CUdeviceptr dstDevice, unsigned short us, size_t N,
			  CUstream hStream);
CUresult cuMemsetD32Async(CUdeviceptr dstDevice, unsigned int ui, size_t N, CUstream hStream);

CUresult cuMemGetAllocationGranularity(size_t *granularity, const CUmemAllocationProp *prop,
				       CUmemAllocationGranularity_flags option);
CUresult cuMemAddressReserve(CUdeviceptr *ptr, size_t size, size_t alignment, CUdeviceptr addr,
			     unsigned long long flags);
CUresult cuMemAddressFree(CUdeviceptr ptr, size_t size);
CUresult cuMemCreate(CUmemGenericAllocationHandle *handle, size_t size,
		     const CUmemAllocationProp *prop, unsigned long long flags);
CUresult cuMemRelease(CUmemGenericAllocationHandle handle);
CUresult cuMemMap(CUdeviceptr ptr, size_t size, size_t offset,
		  CUmemGenericAllocationHandle handle, unsigned long long flags);
CUresult cuMemUnmap(CUdeviceptr ptr, size_t size);
CUresult cuMemSetAccess(CUdeviceptr ptr, size_t size, const CUmemAccessDesc *desc,
			size_t count);
CUresult cuMemGetAccess(unsigned long long *flags, const CUmemLocation *location,
			CUdeviceptr ptr);
CUresult cuMemRetainAllocationHandle(CUmemGenericAllocationHandle *handle, void *addr);
CUresult cuMemGetAllocationPropertiesFromHandle(CUmemAllocationProp *prop,
						CUmemGenericAllocationHandle handle);
CUresult cuMemExportToShareableHandle(void *shareableHandle,
				      CUmemGenericAllocationHandle handle,
				      CUmemAllocationHandleType handleType,
				      unsigned long long flags);
CUresult cuMemImportFromShareableHandle(CUmemGenericAllocationHandle *handle, void *osHandle,
					CUmemAllocationHandleType shHandleType);

CUresult cuStreamCreate(CUstream *phStream, unsigned int Flags);
CUresult cuStreamCreateWithPriority(CUstream *phStream, unsigned int flags, int priority);
CUresult cuStreamDestroy_v2(CUstream hStream);
CUresult cuStreamQuery(CUstream hStream);
CUresult cuStreamSynchronize(CUstream hStream);
CUresult cuStreamWaitEvent(CUstream hStream, CUevent hEvent, unsigned int Flags);
CUresult cuStreamGetCtx(CUstream hStream, CUcontext *pctx);
CUresult cuStreamGetFlags(CUstream hStream, unsigned int *flags);
CUresult cuStreamBeginCapture_v2(CUstream hStream, CUstreamCaptureMode mode);
CUresult cuStreamEndCapture(CUstream hStream, CUgraph *phGraph);
CUresult cuStreamIsCapturing(CUstream hStream, CUstreamCaptureStatus *captureStatus);
CUresult cuStreamGetCaptureInfo_v2(CUstream hStream, CUstreamCaptureStatus *captureStatus_out,
				   cuuint64_t *id_out, CUgraph *graph_out,
				   const CUgraphNode **dependencies_out,
				   size_t *numDependencies_out);
CUresult cuEventCreate(CUevent *phEvent, unsigned int Flags);
CUresult cuEventDestroy_v2(CUevent hEvent);
CUresult cuEventRecord(CUevent hEvent, CUstream hStream);
CUresult cuEventQuery(CUevent hEvent);
CUresult cuEventSynchronize(CUevent hEvent);
CUresult cuEventElapsedTime_v2(float *pMilliseconds, CUevent hStart, CUevent hEnd);

CUresult cuModuleLoad(CUmodule *module, const char *fname);
CUresult cuModuleLoadData(CUmodule *module, const void *image);
CUresult cuModuleUnload(CUmodule hmod);
CUresult cuModuleGetFunction(CUfunction *hfunc, CUmodule hmod, const char *name);
CUresult cuLaunchKernel(CUfunction f, unsigned int gridDimX, unsigned int gridDimY,
			unsigned int gridDimZ, unsigned int blockDimX, unsigned int blockDimY,
			unsigned int blockDimZ, unsigned int sharedMemBytes, CUstream hStream,
			void **kernelParams, void **extra);

#ifdef __CUDA_API_VERSION_INTERNAL
/* ---- legacy ABI, visible to the implementation only ---- */
CUresult cuGetProcAddress(const char *symbol, void **pfn, int cudaVersion, cuuint64_t flags);
CUresult cuDeviceTotalMem(unsigned int *bytes, CUdevice dev);
CUresult cuDevicePrimaryCtxRelease(CUdevice dev);
CUresult cuCtxCreate(CUcontext *pctx, unsigned int flags, CUdevice dev);
CUresult cuCtxDestroy(CUcontext ctx);
CUresult cuCtxPushCurrent(CUcontext ctx);
CUresult cuCtxPopCurrent(CUcontext *pctx);
CUresult cuMemGetInfo(unsigned int *free, unsigned int *total);
CUresult cuMemAlloc(CUdeviceptr_v1 *dptr, unsigned int bytesize);
CUresult cuMemAllocPitch(CUdeviceptr_v1 *dptr, unsigned int *pPitch, unsigned int WidthInBytes,
			 unsigned int Height, unsigned int ElementSizeBytes);
CUresult cuMemFree(CUdeviceptr_v1 dptr);
CUresult cuMemGetAddressRange(CUdeviceptr_v1 *pbase, unsigned int *psize, CUdeviceptr_v1 dptr);
CUresult cuMemcpyHtoD(CUdeviceptr_v1 dstDevice, const void *srcHost, unsigned int ByteCount);
CUresult cuMemcpyDtoH(void *dstHost, CUdeviceptr_v1 srcDevice, unsigned int ByteCount);
CUresult cuMemcpyDtoD(CUdeviceptr_v1 dstDevice, CUdeviceptr_v1 srcDevice,
		      unsigned int ByteCount);
CUresult cuMemcpyHtoDAsync(CUdeviceptr_v1 dstDevice, const void *srcHost,
			   unsigned int ByteCount, CUstream hStream);
CUresult cuMemcpyDtoHAsync(void *dstHost, CUdeviceptr_v1 srcDevice, unsigned int ByteCount,
			   CUstream hStream);
CUresult cuMemcpyDtoDAsync(CUdeviceptr_v1 dstDevice, CUdeviceptr_v1 srcDevice,
			   unsigned int ByteCount, CUstream hStream);
CUresult cuMemsetD8(CUdeviceptr_v1 dstDevice, unsigned char uc, unsigned int N);
CUresult cuMemsetD16(CUdeviceptr_v1 dstDevice, unsigned short us, unsigned int N);
CUresult cuMemsetD32(CUdeviceptr_v1 dstDevice, unsigned int ui, unsigned int N);
CUresult cuStreamDestroy(CUstream hStream);
CUresult cuStreamBeginCapture(CUstream hStream);
CUresult cuStreamGetCaptureInfo(CUstream hStream, CUstreamCaptureStatus *captureStatus_out,
				cuuint64_t *id_out);
CUresult cuEventDestroy(CUevent hEvent);
CUresult cuEventElapsedTime(float *pMilliseconds, CUevent hStart, CUevent hEnd);
#endif

#ifdef __cplusplus
}
#endif

#endif /* GPUVM_COMPAT_CUDA_H */
