/*
 * test_wait_orphaned.c - rpc_domain_wait_orphaned(): what ends the wait.
 *
 * A peer process holds a node; a thread of this process waits.
 * - The peer is SIGKILLed: the wait returns 0 (orphaned) and
 *   rpc_domain_cleanup() then removes the segment.
 * - The peer leaves cleanly (the last-out rule removes the segment): the
 *   wait returns RPC_ENOENT.
 * - A signal whose handler was installed without SA_RESTART reaches the
 *   waiting thread: the wait returns RPC_EINTR at once, the segment is
 *   untouched.  With SA_RESTART the wait goes on, and still returns 0 when
 *   the peer is then killed.
 * Waiting costs no CPU, so "still waiting" is checked by the thread not
 * having returned after a short while; every "has returned" is awaited
 * with a generous deadline.
 */
#include "testutil.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

struct waiter {
    pthread_t thread;
    const rpc_config *cfg;
    _Atomic int done;
    int rc;
};

static void *wait_main(void *arg)
{
    struct waiter *w = arg;
    w->rc = rpc_domain_wait_orphaned(w->cfg);
    atomic_store(&w->done, 1);
    return NULL;
}

static void start_waiter(struct waiter *w, const rpc_config *cfg)
{
    memset(w, 0, sizeof *w);
    w->cfg = cfg;
    atomic_init(&w->done, 0);
    ASSERT_EQ(pthread_create(&w->thread, NULL, wait_main, w), 0);
}

/* The wait has returned (within the deadline); its result. */
static int finish_waiter(struct waiter *w)
{
    int ok;
    TU_WAIT_UNTIL(ok, atomic_load(&w->done), tu_timeout_ms(10000));
    ASSERT_MSG(ok, "rpc_domain_wait_orphaned did not return");
    ASSERT_EQ(pthread_join(w->thread, NULL), 0);
    return w->rc;
}

/* The thread is blocked in the kernel: give it time to get there (and to
 * return, were it wrongly going to). */
static void expect_still_waiting(struct waiter *w, const char *why)
{
    tu_sleep_ms(200);
    ASSERT_MSG(!atomic_load(&w->done), "the wait returned %s (%s)", tu_errname(w->rc), why);
}

static void on_signal(int sig)
{
    (void)sig;
}

static void set_handler(int restart)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigemptyset(&sa.sa_mask);
    ASSERT_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
}

/* A peer holding a node, and a thread of ours waiting for the orphan. */
static void hold_and_wait(tu_peer *peer, const char *name, const rpc_config *cfg,
                          struct waiter *w)
{
    tu_peer_start(peer, name, 0);
    ASSERT_EQ(tu_peer_cmd(peer, NULL, 0, "create holder"), 0);
    start_waiter(w, cfg);
    expect_still_waiting(w, "a live process is attached");
}

static void test_killed_peer(void)
{
    const char *name = tu_shm_name("killed");
    rpc_config *cfg = tu_config(name);
    struct waiter w;
    tu_peer peer;
    hold_and_wait(&peer, name, cfg, &w);
    tu_peer_kill(&peer);
    ASSERT_RC(finish_waiter(&w), 0);
    ASSERT_OK(rpc_domain_cleanup(cfg, 0));
    ASSERT(!tu_shm_exists(name));
    rpc_config_destroy(cfg);
}

static void test_clean_exit(void)
{
    const char *name = tu_shm_name("clean");
    rpc_config *cfg = tu_config(name);
    struct waiter w;
    tu_peer peer;
    hold_and_wait(&peer, name, cfg, &w);
    tu_peer_quit(&peer);   /* last out: the segment goes with it */
    ASSERT_RC(finish_waiter(&w), RPC_ENOENT);
    ASSERT(!tu_shm_exists(name));
    rpc_config_destroy(cfg);
}

static void test_signals(void)
{
    const char *name = tu_shm_name("signal");
    rpc_config *cfg = tu_config(name);
    struct waiter w;
    tu_peer peer;
    set_handler(0);
    hold_and_wait(&peer, name, cfg, &w);
    ASSERT_EQ(pthread_kill(w.thread, SIGUSR1), 0);
    ASSERT_RC(finish_waiter(&w), RPC_EINTR);
    ASSERT(tu_shm_exists(name));
    ASSERT_EQ(tu_peer_cmd(&peer, NULL, 0, "active"), 1);   /* nothing changed */

    set_handler(1);
    start_waiter(&w, cfg);
    expect_still_waiting(&w, "a live process is attached");
    ASSERT_EQ(pthread_kill(w.thread, SIGUSR1), 0);
    expect_still_waiting(&w, "SA_RESTART: the wait resumes");
    tu_peer_kill(&peer);
    ASSERT_RC(finish_waiter(&w), 0);
    ASSERT_OK(rpc_domain_cleanup(cfg, 0));
    ASSERT(!tu_shm_exists(name));
    signal(SIGUSR1, SIG_DFL);
    rpc_config_destroy(cfg);
}

int main(void)
{
    tu_init("wait_orphaned");
    tu_log("a killed peer");
    test_killed_peer();
    tu_log("a peer that leaves");
    test_clean_exit();
    tu_log("signals");
    test_signals();
    return tu_done();
}
