/*
 * test_ps_sub_killed.c - a subscriber SIGKILLed mid-stream blocks nobody.
 *
 * Two subscriber processes: "victim", a manual-mode node that never polls
 * (its queue fills), and "healthy", a receive-thread node that checks every
 * message.  The test process publishes N messages in blocking mode with a
 * 30 s timeout.  A watcher thread waits until one rpc_publish call has been
 * blocked for a while (the victim's queue is full), then SIGKILLs the
 * victim.  Asserted:
 *   - the blocked call returns, with 0, within the reclaim deadline of the
 *     kill (sweep interval plus slack; 1 s, more under sanitizers and
 *     valgrind) - it does not sit out its 30 s timeout;
 *   - every call returns 0 (a dead subscriber is not a full queue), the
 *     publisher's dropped counter stays 0;
 *   - the victim's node is reclaimed (leaves the node list);
 *   - "healthy" gets exactly N messages, in order, intact.
 * Run with an argument to change N.
 */
#include "psutil.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GROUP "kill"
#define TOPIC "sub"
#define BLOCKED_MS 300

static const char *shm;
static long n_msgs = 20000;
static ps_chan ready, results, cmd;

/* ---- subscribers --------------------------------------------------------------- */

static void never_called(rpc_node *node, const rpc_message *m, void *user)
{
    (void)node;
    (void)m;
    (void)user;
    _exit(4);   /* the victim never polls */
}

static void victim(void)
{
    rpc_config *cfg = tu_config(shm);
    rpc_node *node = NULL;
    char line[64];
    ps_config_mode(cfg, RPC_RECEIVE_MANUAL, 0);
    ASSERT_OK(rpc_node_create(cfg, "victim", &node));
    /* Subscribed, and never polls: its queue fills up. */
    ASSERT_OK(rpc_subscribe(node, GROUP, TOPIC, never_called, NULL));
    ps_chan_send(&ready, "ready victim");
    ps_chan_recv(&cmd, line, sizeof line, tu_timeout_ms(600000));   /* killed before */
    exit(3);
}

struct healthy_state {
    struct ps_track t;
    _Atomic uint64_t seen;
};

static void on_msg(rpc_node *node, const rpc_message *m, void *user)
{
    struct healthy_state *h = user;
    (void)node;
    ps_track(&h->t, (uint32_t)ps_pub_id(m->publisher), m);
    atomic_fetch_add_explicit(&h->seen, 1, memory_order_release);
}

static void healthy(void)
{
    rpc_config *cfg = tu_config(shm);
    struct healthy_state *h = calloc(1, sizeof *h);
    rpc_node *node = NULL;
    int64_t deadline;
    ASSERT(h != NULL);
    ASSERT_OK(rpc_node_create(cfg, "healthy", &node));
    ps_track_init(&h->t, rpc_config_max_msg_size(cfg), 0);
    ASSERT_OK(rpc_subscribe(node, GROUP, TOPIC, on_msg, h));
    ps_chan_send(&ready, "ready healthy");
    deadline = tu_now_ms() + tu_timeout_ms(120000);
    while (atomic_load_explicit(&h->seen, memory_order_acquire) < (uint64_t)n_msgs &&
           tu_now_ms() < deadline)
        tu_sleep_ms(10);
    ASSERT_OK(rpc_node_destroy(node));   /* joins the receive thread */
    ps_chan_send(&results, "healthy %llu %llu %llu %s", (unsigned long long)h->t.count[0],
                 (unsigned long long)h->t.last[0], (unsigned long long)h->t.errors,
                 h->t.errors ? h->t.first_error : "-");
    rpc_config_destroy(cfg);
    free(h);
    exit(0);
}

/* ---- the publisher and its watcher ------------------------------------------------ */

static _Atomic uint64_t call_start_ns;  /* 0 when no publish call is running */
static _Atomic uint64_t kill_ns;
static _Atomic int publishing_done;
static pid_t victim_pid;

static void *watcher(void *arg)
{
    (void)arg;
    while (!atomic_load(&publishing_done)) {
        uint64_t start = atomic_load(&call_start_ns);
        if (start != 0 && ps_now_ns() - start > (uint64_t)BLOCKED_MS * 1000000u) {
            /* A call is stuck on a full queue: kill its reader. */
            atomic_store(&kill_ns, ps_now_ns());
            ASSERT(kill(victim_pid, SIGKILL) == 0);
            return NULL;
        }
        tu_sleep_ms(5);
    }
    return NULL;
}

static void copy_line(const char *l, void *arg)
{
    snprintf(arg, 512, "%s", l);
}

int main(int argc, char **argv)
{
    rpc_config *cfg;
    rpc_node *pub = NULL;
    rpc_node_stats st;
    pthread_t w;
    pid_t healthy_pid, pids[2];
    unsigned char *buf;
    uint64_t unblock_ns = 0;
    long killed_at = 0;
    size_t max;
    char line[512], first[300] = "";
    unsigned long long count, last, errors;
    int ok;

    ps_init("ps_sub_killed");
    if (argc > 1)
        n_msgs = ps_arg_num(argv[1]);
    shm = ps_shm_name("sk");
    ps_chan_make(&ready);
    ps_chan_make(&results);
    ps_chan_make(&cmd);
    if ((victim_pid = tu_fork(0)) == 0)
        victim();
    if ((healthy_pid = tu_fork(0)) == 0)
        healthy();
    pids[0] = victim_pid;
    pids[1] = healthy_pid;
    ps_collect(&ready, 2, tu_timeout_ms(30000), pids, 2, NULL, NULL);

    cfg = tu_config(shm);
    ps_config_mode(cfg, RPC_RECEIVE_MANUAL, 0);
    ASSERT_OK(rpc_node_create(cfg, "p0", &pub));
    max = rpc_config_max_msg_size(cfg);
    ASSERT((buf = malloc(max)) != NULL);
    ASSERT(pthread_create(&w, NULL, watcher, NULL) == 0);

    for (long s = 1; s <= n_msgs; s++) {
        size_t size = ps_msg_size(0, (uint64_t)s, max);
        uint64_t t0, t1, k;
        int rc;
        ps_fill(buf, size, 0, (uint64_t)s);
        t0 = ps_now_ns();
        atomic_store(&call_start_ns, t0);
        rc = rpc_publish(pub, GROUP, TOPIC, buf, size, 30000);
        t1 = ps_now_ns();
        atomic_store(&call_start_ns, 0);
        ASSERT_MSG(rc == 0, "publish #%ld: %s after %llu ms; %s", s, tu_errname(rc),
                   (unsigned long long)((t1 - t0) / 1000000u), rpc_errdetail());
        k = atomic_load(&kill_ns);
        if (k != 0 && killed_at == 0) {
            /* The first call that ended after the kill is the blocked one. */
            killed_at = s;
            unblock_ns = t1 > k ? t1 - k : 0;
        }
    }
    atomic_store(&publishing_done, 1);
    pthread_join(w, NULL);
    ASSERT_MSG(killed_at != 0, "no publish call ever blocked for %d ms: the victim's queue "
               "never filled", BLOCKED_MS);
    tu_log("victim killed during publish #%ld; that call returned %llu ms after the kill",
           killed_at, (unsigned long long)(unblock_ns / 1000000u));
    ASSERT_MSG(unblock_ns / 1000000u < (uint64_t)(tu_reclaim_deadline_ms() * ps_slow_factor()),
               "the blocked publish returned %llu ms after its reader died",
               (unsigned long long)(unblock_ns / 1000000u));

    (void)tu_wait_child(victim_pid, tu_timeout_ms(20000));
    TU_WAIT_UNTIL(ok, tu_domain_has_node(cfg, "victim") == 0,
                  tu_reclaim_deadline_ms() * ps_slow_factor());
    ASSERT_MSG(ok, "the killed subscriber's node was not reclaimed");

    ASSERT_OK(rpc_node_get_stats(pub, &st));
    ASSERT_EQ(st.published, n_msgs);
    ASSERT_EQ(st.dropped, 0);
    ASSERT(st.delivered >= (uint64_t)n_msgs);

    ps_collect(&results, 1, tu_timeout_ms(120000), &healthy_pid, 1, copy_line, line);
    ASSERT_MSG(sscanf(line, "healthy %llu %llu %llu %299[^\n]", &count, &last, &errors,
                      first) == 4, "bad report \"%s\"", line);
    ASSERT_MSG(errors == 0, "healthy subscriber: %llu bad messages; first: %s", errors, first);
    ASSERT_EQ(count, n_msgs);
    ASSERT_EQ(last, n_msgs);
    TU_EXPECT_EXIT0(healthy_pid, tu_timeout_ms(20000));
    ASSERT_OK(rpc_node_destroy(pub));
    rpc_config_destroy(cfg);
    free(buf);
    return tu_done();
}
