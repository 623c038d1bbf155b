// SPDX-License-Identifier: MIT
/*
 * engine.c - replay a trace's requests through one model and print the
 * comparison table.
 *
 * The engine owns what every model shares: which allocations are live,
 * the requested bytes (a request that failed in a model is not live there,
 * so peak requested may differ between columns), the OOM count and the
 * first failure.  A resize is "allocate the new version, then free the
 * old" for every model (a model cannot grow in place); a failed resize
 * leaves the old version live.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"

#define NO_ID	UINT32_MAX

void replay_policy_default(struct replay_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->torch_max_split_size = UINT64_MAX;
}

/**
 * replay_run_model - replay @ops through one model
 * @mops: the model
 * @ops: the requests
 * @capacity: device memory in bytes
 * @pol: policy (knobs of the models)
 * @res: filled (name, peaks, OOMs, calls); est_us is left to the caller
 * Return: 0, or -errno when the model could not be set up.
 */
int replay_run_model(const struct replay_model_ops *mops, const struct replay_ops *ops,
		     uint64_t capacity, const struct replay_policy *pol,
		     struct replay_result *res)
{
	struct replay_model m = {
		.ops = mops,
		.capacity = capacity,
		.nr_ids = ops->nr_ids,
	};
	uint32_t *cur;		/* chain -> live version id */
	uint64_t *cur_size;	/* chain -> its requested bytes */
	uint64_t live = 0;
	size_t i;
	int err;

	memset(res, 0, sizeof(*res));
	snprintf(res->name, sizeof(res->name), "%s", mops->name);
	res->first_oom_rec = -1;
	cur = malloc((ops->nr_chains + 1) * sizeof(*cur));
	cur_size = calloc(ops->nr_chains + 1, sizeof(*cur_size));
	if (!cur || !cur_size) {
		err = -ENOMEM;
		goto out_free;
	}
	for (i = 0; i <= ops->nr_chains; i++)
		cur[i] = NO_ID;
	err = mops->init(&m, pol);
	if (err)
		goto out_free;

	for (i = 0; i < ops->nr; i++) {
		const struct replay_op *op = &ops->ops[i];
		uint32_t c = op->chain;

		switch (op->kind) {
		case REPLAY_OP_ALLOC:
		case REPLAY_OP_RESIZE:
			if (op->kind == REPLAY_OP_RESIZE && cur[c] == NO_ID)
				continue;	/* its allocation failed here */
			if (mops->alloc(&m, op->id, op->size, op->stream)) {
				if (!res->ooms++) {
					res->first_oom_rec = op->rec;
					res->first_oom_size = op->size;
					res->first_oom_live = live;
				}
				continue;
			}
			if (cur[c] != NO_ID) {
				mops->free(&m, cur[c]);
				live -= cur_size[c];
			}
			cur[c] = op->id;
			cur_size[c] = op->size;
			live += op->size;
			if (live > res->peak_requested)
				res->peak_requested = live;
			break;
		case REPLAY_OP_FREE:
			if (cur[c] == NO_ID)
				continue;
			mops->free(&m, cur[c]);
			live -= cur_size[c];
			cur[c] = NO_ID;
			break;
		}
	}
	res->ran = true;
	res->peak_held = m.peak_held;
	memcpy(res->calls, m.calls, sizeof(res->calls));
	memcpy(res->bytes, m.bytes, sizeof(res->bytes));
	mops->fini(&m);
out_free:
	if (err)
		snprintf(res->note, sizeof(res->note), "could not start: %s", strerror(-err));
	free(cur);
	free(cur_size);
	return err;
}

/** replay_fragmentation - 1 - peak requested / peak held (0 when nothing held) */
double replay_fragmentation(const struct replay_result *r)
{
	if (!r->peak_held)
		return 0;
	return 1.0 - (double)r->peak_requested / (double)r->peak_held;
}

static const char *fmt_size(char *buf, size_t len, uint64_t v)
{
	if (v >= GiB)
		snprintf(buf, len, "%.2fG", (double)v / GiB);
	else if (v >= MiB)
		snprintf(buf, len, "%.1fM", (double)v / MiB);
	else if (v >= KiB)
		snprintf(buf, len, "%.1fK", (double)v / KiB);
	else
		snprintf(buf, len, "%" PRIu64, v);
	return buf;
}

/*
 * Where each model's estimated driver time goes, by kind of call, and
 * its share of the total.  Context synchronizations are counted (in the
 * notes) but not priced: the cost tables have no measured figure for one.
 */
static void print_driver_time(FILE *out, const struct replay_costs *costs,
			      const struct replay_result *res, int nr)
{
	int i, k;

	fprintf(out, "driver ms by call (estimated from the costs above):\n");
	for (i = 0; i < nr; i++) {
		const struct replay_result *r = &res[i];

		if (!r->ran)
			continue;
		fprintf(out, "  %-17s", r->name);
		for (k = 0; k < REPLAY_CALL_NR; k++) {
			double us = replay_costs_call_us(costs, k, r->calls[k], r->bytes[k]);
			char share[16];

			snprintf(share, sizeof(share), "(%.0f%%)",
				 r->est_us > 0 ? 100.0 * us / r->est_us : 0.0);
			fprintf(out, " %s %6.1f %-*s", replay_call_name(k), us / 1000.0,
				k + 1 < REPLAY_CALL_NR ? 6 : 0, share);
		}
		fputc('\n', out);
	}
}

/**
 * replay_print_table - the comparison of every result, one row per model
 *
 * The first result that ran is the reference of the ratio columns, so
 * ratios are always between columns of the same run.
 */
void replay_print_table(FILE *out, const struct replay_trace *t, const struct replay_ops *ops,
			uint64_t capacity, const struct replay_costs *costs,
			const struct replay_result *res, int nr)
{
	const struct replay_result *ref = NULL;
	char a[32], b[32], c[32], src[REPLAY_SOURCE_TEXT];
	int i;

	for (i = 0; i < nr && !ref; i++)
		if (res[i].ran)
			ref = &res[i];
	fprintf(out, "trace: %s, %zu records, %zu requests (%u allocations), device %d, "
		"capacity %s, costs: %s\n",
		t->hdr.source[0] ? replay_escape(src, sizeof(src), t->hdr.source) : "?", t->nr,
		ops->nr, ops->nr_chains, ops->device, fmt_size(a, sizeof(a), capacity),
		costs->source);
	if (ops->ignored)
		fprintf(out, "note: %" PRIu64 " records did not match a live allocation "
			"and were skipped\n", ops->ignored);
	fprintf(out, "%-17s %9s %9s %6s %5s %-16s %7s %7s %7s %7s %7s %10s %6s %6s\n",
		"model", "peak-req", "peak-held", "frag", "OOMs", "first-OOM(rec:size)",
		"create", "map", "unmap", "setacc", "release", "driver-ms", "held/r", "time/r");
	for (i = 0; i < nr; i++) {
		const struct replay_result *r = &res[i];
		char first[40] = "-";

		if (!r->ran) {
			fprintf(out, "%-17s (not run: %s)\n", r->name, r->note);
			continue;
		}
		if (r->ooms)
			snprintf(first, sizeof(first), "%" PRId64 ":%s", r->first_oom_rec,
				 fmt_size(c, sizeof(c), r->first_oom_size));
		fprintf(out, "%-17s %9s %9s %6.3f %5" PRIu64 " %-19s %7" PRIu64 " %7" PRIu64
			" %7" PRIu64 " %7" PRIu64 " %7" PRIu64 " %10.1f", r->name,
			fmt_size(a, sizeof(a), r->peak_requested),
			fmt_size(b, sizeof(b), r->peak_held), replay_fragmentation(r), r->ooms,
			first, r->calls[REPLAY_CALL_CREATE], r->calls[REPLAY_CALL_MAP],
			r->calls[REPLAY_CALL_UNMAP], r->calls[REPLAY_CALL_SET_ACCESS],
			r->calls[REPLAY_CALL_RELEASE], r->est_us / 1000.0);
		if (ref->peak_held)
			fprintf(out, " %6.2f", (double)r->peak_held / ref->peak_held);
		else
			fprintf(out, " %6s", "-");
		if (ref->est_us > 0)
			fprintf(out, " %6.2f", r->est_us / ref->est_us);
		else
			fprintf(out, " %6s", "-");
		fputc('\n', out);
		if (r->note[0])
			fprintf(out, "%-17s note: %s\n", "", r->note);
	}
	if (ref)
		fprintf(out, "ratios (held/r, time/r) are relative to %s in this run\n", ref->name);
	print_driver_time(out, costs, res, nr);
}
