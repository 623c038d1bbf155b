/* SPDX-License-Identifier: MIT */
/*
 * command.h - private to the gpuvm command (tools/gpuvm): the subcommands and
 * the helpers they share.
 *
 * Conventions: a subcommand returns the process exit status: 0 success,
 * 1 failure (the reason printed on stderr as "gpuvm CMD: ..."), 2 bad
 * usage.  `gpuvm run` returns its program's status instead.
 */
#ifndef GPUVM_TOOLS_GPUVM_COMMAND_H
#define GPUVM_TOOLS_GPUVM_COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <gpuvm/gpuvm.h>

#define EXIT_USAGE	2

/* One subcommand: the const table in command.c lists them all. */
struct gpuvm_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);	/* argv[0] is the name */
	const char *help;			/* one line, for `gpuvm help` */
	const char *usage;			/* for `gpuvm CMD --help` */
};

const struct gpuvm_cmd *cli_find_cmd(const char *name);
void cli_usage(const char *name, bool to_stderr);
void cli_err(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cli_parse_pid(const char *cmd, const char *text, pid_t *pid);
int cli_parse_uint(const char *cmd, const char *what, const char *text, uint64_t max,
		   uint64_t *val);
void cli_human(char *buf, size_t len, uint64_t bytes);
const char *cli_self_dir(void);
const char *cli_lib_dir(void);

int cmd_run(int argc, char **argv);
int cmd_ps(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_maps(int argc, char **argv);
int cmd_pagetable(int argc, char **argv);
int cmd_set(int argc, char **argv);
int cmd_reclaim(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_map(int argc, char **argv);
int cmd_driver(int argc, char **argv);
int cmd_exporter(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_stress(int argc, char **argv);

/* ---- driver.c: which driver runs here, in one line ---- */

struct cli_driver {
	char path[4096];	/* what to open: "libcuda.so.1" or a file */
	bool by_name;		/* the dynamic linker's own libcuda.so.1 */
	char line[512];		/* "driver: ...", no newline */
};

int cli_driver_pick(const char *choice, struct cli_driver *drv);
int cli_driver_export(const struct cli_driver *drv);
const char *cli_driver_preload(const struct cli_driver *drv);

/* ---- source.c: /gpuvm when mounted, else the segments ---- */

/* Where the state of processes is read from and knobs are written to. */
struct cli_source {
	const char *rundir;	/* --rundir, GPUVM_RUNDIR, or our own default */
	bool per_user;		/* none named and root: every user's own directory */
	char own[4096];		/* our own default run directory */
	char mount[4096];	/* a gpuvmfs mount, or "" to read segments */
	char served[4096];	/* what that mount serves: a run directory,
				 * "per-user", or "" when it does not say */
	bool direct;		/* --direct */
	int others_mounted;	/* none chosen: mounts serving other directories */
};

/* Options every state-reading subcommand takes (see cli_source_opts). */
#define CLI_SOURCE_LONGOPTS						\
	{ "mount", required_argument, NULL, 'M' },			\
	{ "direct", no_argument, NULL, 'D' },				\
	{ "rundir", required_argument, NULL, 'R' }

struct cli_source_opts {
	const char *mount;	/* --mount DIR */
	const char *rundir;	/* --rundir DIR */
	bool direct;		/* --direct: ignore any mount */
};

bool cli_source_opt(int c, const char *arg, struct cli_source_opts *o);
int cli_source_init(const char *cmd, const struct cli_source_opts *o, struct cli_source *src);
bool cli_is_gpuvmfs(const char *dir);
struct gpuvmfs_proc;
struct gpuvm_segment;
int cli_segment_open(const struct cli_source *src, pid_t pid, struct gpuvm_segment *seg,
		     struct gpuvmfs_proc *proc, char *dir);
void cli_source_describe(const struct cli_source *src, char *buf, size_t len);

/* A malloc'ed, NUL-terminated text of a file of a process. */
enum cli_file { CLI_STATUS, CLI_MAPS, CLI_PAGETABLE };

int cli_read(const struct cli_source *src, pid_t pid, int dev, enum cli_file file,
	     char **text);
int cli_list_pids(const struct cli_source *src, pid_t **pids, size_t *nr);
struct gpuvmfs_buf;
int cli_metrics(const struct cli_source *src, struct gpuvmfs_buf *b);
int cli_write_knob(const struct cli_source *src, pid_t pid, int dev, const char *knob,
		   const char *value);
int cli_reclaim(const struct cli_source *src, pid_t pid, int dev, const char *amount);
int cli_check_knob(const char *name, const char *value, const struct gpuvm_knob **knob,
		   uint64_t *val);

/* "key: value" lookups in a status text. */
bool cli_status_str(const char *text, const char *key, char *buf, size_t len);
uint64_t cli_status_u64(const char *text, const char *key);
double cli_status_double(const char *text, const char *key);
uint64_t cli_status_driver_calls(const char *text);

/* ---- arena.c: the page table as runs of states, for top and map ---- */

enum cli_cell { CELL_FREE, CELL_RESERVED, CELL_MAPPED, CELL_CACHED, CELL_OTHER, CELL_NR };

struct cli_pte {
	uint64_t va;
	uint64_t owner;		/* allocation id, 0: none */
	uint32_t chunk;		/* GPUVM_NO_CHUNK: none */
	uint8_t cell;		/* enum cli_cell */
};

struct cli_arena {
	uint64_t base, size;	/* bytes; from status, or the table's extent */
	uint64_t granule;	/* bytes per entry */
	struct cli_pte *pte;	/* sorted by va */
	size_t nr;
};

int cli_arena_load(const struct cli_source *src, pid_t pid, int dev, struct cli_arena *a);
void cli_arena_free(struct cli_arena *a);

#endif /* GPUVM_TOOLS_GPUVM_COMMAND_H */
