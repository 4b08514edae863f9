/* SPDX-License-Identifier: MIT */
/*
 * sec-endpoint - the roles of test-sec-endpoint (endpoints passed between
 * users; docs/security.md, "Endpoints between users").  Each prints one
 * line on stdout.
 *
 *   sec-endpoint serve NAME REQ_UID
 *       the service (a job running as user A) on NAME: { "op": "endpoint" }
 *       is answered with "endpoint", an anonymous listener's endpoint
 *       (xpc_endpoint_create); that listener's peers must have euid
 *       REQ_UID (xpc_linux_peer_requirement_create_uid; -1: no
 *       requirement).  Every request on either is answered with what the
 *       service sees of the asker: "euid", "pid"
 *       (xpc_connection_get_euid/pid), "token_euid", "token_pid" (its
 *       audit token), and "server_pid", "server_euid" (its own).
 *   sec-endpoint client NAME SOCK PEER_UID
 *       user B: looks NAME up, asks for the endpoint, connects to it
 *       requiring its peer's euid to be PEER_UID (-1: none), asks who it
 *       is, and prints
 *         "me=PID seen=EUID/PID token=EUID/PID peer=EUID/PID server=EUID/PID"
 *       (seen, token: what the service saw; peer: what this connection
 *       says of its peer; server: what the service says of itself), or
 *       "error: REASON"; then sends the endpoint's descriptor over the
 *       AF_UNIX socket with descriptor number SOCK (SCM_RIGHTS).
 *   sec-endpoint forwarded SOCK PEER_UID
 *       user C: takes a descriptor from SOCK, makes an endpoint of it and
 *       does as the client does after its lookup (same line).
 *   sec-endpoint deputy NAME PATH
 *       a client that connects a SOCK_SEQPACKET socket to the listening
 *       socket PATH (another daemon's) and hands it to NAME as an
 *       endpoint: { "op": "connect-to", "endpoint": it }, which the
 *       service connects with.  Prints "answered" or "error: REASON".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <xpc/xpc.h>
#include <xpc/private.h>
#include <bsm/libbsm.h>

#include "connection/connection.h"
#include "object/object.h"

static void answer(xpc_connection_t peer, xpc_object_t msg)
{
	xpc_object_t reply = xpc_dictionary_create_reply(msg);
	audit_token_t tok;

	if (!reply)
		return;
	xpc_connection_get_audit_token(peer, &tok);
	xpc_dictionary_set_int64(reply, "euid", xpc_connection_get_euid(peer));
	xpc_dictionary_set_int64(reply, "pid", xpc_connection_get_pid(peer));
	xpc_dictionary_set_int64(reply, "token_euid", audit_token_to_euid(tok));
	xpc_dictionary_set_int64(reply, "token_pid", audit_token_to_pid(tok));
	xpc_dictionary_set_int64(reply, "server_euid", geteuid());
	xpc_dictionary_set_int64(reply, "server_pid", getpid());
	xpc_connection_send_message(peer, reply);
	xpc_release(reply);
}

/* Connects with the endpoint a client passed and says hello. */
static void connect_to(xpc_object_t ep)
{
	xpc_connection_t c = ep && xpc_get_type(ep) == XPC_TYPE_ENDPOINT ? xpc_connection_create_from_endpoint(ep) : NULL;
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);

	if (!c)
		return;
	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) { (void)ev; });
	xpc_connection_resume(c);
	xpc_dictionary_set_string(m, "op", "hello");
	xpc_connection_send_message(c, m);
	xpc_release(m);
}

/* Serves @peer; with @ep, { "op": "endpoint" } gets it. */
static void serve_peer(xpc_connection_t peer, xpc_endpoint_t ep)
{
	xpc_connection_set_event_handler(peer, ^(xpc_object_t msg) {
	  if (xpc_get_type(msg) != XPC_TYPE_DICTIONARY)
		  return;
	  const char *op = xpc_dictionary_get_string(msg, "op");
	  if (op && !strcmp(op, "connect-to")) {
		  connect_to(xpc_dictionary_get_value(msg, "endpoint"));
		  answer(peer, msg);
		  return;
	  }
	  if (ep && op && !strcmp(op, "endpoint")) {
		  xpc_object_t reply = xpc_dictionary_create_reply(msg);
		  xpc_dictionary_set_value(reply, "endpoint", ep);
		  xpc_connection_send_message(peer, reply);
		  xpc_release(reply);
		  return;
	  }
	  answer(peer, msg);
	});
	xpc_connection_resume(peer);
}

static int serve(const char *name, long req_uid)
{
	xpc_connection_t anon = xpc_connection_create(NULL, NULL);
	xpc_connection_t l = xpc_connection_create_mach_service(name, NULL, XPC_CONNECTION_MACH_SERVICE_LISTENER);

	if (req_uid >= 0) {
		xpc_object_t req = xpc_linux_peer_requirement_create_uid((uid_t)req_uid);
		xpc_connection_set_peer_requirement(anon, req);
		xpc_release(req);
	}
	xpc_connection_set_event_handler(anon, ^(xpc_object_t ev) {
	  if (xpc_get_type(ev) == XPC_TYPE_CONNECTION)
		  serve_peer(ev, NULL);
	});
	xpc_connection_resume(anon);
	xpc_endpoint_t ep = xpc_endpoint_create(anon);
	xpc_connection_set_event_handler(l, ^(xpc_object_t ev) {
	  if (xpc_get_type(ev) == XPC_TYPE_CONNECTION)
		  serve_peer(ev, ep);
	});
	xpc_connection_resume(l);
	dispatch_main();
}

static void fail(xpc_connection_t c, const char *what)
{
	char *why = c ? xpc_connection_copy_invalidation_reason(c) : NULL;

	printf("error: %s%s%s\n", what, why ? ": " : "", why ? why : "");
	fflush(stdout);
	_exit(3);
}

/* Connects to @ep, requiring @peer_uid (-1 none), and prints the line. */
static void ask(xpc_endpoint_t ep, long peer_uid)
{
	xpc_connection_t c = xpc_connection_create_from_endpoint(ep);
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0), r;

	if (!c)
		fail(NULL, "no connection");
	if (peer_uid >= 0) {
		xpc_object_t req = xpc_linux_peer_requirement_create_uid((uid_t)peer_uid);
		xpc_connection_set_peer_requirement(c, req);
		xpc_release(req);
	}
	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) { (void)ev; });
	xpc_connection_resume(c);
	xpc_dictionary_set_string(m, "op", "whoami");
	r = xpc_connection_send_message_with_reply_sync(c, m);
	if (xpc_get_type(r) != XPC_TYPE_DICTIONARY)
		fail(c, "no reply");
	printf("me=%d seen=%lld/%lld token=%lld/%lld peer=%d/%d server=%lld/%lld\n", (int)getpid(),
	       (long long)xpc_dictionary_get_int64(r, "euid"), (long long)xpc_dictionary_get_int64(r, "pid"),
	       (long long)xpc_dictionary_get_int64(r, "token_euid"), (long long)xpc_dictionary_get_int64(r, "token_pid"),
	       (int)xpc_connection_get_euid(c), (int)xpc_connection_get_pid(c),
	       (long long)xpc_dictionary_get_int64(r, "server_euid"), (long long)xpc_dictionary_get_int64(r, "server_pid"));
	fflush(stdout);
	xpc_release(r);
	xpc_release(m);
	xpc_connection_cancel(c);
	xpc_release(c);
}

static void send_fd(int sock, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	char byte = 'e';
	struct iovec iov = {&byte, 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	if (sendmsg(sock, &mh, 0) < 0)
		perror("sendmsg");
}

static int recv_fd(int sock)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	char byte;
	struct iovec iov = {&byte, 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf)};
	struct cmsghdr *cm;
	int fd = -1;

	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) <= 0 || !(cm = CMSG_FIRSTHDR(&mh)) || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

static int client(const char *name, int sock, long peer_uid)
{
	xpc_connection_t c = xpc_connection_create_mach_service(name, NULL, 0);
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0), r, ep;

	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) { (void)ev; });
	xpc_connection_resume(c);
	xpc_dictionary_set_string(m, "op", "endpoint");
	r = xpc_connection_send_message_with_reply_sync(c, m);
	ep = xpc_get_type(r) == XPC_TYPE_DICTIONARY ? xpc_dictionary_get_value(r, "endpoint") : NULL;
	if (!ep || xpc_get_type(ep) != XPC_TYPE_ENDPOINT)
		fail(c, "no endpoint");
	ask(ep, peer_uid);
	send_fd(sock, endpoint_object_borrow_fd(ep));
	xpc_release(r);
	xpc_release(m);
	xpc_connection_cancel(c);
	xpc_release(c);
	return 0;
}

static int forwarded(int sock, long peer_uid)
{
	int fd = recv_fd(sock);
	xpc_endpoint_t ep = fd >= 0 ? endpoint_create_from_send_fd(fd) : NULL;

	if (!ep)
		fail(NULL, "no descriptor");
	close(fd);
	ask(ep, peer_uid);
	xpc_release(ep);
	return 0;
}

static int deputy(const char *name, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	xpc_connection_t c = xpc_connection_create_mach_service(name, NULL, 0);
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0), ep, r;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		fail(NULL, "connect");
	ep = endpoint_object_create_consume(fd);
	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) { (void)ev; });
	xpc_connection_resume(c);
	xpc_dictionary_set_string(m, "op", "connect-to");
	xpc_dictionary_set_value(m, "endpoint", ep);
	r = xpc_connection_send_message_with_reply_sync(c, m);
	if (xpc_get_type(r) != XPC_TYPE_DICTIONARY)
		fail(c, "no reply");
	printf("answered\n");
	fflush(stdout);
	xpc_release(r);
	xpc_release(m);
	xpc_release(ep);
	xpc_connection_cancel(c);
	xpc_release(c);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "serve"))
		return serve(argv[2], atol(argv[3]));
	if (argc == 5 && !strcmp(argv[1], "client"))
		return client(argv[2], atoi(argv[3]), atol(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "deputy"))
		return deputy(argv[2], argv[3]);
	if (argc == 4 && !strcmp(argv[1], "forwarded"))
		return forwarded(atoi(argv[2]), atol(argv[3]));
	fprintf(stderr, "usage: sec-endpoint serve|client|forwarded ...\n");
	return 2;
}
