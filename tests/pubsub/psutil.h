/*
 * psutil.h - what the publish/subscribe tests share on top of testutil.h.
 *
 * This file owns the test message format and its checks, the per-publisher
 * tracker a subscriber uses to prove "no loss, no duplicate, no reordering,
 * no corruption", one-line reports from child processes over pipes, and
 * segment sizing for a given number of queues.
 *
 * Message format.  Everything about message (pub, seq) is a function of
 * (pub, seq) alone, so a receiver can check a message without being told
 * anything else:
 *   size     ps_msg_size(pub, seq, max): mostly small, some up to max, and
 *            exactly 0 and exactly max at fixed sequence numbers;
 *   bytes    when size >= PS_HDR_SIZE: a header {magic, pub, seq, size,
 *            FNV-1a-64 checksum of header-with-zero-sum and body} and then a
 *            pseudo-random body; shorter messages are the first size bytes
 *            of the pseudo-random stream of (pub, seq).
 * seq counts from 1 per publisher, like rpc_message.seq.
 */
#ifndef LIBRPC_PSUTIL_H
#define LIBRPC_PSUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "testutil.h"

#define PS_HDR_SIZE 32u
#define PS_MAGIC 0x5053544du   /* "MTSP" */
#define PS_MAX_PUBS 64

/* Size of message (pub, seq) for a segment whose maximum is max. */
size_t ps_msg_size(uint32_t pub, uint64_t seq, size_t max);

/* Make ps_msg_size uniform over 0..max instead of mostly small (set in
 * every process of a test, before any message). */
void ps_sizes_uniform(int on);

/* Fill buf[0..size) with message (pub, seq). */
void ps_fill(void *buf, size_t size, uint32_t pub, uint64_t seq);

/* 0 if data[0..size) is exactly message (pub, seq) of that size, else -1
 * with the reason in why. */
int ps_check(const void *data, size_t size, uint32_t pub, uint64_t seq, char *why, size_t len);

/* The sequence number in a message's header (0 when it has none). */
uint64_t ps_hdr_seq(const void *data, size_t size);

/* FNV-1a 64-bit, chainable: start with PS_FNV_INIT. */
#define PS_FNV_INIT UINT64_C(0xcbf29ce484222325)
uint64_t ps_fnv(uint64_t h, const void *data, size_t len);

/* ---- the subscriber's tracker --------------------------------------- */

/* Accept gaps in a publisher's sequence (messages dropped on purpose)
 * but still nothing out of order, duplicated or corrupt. */
#define PS_TRACK_GAPS 1u
/* Accept any first sequence number per publisher (a subscriber that joined
 * while the publisher was already sending); contiguous after that. */
#define PS_TRACK_LATE 2u

struct ps_track {
    unsigned flags;
    size_t max;                    /* the segment's maximum message size */
    uint64_t last[PS_MAX_PUBS];    /* last sequence number seen per publisher */
    uint64_t count[PS_MAX_PUBS];   /* messages accepted per publisher */
    uint64_t seqhash[PS_MAX_PUBS]; /* FNV over the accepted sequence numbers */
    uint64_t errors;
    uint64_t total;
    char first_error[256];
};

void ps_track_init(struct ps_track *t, size_t max, unsigned flags);

/*
 * Check one message from publisher `pub` (the test knows it from the
 * publisher's node name, see ps_pub_id).  Updates the counters; an error is
 * counted and the first one kept as text.  Safe to call from a callback;
 * not thread-safe (callbacks of one node run one at a time).
 */
void ps_track(struct ps_track *t, uint32_t pub, const rpc_message *m);

/* Publisher id from a node name "<prefix><digits>" such as "p3"; -1 if the
 * name has no trailing number. */
int ps_pub_id(const char *node_name);

/* ---- child processes ------------------------------------------------- */

/* A pipe from children to the test: each child writes whole lines (one
 * write each, shorter than PIPE_BUF, so lines of several children do not
 * mix). */
typedef struct ps_chan { int rd, wr; } ps_chan;
void ps_chan_make(ps_chan *c);
void ps_chan_send(ps_chan *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Read one line within timeout_ms into buf (newline removed).  Fails the
 * test on timeout or EOF. */
void ps_chan_recv(ps_chan *c, char *buf, size_t len, int timeout_ms);
/* The same, returning 0 on success and -1 on timeout/EOF instead. */
int ps_chan_try_recv(ps_chan *c, char *buf, size_t len, int timeout_ms);
void ps_chan_close(ps_chan *c);

/*
 * Read `lines` result lines from c within timeout_ms, calling on_line for
 * each, while watching the children pids[0..n): one that dies by a signal
 * or exits non-zero before its line came fails the test at once (instead
 * of after the whole timeout).  Children that exit 0 are reaped.
 */
void ps_collect(ps_chan *c, int lines, int timeout_ms, const pid_t *pids, int n,
                void (*on_line)(const char *line, void *arg), void *arg);

/* Wait for every child in pids[0..n) not yet reaped to exit 0. */
void ps_reap_all(const pid_t *pids, int n, int timeout_ms);

/* ---- segments ---------------------------------------------------------- */

/* tu_init() plus: when a sanitizer ends the test abruptly (halt_on_error),
 * exit handlers do not run, so a sanitizer death callback removes the
 * segment names made with ps_shm_name() (in the test process only). */
void ps_init(const char *test_name);

/* tu_shm_name(), remembered for that death callback too. */
const char *ps_shm_name(const char *tag);

/* A configuration for segment name whose size leaves room for at least
 * queues queues (each pair of nodes that talks needs one), never smaller
 * than the default size. */
rpc_config *ps_config(const char *name, unsigned queues);

/* Set receive mode and spin on a configuration (fails the test on error). */
void ps_config_mode(rpc_config *cfg, int mode, int spin_us);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t ps_now_ns(void);

/* How much slower than a plain build this one runs: 3 under ASan or
 * TSan, 5 under valgrind, else 1.  For bounds on things that are timing
 * guarantees (a blocked publisher must return within ...). */
int ps_slow_factor(void);

/* Parse argv[i] as a non-negative number or fail the test. */
long ps_arg_num(const char *s);

#endif
