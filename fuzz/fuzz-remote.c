/* SPDX-License-Identifier: MIT */
/*
 * fuzz-remote.c - fuzz target for what a RemoteXPC peer sends: the message
 * wrapper reader (src/transport/remote/message.c) and, behind it, a whole server
 * session (src/transport/remote/session.c over nghttp2).
 *
 * Input: byte 0 chooses the mode; the rest is what the peer sends.
 *   bit 0 clear  reader: the bytes go to one RemoteReader in pieces of
 *                1 + (byte 0 >> 1) bytes; every complete message with a
 *                body is encoded again (remote_message_encode) and read
 *                back to the same flags, id and graph
 *   bit 0 set    session: the bytes are what a client writes on a TCP
 *                connection (a stream socketpair here) to a server
 *                session, which answers each WANTING_REPLY message with
 *                its own body as the reply; the peer's end is read and
 *                thrown away, then closed after the input
 *
 * Invariants: no crash, no leak (memory; descriptors back to where they
 * were once the session has closed); the reader never takes more than it
 * was given and never returns more than one message per call.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#include "transport/remote/remote.h"

static void check_roundtrip(const RemoteMessage *m)
{
	uint8_t *b;
	size_t n, used;
	RemoteReader r;
	RemoteMessage again;

	if (remote_message_encode(m->flags, m->id, m->body, &b, &n) != 0)
		fuzz_fail("fuzz-remote: a decoded body does not encode");
	remote_reader_init(&r);
	if (remote_reader_feed(&r, b, n, &used, &again) != 1 || used != n)
		fuzz_fail("fuzz-remote: an encoded message does not read back");
	if (again.flags != m->flags || again.id != m->id || !again.body || !fuzz_same(again.body, m->body))
		fuzz_fail("fuzz-remote: a message reads back different");
	xpc_release(again.body);
	remote_reader_free(&r);
	free(b);
}

static void fuzz_reader(const uint8_t *p, size_t n, size_t step)
{
	RemoteReader r;
	RemoteMessage m;
	size_t used;
	int rv = 0;

	remote_reader_init(&r);
	while (n) {
		size_t len = n < step ? n : step;

		rv = remote_reader_feed(&r, p, len, &used, &m);
		if (used > len)
			fuzz_fail("fuzz-remote: reader took %zu of %zu bytes", used, len);
		if (rv != 0 && rv != 1)
			break;
		p += used;
		n -= used;
		if (rv == 1 && m.body) {
			check_roundtrip(&m);
			xpc_release(m.body);
		}
	}
	remote_reader_free(&r);
}

/* ---- a server session fed the input --------------------------------------- */

typedef struct Run {
	dispatch_semaphore_t gone;
} Run;

static void run_ready(RemoteSession *s, void *ctx)
{
}

static void run_message(RemoteSession *s, int32_t stream, const RemoteMessage *m, void *ctx)
{
	if (m->flags & REMOTE_FLAG_WANTING_REPLY)
		remote_session_send(s, REMOTE_STREAM_REPLY, REMOTE_FLAG_ALWAYS_SET | REMOTE_FLAG_DATA_PRESENT |
				    REMOTE_FLAG_REPLY, m->id, m->body);
}

static void run_closed(RemoteSession *s, const char *reason, void *ctx)
{
	dispatch_semaphore_signal(((Run *)ctx)->gone);
}

static const RemoteSessionOps run_ops = {.ready = run_ready, .message = run_message, .closed = run_closed};

static void fuzz_session(const uint8_t *p, size_t n)
{
	static dispatch_queue_t q;
	int sv[2];
	Run run;
	RemoteSession *s;
	char sink[65536];

	if (!q)
		q = dispatch_queue_create("fuzz-remote", NULL);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		fuzz_fail("fuzz-remote: socketpair: %s", strerror(errno));
	run.gone = dispatch_semaphore_create(0);
	s = remote_session_new(sv[0], true, &run_ops, &run, q);
	if (!s)
		fuzz_fail("fuzz-remote: no session");
	remote_session_start(s);
	while (n) { /* the socket buffer holds more than max_len: no deadlock */
		ssize_t k = write(sv[1], p, n);

		if (k <= 0)
			break;
		p += k;
		n -= (size_t)k;
	}
	shutdown(sv[1], SHUT_WR);
	for (;;) { /* EOF only once the session closed its end (libFuzzer's SIGALRM: EINTR) */
		ssize_t k = read(sv[1], sink, sizeof(sink));

		if (k == 0 || (k < 0 && errno != EINTR))
			break;
	}
	dispatch_semaphore_wait(run.gone, DISPATCH_TIME_FOREVER);
	remote_session_release(s);
	close(sv[1]);
	dispatch_release(run.gone);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool warm;
	int before;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		if (!warm) { /* the dispatch runtime's descriptors exist from here on */
			fuzz_session(data + 1, 0);
			warm = true;
		}
		before = fuzz_count_fds();
		fuzz_session(data + 1, size - 1);
		fuzz_check_fds(before, fuzz_count_fds(), "fuzz-remote session");
	} else {
		fuzz_reader(data + 1, size - 1, 1 + (data[0] >> 1));
	}
	return 0;
}
