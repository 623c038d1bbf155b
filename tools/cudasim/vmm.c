// SPDX-License-Identifier: MIT
/*
 * vmm.c - the virtual memory management calls.
 *
 *	cuMemAddressReserve	PROT_NONE anonymous mapping, registered
 *	cuMemCreate		first-fit range of the device memfd (2 MiB)
 *	cuMemMap		memfd range mapped MAP_FIXED|MAP_SHARED, PROT_NONE
 *	cuMemSetAccess		mprotect to the widest access any device has
 *	cuMemUnmap		the range goes back to a PROT_NONE reservation
 *
 * A physical allocation lives while it has an unreleased handle reference
 * or a mapping, as the driver documents.  Exported POSIX handles are small
 * sealed memfds describing the allocation, see cuMemExportToShareableHandle.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cudasim.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define CS_EXPORT_MAGIC "CSIMHDL"

/* What an exported file descriptor holds (its whole content). */
struct cs_export {
	char magic[8];
	uint32_t version;
	int32_t pid;			/* exporting process */
	int32_t dev;
	int32_t memfd;			/* exporter's fd number of the memory */
	uint64_t memfd_dev;
	uint64_t memfd_ino;
	uint64_t offset;		/* bytes into that file */
	uint64_t size;			/* bytes */
	uint64_t handle_id;
	CUmemAllocationProp prop;
};

static CUresult cs_check_prop(const CUmemAllocationProp *prop)
{
	if (!prop || prop->type != CU_MEM_ALLOCATION_TYPE_PINNED)
		return CUDA_ERROR_INVALID_VALUE;
	if (prop->location.type != CU_MEM_LOCATION_TYPE_DEVICE)
		return CUDA_ERROR_INVALID_VALUE;
	if (!cs_dev_valid(prop->location.id))
		return CUDA_ERROR_INVALID_DEVICE;
	return CUDA_SUCCESS;
}

CS_API CUresult cuMemGetAllocationGranularity(size_t *granularity,
					      const CUmemAllocationProp *prop,
					      CUmemAllocationGranularity_flags option)
{
	CUresult res;

	CS_ENTER("cuMemGetAllocationGranularity");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!granularity)
		return CUDA_ERROR_INVALID_VALUE;
	if (option != CU_MEM_ALLOC_GRANULARITY_MINIMUM &&
	    option != CU_MEM_ALLOC_GRANULARITY_RECOMMENDED)
		return CUDA_ERROR_INVALID_VALUE;
	res = cs_check_prop(prop);
	if (res != CUDA_SUCCESS)
		return res;
	*granularity = CS_GRANULARITY;
	return CUDA_SUCCESS;
}

/* ---- reservations ---- */

static void *cs_reserve_at(uintptr_t addr, size_t size, int extra)
{
	return mmap((void *)addr, size, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | extra, -1, 0);
}

CS_API CUresult cuMemAddressReserve(CUdeviceptr *ptr, size_t size, size_t alignment,
				    CUdeviceptr addr, unsigned long long flags)
{
	struct cs_resv *rv;
	uintptr_t start = 0;
	void *p;

	CS_ENTER("cuMemAddressReserve");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!ptr || !size || flags || !CS_IS_ALIGNED(size, CS_GRANULARITY))
		return CUDA_ERROR_INVALID_VALUE;
	if (alignment & (alignment - 1))
		return CUDA_ERROR_INVALID_VALUE;
	if (alignment < CS_GRANULARITY)
		alignment = CS_GRANULARITY;
	if (size + alignment < size)
		return CUDA_ERROR_OUT_OF_MEMORY;
	rv = calloc(1, sizeof(*rv));
	if (!rv)
		return CUDA_ERROR_OUT_OF_MEMORY;

	/* The address is a hint: honoured when free and aligned. */
	if (addr && CS_IS_ALIGNED(addr, alignment)) {
		p = cs_reserve_at(addr, size, MAP_FIXED_NOREPLACE);
		if (p == (void *)addr)
			start = addr;
		else if (p != MAP_FAILED)
			munmap(p, size);	/* old kernel: hint not honoured */
	}
	if (!start) {
		uintptr_t base, aligned;

		p = cs_reserve_at(0, size + alignment, 0);
		if (p == MAP_FAILED) {
			free(rv);
			return CUDA_ERROR_OUT_OF_MEMORY;
		}
		base = (uintptr_t)p;
		aligned = CS_ALIGN_UP(base, alignment);
		if (aligned > base)
			munmap(p, aligned - base);
		if (base + size + alignment > aligned + size)
			munmap((void *)(aligned + size), base + alignment - aligned);
		start = aligned;
	}
	rv->start = start;
	rv->size = size;
	cs_lock();
	if (cs_vec_insert(&cs.resvs, rv, rv->start, cs_resv_key)) {
		cs_unlock();
		munmap((void *)start, size);
		free(rv);
		return CUDA_ERROR_OUT_OF_MEMORY;
	}
	cs_unlock();
	*ptr = start;
	return CUDA_SUCCESS;
}

CS_API CUresult cuMemAddressFree(CUdeviceptr ptr, size_t size)
{
	struct cs_resv *rv;
	CUresult res = CUDA_SUCCESS;

	CS_ENTER("cuMemAddressFree");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	cs_lock();
	rv = __cs_resv_find(ptr);
	if (!rv || rv->start != ptr || rv->size != size) {
		res = CUDA_ERROR_INVALID_VALUE;
		goto out_unlock;
	}
	if (rv->nr_maps) {
		/* The driver requires unmapping first; cudasim refuses. */
		res = CUDA_ERROR_INVALID_VALUE;
		goto out_unlock;
	}
	cs_vec_remove(&cs.resvs, rv, rv->start, cs_resv_key);
	munmap((void *)rv->start, rv->size);
	free(rv);
out_unlock:
	cs_unlock();
	return res;
}

/* ---- physical allocations ---- */

static CUresult __handle_add(struct cs_handle *h)
{
	h->id = cs.next_handle_id++;
	h->block_id = cs.next_buffer_id++;
	if (cs_vec_insert(&cs.handles, h, (uintptr_t)h->id, cs_handle_key))
		return CUDA_ERROR_OUT_OF_MEMORY;
	cs.dev[h->dev].nr_handles++;
	return CUDA_SUCCESS;
}

/* Drop the allocation once no handle reference, mapping or import of it
 * is left. */
void __cs_handle_put(struct cs_handle *h)
{
	struct cs_device *d = &cs.dev[h->dev];
	struct cs_handle *origin = h->origin;

	if (h->refs || h->maps || h->holds)
		return;
	cs_vec_remove(&cs.handles, h, (uintptr_t)h->id, cs_handle_key);
	d->nr_handles--;
	if (h->phys && h->exported)
		__cs_phys_free_exported(d, h->phys);
	else if (h->phys)
		__cs_phys_free(d, h->phys);
	else if (h->owns_fd)
		close(h->fd);
	free(h);
	if (origin) {
		origin->holds--;
		__cs_handle_put(origin);
	}
}

CS_API CUresult cuMemCreate(CUmemGenericAllocationHandle *handle, size_t size,
			    const CUmemAllocationProp *prop, unsigned long long flags)
{
	struct cs_device *d;
	struct cs_handle *h;
	CUresult res;

	CS_ENTER("cuMemCreate");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!handle || !size || flags || !CS_IS_ALIGNED(size, CS_GRANULARITY))
		return CUDA_ERROR_INVALID_VALUE;
	res = cs_check_prop(prop);
	if (res != CUDA_SUCCESS)
		return res;
	if (prop->requestedHandleTypes & ~(unsigned int)CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR)
		return CUDA_ERROR_INVALID_VALUE;	/* Win32, fabric: not here */
	if (prop->win32HandleMetaData)
		return CUDA_ERROR_INVALID_VALUE;
	h = calloc(1, sizeof(*h));
	if (!h)
		return CUDA_ERROR_OUT_OF_MEMORY;
	cs_lock();
	d = &cs.dev[prop->location.id];
	h->phys = __cs_phys_alloc(d, size, CS_GRANULARITY);
	if (!h->phys) {
		res = CUDA_ERROR_OUT_OF_MEMORY;
		goto out_free;
	}
	h->dev = d->ordinal;
	h->size = size;
	h->fd = d->memfd;
	h->fd_off = h->phys->off;
	h->prop = *prop;
	h->refs = 1;
	res = __handle_add(h);
	if (res != CUDA_SUCCESS)
		goto out_free_phys;
	*handle = h->id;
	cs_unlock();
	return CUDA_SUCCESS;

out_free_phys:
	__cs_phys_free(d, h->phys);
out_free:
	cs_unlock();
	free(h);
	return res;
}

CS_API CUresult cuMemRelease(CUmemGenericAllocationHandle handle)
{
	struct cs_handle *h;
	CUresult res = CUDA_SUCCESS;

	CS_ENTER("cuMemRelease");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	cs_lock();
	h = __cs_handle_find(handle);
	if (!h || !h->refs) {
		res = CUDA_ERROR_INVALID_VALUE;
	} else {
		h->refs--;
		__cs_handle_put(h);
	}
	cs_unlock();
	return res;
}

CS_API CUresult cuMemRetainAllocationHandle(CUmemGenericAllocationHandle *handle, void *addr)
{
	struct cs_region *r;
	CUresult res = CUDA_SUCCESS;

	CS_ENTER("cuMemRetainAllocationHandle");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!handle)
		return CUDA_ERROR_INVALID_VALUE;
	cs_lock();
	r = __cs_region_find((uintptr_t)addr);
	if (!r || r->kind != CS_REGION_MAPPING) {
		res = CUDA_ERROR_INVALID_VALUE;
	} else {
		r->handle->refs++;
		*handle = r->handle->id;
	}
	cs_unlock();
	return res;
}

CS_API CUresult cuMemGetAllocationPropertiesFromHandle(CUmemAllocationProp *prop,
						       CUmemGenericAllocationHandle handle)
{
	struct cs_handle *h;
	CUresult res = CUDA_SUCCESS;

	CS_ENTER("cuMemGetAllocationPropertiesFromHandle");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!prop)
		return CUDA_ERROR_INVALID_VALUE;
	cs_lock();
	h = __cs_handle_find(handle);
	if (!h || !h->refs)
		res = CUDA_ERROR_INVALID_VALUE;
	else
		*prop = h->prop;
	cs_unlock();
	return res;
}

/* ---- mapping ---- */

CS_API CUresult cuMemMap(CUdeviceptr ptr, size_t size, size_t offset,
			 CUmemGenericAllocationHandle handle, unsigned long long flags)
{
	struct cs_region *r;
	struct cs_handle *h;
	struct cs_resv *rv;
	size_t i;
	void *p;
	CUresult res = CUDA_ERROR_INVALID_VALUE;

	CS_ENTER("cuMemMap");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!ptr || !size || flags)
		return CUDA_ERROR_INVALID_VALUE;
	/* The driver answers these with NOT_SUPPORTED (measured, H200). */
	if (!CS_IS_ALIGNED(ptr, CS_GRANULARITY) || !CS_IS_ALIGNED(size, CS_GRANULARITY) ||
	    !CS_IS_ALIGNED(offset, CS_GRANULARITY))
		return CUDA_ERROR_NOT_SUPPORTED;
	r = calloc(1, sizeof(*r));
	if (!r)
		return CUDA_ERROR_OUT_OF_MEMORY;
	cs_lock();
	h = __cs_handle_find(handle);
	if (!h || !h->refs || offset >= h->size || size > h->size - offset) {
		res = CUDA_ERROR_NOT_SUPPORTED;
		goto out_free;
	}
	rv = __cs_resv_find(ptr);
	if (!rv || size > rv->size - (ptr - rv->start))
		goto out_free;
	/* Mapping over an existing mapping is refused. */
	i = __cs_region_index_from(ptr);
	if (i < cs.regions.nr && ((struct cs_region *)cs.regions.v[i])->start < ptr + size)
		goto out_free;
	p = mmap((void *)ptr, size, PROT_NONE, MAP_SHARED | MAP_FIXED, h->fd, h->fd_off + offset);
	if (p == MAP_FAILED) {
		res = CUDA_ERROR_OUT_OF_MEMORY;
		goto out_free;
	}
	r->kind = CS_REGION_MAPPING;
	r->start = ptr;
	r->size = size;
	r->dev = h->dev;
	r->handle = h;
	r->offset = offset;
	r->resv = rv;
	r->buffer_id = cs.next_buffer_id++;
	if (cs_vec_insert(&cs.regions, r, r->start, cs_region_key)) {
		cs_reserve_at(ptr, size, MAP_FIXED);
		res = CUDA_ERROR_OUT_OF_MEMORY;
		goto out_free;
	}
	h->maps++;
	rv->nr_maps++;
	cs.dev[h->dev].nr_mappings++;
	cs.dev[h->dev].mapped_bytes += size;
	cs_unlock();
	return CUDA_SUCCESS;

out_free:
	cs_unlock();
	free(r);
	return res;
}

CS_API CUresult cuMemUnmap(CUdeviceptr ptr, size_t size)
{
	struct cs_resv *rv;
	uintptr_t end = ptr + size;
	size_t i, n = 0;
	CUresult res = CUDA_ERROR_INVALID_VALUE;

	CS_ENTER("cuMemUnmap");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!ptr || !size || !CS_IS_ALIGNED(ptr, CS_GRANULARITY) ||
	    !CS_IS_ALIGNED(size, CS_GRANULARITY))
		return CUDA_ERROR_INVALID_VALUE;
	cs_lock();
	rv = __cs_resv_find(ptr);
	if (!rv || size > rv->size - (ptr - rv->start))
		goto out_unlock;
	/* Only whole mappings may be unmapped. */
	for (i = __cs_region_index_from(ptr); i < cs.regions.nr; i++, n++) {
		struct cs_region *r = cs.regions.v[i];

		if (r->start >= end)
			break;
		if (r->start < ptr || r->size > end - r->start)
			goto out_unlock;
	}
	if (!n) {
		res = CUDA_SUCCESS;	/* nothing mapped there: a no-op */
		goto out_unlock;
	}
	i = __cs_region_index_from(ptr);
	while (n--) {
		struct cs_region *r = cs.regions.v[i];
		struct cs_device *d = &cs.dev[r->dev];

		cs_reserve_at(r->start, r->size, MAP_FIXED);
		memmove(&cs.regions.v[i], &cs.regions.v[i + 1],
			(cs.regions.nr - i - 1) * sizeof(void *));
		cs.regions.nr--;
		rv->nr_maps--;
		d->nr_mappings--;
		d->mapped_bytes -= r->size;
		r->handle->maps--;
		__cs_handle_put(r->handle);
		free(r);
	}
	res = CUDA_SUCCESS;
out_unlock:
	cs_unlock();
	return res;
}

static int cs_prot_of(const unsigned char *access)
{
	int prot = PROT_NONE, i;

	for (i = 0; i < CS_MAX_DEVICES; i++) {
		if (access[i] == CU_MEM_ACCESS_FLAGS_PROT_READWRITE)
			return PROT_READ | PROT_WRITE;
		if (access[i] == CU_MEM_ACCESS_FLAGS_PROT_READ)
			prot = PROT_READ;
	}
	return prot;
}

CS_API CUresult cuMemSetAccess(CUdeviceptr ptr, size_t size, const CUmemAccessDesc *desc,
			       size_t count)
{
	uintptr_t end = ptr + size, cur = ptr;
	size_t i, first, k;
	CUresult res = CUDA_ERROR_INVALID_VALUE;

	CS_ENTER("cuMemSetAccess");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!ptr || !size || !desc || !count || !CS_IS_ALIGNED(ptr, CS_GRANULARITY) ||
	    !CS_IS_ALIGNED(size, CS_GRANULARITY))
		return CUDA_ERROR_INVALID_VALUE;
	for (k = 0; k < count; k++) {
		if (desc[k].location.type != CU_MEM_LOCATION_TYPE_DEVICE)
			return CUDA_ERROR_INVALID_VALUE;
		if (!cs_dev_valid(desc[k].location.id))
			return CUDA_ERROR_INVALID_DEVICE;
		if (desc[k].flags != CU_MEM_ACCESS_FLAGS_PROT_NONE &&
		    desc[k].flags != CU_MEM_ACCESS_FLAGS_PROT_READ &&
		    desc[k].flags != CU_MEM_ACCESS_FLAGS_PROT_READWRITE)
			return CUDA_ERROR_INVALID_VALUE;
	}
	cs_lock();
	/* The range must be covered, without holes, by whole mappings. */
	first = __cs_region_index_from(ptr);
	for (i = first; cur < end; i++) {
		struct cs_region *r;

		if (i == cs.regions.nr)
			goto out_unlock;
		r = cs.regions.v[i];
		if (r->kind != CS_REGION_MAPPING || r->start != cur || r->size > end - cur)
			goto out_unlock;
		cur += r->size;
	}
	for (i = first, cur = ptr; cur < end; i++) {
		struct cs_region *r = cs.regions.v[i];

		for (k = 0; k < count; k++)
			r->access[desc[k].location.id] = (unsigned char)desc[k].flags;
		if (mprotect((void *)r->start, r->size, cs_prot_of(r->access))) {
			res = CUDA_ERROR_UNKNOWN;
			goto out_unlock;
		}
		cur += r->size;
	}
	res = CUDA_SUCCESS;
out_unlock:
	cs_unlock();
	return res;
}

CS_API CUresult cuMemGetAccess(unsigned long long *flags, const CUmemLocation *location,
			       CUdeviceptr ptr)
{
	struct cs_region *r;
	CUresult res = CUDA_SUCCESS;

	CS_ENTER("cuMemGetAccess");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!flags || !location || location->type != CU_MEM_LOCATION_TYPE_DEVICE)
		return CUDA_ERROR_INVALID_VALUE;
	if (!cs_dev_valid(location->id))
		return CUDA_ERROR_INVALID_DEVICE;
	cs_lock();
	r = __cs_region_find(ptr);
	if (!r)
		res = CUDA_ERROR_INVALID_VALUE;
	else if (r->kind == CS_REGION_MAPPING)
		*flags = r->access[location->id];
	else
		*flags = r->dev == location->id ? CU_MEM_ACCESS_FLAGS_PROT_READWRITE
						: CU_MEM_ACCESS_FLAGS_PROT_NONE;
	cs_unlock();
	return res;
}

/* ---- shareable handles ---- */

/*
 * The exported fd is a sealed memfd holding a struct cs_export: which
 * process exported it, the identity (st_dev, st_ino) of the device memory
 * file and the allocation's place in it.  Importing it in the exporting
 * process gives a new handle that keeps the allocation alive (->origin);
 * another process (a fork child too: it has its own copy of device memory)
 * opens the exporter's memory through /proc/<pid>/fd, which works while the
 * exporter lives, and takes an OFD read lock on the allocation's bytes:
 * as with the driver, the memory then outlives the exporter's release (and
 * the exporter), until the importer releases it or exits.
 */
CS_API CUresult cuMemExportToShareableHandle(void *shareableHandle,
					     CUmemGenericAllocationHandle handle,
					     CUmemAllocationHandleType handleType,
					     unsigned long long flags)
{
	struct cs_export ex;
	struct cs_handle *h;
	struct stat st;
	CUresult res = CUDA_ERROR_INVALID_VALUE;
	int fd;

	CS_ENTER("cuMemExportToShareableHandle");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!shareableHandle || flags)
		return CUDA_ERROR_INVALID_VALUE;
	if (handleType != CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR)
		return CUDA_ERROR_NOT_SUPPORTED;
	cs_lock();
	h = __cs_handle_find(handle);
	if (!h || !h->refs ||
	    !(h->prop.requestedHandleTypes & CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR))
		goto out_unlock;
	if (fstat(h->fd, &st)) {
		res = CUDA_ERROR_OPERATING_SYSTEM;
		goto out_unlock;
	}
	memset(&ex, 0, sizeof(ex));
	memcpy(ex.magic, CS_EXPORT_MAGIC, sizeof(ex.magic));
	ex.version = 1;
	ex.pid = getpid();
	ex.dev = h->dev;
	ex.memfd = h->fd;
	ex.memfd_dev = st.st_dev;
	ex.memfd_ino = st.st_ino;
	ex.offset = h->fd_off;
	ex.size = h->size;
	ex.handle_id = h->id;
	ex.prop = h->prop;
	fd = memfd_create("cudasim-handle", MFD_ALLOW_SEALING);
	if (fd < 0) {
		res = CUDA_ERROR_OUT_OF_MEMORY;
		goto out_unlock;
	}
	if (pwrite(fd, &ex, sizeof(ex), 0) != (ssize_t)sizeof(ex)) {
		close(fd);
		res = CUDA_ERROR_OPERATING_SYSTEM;
		goto out_unlock;
	}
	fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
	(h->origin ? h->origin : h)->exported = true;
	*(int *)shareableHandle = fd;
	res = CUDA_SUCCESS;
out_unlock:
	cs_unlock();
	return res;
}

CS_API CUresult cuMemImportFromShareableHandle(CUmemGenericAllocationHandle *handle,
					       void *osHandle,
					       CUmemAllocationHandleType shHandleType)
{
	int fd = (int)(intptr_t)osHandle, memfd = -1, i;
	struct cs_handle *h;
	struct cs_export ex;
	struct stat st;
	char path[64];
	CUresult res = CUDA_ERROR_INVALID_VALUE;

	CS_ENTER("cuMemImportFromShareableHandle");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!handle)
		return CUDA_ERROR_INVALID_VALUE;
	if (shHandleType != CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR)
		return CUDA_ERROR_NOT_SUPPORTED;
	if (pread(fd, &ex, sizeof(ex), 0) != (ssize_t)sizeof(ex) ||
	    memcmp(ex.magic, CS_EXPORT_MAGIC, sizeof(ex.magic)) || ex.version != 1 ||
	    !ex.size || !CS_IS_ALIGNED(ex.size, CS_GRANULARITY))
		return CUDA_ERROR_INVALID_VALUE;
	if (!cs_dev_valid(ex.dev))
		return CUDA_ERROR_INVALID_DEVICE;

	cs_lock();
	/* Our own memory: the allocation must still exist.  As the driver
	 * does (measured), the import is a new handle to the same memory. */
	for (i = 0; i < cs.ndev; i++) {
		struct cs_device *d = &cs.dev[i];
		struct cs_handle *origin = NULL;
		size_t k;

		if (d->memfd_dev != ex.memfd_dev || d->memfd_ino != ex.memfd_ino)
			continue;
		for (k = 0; k < cs.handles.nr && !origin; k++) {
			h = cs.handles.v[k];
			if (h->fd == d->memfd && h->fd_off == ex.offset && h->size == ex.size)
				origin = h->origin ? h->origin : h;
		}
		if (!origin)
			goto out_unlock;
		h = calloc(1, sizeof(*h));
		if (!h) {
			res = CUDA_ERROR_OUT_OF_MEMORY;
			goto out_unlock;
		}
		h->dev = origin->dev;
		h->size = origin->size;
		h->fd = origin->fd;
		h->fd_off = origin->fd_off;
		h->prop = origin->prop;
		h->origin = origin;
		h->refs = 1;
		res = __handle_add(h);
		if (res != CUDA_SUCCESS) {
			free(h);
			goto out_unlock;
		}
		origin->holds++;
		*handle = h->id;
		goto out_unlock;
	}
	/* Another process's memory, reached through its fd table. */
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", ex.pid, ex.memfd);
	memfd = open(path, O_RDWR | O_CLOEXEC);
	if (memfd < 0 || fstat(memfd, &st) || st.st_dev != ex.memfd_dev ||
	    st.st_ino != ex.memfd_ino || (uint64_t)st.st_size < ex.offset + ex.size)
		goto out_close;
	/* the exporter keeps these bytes while this file holds the lock */
	{
		struct flock fl = {
			.l_type = F_RDLCK, .l_whence = SEEK_SET,
			.l_start = (off_t)ex.offset, .l_len = (off_t)ex.size,
		};

		if (fcntl(memfd, F_OFD_SETLK, &fl)) {
			res = CUDA_ERROR_OPERATING_SYSTEM;
			goto out_close;
		}
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		res = CUDA_ERROR_OUT_OF_MEMORY;
		goto out_close;
	}
	h->dev = ex.dev;
	h->size = ex.size;
	h->fd = memfd;
	h->owns_fd = true;
	h->fd_off = ex.offset;
	h->prop = ex.prop;
	h->prop.location.id = ex.dev;
	h->refs = 1;
	res = __handle_add(h);
	if (res != CUDA_SUCCESS) {
		free(h);
		goto out_close;
	}
	*handle = h->id;
	cs_unlock();
	return CUDA_SUCCESS;

out_close:
	if (memfd >= 0)
		close(memfd);
out_unlock:
	cs_unlock();
	return res;
}
