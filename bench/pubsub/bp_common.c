/*
 * bp_common.c - helpers shared by the ends of bench_pubsub: the clock, the
 * futex calls, the start barrier and the "done" flag, payload stamps, and
 * the record of the first failure.
 */
#define _GNU_SOURCE
#include "bp.h"

#include <dirent.h>
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

void bp_add_cpu_wait(struct bp_shared *sh)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *de;
    uint64_t sum = 0;
    while (d != NULL && (de = readdir(d)) != NULL) {
        char path[64];
        unsigned long long run, wait;
        FILE *f;
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/proc/self/task/%.20s/schedstat", de->d_name);
        if ((f = fopen(path, "r")) == NULL)
            continue;
        if (fscanf(f, "%llu %llu", &run, &wait) == 2)
            sum += wait;
        fclose(f);
    }
    if (d != NULL)
        closedir(d);
    atomic_fetch_add(&sh->cpu_wait_ns, sum);
}
