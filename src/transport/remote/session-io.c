/* SPDX-License-Identifier: MIT */
/*
 * session-io.c - a RemoteXPC session's socket side (session.h): reading
 * into nghttp2, gathering its output into one buffer of about
 * REMOTE_GATHER bytes per write, and TLS through OpenSSL.
 *
 * Reading stops while gathered bytes wait for the socket (a peer that does
 * not read cannot make us buffer the answers to its PINGs), and runs at
 * most REMOTE_READ_BURST reads per wake-up.  Decrypted bytes OpenSSL holds
 * do not make the socket readable, so the reader is run again while
 * SSL_pending() says there are some (read_again: session.c queues the
 * reader).  Failures are recorded with session_fail() and returned as -1:
 * session.c ends the session; this file calls nothing of the other two.
 */
#include <errno.h>
#include <limits.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "transport/remote/session.h"

/* ---- socket I/O ----------------------------------------------------------- */

/* The outcome of an SSL call that did not succeed, as the socket calls'. */
static ssize_t session_tls_outcome(RemoteSession *s, int rv)
{
	switch (SSL_get_error(s->ssl, rv)) {
	case SSL_ERROR_WANT_READ:
		return -EAGAIN;
	case SSL_ERROR_WANT_WRITE:
		s->tls_want_write = true;
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		ERR_clear_error();
		return rv == 0 ? 0 : -EIO; /* an EOF without close_notify is an EOF */
	default:
		ERR_clear_error();
		return -EPROTO;
	}
}

/* Reads up to @n bytes: >0, 0 at EOF, -EAGAIN, or another negative errno. */
static ssize_t session_io_read(RemoteSession *s, void *buf, size_t n)
{
	ssize_t k;

	if (s->ssl) {
		k = SSL_read(s->ssl, buf, n > INT_MAX ? INT_MAX : (int)n);
		return k > 0 ? k : session_tls_outcome(s, (int)k);
	}
	do
		k = recv(s->fd, buf, n, 0);
	while (k < 0 && errno == EINTR);
	return k < 0 ? -errno : k;
}

/* Writes up to @n bytes: how many, -EAGAIN, or another negative errno. */
static ssize_t session_io_write(RemoteSession *s, const void *p, size_t n)
{
	ssize_t k;

	if (s->ssl) {
		k = SSL_write(s->ssl, p, n > INT_MAX ? INT_MAX : (int)n);
		if (k > 0)
			return k;
		k = session_tls_outcome(s, (int)k);
		return k == 0 ? -EPIPE : k;
	}
	do
		k = send(s->fd, p, n, MSG_NOSIGNAL);
	while (k < 0 && errno == EINTR);
	return k < 0 ? -errno : k;
}

void session_io_read_pause(RemoteSession *s, bool pause)
{
	if (pause == s->r_suspended || !s->rsrc)
		return;
	s->r_suspended = pause;
	if (pause)
		dispatch_suspend(s->rsrc);
	else
		dispatch_resume(s->rsrc);
}

void session_io_write_arm(RemoteSession *s, bool arm)
{
	if (arm == s->w_armed || !s->wsrc)
		return;
	s->w_armed = arm;
	if (arm)
		dispatch_resume(s->wsrc);
	else
		dispatch_suspend(s->wsrc);
}

/* Writes the gathered bytes.  Return: 1 when all went, 0 when the socket
 * is full, -1. */
static int session_write_leftover(RemoteSession *s)
{
	while (s->woff < s->wlen) {
		ssize_t n = session_io_write(s, s->wbuf + s->woff, s->wlen - s->woff);

		if (n == -EAGAIN)
			return 0;
		if (n < 0)
			return session_fail(s, "connection lost");
		s->woff += (size_t)n;
	}
	s->wlen = s->woff = 0;
	return 1;
}

/* Collects what nghttp2 has to send, up to about REMOTE_GATHER bytes, so
 * that one write (one TLS record run) carries many frames.  The bytes are
 * copied: nghttp2's pointer lives only until its next call.
 * Return: 0 or -1. */
static int session_gather(RemoteSession *s)
{
	while (s->wlen < REMOTE_GATHER) {
		const uint8_t *data;
		ssize_t n = nghttp2_session_mem_send(s->h2, &data);

		if (n < 0)
			return session_fail(s, nghttp2_strerror((int)n));
		if (n == 0)
			break;
		if (s->wlen + (size_t)n > s->wcap) {
			size_t cap = s->wlen + (size_t)n > REMOTE_GATHER ? s->wlen + (size_t)n : REMOTE_GATHER;
			uint8_t *p = realloc(s->wbuf, cap);

			if (!p)
				return session_fail(s, "out of memory");
			s->wbuf = p;
			s->wcap = cap;
		}
		memcpy(s->wbuf + s->wlen, data, (size_t)n);
		s->wlen += (size_t)n;
	}
	return 0;
}

/* Sends what nghttp2 has; keeps what the socket does not take. */
int session_io_flush(RemoteSession *s)
{
	int rv;

	if (s->handshaking || s->closed)
		return 0;
	while ((rv = session_write_leftover(s)) > 0) {
		if (session_gather(s) < 0)
			return -1;
		if (!s->wlen)
			break;
	}
	if (rv < 0)
		return -1;
	session_io_write_arm(s, s->wlen > 0 || s->tls_want_write);
	session_io_read_pause(s, s->wlen > 0);
	if (!s->wlen && s->ssl && SSL_pending(s->ssl) > 0)
		s->read_again = true; /* decrypted bytes the socket will not signal */
	if (!nghttp2_session_want_read(s->h2) && !nghttp2_session_want_write(s->h2))
		return session_fail(s, s->h2_error[0] ? s->h2_error : "session ended");
	return 0;
}

/* Runs the TLS handshake on; done, the HTTP/2 bytes nghttp2 holds go out. */
int session_io_tls_handshake(RemoteSession *s)
{
	int rv = SSL_do_handshake(s->ssl);

	s->tls_want_write = false;
	if (rv == 1) {
		s->handshaking = false;
		session_io_write_arm(s, false);
		return session_io_flush(s) < 0 ? -1 : 1;
	}
	if (session_tls_outcome(s, rv) != -EAGAIN)
		return session_fail(s, "TLS handshake failed");
	session_io_write_arm(s, s->tls_want_write);
	return 0;
}

int session_io_readable(RemoteSession *s)
{
	uint8_t buf[16384];
	int rv;

	if (s->handshaking && (rv = session_io_tls_handshake(s)) <= 0)
		return rv;
	for (int i = 0; i < REMOTE_READ_BURST && !s->closed && !s->wlen; i++) {
		ssize_t n = session_io_read(s, buf, sizeof(buf)), k;

		if (n == -EAGAIN)
			break;
		if (n <= 0)
			return session_fail(s, n == 0 ? "connection closed by peer" : "connection lost");
		k = nghttp2_session_mem_recv(s->h2, buf, (size_t)n);
		if (k < 0 || s->failure) /* a callback's reason comes first */
			return session_fail(s, nghttp2_strerror((int)k));
		if (session_io_flush(s) < 0)
			return -1;
	}
	return session_io_flush(s);
}

int session_io_writable(RemoteSession *s)
{
	int rv;

	if (s->handshaking) {
		rv = session_io_tls_handshake(s);
		return rv <= 0 ? rv : session_io_readable(s);
	}
	if (s->tls_want_write) { /* an SSL_read waited for this */
		s->tls_want_write = false;
		if (session_io_readable(s) < 0)
			return -1;
	}
	return session_io_flush(s);
}
