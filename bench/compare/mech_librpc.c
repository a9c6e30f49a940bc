/*
 * mech_librpc.c - librpc's ends for bench_compare: a spinning receiver
 * (spin_us -1), a sleeping one (spin_us 0) and the default adaptive mode
 * (RPC_DEFAULT_SPIN_US), in every mode of cmp.h.
 *
 * Every end is a node of its own in the domain j->name, created fresh for
 * each measurement; the last node out removes the segment, and finish()
 * checks in the coordinator that it is gone.
 *
 * Latency: A publishes "ping" k; B's callback copies the payload out,
 * checks it and publishes its copy on "pong"; A's callback copies the pong
 * out, checks it, takes the time and publishes ping k+1.  The exchange
 * runs in the receive threads' callbacks; the main threads sleep until
 * "done".
 *
 * Throughput, rate: A publishes on "data" from a manual node (it receives
 * nothing, so it needs no receive thread) with RPC_WAIT_FOREVER: a full
 * queue makes it wait, nothing is dropped.  Every B checks librpc's
 * sequence number and the payload of each message and copies it out.
 * When a B has its last message it counts itself finished in the shared
 * block's scratch area; A waits for all of them before it leaves, since
 * a publisher that leaves early would abandon what its queues still hold.
 *
 * Segment shape: the library's defaults (64 KiB largest message, 256 KiB
 * per queue) up to 64 KiB payloads; above, the largest message is the
 * payload and each queue holds four of them (1 MiB: 4 MiB queues), in a
 * segment with room for every queue of the measurement.
 */
#define _GNU_SOURCE
#include "cmp.h"

#include <librpc/librpc.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define GROUP "cmp"

enum { V_SPIN, V_SLEEP, V_DEFAULT };

/* One end's state; callbacks get it as their user pointer. */
struct end {
    const struct cmp_job *j;
    struct cmp_end_result *res;
    rpc_node *node;
    unsigned char *out, *in;    /* payload copied in from / out to here */
    uint64_t k;                 /* round trips done / messages handled */
    uint64_t total;             /* warm + count */
    uint64_t t_sent;            /* latency: clock before the last ping */
    uint64_t cpu0, wall0, pre0; /* at the start of the timed phase */
    int count_preempt;          /* read the switch count at the phase marks */
};

_Static_assert(offsetof(struct cmp_shared, scratch) % sizeof(uint32_t) == 0,
               "scratch holds a futex word");

/* Subscribers that have taken their last message (a futex word). */
static _Atomic uint32_t *finished_word(const struct cmp_job *j)
{
    return (_Atomic uint32_t *)(void *)j->sh->scratch;
}

static int spin_us(const struct cmp_job *j)
{
    switch (j->m->variant) {
    case V_SPIN:
        return -1;
    case V_SLEEP:
        return 0;
    default:
        return RPC_DEFAULT_SPIN_US;
    }
}

static int lib_error(const struct cmp_job *j, const char *what, int rc)
{
    return cmp_error(j->sh, "librpc %s: %s (%s)", what, rpc_strerror(rc), rpc_errdetail());
}

/* The queue size for a payload: the library's default up to its default
 * largest message; beyond, the next power of two that holds four. */
static size_t queue_for(size_t size)
{
    size_t q = RPC_DEFAULT_QUEUE_SIZE;
    if (size <= RPC_DEFAULT_MAX_MSG_SIZE)
        return q;
    while (q < 4 * size)
        q <<= 1;
    return q;
}

/* Shape the segment for large messages: queue first (it must hold two of
 * the largest), then the largest message, and room for every queue of
 * the measurement (two for a ping-pong, one per subscriber otherwise). */
static int shape_for_size(rpc_config *cfg, const struct cmp_job *j)
{
    size_t q = queue_for(j->size);
    size_t queues = j->mode == CMP_LATENCY ? 2 : j->nsubs;
    size_t seg = RPC_DEFAULT_SHM_SIZE;
    int rc;
    if (j->size <= RPC_DEFAULT_MAX_MSG_SIZE)
        return 0;
    if (seg < 2 * (queues + 1) * q)
        seg = 2 * (queues + 1) * q;
    if ((rc = rpc_config_set_shm_size(cfg, seg)) == 0 &&
        (rc = rpc_config_set_queue_size(cfg, q)) == 0)
        rc = rpc_config_set_max_msg_size(cfg, j->size);
    return rc;
}

static int make_node(const struct cmp_job *j, const char *name, int manual, rpc_node **out)
{
    rpc_config *cfg = NULL;
    int rc = rpc_config_create(&cfg);
    if (rc == 0)
        rc = rpc_config_set_shm_name(cfg, j->name);
    if (rc == 0)
        rc = rpc_config_set_spin_us(cfg, spin_us(j));
    if (rc == 0)
        rc = rpc_config_set_receive_mode(cfg, manual ? RPC_RECEIVE_MANUAL : RPC_RECEIVE_THREAD);
    if (rc == 0)
        rc = shape_for_size(cfg, j);
    if (rc == 0)
        rc = rpc_node_create(cfg, name, out);
    rpc_config_destroy(cfg);
    return rc == 0 ? 0 : lib_error(j, "node set-up", rc);
}

static int publish(struct end *e, const char *topic, const void *data)
{
    int rc = rpc_publish(e->node, GROUP, topic, data, e->j->size, RPC_WAIT_FOREVER);
    return rc == 0 ? 0 : lib_error(e->j, "rpc_publish", rc);
}

/* Copy the payload out and check that it is message k.  0 or -1. */
static int take(struct end *e, const rpc_message *m, uint64_t k)
{
    if (m->size != e->j->size)
        return cmp_error(e->j->sh, "librpc: message %llu has %zu bytes, expected %zu",
                         (unsigned long long)k, m->size, e->j->size);
    memcpy(e->in, m->data, m->size);
    if (!cmp_check(e->in, e->j->size, k))
        return cmp_error(e->j->sh, "librpc: message %llu arrived with a wrong payload",
                         (unsigned long long)k);
    return 0;
}

/* The timed phase runs from message (round trip) `warm` to the last: at
 * both ends of it note the clocks, the process's CPU time and the working
 * thread's involuntary switches.  Called between messages only. */
static void phase_begin(struct end *e)
{
    uint64_t now = cmp_now();
    atomic_store(&e->res->t0, now);
    e->wall0 = now;
    e->cpu0 = cmp_cpu_ns();
    e->pre0 = e->count_preempt ? cmp_preempt_count() : 0;
}

static void phase_end(struct end *e)
{
    uint64_t now = cmp_now();
    atomic_store(&e->res->t1, now);
    atomic_store(&e->res->wall_ns, now - e->wall0);
    atomic_store(&e->res->cpu_ns, cmp_cpu_ns() - e->cpu0);
    if (e->count_preempt)
        atomic_store(&e->res->preemptions, cmp_preempt_count() - e->pre0);
}

static void mark(struct end *e, uint64_t k)
{
    if (k == e->j->warm)
        phase_begin(e);
    if (k == e->total)
        phase_end(e);
}

/* ---- latency ---- */

static void send_ping(struct end *e)
{
    cmp_stamp(e->out, e->j->size, e->k);
    e->t_sent = cmp_now();
    (void)publish(e, "ping", e->out);
}

static void on_pong(rpc_node *n, const rpc_message *m, void *user)
{
    struct end *e = user;
    uint64_t t;
    (void)n;
    if (cmp_is_done(e->j->sh) || take(e, m, e->k) != 0)
        return;
    t = cmp_now();   /* after the copy out, as for every mechanism */
    if (e->k >= e->j->warm)
        e->j->samples[e->k - e->j->warm] = t - e->t_sent;
    mark(e, ++e->k);
    if (e->k == e->total)
        cmp_set_done(e->j->sh);
    else
        send_ping(e);
}

static void on_ping(rpc_node *n, const rpc_message *m, void *user)
{
    struct end *e = user;
    (void)n;
    if (cmp_is_done(e->j->sh) || take(e, m, e->k) != 0)
        return;
    (void)publish(e, "pong", e->in);   /* the copy we took, copied in again */
    e->k++;
}

/* ---- throughput and rate ---- */

static void on_data(rpc_node *n, const rpc_message *m, void *user)
{
    struct end *e = user;
    uint64_t k = ++e->k;
    (void)n;
    if (cmp_is_done(e->j->sh))
        return;
    if (m->seq != k) {
        cmp_error(e->j->sh, "librpc: message %llu arrived as number %llu",
                  (unsigned long long)m->seq, (unsigned long long)k);
        return;
    }
    if (take(e, m, k) != 0)
        return;
    mark(e, k);
    if (k == e->total) {
        atomic_fetch_add(finished_word(e->j), 1);
        cmp_futex_wake(finished_word(e->j), 1);
    }
}

/* Messages 1..total, paced to rate_hz in CMP_RATE (absolute deadlines, so
 * a late message does not shift the ones after it). */
static void publish_all(struct end *e)
{
    uint64_t period = e->j->mode == CMP_RATE ? (uint64_t)(1e9 / e->j->rate_hz) : 0;
    uint64_t start = cmp_now(), k;
    for (k = 1; k <= e->total && !cmp_is_done(e->j->sh); k++) {
        if (period != 0)
            cmp_sleep_until(start + (k - 1) * period);
        cmp_stamp(e->out, e->j->size, k);
        if (publish(e, "data", e->out) != 0)
            break;
        mark(e, k);
    }
}

/* Until every subscriber has its last message (or the run failed); then
 * the measurement is over for all. */
static void wait_subscribers(const struct cmp_job *j)
{
    _Atomic uint32_t *w = finished_word(j);
    uint32_t v;
    while ((v = atomic_load(w)) < j->nsubs && !cmp_is_done(j->sh))
        cmp_futex_wait(w, v, 100000000);
    cmp_set_done(j->sh);
}

/* ---- idle ---- */

/* Set up, no traffic: the phase is count milliseconds of waiting. */
static void idle(struct end *e)
{
    phase_begin(e);
    (void)cmp_wait_done(e->j->sh, e->j->count * 1000000u);
    phase_end(e);
}

/* ---- one end ---- */

/* Create the node, subscribe (topic NULL: none), meet the others, do the
 * end's part, tear down. */
static int run_end(const struct cmp_job *j, int is_a, const char *topic, rpc_message_cb cb)
{
    int manual = is_a && j->mode != CMP_LATENCY;
    char name[32];
    struct end e;
    int rc;
    memset(&e, 0, sizeof e);
    e.j = j;
    e.res = is_a ? &j->sh->pub : &j->sh->sub[j->sub_id];
    e.total = j->warm + j->count;
    /* Only where speed is measured: reading the count costs CPU time (the
     * CPU modes measure that), and in B of a ping-pong it would delay the
     * next ping. */
    e.count_preempt = j->mode == CMP_THROUGHPUT || (is_a && j->mode == CMP_LATENCY);
    e.out = calloc(1, j->size + 1);
    e.in = calloc(1, j->size + 1);
    if (is_a)
        snprintf(name, sizeof name, "cmp-pub");
    else
        snprintf(name, sizeof name, "cmp-sub%u", j->sub_id);
    if (e.out == NULL || e.in == NULL)
        rc = cmp_error(j->sh, "librpc: out of memory");
    else
        rc = make_node(j, name, manual, &e.node);
    if (rc == 0 && topic != NULL && (rc = rpc_subscribe(e.node, GROUP, topic, cb, &e)) != 0)
        rc = lib_error(j, "rpc_subscribe", rc);
    if (rc == 0 && cmp_barrier(j->sh) != 0)
        rc = cmp_error(j->sh, "librpc: the other ends did not start");
    if (rc == 0 && j->mode == CMP_IDLE) {
        idle(&e);
    } else if (rc == 0 && is_a && j->mode != CMP_LATENCY) {
        publish_all(&e);
        wait_subscribers(j);
    } else if (rc == 0) {
        if (is_a)
            send_ping(&e);
        (void)cmp_wait_done(j->sh, UINT64_MAX);
    }
    if (e.node != NULL && (rc = rpc_node_destroy(e.node)) != 0)
        lib_error(j, "rpc_node_destroy", rc);
    free(e.out);
    free(e.in);
    return atomic_load(&j->sh->errors) == 0 ? 0 : -1;
}

static int lib_pub(const struct cmp_job *j)
{
    if (j->mode == CMP_LATENCY)
        return run_end(j, 1, "pong", on_pong);
    return run_end(j, 1, NULL, NULL);
}

static int lib_sub(const struct cmp_job *j)
{
    if (j->mode == CMP_LATENCY)
        return run_end(j, 0, "ping", on_ping);
    return run_end(j, 0, "data", on_data);
}

/* The segment must be gone once every end left; remove it (and fail the
 * measurement) if not. */
static void lib_finish(struct cmp_job *j)
{
    int fd = shm_open(j->name, O_RDONLY, 0);
    if (fd < 0 && errno == ENOENT)
        return;
    if (fd >= 0)
        close(fd);
    shm_unlink(j->name);
    cmp_error(j->sh, "librpc: segment %s outlived its nodes", j->name);
}

#define ALL_MODES ((1u << CMP_LATENCY) | (1u << CMP_THROUGHPUT) | (1u << CMP_RATE) | (1u << CMP_IDLE))

const struct cmp_mech cmp_librpc_mechs[] = {
    { "librpc-spin", "librpc spin (spin_us -1)", V_SPIN, ALL_MODES, 16u << 20, 0, NULL,
      lib_finish, lib_pub, lib_sub },
    { "librpc-sleep", "librpc sleep (spin_us 0)", V_SLEEP, ALL_MODES, 16u << 20, 0, NULL,
      lib_finish, lib_pub, lib_sub },
    { "librpc-default", "librpc default (spin 50 µs, then sleep)", V_DEFAULT, ALL_MODES,
      16u << 20, 0, NULL, lib_finish, lib_pub, lib_sub },
    { 0 }
};
