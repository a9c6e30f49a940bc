/*
 * bp_bare.c - the ends of the mechanisms librpc is compared with: two bare
 * floors written here, and the kernel's Unix-domain sockets and pipes.
 *
 * Every mechanism moves the same bytes as librpc does: the sender stamps
 * its payload buffer and copies it into the transport, the receiver copies
 * it out into its own buffer and checks the stamps.
 *
 * Floors (latency only): one struct bp_slot per direction in memory shared
 * since fork(): copy the payload in, store seq (release); the other side
 * waits for seq (acquire) and copies the payload out.  The cache-line floor
 * waits by spinning; the futex floor sleeps in FUTEX_WAIT and the sender
 * always calls FUTEX_WAKE.  Nothing else happens, so no shared-memory
 * transport with the same copies can be faster.
 *
 * Sockets and pipes: blocking read()/write() of whole messages; a
 * SOCK_SEQPACKET socket pair keeps message boundaries, a pipe is read until
 * the message is complete.
 */
#include "bp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- floors ---- */

static void slot_put(struct bp_slot *s, const unsigned char *buf, size_t size, uint32_t seq,
                     int sleeping)
{
    memcpy(s->data, buf, size);
    /* Release: the payload is visible to whoever acquires seq. */
    atomic_store_explicit(&s->seq, seq, memory_order_release);
    if (sleeping)
        bp_futex_wake(&s->seq);
}

/* Wait until s carries seq.  0, or -1 when the run was called off. */
static int slot_wait(struct bp_slot *s, uint32_t seq, int sleeping, const struct bp_shared *sh)
{
    unsigned spins = 0;
    uint32_t v;
    while ((v = atomic_load_explicit(&s->seq, memory_order_acquire)) != seq) {
        if (sleeping)
            bp_futex_wait(&s->seq, v, 100000000);   /* re-check "done" every 100 ms */
        else
            bp_cpu_relax();
        if ((sleeping || (++spins & 1023) == 0) && bp_is_done(sh))
            return -1;
    }
    return 0;
}

/* Preemption count at the start of the timed phase (k == warm), added to
 * the total at its end: between samples, never inside one. */
static void phase(const struct bp_job *j, uint64_t k, uint64_t *begin)
{
    if (k == j->warm)
        *begin = bp_preempt_begin();
    else if (k == j->warm + j->count)
        bp_preempt_end(j->sh, *begin);
}

static int floor_a(const struct bp_job *j, unsigned char *out, unsigned char *in, int sleeping)
{
    uint64_t k, total = j->warm + j->count, p0 = 0;
    for (k = 0; k < total; k++) {
        phase(j, k, &p0);
        uint64_t t0, t1;
        bp_stamp(out, j->size, k);
        t0 = bp_now();
        slot_put(j->ab, out, j->size, (uint32_t)k + 1, sleeping);
        if (slot_wait(j->ba, (uint32_t)k + 1, sleeping, j->sh) != 0)
            return -1;
        t1 = bp_now();
        memcpy(in, j->ba->data, j->size);
        if (!bp_check(in, j->size, k))
            return bp_error(j->sh, "floor: answer %llu has a wrong payload", (unsigned long long)k);
        if (k >= j->warm)
            j->samples[k - j->warm] = t1 - t0;
    }
    phase(j, k, &p0);
    return 0;
}

static int floor_b(const struct bp_job *j, unsigned char *in, int sleeping)
{
    uint64_t k, total = j->warm + j->count, p0 = 0;
    for (k = 0; k < total; k++) {
        phase(j, k, &p0);
        if (slot_wait(j->ab, (uint32_t)k + 1, sleeping, j->sh) != 0)
            return -1;
        memcpy(in, j->ab->data, j->size);
        if (!bp_check(in, j->size, k))
            return bp_error(j->sh, "floor: ping %llu has a wrong payload", (unsigned long long)k);
        slot_put(j->ba, in, j->size, (uint32_t)k + 1, sleeping);
    }
    phase(j, k, &p0);
    return 0;
}

/* ---- sockets and pipes ---- */

static int write_msg(int fd, const unsigned char *buf, size_t size)
{
    size_t done = 0;
    while (done < size) {
        ssize_t w = write(fd, buf + done, size - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        done += (size_t)w;
    }
    return 0;
}

static int read_msg(int fd, unsigned char *buf, size_t size)
{
    size_t done = 0;
    while (done < size) {
        ssize_t r = read(fd, buf + done, size - done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        done += (size_t)r;
    }
    return 0;
}

static int io_error(const struct bp_job *j, const char *what, uint64_t k)
{
    return bp_error(j->sh, "%s at message %llu", what, (unsigned long long)k);
}

static int stream_ping(const struct bp_job *j, unsigned char *out, unsigned char *in)
{
    uint64_t k, total = j->warm + j->count, p0 = 0;
    for (k = 0; k < total; k++) {
        phase(j, k, &p0);
        uint64_t t0, t1;
        bp_stamp(out, j->size, k);
        t0 = bp_now();
        if (write_msg(j->fd_a[1], out, j->size) != 0)
            return io_error(j, "write failed", k);
        if (read_msg(j->fd_a[0], in, j->size) != 0)
            return io_error(j, "read failed", k);
        t1 = bp_now();
        if (!bp_check(in, j->size, k))
            return io_error(j, "wrong payload", k);
        if (k >= j->warm)
            j->samples[k - j->warm] = t1 - t0;
    }
    phase(j, k, &p0);
    return 0;
}

static int stream_pong(const struct bp_job *j, unsigned char *in)
{
    uint64_t k, total = j->warm + j->count, p0 = 0;
    for (k = 0; k < total; k++) {
        phase(j, k, &p0);
        if (read_msg(j->fd_b[0], in, j->size) != 0)
            return io_error(j, "read failed", k);
        if (!bp_check(in, j->size, k))
            return io_error(j, "wrong payload", k);
        if (write_msg(j->fd_b[1], in, j->size) != 0)
            return io_error(j, "write failed", k);
    }
    phase(j, k, &p0);
    return 0;
}

static int stream_send(const struct bp_job *j, unsigned char *out)
{
    uint64_t k, total = j->warm + j->count, p0 = 0;
    for (k = 1; k <= total; k++) {
        bp_stamp(out, j->size, k);
        if (write_msg(j->fd_a[1], out, j->size) != 0)
            return io_error(j, "write failed", k);
        phase(j, k, &p0);
    }
    return bp_wait_done(j->sh, UINT64_MAX);
}

static int stream_receive(const struct bp_job *j, unsigned char *in)
{
    uint64_t k, total = j->warm + j->count, p0 = 0;
    for (k = 1; k <= total; k++) {
        if (read_msg(j->fd_b[0], in, j->size) != 0)
            return io_error(j, "read failed", k);
        if (!bp_check(in, j->size, k))
            return io_error(j, "wrong payload or order", k);
        if (k == j->warm)
            atomic_store(&j->sh->t0, bp_now());
        if (k == total)
            atomic_store(&j->sh->t1, bp_now());
        phase(j, k, &p0);
    }
    bp_set_done(j->sh);
    return 0;
}

/* ---- ends ---- */

static int is_floor(const struct bp_job *j)
{
    return j->m->kind == BP_CACHELINE || j->m->kind == BP_FUTEX;
}

int bp_bare_a(const struct bp_job *j)
{
    unsigned char *out = calloc(1, j->size + 1), *in = calloc(1, j->size + 1);
    int rc;
    if (out == NULL || in == NULL)
        rc = bp_error(j->sh, "out of memory");
    else if (bp_barrier(j->sh, BP_SETUP_TIMEOUT_NS) != 0)
        rc = bp_error(j->sh, "%s: the other end did not start", j->m->label);
    else if (is_floor(j) && j->mode == BP_LATENCY)
        rc = floor_a(j, out, in, j->m->kind == BP_FUTEX);
    else if (is_floor(j))
        rc = bp_error(j->sh, "%s: latency only", j->m->label);
    else if (j->mode == BP_LATENCY)
        rc = stream_ping(j, out, in);
    else
        rc = stream_send(j, out);
    if (rc == 0 && j->mode == BP_LATENCY)
        bp_set_done(j->sh);
    free(out);
    free(in);
    return rc;
}

int bp_bare_b(const struct bp_job *j)
{
    unsigned char *in = calloc(1, j->size + 1);
    int rc;
    if (in == NULL)
        rc = bp_error(j->sh, "out of memory");
    else if (bp_barrier(j->sh, BP_SETUP_TIMEOUT_NS) != 0)
        rc = bp_error(j->sh, "%s: the other end did not start", j->m->label);
    else if (is_floor(j) && j->mode == BP_LATENCY)
        rc = floor_b(j, in, j->m->kind == BP_FUTEX);
    else if (is_floor(j))
        rc = bp_error(j->sh, "%s: latency only", j->m->label);
    else if (j->mode == BP_LATENCY)
        rc = stream_pong(j, in);
    else
        rc = stream_receive(j, in);
    free(in);
    return rc;
}
