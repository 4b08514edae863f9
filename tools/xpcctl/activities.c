/* SPDX-License-Identifier: MIT */
/*
 * activities.c - `xpcctl activities` and `xpcctl run-activity`: the
 * activities xpcd schedules for its jobs' LaunchEvents
 * (com.apple.xpc.activity, docs/activities.md).
 *
 * activities asks the broker for its jobs (`list`) and, over the same
 * link, for each job's activities (`activities`); jobs whose definition
 * the caller may not see (denied, or not shown at all) are left out, as
 * `list` leaves them out.  With a LABEL only that job is asked and a
 * refusal is said.  One line per activity: the job, the activity's
 * identifier, its state, when it is next due, the runs so far and its
 * criteria; with --json one array of objects { job, identifier, state,
 * runs, next_run_in (seconds), last_end, criteria }.
 *
 * run-activity JOB IDENTIFIER asks xpcd to run one activity now (the job
 * is launched if it is not running), as the broker's `run-activity`
 * operation: root and the broker's own user only, so a user acts only on
 * the jobs of a broker that is theirs (docs/broker.md).
 */
#include <stdlib.h>
#include <string.h>

#include "shared/xpcd-protocol.h"
#include "xpcctl.h"

/* The reply to @req (consumed) on @c: a dictionary (+1), or NULL with
 * the broker's error in *ret_error (borrowed from *ret_reply's). */
static xpc_object_t ask(xpc_connection_t c, xpc_object_t req)
{
	xpc_object_t reply = xpc_connection_send_message_with_reply_sync(c, req);

	xpc_release(req);
	if (xpc_get_type(reply) != XPC_TYPE_DICTIONARY) {
		char *why = xpc_connection_copy_invalidation_reason(c);
		fprintf(stderr, "xpcctl: the broker at %s did not answer (%s)\n", broker_answered(),
			why ? why : "connection lost");
		exit(EXIT_UNREACHABLE);
	}
	return reply;
}

/* "in 1h02m", "in 42s", "now" (due or overdue), "-" (not scheduled). */
static void format_due(xpc_object_t act, char *buf, size_t size)
{
	xpc_object_t v = xpc_dictionary_get_value(act, "next_run_in");
	double in = v ? xpc_double_get_value(v) : 0;
	long s;

	if (!v) {
		snprintf(buf, size, "-");
		return;
	}
	s = in < 0.5 ? 0 : (long)(in + 0.5);
	if (s == 0)
		snprintf(buf, size, "now");
	else if (s < 60)
		snprintf(buf, size, "in %lds", s);
	else if (s < 3600)
		snprintf(buf, size, "in %ldm%02lds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, size, "in %ldh%02ldm", s / 3600, (s % 3600) / 60);
	else
		snprintf(buf, size, "in %ldd%02ldh", s / 86400, (s % 86400) / 3600);
}

/* The criteria as "Key=value ..." on stdout. */
static void print_criteria(xpc_object_t criteria)
{
	__block bool first = true;

	if (xpc_get_type(criteria) != XPC_TYPE_DICTIONARY || xpc_dictionary_get_count(criteria) == 0) {
		printf("-");
		return;
	}
	xpc_dictionary_apply(criteria, ^bool(const char *k, xpc_object_t v) {
		xpc_type_t t = xpc_get_type(v);
		printf("%s%s=", first ? "" : " ", k);
		first = false;
		if (t == XPC_TYPE_STRING)
			printf("%s", xpc_string_get_string_ptr(v));
		else if (t == XPC_TYPE_BOOL)
			printf("%s", xpc_bool_get_value(v) ? "true" : "false");
		else if (t == XPC_TYPE_INT64)
			printf("%lld", (long long)xpc_int64_get_value(v));
		else if (t == XPC_TYPE_UINT64)
			printf("%llu", (unsigned long long)xpc_uint64_get_value(v));
		else if (t == XPC_TYPE_DOUBLE)
			printf("%g", xpc_double_get_value(v));
		else
			printf("...");
		return true;
	});
}

/* Appends @job's activities (the reply's array) to @out as rows. */
static void collect(xpc_object_t out, const char *job, xpc_object_t acts)
{
	for (size_t i = 0; acts && i < xpc_array_get_count(acts); i++) {
		xpc_object_t a = xpc_array_get_value(acts, i), row = xpc_dictionary_create(NULL, NULL, 0);
		const char *name = xpc_dictionary_get_string(a, "name");
		xpc_dictionary_set_string(row, "job", job);
		xpc_dictionary_set_string(row, "identifier", name ? name : "?");
		xpc_dictionary_apply(a, ^bool(const char *k, xpc_object_t v) {
			if (strcmp(k, "name"))
				xpc_dictionary_set_value(row, k, v);
			return true;
		});
		xpc_array_append_value(out, row);
		xpc_release(row);
	}
}

/* @label's activities into @out.  Return: 0, or EXIT_REFUSED (said when
 * @say_refusal). */
static int job_activities(xpc_connection_t c, const char *label, xpc_object_t out, bool say_refusal)
{
	xpc_object_t reply = ask(c, broker_op(XPCD_OP_ACTIVITIES, label));
	const char *err = xpc_dictionary_get_string(reply, XPCD_KEY_ERROR);

	if (err) {
		if (say_refusal)
			fprintf(stderr, "xpcctl: %s: %s\n", label, err);
		xpc_release(reply);
		return EXIT_REFUSED;
	}
	collect(out, label, xpc_dictionary_get_array(reply, XPCD_KEY_ACTIVITIES));
	xpc_release(reply);
	return 0;
}

/* Every job's activities that the caller may see, into @out. */
static int all_activities(xpc_connection_t c, xpc_object_t out)
{
	xpc_object_t reply = ask(c, broker_op(XPCD_OP_LIST, NULL)), jobs;
	const char *err = xpc_dictionary_get_string(reply, XPCD_KEY_ERROR);

	if (err) {
		fprintf(stderr, "xpcctl: %s\n", err);
		xpc_release(reply);
		return EXIT_REFUSED;
	}
	jobs = xpc_dictionary_get_array(reply, XPCD_KEY_JOBS);
	for (size_t k = 0; jobs && k < xpc_array_get_count(jobs); k++) {
		const char *label = xpc_dictionary_get_string(xpc_array_get_value(jobs, k), XPCD_KEY_LABEL);
		if (label)
			(void)job_activities(c, label, out, false); /* jobs not shown in full are left out */
	}
	xpc_release(reply);
	return 0;
}

static void print_rows(xpc_object_t rows)
{
	printf("%-32s %-32s %-12s %-10s %-5s %s\n", "JOB", "IDENTIFIER", "STATE", "NEXT DUE", "RUNS", "CRITERIA");
	for (size_t i = 0; i < xpc_array_get_count(rows); i++) {
		xpc_object_t r = xpc_array_get_value(rows, i);
		const char *state = xpc_dictionary_get_string(r, "state");
		char due[32];
		format_due(r, due, sizeof(due));
		printf("%-32s %-32s %-12s %-10s %-5llu ", xpc_dictionary_get_string(r, "job"),
		       xpc_dictionary_get_string(r, "identifier"), state ? state : "?", due,
		       (unsigned long long)xpc_dictionary_get_uint64(r, "runs"));
		print_criteria(xpc_dictionary_get_value(r, "criteria"));
		putchar('\n');
	}
}

int cmd_activities(int argc, char **argv)
{
	const char *label = NULL;
	xpc_connection_t c;
	xpc_object_t rows;
	int r;

	if (argc > 2)
		return ctl_usage_error("activities", "activities takes at most one LABEL");
	if (argc == 2 && (r = target_parse(argv[1], &label)))
		return r;
	c = broker_connect(true);
	rows = xpc_array_create(NULL, 0);
	r = label ? job_activities(c, label, rows, true) : all_activities(c, rows);
	xpc_connection_cancel(c);
	xpc_release(c);
	if (r == 0 && ctl.json)
		r = show_json(rows);
	else if (r == 0)
		print_rows(rows);
	xpc_release(rows);
	return r;
}

int cmd_run_activity(int argc, char **argv)
{
	const char *label;
	xpc_object_t req, reply;
	int r;

	if (argc != 3)
		return ctl_usage_error("run-activity", "run-activity takes a JOB and an activity IDENTIFIER");
	if ((r = target_parse(argv[1], &label)))
		return r;
	if (!*argv[2])
		return ctl_usage_error("run-activity", "the activity IDENTIFIER is empty");
	req = broker_op(XPCD_OP_RUN_ACTIVITY, label);
	xpc_dictionary_set_string(req, XPCD_KEY_NAME, argv[2]);
	if ((r = broker_request_status(req, false, &reply)))
		return r;
	if (ctl.json)
		r = show_json(reply);
	else
		printf("%s: %s: running, pid %lld\n", label, argv[2], (long long)xpc_dictionary_get_int64(reply, XPCD_KEY_PID));
	xpc_release(reply);
	return r;
}
