/*
 * bp_common.c - helpers shared by the ends of bench_pubsub: the clock, the
 * futex calls, the start barrier and the "done" flag, payload stamps, and
 * the record of the first failure.
 */
#define _GNU_SOURCE
#include "bp.h"
#include "bench_util.h"

#include <stdarg.h>
#include <stdio.h>

uint64_t bp_now(void)
{
    return bu_now_ns();
}

void bp_futex_wait(_Atomic uint32_t *w, uint32_t val, int64_t timeout_ns)
{
    bu_futex_wait(w, val, timeout_ns);
}

void bp_futex_wake(_Atomic uint32_t *w)
{
    bu_futex_wake(w, 1);
}

int bp_barrier(struct bp_shared *sh, uint64_t timeout_ns)
{
    uint64_t deadline = bp_now() + timeout_ns;
    uint32_t v = atomic_fetch_add(&sh->ready, 1) + 1;
    if (v >= 2)
        bu_futex_wake(&sh->ready, 2);
    while ((v = atomic_load(&sh->ready)) < 2) {
        if (bp_now() > deadline)
            return -1;
        bp_futex_wait(&sh->ready, v, 100000000);
    }
    return 0;
}

void bp_set_done(struct bp_shared *sh)
{
    atomic_store(&sh->done, 1);
    bu_futex_wake(&sh->done, 8);
}

int bp_is_done(const struct bp_shared *sh)
{
    return atomic_load_explicit(&sh->done, memory_order_acquire) != 0;
}

int bp_wait_done(struct bp_shared *sh, uint64_t timeout_ns)
{
    uint64_t start = bp_now();
    while (!bp_is_done(sh)) {
        if (bp_now() - start > timeout_ns)
            return -1;
        bp_futex_wait(&sh->done, 0, 100000000);
    }
    return 0;
}

void bp_stamp(unsigned char *buf, size_t size, uint64_t k)
{
    bu_stamp(buf, size, k);
}

int bp_check(const unsigned char *buf, size_t size, uint64_t k)
{
    return bu_check(buf, size, k);
}

int bp_error(struct bp_shared *sh, const char *fmt, ...)
{
    if (atomic_fetch_add(&sh->errors, 1) == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(sh->errmsg, sizeof sh->errmsg, fmt, ap);
        va_end(ap);
    }
    /* Whoever waits for the end must not wait for a run that failed. */
    bp_set_done(sh);
    return -1;
}

uint64_t bp_preempt_begin(void)
{
    return bu_involuntary_switches();
}

void bp_preempt_end(struct bp_shared *sh, uint64_t begin)
{
    atomic_fetch_add(&sh->preemptions, bu_involuntary_switches() - begin);
}
