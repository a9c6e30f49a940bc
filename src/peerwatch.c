/*
 * peerwatch.c - the sweeper's wait: a pidfd per process that owns one of
 * the domain's other live nodes (Linux 5.3+), so that a death wakes the
 * sweeper at once, while an idle domain costs a wake-up only every
 * RPCI_WATCH_LONG_MS.
 *
 * The pids come from the node table, which calls them informative only: a
 * pid from another pid namespace, or one reused since, may name the wrong
 * process.  So a pidfd only makes a sweep come early; the time-out still
 * bounds every detection (short while any live peer goes unwatched), and
 * the sweep itself trusts nothing but the node locks.
 *
 * Invariant: a pidfd that has fired is closed and dropped from the set at
 * once (an exited process stays readable, and would make poll() spin).
 * The set is rebuilt when the segment's generation moves (nodes came or
 * went).  Only the sweeper thread touches fds and pids.
 */
#include "peerwatch.h"
#include "layout.h"
#include "platform/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

int rpci_peerwatch_init(struct rpci_peerwatch *w, uint32_t max_nodes)
{
    w->n = 0;
    w->built = 0;
    w->complete = 0;
    w->cap = max_nodes;
    w->stop_fd[0] = w->stop_fd[1] = -1;
    w->fds = calloc((size_t)max_nodes + 1, sizeof *w->fds);
    w->pids = calloc(max_nodes ? max_nodes : 1, sizeof *w->pids);
    if (w->fds == NULL || w->pids == NULL || pipe(w->stop_fd) != 0) {
        free(w->fds);   /* a failed pipe() opened nothing */
        free(w->pids);
        w->fds = NULL;
        w->pids = NULL;
        return -1;
    }
    (void)fcntl(w->stop_fd[0], F_SETFD, FD_CLOEXEC);
    (void)fcntl(w->stop_fd[1], F_SETFD, FD_CLOEXEC);
    w->fds[0].fd = w->stop_fd[0];
    w->fds[0].events = POLLIN;
    return 0;
}

static void drop_all(struct rpci_peerwatch *w)
{
    unsigned k;
    for (k = 1; k <= w->n; k++)
        close(w->fds[k].fd);
    w->n = 0;
}

void rpci_peerwatch_close(struct rpci_peerwatch *w)
{
    if (w->fds == NULL)   /* zeroed (never set up) or closed already */
        return;
    drop_all(w);
    if (w->stop_fd[0] >= 0)
        close(w->stop_fd[0]);
    if (w->stop_fd[1] >= 0)
        close(w->stop_fd[1]);
    w->stop_fd[0] = w->stop_fd[1] = -1;
    free(w->fds);
    free(w->pids);
    w->fds = NULL;
    w->pids = NULL;
}

void rpci_peerwatch_stop(struct rpci_peerwatch *w)
{
    char c = 1;
    (void)!write(w->stop_fd[1], &c, 1);
}

static int watched(const struct rpci_peerwatch *w, pid_t pid)
{
    unsigned k;
    for (k = 0; k < w->n; k++)
        if (w->pids[k] == pid)
            return 1;
    return 0;
}

/* One pidfd per process owning a live node that is not ours. */
static void rebuild(struct rpci_peerwatch *w, const struct rpci_seg *s, uint64_t owner_id)
{
    uint32_t i;
    drop_all(w);
    w->complete = 1;
    for (i = 0; i < s->max_nodes && i < w->cap; i++) {
        const struct rpcl_node *e = rpci_seg_node(s, i);
        pid_t pid;
        int fd;
        /* Acquire: pairs with the release that published ALIVE. */
        if (atomic_load_explicit(&e->state, memory_order_acquire) != RPCL_NODE_ALIVE ||
            RPCL_LOAD(e->owner_id) == owner_id)
            continue;
        pid = (pid_t)RPCL_LOAD(e->pid);
        if (pid <= 0 || watched(w, pid))
            continue;
        if ((fd = rpcp_pidfd_open(pid)) < 0) {
            w->complete = 0;   /* gone already, or not ours to see: sweep often */
            continue;
        }
        w->pids[w->n] = pid;
        w->fds[w->n + 1].fd = fd;
        w->fds[w->n + 1].events = POLLIN;
        w->fds[w->n + 1].revents = 0;
        w->n++;
    }
}

int rpci_peerwatch_wait(struct rpci_peerwatch *w, const struct rpci_seg *s, uint64_t owner_id,
                        int retry_ms)
{
    /* Acquire: pairs with the release bump of every node-table change. */
    uint32_t gen = atomic_load_explicit(&rpci_seg_header(s)->generation, memory_order_acquire);
    int timeout;
    unsigned k;
    if (!w->built || gen != w->generation) {
        rebuild(w, s, owner_id);
        w->generation = gen;
        w->built = 1;
    }
    timeout = retry_ms > 0 ? retry_ms : w->complete ? RPCI_WATCH_LONG_MS : RPCI_WATCH_SHORT_MS;
    w->fds[0].revents = 0;
    if (poll(w->fds, w->n + 1, timeout) <= 0)
        return 0;
    if (w->fds[0].revents != 0)
        return 1;
    for (k = 1; k <= w->n;) {
        if (w->fds[k].revents == 0) {
            k++;
            continue;
        }
        close(w->fds[k].fd);   /* it has ended: the sweep takes over */
        w->fds[k] = w->fds[w->n];
        w->pids[k - 1] = w->pids[w->n - 1];
        w->n--;
    }
    return 0;
}
