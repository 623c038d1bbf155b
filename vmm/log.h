/* SPDX-License-Identifier: MIT */
/*
 * log.h - gpuvm's diagnostics on stderr, shared by the manager and the
 * preload shim (which includes "../vmm/log.h").
 *
 * GPUVM_LOG=warn|info|debug picks the level (default: warn).  Warnings are
 * for things a person should fix (a bad GPUVM_<KNOB> value); info and debug
 * describe what gpuvm does.  Every line starts with "gpuvm[pid]: ".
 */
#ifndef GPUVM_VMM_LOG_H
#define GPUVM_VMM_LOG_H

enum vmm_log_level {
	VMM_LOG_WARN = 0,
	VMM_LOG_INFO,
	VMM_LOG_DEBUG,
};

extern int vmm_log_level;	/* read without a lock: set once at start */

/* reads GPUVM_LOG once per process (gpuvm_log_level()); harmless to repeat */
void vmm_log_init(void);

__attribute__((format(printf, 2, 3)))
void __vmm_log(int level, const char *fmt, ...);

#define vmm_log(level, ...)						\
	do {								\
		if ((level) <= vmm_log_level)				\
			__vmm_log(level, __VA_ARGS__);			\
	} while (0)

#define vmm_warn(...)	vmm_log(VMM_LOG_WARN, __VA_ARGS__)
#define vmm_info(...)	vmm_log(VMM_LOG_INFO, __VA_ARGS__)
#define vmm_debug(...)	vmm_log(VMM_LOG_DEBUG, __VA_ARGS__)

#endif /* GPUVM_VMM_LOG_H */
