// SPDX-License-Identifier: MIT
/*
 * context.c - primary and created contexts, the per-thread context stack.
 *
 * A CUcontext is a struct cs_ctx: the primary one lives in its device, the
 * created ones on cs.contexts.  Contexts are validated against those lists,
 * never trusted.  The current context is the top of a thread-local stack.
 */
#include <stdlib.h>

#include "cudasim.h"

#define CS_CTX_STACK_MAX 64

static __thread struct cs_ctx *ctx_stack[CS_CTX_STACK_MAX];
static __thread int ctx_depth;

bool __cs_ctx_valid(struct cs_ctx *ctx)
{
	struct cs_ctx *c;
	int i;

	if (!ctx)
		return false;
	for (i = 0; i < cs.ndev; i++)
		if (ctx == &cs.dev[i].primary)
			return ctx->alive;
	for (c = cs.contexts; c; c = c->next)
		if (c == ctx)
			return true;
	return false;
}

struct cs_ctx *cs_current_ctx(void)
{
	return ctx_depth ? ctx_stack[ctx_depth - 1] : NULL;
}

void cs_set_current(struct cs_ctx *ctx)
{
	if (!ctx_depth) {
		if (!ctx)
			return;
		ctx_depth = 1;
	}
	ctx_stack[ctx_depth - 1] = ctx;
}

/* The current context, which must exist and be alive. */
CUresult __cs_need_ctx(struct cs_ctx **ctx)
{
	struct cs_ctx *c = cs_current_ctx();

	if (!c || !__cs_ctx_valid(c))
		return CUDA_ERROR_INVALID_CONTEXT;
	*ctx = c;
	return CUDA_SUCCESS;
}

CS_API CUresult cuDevicePrimaryCtxRetain(CUcontext *pctx, CUdevice dev)
{
	struct cs_device *d;

	CS_ENTER("cuDevicePrimaryCtxRetain");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!pctx)
		return CUDA_ERROR_INVALID_VALUE;
	if (!cs_dev_valid(dev))
		return CUDA_ERROR_INVALID_DEVICE;
	cs_lock();
	d = &cs.dev[dev];
	d->primary_refs++;
	d->primary.alive = true;
	*pctx = (CUcontext)&d->primary;
	cs_unlock();
	return CUDA_SUCCESS;
}

static CUresult primary_release(CUdevice dev)
{
	struct cs_device *d;
	CUresult res = CUDA_SUCCESS;

	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!cs_dev_valid(dev))
		return CUDA_ERROR_INVALID_DEVICE;
	cs_lock();
	d = &cs.dev[dev];
	if (!d->primary_refs) {
		res = CUDA_ERROR_INVALID_CONTEXT;
	} else if (!--d->primary_refs) {
		d->primary.alive = false;
		d->primary.peer_mask = 0;
	}
	cs_unlock();
	return res;
}

CS_API CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev)
{
	CS_ENTER("cuDevicePrimaryCtxRelease");
	return primary_release(dev);
}

CS_API CUresult cuDevicePrimaryCtxRelease(CUdevice dev)
{
	CS_ENTER("cuDevicePrimaryCtxRelease");
	return primary_release(dev);
}

CS_API CUresult cuDevicePrimaryCtxGetState(CUdevice dev, unsigned int *flags, int *active)
{
	CS_ENTER("cuDevicePrimaryCtxGetState");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!cs_dev_valid(dev))
		return CUDA_ERROR_INVALID_DEVICE;
	if (!flags || !active)
		return CUDA_ERROR_INVALID_VALUE;
	cs_lock();
	*flags = cs.dev[dev].primary.flags;
	*active = cs.dev[dev].primary_refs > 0;
	cs_unlock();
	return CUDA_SUCCESS;
}

static CUresult primary_set_flags(CUdevice dev, unsigned int flags)
{
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!cs_dev_valid(dev))
		return CUDA_ERROR_INVALID_DEVICE;
	if (flags & ~(unsigned int)CU_CTX_FLAGS_MASK)
		return CUDA_ERROR_INVALID_VALUE;
	cs_lock();
	cs.dev[dev].primary.flags = flags;
	cs_unlock();
	return CUDA_SUCCESS;
}

CS_API CUresult cuDevicePrimaryCtxSetFlags_v2(CUdevice dev, unsigned int flags)
{
	CS_ENTER("cuDevicePrimaryCtxSetFlags");
	return primary_set_flags(dev, flags);
}

/* Before 11.0 the flags could not change while the context was active. */
CS_API CUresult cuDevicePrimaryCtxSetFlags(CUdevice dev, unsigned int flags)
{
	CS_ENTER("cuDevicePrimaryCtxSetFlags");
	if (!cs_check_init() && cs_dev_valid(dev) && cs.dev[dev].primary_refs)
		return CUDA_ERROR_PRIMARY_CONTEXT_ACTIVE;
	return primary_set_flags(dev, flags);
}

CS_API CUresult cuDevicePrimaryCtxReset(CUdevice dev)
	__attribute__((alias("cuDevicePrimaryCtxReset_v2")));

CS_API CUresult cuDevicePrimaryCtxReset_v2(CUdevice dev)
{
	CS_ENTER("cuDevicePrimaryCtxReset");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!cs_dev_valid(dev))
		return CUDA_ERROR_INVALID_DEVICE;
	/* Memory is not torn down: cudasim keeps allocations (see the docs). */
	return CUDA_SUCCESS;
}

static CUresult ctx_create(CUcontext *pctx, unsigned int flags, CUdevice dev)
{
	struct cs_ctx *c;

	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!pctx)
		return CUDA_ERROR_INVALID_VALUE;
	if (!cs_dev_valid(dev))
		return CUDA_ERROR_INVALID_DEVICE;
	if (flags & ~(unsigned int)CU_CTX_FLAGS_MASK)
		return CUDA_ERROR_INVALID_VALUE;
	c = calloc(1, sizeof(*c));
	if (!c)
		return CUDA_ERROR_OUT_OF_MEMORY;
	c->magic = CS_CTX_MAGIC;
	c->dev = dev;
	c->flags = flags;
	c->alive = true;
	cs_lock();
	c->next = cs.contexts;
	cs.contexts = c;
	cs_unlock();
	/* cuCtxCreate pushes the new context on the calling thread's stack. */
	if (ctx_depth < CS_CTX_STACK_MAX)
		ctx_stack[ctx_depth++] = c;
	*pctx = (CUcontext)c;
	return CUDA_SUCCESS;
}

CS_API CUresult cuCtxCreate_v2(CUcontext *pctx, unsigned int flags, CUdevice dev)
{
	CS_ENTER("cuCtxCreate");
	return ctx_create(pctx, flags, dev);
}

CS_API CUresult cuCtxCreate(CUcontext *pctx, unsigned int flags, CUdevice dev)
{
	CS_ENTER("cuCtxCreate");
	return ctx_create(pctx, flags, dev);
}

/* cuCtxCreate_v3 (exec affinity) and _v4 (CUctxCreateParams): extra
 * parameters are accepted when absent and refused when given. */
CS_API CUresult cuCtxCreate_v3(CUcontext *pctx, void *paramsArray, int numParams,
			       unsigned int flags, CUdevice dev)
{
	CS_ENTER("cuCtxCreate");
	if (paramsArray || numParams)
		return CUDA_ERROR_NOT_SUPPORTED;
	return ctx_create(pctx, flags, dev);
}

struct cs_ctx_create_params {		/* layout of CUctxCreateParams */
	void *execAffinityParams;
	int numExecAffinityParams;
	void *cigParams;
};

CS_API CUresult cuCtxCreate_v4(CUcontext *pctx, struct cs_ctx_create_params *params,
			       unsigned int flags, CUdevice dev)
{
	CS_ENTER("cuCtxCreate");
	if (params && (params->execAffinityParams || params->numExecAffinityParams ||
		       params->cigParams))
		return CUDA_ERROR_NOT_SUPPORTED;
	return ctx_create(pctx, flags, dev);
}

static CUresult ctx_destroy(CUcontext ctx)
{
	struct cs_ctx *c = (struct cs_ctx *)ctx, **pp;
	int i, j;

	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	cs_lock();
	for (pp = &cs.contexts; *pp && *pp != c; pp = &(*pp)->next)
		;
	if (!c || !*pp) {
		cs_unlock();
		return CUDA_ERROR_INVALID_CONTEXT;
	}
	*pp = c->next;
	for (i = 0; i < cs.ndev; i++)
		if (cs.dev[i].primary.peer_mask)
			cs.dev[i].primary.peer_mask &= ~(1u << c->dev);
	cs_unlock();
	/* Remove it from this thread's stack (other threads' stacks may keep
	 * a stale pointer; __cs_need_ctx() refuses it there). */
	for (i = 0, j = 0; i < ctx_depth; i++)
		if (ctx_stack[i] != c)
			ctx_stack[j++] = ctx_stack[i];
	ctx_depth = j;
	/* Other threads may still hold the pointer; they only compare it. */
	free(c);
	return CUDA_SUCCESS;
}

CS_API CUresult cuCtxDestroy_v2(CUcontext ctx)
{
	CS_ENTER("cuCtxDestroy");
	return ctx_destroy(ctx);
}

CS_API CUresult cuCtxDestroy(CUcontext ctx)
{
	CS_ENTER("cuCtxDestroy");
	return ctx_destroy(ctx);
}

CS_API CUresult cuCtxSetCurrent(CUcontext ctx)
{
	struct cs_ctx *c = (struct cs_ctx *)ctx;
	bool ok;

	CS_ENTER("cuCtxSetCurrent");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (c) {
		cs_lock();
		ok = __cs_ctx_valid(c);
		cs_unlock();
		if (!ok)
			return CUDA_ERROR_INVALID_CONTEXT;
	}
	if (!c && ctx_depth) {
		ctx_depth--;	/* NULL unbinds: pop the current one */
		return CUDA_SUCCESS;
	}
	cs_set_current(c);
	return CUDA_SUCCESS;
}

CS_API CUresult cuCtxGetCurrent(CUcontext *pctx)
{
	CS_ENTER("cuCtxGetCurrent");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!pctx)
		return CUDA_ERROR_INVALID_VALUE;
	*pctx = (CUcontext)cs_current_ctx();
	return CUDA_SUCCESS;
}

static CUresult ctx_push(CUcontext ctx)
{
	struct cs_ctx *c = (struct cs_ctx *)ctx;
	bool ok;

	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	cs_lock();
	ok = __cs_ctx_valid(c);
	cs_unlock();
	if (!ok)
		return CUDA_ERROR_INVALID_CONTEXT;
	if (ctx_depth == CS_CTX_STACK_MAX)
		return CUDA_ERROR_OUT_OF_MEMORY;
	ctx_stack[ctx_depth++] = c;
	return CUDA_SUCCESS;
}

CS_API CUresult cuCtxPushCurrent_v2(CUcontext ctx)
{
	CS_ENTER("cuCtxPushCurrent");
	return ctx_push(ctx);
}

CS_API CUresult cuCtxPushCurrent(CUcontext ctx)
{
	CS_ENTER("cuCtxPushCurrent");
	return ctx_push(ctx);
}

static CUresult ctx_pop(CUcontext *pctx)
{
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!ctx_depth)
		return CUDA_ERROR_INVALID_CONTEXT;
	ctx_depth--;
	if (pctx)
		*pctx = (CUcontext)ctx_stack[ctx_depth];
	return CUDA_SUCCESS;
}

CS_API CUresult cuCtxPopCurrent_v2(CUcontext *pctx)
{
	CS_ENTER("cuCtxPopCurrent");
	return ctx_pop(pctx);
}

CS_API CUresult cuCtxPopCurrent(CUcontext *pctx)
{
	CS_ENTER("cuCtxPopCurrent");
	return ctx_pop(pctx);
}

CS_API CUresult cuCtxGetDevice(CUdevice *device)
{
	struct cs_ctx *c;
	CUresult res;

	CS_ENTER("cuCtxGetDevice");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!device)
		return CUDA_ERROR_INVALID_VALUE;
	cs_lock();
	res = __cs_need_ctx(&c);
	if (res == CUDA_SUCCESS)
		*device = c->dev;
	cs_unlock();
	return res;
}

CS_API CUresult cuCtxGetFlags(unsigned int *flags)
{
	struct cs_ctx *c;
	CUresult res;

	CS_ENTER("cuCtxGetFlags");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!flags)
		return CUDA_ERROR_INVALID_VALUE;
	cs_lock();
	res = __cs_need_ctx(&c);
	if (res == CUDA_SUCCESS)
		*flags = c->flags;
	cs_unlock();
	return res;
}

CS_API CUresult cuCtxGetApiVersion(CUcontext ctx, unsigned int *version)
{
	struct cs_ctx *c = (struct cs_ctx *)ctx;
	CUresult res = CUDA_SUCCESS;

	CS_ENTER("cuCtxGetApiVersion");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!version)
		return CUDA_ERROR_INVALID_VALUE;
	cs_lock();
	if (!c)
		res = __cs_need_ctx(&c);
	else if (!__cs_ctx_valid(c))
		res = CUDA_ERROR_INVALID_CONTEXT;
	cs_unlock();
	if (res == CUDA_SUCCESS)
		*version = 3020;
	return res;
}

CS_API CUresult cuCtxSynchronize(void)
{
	struct cs_ctx *c;
	CUresult res;

	CS_ENTER("cuCtxSynchronize");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	cs_lock();
	res = __cs_need_ctx(&c);
	/* Synchronizing while a stream captures in global mode is illegal
	 * and breaks the capture (measured). */
	if (res == CUDA_SUCCESS && __cs_any_global_capture()) {
		__cs_invalidate_global_captures();
		res = CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
	}
	cs_unlock();
	return res;
}

CS_API CUresult cuCtxGetStreamPriorityRange(int *leastPriority, int *greatestPriority)
{
	CS_ENTER("cuCtxGetStreamPriorityRange");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (leastPriority)
		*leastPriority = 0;
	if (greatestPriority)
		*greatestPriority = -5;
	return CUDA_SUCCESS;
}

CS_API CUresult cuCtxEnablePeerAccess(CUcontext peerContext, unsigned int Flags)
{
	struct cs_ctx *c, *peer = (struct cs_ctx *)peerContext;
	CUresult res;

	CS_ENTER("cuCtxEnablePeerAccess");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (Flags)
		return CUDA_ERROR_INVALID_VALUE;
	cs_lock();
	res = __cs_need_ctx(&c);
	if (res != CUDA_SUCCESS)
		goto out_unlock;
	if (!__cs_ctx_valid(peer)) {
		res = CUDA_ERROR_INVALID_CONTEXT;
	} else if (peer->dev == c->dev) {
		res = CUDA_ERROR_INVALID_DEVICE;
	} else if (c->peer_mask & (1u << peer->dev)) {
		res = CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED;
	} else {
		c->peer_mask |= 1u << peer->dev;
	}
out_unlock:
	cs_unlock();
	return res;
}

CS_API CUresult cuCtxDisablePeerAccess(CUcontext peerContext)
{
	struct cs_ctx *c, *peer = (struct cs_ctx *)peerContext;
	CUresult res;

	CS_ENTER("cuCtxDisablePeerAccess");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	cs_lock();
	res = __cs_need_ctx(&c);
	if (res != CUDA_SUCCESS)
		goto out_unlock;
	if (!__cs_ctx_valid(peer))
		res = CUDA_ERROR_INVALID_CONTEXT;
	else if (!(c->peer_mask & (1u << peer->dev)))
		res = CUDA_ERROR_PEER_ACCESS_NOT_ENABLED;
	else
		c->peer_mask &= ~(1u << peer->dev);
out_unlock:
	cs_unlock();
	return res;
}
