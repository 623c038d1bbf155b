// SPDX-License-Identifier: MIT
/*
 * test_cudasim_vmm.c - cudasim: the virtual memory management calls, fault
 * injection, the leak check, several devices, threads and fork.
 */
#include "cudasim_test.h"

/* ------------------------------------------------------------------- vmm */

START_TEST(test_granularity)
{
	CUmemAllocationProp prop = dev_prop(0, 0);
	size_t g;

	sim_up(NULL, NULL);
	CK(cuMemGetAllocationGranularity(&g, &prop, CU_MEM_ALLOC_GRANULARITY_MINIMUM));
	ck_assert_uint_eq(g, GRAN);
	CK(cuMemGetAllocationGranularity(&g, &prop, CU_MEM_ALLOC_GRANULARITY_RECOMMENDED));
	ck_assert_uint_eq(g, GRAN);
	prop.location.id = 3;
	CKE(cuMemGetAllocationGranularity(&g, &prop, CU_MEM_ALLOC_GRANULARITY_MINIMUM),
	    CUDA_ERROR_INVALID_DEVICE);
	prop = dev_prop(0, 0);
	prop.type = CU_MEM_ALLOCATION_TYPE_INVALID;
	CKE(cuMemGetAllocationGranularity(&g, &prop, CU_MEM_ALLOC_GRANULARITY_MINIMUM),
	    CUDA_ERROR_INVALID_VALUE);
	sim_down();
}
END_TEST

START_TEST(test_reserve)
{
	CUdeviceptr va, va2;

	sim_up(NULL, NULL);
	CKE(cuMemAddressReserve(&va, GRAN + 4096, 0, 0, 0), CUDA_ERROR_INVALID_VALUE);
	CKE(cuMemAddressReserve(&va, 0, 0, 0, 0), CUDA_ERROR_INVALID_VALUE);
	CKE(cuMemAddressReserve(&va, GRAN, 3 * MiB, 0, 0), CUDA_ERROR_INVALID_VALUE);
	CK(cuMemAddressReserve(&va, 4 * GRAN, 64 * MiB, 0, 0));
	ck_assert_uint_eq(va % (64 * MiB), 0);
	/* unreachable through the host until mapped */
	CKE(cuMemsetD8(va, 1, 16), CUDA_ERROR_INVALID_VALUE);
	CKE(cuMemAddressFree(va, GRAN), CUDA_ERROR_INVALID_VALUE);
	CKE(cuMemAddressFree(va + GRAN, 3 * GRAN), CUDA_ERROR_INVALID_VALUE);
	CK(cuMemAddressFree(va, 4 * GRAN));
	/* the address hint is honoured when free */
	CK(cuMemAddressReserve(&va2, 4 * GRAN, 0, va, 0));
	ck_assert_uint_eq(va2, va);
	CK(cuMemAddressFree(va2, 4 * GRAN));
	sim_down();
}
END_TEST

START_TEST(test_vmm_roundtrip)
{
	unsigned char in[8192], out[8192];
	struct cudasim_stats st;
	struct vrange v;
	size_t i;

	sim_up(NULL, NULL);
	vrange_up(&v, 2 * GRAN, 0);
	CK(cudasim_stats(0, &st));
	ck_assert_uint_eq(st.handles, 1);
	ck_assert_uint_eq(st.mappings, 1);
	ck_assert_uint_eq(st.reservations, 1);
	ck_assert_uint_eq(st.bytes_used, 2 * GRAN);
	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 7 + 3);
	CK(cuMemcpyHtoD(v.va + GRAN - 4096, in, sizeof(in)));
	CK(cuMemcpyDtoH(out, v.va + GRAN - 4096, sizeof(out)));
	ck_assert_mem_eq(in, out, sizeof(in));
	ck_assert_int_eq(memcmp((void *)(v.va + GRAN - 4096), in, sizeof(in)), 0);
	CK(cuMemsetD32(v.va, 0xdeadbeef, GRAN / 4));
	ck_assert_uint_eq(((uint32_t *)v.va)[1000], 0xdeadbeef);
	CK(cuMemcpyDtoD(v.va + GRAN, v.va, 4096));
	ck_assert_uint_eq(((uint32_t *)(v.va + GRAN))[7], 0xdeadbeef);
	vrange_down(&v);
	CK(cudasim_stats(0, &st));
	ck_assert_uint_eq(st.handles + st.mappings + st.reservations + st.bytes_used, 0);
	sim_down();
}
END_TEST

START_TEST(test_vmm_errors)
{
	CUmemAllocationProp prop = dev_prop(0, 0);
	CUmemGenericAllocationHandle h, h2;
	unsigned char buf[64] = { 1 };
	CUdeviceptr va;

	sim_up(NULL, NULL);
	CKE(cuMemCreate(&h, GRAN + 1, &prop, 0), CUDA_ERROR_INVALID_VALUE);
	CKE(cuMemCreate(&h, GRAN, &prop, 1), CUDA_ERROR_INVALID_VALUE);
	CK(cuMemCreate(&h, 2 * GRAN, &prop, 0));
	CK(cuMemCreate(&h2, GRAN, &prop, 0));
	CK(cuMemAddressReserve(&va, 8 * GRAN, 0, 0, 0));

	/* misaligned address, size, offset; bad handle; past the handle:
	 * NOT_SUPPORTED, as the driver answers (measured on an H200) */
	CKE(cuMemMap(va + 4096, GRAN, 0, h, 0), CUDA_ERROR_NOT_SUPPORTED);
	CKE(cuMemMap(va, GRAN + 4096, 0, h, 0), CUDA_ERROR_NOT_SUPPORTED);
	CKE(cuMemMap(va, GRAN, 4096, h, 0), CUDA_ERROR_NOT_SUPPORTED);
	CKE(cuMemMap(va, GRAN, 0, 0xdeadULL, 0), CUDA_ERROR_NOT_SUPPORTED);
	CKE(cuMemMap(va, 3 * GRAN, 0, h, 0), CUDA_ERROR_NOT_SUPPORTED);
	CKE(cuMemMap(va, 2 * GRAN, GRAN, h, 0), CUDA_ERROR_NOT_SUPPORTED);
	CKE(cuMemMap(va, GRAN, 0, h, 1), CUDA_ERROR_INVALID_VALUE);
	/* past the reservation: refused here (the driver may accept it) */
	CKE(cuMemMap(va + 7 * GRAN, 2 * GRAN, 0, h, 0), CUDA_ERROR_INVALID_VALUE);

	CK(cuMemMap(va, 2 * GRAN, 0, h, 0));
	/* map over a mapping, partially or wholly */
	CKE(cuMemMap(va + GRAN, GRAN, 0, h2, 0), CUDA_ERROR_INVALID_VALUE);
	CKE(cuMemMap(va, GRAN, 0, h2, 0), CUDA_ERROR_INVALID_VALUE);
	/* access before cuMemSetAccess: refused, never a fault */
	CKE(cuMemcpyHtoD(va, buf, sizeof(buf)), CUDA_ERROR_INVALID_VALUE);
	CKE(cuMemcpyDtoH(buf, va, sizeof(buf)), CUDA_ERROR_INVALID_VALUE);
	CKE(cuMemsetD8(va, 0, 10), CUDA_ERROR_INVALID_VALUE);
	ck_assert_int_ne(cudasim_check_range(va, 8), 0);
	/* set access on part of a mapping or on unmapped VA */
	CKE(cuMemUnmap(va, GRAN), CUDA_ERROR_INVALID_VALUE);		/* partial */
	CK(cuMemUnmap(va + 2 * GRAN, GRAN));			/* nothing: no-op */
	CKE(cuMemAddressFree(va, 8 * GRAN), CUDA_ERROR_INVALID_VALUE);	/* mapped */

	CK(cuMemMap(va + 2 * GRAN, GRAN, 0, h2, 0));
	set_rw(va, 3 * GRAN, 0);					/* both */
	CK(cuMemcpyHtoD(va + 2 * GRAN - 32, buf, sizeof(buf)));	/* spans both */
	CKE(cuMemcpyHtoD(va + 3 * GRAN - 32, buf, sizeof(buf)), CUDA_ERROR_INVALID_VALUE);
	ck_assert_int_eq(cudasim_check_range(va, 3 * GRAN), 0);
	ck_assert_int_ne(cudasim_check_range(va, 3 * GRAN + 1), 0);
	CKE(cuMemUnmap(va, 2 * GRAN + GRAN / 2), CUDA_ERROR_INVALID_VALUE);
	CK(cuMemUnmap(va, 3 * GRAN));		/* two whole mappings at once */
	CK(cuMemRelease(h2));
	CKE(cuMemRelease(h2), CUDA_ERROR_INVALID_VALUE);
	CK(cuMemRelease(h));
	CK(cuMemAddressFree(va, 8 * GRAN));
	sim_down();
}
END_TEST

/*
 * A chunk cut from a larger allocation, mapped at an offset (gpuvm maps
 * its chunks so): each mapping shows its own part of the handle, in any
 * order and place, and the memory lives until the last one goes.
 */
START_TEST(test_vmm_map_at_offset)
{
	CUmemAllocationProp prop = dev_prop(0, 0);
	CUmemGenericAllocationHandle h;
	struct cudasim_stats st;
	CUdeviceptr va;
	uint32_t v;

	sim_up(NULL, NULL);
	CK(cuMemCreate(&h, 3 * GRAN, &prop, 0));
	CK(cuMemAddressReserve(&va, 4 * GRAN, 0, 0, 0));
	/* the third part first, then the first, apart, and the second */
	CK(cuMemMap(va, GRAN, 2 * GRAN, h, 0));
	CK(cuMemMap(va + 2 * GRAN, GRAN, 0, h, 0));
	CK(cuMemMap(va + 3 * GRAN, GRAN, GRAN, h, 0));
	set_rw(va, GRAN, 0);
	set_rw(va + 2 * GRAN, 2 * GRAN, 0);
	CK(cuMemsetD32(va, 0x33333333, GRAN / 4));
	CK(cuMemsetD32(va + 2 * GRAN, 0x11111111, GRAN / 4));
	CK(cuMemsetD32(va + 3 * GRAN, 0x22222222, GRAN / 4));
	CK(cuMemcpyDtoH(&v, va + GRAN - 4, 4));
	ck_assert_uint_eq(v, 0x33333333);
	CK(cuMemcpyDtoH(&v, va + 3 * GRAN, 4));
	ck_assert_uint_eq(v, 0x22222222);
	/* the same part mapped twice shows the same bytes */
	CK(cuMemUnmap(va + 2 * GRAN, GRAN));
	CK(cuMemMap(va + 2 * GRAN, GRAN, 2 * GRAN, h, 0));
	set_rw(va + 2 * GRAN, GRAN, 0);
	CK(cuMemcpyDtoH(&v, va + 2 * GRAN + 8, 4));
	ck_assert_uint_eq(v, 0x33333333);
	CKE(cuMemMap(va + GRAN, GRAN, 3 * GRAN, h, 0), CUDA_ERROR_NOT_SUPPORTED);
	/* released while mapped: held until the last mapping goes */
	CK(cuMemRelease(h));
	CK(cudasim_stats(0, &st));
	ck_assert_uint_eq(st.bytes_used, 3 * GRAN);
	CK(cuMemUnmap(va, GRAN));
	CK(cuMemUnmap(va + 2 * GRAN, 2 * GRAN));
	CK(cudasim_stats(0, &st));
	ck_assert_uint_eq(st.handles + st.mappings + st.bytes_used, 0);
	CK(cuMemAddressFree(va, 4 * GRAN));
	sim_down();
}
END_TEST

START_TEST(test_vmm_read_only)
{
	CUmemAllocationProp prop = dev_prop(0, 0);
	CUmemGenericAllocationHandle h;
	unsigned long long flags;
	CUmemLocation loc = { CU_MEM_LOCATION_TYPE_DEVICE, 0 };
	CUmemAccessDesc d;
	char buf[16];
	CUdeviceptr va;

	sim_up(NULL, NULL);
	CK(cuMemCreate(&h, GRAN, &prop, 0));
	CK(cuMemAddressReserve(&va, GRAN, 0, 0, 0));
	CK(cuMemMap(va, GRAN, 0, h, 0));
	CK(cuMemGetAccess(&flags, &loc, va));
	ck_assert_uint_eq(flags, CU_MEM_ACCESS_FLAGS_PROT_NONE);
	memset(&d, 0, sizeof(d));
	d.location = loc;
	d.flags = CU_MEM_ACCESS_FLAGS_PROT_READ;
	CK(cuMemSetAccess(va, GRAN, &d, 1));
	CK(cuMemGetAccess(&flags, &loc, va + 100));
	ck_assert_uint_eq(flags, CU_MEM_ACCESS_FLAGS_PROT_READ);
	CK(cuMemcpyDtoH(buf, va, sizeof(buf)));
	CKE(cuMemcpyHtoD(va, buf, sizeof(buf)), CUDA_ERROR_INVALID_VALUE);
	ck_assert_int_eq(cudasim_check_access(va, 16, 0), 0);
	ck_assert_int_ne(cudasim_check_access(va, 16, 1), 0);
	d.flags = (CUmemAccess_flags)2;
	CKE(cuMemSetAccess(va, GRAN, &d, 1), CUDA_ERROR_INVALID_VALUE);
	d.flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
	d.location.id = 4;
	CKE(cuMemSetAccess(va, GRAN, &d, 1), CUDA_ERROR_INVALID_DEVICE);
	CK(cuMemUnmap(va, GRAN));
	CKE(cuMemGetAccess(&flags, &loc, va), CUDA_ERROR_INVALID_VALUE);
	CK(cuMemRelease(h));
	CK(cuMemAddressFree(va, GRAN));
	sim_down();
}
END_TEST

START_TEST(test_vmm_release_while_mapped)
{
	CUmemGenericAllocationHandle again;
	CUmemAllocationProp prop;
	struct cudasim_stats st;
	struct vrange v;

	sim_up(NULL, NULL);
	vrange_up(&v, GRAN, 0);
	CK(cuMemsetD8(v.va, 0x5a, GRAN));
	CK(cuMemRelease(v.h));				/* succeeds while mapped */
	CKE(cuMemGetAllocationPropertiesFromHandle(&prop, v.h), CUDA_ERROR_INVALID_VALUE);
	CK(cudasim_stats(0, &st));
	ck_assert_uint_eq(st.handles, 1);		/* memory still there */
	ck_assert_uint_eq(((unsigned char *)v.va)[GRAN - 1], 0x5a);
	CK(cuMemRetainAllocationHandle(&again, (void *)(v.va + 4096)));
	ck_assert_uint_eq(again, v.h);
	CK(cuMemGetAllocationPropertiesFromHandle(&prop, again));
	ck_assert_int_eq(prop.location.id, 0);
	ck_assert_int_eq(prop.requestedHandleTypes, CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR);
	CK(cuMemRelease(again));
	CKE(cuMemRetainAllocationHandle(&again, (void *)&st), CUDA_ERROR_INVALID_VALUE);
	CK(cuMemUnmap(v.va, GRAN));			/* last user: freed */
	CK(cudasim_stats(0, &st));
	ck_assert_uint_eq(st.handles, 0);
	ck_assert_uint_eq(st.bytes_used, 0);
	CK(cuMemAddressFree(v.va, GRAN));
	sim_down();
}
END_TEST

START_TEST(test_vmm_address_range_and_attributes)
{
	CUmemAllocationProp prop = dev_prop(0, 0);
	CUmemGenericAllocationHandle h1, h2;
	CUdeviceptr va, base, start, p;
	size_t size, rsize;
	unsigned int type;
	unsigned long long handle_types;
	CUcontext ctx;
	int mapped, ord, ipc;
	CUpointer_attribute attrs[3] = { CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
					 CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL,
					 CU_POINTER_ATTRIBUTE_MAPPED };
	void *data[3] = { &type, &ord, &mapped };

	sim_up(NULL, NULL);
	CK(cuMemCreate(&h1, GRAN, &prop, 0));
	CK(cuMemCreate(&h2, 2 * GRAN, &prop, 0));
	CK(cuMemAddressReserve(&va, 8 * GRAN, 0, 0, 0));
	CK(cuMemMap(va, GRAN, 0, h1, 0));
	CK(cuMemMap(va + GRAN, 2 * GRAN, 0, h2, 0));
	set_rw(va, 3 * GRAN, 0);
	/* cuMemGetAddressRange: the one mapping holding the pointer */
	CK(cuMemGetAddressRange(&base, &size, va + GRAN + 5));
	ck_assert_uint_eq(base, va + GRAN);
	ck_assert_uint_eq(size, 2 * GRAN);
	CK(cuMemGetAddressRange(&base, &size, va + 5));
	ck_assert_uint_eq(base, va);
	ck_assert_uint_eq(size, GRAN);
	CKE(cuMemGetAddressRange(&base, &size, va + 4 * GRAN), CUDA_ERROR_NOT_FOUND);
	/* RANGE_START/SIZE: the reservation; MAPPING_*: the mapping */
	CK(cuPointerGetAttribute(&start, CU_POINTER_ATTRIBUTE_RANGE_START_ADDR, va + GRAN + 5));
	ck_assert_uint_eq(start, va);
	CK(cuPointerGetAttribute(&rsize, CU_POINTER_ATTRIBUTE_RANGE_SIZE, va + GRAN + 5));
	ck_assert_uint_eq(rsize, 8 * GRAN);
	CK(cuPointerGetAttribute(&start, CU_POINTER_ATTRIBUTE_MAPPING_BASE_ADDR, va + GRAN + 5));
	ck_assert_uint_eq(start, va + GRAN);
	CK(cuPointerGetAttribute(&rsize, CU_POINTER_ATTRIBUTE_MAPPING_SIZE, va + GRAN + 5));
	ck_assert_uint_eq(rsize, 2 * GRAN);
	CK(cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, va));
	ck_assert_uint_eq(type, CU_MEMORYTYPE_DEVICE);
	CK(cuPointerGetAttribute(&p, CU_POINTER_ATTRIBUTE_DEVICE_POINTER, va + 8));
	ck_assert_uint_eq(p, va + 8);
	CK(cuPointerGetAttribute(&ipc, CU_POINTER_ATTRIBUTE_IS_LEGACY_CUDA_IPC_CAPABLE, va));
	ck_assert_int_eq(ipc, 0);
	/* reserved but unmapped VA is unknown to the pointer queries */
	CKE(cuPointerGetAttribute(&mapped, CU_POINTER_ATTRIBUTE_MAPPED, va + 4 * GRAN),
	    CUDA_ERROR_INVALID_VALUE);
	CK(cuPointerGetAttribute(&ctx, CU_POINTER_ATTRIBUTE_CONTEXT, va));
	ck_assert_ptr_null(ctx);
	handle_types = ~0ULL;
	CK(cuPointerGetAttribute(&handle_types, CU_POINTER_ATTRIBUTE_ALLOWED_HANDLE_TYPES, va));
	ck_assert_uint_eq(handle_types, 0);
	CKE(cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, va + 4 * GRAN),
	    CUDA_ERROR_INVALID_VALUE);
	CK(cuPointerGetAttributes(3, attrs, data, va + 100));
	ck_assert_uint_eq(type, CU_MEMORYTYPE_DEVICE);
	ck_assert_int_eq(ord, 0);
	ck_assert_int_eq(mapped, 1);
	/* foreign pointers: defaults, not an error */
	CK(cuPointerGetAttributes(3, attrs, data, (CUdeviceptr)(uintptr_t)&type));
	ck_assert_uint_eq(type, 0);
	CK(cuMemUnmap(va, GRAN));
	CK(cuMemUnmap(va + GRAN, 2 * GRAN));
	CK(cuMemRelease(h1));
	CK(cuMemRelease(h2));
	CK(cuMemAddressFree(va, 8 * GRAN));

	/* cuMemAlloc memory: all ranges are the allocation */
	CK(cuMemAlloc(&p, 10000));
	CK(cuPointerGetAttribute(&start, CU_POINTER_ATTRIBUTE_RANGE_START_ADDR, p + 9000));
	ck_assert_uint_eq(start, p);
	CK(cuPointerGetAttribute(&rsize, CU_POINTER_ATTRIBUTE_RANGE_SIZE, p + 9000));
	ck_assert_uint_ge(rsize, 10000);
	CK(cuPointerGetAttribute(&ipc, CU_POINTER_ATTRIBUTE_IS_LEGACY_CUDA_IPC_CAPABLE, p));
	ck_assert_int_eq(ipc, 1);
	CK(cuMemFree(p));
	sim_down();
}
END_TEST

START_TEST(test_vmm_export_import)
{
	CUmemAllocationProp prop = dev_prop(0, CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR);
	CUmemAllocationProp noexp = dev_prop(0, 0);
	CUmemGenericAllocationHandle h, imp, h2;
	CUdeviceptr va;
	int fd, status;
	pid_t pid;

	sim_up(NULL, NULL);
	CK(cuMemCreate(&h, GRAN, &prop, 0));
	CK(cuMemCreate(&h2, GRAN, &noexp, 0));
	CKE(cuMemExportToShareableHandle(&fd, h2, CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR, 0),
	    CUDA_ERROR_INVALID_VALUE);
	CKE(cuMemExportToShareableHandle(&fd, h, CU_MEM_HANDLE_TYPE_WIN32, 0),
	    CUDA_ERROR_NOT_SUPPORTED);
	CK(cuMemExportToShareableHandle(&fd, h, CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR, 0));
	ck_assert_int_ge(fd, 0);
	CK(cuMemImportFromShareableHandle(&imp, (void *)(uintptr_t)fd,
					  CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR));
	/* a new handle to the same memory, which it keeps alive */
	ck_assert_uint_ne(imp, h);
	CK(cuMemRelease(h));
	CK(cuMemGetAllocationPropertiesFromHandle(&noexp, imp));
	h = imp;
	CKE(cuMemImportFromShareableHandle(&imp, (void *)(uintptr_t)0,
					   CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR),
	    CUDA_ERROR_INVALID_VALUE);

	/* another process imports it and writes; we see the data */
	CK(cuMemAddressReserve(&va, GRAN, 0, 0, 0));
	CK(cuMemMap(va, GRAN, 0, h, 0));
	set_rw(va, GRAN, 0);
	CK(cuMemsetD8(va, 0, GRAN));
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {
		CUmemGenericAllocationHandle ch;
		CUdeviceptr cva;
		CUmemAccessDesc d;
		int ok;

		memset(&d, 0, sizeof(d));
		d.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
		d.flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
		ok = cuMemImportFromShareableHandle(&ch, (void *)(uintptr_t)fd,
					CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR) == 0 &&
		     cuMemAddressReserve(&cva, GRAN, 0, 0, 0) == 0 &&
		     cuMemMap(cva, GRAN, 0, ch, 0) == 0 &&
		     cuMemSetAccess(cva, GRAN, &d, 1) == 0 &&
		     cuMemsetD32(cva, 0x12345678, 16) == 0 &&
		     cuMemUnmap(cva, GRAN) == 0 && cuMemRelease(ch) == 0 &&
		     cuMemAddressFree(cva, GRAN) == 0;
		exit(ok ? 0 : 1);	/* leak-checked: it freed what it made */
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_uint_eq(((uint32_t *)va)[15], 0x12345678);
	close(fd);
	CK(cuMemUnmap(va, GRAN));
	CK(cuMemAddressFree(va, GRAN));
	CK(cuMemRelease(h));
	CK(cuMemRelease(h2));
	sim_down();
}
END_TEST

/* ----------------------------------------------------------------- fault */

START_TEST(test_fault_env)
{
	CUmemAllocationProp prop = dev_prop(0, 0);
	CUmemGenericAllocationHandle h[3];
	CUdeviceptr va;

	setenv("CUDASIM_FAIL", "cuMemCreate:2,cuMemMap_v2:2+", 1);
	sim_up(NULL, NULL);
	CK(cuMemCreate(&h[0], GRAN, &prop, 0));
	CKE(cuMemCreate(&h[1], GRAN, &prop, 0), CUDA_ERROR_OUT_OF_MEMORY);
	CK(cuMemCreate(&h[1], GRAN, &prop, 0));
	CK(cuMemAddressReserve(&va, 4 * GRAN, 0, 0, 0));
	CK(cuMemMap(va, GRAN, 0, h[0], 0));
	CKE(cuMemMap(va + GRAN, GRAN, 0, h[1], 0), CUDA_ERROR_OUT_OF_MEMORY);
	CKE(cuMemMap(va + GRAN, GRAN, 0, h[1], 0), CUDA_ERROR_OUT_OF_MEMORY);
	ck_assert_uint_eq(cudasim_call_count("cuMemCreate"), 3);
	ck_assert_uint_eq(cudasim_call_count("cuMemMap_v2"), 3);
	CK(cuMemUnmap(va, GRAN));
	CK(cuMemRelease(h[0]));
	CK(cuMemRelease(h[1]));
	CK(cuMemAddressFree(va, 4 * GRAN));
	sim_down();
}
END_TEST

START_TEST(test_fault_runtime)
{
	CUdeviceptr p;
	char buf[8];

	sim_up(NULL, NULL);
	ck_assert_int_eq(cudasim_set_fail("cuMemAlloc_v2:2,cuMemcpyHtoD:1=999"), 0);
	CK(cuMemAlloc(&p, 64));
	CKE(cuMemcpyHtoD(p, buf, 8), CUDA_ERROR_UNKNOWN);
	CK(cuMemcpyHtoD(p, buf, 8));
	CK(cuMemFree(p));
	CKE(cuMemAlloc(&p, 64), CUDA_ERROR_OUT_OF_MEMORY);
	CK(cuMemAlloc(&p, 64));
	CK(cuMemFree(p));
	ck_assert_int_eq(cudasim_set_fail("cuMemAlloc:0"), -EINVAL);
	ck_assert_int_eq(cudasim_set_fail("cuMemAlloc:1,"), -EINVAL);
	ck_assert_int_eq(cudasim_set_fail("bogus:1"), -EINVAL);
	ck_assert_int_eq(cudasim_set_fail("cuMemAlloc:1x"), -EINVAL);
	ck_assert_int_eq(cudasim_set_fail(NULL), 0);
	CK(cuMemAlloc(&p, 64));
	CK(cuMemFree(p));
	ck_assert_uint_ge(cudasim_call_count("cuMemAlloc"), 4);
	ck_assert_uint_eq(cudasim_call_count("cuNeverCalled"), 0);
	sim_down();
}
END_TEST

/* ------------------------------------------------------------------ leak */

static void child_leaks(void)
{
	CUdeviceptr p, va;

	setenv("CUDASIM_LEAKCHECK", "1", 1);
	sim_up(NULL, NULL);
	cuMemAlloc(&p, 4096);
	cuMemAddressReserve(&va, GRAN, 0, 0, 0);
	exit(0);
}

static void child_leaks_failing(void)
{
	CUdeviceptr p;

	setenv("CUDASIM_LEAKCHECK", "1", 1);
	sim_up(NULL, NULL);
	cuMemAlloc(&p, 4096);
	exit(3);
}

static void child_clean(void)
{
	CUdeviceptr p;

	setenv("CUDASIM_LEAKCHECK", "1", 1);
	sim_up(NULL, NULL);
	cuMemAlloc(&p, 4096);
	cuMemFree(p);
	sim_down();
	exit(0);
}

START_TEST(test_leakcheck)
{
	char err[4096];
	int st;

	st = run_child(child_leaks, err, sizeof(err));
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 66);
	ck_assert_ptr_nonnull(strstr(err, "leak: allocation"));
	ck_assert_ptr_nonnull(strstr(err, "leak: reservation"));
	st = run_child(child_leaks_failing, err, sizeof(err));
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 3);
	ck_assert_ptr_nonnull(strstr(err, "leak: allocation"));
	st = run_child(child_clean, err, sizeof(err));
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	ck_assert_ptr_null(strstr(err, "leak"));
}
END_TEST

/* ----------------------------------------------------- devices, threads */

START_TEST(test_multi_device)
{
	CUmemAllocationProp prop = dev_prop(1, 0);
	CUmemGenericAllocationHandle h;
	struct cudasim_stats s0, s1;
	CUcontext c0, c1;
	CUdeviceptr va, p;
	size_t free_b, total;
	int ord;
	char buf[32] = "x";

	setenv("CUDASIM_DEVICES", "2", 1);
	setenv("CUDASIM_MEM", "32M", 1);
	CK(cuInit(0));
	CK(cuDevicePrimaryCtxRetain(&c0, 0));
	CK(cuDevicePrimaryCtxRetain(&c1, 1));
	CK(cuCtxSetCurrent(c1));
	CK(cuMemAlloc(&p, 4 * MiB));
	CK(cuPointerGetAttribute(&ord, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL, p));
	ck_assert_int_eq(ord, 1);
	CK(cuMemGetInfo(&free_b, &total));
	ck_assert_uint_eq(free_b, 28 * MiB);
	CK(cuCtxSetCurrent(c0));
	CK(cuMemGetInfo(&free_b, &total));
	ck_assert_uint_eq(free_b, 32 * MiB);

	CK(cuMemCreate(&h, GRAN, &prop, 0));
	CK(cuMemAddressReserve(&va, GRAN, 0, 0, 0));
	CK(cuMemMap(va, GRAN, 0, h, 0));
	set_rw(va, GRAN, 1);
	/* device 0 has no access to device 1's mapping yet */
	CKE(cuMemcpyHtoD(va, buf, sizeof(buf)), CUDA_ERROR_INVALID_VALUE);
	CK(cuCtxSetCurrent(c1));
	CK(cuMemcpyHtoD(va, buf, sizeof(buf)));
	CK(cuCtxSetCurrent(c0));
	set_rw(va, GRAN, 0);
	CK(cuMemcpyHtoD(va, buf, sizeof(buf)));
	CK(cudasim_stats(0, &s0));
	CK(cudasim_stats(1, &s1));
	ck_assert_uint_eq(s0.handles, 0);
	ck_assert_uint_eq(s1.handles, 1);
	ck_assert_uint_eq(s1.allocations, 1);
	ck_assert_uint_eq(s1.bytes_used, 4 * MiB + GRAN);
	ck_assert_int_eq(cudasim_stats(2, &s0), -ENODEV);
	CK(cuMemUnmap(va, GRAN));
	CK(cuMemRelease(h));
	CK(cuMemAddressFree(va, GRAN));
	CK(cuMemFree(p));
	CK(cuDevicePrimaryCtxRelease(0));
	CK(cuDevicePrimaryCtxRelease(1));
}
END_TEST

static void *thread_hammer(void *arg)
{
	CUmemAllocationProp prop = dev_prop(0, 0);
	unsigned int seed = (unsigned int)(uintptr_t)arg;
	CUmemAccessDesc d;
	int i, bad = 0;

	memset(&d, 0, sizeof(d));
	d.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
	d.flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
	bad |= cuCtxSetCurrent(test_ctx);
	for (i = 0; i < 200 && !bad; i++) {
		CUmemGenericAllocationHandle h;
		CUdeviceptr p, va;
		uint64_t v = seed + i, back = 0;
		size_t sz = 512 + rand_r(&seed) % 100000;

		bad |= cuMemAlloc(&p, sz);
		bad |= cuMemcpyHtoD(p + sz - 8, &v, 8);
		bad |= cuMemcpyDtoH(&back, p + sz - 8, 8);
		bad |= back != v;
		bad |= cuMemFree(p);
		bad |= cuMemAddressReserve(&va, 2 * GRAN, 0, 0, 0);
		bad |= cuMemCreate(&h, GRAN, &prop, 0);
		bad |= cuMemMap(va + GRAN, GRAN, 0, h, 0);
		bad |= cuMemSetAccess(va + GRAN, GRAN, &d, 1);
		bad |= cuMemsetD32(va + GRAN, (unsigned int)v, 1024);
		bad |= ((uint32_t *)(va + GRAN))[1023] != (uint32_t)v;
		bad |= cuMemUnmap(va + GRAN, GRAN);
		bad |= cuMemRelease(h);
		bad |= cuMemAddressFree(va, 2 * GRAN);
	}
	return (void *)(uintptr_t)bad;
}

START_TEST(test_threads)
{
	struct cudasim_stats st;
	pthread_t t[8];
	void *ret;
	int i;

	sim_up("256M", NULL);
	for (i = 0; i < 8; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, thread_hammer,
						(void *)(uintptr_t)(i + 1)), 0);
	for (i = 0; i < 8; i++) {
		ck_assert_int_eq(pthread_join(t[i], &ret), 0);
		ck_assert_ptr_null(ret);
	}
	CK(cudasim_stats(0, &st));
	ck_assert_uint_eq(st.allocations + st.handles + st.mappings + st.reservations, 0);
	ck_assert_uint_eq(st.bytes_used, 0);
	sim_down();
}
END_TEST

START_TEST(test_fork_child_works)
{
	CUdeviceptr p, q;
	struct vrange v;
	int status;
	pid_t pid;

	sim_up(NULL, NULL);
	CK(cuMemAlloc(&p, 4096));
	CK(cuMemsetD8(p, 0x11, 4096));
	vrange_up(&v, GRAN, 0);
	CK(cuMemsetD8(v.va, 0x22, GRAN));
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {
		/* the child sees a copy, can use it and allocate more */
		int ok = ((unsigned char *)p)[100] == 0x11 &&
			 ((unsigned char *)v.va)[100] == 0x22 &&
			 cuMemsetD8(p, 0x33, 4096) == 0 &&
			 cuMemsetD8(v.va, 0x44, GRAN) == 0 &&
			 cuMemAlloc(&q, 8192) == 0 && cuMemFree(q) == 0;
		/* exit(), not _exit(): the leak check must not count what
		 * the child inherited */
		exit(ok ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* the parent's memory is untouched by the child */
	ck_assert_uint_eq(((unsigned char *)p)[100], 0x11);
	ck_assert_uint_eq(((unsigned char *)v.va)[100], 0x22);
	CK(cuMemFree(p));
	vrange_down(&v);
	sim_down();
}
END_TEST

static Suite *cudasim_vmm_suite(void)
{
	Suite *s = suite_create("cudasim-vmm");
	TCase *tc;

	tc = tcase_create("vmm");
	tcase_add_test(tc, test_granularity);
	tcase_add_test(tc, test_reserve);
	tcase_add_test(tc, test_vmm_roundtrip);
	tcase_add_test(tc, test_vmm_errors);
	tcase_add_test(tc, test_vmm_map_at_offset);
	tcase_add_test(tc, test_vmm_read_only);
	tcase_add_test(tc, test_vmm_release_while_mapped);
	tcase_add_test(tc, test_vmm_address_range_and_attributes);
	tcase_add_test(tc, test_vmm_export_import);
	suite_add_tcase(s, tc);

	tc = tcase_create("fault");
	tcase_add_test(tc, test_fault_env);
	tcase_add_test(tc, test_fault_runtime);
	suite_add_tcase(s, tc);

	tc = tcase_create("process");
	tcase_add_test(tc, test_leakcheck);
	tcase_add_test(tc, test_multi_device);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_fork_child_works);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(cudasim_vmm_suite());
}
