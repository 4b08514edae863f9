/* SPDX-License-Identifier: MIT */
/*
 * session-out.c - a RemoteXPC session's out-queue (session.h): one FIFO of
 * wrapped messages over both streams, fed to nghttp2 by one data provider
 * per stream.
 *
 * A provider yields bytes only while the message at the head of the FIFO
 * is its stream's, so two messages never interleave and one never shares
 * a DATA frame with another; when the head message is done, the provider
 * of the next one's stream is resumed.  The queue holds at most
 * REMOTE_MAX_UNSENT bytes: a peer that stops reading ends the session
 * instead of growing it (session_fail(): session.c ends it).  This file
 * calls nothing of session.c or session-io.c; remote_session_send()
 * (session.c) encodes on the caller's thread and queues here on the
 * session's queue.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "transport/remote/session.h"
#include "shared/assert.h"

/* ---- the out-queue and the data providers --------------------------------- */

/* nghttp2 wants the next DATA frame of @stream: the head message's bytes
 * if the head is this stream's, else nothing for now. */
static ssize_t session_read_data(nghttp2_session *h2, int32_t stream, uint8_t *buf, size_t length,
				 uint32_t *data_flags, nghttp2_data_source *src, void *user)
{
	RemoteSession *s = user;
	OutMsg *m = list_first_entry(&s->out, OutMsg, link), *next;
	size_t n;

	if (!m || m->stream != stream)
		return NGHTTP2_ERR_DEFERRED;
	n = m->len - m->off < length ? m->len - m->off : length;
	memcpy(buf, m->bytes + m->off, n);
	m->off += n;
	*data_flags = NGHTTP2_DATA_FLAG_NO_END_STREAM;
	if (m->off == m->len) {
		list_unlink(&m->link);
		xpc_assert(s->unsent >= m->len);
		s->unsent -= m->len;
		free(m->bytes);
		free(m);
		next = list_first_entry(&s->out, OutMsg, link);
		if (next && next->stream != stream)
			nghttp2_session_resume_data(h2, next->stream);
	}
	return (ssize_t)n;
}

/* Wakes the provider of the head message's stream (a no-op if it is not
 * deferred or not submitted yet). */
void session_out_kick(RemoteSession *s)
{
	OutMsg *head = list_first_entry(&s->out, OutMsg, link);
	int i;

	if (!head)
		return;
	i = session_stream_index(head->stream);
	if (i >= 0 && s->provider[i])
		nghttp2_session_resume_data(s->h2, head->stream);
}

/* Our HEADERS and the data provider for @stream (server: the client
 * opened it; client: opens it). */
int session_out_open_stream(RemoteSession *s, int32_t stream)
{
	nghttp2_data_provider prd = {.read_callback = session_read_data};
	int i = session_stream_index(stream), rv;

	if (s->provider[i])
		return 0;
	if (s->server)
		rv = nghttp2_submit_response(s->h2, stream, NULL, 0, &prd);
	else
		rv = nghttp2_submit_request(s->h2, NULL, NULL, 0, &prd, NULL) == stream ? 0 : -1;
	if (rv != 0)
		return -1;
	s->provider[i] = true;
	return 0;
}

int session_out_enqueue(RemoteSession *s, int32_t stream, uint8_t *bytes, size_t len)
{
	OutMsg *m;

	if (s->closed) {
		free(bytes);
		return 0;
	}
	if (s->unsent + len > REMOTE_MAX_UNSENT) {
		free(bytes);
		return session_fail(s, "limit exceeded: unsent messages (peer not reading)");
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		free(bytes);
		return session_fail(s, "out of memory");
	}
	m->stream = stream;
	m->bytes = bytes;
	m->len = len;
	s->unsent += len;
	list_append(&s->out, &m->link);
	session_out_kick(s);
	return 0;
}

/* On the queue: encode and enqueue (set-up messages and answers in kind). */
int session_out_send_now(RemoteSession *s, int32_t stream, uint32_t flags, uint64_t id, xpc_object_t body)
{
	uint8_t *bytes;
	size_t len;

	if (remote_message_encode(flags, id, body, &bytes, &len) != 0)
		return 0;
	return session_out_enqueue(s, stream, bytes, len);
}

void session_out_free(RemoteSession *s)
{
	OutMsg *m;

	while ((m = list_first_entry(&s->out, OutMsg, link))) {
		list_unlink(&m->link);
		free(m->bytes);
		free(m);
	}
}
