// SPDX-License-Identifier: MIT
/*
 * set.c - `gpuvm set` and `gpuvm reclaim`: change a live process's policy.
 *
 * Through /gpuvm/<pid>/[dev<N>/]policy/<knob> when mounted, else by
 * writing the process's control segment with gpuvmfs's writer; values are
 * checked with the schema (gpuvm_knob_parse, gpuvm_knob_check) first on
 * both paths, so a bad value gets the same errno as `echo` into the file
 * and nothing changes.
 *
 * Several KNOB=VALUE pairs are all or nothing: each is checked alone, then
 * together with the process's current values of the knobs not named
 * (gpuvm_knob_check_all, per device) before any is written; they are
 * written in an order whose every step keeps those rules, and when the
 * process still refuses one, those already written are put back.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gpuvm/segment.h>

#include "command.h"
#include <gpuvmfs/gpuvmfs.h>

/* The schema, as `gpuvm set --list` prints it. */
static void list_knobs(void)
{
	int i, n = gpuvm_knob_count();
	char def[128];

	printf("%-20s %-6s %-22s %s\n", "KNOB", "TYPE", "DEFAULT", "DESCRIPTION");
	for (i = 0; i < n; i++) {
		static const char *const types[] = { "size", "uint", "bool", "enum" };
		const struct gpuvm_knob *k = gpuvm_knob_at(i);

		if (!k)
			continue;
		if (gpuvm_knob_format(k, k->def, def, sizeof(def)) < 0)
			strcpy(def, "?");
		printf("%-20s %-6s %-22s %s%s%s\n", k->name,
		       (unsigned int)k->type < 4 ? types[k->type] : "?", def,
		       k->help ? k->help : "", k->init_only ? " (at start only)" : "",
		       k->new_allocs_only ? " (new allocations)" : "");
	}
}

/* Common to set and reclaim: [--device N] source options, then a PID. */
static int parse_common(const char *cmd, int argc, char **argv, struct cli_source *src,
			int *dev, pid_t *pid, bool *list)
{
	static const struct option opts[] = {
		CLI_SOURCE_LONGOPTS,
		{ "device", required_argument, NULL, 'd' },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	struct cli_source_opts so = { 0 };
	uint64_t v;
	int c;

	*dev = -1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		if (cli_source_opt(c, optarg, &so))
			continue;
		if (c == 'd') {
			if (cli_parse_uint(cmd, "--device", optarg, GPUVM_SEG_MAX_DEVICES - 1, &v))
				return EXIT_USAGE;
			*dev = (int)v;
			continue;
		}
		if (c == 'l' && list) {
			*list = true;
			return 0;
		}
		if (c == 'h') {
			cli_usage(cmd, false);
			return -1;
		}
		cli_usage(cmd, true);
		return EXIT_USAGE;
	}
	if (optind >= argc) {
		cli_err(cmd, "no PID given");
		cli_usage(cmd, true);
		return EXIT_USAGE;
	}
	if (cli_parse_pid(cmd, argv[optind], pid))
		return EXIT_USAGE;
	optind++;
	return cli_source_init(cmd, &so, src);
}

/* One KNOB=VALUE of the command line, checked by the schema. */
struct set_pair {
	const char *arg;		/* "KNOB=VALUE", as given */
	const char *text;		/* VALUE */
	const struct gpuvm_knob *k;
	int idx;			/* schema index */
	uint64_t val;
};

/* Every knob of every device in reach, as the process has them now. */
struct live_knobs {
	unsigned int mask;		/* bit d: val[d] read */
	uint64_t val[GPUVM_SEG_MAX_DEVICES][GPUVM_SEG_MAX_KNOBS];
};

/* The knobs of the devices the segment publishes. */
static int live_from_segment(const struct cli_source *src, pid_t pid, int dev,
			     struct live_knobs *lk)
{
	struct gpuvm_snapshot snap;
	struct gpuvm_segment seg;
	struct gpuvmfs_proc proc;
	char dir[PATH_MAX];
	int err, d, i, n = gpuvm_knob_count();

	err = cli_segment_open(src, pid, &seg, &proc, dir);
	if (err)
		return err;
	err = gpuvm_snapshot_take(&seg, 0, &snap);
	gpuvm_segment_close(&seg);
	for (d = 0; !err && d < GPUVM_SEG_MAX_DEVICES; d++) {
		if (!snap.dev[d] || (dev >= 0 && d != dev))
			continue;
		for (i = 0; i < n; i++) {
			const struct gpuvm_knob *k = gpuvm_knob_at(i);
			const struct gpuvm_seg_knob *sk = gpuvm_snap_knob(snap.dev[d], k->name);

			lk->val[d][i] = sk ? sk->value : k->def;
		}
		lk->mask |= 1u << d;
	}
	gpuvm_snapshot_release(&snap);
	return err;
}

/* A knob file's text as a value: enums show "[active] other". */
static int read_knob_file(const char *path, const struct gpuvm_knob *k, uint64_t *val)
{
	char text[256], *p = text, *end;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	text[n] = '\0';
	if (k->type == GPUVM_KNOB_ENUM && *p == '[') {
		end = strchr(++p, ']');
		if (!end)
			return -EINVAL;
		*end = '\0';
	}
	return gpuvm_knob_parse(k, p, val);
}

/* Every knob file of one policy directory; -ENOENT: no such directory. */
static int read_policy_dir(const char *dir, uint64_t *vals)
{
	char path[PATH_MAX + 128];
	int i, err, n = gpuvm_knob_count();
	struct stat sb;

	if (stat(dir, &sb))
		return -errno;
	for (i = 0; i < n; i++) {
		const struct gpuvm_knob *k = gpuvm_knob_at(i);

		snprintf(path, sizeof(path), "%s/%s", dir, k->name);
		err = read_knob_file(path, k, &vals[i]);
		if (err == -ENOENT)
			vals[i] = k->def;
		else if (err)
			return err;
	}
	return 0;
}

/*
 * The knobs through the mount: /gpuvm/<pid>/dev<N>/policy/ with several
 * devices, else /gpuvm/<pid>/policy/ (-ENODATA there: no device yet).
 */
static int live_from_mount(const struct cli_source *src, pid_t pid, int dev,
			   struct live_knobs *lk)
{
	char path[PATH_MAX + 128];
	struct stat sb;
	int d, err;

	snprintf(path, sizeof(path), "%s/%d", src->mount, (int)pid);
	if (stat(path, &sb))
		return errno == ENOENT ? -ESRCH : -errno;
	for (d = 0; d < GPUVM_SEG_MAX_DEVICES; d++) {
		if (dev >= 0 && d != dev)
			continue;
		snprintf(path, sizeof(path), "%s/%d/dev%d/policy", src->mount, (int)pid, d);
		err = read_policy_dir(path, lk->val[d]);
		if (err == -ENOENT)
			continue;	/* not a device of this process */
		if (err)
			return err;
		lk->mask |= 1u << d;
	}
	if (lk->mask)
		return 0;
	d = dev >= 0 ? dev : 0;
	snprintf(path, sizeof(path), "%s/%d/policy", src->mount, (int)pid);
	err = read_policy_dir(path, lk->val[d]);
	if (err == -ENODATA)
		return 0;
	if (err)
		return err == -ENOENT ? -ESRCH : err;
	lk->mask |= 1u << d;
	return 0;
}

/*
 * Would each device take @p on top of @lk?  A device not set up yet is
 * not seen here; the process itself still refuses what does not fit it.
 */
static int pair_fits(const struct live_knobs *lk, const struct set_pair *p, int dev,
		     const char **why)
{
	uint64_t next[GPUVM_SEG_MAX_KNOBS];
	int d, err;

	for (d = 0; d < GPUVM_SEG_MAX_DEVICES; d++) {
		if (!(lk->mask & (1u << d)) || (dev >= 0 && d != dev))
			continue;
		memcpy(next, lk->val[d], sizeof(next));
		next[p->idx] = p->val;
		err = gpuvm_knob_check_all(next, why);
		if (err)
			return err;
	}
	return 0;
}

static void pair_apply(struct live_knobs *lk, const struct set_pair *p)
{
	int d;

	for (d = 0; d < GPUVM_SEG_MAX_DEVICES; d++)
		lk->val[d][p->idx] = p->val;
}

/*
 * Put @pairs in an order in which every step keeps the rules between
 * knobs, so a change that is valid as a whole is never refused halfway
 * (high_watermark raised before low_watermark goes above its old value).
 * Return: 0, or -EINVAL with *why when no order reaches the end.
 */
static int order_pairs(const struct live_knobs *now, struct set_pair *pairs, int nr, int dev,
		       const char **why)
{
	struct live_knobs sim = *now;
	struct set_pair tmp;
	int placed, i;

	for (placed = 0; placed < nr; placed++) {
		for (i = placed; i < nr; i++)
			if (!pair_fits(&sim, &pairs[i], dev, NULL))
				break;
		if (i == nr) {
			/* name the rule the whole set breaks, or the first step's */
			for (i = placed; i < nr; i++)
				pair_apply(&sim, &pairs[i]);
			for (i = 0; i < GPUVM_SEG_MAX_DEVICES; i++)
				if ((sim.mask & (1u << i)) && gpuvm_knob_check_all(sim.val[i], why))
					return -EINVAL;
			return pair_fits(now, &pairs[placed], dev, why) ? -EINVAL : 0;
		}
		tmp = pairs[placed];
		pairs[placed] = pairs[i];
		pairs[i] = tmp;
		pair_apply(&sim, &pairs[placed]);
	}
	return 0;
}

/* The old value of @p's knob, as text, from @lk (device @dev, or the lowest). */
static int old_text(const struct live_knobs *lk, const struct set_pair *p, int dev,
		    char *buf, size_t len)
{
	int d;

	for (d = 0; d < GPUVM_SEG_MAX_DEVICES; d++)
		if ((lk->mask & (1u << d)) && (dev < 0 || d == dev))
			break;
	if (d == GPUVM_SEG_MAX_DEVICES)
		return -ENODATA;
	if (p->k->type == GPUVM_KNOB_ENUM) {
		if (p->k->choices[lk->val[d][p->idx]] == NULL)
			return -EINVAL;
		snprintf(buf, len, "%s", p->k->choices[lk->val[d][p->idx]]);
		return 0;
	}
	snprintf(buf, len, "%" PRIu64, lk->val[d][p->idx]);
	return 0;
}

/* Put back what pairs[0..@nr) changed, last first; 0 when all went back. */
static int undo_pairs(const struct cli_source *src, pid_t pid, int dev,
		      const struct live_knobs *old, const struct set_pair *pairs, int nr)
{
	char text[128], first[128];
	int i, d, err, ret = 0;

	for (i = nr - 1; i >= 0; i--) {
		const struct set_pair *p = &pairs[i];

		err = old_text(old, p, dev, first, sizeof(first));
		if (!err)
			err = cli_write_knob(src, pid, dev, p->k->name, first);
		/* with every device written at once, one that differed gets its own back */
		for (d = 0; !err && dev < 0 && d < GPUVM_SEG_MAX_DEVICES; d++) {
			if (!(old->mask & (1u << d)))
				continue;
			err = old_text(old, p, d, text, sizeof(text));
			if (!err && strcmp(text, first))
				err = cli_write_knob(src, pid, d, p->k->name, text);
		}
		if (err) {
			cli_err("set", "%d: could not put %s back: %s", (int)pid, p->k->name,
				strerror(-err));
			ret = err;
		}
	}
	return ret;
}

int cmd_set(int argc, char **argv)
{
	char name[GPUVM_SEG_KNOB_NAME];
	struct set_pair *pairs = NULL;
	struct live_knobs *lk = NULL;
	struct cli_source src;
	const char *why = NULL;
	bool list = false;
	int dev, ret, i, j, nr, err;
	pid_t pid;

	ret = parse_common("set", argc, argv, &src, &dev, &pid, &list);
	if (list) {
		list_knobs();
		return 0;
	}
	if (ret)
		return ret < 0 ? 0 : ret;
	if (optind >= argc) {
		cli_err("set", "no KNOB=VALUE given");
		return EXIT_USAGE;
	}
	nr = argc - optind;
	pairs = calloc(nr, sizeof(*pairs));
	lk = calloc(1, sizeof(*lk));
	if (!pairs || !lk || gpuvm_knob_count() > GPUVM_SEG_MAX_KNOBS) {
		cli_err("set", "%s", strerror(ENOMEM));
		ret = 1;
		goto out_free;
	}
	/* every pair is checked before any is applied: all or none */
	ret = EXIT_USAGE;
	for (i = 0; i < nr; i++) {
		struct set_pair *p = &pairs[i];
		const char *eq = strchr(argv[optind + i], '=');
		size_t len;

		p->arg = argv[optind + i];
		len = eq ? (size_t)(eq - p->arg) : 0;
		if (!eq || !len || len >= sizeof(name)) {
			cli_err("set", "'%s': expected KNOB=VALUE", p->arg);
			goto out_free;
		}
		memcpy(name, p->arg, len);
		name[len] = '\0';
		p->text = eq + 1;
		err = cli_check_knob(name, p->text, &p->k, &p->val);
		if (err == -ENOENT) {
			cli_err("set", "%s: no such knob (gpuvm set --list)", name);
			goto out_free;
		}
		if (err) {
			cli_err("set", "%s: %s", p->arg, strerror(-err));
			goto out_free;
		}
		for (p->idx = 0; gpuvm_knob_at(p->idx) != p->k; p->idx++)
			;
		for (j = 0; j < i; j++) {
			if (pairs[j].k == p->k) {
				cli_err("set", "%s: named twice", p->k->name);
				goto out_free;
			}
		}
	}

	/* the knobs not named keep their current values: read them */
	err = src.mount[0] ? live_from_mount(&src, pid, dev, lk) :
			     live_from_segment(&src, pid, dev, lk);
	if (err == -ESRCH || (err == -ENOENT && dev < 0)) {
		cli_err("set", "%d: no such process using gpuvm", (int)pid);
		ret = 1;
		goto out_free;
	}
	if (err) {
		cli_err("set", "%d: %s", (int)pid, strerror(-err));
		ret = 1;
		goto out_free;
	}
	if (dev >= 0 && !(lk->mask & (1u << dev))) {
		cli_err("set", "%d: no device %d", (int)pid, dev);
		ret = 1;
		goto out_free;
	}
	if (order_pairs(lk, pairs, nr, dev, &why)) {
		cli_err("set", "%d: %s (%s); nothing changed", (int)pid, strerror(EINVAL),
			why ? why : "the knobs disagree");
		goto out_free;
	}

	ret = 1;
	for (i = 0; i < nr; i++) {
		err = cli_write_knob(&src, pid, dev, pairs[i].k->name, pairs[i].text);
		if (!err)
			continue;
		if (err == -ESRCH || (err == -ENOENT && dev < 0)) {
			cli_err("set", "%d: no such process using gpuvm", (int)pid);
			goto out_free;
		}
		cli_err("set", "%d %s: %s", (int)pid, pairs[i].arg, strerror(-err));
		if (i && !undo_pairs(&src, pid, dev, lk, pairs, i))
			cli_err("set", "%d: the %d change%s before it put back; nothing changed",
				(int)pid, i, i > 1 ? "s" : "");
		goto out_free;
	}
	ret = 0;
out_free:
	free(lk);
	free(pairs);
	return ret;
}

/* What a status says of the process's physical memory, for reclaim's report. */
struct held {
	uint64_t reclaimed, chunks, cached, physical;
};

static int read_held(const struct cli_source *src, pid_t pid, int dev, struct held *h)
{
	char *text;
	int err;

	err = cli_read(src, pid, dev, CLI_STATUS, &text);
	if (err)
		return err;
	h->reclaimed = cli_status_u64(text, "reclaimed");
	h->chunks = cli_status_u64(text, "chunks");
	h->cached = cli_status_u64(text, "cached");
	h->physical = cli_status_u64(text, "physical");
	free(text);
	return 0;
}

/*
 * One line: what went back to the driver, and what stays cached and why.
 * "reclaimed" only grows (a trim may add to it meanwhile); chunks may be
 * created meanwhile too, so a negative difference reads as none.
 */
static void report_reclaim(pid_t pid, const char *amount, const struct held *b,
			   const struct held *a)
{
	uint64_t bytes = a->reclaimed - b->reclaimed;
	uint64_t chunks = b->chunks > a->chunks ? b->chunks - a->chunks : 0;
	char rel[16], left[16];
	const char *why;

	cli_human(rel, sizeof(rel), bytes);
	cli_human(left, sizeof(left), a->cached);
	if (!a->cached)
		why = "";
	else if (strcmp(amount, "all"))
		why = ": more than was asked for";
	else
		why = ": the driver refused to release it (see the process's warnings)";
	printf("%d: released %s (%" PRIu64 " chunk%s) to the driver; %s stays cached%s\n",
	       (int)pid, rel, chunks, chunks == 1 ? "" : "s", left, why);
}

int cmd_reclaim(int argc, char **argv)
{
	struct cli_source src;
	const char *amount = "all";
	struct held before, after;
	uint64_t want;
	int dev, ret, err;
	pid_t pid;

	ret = parse_common("reclaim", argc, argv, &src, &dev, &pid, NULL);
	if (ret)
		return ret < 0 ? 0 : ret;
	if (optind < argc)
		amount = argv[optind++];
	if (optind < argc) {
		cli_err("reclaim", "unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	/* a bad amount is a usage error before the process is asked anything */
	err = gpuvmfs_parse_reclaim(amount, &want);
	if (!err)
		err = read_held(&src, pid, dev, &before);
	if (!err)
		err = cli_reclaim(&src, pid, dev, amount);
	if (err == -EINVAL || err == -ERANGE) {
		cli_err("reclaim", "'%s': %s (expected all or a size)", amount, strerror(-err));
		return EXIT_USAGE;
	}
	if ((err == -ESRCH || err == -ENOENT) && dev >= 0) {
		cli_err("reclaim", "%d: no such process using gpuvm, or no device %d in it",
			(int)pid, dev);
		return 1;
	}
	if (err == -ESRCH || err == -ENOENT) {
		cli_err("reclaim", "%d: no such process using gpuvm", (int)pid);
		return 1;
	}
	if (err) {
		cli_err("reclaim", "%d: %s", (int)pid, strerror(-err));
		return 1;
	}
	/* the request was applied when cli_reclaim returned */
	if (read_held(&src, pid, dev, &after)) {
		printf("%d: reclaim applied; the process is gone\n", (int)pid);
		return 0;
	}
	report_reclaim(pid, amount, &before, &after);
	return 0;
}
