// SPDX-License-Identifier: MIT
/*
 * ctxconfig.c - what a context is configured with and the device queries
 * that go with it: limits, cache and shared-memory preferences, P2P
 * attributes, lookup by PCI bus id, the profiler switches.
 *
 * None of it changes what cudasim does (it runs no device code), so each
 * value is validated as the driver validates it, kept per context and read
 * back.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cudasim.h"
#include "abi.h"

/* The driver's defaults on an Ampere part (CUDA 12/13). */
static const size_t cs_limit_default[CU_LIMIT_MAX] = {
	[CU_LIMIT_STACK_SIZE] = 1024,
	[CU_LIMIT_PRINTF_FIFO_SIZE] = 1 << 20,
	[CU_LIMIT_MALLOC_HEAP_SIZE] = 8 << 20,
	[CU_LIMIT_DEV_RUNTIME_SYNC_DEPTH] = 2,
	[CU_LIMIT_DEV_RUNTIME_PENDING_LAUNCH_COUNT] = 2048,
	[CU_LIMIT_MAX_L2_FETCH_GRANULARITY] = 64,
	[CU_LIMIT_PERSISTING_L2_CACHE_SIZE] = 0,
	[CU_LIMIT_SHMEM_SIZE] = 48 << 10,
	[CU_LIMIT_CIG_ENABLED] = 0,
	[CU_LIMIT_CIG_SHMEM_FALLBACK_ENABLED] = 1,
};

CS_API CUresult cuCtxGetLimit(size_t *pvalue, int limit)
{
	struct cs_ctx *ctx;
	CUresult res;

	CS_ENTER("cuCtxGetLimit");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!pvalue)
		return CUDA_ERROR_INVALID_VALUE;
	if (limit < 0 || limit >= CU_LIMIT_MAX)
		return CUDA_ERROR_UNSUPPORTED_LIMIT;
	cs_lock();
	res = __cs_need_ctx(&ctx);
	if (res == CUDA_SUCCESS)
		*pvalue = ctx->limit_set & (1u << limit) ? ctx->limit[limit]
							 : cs_limit_default[limit];
	cs_unlock();
	return res;
}

CS_API CUresult cuCtxSetLimit(int limit, size_t value)
{
	struct cs_ctx *ctx;
	CUresult res;

	CS_ENTER("cuCtxSetLimit");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (limit < 0 || limit >= CU_LIMIT_MAX)
		return CUDA_ERROR_UNSUPPORTED_LIMIT;
	/* these two can only be queried */
	if (limit == CU_LIMIT_SHMEM_SIZE || limit == CU_LIMIT_CIG_ENABLED)
		return CUDA_ERROR_INVALID_VALUE;
	if (limit == CU_LIMIT_MAX_L2_FETCH_GRANULARITY && value > 128)
		return CUDA_ERROR_INVALID_VALUE;
	cs_lock();
	res = __cs_need_ctx(&ctx);
	if (res == CUDA_SUCCESS) {
		ctx->limit[limit] = value;
		ctx->limit_set |= 1u << limit;
	}
	cs_unlock();
	return res;
}

/* Read an int setting of the current context (the caller passed CS_ENTER). */
static CUresult ctx_setting_get(int *out, size_t field)
{
	struct cs_ctx *ctx;
	CUresult res;

	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!out)
		return CUDA_ERROR_INVALID_VALUE;
	cs_lock();
	res = __cs_need_ctx(&ctx);
	if (res == CUDA_SUCCESS)
		*out = *(int *)((char *)ctx + field);
	cs_unlock();
	return res;
}

/* Set an int setting of the current context to @val, 0 to @max. */
static CUresult ctx_setting_set(int val, int max, size_t field)
{
	struct cs_ctx *ctx;
	CUresult res;

	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (val < 0 || val > max)
		return CUDA_ERROR_INVALID_VALUE;
	cs_lock();
	res = __cs_need_ctx(&ctx);
	if (res == CUDA_SUCCESS)
		*(int *)((char *)ctx + field) = val;
	cs_unlock();
	return res;
}

CS_API CUresult cuCtxGetCacheConfig(int *pconfig)
{
	CS_ENTER("cuCtxGetCacheConfig");
	return ctx_setting_get(pconfig, offsetof(struct cs_ctx, cache_config));
}

CS_API CUresult cuCtxSetCacheConfig(int config)
{
	CS_ENTER("cuCtxSetCacheConfig");
	return ctx_setting_set(config, CU_FUNC_CACHE_PREFER_EQUAL,
			       offsetof(struct cs_ctx, cache_config));
}

/* Bank size is a deprecated setting: the driver keeps it and ignores it. */
CS_API CUresult cuCtxGetSharedMemConfig(int *pConfig)
{
	CS_ENTER("cuCtxGetSharedMemConfig");
	return ctx_setting_get(pConfig, offsetof(struct cs_ctx, shmem_config));
}

CS_API CUresult cuCtxSetSharedMemConfig(int config)
{
	CS_ENTER("cuCtxSetSharedMemConfig");
	return ctx_setting_set(config, CU_SHARED_MEM_CONFIG_EIGHT_BYTE_BANK_SIZE,
			       offsetof(struct cs_ctx, shmem_config));
}

/* There are no persisting L2 lines to reset: the device reports a
 * persisting L2 size of 0. */
CS_API CUresult cuCtxResetPersistingL2Cache(void)
{
	struct cs_ctx *ctx;
	CUresult res;

	CS_ENTER("cuCtxResetPersistingL2Cache");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	cs_lock();
	res = __cs_need_ctx(&ctx);
	cs_unlock();
	return res;
}

/* Every pair of distinct devices is peer capable (cuDeviceCanAccessPeer). */
CS_API CUresult cuDeviceGetP2PAttribute(int *value, int attrib, CUdevice srcDevice,
					CUdevice dstDevice)
{
	CS_ENTER("cuDeviceGetP2PAttribute");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!cs_dev_valid(srcDevice) || !cs_dev_valid(dstDevice))
		return CUDA_ERROR_INVALID_DEVICE;
	if (!value || srcDevice == dstDevice)
		return CUDA_ERROR_INVALID_DEVICE;
	switch (attrib) {
	case CU_DEVICE_P2P_ATTRIBUTE_PERFORMANCE_RANK:
		*value = 0;
		break;
	case CU_DEVICE_P2P_ATTRIBUTE_ACCESS_SUPPORTED:
	case CU_DEVICE_P2P_ATTRIBUTE_NATIVE_ATOMIC_SUPPORTED:
		*value = 1;
		break;
	case CU_DEVICE_P2P_ATTRIBUTE_CUDA_ARRAY_ACCESS_SUPPORTED:
	case CU_DEVICE_P2P_ATTRIBUTE_ONLY_PARTIAL_NATIVE_ATOMIC_SUPPORTED:
		*value = 0;
		break;
	default:
		return CUDA_ERROR_INVALID_VALUE;
	}
	return CUDA_SUCCESS;
}

/* The inverse of cuDeviceGetPCIBusId: domain:bus:device.function, hex. */
CS_API CUresult cuDeviceGetByPCIBusId(CUdevice *dev, const char *pciBusId)
{
	unsigned int domain, bus, device, function;
	char end;
	int i, n;

	CS_ENTER("cuDeviceGetByPCIBusId");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!dev || !pciBusId)
		return CUDA_ERROR_INVALID_VALUE;
	n = sscanf(pciBusId, "%x:%x:%x.%x%c", &domain, &bus, &device, &function, &end);
	if (n != 4) {
		domain = 0;
		function = 0;
		n = sscanf(pciBusId, "%x:%x%c", &bus, &device, &end);
		if (n != 2)
			return CUDA_ERROR_INVALID_VALUE;
	}
	for (i = 0; i < cs.ndev; i++) {
		if (domain == 0 && bus == 0x10u + i && device == 0 && function == 0) {
			*dev = i;
			return CUDA_SUCCESS;
		}
	}
	return CUDA_ERROR_INVALID_DEVICE;
}

/* No profiler is ever attached: starting and stopping it do nothing, as
 * with the driver when none is. */
CS_API CUresult cuProfilerInitialize(const char *configFile, const char *outputFile,
				     int outputMode)
{
	CS_ENTER("cuProfilerInitialize");
	(void)configFile, (void)outputFile, (void)outputMode;
	/* gone from cuda.h since CUDA 12, and there is no profiler to set up */
	return CUDA_ERROR_NOT_SUPPORTED;
}

/* What starting or stopping the profiler needs: a current context. */
static CUresult profiler_toggle(void)
{
	struct cs_ctx *ctx;
	CUresult res;

	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	cs_lock();
	res = __cs_need_ctx(&ctx);
	cs_unlock();
	return res;
}

CS_API CUresult cuProfilerStart(void)
{
	CS_ENTER("cuProfilerStart");
	return profiler_toggle();
}

CS_API CUresult cuProfilerStop(void)
{
	CS_ENTER("cuProfilerStop");
	return profiler_toggle();
}
