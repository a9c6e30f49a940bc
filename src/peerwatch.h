/*
 * peerwatch.h - what a domain's sweeper thread sleeps on: the death of a
 * process that owns one of the domain's other live nodes, a change of the
 * domain's membership, a stop request, or a time-out (once a second, more
 * often when something cannot be watched).  See peerwatch.c.
 */
#ifndef RPC_PEERWATCH_H
#define RPC_PEERWATCH_H

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "segment.h"

struct rpci_peerwatch {
    int bell[2];              /* pipe: a byte in it wakes the sweeper */
    _Atomic int stopping;     /* set by rpci_peerwatch_stop */
    _Atomic int member_exited; /* the membership thread has returned */
    int member_started;
    pthread_t member_thread;  /* waits for membership changes, rings the bell */
    _Atomic uint32_t *generation_word;   /* the segment's generation (futex word) */
    uint32_t generation;      /* of the segment when the set was made */
    int built;                /* the set was made and is current */
    int complete;             /* every live peer node's process has a pidfd */
    unsigned n;               /* pidfds, in fds[1..n] */
    unsigned cap;             /* max_nodes */
    struct pollfd *fds;       /* [0] the bell, then one pidfd per process */
    pid_t *pids;              /* pids[k] goes with fds[k + 1] */
};

/* Time-outs, for what no event covers: a live peer whose process has no
 * pidfd (an older kernel, another pid namespace, valgrind) makes the
 * sweeper look every RPCI_WATCH_SHORT_MS, as it always did; without the
 * membership thread it looks every RPCI_WATCH_LONG_MS for nodes that
 * joined since.  With both it still looks every RPCI_WATCH_SAFETY_MS: a
 * node lock can also vanish while its process lives on (a process that
 * closes every descriptor), and that makes no event. */
#define RPCI_WATCH_SAFETY_MS 1000
#define RPCI_WATCH_LONG_MS 250
#define RPCI_WATCH_SHORT_MS 100

/* 0, or -1 (out of memory or descriptors: the caller sweeps on a timer
 * or not at all; joins still sweep). */
int rpci_peerwatch_init(struct rpci_peerwatch *w, const struct rpci_seg *s);
/* Stop the membership thread, close every descriptor, free.  Safe on a
 * zeroed or closed watch.  Not while the sweeper may still be waiting. */
void rpci_peerwatch_close(struct rpci_peerwatch *w);
/* In a child after fork(): the threads were not copied; close and free
 * the rest. */
void rpci_peerwatch_close_after_fork(struct rpci_peerwatch *w);
/* Make the sweeper's wait return 1 (from another thread). */
void rpci_peerwatch_stop(struct rpci_peerwatch *w);
/* Sleep until a watched process ends, the membership changes, a stop
 * request, or the time-out (retry_ms when > 0).  Returns 1 on a stop
 * request, else 0: the caller then sweeps. */
int rpci_peerwatch_wait(struct rpci_peerwatch *w, const struct rpci_seg *s, uint64_t owner_id,
                        int retry_ms);

#endif
