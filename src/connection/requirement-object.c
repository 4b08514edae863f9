/* SPDX-License-Identifier: MIT */
/*
 * requirement-object.c - the xpc_peer_requirement object: its type, Apple's
 * constructors (no Linux meaning: NULL with ENOTSUP) and the Linux forms
 * of <xpc/peer_requirement.h> (docs/peer-requirements.md).  The check a
 * connection makes with it is requirement.c's.
 */
#include "connection/internal.h"
#include "connection/requirement.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const req_kind_names[] = {
	[REQ_UNSUPPORTED] = "unsupported",
	[REQ_UID] = "uid",
	[REQ_GID] = "gid",
	[REQ_EXE_PATH] = "executable",
	[REQ_EXE_FILE] = "executable file",
	[REQ_LSM_LABEL] = "lsm label",
	[REQ_SYSTEMD_UNIT] = "systemd unit",
};

static void req_dispose(xpc_object_t obj)
{
	free(((xpc_peer_requirement_t)obj)->text);
}

static void req_describe(xpc_object_t obj, StrBuf *sb, unsigned indent)
{
	xpc_peer_requirement_t r = (xpc_peer_requirement_t)obj;

	(void)indent;
	strbuf_printf(sb, "{ %s = ", req_kind_names[r->kind]);
	if (r->kind == REQ_UID)
		strbuf_printf(sb, "%u", (unsigned)r->uid);
	else if (r->kind == REQ_GID)
		strbuf_printf(sb, "%u", (unsigned)r->gid);
	else if (r->kind == REQ_EXE_FILE)
		strbuf_printf(sb, "%s (%llu:%llu)", r->text, (unsigned long long)r->dev,
			      (unsigned long long)r->ino);
	else
		strbuf_printf(sb, "%s", r->text);
	strbuf_printf(sb, " }");
}

static const struct _xpc_type_s req_type = {
	.name = "peer_requirement",
	.dispose = req_dispose,
	.describe = req_describe,
};

xpc_peer_requirement_t requirement_new(ReqKind kind, const char *text)
{
	xpc_peer_requirement_t r = object_alloc(&req_type, sizeof(*r));

	if (!r) {
		errno = ENOMEM;
		return NULL;
	}
	r->kind = kind;
	if (text && !(r->text = strdup(text))) {
		xpc_release(r);
		errno = ENOMEM;
		return NULL;
	}
	return r;
}

bool requirement_is(xpc_object_t obj)
{
	return obj && xpc_get_type(obj) == &req_type;
}

const char *requirement_kind_name(ReqKind kind)
{
	return req_kind_names[kind];
}

/* ---- Apple's constructors: no Linux meaning -------------------------------- */

static xpc_peer_requirement_t req_none(xpc_rich_error_t *error_out)
{
	if (error_out)
		*error_out = NULL;
	errno = ENOTSUP;
	return NULL;
}

xpc_peer_requirement_t xpc_peer_requirement_create_entitlement_exists(const char *entitlement,
								      xpc_rich_error_t *error_out)
{
	(void)entitlement;
	return req_none(error_out);
}

xpc_peer_requirement_t
xpc_peer_requirement_create_entitlement_matches_value(const char *entitlement, xpc_object_t value,
						      xpc_rich_error_t *error_out)
{
	(void)entitlement;
	(void)value;
	return req_none(error_out);
}

xpc_peer_requirement_t xpc_peer_requirement_create_team_identity(const char *signing_identifier,
								 xpc_rich_error_t *error_out)
{
	(void)signing_identifier;
	return req_none(error_out);
}

xpc_peer_requirement_t xpc_peer_requirement_create_platform_identity(const char *signing_identifier,
								     xpc_rich_error_t *error_out)
{
	(void)signing_identifier;
	return req_none(error_out);
}

xpc_peer_requirement_t xpc_peer_requirement_create_lwcr(xpc_object_t lwcr,
							xpc_rich_error_t *error_out)
{
	(void)lwcr;
	return req_none(error_out);
}

/* ---- the Linux forms --------------------------------------------------------- */

xpc_peer_requirement_t xpc_linux_peer_requirement_create_uid(uid_t uid)
{
	xpc_peer_requirement_t r = requirement_new(REQ_UID, NULL);

	if (r)
		r->uid = uid;
	return r;
}

xpc_peer_requirement_t xpc_linux_peer_requirement_create_gid(gid_t gid)
{
	xpc_peer_requirement_t r = requirement_new(REQ_GID, NULL);

	if (r)
		r->gid = gid;
	return r;
}

xpc_peer_requirement_t xpc_linux_peer_requirement_create_executable(const char *path)
{
	char *real;
	xpc_peer_requirement_t r;

	if (!path || !*path) {
		errno = EINVAL;
		return NULL;
	}
	real = realpath(path, NULL);
	if (!real)
		return NULL;
	r = requirement_new(REQ_EXE_PATH, real);
	free(real);
	return r;
}

xpc_peer_requirement_t xpc_linux_peer_requirement_create_executable_file(const char *path)
{
	struct stat st;
	xpc_peer_requirement_t r;

	if (!path || !*path) {
		errno = EINVAL;
		return NULL;
	}
	if (stat(path, &st) < 0)
		return NULL;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		return NULL;
	}
	r = requirement_new(REQ_EXE_FILE, path);
	if (r) {
		r->dev = st.st_dev;
		r->ino = st.st_ino;
	}
	return r;
}

static xpc_peer_requirement_t req_new_text(ReqKind kind, const char *text)
{
	if (!text || !*text || strlen(text) >= 4096) {
		errno = EINVAL;
		return NULL;
	}
	return requirement_new(kind, text);
}

xpc_peer_requirement_t xpc_linux_peer_requirement_create_lsm_label(const char *label)
{
	return req_new_text(REQ_LSM_LABEL, label);
}

xpc_peer_requirement_t xpc_linux_peer_requirement_create_systemd_unit(const char *unit)
{
	if (unit && (strchr(unit, '/') || !strchr(unit, '.'))) {
		errno = EINVAL;
		return NULL;
	}
	return req_new_text(REQ_SYSTEMD_UNIT, unit);
}
