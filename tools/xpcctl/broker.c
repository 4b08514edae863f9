/* SPDX-License-Identifier: MIT */
/*
 * broker.c - which broker xpcctl talks to, the link to it, and requests.
 *
 * The broker is chosen, in order: --socket PATH (or a target's domain,
 * target.c), --system (/run/xpcd/system.sock), --user (the user's broker:
 * $XDG_RUNTIME_DIR/xpcd/user.sock, else /run/user/UID/xpcd/user.sock), or
 * by default $XPCD_SOCKET, else the user broker.  No silent fallback: by
 * default, commands that change nothing (list, print, lookup, monitor...)
 * ask the system broker when no user broker answers and say so on stderr
 * ("-q" keeps that quiet); commands that change state (load, kill...) act
 * only on the broker they were meant for.  When none answers, every path
 * tried is named with its reason.  The system broker must run as root
 * (SO_PEERCRED), as the library requires (docs/services.md).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "private/xpc-private.h"
#include "shared/xpcd-protocol.h"
#include "xpcctl.h"

#define BROKER_SYSTEM_SOCKET "/run/xpcd/system.sock"

typedef struct Candidate {
	char path[PATH_MAX];
	const char *what; /* "the user broker", ... */
	bool system;
} Candidate;

static char answered[PATH_MAX + 64]; /* "PATH (what)" once connected */

const char *broker_answered(void)
{
	return answered;
}

int broker_set_domain(CtlDomain d, const char *socket, uid_t uid, bool uid_set, const char *what)
{
	if (ctl.domain != CTL_DOMAIN_DEFAULT && (ctl.domain != d || (uid_set && ctl.user_uid_set && ctl.user_uid != uid)))
		return ctl_usage_error(NULL, "%s: names another broker than the options", what);
	ctl.domain = d;
	if (socket)
		ctl.socket = socket;
	if (uid_set) {
		ctl.user_uid = uid;
		ctl.user_uid_set = true;
	}
	return 0;
}

static void user_socket(char *buf, size_t size)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");
	uid_t uid = ctl.user_uid_set ? ctl.user_uid : getuid();

	if (rt && *rt && uid == getuid())
		snprintf(buf, size, "%s/xpcd/user.sock", rt);
	else
		snprintf(buf, size, "/run/user/%u/xpcd/user.sock", (unsigned)uid);
}

/* The brokers to try, in order; returns how many. */
static size_t candidates(Candidate out[2])
{
	const char *env = getenv("XPCD_SOCKET");

	memset(out, 0, 2 * sizeof(Candidate));
	switch (ctl.domain) {
	case CTL_DOMAIN_SOCKET:
		snprintf(out[0].path, sizeof(out[0].path), "%s", ctl.socket);
		out[0].what = "--socket";
		return 1;
	case CTL_DOMAIN_SYSTEM:
		snprintf(out[0].path, sizeof(out[0].path), BROKER_SYSTEM_SOCKET);
		out[0].what = "the system broker";
		out[0].system = true;
		return 1;
	case CTL_DOMAIN_USER:
		user_socket(out[0].path, sizeof(out[0].path));
		out[0].what = "the user broker";
		return 1;
	case CTL_DOMAIN_DEFAULT:
		break;
	}
	if (env && *env) {
		snprintf(out[0].path, sizeof(out[0].path), "%s", env);
		out[0].what = "$XPCD_SOCKET";
		return 1;
	}
	user_socket(out[0].path, sizeof(out[0].path));
	out[0].what = "the user broker";
	snprintf(out[1].path, sizeof(out[1].path), BROKER_SYSTEM_SOCKET);
	out[1].what = "the system broker";
	out[1].system = true;
	return 2;
}

/* A connected socket to @c's broker, or -1 with @why set. */
static int connect_one(const Candidate *c, char *why, size_t size)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct ucred uc;
	socklen_t len = sizeof(uc);
	int fd;

	if (strlen(c->path) >= sizeof(sa.sun_path)) {
		snprintf(why, size, "path too long");
		return -1;
	}
	strcpy(sa.sun_path, c->path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(why, size, "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (c->system && (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0 || uc.uid != 0)) {
		snprintf(why, size, "the broker there does not run as root");
		close(fd);
		return -1;
	}
	return fd;
}

static xpc_connection_t wrap(int fd, xpc_handler_t handler)
{
	xpc_connection_t c = _xpc_linux_connection_create_from_socket(fd, NULL);

	if (!c) {
		fprintf(stderr, "xpcctl: out of memory\n");
		exit(EXIT_UNREACHABLE);
	}
	xpc_connection_set_event_handler(c, handler);
	xpc_connection_resume(c);
	return c;
}

static void no_broker(const Candidate *c, char why[2][256], size_t tried, size_t n)
{
	fprintf(stderr, "xpcctl: no broker answered:");
	for (size_t i = 0; i < tried; i++)
		fprintf(stderr, "%s %s (%s): %s", i ? ";" : "", c[i].path, c[i].what, why[i]);
	if (tried < n)
		fprintf(stderr, "; %s not asked: this command changes state, --system acts on it", c[tried].path);
	fprintf(stderr, "\n(is xpcd running? --system, --user, --socket PATH or XPCD_SOCKET choose the broker)\n");
	exit(EXIT_UNREACHABLE);
}

/*
 * broker_connect_with() - a resumed connection to the chosen broker, its
 * events to @handler; exits 3 naming every path tried when none answers.
 * @may_fall_back: by default, the system broker may answer when the user
 * broker does not (said on stderr).
 */
xpc_connection_t broker_connect_with(bool may_fall_back, xpc_handler_t handler)
{
	Candidate c[2];
	char why[2][256];
	size_t n = candidates(c), tried = 0;

	for (size_t i = 0; i < n; i++) {
		if (i > 0 && !may_fall_back)
			break;
		int fd = connect_one(&c[i], why[i], sizeof(why[i]));
		tried++;
		if (fd < 0)
			continue;
		snprintf(answered, sizeof(answered), "%s (%s)", c[i].path, c[i].what);
		if (i > 0 && !ctl.quiet)
			fprintf(stderr, "xpcctl: no user broker at %s (%s); %s at %s answered\n", c[0].path, why[0],
				c[i].what, c[i].path);
		return wrap(fd, handler);
	}
	no_broker(c, why, tried, n);
	return NULL;
}

xpc_connection_t broker_connect(bool may_fall_back)
{
	return broker_connect_with(may_fall_back, ^(xpc_object_t ev) { (void)ev; });
}

xpc_object_t broker_op(const char *name, const char *label)
{
	xpc_object_t req = xpc_dictionary_create(NULL, NULL, 0);

	xpc_dictionary_set_string(req, XPCD_KEY_OP, name);
	if (label)
		xpc_dictionary_set_string(req, XPCD_KEY_LABEL, label);
	return req;
}

/*
 * broker_request_status() - sends @req (consumed) and waits for the answer.
 * Return: 0 with *ret_reply (+1) an ok reply; EXIT_REFUSED having printed
 * the broker's error; exits 3 when the broker does not answer.
 */
int broker_request_status(xpc_object_t req, bool may_fall_back, xpc_object_t *ret_reply)
{
	xpc_connection_t c = broker_connect(may_fall_back);
	xpc_object_t reply = xpc_connection_send_message_with_reply_sync(c, req);
	const char *err;

	xpc_release(req);
	*ret_reply = NULL;
	if (xpc_get_type(reply) != XPC_TYPE_DICTIONARY) {
		char *why = xpc_connection_copy_invalidation_reason(c);
		fprintf(stderr, "xpcctl: the broker at %s did not answer (%s)\n", answered, why ? why : "connection lost");
		exit(EXIT_UNREACHABLE);
	}
	xpc_connection_cancel(c);
	xpc_release(c);
	if ((err = xpc_dictionary_get_string(reply, XPCD_KEY_ERROR))) {
		fprintf(stderr, "xpcctl: %s\n", err);
		xpc_release(reply);
		return EXIT_REFUSED;
	}
	*ret_reply = reply;
	return 0;
}

/* broker_request_status(), exiting 1 on a refusal. */
xpc_object_t broker_request(xpc_object_t req, bool may_fall_back)
{
	xpc_object_t reply;

	if (broker_request_status(req, may_fall_back, &reply))
		exit(EXIT_REFUSED);
	return reply;
}
