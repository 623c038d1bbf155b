// SPDX-License-Identifier: MIT
/* module.cu - every kernel in one module (one fatbin, one cuModuleLoadData). */
#include "fill.cu"
#include "verify.cu"
#include "stride_touch.cu"
