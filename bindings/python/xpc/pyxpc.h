/* SPDX-License-Identifier: MIT */
/*
 * pyxpc.h - what the three files of the `xpc._xpc` extension share.
 *
 * The module is built against the public API only (<xpc/xpc.h>, libxpc.so),
 * with the `_f` function variants (no blocks).  Its files:
 *   _xpc.c        the module: exceptions, the value types (Int64, UInt64,
 *                 Endpoint, SharedMemory, FileDescriptor, Message) and the
 *                 module functions (dumps/loads/describe);
 *   convert.c     Python values <-> XPC objects (docs/python.md has the table);
 *   connection.c  Connection and Listener, handlers on libxpc's threads, the
 *                 GIL, replies (callbacks, asyncio futures, blocking calls).
 *
 * Ownership: functions returning xpc_object_t return a +1 reference (release
 * it) or NULL with a Python exception set; functions returning PyObject *
 * return a new reference or NULL with an exception set.  Every function here
 * is called with the GIL held unless its comment says otherwise.
 */
#ifndef PYXPC_H
#define PYXPC_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdbool.h>
#include <xpc/xpc.h>

/* Deeper than this, a value is refused (the wire decoder's limit). */
#define PYX_MAX_DEPTH 64

typedef struct {
	PyObject_HEAD xpc_endpoint_t endpoint;
} PyxEndpoint;

/* A shared memory region: one we mapped (anonymous, then turned into a
 * memfd mapping by xpc_shmem_create the first time it is sent) or one
 * received (xpc_shmem_map).  `shmem` caches the XPC object, so every send
 * shares the same memory. */
typedef struct {
	PyObject_HEAD void *addr;
	size_t length;
	xpc_object_t shmem;
	Py_ssize_t exports;
} PyxSharedMemory;

/* A descriptor this object owns (received, and io.FileIO refused it). */
typedef struct {
	PyObject_HEAD int fd;
} PyxFileDescriptor;

/* A received message: a dict holding the XPC dictionary for its reply. */
typedef struct {
	PyDictObject dict;
	xpc_object_t xmsg;
} PyxMessage;

typedef struct ConnCtx ConnCtx;

/* Connection and Listener share this layout. */
typedef struct {
	PyObject_HEAD xpc_connection_t conn;
	ConnCtx *ctx;
	PyObject *endpoint; /* Listener: the cached Endpoint */
	PyObject *weakrefs;
} PyxConnection;

extern PyTypeObject PyxInt64_Type, PyxUInt64_Type, PyxEndpoint_Type, PyxSharedMemory_Type,
	PyxFileDescriptor_Type, PyxMessage_Type, PyxConnection_Type, PyxListener_Type;
extern PyObject *pyx_Error, *pyx_ConnectionInterrupted, *pyx_ConnectionInvalid,
	*pyx_TerminationImminent;

/* _xpc.c */
PyObject *pyx_endpoint_wrap(xpc_endpoint_t endpoint);     /* retains */
PyObject *pyx_shmem_wrap_received(xpc_object_t shmem);    /* maps it */
xpc_object_t pyx_shmem_get_object(PyxSharedMemory *self); /* +1 */
PyObject *pyx_fd_wrap_consume(int fd);                    /* FileIO or FileDescriptor */
PyObject *pyx_message_new(xpc_object_t xmsg);             /* empty Message; retains */

/* convert.c */
int convert_init(void);
xpc_object_t convert_to_xpc(PyObject *obj);
PyObject *convert_from_xpc(xpc_object_t object);
/* Sets every key of the dict @mapping into @xdict; 0 or -1 with an exception. */
int convert_fill_dictionary(xpc_object_t xdict, PyObject *mapping);
/* A new dictionary from a dict (the messages' top level); TypeError otherwise. */
xpc_object_t convert_message_to_xpc(PyObject *mapping);
/* Fills @dict (a dict or Message) with the entries of @xdict. */
int convert_dictionary_into(PyObject *dict, xpc_object_t xdict);

/* connection.c */
int connection_init(PyObject *module);
/* An exception instance for an XPC error object; the reason comes from
 * @conn (may be NULL). */
PyObject *connection_error_new(xpc_object_t error, xpc_connection_t conn);
/* The Connection object of a connection this module made, new ref or None. */
PyObject *connection_lookup(xpc_connection_t conn);
PyObject *connection_shutdown(PyObject *module, PyObject *unused);

#endif /* PYXPC_H */
