/*
 * test_shm_cleanup.c - the program the seed document names: the automatic
 * clean-up test, a status check and a manual clean-up of a domain's
 * shared-memory segment.
 *
 *   test_shm_cleanup                  nodes in this process and in a forked
 *                                     child are created and destroyed; the
 *                                     last one out must remove the segment
 *   test_shm_cleanup status           the segment's state
 *   test_shm_cleanup cleanup [--force] remove orphaned memory
 *
 * The exit codes of `status` and `cleanup` make the seed's cron script
 * ("status; if it exited 0, cleanup") safe and effective: status exits 0
 * whenever a segment exists, live or orphaned, and cleanup then removes it
 * only if no live process is attached.  The domain is $LIBRPC_SHM_NAME, or
 * the default /librpc_shm.
 */
#define _POSIX_C_SOURCE 200809L

#include "cli_common.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const cli_ctx ctx = {
    .prog = "test_shm_cleanup",
    .rename_hint = "with LIBRPC_SHM_NAME=/other",
    .cleanup_cmd = "test_shm_cleanup cleanup",
    .force_cmd = "test_shm_cleanup cleanup --force",
};

static const char usage_text[] =
    "Usage: test_shm_cleanup                    run the automatic clean-up test\n"
    "       test_shm_cleanup status             show the shared memory's state\n"
    "       test_shm_cleanup cleanup [--force]  remove orphaned shared memory\n"
    "       test_shm_cleanup --help | --version\n"
    "\n"
    "The domain is $LIBRPC_SHM_NAME if set, else /librpc_shm.\n"
    "\n"
    "No argument: creates 2 nodes in this process and forks a child that\n"
    "creates 2 nodes of its own; once all 4 are visible the child destroys its\n"
    "nodes and exits, then this process destroys its own.  The last node out\n"
    "must have removed the segment.  Exit 0 when it did, 1 when the test failed.\n"
    "Use a domain nobody else uses (set LIBRPC_SHM_NAME).\n"
    "\n"
    "status: prints \"shared memory: does not exist\", or \"shared memory: exists\"\n"
    "with its size, active nodes, attached processes and \"orphaned: yes/no\".\n"
    "  exit 0  a segment exists (live, orphaned or invalid)\n"
    "  exit 1  no segment exists\n"
    "  exit 4  the name cannot be examined (permission, not a regular file)\n"
    "  exit 5  other error\n"
    "\n"
    "cleanup: removes the segment only if no live process is attached.\n"
    "  exit 0  orphaned shared memory removed\n"
    "  exit 1  nothing to remove (no segment)\n"
    "  exit 3  refused: live nodes are using it\n"
    "  exit 4  bad segment (not librpc, other owner, ...): see the message\n"
    "  exit 5  other error\n"
    "cleanup --force removes it even while processes use it.  DANGEROUS: they\n"
    "keep running in the unlinked copy while newcomers create a new one.\n"
    "\n"
    "So the cron script \"test_shm_cleanup status && test_shm_cleanup cleanup\"\n"
    "is safe (cleanup never removes live memory) and effective (it runs\n"
    "whenever there is something that might be orphaned).\n"
    "\n"
    "Exit 2 for an unknown argument or an invalid $LIBRPC_SHM_NAME.  Errors are\n"
    "one line on stderr.\n";

/* ---- small helpers ---- */

#define DEADLINE_MS 20000
#define POLL_MS 10

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* A progress line, flushed at once so parent and child lines interleave
 * in the order they happened. */
static void say(const char *who, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void say(const char *who, const char *fmt, ...)
{
    va_list ap;
    printf("[%s %ld] ", who, (long)getpid());
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    (void)fflush(stdout);
}

/*
 * Poll rpc_domain_active_nodes() until it equals want or the deadline
 * passes.  Returns 1 when reached; *last holds the last answer.
 */
static int wait_active(const rpc_config *cfg, int want, int *last)
{
    int64_t end = now_ms() + DEADLINE_MS;
    for (;;) {
        *last = rpc_domain_active_nodes(cfg);
        if (*last == want)
            return 1;
        if (now_ms() >= end)
            return 0;
        sleep_ms(POLL_MS);
    }
}

/* Whether the segment is gone by both accounts: librpc's and the file
 * system's (Linux keeps POSIX shared memory under /dev/shm). */
static int segment_gone(const rpc_config *cfg)
{
    char path[RPC_SHM_NAME_MAX + 16];
    rpc_domain_info info;

    snprintf(path, sizeof path, "/dev/shm%s", rpc_config_shm_name(cfg));
    if (rpc_domain_stat(cfg, &info) != 0 || info.exists)
        return 0;
    return access(path, F_OK) != 0;
}

/* ---- the automatic clean-up test ---- */

struct test {
    const rpc_config *cfg;
    rpc_node *nodes[2];
    pid_t child;
    int go_wr;     /* the child's go-ahead: write a byte, or close */
};

static int create_pair(const rpc_config *cfg, const char *who, rpc_node *out[2])
{
    char name[RPC_NODE_NAME_MAX + 1];
    int i, err;

    for (i = 0; i < 2; i++) {
        snprintf(name, sizeof name, "tsc_%s_%ld_%d", who, (long)getpid(), i + 1);
        err = rpc_node_create(cfg, name, &out[i]);
        if (err < 0) {
            say(who, "creating node %s failed: %s (%s)", name, rpc_strerror(err), rpc_errdetail());
            if (i == 1)
                rpc_node_destroy(out[0]);
            out[0] = out[1] = NULL;
            return err;
        }
        say(who, "created node %s", name);
    }
    return 0;
}

/* Destroy both nodes; returns 0 or the first error. */
static int destroy_pair(const char *who, rpc_node *nodes[2])
{
    int i, rc = 0;
    for (i = 0; i < 2; i++) {
        char name[RPC_NODE_NAME_MAX + 1];
        int err;
        if (!nodes[i])
            continue;
        snprintf(name, sizeof name, "%s", rpc_node_name(nodes[i]));
        err = rpc_node_destroy(nodes[i]);
        nodes[i] = NULL;
        if (err < 0) {
            say(who, "destroying node %s failed: %s", name, rpc_strerror(err));
            if (rc == 0)
                rc = err;
        } else {
            say(who, "destroyed node %s", name);
        }
    }
    return rc;
}

/* Wait for the parent's go-ahead byte; 0 on EOF, error or deadline. */
static int wait_go(int fd)
{
    struct pollfd pfd = { fd, POLLIN, 0 };
    char c;
    int r;
    do
        r = poll(&pfd, 1, DEADLINE_MS);
    while (r < 0 && errno == EINTR);
    return r == 1 && read(fd, &c, 1) == 1;
}

/*
 * The child: its own two nodes (never the parent's, which it does not
 * own), its segment id sent up the pipe so the parent can check that both
 * share one segment; then it waits until all four nodes are visible and
 * the parent has seen them too, and leaves first.
 */
static void child_main(const rpc_config *cfg, int pipe_wr, int go_rd)
{
    rpc_node *mine[2] = { NULL, NULL };
    uint64_t id;
    int last;

    if (create_pair(cfg, "child", mine) < 0)
        _exit(10);
    id = rpc_node_segment_id(mine[0]);
    if (write(pipe_wr, &id, sizeof id) != (ssize_t)sizeof id)
        say("child", "cannot report the segment id: %s", strerror(errno));
    close(pipe_wr);
    if (!wait_active(cfg, 4, &last)) {
        say("child", "expected 4 active nodes, still %d after %d s", last, DEADLINE_MS / 1000);
        destroy_pair("child", mine);
        _exit(11);
    }
    say("child", "sees all 4 active nodes");
    if (!wait_go(go_rd)) {
        say("child", "no go-ahead from the parent; leaving anyway");
        destroy_pair("child", mine);
        _exit(13);
    }
    say("child", "leaving first");
    _exit(destroy_pair("child", mine) < 0 ? 12 : 0);
}

/* Read the child's segment id, waiting at most until the deadline. */
static int read_child_id(int fd, uint64_t *id)
{
    struct pollfd pfd = { fd, POLLIN, 0 };
    int r;
    do
        r = poll(&pfd, 1, DEADLINE_MS);
    while (r < 0 && errno == EINTR);
    return r == 1 && read(fd, id, sizeof *id) == (ssize_t)sizeof *id;
}

/* Wait for the child to exit; returns its status or -1 at the deadline. */
static int reap_child(pid_t pid)
{
    int64_t end = now_ms() + DEADLINE_MS;
    int status;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0 && errno != EINTR)
            return -1;
        if (now_ms() >= end)
            return -1;
        sleep_ms(POLL_MS);
    }
}

/* Failure path: stop our child (by pid), drop our nodes, tidy up. */
static int test_failed(struct test *t, const char *step)
{
    if (t->go_wr >= 0) {
        close(t->go_wr);
        t->go_wr = -1;
    }
    if (t->child > 0) {
        kill(t->child, SIGKILL);
        waitpid(t->child, NULL, 0);
        t->child = 0;
    }
    destroy_pair("parent", t->nodes);
    if (segment_gone(t->cfg)) {
        printf("Final state: shared memory removed, but the test failed at: %s ❌\n", step);
    } else {
        printf("Final state: shared memory still exists ❌\n");
        /* Leave nothing behind; never touches memory someone still uses. */
        if (rpc_domain_cleanup(t->cfg, 0) == 0)
            printf("(removed the leftover orphaned segment %s)\n", rpc_config_shm_name(t->cfg));
    }
    printf("❌ Automatic clean-up test failed: %s\n", step);
    (void)fflush(stdout);
    return 1;
}

/* Before we start: a segment someone else uses would never go away. */
static int precheck(const rpc_config *cfg)
{
    rpc_domain_info info;
    int err = rpc_domain_stat(cfg, &info);

    if (err < 0) {
        char detail[512];
        snprintf(detail, sizeof detail, "%s", rpc_errdetail());
        cli_report(&ctx, cfg, err, detail);
        return 0;
    }
    if (!info.exists) {
        printf("Initial state: shared memory does not exist\n");
        return 1;
    }
    if (info.live_nodes > 0 || info.attached) {
        printf("Initial state: shared memory in use by %u live node%s\n", info.live_nodes,
               info.live_nodes == 1 ? "" : "s");
        cli_error(&ctx, "segment %s is in use by other processes, so it cannot be removed at the end: stop them or run the test %s",
                  rpc_config_shm_name(cfg), ctx.rename_hint);
        return 0;
    }
    if (info.valid)
        printf("Initial state: orphaned shared memory exists; the first node re-initialises it\n");
    else
        printf("Initial state: orphaned shared memory exists, invalid: %s\n", rpc_strerror(info.status));
    return 1;
}

static int run_test(const rpc_config *cfg)
{
    struct test t = { cfg, { NULL, NULL }, 0, -1 };
    uint64_t child_id = 0, my_id;
    int fds[2], go[2], last, status, ok;

    /* A child that quits early must not kill us when we signal it. */
    signal(SIGPIPE, SIG_IGN);
    printf("Automatic clean-up test of shared memory %s\n", rpc_config_shm_name(cfg));
    (void)fflush(stdout);
    if (!precheck(cfg)) {
        printf("❌ Automatic clean-up test failed: the domain is not free\n");
        return 1;
    }
    if (create_pair(cfg, "parent", t.nodes) < 0)
        return test_failed(&t, "creating the parent's nodes");
    my_id = rpc_node_segment_id(t.nodes[0]);
    if (pipe(fds) != 0)
        return test_failed(&t, "pipe()");
    if (pipe(go) != 0) {
        close(fds[0]);
        close(fds[1]);
        return test_failed(&t, "pipe()");
    }
    (void)fflush(stdout);
    t.child = fork();
    if (t.child < 0) {
        close(fds[0]);
        close(fds[1]);
        close(go[0]);
        close(go[1]);
        return test_failed(&t, "fork()");
    }
    if (t.child == 0) {
        close(fds[0]);
        close(go[1]);
        child_main(cfg, fds[1], go[0]);
    }
    close(fds[1]);
    close(go[0]);
    t.go_wr = go[1];
    ok = read_child_id(fds[0], &child_id);
    close(fds[0]);
    if (!ok)
        return test_failed(&t, "the child creating its nodes");
    if (child_id != my_id)
        return test_failed(&t, "parent and child attached to different segments");
    say("parent", "parent and child share segment 0x%016llx", (unsigned long long)my_id);
    if (!wait_active(cfg, 4, &last)) {
        say("parent", "expected 4 active nodes, saw %d", last);
        return test_failed(&t, "waiting for all 4 nodes");
    }
    say("parent", "all 4 nodes are active (2 in each process); the child may leave");
    ok = write(t.go_wr, "g", 1) == 1;
    close(t.go_wr);
    t.go_wr = -1;
    if (!ok)
        return test_failed(&t, "signalling the child");
    status = reap_child(t.child);
    if (status == -1)
        return test_failed(&t, "waiting for the child to exit");
    t.child = 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return test_failed(&t, "the child's part (it exited with an error)");
    say("parent", "child exited cleanly");
    if (!wait_active(cfg, 2, &last)) {
        say("parent", "expected 2 active nodes after the child left, saw %d", last);
        return test_failed(&t, "counting the nodes after the child left");
    }
    if (segment_gone(cfg))
        return test_failed(&t, "the segment vanished while the parent's nodes live");
    say("parent", "shared memory still exists with the parent's 2 nodes, as it must");
    if (destroy_pair("parent", t.nodes) < 0)
        return test_failed(&t, "destroying the parent's nodes");
    if (!segment_gone(cfg))
        return test_failed(&t, "the last node left the segment behind");
    printf("Final state: shared memory cleaned up automatically ✅\n");
    printf("🎉 Automatic clean-up test succeeded! The last node to exit cleaned up the shared memory.\n");
    return 0;
}

/* ---- status and cleanup ---- */

static int run_status(const rpc_config *cfg)
{
    rpc_domain_info info;
    char buf[128];
    int err = rpc_domain_stat(cfg, &info);

    if (err < 0) {
        snprintf(buf, sizeof buf, "%s", rpc_errdetail());
        return cli_report(&ctx, cfg, err, buf);
    }
    if (!info.exists) {
        printf("shared memory: does not exist\n");
        printf("name: %s\n", rpc_config_shm_name(cfg));
        return CLI_EXIT_NOENT;
    }
    printf("shared memory: exists\n");
    printf("name: %s\n", rpc_config_shm_name(cfg));
    printf("size: %s\n", cli_format_size(info.size, buf, sizeof buf));
    if (!info.valid)
        printf("valid: no: %s\n", rpc_strerror(info.status));
    printf("active nodes: %u\n", info.live_nodes);
    printf("attached processes: %u\n", info.live_processes);
    printf("orphaned: %s\n", info.orphaned ? "yes" : "no");
    return CLI_EXIT_OK;
}

static int run_cleanup(const rpc_config *cfg, int force)
{
    const char *shm = rpc_config_shm_name(cfg);
    char detail[512];
    int err;

    if (force)
        cli_error(&ctx, "warning: forced clean-up is dangerous: processes still using %s keep running in the unlinked copy while newcomers create a new one",
                  shm);
    err = rpc_domain_cleanup(cfg, force ? RPC_CLEANUP_FORCE : 0);
    if (err == 0) {
        printf(force ? "shared memory removed (forced)\n" : "orphaned shared memory removed\n");
        return CLI_EXIT_OK;
    }
    if (err == RPC_ENOENT) {
        printf("nothing to remove: shared memory does not exist\n");
        return CLI_EXIT_NOENT;
    }
    if (err == RPC_EBUSY) {
        int n = rpc_domain_active_nodes(cfg);
        if (n > 0)
            cli_error(&ctx, "refused: shared memory %s is in use by %d live node%s: stop %s first; 'cleanup --force' only if %s stuck",
                      shm, n, n == 1 ? "" : "s", n == 1 ? "it" : "them", n == 1 ? "it is" : "they are");
        else
            cli_error(&ctx, "refused: live processes are attached to shared memory %s: stop them first; 'cleanup --force' only if they are stuck",
                      shm);
        return CLI_EXIT_BUSY;
    }
    snprintf(detail, sizeof detail, "%s", rpc_errdetail());
    return cli_cleanup_error(&ctx, cfg, err, detail);
}

/* ---- main ---- */

static int usage_error(const char *arg)
{
    fprintf(stderr, "%s: unknown argument '%s'\n\n%s", ctx.prog, arg, usage_text);
    return CLI_EXIT_USAGE;
}

static int run(int argc, char **argv)
{
    enum { TEST, STATUS, CLEANUP } mode = TEST;
    rpc_config *cfg = NULL;
    int force = 0, code;

    if (argc >= 2) {
        const char *a = argv[1];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage_text, stdout);
            return CLI_EXIT_OK;
        }
        if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
            printf("test_shm_cleanup (librpc) %s\n", rpc_version());
            return CLI_EXIT_OK;
        }
        if (strcmp(a, "status") == 0)
            mode = STATUS;
        else if (strcmp(a, "cleanup") == 0)
            mode = CLEANUP;
        else
            return usage_error(a);
    }
    if (argc == 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
        fputs(usage_text, stdout);
        return CLI_EXIT_OK;
    }
    if (mode == CLEANUP && argc == 3 && strcmp(argv[2], "--force") == 0)
        force = 1;
    else if (argc > 2)
        return usage_error(argv[2]);
    code = cli_config(&ctx, NULL, &cfg);
    if (code)
        return code;
    if (mode == STATUS)
        code = run_status(cfg);
    else if (mode == CLEANUP)
        code = run_cleanup(cfg, force);
    else
        code = run_test(cfg);
    rpc_config_destroy(cfg);
    return code;
}

/* Output that never reached stdout (a full disk, a closed pipe) is a failure,
 * whatever the command found: say so instead of exiting as if all was said. */
int main(int argc, char **argv)
{
    int code = run(argc, argv);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "test_shm_cleanup: cannot write to standard output: check where it goes\n");
        return 5;
    }
    return code;
}
