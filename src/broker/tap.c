/* SPDX-License-Identifier: MIT */
/*
 * tap.c - the links of processes that opted in to monitoring
 * (XPC_MONITOR=1; the library's side is src/connection/tap.c) and the
 * frame summaries they send, shown to monitors as "frame" events
 * (docs/broker.md, "Frames of processes that opt in").
 *
 * A link becomes a tap with { "xpcd.op": "tap" }.  Its process is the
 * one the kernel named when it connected (SO_PEERCRED: the Caller of
 * clients.c), never what a message says; its frames are events of that
 * uid and pid, so monitor.c's rule applies as to every event: root and
 * the broker's own user see all of them, anyone else only those of
 * their own uid.
 *
 * So that a process sends nothing no one can see, a tap is told
 * { "xpcd.event": "watch", "watched": BOOL } when it registers and
 * whenever the answer changes: true when some monitor may see its frames
 * (monitor_watches: sees all or has its uid, and no --pid filter or its
 * pid).  A tap that sends anyway (an old library, a hostile client) costs
 * one lookup in the list: its frames are dropped before anything is
 * built.
 *
 * Limits: a tap is a client link, so there are no more than the links'
 * limits allow (users.c) and each costs a small record; what one link can
 * queue in the broker is the connection layer's bounded input.  A frame
 * is never queued here: it becomes one event handed to monitor_emit,
 * whose per-monitor bound (MONITOR_MAX_QUEUED, then "dropped") holds.  So
 * that one flooding process cannot fill every monitor's share, each tap
 * passes at most TAP_BURST frames at once and TAP_RATE per second (a
 * token bucket); the rest are dropped and counted, and the count goes out
 * with its next frame.  Strings are cut to the protocol's bounds
 * (XPCD_FRAME_MAX_TEXT, XPCD_FRAME_MAX_NAME) and bytes that are not UTF-8
 * become '?', so a tap cannot make a monitor's JSON fail.
 * Everything runs on the main queue.
 */
#include "broker/tap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shared/clock.h"
#include "shared/xpcd-protocol.h"

struct Tap {
	Tap *next;
	xpc_connection_t link; /* retained */
	uid_t uid;
	pid_t pid;
	bool watched;     /* what the tap was last told */
	uint64_t tokens;  /* frames it may pass now, in 1/1000 */
	uint64_t last_ms; /* when tokens were last refilled */
	uint64_t dropped; /* frames not shown since the last one shown */
};

static uint64_t now_ms(void)
{
	return clock_monotonic_ns() / 1000000u;
}

static Tap *tap_find(const Taps *t, xpc_connection_t link)
{
	for (Tap *p = t->head; p; p = p->next)
		if (p->link == link)
			return p;
	return NULL;
}

bool taps_has(const Taps *t, xpc_connection_t link)
{
	return tap_find(t, link) != NULL;
}

static void tap_tell(Tap *p, bool watched)
{
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);

	if (!m)
		return;
	xpc_dictionary_set_string(m, XPCD_KEY_EVENT, XPCD_EVENT_WATCH);
	xpc_dictionary_set_bool(m, XPCD_EVENT_WATCHED, watched);
	xpc_connection_send_message(p->link, m);
	xpc_release(m);
	p->watched = watched;
}

int taps_add(Taps *t, const Monitors *m, xpc_connection_t link, uid_t uid, pid_t pid)
{
	Tap *p;

	if (taps_has(t, link))
		return -EALREADY;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	*p = (Tap){.next = t->head, .link = xpc_retain(link), .uid = uid, .pid = pid,
		   .tokens = TAP_BURST * 1000ull, .last_ms = now_ms()};
	t->head = p;
	t->n++;
	tap_tell(p, monitor_watches(m, uid, pid));
	return 0;
}

void taps_remove(Taps *t, xpc_connection_t link)
{
	for (Tap **pp = &t->head; *pp; pp = &(*pp)->next) {
		Tap *p = *pp;
		if (p->link != link)
			continue;
		*pp = p->next;
		t->n--;
		xpc_release(p->link);
		free(p);
		return;
	}
}

void taps_refresh(Taps *t, const Monitors *m)
{
	for (Tap *p = t->head; p; p = p->next) {
		bool w = monitor_watches(m, p->uid, p->pid);
		if (w != p->watched)
			tap_tell(p, w);
	}
}

/* The token bucket: true when @p may pass one more frame now. */
static bool tap_admit(Tap *p)
{
	uint64_t now = now_ms(), cap = TAP_BURST * 1000ull;

	p->tokens += (now - p->last_ms) * TAP_RATE;
	p->last_ms = now;
	if (p->tokens > cap)
		p->tokens = cap;
	if (p->tokens < 1000)
		return false;
	p->tokens -= 1000;
	return true;
}

/* The length of the UTF-8 character at @s (at most @left bytes), 0 when
 * it is not one (overlong, surrogate, beyond U+10FFFF, cut short). */
static size_t utf8_char(const unsigned char *s, size_t left)
{
	uint32_t c;
	size_t n;

	if (s[0] < 0x80)
		return 1;
	n = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 0;
	if (!n || n > left)
		return 0;
	c = s[0] & (0x7F >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if ((n == 2 && c < 0x80) || (n == 3 && c < 0x800) || (n == 4 && c < 0x10000) || c > 0x10FFFF ||
	    (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	return n;
}

/* @in as valid UTF-8 of at most @max bytes (bad bytes become '?'; a cut
 * text ends in "..."), into @out (@max + 1 bytes). */
static const char *clean_text(const char *in, char *out, size_t max)
{
	size_t len = strlen(in), w = 0, limit = len > max ? max - 3 : max;

	for (size_t r = 0; r < len;) {
		size_t n = utf8_char((const unsigned char *)in + r, len - r);
		if (w + (n ? n : 1) > limit)
			break;
		if (n)
			memcpy(out + w, in + r, n);
		else
			out[w] = '?';
		w += n ? n : 1;
		r += n ? n : 1;
	}
	if (len > max)
		memcpy(out + w, "...", 3), w += 3;
	out[w] = '\0';
	return out;
}

/* One of the allowed words, or NULL. */
static const char *pick(const char *v, const char *const *allowed)
{
	for (size_t i = 0; v && allowed[i]; i++)
		if (!strcmp(v, allowed[i]))
			return allowed[i];
	return NULL;
}

static void tap_emit(Tap *p, Monitors *m, xpc_object_t req)
{
	static const char *const dirs[] = {"send", "recv", NULL};
	static const char *const kinds[] = {"message", "reply", NULL};
	char text[XPCD_FRAME_MAX_TEXT + 1], name[XPCD_FRAME_MAX_NAME + 1];
	const char *t = xpc_dictionary_get_string(req, XPCD_FRAME_TEXT);
	const char *n = xpc_dictionary_get_string(req, XPCD_KEY_NAME);
	int64_t peer = xpc_dictionary_get_int64(req, XPCD_FRAME_PEER_PID);
	uint64_t lost = xpc_dictionary_get_uint64(req, XPCD_FRAME_DROPPED);
	MonitorFrame f = {
		.dir = pick(xpc_dictionary_get_string(req, XPCD_FRAME_DIR), dirs),
		.kind = pick(xpc_dictionary_get_string(req, XPCD_FRAME_KIND), kinds),
		.id = xpc_dictionary_get_uint64(req, XPCD_FRAME_ID),
		.reply_to = xpc_dictionary_get_uint64(req, XPCD_FRAME_REPLY_TO),
		.size = xpc_dictionary_get_uint64(req, XPCD_FRAME_SIZE),
		.fds = xpc_dictionary_get_uint64(req, XPCD_FRAME_FDS),
		.peer_pid = peer > 0 && peer <= INT32_MAX ? (pid_t)peer : 0,
		.dropped = p->dropped + (lost < UINT32_MAX ? lost : UINT32_MAX),
	};
	MonitorEvent ev = {.kind = XPCD_EVENT_FRAME, .pid = p->pid, .uid = p->uid, .has_uid = true, .status = -1,
			   .frame = &f};

	if (!f.dir || !f.kind)
		return; /* not a summary the library makes */
	ev.name = n ? clean_text(n, name, XPCD_FRAME_MAX_NAME) : NULL;
	ev.text = t ? clean_text(t, text, XPCD_FRAME_MAX_TEXT) : NULL;
	monitor_emit(m, &ev);
	p->dropped = 0;
}

void taps_frame(Taps *t, Monitors *m, xpc_connection_t link, xpc_object_t req)
{
	Tap *p = link && monitor_active(m) ? tap_find(t, link) : NULL;

	if (!p || !p->watched)
		return;
	if (!tap_admit(p)) {
		p->dropped++;
		return;
	}
	tap_emit(p, m, req);
}
