/* SPDX-License-Identifier: MIT */
/*
 * safefile.h - opens that refuse links, FIFOs and other users' files
 * (safefile.c), for the run directory and trace paths.
 */
#ifndef GPUVM_VMM_SAFEFILE_H
#define GPUVM_VMM_SAFEFILE_H

#include <stdbool.h>

int safe_open_owned(const char *path, bool root_ok);
int safe_create(const char *path, bool fresh);

#endif
