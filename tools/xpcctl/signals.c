/* SPDX-License-Identifier: MIT */
/*
 * signals.c - signal names for `xpcctl kill`: every name the C library
 * knows (sigabbrev_np: HUP ... SYS, with or without "SIG", any case), the
 * real-time ones as RTMIN, RTMIN+N, RTMAX, RTMAX-N, and numbers 1..SIGRTMAX.
 * 0 is refused: it would only test whether the job exists.
 */
#include <ctype.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xpcctl.h"

/* "+N"/"-N" after RTMIN/RTMAX; -1 if malformed. */
static int rt_offset(const char *s, int sign_wanted)
{
	char *end;
	long n;

	if (!*s)
		return 0;
	if ((sign_wanted > 0 && *s != '+') || (sign_wanted < 0 && *s != '-') || !isdigit((unsigned char)s[1]))
		return -1;
	n = strtol(s + 1, &end, 10);
	return *end || n > SIGRTMAX - SIGRTMIN ? -1 : (int)n;
}

static int rt_signal(const char *s)
{
	int off;

	if (!strncasecmp(s, "RTMIN", 5) && (off = rt_offset(s + 5, 1)) >= 0)
		return SIGRTMIN + off;
	if (!strncasecmp(s, "RTMAX", 5) && (off = rt_offset(s + 5, -1)) >= 0)
		return SIGRTMAX - off;
	return -1;
}

/* signals_parse() - the number of signal @s, or -1. */
int signals_parse(const char *s)
{
	char *end;
	long n;

	if (isdigit((unsigned char)*s)) {
		n = strtol(s, &end, 10);
		return *end || n < 1 || n > SIGRTMAX ? -1 : (int)n;
	}
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (int sig = 1; sig < SIGRTMIN; sig++) {
		const char *a = sigabbrev_np(sig);
		if (a && !strcasecmp(a, s))
			return sig;
	}
	return rt_signal(s);
}

/* signals_list() - every name with its number, as kill -l prints them. */
void signals_list(FILE *f)
{
	for (int sig = 1; sig <= SIGRTMAX; sig++) {
		const char *a = sig < SIGRTMIN ? sigabbrev_np(sig) : NULL;
		if (a)
			fprintf(f, "%2d %s\n", sig, a);
		else if (sig >= SIGRTMIN && sig - SIGRTMIN <= (SIGRTMAX - SIGRTMIN) / 2)
			fprintf(f, "%2d RTMIN%s%.0d\n", sig, sig > SIGRTMIN ? "+" : "", sig - SIGRTMIN);
		else if (sig >= SIGRTMIN)
			fprintf(f, "%2d RTMAX%s%.0d\n", sig, sig < SIGRTMAX ? "-" : "", SIGRTMAX - sig);
	}
}
