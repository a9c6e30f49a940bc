/*
 * testutil.h - what every librpc test program shares.
 *
 * This file owns the test harness: assertions that print file:line and end
 * the test, per-test segment names that are removed at exit (also when an
 * assertion fails), deadlines that stretch under valgrind, a poller for
 * "wait until this becomes true", helpers to fork and exec child processes
 * and to reap them with a deadline, and a "peer": a forked child process that
 * owns nodes and obeys one-line commands from the test over a pipe, so a
 * test can drive several real processes step by step.
 *
 * Rules the helpers enforce for every test:
 * - a test only ever touches segment names it made with tu_shm_name() (or
 *   registered with tu_register_name()); at exit the names are unlinked and
 *   any that still existed make the test fail (tu_done());
 * - every child is started through these helpers, remembered by pid, and
 *   killed by pid when the test ends early; children normally die with the
 *   test (PR_SET_PDEATHSIG) unless a test needs them to outlive a parent.
 */
#ifndef LIBRPC_TESTUTIL_H
#define LIBRPC_TESTUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <librpc/librpc.h>

#define TU_EXIT_SKIP 77

/* ---- assertions ---------------------------------------------------- */

/* Print "file:line: message" and end the test with exit status 1 (in a
 * child: its exit status, which the parent checks). */
void tu_fail_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

/* Print a note prefixed with the test name and pid; for progress lines. */
void tu_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* End the test as skipped (exit 77) with a reason. */
void tu_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#define TU_FAIL(...) tu_fail_at(__FILE__, __LINE__, __VA_ARGS__)

#define ASSERT(cond)                                                              \
    do {                                                                          \
        if (!(cond))                                                              \
            TU_FAIL("assertion failed: %s", #cond);                               \
    } while (0)

#define ASSERT_MSG(cond, ...)                                                     \
    do {                                                                          \
        if (!(cond))                                                              \
            TU_FAIL(__VA_ARGS__);                                                 \
    } while (0)

#define ASSERT_EQ(a, b)                                                           \
    do {                                                                          \
        long long a_ = (long long)(a), b_ = (long long)(b);                       \
        if (a_ != b_)                                                             \
            TU_FAIL("%s == %s: %lld != %lld", #a, #b, a_, b_);                    \
    } while (0)

#define ASSERT_NE(a, b)                                                           \
    do {                                                                          \
        long long a_ = (long long)(a), b_ = (long long)(b);                       \
        if (a_ == b_)                                                             \
            TU_FAIL("%s != %s: both %lld", #a, #b, a_);                           \
    } while (0)

#define ASSERT_STREQ(a, b)                                                        \
    do {                                                                          \
        const char *a_ = (a), *b_ = (b);                                          \
        if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0)                      \
            TU_FAIL("%s == %s: \"%s\" != \"%s\"", #a, #b, a_ ? a_ : "(null)",     \
                    b_ ? b_ : "(null)");                                          \
    } while (0)

/* A librpc call that must return exactly `want` (0 or an RPC_E* code). */
#define ASSERT_RC(expr, want)                                                     \
    do {                                                                          \
        int got_ = (int)(expr), want_ = (int)(want);                              \
        if (got_ != want_)                                                        \
            TU_FAIL("%s: got %d (%s), want %d (%s); detail: %s", #expr, got_,     \
                    tu_errname(got_), want_, tu_errname(want_), rpc_errdetail()); \
    } while (0)

#define ASSERT_OK(expr) ASSERT_RC(expr, 0)

/* "RPC_EBUSY" etc.; "RPC_OK" for 0; "?" for unknown codes. */
const char *tu_errname(int err);

/* ---- set-up, names, clean-up ---------------------------------------- */

/* Call first in main(): records the test name and pid, installs the exit
 * handler, disables stdout buffering, makes sure a stray $LIBRPC_SHM_NAME of
 * the caller cannot leak into the test. */
void tu_init(const char *test_name);

/* A fresh segment name "/librpc_t_<test>_<tag>_<pid>_<n>" owned by this test:
 * unlinked when the test exits.  Returns a static-lifetime string. */
const char *tu_shm_name(const char *tag);

/* Remember a name made elsewhere (e.g. the default name) for the clean-up. */
void tu_register_name(const char *name);

/* "/dev/shm<name>" into buf. */
const char *tu_shm_path(const char *name, char *buf, size_t len);

/* 1 if /dev/shm<name> exists (any file type), else 0. */
int tu_shm_exists(const char *name);

/* Remove a file the test planted under /dev/shm<name> (any type). */
void tu_shm_remove(const char *name);

/* A configuration for the segment `name` (NULL: defaults/environment).
 * Fails the test on error. */
rpc_config *tu_config(const char *name);

/* End of main(): fail if a registered name still exists (then remove it),
 * return 0.  Use as `return tu_done();`. */
int tu_done(void);

/* ---- time ------------------------------------------------------------ */

int64_t tu_now_ms(void);
void tu_sleep_ms(int ms);

/* 1 when running under valgrind (env RUNNING_ON_VALGRIND or
 * LIBRPC_TEST_VALGRIND set, as the valgrind test variants do). */
int tu_under_valgrind(void);

/* A generous wait for "this must happen eventually": ms, times 5 under
 * valgrind.  Use for anything that is not itself a timing guarantee. */
int tu_timeout_ms(int ms);

/* The reclaim guarantee: a SIGKILLed process's nodes disappear within 1 s
 * (5 s under valgrind, where everything runs ~20x slower). */
int tu_reclaim_deadline_ms(void);

/* Poll cond(arg) every 5 ms until it returns non-zero or timeout_ms passes.
 * Returns the elapsed milliseconds when it became true, -1 on timeout. */
int tu_wait_until(int (*cond)(void *arg), void *arg, int timeout_ms);

/* The same for an expression: sets `ok` to 1 when expr became true in time. */
#define TU_WAIT_UNTIL(ok, expr, timeout_ms)                                       \
    do {                                                                          \
        int64_t tu_deadline_ = tu_now_ms() + (timeout_ms);                        \
        (ok) = 0;                                                                 \
        for (;;) {                                                                \
            if (expr) {                                                           \
                (ok) = 1;                                                         \
                break;                                                            \
            }                                                                     \
            if (tu_now_ms() > tu_deadline_)                                       \
                break;                                                            \
            tu_sleep_ms(5);                                                       \
        }                                                                         \
    } while (0)

/* ---- processes -------------------------------------------------------- */

#define TU_FORK_KEEP_ALIVE 1u  /* do not die with the parent (no PDEATHSIG) */

/* fork() after flushing stdio; the child is remembered so an early exit of
 * the test kills it.  Returns the pid in the parent, 0 in the child. */
pid_t tu_fork(unsigned flags);

/* Kill this process too if the test ends early (e.g. a grandchild). */
void tu_track_child(pid_t pid);

/* Forget a child the test has reaped or handed over. */
void tu_forget_child(pid_t pid);

/* Run `prog` (a program in the binary directory, or a path with '/') with
 * argv (argv[0] included, NULL-terminated) and extra environment entries
 * "NAME=value" ("NAME=" with nothing after it unsets NAME).  stdout_fd, when
 * >= 0, becomes the child's stdout and stderr.  Returns the pid. */
pid_t tu_spawn(const char *prog, char *const argv[], const char *const env[], int stdout_fd);

/* Directory of the test binaries (and of the tools): $LIBRPC_TEST_BINDIR,
 * else the directory of this executable. */
const char *tu_bindir(void);

/* Wait for pid up to timeout_ms; on timeout kill it (SIGKILL) and fail the
 * test.  Returns the wait status. */
int tu_wait_child(pid_t pid, int timeout_ms);

/* Assert that a child exited normally with status 0 within the timeout. */
void tu_expect_exit0_at(const char *file, int line, pid_t pid, int timeout_ms);
#define TU_EXPECT_EXIT0(pid, ms) tu_expect_exit0_at(__FILE__, __LINE__, (pid), (ms))

/* SIGKILL pid and reap it (within a generous deadline). */
void tu_kill9(pid_t pid);

/* Run a command and capture its output (stdout+stderr) into buf.
 * Returns the exit status (0..255), or 128+signal. */
int tu_run_capture(const char *prog, char *const argv[], const char *const env[], char *buf,
                   size_t len, int timeout_ms);

/* A one-shot barrier between processes: make it before forking; each child
 * calls tu_gate_wait(), and the parent's tu_gate_open(g, n) releases the n
 * waiters at the same moment (one write of n bytes). */
typedef struct tu_gate { int rd, wr; } tu_gate;
void tu_gate_make(tu_gate *g);
void tu_gate_wait(tu_gate *g);
void tu_gate_open(tu_gate *g, int waiters);

/* ---- peers: child processes that own nodes and obey commands ---------- */

/*
 * A peer is a forked child with a configuration for one segment name.  It
 * reads commands, one per line, and answers each with one line whose first
 * token is an integer:
 *
 *   create NAME|-        rpc_node_create (- : auto name); "rc name"
 *   destroy NAME         rpc_node_destroy of its node NAME; "rc"
 *   segid NAME           rpc_node_segment_id; "id"
 *   active               rpc_domain_active_nodes
 *   registered           rpc_domain_stat registered_nodes (or the error)
 *   has NAME             1 if rpc_domain_list_nodes lists NAME, else 0
 *   waitgone NAME MS     poll until NAME is no longer listed; elapsed ms or -1
 *   check                violations of "the segment at the path is the one
 *                        my nodes are in"; 0 when all agree
 *   quit                 destroy every node, free everything, exit 0
 *                        (1 if a destroy failed)
 * EOF on the command pipe acts as quit.
 */
typedef struct tu_peer {
    pid_t pid;
    int cmd_fd;    /* parent writes commands */
    int reply_fd;  /* parent reads replies */
    FILE *reply;
    char last_cmd[128];
} tu_peer;

/* Start a peer for segment `name` (NULL: the default/environment name). */
void tu_peer_start(tu_peer *p, const char *name, unsigned fork_flags);

/* Send a command; return the integer at the start of the reply.  If text is
 * not NULL the rest of the reply line is copied there.  Fails the test when
 * the peer does not answer within a generous deadline. */
long long tu_peer_cmd(tu_peer *p, char *text, size_t text_len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The two halves of tu_peer_cmd, to let several peers work at once. */
void tu_peer_send(tu_peer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
long long tu_peer_recv(tu_peer *p, char *text, size_t text_len);

/* The segment id of the peer's node (0 if it has no such node). */
uint64_t tu_peer_segid(tu_peer *p, const char *node);

/* Tell the peer to quit and assert that it exits 0. */
void tu_peer_quit(tu_peer *p);

/* SIGKILL the peer and reap it. */
void tu_peer_kill(tu_peer *p);

/* ---- segment inspection ---------------------------------------------- */

/* 1 if rpc_domain_list_nodes lists a node named `node`, 0 if not, or the
 * negative error. */
int tu_domain_has_node(const rpc_config *cfg, const char *node);

/* Inode of /dev/shm<name>, 0 when it does not exist. */
uint64_t tu_shm_inode(const char *name);

/* Inode of this process's mapping of /dev/shm<name> according to
 * /proc/self/maps: 0 if not mapped; sets *deleted when the kernel marks the
 * mapped file "(deleted)". */
uint64_t tu_mapped_inode(const char *name, int *deleted);

#endif
