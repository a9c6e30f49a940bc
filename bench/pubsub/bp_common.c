/*
 * bp_common.c - helpers shared by the ends of bench_pubsub: the clock, the
 * futex calls, the start barrier and the "done" flag, payload stamps, and
 * the record of the first failure.
 */
#define _GNU_SOURCE
#include "bp.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

uint64_t bp_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Not FUTEX_*_PRIVATE: the word lives in memory shared between processes. */
void bp_futex_wait(_Atomic uint32_t *w, uint32_t val, int64_t timeout_ns)
{
    struct timespec ts, *tp = NULL;
    if (timeout_ns >= 0) {
        ts.tv_sec = (time_t)(timeout_ns / 1000000000);
        ts.tv_nsec = (long)(timeout_ns % 1000000000);
        tp = &ts;
    }
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT, val, tp, NULL, 0);
}

void bp_futex_wake(_Atomic uint32_t *w)
{
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE, 1, NULL, NULL, 0);
}

int bp_barrier(struct bp_shared *sh, uint64_t timeout_ns)
{
    uint64_t deadline = bp_now() + timeout_ns;
    uint32_t v = atomic_fetch_add(&sh->ready, 1) + 1;
    if (v >= 2)
        syscall(SYS_futex, (uint32_t *)&sh->ready, FUTEX_WAKE, 2, NULL, NULL, 0);
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
    syscall(SYS_futex, (uint32_t *)&sh->done, FUTEX_WAKE, 8, NULL, NULL, 0);
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
    memcpy(buf, &k, sizeof k);
    if (size >= 16)
        memcpy(buf + size - sizeof k, &k, sizeof k);
}

int bp_check(const unsigned char *buf, size_t size, uint64_t k)
{
    uint64_t a, b = k;
    memcpy(&a, buf, sizeof a);
    if (size >= 16)
        memcpy(&b, buf + size - sizeof b, sizeof b);
    return a == k && b == k;
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

/* The "nonvoluntary_ctxt_switches" line of the calling thread's status. */
static uint64_t involuntary_switches(void)
{
    char line[128];
    unsigned long long v = 0;
    FILE *f = fopen("/proc/thread-self/status", "r");
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "nonvoluntary_ctxt_switches: %llu", &v) == 1)
            break;
    fclose(f);
    return v;
}

uint64_t bp_preempt_begin(void)
{
    return involuntary_switches();
}

void bp_preempt_end(struct bp_shared *sh, uint64_t begin)
{
    atomic_fetch_add(&sh->preemptions, involuntary_switches() - begin);
}
