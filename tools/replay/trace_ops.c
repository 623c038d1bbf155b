// SPDX-License-Identifier: MIT
/*
 * trace_ops.c - turn a trace into the operations a program asked for.
 *
 * Allocations are matched by address: an ALLOC opens a chain at its
 * address, RESIZEs extend it, and its FREE_REQUESTED closes it.  A trace
 * with no FREE_REQUESTED at all (an importer that knows only when memory
 * came back) is closed by FREE_COMPLETED instead; otherwise completions are
 * ignored, since one may arrive after the address was handed out again.  What the recording
 * allocator did internally (chunks, maps, OOMs) is not a request and is
 * skipped: every model makes its own decisions.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"

/* Open-addressing map from a live address to its chain. */
struct addr_map {
	uint64_t *keys;		/* 0: empty slot (address 0 is never live) */
	uint32_t *vals;
	int8_t *tomb;		/* 1: deleted slot, keeps probe chains intact */
	size_t size;		/* slots, a power of two */
	size_t used;		/* live + deleted slots */
};

static size_t addr_hash(uint64_t a, size_t size)
{
	a ^= a >> 33;
	a *= 0xff51afd7ed558ccdull;
	a ^= a >> 33;
	return a & (size - 1);
}

static int addr_map_init(struct addr_map *m, size_t size)
{
	m->size = size;
	m->used = 0;
	m->keys = calloc(size, sizeof(*m->keys));
	m->vals = calloc(size, sizeof(*m->vals));
	m->tomb = calloc(size, sizeof(*m->tomb));
	if (!m->keys || !m->vals || !m->tomb) {
		free(m->keys);
		free(m->vals);
		free(m->tomb);
		return -ENOMEM;
	}
	return 0;
}

static void addr_map_release(struct addr_map *m)
{
	free(m->keys);
	free(m->vals);
	free(m->tomb);
}

static long addr_map_find(const struct addr_map *m, uint64_t key)
{
	size_t i = addr_hash(key, m->size);

	while (m->keys[i] || m->tomb[i]) {
		if (m->keys[i] == key)
			return i;
		i = (i + 1) & (m->size - 1);
	}
	return -1;
}

static int addr_map_put(struct addr_map *m, uint64_t key, uint32_t val);

static int addr_map_grow(struct addr_map *m)
{
	struct addr_map n;
	size_t i;
	int err;

	err = addr_map_init(&n, m->size * 2);
	if (err)
		return err;
	for (i = 0; i < m->size; i++)
		if (m->keys[i])
			addr_map_put(&n, m->keys[i], m->vals[i]);
	addr_map_release(m);
	*m = n;
	return 0;
}

static int addr_map_put(struct addr_map *m, uint64_t key, uint32_t val)
{
	size_t i;
	int err;

	if ((m->used + 1) * 2 > m->size) {
		err = addr_map_grow(m);
		if (err)
			return err;
	}
	i = addr_hash(key, m->size);
	while (m->keys[i])
		i = (i + 1) & (m->size - 1);
	if (!m->tomb[i])
		m->used++;
	m->tomb[i] = 0;
	m->keys[i] = key;
	m->vals[i] = val;
	return 0;
}

static void addr_map_del(struct addr_map *m, long slot)
{
	m->keys[slot] = 0;
	m->tomb[slot] = 1;
}

static int ops_push(struct replay_ops *o, size_t *cap, const struct replay_op *op)
{
	if (o->nr == *cap) {
		size_t ncap = *cap ? *cap * 2 : 1024;
		struct replay_op *n = realloc(o->ops, ncap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		o->ops = n;
		*cap = ncap;
	}
	o->ops[o->nr++] = *op;
	return 0;
}

/**
 * replay_ops_build - the requests of one device's records
 * @t: the trace
 * @device: device ordinal, or -1 for the device of the first ALLOC
 * @o: filled on success (release with replay_ops_release())
 * Return: 0 or -errno.
 */
int replay_ops_build(const struct replay_trace *t, int device, struct replay_ops *o)
{
	struct addr_map live;
	uint32_t *chain_alloc = NULL;	/* chain -> index of its ALLOC op */
	size_t cap = 0, chain_cap = 0, i;
	bool has_requests = false;
	int err;

	memset(o, 0, sizeof(*o));
	if (device < 0) {
		device = 0;
		for (i = 0; i < t->nr; i++) {
			if (t->recs[i].event == GPUVM_EV_ALLOC) {
				device = t->recs[i].device;
				break;
			}
		}
	}
	o->device = device;
	for (i = 0; i < t->nr && !has_requests; i++)
		has_requests = t->recs[i].event == GPUVM_EV_FREE_REQUESTED;
	err = addr_map_init(&live, 1024);
	if (err)
		return err;

	for (i = 0; i < t->nr; i++) {
		const struct gpuvm_trace_record *r = &t->recs[i];
		struct replay_op op = {
			.stream = r->stream,
			.time_ns = r->time_ns,
			.rec = i,
		};
		long slot;

		if (r->device != device)
			continue;
		switch (r->event) {
		case GPUVM_EV_ALLOC:
			if (!r->requested || !r->addr) {
				o->ignored++;
				continue;
			}
			slot = addr_map_find(&live, r->addr);
			if (slot >= 0) {
				/* The free was lost (dropped events): close it here. */
				op.kind = REPLAY_OP_FREE;
				op.chain = live.vals[slot];
				addr_map_del(&live, slot);
				err = ops_push(o, &cap, &op);
				if (err)
					goto out_release;
				o->ignored++;
			}
			if (o->nr_chains == chain_cap) {
				size_t ncap = chain_cap ? chain_cap * 2 : 1024;
				uint32_t *n = realloc(chain_alloc, ncap * sizeof(*n));

				if (!n) {
					err = -ENOMEM;
					goto out_release;
				}
				chain_alloc = n;
				chain_cap = ncap;
			}
			op.kind = REPLAY_OP_ALLOC;
			op.chain = o->nr_chains;
			op.id = o->nr_ids++;
			op.size = op.max_size = r->requested;
			chain_alloc[o->nr_chains++] = o->nr;
			err = addr_map_put(&live, r->addr, op.chain);
			break;
		case GPUVM_EV_RESIZE:
			slot = addr_map_find(&live, r->addr);
			if (slot < 0 || !r->requested) {
				o->ignored++;
				continue;
			}
			op.kind = REPLAY_OP_RESIZE;
			op.chain = live.vals[slot];
			op.id = o->nr_ids++;
			op.size = r->requested;
			{
				struct replay_op *a = &o->ops[chain_alloc[op.chain]];

				a->growable = true;
				if (op.size > a->max_size)
					a->max_size = op.size;
			}
			break;
		case GPUVM_EV_FREE_REQUESTED:
		case GPUVM_EV_FREE_COMPLETED:
			if (r->event == GPUVM_EV_FREE_COMPLETED && has_requests)
				continue;
			slot = addr_map_find(&live, r->addr);
			if (slot < 0) {
				/* A completion after its request is expected. */
				if (r->event == GPUVM_EV_FREE_REQUESTED)
					o->ignored++;
				continue;
			}
			op.kind = REPLAY_OP_FREE;
			op.chain = live.vals[slot];
			addr_map_del(&live, slot);
			break;
		default:
			continue;
		}
		if (err)
			goto out_release;
		err = ops_push(o, &cap, &op);
		if (err)
			goto out_release;
	}
	free(chain_alloc);
	addr_map_release(&live);
	return 0;

out_release:
	free(chain_alloc);
	addr_map_release(&live);
	replay_ops_release(o);
	return err;
}

void replay_ops_release(struct replay_ops *o)
{
	free(o->ops);
	o->ops = NULL;
	o->nr = 0;
}
