/* SPDX-License-Identifier: MIT */
/*
 * broker.c - xpcd as one object: the Broker holds the socket's directory
 * (rundir.c), the job registry (registry.c), supervision (supervise.c), the
 * client links (clients.c) and the socket (listener.c), and runs them in
 * order: the directory and its lock first (a second broker on the same
 * socket exits before touching anything), then the job directories, the
 * adoption of running instances left by an earlier broker, the start of
 * RunAtLoad/KeepAlive jobs, and last the socket (made here, or passed by
 * systemd: notify.c), after which the service manager is told READY=1.
 * SIGHUP rescans the job directories (jobdirs.c).  The top of the broker's
 * files: nothing below calls it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"
#include "broker/jobdirs.h"
#include "broker/log.h"
#include "broker/notify.h"

void broker_init(Broker *b, const BrokerConfig *config)
{
	*b = (Broker){.config = *config};
	rundir_init(&b->rundir);
	registry_init(&b->registry, &b->rundir);
	b->supervisor.booting = true;
	clients_init(&b->clients, b);
	listener_init(&b->listener, &b->clients, &b->rundir);
	b->reload_file = jobdirs_load_file;
}

static void on_term(void *ctx)
{
	broker_stop(ctx);
	exit(0);
}

static void on_hup(void *ctx)
{
	jobdirs_reload(ctx, NULL);
}

static void broker_catch(Broker *b, int sig, dispatch_function_t handler)
{
	dispatch_source_t s = dispatch_source_create(DISPATCH_SOURCE_TYPE_SIGNAL, (uintptr_t)sig, 0,
						     dispatch_get_main_queue());

	dispatch_set_context(s, b);
	dispatch_source_set_event_handler_f(s, handler);
	dispatch_resume(s);
}

/* The socket systemd passed (xpcd.socket), if any: its path becomes the
 * broker's.  Return: the descriptor, -1 none, -2 refused (printed). */
static int broker_activated(Broker *b)
{
	int fd = notify_listen_fd();

	if (fd < 0)
		return fd;
	if (listener_bound_path(fd, b->activated_path, sizeof(b->activated_path)) < 0) {
		fprintf(stderr, "xpcd: socket activation: the socket passed has no path: refused\n");
		return -2;
	}
	if (b->config.socket_path && strcmp(b->config.socket_path, b->activated_path))
		fprintf(stderr, "xpcd: socket activation: serving %s (passed by systemd), not %s\n",
			b->activated_path, b->config.socket_path);
	b->config.socket_path = b->activated_path;
	return fd;
}

int broker_run(Broker *b)
{
	const BrokerConfig *cfg = &b->config;
	const LinkLimits *lim = users_limits(&b->clients.users);
	int activated = broker_activated(b);
	char err[1024];

	if (activated == -2)
		return 1;
	/* first of all: the socket's directory is ours, and no other broker
	 * serves this socket */
	if (rundir_open(&b->rundir, cfg->socket_path, err, sizeof(err)) < 0) {
		fprintf(stderr, "xpcd: %s\n", err);
		return 1;
	}
	b->config.remote.socket = cfg->socket_path;
	b->config.remote.registry = &b->registry;
	if (remote_export_configure(&b->config.remote, err, sizeof(err)) < 0) {
		fprintf(stderr, "xpcd: %s\n", err);
		return 1;
	}
	if (clients_configure(&b->clients, cfg->max_links, cfg->max_links_per_user, cfg->idle_ms) < 0) {
		fprintf(stderr, "xpcd: out of memory\n");
		return 1;
	}
	overrides_load(&b->overrides, &b->rundir);
	supervise_start(b);
	jobdirs_load(b);
	supervise_recover(b);
	supervise_boot_done(b);
	if (activated >= 0 ? listener_adopt(&b->listener, activated) < 0
			   : listener_open(&b->listener, cfg->socket_path, cfg->socket_mode) < 0)
		return 1;
	clients_start(&b->clients);
	remote_export_start();
	broker_catch(b, SIGTERM, on_term);
	broker_catch(b, SIGINT, on_term);
	broker_catch(b, SIGHUP, on_hup);
	log_line(LOG_INFO, "listening on %s%s (%u client links, %u per user, idle timeout %u ms)", cfg->socket_path,
		 b->listener.activated ? " (passed by systemd)" : "", lim->max_links, lim->per_user, cfg->idle_ms);
	if (notify_send("READY=1") < 0)
		log_line(LOG_WARNING, "NOTIFY_SOCKET: %s", strerror(errno));
	dispatch_main();
}

void broker_stop(Broker *b)
{
	notify_send("STOPPING=1");
	log_line(LOG_INFO, "terminating (running jobs keep running; a new broker adopts them)");
	listener_close(&b->listener);
}
