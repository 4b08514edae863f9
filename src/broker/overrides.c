/* SPDX-License-Identifier: MIT */
/*
 * overrides.c - `xpcctl enable` and `disable` kept across broker restarts,
 * as launchd keeps them in its disabled.plist: a label's last choice wins
 * over the job file's Disabled key, whenever a job of that label is
 * loaded, also one loaded after the choice was made.
 *
 * The choices live in SOCKET.disabled beside the socket and its state file
 * (rundir.c: written to a fresh temporary file and renamed; read only when
 * it is a regular file of xpcd's uid that no one else can write), one line
 * each: "disabled LABEL" or "enabled LABEL".  /run is emptied at boot, so
 * for the system and user brokers the choices last until the next boot.
 * Only root and the broker's user can make a choice (ops.c); still the
 * list is bounded (OVERRIDES_MAX, the oldest dropped) and a line longer
 * than a label can be is skipped.
 */
#include "broker/overrides.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/log.h"

#define OVERRIDES_SUFFIX ".disabled"
#define OVERRIDES_LINE_MAX 1100 /* "disabled " and a label of up to 1024 bytes */

static Override *find(const Overrides *o, const char *label)
{
	for (size_t i = 0; i < o->n; i++)
		if (!strcmp(o->v[i].label, label))
			return &o->v[i];
	return NULL;
}

/* Records @label's choice in memory; the oldest goes when full. */
static int remember(Overrides *o, const char *label, bool disabled)
{
	Override *e = find(o, label), *v;
	char *copy;

	if (e) {
		e->disabled = disabled;
		return 0;
	}
	if (!(copy = strdup(label)))
		return -1;
	if (o->n == OVERRIDES_MAX) {
		free(o->v[0].label);
		memmove(o->v, o->v + 1, (o->n - 1) * sizeof(*o->v));
		o->n--;
	}
	if (!(v = realloc(o->v, (o->n + 1) * sizeof(*v)))) {
		free(copy);
		return -1;
	}
	o->v = v;
	o->v[o->n++] = (Override){copy, disabled};
	return 0;
}

void overrides_load(Overrides *o, const Rundir *rd)
{
	FILE *f = rundir_file_read(rd, OVERRIDES_SUFFIX);
	char line[OVERRIDES_LINE_MAX];

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		size_t n = strcspn(line, "\n");
		bool whole = line[n] == '\n';
		line[n] = '\0';
		if (!whole) { /* too long: skip the rest of it */
			int c;
			while ((c = fgetc(f)) != EOF && c != '\n')
				;
			continue;
		}
		if (!strncmp(line, "disabled ", 9) && line[9])
			remember(o, line + 9, true);
		else if (!strncmp(line, "enabled ", 8) && line[8])
			remember(o, line + 8, false);
	}
	fclose(f);
}

int overrides_get(const Overrides *o, const char *label)
{
	const Override *e = find(o, label);

	return e ? e->disabled : -1;
}

static int save(const Overrides *o, const Rundir *rd)
{
	FILE *f = rundir_file_begin(rd, OVERRIDES_SUFFIX);

	if (!f)
		return -1;
	for (size_t i = 0; i < o->n; i++)
		fprintf(f, "%s %s\n", o->v[i].disabled ? "disabled" : "enabled", o->v[i].label);
	return rundir_file_commit(rd, OVERRIDES_SUFFIX, f);
}

int overrides_set(Overrides *o, const Rundir *rd, const char *label, bool disabled)
{
	if (strlen(label) > 1024 || strchr(label, '\n') || remember(o, label, disabled) < 0 ||
	    (rd->dir_fd >= 0 && save(o, rd) < 0)) {
		log_line(LOG_WARNING, "%s: %s kept only until xpcd exits (%s%s not written)", label,
			 disabled ? "disabled" : "enabled", rd->base, OVERRIDES_SUFFIX);
		return -1;
	}
	return 0;
}

void overrides_free(Overrides *o)
{
	for (size_t i = 0; i < o->n; i++)
		free(o->v[i].label);
	free(o->v);
	o->v = NULL;
	o->n = 0;
}
