/*
 * bp_librpc.c - the two ends of a librpc measurement.
 *
 * Latency: A publishes "ping" k; B's callback copies the payload out,
 * checks its stamp and publishes it back on "pong"; A's callback takes the
 * time, checks, and publishes ping k+1.  After the first ping the whole
 * exchange runs in callbacks: on the receive threads (RPC_RECEIVE_THREAD),
 * or inside each end's rpc_node_poll(node, 0) loop (RPC_RECEIVE_MANUAL).
 * A round trip is timed from just before rpc_publish() to the entry of the
 * callback that brings the answer.
 *
 * Throughput: A publishes warm + count messages on "data" with
 * RPC_WAIT_FOREVER (back-pressure, nothing dropped).  B's callback checks
 * librpc's sequence number and the payload's stamps of every message and
 * copies the payload out; it reads the clock at message `warm` and at the
 * last one.
 *
 * Cost: both nodes in one process and one thread, so no cache line changes
 * hands between cores: what remains is the instructions' own cost per
 * rpc_publish and per message received.
 */
#include "bp.h"

#include <librpc/librpc.h>

#include <stdlib.h>
#include <string.h>

/* One end's state; callbacks get it as their user pointer. */
struct end {
    const struct bp_job *j;
    rpc_node *node;
    unsigned char *out, *in;    /* payload copied in from / out to here */
    uint64_t k;                 /* round trips done / messages received */
    uint64_t total;             /* warm + count */
    uint64_t t_sent;            /* latency: clock before the last ping */
    uint64_t preempt0;          /* involuntary switches when timing began */
};

/* Called by the working thread after each message: the timed phase runs
 * from message `warm` to the last one. */
static void phase(struct end *e, uint64_t done_count)
{
    if (done_count == e->j->warm)
        e->preempt0 = bp_preempt_begin();
    else if (done_count == e->total)
        bp_preempt_end(e->j->sh, e->preempt0);
}

static int lib_error(const struct bp_job *j, const char *what, int rc)
{
    return bp_error(j->sh, "librpc %s: %s (%s)", what, rpc_strerror(rc), rpc_errdetail());
}

static int make_node(const struct bp_job *j, const char *name, int manual, rpc_node **out)
{
    rpc_config *cfg = NULL;
    int rc = rpc_config_create(&cfg);
    if (rc == 0)
        rc = rpc_config_set_shm_name(cfg, j->shm_name);
    if (rc == 0)
        rc = rpc_config_set_spin_us(cfg, j->m->spin_us);
    if (rc == 0)
        rc = rpc_config_set_receive_mode(cfg, manual ? RPC_RECEIVE_MANUAL : RPC_RECEIVE_THREAD);
    /* A smaller queue needs a smaller largest message first. */
    if (rc == 0 && j->queue_size != 0 && (rc = rpc_config_set_max_msg_size(cfg, j->size)) == 0)
        rc = rpc_config_set_queue_size(cfg, j->queue_size);
    if (rc == 0)
        rc = rpc_node_create(cfg, name, out);
    rpc_config_destroy(cfg);
    return rc == 0 ? 0 : lib_error(j, "node set-up", rc);
}

static int publish(struct end *e, const char *topic, const void *data)
{
    int rc = rpc_publish(e->node, BP_GROUP, topic, data, e->j->size, RPC_WAIT_FOREVER);
    return rc == 0 ? 0 : lib_error(e->j, "rpc_publish", rc);
}

/* Copy the payload out and check that it is message k.  0 or -1. */
static int take(struct end *e, const rpc_message *m, uint64_t k)
{
    if (m->size != e->j->size)
        return bp_error(e->j->sh, "librpc: message %llu has %zu bytes, expected %zu",
                        (unsigned long long)k, m->size, e->j->size);
    memcpy(e->in, m->data, m->size);
    if (!bp_check(e->in, e->j->size, k))
        return bp_error(e->j->sh, "librpc: message %llu arrived with a wrong payload",
                        (unsigned long long)k);
    return 0;
}

/* ---- latency ---- */

static void send_ping(struct end *e)
{
    bp_stamp(e->out, e->j->size, e->k);
    e->t_sent = bp_now();
    (void)publish(e, "ping", e->out);
}

static void on_pong(rpc_node *n, const rpc_message *m, void *user)
{
    struct end *e = user;
    uint64_t t = bp_now();
    (void)n;
    if (bp_is_done(e->j->sh) || take(e, m, e->k) != 0)
        return;
    if (e->k >= e->j->warm)
        e->j->samples[e->k - e->j->warm] = t - e->t_sent;
    phase(e, ++e->k);
    if (e->k == e->total)
        bp_set_done(e->j->sh);
    else
        send_ping(e);
}

static void on_ping(rpc_node *n, const rpc_message *m, void *user)
{
    struct end *e = user;
    (void)n;
    if (bp_is_done(e->j->sh) || take(e, m, e->k) != 0)
        return;
    (void)publish(e, "pong", e->in);   /* the copy we took, copied in again */
    phase(e, ++e->k);
}

/* ---- throughput ---- */

static void on_data(rpc_node *n, const rpc_message *m, void *user)
{
    struct end *e = user;
    uint64_t k = ++e->k;
    (void)n;
    if (bp_is_done(e->j->sh))
        return;
    if (m->seq != k) {
        bp_error(e->j->sh, "librpc: message %llu arrived as number %llu",
                 (unsigned long long)m->seq, (unsigned long long)k);
        return;
    }
    if (take(e, m, k) != 0)
        return;
    if (k == e->j->warm)
        atomic_store(&e->j->sh->t0, bp_now());
    if (k == e->total)
        atomic_store(&e->j->sh->t1, bp_now());
    phase(e, k);
    if (k == e->total)
        bp_set_done(e->j->sh);
}

static void publish_all(struct end *e)
{
    uint64_t i;
    for (i = 1; i <= e->total && !bp_is_done(e->j->sh); i++) {
        bp_stamp(e->out, e->j->size, i);
        if (publish(e, "data", e->out) != 0)
            break;
        phase(e, i);
    }
}

/* ---- one end ---- */

/* Run until the measurement is over: in the caller's poll loop for a
 * manual node, else asleep while the receive thread works. */
static void run_until_done(struct end *e, int manual)
{
    if (!manual) {
        (void)bp_wait_done(e->j->sh, UINT64_MAX);
        return;
    }
    while (!bp_is_done(e->j->sh)) {
        int rc = rpc_node_poll(e->node, 0);
        if (rc < 0) {
            lib_error(e->j, "rpc_node_poll", rc);
            break;
        }
    }
}

/* Create the node, subscribe (topic NULL: none), meet the other end, do
 * the end's part, tear down.  A throughput publisher receives nothing, so
 * it gets no receive thread: one spinning on its CPU would take half of
 * the publisher's time. */
static int run_end(const struct bp_job *j, const char *name, const char *topic,
                   rpc_message_cb cb, int is_a)
{
    int manual = j->m->manual || (is_a && j->mode == BP_THROUGHPUT);
    struct end e;
    int rc;
    memset(&e, 0, sizeof e);
    e.j = j;
    e.total = j->warm + j->count;
    e.out = calloc(1, j->size + 1);
    e.in = calloc(1, j->size + 1);
    if (e.out == NULL || e.in == NULL)
        rc = bp_error(j->sh, "out of memory");
    else
        rc = make_node(j, name, manual, &e.node);
    if (rc == 0 && topic != NULL && (rc = rpc_subscribe(e.node, BP_GROUP, topic, cb, &e)) != 0)
        rc = lib_error(j, "rpc_subscribe", rc);
    if (rc == 0 && bp_barrier(j->sh, BP_SETUP_TIMEOUT_NS) != 0)
        rc = bp_error(j->sh, "librpc: the other end did not start");
    if (rc == 0) {
        if (is_a && j->mode == BP_LATENCY)
            send_ping(&e);
        else if (is_a)
            publish_all(&e);
        run_until_done(&e, manual);
    }
    if (e.node != NULL && (rc = rpc_node_destroy(e.node)) != 0)
        lib_error(j, "rpc_node_destroy", rc);
    free(e.out);
    free(e.in);
    return atomic_load(&j->sh->errors) == 0 ? 0 : -1;
}

int bp_librpc_a(const struct bp_job *j)
{
    if (j->mode == BP_LATENCY)
        return run_end(j, "bench-ping", "pong", on_pong, 1);
    return run_end(j, "bench-pub", NULL, NULL, 1);
}

int bp_librpc_b(const struct bp_job *j)
{
    if (j->mode == BP_LATENCY)
        return run_end(j, "bench-pong", "ping", on_ping, 0);
    return run_end(j, "bench-sub", "data", on_data, 0);
}

/* ---- CPU cost per message, one thread ---- */

static void on_cost(rpc_node *n, const rpc_message *m, void *user)
{
    struct end *e = user;
    (void)n;
    (void)take(e, m, e->k++);
}

static int cost_publish(struct end *pub)
{
    bp_stamp(pub->out, pub->j->size, pub->k++);
    return publish(pub, "cost", pub->out);
}

/* Poll until the subscriber has taken `want` messages in all. */
static int cost_receive(struct end *sub, uint64_t want)
{
    while (sub->k < want) {
        int rc = rpc_node_poll(sub->node, 0);
        if (rc < 0)
            return lib_error(sub->j, "rpc_node_poll", rc);
        if (rc == 0 || atomic_load(&sub->j->sh->errors) != 0)
            return bp_error(sub->j->sh, "cost: published messages did not arrive");
    }
    return 0;
}

/* Publish a batch, then poll it in; then as many one at a time.  The
 * samples get the three durations. */
static int cost_batch(struct end *pub, struct end *sub, uint64_t b)
{
    const struct bp_job *j = pub->j;
    uint64_t t0, t1, t2, t3, i;
    t0 = bp_now();
    for (i = 0; i < BP_COST_BATCH; i++)
        if (cost_publish(pub) != 0)
            return -1;
    t1 = bp_now();
    if (cost_receive(sub, sub->k + BP_COST_BATCH) != 0)
        return -1;
    t2 = bp_now();
    for (i = 0; i < BP_COST_BATCH; i++)
        if (cost_publish(pub) != 0 || cost_receive(sub, sub->k + 1) != 0)
            return -1;
    t3 = bp_now();
    if (b < j->count) {
        j->samples[b] = t1 - t0;
        j->samples[j->count + b] = t2 - t1;
        j->samples[2 * j->count + b] = t3 - t2;
    }
    return 0;
}

int bp_librpc_cost(const struct bp_job *j)
{
    struct end pub, sub;
    uint64_t b;
    int rc;
    memset(&pub, 0, sizeof pub);
    memset(&sub, 0, sizeof sub);
    pub.j = sub.j = j;
    pub.out = calloc(1, j->size + 1);
    sub.in = calloc(1, j->size + 1);
    if (pub.out == NULL || sub.in == NULL)
        rc = bp_error(j->sh, "out of memory");
    else if ((rc = make_node(j, "cost-sub", 1, &sub.node)) == 0 &&
             (rc = make_node(j, "cost-pub", 1, &pub.node)) == 0 &&
             (rc = rpc_subscribe(sub.node, BP_GROUP, "cost", on_cost, &sub)) != 0)
        rc = lib_error(j, "rpc_subscribe", rc);
    /* The first j->warm batches fault the queue in and warm the caches. */
    for (b = 0; rc == 0 && b < j->warm + j->count; b++)
        rc = cost_batch(&pub, &sub, b < j->warm ? UINT64_MAX : b - j->warm);
    if (pub.node != NULL && rpc_node_destroy(pub.node) != 0)
        rc = bp_error(j->sh, "cost: rpc_node_destroy failed");
    if (sub.node != NULL && rpc_node_destroy(sub.node) != 0)
        rc = bp_error(j->sh, "cost: rpc_node_destroy failed");
    free(pub.out);
    free(sub.in);
    return rc;
}
