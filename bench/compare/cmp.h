/*
 * cmp.h - the contract between bench_compare's coordinator and the
 * mechanisms it measures (librpc, iceoryx, ZeroMQ, Unix sockets, pipes and
 * the bare floors).
 *
 * One measurement = one publisher process (end A) and nsubs subscriber
 * processes (end B, sub_id 0..nsubs-1), all forked by the coordinator.
 * They share a MAP_SHARED anonymous block (struct cmp_shared) mapped before
 * fork(): the start barrier, the "done" flag, the first error, and each
 * end's results.  Every mechanism moves the same bytes: the sender stamps
 * its own buffer (cmp_stamp) and copies it into the transport; a receiver
 * copies the payload out into its own buffer and checks the stamps
 * (cmp_check).  A mechanism that lends buffers (iceoryx loans, librpc's
 * callback pointer) still copies in and out, so all do the same work.
 *
 * Modes (what the ends do):
 * - CMP_LATENCY (nsubs == 1): A stamps message k, notes the clock and sends
 *   it on "ping"; B takes it, checks it, sends its copy back on "pong"; A
 *   takes the pong, checks it and stores clock - sent into
 *   sh->samples[k - warm] for k >= warm.  warm + count round trips.
 * - CMP_THROUGHPUT (nsubs >= 1; nsubs > 1 is the fan-out measure): A sends
 *   messages 1..warm+count as fast as the transport takes them, with
 *   back-pressure (it waits, never drops, when a subscriber is behind).
 *   Every B checks that message k arrives k-th and intact, stores its clock
 *   at k == warm into sh->sub[sub_id].t0 and at k == warm + count into
 *   .t1, then returns.
 * - CMP_RATE: as CMP_THROUGHPUT but A paces itself to rate_hz messages/s
 *   (absolute deadlines, clock_nanosleep) and the receivers block in the
 *   kernel between messages (the mechanism's sleeping mode).  Each end
 *   stores its process CPU time (getrusage RUSAGE_SELF, all its threads:
 *   library threads count) over the timed phase [message warm, last] into
 *   its cpu_ns and the phase's wall time into wall_ns.
 * - CMP_IDLE: every end sets up (A creates its publisher, Bs subscribe),
 *   passes the barrier, then both sit idle for count milliseconds without
 *   traffic in the mechanism's normal waiting mode; each stores CPU and
 *   wall time over that period as in CMP_RATE.
 *
 * Rules for an end: return 0, or -1 after cmp_error() (which also sets
 * "done" so that nobody waits for a failed run).  Call cmp_barrier() once
 * set up (publisher created / subscribed and connected), so timing never
 * includes set-up; the mechanism must itself make sure that nothing sent
 * after the barrier is lost to a slow join (e.g. ZeroMQ's late
 * subscription): do a handshake before the barrier if needed.  Never wait
 * without a bound: check cmp_is_done() at least every 100 ms.  Clean up
 * every resource (shared memory, socket files) before returning.
 */
#ifndef CMP_H
#define CMP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define CMP_MAX_SUBS 8

enum cmp_mode { CMP_LATENCY, CMP_THROUGHPUT, CMP_RATE, CMP_IDLE };

/* One end's results (written by that end only). */
struct cmp_end_result {
    _Atomic uint64_t t0, t1;      /* throughput: clock at message warm and at the last */
    _Atomic uint64_t cpu_ns;      /* rate/idle: process CPU time over the timed phase */
    _Atomic uint64_t wall_ns;     /* rate/idle: the timed phase's length */
    _Atomic uint64_t preemptions; /* involuntary switches of the working thread, timed phase */
};

struct cmp_shared {
    _Atomic uint32_t ready;       /* ends past set-up (futex word of the barrier) */
    _Atomic uint32_t done;        /* 1 when the measurement is over (futex word) */
    _Atomic uint32_t errors;
    _Atomic uint32_t nends;       /* 1 + nsubs: what the barrier waits for */
    struct cmp_end_result pub;
    struct cmp_end_result sub[CMP_MAX_SUBS];
    char errmsg[256];             /* the first failure */
    unsigned char scratch[4096];  /* for a mechanism's own rendezvous, zeroed per run */
};

/* What one measurement runs; every end inherits it through fork(). */
struct cmp_job {
    const struct cmp_mech *m;
    enum cmp_mode mode;
    size_t size;                  /* payload bytes: 64 .. 1 MiB */
    uint64_t warm, count;         /* untimed, then timed messages/round trips (idle: ms) */
    unsigned nsubs;               /* subscriber processes (latency: 1) */
    unsigned sub_id;              /* set in each B end before it runs */
    double rate_hz;               /* CMP_RATE */
    const char *name;             /* unique per measurement: librpc domain name,
                                   * ipc:// path stem, iceoryx instance, ... */
    struct cmp_shared *sh;
    uint64_t *samples;            /* latency: count round-trip times (ns), written by A */
    void *prep;                   /* what the mechanism's prepare() made (fds, ...) */
};

/* A mechanism: a table row in the report. */
struct cmp_mech {
    const char *key;              /* for --mechanisms, e.g. "librpc-spin", "iox-poll" */
    const char *label;            /* row label, e.g. "iceoryx 2.0 busy-poll" */
    int variant;                  /* the mechanism's own switch (spin/sleep, poll/WaitSet) */
    unsigned modes;               /* bit (1u << enum cmp_mode) per mode it supports */
    size_t max_size;              /* largest payload it can carry (0: any) */
    int needs_roudi;              /* iceoryx: the coordinator runs iox-roudi around it */
    /* In the coordinator before fork() (may be NULL): make what the ends
     * inherit (socket pairs, pipes) into j->prep.  0 or -1. */
    int (*prepare)(struct cmp_job *j);
    /* In the coordinator after every end exited (may be NULL). */
    void (*finish)(struct cmp_job *j);
    int (*pub)(const struct cmp_job *j);   /* end A */
    int (*sub)(const struct cmp_job *j);   /* end B, once per subscriber */
};

/* Mechanism tables, one per source file; each ends with a zeroed entry. */
extern const struct cmp_mech cmp_librpc_mechs[];  /* mech_librpc.c */
extern const struct cmp_mech cmp_bare_mechs[];    /* mech_bare.c: floors, UDS, pipe */
extern const struct cmp_mech cmp_iceoryx_mechs[]; /* mech_iceoryx.c (empty when not built) */
extern const struct cmp_mech cmp_zmq_mechs[];     /* mech_zmq.c (empty when not built) */

/* ---- helpers (cmp_common.c) ---- */
uint64_t cmp_now(void);                               /* CLOCK_MONOTONIC ns */
uint64_t cmp_cpu_ns(void);                            /* getrusage(RUSAGE_SELF) user+sys ns */
void cmp_futex_wait(_Atomic uint32_t *w, uint32_t val, int64_t timeout_ns);
void cmp_futex_wake(_Atomic uint32_t *w, int count);
int cmp_barrier(struct cmp_shared *sh);               /* 0, or -1 after 20 s */
void cmp_set_done(struct cmp_shared *sh);
int cmp_is_done(const struct cmp_shared *sh);
int cmp_wait_done(struct cmp_shared *sh, uint64_t timeout_ns); /* 0 or -1 */
void cmp_stamp(unsigned char *buf, size_t size, uint64_t k);   /* k at both ends */
int cmp_check(const unsigned char *buf, size_t size, uint64_t k); /* 1 if stamped k */
int cmp_error(struct cmp_shared *sh, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint64_t cmp_preempt_count(void);                     /* this thread's involuntary switches */
/* Sleep until absolute CLOCK_MONOTONIC time t_ns (CMP_RATE pacing). */
void cmp_sleep_until(uint64_t t_ns);

#define CMP_SETUP_TIMEOUT_NS (20ull * 1000000000ull)

#endif
