/*
 * <dispatch/dispatch.h> - the subset of Grand Central Dispatch that XPC
 * programs use, under GCD's own names.
 *
 * Debian has no libdispatch package, so libxpc carries this runtime.  The
 * semantics are GCD's (dispatch_queue_create(3), dispatch_source_create(3)):
 * serial queues run one block at a time in FIFO order, dispatch_main() never
 * returns, sources and queues created inactive/suspended stay so until
 * resumed.  Objects are reference counted with dispatch_retain/release.
 * Block-taking calls exist only when the compiler has blocks; each has its
 * `_f` twin taking a context and a function.
 */
#ifndef __DISPATCH_PUBLIC__
#define __DISPATCH_PUBLIC__

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/types.h>

#ifdef __cplusplus
#define DISPATCH_BEGIN_DECLS extern "C" {
#define DISPATCH_END_DECLS }
#else
#define DISPATCH_BEGIN_DECLS
#define DISPATCH_END_DECLS
#endif

#define DISPATCH_EXPORT extern __attribute__((visibility("default")))
#define DISPATCH_NOTHROW __attribute__((__nothrow__))
#define DISPATCH_NONNULL_ALL __attribute__((__nonnull__))
#define DISPATCH_NORETURN __attribute__((__noreturn__))
#define DISPATCH_WARN_RESULT __attribute__((__warn_unused_result__))
#define DISPATCH_RETURNS_RETAINED
#define DISPATCH_EXPECT(x, v) __builtin_expect((x), (v))
#define DISPATCH_INLINE static __inline__
#define DISPATCH_ALWAYS_INLINE __attribute__((__always_inline__))
#define DISPATCH_UNAVAILABLE __attribute__((__unavailable__))
#define DISPATCH_API_VERSION 20181008

#ifndef API_AVAILABLE
#define API_AVAILABLE(...)
#endif

/* Objects are plain C (or C++) pointers, never Objective-C objects, so code
 * written as `#if !OS_OBJECT_USE_OBJC dispatch_release(q); #endif` does the
 * right thing. */
#ifndef OS_OBJECT_USE_OBJC
#define OS_OBJECT_USE_OBJC 0
#endif

struct timespec;

DISPATCH_BEGIN_DECLS

/* ---- objects ------------------------------------------------------------- */

#ifdef __cplusplus
/* C++ has no transparent unions: as in Apple's header, every object type
 * derives from dispatch_object_s, so a queue converts to dispatch_object_t. */
typedef struct dispatch_object_s {
private:
	dispatch_object_s();
	~dispatch_object_s();
	dispatch_object_s(const dispatch_object_s &);
	void operator=(const dispatch_object_s &);
} *dispatch_object_t;
#define DISPATCH_DECL(name) typedef struct name##_s : public dispatch_object_s { } *name##_t
#else
#define DISPATCH_DECL(name) typedef struct name##_s *name##_t
struct dispatch_object_s;
#endif

DISPATCH_DECL(dispatch_queue);
DISPATCH_DECL(dispatch_queue_attr);
DISPATCH_DECL(dispatch_source);
DISPATCH_DECL(dispatch_group);
DISPATCH_DECL(dispatch_semaphore);
DISPATCH_DECL(dispatch_data);

/* Queue "subclasses" of newer SDKs are the same C type here. */
typedef dispatch_queue_t dispatch_queue_global_t;
typedef dispatch_queue_t dispatch_queue_main_t;
typedef dispatch_queue_t dispatch_queue_serial_t;
typedef dispatch_queue_t dispatch_queue_concurrent_t;

#ifndef __cplusplus
typedef union {
	struct dispatch_object_s *_do;
	struct dispatch_queue_s *_dq;
	struct dispatch_queue_attr_s *_dqa;
	struct dispatch_source_s *_ds;
	struct dispatch_group_s *_dg;
	struct dispatch_semaphore_s *_dsema;
	struct dispatch_data_s *_ddata;
} dispatch_object_t __attribute__((__transparent_union__));
#endif

typedef void (*dispatch_function_t)(void *context);
#ifdef __BLOCKS__
typedef void (^dispatch_block_t)(void);
#endif

DISPATCH_EXPORT void dispatch_retain(dispatch_object_t object);
DISPATCH_EXPORT void dispatch_release(dispatch_object_t object);
DISPATCH_EXPORT void *dispatch_get_context(dispatch_object_t object);
DISPATCH_EXPORT void dispatch_set_context(dispatch_object_t object, void *context);
DISPATCH_EXPORT void dispatch_set_finalizer_f(dispatch_object_t object, dispatch_function_t finalizer);
DISPATCH_EXPORT void dispatch_suspend(dispatch_object_t object);
DISPATCH_EXPORT void dispatch_resume(dispatch_object_t object);
DISPATCH_EXPORT void dispatch_activate(dispatch_object_t object);

/* ---- time ------------------------------------------------------------------- */

typedef uint64_t dispatch_time_t;
#define DISPATCH_TIME_NOW (0ull)
#define DISPATCH_TIME_FOREVER (~0ull)
#define DISPATCH_WALLTIME_NOW (~1ull)
#ifndef NSEC_PER_SEC
#define NSEC_PER_SEC 1000000000ull
#endif
#ifndef NSEC_PER_MSEC
#define NSEC_PER_MSEC 1000000ull
#endif
#ifndef USEC_PER_SEC
#define USEC_PER_SEC 1000000ull
#endif
#ifndef NSEC_PER_USEC
#define NSEC_PER_USEC 1000ull
#endif

DISPATCH_EXPORT dispatch_time_t dispatch_time(dispatch_time_t when, int64_t delta);
DISPATCH_EXPORT dispatch_time_t dispatch_walltime(const struct timespec *when, int64_t delta);

/* ---- queues ----------------------------------------------------------------- */

#define DISPATCH_QUEUE_SERIAL NULL
#define DISPATCH_QUEUE_CONCURRENT (&_dispatch_queue_attr_concurrent)
DISPATCH_EXPORT struct dispatch_queue_attr_s _dispatch_queue_attr_concurrent;
#define DISPATCH_QUEUE_SERIAL_INACTIVE (&_dispatch_queue_attr_serial_inactive)
DISPATCH_EXPORT struct dispatch_queue_attr_s _dispatch_queue_attr_serial_inactive;
#define DISPATCH_QUEUE_CONCURRENT_INACTIVE (&_dispatch_queue_attr_concurrent_inactive)
DISPATCH_EXPORT struct dispatch_queue_attr_s _dispatch_queue_attr_concurrent_inactive;

#define DISPATCH_TARGET_QUEUE_DEFAULT NULL
#define DISPATCH_CURRENT_QUEUE_LABEL NULL

#define DISPATCH_QUEUE_PRIORITY_HIGH 2
#define DISPATCH_QUEUE_PRIORITY_DEFAULT 0
#define DISPATCH_QUEUE_PRIORITY_LOW (-2)
#define DISPATCH_QUEUE_PRIORITY_BACKGROUND INT16_MIN

/* <sys/qos.h> on macOS.  QoS classes select a global queue; the threads
 * of all of them run at the same scheduler priority here (docs/dispatch.md). */
#ifndef QOS_CLASS_USER_INTERACTIVE
typedef unsigned int qos_class_t;
#define QOS_CLASS_USER_INTERACTIVE 0x21u
#define QOS_CLASS_USER_INITIATED 0x19u
#define QOS_CLASS_DEFAULT 0x15u
#define QOS_CLASS_UTILITY 0x11u
#define QOS_CLASS_BACKGROUND 0x09u
#define QOS_CLASS_UNSPECIFIED 0x00u
#endif
#ifndef QOS_MIN_RELATIVE_PRIORITY
#define QOS_MIN_RELATIVE_PRIORITY (-15)
#endif
typedef qos_class_t dispatch_qos_class_t;

/* An attribute for dispatch_queue_create whose queues target the global
 * queue of @qos_class (relative priorities are accepted, not ordered). */
DISPATCH_EXPORT DISPATCH_WARN_RESULT dispatch_queue_attr_t dispatch_queue_attr_make_with_qos_class(
	dispatch_queue_attr_t attr, dispatch_qos_class_t qos_class, int relative_priority);
DISPATCH_EXPORT DISPATCH_WARN_RESULT dispatch_queue_attr_t
dispatch_queue_attr_make_initially_inactive(dispatch_queue_attr_t attr);

DISPATCH_EXPORT struct dispatch_queue_s _dispatch_main_q;
#define dispatch_get_main_queue() (&_dispatch_main_q)

DISPATCH_EXPORT dispatch_queue_t dispatch_get_global_queue(intptr_t identifier, uintptr_t flags);
DISPATCH_EXPORT DISPATCH_WARN_RESULT dispatch_queue_t dispatch_queue_create(const char *label,
									     dispatch_queue_attr_t attr);
DISPATCH_EXPORT const char *dispatch_queue_get_label(dispatch_queue_t queue);
DISPATCH_EXPORT void dispatch_set_target_queue(dispatch_object_t object, dispatch_queue_t queue);
DISPATCH_EXPORT DISPATCH_NORETURN void dispatch_main(void);

#ifdef __BLOCKS__
DISPATCH_EXPORT void dispatch_async(dispatch_queue_t queue, dispatch_block_t block);
DISPATCH_EXPORT void dispatch_sync(dispatch_queue_t queue, dispatch_block_t block);
DISPATCH_EXPORT void dispatch_after(dispatch_time_t when, dispatch_queue_t queue, dispatch_block_t block);
DISPATCH_EXPORT void dispatch_barrier_async(dispatch_queue_t queue, dispatch_block_t block);
DISPATCH_EXPORT void dispatch_barrier_sync(dispatch_queue_t queue, dispatch_block_t block);
DISPATCH_EXPORT void dispatch_apply(size_t iterations, dispatch_queue_t queue, void (^block)(size_t));
#endif
DISPATCH_EXPORT void dispatch_async_f(dispatch_queue_t queue, void *context, dispatch_function_t work);
DISPATCH_EXPORT void dispatch_sync_f(dispatch_queue_t queue, void *context, dispatch_function_t work);
DISPATCH_EXPORT void dispatch_after_f(dispatch_time_t when, dispatch_queue_t queue, void *context,
				      dispatch_function_t work);
DISPATCH_EXPORT void dispatch_barrier_async_f(dispatch_queue_t queue, void *context, dispatch_function_t work);
DISPATCH_EXPORT void dispatch_barrier_sync_f(dispatch_queue_t queue, void *context, dispatch_function_t work);
DISPATCH_EXPORT void dispatch_apply_f(size_t iterations, dispatch_queue_t queue, void *context,
				      void (*work)(void *context, size_t iteration));
#define DISPATCH_APPLY_AUTO ((dispatch_queue_t)0)

/* ---- once ------------------------------------------------------------------- */

typedef intptr_t dispatch_once_t;
#ifdef __BLOCKS__
DISPATCH_EXPORT void dispatch_once(dispatch_once_t *predicate, dispatch_block_t block);
#endif
DISPATCH_EXPORT void dispatch_once_f(dispatch_once_t *predicate, void *context, dispatch_function_t function);

/* ---- groups ----------------------------------------------------------------- */

DISPATCH_EXPORT DISPATCH_WARN_RESULT dispatch_group_t dispatch_group_create(void);
#ifdef __BLOCKS__
DISPATCH_EXPORT void dispatch_group_async(dispatch_group_t group, dispatch_queue_t queue, dispatch_block_t block);
DISPATCH_EXPORT void dispatch_group_notify(dispatch_group_t group, dispatch_queue_t queue, dispatch_block_t block);
#endif
DISPATCH_EXPORT void dispatch_group_async_f(dispatch_group_t group, dispatch_queue_t queue, void *context,
					    dispatch_function_t work);
DISPATCH_EXPORT void dispatch_group_notify_f(dispatch_group_t group, dispatch_queue_t queue, void *context,
					     dispatch_function_t work);
/* Returns 0 when the group emptied, non-zero on timeout. */
DISPATCH_EXPORT intptr_t dispatch_group_wait(dispatch_group_t group, dispatch_time_t timeout);
DISPATCH_EXPORT void dispatch_group_enter(dispatch_group_t group);
DISPATCH_EXPORT void dispatch_group_leave(dispatch_group_t group);

/* ---- semaphores ------------------------------------------------------------- */

DISPATCH_EXPORT DISPATCH_WARN_RESULT dispatch_semaphore_t dispatch_semaphore_create(intptr_t value);
/* Returns 0 on success, non-zero on timeout. */
DISPATCH_EXPORT intptr_t dispatch_semaphore_wait(dispatch_semaphore_t dsema, dispatch_time_t timeout);
/* Returns non-zero when a thread was woken. */
DISPATCH_EXPORT intptr_t dispatch_semaphore_signal(dispatch_semaphore_t dsema);

/* ---- sources ---------------------------------------------------------------- */

typedef const struct dispatch_source_type_s *dispatch_source_type_t;

#define DISPATCH_SOURCE_TYPE_READ (&_dispatch_source_type_read)
DISPATCH_EXPORT const struct dispatch_source_type_s _dispatch_source_type_read;
#define DISPATCH_SOURCE_TYPE_WRITE (&_dispatch_source_type_write)
DISPATCH_EXPORT const struct dispatch_source_type_s _dispatch_source_type_write;
#define DISPATCH_SOURCE_TYPE_TIMER (&_dispatch_source_type_timer)
DISPATCH_EXPORT const struct dispatch_source_type_s _dispatch_source_type_timer;
#define DISPATCH_SOURCE_TYPE_SIGNAL (&_dispatch_source_type_signal)
DISPATCH_EXPORT const struct dispatch_source_type_s _dispatch_source_type_signal;

#define DISPATCH_TIMER_STRICT 0x1ul

DISPATCH_EXPORT DISPATCH_WARN_RESULT dispatch_source_t dispatch_source_create(dispatch_source_type_t type,
									       uintptr_t handle,
									       uintptr_t mask,
									       dispatch_queue_t queue);
#ifdef __BLOCKS__
DISPATCH_EXPORT void dispatch_source_set_event_handler(dispatch_source_t source, dispatch_block_t handler);
DISPATCH_EXPORT void dispatch_source_set_cancel_handler(dispatch_source_t source, dispatch_block_t handler);
DISPATCH_EXPORT void dispatch_source_set_registration_handler(dispatch_source_t source,
							      dispatch_block_t handler);
#endif
/* The _f handlers receive the source's context (dispatch_set_context). */
DISPATCH_EXPORT void dispatch_source_set_event_handler_f(dispatch_source_t source, dispatch_function_t handler);
DISPATCH_EXPORT void dispatch_source_set_cancel_handler_f(dispatch_source_t source, dispatch_function_t handler);
DISPATCH_EXPORT void dispatch_source_set_registration_handler_f(dispatch_source_t source,
								dispatch_function_t handler);
DISPATCH_EXPORT void dispatch_source_cancel(dispatch_source_t source);
DISPATCH_EXPORT intptr_t dispatch_source_testcancel(dispatch_source_t source);
DISPATCH_EXPORT uintptr_t dispatch_source_get_handle(dispatch_source_t source);
DISPATCH_EXPORT uintptr_t dispatch_source_get_mask(dispatch_source_t source);
DISPATCH_EXPORT uintptr_t dispatch_source_get_data(dispatch_source_t source);
DISPATCH_EXPORT void dispatch_source_set_timer(dispatch_source_t source, dispatch_time_t start,
					       uint64_t interval, uint64_t leeway);

/* ---- data (the part xpc_data_create_with_dispatch_data needs) ------------- */

#define DISPATCH_DATA_DESTRUCTOR_DEFAULT NULL
#define DISPATCH_DATA_DESTRUCTOR_FREE (_dispatch_data_destructor_free)
#ifdef __BLOCKS__
DISPATCH_EXPORT const dispatch_block_t _dispatch_data_destructor_free;
DISPATCH_EXPORT dispatch_data_t dispatch_data_create(const void *buffer, size_t size, dispatch_queue_t queue,
						     dispatch_block_t destructor);
#endif
DISPATCH_EXPORT struct dispatch_data_s _dispatch_data_empty;
#define dispatch_data_empty (&_dispatch_data_empty)
DISPATCH_EXPORT size_t dispatch_data_get_size(dispatch_data_t data);
DISPATCH_EXPORT dispatch_data_t dispatch_data_create_map(dispatch_data_t data, const void **buffer_ptr,
							 size_t *size_ptr);

DISPATCH_END_DECLS

#endif /* __DISPATCH_PUBLIC__ */
