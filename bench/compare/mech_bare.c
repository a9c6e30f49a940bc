/*
 * mech_bare.c - the mechanisms librpc is compared with that need no
 * library: two floors written here, a Unix-domain socket and a pipe.
 *
 * Floors: a ring of message slots per direction (ping-pong: one slot each
 * way; throughput: one ring per subscriber) in memory the coordinator maps
 * MAP_SHARED before fork().  The writer copies the payload into the slot
 * and publishes it by advancing `head` (release); the reader waits for
 * `head` (acquire), copies the payload out and advances `tail`, which a
 * writer facing a full ring waits for.  The cache-line floor waits by
 * spinning (yielding the CPU every 1024 turns); the futex floor sleeps in FUTEX_WAIT on the counter, and the
 * other side calls FUTEX_WAKE when a sleeper has said so.  Nothing else
 * happens, so no shared-memory transport doing the same copies can be
 * faster: this is the floor a library is measured against.
 *
 * Socket and pipe: blocking write()/read() of whole messages, one socket
 * pair (or pipe) per subscriber.  A SOCK_SEQPACKET socket keeps message
 * boundaries up to its buffer size; for larger payloads a SOCK_STREAM
 * socket carries an 8-byte length before each message, as a framed
 * protocol over a stream would.  A pipe is read until a message is whole.
 *
 * "pacing" sends nothing: it shows what the CPU measure's pacing costs.
 *
 * The ends of a socket or pipe, and the futex floor's sleepers, block in
 * the kernel without a timeout (a timeout would add a system call or a
 * timer per message); when a run fails, the coordinator ends the
 * processes that still wait.
 */
#define _GNU_SOURCE
#include "cmp.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

enum { B_SPIN, B_FUTEX, B_UDS, B_PIPE, B_NONE };

/* Largest SOCK_SEQPACKET message used; beyond, SOCK_STREAM with a length. */
#define SEQPACKET_MAX ((size_t)64 << 10)
/* Bytes a throughput ring should hold (at least 4 slots). */
#define RING_BYTES ((size_t)256 << 10)
/* A floor's spinning waiter looks at "done" every this many turns. */
#define SPINS_PER_CHECK 1024u
/* The futex floor sleeps without a timeout, as a transport would (an
 * armed timer per wait costs time on some virtual machines). */
#define FLOOR_WAIT_NS -1

/* The hint a spinning core gives its sibling and the memory system. */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* One direction of a floor: counters on cache lines of their own. */
struct ring {
    _Atomic uint32_t head;          /* messages written; the reader's futex word */
    _Atomic uint32_t reader_sleeps;
    char pad0[56];
    _Atomic uint32_t tail;          /* messages read; the writer's futex word */
    _Atomic uint32_t writer_sleeps;
    char pad1[56];
    unsigned char data[];           /* nslots slots of `stride` bytes */
};

/* One subscriber's channel: A's and B's descriptors (-1: none). */
struct chan {
    int a_rd, a_wr, b_rd, b_wr;
};

/* What prepare() makes; the ends inherit it. */
struct bare_prep {
    void *map;                      /* floors: the rings */
    size_t map_len, ring_len, stride;
    uint32_t nslots;
    unsigned nrings;
    int stream;                     /* UDS: SOCK_STREAM with a length prefix */
    struct chan ch[CMP_MAX_SUBS];
};

static int is_floor(const struct cmp_job *j)
{
    return j->m->variant == B_SPIN || j->m->variant == B_FUTEX;
}

/* ---- floors ---- */

static struct ring *ring_at(const struct bare_prep *p, unsigned i)
{
    return (struct ring *)(void *)((char *)p->map + (size_t)i * p->ring_len);
}

/* Wait until *w differs from v.  0, or -1 when the run was called off. */
static int wait_change(_Atomic uint32_t *w, uint32_t v, _Atomic uint32_t *sleeps, int sleeping,
                       const struct cmp_shared *sh)
{
    unsigned spins = 0;
    while (atomic_load_explicit(w, memory_order_acquire) == v) {
        if (sleeping) {
            /* Say we sleep, then look again: the other side either sees
             * the flag after its store, or we see its store here. */
            atomic_store(sleeps, 1);
            if (atomic_load(w) == v)
                cmp_futex_wait(w, v, FLOOR_WAIT_NS);
            atomic_store(sleeps, 0);
        } else if (++spins % SPINS_PER_CHECK != 0) {
            cpu_relax();
        } else {
            /* With more processes than CPUs (fan-out) a spinner would
             * burn the time slice the other side needs. */
            sched_yield();
        }
        if ((sleeping || spins % SPINS_PER_CHECK == 0) && cmp_is_done(sh))
            return -1;
    }
    return 0;
}

/* After a counter moved: wake its waiter if it sleeps (seq_cst pairs with
 * the waiter's flag store and re-check). */
static void wake_if_sleeping(_Atomic uint32_t *w, _Atomic uint32_t *sleeps, int sleeping)
{
    if (sleeping && atomic_load(sleeps) != 0)
        cmp_futex_wake(w, 1);
}

static int ring_put(const struct cmp_job *j, struct ring *r, const unsigned char *buf)
{
    const struct bare_prep *p = j->prep;
    int sleeping = j->m->variant == B_FUTEX;
    uint32_t h = atomic_load_explicit(&r->head, memory_order_relaxed), t;
    while (h - (t = atomic_load_explicit(&r->tail, memory_order_acquire)) >= p->nslots)
        if (wait_change(&r->tail, t, &r->writer_sleeps, sleeping, j->sh) != 0)
            return -1;
    memcpy(r->data + (size_t)(h % p->nslots) * p->stride, buf, j->size);
    atomic_store(&r->head, h + 1);
    wake_if_sleeping(&r->head, &r->reader_sleeps, sleeping);
    return 0;
}

static int ring_get(const struct cmp_job *j, struct ring *r, unsigned char *buf)
{
    const struct bare_prep *p = j->prep;
    int sleeping = j->m->variant == B_FUTEX;
    uint32_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    if (wait_change(&r->head, t, &r->reader_sleeps, sleeping, j->sh) != 0)
        return -1;
    memcpy(buf, r->data + (size_t)(t % p->nslots) * p->stride, j->size);
    atomic_store(&r->tail, t + 1);
    wake_if_sleeping(&r->tail, &r->writer_sleeps, sleeping);
    return 0;
}

static int floor_prepare(struct cmp_job *j, struct bare_prep *p)
{
    p->stride = (j->size + 63) & ~(size_t)63;
    p->nslots = 1;
    p->nrings = 2;
    if (j->mode != CMP_LATENCY) {
        size_t n = RING_BYTES / p->stride;
        p->nslots = (uint32_t)(n < 4 ? 4 : n > 1024 ? 1024 : n);
        p->nrings = j->nsubs;
    }
    p->ring_len = (sizeof(struct ring) + (size_t)p->nslots * p->stride + 4095) & ~(size_t)4095;
    p->map_len = p->ring_len * p->nrings;
    p->map = mmap(NULL, p->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p->map == MAP_FAILED) {
        p->map = NULL;
        return -1;
    }
    return 0;
}

/* ---- sockets and pipes ---- */

static int write_all(int fd, const void *buf, size_t size)
{
    const unsigned char *b = buf;
    size_t done = 0;
    while (done < size) {
        ssize_t w = write(fd, b + done, size - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        done += (size_t)w;
    }
    return 0;
}

static int read_all(int fd, void *buf, size_t size)
{
    unsigned char *b = buf;
    size_t done = 0;
    while (done < size) {
        ssize_t r = read(fd, b + done, size - done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        done += (size_t)r;
    }
    return 0;
}

/* One message onto a stream socket: its length, then the payload, in one
 * call when the socket takes it. */
static int write_framed(int fd, const unsigned char *buf, size_t size)
{
    uint64_t len = size;
    struct iovec iov[2] = { { &len, sizeof len }, { (void *)buf, size } };
    ssize_t w;
    do
        w = writev(fd, iov, 2);
    while (w < 0 && errno == EINTR);
    if (w < 0)
        return -1;
    if ((size_t)w < sizeof len)
        return write_all(fd, (char *)&len + w, sizeof len - (size_t)w) != 0 ||
               write_all(fd, buf, size) != 0 ? -1 : 0;
    return write_all(fd, buf + (w - (ssize_t)sizeof len), size - ((size_t)w - sizeof len));
}

static int read_framed(int fd, unsigned char *buf, size_t size)
{
    uint64_t len;
    if (read_all(fd, &len, sizeof len) != 0 || len != size)
        return -1;
    return read_all(fd, buf, size);
}

/* A whole SOCK_SEQPACKET message is one read. */
static int read_packet(int fd, unsigned char *buf, size_t size)
{
    ssize_t r;
    do
        r = read(fd, buf, size + 1);   /* +1: a longer message would show */
    while (r < 0 && errno == EINTR);
    return r == (ssize_t)size ? 0 : -1;
}

static int chan_write(const struct cmp_job *j, int fd, const unsigned char *buf)
{
    const struct bare_prep *p = j->prep;
    if (j->m->variant == B_UDS && p->stream)
        return write_framed(fd, buf, j->size);
    if (j->m->variant == B_UDS) {
        ssize_t w;
        do
            w = write(fd, buf, j->size);
        while (w < 0 && errno == EINTR);
        return w == (ssize_t)j->size ? 0 : -1;
    }
    return write_all(fd, buf, j->size);
}

static int chan_read(const struct cmp_job *j, int fd, unsigned char *buf)
{
    const struct bare_prep *p = j->prep;
    if (j->m->variant == B_UDS && p->stream)
        return read_framed(fd, buf, j->size);
    if (j->m->variant == B_UDS)
        return read_packet(fd, buf, j->size);
    return read_all(fd, buf, j->size);
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* A socket pair: the same descriptor reads and writes at each end. */
static int open_socketpair(struct chan *c, int stream)
{
    int sv[2];
    if (socketpair(AF_UNIX, (stream ? SOCK_STREAM : SOCK_SEQPACKET) | SOCK_CLOEXEC, 0, sv) != 0)
        return -1;
    c->a_rd = c->a_wr = sv[0];
    c->b_rd = c->b_wr = sv[1];
    return 0;
}

/* A pipe A->B, and for a ping-pong one B->A. */
static int open_pipes(struct chan *c, int both_ways)
{
    int ab[2], ba[2];
    if (pipe2(ab, O_CLOEXEC) != 0)
        return -1;
    c->b_rd = ab[0];
    c->a_wr = ab[1];
    if (!both_ways)
        return 0;
    if (pipe2(ba, O_CLOEXEC) != 0)
        return -1;
    c->a_rd = ba[0];
    c->b_wr = ba[1];
    return 0;
}

static void close_chan(struct chan *c)
{
    if (c->a_wr != c->a_rd)
        close_fd(&c->a_wr);
    if (c->b_wr != c->b_rd)
        close_fd(&c->b_wr);
    close_fd(&c->a_rd);
    close_fd(&c->b_rd);
    c->a_wr = c->b_wr = -1;
}

static int chan_prepare(struct cmp_job *j, struct bare_prep *p)
{
    unsigned i, n = j->mode == CMP_LATENCY ? 1 : j->nsubs;
    p->stream = j->size > SEQPACKET_MAX;
    for (i = 0; i < n; i++) {
        int rc = j->m->variant == B_UDS ? open_socketpair(&p->ch[i], p->stream)
                                        : open_pipes(&p->ch[i], j->mode == CMP_LATENCY);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* In an end: close the descriptors that belong to the other ends, so
 * that each process holds only its own. */
static void keep_own(const struct cmp_job *j, int is_a)
{
    struct bare_prep *p = j->prep;
    unsigned i;
    for (i = 0; i < CMP_MAX_SUBS; i++) {
        struct chan *c = &p->ch[i];
        if (is_a || i != j->sub_id) {
            if (c->b_wr != c->b_rd)
                close_fd(&c->b_wr);
            close_fd(&c->b_rd);
            c->b_wr = -1;
        }
        if (!is_a) {
            if (c->a_wr != c->a_rd)
                close_fd(&c->a_wr);
            close_fd(&c->a_rd);
            c->a_wr = -1;
        }
    }
}

/* ---- the transport, whichever it is ---- */

/* Send buf to subscriber i (latency: the ping). */
static int send_to(const struct cmp_job *j, unsigned i, const unsigned char *buf)
{
    const struct bare_prep *p = j->prep;
    if (is_floor(j))
        return ring_put(j, ring_at(p, i), buf);
    return chan_write(j, p->ch[i].a_wr, buf);
}

/* Receive at subscriber j->sub_id (latency: the ping). */
static int recv_at_sub(const struct cmp_job *j, unsigned char *buf)
{
    const struct bare_prep *p = j->prep;
    if (is_floor(j))
        return ring_get(j, ring_at(p, j->mode == CMP_LATENCY ? 0 : j->sub_id), buf);
    return chan_read(j, p->ch[j->sub_id].b_rd, buf);
}

/* Latency only: the pong, B -> A. */
static int send_back(const struct cmp_job *j, const unsigned char *buf)
{
    const struct bare_prep *p = j->prep;
    if (is_floor(j))
        return ring_put(j, ring_at(p, 1), buf);
    return chan_write(j, p->ch[0].b_wr, buf);
}

static int recv_back(const struct cmp_job *j, unsigned char *buf)
{
    const struct bare_prep *p = j->prep;
    if (is_floor(j))
        return ring_get(j, ring_at(p, 1), buf);
    return chan_read(j, p->ch[0].a_rd, buf);
}

static int fail(const struct cmp_job *j, const char *what, uint64_t k)
{
    if (cmp_is_done(j->sh) && atomic_load(&j->sh->errors) != 0)
        return -1;   /* called off: the first failure is recorded already */
    return cmp_error(j->sh, "%s: %s at message %llu", j->m->label, what, (unsigned long long)k);
}

/* ---- timed phase ---- */

/* The switch count is read where speed is measured only: reading it
 * costs CPU time, which the CPU modes measure. */
struct phase {
    uint64_t wall0, cpu0, pre0;
    int count_preempt;
};

static void phase_begin(const struct cmp_job *j, struct cmp_end_result *res, struct phase *ph)
{
    ph->count_preempt = j->mode == CMP_LATENCY || j->mode == CMP_THROUGHPUT;
    ph->wall0 = cmp_now();
    atomic_store(&res->t0, ph->wall0);
    ph->cpu0 = cmp_cpu_ns();
    ph->pre0 = ph->count_preempt ? cmp_preempt_count() : 0;
}

static void phase_end(struct cmp_end_result *res, const struct phase *ph)
{
    uint64_t now = cmp_now();
    atomic_store(&res->t1, now);
    atomic_store(&res->wall_ns, now - ph->wall0);
    atomic_store(&res->cpu_ns, cmp_cpu_ns() - ph->cpu0);
    if (ph->count_preempt)
        atomic_store(&res->preemptions, cmp_preempt_count() - ph->pre0);
}

static void mark(const struct cmp_job *j, struct cmp_end_result *res, struct phase *ph,
                 uint64_t k)
{
    if (k == j->warm)
        phase_begin(j, res, ph);
    if (k == j->warm + j->count)
        phase_end(res, ph);
}

/* ---- the ends' work ---- */

static int ping(const struct cmp_job *j, unsigned char *out, unsigned char *in)
{
    uint64_t k, total = j->warm + j->count;
    struct phase ph = { 0 };
    for (k = 0; k < total; k++) {
        uint64_t t0, t1;
        mark(j, &j->sh->pub, &ph, k);
        cmp_stamp(out, j->size, k);
        t0 = cmp_now();
        if (send_to(j, 0, out) != 0)
            return fail(j, "send failed", k);
        if (recv_back(j, in) != 0)
            return fail(j, "receive failed", k);
        t1 = cmp_now();
        if (!cmp_check(in, j->size, k))
            return fail(j, "wrong answer", k);
        if (k >= j->warm)
            j->samples[k - j->warm] = t1 - t0;
    }
    mark(j, &j->sh->pub, &ph, k);
    cmp_set_done(j->sh);
    return 0;
}

static int pong(const struct cmp_job *j, unsigned char *in)
{
    uint64_t k, total = j->warm + j->count;
    for (k = 0; k < total; k++) {
        if (recv_at_sub(j, in) != 0)
            return fail(j, "receive failed", k);
        if (!cmp_check(in, j->size, k))
            return fail(j, "wrong ping", k);
        if (send_back(j, in) != 0)
            return fail(j, "send failed", k);
    }
    return 0;
}

/* Messages 1..total to every subscriber, paced in CMP_RATE. */
static int publish_all(const struct cmp_job *j, unsigned char *out)
{
    uint64_t period = j->mode == CMP_RATE ? (uint64_t)(1e9 / j->rate_hz) : 0;
    uint64_t k, total = j->warm + j->count, start = cmp_now();
    struct phase ph = { 0 };
    unsigned i;
    for (k = 1; k <= total; k++) {
        if (period != 0)
            cmp_sleep_until(start + (k - 1) * period);
        cmp_stamp(out, j->size, k);
        for (i = 0; i < j->nsubs; i++)
            if (send_to(j, i, out) != 0)
                return fail(j, "send failed", k);
        mark(j, &j->sh->pub, &ph, k);
    }
    return 0;
}

static int receive_all(const struct cmp_job *j, unsigned char *in)
{
    struct cmp_end_result *res = &j->sh->sub[j->sub_id];
    uint64_t k, total = j->warm + j->count;
    struct phase ph = { 0 };
    for (k = 1; k <= total; k++) {
        if (recv_at_sub(j, in) != 0)
            return fail(j, "receive failed", k);
        if (!cmp_check(in, j->size, k))
            return fail(j, "wrong payload or order", k);
        mark(j, res, &ph, k);
    }
    return 0;
}

/* Idle: A waits count ms, then sends one message (stamp 0) to end each
 * subscriber's wait, which is the transport's own blocking receive. */
static int idle_pub(const struct cmp_job *j, unsigned char *out)
{
    struct phase ph = { 0 };
    unsigned i;
    phase_begin(j, &j->sh->pub, &ph);
    (void)cmp_wait_done(j->sh, j->count * 1000000u);
    phase_end(&j->sh->pub, &ph);
    cmp_stamp(out, j->size, 0);
    for (i = 0; i < j->nsubs; i++)
        if (send_to(j, i, out) != 0)
            return fail(j, "send failed", 0);
    return 0;
}

static int idle_sub(const struct cmp_job *j, unsigned char *in)
{
    struct cmp_end_result *res = &j->sh->sub[j->sub_id];
    struct phase ph = { 0 };
    phase_begin(j, res, &ph);
    if (recv_at_sub(j, in) != 0 || !cmp_check(in, j->size, 0))
        return fail(j, "end of idle period lost", 0);
    phase_end(res, &ph);
    return 0;
}

/* ---- pacing alone ---- */

/* The "pacing" row: the publisher paces and stamps as in CMP_RATE but
 * sends nothing; the subscriber waits for the end.  What remains is the
 * cost of the pacing itself (a timer wake-up per message), which every
 * other row's publisher pays too. */
static int pacing_pub(const struct cmp_job *j, unsigned char *out)
{
    uint64_t period = (uint64_t)(1e9 / j->rate_hz), k, total = j->warm + j->count;
    uint64_t start = cmp_now();
    struct phase ph = { 0 };
    for (k = 1; k <= total && !cmp_is_done(j->sh); k++) {
        cmp_sleep_until(start + (k - 1) * period);
        cmp_stamp(out, j->size, k);
        mark(j, &j->sh->pub, &ph, k);
    }
    cmp_set_done(j->sh);
    return 0;
}

static int pacing_sub(const struct cmp_job *j)
{
    struct cmp_end_result *res = &j->sh->sub[j->sub_id];
    struct phase ph = { 0 };
    phase_begin(j, res, &ph);
    if (cmp_wait_done(j->sh, UINT64_MAX) != 0)
        return fail(j, "no end", 0);
    phase_end(res, &ph);
    return 0;
}

/* ---- the table's functions ---- */

static int bare_prepare(struct cmp_job *j)
{
    struct bare_prep *p = calloc(1, sizeof *p);
    unsigned i;
    if (p == NULL)
        return -1;
    for (i = 0; i < CMP_MAX_SUBS; i++)
        p->ch[i].a_rd = p->ch[i].a_wr = p->ch[i].b_rd = p->ch[i].b_wr = -1;
    j->prep = p;
    if (j->m->variant == B_NONE)
        return 0;
    return is_floor(j) ? floor_prepare(j, p) : chan_prepare(j, p);
}

static void bare_finish(struct cmp_job *j)
{
    struct bare_prep *p = j->prep;
    unsigned i;
    if (p == NULL)
        return;
    for (i = 0; i < CMP_MAX_SUBS; i++)
        close_chan(&p->ch[i]);
    if (p->map != NULL)
        munmap(p->map, p->map_len);
    free(p);
    j->prep = NULL;
}

static int bare_end(const struct cmp_job *j, int is_a)
{
    unsigned char *out = calloc(1, j->size + 1), *in = calloc(1, j->size + 1);
    int rc;
    if (j->m->variant == B_UDS || j->m->variant == B_PIPE)
        keep_own(j, is_a);
    if (out == NULL || in == NULL)
        rc = cmp_error(j->sh, "%s: out of memory", j->m->label);
    else if (cmp_barrier(j->sh) != 0)
        rc = cmp_error(j->sh, "%s: the other ends did not start", j->m->label);
    else if (j->m->variant == B_NONE && j->mode == CMP_RATE)
        rc = is_a ? pacing_pub(j, out) : pacing_sub(j);
    else if (j->mode == CMP_LATENCY)
        rc = is_a ? ping(j, out, in) : pong(j, in);
    else if (j->mode == CMP_IDLE)
        rc = is_a ? idle_pub(j, out) : idle_sub(j, in);
    else
        rc = is_a ? publish_all(j, out) : receive_all(j, in);
    free(out);
    free(in);
    return rc;
}

static int bare_pub(const struct cmp_job *j)
{
    return bare_end(j, 1);
}

static int bare_sub(const struct cmp_job *j)
{
    return bare_end(j, 0);
}

#define M(mode) (1u << (mode))
#define ALL_MODES (M(CMP_LATENCY) | M(CMP_THROUGHPUT) | M(CMP_RATE) | M(CMP_IDLE))

const struct cmp_mech cmp_bare_mechs[] = {
    { "floor-spin", "floor: cache-line spin", B_SPIN, M(CMP_LATENCY) | M(CMP_THROUGHPUT), 0, 0,
      bare_prepare, bare_finish, bare_pub, bare_sub },
    { "floor-futex", "floor: futex wait/wake", B_FUTEX, ALL_MODES, 0, 0, bare_prepare,
      bare_finish, bare_pub, bare_sub },
    { "uds", "Unix socket (SEQPACKET; STREAM > 64 KiB)", B_UDS, ALL_MODES, 0, 0, bare_prepare,
      bare_finish, bare_pub, bare_sub },
    { "pipe", "pipe", B_PIPE, ALL_MODES, 0, 0, bare_prepare, bare_finish, bare_pub, bare_sub },
    { "pacing", "pacing alone (publisher's timer wake-ups, nothing sent)", B_NONE, M(CMP_RATE),
      0, 0, bare_prepare, bare_finish, bare_pub, bare_sub },
    { 0 }
};
