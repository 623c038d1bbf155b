// SPDX-License-Identifier: MIT
/*
 * shim_log.c - the shim's messages: GPUVM_LOG=warn|info|debug, to stderr.
 *
 * The shim lives in other people's programs, so it says little: warnings
 * by default, one line each, prefixed so a user can tell who spoke.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

int shim_log_level = SHIM_LOG_WARN;

static const char *const level_names[] = {
	[SHIM_LOG_WARN] = "warn",
	[SHIM_LOG_INFO] = "info",
	[SHIM_LOG_DEBUG] = "debug",
};

/* GPUVM_LOG, as libgpuvm reads it: one parser, one warning for a bad value. */
void shim_log_init(void)
{
	int level = gpuvm_log_level();

	if (level >= SHIM_LOG_WARN && level <= SHIM_LOG_DEBUG)
		shim_log_level = level;
}

void shim_log(int level, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int len, n;

	if (level > shim_log_level)
		return;
	len = snprintf(line, sizeof(line), "gpuvm-shim[%d] %s: ", (int)getpid(),
		       level_names[level]);
	va_start(ap, fmt);
	n = vsnprintf(line + len, sizeof(line) - len - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	len += n;
	if (len > (int)sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	/* One write(2): lines from several threads do not interleave. */
	if (write(STDERR_FILENO, line, len) < 0)
		return;
}
