/* SPDX-License-Identifier: MIT */
/*
 * list.h - an intrusive, circular, doubly-linked list and container_of().
 *
 * The model is wayland's wl_list and c-util's c-list: the list head is a
 * ListNode of its own whose prev/next point at itself when the list is
 * empty; every element embeds a ListNode and is found again from it with
 * container_of().  Insertion and removal are O(1) and never allocate, so a
 * list operation cannot fail.
 *
 * Invariants: a node is either linked (on exactly one list) or unlinked,
 * and an unlinked node points at itself (list_node_init(), list_unlink()),
 * so list_linked() tells which and unlinking twice is harmless.  The list
 * does no locking: its owner's lock covers the head and every node on it.
 * Iterate with list_for_each_entry(); remove the current element only
 * inside list_for_each_entry_safe().
 */
#ifndef XPC_SHARED_LIST_H
#define XPC_SHARED_LIST_H

#include <stdbool.h>
#include <stddef.h>

/*
 * container_of() - the structure of type @type whose member @member is at
 * @ptr.  @ptr must have the member's type (checked at compile time), so a
 * wrong member name or type does not compile.  NULL is not allowed.
 */
#define container_of(ptr, type, member)                                                 \
	__extension__({                                                                  \
		const __typeof__(((type *)0)->member) *container_of_p_ = (ptr);          \
		(type *)(void *)((char *)container_of_p_ - offsetof(type, member));      \
	})

typedef struct ListNode {
	struct ListNode *prev;
	struct ListNode *next;
} ListNode;

/* A static initializer for a head or node named @name: empty/unlinked. */
#define LIST_INIT(name) {&(name), &(name)}

/* Makes @n an empty head or an unlinked node. */
static inline void list_node_init(ListNode *n)
{
	n->prev = n;
	n->next = n;
}

/* True if the list headed by @head holds no node. */
static inline bool list_empty(const ListNode *head)
{
	return head->next == head;
}

/* True if @n is on a list (false after list_node_init() or list_unlink()). */
static inline bool list_linked(const ListNode *n)
{
	return n->next != n;
}

/* Links the unlinked @n right after @pos (a head or a node). */
static inline void list_insert_after(ListNode *pos, ListNode *n)
{
	n->prev = pos;
	n->next = pos->next;
	pos->next->prev = n;
	pos->next = n;
}

/* Links the unlinked @n at the tail of @head (FIFO order with list_pop()). */
static inline void list_append(ListNode *head, ListNode *n)
{
	list_insert_after(head->prev, n);
}

/* Links the unlinked @n at the front of @head. */
static inline void list_prepend(ListNode *head, ListNode *n)
{
	list_insert_after(head, n);
}

/* Takes @n off its list and leaves it unlinked; a no-op if it is not on one. */
static inline void list_unlink(ListNode *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	list_node_init(n);
}

/* Return: the first node of @head, or NULL if the list is empty. */
static inline ListNode *list_first(const ListNode *head)
{
	return list_empty(head) ? NULL : head->next;
}

/* Return: the last node of @head, or NULL if the list is empty. */
static inline ListNode *list_last(const ListNode *head)
{
	return list_empty(head) ? NULL : head->prev;
}

/* Unlinks and returns the first node of @head, or NULL if it is empty. */
static inline ListNode *list_pop(ListNode *head)
{
	ListNode *n = list_first(head);

	if (n)
		list_unlink(n);
	return n;
}

/* Return: the number of nodes on @head (O(n): for tests and limits). */
static inline size_t list_length(const ListNode *head)
{
	size_t k = 0;

	for (const ListNode *n = head->next; n != head; n = n->next)
		k++;
	return k;
}

/* The element of type @type holding @node in @member; NULL for NULL. */
#define list_entry_or_null(node, type, member)                                          \
	__extension__({                                                                  \
		ListNode *list_e_n_ = (node);                                            \
		list_e_n_ ? container_of(list_e_n_, type, member) : (type *)NULL;        \
	})

/* The first element of @head, or NULL. */
#define list_first_entry(head, type, member) list_entry_or_null(list_first(head), type, member)

/*
 * list_for_each_entry() - @pos (a @type pointer variable: a plain name, as
 * it also names the loop's cursor) runs over the elements of @head from
 * first to last.  The body must not unlink @pos.
 */
#define list_for_each_entry(pos, head, type, member)                                    \
	for (ListNode *list_it_##pos = (head)->next;                                     \
	     list_it_##pos != (head) && ((pos) = container_of(list_it_##pos, type, member), 1); \
	     list_it_##pos = list_it_##pos->next)

/* The same, but the body may unlink (and free) @pos. */
#define list_for_each_entry_safe(pos, head, type, member)                               \
	for (ListNode *list_it_##pos = (head)->next, *list_nx_##pos = list_it_##pos->next; \
	     list_it_##pos != (head) && ((pos) = container_of(list_it_##pos, type, member), 1); \
	     list_it_##pos = list_nx_##pos, list_nx_##pos = list_it_##pos->next)

#endif
