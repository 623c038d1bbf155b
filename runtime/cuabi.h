/* SPDX-License-Identifier: MIT */
/*
 * cuabi.h - the slice of the CUDA driver ABI the shim speaks.
 *
 * The shim defines functions under the driver's own names, in every version
 * the driver exports (cuMemAlloc is the 32-bit one of CUDA 3.0, cuMemAlloc_v2
 * the one cuda.h maps cuMemAlloc to).  Including cuda.h would rename half of
 * them through its macros, and which cuda.h we get (the toolkit's or
 * include/compat) depends on the machine, so the shim declares what it uses
 * here.  Every value below is part of the driver's stable ABI.
 */
#ifndef GPUVM_RUNTIME_CUABI_H
#define GPUVM_RUNTIME_CUABI_H

#include <stddef.h>
#include <stdint.h>

typedef int CUresult;
typedef int CUdevice;
typedef uint64_t CUdeviceptr;		/* CUdeviceptr_v2 */
typedef unsigned int CUdeviceptr_v1;	/* 32-bit, CUDA < 3.2 entry points */
typedef uint64_t cuuint64_t;
typedef struct CUctx_st *CUcontext;
typedef struct CUstream_st *CUstream;
typedef struct CUmemPoolHandle_st *CUmemoryPool;
typedef struct CUgraph_st *CUgraph;
typedef struct CUgraphNode_st *CUgraphNode;
typedef struct CUgraphEdgeData_st CUgraphEdgeData;
typedef int CUpointer_attribute;
typedef int CUstreamCaptureMode;
typedef int CUstreamCaptureStatus;
typedef int CUdriverProcAddressQueryResult;

typedef struct CUipcMemHandle_st {
	char reserved[64];
} CUipcMemHandle;

enum {
	CUDA_SUCCESS				= 0,
	CUDA_ERROR_INVALID_VALUE		= 1,
	CUDA_ERROR_OUT_OF_MEMORY		= 2,
	CUDA_ERROR_NOT_INITIALIZED		= 3,
	CUDA_ERROR_DEINITIALIZED		= 4,
	CUDA_ERROR_INVALID_CONTEXT		= 201,
	CUDA_ERROR_NOT_FOUND			= 500,
	CUDA_ERROR_NOT_PERMITTED		= 800,
	CUDA_ERROR_NOT_SUPPORTED		= 801,
	CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED	= 900,
	CUDA_ERROR_UNKNOWN			= 999,
};

#define CU_STREAM_LEGACY		((CUstream)0x1)
#define CU_STREAM_PER_THREAD		((CUstream)0x2)

/* cuGetProcAddress flags and symbol status */
#define CU_GET_PROC_ADDRESS_LEGACY_STREAM		(1ull << 0)
#define CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM	(1ull << 1)
enum {
	CU_GET_PROC_ADDRESS_SUCCESS			= 0,
	CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND		= 1,
	CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT	= 2,
};

enum {
	CU_STREAM_CAPTURE_STATUS_NONE		= 0,
	CU_STREAM_CAPTURE_STATUS_ACTIVE		= 1,
	CU_STREAM_CAPTURE_STATUS_INVALIDATED	= 2,
};

/* The pointer attributes gpuvm answers itself (data types in comments). */
enum {
	CU_POINTER_ATTRIBUTE_RANGE_START_ADDR	= 11,	/* CUdeviceptr */
	CU_POINTER_ATTRIBUTE_RANGE_SIZE		= 12,	/* size_t */
	CU_POINTER_ATTRIBUTE_MAPPING_SIZE	= 18,	/* size_t */
	CU_POINTER_ATTRIBUTE_MAPPING_BASE_ADDR	= 19,	/* void * */
};

#endif /* GPUVM_RUNTIME_CUABI_H */
