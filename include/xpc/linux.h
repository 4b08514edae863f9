/* SPDX-License-Identifier: MIT */
/*
 * <xpc/linux.h> - Linux extensions to the XPC API.
 *
 * Nothing here exists in Apple's headers.  Each name carries the prefix
 * xpc_linux_ so it cannot collide with a future Apple function.
 *
 * - Serialization of an object to Apple's standalone byte layout (RemoteXPC
 *   magic 0x42133742, version 5; see docs/wire.md) and back.  Objects that
 *   carry descriptors (fd, shmem, endpoint) and connections cannot be
 *   serialized this way.
 * - Conversion between XPC objects and JSON (used by `xpcctl send`).
 * - The peer's pidfd, where the kernel provides one.
 * - Peer requirements with a Linux meaning (uid, group, executable, LSM
 *   label, systemd unit).
 */
#ifndef __XPC_LINUX_H__
#define __XPC_LINUX_H__

#ifndef __XPC_H__
#error "Please #include <xpc/xpc.h> instead of this file directly."
#endif

__XPC_BEGIN_DECLS

/* Serialize @object; returns a malloc'd buffer of *ret_length bytes, or NULL
 * with errno set: EINVAL (the graph holds a descriptor, connection or error,
 * or nests deeper than 64 containers), EILSEQ (a string or key that is not
 * UTF-8 or holds a NUL), E2BIG (a length beyond 32 bits), ENOMEM. */
XPC_LINUX_EXTENSION
XPC_EXPORT XPC_MALLOC void *xpc_linux_serialize(xpc_object_t object, size_t *ret_length);

/* Parse bytes made by xpc_linux_serialize; returns a +1 object, or NULL and,
 * when @ret_error is not NULL, a malloc'd message naming the rejection. */
XPC_LINUX_EXTENSION
XPC_EXPORT xpc_object_t xpc_linux_deserialize(const void *bytes, size_t length, char **ret_error);

/* JSON mapping: object<->dictionary, array<->array, string<->string,
 * true/false<->bool, null<->null, integer<->int64, real<->double.  Types
 * JSON lacks are one-key objects: {"$data": base64}, {"$date": ns since
 * 1970}, {"$uuid": "..."}, {"$uint64": "decimal"}, read back the same way;
 * a dictionary whose only key starts with '$' is written (and read) as
 * {"$dictionary": {...}} so it cannot read back as one of those;
 * fd/shmem/endpoint/connection are written as {"$type": "name"} and refused
 * on input.  Error dictionaries are written as objects. */
#define XPC_LINUX_JSON_COMPACT 0x1
/* Returns malloc'd JSON text, or NULL with errno set: EDOM (a NaN or
 * infinite double), EILSEQ (a string or key that is not UTF-8), E2BIG
 * (deeper than 64 containers), EINVAL (NULL object or unknown flags),
 * ENOMEM. */
XPC_LINUX_EXTENSION
XPC_EXPORT XPC_MALLOC char *xpc_linux_copy_json(xpc_object_t object, int flags);
XPC_LINUX_EXTENSION
XPC_EXPORT xpc_object_t xpc_linux_create_from_json(const char *json, char **ret_error);

/* A pidfd for the peer process (borrowed; -1 if the kernel has none). */
XPC_LINUX_EXTENSION
XPC_EXPORT int xpc_linux_connection_get_pidfd(xpc_connection_t connection);

/*
 * Peer requirements a Linux peer can be held to (docs/peer-requirements.md),
 * set with xpc_connection_set_peer_requirement().  Each is checked once per
 * link, before the first frame of the peer is handled, from what the kernel
 * vouches for: the credentials of the link (SO_PEERCRED / SCM_CREDENTIALS)
 * and, through the peer's pidfd, its /proc entry.  Each returns a +1
 * requirement, or NULL with errno set (EINVAL, ENOENT for a path that does
 * not exist, ENOMEM).
 */
/* The peer's effective uid is @uid. */
XPC_LINUX_EXTENSION
XPC_EXPORT XPC_RETURNS_RETAINED xpc_peer_requirement_t
xpc_linux_peer_requirement_create_uid(uid_t uid);
/* The peer's effective gid is @gid, or @gid is one of its supplementary
 * groups (the Groups line of /proc/PID/status). */
XPC_LINUX_EXTENSION
XPC_EXPORT XPC_RETURNS_RETAINED xpc_peer_requirement_t
xpc_linux_peer_requirement_create_gid(gid_t gid);
/* The peer runs the executable at @path (/proc/PID/exe names it; @path is
 * made absolute and resolved now, with realpath). */
XPC_LINUX_EXTENSION
XPC_EXPORT XPC_RETURNS_RETAINED xpc_peer_requirement_t
xpc_linux_peer_requirement_create_executable(const char *path);
/* The peer runs the very file at @path now (device and inode taken now: a
 * file replaced at that path later no longer matches). */
XPC_LINUX_EXTENSION
XPC_EXPORT XPC_RETURNS_RETAINED xpc_peer_requirement_t
xpc_linux_peer_requirement_create_executable_file(const char *path);
/* The peer's LSM security context (SO_PEERSEC, or /proc/PID/attr/current)
 * is exactly @label. */
XPC_LINUX_EXTENSION
XPC_EXPORT XPC_RETURNS_RETAINED xpc_peer_requirement_t
xpc_linux_peer_requirement_create_lsm_label(const char *label);
/* The peer belongs to the systemd unit @unit ("foo.service"): the first
 * path component of its cgroup (/proc/PID/cgroup) below the slices. */
XPC_LINUX_EXTENSION
XPC_EXPORT XPC_RETURNS_RETAINED xpc_peer_requirement_t
xpc_linux_peer_requirement_create_systemd_unit(const char *unit);

__XPC_END_DECLS

#endif /* __XPC_LINUX_H__ */
