/* SPDX-License-Identifier: MIT */
/*
 * transactions.h - what the connection layer's xpc_main code (main.c) needs of
 * launch.c: the count of open transactions xpcd reads for a job with
 * EnableTransactions.
 */
#ifndef XPC_CONNECTION_TRANSACTIONS_H
#define XPC_CONNECTION_TRANSACTIONS_H

/* Adds @delta to the job's shared count of open transactions, when xpcd
 * gave this process one (XPCD_TRANSACTIONS); else does nothing.
 * Thread-safe. */
void launch_transactions_add(long delta);

#endif
