/* SPDX-License-Identifier: MIT */
/*
 * <xpc/base.h> - macros shared by the XPC headers.
 *
 * Apple's base.h defines availability and attribute macros; programs rarely
 * use them directly, but some do (XPC_EXPORT, XPC_NONNULL1, ...), so the
 * common ones exist here with the same names.  XPC_LINUX_EXTENSION marks a
 * declaration that Apple's headers do not have.
 */
#ifndef __XPC_BASE_H__
#define __XPC_BASE_H__

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define __XPC_BEGIN_DECLS extern "C" {
#define __XPC_END_DECLS }
#else
#define __XPC_BEGIN_DECLS
#define __XPC_END_DECLS
#endif

#define XPC_EXPORT extern __attribute__((visibility("default")))
#define XPC_NOEXPORT __attribute__((visibility("hidden")))
#define XPC_WARN_RESULT __attribute__((__warn_unused_result__))
#define XPC_MALLOC __attribute__((__malloc__))
#define XPC_NORETURN __attribute__((__noreturn__))
#define XPC_NONNULL1 __attribute__((__nonnull__(1)))
#define XPC_NONNULL2 __attribute__((__nonnull__(2)))
#define XPC_NONNULL3 __attribute__((__nonnull__(3)))
#define XPC_NONNULL4 __attribute__((__nonnull__(4)))
#define XPC_NONNULL5 __attribute__((__nonnull__(5)))
#define XPC_NONNULL6 __attribute__((__nonnull__(6)))
#define XPC_NONNULL7 __attribute__((__nonnull__(7)))
#define XPC_NONNULL8 __attribute__((__nonnull__(8)))
#define XPC_NONNULL9 __attribute__((__nonnull__(9)))
#define XPC_NONNULL10 __attribute__((__nonnull__(10)))
#define XPC_NONNULL11 __attribute__((__nonnull__(11)))
#define XPC_NONNULL_ALL __attribute__((__nonnull__))
#define XPC_NOTHROW __attribute__((__nothrow__))
#define XPC_SENTINEL __attribute__((__sentinel__))
#define XPC_PURE __attribute__((__pure__))
#define XPC_USED __attribute__((__used__))
#define XPC_PACKED __attribute__((__packed__))
#define XPC_NOINLINE __attribute__((__noinline__))
#define XPC_CONSTRUCTOR __attribute__((__constructor__))
#define XPC_NOIMPL __attribute__((__unavailable__))
#define XPC_UNAVAILABLE(m) __attribute__((__unavailable__(m)))
#define XPC_WEAKIMPORT extern __attribute__((__weak__))
#define XPC_TRANSPARENT_UNION __attribute__((__transparent_union__))
#ifdef __has_attribute
#if __has_attribute(noescape)
#define XPC_NOESCAPE __attribute__((__noescape__))
#endif
#endif
#ifndef XPC_NOESCAPE
#define XPC_NOESCAPE
#endif
/* Objects are plain C pointers here (no Objective-C, no ARC): the ownership
 * and bridging annotations of Apple's headers expand to nothing. */
#define XPC_RETURNS_RETAINED
#define XPC_GIVES_REFERENCE
#define XPC_UNRETAINED
#define XPC_BRIDGE(xo) (xo)
#define XPC_BRIDGEREF_BEGIN(xo) (xo)
#define XPC_BRIDGEREF_BEGIN_WITH_REF(xo) (xo)
#define XPC_BRIDGEREF_MIDDLE(xo) (xo)
#define XPC_BRIDGEREF_END(xo) (xo)
#define XPC_INLINE static __inline__ __attribute__((__always_inline__))
#define XPC_UNUSED __attribute__((__unused__))
#define XPC_DEPRECATED(m) __attribute__((__deprecated__(m)))
#define XPC_PRINTF(fmt, args) __attribute__((__format__(__printf__, fmt, args)))

/* Availability annotations are accepted and ignored on Linux. */
#define XPC_AVAILABLE(...)
#define __XPC_IOS_SIMULATOR_AVAILABLE(...)
#define XPC_SWIFT_NOEXPORT
#define XPC_SWIFT_UNAVAILABLE(...)
#define XPC_TRANSACTION_DEPRECATED
#ifndef API_AVAILABLE
#define API_AVAILABLE(...)
#endif
#ifndef API_UNAVAILABLE
#define API_UNAVAILABLE(...)
#endif
#ifndef __OSX_AVAILABLE_STARTING
#define __OSX_AVAILABLE_STARTING(...)
#endif
#ifndef __OSX_AVAILABLE
#define __OSX_AVAILABLE(...)
#endif
#ifndef __IOS_AVAILABLE
#define __IOS_AVAILABLE(...)
#endif
#ifndef __TVOS_AVAILABLE
#define __TVOS_AVAILABLE(...)
#endif
#ifndef __WATCHOS_AVAILABLE
#define __WATCHOS_AVAILABLE(...)
#endif
#ifndef __API_AVAILABLE
#define __API_AVAILABLE(...)
#endif

/* Nullability qualifiers are clang keywords; gcc has none of them. */
#if !defined(__clang__)
#ifndef _Nonnull
#define _Nonnull
#endif
#ifndef _Nullable
#define _Nullable
#endif
#ifndef _Null_unspecified
#define _Null_unspecified
#endif
#endif
#define XPC_ASSUME_NONNULL_BEGIN
#define XPC_ASSUME_NONNULL_END
#define XPC_NONNULL_ARRAY

/* Newer names of Apple's base.h (macOS 14+ SDK), so headers written against
 * it compile.  Swift, bounds-safety (-fbounds-safety) and Objective-C do not
 * apply here: their annotations expand to nothing, forges to plain casts. */
#ifndef XPC_CONCAT
#define XPC_CONCAT(_A, _B) XPC_CONCAT_(_A, _B)
#define XPC_CONCAT_(_A, _B) _A##_B
#endif
#define XPC_SWIFT_NAME(_name)
#define XPC_SWIFT_SENDABLE
#define XPC_ALLOC_SIZE(...) XPC_MALLOC __attribute__((__alloc_size__(__VA_ARGS__)))
#define XPC_RETURNS_ALIGNED(_n) __attribute__((__assume_aligned__(_n)))
#define XPC_RETURNS_NONNULL __attribute__((__returns_nonnull__))
#define XPC_READ_NONE __attribute__((__const__))
#define XPC_DIAGNOSE_AS(_builtin, ...)
#define XPC_ABORTLIKE __attribute__((__noreturn__, __cold__))
#define XPC_CONST const
#define XPC_NOCONST
#define XPC_DEBUGGER_EXCL XPC_NOEXPORT XPC_USED
#define XPC_PTR_ASSUMES_SINGLE
#define XPC_SINGLE
#define XPC_UNSAFE_INDEXABLE
#define XPC_CSTRING
#define XPC_SIZEDBY(_n)
#define XPC_COUNTEDBY(_n)
#define XPC_UNSAFE_FORGE_SIZED_BY(_type, _ptr, _size) ((_type)(_ptr))
#define XPC_UNSAFE_FORGE_SINGLE(_type, _ptr) ((_type)(_ptr))

/*
 * XPC_FLAGS_ENUM / XPC_ENUM(name, type, constants...): Apple's os/base.h
 * makes `name_t` an enum with the fixed underlying type (a C23 / C++11 /
 * clang extension).  Here `name_t` is a typedef of @type and the constants
 * an anonymous enum, which is plain C99 and C++98 (-Wpedantic clean) and
 * gives the same values and the same argument type.
 */
#define XPC_FLAGS_ENUM(_name, _type, ...) \
	typedef _type _name##_t;          \
	enum { __VA_ARGS__ }
#define XPC_ENUM(_name, _type, ...) \
	typedef _type _name##_t;    \
	enum { __VA_ARGS__ }

/* Marks a Linux extension: not in Apple's headers. */
#define XPC_LINUX_EXTENSION

#endif /* __XPC_BASE_H__ */
