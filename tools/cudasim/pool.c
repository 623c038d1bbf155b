// SPDX-License-Identifier: MIT
/*
 * pool.c - the attributes and access of the default memory pools.
 *
 * Stream-ordered allocation (memory.c) takes from one default pool per
 * device and caches nothing: a free returns the memory to the device at
 * once, so what a pool holds (reserved) is what it has handed out (used).
 * The release threshold and the reuse policies are kept and read back;
 * there is no cache for them to steer.
 */
#include "cudasim.h"
#include "abi.h"

static struct cs_pool *__pool_of(CUmemoryPool pool)
{
	int i;

	for (i = 0; i < cs.ndev; i++)
		if ((struct cs_pool *)pool == &cs.dev[i].pool)
			return &cs.dev[i].pool;
	return NULL;
}

/* Bytes handed out from @p and not yet freed. */
static cuuint64_t __pool_used(struct cs_pool *p)
{
	cuuint64_t used = 0;
	size_t i;

	for (i = 0; i < cs.regions.nr; i++) {
		struct cs_region *r = cs.regions.v[i];

		if (r->kind == CS_REGION_ALLOC && r->pool == p)
			used += r->size;
	}
	return used;
}

/* Called after every allocation from @p: keeps the high watermark. */
void __cs_pool_account(struct cs_pool *p)
{
	cuuint64_t used = __pool_used(p);

	if (used > p->used_high)
		p->used_high = used;
}

CS_API CUresult cuMemPoolGetAttribute(CUmemoryPool pool, int attr, void *value)
{
	struct cs_pool *p;
	CUresult res = CUDA_SUCCESS;
	int reuse = attr - CU_MEMPOOL_ATTR_REUSE_FOLLOW_EVENT_DEPENDENCIES;

	CS_ENTER("cuMemPoolGetAttribute");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!value)
		return CUDA_ERROR_INVALID_VALUE;
	cs_lock();
	p = __pool_of(pool);
	if (!p) {
		res = CUDA_ERROR_INVALID_VALUE;
		goto out_unlock;
	}
	switch (attr) {
	case CU_MEMPOOL_ATTR_REUSE_FOLLOW_EVENT_DEPENDENCIES:
	case CU_MEMPOOL_ATTR_REUSE_ALLOW_OPPORTUNISTIC:
	case CU_MEMPOOL_ATTR_REUSE_ALLOW_INTERNAL_DEPENDENCIES:
		*(int *)value = !p->reuse_off[reuse];
		break;
	case CU_MEMPOOL_ATTR_RELEASE_THRESHOLD:
		*(cuuint64_t *)value = p->release_threshold;
		break;
	case CU_MEMPOOL_ATTR_RESERVED_MEM_CURRENT:
	case CU_MEMPOOL_ATTR_USED_MEM_CURRENT:
		*(cuuint64_t *)value = __pool_used(p);
		break;
	case CU_MEMPOOL_ATTR_RESERVED_MEM_HIGH:
	case CU_MEMPOOL_ATTR_USED_MEM_HIGH:
		*(cuuint64_t *)value = p->used_high;
		break;
	default:
		res = CUDA_ERROR_INVALID_VALUE;
	}
out_unlock:
	cs_unlock();
	return res;
}

CS_API CUresult cuMemPoolSetAttribute(CUmemoryPool pool, int attr, void *value)
{
	struct cs_pool *p;
	CUresult res = CUDA_SUCCESS;

	CS_ENTER("cuMemPoolSetAttribute");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!value)
		return CUDA_ERROR_INVALID_VALUE;
	cs_lock();
	p = __pool_of(pool);
	if (!p) {
		res = CUDA_ERROR_INVALID_VALUE;
		goto out_unlock;
	}
	switch (attr) {
	case CU_MEMPOOL_ATTR_REUSE_FOLLOW_EVENT_DEPENDENCIES:
	case CU_MEMPOOL_ATTR_REUSE_ALLOW_OPPORTUNISTIC:
	case CU_MEMPOOL_ATTR_REUSE_ALLOW_INTERNAL_DEPENDENCIES:
		p->reuse_off[attr - CU_MEMPOOL_ATTR_REUSE_FOLLOW_EVENT_DEPENDENCIES] =
			!*(int *)value;
		break;
	case CU_MEMPOOL_ATTR_RELEASE_THRESHOLD:
		p->release_threshold = *(cuuint64_t *)value;
		break;
	case CU_MEMPOOL_ATTR_RESERVED_MEM_HIGH:
	case CU_MEMPOOL_ATTR_USED_MEM_HIGH:
		/* only a reset to the current value, with 0, is allowed */
		if (*(cuuint64_t *)value)
			res = CUDA_ERROR_INVALID_VALUE;
		else
			p->used_high = __pool_used(p);
		break;
	default:
		res = CUDA_ERROR_INVALID_VALUE;
	}
out_unlock:
	cs_unlock();
	return res;
}

CS_API CUresult cuMemPoolGetAccess(CUmemAccess_flags *flags, CUmemoryPool memPool,
				   CUmemLocation *location)
{
	struct cs_pool *p;
	CUresult res = CUDA_SUCCESS;

	CS_ENTER("cuMemPoolGetAccess");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!flags || !location || location->type != CU_MEM_LOCATION_TYPE_DEVICE)
		return CUDA_ERROR_INVALID_VALUE;
	if (!cs_dev_valid(location->id))
		return CUDA_ERROR_INVALID_DEVICE;
	cs_lock();
	p = __pool_of(memPool);
	if (p)
		*flags = p->dev == location->id ? CU_MEM_ACCESS_FLAGS_PROT_READWRITE
						: CU_MEM_ACCESS_FLAGS_PROT_NONE;
	else
		res = CUDA_ERROR_INVALID_VALUE;
	cs_unlock();
	return res;
}

/*
 * The owning device always has read-write access; granting a peer access
 * to pool memory is not modelled, so it is refused rather than ignored.
 */
CS_API CUresult cuMemPoolSetAccess(CUmemoryPool pool, const CUmemAccessDesc *map, size_t count)
{
	struct cs_pool *p;
	CUresult res = CUDA_SUCCESS;
	size_t i;

	CS_ENTER("cuMemPoolSetAccess");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!map && count)
		return CUDA_ERROR_INVALID_VALUE;
	cs_lock();
	p = __pool_of(pool);
	if (!p)
		res = CUDA_ERROR_INVALID_VALUE;
	for (i = 0; i < count && res == CUDA_SUCCESS; i++) {
		if (map[i].location.type != CU_MEM_LOCATION_TYPE_DEVICE)
			res = CUDA_ERROR_INVALID_VALUE;
		else if (!cs_dev_valid(map[i].location.id))
			res = CUDA_ERROR_INVALID_DEVICE;
		else if (map[i].location.id == p->dev)
			res = map[i].flags == CU_MEM_ACCESS_FLAGS_PROT_READWRITE ?
				CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
		else if (map[i].flags != CU_MEM_ACCESS_FLAGS_PROT_NONE)
			res = CUDA_ERROR_NOT_SUPPORTED;
	}
	cs_unlock();
	return res;
}

/* Each device has one pool, its default, so that is all it can be set to. */
CS_API CUresult cuDeviceSetMemPool(CUdevice dev, CUmemoryPool pool)
{
	struct cs_pool *p;

	CS_ENTER("cuDeviceSetMemPool");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!cs_dev_valid(dev))
		return CUDA_ERROR_INVALID_DEVICE;
	cs_lock();
	p = __pool_of(pool);
	cs_unlock();
	return p && p->dev == dev ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

/* CUDA 13: pools by location.  Host pools are not modelled. */
static CUresult pool_by_location(CUmemoryPool *pool, const CUmemLocation *location, int type)
{
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!pool || !location || type != CU_MEM_ALLOCATION_TYPE_PINNED)
		return CUDA_ERROR_INVALID_VALUE;
	if (location->type == CU_MEM_LOCATION_TYPE_HOST ||
	    location->type == CU_MEM_LOCATION_TYPE_HOST_NUMA ||
	    location->type == CU_MEM_LOCATION_TYPE_HOST_NUMA_CURRENT)
		return CUDA_ERROR_NOT_SUPPORTED;
	if (location->type != CU_MEM_LOCATION_TYPE_DEVICE)
		return CUDA_ERROR_INVALID_VALUE;
	if (!cs_dev_valid(location->id))
		return CUDA_ERROR_INVALID_DEVICE;
	*pool = (CUmemoryPool)&cs.dev[location->id].pool;
	return CUDA_SUCCESS;
}

CS_API CUresult cuMemGetDefaultMemPool(CUmemoryPool *pool_out, CUmemLocation *location, int type)
{
	CS_ENTER("cuMemGetDefaultMemPool");
	return pool_by_location(pool_out, location, type);
}

CS_API CUresult cuMemGetMemPool(CUmemoryPool *pool, CUmemLocation *location, int type)
{
	CS_ENTER("cuMemGetMemPool");
	return pool_by_location(pool, location, type);
}
