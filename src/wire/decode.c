/* SPDX-License-Identifier: MIT */
/*
 * decode.c - Apple's byte layout -> object graph, strictly (docs/wire.md).
 *
 * The decoder trusts nothing: every read is checked against the bytes left
 * (a Cursor never moves past its end), container lengths must match what
 * their items consumed exactly, counts must fit in the bytes left before
 * anything is allocated (every item takes at least 4 bytes), nesting stops at
 * WIRE_MAX_DEPTH, strings need their NUL at exactly the declared position
 * (CVE-2018-4248) and valid UTF-8, padding must be zero, and each descriptor
 * item needs a descriptor of its kind (a shmem a memfd sealed against
 * shrinking, an endpoint a listener channel's W: is_channel).  On any failure every object built so far is
 * released and every descriptor taken is closed (the objects own them), so
 * nothing leaks; the caller closes the descriptors left in its array.
 *
 * wire_decode_message_in() decodes a body that lies in an ObjectBuffer: data
 * items of WIRE_REF_MIN bytes or more then point into that buffer (holding
 * a reference) instead of being copied.  wire_decode_message_within() does
 * the same for a part of a buffer (an inline body in its packet's receive
 * buffer) from WIRE_REF_INLINE_MIN bytes on.  Either way every byte is
 * checked before an object points at it, and the caller guarantees that
 * nobody writes into the buffer while a reference is held.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "object/object.h"
#include "shared/assert.h"
#include "shared/fdutil.h"
#include "wire/wire.h"

typedef struct Cursor {
	const uint8_t *p;
	const uint8_t *end;
	int *fds;
	size_t n_fds;
	size_t next_fd;
	unsigned depth;
	ObjectBuffer *backing; /* the input lies in it, or NULL */
	size_t ref_min;        /* data items this long or longer point into it */
} Cursor;

static size_t left(const Cursor *c)
{
	return (size_t)(c->end - c->p);
}

static int get_u32(Cursor *c, uint32_t *ret)
{
	if (left(c) < 4)
		return WIRE_E_TRUNCATED;
	uint32_t v;
	memcpy(&v, c->p, sizeof(v)); /* one load: the wire is little-endian */
	*ret = le32toh(v);
	c->p += 4;
	return 0;
}

static int get_u64(Cursor *c, uint64_t *ret)
{
	uint32_t lo, hi;
	int r = get_u32(c, &lo);

	if (r || (r = get_u32(c, &hi)))
		return r;
	*ret = (uint64_t)hi << 32 | lo;
	return 0;
}

/* Takes @n bytes plus zero padding to 4; *ret points at the bytes. */
static int get_bytes(Cursor *c, size_t n, const uint8_t **ret)
{
	size_t pad = (4 - (n & 3)) & 3;

	if (left(c) < n || left(c) - n < pad)
		return WIRE_E_TRUNCATED;
	for (size_t i = 0; i < pad; i++)
		if (c->p[n + i])
			return WIRE_E_BAD_PADDING;
	*ret = c->p;
	c->p += n + pad;
	return 0;
}

static bool utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t b = s[i];
		size_t len;
		uint32_t cp;
		if (b < 0x80) {
			i++;
			continue;
		}
		if (b >= 0xc2 && b <= 0xdf)
			len = 2, cp = b & 0x1f;
		else if (b >= 0xe0 && b <= 0xef)
			len = 3, cp = b & 0x0f;
		else if (b >= 0xf0 && b <= 0xf4)
			len = 4, cp = b & 0x07;
		else
			return false;
		if (n - i < len)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		i += len;
	}
	return true;
}

/* A NUL-terminated UTF-8 run of @n bytes including the NUL. */
static int check_cstring(const uint8_t *s, size_t n)
{
	return wire_check_string(s, n);
}

int wire_check_string(const void *str, size_t n)
{
	const uint8_t *s = str;

	if (n == 0 || s[n - 1] != 0 || memchr(s, 0, n - 1))
		return WIRE_E_BAD_STRING;
	return utf8_valid(s, n - 1) ? 0 : WIRE_E_BAD_UTF8;
}

static int take_fd(Cursor *c, int *ret)
{
	if (c->next_fd >= c->n_fds || c->fds[c->next_fd] < 0)
		return WIRE_E_NO_FD;
	*ret = c->fds[c->next_fd];
	c->fds[c->next_fd++] = -1;
	return 0;
}

static int decode_object(Cursor *c, xpc_object_t *ret);

static int decode_string(Cursor *c, xpc_object_t *ret)
{
	const uint8_t *s;
	uint32_t len;
	int r;

	if ((r = get_u32(c, &len)) || (r = get_bytes(c, len, &s)) || (r = check_cstring(s, len)))
		return r;
	*ret = xpc_string_create((const char *)s);
	return *ret ? 0 : -ENOMEM;
}

static int decode_data(Cursor *c, xpc_object_t *ret)
{
	const uint8_t *s;
	uint32_t len;
	int r;

	if ((r = get_u32(c, &len)) || (r = get_bytes(c, len, &s)))
		return r;
	if (c->backing && len >= c->ref_min)
		*ret = data_object_create_in_buffer(c->backing, s, len);
	else
		*ret = xpc_data_create(s, len);
	return *ret ? 0 : -ENOMEM;
}

/*
 * An endpoint must be a listener channel's W: an AF_UNIX SOCK_SEQPACKET
 * socket made by socketpair(), whose peer (R) was never bound to a name:
 * it has no address, or the kernel's autobind one ("\0" and 5 hex
 * digits, given to a socket that sends with SO_PASSCRED; W itself gets
 * one at its first check-in).  Connecting with an endpoint sends a
 * check-in stating this process's credentials and carrying a link it
 * made; anything else a peer passes as an endpoint (a socket it connected
 * to another daemon's listening socket, a datagram socket, a pipe) would
 * make this process write that into a socket of the sender's choosing, as
 * itself (docs/security.md, "Endpoints between users").  A W whose
 * listener is gone, or an unconnected socket, passes: its check-in fails.
 */
static bool is_autobind(const struct sockaddr_un *sa, socklen_t len)
{
	if (len != sizeof(sa_family_t) + 6 || sa->sun_path[0] != 0)
		return false;
	for (int i = 1; i < 6; i++)
		if (!strchr("0123456789abcdef", sa->sun_path[i]) || !sa->sun_path[i])
			return false;
	return true;
}

static bool is_channel(int fd)
{
	struct sockaddr_un sa;
	socklen_t len = sizeof(int);
	int domain, type, listening;

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 || domain != AF_UNIX ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_SEQPACKET ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 || listening)
		return false;
	len = sizeof(sa);
	if (getpeername(fd, (struct sockaddr *)&sa, &len) < 0)
		return errno == ENOTCONN;
	return len <= sizeof(sa_family_t) || is_autobind(&sa, len);
}

static int decode_shmem(Cursor *c, xpc_object_t *ret)
{
	uint32_t size, zero;
	struct stat st;
	int fd, r, seals;

	if ((r = get_u32(c, &size)) || (r = get_u32(c, &zero)))
		return r;
	if (zero != 0)
		return WIRE_E_BAD_VALUE;
	if ((r = take_fd(c, &fd)))
		return r;
	/* a memfd sealed against shrinking (xpc_shmem_create): one its sender
	 * could truncate under the receiver's mapping would be a SIGBUS */
	seals = fcntl(fd, F_GET_SEALS);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size < size || size == 0 || seals < 0 ||
	    !(seals & F_SEAL_SHRINK)) {
		fd_close(fd);
		return WIRE_E_BAD_VALUE;
	}
	*ret = shmem_object_create_consume(fd, size);
	return *ret ? 0 : -ENOMEM;
}

/* The body of a container: @len bytes must hold exactly @count items. */
static int open_body(Cursor *c, Cursor *body, uint32_t *ret_count)
{
	uint32_t len;
	int r;

	if ((r = get_u32(c, &len)))
		return r;
	if (len < 4 || len > left(c) || (len & 3))
		return len > left(c) ? WIRE_E_TRUNCATED : WIRE_E_BAD_LENGTH;
	*body = *c;
	body->end = c->p + len;
	c->p += len;
	if ((r = get_u32(body, ret_count)))
		return r;
	/* every item takes at least 4 bytes (a dictionary entry at least 8) */
	if (*ret_count > left(body) / 4)
		return WIRE_E_TOO_MANY;
	if (++body->depth > WIRE_MAX_DEPTH)
		return WIRE_E_TOO_DEEP;
	return 0;
}

/* The container consumed its descriptors through @body: hand the position
 * back to the parent cursor. */
static int close_body(Cursor *c, const Cursor *body)
{
	c->next_fd = body->next_fd;
	return body->p == body->end ? 0 : WIRE_E_BAD_LENGTH;
}

static int decode_array(Cursor *c, xpc_object_t *ret)
{
	Cursor body;
	uint32_t count;
	xpc_object_t arr, item;
	int r = open_body(c, &body, &count);

	if (r)
		return r;
	arr = xpc_array_create_empty();
	if (!arr)
		return -ENOMEM;
	for (uint32_t i = 0; i < count && r == 0; i++) {
		if ((r = decode_object(&body, &item)) == 0 && array_append_consume(arr, item) < 0)
			r = -ENOMEM;
	}
	c->next_fd = body.next_fd;
	if (r == 0)
		r = close_body(c, &body);
	if (r)
		xpc_release(arr);
	else
		*ret = arr;
	return r;
}

static int decode_entry(Cursor *body, xpc_object_t dict)
{
	const uint8_t *key = body->p, *nul;
	xpc_object_t value;
	size_t n;
	int r;

	nul = memchr(key, 0, left(body));
	if (!nul)
		return WIRE_E_BAD_STRING;
	n = (size_t)(nul - key) + 1;
	/* the first NUL ends the key: only its UTF-8 is left to check */
	if ((r = get_bytes(body, n, &key)))
		return r;
	if (!utf8_valid(key, n - 1))
		return WIRE_E_BAD_UTF8;
	if ((r = decode_object(body, &value)))
		return r;
	r = dictionary_add_new(dict, (const char *)key, value); /* consumes value */
	if (r == -EEXIST)
		return WIRE_E_BAD_VALUE; /* duplicate key */
	return r < 0 ? -ENOMEM : 0;
}

static int decode_dictionary(Cursor *c, xpc_object_t *ret)
{
	Cursor body;
	uint32_t count;
	xpc_object_t dict;
	int r = open_body(c, &body, &count);

	if (r)
		return r;
	dict = dictionary_create_for(count);
	if (!dict)
		return -ENOMEM;
	for (uint32_t i = 0; i < count && r == 0; i++)
		r = decode_entry(&body, dict);
	c->next_fd = body.next_fd;
	if (r == 0)
		r = close_body(c, &body);
	if (r)
		xpc_release(dict);
	else
		*ret = dict;
	return r;
}

static int decode_bool(Cursor *c, xpc_object_t *ret)
{
	uint32_t b;
	int r;

	if ((r = get_u32(c, &b)))
		return r;
	if (b > 1)
		return WIRE_E_BAD_VALUE;
	*ret = xpc_bool_create(b);
	return 0;
}

/* int64, uint64, double and date: eight bytes each. */
static int decode_scalar(Cursor *c, uint32_t tag, xpc_object_t *ret)
{
	uint64_t v = 0;
	double d;
	int r;

	if ((r = get_u64(c, &v)))
		return r;
	switch (tag) {
	case OBJECT_TAG_INT64:
		*ret = xpc_int64_create((int64_t)v);
		break;
	case OBJECT_TAG_UINT64:
		*ret = xpc_uint64_create(v);
		break;
	case OBJECT_TAG_DATE:
		*ret = xpc_date_create((int64_t)v);
		break;
	default:
		memcpy(&d, &v, sizeof(d));
		*ret = xpc_double_create(d);
	}
	return *ret ? 0 : -ENOMEM;
}

static int decode_uuid(Cursor *c, xpc_object_t *ret)
{
	const uint8_t *bytes;
	int r;

	if ((r = get_bytes(c, 16, &bytes)))
		return r;
	*ret = xpc_uuid_create(bytes);
	return *ret ? 0 : -ENOMEM;
}

/* An fd or an endpoint (only in messages: c->fds is set). */
static int decode_descriptor(Cursor *c, uint32_t tag, xpc_object_t *ret)
{
	int fd, r;

	if ((r = take_fd(c, &fd)))
		return r;
	if (tag == OBJECT_TAG_ENDPOINT && !is_channel(fd)) {
		fd_close(fd);
		return WIRE_E_BAD_VALUE;
	}
	*ret = tag == OBJECT_TAG_FD ? fd_object_create_consume(fd) : endpoint_object_create_consume(fd);
	return *ret ? 0 : -ENOMEM;
}

/* One item: a switch on the tag (the types' wire_tag constants). */
static int decode_object(Cursor *c, xpc_object_t *ret)
{
	uint32_t tag;
	int r;

	if ((r = get_u32(c, &tag)))
		return r;
	switch (tag) {
	case OBJECT_TAG_DICTIONARY:
		return decode_dictionary(c, ret);
	case OBJECT_TAG_ARRAY:
		return decode_array(c, ret);
	case OBJECT_TAG_STRING:
		return decode_string(c, ret);
	case OBJECT_TAG_DATA:
		return decode_data(c, ret);
	case OBJECT_TAG_NULL:
		*ret = xpc_null_create();
		return 0;
	case OBJECT_TAG_BOOL:
		return decode_bool(c, ret);
	case OBJECT_TAG_INT64:
	case OBJECT_TAG_UINT64:
	case OBJECT_TAG_DOUBLE:
	case OBJECT_TAG_DATE:
		return decode_scalar(c, tag, ret);
	case OBJECT_TAG_UUID:
		return decode_uuid(c, ret);
	case OBJECT_TAG_SHMEM:
		return c->fds ? decode_shmem(c, ret) : WIRE_E_BAD_TAG;
	case OBJECT_TAG_FD:
	case OBJECT_TAG_ENDPOINT:
		return c->fds ? decode_descriptor(c, tag, ret) : WIRE_E_BAD_TAG;
	default:
		return WIRE_E_BAD_TAG;
	}
}

static int decode_root(const void *data, size_t len, uint32_t magic, int *fds, size_t n_fds, ObjectBuffer *backing,
		       size_t ref_min, xpc_object_t *ret)
{
	Cursor c = {.p = data, .end = (const uint8_t *)data + len, .fds = fds, .n_fds = n_fds, .backing = backing,
		    .ref_min = ref_min};
	uint32_t m, version;
	xpc_object_t obj = NULL;
	int r;

	if (!data || (r = get_u32(&c, &m)) || (r = get_u32(&c, &version)))
		return WIRE_E_TRUNCATED;
	if (m != magic)
		return WIRE_E_BAD_MAGIC;
	if (version != WIRE_VERSION)
		return WIRE_E_BAD_VERSION;
	if (fds && (left(&c) < 4 || c.p[0] != 0x00 || c.p[1] != 0xf0 || c.p[2] || c.p[3]))
		return left(&c) < 4 ? WIRE_E_TRUNCATED : WIRE_E_NOT_DICTIONARY;
	if ((r = decode_object(&c, &obj)))
		return r;
	if (c.p != c.end) {
		xpc_release(obj);
		return WIRE_E_TRAILING;
	}
	*ret = obj;
	return 0;
}

int wire_decode_message(const void *data, size_t len, int *fds, size_t n_fds, xpc_object_t *ret_dict)
{
	static int no_fds[1] = {-1};

	/* fds non-NULL marks a message: descriptor items allowed, root a dictionary */
	return decode_root(data, len, WIRE_MESSAGE_MAGIC, fds ? fds : no_fds, fds ? n_fds : 0, NULL, SIZE_MAX,
			   ret_dict);
}

int wire_decode_message_in(ObjectBuffer *b, int *fds, size_t n_fds, xpc_object_t *ret_dict)
{
	static int no_fds[1] = {-1};

	return decode_root(object_buffer_bytes(b), object_buffer_length(b), WIRE_MESSAGE_MAGIC, fds ? fds : no_fds,
			   fds ? n_fds : 0, b, WIRE_REF_MIN, ret_dict);
}

int wire_decode_message_within(ObjectBuffer *b, const void *data, size_t len, int *fds, size_t n_fds,
			       xpc_object_t *ret_dict)
{
	static int no_fds[1] = {-1};
	const uint8_t *start = object_buffer_bytes(b), *p = data;

	/* the body must lie inside the buffer: the objects point into it */
	xpc_assert(p >= start && len <= object_buffer_length(b) && (size_t)(p - start) <= object_buffer_length(b) - len);
	return decode_root(data, len, WIRE_MESSAGE_MAGIC, fds ? fds : no_fds, fds ? n_fds : 0, b, WIRE_REF_INLINE_MIN,
			   ret_dict);
}

int wire_decode_object(const void *data, size_t len, xpc_object_t *ret_obj)
{
	return decode_root(data, len, WIRE_OBJECT_MAGIC, NULL, 0, NULL, SIZE_MAX, ret_obj);
}

const char *wire_strerror(int err)
{
	static const char *const text[] = {
		[WIRE_E_TRUNCATED] = "truncated: a length or count runs past the end",
		[WIRE_E_BAD_MAGIC] = "bad magic",
		[WIRE_E_BAD_VERSION] = "unsupported version",
		[WIRE_E_BAD_TAG] = "unknown or unsendable type tag",
		[WIRE_E_BAD_LENGTH] = "container length disagrees with its contents",
		[WIRE_E_BAD_STRING] = "string NUL not at its declared length",
		[WIRE_E_BAD_UTF8] = "string is not valid UTF-8",
		[WIRE_E_BAD_PADDING] = "non-zero padding",
		[WIRE_E_BAD_VALUE] = "invalid value (bool not 0/1, duplicate key, bad shared memory)",
		[WIRE_E_TOO_DEEP] = "containers nested too deep",
		[WIRE_E_TOO_MANY] = "more entries than the bytes can hold",
		[WIRE_E_NO_FD] = "descriptor item without a descriptor",
		[WIRE_E_TRAILING] = "bytes after the root object",
		[WIRE_E_NOT_DICTIONARY] = "message root is not a dictionary",
		[WIRE_E_UNSERIALIZABLE] = "object cannot be serialized (connection, error, or descriptor here)",
		[WIRE_E_TOO_BIG] = "object too large for 32-bit lengths",
	};

	if (err == -ENOMEM)
		return "out of memory";
	if (err < 0)
		return strerror(-err);
	if (err > 0 && (size_t)err < sizeof(text) / sizeof(text[0]) && text[err])
		return text[err];
	return err == 0 ? "success" : "unknown wire error";
}
