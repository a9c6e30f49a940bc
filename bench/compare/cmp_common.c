/*
 * cmp_common.c - the helpers of cmp.h that every mechanism's ends share:
 * clocks, CPU time, futex waits on the shared block, the start barrier,
 * the "done" flag, payload stamps, the first-error record and pacing.
 */
#define _GNU_SOURCE
#include "cmp.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

uint64_t cmp_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
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

/* Not FUTEX_*_PRIVATE: the words live in memory shared between processes.
 * Spurious returns are fine: every caller loops on its condition. */
void cmp_futex_wait(_Atomic uint32_t *w, uint32_t val, int64_t timeout_ns)
{
    struct timespec ts, *tp = NULL;
    if (timeout_ns >= 0) {
        ts.tv_sec = (time_t)(timeout_ns / 1000000000);
        ts.tv_nsec = (long)(timeout_ns % 1000000000);
        tp = &ts;
    }
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT, val, tp, NULL, 0);
}

void cmp_futex_wake(_Atomic uint32_t *w, int count)
{
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE, count, NULL, NULL, 0);
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
    memcpy(buf, &k, sizeof k);
    if (size >= 16)
        memcpy(buf + size - sizeof k, &k, sizeof k);
}

int cmp_check(const unsigned char *buf, size_t size, uint64_t k)
{
    uint64_t a, b = k;
    memcpy(&a, buf, sizeof a);
    if (size >= 16)
        memcpy(&b, buf + size - sizeof b, sizeof b);
    return a == k && b == k;
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

void cmp_sleep_until(uint64_t t_ns)
{
    struct timespec ts = { (time_t)(t_ns / 1000000000u), (long)(t_ns % 1000000000u) };
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}
