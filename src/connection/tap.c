/* SPDX-License-Identifier: MIT */
/*
 * tap.c - XPC_MONITOR=1: a summary of every message this process sends or
 * receives goes to its broker, which shows it to the monitors that may see
 * it as a `frame` event (`xpcctl monitor`; docs/broker.md, "Frames of
 * processes that opt in"; xpc-debug(7)).
 *
 * Opt-in per process, read once with secure_getenv (trace.c folds it into
 * the one flag every frame tests, so a process that did not opt in pays
 * one relaxed load and one branch per frame, as without this file).
 *
 * The tap link: one AF_UNIX SEQPACKET link to the broker the process's
 * lookups ask (brokerlink.c: a trusted broker only), opened at the first
 * frame (the connect, and a wait of at most TAP_FIRST_ANSWER_MS for the
 * broker's first answer), again at most every TAP_RETRY_NS after a
 * failure: the cost of opting in, once.  It is not a connection: frames are
 * written with the transport's non-blocking send (MSG_DONTWAIT), so the
 * only queue is the socket's buffer in the kernel.  A frame that does not
 * fit (EAGAIN) is dropped and counted, and the count rides on the next
 * summary that goes ("dropped").  A broker that reads slowly so costs this
 * process nothing and blocks none of its threads.
 *
 * Nothing is sent unless a monitor may see it: the link's first request
 * { "xpcd.op": "tap" } makes the broker answer { "xpcd.event": "watch",
 * "watched": BOOL } now and whenever that changes (a monitor of root, of
 * the broker's user or of this process's uid, with no --pid filter or
 * this pid, comes or goes).  Those messages are read without blocking, at
 * most every TAP_POLL_NS, on the frame path; so with no monitor the
 * process sends one request and reads one answer, and frames of the
 * first TAP_POLL_NS after a monitor appeared may be missed.
 *
 * A summary: { "xpcd.op": "frame", "dir": "send" | "recv", "frame": the
 * frame's kind, "id", "reply_to", "size", "fds", "peer_pid", "name"
 * (the service, when the connection has one), "text" (the message's
 * description, as XPC_TRACE writes it, at most XPCD_FRAME_MAX_TEXT bytes, cut at
 * a character), "dropped"? }.  Who sent it the broker takes from the
 * kernel (SO_PEERCRED of this link), never from the message.  Links to
 * the broker made through the private API (xpcd's clients, xpcctl) are
 * not tapped (CONN_ROLE_UNTAPPED): a monitor's own events would otherwise
 * come back as frames.  All of it under tap.lock, taken after a
 * connection's lock (send paths hold it) and never before one.
 */
#include "connection/internal.h"
#include "shared/clock.h"
#include "shared/xpcd-protocol.h"
#include "transport/unix/unix.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TAP_POLL_NS (100u * 1000u * 1000u)
#define TAP_RETRY_NS (5ull * 1000u * 1000u * 1000u)
#define TAP_FIRST_ANSWER_MS 250

static struct {
	pthread_mutex_t lock;
	int fd;                /* the tap link, -1: none */
	pid_t pid;             /* the process that opened it (not a forked child) */
	uint64_t next_try_ns;  /* no connect before (monotonic) */
	uint64_t next_poll_ns; /* no read of the broker's answers before */
	uint64_t next_id;
	uint64_t dropped;      /* summaries lost since the last one sent */
	TransportFrame *rx;    /* where the broker's answers are read */
} tap = {.lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1};

static atomic_bool tap_watched;

/* The link ended or failed (locked): nothing is watched; retry later. */
static void tap_close_locked(void)
{
	lock_assert_held(&tap.lock);
	if (tap.fd >= 0)
		close(tap.fd);
	tap.fd = -1;
	atomic_store(&tap_watched, false);
	tap.next_try_ns = clock_monotonic_ns() + TAP_RETRY_NS;
}

/* One message on the link (locked).  Return: the transport's result. */
static int tap_send_locked(xpc_object_t msg)
{
	WireBuffer body = {0};
	WireFds fds = {0};
	int r = wire_encode_message(msg, &body, &fds);

	lock_assert_held(&tap.lock);
	if (r == 0 && fds.n == 0 && body.len <= FRAME_MAX_INLINE) {
		FrameHeader h = {.kind = FRAME_MESSAGE, .id = ++tap.next_id};
		r = transport_send(tap.fd, &h, body.data, body.len, NULL, 0);
	} else if (r == 0) {
		r = -E2BIG;
	}
	wire_buffer_free(&body);
	wire_fds_free(&fds);
	return r;
}

/* A message of the broker on the link: "watched" changes. */
static void tap_answer(const uint8_t *body, size_t len)
{
	xpc_object_t m = NULL;
	const char *ev;

	if (wire_decode_message(body, len, NULL, 0, &m) != 0)
		return;
	ev = xpc_dictionary_get_string(m, XPCD_KEY_EVENT);
	if (ev && !strcmp(ev, XPCD_EVENT_WATCH))
		atomic_store(&tap_watched, xpc_dictionary_get_bool(m, XPCD_EVENT_WATCHED));
	xpc_release(m);
}

/* Reads what the broker said since the last time, without waiting (locked). */
static void tap_poll_locked(void)
{
	lock_assert_held(&tap.lock);
	for (int i = 0; i < 16; i++) {
		int r = transport_recv(tap.fd, tap.rx);
		if (r == -EAGAIN)
			return;
		if (r != 0) { /* the broker went, or said something wrong */
			tap_close_locked();
			return;
		}
		if (tap.rx->hdr.kind == FRAME_MESSAGE) {
			tap_answer(tap.rx->body, tap.rx->hdr.body_len);
		} else if (tap.rx->hdr.kind == FRAME_BATCH) {
			const uint8_t *p = tap.rx->body;
			size_t left = tap.rx->hdr.body_len, n;
			FrameHeader h;
			while (left > 0 && frame_next_in_batch(p, left, &h, &n) == 0) {
				tap_answer(p + FRAME_HEADER_SIZE, h.body_len);
				p += n;
				left -= n;
			}
		}
		frame_clear(tap.rx);
	}
}

/* Opens the link, asks to be told whether a monitor watches and waits
 * up to TAP_FIRST_ANSWER_MS for the answer, so that the frames of a short
 * process are not all gone before it knows (locked). */
static void tap_open_locked(void)
{
	char path[256], why[512];
	struct pollfd pfd;
	bool system;
	xpc_object_t req = xpc_dictionary_create(NULL, NULL, 0);

	lock_assert_held(&tap.lock);
	brokerlink_path(false, path, sizeof(path), &system);
	tap.fd = brokerlink_connect(path, system, why, sizeof(why));
	tap.pid = getpid();
	if (req)
		xpc_dictionary_set_string(req, XPCD_KEY_OP, XPCD_OP_TAP);
	if (tap.fd < 0 || !req || (!tap.rx && !(tap.rx = calloc(1, sizeof(*tap.rx)))) || tap_send_locked(req) != 0) {
		tap_close_locked();
	} else {
		pfd = (struct pollfd){.fd = tap.fd, .events = POLLIN};
		(void)poll(&pfd, 1, TAP_FIRST_ANSWER_MS);
		tap_poll_locked();
	}
	if (req)
		xpc_release(req);
}

/* The link is open and the broker's answers read; then whether a monitor
 * watches (locked). */
static bool tap_ready_locked(void)
{
	uint64_t now = clock_monotonic_ns();

	lock_assert_held(&tap.lock);
	if (tap.fd >= 0 && tap.pid != getpid()) { /* a forked child: its copy of the parent's link */
		close(tap.fd);
		tap.fd = -1;
		atomic_store(&tap_watched, false);
		tap.next_try_ns = 0;
	}
	if (tap.fd < 0) {
		if (now < tap.next_try_ns)
			return false;
		tap.next_poll_ns = now + TAP_POLL_NS;
		tap_open_locked();
	} else if (now >= tap.next_poll_ns) {
		tap.next_poll_ns = now + TAP_POLL_NS;
		tap_poll_locked();
	}
	return tap.fd >= 0 && atomic_load(&tap_watched);
}

bool tap_wanted(xpc_connection_t c)
{
	bool w;

	if (c->role & CONN_ROLE_UNTAPPED)
		return false;
	pthread_mutex_lock(&tap.lock);
	w = tap_ready_locked();
	pthread_mutex_unlock(&tap.lock);
	return w;
}

/* @text cut to at most XPCD_FRAME_MAX_TEXT bytes at a character boundary. */
static void tap_set_text(xpc_object_t m, const char *text)
{
	char buf[XPCD_FRAME_MAX_TEXT + 1];
	size_t n = strlen(text);

	if (n <= XPCD_FRAME_MAX_TEXT) {
		xpc_dictionary_set_string(m, XPCD_FRAME_TEXT, text);
		return;
	}
	n = XPCD_FRAME_MAX_TEXT - 3;
	while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
		n--;
	memcpy(buf, text, n);
	memcpy(buf + n, "...", 4);
	xpc_dictionary_set_string(m, XPCD_FRAME_TEXT, buf);
}

static xpc_object_t tap_summary(xpc_connection_t c, const char *dir, const FrameHeader *h, const char *desc,
				pid_t peer_pid)
{
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);
	const char *name = c->name ? c->name : c->service;

	if (!m)
		return NULL;
	xpc_dictionary_set_string(m, XPCD_KEY_OP, XPCD_OP_FRAME);
	xpc_dictionary_set_string(m, XPCD_FRAME_DIR, dir);
	xpc_dictionary_set_string(m, XPCD_FRAME_KIND, frame_kind_name(h->kind));
	xpc_dictionary_set_uint64(m, XPCD_FRAME_ID, h->id);
	xpc_dictionary_set_uint64(m, XPCD_FRAME_REPLY_TO, h->reply_to);
	xpc_dictionary_set_uint64(m, XPCD_FRAME_SIZE, h->body_len);
	xpc_dictionary_set_uint64(m, XPCD_FRAME_FDS, h->n_fds);
	if (peer_pid > 0)
		xpc_dictionary_set_int64(m, XPCD_FRAME_PEER_PID, peer_pid);
	if (name && strlen(name) <= XPCD_FRAME_MAX_NAME)
		xpc_dictionary_set_string(m, XPCD_KEY_NAME, name);
	if (desc)
		tap_set_text(m, desc);
	return m;
}

void tap_frame(xpc_connection_t c, bool locked, const char *dir, const FrameHeader *h, const char *desc)
{
	pid_t peer_pid;
	xpc_object_t m;
	int r;

	if ((c->role & CONN_ROLE_UNTAPPED) || !atomic_load(&tap_watched))
		return;
	if (!locked)
		conn_lock(c);
	peer_pid = (c->peer.flags & PEER_F_KNOWN) ? c->peer.pid : 0;
	if (!locked)
		conn_unlock(c);
	m = tap_summary(c, dir, h, desc, peer_pid);
	pthread_mutex_lock(&tap.lock);
	if (!m || !tap_ready_locked()) {
		tap.dropped += m == NULL && tap.fd >= 0;
		pthread_mutex_unlock(&tap.lock);
		if (m)
			xpc_release(m);
		return;
	}
	if (tap.dropped)
		xpc_dictionary_set_uint64(m, XPCD_FRAME_DROPPED, tap.dropped);
	r = tap_send_locked(m);
	if (r == 0)
		tap.dropped = 0;
	else if (r == -EAGAIN || r == -ENOBUFS || r == -ENOMEM || r == -E2BIG)
		tap.dropped++; /* the socket is full: the broker is behind */
	else
		tap_close_locked();
	pthread_mutex_unlock(&tap.lock);
	xpc_release(m);
}
