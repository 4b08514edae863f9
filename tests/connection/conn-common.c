/* SPDX-License-Identifier: MIT */
/*
 * conn-common.c - the echo service of the connection tests, a stand-in
 * broker for named connections, a raw check-in for tests that speak
 * frames by hand, and a child process on a link of its own
 * (conn-common.h).
 */
#include "conn-common.h"
#include "connection/connection.h"
#include "harness.h"
#include "object/object.h"
#include "shared/xpcd-protocol.h"
#include "transport/unix/unix.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void serve_message(xpc_connection_t peer, PeerState *st, xpc_object_t msg)
{
	const char *op = xpc_dictionary_get_string(msg, "op");
	xpc_object_t reply = xpc_dictionary_create_reply(msg);

	if (!op)
		op = "";
	if (strcmp(op, "echo") == 0 && reply) {
		xpc_dictionary_set_value(reply, "echo", msg);
	} else if (strcmp(op, "seq") == 0) {
		if (xpc_dictionary_get_uint64(msg, "n") != st->expect)
			st->inorder = false;
		st->expect++;
	} else if (strcmp(op, "getseq") == 0 && reply) {
		xpc_dictionary_set_uint64(reply, "count", st->expect);
		xpc_dictionary_set_bool(reply, "inorder", st->inorder);
	} else if (strcmp(op, "hold") == 0 && reply) {
		if (st->n_held < 64)
			st->held[st->n_held++] = reply;
		else
			xpc_release(reply);
		reply = NULL;
	} else if (strcmp(op, "fd") == 0 && reply) {
		int fd = xpc_dictionary_dup_fd(msg, "fd");
		if (fd >= 0) {
			ssize_t n = write(fd, "xpc", 3);
			(void)n;
			close(fd);
		}
	} else if (strcmp(op, "shmem") == 0 && reply) {
		void *region = NULL;
		xpc_object_t shm = xpc_dictionary_get_value(msg, "shm");
		size_t len = shm ? xpc_shmem_map(shm, &region) : 0;
		uint64_t sum = 0;
		for (size_t i = 0; i < len && i < 4096; i++)
			sum += ((unsigned char *)region)[i];
		if (len)
			munmap(region, len);
		xpc_dictionary_set_uint64(reply, "sum", sum);
		xpc_dictionary_set_uint64(reply, "len", len);
	} else if (strcmp(op, "pid") == 0 && reply) {
		xpc_dictionary_set_int64(reply, "pid", getpid());
		xpc_dictionary_set_int64(reply, "peer_pid", xpc_connection_get_pid(peer));
	}
	if (reply) {
		xpc_connection_send_message(peer, reply);
		xpc_release(reply);
	}
}

void conn_test_serve_peer(xpc_connection_t peer)
{
	PeerState *st = calloc(1, sizeof(*st));

	st->inorder = true;
	xpc_retain(peer);
	xpc_connection_set_event_handler(peer, ^(xpc_object_t ev) {
		if (xpc_get_type(ev) == XPC_TYPE_DICTIONARY) {
			serve_message(peer, st, ev);
			return;
		}
		if (ev == XPC_ERROR_CONNECTION_INVALID) {
			for (int i = 0; i < st->n_held; i++)
				xpc_release(st->held[i]);
			free(st);
			xpc_release(peer);
		}
	});
	xpc_connection_resume(peer);
}

xpc_connection_t conn_test_connect_endpoint(xpc_endpoint_t ep)
{
	xpc_connection_t c = xpc_connection_create_from_endpoint(ep);

	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
		(void)ev;
	});
	xpc_connection_resume(c);
	return c;
}

xpc_connection_t conn_test_connect(xpc_connection_t listener)
{
	xpc_endpoint_t ep = xpc_endpoint_create(listener);
	xpc_connection_t c = conn_test_connect_endpoint(ep);

	xpc_release(ep);
	return c;
}

bool conn_test_ask(xpc_connection_t c, const char *op)
{
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);

	xpc_dictionary_set_string(m, "op", op);
	xpc_object_t r = xpc_connection_send_message_with_reply_sync(c, m);
	bool ok = xpc_get_type(r) == XPC_TYPE_DICTIONARY;
	xpc_release(r);
	xpc_release(m);
	return ok;
}

xpc_connection_t conn_test_start_echo_listener(dispatch_queue_t q)
{
	xpc_connection_t l = xpc_connection_create(NULL, q);

	xpc_connection_set_event_handler(l, ^(xpc_object_t ev) {
		if (xpc_get_type(ev) == XPC_TYPE_CONNECTION)
			conn_test_serve_peer((xpc_connection_t)ev);
	});
	xpc_connection_resume(l);
	return l;
}

static void gated_sink_message(GatedSink *s, xpc_connection_t p, xpc_object_t m)
{
	if (xpc_get_type(m) != XPC_TYPE_DICTIONARY)
		return;
	if (xpc_dictionary_get_bool(m, "hello")) {
		xpc_object_t r = xpc_dictionary_create_reply(m);
		xpc_connection_send_message(p, r);
		xpc_release(r);
		return;
	}
	int n = atomic_fetch_add(&s->received, 1);
	if (n == 0) /* the rest queue up meanwhile */
		dispatch_semaphore_wait(s->gate, DISPATCH_TIME_FOREVER);
	if (xpc_dictionary_get_int64(m, "n") != n)
		atomic_store(&s->inorder, false);
	if (n + 1 == s->n_msgs)
		dispatch_semaphore_signal(s->done);
}

xpc_connection_t conn_test_gated_sink_start(GatedSink *s, int n_msgs)
{
	xpc_connection_t l = xpc_connection_create(NULL, NULL);

	s->n_msgs = n_msgs;
	s->gate = dispatch_semaphore_create(0);
	s->done = dispatch_semaphore_create(0);
	s->have_peer = dispatch_semaphore_create(0);
	s->peer = NULL;
	atomic_init(&s->received, 0);
	atomic_init(&s->inorder, true);
	xpc_connection_set_event_handler(l, ^(xpc_object_t ev) {
		if (xpc_get_type(ev) != XPC_TYPE_CONNECTION)
			return;
		xpc_connection_t p = (xpc_connection_t)ev;
		s->peer = xpc_retain(p);
		dispatch_semaphore_signal(s->have_peer); /* orders s->peer before the test's reads */
		xpc_connection_set_event_handler(p, ^(xpc_object_t m) {
			gated_sink_message(s, p, m);
		});
		xpc_connection_resume(p);
	});
	xpc_connection_resume(l);
	return l;
}

void conn_test_gated_sink_stop(GatedSink *s, xpc_connection_t l)
{
	if (s->peer) {
		xpc_connection_cancel(s->peer);
		xpc_release(s->peer);
	}
	xpc_connection_cancel(l);
	xpc_release(l);
}

bool conn_test_wait(dispatch_semaphore_t sem, unsigned seconds)
{
	return dispatch_semaphore_wait(sem, dispatch_time(DISPATCH_TIME_NOW, (int64_t)seconds * 1000000000LL)) == 0;
}

void conn_test_settle_fds(int n)
{
	for (int i = 0; i < 500 && harness_count_fds() > n; i++)
		usleep(10000);
}

int conn_test_raw_checkin(xpc_connection_t l)
{
	xpc_endpoint_t ep = xpc_endpoint_create(l);
	int w = endpoint_object_borrow_fd((xpc_object_t)ep);
	int sv[2];
	FrameHeader h = {.kind = FRAME_CHECKIN, .id = 1};
	char buf[64];

	REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	REQUIRE(transport_send(w, &h, NULL, 0, &sv[1], 1) == 0);
	close(sv[1]);
	xpc_release(ep);
	CHECK_EQ_INT(recv(sv[0], buf, sizeof(buf), 0), FRAME_HEADER_SIZE); /* the hello */
	return sv[0];
}

/* One link of the stand-in broker: a lookup each. */
static void broker_serve(xpc_connection_t link, const char *name, xpc_connection_t service)
{
	xpc_connection_set_event_handler(link, ^(xpc_object_t m) {
		if (m == XPC_ERROR_CONNECTION_INVALID)
			xpc_release(link); /* the creation reference */
		if (xpc_get_type(m) != XPC_TYPE_DICTIONARY)
			return;
		xpc_object_t r = xpc_dictionary_create_reply(m);
		const char *asked = xpc_dictionary_get_string(m, XPCD_KEY_NAME);
		if (!r)
			return;
		if (asked && strcmp(asked, name) == 0) {
			xpc_dictionary_set_connection(r, XPCD_KEY_ENDPOINT, service);
		} else {
			xpc_dictionary_set_string(r, XPCD_KEY_ERROR, "unknown name");
			xpc_dictionary_set_int64(r, XPCD_KEY_ERRNO, ESRCH);
		}
		xpc_connection_send_message(link, r);
		xpc_release(r);
	});
	xpc_connection_resume(link);
}

dispatch_source_t conn_test_broker_start(const char *path, const char *name, xpc_connection_t service)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	REQUIRE(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(fd, 16) == 0);
	dispatch_source_t s = dispatch_source_create(DISPATCH_SOURCE_TYPE_READ, (uintptr_t)fd, 0, NULL);
	dispatch_source_set_event_handler(s, ^{
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (c >= 0)
			broker_serve(connection_create_from_socket(c, NULL), name, service);
	});
	dispatch_source_set_cancel_handler(s, ^{
		close(fd);
	});
	dispatch_resume(s);
	return s;
}

void conn_test_broker_stop(dispatch_source_t broker, const char *path)
{
	dispatch_source_cancel(broker);
	dispatch_release(broker);
	unlink(path);
}

/* See conn-common.h. */
pid_t conn_test_spawn_child(const char *self, const char *const *args, xpc_connection_t *ret_link)
{
	const char *argv[8] = {self, "child"};
	char fd[16];
	int sv[2], n = 3;

	REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	snprintf(fd, sizeof(fd), "%d", sv[1]);
	argv[2] = fd;
	for (; *args && n < 7; args++)
		argv[n++] = *args;
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		fcntl(sv[1], F_SETFD, 0);
		execv(self, (char *const *)argv);
		_exit(127);
	}
	close(sv[1]);
	*ret_link = connection_create_from_socket(sv[0], NULL);
	return pid;
}

void conn_test_send_endpoint(xpc_connection_t link, xpc_connection_t l)
{
	xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0);

	xpc_dictionary_set_connection(msg, "endpoint", l);
	xpc_connection_send_message(link, msg);
	xpc_release(msg);
}

xpc_endpoint_t conn_test_link_endpoint(xpc_connection_t link, dispatch_semaphore_t gone)
{
	dispatch_semaphore_t got = dispatch_semaphore_create(0);
	__block xpc_endpoint_t ep = NULL;

	xpc_connection_set_event_handler(link, ^(xpc_object_t ev) {
		if (xpc_get_type(ev) == XPC_TYPE_DICTIONARY && !ep) {
			ep = xpc_retain(xpc_dictionary_get_value(ev, "endpoint"));
			dispatch_semaphore_signal(got);
		} else if (ev == XPC_ERROR_CONNECTION_INVALID) {
			dispatch_semaphore_signal(gone);
		}
	});
	xpc_connection_resume(link);
	if (conn_test_wait(got, 60))
		dispatch_release(got); /* (else a late signal may still reach it) */
	return ep;
}
