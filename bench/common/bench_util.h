/*
 * bench_util.h - what the benchmark programs share below their own
 * vocabularies (bench_pubsub's bp_*, bench_compare's cmp_*): the clock,
 * futex waits on memory shared between processes, payload stamps, and the
 * count of involuntary context switches.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t bu_now_ns(void);
/* FUTEX_WAIT (not private: the word is shared between processes) while *w
 * holds val, at most timeout_ns (< 0: no limit).  Spurious returns happen:
 * callers loop on their condition. */
void bu_futex_wait(_Atomic uint32_t *w, uint32_t val, int64_t timeout_ns);
/* FUTEX_WAKE up to count waiters. */
void bu_futex_wake(_Atomic uint32_t *w, int count);
/* Write k into the payload's first and (size >= 16) last 8 bytes. */
void bu_stamp(unsigned char *buf, size_t size, uint64_t k);
/* 1 if buf carries k at both places. */
int bu_check(const unsigned char *buf, size_t size, uint64_t k);
/* The calling thread's involuntary context switches so far (0 if unknown). */
uint64_t bu_involuntary_switches(void);

#endif
