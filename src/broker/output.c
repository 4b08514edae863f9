/* SPDX-License-Identifier: MIT */
/*
 * output.c - a job's standard output and error into the broker's log,
 * each line labelled "LABEL[PID]: ", so a job's words are told from the
 * broker's and from other jobs' (a job cannot forge a broker line: every
 * line it writes starts with its label).
 *
 * One pipe per started process (spawn.c), both streams on it, read on the
 * main queue OUTPUT_CHUNK bytes at a time.  A line longer than
 * OUTPUT_MAX_LINE is cut there (the rest follows as further lines); a
 * partial last line is logged at end of file.  The reader outlives the
 * job's record: it ends at end of file, when every process holding the
 * pipe (the job and anything it forked) has closed it.  Lost on a broker
 * restart: an adopted instance's pipe ended with the old broker.  A leaf.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <dispatch/dispatch.h>

#include "broker/log.h"
#include "broker/output.h"

#define OUTPUT_MAX_LINE 1024
#define OUTPUT_CHUNK 4096

typedef struct Output {
	dispatch_source_t source;
	int fd;
	pid_t pid;
	size_t len;                 /* bytes in line */
	char line[OUTPUT_MAX_LINE]; /* the partial line */
	char label[];
} Output;

static void output_flush(Output *o)
{
	if (o->len)
		log_line(LOG_INFO, "%s[%d]: %.*s", o->label, (int)o->pid, (int)o->len, o->line);
	o->len = 0;
}

static void output_take(Output *o, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n') {
			output_flush(o);
			continue;
		}
		if (o->len == sizeof(o->line))
			output_flush(o);
		o->line[o->len++] = p[i] ? p[i] : ' ';
	}
}

static void on_output(void *ctx)
{
	Output *o = ctx;
	char buf[OUTPUT_CHUNK];
	ssize_t n = read(o->fd, buf, sizeof(buf));

	if (n > 0) {
		output_take(o, buf, (size_t)n);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	output_flush(o);
	dispatch_source_cancel(o->source);
}

static void on_output_cancel(void *ctx)
{
	Output *o = ctx;

	close(o->fd);
	dispatch_release(o->source);
	free(o);
}

void output_capture(const char *label, pid_t pid, int fd)
{
	size_t n = strlen(label) + 1;
	Output *o = calloc(1, sizeof(*o) + n);

	if (!o) {
		close(fd);
		return;
	}
	memcpy(o->label, label, n);
	o->fd = fd;
	o->pid = pid;
	o->source = dispatch_source_create(DISPATCH_SOURCE_TYPE_READ, (uintptr_t)fd, 0, dispatch_get_main_queue());
	if (!o->source) {
		close(fd);
		free(o);
		return;
	}
	dispatch_set_context(o->source, o);
	dispatch_source_set_event_handler_f(o->source, on_output);
	dispatch_source_set_cancel_handler_f(o->source, on_output_cancel);
	dispatch_resume(o->source);
}
