/*
 * posix.c - platform layer for Linux (and POSIX systems with OFD locks).
 * See platform.h for the semantics promised to the rest of the library.
 */
#include "platform/platform.h"

#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <limits.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#endif

#ifndef F_OFD_SETLK
#error "librpc needs open-file-description locks (F_OFD_SETLK); port src/platform for this system"
#endif

#ifdef RPCP_TSAN
_Atomic uint32_t rpcp_fence_word;
#endif

static int lock_cmd(int fd, int cmd, unsigned byte, enum rpcp_lock_type type, int retry_eintr)
{
    struct flock fl;
    memset(&fl, 0, sizeof fl);   /* OFD locks require l_pid == 0 */
    fl.l_type = type == RPCP_EXCLUSIVE ? F_WRLCK : type == RPCP_SHARED ? F_RDLCK : F_UNLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = (off_t)byte;
    fl.l_len = 1;
    for (;;) {
        if (fcntl(fd, cmd, &fl) == 0)
            return 0;
        if (errno == EINTR && retry_eintr)
            continue;   /* a signal must not look like a conflict */
        if (errno == EACCES)
            return -EAGAIN;   /* POSIX allows either errno for a conflict */
        return -errno;
    }
}

int rpcp_lock_try(int fd, unsigned byte, enum rpcp_lock_type type)
{
    return lock_cmd(fd, F_OFD_SETLK, byte, type, 1);
}

int rpcp_lock_wait(int fd, unsigned byte, enum rpcp_lock_type type)
{
    return lock_cmd(fd, F_OFD_SETLKW, byte, type, 0);
}

int rpcp_lock_holder(int fd, unsigned byte)
{
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = (off_t)byte;
    fl.l_len = 1;
    if (fcntl(fd, F_OFD_GETLK, &fl) != 0)
        return -errno;
    return fl.l_type == F_UNLCK ? 0 : fl.l_type == F_RDLCK ? RPCP_SHARED : RPCP_EXCLUSIVE;
}

int rpcp_lock_held_by_other(int fd, unsigned byte)
{
    int holder = rpcp_lock_holder(fd, byte);
    return holder < 0 ? holder : holder != 0;
}

int rpcp_zero_file(int fd, uint64_t size)
{
#ifdef FALLOC_FL_PUNCH_HOLE
    if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, (off_t)size) == 0)
        return 0;
    return -errno;
#else
    (void)fd;
    (void)size;
    return -EOPNOTSUPP;
#endif
}

#ifdef __linux__
/* Shared (not FUTEX_PRIVATE) futexes: the word lives in a MAP_SHARED
 * mapping and the waiters are in other processes. */
int rpcp_wait_word(_Atomic uint32_t *word, uint32_t expected, int64_t timeout_ns)
{
    struct timespec ts, *tp = NULL;
    if (timeout_ns >= 0) {
        ts.tv_sec = (time_t)(timeout_ns / 1000000000);
        ts.tv_nsec = (long)(timeout_ns % 1000000000);
        tp = &ts;
    }
    if (syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, expected, tp, NULL, 0) != 0 &&
        errno == EINTR)
        return -EINTR;
    return 0;
}

void rpcp_wake_word(_Atomic uint32_t *word)
{
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}
#else
/* Without futexes: poll.  Correct (callers re-check), only slower. */
int rpcp_wait_word(_Atomic uint32_t *word, uint32_t expected, int64_t timeout_ns)
{
    uint64_t nap = 50000;
    if (atomic_load_explicit(word, memory_order_acquire) != expected)
        return 0;
    rpcp_sleep_ns(timeout_ns >= 0 && (uint64_t)timeout_ns < nap ? (uint64_t)timeout_ns : nap);
    return 0;
}

void rpcp_wake_word(_Atomic uint32_t *word)
{
    (void)word;
}
#endif

struct thread_start {
    void *(*fn)(void *);
    void *arg;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int running;
};

static void *thread_trampoline(void *p)
{
    struct thread_start *ts = p;
    void *(*fn)(void *) = ts->fn;
    void *arg = ts->arg;
    pthread_mutex_lock(&ts->mu);
    ts->running = 1;
    pthread_cond_signal(&ts->cond);
    pthread_mutex_unlock(&ts->mu);   /* ts lives on the creator's stack: done with it */
    return fn(arg);
}

int rpcp_thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
    struct thread_start ts = { fn, arg, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };
    int rc = pthread_create(t, NULL, thread_trampoline, &ts);
    if (rc == 0) {
        pthread_mutex_lock(&ts.mu);
        while (!ts.running)
            pthread_cond_wait(&ts.cond, &ts.mu);
        pthread_mutex_unlock(&ts.mu);
    }
    pthread_cond_destroy(&ts.cond);
    pthread_mutex_destroy(&ts.mu);
    return rc;
}

uint64_t rpcp_random64(void)
{
    uint64_t v = 0;
    for (;;) {
        ssize_t n = getrandom(&v, sizeof v, 0);
        if (n == (ssize_t)sizeof v && v != 0)
            return v;
        if (n < 0 && errno != EINTR) {
            /* No entropy source: fall back to clocks and pid, still unique
             * enough to tell attachments and segment generations apart. */
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            v ^= (uint64_t)ts.tv_nsec * UINT64_C(0x9E3779B97F4A7C15);
            v ^= ((uint64_t)getpid() << 32) ^ (uint64_t)ts.tv_sec;
            if (v != 0)
                return v;
        }
    }
}

int64_t rpcp_now_unix_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

uint64_t rpcp_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void rpcp_sleep_ns(uint64_t ns)
{
    struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- asymmetric barriers ---------------------------------------------------- */

#if defined(__linux__)
int rpcp_asym_register(void)
{
#ifdef LIBRPC_TEST_HOOKS
    /* Lets the tests run the fence protocol on a kernel that has both. */
    const char *off = getenv("LIBRPC_TEST_NO_MEMBARRIER");
    if (off != NULL && off[0] == '1')
        return 0;
#endif
    long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    if (cmds < 0 || !(cmds & MEMBARRIER_CMD_GLOBAL_EXPEDITED))
        return 0;
    return syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0) == 0;
}

int rpcp_asym_heavy(void)
{
    return syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0) == 0 ? 0 : -1;
}
#else
int rpcp_asym_register(void)
{
    return 0;
}

int rpcp_asym_heavy(void)
{
    return -1;
}
#endif

void rpcp_yield(void)
{
    (void)sched_yield();
}

int rpcp_pidfd_open(pid_t pid)
{
#if defined(__linux__) && defined(SYS_pidfd_open)
    long fd = syscall(SYS_pidfd_open, pid, 0);
    return fd < 0 ? -errno : (int)fd;
#else
    (void)pid;
    return -ENOSYS;
#endif
}

/* pthread_mutex_timedlock takes a CLOCK_REALTIME deadline: convert from
 * the monotonic one each round, and trust only the monotonic clock for
 * the verdict (the realtime clock may jump). */
int rpcp_mutex_lock_until(pthread_mutex_t *mu, uint64_t until_ns)
{
    if (until_ns == 0)
        return pthread_mutex_lock(mu) == 0 ? 0 : -EINVAL;
    for (;;) {
        uint64_t now = rpcp_mono_ns(), left;
        struct timespec ts;
        int rc;
        if (now >= until_ns)
            return pthread_mutex_trylock(mu) == 0 ? 0 : -ETIMEDOUT;
        left = until_ns - now;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += (time_t)(left / 1000000000u);
        ts.tv_nsec += (long)(left % 1000000000u);
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        rc = pthread_mutex_timedlock(mu, &ts);
        if (rc == 0)
            return 0;
        if (rc != ETIMEDOUT)
            return -rc;
    }
}
