/*
 * peerwatch.h - what a domain's sweeper thread sleeps on: the death of a
 * process that owns one of the domain's other live nodes, a stop request,
 * or a time-out.  See peerwatch.c.
 */
#ifndef RPC_PEERWATCH_H
#define RPC_PEERWATCH_H

#include <poll.h>
#include <sys/types.h>

#include "segment.h"

struct rpci_peerwatch {
    int stop_fd[2];           /* pipe: a byte in it means "stop" */
    uint32_t generation;      /* of the segment when the set was made */
    int built;                /* the set was made at least once */
    int complete;             /* every live peer node's process has a pidfd */
    unsigned n;               /* pidfds, in fds[1..n] */
    unsigned cap;             /* max_nodes */
    struct pollfd *fds;       /* [0] the pipe, then one pidfd per process */
    pid_t *pids;              /* pids[k] goes with fds[k + 1] */
};

/* The time-outs: with every live peer's process watched, the sweeper only
 * needs to look now and then, for nodes that joined since it last looked
 * (a join does not wake it; one that dies before the next look is found
 * then: its guarantee is reclaim within 1 s); with some unwatched (no
 * pidfd: an old kernel, another pid namespace, a dead pid), it sweeps as
 * often as it always did. */
#define RPCI_WATCH_LONG_MS 250
#define RPCI_WATCH_SHORT_MS 100

/* 0, or -1 (out of memory or descriptors: the caller sweeps on a timer). */
int rpci_peerwatch_init(struct rpci_peerwatch *w, uint32_t max_nodes);
/* Close every descriptor and free; safe on a zeroed or closed watch. */
void rpci_peerwatch_close(struct rpci_peerwatch *w);
/* Make a wait in another thread return 1 (async-signal-safe). */
void rpci_peerwatch_stop(struct rpci_peerwatch *w);
/* Sleep until a watched process ends, a stop request, or the time-out
 * (retry_ms when > 0, else as above).  Returns 1 on a stop request, else
 * 0: the caller then sweeps. */
int rpci_peerwatch_wait(struct rpci_peerwatch *w, const struct rpci_seg *s, uint64_t owner_id,
                        int retry_ms);

#endif
