/* SPDX-License-Identifier: MIT */
/*
 * private.c - libxpc's documented private API (xpc-private.h) for xpcd and
 * xpcctl: each function forwards to the connection, dispatch, wire or
 * transport layer, so that those programs link libxpc.so and need no
 * internal header.  Exported under LIBXPC_PRIVATE_0 (src/libxpc.map).
 */
#include "private/xpc-private.h"

#include <errno.h>

#include "connection/connection.h"
#include "dispatch/runtime.h"
#include "transport/unix/unix.h"
#include "wire/wire.h"

xpc_connection_t _xpc_linux_connection_create_from_socket(int fd, dispatch_queue_t q)
{
	xpc_connection_t c = connection_create_from_socket(fd, q);

	if (c) /* xpcd's client links, xpcctl's link: never tapped */
		connection_set_untapped(c);
	return c;
}

void _xpc_linux_connection_set_send_limits(xpc_connection_t conn, size_t max_bytes, size_t max_fds)
{
	connection_set_send_limits(conn, max_bytes, max_fds);
}

int _xpc_linux_connection_set_receive_limit(xpc_connection_t conn, size_t max_bytes)
{
	return connection_set_receive_limit(conn, max_bytes);
}

char *_xpc_linux_connection_copy_limit_reason(xpc_connection_t conn)
{
	return connection_copy_limit_reason(conn);
}

int _xpc_linux_listener_pair(int *ret_recv_fd, int *ret_send_fd)
{
	return connection_listener_pair(ret_recv_fd, ret_send_fd);
}

bool _xpc_linux_checkin_abandoned(int link_fd)
{
	return transport_link_abandoned(link_fd);
}

/* Whether @link_fd is a link the process @pid, @uid, @gid made, as a
 * listener checks a check-in's (transport_checkin_verify). */
static bool checkin_link_of(int link_fd, pid_t pid, uid_t uid, gid_t gid)
{
	TransportFrame f = {.has_creds = true, .pid = pid, .uid = uid, .gid = gid};

	return transport_checkin_verify(&f, link_fd) == 0;
}

int _xpc_linux_checkin_refuse(int link_fd, pid_t pid, uid_t uid, gid_t gid, const char *why)
{
	if (!checkin_link_of(link_fd, pid, uid, gid))
		return -EPERM;
	return transport_send_refusal(link_fd, why);
}

int _xpc_linux_checkin_forward(int send_fd, int link_fd, pid_t pid, uid_t uid, gid_t gid)
{
	TransportCreds as = {.pid = pid, .uid = uid, .gid = gid};

	if (!checkin_link_of(link_fd, pid, uid, gid))
		return -EACCES;
	return transport_forward_checkin(send_fd, link_fd, &as);
}

int _xpc_linux_channel_give(int send_fd, int recv_fd, uid_t uid)
{
	return transport_send_channel(send_fd, recv_fd, (uint32_t)uid);
}

/* One check-in @f read off @uid's channel, over @send_fd as the broker
 * forwards any (its link must be its sender's): forwarded, refused for a
 * full backlog or another user's, or dropped.  Return: whether forwarded. */
static bool channel_move_one(TransportFrame *f, int send_fd, uid_t uid)
{
	int s = f->n_fds > 0 ? f->fds[0] : -1;
	int r;

	if (f->hdr.kind != FRAME_CHECKIN || !f->has_creds || s < 0)
		return false;
	if (f->uid != uid) { /* a W passed on: refused, as the listener does */
		(void)_xpc_linux_checkin_refuse(s, f->pid, f->uid, f->gid, "denied: not this channel's user");
		return false;
	}
	r = _xpc_linux_checkin_forward(send_fd, s, f->pid, f->uid, f->gid);
	if (r == -EAGAIN)
		(void)transport_send_refusal(s, "limit exceeded: the service's backlog of check-ins is full");
	return r == 0;
}

int _xpc_linux_channel_move(int recv_fd, int send_fd, uid_t uid)
{
	TransportFrame f = {0};
	int n = 0, r;

	while ((r = transport_recv(recv_fd, &f)) != -EAGAIN && r != TRANSPORT_E_EOF) {
		if (r < 0) /* the socket is unusable */
			break;
		if (r == 0 && channel_move_one(&f, send_fd, uid))
			n++;
		frame_clear(&f);
	}
	frame_release(&f);
	return n;
}

xpc_endpoint_t _xpc_linux_endpoint_create_from_send_fd(int send_fd)
{
	return endpoint_create_from_send_fd(send_fd);
}

int _xpc_linux_send_message_once(int fd, xpc_object_t message)
{
	WireBuffer body = {0};
	WireFds fds = {0};
	int r = wire_encode_message(message, &body, &fds);

	if (r == 0 && fds.n == 0) {
		FrameHeader h = {.kind = FRAME_MESSAGE, .id = 1};
		r = transport_send(fd, &h, body.data, body.len, NULL, 0);
	} else if (r != -ENOMEM) {
		r = -EINVAL;
	}
	wire_buffer_free(&body);
	wire_fds_free(&fds);
	return r;
}

int _xpc_linux_dispatch_after_f(dispatch_time_t when, dispatch_queue_t queue, void *context,
				dispatch_function_t work)
{
	return dwork_after_f(when, queue, context, work);
}
