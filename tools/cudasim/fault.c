// SPDX-License-Identifier: MIT
/*
 * fault.c - per-name call counters and CUDASIM_FAIL fault injection.
 *
 * Every entry point counts its call under its unsuffixed name (cuMemAlloc
 * and cuMemAlloc_v2 share "cuMemAlloc").  A fault spec names calls to fail:
 *
 *	spec  := rule ( "," rule )*
 *	rule  := name ":" N [ "+" ] [ "=" code ]
 *
 * "cuMemCreate:3" fails the 3rd call, "cuMemMap:2+" the 2nd and every later
 * one, "cuMemMap:1=999" fails it with CUDA_ERROR_UNKNOWN instead of the
 * default error of that name (see cs_fail_default()).  N counts from the
 * moment the spec is installed (cuInit for CUDASIM_FAIL).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cudasim.h"

#define CS_MAX_COUNTERS	512
#define CS_NAME_MAX	64

struct cs_counter {
	char name[CS_NAME_MAX];
	unsigned long calls;		/* atomic */
	/* fault rule, protected by counters_lock */
	unsigned long fail_base;	/* calls when the rule was installed */
	unsigned long fail_nth;		/* 0: no rule */
	bool fail_onward;
	CUresult fail_code;
};

static pthread_mutex_t counters_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cs_counter counters[CS_MAX_COUNTERS];	/* by counters_lock */
static unsigned int nr_counters;			/* by counters_lock */
static bool any_rule;					/* by counters_lock */

/* Strip _v2.._v9, _ptsz and _ptds suffixes (repeatedly). */
static void cs_base_name(const char *name, char *out)
{
	size_t len = strnlen(name, CS_NAME_MAX - 1);
	bool again = true;

	memcpy(out, name, len);
	out[len] = '\0';
	while (again) {
		again = false;
		if (len > 5 && (!strcmp(out + len - 5, "_ptsz") ||
				!strcmp(out + len - 5, "_ptds"))) {
			len -= 5;
			again = true;
		} else if (len > 3 && out[len - 3] == '_' && out[len - 2] == 'v' &&
			   out[len - 1] >= '2' && out[len - 1] <= '9') {
			len -= 3;
			again = true;
		}
		out[len] = '\0';
	}
}

/* Find or add the counter for a base name; counters_lock held. */
static struct cs_counter *__counter_get(const char *base)
{
	unsigned int i;

	for (i = 0; i < nr_counters; i++)
		if (!strcmp(counters[i].name, base))
			return &counters[i];
	if (nr_counters == CS_MAX_COUNTERS)
		return NULL;
	snprintf(counters[nr_counters].name, CS_NAME_MAX, "%s", base);
	return &counters[nr_counters++];
}

/* The error a real driver returns when the named call fails for want of
 * resources, as documented in Documentation/cudasim.rst. */
static CUresult cs_fail_default(const char *base)
{
	static const char *const oom[] = {
		"cuMemAlloc", "cuMemAllocPitch", "cuMemAllocAsync",
		"cuMemAllocFromPoolAsync", "cuMemCreate", "cuMemAddressReserve",
		"cuMemMap", "cuMemImportFromShareableHandle", "cuCtxCreate",
		"cuDevicePrimaryCtxRetain", "cuStreamCreate", "cuEventCreate",
		"cuModuleLoadData", "cuLibraryLoadData", "cuMemHostAlloc",
		"cuMemAllocHost", "cuMemHostRegister",
	};
	size_t i;

	for (i = 0; i < sizeof(oom) / sizeof(oom[0]); i++)
		if (!strcmp(base, oom[i]))
			return CUDA_ERROR_OUT_OF_MEMORY;
	if (!strcmp(base, "cuLaunchKernel"))
		return CUDA_ERROR_LAUNCH_FAILED;
	if (!strncmp(base, "cuMemcpy", 8) || !strncmp(base, "cuMemset", 8))
		return CUDA_ERROR_ILLEGAL_ADDRESS;
	if (!strcmp(base, "cuInit"))
		return CUDA_ERROR_NO_DEVICE;
	return CUDA_ERROR_UNKNOWN;
}

CUresult cs_enter(struct cs_counter **cache, const char *name)
{
	struct cs_counter *c = __atomic_load_n(cache, __ATOMIC_ACQUIRE);
	unsigned long n;
	CUresult res = CUDA_SUCCESS;

	if (!c) {
		pthread_mutex_lock(&counters_lock);
		c = __counter_get(name);
		pthread_mutex_unlock(&counters_lock);
		if (!c)
			return CUDA_SUCCESS;
		__atomic_store_n(cache, c, __ATOMIC_RELEASE);
	}
	n = __atomic_add_fetch(&c->calls, 1, __ATOMIC_RELAXED);
	if (!__atomic_load_n(&any_rule, __ATOMIC_RELAXED))
		return CUDA_SUCCESS;

	pthread_mutex_lock(&counters_lock);
	if (c->fail_nth) {
		unsigned long nth = n - c->fail_base;

		if (nth == c->fail_nth || (c->fail_onward && nth > c->fail_nth))
			res = c->fail_code;
	}
	pthread_mutex_unlock(&counters_lock);
	return res;
}

struct cs_rule {
	char base[CS_NAME_MAX];
	unsigned long nth;
	bool onward;
	long code;			/* -1: default */
};

/* Parse a spec into rules; 0 or -EINVAL with a message in @why. */
static int cs_fail_parse(const char *spec, struct cs_rule *rules, unsigned int max,
			 unsigned int *nr, char *why, size_t whylen)
{
	const char *p = spec;

	*nr = 0;
	while (*p) {
		const char *colon = strchr(p, ':');
		const char *end = strchr(p, ',');
		char name[CS_NAME_MAX];
		struct cs_rule *r;
		char *q;

		if (!end)
			end = p + strlen(p);
		if (!colon || colon > end || colon == p || colon - p >= CS_NAME_MAX) {
			snprintf(why, whylen, "expected NAME:N in '%.*s'", (int)(end - p), p);
			return -EINVAL;
		}
		if (*nr == max) {
			snprintf(why, whylen, "more than %u rules", max);
			return -EINVAL;
		}
		memcpy(name, p, colon - p);
		name[colon - p] = '\0';
		if (strncmp(name, "cu", 2)) {
			snprintf(why, whylen, "'%s' is not a driver entry point", name);
			return -EINVAL;
		}
		r = &rules[(*nr)++];
		cs_base_name(name, r->base);
		errno = 0;
		if (colon[1] < '0' || colon[1] > '9') {
			snprintf(why, whylen, "bad call number in '%.*s'", (int)(end - p), p);
			return -EINVAL;
		}
		r->nth = strtoul(colon + 1, &q, 10);
		if (errno || r->nth == 0) {
			snprintf(why, whylen, "call number must be >= 1 in '%.*s'",
				 (int)(end - p), p);
			return -EINVAL;
		}
		r->onward = false;
		r->code = -1;
		if (*q == '+') {
			r->onward = true;
			q++;
		}
		if (*q == '=') {
			if (q[1] < '0' || q[1] > '9') {
				snprintf(why, whylen, "bad error code in '%.*s'",
					 (int)(end - p), p);
				return -EINVAL;
			}
			r->code = strtol(q + 1, &q, 10);
			if (errno || r->code <= 0 || r->code > 100000) {
				snprintf(why, whylen, "bad error code in '%.*s'",
					 (int)(end - p), p);
				return -EINVAL;
			}
		}
		if (q != end) {
			snprintf(why, whylen, "trailing characters in '%.*s'",
				 (int)(end - p), p);
			return -EINVAL;
		}
		p = *end ? end + 1 : end;
		if (*end && !*p) {
			snprintf(why, whylen, "trailing comma");
			return -EINVAL;
		}
	}
	return 0;
}

static int cs_fail_install(const char *spec, char *why, size_t whylen)
{
	struct cs_rule rules[64];
	unsigned int nr = 0, i;
	int err;

	if (spec && *spec) {
		err = cs_fail_parse(spec, rules, 64, &nr, why, whylen);
		if (err)
			return err;
	}
	pthread_mutex_lock(&counters_lock);
	for (i = 0; i < nr_counters; i++)
		counters[i].fail_nth = 0;
	for (i = 0; i < nr; i++) {
		struct cs_counter *c = __counter_get(rules[i].base);

		if (!c)
			continue;
		c->fail_base = __atomic_load_n(&c->calls, __ATOMIC_RELAXED);
		c->fail_nth = rules[i].nth;
		c->fail_onward = rules[i].onward;
		c->fail_code = rules[i].code < 0 ? cs_fail_default(rules[i].base)
						 : (CUresult)rules[i].code;
	}
	__atomic_store_n(&any_rule, nr > 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&counters_lock);
	return 0;
}

/* Install CUDASIM_FAIL at cuInit; the rules count from now. */
int cs_fail_parse_env(void)
{
	const char *spec = getenv("CUDASIM_FAIL");
	char why[160];

	if (!spec)
		return 0;
	if (cs_fail_install(spec, why, sizeof(why))) {
		fprintf(stderr, "cudasim: CUDASIM_FAIL='%s': %s\n", spec, why);
		return -EINVAL;
	}
	return 0;
}

CS_API int cudasim_set_fail(const char *spec)
{
	char why[160];

	if (cs_fail_install(spec, why, sizeof(why))) {
		fprintf(stderr, "cudasim: cudasim_set_fail('%s'): %s\n", spec, why);
		return -EINVAL;
	}
	return 0;
}

CS_API unsigned long cudasim_call_count(const char *name)
{
	char base[CS_NAME_MAX];
	unsigned long n = 0;
	unsigned int i;

	if (!name)
		return 0;
	cs_base_name(name, base);
	pthread_mutex_lock(&counters_lock);
	for (i = 0; i < nr_counters; i++) {
		if (!strcmp(counters[i].name, base)) {
			n = __atomic_load_n(&counters[i].calls, __ATOMIC_RELAXED);
			break;
		}
	}
	pthread_mutex_unlock(&counters_lock);
	return n;
}

void cs_counters_atfork_prepare(void)
{
	pthread_mutex_lock(&counters_lock);
}

void cs_counters_atfork_parent(void)
{
	pthread_mutex_unlock(&counters_lock);
}

void cs_counters_atfork_child(void)
{
	pthread_mutex_unlock(&counters_lock);
}
