/* SPDX-License-Identifier: MIT */
/*
 * broker.c - xpcd as one object: the Broker holds the socket's directory
 * (rundir.c), the job registry (registry.c), supervision (supervise.c), the
 * client links (clients.c) and the socket (listener.c), and runs them in
 * order: the directory and its lock first (a second broker on the same
 * socket exits before touching anything), then the job directories, the
 * adoption of running instances left by an earlier broker, the start of
 * RunAtLoad/KeepAlive jobs, and last the socket.  The top of the broker's
 * files: nothing below calls it.
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"
#include "broker/log.h"
#include "broker/plist.h"

void broker_init(Broker *b, const BrokerConfig *config)
{
	*b = (Broker){.config = *config};
	rundir_init(&b->rundir);
	registry_init(&b->registry, &b->rundir);
	b->supervisor.booting = true;
	clients_init(&b->clients, b);
	listener_init(&b->listener, &b->clients, &b->rundir);
}

/* Loads the *.plist files of @dir in name order; a bad one is reported and
 * skipped. */
static void broker_load_dir(Broker *b, const char *dir)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, NULL, alphasort);
	char path[4096], err[1024];

	for (int i = 0; i < n; i++) {
		Job *job = NULL;
		size_t len = strlen(names[i]->d_name);
		if (len > 6 && !strcmp(names[i]->d_name + len - 6, ".plist")) {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
			if (plist_load_job(path, &job, err, sizeof(err)) < 0 || supervise_add(b, job, err, sizeof(err)) < 0)
				fprintf(stderr, "xpcd: %s\n", err);
		}
		free(names[i]);
	}
	free(names);
}

static void on_term(void *ctx)
{
	broker_stop(ctx);
	exit(0);
}

static void broker_catch(Broker *b, int sig)
{
	dispatch_source_t s = dispatch_source_create(DISPATCH_SOURCE_TYPE_SIGNAL, (uintptr_t)sig, 0,
						     dispatch_get_main_queue());

	dispatch_set_context(s, b);
	dispatch_source_set_event_handler_f(s, on_term);
	dispatch_resume(s);
}

int broker_run(Broker *b)
{
	const BrokerConfig *cfg = &b->config;
	const LinkLimits *lim = users_limits(&b->clients.users);
	char err[1024];

	/* first of all: the socket's directory is ours, and no other broker
	 * serves this socket */
	if (rundir_open(&b->rundir, cfg->socket_path, err, sizeof(err)) < 0) {
		fprintf(stderr, "xpcd: %s\n", err);
		return 1;
	}
	if (clients_configure(&b->clients, cfg->max_links, cfg->max_links_per_user, cfg->idle_ms) < 0) {
		fprintf(stderr, "xpcd: out of memory\n");
		return 1;
	}
	supervise_start(b);
	for (size_t i = 0; i < cfg->n_job_dirs; i++)
		broker_load_dir(b, cfg->job_dirs[i]);
	supervise_recover(b);
	supervise_boot_done(b);
	if (listener_open(&b->listener, cfg->socket_path, cfg->socket_mode) < 0)
		return 1;
	clients_start(&b->clients);
	broker_catch(b, SIGTERM);
	broker_catch(b, SIGINT);
	log_line(LOG_INFO, "listening on %s (%u client links, %u per user, idle timeout %u ms)", cfg->socket_path,
		 lim->max_links, lim->per_user, cfg->idle_ms);
	dispatch_main();
}

void broker_stop(Broker *b)
{
	log_line(LOG_INFO, "terminating (running jobs keep running; a new broker adopts them)");
	listener_close(&b->listener);
}
