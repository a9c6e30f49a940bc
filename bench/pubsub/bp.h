/*
 * bp.h - what the parts of bench_pubsub share: the mechanisms measured, the
 * job one measurement's two processes run, and small helpers (clock,
 * futex, payload stamps, first-error record).
 *
 * One measurement = two processes forked by the coordinator (bench_pubsub.c):
 * end A pings or publishes, end B pongs or receives.  They meet in a
 * MAP_SHARED anonymous block (struct bp_shared) that the coordinator maps
 * before fork(), so the bare floors need no named segment at all; librpc's
 * ends also meet in their domain's segment.
 */
#ifndef BP_H
#define BP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define BP_GROUP "bench"

enum bp_kind { BP_LIBRPC, BP_CACHELINE, BP_FUTEX, BP_UDS, BP_PIPE };
enum bp_mode { BP_LATENCY, BP_THROUGHPUT };

struct bp_mech {
    const char *key;            /* for --mechanisms */
    const char *label;          /* table row */
    enum bp_kind kind;
    int spin_us;                /* librpc: rpc_config_set_spin_us */
    int manual;                 /* librpc: RPC_RECEIVE_MANUAL + rpc_node_poll(0) loop */
};

/* One direction of a bare floor: a sequence word, the payload right after
 * it (the least a hand-written shared-memory transport would do). */
struct bp_slot {
    _Atomic uint32_t seq;
    uint32_t len;
    unsigned char data[];
};

/* Shared by the coordinator and both ends of one measurement. */
struct bp_shared {
    _Atomic uint32_t ready;     /* ends set up (futex word of the start barrier) */
    _Atomic uint32_t done;      /* 1 when the measurement is over (futex word) */
    _Atomic uint32_t errors;    /* integrity failures and failed calls */
    _Atomic uint32_t pad;
    _Atomic uint64_t t0, t1;    /* throughput: receiver's clock at the first and last timed message */
    _Atomic uint64_t preemptions; /* involuntary switches of the ends' busiest threads */
    double copy_bps[3][2];      /* memcpy child: bytes/s per size, [0] cold, [1] hot */
    char errmsg[256];           /* the first failure, written by whoever failed first */
};

/* What one measurement runs; the children inherit it through fork(). */
struct bp_job {
    const struct bp_mech *m;
    enum bp_mode mode;
    size_t size;                /* payload bytes */
    uint64_t warm;              /* round trips or messages not timed */
    uint64_t count;             /* round trips or messages timed */
    const char *shm_name;       /* librpc domain */
    size_t queue_size;          /* 0: library default */
    int fd_a[2], fd_b[2];       /* UDS/pipe: [0] read, [1] write, per end */
    struct bp_shared *sh;
    struct bp_slot *ab, *ba;    /* floors: A->B and B->A */
    uint64_t *samples;          /* latency: count round-trip times (ns), written by A */
};

/* Ends: return 0, or -1 after recording the reason with bp_error(). */
int bp_librpc_a(const struct bp_job *j);
int bp_librpc_b(const struct bp_job *j);
/* One process, one thread: j->count batches of BP_COST_BATCH messages from
 * one manual node to another.  samples[b] = ns publishing batch b,
 * samples[count + b] = ns receiving it, samples[2 count + b] = ns for as
 * many messages each published and then received alone (the latency
 * path's work). */
int bp_librpc_cost(const struct bp_job *j);
#define BP_COST_BATCH 32
int bp_bare_a(const struct bp_job *j);
int bp_bare_b(const struct bp_job *j);

/* ---- helpers (bp_common.c) ---- */

/* The hint a spinning core gives its sibling and the memory system. */
static inline void bp_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

uint64_t bp_now(void);
/* FUTEX_WAIT on a word in shared memory while it holds val, at most
 * timeout_ns (< 0: no limit).  Spurious returns are fine: callers loop. */
void bp_futex_wait(_Atomic uint32_t *w, uint32_t val, int64_t timeout_ns);
void bp_futex_wake(_Atomic uint32_t *w);
/* Both ends call this once set up; returns 0 when both are, -1 on timeout. */
int bp_barrier(struct bp_shared *sh, uint64_t timeout_ns);
void bp_set_done(struct bp_shared *sh);
int bp_is_done(const struct bp_shared *sh);
/* Sleep in the kernel until done (0) or timeout_ns passed (-1). */
int bp_wait_done(struct bp_shared *sh, uint64_t timeout_ns);
/* Write k into the payload's first and (size >= 16) last 8 bytes. */
void bp_stamp(unsigned char *buf, size_t size, uint64_t k);
/* 1 if buf carries k at both places. */
int bp_check(const unsigned char *buf, size_t size, uint64_t k);
/* Count a failure and keep the first message; always returns -1. */
int bp_error(struct bp_shared *sh, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* How often the calling thread was switched out involuntarily (another
 * task took its CPU): read when a thread's timed phase begins, then
 * bp_preempt_end adds the difference to sh->preemptions.  Called between
 * samples, never inside a timed interval. */
uint64_t bp_preempt_begin(void);
void bp_preempt_end(struct bp_shared *sh, uint64_t begin);

/* Barrier and done-wait bound: anything slower is a hang. */
#define BP_SETUP_TIMEOUT_NS (20ull * 1000000000ull)

#endif
