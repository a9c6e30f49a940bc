/*
 * peerwatch.c - the sweeper's wait.  An idle domain costs one wake-up a
 * second (a safety net, peerwatch.h), and a death is seen at once:
 * - a pidfd per process that owns one of the domain's other live nodes
 *   (Linux 5.3+) becomes readable when that process ends;
 * - a membership thread sleeps on the segment's generation word, which
 *   every node join and leave bumps and wakes (registry.c), and rings the
 *   sweeper's bell so that it watches the newcomers' processes too.
 *
 * The pids come from the node table, which calls them informative only: a
 * pid from another pid namespace, or one reused since, may name the wrong
 * process.  So a pidfd only brings a sweep forward, a peer without one
 * puts the sweeper back on a 100 ms timer, and the sweep itself trusts
 * nothing but the node locks.
 *
 * Invariants: a pidfd that has fired is closed and dropped from the set at
 * once (an exited process stays readable, and would make poll() spin).
 * Only the sweeper thread touches fds, pids and n; the membership thread
 * only reads the generation and writes the bell.
 */
#include "peerwatch.h"
#include "layout.h"
#include "platform/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static void ring(struct rpci_peerwatch *w)
{
    char c = 1;
    (void)!write(w->bell[1], &c, 1);   /* a full pipe has rung already */
}

/* Membership thread: sleep on the generation word; ring when it moved.
 * Table changes other than membership move it without a wake-up; such a
 * move is noticed with the next one, which costs one spare rebuild. */
static void *member_main(void *arg)
{
    struct rpci_peerwatch *w = arg;
    /* Acquire: pairs with the release bump of every table change. */
    uint32_t seen = atomic_load_explicit(w->generation_word, memory_order_acquire);
    while (!atomic_load_explicit(&w->stopping, memory_order_acquire)) {
        uint32_t now;
        (void)rpcp_wait_word(w->generation_word, seen, -1);
        now = atomic_load_explicit(w->generation_word, memory_order_acquire);
        if (now != seen) {
            seen = now;
            ring(w);
        }
    }
    atomic_store_explicit(&w->member_exited, 1, memory_order_release);
    return NULL;
}

int rpci_peerwatch_init(struct rpci_peerwatch *w, const struct rpci_seg *s)
{
    w->n = 0;
    w->built = 0;
    w->complete = 0;
    w->cap = s->max_nodes;
    w->bell[0] = w->bell[1] = -1;
    w->generation_word = &rpci_seg_header(s)->generation;
    atomic_init(&w->stopping, 0);
    atomic_init(&w->member_exited, 0);
    w->member_started = 0;
    w->fds = calloc((size_t)w->cap + 1, sizeof *w->fds);
    w->pids = calloc(w->cap ? w->cap : 1, sizeof *w->pids);
    if (w->fds == NULL || w->pids == NULL || pipe(w->bell) != 0) {
        free(w->fds);   /* a failed pipe() opened nothing */
        free(w->pids);
        w->fds = NULL;
        w->pids = NULL;
        return -1;
    }
    (void)fcntl(w->bell[0], F_SETFD, FD_CLOEXEC);
    (void)fcntl(w->bell[1], F_SETFD, FD_CLOEXEC);
    (void)fcntl(w->bell[0], F_SETFL, O_NONBLOCK);
    (void)fcntl(w->bell[1], F_SETFL, O_NONBLOCK);
    w->fds[0].fd = w->bell[0];
    w->fds[0].events = POLLIN;
    /* Without the thread the sweeper falls back on its time-out. */
    w->member_started = rpcp_thread_start(&w->member_thread, member_main, w) == 0;
    return 0;
}

static void drop_all(struct rpci_peerwatch *w)
{
    unsigned k;
    for (k = 1; k <= w->n; k++)
        close(w->fds[k].fd);
    w->n = 0;
}

/* Wake the membership thread until it has returned.  One wake-up can come
 * just before it goes to sleep (it checked `stopping` a moment earlier),
 * hence the loop; it normally returns at the first. */
static void stop_member(struct rpci_peerwatch *w)
{
    if (!w->member_started)
        return;
    atomic_store_explicit(&w->stopping, 1, memory_order_release);
    while (!atomic_load_explicit(&w->member_exited, memory_order_acquire)) {
        rpcp_wake_word(w->generation_word);
        rpcp_sleep_ns(20000);
    }
    pthread_join(w->member_thread, NULL);
    w->member_started = 0;
}

void rpci_peerwatch_close(struct rpci_peerwatch *w)
{
    if (w->fds == NULL)   /* zeroed (never set up) or closed already */
        return;
    stop_member(w);
    drop_all(w);
    close(w->bell[0]);
    close(w->bell[1]);
    w->bell[0] = w->bell[1] = -1;
    free(w->fds);
    free(w->pids);
    w->fds = NULL;
    w->pids = NULL;
}

void rpci_peerwatch_close_after_fork(struct rpci_peerwatch *w)
{
    w->member_started = 0;
    rpci_peerwatch_close(w);
}

void rpci_peerwatch_stop(struct rpci_peerwatch *w)
{
    atomic_store_explicit(&w->stopping, 1, memory_order_release);
    ring(w);
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
            w->complete = 0;   /* gone already, or not ours to see: look often */
            continue;
        }
        w->pids[w->n] = pid;
        w->fds[w->n + 1].fd = fd;
        w->fds[w->n + 1].events = POLLIN;
        w->n++;
    }
}

/* Drop the pidfds of processes that have ended: the sweep takes over. */
static void drop_fired(struct rpci_peerwatch *w)
{
    unsigned k;
    for (k = 1; k <= w->n;) {
        if (w->fds[k].revents == 0) {
            k++;
            continue;
        }
        close(w->fds[k].fd);
        w->fds[k] = w->fds[w->n];
        w->pids[k - 1] = w->pids[w->n - 1];
        w->n--;
    }
}

int rpci_peerwatch_wait(struct rpci_peerwatch *w, const struct rpci_seg *s, uint64_t owner_id,
                        int retry_ms)
{
    /* Acquire: pairs with the release bump of every table change. */
    uint32_t gen = atomic_load_explicit(&rpci_seg_header(s)->generation, memory_order_acquire);
    int timeout;
    unsigned k;
    if (!w->built || gen != w->generation) {
        rebuild(w, s, owner_id);
        w->generation = gen;
        w->built = 1;
    }
    timeout = retry_ms > 0           ? retry_ms
              : !w->complete         ? RPCI_WATCH_SHORT_MS
              : !w->member_started   ? RPCI_WATCH_LONG_MS
                                     : RPCI_WATCH_SAFETY_MS;
    for (k = 0; k <= w->n; k++)
        w->fds[k].revents = 0;
    if (poll(w->fds, w->n + 1, timeout) <= 0)
        return atomic_load_explicit(&w->stopping, memory_order_acquire);
    if (w->fds[0].revents != 0) {
        char buf[64];
        while (read(w->bell[0], buf, sizeof buf) > 0)
            ;
        if (atomic_load_explicit(&w->stopping, memory_order_acquire))
            return 1;
    }
    drop_fired(w);
    return 0;
}
