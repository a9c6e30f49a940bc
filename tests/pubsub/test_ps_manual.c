/*
 * test_ps_manual.c - manual mode (rpc_node_poll) against another process,
 * and what an idle receiver costs.
 *
 *   - poll(0) on an idle node returns 0 at once (no waiting);
 *   - poll(100) on an idle node returns 0 after about 100 ms;
 *   - with messages queued, poll(0) runs them and returns how many;
 *   - poll(10 s) sleeping in the kernel (spin 0) wakes when a message
 *     arrives from another process: 30 rounds, the publisher sending after
 *     a random delay of 0..30 ms; each poll must return > 0 well before its
 *     timeout (a lost wake-up would sit the whole 10 s out);
 *   - the same with the default spin (50 us) and with poll(-1);
 *   - an idle node with a receive thread and an idle manual node cost
 *     (almost) no CPU: the process uses < 30 % of one core over 500 ms.
 */
#include "psutil.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define G "manual"

static const char *shm;
static ps_chan cmd, reply;

/* The publisher process: "pub COUNT DELAY_MS" publishes COUNT messages
 * after DELAY_MS and answers "done". */
static void publisher(void)
{
    rpc_config *cfg = tu_config(shm);
    rpc_node *n = NULL;
    unsigned char buf[512];
    uint64_t seq = 0;
    char line[64];
    ps_config_mode(cfg, RPC_RECEIVE_MANUAL, 0);
    ASSERT_OK(rpc_node_create(cfg, "p0", &n));
    ps_chan_send(&reply, "ready");
    for (;;) {
        int count, delay;
        ps_chan_recv(&cmd, line, sizeof line, tu_timeout_ms(120000));
        if (strcmp(line, "quit") == 0)
            break;
        ASSERT(sscanf(line, "pub %d %d", &count, &delay) == 2);
        if (delay > 0)
            tu_sleep_ms(delay);   /* so the poller is asleep by then */
        for (int i = 0; i < count; i++) {
            size_t size = ps_msg_size(0, ++seq, sizeof buf);
            ps_fill(buf, size, 0, seq);
            ASSERT_OK(rpc_publish(n, G, "m", buf, size, 10000));
        }
        ps_chan_send(&reply, "done");
    }
    ASSERT_OK(rpc_node_destroy(n));
    rpc_config_destroy(cfg);
    exit(0);
}

static void on_msg(rpc_node *node, const rpc_message *m, void *user)
{
    (void)node;
    ps_track(user, (uint32_t)ps_pub_id(m->publisher), m);
}

static double process_cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Rounds of "sleep in poll, get woken by the other process". */
static void wake_rounds(rpc_node *n, struct ps_track *t, int rounds, int timeout_ms,
                        unsigned *seed, const char *what)
{
    int64_t worst = 0;
    char line[64];
    for (int r = 0; r < rounds; r++) {
        uint64_t before = t->count[0];
        int64_t t0, took;
        int rc;
        ps_chan_send(&cmd, "pub 1 %d", (int)(rand_r(seed) % 31));
        t0 = tu_now_ms();
        rc = rpc_node_poll(n, timeout_ms);
        took = tu_now_ms() - t0;
        ASSERT_MSG(rc >= 1, "%s round %d: poll returned %d (%s) after %lld ms", what, r, rc,
                   tu_errname(rc), (long long)took);
        ASSERT_MSG(took < tu_timeout_ms(5000), "%s round %d: woken only after %lld ms", what,
                   r, (long long)took);
        if (took > worst)
            worst = took;
        ps_chan_recv(&reply, line, sizeof line, tu_timeout_ms(30000));
        ASSERT_EQ(t->count[0], before + 1);
    }
    tu_log("%s: %d wake-ups from another process, slowest %lld ms (publisher delay <= 30 ms)",
           what, rounds, (long long)worst);
}

int main(void)
{
    rpc_config *cfg, *tcfg;
    rpc_node *n = NULL, *idle_thr = NULL, *spin = NULL;
    struct ps_track *t, *t2;
    unsigned seed = (unsigned)getpid();
    char line[64];
    pid_t pub;
    int64_t t0, took;
    double cpu0, cpu;
    int rc, total;

    ps_init("ps_manual");
    shm = ps_shm_name("man");
    ps_chan_make(&cmd);
    ps_chan_make(&reply);
    if ((pub = tu_fork(0)) == 0)
        publisher();
    ps_collect(&reply, 1, tu_timeout_ms(30000), &pub, 1, NULL, NULL);

    /* Allocated after the fork, so they are not the child's to free. */
    t = malloc(sizeof *t);
    t2 = malloc(sizeof *t2);
    ASSERT(t != NULL && t2 != NULL);
    cfg = tu_config(shm);
    ps_config_mode(cfg, RPC_RECEIVE_MANUAL, 0);   /* sleep in the kernel at once */
    ASSERT_OK(rpc_node_create(cfg, "poller", &n));
    ps_track_init(t, 512, 0);
    ASSERT_OK(rpc_subscribe(n, G, "m", on_msg, t));

    /* Idle: 0 at once, and 0 after the timeout. */
    t0 = tu_now_ms();
    ASSERT_EQ(rpc_node_poll(n, 0), 0);
    took = tu_now_ms() - t0;
    ASSERT_MSG(took < tu_timeout_ms(1000), "poll(0) on an idle node took %lld ms",
               (long long)took);
    t0 = tu_now_ms();
    ASSERT_EQ(rpc_node_poll(n, 100), 0);
    took = tu_now_ms() - t0;
    ASSERT_MSG(took >= 99 && took < 100 + tu_timeout_ms(2000),
               "poll(100) on an idle node returned after %lld ms", (long long)took);

    /* Queued messages: poll(0) runs them. */
    ps_chan_send(&cmd, "pub 25 0");
    ps_chan_recv(&reply, line, sizeof line, tu_timeout_ms(30000));
    total = 0;
    while ((rc = rpc_node_poll(n, 0)) > 0)
        total += rc;
    ASSERT_RC(rc, 0);
    ASSERT_EQ(total, 25);
    ASSERT_EQ(t->count[0], 25);

    wake_rounds(n, t, 30, 10000, &seed, "spin 0, poll(10 s)");
    wake_rounds(n, t, 10, RPC_WAIT_FOREVER, &seed, "spin 0, poll(-1)");
    ASSERT_MSG(t->errors == 0, "%s", t->first_error);

    /* The default spin before sleeping. */
    {
        rpc_config *scfg = tu_config(shm);
        ps_config_mode(scfg, RPC_RECEIVE_MANUAL, RPC_DEFAULT_SPIN_US);
        ASSERT_OK(rpc_node_create(scfg, "spinner", &spin));
        ps_track_init(t2, 512, PS_TRACK_LATE);
        ASSERT_OK(rpc_subscribe(spin, G, "m", on_msg, t2));
        ASSERT_OK(rpc_unsubscribe(n, G, "m"));
        wake_rounds(spin, t2, 20, 10000, &seed, "spin 50 us, poll(10 s)");
        ASSERT_MSG(t2->errors == 0, "%s", t2->first_error);
        rpc_config_destroy(scfg);
    }

    /* Idle costs: a receive-thread node and two manual nodes, nothing to do. */
    tcfg = tu_config(shm);
    ASSERT_OK(rpc_node_create(tcfg, "idle", &idle_thr));
    ASSERT_OK(rpc_subscribe(idle_thr, G, "nothing", on_msg, t));
    tu_sleep_ms(50);   /* let it settle into its sleep */
    cpu0 = process_cpu_ms();
    t0 = tu_now_ms();
    tu_sleep_ms(500);  /* the measuring window, not a wait for a condition */
    cpu = process_cpu_ms() - cpu0;
    took = tu_now_ms() - t0;
    tu_log("idle: %.1f ms of CPU in %lld ms", cpu, (long long)took);
    ASSERT_MSG(cpu < 0.3 * (double)took, "idle nodes used %.1f ms of CPU in %lld ms", cpu,
               (long long)took);

    ps_chan_send(&cmd, "quit");
    TU_EXPECT_EXIT0(pub, tu_timeout_ms(20000));
    ASSERT_OK(rpc_node_destroy(idle_thr));
    ASSERT_OK(rpc_node_destroy(spin));
    ASSERT_OK(rpc_node_destroy(n));
    rpc_config_destroy(tcfg);
    rpc_config_destroy(cfg);
    free(t);
    free(t2);
    return tu_done();
}
