/*
 * cmp_common.c - the helpers of cmp.h that every mechanism's ends share:
 * clocks, CPU time, futex waits on the shared block, the start barrier,
 * the "done" flag, payload stamps, the first-error record and pacing.
 */
#define _GNU_SOURCE
#include "cmp.h"
#include "bench_util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

uint64_t cmp_now(void)
{
    return bu_now_ns();
}

/* All threads of the process, user and system time.  The kernel sums the
 * threads' exact run times, so this is not limited to clock ticks. */
uint64_t cmp_cpu_ns(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000u +
           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000u;
}

void cmp_futex_wait(_Atomic uint32_t *w, uint32_t val, int64_t timeout_ns)
{
    bu_futex_wait(w, val, timeout_ns);
}

void cmp_futex_wake(_Atomic uint32_t *w, int count)
{
    bu_futex_wake(w, count);
}

int cmp_barrier(struct cmp_shared *sh)
{
    uint64_t deadline = cmp_now() + CMP_SETUP_TIMEOUT_NS;
    uint32_t n = atomic_load(&sh->nends);
    uint32_t v = atomic_fetch_add(&sh->ready, 1) + 1;
    if (v >= n)
        cmp_futex_wake(&sh->ready, CMP_MAX_SUBS + 1);
    while ((v = atomic_load(&sh->ready)) < n) {
        uint64_t now = cmp_now();
        if (now > deadline || cmp_is_done(sh))
            return -1;
        cmp_futex_wait(&sh->ready, v, 100000000);   /* re-check "done" */
    }
    return 0;
}

void cmp_set_done(struct cmp_shared *sh)
{
    atomic_store(&sh->done, 1);
    cmp_futex_wake(&sh->done, CMP_MAX_SUBS + 2);
}

int cmp_is_done(const struct cmp_shared *sh)
{
    return atomic_load_explicit(&sh->done, memory_order_acquire) != 0;
}

/* One futex wait for the whole time left: cmp_set_done() wakes it, so
 * an idle end costs no periodic wake-ups of ours. */
int cmp_wait_done(struct cmp_shared *sh, uint64_t timeout_ns)
{
    uint64_t start = cmp_now();
    while (!cmp_is_done(sh)) {
        uint64_t passed = cmp_now() - start;
        if (passed >= timeout_ns)
            return -1;
        uint64_t left = timeout_ns - passed;
        cmp_futex_wait(&sh->done, 0, left > (uint64_t)INT64_MAX ? -1 : (int64_t)left);
    }
    return 0;
}

void cmp_stamp(unsigned char *buf, size_t size, uint64_t k)
{
    bu_stamp(buf, size, k);
}

int cmp_check(const unsigned char *buf, size_t size, uint64_t k)
{
    return bu_check(buf, size, k);
}

int cmp_error(struct cmp_shared *sh, const char *fmt, ...)
{
    if (atomic_fetch_add(&sh->errors, 1) == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(sh->errmsg, sizeof sh->errmsg, fmt, ap);
        va_end(ap);
    }
    /* Whoever waits for the end must not wait for a run that failed. */
    cmp_set_done(sh);
    return -1;
}

/* The "nonvoluntary_ctxt_switches" line of the calling thread's status. */
uint64_t cmp_preempt_count(void)
{
    return bu_involuntary_switches();
}

void cmp_sleep_until(uint64_t t_ns)
{
    struct timespec ts = { (time_t)(t_ns / 1000000000u), (long)(t_ns % 1000000000u) };
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}
