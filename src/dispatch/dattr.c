/* SPDX-License-Identifier: MIT */
/*
 * dattr.c - queue attributes (dispatch_queue_attr_t): immortal statics,
 * the three exported ones and one per (concurrent, inactive, QoS class,
 * relative priority) made by dispatch_queue_attr_make_*.  A QoS class
 * makes the new queue target the global queue of that class, as
 * dispatch_get_global_queue maps it (qos_root: 1 + the root's index).
 *
 * The lowest file of the queue code: data and lookups only, calling
 * nothing of the layer; dispatch_queue_create (dqueue.c) reads the
 * attribute's fields.
 */
#include "dispatch/internal.h"

static const DispatchVtable dattr_vtable = {.kind = DOBJ_ATTR};

struct dispatch_queue_attr_s _dispatch_queue_attr_concurrent = {
	.head = DOBJ_STATIC_HEAD(&dattr_vtable), .concurrent = 1};
struct dispatch_queue_attr_s _dispatch_queue_attr_serial_inactive = {
	.head = DOBJ_STATIC_HEAD(&dattr_vtable), .inactive = 1};
struct dispatch_queue_attr_s _dispatch_queue_attr_concurrent_inactive = {
	.head = DOBJ_STATIC_HEAD(&dattr_vtable), .concurrent = 1, .inactive = 1};

/* [concurrent][inactive][class][-relative priority], filled once; the
 * classes in the order of dattr_qos_classes, mapped onto the roots. */
#define DATTR_N_RELPRI (1 - QOS_MIN_RELATIVE_PRIORITY)
#define DATTR_N_QOS 5
static const dispatch_qos_class_t dattr_qos_classes[DATTR_N_QOS] = {
	QOS_CLASS_USER_INTERACTIVE, QOS_CLASS_USER_INITIATED, QOS_CLASS_DEFAULT, QOS_CLASS_UTILITY,
	QOS_CLASS_BACKGROUND};
static const int dattr_qos_roots[DATTR_N_QOS] = {0, 0, 1, 2, 3};
static struct dispatch_queue_attr_s dattr_qos[2][2][DATTR_N_QOS][DATTR_N_RELPRI];
static pthread_once_t dattr_qos_once = PTHREAD_ONCE_INIT;

static void dattr_qos_init(void)
{
	for (int c = 0; c < 2; c++)
		for (int i = 0; i < 2; i++)
			for (int k = 0; k < DATTR_N_QOS; k++)
				for (int p = 0; p < DATTR_N_RELPRI; p++)
					dattr_qos[c][i][k][p] = (struct dispatch_queue_attr_s){
						.head = DOBJ_STATIC_HEAD(&dattr_vtable),
						.concurrent = c, .inactive = i,
						.qos_root = dattr_qos_roots[k] + 1,
						.qos = dattr_qos_classes[k], .relpri = -p};
}

/* The attribute with these properties (NULL is the plain serial one). */
static dispatch_queue_attr_t dattr_lookup(int concurrent, int inactive, dispatch_qos_class_t qos,
						int relpri)
{
	for (int k = 0; qos && k < DATTR_N_QOS; k++) {
		if (dattr_qos_classes[k] != qos)
			continue;
		pthread_once(&dattr_qos_once, dattr_qos_init);
		return &dattr_qos[concurrent][inactive][k][-relpri];
	}
	if (concurrent)
		return inactive ? &_dispatch_queue_attr_concurrent_inactive : &_dispatch_queue_attr_concurrent;
	return inactive ? &_dispatch_queue_attr_serial_inactive : NULL;
}

/* 1 + the root queue index of a QoS class, 0 for UNSPECIFIED, -1 if unknown. */
static int dattr_qos_root(dispatch_qos_class_t qos)
{
	switch (qos) {
	case QOS_CLASS_USER_INTERACTIVE:
	case QOS_CLASS_USER_INITIATED:
		return 1;
	case QOS_CLASS_DEFAULT:
		return 2;
	case QOS_CLASS_UTILITY:
		return 3;
	case QOS_CLASS_BACKGROUND:
		return 4;
	case QOS_CLASS_UNSPECIFIED:
		return 0;
	default:
		return -1;
	}
}

/* As GCD does: an unknown class or a relative priority outside
 * [QOS_MIN_RELATIVE_PRIORITY, 0] leaves @attr unchanged. */
dispatch_queue_attr_t dispatch_queue_attr_make_with_qos_class(dispatch_queue_attr_t attr,
							      dispatch_qos_class_t qos_class,
							      int relative_priority)
{
	int root = dattr_qos_root(qos_class);

	if (root < 0 || relative_priority > 0 || relative_priority < QOS_MIN_RELATIVE_PRIORITY)
		return attr;
	return dattr_lookup(attr && attr->concurrent, attr && attr->inactive, qos_class,
				  root ? relative_priority : 0);
}

dispatch_queue_attr_t dispatch_queue_attr_make_initially_inactive(dispatch_queue_attr_t attr)
{
	return dattr_lookup(attr && attr->concurrent, 1, attr ? attr->qos : 0, attr ? attr->relpri : 0);
}
