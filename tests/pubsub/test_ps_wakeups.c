/*
 * test_ps_wakeups.c - no wake-up is ever lost, whichever wake-up protocol
 * each side runs.
 *
 *   test_ps_wakeups [-n ROUND_TRIPS]
 *
 * Two processes play ping-pong with receivers that spin at most 1 µs, or
 * not at all: every message finds its receiver asleep or about to sleep,
 * and nothing else would wake it, so a single lost wake-up stops the
 * exchange.  The pinger fails when the pongs stop for 10 s, naming the
 * round trip.  The exchange runs four times, for every pairing of the two
 * protocols of src/pubsub.c: a receiver that spins first uses the
 * asymmetric barriers, one that never spins uses full fences.  On a kernel
 * without membarrier all four run the fence protocol.  Each run uses its
 * own segment.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* sched_setaffinity */
#endif
#include "psutil.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GROUP "wake"
#define PAYLOAD 64

static long g_trips = 20000;

/* ---- the ponger (child) ---- */

struct ponger {
    _Atomic int stop;
};

static void on_ping(rpc_node *n, const rpc_message *m, void *user)
{
    struct ponger *p = user;
    if (m->size == 0) {          /* the pinger is done */
        atomic_store(&p->stop, 1);
        return;
    }
    ASSERT_OK(rpc_publish(n, GROUP, "pong", m->data, m->size, RPC_WAIT_FOREVER));
}

/* The receiver's spin time selects its wake-up protocol (see top). */
static int spin_for(int fences)
{
    return fences ? 0 : 1;
}

static void run_ponger(const char *shm, int fences, ps_chan *ready)
{
    rpc_config *cfg = ps_config(shm, 4);
    struct ponger p;
    rpc_node *node;
    atomic_init(&p.stop, 0);
    ps_config_mode(cfg, RPC_RECEIVE_THREAD, spin_for(fences));
    ASSERT_OK(rpc_node_create(cfg, "ponger", &node));
    ASSERT_OK(rpc_subscribe(node, GROUP, "ping", on_ping, &p));
    ps_chan_send(ready, "ready");
    /* The receive thread does the work; this one only waits for the end. */
    while (!atomic_load(&p.stop))
        tu_sleep_ms(5);
    ASSERT_OK(rpc_node_destroy(node));
    rpc_config_destroy(cfg);
}

/* ---- the pinger (this process) ---- */

/* The pinger's callback sends the next ping itself, on its receive thread,
 * right before that thread goes back to sleep: both sides then publish
 * and fall asleep at the same moments, the race the protocols must win. */
struct pinger {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t got;                /* pongs received; guarded by mu */
    unsigned char buf[PAYLOAD];
};

static void send_ping(rpc_node *n, struct pinger *p, uint64_t k)
{
    memcpy(p->buf, &k, sizeof k);
    ASSERT_OK(rpc_publish(n, GROUP, "ping", p->buf, sizeof p->buf, RPC_WAIT_FOREVER));
}

static void on_pong(rpc_node *n, const rpc_message *m, void *user)
{
    struct pinger *p = user;
    uint64_t k;
    ASSERT_EQ(m->size, (size_t)PAYLOAD);
    memcpy(&k, m->data, sizeof k);
    pthread_mutex_lock(&p->mu);
    ASSERT_EQ(k, p->got + 1);
    p->got = k;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (k < (uint64_t)g_trips)
        send_ping(n, p, k + 1);
}

/* Wait until every pong came; fail if none came for timeout_ms. */
static void wait_all(struct pinger *p, const char *what, int timeout_ms)
{
    uint64_t last = 0, since = ps_now_ns();
    pthread_mutex_lock(&p->mu);
    while (p->got < (uint64_t)g_trips) {
        struct timespec ts;
        if (p->got != last) {
            last = p->got;
            since = ps_now_ns();
        }
        ASSERT_MSG(ps_now_ns() - since < (uint64_t)timeout_ms * 1000000u,
                   "%s: no pong after round trip %llu of %ld for %d ms: a lost wake-up", what,
                   (unsigned long long)last, g_trips, timeout_ms);
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000000;   /* look at the progress every 50 ms */
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&p->cv, &p->mu, &ts);
    }
    pthread_mutex_unlock(&p->mu);
}

/* Put this process on CPU cpu when there are two or more: the race needs
 * both sides running at once, not taking turns on one CPU (a context
 * switch is a full barrier and would hide a missing one). */
static void pin(int cpu)
{
    cpu_set_t set;
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
        return;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    (void)sched_setaffinity(0, sizeof set, &set);
}

static void run_pairing(int ping_fences, int pong_fences, int timeout_ms)
{
    char tag[32];
    const char *shm;
    char what[64];
    struct pinger p;
    rpc_config *cfg;
    rpc_node *node;
    ps_chan ready;
    pid_t pid;

    snprintf(tag, sizeof tag, "w%d%d", ping_fences, pong_fences);
    shm = ps_shm_name(tag);
    ps_chan_make(&ready);
    if ((pid = tu_fork(0)) == 0) {
        pin(1);
        run_ponger(shm, pong_fences, &ready);
        exit(0);
    }
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    p.got = 0;
    cfg = ps_config(shm, 4);
    ps_config_mode(cfg, RPC_RECEIVE_THREAD, spin_for(ping_fences));
    {
        char line[64];
        ps_chan_recv(&ready, line, sizeof line, timeout_ms);
    }
    ASSERT_OK(rpc_node_create(cfg, "pinger", &node));
    ASSERT_OK(rpc_subscribe(node, GROUP, "pong", on_pong, &p));

    snprintf(what, sizeof what, "pinger (%s) / ponger (%s)",
             ping_fences ? "fences" : "asymmetric", pong_fences ? "fences" : "asymmetric");
    memset(p.buf, 0xA5, sizeof p.buf);
    send_ping(node, &p, 1);
    wait_all(&p, what, timeout_ms);
    ASSERT_OK(rpc_publish(node, GROUP, "ping", NULL, 0, RPC_WAIT_FOREVER));   /* stop */
    TU_EXPECT_EXIT0(pid, timeout_ms);
    tu_forget_child(pid);
    ASSERT_OK(rpc_node_destroy(node));
    rpc_config_destroy(cfg);
    pthread_cond_destroy(&p.cv);
    pthread_mutex_destroy(&p.mu);
    ps_chan_close(&ready);
    ASSERT_MSG(!tu_shm_exists(shm), "segment %s left behind", shm);
    tu_log("%s: %ld round trips, none lost", what, g_trips);
}

int main(int argc, char **argv)
{
    int c, timeout_ms;
    ps_init("ps_wakeups");
    pin(0);
    while ((c = getopt(argc, argv, "n:")) != -1) {
        if (c == 'n') {
            g_trips = ps_arg_num(optarg);
        } else {
            fprintf(stderr, "usage: %s [-n ROUND_TRIPS]\n", argv[0]);
            return 2;
        }
    }
    /* A round trip takes microseconds; 10 s without one is a lost wake-up,
     * not a slow machine. */
    timeout_ms = tu_timeout_ms(10000);
    run_pairing(0, 0, timeout_ms);
    run_pairing(0, 1, timeout_ms);
    run_pairing(1, 0, timeout_ms);
    run_pairing(1, 1, timeout_ms);
    return tu_done();
}
