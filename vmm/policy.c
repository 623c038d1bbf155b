// SPDX-License-Identifier: MIT
/*
 * policy.c - the knobs: the schema, shared by the library, gpuvmfs and the
 * CLI; beside each knob's schema what it needs of a device and what
 * changing it does; and the validated get/set of live values
 * (Documentation/policy.rst).
 *
 * Text is parsed strictly: a partial number, a negative sign, a stray
 * character or a value out of range is an error and nothing changes.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "parse_size.h"
#include "trace_writer.h"

#define KNOB_TEXT_MAX	64	/* characters, without the trailing newline */
#define MiB		(1ull << 20)
#define GiB		(1ull << 30)
#define PiB		(1ull << 50)

static const char *const placement_choices[] = { "best-fit", "first-fit", NULL };
static const char *const bool_true[] = { "1", "on", "true", "yes", NULL };
static const char *const bool_false[] = { "0", "off", "false", "no", NULL };

/* ---- what each knob needs of a device and does to it ---- */

/* chunks are whole granules; granularity is a power of two >= 64 KiB */
static int chunk_size_check(uint64_t val)
{
	return val & ((64u << 10) - 1) ? -EINVAL : 0;
}

static int chunk_size_fits(const struct vmm_device *d, uint64_t val)
{
	return val % d->gran ? -EINVAL : 0;
}

static void chunk_size_derive(struct vmm_device *d)
{
	d->chunk_size = d->knob[VMM_KNOB_CHUNK_SIZE] ? d->knob[VMM_KNOB_CHUNK_SIZE] : d->gran;
}

/* pooled chunks of the old size go back; runs are counted in the new one */
static void chunk_size_apply(struct vmm_device *d)
{
	uint64_t chunks;

	chunk_size_derive(d);
	__free_run_recount(d, &chunks, &d->free_run_bytes, &d->pool_run_bytes);
	__pool_release(d, 0, true);
}

/* a lower high watermark releases what is now above it */
static void watermark_apply(struct vmm_device *d)
{
	uint64_t high = d->knob[VMM_KNOB_HIGH_WATERMARK];

	if (high && d->st->physical - d->inuse_bytes > high)
		__dev_trim(d);
}

/* trace is process-wide: start or stop the one trace file */
static void trace_applied(uint64_t on)
{
	char path[4096];

	if (on && !vmm_trace_on) {
		const char *env = getenv("GPUVM_TRACE");
		uint64_t b;

		if (env && *env && gpuvm_knob_parse(&vmm_knobs[VMM_KNOB_TRACE].schema, env, &b))
			snprintf(path, sizeof(path), "%s", env);
		else
			snprintf(path, sizeof(path), "%s/%d.trace", publish_rundir(),
				 (int)getpid());
		if (vmm_trace_start(path, vmm.dev[0].total, vmm.dev[0].gran))
			vmm_warn("trace: cannot write %s", path);
	} else if (!on && vmm_trace_on) {
		vmm_trace_stop();
	}
}

const struct vmm_knob vmm_knobs[VMM_KNOB_NR] = {
	[VMM_KNOB_CHUNK_SIZE] = {
		.schema = {
			.name = "chunk_size", .type = GPUVM_KNOB_SIZE, .unit = "bytes",
			.min = 0, .max = GiB, .def = 0, .new_allocs_only = true,
			.help = "bytes per physical chunk "
				"(0: the driver's recommended granularity)",
		},
		.check = chunk_size_check, .fits = chunk_size_fits,
		.apply = chunk_size_apply,
	},
	[VMM_KNOB_LIMIT] = {
		.schema = {
			.name = "limit", .type = GPUVM_KNOB_SIZE, .unit = "bytes",
			.min = 0, .max = PiB, .def = 0,
			.help = "most physical bytes held on the device (0: no limit)",
		},
	},
	[VMM_KNOB_POOL_RESERVE] = {
		.schema = {
			.name = "pool_reserve", .type = GPUVM_KNOB_SIZE, .unit = "bytes",
			.min = 0, .max = PiB, .def = 0, .init_only = true,
			.help = "physical bytes created when the device is set up",
		},
	},
	[VMM_KNOB_HIGH_WATERMARK] = {
		.schema = {
			.name = "high_watermark", .type = GPUVM_KNOB_SIZE, .unit = "bytes",
			.min = 0, .max = PiB, .def = 0,
			.help = "cached bytes above which chunks go back to the driver (0: never)",
		},
		.apply = watermark_apply,
	},
	[VMM_KNOB_LOW_WATERMARK] = {
		.schema = {
			.name = "low_watermark", .type = GPUVM_KNOB_SIZE, .unit = "bytes",
			.min = 0, .max = PiB, .def = 0,
			.help = "cached bytes kept when releasing above high_watermark",
		},
		.apply = watermark_apply,
	},
	[VMM_KNOB_SMALL_MAX] = {
		.schema = {
			.name = "small_max", .type = GPUVM_KNOB_SIZE, .unit = "bytes",
			.min = 0, .max = 64 * MiB, .def = MiB, .new_allocs_only = true,
			.help = "largest request sub-allocated from shared chunks (0: none)",
		},
	},
	[VMM_KNOB_PLACEMENT] = {
		.schema = {
			.name = "placement", .type = GPUVM_KNOB_ENUM, .min = 0, .max = 1,
			.def = VMM_PLACE_BEST_FIT, .choices = placement_choices,
			.new_allocs_only = true,
			.help = "where new VA ranges go in the arena",
		},
	},
	[VMM_KNOB_STITCH] = {
		.schema = {
			.name = "stitch", .type = GPUVM_KNOB_BOOL, .min = 0, .max = 1, .def = 1,
			.new_allocs_only = true,
			.help = "build new ranges from chunks of cached ranges (0: create instead)",
		},
	},
	[VMM_KNOB_TRACE] = {
		.schema = {
			.name = "trace", .type = GPUVM_KNOB_BOOL, .min = 0, .max = 1, .def = 0,
			.help = "record allocation events (GPUVM_TRACE=path names the file)",
		},
		.applied = trace_applied,
	},
	[VMM_KNOB_VA_FACTOR] = {
		.schema = {
			.name = "va_factor", .type = GPUVM_KNOB_UINT, .unit = "x device memory",
			.min = 1, .max = 64, .def = 4, .init_only = true,
			.help = "virtual bytes reserved per device, in multiples of its memory",
		},
	},
	[VMM_KNOB_FREE_BATCH] = {
		.schema = {
			.name = "free_batch", .type = GPUVM_KNOB_UINT, .unit = "frees",
			.min = 1, .max = 1u << 20, .def = 64,
			.help = "deferred frees after which the next miss synchronizes",
		},
	},
	[VMM_KNOB_TAIL_SHARE] = {
		.schema = {
			.name = "tail_share", .type = GPUVM_KNOB_BOOL, .min = 0, .max = 1, .def = 1,
			.new_allocs_only = true,
			.help = "start a large allocation in the unused end "
				"of another's last chunk",
		},
	},
};

/** gpuvm_knob_count - number of knobs in the schema */
GPUVM_API int gpuvm_knob_count(void)
{
	return VMM_KNOB_NR;
}

/** gpuvm_knob_at - the @i-th knob of the schema, or NULL */
GPUVM_API const struct gpuvm_knob *gpuvm_knob_at(int i)
{
	if (i < 0 || i >= VMM_KNOB_NR)
		return NULL;
	return &vmm_knobs[i].schema;
}

/** gpuvm_knob_find - a knob by @name, or NULL */
GPUVM_API const struct gpuvm_knob *gpuvm_knob_find(const char *name)
{
	int i;

	if (!name)
		return NULL;
	for (i = 0; i < VMM_KNOB_NR; i++)
		if (!strcmp(vmm_knobs[i].schema.name, name))
			return &vmm_knobs[i].schema;
	return NULL;
}

/*
 * Parsing and formatting need only a knob's description, so callers may
 * describe values of their own (gpuvmfs's reclaim size); membership of the
 * schema matters only where a knob is applied.
 */
static bool knob_well_formed(const struct gpuvm_knob *k)
{
	return k && (unsigned int)k->type <= GPUVM_KNOB_ENUM &&
	       (k->type != GPUVM_KNOB_ENUM || k->choices) && k->min <= k->max;
}

int policy_knob_index(const struct gpuvm_knob *k)
{
	int i;

	for (i = 0; i < VMM_KNOB_NR; i++)
		if (k == &vmm_knobs[i].schema)
			return i;
	return -1;
}

static int match(const char *const *words, const char *s)
{
	int i;

	for (i = 0; words[i]; i++)
		if (!strcmp(words[i], s))
			return i;
	return -1;
}

/**
 * gpuvm_knob_check - validate a value for a knob (range, choices, rules that
 * need no live state)
 * @knob: the knob
 * @val: the value
 *
 * Return: 0, -EINVAL (no such knob, bad bool) or -ERANGE.
 */
GPUVM_API int gpuvm_knob_check(const struct gpuvm_knob *knob, uint64_t val)
{
	int i = policy_knob_index(knob);

	if (!knob_well_formed(knob))
		return -EINVAL;
	if (val < knob->min || val > knob->max)
		return -ERANGE;
	if (knob->type == GPUVM_KNOB_ENUM) {
		int n = 0;

		while (knob->choices[n])
			n++;
		if (val >= (uint64_t)n)
			return -ERANGE;
	}
	if (i >= 0 && vmm_knobs[i].check)
		return vmm_knobs[i].check(val);
	return 0;
}

/**
 * gpuvm_knob_check_all - the rules between knobs, over one value of each
 * @vals: gpuvm_knob_count() values, by schema index
 * @why: on -EINVAL, the rule broken, in words (may be NULL)
 *
 * What gpuvm_knob_check() cannot see from one value alone: a set
 * low_watermark above a set high_watermark.  The library applies it to
 * every change; the CLI to several changes at once before it makes any.
 *
 * Return: 0, or -EINVAL.
 */
GPUVM_API int gpuvm_knob_check_all(const uint64_t *vals, const char **why)
{
	if (vals[VMM_KNOB_HIGH_WATERMARK] &&
	    vals[VMM_KNOB_LOW_WATERMARK] > vals[VMM_KNOB_HIGH_WATERMARK]) {
		if (why)
			*why = "low_watermark above high_watermark";
		return -EINVAL;
	}
	return 0;
}

/**
 * gpuvm_knob_parse - validate text for a knob and convert it
 * @knob: the knob
 * @text: the text; one trailing newline is accepted
 * @val: on success, the value
 *
 * Return: 0; -EINVAL (empty, garbage, partial number, negative, unknown
 * choice, longer than 64 characters), -ERANGE (overflow or out of range).
 */
GPUVM_API int gpuvm_knob_parse(const struct gpuvm_knob *knob, const char *text, uint64_t *val)
{
	char buf[KNOB_TEXT_MAX + 1];
	uint64_t v = 0;
	size_t len;
	int ret, c;

	if (!knob_well_formed(knob) || !text || !val)
		return -EINVAL;
	len = strnlen(text, KNOB_TEXT_MAX + 2);
	if (len && text[len - 1] == '\n')
		len--;
	if (len == 0 || len > KNOB_TEXT_MAX)
		return -EINVAL;
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (memchr(buf, '\0', len))
		return -EINVAL;

	switch (knob->type) {
	case GPUVM_KNOB_UINT:
		if (buf[strspn(buf, "0123456789")])
			return -EINVAL;		/* a count takes no unit */
		/* fall through */
	case GPUVM_KNOB_SIZE:
		ret = parse_size(buf, 0, &v);
		if (ret)
			return ret;
		break;
	case GPUVM_KNOB_BOOL:
		if (match(bool_true, buf) >= 0)
			v = 1;
		else if (match(bool_false, buf) >= 0)
			v = 0;
		else
			return -EINVAL;
		break;
	case GPUVM_KNOB_ENUM:
		c = match(knob->choices, buf);
		if (c < 0)
			return -EINVAL;
		v = c;
		break;
	default:
		return -EINVAL;
	}
	ret = gpuvm_knob_check(knob, v);
	if (ret)
		return ret;
	*val = v;
	return 0;
}

/**
 * gpuvm_knob_format - a value as knob files show it (no newline)
 * @knob: the knob
 * @val: the value
 * @buf: where to write
 * @len: bytes at @buf
 *
 * Sizes and integers in decimal, bools 0/1, enums as "[active] other".
 * Return: the length of the whole text (snprintf semantics), or -EINVAL.
 */
GPUVM_API int gpuvm_knob_format(const struct gpuvm_knob *knob, uint64_t val, char *buf, size_t len)
{
	int n = 0, i;

	if (!knob_well_formed(knob) || (!buf && len))
		return -EINVAL;
	if (knob->type != GPUVM_KNOB_ENUM)
		return snprintf(buf, len, "%llu", (unsigned long long)val);
	for (i = 0; knob->choices[i]; i++) {
		const char *fmt = (uint64_t)i == val ? "%s[%s]" : "%s%s";
		size_t off = (size_t)n < len ? (size_t)n : len;

		n += snprintf(buf ? buf + off : NULL, len - off, fmt, i ? " " : "",
			      knob->choices[i]);
	}
	return n;
}

void policy_load_env(uint64_t *vals)
{
	char var[64], *p;
	int i, ret;

	for (i = 0; i < VMM_KNOB_NR; i++)
		vals[i] = vmm_knobs[i].schema.def;
	/* <rundir>/defaults (defaults.c), then the environment over it */
	gpuvm_defaults_read(NULL, vals, NULL, false);
	for (i = 0; i < VMM_KNOB_NR; i++) {
		const struct gpuvm_knob *k = &vmm_knobs[i].schema;
		const char *s;
		uint64_t v;

		snprintf(var, sizeof(var), "GPUVM_%s", k->name);
		for (p = var; *p; p++)
			*p = toupper((unsigned char)*p);
		s = getenv(var);
		if (!s)
			continue;
		ret = gpuvm_knob_parse(k, s, &v);
		if (ret && i == VMM_KNOB_TRACE)
			continue;	/* GPUVM_TRACE=path: the trace file (core.c) */
		if (ret) {
			vmm_warn("%s=%.64s: %s; using the default", var, s,
				 ret == -ERANGE ? "out of range" : "invalid value");
			continue;
		}
		vals[i] = v;
	}
	/* a low watermark above the high one is ignored as a pair */
	if (gpuvm_knob_check_all(vals, NULL)) {
		vmm_warn("GPUVM_LOW_WATERMARK above GPUVM_HIGH_WATERMARK; using the defaults");
		vals[VMM_KNOB_HIGH_WATERMARK] = vmm_knobs[VMM_KNOB_HIGH_WATERMARK].schema.def;
		vals[VMM_KNOB_LOW_WATERMARK] = vmm_knobs[VMM_KNOB_LOW_WATERMARK].schema.def;
	}
}

/* ---- changing a knob ---- */

/* What a device not yet set up will start with (setup_lock). */
static uint64_t preset_value(const struct vmm_device *d, int i)
{
	return d->knob_preset & (1u << i) ? d->knob[i] : vmm.defaults[i];
}

static void preset_values(const struct vmm_device *d, uint64_t *vals)
{
	int i;

	for (i = 0; i < VMM_KNOB_NR; i++)
		vals[i] = preset_value(d, i);
}

/**
 * policy_device_knobs - a device's starting values, at its set-up
 * @d: the device; its granularity is known, nothing else is set up
 *
 * The process defaults, but for knobs set for this device before it was
 * set up; a value the device cannot take (a chunk size no multiple of its
 * granularity, from a default or the environment) is replaced by the
 * schema's default, with a warning.  Called under setup_lock.
 */
void policy_device_knobs(struct vmm_device *d)
{
	int i, ret;

	preset_values(d, d->knob);
	d->knob_preset = 0;
	for (i = 0; i < VMM_KNOB_NR; i++) {
		const struct vmm_knob *k = &vmm_knobs[i];

		if (!k->fits || !(ret = k->fits(d, d->knob[i])))
			continue;
		vmm_warn("device %d (granularity %llu): %s=%llu does not fit it (%s); using %llu",
			 d->ordinal, (unsigned long long)d->gran, k->schema.name,
			 (unsigned long long)d->knob[i], strerror(-ret),
			 (unsigned long long)k->schema.def);
		d->knob[i] = k->schema.def;
	}
	chunk_size_derive(d);
}

/*
 * Can knob @i take @val, the other knobs being @vals?  @d: the set-up
 * device it is for, or NULL (the defaults, a device not set up yet).
 */
static int knob_fits(const struct vmm_device *d, const uint64_t *vals, int i, uint64_t val)
{
	const struct vmm_knob *k = &vmm_knobs[i];
	uint64_t next[VMM_KNOB_NR];
	int ret;

	if (d && k->schema.init_only)
		return -EACCES;		/* read once, when it was set up */
	if (d && k->fits) {
		ret = k->fits(d, val);
		if (ret)
			return ret;
	}
	memcpy(next, vals, sizeof(next));
	next[i] = val;
	return gpuvm_knob_check_all(next, NULL);
}

/* Device lock held; @val fits. */
static void knob_apply(struct vmm_device *d, int i, uint64_t val)
{
	d->knob[i] = val;
	if (vmm_knobs[i].apply)
		vmm_knobs[i].apply(d);
	__stats_publish_knobs(d);
	__stats_cached_update(d);
}

/* Knob @i = @val for device @d, set up or not: 0 or -errno, all or nothing. */
static int knob_set_device(struct vmm_device *d, int i, uint64_t val)
{
	uint64_t vals[VMM_KNOB_NR];
	int ret;

	pthread_mutex_lock(&vmm.setup_lock);
	if (!__atomic_load_n(&d->ready, __ATOMIC_ACQUIRE)) {
		/* kept for its set-up, which then checks what needs the device */
		preset_values(d, vals);
		ret = knob_fits(NULL, vals, i, val);
		if (!ret) {
			d->knob[i] = val;
			d->knob_preset |= 1u << i;
		}
		pthread_mutex_unlock(&vmm.setup_lock);
		return ret;
	}
	pthread_mutex_unlock(&vmm.setup_lock);
	/* set up for good: ready never goes back while callers are let in */
	vmm_lock(d);
	ret = knob_fits(d, d->knob, i, val);
	if (!ret)
		knob_apply(d, i, val);
	vmm_unlock(d);
	return ret;
}

/* Knob @i = @val for every device and the defaults, or nothing. */
static int knob_set_all(int i, uint64_t val)
{
	const struct vmm_knob *k = &vmm_knobs[i];
	uint64_t vals[VMM_KNOB_NR];
	struct vmm_device *d;
	int ret, j;

	pthread_mutex_lock(&vmm.setup_lock);
	ret = knob_fits(NULL, vmm.defaults, i, val);
	for (j = 0; !ret && j < vmm.nr_devices; j++) {
		d = &vmm.dev[j];
		if (!d->ready) {
			/* its own values of the other knobs stay: with this one? */
			preset_values(d, vals);
			ret = knob_fits(NULL, vals, i, val);
			continue;
		}
		if (k->schema.init_only)
			continue;	/* init-only: the defaults alone take it */
		vmm_lock(d);
		ret = knob_fits(d, d->knob, i, val);
		vmm_unlock(d);
	}
	if (!ret) {
		vmm.defaults[i] = val;
		for (j = 0; j < vmm.nr_devices; j++) {
			d = &vmm.dev[j];
			if (!d->ready) {
				d->knob_preset &= ~(1u << i);	/* the defaults win */
				continue;
			}
			if (k->schema.init_only)
				continue;
			vmm_lock(d);
			knob_apply(d, i, val);
			vmm_unlock(d);
		}
	}
	pthread_mutex_unlock(&vmm.setup_lock);
	return ret;
}

/* Validate and apply knob @i for device @dev or (-1) all and the defaults. */
static int knob_set(int dev, int i, uint64_t val)
{
	int ret;

	if (dev < -1 || dev >= vmm.nr_devices)
		return -EINVAL;
	ret = dev < 0 ? knob_set_all(i, val) : knob_set_device(&vmm.dev[dev], i, val);
	if (!ret && vmm_knobs[i].applied)
		vmm_knobs[i].applied(val);
	return ret;
}

static int vmm_policy_get(int dev, const char *name, uint64_t *val)
{
	const struct gpuvm_knob *k = gpuvm_knob_find(name);
	struct vmm_device *d;
	int ret, i;

	if (!k || !val)
		return -EINVAL;
	i = policy_knob_index(k);
	ret = gpuvm_init();
	if (ret)
		return ret;
	if (dev == -1) {
		pthread_mutex_lock(&vmm.setup_lock);
		*val = vmm.defaults[i];
		pthread_mutex_unlock(&vmm.setup_lock);
		return 0;
	}
	if (dev < 0 || dev >= vmm.nr_devices)
		return -EINVAL;
	d = &vmm.dev[dev];
	pthread_mutex_lock(&vmm.setup_lock);
	if (!d->ready) {
		*val = preset_value(d, i);	/* what its set-up will take */
		pthread_mutex_unlock(&vmm.setup_lock);
		return 0;
	}
	pthread_mutex_unlock(&vmm.setup_lock);
	vmm_lock(d);
	*val = d->knob[i];
	vmm_unlock(d);
	return 0;
}

/**
 * gpuvm_policy_get - the live value of a knob
 * @dev: device ordinal, or -1 for the process defaults
 * @name: knob name
 * @val: on success, the value
 *
 * Return: 0, -EINVAL (unknown knob or device), -ENODEV.
 */
GPUVM_API int gpuvm_policy_get(int dev, const char *name, uint64_t *val)
{
	return vmm_gated(-ESHUTDOWN, vmm_policy_get(dev, name, val));
}

static int vmm_policy_set(int dev, const char *name, uint64_t val)
{
	const struct gpuvm_knob *k = gpuvm_knob_find(name);
	int ret, i;

	if (!k)
		return -EINVAL;
	ret = gpuvm_knob_check(k, val);
	if (ret)
		return ret;
	i = policy_knob_index(k);
	ret = gpuvm_init();
	if (ret)
		return ret;
	return knob_set(dev, i, val);
}

/**
 * gpuvm_policy_set - change a knob (validated; nothing changes on error)
 * @dev: device ordinal, or -1 for every device and the process defaults
 * @name: knob name
 * @val: the new value
 *
 * A device not set up yet is not set up by this: it takes the value when
 * it is (where the value needs the device, a chunk size its granularity
 * does not divide, it is refused then, with a warning, not now).
 *
 * Return: 0; -EINVAL (unknown knob or device, not a multiple of the
 * granularity, low_watermark above high_watermark), -EACCES (an init-only
 * knob of a device already set up), -ERANGE (out of range).
 */
GPUVM_API int gpuvm_policy_set(int dev, const char *name, uint64_t val)
{
	return vmm_gated(-ESHUTDOWN, vmm_policy_set(dev, name, val));
}

/** gpuvm_policy_set_str - gpuvm_knob_parse() then gpuvm_policy_set() */
GPUVM_API int gpuvm_policy_set_str(int dev, const char *name, const char *text)
{
	const struct gpuvm_knob *k = gpuvm_knob_find(name);
	uint64_t v;
	int ret;

	if (!k)
		return -EINVAL;
	ret = gpuvm_knob_parse(k, text, &v);
	if (ret)
		return ret;
	return gpuvm_policy_set(dev, name, v);
}
