/* SPDX-License-Identifier: MIT */
/*
 * <dispatch/base.h> - what every dispatch header shares: attribute macros,
 * the object types (DISPATCH_DECL) and the function and block types.
 *
 * Objects are plain C (or C++) pointers, never Objective-C objects, so code
 * written as `#if !OS_OBJECT_USE_OBJC dispatch_release(q); #endif` does the
 * right thing.  Include <dispatch/dispatch.h> rather than this file.
 */
#ifndef __DISPATCH_BASE__
#define __DISPATCH_BASE__

#include <stdbool.h>
#include <stdarg.h>
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
#define DISPATCH_RETURNS_RETAINED_BLOCK
#define DISPATCH_NOESCAPE __attribute__((__noescape__))
#define DISPATCH_DEPRECATED __attribute__((__deprecated__))
#define DISPATCH_EXPECT(x, v) __builtin_expect((x), (v))
#define DISPATCH_INLINE static __inline__
#define DISPATCH_ALWAYS_INLINE __attribute__((__always_inline__))
#define DISPATCH_UNAVAILABLE __attribute__((__unavailable__))
#define DISPATCH_API_VERSION 20181008

#ifndef API_AVAILABLE
#define API_AVAILABLE(...)
#endif
#ifndef OS_OBJECT_USE_OBJC
#define OS_OBJECT_USE_OBJC 0
#endif

struct timespec;

DISPATCH_BEGIN_DECLS

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
DISPATCH_DECL(dispatch_io);

/* Queue "subclasses" of newer SDKs are the same C type here (a workloop
 * is a serial queue, docs/dispatch.md). */
typedef dispatch_queue_t dispatch_queue_global_t;
typedef dispatch_queue_t dispatch_queue_main_t;
typedef dispatch_queue_t dispatch_queue_serial_t;
typedef dispatch_queue_t dispatch_queue_concurrent_t;
typedef dispatch_queue_t dispatch_workloop_t;

#ifndef __cplusplus
typedef union {
	struct dispatch_object_s *_do;
	struct dispatch_queue_s *_dq;
	struct dispatch_queue_attr_s *_dqa;
	struct dispatch_source_s *_ds;
	struct dispatch_group_s *_dg;
	struct dispatch_semaphore_s *_dsema;
	struct dispatch_data_s *_ddata;
	struct dispatch_io_s *_dchannel;
} dispatch_object_t __attribute__((__transparent_union__));
#endif

typedef void (*dispatch_function_t)(void *context);
#ifdef __BLOCKS__
typedef void (^dispatch_block_t)(void);
#endif

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

DISPATCH_END_DECLS

#endif /* __DISPATCH_BASE__ */
