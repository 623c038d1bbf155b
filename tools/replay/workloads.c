// SPDX-License-Identifier: MIT
/*
 * workloads.c - deterministic, seeded allocation workloads, written as
 * traces so that every model and gpuvm replay the same requests.
 *
 * Each generator is sized for its capacity so that the total requested
 * never exceeds the capacity minus one 2 MiB chunk per size class: an
 * allocator that does not fragment never runs out of memory on it.
 */
#include <errno.h>
#include <string.h>

#include "replay.h"

#define WL_GRANULARITY	(2 * MiB)

struct wl {
	struct replay_trace *t;
	uint64_t rng;		/* splitmix64 state */
	uint64_t now;		/* ns */
	uint64_t next_addr;	/* fake device addresses, never reused */
	int err;
};

static uint64_t wl_rand(struct wl *w)
{
	uint64_t z = (w->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static uint64_t wl_range(struct wl *w, uint64_t lo, uint64_t hi)
{
	return lo + wl_rand(w) % (hi - lo + 1);
}

/* Log-uniform in [lo, hi]: small sizes as likely per octave as large. */
static uint64_t wl_logsize(struct wl *w, uint64_t lo, uint64_t hi)
{
	int lo_bit = 63 - __builtin_clzll(lo), hi_bit = 63 - __builtin_clzll(hi);
	int bit = wl_range(w, lo_bit, hi_bit);
	uint64_t v = (1ull << bit) + wl_rand(w) % (1ull << bit);

	return v < lo ? lo : v > hi ? hi : v;
}

static void wl_event(struct wl *w, enum gpuvm_trace_event ev, uint64_t addr,
		     uint64_t requested, uint64_t granted)
{
	w->now += 1000 + wl_rand(w) % 1000;
	if (!w->err)
		w->err = replay_trace_add(w->t, w->now, ev, 0, 0, addr, requested, granted);
}

static uint64_t wl_alloc(struct wl *w, uint64_t size)
{
	uint64_t addr = w->next_addr;

	w->next_addr += replay_round_up(size, WL_GRANULARITY) + WL_GRANULARITY;
	wl_event(w, GPUVM_EV_ALLOC, addr, size, size);
	return addr;
}

static void wl_free(struct wl *w, uint64_t addr)
{
	wl_event(w, GPUVM_EV_FREE_REQUESTED, addr, 0, 0);
}

static void wl_resize(struct wl *w, uint64_t addr, uint64_t size)
{
	wl_event(w, GPUVM_EV_RESIZE, addr, size, size);
}

/*
 * LLM serving: 2 GiB of weights, then 700 decode steps of continuous
 * batching.  Requests (prompt 64-1024 tokens, answer 32-512) arrive at
 * random while fewer than 24 run; each request's KV cache (128 KiB per
 * token) grows every 16 tokens and is freed when it finishes.  Every step
 * also makes short-lived activations, logits and small metadata buffers.
 */
#define LLM_MAX_REQS	24
#define LLM_KV_TOKEN	(128 * KiB)
#define LLM_BLOCK	16

static int wl_llm_serving(struct wl *w)
{
	struct {
		uint64_t addr, tokens, end;	/* end: tokens when it finishes */
		bool active;
	} req[LLM_MAX_REQS] = { 0 };
	uint64_t tmp[8];
	int i, step;

	for (i = 0; i < 64; i++)
		wl_alloc(w, 32 * MiB - wl_range(w, 0, 64) * 4 * KiB);
	for (step = 0; step < 700; step++) {
		int batch = 0, nr_tmp = 0;

		for (i = 0; i < LLM_MAX_REQS; i++) {
			if (req[i].active || wl_range(w, 0, 3))
				continue;
			req[i].active = true;
			req[i].tokens = wl_range(w, 64, 1024);
			req[i].end = req[i].tokens + wl_range(w, 32, 512);
			req[i].addr = wl_alloc(w, replay_round_up(req[i].tokens, LLM_BLOCK) *
					       LLM_KV_TOKEN);
			/* Prefill activations, proportional to the prompt. */
			tmp[0] = wl_alloc(w, req[i].tokens * 48 * KiB);
			wl_free(w, tmp[0]);
		}
		for (i = 0; i < LLM_MAX_REQS; i++)
			batch += req[i].active;
		tmp[nr_tmp++] = wl_alloc(w, batch * 4096 * 2 * 4 + 512);	/* hidden */
		tmp[nr_tmp++] = wl_alloc(w, (uint64_t)batch * 32000 * 4 + 256);	/* logits */
		tmp[nr_tmp++] = wl_alloc(w, 11008 * 2 * batch * 8);		/* MLP */
		tmp[nr_tmp++] = wl_alloc(w, wl_range(w, 1, 64) * KiB);	/* metadata */
		tmp[nr_tmp++] = wl_alloc(w, wl_range(w, 8, 512));
		for (i = nr_tmp - 1; i >= 0; i--)
			wl_free(w, tmp[i]);
		for (i = 0; i < LLM_MAX_REQS; i++) {
			if (!req[i].active)
				continue;
			if (++req[i].tokens >= req[i].end) {
				wl_free(w, req[i].addr);
				req[i].active = false;
			} else if (req[i].tokens % LLM_BLOCK == 0) {
				wl_resize(w, req[i].addr,
					  (req[i].tokens + LLM_BLOCK) * LLM_KV_TOKEN);
			}
		}
	}
	return w->err;
}

/*
 * A training step, repeated: 24 layers of weights (two large matrices, two
 * small vectors each); per step a batch of random sequence length, forward
 * keeps three activations per layer and frees its temporaries, backward
 * frees them in reverse while gradient temporaries come and go; gradients
 * and the optimizer's two moments are allocated at the first step and kept.
 */
#define TR_LAYERS	24

static int wl_training(struct wl *w)
{
	static const uint64_t wsize[4] = { 16 * MiB, 12 * MiB, 8 * KiB, 4 * KiB };
	uint64_t act[TR_LAYERS][3], weights[TR_LAYERS][4];
	int l, k, step;

	for (l = 0; l < TR_LAYERS; l++)
		for (k = 0; k < 4; k++)
			weights[l][k] = wl_alloc(w, wsize[k]);
	(void)weights;
	for (step = 0; step < 8; step++) {
		uint64_t seq = wl_range(w, 512, 1024);	/* tokens in this batch */
		uint64_t tmp;

		for (l = 0; l < TR_LAYERS; l++) {
			act[l][0] = wl_alloc(w, seq * 64 * KiB);
			tmp = wl_alloc(w, seq * 96 * KiB);
			act[l][1] = wl_alloc(w, seq * 16 * KiB);
			act[l][2] = wl_alloc(w, seq * 512 + 256);
			wl_free(w, tmp);
		}
		tmp = wl_alloc(w, seq * 32000 * 2);	/* logits */
		wl_free(w, tmp);
		for (l = TR_LAYERS - 1; l >= 0; l--) {
			uint64_t g = wl_alloc(w, seq * 64 * KiB);

			if (!step)
				for (k = 0; k < 4; k++)
					wl_alloc(w, wsize[k]);	/* .grad, kept */
			for (k = 2; k >= 0; k--)
				wl_free(w, act[l][k]);
			wl_free(w, g);
		}
		if (!step)
			for (l = 0; l < TR_LAYERS; l++)
				for (k = 0; k < 8; k++)
					wl_alloc(w, wsize[k % 4]);	/* exp_avg, exp_avg_sq */
		tmp = wl_alloc(w, 64 * MiB);		/* fused optimizer scratch */
		wl_free(w, tmp);
	}
	return w->err;
}

/*
 * The classic, 24 rounds on 4 GiB: allocate A (1-2 GiB), allocate a small
 * B (16-64 MiB) that stays, free A, allocate C 10% larger than A; the
 * round ends by freeing B and C.  At most 2.3 GiB is ever requested, yet C
 * fits neither in A's hole nor, once A is over ~1.9 GiB, beyond B.
 */
static int wl_classic(struct wl *w)
{
	uint64_t a, b, c, size, meta;
	int round;

	for (round = 0; round < 24; round++) {
		size = GiB + wl_range(w, 0, 256) * 4 * MiB;
		meta = wl_alloc(w, wl_range(w, 1, 64) * KiB);
		a = wl_alloc(w, size);
		b = wl_alloc(w, wl_range(w, 16, 64) * MiB);
		wl_free(w, a);
		c = wl_alloc(w, size + size / 10);
		wl_free(w, meta);
		wl_free(w, b);
		wl_free(w, c);
	}
	return w->err;
}

/*
 * Random mixed-size churn: 20000 operations, sizes log-uniform from 256 B
 * to 128 MiB, live bytes kept under 2.5 GiB (oldest-random frees make
 * room).
 */
#define CHURN_SLOTS	512

static int wl_churn(struct wl *w)
{
	uint64_t addr[CHURN_SLOTS] = { 0 }, size[CHURN_SLOTS] = { 0 };
	uint64_t live = 0, limit = 2560 * MiB;
	int op, i;

	for (op = 0; op < 20000; op++) {
		uint64_t s = wl_logsize(w, 256, 128 * MiB);

		i = wl_range(w, 0, CHURN_SLOTS - 1);
		if (addr[i]) {
			wl_free(w, addr[i]);
			live -= size[i];
			addr[i] = 0;
			continue;
		}
		while (live + s > limit) {
			int j = wl_range(w, 0, CHURN_SLOTS - 1);

			if (!addr[j])
				continue;
			wl_free(w, addr[j]);
			live -= size[j];
			addr[j] = 0;
		}
		addr[i] = wl_alloc(w, s);
		size[i] = s;
		live += s;
	}
	return w->err;
}

static int gen_llm(struct replay_trace *t, uint64_t seed);
static int gen_training(struct replay_trace *t, uint64_t seed);
static int gen_classic(struct replay_trace *t, uint64_t seed);
static int gen_churn(struct replay_trace *t, uint64_t seed);

const struct replay_workload replay_workloads[] = {
	{ "llm-serving", "LLM serving: weights, growing KV caches, per-step temporaries",
	  8 * GiB, gen_llm },
	{ "training", "training steps: weights, activations forward/backward, optimizer state",
	  8 * GiB, gen_training },
	{ "classic", "allocate A, allocate B, free A, allocate a larger C; repeated",
	  4 * GiB, gen_classic },
	{ "churn", "random mixed-size churn, 20000 operations", 4 * GiB, gen_churn },
};
const int replay_nr_workloads = sizeof(replay_workloads) / sizeof(replay_workloads[0]);

static int wl_run(struct replay_trace *t, uint64_t seed, int (*fn)(struct wl *))
{
	struct wl w = {
		.t = t,
		.rng = seed,
		.next_addr = 0x7f0000000000ull,
	};

	return fn(&w);
}

static int gen_llm(struct replay_trace *t, uint64_t seed)
{
	return wl_run(t, seed, wl_llm_serving);
}

static int gen_training(struct replay_trace *t, uint64_t seed)
{
	return wl_run(t, seed, wl_training);
}

static int gen_classic(struct replay_trace *t, uint64_t seed)
{
	return wl_run(t, seed, wl_classic);
}

static int gen_churn(struct replay_trace *t, uint64_t seed)
{
	return wl_run(t, seed, wl_churn);
}

const struct replay_workload *replay_workload_find(const char *name)
{
	for (int i = 0; i < replay_nr_workloads; i++)
		if (!strcmp(replay_workloads[i].name, name))
			return &replay_workloads[i];
	return NULL;
}

/**
 * replay_workload_generate - a workload as a trace
 * @w: the workload
 * @seed: any value; the same seed gives the same trace
 * @t: initialized here; release with replay_trace_release()
 * Return: 0 or -ENOMEM (@t is then empty).
 */
int replay_workload_generate(const struct replay_workload *w, uint64_t seed,
			     struct replay_trace *t)
{
	char source[32];
	int err;

	snprintf(source, sizeof(source), "workload:%s", w->name);
	replay_trace_init(t, source, w->capacity, WL_GRANULARITY);
	err = w->generate(t, seed);
	if (err)
		replay_trace_release(t);
	return err;
}
