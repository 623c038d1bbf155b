/* SPDX-License-Identifier: MIT */
/*
 * replay.h - private interface of the trace tools (tools/replay): reading
 * and writing traces, importers, workload generators, the allocator models
 * and the engine that replays one trace through all of them.
 *
 * Only the public headers of gpuvm are used here; the real manager is driven
 * in a child process (gpuvm_real.c, real_helper.c) through libgpuvm.so.
 */
#ifndef GPUVM_TOOLS_REPLAY_H
#define GPUVM_TOOLS_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <gpuvm/trace.h>
#include <replay/commands.h>

#include "list.h"

#define KiB	(1ull << 10)
#define MiB	(1ull << 20)
#define GiB	(1ull << 30)

/*
 * The largest size, in bytes, a trace may name (a record's requested or
 * granted bytes, a capacity).  No device comes near it, and every rounding
 * below (to 512 bytes, 2 MiB or 20 MiB) stays far from wrapping: the
 * readers refuse anything larger, so the models never see it.
 */
#define REPLAY_MAX_BYTES	(1ull << 60)

/* @x is at most REPLAY_MAX_BYTES (the readers saw to it): no wrap. */
static inline uint64_t replay_round_up(uint64_t x, uint64_t to)
{
	return (x + to - 1) / to * to;
}

/* ------------------------------------------------------------------------
 * Traces (trace_io.c)
 */

/* A trace held in memory: the header and its records, in file order. */
struct replay_trace {
	struct gpuvm_trace_header hdr;
	struct gpuvm_trace_record *recs;
	size_t nr;		/* records held */
	size_t cap;		/* records allocated */
};

void replay_trace_init(struct replay_trace *t, const char *source, uint64_t capacity,
		       uint64_t granularity);
void replay_trace_release(struct replay_trace *t);
int replay_trace_add(struct replay_trace *t, uint64_t time_ns, enum gpuvm_trace_event ev,
		     int dev, uint64_t stream, uint64_t addr, uint64_t requested,
		     uint64_t granted);
int replay_trace_load(const char *path, struct replay_trace *t);
int replay_trace_read(FILE *f, const char *name, struct replay_trace *t);
int replay_trace_write(const struct replay_trace *t, FILE *f);
int replay_trace_save(const struct replay_trace *t, const char *path);
int replay_trace_dump(const struct replay_trace *t, FILE *out);
const char *replay_event_name(uint32_t ev);

/* Room for a header's source through replay_escape(): 4 bytes a byte. */
#define REPLAY_SOURCE_TEXT	(4 * sizeof(((struct gpuvm_trace_header *)0)->source) + 1)
char *replay_escape(char *dst, size_t len, const char *src);

/* Importers: fill an initialized trace; 0 or -errno (message on stderr). */
int replay_import_rmm_csv(FILE *f, const char *name, struct replay_trace *t);

/* ------------------------------------------------------------------------
 * Operations: a trace normalized to what a program asked for (trace_ops.c)
 *
 * Every allocation is a chain: its ALLOC, then any RESIZEs, then its FREE.
 * Each version of a chain (the ALLOC and each RESIZE) has its own id, so
 * a model without in-place growth replays a resize as "allocate the new
 * size, then free the old" (what torch.cat or a realloc does).
 */
enum replay_op_kind {
	REPLAY_OP_ALLOC,
	REPLAY_OP_RESIZE,
	REPLAY_OP_FREE,
};

struct replay_op {
	uint8_t kind;		/* enum replay_op_kind */
	uint32_t chain;		/* allocation chain */
	uint32_t id;		/* ALLOC, RESIZE: id of the new version */
	uint64_t size;		/* ALLOC, RESIZE: bytes requested */
	uint64_t max_size;	/* ALLOC: the largest size the chain reaches */
	uint64_t stream;
	uint64_t time_ns;
	uint32_t rec;		/* index of the trace record */
	bool growable;		/* ALLOC: the chain is resized later */
};

struct replay_ops {
	struct replay_op *ops;
	size_t nr;
	uint32_t nr_chains;
	uint32_t nr_ids;
	int device;		/* the device replayed */
	uint64_t ignored;	/* records that did not apply (unknown address...) */
};

int replay_ops_build(const struct replay_trace *t, int device, struct replay_ops *ops);
void replay_ops_release(struct replay_ops *ops);

/* ------------------------------------------------------------------------
 * Driver calls and their cost (costs.c)
 */
enum replay_call {
	REPLAY_CALL_CREATE,	/* cuMemCreate */
	REPLAY_CALL_MAP,	/* cuMemMap */
	REPLAY_CALL_UNMAP,	/* cuMemUnmap */
	REPLAY_CALL_SET_ACCESS,	/* cuMemSetAccess */
	REPLAY_CALL_RELEASE,	/* cuMemRelease */
	REPLAY_CALL_NR
};

struct replay_costs {
	double per_call_us[REPLAY_CALL_NR];	/* fixed part of one call */
	double per_2mib_us[REPLAY_CALL_NR];	/* per 2 MiB the call covers */
	char source[128];			/* "defaults" or the file */
};

const char *replay_call_name(int call);	/* "create", "map", ... */
void replay_costs_default(struct replay_costs *c);
int replay_costs_load(struct replay_costs *c, const char *path);
double replay_costs_call_us(const struct replay_costs *c, int call, uint64_t calls,
			    uint64_t bytes);
double replay_costs_estimate_us(const struct replay_costs *c, const uint64_t *calls,
				const uint64_t *bytes);

/* ------------------------------------------------------------------------
 * Models (firstfit.c, torch_caching.c, expandable.c)
 */
struct replay_policy {
	uint64_t torch_max_split_size;	/* bytes; UINT64_MAX: unlimited */
	const char *gpuvm_knobs[32];	/* "knob=value" for the real manager */
	int nr_gpuvm_knobs;
};

void replay_policy_default(struct replay_policy *p);

/* What a model counts while it runs (the engine reads it). */
struct replay_model {
	const struct replay_model_ops *ops;
	uint64_t capacity;	/* bytes of device memory */
	uint32_t nr_ids;	/* version ids the trace uses */
	uint64_t held;		/* bytes held now (reserved or mapped) */
	uint64_t peak_held;
	uint64_t calls[REPLAY_CALL_NR];
	uint64_t bytes[REPLAY_CALL_NR];	/* bytes the calls covered */
	void *priv;
};

struct replay_model_ops {
	const char *name;
	/* 0 or -errno; @m->capacity and @m->nr_ids are set */
	int (*init)(struct replay_model *m, const struct replay_policy *pol);
	void (*fini)(struct replay_model *m);
	/* 0, or -ENOMEM when the model runs out of memory (nothing changed) */
	int (*alloc)(struct replay_model *m, uint32_t id, uint64_t size, uint64_t stream);
	void (*free)(struct replay_model *m, uint32_t id);
};

extern const struct replay_model_ops replay_firstfit_ops;
extern const struct replay_model_ops replay_torch_caching_ops;
extern const struct replay_model_ops replay_expandable_ops;

/* Helpers for models: count a call and the held bytes. */
static inline void replay_count(struct replay_model *m, enum replay_call call,
				uint64_t nr, uint64_t bytes)
{
	m->calls[call] += nr;
	m->bytes[call] += bytes;
}

static inline void replay_hold(struct replay_model *m, int64_t delta)
{
	m->held += delta;
	if (m->held > m->peak_held)
		m->peak_held = m->held;
}

/* ------------------------------------------------------------------------
 * The engine (engine.c)
 */
struct replay_result {
	char name[32];
	bool ran;		/* false: see note */
	char note[160];
	uint64_t peak_requested;
	uint64_t peak_held;
	uint64_t ooms;
	int64_t first_oom_rec;	/* record index, -1: none */
	uint64_t first_oom_size;
	uint64_t first_oom_live; /* bytes requested and live at that moment */
	uint64_t calls[REPLAY_CALL_NR];
	uint64_t bytes[REPLAY_CALL_NR];
	double est_us;
};

int replay_run_model(const struct replay_model_ops *mops, const struct replay_ops *ops,
		     uint64_t capacity, const struct replay_policy *pol,
		     struct replay_result *res);
void replay_print_table(FILE *out, const struct replay_trace *t, const struct replay_ops *ops,
			uint64_t capacity, const struct replay_costs *costs,
			const struct replay_result *res, int nr);
double replay_fragmentation(const struct replay_result *r);

/* The real manager, in a child process (gpuvm_real.c). */
int replay_run_gpuvm(const char *trace_path, int device, uint64_t capacity,
		     const struct replay_policy *pol, struct replay_result *res);
int replay_result_write(FILE *f, const struct replay_result *r);
int replay_result_read(FILE *f, struct replay_result *r);

/* ------------------------------------------------------------------------
 * Workloads (workloads.c)
 */
struct replay_workload {
	const char *name;
	const char *help;
	uint64_t capacity;	/* device memory the workload is sized for */
	int (*generate)(struct replay_trace *t, uint64_t seed);
};

extern const struct replay_workload replay_workloads[];
extern const int replay_nr_workloads;
const struct replay_workload *replay_workload_find(const char *name);
int replay_workload_generate(const struct replay_workload *w, uint64_t seed,
			     struct replay_trace *t);

/* ------------------------------------------------------------------------
 * Commands (cli.c): declared in <replay/commands.h>; the size parser.
 */
int replay_parse_size(const char *s, uint64_t *val);

#endif /* GPUVM_TOOLS_REPLAY_H */
