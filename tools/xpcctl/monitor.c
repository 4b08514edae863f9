/* SPDX-License-Identifier: MIT */
/*
 * monitor.c - `xpcctl monitor` and `xpcctl capture`: the broker's events
 * as they happen (docs/broker.md, "Monitor").
 *
 * Both send { "xpcd.op": "monitor", "name"?, "pid"? } and, once answered,
 * receive one message per event on the same link until the broker goes or
 * the user interrupts:
 *     { "xpcd.event": KIND, "time": ns, "pid", "uid", "label"?, "name"?,
 *       "text"?, "status"?, "count"? }
 * monitor prints one line per event: an ISO 8601 UTC timestamp with
 * microseconds, the kind, then the fields present (or the dictionary as
 * JSON with --json, one object per line); a "frame" event (a process
 * that opted in with XPC_MONITOR=1) its service name, pid, uid,
 * direction, kind, id, reply_to, size, descriptors, peer pid and the
 * message.  capture writes each event as
 * a pcapng packet (src/shared/pcapng.h): a 32-byte XPC frame header
 * (kind MESSAGE) and the event's message encoding, exactly what a frame
 * carrying it holds, which tools/wireshark/xpc.lua dissects.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shared/pcapng.h"
#include "shared/xpcd-protocol.h"
#include "xpcctl.h"

typedef struct Filter {
	const char *name;
	long pid;
	const char *file; /* capture */
} Filter;

static int parse_filter(int argc, char **argv, Filter *f, bool want_file)
{
	for (int i = 1; i < argc; i++) {
		char *end;
		if (!strcmp(argv[i], "--name") && i + 1 < argc) {
			f->name = argv[++i];
		} else if (!strcmp(argv[i], "--pid") && i + 1 < argc) {
			f->pid = strtol(argv[++i], &end, 10);
			if (*end || f->pid <= 0)
				return ctl_usage_error(argv[0], "--pid %s: not a process id", argv[i]);
		} else if (want_file && !f->file && argv[i][0] != '-') {
			f->file = argv[i];
		} else {
			return ctl_usage_error(argv[0], "%s: unexpected", argv[i]);
		}
	}
	if (want_file && !f->file)
		return ctl_usage_error(argv[0], "capture needs a FILE");
	return 0;
}

static void format_time(int64_t ns, char *buf, size_t size)
{
	time_t s = (time_t)(ns / 1000000000);
	struct tm tm;
	char day[32];

	gmtime_r(&s, &tm);
	strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, size, "%s.%06ldZ", day, (long)(ns % 1000000000) / 1000);
}

/* A frame of a process that opted in (XPC_MONITOR):
 * TIME frame     NAME pid=P uid=U send message id=N reply_to=N size=N fds=N peer=Q [dropped=N]: TEXT */
static void print_frame(xpc_object_t ev, const char *when)
{
	const char *name = xpc_dictionary_get_string(ev, XPCD_KEY_NAME), *text = xpc_dictionary_get_string(ev, XPCD_EVENT_TEXT);
	int64_t peer = xpc_dictionary_get_int64(ev, XPCD_FRAME_PEER_PID), lost = xpc_dictionary_get_int64(ev, XPCD_FRAME_DROPPED);

	printf("%s %-9s ", when, XPCD_EVENT_FRAME);
	show_text(stdout, name);
	printf(" pid=%lld uid=%lld ", (long long)xpc_dictionary_get_int64(ev, XPCD_KEY_PID),
	       (long long)xpc_dictionary_get_int64(ev, XPCD_EVENT_UID));
	show_text(stdout, xpc_dictionary_get_string(ev, XPCD_FRAME_DIR));
	putchar(' ');
	show_text(stdout, xpc_dictionary_get_string(ev, XPCD_FRAME_KIND));
	printf(" id=%lld reply_to=%lld size=%lld fds=%lld", (long long)xpc_dictionary_get_int64(ev, XPCD_FRAME_ID),
	       (long long)xpc_dictionary_get_int64(ev, XPCD_FRAME_REPLY_TO),
	       (long long)xpc_dictionary_get_int64(ev, XPCD_FRAME_SIZE), (long long)xpc_dictionary_get_int64(ev, XPCD_FRAME_FDS));
	if (peer > 0)
		printf(" peer=%lld", (long long)peer);
	if (lost > 0)
		printf(" dropped=%lld", (long long)lost);
	if (text) {
		fputs(": ", stdout);
		show_text(stdout, text);
	}
	putchar('\n');
}

/* One event as a line: TIME KIND [LABEL] key=value...; every string is
 * shown as text (show_text): names and labels come from other users. */
static void print_line(xpc_object_t ev)
{
	static const char *const fields[] = {"name", "pid", "uid", "status", "count", "op", NULL};
	const char *label = xpc_dictionary_get_string(ev, XPCD_KEY_LABEL), *text = xpc_dictionary_get_string(ev, XPCD_EVENT_TEXT);
	const char *kind = xpc_dictionary_get_string(ev, XPCD_KEY_EVENT);
	char when[64];

	format_time(xpc_dictionary_get_int64(ev, XPCD_EVENT_TIME), when, sizeof(when));
	if (kind && !strcmp(kind, XPCD_EVENT_FRAME)) {
		print_frame(ev, when);
		return;
	}
	printf("%s ", when);
	show_text(stdout, kind); /* the broker's own word, padded as before */
	printf("%*s", kind && strlen(kind) < 9 ? (int)(9 - strlen(kind)) : 0, "");
	if (label) {
		putchar(' ');
		show_text(stdout, label);
	}
	for (int i = 0; fields[i]; i++) {
		xpc_object_t v = xpc_dictionary_get_value(ev, fields[i]);
		if (xpc_get_type(v) == XPC_TYPE_STRING) {
			printf(" %s=", fields[i]);
			show_text(stdout, xpc_string_get_string_ptr(v));
		} else if (xpc_get_type(v) == XPC_TYPE_INT64) {
			printf(" %s=%lld", fields[i], (long long)xpc_int64_get_value(v));
		}
	}
	if (text) {
		fputs(": ", stdout);
		show_text(stdout, text);
	}
	putchar('\n');
}

/* The event as a frame: header (MESSAGE) and message encoding. */
static int capture_event(int fd, xpc_object_t ev, uint64_t *seq)
{
	struct {
		uint32_t magic;
		uint8_t kind, flags;
		uint16_t n_fds;
		uint64_t id, reply_to, body_len;
	} hdr = {0x46435058u, 1, 0, 0, ++*seq, 0, 0};
	size_t len;
	uint8_t *body = xpc_linux_serialize(ev, &len);
	struct iovec iov[2];
	uint32_t magic = 0x40585043u; /* a message body: the standalone form with the frame's magic */
	int r;

	if (!body)
		return -errno;
	memcpy(body, &magic, 4);
	hdr.body_len = len;
	iov[0] = (struct iovec){&hdr, sizeof(hdr)};
	iov[1] = (struct iovec){body, len};
	r = pcapng_write(fd, (uint64_t)xpc_dictionary_get_int64(ev, XPCD_EVENT_TIME), PCAPNG_INBOUND, "xpcd event", iov, 2,
			 sizeof(hdr) + len);
	free(body);
	return r;
}

static volatile sig_atomic_t stop;

/* The subscription's answer: 0 accepted, else the exit status (said). */
static int monitor_answer(xpc_object_t reply)
{
	const char *e = xpc_get_type(reply) == XPC_TYPE_DICTIONARY ? xpc_dictionary_get_string(reply, XPCD_KEY_ERROR) : NULL;

	if (xpc_get_type(reply) == XPC_TYPE_DICTIONARY && !e)
		return 0;
	fprintf(stderr, "xpcctl: monitor: %s\n", e ? e : "the broker did not answer");
	return e ? EXIT_REFUSED : EXIT_UNREACHABLE;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/*
 * Subscribes and hands every event to @each, on the connection's queue
 * (one event at a time), until the broker ends the link, @each fails, or
 * SIGINT/SIGTERM.  Return: @each's failure, 3 when the broker went, else 0.
 */
static int run_monitor(const Filter *f, int (^each)(xpc_object_t ev))
{
	dispatch_semaphore_t wake = dispatch_semaphore_create(0);
	/* written by the handler's queue, read by this thread: atomics */
	__block atomic_int failed = 0;
	__block atomic_bool gone = false;
	xpc_connection_t c = broker_connect_with(true, ^(xpc_object_t ev) {
		if (xpc_get_type(ev) == XPC_TYPE_DICTIONARY && !atomic_load(&failed))
			atomic_store(&failed, each(ev));
		else if (xpc_get_type(ev) != XPC_TYPE_DICTIONARY)
			atomic_store(&gone, true);
		fflush(stdout);
		if (atomic_load(&failed) || atomic_load(&gone))
			dispatch_semaphore_signal(wake);
	});
	xpc_object_t req = broker_op(XPCD_OP_MONITOR, NULL), reply;
	int r;

	if (f->name)
		xpc_dictionary_set_string(req, XPCD_KEY_NAME, f->name);
	if (f->pid)
		xpc_dictionary_set_int64(req, XPCD_KEY_PID, f->pid);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	reply = xpc_connection_send_message_with_reply_sync(c, req);
	xpc_release(req);
	r = monitor_answer(reply);
	xpc_release(reply);
	if (!r)
		fprintf(stderr, "xpcctl: monitoring the broker at %s\n", broker_answered());
	while (!r && !stop && !atomic_load(&failed) && !atomic_load(&gone))
		dispatch_semaphore_wait(wake, dispatch_time(DISPATCH_TIME_NOW, 100 * NSEC_PER_MSEC));
	if (!r)
		r = atomic_load(&failed) ? atomic_load(&failed) : atomic_load(&gone) && !stop ? EXIT_UNREACHABLE : 0;
	if (r == EXIT_UNREACHABLE && !atomic_load(&failed))
		fprintf(stderr, "xpcctl: the broker ended the monitor\n");
	xpc_connection_cancel(c);
	while (!atomic_load(&gone)) /* the handler's last event */
		dispatch_semaphore_wait(wake, DISPATCH_TIME_FOREVER);
	xpc_release(c);
	dispatch_release(wake);
	return r;
}

int cmd_monitor(int argc, char **argv)
{
	Filter f = {0};
	int r = parse_filter(argc, argv, &f, false);

	if (r)
		return r;
	return run_monitor(&f, ^int(xpc_object_t ev) {
		if (!ctl.json) {
			print_line(ev);
			return 0;
		}
		char *s = xpc_linux_copy_json(ev, 0);
		printf("%s\n", s ? s : "{}");
		free(s);
		return 0;
	});
}

int cmd_capture(int argc, char **argv)
{
	Filter f = {0};
	__block uint64_t seq = 0;
	int r = parse_filter(argc, argv, &f, true), fd;

	if (r)
		return r;
	fd = pcapng_open(f.file, PCAPNG_LINKTYPE_XPC, "xpcctl capture");
	if (fd < 0) {
		fprintf(stderr, "xpcctl: %s: %s\n", f.file, strerror(-fd));
		return EXIT_REFUSED;
	}
	r = run_monitor(&f, ^int(xpc_object_t ev) {
		int e = capture_event(fd, ev, &seq);
		if (e < 0)
			fprintf(stderr, "xpcctl: %s: %s\n", f.file, strerror(-e));
		return e < 0 ? EXIT_REFUSED : 0;
	});
	close(fd);
	return r;
}
