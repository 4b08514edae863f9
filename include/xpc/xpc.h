/*
 * <xpc/xpc.h> - the XPC object model, as in Apple's headers.
 *
 * Every name, argument order and return convention follows Apple's public
 * <xpc/xpc.h> so that code written for macOS compiles unchanged.  Objects are
 * reference counted; create/copy functions return a +1 reference, get
 * functions return a borrowed one (xpc_object(3)).  Block-taking functions
 * exist only when the compiler has blocks (clang -fblocks); each has a
 * function-pointer twin (a Linux extension, `_f` suffix) for plain C.
 *
 * This header also pulls in the connection and endpoint API and the Linux
 * extensions (serialization, JSON), as Apple's xpc.h pulls in its siblings.
 */
#ifndef __XPC_H__
#define __XPC_H__

#ifndef __XPC_INDIRECT__
#define __XPC_INDIRECT__
#endif

#include <xpc/base.h>
#include <dispatch/dispatch.h>

/* The same libc headers as Apple's <xpc/xpc.h> pulls in, so that macOS code
 * relying on them (mmap for shmem, printf, free for xpc_copy_description,
 * fcntl for fds) compiles unchanged. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>
#include <uuid/uuid.h>

__XPC_BEGIN_DECLS

#define XPC_API_VERSION 20200610

/* ---- types ------------------------------------------------------------- */

#define XPC_DECL(name) typedef struct _##name##_s *name##_t

typedef void *xpc_object_t;
typedef const struct _xpc_type_s *xpc_type_t;
XPC_DECL(xpc_connection);
XPC_DECL(xpc_endpoint);

#define XPC_GLOBAL_OBJECT(object) ((xpc_object_t) & (object))
#define XPC_TYPE(type) const struct _xpc_type_s type

#ifdef __BLOCKS__
typedef void (^xpc_handler_t)(xpc_object_t object);
typedef bool (^xpc_array_applier_t)(size_t index, xpc_object_t value);
typedef bool (^xpc_dictionary_applier_t)(const char *key, xpc_object_t value);
#endif

/* Function-pointer twins of the applier blocks (Linux extension). */
XPC_LINUX_EXTENSION
typedef bool (*xpc_array_applier_f)(void *context, size_t index, xpc_object_t value);
XPC_LINUX_EXTENSION
typedef bool (*xpc_dictionary_applier_f)(void *context, const char *key, xpc_object_t value);
/* Event and reply handler as a function (Linux extension). */
XPC_LINUX_EXTENSION
typedef void (*xpc_handler_f)(void *context, xpc_object_t object);

typedef void (*xpc_finalizer_t)(void *value);

/* ---- type constants (compare by pointer) --------------------------------- */

#define XPC_TYPE_CONNECTION (&_xpc_type_connection)
XPC_EXPORT XPC_TYPE(_xpc_type_connection);
#define XPC_TYPE_ENDPOINT (&_xpc_type_endpoint)
XPC_EXPORT XPC_TYPE(_xpc_type_endpoint);
#define XPC_TYPE_NULL (&_xpc_type_null)
XPC_EXPORT XPC_TYPE(_xpc_type_null);
#define XPC_TYPE_BOOL (&_xpc_type_bool)
XPC_EXPORT XPC_TYPE(_xpc_type_bool);
#define XPC_TYPE_INT64 (&_xpc_type_int64)
XPC_EXPORT XPC_TYPE(_xpc_type_int64);
#define XPC_TYPE_UINT64 (&_xpc_type_uint64)
XPC_EXPORT XPC_TYPE(_xpc_type_uint64);
#define XPC_TYPE_DOUBLE (&_xpc_type_double)
XPC_EXPORT XPC_TYPE(_xpc_type_double);
#define XPC_TYPE_DATE (&_xpc_type_date)
XPC_EXPORT XPC_TYPE(_xpc_type_date);
#define XPC_TYPE_DATA (&_xpc_type_data)
XPC_EXPORT XPC_TYPE(_xpc_type_data);
#define XPC_TYPE_STRING (&_xpc_type_string)
XPC_EXPORT XPC_TYPE(_xpc_type_string);
#define XPC_TYPE_UUID (&_xpc_type_uuid)
XPC_EXPORT XPC_TYPE(_xpc_type_uuid);
#define XPC_TYPE_FD (&_xpc_type_fd)
XPC_EXPORT XPC_TYPE(_xpc_type_fd);
#define XPC_TYPE_SHMEM (&_xpc_type_shmem)
XPC_EXPORT XPC_TYPE(_xpc_type_shmem);
#define XPC_TYPE_ARRAY (&_xpc_type_array)
XPC_EXPORT XPC_TYPE(_xpc_type_array);
#define XPC_TYPE_DICTIONARY (&_xpc_type_dictionary)
XPC_EXPORT XPC_TYPE(_xpc_type_dictionary);
#define XPC_TYPE_ERROR (&_xpc_type_error)
XPC_EXPORT XPC_TYPE(_xpc_type_error);

/* macOS 13+: sessions (<xpc/session.h>) and rich errors (<xpc/rich_error.h>).
 * A listener (<xpc/listener.h>) has no public type constant on macOS
 * either: xpc_get_type() of one returns a type named "listener". */
#define XPC_TYPE_SESSION (&_xpc_type_session)
XPC_EXPORT XPC_TYPE(_xpc_type_session);
XPC_DECL(xpc_session);
#define XPC_TYPE_RICH_ERROR (&_xpc_type_rich_error)
XPC_EXPORT XPC_TYPE(_xpc_type_rich_error);
XPC_DECL(xpc_rich_error);

/* ---- booleans and errors: global objects ----------------------------------- */

#define XPC_BOOL_TRUE XPC_GLOBAL_OBJECT(_xpc_bool_true)
#define XPC_BOOL_FALSE XPC_GLOBAL_OBJECT(_xpc_bool_false)
XPC_EXPORT const struct _xpc_bool_s _xpc_bool_true;
XPC_EXPORT const struct _xpc_bool_s _xpc_bool_false;

#define XPC_ERROR_KEY_DESCRIPTION _xpc_error_key_description
XPC_EXPORT const char *const _xpc_error_key_description;

#define XPC_ERROR_CONNECTION_INTERRUPTED XPC_GLOBAL_OBJECT(_xpc_error_connection_interrupted)
XPC_EXPORT const struct _xpc_dictionary_s _xpc_error_connection_interrupted;
#define XPC_ERROR_CONNECTION_INVALID XPC_GLOBAL_OBJECT(_xpc_error_connection_invalid)
XPC_EXPORT const struct _xpc_dictionary_s _xpc_error_connection_invalid;
#define XPC_ERROR_TERMINATION_IMMINENT XPC_GLOBAL_OBJECT(_xpc_error_termination_imminent)
XPC_EXPORT const struct _xpc_dictionary_s _xpc_error_termination_imminent;
/* The peer does not satisfy the connection's peer requirement
 * (xpc_connection_set_peer_requirement and the set_peer_*_requirement
 * functions of <xpc/connection.h>; docs/peer-requirements.md). */
#define XPC_ERROR_PEER_CODE_SIGNING_REQUIREMENT XPC_GLOBAL_OBJECT(_xpc_error_peer_code_signing_requirement)
XPC_EXPORT const struct _xpc_dictionary_s _xpc_error_peer_code_signing_requirement;

#define XPC_EVENT_KEY_NAME _xpc_event_key_name
XPC_EXPORT const char *const _xpc_event_key_name;

/* ---- all objects ----------------------------------------------------------- */

XPC_EXPORT xpc_object_t xpc_retain(xpc_object_t object);
XPC_EXPORT void xpc_release(xpc_object_t object);
XPC_EXPORT xpc_type_t xpc_get_type(xpc_object_t object);
XPC_EXPORT const char *xpc_type_get_name(xpc_type_t type);
XPC_EXPORT XPC_WARN_RESULT xpc_object_t xpc_copy(xpc_object_t object);
XPC_EXPORT bool xpc_equal(xpc_object_t object1, xpc_object_t object2);
XPC_EXPORT size_t xpc_hash(xpc_object_t object);
XPC_EXPORT XPC_MALLOC XPC_WARN_RESULT char *xpc_copy_description(xpc_object_t object);

/* ---- scalars --------------------------------------------------------------- */

XPC_EXPORT xpc_object_t xpc_null_create(void);

XPC_EXPORT xpc_object_t xpc_bool_create(bool value);
XPC_EXPORT bool xpc_bool_get_value(xpc_object_t xbool);

XPC_EXPORT xpc_object_t xpc_int64_create(int64_t value);
XPC_EXPORT int64_t xpc_int64_get_value(xpc_object_t xint);

XPC_EXPORT xpc_object_t xpc_uint64_create(uint64_t value);
XPC_EXPORT uint64_t xpc_uint64_get_value(xpc_object_t xuint);

XPC_EXPORT xpc_object_t xpc_double_create(double value);
XPC_EXPORT double xpc_double_get_value(xpc_object_t xdouble);

XPC_EXPORT xpc_object_t xpc_date_create(int64_t interval);
XPC_EXPORT xpc_object_t xpc_date_create_from_current(void);
XPC_EXPORT int64_t xpc_date_get_value(xpc_object_t xdate);

XPC_EXPORT xpc_object_t xpc_data_create(const void *bytes, size_t length);
XPC_EXPORT xpc_object_t xpc_data_create_with_dispatch_data(dispatch_data_t ddata);
XPC_EXPORT size_t xpc_data_get_length(xpc_object_t xdata);
XPC_EXPORT const void *xpc_data_get_bytes_ptr(xpc_object_t xdata);
XPC_EXPORT size_t xpc_data_get_bytes(xpc_object_t xdata, void *buffer, size_t off, size_t length);

XPC_EXPORT xpc_object_t xpc_string_create(const char *string);
XPC_EXPORT xpc_object_t xpc_string_create_with_format(const char *fmt, ...) XPC_PRINTF(1, 2);
XPC_EXPORT xpc_object_t xpc_string_create_with_format_and_arguments(const char *fmt, va_list ap)
	XPC_PRINTF(1, 0);
XPC_EXPORT size_t xpc_string_get_length(xpc_object_t xstring);
XPC_EXPORT const char *xpc_string_get_string_ptr(xpc_object_t xstring);

XPC_EXPORT xpc_object_t xpc_uuid_create(const uuid_t uuid);
XPC_EXPORT const uint8_t *xpc_uuid_get_bytes(xpc_object_t xuuid);

XPC_EXPORT xpc_object_t xpc_fd_create(int fd);
XPC_EXPORT int xpc_fd_dup(xpc_object_t xfd);

XPC_EXPORT xpc_object_t xpc_shmem_create(void *region, size_t length);
XPC_EXPORT size_t xpc_shmem_map(xpc_object_t xshmem, void **region);

/* ---- array ----------------------------------------------------------------- */

#define XPC_ARRAY_APPEND ((size_t)(-1))

XPC_EXPORT xpc_object_t xpc_array_create(const xpc_object_t *objects, size_t count);
XPC_EXPORT xpc_object_t xpc_array_create_empty(void);
XPC_EXPORT void xpc_array_set_value(xpc_object_t xarray, size_t index, xpc_object_t value);
XPC_EXPORT void xpc_array_append_value(xpc_object_t xarray, xpc_object_t value);
XPC_EXPORT size_t xpc_array_get_count(xpc_object_t xarray);
XPC_EXPORT xpc_object_t xpc_array_get_value(xpc_object_t xarray, size_t index);
#ifdef __BLOCKS__
XPC_EXPORT bool xpc_array_apply(xpc_object_t xarray, xpc_array_applier_t applier);
#endif
XPC_LINUX_EXTENSION
XPC_EXPORT bool xpc_array_apply_f(xpc_object_t xarray, void *context, xpc_array_applier_f applier);

XPC_EXPORT void xpc_array_set_connection(xpc_object_t xarray, size_t index, xpc_connection_t connection);
XPC_EXPORT void xpc_array_set_bool(xpc_object_t xarray, size_t index, bool value);
XPC_EXPORT void xpc_array_set_int64(xpc_object_t xarray, size_t index, int64_t value);
XPC_EXPORT void xpc_array_set_uint64(xpc_object_t xarray, size_t index, uint64_t value);
XPC_EXPORT void xpc_array_set_double(xpc_object_t xarray, size_t index, double value);
XPC_EXPORT void xpc_array_set_date(xpc_object_t xarray, size_t index, int64_t value);
XPC_EXPORT void xpc_array_set_data(xpc_object_t xarray, size_t index, const void *bytes, size_t length);
XPC_EXPORT void xpc_array_set_string(xpc_object_t xarray, size_t index, const char *string);
XPC_EXPORT void xpc_array_set_uuid(xpc_object_t xarray, size_t index, const uuid_t uuid);
XPC_EXPORT void xpc_array_set_fd(xpc_object_t xarray, size_t index, int fd);

XPC_EXPORT xpc_connection_t xpc_array_create_connection(xpc_object_t xarray, size_t index);
XPC_EXPORT bool xpc_array_get_bool(xpc_object_t xarray, size_t index);
XPC_EXPORT int64_t xpc_array_get_int64(xpc_object_t xarray, size_t index);
XPC_EXPORT uint64_t xpc_array_get_uint64(xpc_object_t xarray, size_t index);
XPC_EXPORT double xpc_array_get_double(xpc_object_t xarray, size_t index);
XPC_EXPORT int64_t xpc_array_get_date(xpc_object_t xarray, size_t index);
XPC_EXPORT const void *xpc_array_get_data(xpc_object_t xarray, size_t index, size_t *length);
XPC_EXPORT const char *xpc_array_get_string(xpc_object_t xarray, size_t index);
XPC_EXPORT const uint8_t *xpc_array_get_uuid(xpc_object_t xarray, size_t index);
XPC_EXPORT int xpc_array_dup_fd(xpc_object_t xarray, size_t index);
XPC_EXPORT xpc_object_t xpc_array_get_array(xpc_object_t xarray, size_t index);
XPC_EXPORT xpc_object_t xpc_array_get_dictionary(xpc_object_t xarray, size_t index);

/* ---- dictionary -------------------------------------------------------------- */

XPC_EXPORT xpc_object_t xpc_dictionary_create(const char *const *keys, const xpc_object_t *values,
					       size_t count);
XPC_EXPORT xpc_object_t xpc_dictionary_create_empty(void);
XPC_EXPORT xpc_object_t xpc_dictionary_create_reply(xpc_object_t original);
XPC_EXPORT void xpc_dictionary_set_value(xpc_object_t xdict, const char *key, xpc_object_t value);
XPC_EXPORT xpc_object_t xpc_dictionary_get_value(xpc_object_t xdict, const char *key);
XPC_EXPORT size_t xpc_dictionary_get_count(xpc_object_t xdict);
#ifdef __BLOCKS__
XPC_EXPORT bool xpc_dictionary_apply(xpc_object_t xdict, xpc_dictionary_applier_t applier);
#endif
XPC_LINUX_EXTENSION
XPC_EXPORT bool xpc_dictionary_apply_f(xpc_object_t xdict, void *context,
				       xpc_dictionary_applier_f applier);
XPC_EXPORT xpc_connection_t xpc_dictionary_get_remote_connection(xpc_object_t xdict);

XPC_EXPORT void xpc_dictionary_set_connection(xpc_object_t xdict, const char *key,
					      xpc_connection_t connection);
XPC_EXPORT void xpc_dictionary_set_bool(xpc_object_t xdict, const char *key, bool value);
XPC_EXPORT void xpc_dictionary_set_int64(xpc_object_t xdict, const char *key, int64_t value);
XPC_EXPORT void xpc_dictionary_set_uint64(xpc_object_t xdict, const char *key, uint64_t value);
XPC_EXPORT void xpc_dictionary_set_double(xpc_object_t xdict, const char *key, double value);
XPC_EXPORT void xpc_dictionary_set_date(xpc_object_t xdict, const char *key, int64_t value);
XPC_EXPORT void xpc_dictionary_set_data(xpc_object_t xdict, const char *key, const void *bytes,
					size_t length);
XPC_EXPORT void xpc_dictionary_set_string(xpc_object_t xdict, const char *key, const char *string);
XPC_EXPORT void xpc_dictionary_set_uuid(xpc_object_t xdict, const char *key, const uuid_t uuid);
XPC_EXPORT void xpc_dictionary_set_fd(xpc_object_t xdict, const char *key, int fd);

XPC_EXPORT xpc_connection_t xpc_dictionary_create_connection(xpc_object_t xdict, const char *key);
XPC_EXPORT bool xpc_dictionary_get_bool(xpc_object_t xdict, const char *key);
XPC_EXPORT int64_t xpc_dictionary_get_int64(xpc_object_t xdict, const char *key);
XPC_EXPORT uint64_t xpc_dictionary_get_uint64(xpc_object_t xdict, const char *key);
XPC_EXPORT double xpc_dictionary_get_double(xpc_object_t xdict, const char *key);
XPC_EXPORT int64_t xpc_dictionary_get_date(xpc_object_t xdict, const char *key);
XPC_EXPORT const void *xpc_dictionary_get_data(xpc_object_t xdict, const char *key, size_t *length);
XPC_EXPORT const char *xpc_dictionary_get_string(xpc_object_t xdict, const char *key);
XPC_EXPORT const uint8_t *xpc_dictionary_get_uuid(xpc_object_t xdict, const char *key);
XPC_EXPORT int xpc_dictionary_dup_fd(xpc_object_t xdict, const char *key);
XPC_EXPORT xpc_object_t xpc_dictionary_get_array(xpc_object_t xdict, const char *key);
XPC_EXPORT xpc_object_t xpc_dictionary_get_dictionary(xpc_object_t xdict, const char *key);

/* ---- service runtime ----------------------------------------------------------- */

/* As in Apple's header, a plain function (not a block): xpc_main(on_peer). */
typedef void (*xpc_connection_handler_t)(xpc_connection_t connection);
XPC_EXPORT XPC_NORETURN XPC_NONNULL1 void xpc_main(xpc_connection_handler_t handler);
/* Older name of the same call (Linux extension, kept for existing callers). */
XPC_LINUX_EXTENSION
typedef xpc_connection_handler_t xpc_connection_handler_f;
XPC_LINUX_EXTENSION
XPC_EXPORT XPC_NORETURN XPC_NONNULL1 void xpc_main_f(xpc_connection_handler_f handler);
XPC_EXPORT void xpc_transaction_begin(void);
XPC_EXPORT void xpc_transaction_end(void);

#ifdef __BLOCKS__
/* Events of a LaunchEvents stream, as on macOS.  Only
 * "com.apple.xpc.activity" exists on Linux: xpcd's activities of this job
 * that no xpc_activity_register took, as { XPC_EVENT_KEY_NAME: NAME }
 * (docs/activities.md); the handler of any other stream is never called. */
XPC_EXPORT void xpc_set_event_stream_handler(const char *stream, dispatch_queue_t targetq,
								     xpc_handler_t handler);
#endif

__XPC_END_DECLS

#include <xpc/endpoint.h>
#include <xpc/peer_requirement.h>
#include <xpc/connection.h>
#include <xpc/linux.h>
/* As in Apple's xpc.h: the block-only APIs of macOS 13/14. */
#ifdef __BLOCKS__
#include <xpc/rich_error.h>
#include <xpc/session.h>
#include <xpc/listener.h>
#include <xpc/activity.h>
#endif

#endif /* __XPC_H__ */
