/* SPDX-License-Identifier: MIT */
/*
 * jobs.c - the commands on the broker's jobs: list, print, load, unload
 * (and launchctl's bootstrap, bootout), enable, disable, kickstart, kill,
 * lookup, blame, procinfo, reload.  Each checks its words, builds one request
 * per job (docs/broker.md, "Control protocol") and prints the answer.
 * Commands that change state never fall back to another broker than the
 * one asked for (broker.c); a request refused for one job of several is
 * reported and the others are still made, the exit status then 1.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "shared/xpcd-protocol.h"
#include "xpcctl.h"

int cmd_list(int argc, char **argv)
{
	xpc_object_t reply, jobs;

	(void)argv;
	if (argc != 1)
		return ctl_usage_error("list", "list takes no argument");
	reply = broker_request(broker_op(XPCD_OP_LIST, NULL), true);
	jobs = xpc_dictionary_get_array(reply, XPCD_KEY_JOBS);
	if (ctl.json) {
		int r = show_json(jobs ? jobs : xpc_array_create(NULL, 0));
		xpc_release(reply);
		return r;
	}
	printf("%-8s %-8s %s\n", "PID", "STATUS", "LABEL");
	for (size_t k = 0; jobs && k < xpc_array_get_count(jobs); k++) {
		xpc_object_t j = xpc_array_get_value(jobs, k);
		int64_t pid = xpc_dictionary_get_int64(j, XPCD_JOB_PID);
		char pids[24] = "-", sts[32];
		if (pid)
			snprintf(pids, sizeof(pids), "%lld", (long long)pid);
		show_status(sts, sizeof(sts), j);
		printf("%-8s %-8s %s\n", pids, sts, xpc_dictionary_get_string(j, XPCD_KEY_LABEL));
	}
	xpc_release(reply);
	return 0;
}

int cmd_print(int argc, char **argv)
{
	const char *label;
	xpc_object_t reply, job;
	int r;

	if (argc != 2)
		return ctl_usage_error("print", "print takes one LABEL");
	if ((r = target_parse(argv[1], &label)))
		return r;
	reply = broker_request(broker_op(XPCD_OP_PRINT, label), true);
	job = xpc_dictionary_get_value(reply, XPCD_KEY_JOB);
	if (ctl.json) {
		r = show_json(job);
	} else {
		printf("broker = %s\n", broker_answered());
		show_job(job, stdout);
	}
	xpc_release(reply);
	return r;
}

/* One file; the broker's warnings (unknown or unsupported keys) on
 * stderr, one line each; @strict makes the broker refuse such a file. */
static int load_one(const char *path, bool strict)
{
	xpc_object_t req = broker_op(XPCD_OP_LOAD, NULL), reply, warnings;
	int r;

	xpc_dictionary_set_string(req, XPCD_KEY_PATH, path);
	if (strict)
		xpc_dictionary_set_bool(req, XPCD_KEY_STRICT, true);
	r = broker_request_status(req, false, &reply);
	if (r) {
		fprintf(stderr, "xpcctl: %s: not loaded\n", path);
		return r;
	}
	warnings = xpc_dictionary_get_value(reply, XPCD_KEY_WARNINGS);
	for (size_t i = 0; xpc_get_type(warnings) == XPC_TYPE_ARRAY && i < xpc_array_get_count(warnings); i++)
		fprintf(stderr, "xpcctl: warning: %s: %s\n", path, xpc_array_get_string(warnings, i) ?: "?");
	printf("loaded %s\n", xpc_dictionary_get_string(reply, XPCD_KEY_LABEL));
	xpc_release(reply);
	return 0;
}

/* Loads every job file of @args (files and directories), after an
 * optional --strict. */
static int load_paths(int argc, char **argv, const char *cmd)
{
	bool strict = argc > 0 && !strcmp(argv[0], "--strict");
	int status = 0;

	argc -= strict;
	argv += strict;
	if (argc < 1)
		return ctl_usage_error(cmd, "%s needs a PATH", cmd);
	for (int i = 0; i < argc; i++) {
		char **paths;
		size_t n;
		int r = target_expand_paths(argv[i], &paths, &n);
		if (r < 0) {
			fprintf(stderr, "xpcctl: %s: %s\n", argv[i], strerror(-r));
			status = EXIT_REFUSED;
			continue;
		}
		if (n == 0)
			fprintf(stderr, "xpcctl: %s: no *.plist in it\n", argv[i]);
		for (size_t k = 0; k < n; k++)
			if (load_one(paths[k], strict))
				status = EXIT_REFUSED;
		target_free_paths(paths, n);
	}
	return status;
}

int cmd_load(int argc, char **argv)
{
	return load_paths(argc - 1, argv + 1, "load");
}

int cmd_bootstrap(int argc, char **argv)
{
	int r;

	if (argc < 3)
		return ctl_usage_error("bootstrap", "bootstrap needs a DOMAIN and a PATH");
	if ((r = target_parse_domain(argv[1])))
		return r;
	return load_paths(argc - 2, argv + 2, "bootstrap");
}

static int unload_label(const char *label)
{
	xpc_object_t reply;
	int r = broker_request_status(broker_op(XPCD_OP_UNLOAD, label), false, &reply);

	if (!r)
		xpc_release(reply);
	return r;
}

/* A path (file or directory) unloads the jobs its files define. */
static int unload_path(const char *arg)
{
	char **paths;
	size_t n;
	int r = target_expand_paths(arg, &paths, &n), status = 0;

	if (r < 0) {
		fprintf(stderr, "xpcctl: %s: %s\n", arg, strerror(-r));
		return EXIT_REFUSED;
	}
	for (size_t k = 0; k < n; k++) {
		char *label;
		if ((r = target_plist_label(paths[k], &label)) < 0) {
			fprintf(stderr, "xpcctl: %s: %s\n", paths[k], r == -EINVAL ? "no Label" : strerror(-r));
			status = EXIT_REFUSED;
			continue;
		}
		if (unload_label(label))
			status = EXIT_REFUSED;
		free(label);
	}
	target_free_paths(paths, n);
	return status;
}

/* An argument with a slash or ending in .plist that exists is a path. */
static bool is_path(const char *arg)
{
	struct stat st;
	size_t n = strlen(arg);

	return (strchr(arg, '/') || (n > 6 && !strcmp(arg + n - 6, ".plist"))) && stat(arg, &st) == 0;
}

static int unload_args(int argc, char **argv, const char *cmd)
{
	int status = 0;

	if (argc < 1)
		return ctl_usage_error(cmd, "%s needs a PATH or a LABEL", cmd);
	for (int i = 0; i < argc; i++) {
		const char *label;
		int r;
		if (is_path(argv[i]))
			r = unload_path(argv[i]);
		else if (!(r = target_parse(argv[i], &label)))
			r = unload_label(label);
		if (r == EXIT_USAGE)
			return r;
		if (r)
			status = EXIT_REFUSED;
	}
	return status;
}

int cmd_unload(int argc, char **argv)
{
	return unload_args(argc - 1, argv + 1, "unload");
}

int cmd_bootout(int argc, char **argv)
{
	const char *label;
	int r;

	if (argc == 2) { /* bootout DOMAIN/LABEL */
		if ((r = target_parse(argv[1], &label)))
			return r;
		if (label == argv[1])
			return ctl_usage_error("bootout", "%s: a service target is DOMAIN/LABEL", argv[1]);
		return unload_label(label);
	}
	if (argc < 3)
		return ctl_usage_error("bootout", "bootout needs DOMAIN PATH... or DOMAIN/LABEL");
	if ((r = target_parse_domain(argv[1])))
		return r;
	return unload_args(argc - 2, argv + 2, "bootout");
}

/* A command of the form "CMD TARGET": label into the request, sent. */
static int label_command(int argc, char **argv, xpc_object_t *ret_reply)
{
	const char *label;
	int r;

	if (argc != 2)
		return ctl_usage_error(argv[0], "%s takes one LABEL", argv[0]);
	if ((r = target_parse(argv[1], &label)))
		return r;
	return broker_request_status(broker_op(argv[0], label), false, ret_reply);
}

int cmd_enable(int argc, char **argv)
{
	xpc_object_t reply;
	int r = label_command(argc, argv, &reply);

	if (!r)
		xpc_release(reply);
	return r;
}

int cmd_kickstart(int argc, char **argv)
{
	bool kill_first = false;
	const char *label;
	xpc_object_t req, reply;
	int i = 1, r;

	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (!strcmp(argv[i], "-k"))
			kill_first = true;
		else if (strcmp(argv[i], "-p")) /* launchctl's "print the pid": always done */
			return ctl_usage_error("kickstart", "%s: unknown option", argv[i]);
	}
	if (argc - i != 1)
		return ctl_usage_error("kickstart", "kickstart takes one LABEL");
	if ((r = target_parse(argv[i], &label)))
		return r;
	req = broker_op(XPCD_OP_KICKSTART, label);
	xpc_dictionary_set_bool(req, XPCD_KEY_KILL, kill_first);
	if ((r = broker_request_status(req, false, &reply)))
		return r;
	printf("%s: pid %lld\n", label, (long long)xpc_dictionary_get_int64(reply, XPCD_KEY_PID));
	xpc_release(reply);
	return 0;
}

int cmd_kill(int argc, char **argv)
{
	const char *label;
	xpc_object_t req, reply;
	int sig, r;

	if (argc == 2 && !strcmp(argv[1], "-l")) {
		signals_list(stdout);
		return 0;
	}
	if (argc != 3)
		return ctl_usage_error(XPCD_KEY_KILL, "kill takes a SIGNAL and a LABEL");
	if ((sig = signals_parse(argv[1])) < 0)
		return ctl_usage_error(XPCD_KEY_KILL, "%s: not a signal (xpcctl kill -l lists them)", argv[1]);
	if ((r = target_parse(argv[2], &label)))
		return r;
	req = broker_op(XPCD_KEY_KILL, label);
	xpc_dictionary_set_int64(req, XPCD_KEY_SIGNAL, sig);
	if ((r = broker_request_status(req, false, &reply)))
		return r;
	xpc_release(reply);
	return 0;
}

int cmd_lookup(int argc, char **argv)
{
	xpc_object_t req, reply;
	bool ep;

	if (argc != 2)
		return ctl_usage_error("lookup", "lookup takes one NAME");
	req = broker_op(XPCD_OP_LOOKUP, NULL);
	xpc_dictionary_set_string(req, XPCD_KEY_NAME, argv[1]);
	reply = broker_request(req, true);
	ep = xpc_get_type(xpc_dictionary_get_value(reply, XPCD_KEY_ENDPOINT)) == XPC_TYPE_ENDPOINT;
	printf("%s: vended by the broker at %s (%s)\n", argv[1], broker_answered(),
	       ep ? "endpoint received" : "no endpoint: this user checks in through the broker");
	xpc_release(reply);
	return 0;
}

/* Prints a reply's dictionary @key: JSON, or "key = value" lines. */
static int print_answer(xpc_object_t reply, const char *key)
{
	xpc_object_t v = xpc_dictionary_get_value(reply, key);

	if (!v) {
		fprintf(stderr, "xpcctl: the broker's answer has no %s\n", key);
		return EXIT_REFUSED;
	}
	if (ctl.json)
		return show_json(v);
	show_job(v, stdout);
	return 0;
}

int cmd_blame(int argc, char **argv)
{
	const char *label;
	xpc_object_t reply;
	int r;

	if (argc != 2)
		return ctl_usage_error("blame", "blame takes one LABEL");
	if ((r = target_parse(argv[1], &label)))
		return r;
	if ((r = broker_request_status(broker_op(XPCD_OP_BLAME, label), true, &reply)))
		return r;
	if (ctl.json) {
		r = show_json(reply);
	} else {
		const char *why = xpc_dictionary_get_string(reply, XPCD_KEY_REASON);
		printf("%s\n", why ? why : "(no reason given)");
	}
	xpc_release(reply);
	return r;
}

int cmd_procinfo(int argc, char **argv)
{
	xpc_object_t req, reply;
	char *end;
	long pid;
	int r;

	if (argc != 2)
		return ctl_usage_error("procinfo", "procinfo takes one PID");
	pid = strtol(argv[1], &end, 10);
	if (*end || pid <= 0 || pid > 0x7fffffff)
		return ctl_usage_error("procinfo", "%s: not a process id", argv[1]);
	req = broker_op(XPCD_OP_PROCINFO, NULL);
	xpc_dictionary_set_int64(req, XPCD_KEY_PID, pid);
	if ((r = broker_request_status(req, true, &reply)))
		return r;
	r = print_answer(reply, XPCD_KEY_PROCESS);
	xpc_release(reply);
	return r;
}

int cmd_reload(int argc, char **argv)
{
	xpc_object_t reply;
	int r;

	(void)argv;
	if (argc != 1)
		return ctl_usage_error("reload", "reload takes no argument");
	if ((r = broker_request_status(broker_op(XPCD_OP_RELOAD, NULL), false, &reply)))
		return r;
	printf("job directories rescanned: %llu loaded, %llu unloaded, %llu changed, %llu failed\n",
	       (unsigned long long)xpc_dictionary_get_uint64(reply, XPCD_KEY_LOADED),
	       (unsigned long long)xpc_dictionary_get_uint64(reply, XPCD_KEY_UNLOADED),
	       (unsigned long long)xpc_dictionary_get_uint64(reply, XPCD_KEY_CHANGED),
	       (unsigned long long)xpc_dictionary_get_uint64(reply, XPCD_KEY_FAILED));
	xpc_release(reply);
	return 0;
}
