/* SPDX-License-Identifier: MIT */
/*
 * convert.c - Python values to XPC objects and back.
 *
 *   Python                        XPC               back in Python
 *   dict (str keys)               dictionary        dict (Message at a handler)
 *   list, tuple                   array             list
 *   str                           string            str
 *   bytes, bytearray, buffers     data              bytes
 *   bool                          bool              bool
 *   int in [-2**63, 2**63)        int64             int
 *   int in [2**63, 2**64)         uint64            xpc.UInt64 (an int)
 *   xpc.Int64(n) / xpc.UInt64(n)  int64 / uint64    int / xpc.UInt64
 *   float                         double            float
 *   None                          null              None
 *   uuid.UUID                     uuid              uuid.UUID
 *   datetime.datetime             date (ns, UTC)    datetime (aware, UTC, us)
 *   object with fileno()          fd (duplicated)   io.FileIO (owning a dup)
 *   xpc.SharedMemory              shmem             xpc.SharedMemory (a mapping)
 *   xpc.Endpoint                  endpoint          xpc.Endpoint
 *
 * Strings and keys are UTF-8 with surrogateescape both ways (so bytes a C
 * peer sent that are not UTF-8 come back unchanged); a NUL inside is refused
 * (XPC strings are C strings).  A naive datetime is taken as UTC; received
 * dates lose what is below the microsecond.  Nesting deeper than
 * PYX_MAX_DEPTH (a cycle, too) is refused with ValueError.  Any other type
 * raises TypeError.  Python code (fileno(), UUID.bytes) may run while a
 * value is converted; containers are walked by index / PyDict_Next with
 * references held, so a callback that mutates them cannot crash us.
 */
#include "pyxpc.h"

#include <datetime.h>
#include <limits.h>
#include <string.h>

static PyObject *uuid_class;  /* uuid.UUID */
static PyObject *epoch_utc;   /* datetime(1970, 1, 1, tzinfo=timezone.utc) */
static PyObject *epoch_naive; /* datetime(1970, 1, 1) */
static PyObject *str_bytes, *str_fileno;
static PyObject *empty_tuple;

int convert_init(void)
{
	PyObject *mod;

	PyDateTime_IMPORT;
	if (!PyDateTimeAPI)
		return -1;
	mod = PyImport_ImportModule("uuid");
	if (!mod)
		return -1;
	uuid_class = PyObject_GetAttrString(mod, "UUID");
	Py_DECREF(mod);
	if (!uuid_class)
		return -1;
	epoch_utc = PyDateTimeAPI->DateTime_FromDateAndTime(
		1970, 1, 1, 0, 0, 0, 0, PyDateTime_TimeZone_UTC, PyDateTimeAPI->DateTimeType);
	epoch_naive = PyDateTime_FromDateAndTime(1970, 1, 1, 0, 0, 0, 0);
	str_bytes = PyUnicode_InternFromString("bytes");
	str_fileno = PyUnicode_InternFromString("fileno");
	empty_tuple = PyTuple_New(0);
	if (!epoch_utc || !epoch_naive || !str_bytes || !str_fileno || !empty_tuple)
		return -1;
	return 0;
}

static xpc_object_t nomem_if_null(xpc_object_t x)
{
	if (!x)
		PyErr_NoMemory();
	return x;
}

/* ---- Python -> XPC ------------------------------------------------------- */

static xpc_object_t to_xpc(PyObject *o, int depth);

/* UTF-8 of a str without a NUL inside; *tmp holds what owns the bytes (or
 * NULL when the str's own cache does). */
static const char *utf8_of(PyObject *s, Py_ssize_t *ret_len, PyObject **tmp)
{
	const char *p = PyUnicode_AsUTF8AndSize(s, ret_len);

	*tmp = NULL;
	if (!p) {
		if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError))
			return NULL;
		PyErr_Clear();
		*tmp = PyUnicode_AsEncodedString(s, "utf-8", "surrogateescape");
		if (!*tmp)
			return NULL;
		p = PyBytes_AS_STRING(*tmp);
		*ret_len = PyBytes_GET_SIZE(*tmp);
	}
	if ((Py_ssize_t)strlen(p) != *ret_len) {
		Py_CLEAR(*tmp);
		PyErr_SetString(PyExc_ValueError,
				"XPC strings and keys cannot hold a NUL character");
		return NULL;
	}
	return p;
}

static xpc_object_t str_to_xpc(PyObject *o)
{
	PyObject *tmp;
	Py_ssize_t n;
	const char *s = utf8_of(o, &n, &tmp);
	xpc_object_t x;

	if (!s)
		return NULL;
	x = nomem_if_null(xpc_string_create(s));
	Py_XDECREF(tmp);
	return x;
}

/* int64 when it fits, else uint64, else OverflowError. */
static xpc_object_t int_to_xpc(PyObject *o)
{
	int overflow;
	long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
	unsigned long long u;

	if (v == -1 && PyErr_Occurred())
		return NULL;
	if (!overflow)
		return nomem_if_null(xpc_int64_create(v));
	if (overflow > 0) {
		u = PyLong_AsUnsignedLongLong(o);
		if (u == (unsigned long long)-1 && PyErr_Occurred()) {
			PyErr_SetString(PyExc_OverflowError, "int above 2**64-1 has no XPC type");
			return NULL;
		}
		return nomem_if_null(xpc_uint64_create(u));
	}
	PyErr_SetString(PyExc_OverflowError, "int below -2**63 has no XPC type");
	return NULL;
}

static xpc_object_t int64_to_xpc(PyObject *o)
{
	long long v = PyLong_AsLongLong(o);

	if (v == -1 && PyErr_Occurred())
		return NULL;
	return nomem_if_null(xpc_int64_create(v));
}

static xpc_object_t uint64_to_xpc(PyObject *o)
{
	unsigned long long v = PyLong_AsUnsignedLongLong(o);

	if (v == (unsigned long long)-1 && PyErr_Occurred())
		return NULL;
	return nomem_if_null(xpc_uint64_create(v));
}

static xpc_object_t buffer_to_xpc(PyObject *o)
{
	Py_buffer view;
	xpc_object_t x;

	if (PyObject_GetBuffer(o, &view, PyBUF_CONTIG_RO) < 0)
		return NULL;
	x = nomem_if_null(xpc_data_create(view.len ? view.buf : "", (size_t)view.len));
	PyBuffer_Release(&view);
	return x;
}

static xpc_object_t list_to_xpc(PyObject *o, int depth)
{
	xpc_object_t arr = nomem_if_null(xpc_array_create_empty());
	Py_ssize_t i;

	for (i = 0; arr && i < PySequence_Fast_GET_SIZE(o); i++) {
		PyObject *item = PySequence_Fast_GET_ITEM(o, i);
		xpc_object_t x;

		Py_INCREF(item);
		x = to_xpc(item, depth + 1);
		Py_DECREF(item);
		if (!x) {
			xpc_release(arr);
			return NULL;
		}
		xpc_array_append_value(arr, x);
		xpc_release(x);
	}
	return arr;
}

/* Sets key -> converted value into @xdict; 0 or -1. */
static int dict_set(xpc_object_t xdict, PyObject *key, PyObject *value, int depth)
{
	PyObject *tmp;
	Py_ssize_t n;
	const char *k;
	xpc_object_t x;

	if (!PyUnicode_Check(key)) {
		PyErr_Format(PyExc_TypeError, "XPC dictionary keys are str, not %.100s",
			     Py_TYPE(key)->tp_name);
		return -1;
	}
	x = to_xpc(value, depth + 1);
	if (!x)
		return -1;
	k = utf8_of(key, &n, &tmp);
	if (k)
		xpc_dictionary_set_value(xdict, k, x);
	xpc_release(x);
	Py_XDECREF(tmp);
	return k ? 0 : -1;
}

static int fill_dictionary(xpc_object_t xdict, PyObject *d, int depth)
{
	Py_ssize_t pos = 0;
	PyObject *key, *value;

	while (PyDict_Next(d, &pos, &key, &value)) {
		int r;

		Py_INCREF(key);
		Py_INCREF(value);
		r = dict_set(xdict, key, value, depth);
		Py_DECREF(key);
		Py_DECREF(value);
		if (r < 0)
			return -1;
	}
	return 0;
}

static xpc_object_t dict_to_xpc(PyObject *o, int depth)
{
	xpc_object_t d = nomem_if_null(xpc_dictionary_create_empty());

	if (d && fill_dictionary(d, o, depth) < 0) {
		xpc_release(d);
		return NULL;
	}
	return d;
}

/* ns since 1970 of a datetime; a naive one is taken as UTC. */
static xpc_object_t datetime_to_xpc(PyObject *o)
{
	PyObject *tz = PyDateTime_DATE_GET_TZINFO(o);
	PyObject *delta = PyNumber_Subtract(o, tz == Py_None ? epoch_naive : epoch_utc);
	int64_t us, ns;

	if (!delta)
		return NULL;
	if (!PyDelta_Check(delta)) {
		Py_DECREF(delta);
		PyErr_SetString(PyExc_TypeError, "datetime subtraction did not give a timedelta");
		return NULL;
	}
	us = ((int64_t)PyDateTime_DELTA_GET_DAYS(delta) * 86400 +
	      PyDateTime_DELTA_GET_SECONDS(delta)) *
		     1000000 +
	     PyDateTime_DELTA_GET_MICROSECONDS(delta);
	Py_DECREF(delta);
	if (__builtin_mul_overflow(us, 1000, &ns)) {
		PyErr_SetString(PyExc_OverflowError,
				"datetime outside the XPC date range (years 1678-2261)");
		return NULL;
	}
	return nomem_if_null(xpc_date_create(ns));
}

static xpc_object_t uuid_to_xpc(PyObject *o)
{
	PyObject *b = PyObject_GetAttr(o, str_bytes);
	xpc_object_t x = NULL;

	if (!b)
		return NULL;
	if (PyBytes_Check(b) && PyBytes_GET_SIZE(b) == 16)
		x = nomem_if_null(xpc_uuid_create((const unsigned char *)PyBytes_AS_STRING(b)));
	else
		PyErr_SetString(PyExc_TypeError, "UUID.bytes is not 16 bytes");
	Py_DECREF(b);
	return x;
}

static xpc_object_t fd_to_xpc(int fd)
{
	xpc_object_t x;

	if (fd < 0) {
		PyErr_SetString(PyExc_ValueError, "descriptor is closed");
		return NULL;
	}
	x = xpc_fd_create(fd);
	if (!x)
		PyErr_SetFromErrno(PyExc_OSError);
	return x;
}

static xpc_object_t fileno_to_xpc(PyObject *o)
{
	PyObject *r = PyObject_CallMethodNoArgs(o, str_fileno);

	if (!r)
		return NULL;
	long fd = PyLong_Check(r) ? PyLong_AsLong(r) : -2;

	Py_DECREF(r);
	if (fd == -1 && PyErr_Occurred())
		return NULL;
	if (fd < -1 || fd > INT_MAX) {
		PyErr_SetString(PyExc_TypeError, "fileno() did not return a descriptor");
		return NULL;
	}
	return fd_to_xpc((int)fd);
}

/* 1 when @o has @name, 0 when not, -1 on another error. */
static int has_attr(PyObject *o, PyObject *name)
{
	PyObject *v = PyObject_GetAttr(o, name);

	if (v) {
		Py_DECREF(v);
		return 1;
	}
	if (!PyErr_ExceptionMatches(PyExc_AttributeError))
		return -1;
	PyErr_Clear();
	return 0;
}

/* The less common types, after the fast checks of to_xpc. */
static xpc_object_t other_to_xpc(PyObject *o)
{
	int r;

	if (PyObject_TypeCheck(o, &PyxUInt64_Type))
		return uint64_to_xpc(o);
	if (PyObject_TypeCheck(o, &PyxInt64_Type))
		return int64_to_xpc(o);
	if (PyLong_Check(o))
		return int_to_xpc(o);
	if (PyObject_TypeCheck(o, &PyxEndpoint_Type))
		return xpc_retain(((PyxEndpoint *)o)->endpoint);
	if (PyObject_TypeCheck(o, &PyxSharedMemory_Type))
		return pyx_shmem_get_object((PyxSharedMemory *)o);
	if (PyObject_TypeCheck(o, &PyxFileDescriptor_Type))
		return fd_to_xpc(((PyxFileDescriptor *)o)->fd);
	if (PyDateTime_Check(o))
		return datetime_to_xpc(o);
	r = PyObject_IsInstance(o, uuid_class);
	if (r < 0)
		return NULL;
	if (r)
		return uuid_to_xpc(o);
	if (PyObject_CheckBuffer(o))
		return buffer_to_xpc(o);
	r = has_attr(o, str_fileno);
	if (r < 0)
		return NULL;
	if (r)
		return fileno_to_xpc(o);
	PyErr_Format(PyExc_TypeError, "no XPC type for %.100s", Py_TYPE(o)->tp_name);
	return NULL;
}

static xpc_object_t to_xpc(PyObject *o, int depth)
{
	xpc_object_t x;

	if (PyUnicode_CheckExact(o))
		return str_to_xpc(o);
	if (PyLong_CheckExact(o))
		return int_to_xpc(o);
	if (o == Py_True || o == Py_False)
		return xpc_bool_create(o == Py_True);
	if (o == Py_None)
		return xpc_null_create();
	if (PyFloat_Check(o))
		return nomem_if_null(xpc_double_create(PyFloat_AS_DOUBLE(o)));
	if (PyBytes_Check(o))
		return nomem_if_null(
			xpc_data_create(PyBytes_AS_STRING(o), (size_t)PyBytes_GET_SIZE(o)));
	if (PyUnicode_Check(o))
		return str_to_xpc(o);
	if (!PyDict_Check(o) && !PyList_Check(o) && !PyTuple_Check(o))
		return other_to_xpc(o);
	if (depth >= PYX_MAX_DEPTH) {
		PyErr_Format(PyExc_ValueError, "containers nested deeper than %d (a cycle?)",
			     PYX_MAX_DEPTH);
		return NULL;
	}
	if (Py_EnterRecursiveCall(" converting to XPC"))
		return NULL;
	x = PyDict_Check(o) ? dict_to_xpc(o, depth) : list_to_xpc(o, depth);
	Py_LeaveRecursiveCall();
	return x;
}

xpc_object_t convert_to_xpc(PyObject *obj)
{
	return to_xpc(obj, 0);
}

xpc_object_t convert_message_to_xpc(PyObject *mapping)
{
	if (!PyDict_Check(mapping)) {
		PyErr_Format(PyExc_TypeError, "an XPC message is a dict, not %.100s",
			     Py_TYPE(mapping)->tp_name);
		return NULL;
	}
	return dict_to_xpc(mapping, 0);
}

int convert_fill_dictionary(xpc_object_t xdict, PyObject *mapping)
{
	if (!PyDict_Check(mapping)) {
		PyErr_Format(PyExc_TypeError, "an XPC message is a dict, not %.100s",
			     Py_TYPE(mapping)->tp_name);
		return -1;
	}
	return fill_dictionary(xdict, mapping, 0);
}

/* ---- XPC -> Python --------------------------------------------------------- */

static PyObject *string_from_xpc(xpc_object_t x)
{
	return PyUnicode_DecodeUTF8(xpc_string_get_string_ptr(x),
				    (Py_ssize_t)xpc_string_get_length(x), "surrogateescape");
}

static PyObject *uint64_from_xpc(xpc_object_t x)
{
	PyObject *v = PyLong_FromUnsignedLongLong(xpc_uint64_get_value(x));
	PyObject *r;

	if (!v)
		return NULL;
	r = PyObject_CallOneArg((PyObject *)&PyxUInt64_Type, v);
	Py_DECREF(v);
	return r;
}

/* Floor division that rounds toward minus infinity. */
static int64_t floor_div(int64_t a, int64_t b, int64_t *ret_rem)
{
	int64_t q = a / b, r = a % b;

	if (r < 0) {
		q--;
		r += b;
	}
	*ret_rem = r;
	return q;
}

static PyObject *date_from_xpc(xpc_object_t x)
{
	int64_t rem, us, secs, days;
	PyObject *delta, *r;

	us = floor_div(xpc_date_get_value(x), 1000, &rem);
	secs = floor_div(us, 1000000, &us);
	days = floor_div(secs, 86400, &secs);
	delta = PyDelta_FromDSU((int)days, (int)secs, (int)us);
	if (!delta)
		return NULL;
	r = PyNumber_Add(epoch_utc, delta);
	Py_DECREF(delta);
	return r;
}

static PyObject *uuid_from_xpc(xpc_object_t x)
{
	PyObject *kw, *b, *r = NULL;

	b = PyBytes_FromStringAndSize((const char *)xpc_uuid_get_bytes(x), 16);
	kw = b ? PyDict_New() : NULL;
	if (kw && PyDict_SetItem(kw, str_bytes, b) == 0)
		r = PyObject_Call(uuid_class, empty_tuple, kw);
	Py_XDECREF(b);
	Py_XDECREF(kw);
	return r;
}

static PyObject *data_from_xpc(xpc_object_t x)
{
	size_t n = xpc_data_get_length(x);
	const void *p = xpc_data_get_bytes_ptr(x);

	return PyBytes_FromStringAndSize(n ? p : "", (Py_ssize_t)n);
}

static PyObject *fd_from_xpc(xpc_object_t x)
{
	int fd = xpc_fd_dup(x);

	if (fd < 0)
		return PyErr_SetFromErrno(PyExc_OSError);
	return pyx_fd_wrap_consume(fd);
}

struct apply_ctx {
	PyObject *target;
	bool failed;
};

static bool array_applier(void *context, size_t index, xpc_object_t value)
{
	struct apply_ctx *a = context;
	PyObject *v = convert_from_xpc(value);

	if (!v) {
		a->failed = true;
		return false;
	}
	PyList_SET_ITEM(a->target, (Py_ssize_t)index, v);
	return true;
}

static PyObject *array_from_xpc(xpc_object_t x)
{
	struct apply_ctx a = {PyList_New((Py_ssize_t)xpc_array_get_count(x)), false};

	if (!a.target)
		return NULL;
	xpc_array_apply_f(x, &a, array_applier);
	if (a.failed)
		Py_CLEAR(a.target);
	return a.target;
}

static bool dict_applier(void *context, const char *key, xpc_object_t value)
{
	struct apply_ctx *a = context;
	PyObject *k = PyUnicode_DecodeUTF8(key, (Py_ssize_t)strlen(key), "surrogateescape");
	PyObject *v = k ? convert_from_xpc(value) : NULL;
	int r = v ? PyDict_SetItem(a->target, k, v) : -1;

	Py_XDECREF(k);
	Py_XDECREF(v);
	if (r < 0)
		a->failed = true;
	return r == 0;
}

int convert_dictionary_into(PyObject *dict, xpc_object_t xdict)
{
	struct apply_ctx a = {dict, false};

	xpc_dictionary_apply_f(xdict, &a, dict_applier);
	return a.failed ? -1 : 0;
}

static PyObject *dictionary_from_xpc(xpc_object_t x)
{
	PyObject *d = PyDict_New();

	if (d && convert_dictionary_into(d, x) < 0)
		Py_CLEAR(d);
	return d;
}

static PyObject *rare_from_xpc(xpc_object_t x, xpc_type_t t)
{
	if (t == XPC_TYPE_UUID)
		return uuid_from_xpc(x);
	if (t == XPC_TYPE_DATE)
		return date_from_xpc(x);
	if (t == XPC_TYPE_FD)
		return fd_from_xpc(x);
	if (t == XPC_TYPE_SHMEM)
		return pyx_shmem_wrap_received(x);
	if (t == XPC_TYPE_ENDPOINT)
		return pyx_endpoint_wrap(x);
	if (t == XPC_TYPE_ERROR)
		return connection_error_new(x, NULL);
	if (t == XPC_TYPE_CONNECTION)
		return connection_lookup(x);
	PyErr_Format(PyExc_TypeError, "XPC type %s has no Python value", xpc_type_get_name(t));
	return NULL;
}

PyObject *convert_from_xpc(xpc_object_t x)
{
	xpc_type_t t = xpc_get_type(x);
	PyObject *r;

	if (t == XPC_TYPE_STRING)
		return string_from_xpc(x);
	if (t == XPC_TYPE_INT64)
		return PyLong_FromLongLong(xpc_int64_get_value(x));
	if (t == XPC_TYPE_DATA)
		return data_from_xpc(x);
	if (t == XPC_TYPE_BOOL)
		return Py_NewRef(xpc_bool_get_value(x) ? Py_True : Py_False);
	if (t == XPC_TYPE_NULL)
		return Py_NewRef(Py_None);
	if (t == XPC_TYPE_DOUBLE)
		return PyFloat_FromDouble(xpc_double_get_value(x));
	if (t == XPC_TYPE_UINT64)
		return uint64_from_xpc(x);
	if (t != XPC_TYPE_DICTIONARY && t != XPC_TYPE_ARRAY)
		return rare_from_xpc(x, t);
	if (Py_EnterRecursiveCall(" converting from XPC"))
		return NULL;
	r = t == XPC_TYPE_DICTIONARY ? dictionary_from_xpc(x) : array_from_xpc(x);
	Py_LeaveRecursiveCall();
	return r;
}
