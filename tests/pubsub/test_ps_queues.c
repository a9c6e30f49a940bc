/*
 * test_ps_queues.c - running out of queues, and getting them back.
 *
 * A segment with room for exactly two queues (8 KiB each), one publisher
 * node P and manual-mode subscribers, all in this process:
 *   - A and B subscribe: a publish reaches both (two queues in use);
 *   - C subscribes too: the next publish returns RPC_ENOSPC, A and B got
 *     it, C did not, and the counters say published 1 more, delivered 2
 *     more;
 *   - A is destroyed: its queue from P must become usable again, so
 *     within the reclaim deadline a publish reaches B and C (C gets every
 *     message from the first successful one on);
 *   - churn: 30 subscribers in turn subscribe, receive, and leave (each
 *     created while the previous one still exists, so they alternate
 *     between node slots): every one of them gets its message within the
 *     reclaim deadline.  Transient RPC_ENOSPC results while a departed
 *     subscriber's queue waits to be collected are counted and logged.
 */
#include "psutil.h"

#include <string.h>

#define G "q"

static int got_a, got_b, got_c;

static void on_count(rpc_node *node, const rpc_message *m, void *user)
{
    (void)node;
    (void)m;
    ++*(int *)user;
}

static void drain(rpc_node *n)
{
    int rc;
    while ((rc = rpc_node_poll(n, 0)) > 0)
        ;
    ASSERT_RC(rc, 0);
}

/* Publish until it reaches everybody (0) or the deadline passes; returns
 * the number of RPC_ENOSPC results before that, -1 on timeout. */
static int publish_until_room(rpc_node *p, rpc_node *const *drain_these, int n_drain,
                              int *last_rc)
{
    int64_t deadline = tu_now_ms() + tu_reclaim_deadline_ms() * ps_slow_factor();
    int nospc = 0;
    for (;;) {
        int rc = rpc_publish(p, G, "t", "m", 1, RPC_NO_WAIT);
        *last_rc = rc;
        if (rc == 0)
            return nospc;
        ASSERT_MSG(rc == RPC_ENOSPC, "publish: %s", tu_errname(rc));
        nospc++;
        for (int i = 0; i < n_drain; i++)
            drain(drain_these[i]);
        if (tu_now_ms() > deadline)
            return -1;
        tu_sleep_ms(10);
    }
}

int main(void)
{
    const char *name;
    rpc_config *cfg;
    rpc_node *p = NULL, *a = NULL, *b = NULL, *c = NULL;
    rpc_node_stats st;
    int nospc, rc, churn_nospc = 0;

    ps_init("ps_queues");
    name = ps_shm_name("q");
    cfg = tu_config(name);
    ps_config_mode(cfg, RPC_RECEIVE_MANUAL, 0);
    ASSERT_OK(rpc_config_set_max_msg_size(cfg, 1024));
    ASSERT_OK(rpc_config_set_queue_size(cfg, 8192));
    /* The smallest valid segment: tables and exactly two queues. */
    ASSERT_OK(rpc_config_set_shm_size(cfg, rpc_config_required_shm_size(cfg)));

    ASSERT_OK(rpc_node_create(cfg, "P", &p));
    ASSERT_OK(rpc_node_create(cfg, "A", &a));
    ASSERT_OK(rpc_node_create(cfg, "B", &b));
    ASSERT_OK(rpc_node_create(cfg, "C", &c));
    ASSERT_OK(rpc_subscribe(a, G, "t", on_count, &got_a));
    ASSERT_OK(rpc_subscribe(b, G, "t", on_count, &got_b));
    ASSERT_OK(rpc_publish(p, G, "t", "m", 1, RPC_NO_WAIT));
    drain(a);
    drain(b);
    ASSERT_EQ(got_a, 1);
    ASSERT_EQ(got_b, 1);

    /* A third subscriber needs a third queue: there is none. */
    ASSERT_OK(rpc_subscribe(c, G, "t", on_count, &got_c));
    ASSERT_RC(rpc_publish(p, G, "t", "m", 1, RPC_NO_WAIT), RPC_ENOSPC);
    ASSERT_MSG(rpc_errdetail()[0] != '\0', "no detail for RPC_ENOSPC");
    drain(a);
    drain(b);
    drain(c);
    ASSERT_EQ(got_a, 2);
    ASSERT_EQ(got_b, 2);
    ASSERT_EQ(got_c, 0);
    ASSERT_OK(rpc_node_get_stats(p, &st));
    ASSERT_EQ(st.published, 2);
    ASSERT_EQ(st.delivered, 4);

    /* A leaves: its queue must come back for C. */
    ASSERT_OK(rpc_node_destroy(a));
    {
        rpc_node *dr[2] = {b, c};
        nospc = publish_until_room(p, dr, 2, &rc);
        ASSERT_MSG(nospc >= 0, "the queue of a subscriber that left was never reused: "
                   "publishing to C still fails with %s after %d ms", tu_errname(rc),
                   tu_reclaim_deadline_ms() * ps_slow_factor());
        if (nospc > 0)
            tu_log("after A left: %d RPC_ENOSPC before its queue was reused", nospc);
    }
    drain(b);
    drain(c);
    ASSERT_EQ(got_c, 1);

    /* Churn: each newcomer arrives before its predecessor leaves. */
    for (int i = 0; i < 30; i++) {
        rpc_node *next = NULL, *dr[2];
        int got = 0;
        char nm[16];
        snprintf(nm, sizeof nm, "churn%d", i);
        ASSERT_OK(rpc_node_create(cfg, nm, &next));
        ASSERT_OK(rpc_node_destroy(c));   /* frees a queue (eventually) */
        c = NULL;
        ASSERT_OK(rpc_subscribe(next, G, "t", on_count, &got));
        dr[0] = b;
        dr[1] = next;
        nospc = publish_until_room(p, dr, 2, &rc);
        ASSERT_MSG(nospc >= 0, "churn %d: publishing still fails with %s after %d ms", i,
                   tu_errname(rc), tu_reclaim_deadline_ms() * ps_slow_factor());
        churn_nospc += nospc;
        drain(next);
        ASSERT_MSG(got == 1, "churn %d: the new subscriber got %d messages", i, got);
        c = next;
        got_c = 0;
        ASSERT_OK(rpc_unsubscribe(c, G, "t"));   /* its callback counter goes */
    }
    tu_log("churn: 30 subscribers served; %d transient RPC_ENOSPC on the way", churn_nospc);
    drain(b);

    ASSERT_OK(rpc_node_destroy(c));
    ASSERT_OK(rpc_node_destroy(b));
    ASSERT_OK(rpc_node_destroy(p));
    rpc_config_destroy(cfg);
    return tu_done();
}
