/* SPDX-License-Identifier: MIT */
/*
 * test-list.c - shared/list.h: container_of, FIFO order, unlink anywhere,
 * unlinking twice, removal while iterating, and empty-list answers.
 */
#include <stdlib.h>

#include "harness.h"
#include "shared/list.h"

typedef struct Item {
	int value;
	ListNode link;
	int after; /* a member after the node: container_of must not be off */
} Item;

static void test_container_of(void)
{
	Item it = {.value = 7, .after = 9};

	CHECK(container_of(&it.link, Item, link) == &it);
	CHECK(container_of(&it.after, Item, after) == &it);
	CHECK(container_of(&it.value, Item, value) == &it);
}

static void test_empty(void)
{
	ListNode head = LIST_INIT(head);
	Item *it = (Item *)1;

	CHECK(list_empty(&head));
	CHECK(list_first(&head) == NULL);
	CHECK(list_last(&head) == NULL);
	CHECK(list_pop(&head) == NULL);
	CHECK(list_first_entry(&head, Item, link) == NULL);
	CHECK_EQ_INT(list_length(&head), 0);
	list_for_each_entry(it, &head, Item, link)
		CHECK(0);
	CHECK(it == (Item *)1);
}

static void test_fifo_and_unlink(void)
{
	ListNode head;
	Item items[5];
	Item *it;
	int expect[] = {3, 0, 2, 4}, k = 0;

	list_node_init(&head);
	for (int i = 0; i < 5; i++) {
		items[i].value = i;
		list_node_init(&items[i].link);
		CHECK(!list_linked(&items[i].link));
	}
	for (int i = 0; i < 5; i++)
		list_append(&head, &items[i].link);
	CHECK_EQ_INT(list_length(&head), 5);
	list_unlink(&items[1].link);
	list_unlink(&items[1].link); /* twice: harmless */
	CHECK(!list_linked(&items[1].link));
	list_unlink(&items[3].link);
	list_prepend(&head, &items[3].link);
	CHECK(list_linked(&items[3].link));
	list_for_each_entry(it, &head, Item, link) {
		CHECK(k < 4 && it->value == expect[k]);
		k++;
	}
	CHECK_EQ_INT(k, 4);
	CHECK(list_last(&head) == &items[4].link);
	CHECK(list_first_entry(&head, Item, link) == &items[3]);
	for (k = 0; k < 4; k++) {
		ListNode *n = list_pop(&head);

		REQUIRE(n);
		CHECK(container_of(n, Item, link)->value == expect[k]);
		CHECK(!list_linked(n));
	}
	CHECK(list_empty(&head));
}

static void test_remove_while_iterating(void)
{
	ListNode head = LIST_INIT(head);
	Item *it;
	int n = 0;

	for (int i = 0; i < 100; i++) {
		it = malloc(sizeof(*it));
		REQUIRE(it);
		it->value = i;
		list_append(&head, &it->link);
	}
	list_for_each_entry_safe(it, &head, Item, link) {
		if (it->value % 2) {
			list_unlink(&it->link);
			free(it);
		}
	}
	list_for_each_entry(it, &head, Item, link)
		CHECK(it->value == 2 * n++);
	CHECK_EQ_INT(n, 50);
	list_for_each_entry_safe(it, &head, Item, link) {
		list_unlink(&it->link);
		free(it);
	}
	CHECK(list_empty(&head));
}

int main(void)
{
	harness_begin(30);
	test_container_of();
	test_empty();
	test_fifo_and_unlink();
	test_remove_while_iterating();
	return harness_end();
}
