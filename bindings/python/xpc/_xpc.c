/* SPDX-License-Identifier: MIT */
/*
 * _xpc.c - the `xpc._xpc` extension module: its exceptions, the value types
 * that have no plain Python equivalent, and the module functions.
 *
 * - Int64, UInt64: int subclasses that force the XPC integer type of a
 *   value; a received uint64 comes back as UInt64 (a received int64 as a
 *   plain int), so forwarding a value keeps its type.  Constructing one
 *   checks the range (OverflowError).
 * - Endpoint: holds one xpc_endpoint_t (+1); no public constructor (get one
 *   from Listener.endpoint or a message).  Equal when both name the same
 *   listener.
 * - SharedMemory: a page-rounded region with the buffer protocol.  Made by
 *   SharedMemory(size) (anonymous memory; the first send turns it into a
 *   memfd mapping, xpc_shmem_create) or received (xpc_shmem_map).  The XPC
 *   object is made once and cached, so every receiver shares the pages.
 *   close() unmaps (BufferError while memoryviews exist).
 * - FileDescriptor: owns one descriptor; what a received fd becomes when it
 *   cannot be an io.FileIO (a directory, an O_PATH descriptor).
 * - Message: a dict subclass for messages given to handlers; it keeps the
 *   received XPC dictionary (+1) for reply() and .connection.
 * - Error, ConnectionInterrupted, ConnectionInvalid, TerminationImminent:
 *   the exceptions; instances carry .reason (the invalidation reason or
 *   None) and .description (XPCErrorDescription).
 */
#include "pyxpc.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

PyObject *pyx_Error, *pyx_ConnectionInterrupted, *pyx_ConnectionInvalid, *pyx_TerminationImminent;
static PyObject *fileio_class; /* io.FileIO */

/* ---- Int64, UInt64 ------------------------------------------------------------ */

static PyObject *int_new_checked(PyTypeObject *type, PyObject *args, PyObject *kw, bool is_unsigned)
{
	PyObject *self = PyLong_Type.tp_new(type, args, kw);

	if (!self)
		return NULL;
	if (is_unsigned)
		(void)PyLong_AsUnsignedLongLong(self);
	else
		(void)PyLong_AsLongLong(self);
	if (PyErr_Occurred()) {
		Py_DECREF(self);
		PyErr_Format(PyExc_OverflowError, "%s out of range", type->tp_name);
		return NULL;
	}
	return self;
}

static PyObject *int64_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
	return int_new_checked(type, args, kw, false);
}

static PyObject *uint64_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
	return int_new_checked(type, args, kw, true);
}

static PyObject *int_repr(PyObject *self)
{
	PyObject *v = PyLong_Type.tp_repr(self);
	PyObject *r;

	if (!v)
		return NULL;
	r = PyUnicode_FromFormat("%s(%U)", Py_TYPE(self)->tp_name, v);
	Py_DECREF(v);
	return r;
}

PyTypeObject PyxInt64_Type = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "xpc.Int64",
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "An int sent as XPC int64 (OverflowError outside [-2**63, 2**63)).",
	.tp_new = int64_new,
	.tp_repr = int_repr,
};

PyTypeObject PyxUInt64_Type = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "xpc.UInt64",
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "An int sent as XPC uint64 (OverflowError outside [0, 2**64)); received uint64 "
		  "values are UInt64.",
	.tp_new = uint64_new,
	.tp_repr = int_repr,
};

/* ---- Endpoint -------------------------------------------------------------------- */

PyObject *pyx_endpoint_wrap(xpc_endpoint_t endpoint)
{
	PyxEndpoint *e = PyObject_New(PyxEndpoint, &PyxEndpoint_Type);

	if (!e)
		return NULL;
	e->endpoint = xpc_retain(endpoint);
	return (PyObject *)e;
}

static void endpoint_dealloc(PyxEndpoint *self)
{
	xpc_release(self->endpoint);
	PyObject_Free(self);
}

static PyObject *endpoint_richcompare(PyObject *a, PyObject *b, int op)
{
	bool eq;

	if (!PyObject_TypeCheck(b, &PyxEndpoint_Type) || (op != Py_EQ && op != Py_NE))
		Py_RETURN_NOTIMPLEMENTED;
	eq = xpc_equal(((PyxEndpoint *)a)->endpoint, ((PyxEndpoint *)b)->endpoint);
	return PyBool_FromLong(op == Py_EQ ? eq : !eq);
}

static Py_hash_t endpoint_hash(PyxEndpoint *self)
{
	Py_hash_t h = (Py_hash_t)xpc_hash(self->endpoint);

	return h == -1 ? -2 : h;
}

PyTypeObject PyxEndpoint_Type = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "xpc.Endpoint",
	.tp_basicsize = sizeof(PyxEndpoint),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "A capability to connect to a listener: Connection(endpoint=...); may be sent in "
		  "messages.",
	.tp_dealloc = (destructor)endpoint_dealloc,
	.tp_richcompare = endpoint_richcompare,
	.tp_hash = (hashfunc)endpoint_hash,
};

/* ---- SharedMemory ------------------------------------------------------------------ */

static PyObject *shmem_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = {"size", NULL};
	Py_ssize_t size;
	size_t page = (size_t)sysconf(_SC_PAGESIZE), len;
	PyxSharedMemory *self;
	void *addr;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "n:SharedMemory", kwlist, &size))
		return NULL;
	if (size <= 0) {
		PyErr_SetString(PyExc_ValueError, "SharedMemory size must be positive");
		return NULL;
	}
	len = ((size_t)size + page - 1) / page * page;
	addr = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (addr == MAP_FAILED)
		return PyErr_SetFromErrno(PyExc_OSError);
	self = (PyxSharedMemory *)type->tp_alloc(type, 0);
	if (!self) {
		munmap(addr, len);
		return NULL;
	}
	self->addr = addr;
	self->length = len;
	return (PyObject *)self;
}

PyObject *pyx_shmem_wrap_received(xpc_object_t shmem)
{
	PyxSharedMemory *self;
	void *addr = NULL;
	size_t len = xpc_shmem_map(shmem, &addr);

	if (!len)
		return PyErr_SetFromErrno(PyExc_OSError);
	self = (PyxSharedMemory *)PyxSharedMemory_Type.tp_alloc(&PyxSharedMemory_Type, 0);
	if (!self) {
		munmap(addr, len);
		return NULL;
	}
	self->addr = addr;
	self->length = len;
	self->shmem = xpc_retain(shmem);
	return (PyObject *)self;
}

xpc_object_t pyx_shmem_get_object(PyxSharedMemory *self)
{
	if (!self->addr) {
		PyErr_SetString(PyExc_ValueError, "SharedMemory is closed");
		return NULL;
	}
	if (!self->shmem) {
		self->shmem = xpc_shmem_create(self->addr, self->length);
		if (!self->shmem)
			return PyErr_SetFromErrno(PyExc_OSError);
	}
	return xpc_retain(self->shmem);
}

static void shmem_unmap(PyxSharedMemory *self)
{
	if (self->addr)
		munmap(self->addr, self->length);
	self->addr = NULL;
	if (self->shmem)
		xpc_release(self->shmem);
	self->shmem = NULL;
}

static void shmem_dealloc(PyxSharedMemory *self)
{
	shmem_unmap(self);
	Py_TYPE(self)->tp_free(self);
}

static int shmem_getbuffer(PyxSharedMemory *self, Py_buffer *view, int flags)
{
	if (!self->addr) {
		PyErr_SetString(PyExc_ValueError, "SharedMemory is closed");
		view->obj = NULL;
		return -1;
	}
	if (PyBuffer_FillInfo(view, (PyObject *)self, self->addr, (Py_ssize_t)self->length, 0,
			      flags) < 0)
		return -1;
	self->exports++;
	return 0;
}

static void shmem_releasebuffer(PyxSharedMemory *self, Py_buffer *view)
{
	self->exports--;
}

static PyObject *shmem_close(PyxSharedMemory *self, PyObject *unused)
{
	if (self->exports > 0) {
		PyErr_SetString(PyExc_BufferError,
				"cannot close SharedMemory: memoryviews still use it");
		return NULL;
	}
	shmem_unmap(self);
	Py_RETURN_NONE;
}

static PyObject *shmem_get_buf(PyxSharedMemory *self, void *unused)
{
	return PyMemoryView_FromObject((PyObject *)self);
}

static PyObject *shmem_get_closed(PyxSharedMemory *self, void *unused)
{
	return PyBool_FromLong(self->addr == NULL);
}

static Py_ssize_t shmem_len(PyxSharedMemory *self)
{
	return self->addr ? (Py_ssize_t)self->length : 0;
}

static PyObject *shmem_enter(PyObject *self, PyObject *unused)
{
	return Py_NewRef(self);
}

static PyObject *shmem_exit(PyxSharedMemory *self, PyObject *args)
{
	return shmem_close(self, NULL);
}

static PyMethodDef shmem_methods[] = {
	{"close", (PyCFunction)shmem_close, METH_NOARGS,
	 "Unmap the region (BufferError while memoryviews exist)."},
	{"__enter__", shmem_enter, METH_NOARGS, NULL},
	{"__exit__", (PyCFunction)shmem_exit, METH_VARARGS, NULL},
	{NULL, NULL, 0, NULL},
};

static PyGetSetDef shmem_getset[] = {
	{"buf", (getter)shmem_get_buf, NULL, "A memoryview of the region.", NULL},
	{"closed", (getter)shmem_get_closed, NULL, "True after close().", NULL},
	{NULL, NULL, NULL, NULL, NULL},
};

static PyBufferProcs shmem_as_buffer = {
	.bf_getbuffer = (getbufferproc)shmem_getbuffer,
	.bf_releasebuffer = (releasebufferproc)shmem_releasebuffer,
};

static PySequenceMethods shmem_as_sequence = {
	.sq_length = (lenfunc)shmem_len,
};

PyTypeObject PyxSharedMemory_Type = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "xpc.SharedMemory",
	.tp_basicsize = sizeof(PyxSharedMemory),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "SharedMemory(size): a region shared with every process it is sent to (XPC "
		  "shmem).\n"
		  "The size is rounded up to whole pages; the buffer protocol gives its bytes.",
	.tp_new = shmem_new,
	.tp_dealloc = (destructor)shmem_dealloc,
	.tp_methods = shmem_methods,
	.tp_getset = shmem_getset,
	.tp_as_buffer = &shmem_as_buffer,
	.tp_as_sequence = &shmem_as_sequence,
};

/* ---- FileDescriptor ------------------------------------------------------------- */

static PyObject *fd_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = {"fd", NULL};
	PyxFileDescriptor *self;
	int fd;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "i:FileDescriptor", kwlist, &fd))
		return NULL;
	if (fd < 0) {
		PyErr_SetString(PyExc_ValueError, "negative descriptor");
		return NULL;
	}
	self = (PyxFileDescriptor *)type->tp_alloc(type, 0);
	if (self)
		self->fd = fd;
	return (PyObject *)self;
}

static void fd_dealloc(PyxFileDescriptor *self)
{
	if (self->fd >= 0)
		close(self->fd);
	Py_TYPE(self)->tp_free(self);
}

static PyObject *fd_fileno(PyxFileDescriptor *self, PyObject *unused)
{
	if (self->fd < 0) {
		PyErr_SetString(PyExc_ValueError, "descriptor is closed");
		return NULL;
	}
	return PyLong_FromLong(self->fd);
}

static PyObject *fd_close(PyxFileDescriptor *self, PyObject *unused)
{
	if (self->fd >= 0)
		close(self->fd);
	self->fd = -1;
	Py_RETURN_NONE;
}

static PyObject *fd_detach(PyxFileDescriptor *self, PyObject *unused)
{
	PyObject *r = fd_fileno(self, NULL);

	if (r)
		self->fd = -1;
	return r;
}

static PyObject *fd_exit(PyxFileDescriptor *self, PyObject *args)
{
	return fd_close(self, NULL);
}

static PyObject *fd_get_closed(PyxFileDescriptor *self, void *unused)
{
	return PyBool_FromLong(self->fd < 0);
}

static PyMethodDef fd_methods[] = {
	{"fileno", (PyCFunction)fd_fileno, METH_NOARGS,
	 "The descriptor (still owned by this object)."},
	{"close", (PyCFunction)fd_close, METH_NOARGS, "Close the descriptor."},
	{"detach", (PyCFunction)fd_detach, METH_NOARGS,
	 "Return the descriptor; the caller now owns it."},
	{"__enter__", shmem_enter, METH_NOARGS, NULL},
	{"__exit__", (PyCFunction)fd_exit, METH_VARARGS, NULL},
	{NULL, NULL, 0, NULL},
};

static PyGetSetDef fd_getset[] = {
	{"closed", (getter)fd_get_closed, NULL, "True after close() or detach().", NULL},
	{NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject PyxFileDescriptor_Type = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "xpc.FileDescriptor",
	.tp_basicsize = sizeof(PyxFileDescriptor),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "FileDescriptor(fd): owns fd (closes it when collected); sent as an XPC fd.",
	.tp_new = fd_new,
	.tp_dealloc = (destructor)fd_dealloc,
	.tp_methods = fd_methods,
	.tp_getset = fd_getset,
};

/* A received descriptor as io.FileIO (mode from its access flags), or as a
 * FileDescriptor when FileIO cannot hold it.  Takes ownership of @fd. */
PyObject *pyx_fd_wrap_consume(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	struct stat st;
	const char *mode;
	PyxFileDescriptor *w;

	if (fl >= 0 && !(fl & O_PATH) && fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode)) {
		mode = (fl & O_ACCMODE) == O_RDONLY   ? "rb"
		       : (fl & O_ACCMODE) == O_WRONLY ? "wb"
						      : "r+b";
		/* FileIO closes fd itself if it fails */
		return PyObject_CallFunction(fileio_class, "is", fd, mode);
	}
	w = (PyxFileDescriptor *)PyxFileDescriptor_Type.tp_alloc(&PyxFileDescriptor_Type, 0);
	if (!w) {
		close(fd);
		return NULL;
	}
	w->fd = fd;
	return (PyObject *)w;
}

/* ---- Message -------------------------------------------------------------------- */

static PyObject *empty_args;

PyObject *pyx_message_new(xpc_object_t xmsg)
{
	PyxMessage *m = (PyxMessage *)PyxMessage_Type.tp_new(&PyxMessage_Type, empty_args, NULL);

	if (m)
		m->xmsg = xpc_retain(xmsg);
	return (PyObject *)m;
}

static void message_dealloc(PyxMessage *self)
{
	if (self->xmsg)
		xpc_release(self->xmsg);
	self->xmsg = NULL;
	PyDict_Type.tp_dealloc((PyObject *)self);
}

static PyObject *message_reply(PyxMessage *self, PyObject *args, PyObject *kw)
{
	PyObject *value = NULL;
	xpc_object_t reply;
	xpc_connection_t remote;

	if (!PyArg_ParseTuple(args, "|O:reply", &value))
		return NULL;
	reply = self->xmsg ? xpc_dictionary_create_reply(self->xmsg) : NULL;
	if (!reply) {
		PyErr_SetString(pyx_Error, "this message wants no reply, or was answered already");
		return NULL;
	}
	if ((value && value != Py_None && convert_fill_dictionary(reply, value) < 0) ||
	    (kw && convert_fill_dictionary(reply, kw) < 0)) {
		xpc_release(reply);
		return NULL;
	}
	remote = xpc_dictionary_get_remote_connection(self->xmsg);
	xpc_connection_send_message(remote, reply);
	xpc_release(reply);
	Py_RETURN_NONE;
}

static PyObject *message_get_connection(PyxMessage *self, void *unused)
{
	xpc_connection_t remote =
		self->xmsg ? xpc_dictionary_get_remote_connection(self->xmsg) : NULL;

	if (!remote)
		Py_RETURN_NONE;
	return connection_lookup(remote);
}

static PyMethodDef message_methods[] = {
	{"reply", (PyCFunction)(void (*)(void))message_reply, METH_VARARGS | METH_KEYWORDS,
	 "reply(value=None, **items): send the reply (a dict) to this message; once only."},
	{NULL, NULL, 0, NULL},
};

static PyGetSetDef message_getset[] = {
	{"connection", (getter)message_get_connection, NULL,
	 "The Connection it came from (or None).", NULL},
	{NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject PyxMessage_Type = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "xpc.Message",
	.tp_basicsize = sizeof(PyxMessage),
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
	.tp_doc = "A received message: a dict that can be answered with reply().",
	.tp_dealloc = (destructor)message_dealloc,
	.tp_methods = message_methods,
	.tp_getset = message_getset,
};

/* ---- module functions --------------------------------------------------------------- */

static PyObject *mod_dumps(PyObject *mod, PyObject *obj)
{
	xpc_object_t x = convert_to_xpc(obj);
	size_t len = 0;
	void *buf;
	PyObject *r;

	if (!x)
		return NULL;
	buf = xpc_linux_serialize(x, &len);
	xpc_release(x);
	if (!buf)
		return PyErr_SetFromErrno(errno == ENOMEM ? PyExc_MemoryError : PyExc_ValueError);
	r = PyBytes_FromStringAndSize(buf, (Py_ssize_t)len);
	free(buf);
	return r;
}

static PyObject *mod_loads(PyObject *mod, PyObject *arg)
{
	Py_buffer view;
	char *why = NULL;
	xpc_object_t x;
	PyObject *r;

	if (PyObject_GetBuffer(arg, &view, PyBUF_CONTIG_RO) < 0)
		return NULL;
	x = xpc_linux_deserialize(view.buf, (size_t)view.len, &why);
	PyBuffer_Release(&view);
	if (!x) {
		PyErr_Format(PyExc_ValueError, "not XPC bytes: %s", why ? why : "rejected");
		free(why);
		return NULL;
	}
	r = convert_from_xpc(x);
	xpc_release(x);
	return r;
}

static PyObject *mod_describe(PyObject *mod, PyObject *obj)
{
	xpc_object_t x = convert_to_xpc(obj);
	char *d;
	PyObject *r;

	if (!x)
		return NULL;
	d = xpc_copy_description(x);
	xpc_release(x);
	if (!d)
		return PyErr_NoMemory();
	r = PyUnicode_DecodeUTF8(d, (Py_ssize_t)strlen(d), "replace");
	free(d);
	return r;
}

static PyObject *mod_roundtrip(PyObject *mod, PyObject *obj)
{
	xpc_object_t x = convert_to_xpc(obj);
	PyObject *r;

	if (!x)
		return NULL;
	r = convert_from_xpc(x);
	xpc_release(x);
	return r;
}

static PyMethodDef module_methods[] = {
	{"dumps", mod_dumps, METH_O,
	 "dumps(value) -> bytes: Apple's standalone XPC serialization (no fds)."},
	{"loads", mod_loads, METH_O, "loads(bytes) -> value: the inverse of dumps."},
	{"describe", mod_describe, METH_O,
	 "describe(value) -> str: xpc_copy_description of the XPC object."},
	{"convert", mod_roundtrip, METH_O,
	 "convert(value) -> value: to an XPC object and back (no process)."},
	{"_shutdown", connection_shutdown, METH_NOARGS,
	 "Stop calling Python from libxpc threads (atexit)."},
	{NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
	PyModuleDef_HEAD_INIT,
	"xpc._xpc",
	"libxpc bindings (the C part of the xpc package).",
	-1,
	module_methods,
	NULL,
	NULL,
	NULL,
	NULL,
};

static int add_exceptions(PyObject *m)
{
	pyx_Error = PyErr_NewExceptionWithDoc(
		"xpc.Error", "An XPC error; .reason and .description.", NULL, NULL);
	if (!pyx_Error)
		return -1;
	pyx_ConnectionInterrupted = PyErr_NewExceptionWithDoc(
		"xpc.ConnectionInterrupted",
		"The service's process went away; the connection stays usable.", pyx_Error, NULL);
	pyx_ConnectionInvalid = PyErr_NewExceptionWithDoc(
		"xpc.ConnectionInvalid", "The connection is over; .reason says why.", pyx_Error,
		NULL);
	pyx_TerminationImminent = PyErr_NewExceptionWithDoc(
		"xpc.TerminationImminent", "XPC_ERROR_TERMINATION_IMMINENT.", pyx_Error, NULL);
	if (!pyx_ConnectionInterrupted || !pyx_ConnectionInvalid || !pyx_TerminationImminent)
		return -1;
	if (PyModule_AddObjectRef(m, "Error", pyx_Error) < 0 ||
	    PyModule_AddObjectRef(m, "ConnectionInterrupted", pyx_ConnectionInterrupted) < 0 ||
	    PyModule_AddObjectRef(m, "ConnectionInvalid", pyx_ConnectionInvalid) < 0 ||
	    PyModule_AddObjectRef(m, "TerminationImminent", pyx_TerminationImminent) < 0)
		return -1;
	return 0;
}

static int add_types(PyObject *m)
{
	PyTypeObject *types[] = {&PyxInt64_Type,        &PyxUInt64_Type,         &PyxEndpoint_Type,
				 &PyxSharedMemory_Type, &PyxFileDescriptor_Type, &PyxMessage_Type};
	size_t i;

	PyxInt64_Type.tp_base = &PyLong_Type;
	PyxUInt64_Type.tp_base = &PyLong_Type;
	PyxMessage_Type.tp_base = &PyDict_Type;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (PyModule_AddType(m, types[i]) < 0)
			return -1;
	return 0;
}

PyMODINIT_FUNC PyInit__xpc(void);
PyMODINIT_FUNC PyInit__xpc(void)
{
	PyObject *m = PyModule_Create(&module_def);
	PyObject *io;

	if (!m)
		return NULL;
	empty_args = PyTuple_New(0);
	io = PyImport_ImportModule("io");
	fileio_class = io ? PyObject_GetAttrString(io, "FileIO") : NULL;
	Py_XDECREF(io);
	if (!empty_args || !fileio_class || add_exceptions(m) < 0 || add_types(m) < 0 ||
	    convert_init() < 0 || connection_init(m) < 0) {
		Py_DECREF(m);
		return NULL;
	}
	return m;
}
