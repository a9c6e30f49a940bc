/*
 * platform.h - the few things librpc needs from the operating system that
 * POSIX does not spell the same way everywhere: byte-range locks that belong
 * to an open file description, randomness and clocks.
 *
 * Lock semantics the rest of the library relies on:
 * - a lock belongs to the open file description, not to the thread or
 *   process, so several nodes of one process share the process's locks and a
 *   second descriptor opened by a tool never disturbs them;
 * - the kernel drops every lock when the last descriptor of the description
 *   is closed, including when the process dies by SIGKILL.
 * Linux provides this with F_OFD_* locks.  Classic fcntl() locks would also
 * do on other systems if the library keeps one descriptor per segment per
 * process; that port is not written yet.
 */
#ifndef RPC_PLATFORM_H
#define RPC_PLATFORM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

enum rpcp_lock_type { RPCP_UNLOCK = 0, RPCP_SHARED = 1, RPCP_EXCLUSIVE = 2 };

/* Take/release a one-byte lock without waiting.
 * Returns 0, -EAGAIN when another description holds a conflicting lock, or
 * another -errno. */
int rpcp_lock_try(int fd, unsigned byte, enum rpcp_lock_type type);

/* Which kind of lock does another description hold on byte?  Returns 0
 * (none), RPCP_SHARED, RPCP_EXCLUSIVE, or -errno.  (Only one holder is
 * reported; an exclusive holder excludes all others.) */
int rpcp_lock_holder(int fd, unsigned byte);

/* Take a one-byte lock, waiting in the kernel.  Returns 0 or -errno;
 * -EINTR when a signal handler (without SA_RESTART) interrupted the wait,
 * so that the caller's signal can end it. */
int rpcp_lock_wait(int fd, unsigned byte, enum rpcp_lock_type type);

/* Would an exclusive lock on byte conflict with another description's lock?
 * Returns 1 (held by someone else), 0 (free, or held only by fd's own
 * description) or -errno.  Needs no write access to the file. */
int rpcp_lock_held_by_other(int fd, unsigned byte);

/* Zero bytes [0, size) of the file and give their memory back, keeping the
 * size, so that other mappings stay valid.  Returns 0 or -errno
 * (-EOPNOTSUPP where the file system cannot punch holes). */
int rpcp_zero_file(int fd, uint64_t size);

/* A fence, e.g. seq_cst for the Dekker pairs of the wake-up protocol.
 * ThreadSanitizer does not model fences; under it, an RMW on one shared
 * word orders the two sides just as well (within a process, which is all
 * TSan sees), so that is what its builds use. */
#if defined(__SANITIZE_THREAD__)
#define RPCP_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RPCP_TSAN 1
#endif
#endif
#ifdef RPCP_TSAN
extern _Atomic uint32_t rpcp_fence_word;
#define rpcp_fence(order) ((void)atomic_fetch_add_explicit(&rpcp_fence_word, 0, (order)))
#else
#define rpcp_fence(order) atomic_thread_fence(order)
#endif

/* ThreadSanitizer sees one process.  A queue block passes between pairs
 * of nodes through other processes and byte-range locks it cannot see, so
 * an earlier user's writes in this process would look unordered with a
 * later user's reads here.  The queue's owners release the block when they
 * let go of it and acquire it when they take it up, which is the order the
 * pool really provides (it reuses a block only after both ends let go). */
#ifdef RPCP_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define rpcp_tsan_acquire(p) __tsan_acquire((void *)(p))
#define rpcp_tsan_release(p) __tsan_release((void *)(p))
#else
#define rpcp_tsan_acquire(p) ((void)(p))
#define rpcp_tsan_release(p) ((void)(p))
#endif

/* Asymmetric Dekker barriers.  A publisher's "commit, then read the
 * receiver's sleeping flag" needs StoreLoad order, which costs a full
 * fence per message, and that fence waits for the record's cache lines to
 * reach the publisher: the message rate's limit.  Instead the rare side (a
 * receiver about to sleep) runs rpcp_asym_heavy(), which makes every CPU
 * now running a registered process execute a full barrier (Linux
 * membarrier, GLOBAL_EXPEDITED), and the frequent side needs only a
 * compiler barrier.  Only valid when both processes take part:
 * rpcp_asym_register() returns 1 when this process does (idempotent), 0
 * when the system cannot (other kernels, valgrind, seccomp), and callers
 * then keep the fence. */
int rpcp_asym_register(void);
/* 0, or -1 if the barrier could not be run (then use fences). */
int rpcp_asym_heavy(void);
#define rpcp_asym_light() atomic_signal_fence(memory_order_seq_cst)

/* Wait while *word == expected, at most timeout_ns (< 0: no limit), or
 * until a wake-up.  Works across processes on shared memory.  Spurious
 * returns are allowed: callers re-check their condition.  Returns -EINTR
 * when a signal handler interrupted the wait, else 0. */
int rpcp_wait_word(_Atomic uint32_t *word, uint32_t expected, int64_t timeout_ns);
/* Wake every waiter on word. */
void rpcp_wake_word(_Atomic uint32_t *word);

/* pthread_create, returning only once the new thread runs fn.  A thread
 * still starting up may hold runtime-internal locks (allocator, thread
 * registry); a fork() by the caller right after creating a node must not
 * copy those locked into the child.  Returns 0 or an errno value. */
int rpcp_thread_start(pthread_t *t, void *(*fn)(void *), void *arg);

/* 64 random bits from the kernel; never 0. */
uint64_t rpcp_random64(void);

int64_t rpcp_now_unix_ns(void);
uint64_t rpcp_mono_ns(void);
/* A descriptor that becomes readable when process pid ends (Linux pidfd),
 * close-on-exec; or -errno (-ENOSYS where there are none). */
int rpcp_pidfd_open(pid_t pid);
/* Lock mu, waiting at most until until_ns on the CLOCK_MONOTONIC scale
 * (0: no limit).  Returns 0, or -ETIMEDOUT with mu not taken. */
int rpcp_mutex_lock_until(pthread_mutex_t *mu, uint64_t until_ns);
/* Let another runnable thread have this CPU (returns at once if none). */
void rpcp_yield(void);
void rpcp_sleep_ns(uint64_t ns);

#endif
