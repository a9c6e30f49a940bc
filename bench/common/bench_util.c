/*
 * bench_util.c - see bench_util.h.
 */
#define _GNU_SOURCE
#include "bench_util.h"

#include <linux/futex.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

uint64_t bu_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void bu_futex_wait(_Atomic uint32_t *w, uint32_t val, int64_t timeout_ns)
{
    struct timespec ts, *tp = NULL;
    if (timeout_ns >= 0) {
        ts.tv_sec = (time_t)(timeout_ns / 1000000000);
        ts.tv_nsec = (long)(timeout_ns % 1000000000);
        tp = &ts;
    }
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT, val, tp, NULL, 0);
}

void bu_futex_wake(_Atomic uint32_t *w, int count)
{
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE, count, NULL, NULL, 0);
}

void bu_stamp(unsigned char *buf, size_t size, uint64_t k)
{
    memcpy(buf, &k, sizeof k);
    if (size >= 16)
        memcpy(buf + size - sizeof k, &k, sizeof k);
}

int bu_check(const unsigned char *buf, size_t size, uint64_t k)
{
    uint64_t a, b = k;
    memcpy(&a, buf, sizeof a);
    if (size >= 16)
        memcpy(&b, buf + size - sizeof b, sizeof b);
    return a == k && b == k;
}

/* The "nonvoluntary_ctxt_switches" line of the calling thread's status. */
uint64_t bu_involuntary_switches(void)
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
