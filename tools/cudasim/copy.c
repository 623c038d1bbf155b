// SPDX-License-Identifier: MIT
/*
 * copy.c - cuMemcpy* and cuMemset*.
 *
 * Every device range is checked against the registry before it is touched:
 * it must be cuMemAlloc memory or mapped with access for the current
 * context's device (read access to read, read-write to write).  A bad range
 * yields CUDA_ERROR_INVALID_VALUE, never a fault.  Copies run synchronously
 * with cs.lock held, so no other thread can unmap a range mid-copy.
 * Stream-ordered forms validate the stream and then do the same.
 */
#include <string.h>

#include "cudasim.h"
#include "abi.h"

enum cs_side { CS_HOST, CS_DEVICE, CS_UNIFIED };

/* Is a unified address device memory (or reserved device VA)? */
static bool __cs_is_device_va(uintptr_t addr)
{
	return __cs_region_find(addr) || __cs_resv_find(addr);
}

static CUresult __cs_check_side(uintptr_t p, size_t n, enum cs_side side, int dev, bool write)
{
	if (side == CS_UNIFIED)
		side = __cs_is_device_va(p) ? CS_DEVICE : CS_HOST;
	if (side == CS_HOST)
		return p ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
	return __cs_check_access(p, n, dev, write, true);
}

static CUresult cs_copy(uintptr_t dst, enum cs_side dside, uintptr_t src, enum cs_side sside,
			size_t n, CUstream stream, bool async)
{
	struct cs_ctx *ctx;
	CUresult res;

	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	cs_lock();
	res = __cs_need_ctx(&ctx);
	if (res != CUDA_SUCCESS)
		goto out_unlock;
	if (async) {
		res = __cs_stream_check(stream, ctx);
		if (res != CUDA_SUCCESS)
			goto out_unlock;
	}
	if (!n)
		goto out_unlock;
	res = __cs_check_side(dst, n, dside, ctx->dev, true);
	if (res == CUDA_SUCCESS)
		res = __cs_check_side(src, n, sside, ctx->dev, false);
	if (res == CUDA_SUCCESS)
		memmove((void *)dst, (const void *)src, n);
out_unlock:
	cs_unlock();
	return res;
}

#define CS_COPY_ALIAS(name, target, args) \
	CS_API CUresult name args __attribute__((alias(#target)))

/* ---- synchronous copies ---- */

CS_API CUresult cuMemcpyHtoD_v2(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount)
{
	CS_ENTER("cuMemcpyHtoD");
	return cs_copy(dstDevice, CS_DEVICE, (uintptr_t)srcHost, CS_HOST, ByteCount, NULL, false);
}
CS_COPY_ALIAS(cuMemcpyHtoD_v2_ptds, cuMemcpyHtoD_v2,
	      (CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount));

CS_API CUresult cuMemcpyDtoH_v2(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount)
{
	CS_ENTER("cuMemcpyDtoH");
	return cs_copy((uintptr_t)dstHost, CS_HOST, srcDevice, CS_DEVICE, ByteCount, NULL, false);
}
CS_COPY_ALIAS(cuMemcpyDtoH_v2_ptds, cuMemcpyDtoH_v2,
	      (void *dstHost, CUdeviceptr srcDevice, size_t ByteCount));

CS_API CUresult cuMemcpyDtoD_v2(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount)
{
	CS_ENTER("cuMemcpyDtoD");
	return cs_copy(dstDevice, CS_DEVICE, srcDevice, CS_DEVICE, ByteCount, NULL, false);
}
CS_COPY_ALIAS(cuMemcpyDtoD_v2_ptds, cuMemcpyDtoD_v2,
	      (CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount));

CS_API CUresult cuMemcpy(CUdeviceptr dst, CUdeviceptr src, size_t ByteCount)
{
	CS_ENTER("cuMemcpy");
	return cs_copy(dst, CS_UNIFIED, src, CS_UNIFIED, ByteCount, NULL, false);
}
CS_COPY_ALIAS(cuMemcpy_ptds, cuMemcpy, (CUdeviceptr dst, CUdeviceptr src, size_t ByteCount));

/* Legacy 32-bit entry points. */
CS_API CUresult cuMemcpyHtoD(CUdeviceptr_v1 dstDevice, const void *srcHost,
			     unsigned int ByteCount)
{
	CS_ENTER("cuMemcpyHtoD");
	return cs_copy(dstDevice, CS_DEVICE, (uintptr_t)srcHost, CS_HOST, ByteCount, NULL, false);
}

CS_API CUresult cuMemcpyDtoH(void *dstHost, CUdeviceptr_v1 srcDevice, unsigned int ByteCount)
{
	CS_ENTER("cuMemcpyDtoH");
	return cs_copy((uintptr_t)dstHost, CS_HOST, srcDevice, CS_DEVICE, ByteCount, NULL, false);
}

CS_API CUresult cuMemcpyDtoD(CUdeviceptr_v1 dstDevice, CUdeviceptr_v1 srcDevice,
			     unsigned int ByteCount)
{
	CS_ENTER("cuMemcpyDtoD");
	return cs_copy(dstDevice, CS_DEVICE, srcDevice, CS_DEVICE, ByteCount, NULL, false);
}

/* ---- stream-ordered copies ---- */

CS_API CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dstDevice, const void *srcHost,
				     size_t ByteCount, CUstream hStream)
{
	CS_ENTER("cuMemcpyHtoDAsync");
	return cs_copy(dstDevice, CS_DEVICE, (uintptr_t)srcHost, CS_HOST, ByteCount, hStream,
		       true);
}
CS_COPY_ALIAS(cuMemcpyHtoDAsync_v2_ptsz, cuMemcpyHtoDAsync_v2,
	      (CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount, CUstream hStream));

CS_API CUresult cuMemcpyDtoHAsync_v2(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount,
				     CUstream hStream)
{
	CS_ENTER("cuMemcpyDtoHAsync");
	return cs_copy((uintptr_t)dstHost, CS_HOST, srcDevice, CS_DEVICE, ByteCount, hStream,
		       true);
}
CS_COPY_ALIAS(cuMemcpyDtoHAsync_v2_ptsz, cuMemcpyDtoHAsync_v2,
	      (void *dstHost, CUdeviceptr srcDevice, size_t ByteCount, CUstream hStream));

CS_API CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dstDevice, CUdeviceptr srcDevice,
				     size_t ByteCount, CUstream hStream)
{
	CS_ENTER("cuMemcpyDtoDAsync");
	return cs_copy(dstDevice, CS_DEVICE, srcDevice, CS_DEVICE, ByteCount, hStream, true);
}
CS_COPY_ALIAS(cuMemcpyDtoDAsync_v2_ptsz, cuMemcpyDtoDAsync_v2,
	      (CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount, CUstream hStream));

CS_API CUresult cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src, size_t ByteCount,
			      CUstream hStream)
{
	CS_ENTER("cuMemcpyAsync");
	return cs_copy(dst, CS_UNIFIED, src, CS_UNIFIED, ByteCount, hStream, true);
}
CS_COPY_ALIAS(cuMemcpyAsync_ptsz, cuMemcpyAsync,
	      (CUdeviceptr dst, CUdeviceptr src, size_t ByteCount, CUstream hStream));

CS_API CUresult cuMemcpyHtoDAsync(CUdeviceptr_v1 dstDevice, const void *srcHost,
				  unsigned int ByteCount, CUstream hStream)
{
	CS_ENTER("cuMemcpyHtoDAsync");
	return cs_copy(dstDevice, CS_DEVICE, (uintptr_t)srcHost, CS_HOST, ByteCount, hStream,
		       true);
}

CS_API CUresult cuMemcpyDtoHAsync(void *dstHost, CUdeviceptr_v1 srcDevice,
				  unsigned int ByteCount, CUstream hStream)
{
	CS_ENTER("cuMemcpyDtoHAsync");
	return cs_copy((uintptr_t)dstHost, CS_HOST, srcDevice, CS_DEVICE, ByteCount, hStream,
		       true);
}

CS_API CUresult cuMemcpyDtoDAsync(CUdeviceptr_v1 dstDevice, CUdeviceptr_v1 srcDevice,
				  unsigned int ByteCount, CUstream hStream)
{
	CS_ENTER("cuMemcpyDtoDAsync");
	return cs_copy(dstDevice, CS_DEVICE, srcDevice, CS_DEVICE, ByteCount, hStream, true);
}

/* Copy between contexts: each side is checked against its own device. */
static CUresult copy_peer(CUdeviceptr dstDevice, CUcontext dstContext, CUdeviceptr srcDevice,
			  CUcontext srcContext, size_t ByteCount)
{
	struct cs_ctx *dc = (struct cs_ctx *)dstContext, *sc = (struct cs_ctx *)srcContext;
	CUresult res = CUDA_SUCCESS;

	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	cs_lock();
	if (!__cs_ctx_valid(dc) || !__cs_ctx_valid(sc)) {
		res = CUDA_ERROR_INVALID_CONTEXT;
		goto out_unlock;
	}
	if (!ByteCount)
		goto out_unlock;
	res = __cs_check_access(dstDevice, ByteCount, dc->dev, true, true);
	if (res == CUDA_SUCCESS)
		res = __cs_check_access(srcDevice, ByteCount, sc->dev, false, true);
	if (res == CUDA_SUCCESS)
		memmove((void *)dstDevice, (const void *)srcDevice, ByteCount);
out_unlock:
	cs_unlock();
	return res;
}
CS_API CUresult cuMemcpyPeer(CUdeviceptr dstDevice, CUcontext dstContext, CUdeviceptr srcDevice,
			     CUcontext srcContext, size_t ByteCount)
{
	CS_ENTER("cuMemcpyPeer");
	return copy_peer(dstDevice, dstContext, srcDevice, srcContext, ByteCount);
}
CS_COPY_ALIAS(cuMemcpyPeer_ptds, cuMemcpyPeer,
	      (CUdeviceptr dstDevice, CUcontext dstContext, CUdeviceptr srcDevice,
	       CUcontext srcContext, size_t ByteCount));

/* ---- memset ---- */

/* @height rows of @n elements of @elem bytes, @pitch bytes apart; every
 * row is checked before any is written. */
static CUresult cs_memset_rows(uintptr_t dst, size_t pitch, unsigned int value, size_t elem,
			       size_t n, size_t height, CUstream stream, bool async)
{
	struct cs_ctx *ctx;
	CUresult res;
	size_t i, y;

	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	cs_lock();
	res = __cs_need_ctx(&ctx);
	if (res != CUDA_SUCCESS)
		goto out_unlock;
	if (async) {
		res = __cs_stream_check(stream, ctx);
		if (res != CUDA_SUCCESS)
			goto out_unlock;
	}
	if (!CS_IS_ALIGNED(dst, elem) || n > SIZE_MAX / elem ||
	    (height > 1 && (pitch < n * elem || pitch > SIZE_MAX / height))) {
		res = CUDA_ERROR_INVALID_VALUE;
		goto out_unlock;
	}
	if (!n || !height)
		goto out_unlock;
	for (y = 0; y < height && res == CUDA_SUCCESS; y++)
		res = __cs_check_access(dst + y * pitch, n * elem, ctx->dev, true, true);
	if (res != CUDA_SUCCESS)
		goto out_unlock;
	for (y = 0; y < height; y++) {
		uintptr_t row = dst + y * pitch;

		if (elem == 1) {
			memset((void *)row, (int)value, n);
		} else if (elem == 2) {
			uint16_t *p = (uint16_t *)row;

			for (i = 0; i < n; i++)
				p[i] = (uint16_t)value;
		} else {
			uint32_t *p = (uint32_t *)row;

			for (i = 0; i < n; i++)
				p[i] = value;
		}
	}
out_unlock:
	cs_unlock();
	return res;
}

static CUresult cs_memset(uintptr_t dst, unsigned int value, size_t elem, size_t n,
			  CUstream stream, bool async)
{
	return cs_memset_rows(dst, 0, value, elem, n, 1, stream, async);
}

CS_API CUresult cuMemsetD8_v2(CUdeviceptr dstDevice, unsigned char uc, size_t N)
{
	CS_ENTER("cuMemsetD8");
	return cs_memset(dstDevice, uc, 1, N, NULL, false);
}
CS_COPY_ALIAS(cuMemsetD8_v2_ptds, cuMemsetD8_v2,
	      (CUdeviceptr dstDevice, unsigned char uc, size_t N));

CS_API CUresult cuMemsetD16_v2(CUdeviceptr dstDevice, unsigned short us, size_t N)
{
	CS_ENTER("cuMemsetD16");
	return cs_memset(dstDevice, us, 2, N, NULL, false);
}
CS_COPY_ALIAS(cuMemsetD16_v2_ptds, cuMemsetD16_v2,
	      (CUdeviceptr dstDevice, unsigned short us, size_t N));

CS_API CUresult cuMemsetD32_v2(CUdeviceptr dstDevice, unsigned int ui, size_t N)
{
	CS_ENTER("cuMemsetD32");
	return cs_memset(dstDevice, ui, 4, N, NULL, false);
}
CS_COPY_ALIAS(cuMemsetD32_v2_ptds, cuMemsetD32_v2,
	      (CUdeviceptr dstDevice, unsigned int ui, size_t N));

CS_API CUresult cuMemsetD8(CUdeviceptr_v1 dstDevice, unsigned char uc, unsigned int N)
{
	CS_ENTER("cuMemsetD8");
	return cs_memset(dstDevice, uc, 1, N, NULL, false);
}

CS_API CUresult cuMemsetD16(CUdeviceptr_v1 dstDevice, unsigned short us, unsigned int N)
{
	CS_ENTER("cuMemsetD16");
	return cs_memset(dstDevice, us, 2, N, NULL, false);
}

CS_API CUresult cuMemsetD32(CUdeviceptr_v1 dstDevice, unsigned int ui, unsigned int N)
{
	CS_ENTER("cuMemsetD32");
	return cs_memset(dstDevice, ui, 4, N, NULL, false);
}

CS_API CUresult cuMemsetD8Async(CUdeviceptr dstDevice, unsigned char uc, size_t N,
				CUstream hStream)
{
	CS_ENTER("cuMemsetD8Async");
	return cs_memset(dstDevice, uc, 1, N, hStream, true);
}
CS_COPY_ALIAS(cuMemsetD8Async_ptsz, cuMemsetD8Async,
	      (CUdeviceptr dstDevice, unsigned char uc, size_t N, CUstream hStream));

CS_API CUresult cuMemsetD16Async(CUdeviceptr dstDevice, unsigned short us, size_t N,
				 CUstream hStream)
{
	CS_ENTER("cuMemsetD16Async");
	return cs_memset(dstDevice, us, 2, N, hStream, true);
}
CS_COPY_ALIAS(cuMemsetD16Async_ptsz, cuMemsetD16Async,
	      (CUdeviceptr dstDevice, unsigned short us, size_t N, CUstream hStream));

CS_API CUresult cuMemsetD32Async(CUdeviceptr dstDevice, unsigned int ui, size_t N,
				 CUstream hStream)
{
	CS_ENTER("cuMemsetD32Async");
	return cs_memset(dstDevice, ui, 4, N, hStream, true);
}
CS_COPY_ALIAS(cuMemsetD32Async_ptsz, cuMemsetD32Async,
	      (CUdeviceptr dstDevice, unsigned int ui, size_t N, CUstream hStream));

/* ---- 2D sets ---- */

#define CS_MEMSET2D(name, type, elem)						\
CS_API CUresult name##_v2(CUdeviceptr dstDevice, size_t dstPitch, type v,		\
			  size_t Width, size_t Height)				\
{										\
	CS_ENTER(#name);							\
	return cs_memset_rows(dstDevice, dstPitch, v, elem, Width, Height, NULL, false);\
}										\
CS_COPY_ALIAS(name##_v2_ptds, name##_v2, (CUdeviceptr dstDevice, size_t dstPitch,	\
	      type v, size_t Width, size_t Height));					\
CS_API CUresult name##Async(CUdeviceptr dstDevice, size_t dstPitch, type v,		\
			    size_t Width, size_t Height, CUstream hStream)		\
{										\
	CS_ENTER(#name "Async");						\
	return cs_memset_rows(dstDevice, dstPitch, v, elem, Width, Height, hStream, true);\
}										\
CS_COPY_ALIAS(name##Async_ptsz, name##Async, (CUdeviceptr dstDevice, size_t dstPitch,	\
	      type v, size_t Width, size_t Height, CUstream hStream))

CS_MEMSET2D(cuMemsetD2D8, unsigned char, 1);
CS_MEMSET2D(cuMemsetD2D16, unsigned short, 2);
CS_MEMSET2D(cuMemsetD2D32, unsigned int, 4);

/* ---- 2D copies ---- */

/* One side of a 2D copy: where its first row starts and what it is. */
static CUresult copy2d_side(int type, const void *host, CUdeviceptr dev, CUarray array,
			    size_t x, size_t y, size_t pitch, uintptr_t *base, enum cs_side *side)
{
	switch (type) {
	case CU_MEMORYTYPE_HOST:
		*base = (uintptr_t)host;
		*side = CS_HOST;
		break;
	case CU_MEMORYTYPE_DEVICE:
		*base = dev;
		*side = CS_DEVICE;
		break;
	case CU_MEMORYTYPE_UNIFIED:
		*base = dev;
		*side = CS_UNIFIED;
		break;
	case CU_MEMORYTYPE_ARRAY:
		/* cudasim makes no arrays, so no handle can name one */
		(void)array;
		return CUDA_ERROR_INVALID_VALUE;
	default:
		return CUDA_ERROR_INVALID_VALUE;
	}
	if (!*base || (y && pitch > (UINTPTR_MAX - *base - x) / y))
		return CUDA_ERROR_INVALID_VALUE;
	*base += y * pitch + x;
	return CUDA_SUCCESS;
}

static CUresult cs_copy2d(const CUDA_MEMCPY2D *c, CUstream stream, bool async)
{
	enum cs_side sside, dside;
	uintptr_t src, dst;
	struct cs_ctx *ctx;
	CUresult res;
	size_t y;

	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!c)
		return CUDA_ERROR_INVALID_VALUE;
	cs_lock();
	res = __cs_need_ctx(&ctx);
	if (res == CUDA_SUCCESS && async)
		res = __cs_stream_check(stream, ctx);
	if (res != CUDA_SUCCESS)
		goto out_unlock;
	res = copy2d_side(c->srcMemoryType, c->srcHost, c->srcDevice, c->srcArray,
			  c->srcXInBytes, c->srcY, c->srcPitch, &src, &sside);
	if (res == CUDA_SUCCESS)
		res = copy2d_side(c->dstMemoryType, c->dstHost, c->dstDevice, c->dstArray,
				  c->dstXInBytes, c->dstY, c->dstPitch, &dst, &dside);
	if (res != CUDA_SUCCESS)
		goto out_unlock;
	/* rows may not overlap each other (documented) */
	if (c->Height > 1 && (c->srcPitch < c->WidthInBytes || c->dstPitch < c->WidthInBytes)) {
		res = CUDA_ERROR_INVALID_VALUE;
		goto out_unlock;
	}
	if (!c->WidthInBytes || !c->Height)
		goto out_unlock;
	if (c->Height > 1 && (c->srcPitch > (UINTPTR_MAX - src) / (c->Height - 1) ||
			      c->dstPitch > (UINTPTR_MAX - dst) / (c->Height - 1))) {
		res = CUDA_ERROR_INVALID_VALUE;
		goto out_unlock;
	}
	for (y = 0; y < c->Height && res == CUDA_SUCCESS; y++) {
		res = __cs_check_side(dst + y * c->dstPitch, c->WidthInBytes, dside, ctx->dev,
				      true);
		if (res == CUDA_SUCCESS)
			res = __cs_check_side(src + y * c->srcPitch, c->WidthInBytes, sside,
					      ctx->dev, false);
	}
	for (y = 0; y < c->Height && res == CUDA_SUCCESS; y++)
		memmove((void *)(dst + y * c->dstPitch), (const void *)(src + y * c->srcPitch),
			c->WidthInBytes);
out_unlock:
	cs_unlock();
	return res;
}

CS_API CUresult cuMemcpy2D_v2(const CUDA_MEMCPY2D *pCopy)
{
	CS_ENTER("cuMemcpy2D");
	return cs_copy2d(pCopy, NULL, false);
}
CS_COPY_ALIAS(cuMemcpy2D_v2_ptds, cuMemcpy2D_v2, (const CUDA_MEMCPY2D *pCopy));

/* Unaligned only lifts the driver's alignment rules: cudasim has none. */
CS_API CUresult cuMemcpy2DUnaligned_v2(const CUDA_MEMCPY2D *pCopy)
{
	CS_ENTER("cuMemcpy2DUnaligned");
	return cs_copy2d(pCopy, NULL, false);
}
CS_COPY_ALIAS(cuMemcpy2DUnaligned_v2_ptds, cuMemcpy2DUnaligned_v2, (const CUDA_MEMCPY2D *pCopy));

CS_API CUresult cuMemcpy2DAsync_v2(const CUDA_MEMCPY2D *pCopy, CUstream hStream)
{
	CS_ENTER("cuMemcpy2DAsync");
	return cs_copy2d(pCopy, hStream, true);
}
CS_COPY_ALIAS(cuMemcpy2DAsync_v2_ptsz, cuMemcpy2DAsync_v2,
	      (const CUDA_MEMCPY2D *pCopy, CUstream hStream));

CS_API CUresult cuMemcpyPeerAsync(CUdeviceptr dstDevice, CUcontext dstContext,
				  CUdeviceptr srcDevice, CUcontext srcContext, size_t ByteCount,
				  CUstream hStream)
{
	CUresult res = CUDA_SUCCESS;
	struct cs_ctx *ctx;

	CS_ENTER("cuMemcpyPeerAsync");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	cs_lock();
	res = __cs_need_ctx(&ctx);
	if (res == CUDA_SUCCESS)
		res = __cs_stream_check(hStream, ctx);
	cs_unlock();
	if (res != CUDA_SUCCESS)
		return res;
	return copy_peer(dstDevice, dstContext, srcDevice, srcContext, ByteCount);
}
CS_COPY_ALIAS(cuMemcpyPeerAsync_ptsz, cuMemcpyPeerAsync,
	      (CUdeviceptr dstDevice, CUcontext dstContext, CUdeviceptr srcDevice,
	       CUcontext srcContext, size_t ByteCount, CUstream hStream));
