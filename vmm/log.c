// SPDX-License-Identifier: MIT
/*
 * log.c - one-line diagnostics on stderr (see log.h).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gpuvm/gpuvm.h>

#include "log.h"

int vmm_log_level = VMM_LOG_WARN;

static pthread_once_t log_once = PTHREAD_ONCE_INIT;

static void log_parse(void)
{
	const char *s = getenv("GPUVM_LOG");

	if (!s || !*s || !strcmp(s, "warn"))
		vmm_log_level = VMM_LOG_WARN;
	else if (!strcmp(s, "info"))
		vmm_log_level = VMM_LOG_INFO;
	else if (!strcmp(s, "debug"))
		vmm_log_level = VMM_LOG_DEBUG;
	else
		fprintf(stderr, "gpuvm[%d]: GPUVM_LOG=%s: expected warn, info or debug; using warn\n",
			(int)getpid(), s);
}

/* GPUVM_LOG is read once per process, and a bad value said once. */
void vmm_log_init(void)
{
	pthread_once(&log_once, log_parse);
}

/**
 * gpuvm_log_level - the level GPUVM_LOG asks for
 *
 * The one reader of GPUVM_LOG: the preload shim takes its level from here,
 * so a bad value is reported once, not by each component.
 * Return: 0 warn, 1 info, 2 debug.
 */
GPUVM_API int gpuvm_log_level(void)
{
	vmm_log_init();
	return vmm_log_level;
}

void __vmm_log(int level, const char *fmt, ...)
{
	static const char *const names[] = { "warning: ", "", "debug: " };
	char line[512];
	va_list ap;
	int n;

	/* one write per line so lines of several threads do not interleave */
	n = snprintf(line, sizeof(line), "gpuvm[%d]: %s", (int)getpid(),
		     level >= 0 && level <= VMM_LOG_DEBUG ? names[level] : "");
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}
