/*
 * mech_zmq.c - ZeroMQ (libzmq 4.3) over ipc:// as a bench_compare
 * mechanism: the row "zmq-ipc".
 *
 * Sockets: every direction is one XPUB socket (the publisher, bound) and
 * one SUB socket per subscriber (connected).  PUB/SUB is ZeroMQ's own
 * publish/subscribe pattern, so it does what librpc and iceoryx do - one
 * send reaches every subscriber - and the same code serves latency (two
 * directions: "ping" from A, "pong" from B), throughput and fan-out.  XPUB
 * rather than PUB, for its two options:
 *
 *   ZMQ_XPUB_VERBOSE  the publisher receives every subscription message, so
 *                     it can wait for all nsubs subscribers before the
 *                     barrier: a PUB socket drops what it sends before a
 *                     subscriber's subscription has arrived ("slow joiner");
 *   ZMQ_XPUB_NODROP   at the high-water mark a send waits instead of
 *                     dropping, which is the back-pressure the throughput
 *                     measure asks for (a plain PUB drops silently).
 *
 * PAIR would do for one-to-one latency but not for fan-out, and PUSH/PULL
 * round-robins instead of copying to every receiver.
 *
 * High-water marks count messages: 1000 (the default) up to 16 KiB
 * payloads, then 16 MiB worth (16 messages of 1 MiB), close to the
 * iceoryx queue depths.  Each receiver checks that message k arrives k-th,
 * whole and at its size.
 *
 * Work per message as for every mechanism: zmq_send() copies the sender's
 * stamped buffer into a message, zmq_recv() copies the message into the
 * receiver's buffer.  ZeroMQ always blocks in the kernel (its I/O thread
 * and the application thread sleep in poll/epoll); every process has one
 * I/O thread, which counts in its CPU time.  Sends and receives wait at
 * most 100 ms (ZMQ_SNDTIMEO/ZMQ_RCVTIMEO, the same wait as a zmq_poll with
 * that timeout) so that cmp_is_done() is checked.
 *
 * The socket files are /tmp/cmp-<name>-<coordinator pid>-{ping,pong}.ipc;
 * prepare() names them in the coordinator, finish() removes them.
 */
#define _GNU_SOURCE
#include "cmp.h"

#ifdef CMP_HAVE_ZMQ

#include <zmq.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#define ZQ_SLICE_MS 100                 /* re-check "done" at least this often */
#define ZQ_RECONNECT_MS 10              /* a SUB that connects before the bind retries soon */
#define ZQ_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path))

/* What the coordinator's prepare() leaves for the ends and finish(). */
struct zq_prep {
    char ping[ZQ_PATH_MAX];             /* A publishes here (all modes) */
    char pong[ZQ_PATH_MAX];             /* B publishes here (latency) */
};

struct zq_end {
    const struct cmp_job *j;
    void *ctx;
    void *pub;                          /* XPUB, bound */
    void *sub;                          /* SUB, connected */
    unsigned char *buf;
};

struct zq_phase {
    uint64_t t, cpu, pre;
};

/* Messages queued per direction and subscriber, on each side. */
static int zq_hwm(size_t size)
{
    size_t n = ((size_t)16 << 20) / (size ? size : 1);
    return n > 1000 ? 1000 : (int)n;
}

/* ---- coordinator side ---- */

/* The socket file for one direction: the name made file-safe, cut so that
 * "ipc://" paths fit a sockaddr_un. */
static void zq_path(char *out, const char *name, const char *dir)
{
    char safe[64];
    size_t i;
    for (i = 0; name[i] != '\0' && i < sizeof safe - 1; i++) {
        char c = name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_';
        safe[i] = ok ? c : '_';
    }
    safe[i] = '\0';
    snprintf(out, ZQ_PATH_MAX, "/tmp/cmp-%s-%ld-%s.ipc", safe, (long)getpid(), dir);
}

static int zq_prepare(struct cmp_job *j)
{
    struct zq_prep *p = calloc(1, sizeof *p);
    if (p == NULL)
        return -1;
    zq_path(p->ping, j->name, "ping");
    zq_path(p->pong, j->name, "pong");
    unlink(p->ping);
    unlink(p->pong);
    j->prep = p;
    return 0;
}

/* The binding end's close removes its file too; this is for ends that
 * died before they could. */
static void zq_finish(struct cmp_job *j)
{
    struct zq_prep *p = j->prep;
    if (p == NULL)
        return;
    unlink(p->ping);
    unlink(p->pong);
    free(p);
    j->prep = NULL;
}

/* ---- the ends ---- */

static _Atomic uint32_t *zq_finished(const struct cmp_job *j)
{
    _Static_assert(offsetof(struct cmp_shared, scratch) % sizeof(uint32_t) == 0,
                   "scratch must hold an aligned counter");
    return (_Atomic uint32_t *)(void *)j->sh->scratch;
}

static void phase_begin(struct zq_phase *p)
{
    p->t = cmp_now();
    p->cpu = cmp_cpu_ns();
    p->pre = cmp_preempt_count();
}

static void phase_end(const struct zq_phase *p, struct cmp_end_result *r)
{
    uint64_t pre = cmp_preempt_count();
    atomic_store(&r->cpu_ns, cmp_cpu_ns() - p->cpu);
    atomic_store(&r->wall_ns, cmp_now() - p->t);
    atomic_store(&r->preemptions, pre - p->pre);
}

static int zq_fail(const struct cmp_job *j, const char *what)
{
    return cmp_error(j->sh, "zmq: %s: %s", what, zmq_strerror(zmq_errno()));
}

static int zq_setopt(const struct cmp_job *j, void *s, int opt, int v)
{
    return zmq_setsockopt(s, opt, &v, sizeof v) == 0 ? 0 : zq_fail(j, "setsockopt");
}

/* Bind an XPUB at path and wait until nsubs subscriptions have come in. */
static int zq_open_pub(struct zq_end *e, const char *path, unsigned nsubs)
{
    const struct cmp_job *j = e->j;
    char ep[ZQ_PATH_MAX + 8], msg[64];
    uint64_t deadline = cmp_now() + CMP_SETUP_TIMEOUT_NS;
    unsigned seen = 0;
    e->pub = zmq_socket(e->ctx, ZMQ_XPUB);
    if (e->pub == NULL)
        return zq_fail(j, "socket(XPUB)");
    if (zq_setopt(j, e->pub, ZMQ_SNDHWM, zq_hwm(j->size)) || zq_setopt(j, e->pub, ZMQ_XPUB_NODROP, 1) ||
        zq_setopt(j, e->pub, ZMQ_XPUB_VERBOSE, 1) || zq_setopt(j, e->pub, ZMQ_SNDTIMEO, ZQ_SLICE_MS) ||
        zq_setopt(j, e->pub, ZMQ_RCVTIMEO, ZQ_SLICE_MS) || zq_setopt(j, e->pub, ZMQ_LINGER, 0))
        return -1;
    snprintf(ep, sizeof ep, "ipc://%s", path);
    if (zmq_bind(e->pub, ep) != 0)
        return zq_fail(j, "bind");
    while (seen < nsubs) {
        int n = zmq_recv(e->pub, msg, sizeof msg, 0);
        if (n >= 1 && msg[0] == 1)
            seen++;                     /* \x01 + topic: a subscription */
        else if (n < 0 && zmq_errno() != EAGAIN && zmq_errno() != EINTR)
            return zq_fail(j, "receive subscriptions");
        if (cmp_is_done(j->sh))
            return -1;
        if (cmp_now() > deadline)
            return cmp_error(j->sh, "zmq: %u of %u subscribers after 20 s", seen, nsubs);
    }
    return 0;
}

static int zq_open_sub(struct zq_end *e, const char *path)
{
    const struct cmp_job *j = e->j;
    char ep[ZQ_PATH_MAX + 8];
    e->sub = zmq_socket(e->ctx, ZMQ_SUB);
    if (e->sub == NULL)
        return zq_fail(j, "socket(SUB)");
    if (zq_setopt(j, e->sub, ZMQ_RCVHWM, zq_hwm(j->size)) ||
        zq_setopt(j, e->sub, ZMQ_RCVTIMEO, ZQ_SLICE_MS) ||
        zq_setopt(j, e->sub, ZMQ_RECONNECT_IVL, ZQ_RECONNECT_MS) ||
        zq_setopt(j, e->sub, ZMQ_LINGER, 0))
        return -1;
    if (zmq_setsockopt(e->sub, ZMQ_SUBSCRIBE, "", 0) != 0)
        return zq_fail(j, "subscribe");
    snprintf(ep, sizeof ep, "ipc://%s", path);
    if (zmq_connect(e->sub, ep) != 0)
        return zq_fail(j, "connect");
    return 0;
}

static void zq_close(struct zq_end *e)
{
    if (e->sub != NULL)
        zmq_close(e->sub);
    if (e->pub != NULL)
        zmq_close(e->pub);
    if (e->ctx != NULL)
        zmq_ctx_term(e->ctx);
    free(e->buf);
    memset(e, 0, sizeof *e);
}

/* Send e->buf (copied into a message); waits while a subscriber is at its
 * high-water mark. */
static int zq_give(struct zq_end *e)
{
    while (zmq_send(e->pub, e->buf, e->j->size, 0) < 0) {
        if (zmq_errno() != EAGAIN && zmq_errno() != EINTR)
            return zq_fail(e->j, "send");
        if (cmp_is_done(e->j->sh))
            return -1;
    }
    return 0;
}

/* Receive message k into e->buf and check it. */
static int zq_take(struct zq_end *e, uint64_t k)
{
    const struct cmp_job *j = e->j;
    int n;
    while ((n = zmq_recv(e->sub, e->buf, j->size, 0)) < 0) {
        if (zmq_errno() != EAGAIN && zmq_errno() != EINTR)
            return zq_fail(j, "receive");
        if (cmp_is_done(j->sh))
            return cmp_error(j->sh, "zmq: stopped while waiting for message %llu",
                             (unsigned long long)k);
    }
    if ((size_t)n != j->size)
        return cmp_error(j->sh, "zmq: message %llu has %d bytes, not %zu",
                         (unsigned long long)k, n, j->size);
    if (!cmp_check(e->buf, j->size, k)) {
        uint64_t got;
        memcpy(&got, e->buf, sizeof got);
        return cmp_error(j->sh, "zmq: expected message %llu, got %llu",
                         (unsigned long long)k, (unsigned long long)got);
    }
    return 0;
}

/* Count this end as finished and wait (bounded) for the others: nobody
 * closes a socket whose messages a peer still has to read. */
static void zq_exit_rendezvous(const struct cmp_job *j)
{
    _Atomic uint32_t *w = zq_finished(j);
    uint32_t n = atomic_load(&j->sh->nends), v;
    uint64_t deadline = cmp_now() + CMP_SETUP_TIMEOUT_NS;
    if (atomic_fetch_add(w, 1) + 1 >= n)
        cmp_futex_wake(w, CMP_MAX_SUBS + 1);
    while ((v = atomic_load(w)) < n && !cmp_is_done(j->sh) && cmp_now() < deadline)
        cmp_futex_wait(w, v, ZQ_SLICE_MS * 1000000ll);
}

/* Set up an end.  The SUB connects first: the XPUB then waits for the
 * subscriptions, whichever side binds later. */
static int zq_setup(struct zq_end *e, const struct cmp_job *j, const char *pub_path,
                    unsigned nsubs, const char *sub_path)
{
    memset(e, 0, sizeof *e);
    e->j = j;
    e->ctx = zmq_ctx_new();
    if (e->ctx == NULL)
        return zq_fail(j, "context");
    e->buf = calloc(1, j->size);
    if (e->buf == NULL)
        return cmp_error(j->sh, "zmq: out of memory");
    if (sub_path != NULL && zq_open_sub(e, sub_path) != 0)
        return -1;
    if (pub_path != NULL && zq_open_pub(e, pub_path, nsubs) != 0)
        return -1;
    return cmp_barrier(j->sh) == 0 ? 0 : cmp_error(j->sh, "zmq: barrier timed out");
}

/* ---- end A ---- */

static int pub_latency(struct zq_end *e)
{
    const struct cmp_job *j = e->j;
    uint64_t n = j->warm + j->count;
    for (uint64_t k = 0; k < n; k++) {
        cmp_stamp(e->buf, j->size, k);
        uint64_t t = cmp_now();
        if (zq_give(e) != 0 || zq_take(e, k) != 0)
            return -1;
        if (k >= j->warm)
            j->samples[k - j->warm] = cmp_now() - t;
    }
    return 0;
}

/* Throughput (rate_hz == 0) or paced rate: messages 1..warm+count. */
static int pub_stream(struct zq_end *e, double rate_hz)
{
    const struct cmp_job *j = e->j;
    struct cmp_end_result *r = &j->sh->pub;
    uint64_t n = j->warm + j->count;
    uint64_t period = rate_hz > 0 ? (uint64_t)(1e9 / rate_hz) : 0;
    uint64_t start = cmp_now();
    struct zq_phase ph;
    phase_begin(&ph);
    atomic_store(&r->t0, ph.t);
    for (uint64_t k = 1; k <= n; k++) {
        if (period != 0)
            cmp_sleep_until(start + (k - 1) * period);
        cmp_stamp(e->buf, j->size, k);
        if (zq_give(e) != 0)
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

static int pub_idle(struct zq_end *e)
{
    struct zq_phase ph;
    phase_begin(&ph);
    cmp_wait_done(e->j->sh, e->j->count * 1000000ull);
    phase_end(&ph, &e->j->sh->pub);
    return 0;
}

static int zq_pub_end(const struct cmp_job *j)
{
    const struct zq_prep *p = j->prep;
    struct zq_end e;
    int rc, lat = j->mode == CMP_LATENCY;
    if (p == NULL)
        return cmp_error(j->sh, "zmq: prepare() did not run");
    if (zq_setup(&e, j, p->ping, lat ? 1 : j->nsubs, lat ? p->pong : NULL) != 0) {
        zq_close(&e);
        return -1;
    }
    switch (j->mode) {
    case CMP_LATENCY: rc = pub_latency(&e); break;
    case CMP_THROUGHPUT: rc = pub_stream(&e, 0); break;
    case CMP_RATE: rc = pub_stream(&e, j->rate_hz); break;
    default: rc = pub_idle(&e); break;
    }
    zq_exit_rendezvous(j);
    zq_close(&e);
    return rc;
}

/* ---- end B ---- */

static int sub_latency(struct zq_end *e)
{
    uint64_t n = e->j->warm + e->j->count;
    for (uint64_t k = 0; k < n; k++)
        if (zq_take(e, k) != 0 || zq_give(e) != 0)
            return -1;
    return 0;
}

static int sub_stream(struct zq_end *e)
{
    const struct cmp_job *j = e->j;
    struct cmp_end_result *r = &j->sh->sub[j->sub_id];
    uint64_t n = j->warm + j->count;
    struct zq_phase ph;
    phase_begin(&ph);
    atomic_store(&r->t0, ph.t);
    for (uint64_t k = 1; k <= n; k++) {
        if (zq_take(e, k) != 0)
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

/* Idle: a blocking receive (100 ms slices) that must time out. */
static int sub_idle(struct zq_end *e)
{
    const struct cmp_job *j = e->j;
    uint64_t end = cmp_now() + j->count * 1000000ull;
    struct zq_phase ph;
    phase_begin(&ph);
    while (cmp_now() < end && !cmp_is_done(j->sh)) {
        if (zmq_recv(e->sub, e->buf, j->size, 0) >= 0)
            return cmp_error(j->sh, "zmq: a message arrived while idle");
    }
    phase_end(&ph, &j->sh->sub[j->sub_id]);
    return 0;
}

static int zq_sub_end(const struct cmp_job *j)
{
    const struct zq_prep *p = j->prep;
    struct zq_end e;
    int rc, lat = j->mode == CMP_LATENCY;
    if (p == NULL)
        return cmp_error(j->sh, "zmq: prepare() did not run");
    if (zq_setup(&e, j, lat ? p->pong : NULL, 1, p->ping) != 0) {
        zq_close(&e);
        return -1;
    }
    switch (j->mode) {
    case CMP_LATENCY: rc = sub_latency(&e); break;
    case CMP_THROUGHPUT:
    case CMP_RATE: rc = sub_stream(&e); break;
    default: rc = sub_idle(&e); break;
    }
    zq_exit_rendezvous(j);
    zq_close(&e);
    return rc;
}

const struct cmp_mech cmp_zmq_mechs[] = {
    { "zmq-ipc", "ZeroMQ 4.3 ipc:// (XPUB/SUB)", 0,
      (1u << CMP_LATENCY) | (1u << CMP_THROUGHPUT) | (1u << CMP_RATE) | (1u << CMP_IDLE), 0, 0,
      zq_prepare, zq_finish, zq_pub_end, zq_sub_end },
    { 0 }
};

#else /* !CMP_HAVE_ZMQ: built without ZeroMQ, no rows */

const struct cmp_mech cmp_zmq_mechs[] = { { 0 } };

#endif
