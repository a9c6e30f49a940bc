/*
 * chaos_common.h - what the chaos driver and its workers agree on.
 *
 * This file owns the shape of the chaos domain's segment, the message
 * format the workers publish and check, and the one-line report protocol a
 * worker speaks to the driver over a pipe.  See docs/reliability.md
 * ("Chaos") for what the soak proves and how to run it.
 *
 * Message format (every message is self-describing, so a subscriber can
 * check it without being told anything else):
 *   struct chaos_msg header, then a pseudo-random body derived from
 *   (uid, topic, seq).  `sum` is FNV-1a-64 over the header with sum = 0 and
 *   then the body.  A stream is (publisher node uid, topic): uid is random
 *   per node incarnation, seq counts from 1 per stream and never restarts,
 *   epoch grows each time a publish on that stream failed (the publisher
 *   then knows some subscriber missed that message, so a gap is allowed at
 *   an epoch change and nowhere else).
 *
 * Report protocol (worker -> driver, one write() per line, < PIPE_BUF so
 * lines from several threads never interleave):
 *   "H <pid>"                 the SIGTERM handler is installed
 *   "S k=v k=v ..."           cumulative counters (chaos_counter_names)
 *   "E <kind> <details>"      one invariant violation, as it happens
 *   "V k=v k=v ..."           final counters; the worker exits next
 */
#ifndef LIBRPC_CHAOS_COMMON_H
#define LIBRPC_CHAOS_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include <librpc/librpc.h>

/* ---- the domain's shape (see docs/reliability.md, "Segment size") ---- */

#define CHAOS_GROUP "chaos"
#define CHAOS_NTOPICS 6u              /* topics t0..t5 */
#define CHAOS_MAX_WORKERS 64u
#define CHAOS_MAX_NODES_PER_WORKER 3u
#define CHAOS_MAX_NODES 32u           /* node table: live nodes + dead awaiting reclaim */
#define CHAOS_MAX_SUBS 1024u
#define CHAOS_QUEUE_SIZE ((size_t)16 << 10)
#define CHAOS_MAX_MSG ((size_t)4 << 10)
#define CHAOS_SHM_SIZE ((size_t)32 << 20)

/* The library's period of the dead-node sweep, and the limit the issue
 * sets for a dead node to stay listed: the sweep interval plus one second. */
#define CHAOS_SWEEP_MS 100u
#define CHAOS_RECLAIM_LIMIT_MS (CHAOS_SWEEP_MS + 1000u)

/* Blocking calls without a timeout argument (create, destroy, subscribe,
 * unsubscribe) are bounded by the library's life-cycle lock deadline. */
#define CHAOS_LOCK_BOUND_MS 10000u

/* Create a configuration for domain `name` with the shape above and the
 * given receive mode.  Returns 0 or an RPC_E* code. */
int chaos_config(const char *name, int receive_mode, rpc_config **out);

/* Topic name "t<i>". */
const char *chaos_topic(unsigned i);

/* ---- clocks and randomness --------------------------------------------- */

uint64_t chaos_mono_ns(void);
int64_t chaos_wall_ns(void);
void chaos_sleep_ms(unsigned ms);

/* xorshift64*: small, fast, good enough to pick moments and sizes. */
uint64_t chaos_rand(uint64_t *state);
/* Uniform in [0, n) (n > 0). */
uint64_t chaos_below(uint64_t *state, uint64_t n);
/* A seed from the clock and the pid, for when none is given. */
uint64_t chaos_fresh_seed(void);

/* ---- messages -------------------------------------------------------- */

#define CHAOS_MAGIC UINT64_C(0x47534d534f414843) /* "CHAOSMSG" */
#define CHAOS_NAME_LEN 32

struct chaos_msg {
    uint64_t magic;
    uint64_t uid;        /* publisher node incarnation, random */
    uint64_t seq;        /* per (uid, topic), from 1 */
    uint64_t sum;        /* FNV-1a-64, see above */
    uint32_t epoch;      /* per (uid, topic), grows after a failed publish */
    uint32_t topic;
    uint32_t size;       /* whole payload, header included */
    int32_t pid;         /* publishing process, for diagnostics */
    char publisher[CHAOS_NAME_LEN]; /* publishing node's name */
};

/* Fill buf[0..size) (size >= sizeof(struct chaos_msg)). */
void chaos_msg_fill(void *buf, size_t size, const struct chaos_msg *hdr);

/* 0 if data[0..size) is a well-formed message, else -1 with why. The
 * header is copied to *hdr either way (when size allows). */
int chaos_msg_check(const void *data, size_t size, struct chaos_msg *hdr, char *why,
                    size_t whylen);

/* ---- counters reported by a worker ------------------------------------ */

enum chaos_counter {
    CC_CHECKED,      /* messages received and checked */
    CC_PUBLISHED,    /* rpc_publish calls that returned 0 */
    CC_PUB_TIMEOUT,  /* rpc_publish calls that returned RPC_ETIMEDOUT (known misses) */
    CC_CALLS,        /* blocking calls timed */
    CC_CHURN,        /* unsubscribe/resubscribe and node re-creations */
    CC_LOSS,         /* violations from here on */
    CC_DUP,
    CC_REORDER,
    CC_CORRUPT,
    CC_OVERRUN,      /* a blocking call outlived its timeout (+ slack) */
    CC_EARLY,        /* RPC_ETIMEDOUT before the timeout elapsed */
    CC_ERROR,        /* an unexpected error code; last violation */
    CC_MISSING,      /* messages missing in the losses */
    CC_EXCESS_US,    /* max (elapsed - run-queue delay - timeout) of timed calls, us */
    CC_WALL_EXCESS_US, /* the same on the wall clock, us */
    CC_MAX_RUNQ_US,  /* longest run-queue delay inside one timed call, us */
    CC_MAX_CALL_US,  /* longest call without a timeout argument */
    CC_COUNT
};

extern const char *const chaos_counter_names[CC_COUNT];

/* First and last counter that are violations. */
#define CC_FIRST_VIOLATION CC_LOSS
#define CC_LAST_VIOLATION CC_ERROR

/* Format counters as "k=v k=v ..." into buf. */
void chaos_format_counters(const int64_t c[CC_COUNT], char *buf, size_t len);
/* Parse "k=v ..." (unknown keys ignored).  Returns the number parsed. */
int chaos_parse_counters(const char *s, int64_t c[CC_COUNT]);

#endif
