/* SPDX-License-Identifier: MIT */
/*
 * ipc.h - between ipc.c (what is mapped) and ipc_socket.c (the protocol).
 */
#ifndef GPUVM_VMM_IPC_H
#define GPUVM_VMM_IPC_H

#include <stdbool.h>
#include <stdint.h>

#include <gpuvm/gpuvm.h>

/* Which allocation of which process a handle names: no padding (memcmp). */
struct ipc_key {
	int32_t device;			/* ordinal in the exporter */
	int32_t pid;			/* the exporter */
	uint64_t start_time;		/* the exporter's (/proc stat field 22) */
	uint64_t base;			/* the allocation's start there */
	uint64_t id;			/* its allocation id there */
};

/* A run of chunks adjacent in VA and in one physical allocation. */
struct ipc_piece {
	uint64_t offset;		/* bytes from the mapping's start */
	uint64_t size;			/* bytes */
	uint64_t phys_offset;		/* bytes into its physical allocation */
	uint32_t fd_index;		/* which of the fds it is cut from */
	uint32_t pad;
};

/* What an importer needs to map an allocation. */
struct ipc_export {
	uint64_t size;			/* usable bytes of the allocation */
	uint64_t map_size;		/* bytes mapped: the pieces together */
	uint64_t head;			/* bytes of the mapping before its start */
	uint32_t nr_pieces;
	uint32_t nr_fds;
	struct ipc_piece *pieces;
	int *fds;			/* POSIX handles, one per allocation */
};

/* Most pieces and fds one export may have (a 64 GiB allocation of 2 MiB
 * chunks, each from another allocation, has 32768). */
#define IPC_MAX_PIECES		65536u
#define IPC_MAX_FDS		65536u

int ipc_mark(gpuvm_ptr_t ptr, struct ipc_key *key, uint64_t *size);
int ipc_export(const struct ipc_key *key, struct ipc_export *e);
bool ipc_export_alive(const struct ipc_key *key);
void ipc_export_put(struct ipc_export *e);
int ipc_import(const struct ipc_key *key, const struct ipc_export *e, int dev,
	       gpuvm_ptr_t *ptr);
int ipc_close(gpuvm_ptr_t ptr);

/* ipc_socket.c */
void ipc_stop(void);
void ipc_atfork_child(void);

#endif /* GPUVM_VMM_IPC_H */
