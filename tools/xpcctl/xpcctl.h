/* SPDX-License-Identifier: MIT */
/*
 * xpcctl.h - what the files of xpcctl share: the global options, the
 * command table's shape, the broker link and the printers.
 *
 * Files by concern: main.c (command line, table, help), broker.c (which
 * broker, the link, requests), jobs.c (job commands), target.c (launchctl
 * domain and service targets, plist paths), show.c (human and JSON output),
 * signals.c (signal names), send.c (messages to services, RemoteXPC),
 * monitor.c (monitor, capture), activities.c (activities, run-activity).
 * Exit status everywhere: 0 success, 1 the broker or service refused, 2
 * usage, 3 no broker or service reachable.
 */
#ifndef XPCCTL_H
#define XPCCTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <xpc/xpc.h>

enum { EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

/* Which broker a command talks to. */
typedef enum CtlDomain {
	CTL_DOMAIN_DEFAULT, /* $XPCD_SOCKET, else the user broker (then the system one, said) */
	CTL_DOMAIN_SYSTEM,  /* --system, "system" targets */
	CTL_DOMAIN_USER,    /* --user, "gui/UID" and "user/UID" targets */
	CTL_DOMAIN_SOCKET,  /* --socket PATH */
} CtlDomain;

/* The global options, wherever they stood on the command line. */
typedef struct CtlOptions {
	CtlDomain domain;
	uid_t user_uid;        /* CTL_DOMAIN_USER: whose broker */
	bool user_uid_set;     /* from a gui/UID target */
	const char *socket;    /* CTL_DOMAIN_SOCKET */
	bool json;             /* --json */
	bool quiet;            /* -q: no notice of a fallback */
	const char *remote;    /* --remote HOST:PORT */
	const char *psk_file;  /* --psk-file FILE */
	const char *tls_file;  /* --tls FILE: a TLS configuration, as xpc-remoted's */
} CtlOptions;

extern CtlOptions ctl;

/* One command of the table (main.c). */
typedef struct CtlCommand {
	const char *name;
	int (*run)(int argc, char **argv); /* argv[0] is the command's name */
	const char *synopsis;              /* after the name */
	const char *help;                  /* one paragraph */
} CtlCommand;

const CtlCommand *ctl_command_find(const char *name);
int ctl_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* broker.c */
xpc_connection_t broker_connect(bool may_fall_back);
xpc_connection_t broker_connect_with(bool may_fall_back, xpc_handler_t handler);
xpc_object_t broker_op(const char *op, const char *label);
xpc_object_t broker_request(xpc_object_t req_consumed, bool may_fall_back);
int broker_request_status(xpc_object_t req_consumed, bool may_fall_back, xpc_object_t *ret_reply);
const char *broker_answered(void);
int broker_set_domain(CtlDomain d, const char *socket, uid_t uid, bool uid_set, const char *what);

/* target.c */
int target_parse(const char *arg, const char **ret_label);
int target_parse_domain(const char *arg);
int target_plist_label(const char *path, char **ret_label);
int target_expand_paths(const char *arg, char ***ret_paths, size_t *ret_n);
void target_free_paths(char **paths, size_t n);

/* show.c */
xpc_object_t show_plain_numbers(xpc_object_t obj);
int show_json(xpc_object_t obj);
void show_job(xpc_object_t job, FILE *f);
void show_status(char *buf, size_t size, xpc_object_t job);
/* @s (NULL: "-") on @f as text a terminal cannot take as controls: every
 * control character (C0, DEL, C1) and every byte that is not UTF-8 is
 * written escaped (\n, \t, \xHH), so another user's string (a name it
 * looked up, a label it sent) shows as one piece of text. */
void show_text(FILE *f, const char *s);

/* signals.c */
int signals_parse(const char *s);
void signals_list(FILE *f);

/* send.c, monitor.c, jobs.c: the commands */
int cmd_send(int argc, char **argv);
int cmd_remote_list(void);
int send_setup_remote(void);
int cmd_monitor(int argc, char **argv);
int cmd_capture(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_print(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_unload(int argc, char **argv);
int cmd_bootstrap(int argc, char **argv);
int cmd_bootout(int argc, char **argv);
int cmd_enable(int argc, char **argv);
int cmd_kickstart(int argc, char **argv);
int cmd_kill(int argc, char **argv);
int cmd_lookup(int argc, char **argv);
int cmd_blame(int argc, char **argv);
int cmd_procinfo(int argc, char **argv);
int cmd_reload(int argc, char **argv);
int cmd_activities(int argc, char **argv);
int cmd_run_activity(int argc, char **argv);

#endif
