/* SPDX-License-Identifier: MIT */
/*
 * fuse_ops.h - private to the daemon: its FUSE operations (fuse_ops.c), for gpuvmfs.c.
 * The only declaration that needs FUSE's headers.
 */
#ifndef GPUVM_FUSEFS_FUSE_OPS_H
#define GPUVM_FUSEFS_FUSE_OPS_H

#include <fuse_lowlevel.h>

extern const struct fuse_lowlevel_ops gpuvmfs_ops;

#endif /* GPUVM_FUSEFS_FUSE_OPS_H */
