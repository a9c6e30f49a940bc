/*
 * mech_iceoryx.c - iceoryx 2.0 (Eclipse iceoryx, through its C binding) as
 * a bench_compare mechanism, in two rows:
 *
 *   iox-poll     the receiver spins on iox_sub_take_chunk() (busy-poll);
 *   iox-waitset  the receiver sleeps in iox_ws_timed_wait() on a WaitSet
 *                attached to its subscriber's HAS_DATA state.
 *
 * Every end is its own iceoryx application: iox_runtime_init() registers it
 * with RouDi (the daemon the coordinator starts, with roudi.toml) under a
 * name made from its pid.  The service is "cmp", the instance the
 * measurement's name (so consecutive measurements never meet), the event
 * "ping"/"pong" (latency) or "data" (the other modes).
 *
 * Same work as every mechanism: the sender stamps its own buffer and copies
 * it into a loaned chunk (iox_pub_loan_chunk + memcpy + publish); the
 * receiver copies the chunk out into its own buffer, releases the chunk and
 * checks the stamps.  Zero-copy use of iceoryx would skip both copies; the
 * harness measures the transport, not the copy avoidance.
 *
 * No message is dropped: publishers use ConsumerTooSlowPolicy
 * WAIT_FOR_CONSUMER and subscribers QueueFullPolicy BLOCK_PRODUCER, so a
 * publish into a full queue waits (iceoryx busy-waits with sched_yield()
 * inside iox_pub_publish_chunk until there is room).  Both options exist in the
 * 2.0.3 C binding.  The queue depth is 256 chunks (the 2.0 maximum) up to
 * 64 KiB and 16 above (see roudi.toml for the mempools this needs).  Each
 * receiver checks that message k arrives k-th, and that it lost nothing.
 *
 * Slow joiners: every end waits until its subscribers report SUBSCRIBED
 * and its publishers report subscribers before cmp_barrier().  RouDi adds
 * the subscriber's queue to the publisher before it acknowledges the
 * subscription, so after the barrier every publish reaches every queue.
 *
 * Ends: the last message is followed by an exit rendezvous (a counter in
 * sh->scratch) so that no end removes a port while a peer still reads it.
 * iceoryx 2.0's C binding has no call that unregisters the runtime: it
 * leaves RouDi in exit()'s destructors, and a process that ends with
 * _exit() is removed by RouDi's keep-alive monitor about 1.5 s later
 * (harmless here: every measurement has services of its own).
 *
 * Both rows run every mode; in the CPU modes (rate, idle) the busy-poll
 * receiver keeps spinning, which shows what busy-polling costs.
 */
#define _GNU_SOURCE
#include "cmp.h"

#ifdef CMP_HAVE_ICEORYX

#include <iceoryx_binding_c/log.h>
#include <iceoryx_binding_c/publisher.h>
/* runtime.h declares iox_runtime_shutdown() without (void). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <iceoryx_binding_c/runtime.h>
#pragma GCC diagnostic pop
#include <iceoryx_binding_c/subscriber.h>
#include <iceoryx_binding_c/wait_set.h>

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum { IOX_POLL, IOX_WAITSET };

#define IOX_SERVICE "cmp"
#define IOX_ID_MAX 100                  /* iceoryx 2.0 IdString_t / runtime name capacity */
#define IOX_ROUDI_SOCKET "/tmp/roudi"   /* RouDi's unix datagram socket (default id) */
#define IOX_SLICE_NS 100000000ll        /* re-check "done" at least this often */
#define IOX_SETUP_POLL_NS 1000000ll     /* 1 ms between connection checks */
#define IOX_MAX_SIZE ((size_t)1 << 20)  /* the largest mempool chunk in roudi.toml */

struct iox_end {
    const struct cmp_job *j;
    iox_pub_storage_t pub_mem;
    iox_sub_storage_t sub_mem;
    iox_ws_storage_t ws_mem;
    iox_pub_t pub;
    iox_sub_t sub;
    iox_ws_t ws;
    unsigned char *buf;
};

/* A timed phase of one end: clock, CPU and preemptions at its start. */
struct iox_phase {
    uint64_t t, cpu, pre;
};

/* Subscriber queue depth: the 2.0 maximum (256) while the mempools can
 * afford it, 16 for payloads above 64 KiB (16 MiB queued). */
static uint64_t iox_queue_depth(size_t size)
{
    return size > ((size_t)64 << 10) ? 16 : 256;
}

/* The exit rendezvous word: the number of ends that finished their part. */
static _Atomic uint32_t *iox_finished(const struct cmp_job *j)
{
    _Static_assert(offsetof(struct cmp_shared, scratch) % sizeof(uint32_t) == 0,
                   "scratch must hold an aligned counter");
    return (_Atomic uint32_t *)(void *)j->sh->scratch;
}

static void phase_begin(struct iox_phase *p)
{
    p->t = cmp_now();
    p->cpu = cmp_cpu_ns();
    p->pre = cmp_preempt_count();
}

static void phase_end(const struct iox_phase *p, struct cmp_end_result *r)
{
    uint64_t pre = cmp_preempt_count();
    atomic_store(&r->cpu_ns, cmp_cpu_ns() - p->cpu);
    atomic_store(&r->wall_ns, cmp_now() - p->t);
    atomic_store(&r->preemptions, pre - p->pre);
}

static void sleep_ns(long long ns)
{
    struct timespec ts = { (time_t)(ns / 1000000000ll), (long)(ns % 1000000000ll) };
    nanosleep(&ts, NULL);
}

/* iox_runtime_init() waits up to 60 s for RouDi and then aborts the
 * process; ask RouDi's socket first so that a missing daemon is an error
 * message instead. */
static int roudi_running(void)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int ok;
    if (fd < 0)
        return 0;
    snprintf(a.sun_path, sizeof a.sun_path, "%s", IOX_ROUDI_SOCKET);
    ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static int iox_open_runtime(const struct cmp_job *j)
{
    char app[IOX_ID_MAX];
    if (!roudi_running())
        return cmp_error(j->sh, "iceoryx: RouDi is not running (start iox-roudi -c roudi.toml)");
    iox_set_loglevel(Iceoryx_LogLevel_Warn);
    snprintf(app, sizeof app, "cmp-%ld", (long)getpid());
    iox_runtime_init(app);
    return 0;
}

/* The measurement's instance string: its name, cut to what iceoryx holds. */
static void iox_instance(const struct cmp_job *j, char *out, size_t cap)
{
    snprintf(out, cap < IOX_ID_MAX ? cap : IOX_ID_MAX, "%s", j->name);
}

static void iox_open_pub(struct iox_end *e, const char *event)
{
    char inst[IOX_ID_MAX];
    iox_pub_options_t o;
    iox_pub_options_init(&o);
    o.historyCapacity = 0;
    o.subscriberTooSlowPolicy = ConsumerTooSlowPolicy_WAIT_FOR_CONSUMER;
    iox_instance(e->j, inst, sizeof inst);
    e->pub = iox_pub_init(&e->pub_mem, IOX_SERVICE, inst, event, &o);
}

static int iox_open_sub(struct iox_end *e, const char *event)
{
    char inst[IOX_ID_MAX];
    iox_sub_options_t o;
    iox_sub_options_init(&o);
    o.queueCapacity = iox_queue_depth(e->j->size);
    o.historyRequest = 0;
    o.queueFullPolicy = QueueFullPolicy_BLOCK_PRODUCER;
    iox_instance(e->j, inst, sizeof inst);
    e->sub = iox_sub_init(&e->sub_mem, IOX_SERVICE, inst, event, &o);
    if (e->j->m->variant != IOX_WAITSET)
        return 0;
    e->ws = iox_ws_init(&e->ws_mem);
    if (iox_ws_attach_subscriber_state(e->ws, e->sub, SubscriberState_HAS_DATA, 0, NULL) !=
        WaitSetResult_SUCCESS)
        return cmp_error(e->j->sh, "iceoryx: cannot attach the subscriber to a WaitSet");
    return 0;
}

/* Wait until this end's subscriber is subscribed and its publisher has a
 * subscriber (whichever of them exist). */
static int iox_wait_connected(struct iox_end *e)
{
    uint64_t deadline = cmp_now() + CMP_SETUP_TIMEOUT_NS;
    for (;;) {
        int sub_ok = e->sub == NULL ||
                     iox_sub_get_subscription_state(e->sub) == SubscribeState_SUBSCRIBED;
        int pub_ok = e->pub == NULL || iox_pub_has_subscribers(e->pub);
        if (sub_ok && pub_ok)
            return 0;
        if (cmp_is_done(e->j->sh))
            return -1;
        if (cmp_now() > deadline)
            return cmp_error(e->j->sh, "iceoryx: %s not connected after 20 s",
                             sub_ok ? "publisher" : "subscriber");
        sleep_ns(IOX_SETUP_POLL_NS);
    }
}

static void iox_close(struct iox_end *e)
{
    if (e->ws != NULL) {
        if (e->sub != NULL)
            iox_ws_detach_subscriber_state(e->ws, e->sub, SubscriberState_HAS_DATA);
        iox_ws_deinit(e->ws);
    }
    if (e->sub != NULL)
        iox_sub_deinit(e->sub);
    if (e->pub != NULL)
        iox_pub_deinit(e->pub);
    free(e->buf);
    e->ws = NULL;
    e->sub = NULL;
    e->pub = NULL;
    e->buf = NULL;
}

/* Copy e->buf into a loaned chunk and publish it; the publish itself
 * waits while a subscriber's queue is full. */
static int iox_give(struct iox_end *e)
{
    size_t size = e->j->size;
    void *chunk = NULL;
    for (;;) {
        enum iox_AllocationResult r = iox_pub_loan_chunk(e->pub, &chunk, (uint32_t)size);
        if (r == AllocationResult_SUCCESS)
            break;
        if (r != AllocationResult_RUNNING_OUT_OF_CHUNKS)
            return cmp_error(e->j->sh, "iceoryx: loan of %zu bytes failed (%d)", size, (int)r);
        if (cmp_is_done(e->j->sh))
            return -1;
        sched_yield();  /* the mempool drains as receivers release chunks */
    }
    memcpy(chunk, e->buf, size);
    iox_pub_publish_chunk(e->pub, chunk);
    return 0;
}

/* Sleep (WaitSet) or spin (poll) until a chunk may be there. */
static int iox_wait_data(struct iox_end *e)
{
    if (cmp_is_done(e->j->sh))
        return -1;
    if (e->ws != NULL) {
        iox_notification_info_t info[1];
        uint64_t missed = 0;
        struct timespec slice = { 0, IOX_SLICE_NS };
        iox_ws_timed_wait(e->ws, slice, info, 1, &missed);
    }
    return 0;
}

/* Take message k: copy it out into e->buf, release the chunk, check it. */
static int iox_take(struct iox_end *e, uint64_t k)
{
    size_t size = e->j->size;
    const void *chunk = NULL;
    for (;;) {
        enum iox_ChunkReceiveResult r = iox_sub_take_chunk(e->sub, &chunk);
        if (r == ChunkReceiveResult_SUCCESS)
            break;
        if (r != ChunkReceiveResult_NO_CHUNK_AVAILABLE)
            return cmp_error(e->j->sh, "iceoryx: take failed (%d) before message %llu",
                             (int)r, (unsigned long long)k);
        if (iox_wait_data(e) != 0)
            return cmp_error(e->j->sh, "iceoryx: stopped while waiting for message %llu",
                             (unsigned long long)k);
    }
    memcpy(e->buf, chunk, size);
    iox_sub_release_chunk(e->sub, chunk);
    if (!cmp_check(e->buf, size, k)) {
        uint64_t got;
        memcpy(&got, e->buf, sizeof got);
        return cmp_error(e->j->sh, "iceoryx: expected message %llu, got %llu",
                         (unsigned long long)k, (unsigned long long)got);
    }
    return 0;
}

/* Count this end as finished and wait (bounded) for the others, so that
 * nobody's ports go away while a peer still reads from them. */
static void iox_exit_rendezvous(const struct cmp_job *j)
{
    _Atomic uint32_t *w = iox_finished(j);
    uint32_t n = atomic_load(&j->sh->nends), v;
    uint64_t deadline = cmp_now() + CMP_SETUP_TIMEOUT_NS;
    if (atomic_fetch_add(w, 1) + 1 >= n)
        cmp_futex_wake(w, CMP_MAX_SUBS + 1);
    while ((v = atomic_load(w)) < n && !cmp_is_done(j->sh) && cmp_now() < deadline)
        cmp_futex_wait(w, v, IOX_SLICE_NS);
}

/* Set up an end: runtime, ports, connection, buffer; then the barrier. */
static int iox_setup(struct iox_end *e, const struct cmp_job *j, const char *pub_event,
                     const char *sub_event)
{
    memset(e, 0, sizeof *e);
    e->j = j;
    if (j->size > IOX_MAX_SIZE)
        return cmp_error(j->sh, "iceoryx: %zu bytes exceed the largest mempool", j->size);
    if (iox_open_runtime(j) != 0)
        return -1;
    if (pub_event != NULL)
        iox_open_pub(e, pub_event);
    if (sub_event != NULL && iox_open_sub(e, sub_event) != 0)
        return -1;
    e->buf = calloc(1, j->size);
    if (e->buf == NULL)
        return cmp_error(j->sh, "iceoryx: out of memory");
    if (iox_wait_connected(e) != 0)
        return -1;
    return cmp_barrier(j->sh) == 0 ? 0 : cmp_error(j->sh, "iceoryx: barrier timed out");
}

/* ---- the modes, end A ---- */

static int pub_latency(struct iox_end *e)
{
    const struct cmp_job *j = e->j;
    uint64_t n = j->warm + j->count;
    for (uint64_t k = 0; k < n; k++) {
        cmp_stamp(e->buf, j->size, k);
        uint64_t t = cmp_now();
        if (iox_give(e) != 0 || iox_take(e, k) != 0)
            return -1;
        if (k >= j->warm)
            j->samples[k - j->warm] = cmp_now() - t;
    }
    return 0;
}

/* Throughput (rate_hz == 0) or paced rate: messages 1..warm+count. */
static int pub_stream(struct iox_end *e, double rate_hz)
{
    const struct cmp_job *j = e->j;
    struct cmp_end_result *r = &j->sh->pub;
    uint64_t n = j->warm + j->count;
    uint64_t period = rate_hz > 0 ? (uint64_t)(1e9 / rate_hz) : 0;
    uint64_t start = cmp_now();
    struct iox_phase ph;
    phase_begin(&ph);
    atomic_store(&r->t0, ph.t);
    for (uint64_t k = 1; k <= n; k++) {
        if (period != 0)
            cmp_sleep_until(start + (k - 1) * period);
        cmp_stamp(e->buf, j->size, k);
        if (iox_give(e) != 0)
            return -1;
        if (k == j->warm) {
            phase_begin(&ph);
            atomic_store(&r->t0, ph.t);
        }
    }
    atomic_store(&r->t1, cmp_now());
    phase_end(&ph, r);
    return 0;
}

/* Idle: no traffic for count ms; a publisher has nothing to wait on. */
static int pub_idle(struct iox_end *e)
{
    struct iox_phase ph;
    phase_begin(&ph);
    cmp_wait_done(e->j->sh, e->j->count * 1000000ull);
    phase_end(&ph, &e->j->sh->pub);
    return 0;
}

static int iox_pub_end(const struct cmp_job *j)
{
    struct iox_end e;
    int rc;
    int lat = j->mode == CMP_LATENCY;
    if (iox_setup(&e, j, lat ? "ping" : "data", lat ? "pong" : NULL) != 0) {
        iox_close(&e);
        return -1;
    }
    switch (j->mode) {
    case CMP_LATENCY: rc = pub_latency(&e); break;
    case CMP_THROUGHPUT: rc = pub_stream(&e, 0); break;
    case CMP_RATE: rc = pub_stream(&e, j->rate_hz); break;
    default: rc = pub_idle(&e); break;
    }
    iox_exit_rendezvous(j);
    iox_close(&e);
    return rc;
}

/* ---- the modes, end B ---- */

static int sub_latency(struct iox_end *e)
{
    uint64_t n = e->j->warm + e->j->count;
    for (uint64_t k = 0; k < n; k++)
        if (iox_take(e, k) != 0 || iox_give(e) != 0)
            return -1;
    return 0;
}

/* Throughput and rate: message k must come k-th; t0 at warm, t1 at last. */
static int sub_stream(struct iox_end *e)
{
    const struct cmp_job *j = e->j;
    struct cmp_end_result *r = &j->sh->sub[j->sub_id];
    uint64_t n = j->warm + j->count;
    struct iox_phase ph;
    phase_begin(&ph);
    atomic_store(&r->t0, ph.t);
    for (uint64_t k = 1; k <= n; k++) {
        if (iox_take(e, k) != 0)
            return -1;
        if (k == j->warm) {
            phase_begin(&ph);
            atomic_store(&r->t0, ph.t);
        }
    }
    atomic_store(&r->t1, cmp_now());
    phase_end(&ph, r);
    if (iox_sub_has_lost_chunks(e->sub))
        return cmp_error(j->sh, "iceoryx: subscriber %u lost chunks", j->sub_id);
    return 0;
}

/* Idle: wait for data that never comes, in the row's waiting mode. */
static int sub_idle(struct iox_end *e)
{
    const struct cmp_job *j = e->j;
    uint64_t end = cmp_now() + j->count * 1000000ull;
    struct iox_phase ph;
    phase_begin(&ph);
    while (cmp_now() < end && !cmp_is_done(j->sh)) {
        if (iox_sub_has_chunks(e->sub))
            return cmp_error(j->sh, "iceoryx: a message arrived while idle");
        iox_wait_data(e);
    }
    phase_end(&ph, &j->sh->sub[j->sub_id]);
    return 0;
}

static int iox_sub_end(const struct cmp_job *j)
{
    struct iox_end e;
    int rc;
    int lat = j->mode == CMP_LATENCY;
    if (iox_setup(&e, j, lat ? "pong" : NULL, lat ? "ping" : "data") != 0) {
        iox_close(&e);
        return -1;
    }
    switch (j->mode) {
    case CMP_LATENCY: rc = sub_latency(&e); break;
    case CMP_THROUGHPUT:
    case CMP_RATE: rc = sub_stream(&e); break;
    default: rc = sub_idle(&e); break;
    }
    iox_exit_rendezvous(j);
    iox_close(&e);
    return rc;
}

#define IOX_ALL_MODES ((1u << CMP_LATENCY) | (1u << CMP_THROUGHPUT) | (1u << CMP_RATE) | \
                       (1u << CMP_IDLE))

const struct cmp_mech cmp_iceoryx_mechs[] = {
    { "iox-poll", "iceoryx 2.0 busy-poll", IOX_POLL, IOX_ALL_MODES, IOX_MAX_SIZE, 1,
      NULL, NULL, iox_pub_end, iox_sub_end },
    { "iox-waitset", "iceoryx 2.0 WaitSet", IOX_WAITSET, IOX_ALL_MODES, IOX_MAX_SIZE, 1,
      NULL, NULL, iox_pub_end, iox_sub_end },
    { 0 }
};

#else /* !CMP_HAVE_ICEORYX: built without iceoryx, no rows */

const struct cmp_mech cmp_iceoryx_mechs[] = { { 0 } };

#endif
