/*
 * test_ps_topics.c - one node with 1000 subscriptions, fed from another
 * process.
 *
 * The test process's node subscribes to topics "t0".."t999" of group
 * "many", each with its own user pointer, plus ("other", "t5") with a
 * different callback.  A publisher process sends 1 + i % 3 messages on
 * topic "t<i>" (payload: the topic number and a counter), then messages on
 * 100 topics nobody subscribed to, then a marker on ("many", "end"); the
 * marker travels through the same queue, so when it has been received every
 * message before it has been handled.  Asserted:
 *   - each callback ran exactly 1 + i % 3 times, only with its own topic's
 *     messages (group, topic and payload agree), in order;
 *   - ("other", "t5") got nothing, the unsubscribed topics nothing;
 *   - rpc_is_subscribed says 1 for all 1000;
 *   - the node's received counter equals the callbacks run.
 * Then the even topics are unsubscribed and a second publisher process does
 * the same again: only the odd topics' counts grow, by 1 + i % 3 each.
 */
#include "psutil.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define GROUP "many"
#define TOPICS 1000

struct topic_state {
    int index;
    uint64_t count;      /* callbacks run, phases added up */
    uint32_t last_j[3];  /* last counter seen from publisher "pub<phase>" */
    uint64_t errors;
};

struct payload {
    uint32_t topic;
    uint32_t j;
};

static struct topic_state topics[TOPICS];
static const char *shm;
static uint64_t stray, bad;
static _Atomic int marker;
static tu_gate go[2];

static void on_topic(rpc_node *node, const rpc_message *m, void *user)
{
    struct topic_state *ts = user;
    struct payload p;
    char want[16];
    int phase = ps_pub_id(m->publisher);
    (void)node;
    if (phase < 1 || phase > 2) {
        ts->errors++;
        return;
    }
    snprintf(want, sizeof want, "t%d", ts->index);
    if (m->size != sizeof p || strcmp(m->group, GROUP) != 0 || strcmp(m->topic, want) != 0) {
        ts->errors++;
        return;
    }
    memcpy(&p, m->data, sizeof p);
    if (p.topic != (uint32_t)ts->index || p.j != ts->last_j[phase] + 1)
        ts->errors++;
    ts->last_j[phase] = p.j;
    ts->count++;
}

static void on_other(rpc_node *node, const rpc_message *m, void *user)
{
    (void)node;
    (void)m;
    (void)user;
    stray++;
}

static void on_end(rpc_node *node, const rpc_message *m, void *user)
{
    int v = 0;
    (void)node;
    (void)user;
    if (m->size == sizeof v)
        memcpy(&v, m->data, sizeof v);
    else
        bad++;
    atomic_store_explicit(&marker, v, memory_order_release);
}

/* The publisher process of phase `phase` (1 or 2). */
static void publisher(int phase)
{
    rpc_config *cfg;
    rpc_node *node = NULL;
    char name[16], topic[16];
    tu_gate_wait(&go[phase - 1]);
    cfg = tu_config(shm);
    ps_config_mode(cfg, RPC_RECEIVE_MANUAL, 0);
    snprintf(name, sizeof name, "pub%d", phase);
    ASSERT_OK(rpc_node_create(cfg, name, &node));
    for (int i = 0; i < TOPICS; i++) {
        snprintf(topic, sizeof topic, "t%d", i);
        for (uint32_t j = 1; j <= (uint32_t)(1 + i % 3); j++) {
            struct payload p = {(uint32_t)i, j};
            ASSERT_OK(rpc_publish(node, GROUP, topic, &p, sizeof p, 20000));
        }
    }
    for (int i = 0; i < 100; i++) {
        snprintf(topic, sizeof topic, "x%d", i);
        ASSERT_OK(rpc_publish(node, GROUP, topic, &i, sizeof i, 20000));
    }
    ASSERT_OK(rpc_publish(node, GROUP, "end", &phase, sizeof phase, 20000));
    ASSERT_OK(rpc_node_destroy(node));
    rpc_config_destroy(cfg);
    exit(0);
}

static void run_phase(int phase, pid_t pid)
{
    int ok;
    tu_gate_open(&go[phase - 1], 1);
    TU_EXPECT_EXIT0(pid, tu_timeout_ms(60000));
    TU_WAIT_UNTIL(ok, atomic_load_explicit(&marker, memory_order_acquire) == phase,
                  tu_timeout_ms(30000));
    ASSERT_MSG(ok, "phase %d: the end marker never arrived", phase);
}

int main(void)
{
    rpc_config *cfg;
    rpc_node *node = NULL;
    rpc_node_stats st;
    pid_t pub[2];
    uint64_t total = 0;

    ps_init("ps_topics");
    shm = ps_shm_name("many");
    tu_gate_make(&go[0]);
    tu_gate_make(&go[1]);
    for (int i = 0; i < 2; i++)
        if ((pub[i] = tu_fork(0)) == 0)
            publisher(i + 1);

    cfg = tu_config(shm);
    ASSERT_OK(rpc_node_create(cfg, "many", &node));
    for (int i = 0; i < TOPICS; i++) {
        char topic[16];
        topics[i].index = i;
        snprintf(topic, sizeof topic, "t%d", i);
        ASSERT_OK(rpc_subscribe(node, GROUP, topic, on_topic, &topics[i]));
    }
    ASSERT_OK(rpc_subscribe(node, "other", "t5", on_other, NULL));
    ASSERT_OK(rpc_subscribe(node, GROUP, "end", on_end, NULL));
    for (int i = 0; i < TOPICS; i++) {
        char topic[16];
        snprintf(topic, sizeof topic, "t%d", i);
        ASSERT_EQ(rpc_is_subscribed(node, GROUP, topic), 1);
    }
    ASSERT_EQ(rpc_is_subscribed(node, GROUP, "x0"), 0);

    run_phase(1, pub[0]);
    /* The marker came after everything else on the queue: all ran. */
    for (int i = 0; i < TOPICS; i++) {
        ASSERT_MSG(topics[i].errors == 0, "t%d: %llu wrong messages", i,
                   (unsigned long long)topics[i].errors);
        ASSERT_MSG(topics[i].count == (uint64_t)(1 + i % 3), "t%d: %llu callbacks, want %d", i,
                   (unsigned long long)topics[i].count, 1 + i % 3);
        total += topics[i].count;
    }
    ASSERT_EQ(stray, 0);
    ASSERT_EQ(bad, 0);
    ASSERT_OK(rpc_node_get_stats(node, &st));
    ASSERT_EQ(st.received, total + 1);   /* + the marker */

    for (int i = 0; i < TOPICS; i += 2) {
        char topic[16];
        snprintf(topic, sizeof topic, "t%d", i);
        ASSERT_OK(rpc_unsubscribe(node, GROUP, topic));
        ASSERT_EQ(rpc_is_subscribed(node, GROUP, topic), 0);
    }
    run_phase(2, pub[1]);
    for (int i = 0; i < TOPICS; i++) {
        uint64_t want = (uint64_t)(1 + i % 3) * (i % 2 ? 2 : 1);
        ASSERT_MSG(topics[i].errors == 0, "t%d: %llu wrong messages", i,
                   (unsigned long long)topics[i].errors);
        ASSERT_MSG(topics[i].count == want, "t%d after unsubscribing the even ones: %llu "
                   "callbacks, want %llu", i, (unsigned long long)topics[i].count,
                   (unsigned long long)want);
    }
    ASSERT_EQ(stray, 0);
    ASSERT_OK(rpc_node_destroy(node));
    rpc_config_destroy(cfg);
    return tu_done();
}
