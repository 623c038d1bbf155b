// SPDX-License-Identifier: MIT
/*
 * log.c - one-line diagnostics on stderr (see log.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

int vmm_log_level = VMM_LOG_WARN;

void vmm_log_init(void)
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
