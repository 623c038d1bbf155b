// SPDX-License-Identifier: MIT
/*
 * ipc_socket.c - the legacy CUDA IPC contract on gpuvm memory.
 *
 * gpuvm_ipc_get_handle() gives a 64-byte handle (a cudaIpcMemHandle_t)
 * naming the exporter (pid and start time), the allocation (start and id)
 * and an unguessable 128-bit token, and starts, once per process, a thread
 * serving a Unix socket in the run directory, <rundir>/<pid>.ipc (mode
 * 0600, the directory itself 0700 and ours).  gpuvm_ipc_open_handle()
 * connects to it and sends the handle; the exporter checks the peer's
 * uid (SO_PEERCRED: same user or root), the token and that the allocation
 * is still the one the handle named, and answers with the runs of chunks
 * behind it and one file descriptor per physical allocation (SCM_RIGHTS),
 * which the importer maps in its own arena (ipc.c).
 *
 * Why a socket and not pidfd_getfd(): that needs ptrace rights over the
 * exporter, which Yama (ptrace_scope 1, the default of most distributions)
 * refuses between siblings; SCM_RIGHTS needs nothing but the socket, and
 * lets the exporter check what it hands out, and to whom, each time.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "ipc.h"

#define IPC_MAGIC		"GPUVMIPC"
#define IPC_VERSION		1
#define IPC_TOKEN_BYTES		16
#define IPC_FDS_PER_MSG		200		/* below the kernel's SCM_MAX_FD */
#define IPC_TIMEOUT_MS		5000		/* a peer that stalls is dropped */
#define IPC_POLL_MS		100		/* how soon the server sees a stop */

/* The handle: exactly the 64 bytes of a CUipcMemHandle. */
struct ipc_handle {
	char magic[8];
	uint32_t version;
	int32_t pid;
	uint64_t start_time;
	uint64_t base;
	uint64_t id;
	uint8_t token[IPC_TOKEN_BYTES];
	int32_t device;
	uint32_t reserved;		/* 0 */
};

_Static_assert(sizeof(struct ipc_handle) == GPUVM_IPC_HANDLE_SIZE, "handle size");

/* Importer to exporter. */
struct ipc_request {
	uint32_t version;
	int32_t device;
	uint64_t base;
	uint64_t id;
	uint8_t token[IPC_TOKEN_BYTES];
};

/* Exporter to importer, then nr_pieces pieces, then the fds. */
struct ipc_reply {
	int32_t status;			/* 0 or -errno */
	uint32_t nr_pieces;
	uint32_t nr_fds;
	uint32_t pad;
	uint64_t size;
	uint64_t map_size;
	uint64_t head;
};

/* An allocation this process handed a handle out for. */
struct ipc_exported {
	struct ipc_key key;
	uint8_t token[IPC_TOKEN_BYTES];
};

static struct {
	pthread_mutex_t lock;
	struct ipc_exported *v;		/* lock */
	uint32_t nr, cap;
	bool serving;			/* the thread runs; lock */
	bool stop;			/* atomic */
	pthread_t thread;
	int listen_fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
} ipc = { .lock = PTHREAD_MUTEX_INITIALIZER, .listen_fd = -1 };

/* ---- bytes on a socket ---- */

/* When this thread's exchange must be over (CLOCK_MONOTONIC ns). */
static __thread uint64_t ipc_deadline;

static void exchange_begin(void)
{
	ipc_deadline = vmm_now_ns() + IPC_TIMEOUT_MS * 1000000ull;
}

/*
 * Wait until @fd is ready, in slices, so that a peer that trickles bytes
 * cannot hold the exchange past its deadline, nor the server past a stop.
 */
static int wait_fd(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n;

	for (;;) {
		if (__atomic_load_n(&ipc.stop, __ATOMIC_ACQUIRE))
			return -ESHUTDOWN;
		if (vmm_now_ns() >= ipc_deadline)
			return -ETIMEDOUT;
		n = poll(&p, 1, IPC_POLL_MS);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

/* All @len bytes of @buf sent (@out) or received, within IPC_TIMEOUT_MS a step. */
static int xfer_all(int fd, void *buf, size_t len, bool out)
{
	char *p = buf;
	ssize_t n;
	int ret;

	while (len) {
		ret = wait_fd(fd, out ? POLLOUT : POLLIN);
		if (ret)
			return ret;
		n = out ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int send_all(int fd, const void *buf, size_t len)
{
	return xfer_all(fd, (void *)buf, len, true);
}

static int recv_all(int fd, void *buf, size_t len)
{
	return xfer_all(fd, buf, len, false);
}

/* @n fds, in messages of one byte each carrying up to IPC_FDS_PER_MSG. */
static int send_fds(int sock, const int *fds, uint32_t n)
{
	char cbuf[CMSG_SPACE(IPC_FDS_PER_MSG * sizeof(int))];
	uint32_t done = 0, k;
	char byte = 'F';
	int ret;

	while (done < n) {
		struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf };
		struct cmsghdr *cm;

		k = n - done < IPC_FDS_PER_MSG ? n - done : IPC_FDS_PER_MSG;
		memset(cbuf, 0, sizeof(cbuf));
		msg.msg_controllen = CMSG_SPACE(k * sizeof(int));
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(k * sizeof(int));
		memcpy(CMSG_DATA(cm), fds + done, k * sizeof(int));
		ret = wait_fd(sock, POLLOUT);
		if (ret)
			return ret;
		if (sendmsg(sock, &msg, MSG_NOSIGNAL) != 1)
			return -errno;
		done += k;
	}
	return 0;
}

/* Receive @n fds into @fds (each -1 until received).  Return: 0 or -errno. */
static int recv_fds(int sock, int *fds, uint32_t n)
{
	char cbuf[CMSG_SPACE(IPC_FDS_PER_MSG * sizeof(int))];
	uint32_t done = 0, k;
	char byte;
	int ret;

	while (done < n) {
		struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				      .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *cm;
		ssize_t got;

		ret = wait_fd(sock, POLLIN);
		if (ret)
			return ret;
		got = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
		if (got != 1)
			return got < 0 ? -errno : -EPIPE;
		for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
			if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
				continue;
			k = (uint32_t)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			if (k > n - done) {
				/* more than announced: take none of the extra */
				int extra[IPC_FDS_PER_MSG], i;

				memcpy(extra, CMSG_DATA(cm), k * sizeof(int));
				for (i = (int)(n - done); i < (int)k; i++)
					close(extra[i]);
				k = n - done;
			}
			memcpy(fds + done, CMSG_DATA(cm), k * sizeof(int));
			done += k;
		}
		if (msg.msg_flags & MSG_CTRUNC)
			return -EPROTO;
	}
	return 0;
}

static bool token_equal(const uint8_t *a, const uint8_t *b)
{
	uint8_t diff = 0;
	int i;

	for (i = 0; i < IPC_TOKEN_BYTES; i++)
		diff |= a[i] ^ b[i];	/* in constant time */
	return !diff;
}

/* ---- the exporter ---- */

static int socket_path(char *buf, size_t len, int pid)
{
	int n = snprintf(buf, len, "%s/%d.ipc", publish_rundir(), pid);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* The token of @key's entry, or NULL; ipc.lock held. */
static struct ipc_exported *__exported_find(const struct ipc_key *key)
{
	uint32_t i;

	for (i = 0; i < ipc.nr; i++)
		if (!memcmp(&ipc.v[i].key, key, sizeof(*key)))
			return &ipc.v[i];
	return NULL;
}

/* Forget handles of allocations that are gone; ipc.lock held. */
static void __exported_prune(void)
{
	uint32_t i = 0;

	while (i < ipc.nr) {
		if (!ipc_export_alive(&ipc.v[i].key)) {
			ipc.v[i] = ipc.v[--ipc.nr];
			continue;
		}
		i++;
	}
}

static void serve_one(int conn)
{
	struct ipc_reply rep = { .status = -EINVAL };
	struct ipc_export e = { 0 };
	struct ipc_exported *x;
	struct ipc_request req;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct ipc_key key;

	exchange_begin();
	if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &clen) ||
	    (cred.uid != geteuid() && cred.uid != 0))
		return;		/* another user: not a byte */
	if (recv_all(conn, &req, sizeof(req)) || req.version != IPC_VERSION)
		return;
	memset(&key, 0, sizeof(key));
	key.device = req.device;
	key.pid = getpid();
	key.start_time = gpuvm_proc_start_time(key.pid);
	key.base = req.base;
	key.id = req.id;
	pthread_mutex_lock(&ipc.lock);
	x = __exported_find(&key);
	if (x && token_equal(x->token, req.token))
		rep.status = 0;
	pthread_mutex_unlock(&ipc.lock);
	if (!rep.status) {
		rep.status = vmm_gated(-ESHUTDOWN, ipc_export(&key, &e));
		rep.nr_pieces = e.nr_pieces;
		rep.nr_fds = e.nr_fds;
		rep.size = e.size;
		rep.map_size = e.map_size;
		rep.head = e.head;
	}
	if (!send_all(conn, &rep, sizeof(rep)) && !rep.status &&
	    !send_all(conn, e.pieces, e.nr_pieces * sizeof(*e.pieces)))
		send_fds(conn, e.fds, e.nr_fds);
	ipc_export_put(&e);
}

static void *serve(void *arg)
{
	struct timeval tv = { IPC_TIMEOUT_MS / 1000, 0 };
	struct pollfd p = { .fd = ipc.listen_fd, .events = POLLIN };
	int conn;

	(void)arg;
	while (!__atomic_load_n(&ipc.stop, __ATOMIC_ACQUIRE)) {
		if (poll(&p, 1, IPC_POLL_MS) <= 0)
			continue;
		conn = accept4(ipc.listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (conn < 0)
			continue;
		setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(conn, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		serve_one(conn);
		close(conn);
	}
	return NULL;
}

/* Start the server once; ipc.lock held.  Return: 0 or -errno. */
static int __serve_start(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	sigset_t all, old;
	int fd, ret;

	if (ipc.serving)
		return 0;
	/* a link, another user's or a writable directory: no socket there */
	ret = publish_rundir_check();
	if (ret)
		return ret;
	ret = socket_path(sa.sun_path, sizeof(sa.sun_path), getpid());
	if (ret)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* a leftover at our own pid's name is a dead process's */
	unlink(sa.sun_path);
	if (fchmod(fd, 0600) && errno != EINVAL)
		goto out_errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		goto out_errno;
	if (chmod(sa.sun_path, 0600) || listen(fd, 64))
		goto out_unlink;
	ipc.listen_fd = fd;
	__atomic_store_n(&ipc.stop, false, __ATOMIC_RELEASE);
	/* the thread takes no signal the program meant for its own threads */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = -pthread_create(&ipc.thread, NULL, serve, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		ipc.listen_fd = -1;
		unlink(sa.sun_path);
		close(fd);
		return ret;
	}
	snprintf(ipc.path, sizeof(ipc.path), "%s", sa.sun_path);
	ipc.serving = true;
	return 0;

out_unlink:
	ret = -errno;
	unlink(sa.sun_path);
	close(fd);
	return ret;
out_errno:
	ret = -errno;
	close(fd);
	return ret;
}

/* At shutdown: no more handles are served; the socket goes. */
void ipc_stop(void)
{
	bool serving;
	pthread_t thread;

	/* the server may wait for ipc.lock: joined without it */
	pthread_mutex_lock(&ipc.lock);
	serving = ipc.serving;
	thread = ipc.thread;
	ipc.serving = false;
	if (serving)
		__atomic_store_n(&ipc.stop, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&ipc.lock);
	if (!serving)
		return;
	pthread_join(thread, NULL);
	pthread_mutex_lock(&ipc.lock);
	close(ipc.listen_fd);
	ipc.listen_fd = -1;
	unlink(ipc.path);
	ipc.nr = 0;
	/* this process may open handles again after a new gpuvm_init() */
	__atomic_store_n(&ipc.stop, false, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&ipc.lock);
}

/* A fork child has no server thread and exported nothing yet. */
void ipc_atfork_child(void)
{
	pthread_mutex_init(&ipc.lock, NULL);
	if (ipc.listen_fd >= 0)
		close(ipc.listen_fd);
	ipc.listen_fd = -1;
	ipc.serving = false;
	ipc.nr = 0;
}

static int ipc_get_handle(gpuvm_ptr_t ptr, void *handle, gpuvm_ptr_t *base)
{
	struct ipc_exported *x;
	struct ipc_handle h;
	struct ipc_key key;
	uint64_t size;
	int ret;

	if (!handle)
		return -EINVAL;
	if (!gpuvm_owns(ptr, NULL))
		return -ENOENT;
	memset(&key, 0, sizeof(key));
	key.pid = getpid();
	key.start_time = gpuvm_proc_start_time(key.pid);
	pthread_mutex_lock(&ipc.lock);
	/* the server first: memory is marked only when it can be shared */
	ret = __serve_start();
	if (ret) {
		vmm_warn("cannot share gpuvm memory: the socket %s/%d.ipc: %s",
			 publish_rundir(), key.pid, strerror(-ret));
		goto out_unlock;
	}
	ret = ipc_mark(ptr, &key, &size);
	if (ret)
		goto out_unlock;
	x = __exported_find(&key);
	if (!x) {
		if (ipc.nr == ipc.cap)
			__exported_prune();
		if (ipc.nr == ipc.cap) {
			uint32_t cap = ipc.cap ? ipc.cap * 2 : 64;
			struct ipc_exported *v = realloc(ipc.v, cap * sizeof(*v));

			if (!v) {
				ret = -ENOMEM;
				goto out_unlock;
			}
			ipc.v = v;
			ipc.cap = cap;
		}
		x = &ipc.v[ipc.nr];
		x->key = key;
		if (getrandom(x->token, sizeof(x->token), 0) != (ssize_t)sizeof(x->token)) {
			ret = -EAGAIN;
			goto out_unlock;
		}
		ipc.nr++;
	}
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, IPC_MAGIC, sizeof(h.magic));
	h.version = IPC_VERSION;
	h.pid = key.pid;
	h.start_time = key.start_time;
	h.base = key.base;
	h.id = key.id;
	h.device = key.device;
	memcpy(h.token, x->token, sizeof(h.token));
	memcpy(handle, &h, sizeof(h));
	if (base)
		*base = key.base;
out_unlock:
	pthread_mutex_unlock(&ipc.lock);
	return ret;
}

/**
 * gpuvm_ipc_get_handle - a handle another process opens to share memory
 * @ptr: an address inside a live gpuvm allocation
 * @handle: receives GPUVM_IPC_HANDLE_SIZE bytes (a CUipcMemHandle)
 * @base: if non-NULL, receives the allocation's start (what an open maps)
 *
 * The same allocation gives the same handle; once it is freed its handle
 * opens nothing, even when its address is reused.  While another process
 * has it open, its memory is not reused here after it is freed.
 * Return: 0; -ENOENT when gpuvm did not hand out @ptr; -EOPNOTSUPP for a
 * sub-allocated object or a driver that cannot export; else -errno.
 */
GPUVM_API int gpuvm_ipc_get_handle(gpuvm_ptr_t ptr, void *handle, gpuvm_ptr_t *base)
{
	return vmm_gated(-ESHUTDOWN, ipc_get_handle(ptr, handle, base));
}

/**
 * gpuvm_ipc_is_handle - whether a handle was made by gpuvm_ipc_get_handle()
 * @handle: GPUVM_IPC_HANDLE_SIZE bytes
 */
GPUVM_API bool gpuvm_ipc_is_handle(const void *handle)
{
	return handle && !memcmp(handle, IPC_MAGIC, 8);
}

/* Ask the exporter for @h's allocation: the reply, pieces and fds in @e. */
static int ipc_fetch(const struct ipc_handle *h, struct ipc_export *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ipc_request req = { .version = IPC_VERSION };
	struct ipc_reply rep;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	uint32_t i;
	int fd, ret;

	ret = socket_path(sa.sun_path, sizeof(sa.sun_path), h->pid);
	if (ret)
		return ret;
	exchange_begin();
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* a full backlog (many openers at once) says EAGAIN: try again */
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		const struct timespec pause = { 0, 1000000 };	/* 1 ms */

		if (errno != EAGAIN || vmm_now_ns() >= ipc_deadline) {
			ret = errno == ENOENT || errno == ECONNREFUSED ? -ESRCH : -errno;
			goto out_close;
		}
		nanosleep(&pause, NULL);
	}
	/* the one who answers is the exporter, of our user */
	ret = -EACCES;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) || cred.pid != h->pid ||
	    (cred.uid != geteuid() && cred.uid != 0))
		goto out_close;
	req.device = h->device;
	req.base = h->base;
	req.id = h->id;
	memcpy(req.token, h->token, sizeof(req.token));
	ret = send_all(fd, &req, sizeof(req));
	if (!ret)
		ret = recv_all(fd, &rep, sizeof(rep));
	if (ret)
		goto out_close;	/* refused (a bad token closes without a word) */
	if (rep.status) {
		ret = rep.status < 0 ? rep.status : -EPROTO;
		goto out_close;
	}
	ret = -EPROTO;
	if (!rep.nr_pieces || rep.nr_pieces > IPC_MAX_PIECES || !rep.nr_fds ||
	    rep.nr_fds > IPC_MAX_FDS)
		goto out_close;
	e->pieces = calloc(rep.nr_pieces, sizeof(*e->pieces));
	e->fds = malloc(rep.nr_fds * sizeof(*e->fds));
	if (!e->pieces || !e->fds) {
		ret = -ENOMEM;
		goto out_put;
	}
	for (i = 0; i < rep.nr_fds; i++)
		e->fds[i] = -1;
	e->nr_pieces = rep.nr_pieces;
	e->nr_fds = rep.nr_fds;
	e->size = rep.size;
	e->map_size = rep.map_size;
	e->head = rep.head;
	ret = recv_all(fd, e->pieces, rep.nr_pieces * sizeof(*e->pieces));
	if (!ret)
		ret = recv_fds(fd, e->fds, rep.nr_fds);
	if (!ret)
		goto out_close;
out_put:
	ipc_export_put(e);
out_close:
	close(fd);
	return ret;
}

static int ipc_open_handle(const void *handle, unsigned int flags, int dev, gpuvm_ptr_t *ptr)
{
	struct ipc_export e = { 0 };
	struct ipc_handle h;
	struct ipc_key key;
	int ret;

	if (!handle || !ptr)
		return -EINVAL;
	if (!gpuvm_ipc_is_handle(handle))
		return -ENOENT;
	memcpy(&h, handle, sizeof(h));
	if (h.version != IPC_VERSION || h.reserved || h.pid <= 0 || h.device < 0 ||
	    h.device >= GPUVM_MAX_DEVICES || !h.id || !h.base)
		return -EINVAL;
	if ((flags & ~GPUVM_IPC_LAZY_PEER_ACCESS) || dev >= GPUVM_MAX_DEVICES)
		return -EINVAL;
	/* a pid now another process's: the handle's exporter is gone */
	if (gpuvm_proc_start_time(h.pid) != h.start_time)
		return -ESRCH;
	memset(&key, 0, sizeof(key));
	key.device = h.device;
	key.pid = h.pid;
	key.start_time = h.start_time;
	key.base = h.base;
	key.id = h.id;
	ret = ipc_fetch(&h, &e);
	if (ret)
		return ret;
	/* mapped for @dev and those given peer access to gpuvm memory
	 * (cuCtxEnablePeerAccess): what the lazy flag asks for */
	ret = ipc_import(&key, &e, dev < 0 ? h.device : dev, ptr);
	ipc_export_put(&e);
	return ret;
}

/**
 * gpuvm_ipc_open_handle - map memory another process shared
 * @handle: GPUVM_IPC_HANDLE_SIZE bytes from gpuvm_ipc_get_handle()
 * @flags: 0 or GPUVM_IPC_LAZY_PEER_ACCESS
 * @dev: the device to map it for, as cuIpcOpenMemHandle maps for the
 *	 current context's (-1: the exporter's ordinal)
 * @ptr: receives the address of the allocation's first byte in this process
 *
 * A second open of the same handle gives the same address (closed as many
 * times).  Return: 0; -ENOENT when @handle is not a gpuvm handle (it may
 * be the driver's); -EINVAL for a malformed, forged or stale handle (its
 * allocation freed); -ESRCH when its process is gone; -EACCES when it is
 * another user's; else -errno.  Nothing is mapped on failure.
 */
GPUVM_API int gpuvm_ipc_open_handle(const void *handle, unsigned int flags, int dev,
				    gpuvm_ptr_t *ptr)
{
	int ret = vmm_gated(-ESHUTDOWN, ipc_open_handle(handle, flags, dev, ptr));

	/* a token the exporter does not know, or a freed allocation */
	return ret == -EPIPE || ret == -ESTALE ? -EINVAL : ret;
}

/**
 * gpuvm_ipc_close_handle - unmap what gpuvm_ipc_open_handle() mapped
 * @ptr: the address it gave
 * Return: 0; -EINVAL when @ptr lies in gpuvm's memory but no open handle
 * mapped it; -ENOENT when it is outside gpuvm's memory.
 */
GPUVM_API int gpuvm_ipc_close_handle(gpuvm_ptr_t ptr)
{
	return vmm_gated(-ESHUTDOWN, ipc_close(ptr));
}
