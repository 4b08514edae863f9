/* SPDX-License-Identifier: MIT */
/*
 * <bsm/audit.h> - the audit types macOS code meets through XPC: the
 * audit session id of xpc_connection_get_asid() and the audit token of
 * <xpc/private.h> (Apple's layout: eight unsigned ints).  Only what libxpc
 * hands out; not OpenBSM.  On a system that also has OpenBSM's libbsm-dev,
 * put libxpc's include directory first (pkg-config does).
 */
#ifndef _BSM_AUDIT_H
#define _BSM_AUDIT_H

#include <sys/types.h>

typedef uid_t au_id_t;     /* audit user id (Linux: the login uid) */
#ifndef _XPC_AU_ASID_T
#define _XPC_AU_ASID_T
typedef pid_t au_asid_t;   /* audit session id (Linux: the session id) */
#endif

#ifndef _XPC_AUDIT_TOKEN_T
#define _XPC_AUDIT_TOKEN_T
/* val[0] auid, [1] euid, [2] egid, [3] ruid, [4] rgid, [5] pid, [6] asid,
 * [7] pid version (docs/sessions.md, "Audit tokens"). */
typedef struct {
	unsigned int val[8];
} audit_token_t;
#endif

#define AU_DEFAUDITID ((uid_t)-1)

#endif /* _BSM_AUDIT_H */
