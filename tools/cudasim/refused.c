// SPDX-License-Identifier: MIT
/*
 * refused.c - the entry points cudasim resolves but does not model.
 *
 * Each takes whatever arguments its real prototype has and looks at none
 * of them: in the SysV calling convention a function that reads no
 * argument may be called with any.  See refused.h for the list and why.
 */
#include "cudasim.h"

#define CS_REFUSED(name, version)					\
	CS_API CUresult name(void);					\
	CS_API CUresult name(void)					\
	{								\
		CS_ENTER(#name);					\
		if (cs_check_init())					\
			return CUDA_ERROR_NOT_INITIALIZED;		\
		return CUDA_ERROR_NOT_SUPPORTED;			\
	}
#include "refused.h"
#undef CS_REFUSED

/*
 * cuGetExportTable - the driver's private tables, named by UUID.
 *
 * They are undocumented, and the CUDA runtime will not start without
 * them; among them is a check that the driver is NVIDIA's own, which
 * cudasim does not forge.  So it has none: CUDA_ERROR_NOT_FOUND, as the
 * driver answers for a UUID it does not know (the runtime then fails with
 * cudaErrorSymbolNotFound, see Documentation/cudasim.rst).
 */
CS_API CUresult cuGetExportTable(const void **ppExportTable, const CUuuid *pExportTableId);
CS_API CUresult cuGetExportTable(const void **ppExportTable, const CUuuid *pExportTableId)
{
	CS_ENTER("cuGetExportTable");
	if (!ppExportTable || !pExportTableId)
		return CUDA_ERROR_INVALID_VALUE;
	*ppExportTable = NULL;
	return CUDA_ERROR_NOT_FOUND;
}
