/* SPDX-License-Identifier: MIT */
/*
 * requirement.h - the peer requirement object (requirement-object.c) as
 * the check (requirement.c) reads it.
 */
#ifndef XPC_CONNECTION_REQUIREMENT_H
#define XPC_CONNECTION_REQUIREMENT_H

#include <stdbool.h>
#include <sys/types.h>
#include <xpc/xpc.h>

#include "object/object.h"

typedef enum {
	REQ_UNSUPPORTED = 1,
	REQ_UID,
	REQ_GID,
	REQ_EXE_PATH,
	REQ_EXE_FILE,
	REQ_LSM_LABEL,
	REQ_SYSTEMD_UNIT,
} ReqKind;

struct _xpc_peer_requirement_s {
	struct xpc_object_s head;
	ReqKind kind;
	uid_t uid;
	gid_t gid;
	dev_t dev;
	ino_t ino;
	char *text; /* path, label, unit; what is unsupported */
};

/* A new requirement of @kind with a copy of @text (may be NULL); NULL
 * with errno ENOMEM. */
xpc_peer_requirement_t requirement_new(ReqKind kind, const char *text);
/* @obj is a peer requirement. */
bool requirement_is(xpc_object_t obj);
/* The name of @kind ("uid", "executable", ...). */
const char *requirement_kind_name(ReqKind kind);

#endif
