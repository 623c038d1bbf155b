// SPDX-License-Identifier: MIT
/*
 * init.c - cuInit, the simulated devices and their attributes, fork.
 *
 * Each device's physical memory is one memfd of CUDASIM_MEM bytes; the
 * file is sparse, so an unused device costs nothing.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cudasim.h"
#include "parse_size.h"

struct cs_state cs = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.next_buffer_id = 1,
	.next_handle_id = 0x5100000001ULL,
	.next_capture_id = 1,
};

CUresult cs_check_init(void)
{
	return __atomic_load_n(&cs.initialized, __ATOMIC_ACQUIRE) ? CUDA_SUCCESS
								   : CUDA_ERROR_NOT_INITIALIZED;
}

bool cs_dev_valid(CUdevice dev)
{
	return dev >= 0 && dev < cs.ndev;
}

/* "512M", "2GiB": at least a byte, at most 16 TiB; 0 or -EINVAL. */
static int cs_parse_size(const char *s, size_t *out)
{
	uint64_t v;

	if (parse_size(s, PARSE_SIZE_BYTE_SUFFIX, &v) || v == 0 || v > (1ULL << 44))
		return -EINVAL;
	*out = v;
	return 0;
}

/* CUDASIM_ALLOC: a bad value is not worth failing cuInit for. */
static enum cs_alloc_mode cs_read_alloc_mode(void)
{
	const char *s = getenv("CUDASIM_ALLOC");

	if (!s || !*s || !strcmp(s, "paged"))
		return CS_ALLOC_PAGED;
	if (!strcmp(s, "contiguous"))
		return CS_ALLOC_CONTIGUOUS;
	fprintf(stderr, "cudasim: CUDASIM_ALLOC='%s' is neither paged nor contiguous; "
		"using paged\n", s);
	return CS_ALLOC_PAGED;
}

static CUresult cs_read_env(size_t *mem, int *ndev)
{
	const char *s;

	cs.alloc_mode = cs_read_alloc_mode();
	*mem = CS_DEFAULT_MEM;
	*ndev = 1;
	s = getenv("CUDASIM_MEM");
	if (s && cs_parse_size(s, mem)) {
		fprintf(stderr, "cudasim: CUDASIM_MEM='%s' is not a size "
			"(a number with an optional K, M, G or T suffix, at most 16T)\n", s);
		return CUDA_ERROR_INVALID_VALUE;
	}
	if (*mem < CS_GRANULARITY) {
		fprintf(stderr, "cudasim: CUDASIM_MEM='%s' is below the 2M granularity\n", s);
		return CUDA_ERROR_INVALID_VALUE;
	}
	*mem = CS_ALIGN_UP(*mem, CS_GRANULARITY);
	s = getenv("CUDASIM_DEVICES");
	if (s) {
		char *end;
		long n;

		errno = 0;
		n = strtol(s, &end, 10);
		if (errno || end == s || *end || n < 0 || n > CS_MAX_DEVICES) {
			fprintf(stderr, "cudasim: CUDASIM_DEVICES='%s' is not a number "
				"from 0 to %d\n", s, CS_MAX_DEVICES);
			return CUDA_ERROR_INVALID_VALUE;
		}
		*ndev = (int)n;
	}
	if (cs_fail_parse_env())
		return CUDA_ERROR_INVALID_VALUE;
	if (*ndev == 0)
		return CUDA_ERROR_NO_DEVICE;
	return CUDA_SUCCESS;
}

static int cs_device_open(struct cs_device *d, int ordinal, size_t capacity)
{
	char name[32];
	struct stat st;

	snprintf(name, sizeof(name), "cudasim-gpu%d", ordinal);
	d->memfd = memfd_create(name, MFD_CLOEXEC);
	if (d->memfd < 0)
		return -errno;
	if (ftruncate(d->memfd, capacity) || fstat(d->memfd, &st)) {
		int err = -errno;

		close(d->memfd);
		return err;
	}
	d->ordinal = ordinal;
	d->memfd_dev = st.st_dev;
	d->memfd_ino = st.st_ino;
	d->capacity = capacity;
	d->primary.magic = CS_CTX_MAGIC;
	d->primary.dev = ordinal;
	d->primary.primary = true;
	d->pool.magic = CS_POOL_MAGIC;
	d->pool.dev = ordinal;
	return 0;
}

CS_API CUresult cuInit(unsigned int flags)
{
	size_t mem;
	int ndev, i;
	CUresult res;

	CS_ENTER("cuInit");
	if (flags)
		return CUDA_ERROR_INVALID_VALUE;
	cs_lock();
	if (cs.init_tried) {
		res = cs.init_result;
		goto out_unlock;
	}
	cs.init_tried = true;
	res = cs_read_env(&mem, &ndev);
	if (res != CUDA_SUCCESS)
		goto out_fail;
	for (i = 0; i < ndev; i++) {
		int err = cs_device_open(&cs.dev[i], i, mem);

		if (err) {
			fprintf(stderr, "cudasim: cannot create device memory: %s\n",
				strerror(-err));
			while (i--)
				close(cs.dev[i].memfd);
			res = CUDA_ERROR_OUT_OF_MEMORY;
			goto out_fail;
		}
	}
	cs.ndev = ndev;
	cs_leakcheck_setup();
	__atomic_store_n(&cs.initialized, true, __ATOMIC_RELEASE);
out_fail:
	cs.init_result = res;
out_unlock:
	cs_unlock();
	return res;
}

static int cs_driver_version = CS_DRIVER_VERSION;

/*
 * CUDASIM_DRIVER_VERSION is read on the first cuDriverGetVersion, which
 * may come before cuInit (the runtime asks first): a bad value is reported
 * once and the default kept, so the program still runs.
 */
static void cs_driver_version_read(void)
{
	const char *s = getenv("CUDASIM_DRIVER_VERSION");
	char *end;
	long v;

	if (!s)
		return;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 2000 || v > 99990 || v % 10) {
		fprintf(stderr, "cudasim: CUDASIM_DRIVER_VERSION='%s' is not a version "
			"(1000 * major + 10 * minor, 2000 to 99990); using %d\n", s,
			CS_DRIVER_VERSION);
		return;
	}
	cs_driver_version = (int)v;
}

CS_API CUresult cuDriverGetVersion(int *driverVersion)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	CS_ENTER("cuDriverGetVersion");
	if (!driverVersion)
		return CUDA_ERROR_INVALID_VALUE;
	pthread_once(&once, cs_driver_version_read);
	*driverVersion = cs_driver_version;
	return CUDA_SUCCESS;
}

CS_API CUresult cuDeviceGetCount(int *count)
{
	CS_ENTER("cuDeviceGetCount");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!count)
		return CUDA_ERROR_INVALID_VALUE;
	*count = cs.ndev;
	return CUDA_SUCCESS;
}

CS_API CUresult cuDeviceGet(CUdevice *device, int ordinal)
{
	CS_ENTER("cuDeviceGet");
	if (cs_check_init())
		return CUDA_ERROR_NOT_INITIALIZED;
	if (!device)
		return CUDA_ERROR_INVALID_VALUE;
	if (!cs_dev_valid(ordinal))
		return CUDA_ERROR_INVALID_DEVICE;
	*device = ordinal;
	return CUDA_SUCCESS;
}

#define CS_DEV_PROLOGUE(dev)					\
	do {							\
		if (cs_check_init())				\
			return CUDA_ERROR_NOT_INITIALIZED;	\
		if (!cs_dev_valid(dev))				\
			return CUDA_ERROR_INVALID_DEVICE;	\
	} while (0)

CS_API CUresult cuDeviceGetName(char *name, int len, CUdevice dev)
{
	CS_ENTER("cuDeviceGetName");
	CS_DEV_PROLOGUE(dev);
	if (!name || len <= 0)
		return CUDA_ERROR_INVALID_VALUE;
	snprintf(name, len, "cudasim virtual GPU %d", dev);
	return CUDA_SUCCESS;
}

static void cs_uuid(CUuuid *uuid, CUdevice dev)
{
	static const char base[16] = "cudasim-gpu-00";

	memcpy(uuid->bytes, base, 16);
	uuid->bytes[14] = (char)('0' + dev / 10);
	uuid->bytes[15] = (char)('0' + dev % 10);
}

CS_API CUresult cuDeviceGetUuid(CUuuid *uuid, CUdevice dev)
{
	CS_ENTER("cuDeviceGetUuid");
	CS_DEV_PROLOGUE(dev);
	if (!uuid)
		return CUDA_ERROR_INVALID_VALUE;
	cs_uuid(uuid, dev);
	return CUDA_SUCCESS;
}

CS_API CUresult cuDeviceGetUuid_v2(CUuuid *uuid, CUdevice dev)
	__attribute__((alias("cuDeviceGetUuid")));

static CUresult device_total_mem(size_t *bytes, CUdevice dev)
{
	CS_DEV_PROLOGUE(dev);
	if (!bytes)
		return CUDA_ERROR_INVALID_VALUE;
	*bytes = cs.dev[dev].capacity;
	return CUDA_SUCCESS;
}

CS_API CUresult cuDeviceTotalMem_v2(size_t *bytes, CUdevice dev)
{
	CS_ENTER("cuDeviceTotalMem");
	return device_total_mem(bytes, dev);
}

CS_API CUresult cuDeviceTotalMem(unsigned int *bytes, CUdevice dev)
{
	size_t total;
	CUresult res;

	CS_ENTER("cuDeviceTotalMem");
	if (!bytes)
		return CUDA_ERROR_INVALID_VALUE;
	res = device_total_mem(&total, dev);
	if (res == CUDA_SUCCESS)
		*bytes = total > 0xffffffffUL ? 0xffffffffU : (unsigned int)total;
	return res;
}

/* Values are those of a small Ampere-class part (compute capability 8.0). */
static int cs_attribute(CUdevice_attribute attrib, CUdevice dev, int *value)
{
	switch (attrib) {
	case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK: *value = 1024; break;
	case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X: *value = 1024; break;
	case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y: *value = 1024; break;
	case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z: *value = 64; break;
	case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X: *value = 2147483647; break;
	case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y: *value = 65535; break;
	case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z: *value = 65535; break;
	case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK: *value = 49152; break;
	case CU_DEVICE_ATTRIBUTE_TOTAL_CONSTANT_MEMORY: *value = 65536; break;
	case CU_DEVICE_ATTRIBUTE_WARP_SIZE: *value = 32; break;
	case CU_DEVICE_ATTRIBUTE_MAX_PITCH: *value = 2147483647; break;
	case CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK: *value = 65536; break;
	case CU_DEVICE_ATTRIBUTE_CLOCK_RATE: *value = 1410000; break;
	case CU_DEVICE_ATTRIBUTE_TEXTURE_ALIGNMENT: *value = 512; break;
	case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT: *value = 8; break;
	case CU_DEVICE_ATTRIBUTE_KERNEL_EXEC_TIMEOUT: *value = 0; break;
	case CU_DEVICE_ATTRIBUTE_INTEGRATED: *value = 0; break;
	case CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY: *value = 0; break;
	case CU_DEVICE_ATTRIBUTE_COMPUTE_MODE: *value = 0; break;
	case CU_DEVICE_ATTRIBUTE_CONCURRENT_KERNELS: *value = 1; break;
	case CU_DEVICE_ATTRIBUTE_ECC_ENABLED: *value = 0; break;
	case CU_DEVICE_ATTRIBUTE_PCI_BUS_ID: *value = 0x10 + dev; break;
	case CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID: *value = 0; break;
	case CU_DEVICE_ATTRIBUTE_TCC_DRIVER: *value = 0; break;
	case CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE: *value = 1215000; break;
	case CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH: *value = 5120; break;
	case CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE: *value = 40 << 20; break;
	case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR: *value = 2048; break;
	case CU_DEVICE_ATTRIBUTE_ASYNC_ENGINE_COUNT: *value = 2; break;
	case CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING: *value = 1; break;
	case CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID: *value = 0; break;
	case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: *value = 8; break;
	case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: *value = 0; break;
	case CU_DEVICE_ATTRIBUTE_STREAM_PRIORITIES_SUPPORTED: *value = 1; break;
	case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR: *value = 167936; break;
	case CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_MULTIPROCESSOR: *value = 65536; break;
	case CU_DEVICE_ATTRIBUTE_MANAGED_MEMORY: *value = 0; break;
	case CU_DEVICE_ATTRIBUTE_MULTI_GPU_BOARD: *value = 0; break;
	case CU_DEVICE_ATTRIBUTE_PAGEABLE_MEMORY_ACCESS: *value = 0; break;
	case CU_DEVICE_ATTRIBUTE_CONCURRENT_MANAGED_ACCESS: *value = 0; break;
	case CU_DEVICE_ATTRIBUTE_COOPERATIVE_LAUNCH: *value = 0; break;
	case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN: *value = 166912; break;
	case CU_DEVICE_ATTRIBUTE_HOST_REGISTER_SUPPORTED: *value = 0; break;
	case CU_DEVICE_ATTRIBUTE_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED: *value = 1; break;
	case CU_DEVICE_ATTRIBUTE_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR_SUPPORTED: *value = 1; break;
	case CU_DEVICE_ATTRIBUTE_GENERIC_COMPRESSION_SUPPORTED: *value = 0; break;
	case CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED: *value = 1; break;
	case CU_DEVICE_ATTRIBUTE_GPU_DIRECT_RDMA_SUPPORTED: *value = 0; break;
	case CU_DEVICE_ATTRIBUTE_MEMPOOL_SUPPORTED_HANDLE_TYPES: *value = 0; break;
	case CU_DEVICE_ATTRIBUTE_HANDLE_TYPE_FABRIC_SUPPORTED: *value = 0; break;
	default:
		if ((int)attrib <= 0 || (int)attrib > 200)
			return -EINVAL;
		*value = 0;	/* an attribute cudasim does not model: "no" */
		break;
	}
	return 0;
}

CS_API CUresult cuDeviceGetAttribute(int *pi, CUdevice_attribute attrib, CUdevice dev)
{
	CS_ENTER("cuDeviceGetAttribute");
	CS_DEV_PROLOGUE(dev);
	if (!pi || cs_attribute(attrib, dev, pi))
		return CUDA_ERROR_INVALID_VALUE;
	return CUDA_SUCCESS;
}

CS_API CUresult cuDeviceComputeCapability(int *major, int *minor, CUdevice dev)
{
	CS_ENTER("cuDeviceComputeCapability");
	CS_DEV_PROLOGUE(dev);
	if (!major || !minor)
		return CUDA_ERROR_INVALID_VALUE;
	*major = 8;
	*minor = 0;
	return CUDA_SUCCESS;
}

CS_API CUresult cuDeviceGetPCIBusId(char *pciBusId, int len, CUdevice dev)
{
	CS_ENTER("cuDeviceGetPCIBusId");
	CS_DEV_PROLOGUE(dev);
	if (!pciBusId || len <= 0)
		return CUDA_ERROR_INVALID_VALUE;
	snprintf(pciBusId, len, "0000:%02x:00.0", 0x10 + dev);
	return CUDA_SUCCESS;
}

CS_API CUresult cuDeviceCanAccessPeer(int *canAccessPeer, CUdevice dev, CUdevice peerDev)
{
	CS_ENTER("cuDeviceCanAccessPeer");
	CS_DEV_PROLOGUE(dev);
	if (!cs_dev_valid(peerDev))
		return CUDA_ERROR_INVALID_DEVICE;
	if (!canAccessPeer)
		return CUDA_ERROR_INVALID_VALUE;
	*canAccessPeer = dev != peerDev;
	return CUDA_SUCCESS;
}

CS_API CUresult cuDeviceGetDefaultMemPool(CUmemoryPool *pool_out, CUdevice dev)
{
	CS_ENTER("cuDeviceGetDefaultMemPool");
	CS_DEV_PROLOGUE(dev);
	if (!pool_out)
		return CUDA_ERROR_INVALID_VALUE;
	*pool_out = (CUmemoryPool)&cs.dev[dev].pool;
	return CUDA_SUCCESS;
}

CS_API CUresult cuDeviceGetMemPool(CUmemoryPool *pool, CUdevice dev)
{
	CS_ENTER("cuDeviceGetMemPool");
	CS_DEV_PROLOGUE(dev);
	if (!pool)
		return CUDA_ERROR_INVALID_VALUE;
	*pool = (CUmemoryPool)&cs.dev[dev].pool;
	return CUDA_SUCCESS;
}

/*
 * Fork: the child gets a copy of device memory, as a child gets a copy of
 * host memory, so parent and child never write each other's allocations.
 * Each device memfd is copied into a fresh one and every mapping of it is
 * replaced at the same address with the same protection.
 */
/* Lock order: cs.lock, then the counters' lock (cuInit installs
 * CUDASIM_FAIL with cs.lock held). */
static void cs_atfork_prepare(void)
{
	pthread_mutex_lock(&cs.lock);
	cs_counters_atfork_prepare();
}

static void cs_atfork_parent(void)
{
	cs_counters_atfork_parent();
	pthread_mutex_unlock(&cs.lock);
}

static int cs_region_prot(struct cs_region *r)
{
	int prot = PROT_NONE, i;

	if (r->kind == CS_REGION_ALLOC)
		return PROT_READ | PROT_WRITE;
	for (i = 0; i < CS_MAX_DEVICES; i++) {
		if (r->access[i] == CU_MEM_ACCESS_FLAGS_PROT_READWRITE)
			prot = PROT_READ | PROT_WRITE;
		else if (r->access[i] == CU_MEM_ACCESS_FLAGS_PROT_READ && prot == PROT_NONE)
			prot = PROT_READ;
	}
	return prot;
}

static void cs_device_clone(struct cs_device *d)
{
	struct cs_extent *e;
	struct stat st;
	size_t i;
	int fd;

	fd = memfd_create("cudasim-gpu-child", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, d->capacity) || fstat(fd, &st))
		goto out_fail;
	for (e = d->extents; e; e = e->next) {
		loff_t in = e->off, out = e->off;
		size_t left = e->size;

		while (left) {
			ssize_t n = copy_file_range(d->memfd, &in, fd, &out, left, 0);

			if (n <= 0)
				goto out_fail;
			left -= n;
		}
	}
	for (i = 0; i < cs.regions.nr; i++) {
		struct cs_region *r = cs.regions.v[i];
		void *addr;

		if (r->dev != d->ordinal)
			continue;
		if (r->kind == CS_REGION_ALLOC) {
			if (!r->phys)
				continue;	/* paged: below */
			addr = mmap(r->map_base, r->map_len, PROT_READ | PROT_WRITE,
				    MAP_SHARED | MAP_FIXED, fd,
				    r->phys->off & ~(size_t)(getpagesize() - 1));
		} else {
			if (r->handle->fd != d->memfd)
				continue;	/* a foreign import stays shared */
			addr = mmap((void *)r->start, r->size, cs_region_prot(r),
				    MAP_SHARED | MAP_FIXED, fd,
				    r->handle->fd_off + r->offset);
		}
		if (addr == MAP_FAILED)
			goto out_fail;
	}
	if (__cs_paged_remap(d, fd))
		goto out_fail;
	for (i = 0; i < cs.handles.nr; i++) {
		struct cs_handle *h = cs.handles.v[i];

		if (h->fd == d->memfd)
			h->fd = fd;
	}
	close(d->memfd);
	d->memfd = fd;
	d->memfd_dev = st.st_dev;
	d->memfd_ino = st.st_ino;
	return;
out_fail:
	fprintf(stderr, "cudasim: fork: cannot copy device %d memory; child shares it\n",
		d->ordinal);
	if (fd >= 0)
		close(fd);
}

static void cs_atfork_child(void)
{
	size_t k;
	int i;

	if (cs.initialized) {
		for (i = 0; i < cs.ndev; i++)
			cs_device_clone(&cs.dev[i]);
		/* What the parent holds is the parent's to free: the child's
		 * leak check reports only what the child itself creates. */
		for (k = 0; k < cs.regions.nr; k++)
			((struct cs_region *)cs.regions.v[k])->inherited = true;
		for (k = 0; k < cs.handles.nr; k++)
			((struct cs_handle *)cs.handles.v[k])->inherited = true;
		for (k = 0; k < cs.resvs.nr; k++)
			((struct cs_resv *)cs.resvs.v[k])->inherited = true;
		__cs_host_atfork_child();
	}
	/* The forking thread took both locks in prepare and is the child's
	 * only thread: releasing them leaves them as good as new. */
	cs_counters_atfork_child();
	pthread_mutex_unlock(&cs.lock);
}

__attribute__((constructor)) static void cs_constructor(void)
{
	pthread_atfork(cs_atfork_prepare, cs_atfork_parent, cs_atfork_child);
}
