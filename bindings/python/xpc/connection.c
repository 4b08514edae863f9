/* SPDX-License-Identifier: MIT */
/*
 * connection.c - xpc.Connection and xpc.Listener: XPC connections driven
 * from Python.
 *
 * Threads and the GIL.  libxpc calls the event, reply and barrier handlers
 * on its dispatch worker threads.  Each of them enters Python through
 * gil_enter(): the first time on a thread it makes a thread state that then
 * stays with the thread (a PyGILState counter left at 1), so later calls
 * only take the GIL; a pthread key destructor drops that state when the
 * worker exits (workers idle for 5 s do).  After interpreter shutdown has
 * begun (atexit calls _shutdown) handlers return without touching Python.
 * Blocking calls (request(), activation, cancel) release the GIL; send()
 * keeps it (it never blocks: libxpc queues what the socket cannot take).
 *
 * Lifetimes.  Every connection this module makes carries a ConnCtx as its
 * libxpc context; the ctx lives exactly as long as the XPC connection (the
 * connection's finalizer frees it) and is only read or written with the GIL.
 * It points back to the Python object (`owner`, borrowed; NULL once that is
 * gone) and holds the Python handlers.  While a connection is activated and
 * has a handler, the ctx keeps its Python object alive (`keep`) until the
 * final XPC_ERROR_CONNECTION_INVALID has been delivered, as libxpc keeps an
 * activated connection until then: a connection with handlers must be
 * cancelled (or fail) to go away.  A Python object that goes away (no
 * handler, or after the end) cancels its connection.  Since the Python
 * object holds a reference to the connection, the finalizer only runs after
 * the object is gone and everything Python in the ctx was cleared: it needs
 * no GIL.
 *
 * A listener in serve mode (Listener(handler)) gives each new peer the same
 * handlers and resumes it; with on_peer, the callback gets the inactive
 * peer, which it sets up and resumes (or drops: dropping cancels it).
 * A handler's non-None return value answers the message when it wants a
 * reply.  Exceptions in handlers go to sys.unraisablehook.
 */
#include "pyxpc.h"

#include <pthread.h>
#include <stdatomic.h>

#define CTX_MAGIC 0x7079786fu

struct ConnCtx {
	uint32_t magic;
	xpc_connection_t conn; /* borrowed: the ctx dies with the connection */
	PyObject *owner;       /* borrowed Connection/Listener; NULL once it is gone */
	PyObject *keep;        /* owner, while activated with handlers, until the end */
	PyObject *on_message;  /* Connection: messages; Listener: on_peer */
	PyObject *on_error;
	PyObject *serve;       /* Listener: every peer's message handler */
	PyObject *serve_error; /* Listener: every peer's error handler */
	bool activated, cancelled, finished;
};

typedef struct {
	PyObject *callback; /* callback(result), or NULL for a future */
	PyObject *loop, *future;
	xpc_connection_t conn; /* +1: the reason of an INVALID reply */
} ReplyCtx;

static atomic_bool shutting_down;
static pthread_key_t thread_key;
static __thread ConnCtx *tls_in_handler; /* the ctx whose event handler runs on this thread */
static PyObject *get_running_loop, *resolve_fn;
static PyObject *str_create_future, *str_call_soon_threadsafe;

/* ---- the GIL on libxpc's threads ---------------------------------------- */

static bool python_gone(void)
{
	return atomic_load_explicit(&shutting_down, memory_order_acquire) || _Py_IsFinalizing();
}

/* Takes the GIL on any thread; false when Python is shutting down. */
static bool gil_enter(PyGILState_STATE *ret)
{
	if (python_gone())
		return false;
	if (!PyGILState_GetThisThreadState()) {
		/* a thread state kept by this thread (counter 1), dropped at exit */
		PyGILState_Ensure();
		pthread_setspecific(thread_key, PyThreadState_Get());
		PyEval_SaveThread();
	}
	*ret = PyGILState_Ensure();
	return true;
}

static void gil_leave(PyGILState_STATE st)
{
	PyGILState_Release(st);
}

/* pthread key destructor: a worker exits; delete its thread state.  (glibc
 * has already cleared PyGILState's own key here, so the state is ours.) */
static void thread_state_drop(void *tstate)
{
	if (python_gone())
		return;
	PyEval_RestoreThread(tstate);
	PyThreadState_Clear(tstate);
	PyThreadState_DeleteCurrent(); /* releases the GIL */
}

PyObject *connection_shutdown(PyObject *module, PyObject *unused)
{
	atomic_store_explicit(&shutting_down, true, memory_order_release);
	Py_RETURN_NONE;
}

/* ---- errors ------------------------------------------------------------------ */

static PyObject *error_class(xpc_object_t error)
{
	if (error == XPC_ERROR_CONNECTION_INVALID)
		return pyx_ConnectionInvalid;
	if (error == XPC_ERROR_CONNECTION_INTERRUPTED)
		return pyx_ConnectionInterrupted;
	if (error == XPC_ERROR_TERMINATION_IMMINENT)
		return pyx_TerminationImminent;
	return pyx_Error;
}

PyObject *connection_error_new(xpc_object_t error, xpc_connection_t conn)
{
	PyObject *cls = error_class(error), *exc, *reason_obj, *desc_obj;
	const char *desc = xpc_dictionary_get_string(error, XPC_ERROR_KEY_DESCRIPTION);
	char *reason = conn && cls == pyx_ConnectionInvalid
			       ? xpc_connection_copy_invalidation_reason(conn)
			       : NULL;

	if (!desc)
		desc = "XPC error";
	exc = reason ? PyObject_CallFunction(cls, "s", reason)
		     : PyObject_CallFunction(cls, "s", desc);
	reason_obj = reason ? PyUnicode_DecodeUTF8(reason, (Py_ssize_t)strlen(reason), "replace")
			    : Py_NewRef(Py_None);
	desc_obj = PyUnicode_FromString(desc);
	free(reason);
	if (!exc || !reason_obj || !desc_obj ||
	    PyObject_SetAttrString(exc, "reason", reason_obj) < 0 ||
	    PyObject_SetAttrString(exc, "description", desc_obj) < 0)
		Py_CLEAR(exc);
	Py_XDECREF(reason_obj);
	Py_XDECREF(desc_obj);
	return exc;
}

/* The pending exception as an object (for callbacks that take a result). */
static PyObject *fetch_exception(void)
{
	PyObject *type, *value, *tb;

	PyErr_Fetch(&type, &value, &tb);
	PyErr_NormalizeException(&type, &value, &tb);
	if (tb && value)
		PyException_SetTraceback(value, tb);
	Py_XDECREF(type);
	Py_XDECREF(tb);
	return value ? value : Py_NewRef(Py_None);
}

/* ---- the context -------------------------------------------------------------- */

static void ctx_clear_handlers(ConnCtx *ctx)
{
	Py_CLEAR(ctx->on_message);
	Py_CLEAR(ctx->on_error);
	Py_CLEAR(ctx->serve);
	Py_CLEAR(ctx->serve_error);
}

static bool ctx_has_handlers(ConnCtx *ctx)
{
	return ctx->on_message || ctx->on_error || ctx->serve || ctx->serve_error;
}

/* Keeps the owner alive while the connection may still call its handlers. */
static void ctx_update_keep(ConnCtx *ctx)
{
	if (!ctx->keep && ctx->owner && ctx->activated && !ctx->cancelled && !ctx->finished &&
	    ctx_has_handlers(ctx))
		ctx->keep = Py_NewRef(ctx->owner);
}

static void ctx_finalize(void *context)
{
	free(context); /* everything Python in it was cleared with the owner */
}

PyObject *connection_lookup(xpc_connection_t conn)
{
	ConnCtx *ctx = xpc_connection_get_context(conn);

	if (ctx && ctx->magic == CTX_MAGIC && ctx->owner)
		return Py_NewRef(ctx->owner);
	Py_RETURN_NONE;
}

/* ---- events ---------------------------------------------------------------------- */

static void call_handler(PyObject *fn, PyObject *arg, PyObject **ret)
{
	PyObject *r = PyObject_CallOneArg(fn, arg);

	if (!r)
		PyErr_WriteUnraisable(fn);
	if (ret)
		*ret = r;
	else
		Py_XDECREF(r);
}

/* A handler returned @value for @msg: answer it when a reply is wanted. */
static void answer_with(ConnCtx *ctx, xpc_object_t msg, PyObject *value)
{
	xpc_object_t reply = xpc_dictionary_create_reply(msg);

	if (!reply)
		return; /* no reply wanted, or answered by msg.reply() */
	if (convert_fill_dictionary(reply, value) < 0)
		PyErr_WriteUnraisable(ctx->on_message);
	else
		xpc_connection_send_message(ctx->conn, reply);
	xpc_release(reply);
}

static void event_message(ConnCtx *ctx, xpc_object_t ev)
{
	PyObject *fn = ctx->on_message, *msg, *r = NULL;

	if (!fn || ctx->finished)
		return;
	Py_INCREF(fn);
	msg = pyx_message_new(ev);
	if (!msg || convert_dictionary_into(msg, ev) < 0) {
		PyErr_WriteUnraisable(fn);
		Py_XDECREF(msg);
		Py_DECREF(fn);
		return;
	}
	call_handler(fn, msg, &r);
	if (r && r != Py_None)
		answer_with(ctx, ev, r);
	Py_XDECREF(r);
	Py_DECREF(msg);
	Py_DECREF(fn);
}

static PyxConnection *connection_wrap(PyTypeObject *type, xpc_connection_t conn);
static int connection_start(PyxConnection *self, bool resume);

static void event_peer(ConnCtx *ctx, xpc_connection_t peer)
{
	PyxConnection *p;

	if (ctx->finished || (!ctx->serve && !ctx->serve_error && !ctx->on_message)) {
		xpc_connection_cancel(peer); /* nobody takes it */
		return;
	}
	p = connection_wrap(&PyxConnection_Type, xpc_retain(peer));
	if (!p) {
		PyErr_WriteUnraisable(ctx->owner);
		return;
	}
	if (ctx->serve || ctx->serve_error) {
		Py_XINCREF(ctx->serve);
		Py_XINCREF(ctx->serve_error);
		p->ctx->on_message = ctx->serve;
		p->ctx->on_error = ctx->serve_error;
		connection_start(p, true);
	} else {
		call_handler(ctx->on_message, (PyObject *)p, NULL);
	}
	Py_DECREF(p); /* kept by its ctx if resumed with handlers; else cancelled */
}

static void event_error(ConnCtx *ctx, xpc_object_t ev)
{
	PyObject *fn = ctx->on_error, *exc;

	if (fn && !ctx->finished) {
		Py_INCREF(fn);
		exc = connection_error_new(ev, ctx->conn);
		if (exc)
			call_handler(fn, exc, NULL);
		else
			PyErr_WriteUnraisable(fn);
		Py_XDECREF(exc);
		Py_DECREF(fn);
	}
	if (ev == XPC_ERROR_CONNECTION_INVALID) { /* the last event */
		ctx->finished = true;
		ctx_clear_handlers(ctx);
		Py_CLEAR(ctx->keep); /* may free the owner; ctx stays until the finalizer */
	}
}

/* xpc_handler_f of every connection this module makes. */
static void connection_on_event(void *context, xpc_object_t ev)
{
	ConnCtx *ctx = context, *outer = tls_in_handler;
	xpc_type_t t = xpc_get_type(ev);
	PyGILState_STATE st;

	if (!ctx || !gil_enter(&st))
		return;
	tls_in_handler = ctx;
	if (t == XPC_TYPE_DICTIONARY)
		event_message(ctx, ev);
	else if (t == XPC_TYPE_CONNECTION)
		event_peer(ctx, (xpc_connection_t)ev);
	else if (t == XPC_TYPE_ERROR)
		event_error(ctx, ev);
	tls_in_handler = outer;
	gil_leave(st);
}

/* ---- replies ------------------------------------------------------------------------- */

static PyObject *reply_to_python(xpc_object_t reply, xpc_connection_t conn)
{
	PyObject *r;

	if (xpc_get_type(reply) == XPC_TYPE_ERROR)
		return connection_error_new(reply, conn);
	r = PyDict_New();
	if (r && convert_dictionary_into(r, reply) < 0)
		Py_CLEAR(r);
	return r;
}

static void reply_deliver(ReplyCtx *rc, PyObject *result)
{
	PyObject *r;

	if (!rc->future) {
		call_handler(rc->callback, result, NULL);
		return;
	}
	r = PyObject_CallMethodObjArgs(rc->loop, str_call_soon_threadsafe, resolve_fn, rc->future,
				       result, NULL);
	if (!r)
		PyErr_WriteUnraisable(rc->loop); /* the loop is closed: nobody waits */
	Py_XDECREF(r);
}

static void reply_done(void *context, xpc_object_t reply)
{
	ReplyCtx *rc = context;
	PyGILState_STATE st;
	PyObject *result;

	if (gil_enter(&st)) {
		result = reply_to_python(reply, rc->conn);
		if (!result)
			result = fetch_exception();
		reply_deliver(rc, result);
		Py_DECREF(result);
		Py_XDECREF(rc->callback);
		Py_XDECREF(rc->loop);
		Py_XDECREF(rc->future);
		gil_leave(st);
	}
	xpc_release(rc->conn);
	free(rc);
}

/* resolve(future, result): in the loop's thread, from call_soon_threadsafe. */
static PyObject *resolve(PyObject *unused, PyObject *const *args, Py_ssize_t nargs)
{
	PyObject *done, *r;
	int is_done;

	if (nargs != 2) {
		PyErr_SetString(PyExc_TypeError, "resolve(future, result)");
		return NULL;
	}
	done = PyObject_CallMethod(args[0], "done", NULL);
	if (!done)
		return NULL;
	is_done = PyObject_IsTrue(done);
	Py_DECREF(done);
	if (is_done)
		Py_RETURN_NONE; /* cancelled meanwhile */
	if (PyExceptionInstance_Check(args[1]))
		r = PyObject_CallMethod(args[0], "set_exception", "O", args[1]);
	else
		r = PyObject_CallMethod(args[0], "set_result", "O", args[1]);
	return r;
}

static PyMethodDef resolve_def = {"_resolve", (PyCFunction)(void (*)(void))resolve, METH_FASTCALL,
				  NULL};

/* ---- the Python object ------------------------------------------------------------ */

/* A new Python object for @conn (consumed: +1 given to the object). */
static PyxConnection *connection_wrap(PyTypeObject *type, xpc_connection_t conn)
{
	PyxConnection *self;
	ConnCtx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx || !conn) {
		free(ctx);
		if (conn) {
			xpc_connection_cancel(conn);
			xpc_release(conn);
		}
		return (PyxConnection *)PyErr_NoMemory();
	}
	self = (PyxConnection *)type->tp_alloc(type, 0);
	if (!self) {
		free(ctx);
		xpc_connection_cancel(conn);
		xpc_release(conn);
		return NULL;
	}
	ctx->magic = CTX_MAGIC;
	ctx->conn = conn;
	ctx->owner = (PyObject *)self;
	self->conn = conn;
	self->ctx = ctx;
	xpc_connection_set_context(conn, ctx);
	xpc_connection_set_finalizer_f(conn, ctx_finalize);
	xpc_connection_set_event_handler_f(conn, connection_on_event);
	return self;
}

/* Activates (resume: resume, which also balances a suspend). */
static int connection_start(PyxConnection *self, bool resume)
{
	ConnCtx *ctx = self->ctx;
	xpc_connection_t c = self->conn;

	if (!ctx->activated && !ctx->cancelled) {
		ctx->activated = true;
		ctx_update_keep(ctx);
	}
	Py_BEGIN_ALLOW_THREADS if (resume) xpc_connection_resume(c);
	else xpc_connection_activate(c);
	Py_END_ALLOW_THREADS return 0;
}

static void connection_dealloc(PyxConnection *self)
{
	xpc_connection_t c = self->conn;

	PyObject_GC_UnTrack(self);
	if (self->weakrefs)
		PyObject_ClearWeakRefs((PyObject *)self);
	if (self->ctx) {
		self->ctx->owner = NULL;
		self->ctx->cancelled = true;
		ctx_clear_handlers(self->ctx);
	}
	Py_CLEAR(self->endpoint);
	if (c) { /* neither call blocks; the GIL stays (tp_dealloc) */
		xpc_connection_cancel(c);
		xpc_release(c); /* may free the ctx (finalizer) */
	}
	Py_TYPE(self)->tp_free(self);
}

static int connection_traverse(PyxConnection *self, visitproc visit, void *arg)
{
	if (self->ctx) {
		Py_VISIT(self->ctx->on_message);
		Py_VISIT(self->ctx->on_error);
		Py_VISIT(self->ctx->serve);
		Py_VISIT(self->ctx->serve_error);
	}
	Py_VISIT(self->endpoint);
	return 0;
}

static int connection_clear(PyxConnection *self)
{
	if (self->ctx)
		ctx_clear_handlers(self->ctx);
	Py_CLEAR(self->endpoint);
	return 0;
}

/* Stores a handler argument: None clears it; else it must be callable. */
static int set_callable(PyObject **slot, PyObject *fn, const char *what)
{
	if (fn && fn != Py_None && !PyCallable_Check(fn)) {
		PyErr_Format(PyExc_TypeError, "%s must be callable", what);
		return -1;
	}
	Py_XINCREF(fn == Py_None ? NULL : fn);
	Py_XSETREF(*slot, fn == Py_None ? NULL : fn);
	return 0;
}

/* ---- methods shared by Connection and Listener ---------------------------------------- */

static PyObject *m_activate(PyxConnection *self, PyObject *unused)
{
	connection_start(self, false);
	Py_RETURN_NONE;
}

static PyObject *m_resume(PyxConnection *self, PyObject *unused)
{
	connection_start(self, true);
	Py_RETURN_NONE;
}

static PyObject *m_suspend(PyxConnection *self, PyObject *unused)
{
	Py_BEGIN_ALLOW_THREADS xpc_connection_suspend(self->conn);
	Py_END_ALLOW_THREADS Py_RETURN_NONE;
}

static PyObject *m_cancel(PyxConnection *self, PyObject *unused)
{
	self->ctx->cancelled = true;
	Py_BEGIN_ALLOW_THREADS xpc_connection_cancel(self->conn);
	Py_END_ALLOW_THREADS Py_RETURN_NONE;
}

static PyObject *m_enter(PyObject *self, PyObject *unused)
{
	return Py_NewRef(self);
}

static PyObject *m_exit(PyxConnection *self, PyObject *args)
{
	return m_cancel(self, NULL);
}

static PyObject *g_name(PyxConnection *self, void *unused)
{
	const char *n = xpc_connection_get_name(self->conn);

	if (!n)
		Py_RETURN_NONE;
	return PyUnicode_FromString(n);
}

static PyObject *g_pid(PyxConnection *self, void *unused)
{
	return PyLong_FromLong(xpc_connection_get_pid(self->conn));
}

static PyObject *g_euid(PyxConnection *self, void *unused)
{
	return PyLong_FromUnsignedLong(xpc_connection_get_euid(self->conn));
}

static PyObject *g_egid(PyxConnection *self, void *unused)
{
	return PyLong_FromUnsignedLong(xpc_connection_get_egid(self->conn));
}

static PyObject *g_asid(PyxConnection *self, void *unused)
{
	return PyLong_FromLong(xpc_connection_get_asid(self->conn));
}

static PyObject *g_pidfd(PyxConnection *self, void *unused)
{
	return PyLong_FromLong(xpc_linux_connection_get_pidfd(self->conn));
}

static PyObject *g_reason(PyxConnection *self, void *unused)
{
	char *r = xpc_connection_copy_invalidation_reason(self->conn);
	PyObject *s;

	if (!r)
		Py_RETURN_NONE;
	s = PyUnicode_DecodeUTF8(r, (Py_ssize_t)strlen(r), "replace");
	free(r);
	return s;
}

/* clang-format off */
#define COMMON_METHODS \
	{"activate", (PyCFunction)m_activate, METH_NOARGS, "Start the connection (once)."}, \
	{"resume", (PyCFunction)m_resume, METH_NOARGS, "Start it, or undo one suspend()."}, \
	{"suspend", (PyCFunction)m_suspend, METH_NOARGS, "Hold back events until resume()."}, \
	{"cancel", (PyCFunction)m_cancel, METH_NOARGS, \
	 "End the connection; the error handler gets ConnectionInvalid last."}, \
	{"__enter__", m_enter, METH_NOARGS, NULL}, \
	{"__exit__", (PyCFunction)m_exit, METH_VARARGS, "cancel()"}

#define COMMON_GETSET \
	{"name", (getter)g_name, NULL, "The service name, or None.", NULL}, \
	{"pid", (getter)g_pid, NULL, "The peer's pid (0 before it is known).", NULL}, \
	{"euid", (getter)g_euid, NULL, "The peer's effective uid.", NULL}, \
	{"egid", (getter)g_egid, NULL, "The peer's effective gid.", NULL}, \
	{"asid", (getter)g_asid, NULL, "The peer's session id.", NULL}, \
	{"pidfd", (getter)g_pidfd, NULL, "A pidfd of the peer (borrowed; -1 if none).", NULL}, \
	{"invalidation_reason", (getter)g_reason, NULL, "Why the connection ended, or None.", NULL}
/* clang-format on */

/* ---- Connection ---------------------------------------------------------------------------- */

static PyObject *conn_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = {"name",     "endpoint", "privileged", "on_message",
				 "on_error", "activate", NULL};
	const char *name = NULL;
	PyObject *ep = NULL, *on_message = NULL, *on_error = NULL;
	int privileged = 0, activate = 1;
	xpc_connection_t c;
	PyxConnection *self;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "|z$OpOOp:Connection", kwlist, &name, &ep,
					 &privileged, &on_message, &on_error, &activate))
		return NULL;
	if (ep == Py_None)
		ep = NULL;
	if (!name == !ep || (ep && !PyObject_TypeCheck(ep, &PyxEndpoint_Type))) {
		PyErr_SetString(PyExc_TypeError,
				"Connection needs a service name or an endpoint=xpc.Endpoint");
		return NULL;
	}
	if (name)
		c = xpc_connection_create_mach_service(
			name, NULL, privileged ? XPC_CONNECTION_MACH_SERVICE_PRIVILEGED : 0);
	else
		c = xpc_connection_create_from_endpoint(((PyxEndpoint *)ep)->endpoint);
	self = connection_wrap(type, c);
	if (!self)
		return NULL;
	if (set_callable(&self->ctx->on_message, on_message, "on_message") < 0 ||
	    set_callable(&self->ctx->on_error, on_error, "on_error") < 0) {
		Py_DECREF(self);
		return NULL;
	}
	if (activate)
		connection_start(self, false);
	return (PyObject *)self;
}

static PyObject *conn_set_event_handler(PyxConnection *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = {"on_message", "on_error", NULL};
	PyObject *on_message = Py_None, *on_error = Py_None;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "|OO:set_event_handler", kwlist, &on_message,
					 &on_error))
		return NULL;
	if (set_callable(&self->ctx->on_message, on_message, "on_message") < 0 ||
	    set_callable(&self->ctx->on_error, on_error, "on_error") < 0)
		return NULL;
	ctx_update_keep(self->ctx);
	Py_RETURN_NONE;
}

static PyObject *conn_send(PyxConnection *self, PyObject *msg)
{
	xpc_object_t x = convert_message_to_xpc(msg);

	if (!x)
		return NULL;
	xpc_connection_send_message(self->conn, x);
	xpc_release(x);
	Py_RETURN_NONE;
}

/* Sends @msg with a reply context; the ctx's references are taken here. */
static PyObject *send_with_reply_ctx(PyxConnection *self, PyObject *msg, PyObject *callback,
				     PyObject *loop, PyObject *future)
{
	xpc_object_t x = convert_message_to_xpc(msg);
	ReplyCtx *rc;

	if (!x)
		return NULL;
	rc = calloc(1, sizeof(*rc));
	if (!rc) {
		xpc_release(x);
		return PyErr_NoMemory();
	}
	Py_XINCREF(callback);
	Py_XINCREF(loop);
	Py_XINCREF(future);
	rc->callback = callback;
	rc->loop = loop;
	rc->future = future;
	rc->conn = xpc_retain(self->conn);
	xpc_connection_send_message_with_reply_f(self->conn, x, NULL, rc, reply_done);
	xpc_release(x);
	Py_RETURN_NONE;
}

static PyObject *conn_send_with_reply(PyxConnection *self, PyObject *args)
{
	PyObject *msg, *callback;

	if (!PyArg_ParseTuple(args, "OO:send_with_reply", &msg, &callback))
		return NULL;
	if (!PyCallable_Check(callback)) {
		PyErr_SetString(PyExc_TypeError, "callback must be callable");
		return NULL;
	}
	return send_with_reply_ctx(self, msg, callback, NULL, NULL);
}

static PyObject *conn_request_async(PyxConnection *self, PyObject *msg)
{
	PyObject *loop, *fut, *r;

	if (!get_running_loop) {
		PyObject *asyncio = PyImport_ImportModule("asyncio");

		if (!asyncio)
			return NULL;
		get_running_loop = PyObject_GetAttrString(asyncio, "get_running_loop");
		Py_DECREF(asyncio);
		if (!get_running_loop)
			return NULL;
	}
	loop = PyObject_CallNoArgs(get_running_loop);
	if (!loop)
		return NULL;
	fut = PyObject_CallMethodNoArgs(loop, str_create_future);
	r = fut ? send_with_reply_ctx(self, msg, NULL, loop, fut) : NULL;
	Py_DECREF(loop);
	if (!r) {
		Py_XDECREF(fut);
		return NULL;
	}
	Py_DECREF(r);
	return fut;
}

static PyObject *conn_request(PyxConnection *self, PyObject *msg)
{
	xpc_object_t x, reply;
	xpc_connection_t c = self->conn;
	PyObject *r;

	if (tls_in_handler == self->ctx) {
		PyErr_SetString(PyExc_RuntimeError, "request() from the connection's own handler "
						    "would deadlock: use send_with_reply()");
		return NULL;
	}
	x = convert_message_to_xpc(msg);
	if (!x)
		return NULL;
	if (!self->ctx->activated)
		connection_start(self, false);
	Py_BEGIN_ALLOW_THREADS reply = xpc_connection_send_message_with_reply_sync(c, x);
	Py_END_ALLOW_THREADS xpc_release(x);
	r = reply_to_python(reply, c);
	xpc_release(reply);
	if (r && PyExceptionInstance_Check(r)) {
		PyErr_SetObject((PyObject *)Py_TYPE(r), r);
		Py_CLEAR(r);
	}
	return r;
}

static void barrier_run(void *context)
{
	PyObject *fn = context;
	PyGILState_STATE st;

	if (!gil_enter(&st))
		return;
	call_handler(fn, Py_None, NULL);
	Py_DECREF(fn);
	gil_leave(st);
}

static PyObject *conn_barrier(PyxConnection *self, PyObject *fn)
{
	if (!PyCallable_Check(fn)) {
		PyErr_SetString(PyExc_TypeError, "barrier needs a callable");
		return NULL;
	}
	Py_INCREF(fn);
	xpc_connection_send_barrier_f(self->conn, fn, barrier_run);
	Py_RETURN_NONE;
}

static PyMethodDef conn_methods[] = {
	COMMON_METHODS,
	{"set_event_handler", (PyCFunction)(void (*)(void))conn_set_event_handler,
	 METH_VARARGS | METH_KEYWORDS,
	 "set_event_handler(on_message=None, on_error=None): messages (xpc.Message) and errors "
	 "(exceptions)."},
	{"send", (PyCFunction)conn_send, METH_O, "send(message): one way."},
	{"send_with_reply", (PyCFunction)conn_send_with_reply, METH_VARARGS,
	 "send_with_reply(message, callback): callback(reply) on a libxpc thread; errors come as "
	 "exceptions."},
	{"request", (PyCFunction)conn_request, METH_O,
	 "request(message) -> dict: blocks (GIL released) for the reply; raises xpc.Error "
	 "subclasses."},
	{"request_async", (PyCFunction)conn_request_async, METH_O,
	 "request_async(message) -> asyncio.Future of the reply (call in a running loop)."},
	{"barrier", (PyCFunction)conn_barrier, METH_O,
	 "barrier(fn): fn(None) once everything sent before left."},
	{NULL, NULL, 0, NULL},
};

static PyGetSetDef conn_getset[] = {
	COMMON_GETSET,
	{NULL, NULL, NULL, NULL, NULL},
};

static PyObject *conn_repr(PyxConnection *self)
{
	const char *n = xpc_connection_get_name(self->conn);

	return PyUnicode_FromFormat("<%s %s pid=%d%s>", Py_TYPE(self)->tp_name,
				    n ? n : "(anonymous)", (int)xpc_connection_get_pid(self->conn),
				    self->ctx->finished ? " invalid" : "");
}

PyTypeObject PyxConnection_Type = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "xpc.Connection",
	.tp_basicsize = sizeof(PyxConnection),
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
	.tp_doc = "Connection(name=None, *, endpoint=None, privileged=False, on_message=None, "
		  "on_error=None,\n"
		  "           activate=True): a connection to a named service or to an endpoint.",
	.tp_new = conn_new,
	.tp_dealloc = (destructor)connection_dealloc,
	.tp_traverse = (traverseproc)connection_traverse,
	.tp_clear = (inquiry)connection_clear,
	.tp_weaklistoffset = offsetof(PyxConnection, weakrefs),
	.tp_methods = conn_methods,
	.tp_getset = conn_getset,
	.tp_repr = (reprfunc)conn_repr,
};

/* ---- Listener -------------------------------------------------------------------------------- */

static int listener_check_started(PyxConnection *self)
{
	char *why = xpc_connection_copy_invalidation_reason(self->conn);
	PyObject *exc;

	if (!why)
		return 0;
	free(why);
	exc = connection_error_new(XPC_ERROR_CONNECTION_INVALID, self->conn);
	if (exc) {
		PyErr_SetObject(pyx_ConnectionInvalid, exc);
		Py_DECREF(exc);
	}
	return -1;
}

static int listener_set(PyxConnection *self, PyObject *handler, PyObject *on_peer,
			PyObject *on_error, PyObject *on_peer_error)
{
	ConnCtx *ctx = self->ctx;

	if (handler && handler != Py_None && on_peer && on_peer != Py_None) {
		PyErr_SetString(PyExc_TypeError, "Listener takes a handler or on_peer, not both");
		return -1;
	}
	if (set_callable(&ctx->serve, handler, "handler") < 0 ||
	    set_callable(&ctx->on_message, on_peer, "on_peer") < 0 ||
	    set_callable(&ctx->on_error, on_error, "on_error") < 0 ||
	    set_callable(&ctx->serve_error, on_peer_error, "on_peer_error") < 0)
		return -1;
	return 0;
}

static PyObject *listener_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = {"handler",       "name",     "on_peer", "on_error",
				 "on_peer_error", "activate", NULL};
	PyObject *handler = NULL, *on_peer = NULL, *on_error = NULL, *on_peer_error = NULL;
	const char *name = NULL;
	int activate = 1;
	xpc_connection_t c;
	PyxConnection *self;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "|O$zOOOp:Listener", kwlist, &handler, &name,
					 &on_peer, &on_error, &on_peer_error, &activate))
		return NULL;
	c = name ? xpc_connection_create_mach_service(name, NULL,
						      XPC_CONNECTION_MACH_SERVICE_LISTENER)
		 : xpc_connection_create(NULL, NULL);
	if (!c)
		return PyErr_SetFromErrno(PyExc_OSError);
	self = connection_wrap(type, c);
	if (!self)
		return NULL;
	if (listener_set(self, handler, on_peer, on_error, on_peer_error) < 0) {
		Py_DECREF(self);
		return NULL;
	}
	if (activate) {
		connection_start(self, false);
		if (listener_check_started(self) < 0) {
			Py_DECREF(self);
			return NULL;
		}
	}
	return (PyObject *)self;
}

static PyObject *listener_set_handlers(PyxConnection *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = {"handler", "on_peer", "on_error", "on_peer_error", NULL};
	PyObject *handler = Py_None, *on_peer = Py_None, *on_error = Py_None,
		 *on_peer_error = Py_None;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "|O$OOO:set_handlers", kwlist, &handler,
					 &on_peer, &on_error, &on_peer_error))
		return NULL;
	if (listener_set(self, handler, on_peer, on_error, on_peer_error) < 0)
		return NULL;
	ctx_update_keep(self->ctx);
	Py_RETURN_NONE;
}

static PyObject *listener_get_endpoint(PyxConnection *self, void *unused)
{
	xpc_endpoint_t ep;

	if (!self->endpoint) {
		ep = xpc_endpoint_create(self->conn);
		if (!ep)
			return PyErr_Format(pyx_Error, "no endpoint for this listener");
		self->endpoint = pyx_endpoint_wrap(ep);
		xpc_release(ep);
		if (!self->endpoint)
			return NULL;
	}
	return Py_NewRef(self->endpoint);
}

static PyMethodDef listener_methods[] = {
	COMMON_METHODS,
	{"set_handlers", (PyCFunction)(void (*)(void))listener_set_handlers,
	 METH_VARARGS | METH_KEYWORDS,
	 "set_handlers(handler=None, *, on_peer=None, on_error=None, on_peer_error=None)"},
	{NULL, NULL, 0, NULL},
};

static PyGetSetDef listener_getset[] = {
	COMMON_GETSET,
	{"endpoint", (getter)listener_get_endpoint, NULL, "An xpc.Endpoint for this listener.",
	 NULL},
	{NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject PyxListener_Type = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "xpc.Listener",
	.tp_basicsize = sizeof(PyxConnection),
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
	.tp_doc = "Listener(handler=None, *, name=None, on_peer=None, on_error=None, "
		  "on_peer_error=None,\n"
		  "         activate=True): an anonymous listener (name=None; see .endpoint) or "
		  "the listener of\n"
		  "a service name this process was started for by xpcd.  handler(message) serves "
		  "every peer;\n"
		  "or on_peer(connection) gets each new, inactive peer.",
	.tp_new = listener_new,
	.tp_dealloc = (destructor)connection_dealloc,
	.tp_traverse = (traverseproc)connection_traverse,
	.tp_clear = (inquiry)connection_clear,
	.tp_weaklistoffset = offsetof(PyxConnection, weakrefs),
	.tp_methods = listener_methods,
	.tp_getset = listener_getset,
	.tp_repr = (reprfunc)conn_repr,
};

int connection_init(PyObject *module)
{
	if (pthread_key_create(&thread_key, thread_state_drop) != 0) {
		PyErr_SetString(PyExc_OSError, "pthread_key_create failed");
		return -1;
	}
	resolve_fn = PyCFunction_New(&resolve_def, NULL);
	str_create_future = PyUnicode_InternFromString("create_future");
	str_call_soon_threadsafe = PyUnicode_InternFromString("call_soon_threadsafe");
	if (!resolve_fn || !str_create_future || !str_call_soon_threadsafe)
		return -1;
	if (PyModule_AddType(module, &PyxConnection_Type) < 0 ||
	    PyModule_AddType(module, &PyxListener_Type) < 0)
		return -1;
	return 0;
}
