/* SPDX-License-Identifier: MIT */
/*
 * internal.h - what the files of the object layer share among themselves
 * (never included outside src/object).
 *
 * The layouts here are the ones more than one file of the layer needs:
 * strings (the error dictionaries hold static ones), booleans (global),
 * dictionaries (the errors are static immutable dictionaries).  Every other
 * concrete layout stays in its own file.
 */
#ifndef XPC_OBJECT_INTERNAL_H
#define XPC_OBJECT_INTERNAL_H

#include "object/object.h"
#include "shared/hashmap.h"

/* A string: @str points at @buf, or at static text for immortal strings. */
struct _xpc_string_s {
	struct xpc_object_s base;
	size_t length; /* bytes before the NUL */
	const char *str;
	char buf[];
};

struct _xpc_bool_s {
	struct xpc_object_s base;
	bool value;
};

/* How a dictionary relates to a connection (docs/connections.md, replies). */
struct dictionary_msg {
	xpc_connection_t conn; /* retained; NULL unless received or a reply */
	uint64_t msg_id;       /* received: its frame id */
	uint64_t reply_to;     /* reply: the id it answers */
	bool received;
	bool expects_reply;
	bool is_reply;
	_Atomic bool reply_created;
};

/*
 * A dictionary.  Ordinary dictionaries keep their entries in @map (values
 * retained).  The global error objects use @fixed_key/@fixed_value instead:
 * one immutable entry, so they can live in read-only memory.
 */
struct _xpc_dictionary_s {
	struct xpc_object_s base;
	HashMap map;
	const char *fixed_key;
	xpc_object_t fixed_value;
	struct dictionary_msg msg;
	/* map's inline block, lent (hashmap_init_lent): a dictionary of up to
	 * HASHMAP_INLINE short keys is one allocation; not zeroed */
	struct hashmap_inline inl[HASHMAP_INLINE];
};

/* Statically initialised immortal object header. */
#define OBJECT_STATIC_HEADER(t) {.type = (t), .refcnt = OBJECT_IMMORTAL}

/* True when @obj is not NULL and has type @type. */
static inline bool object_is(xpc_object_t obj, xpc_type_t type)
{
	return obj && ((struct xpc_object_s *)obj)->type == type;
}

/* Aborts with "XPC API MISUSE: <message>" (programming errors Apple traps). */
__attribute__((__noreturn__, __format__(__printf__, 1, 2))) void object_misuse(const char *fmt, ...);

/* Shared by dictionary and error descriptions. */
void dictionary_describe(xpc_object_t obj, StrBuf *sb, unsigned indent);

/* Hash combination used by containers. */
static inline size_t object_hash_mix(size_t h)
{
	uint64_t x = h;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (size_t)x;
}

#endif
