/* SPDX-License-Identifier: MIT */
/*
 * show.c - what xpcctl prints: a job as a person reads it (launchctl
 * print's "key = value" blocks), JSON with plain numbers, exit statuses.
 *
 * The broker's replies carry counters as uint64, which the library's JSON
 * writes as {"$uint64": "20"} so that no value is lost; a person and a
 * script want 20.  show_plain_numbers() turns every uint64 that fits an
 * int64 into one (all the broker's counters do) before JSON is made.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "shared/xpcd-protocol.h"
#include "xpcctl.h"

/* show_plain_numbers() - a copy of @obj (+1) whose uint64 values that fit
 * are int64; NULL only without memory. */
xpc_object_t show_plain_numbers(xpc_object_t obj)
{
	xpc_type_t t = xpc_get_type(obj);
	__block xpc_object_t out;

	if (t == XPC_TYPE_UINT64 && xpc_uint64_get_value(obj) <= INT64_MAX)
		return xpc_int64_create((int64_t)xpc_uint64_get_value(obj));
	if (t == XPC_TYPE_ARRAY) {
		out = xpc_array_create(NULL, 0);
		xpc_array_apply(obj, ^bool(size_t i, xpc_object_t v) {
			(void)i;
			xpc_object_t p = show_plain_numbers(v);
			xpc_array_append_value(out, p);
			xpc_release(p);
			return true;
		});
		return out;
	}
	if (t == XPC_TYPE_DICTIONARY) {
		out = xpc_dictionary_create(NULL, NULL, 0);
		xpc_dictionary_apply(obj, ^bool(const char *k, xpc_object_t v) {
			xpc_object_t p = show_plain_numbers(v);
			xpc_dictionary_set_value(out, k, p);
			xpc_release(p);
			return true;
		});
		return out;
	}
	return xpc_retain(obj);
}

/* show_json() - @obj as JSON with plain numbers on stdout. Return: 0 or 1. */
int show_json(xpc_object_t obj)
{
	xpc_object_t plain = show_plain_numbers(obj);
	char *s = plain ? xpc_linux_copy_json(plain, 0) : NULL;
	int e = errno;

	if (plain)
		xpc_release(plain);
	if (!s) {
		fprintf(stderr, "xpcctl: the reply has no JSON form (%s); --description prints it\n",
			e == EDOM ? "a NaN or infinite number" : e == EILSEQ ? "text that is not UTF-8"
			: e == E2BIG ? "nested deeper than 64" : strerror(e));
		return EXIT_REFUSED;
	}
	printf("%s\n", s);
	free(s);
	return 0;
}

static const char *signal_name(int sig, char *buf, size_t size)
{
	const char *abbrev = sigabbrev_np(sig);

	if (abbrev)
		snprintf(buf, size, "SIG%s", abbrev);
	else if (sig >= SIGRTMIN && sig <= SIGRTMAX)
		snprintf(buf, size, "SIGRTMIN+%d", sig - SIGRTMIN);
	else
		snprintf(buf, size, "signal %d", sig);
	return buf;
}

/* show_status() - a job's last exit status as "0", "1", "SIGTERM", the
 * step its last start failed at ("203/EXEC", systemd's numbers) or "-". */
void show_status(char *buf, size_t size, xpc_object_t job)
{
	xpc_object_t v = xpc_dictionary_get_value(job, XPCD_JOB_LAST_EXIT_STATUS);
	int st = v ? (int)xpc_dictionary_get_int64(job, XPCD_JOB_LAST_EXIT_STATUS) : -1;
	const char *failure = xpc_dictionary_get_string(job, XPCD_JOB_LAST_FAILURE);
	char sig[32];

	if (failure)
		snprintf(buf, size, "%s", failure);
	else if (st < 0)
		snprintf(buf, size, "-");
	else if (WIFSIGNALED(st))
		snprintf(buf, size, "%s", signal_name(WTERMSIG(st), sig, sizeof(sig)));
	else
		snprintf(buf, size, "%d", WEXITSTATUS(st));
}

/* Length of the UTF-8 sequence at @p that is a printable character, 0
 * when it is not one (a control, C1, or not UTF-8). */
static size_t text_printable(const unsigned char *p)
{
	size_t n = p[0] < 0x80 ? 1 : (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3 : (p[0] & 0xf8) == 0xf0 ? 4 : 0;
	unsigned cp = n == 1 ? p[0] : n == 2 ? p[0] & 0x1fu : n == 3 ? p[0] & 0x0fu : p[0] & 0x07u;

	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3fu);
	}
	if (n == 0 || cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || (n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp < 0xe000))
		return 0;
	return n;
}

void show_text(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "-");

	while (*p) {
		size_t n = text_printable(p);
		if (n) {
			fwrite(p, 1, n, f);
			p += n;
		} else if (*p == '\n' || *p == '\t') {
			fputs(*p == '\n' ? "\\n" : "\\t", f);
			p++;
		} else {
			fprintf(f, "\\x%02x", *p++);
		}
	}
}

static void show_value(const char *key, xpc_object_t v, int depth, FILE *f);

static void indent(int depth, FILE *f)
{
	for (int i = 0; i < depth; i++)
		fputc('\t', f);
}

static void show_scalar(xpc_object_t v, FILE *f)
{
	xpc_type_t t = xpc_get_type(v);

	if (t == XPC_TYPE_STRING)
		show_text(f, xpc_string_get_string_ptr(v));
	else if (t == XPC_TYPE_BOOL)
		fprintf(f, "%s", xpc_bool_get_value(v) ? "true" : "false");
	else if (t == XPC_TYPE_INT64)
		fprintf(f, "%lld", (long long)xpc_int64_get_value(v));
	else if (t == XPC_TYPE_UINT64)
		fprintf(f, "%llu", (unsigned long long)xpc_uint64_get_value(v));
	else if (t == XPC_TYPE_DOUBLE)
		fprintf(f, "%g", xpc_double_get_value(v));
	else {
		char *d = xpc_copy_description(v);
		fprintf(f, "%s", d ? d : "?");
		free(d);
	}
}

/* XPCD_JOB_LAST_EXIT_STATUS -> "last exit status" */
static void show_key(const char *key, FILE *f)
{
	for (const char *p = key; *p; p++)
		fputc(*p == '_' ? ' ' : *p, f);
}

static void show_block(xpc_object_t v, int depth, FILE *f)
{
	fprintf(f, "{\n");
	if (xpc_get_type(v) == XPC_TYPE_ARRAY)
		xpc_array_apply(v, ^bool(size_t i, xpc_object_t e) {
			(void)i;
			show_value(NULL, e, depth + 1, f);
			return true;
		});
	else
		xpc_dictionary_apply(v, ^bool(const char *k, xpc_object_t e) {
			show_value(k, e, depth + 1, f);
			return true;
		});
	indent(depth, f);
	fprintf(f, "}\n");
}

static void show_value(const char *key, xpc_object_t v, int depth, FILE *f)
{
	xpc_type_t t = xpc_get_type(v);

	indent(depth, f);
	if (key) {
		show_key(key, f);
		fprintf(f, " = ");
	}
	if (t == XPC_TYPE_ARRAY || t == XPC_TYPE_DICTIONARY) {
		show_block(v, depth, f);
		return;
	}
	show_scalar(v, f);
	fputc('\n', f);
}

/* Keys shown first, in this order; the rest follow as the broker sent them. */
static const char *const show_first[] = {"state", XPCD_JOB_PID, "program", "arguments", "path", "user", "services",
					 "disabled", "runs", NULL};

static bool is_first(const char *k)
{
	for (int i = 0; show_first[i]; i++)
		if (!strcmp(show_first[i], k))
			return true;
	return false;
}

/* show_job() - @job (a print reply's "job") in launchctl print's form. */
void show_job(xpc_object_t job, FILE *f)
{
	const char *label = xpc_dictionary_get_string(job, XPCD_JOB_LABEL);
	char st[32];

	fprintf(f, "%s = {\n", label ? label : "?");
	for (int i = 0; show_first[i]; i++) {
		xpc_object_t v = xpc_dictionary_get_value(job, show_first[i]);
		if (v && !(!strcmp(show_first[i], XPCD_JOB_PID) && xpc_dictionary_get_int64(job, XPCD_JOB_PID) == 0))
			show_value(show_first[i], v, 1, f);
	}
	if (xpc_dictionary_get_value(job, XPCD_JOB_LAST_EXIT_STATUS)) {
		show_status(st, sizeof(st), job);
		fprintf(f, "\tlast exit status = %s\n", strcmp(st, "-") ? st : "(never exited)");
	}
	xpc_dictionary_apply(job, ^bool(const char *k, xpc_object_t v) {
		if (!is_first(k) && strcmp(k, XPCD_JOB_LABEL) && strcmp(k, XPCD_JOB_LAST_EXIT_STATUS))
			show_value(k, v, 1, f);
		return true;
	});
	fprintf(f, "}\n");
}
