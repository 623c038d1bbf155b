// SPDX-License-Identifier: MIT
/*
 * exporter.c - `gpuvm exporter`: /gpuvm/metrics over HTTP for Prometheus
 * on a machine without FUSE.  The text is source.c's (the mount serving
 * our run directory when there is one, else gpuvmfs's renderer over the
 * segments), the server gpuvmfs's own (fusefs/metrics_http.c), so the
 * exporter, gpuvmfs --metrics-listen and the file cannot differ.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "command.h"
#include <gpuvmfs/gpuvmfs.h>

/* For each request, from any of the server's threads. */
static int exporter_text(void *src, struct gpuvmfs_buf *b)
{
	return cli_metrics(src, b);
}

int cmd_exporter(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		CLI_SOURCE_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	const char *listen = GPUVMFS_METRICS_LISTEN, *why;
	struct cli_source_opts so = { 0 };
	struct gpuvmfs_http *http;
	struct cli_source src;
	char how[8400];
	sigset_t stop;
	int c, err, sig;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (cli_source_opt(c, optarg, &so))
			continue;
		if (c == 'l') {
			listen = optarg;
			continue;
		}
		cli_usage("exporter", c != 'h');
		return c == 'h' ? 0 : EXIT_USAGE;
	}
	if (optind != argc) {
		cli_err("exporter", "unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	err = cli_source_init("exporter", &so, &src);
	if (err)
		return err;
	err = gpuvmfs_http_listen(listen, &http, &why);
	if (err == -EINVAL && why) {
		cli_err("exporter", "--listen '%s': %s", listen, why);
		return EXIT_USAGE;
	}
	if (err) {
		cli_err("exporter", "cannot listen on %s: %s", listen, strerror(-err));
		return 1;
	}
	/* taken by sigwait() below, never by the server's threads */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	err = gpuvmfs_http_start(http, exporter_text, &src);
	if (err) {
		cli_err("exporter", "cannot start serving: %s", strerror(-err));
		gpuvmfs_http_close(http);
		return 1;
	}
	cli_source_describe(&src, how, sizeof(how));
	printf("gpuvm exporter: serving http://%s/metrics, %s\n", gpuvmfs_http_address(http),
	       how);
	fflush(stdout);
	sigwait(&stop, &sig);
	gpuvmfs_http_close(http);
	return 0;
}
