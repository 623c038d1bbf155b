// SPDX-License-Identifier: MIT
/*
 * metrics_http.c - the text of /gpuvm/metrics over HTTP, for Prometheus to
 * scrape: GET (or HEAD) /metrics and nothing else.  gpuvmfs
 * --metrics-listen and `gpuvm exporter` both serve with it; the text is
 * the caller's (gpuvmfs_metrics_text(): one renderer for the file and for
 * both servers).
 *
 * A fixed pool of GPUVMFS_HTTP_THREADS threads takes connections from one
 * listening socket, each serving one at a time: the request line and
 * headers (at most GPUVMFS_HTTP_REQUEST_MAX bytes) must arrive within
 * GPUVMFS_HTTP_REQUEST_MS, the whole exchange ends within
 * GPUVMFS_HTTP_CONN_MS, then the connection is closed (Connection: close;
 * no keep-alive, chunking or compression).  A slow or silent client holds
 * one thread for a bounded time, never the server.  The text is bounded
 * as every gpuvmfs text is (GPUVM_READ_TEXT_MAX, and GPUVM_READ_MEM_MAX
 * over all readers, HTTP ones included: a request beyond it gets 503).
 *
 * No FUSE in here: it is part of libgpuvmfs.a, which the gpuvm command
 * links.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gpuvmfs/gpuvmfs.h>

/* Threads serving connections, each one at a time. */
#define GPUVMFS_HTTP_THREADS		4
/* Connections waiting for a thread (listen(2)'s backlog). */
#define GPUVMFS_HTTP_BACKLOG		16
/* Most bytes of request line and headers. */
#define GPUVMFS_HTTP_REQUEST_MAX	8192
/* How long the request may take to arrive, from the accept, in ms. */
#define GPUVMFS_HTTP_REQUEST_MS		3000
/* How long a whole connection may last, in ms (Prometheus's default scrape timeout). */
#define GPUVMFS_HTTP_CONN_MS		10000
/* After the answer: how long and how much of a request body is read away, so
 * closing does not reset the connection before the client has read the answer. */
#define GPUVMFS_HTTP_LINGER_MS		1000
#define GPUVMFS_HTTP_LINGER_MAX		65536

#define METRICS_PATH	"/metrics"
#define METRICS_TYPE	"text/plain; version=0.0.4; charset=utf-8"
#define ERROR_TYPE	"text/plain; charset=utf-8"

struct gpuvmfs_http {
	int fd;				/* listening, non-blocking */
	int stop[2];			/* a pipe: closing stop[1] stops every thread */
	gpuvmfs_http_text_fn text;
	void *arg;
	pthread_t threads[GPUVMFS_HTTP_THREADS];
	unsigned int nr_threads;	/* started */
	char addr[INET6_ADDRSTRLEN + 8];	/* as bound: "ADDR:PORT", "[ADDR]:PORT" */
};

/* ---- the address ---- */

static int parse_port(const char *text, in_port_t *port)
{
	unsigned long v = 0;
	const char *p;

	if (!*text || strlen(text) > 5)
		return -EINVAL;
	for (p = text; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v > 65535)
		return -EINVAL;
	*port = htons((in_port_t)v);
	return 0;
}

/*
 * "ADDR:PORT" (numeric IPv4, or localhost), "[ADDR]:PORT" (numeric IPv6)
 * or "PORT" (127.0.0.1).  ":PORT", which Go programs read as every
 * interface, is refused rather than guessed at.
 */
static int parse_addr(const char *text, struct sockaddr_storage *ss, socklen_t *len,
		      const char **why)
{
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	char host[INET6_ADDRSTRLEN];
	const char *port, *end;
	size_t hlen;

	memset(ss, 0, sizeof(*ss));
	*why = NULL;
	if (text[0] == '[') {
		end = strchr(text, ']');
		if (!end || end[1] != ':') {
			*why = "expected [IPv6 address]:PORT";
			return -EINVAL;
		}
		hlen = (size_t)(end - text - 1);
		port = end + 2;
		if (hlen >= sizeof(host))
			goto bad_host;
		memcpy(host, text + 1, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
			goto bad_host;
		in6->sin6_family = AF_INET6;
		*len = sizeof(*in6);
		goto out_port;
	}
	end = strrchr(text, ':');
	if (end == text) {
		*why = "no address: 127.0.0.1:PORT serves this machine only, "
		       "0.0.0.0:PORT every interface";
		return -EINVAL;
	}
	if (end && memchr(text, ':', (size_t)(end - text))) {
		*why = "an IPv6 address goes in brackets, as in [::1]:PORT";
		return -EINVAL;
	}
	if (end) {
		hlen = (size_t)(end - text);
		port = end + 1;
		if (hlen >= sizeof(host))
			goto bad_host;
		memcpy(host, text, hlen);
		host[hlen] = '\0';
	} else if (text[0] && strspn(text, "0123456789") == strlen(text)) {
		strcpy(host, "127.0.0.1");
		port = text;
	} else {
		*why = "expected ADDR:PORT (as in 127.0.0.1:9464 or [::1]:9464) or PORT";
		return -EINVAL;
	}
	if (!strcmp(host, "localhost"))
		strcpy(host, "127.0.0.1");
	if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
		goto bad_host;
	in->sin_family = AF_INET;
	*len = sizeof(*in);
out_port:
	if (parse_port(port, ss->ss_family == AF_INET6 ? &in6->sin6_port : &in->sin_port)) {
		*why = "PORT is not a number in [0, 65535]";
		return -EINVAL;
	}
	return 0;
bad_host:
	*why = "ADDR is not a numeric IPv4 address, localhost, or [IPv6 address]";
	return -EINVAL;
}

static void format_addr(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
	const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
	char host[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(in6->sin6_port));
	} else {
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(in->sin_port));
	}
}

/**
 * gpuvmfs_http_listen - bind a metrics server to an address; it does not
 * serve until gpuvmfs_http_start()
 * @text: "ADDR:PORT" (numeric IPv4 or localhost), "[ADDR]:PORT" (IPv6) or
 *        "PORT" (127.0.0.1); PORT 0 takes any free port
 *        (gpuvmfs_http_address() says which)
 * @out: the server, on success
 * @why: on -EINVAL, what is wrong with @text
 * Return: 0, -EINVAL (@text is malformed), or the -errno of socket(),
 * bind() or listen() (-EADDRINUSE, -EACCES, -EADDRNOTAVAIL, ...).
 */
int gpuvmfs_http_listen(const char *text, struct gpuvmfs_http **out, const char **why)
{
	struct sockaddr_storage ss;
	struct gpuvmfs_http *h;
	socklen_t len;
	int one = 1, err;

	err = parse_addr(text, &ss, &len, why);
	if (err)
		return err;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (h->fd < 0) {
		err = -errno;
		goto out_free;
	}
	/* a restarted server gets its port back while old connections linger */
	setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(h->fd, (struct sockaddr *)&ss, len) < 0 ||
	    listen(h->fd, GPUVMFS_HTTP_BACKLOG) < 0) {
		err = -errno;
		goto out_close;
	}
	len = sizeof(ss);
	if (getsockname(h->fd, (struct sockaddr *)&ss, &len) < 0) {
		err = -errno;
		goto out_close;
	}
	format_addr(&ss, h->addr, sizeof(h->addr));
	if (pipe2(h->stop, O_CLOEXEC) < 0) {
		err = -errno;
		goto out_close;
	}
	*out = h;
	return 0;

out_close:
	close(h->fd);
out_free:
	free(h);
	return err;
}

/** gpuvmfs_http_address - where @h listens, as "ADDR:PORT" or "[ADDR]:PORT" */
const char *gpuvmfs_http_address(const struct gpuvmfs_http *h)
{
	return h->addr;
}

/* ---- one connection ---- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Wait until @fd is ready for @events or @deadline (ms) passes. Return: 0, -ETIMEDOUT. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	uint64_t now;
	int n;

	for (;;) {
		now = now_ms();
		if (now >= deadline)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, (int)(deadline - now));
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

static int send_all(int fd, const char *data, size_t len, uint64_t deadline)
{
	ssize_t n;
	int err;

	while (len) {
		n = send(fd, data, len, MSG_NOSIGNAL);
		if (n > 0) {
			data += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		err = wait_fd(fd, POLLOUT, deadline);
		if (err)
			return err;
	}
	return 0;
}

/* Where the request's headers end (past the empty line), or 0. */
static size_t headers_end(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (buf[i + 1] == '\n')
			return i + 2;
		if (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/*
 * Read the request line and headers into @buf (GPUVMFS_HTTP_REQUEST_MAX
 * bytes and a NUL).  Return: 0 (*len: their bytes), an HTTP status to
 * answer with (408, 414, 431), or -1: the client went away, answer nothing.
 */
static int read_request(int fd, char *buf, size_t *len, uint64_t deadline)
{
	size_t have = 0, end;
	ssize_t n;

	for (;;) {
		if (have == GPUVMFS_HTTP_REQUEST_MAX)
			return memchr(buf, '\n', have) ? 431 : 414;
		n = recv(fd, buf + have, GPUVMFS_HTTP_REQUEST_MAX - have, 0);
		if (n == 0)
			return -1;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -1;
			if (wait_fd(fd, POLLIN, deadline))
				return have ? 408 : -1;
			continue;
		}
		have += (size_t)n;
		end = headers_end(buf, have);
		if (end) {
			buf[end] = '\0';
			*len = end;
			return 0;
		}
	}
}

struct http_request {
	bool head;	/* HEAD: the headers of the answer only */
};

static bool is_token(const char *s, size_t len)
{
	size_t i;

	if (!len)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("!#$%&'*+-.^_`|~", s[i]))
			return false;
	return true;
}

/* Whether one of the header lines after the request line is Host. */
static bool has_host(const char *headers)
{
	const char *line = headers;

	while (line && *line && *line != '\r' && *line != '\n') {
		if (!strncasecmp(line, "host:", 5))
			return true;
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return false;
}

/*
 * The request line "METHOD TARGET HTTP/1.x" and what matters in the
 * headers.  Return: 0 (serve the metrics) or the HTTP status to answer.
 */
static int parse_request(char *req, struct http_request *r)
{
	char *line_end = strchr(req, '\n'), *method, *target, *version, *sp, *p;
	size_t len;

	r->head = false;
	if (!line_end)
		return 400;
	*line_end = '\0';
	if (line_end > req && line_end[-1] == '\r')
		line_end[-1] = '\0';
	method = req;
	sp = strchr(method, ' ');
	if (!sp)
		return 400;
	*sp = '\0';
	target = sp + 1;
	sp = strchr(target, ' ');
	if (!sp)
		return 400;
	*sp = '\0';
	version = sp + 1;
	if (!is_token(method, strlen(method)) || !*target || strchr(version, ' '))
		return 400;
	r->head = !strcmp(method, "HEAD");
	if (strncmp(version, "HTTP/", 5))
		return 400;
	if (strcmp(version, "HTTP/1.1") && strcmp(version, "HTTP/1.0")) {
		p = version + 5;
		if (isdigit((unsigned char)p[0]) && p[1] == '.' && isdigit((unsigned char)p[2]) &&
		    !p[3])
			return 505;
		return 400;
	}
	/* HTTP/1.1 requires Host (RFC 9112, 3.2) */
	if (!strcmp(version, "HTTP/1.1") && !has_host(line_end + 1))
		return 400;
	/* the absolute form a proxy sends: its path */
	if (!strncasecmp(target, "http://", 7)) {
		target = strchr(target + 7, '/');
		if (!target)
			target = "/";
	}
	if (target[0] != '/')
		return 400;
	len = strcspn(target, "?#");
	if (len != strlen(METRICS_PATH) || strncmp(target, METRICS_PATH, len))
		return 404;
	if (strcmp(method, "GET") && !r->head)
		return 405;
	return 0;
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Internal Server Error";
	}
}

/* An IMF-fixdate (RFC 9110, 5.6.7), whatever the locale. */
static void http_date(char *buf, size_t len)
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, len, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7],
		 tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		 tm.tm_sec);
}

static int respond(int fd, int status, const char *type, const char *body, size_t len,
		   bool head, uint64_t deadline)
{
	char hdr[512], date[40];
	int n, err;

	http_date(date, sizeof(date));
	n = snprintf(hdr, sizeof(hdr),
		     "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		     "%s%sConnection: close\r\n\r\n", status, reason(status), date, type, len,
		     status == 405 ? "Allow: GET, HEAD\r\n" : "",
		     status == 503 ? "Retry-After: 1\r\n" : "");
	err = send_all(fd, hdr, (size_t)n, deadline);
	if (err || head || !len)
		return err;
	return send_all(fd, body, len, deadline);
}

static int respond_error(int fd, int status, const char *detail, bool head, uint64_t deadline)
{
	char body[256];
	int n;

	n = snprintf(body, sizeof(body), "%d %s%s%s\n", status, reason(status),
		     detail ? ": " : "", detail ? detail : "");
	return respond(fd, status, ERROR_TYPE, body, (size_t)n, head, deadline);
}

static void respond_metrics(struct gpuvmfs_http *h, int fd, bool head, uint64_t deadline)
{
	struct gpuvmfs_buf b = { 0 };
	int err;

	err = h->text(h->arg, &b);
	if (!err)
		err = b.err;
	if (err)
		respond_error(fd, err == -EAGAIN ? 503 : 500, strerror(-err), head, deadline);
	else
		respond(fd, 200, METRICS_TYPE, b.data, b.len, head, deadline);
	gpuvmfs_buf_free(&b);
}

/* Close after the answer went out, reading away what the client still sends. */
static void linger_close(int fd, uint64_t deadline)
{
	uint64_t until = now_ms() + GPUVMFS_HTTP_LINGER_MS;
	size_t drained = 0;
	char sink[4096];
	ssize_t n;

	if (until > deadline)
		until = deadline;
	shutdown(fd, SHUT_WR);
	while (drained < GPUVMFS_HTTP_LINGER_MAX) {
		n = recv(fd, sink, sizeof(sink), 0);
		if (n > 0) {
			drained += (size_t)n;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			break;
		if (errno != EINTR && wait_fd(fd, POLLIN, until))
			break;
	}
	close(fd);
}

static void serve_connection(struct gpuvmfs_http *h, int fd)
{
	uint64_t start = now_ms(), deadline = start + GPUVMFS_HTTP_CONN_MS;
	char req[GPUVMFS_HTTP_REQUEST_MAX + 1];
	struct http_request r = { false };
	size_t len;
	int status;

	status = read_request(fd, req, &len, start + GPUVMFS_HTTP_REQUEST_MS);
	if (status < 0) {
		close(fd);
		return;
	}
	if (!status)
		status = parse_request(req, &r);
	if (status == 404)
		respond_error(fd, status, "only " METRICS_PATH " is served here", r.head, deadline);
	else if (status)
		respond_error(fd, status, NULL, r.head, deadline);
	else
		respond_metrics(h, fd, r.head, deadline);
	linger_close(fd, deadline);
}

/* ---- the pool ---- */

static void *serve_thread(void *arg)
{
	struct gpuvmfs_http *h = arg;
	struct pollfd pfd[2] = {
		{ .fd = h->fd, .events = POLLIN },
		{ .fd = h->stop[0], .events = POLLIN },
	};
	int fd;

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents)
			break;
		fd = accept4(h->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			serve_connection(h, fd);
			continue;
		}
		/* out of descriptors or memory: let the others finish, then retry */
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			poll(&pfd[1], 1, 100);
	}
	return NULL;
}

/**
 * gpuvmfs_http_start - serve GET /metrics from a pool of threads
 * @h: from gpuvmfs_http_listen()
 * @text: fills a buffer with the metrics text, for each request (from any
 *        of the threads at once); a non-zero return (or the buffer's err)
 *        is answered 503 for -EAGAIN, else 500
 * @arg: for @text
 *
 * The threads block every signal, so a process's own handlers (FUSE's,
 * sigwait()) see them.  Start after any fork (fuse_daemonize()).
 * Return: 0, or the -errno of pthread_create() when no thread started.
 */
int gpuvmfs_http_start(struct gpuvmfs_http *h, gpuvmfs_http_text_fn text, void *arg)
{
	sigset_t all, old;
	int err = 0;

	h->text = text;
	h->arg = arg;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	while (h->nr_threads < GPUVMFS_HTTP_THREADS) {
		err = pthread_create(&h->threads[h->nr_threads], NULL, serve_thread, h);
		if (err)
			break;
		h->nr_threads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return h->nr_threads ? 0 : -err;
}

/**
 * gpuvmfs_http_close - stop serving (each thread ends its connection
 * first, GPUVMFS_HTTP_CONN_MS at most), close the socket, free @h
 * @h: the server, or NULL
 */
void gpuvmfs_http_close(struct gpuvmfs_http *h)
{
	unsigned int i;

	if (!h)
		return;
	/* the pipe's end closed: every thread's poll() sees it hang up */
	close(h->stop[1]);
	for (i = 0; i < h->nr_threads; i++)
		pthread_join(h->threads[i], NULL);
	close(h->stop[0]);
	close(h->fd);
	free(h);
}
