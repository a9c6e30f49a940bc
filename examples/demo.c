/*
 * demo.c - `make demo`: two processes share a domain, then the last node
 * out removes the segment.
 *
 * The parent creates two nodes and forks a child, which creates its own
 * node (a child never uses its parent's node handles: after fork() they are
 * the parent's, not the child's).  Each side prints the domain's node list;
 * a pair of pipes orders the steps, so no step relies on a sleep.  The
 * parent leaves first (the segment stays, because the child is still
 * attached), the child leaves last and so removes the segment, and the
 * parent checks that the segment is gone.
 *
 * The domain is the default one ("/librpc_shm") unless $LIBRPC_SHM_NAME
 * names another.  If someone else already uses the domain, the demo runs
 * beside them and reports at the end that the segment stays.
 *
 * Exit status: 0 on success, 1 when something failed.
 */
#define _POSIX_C_SOURCE 200809L   /* fork, pipe, poll, waitpid, kill */
#include <librpc/librpc.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Generous: a step takes microseconds, but the machine may be loaded or
 * the demo may run under valgrind. */
#define STEP_TIMEOUT_MS 30000

static const char *g_role = "parent";

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
    va_list ap;
    printf("[%-6s %5ld] ", g_role, (long)getpid());
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static int failed(const char *what, int rc)
{
    fprintf(stderr, "[%s %ld] %s: %s (%s)\n", g_role, (long)getpid(), what, rpc_strerror(rc),
            rpc_errdetail());
    return 1;
}

/* ---- the pipes that order the two processes ---------------------------- */

static int signal_peer(int fd)
{
    char c = '!';
    ssize_t n;
    do
        n = write(fd, &c, 1);
    while (n < 0 && errno == EINTR);
    return n == 1 ? 0 : -1;
}

/* Wait for one byte from the peer.  EOF means the peer died or gave up. */
static int wait_peer(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    char c;
    ssize_t n;
    int rc;
    do
        rc = poll(&p, 1, STEP_TIMEOUT_MS);
    while (rc < 0 && errno == EINTR);
    if (rc <= 0)
        return -1;
    do
        n = read(fd, &c, 1);
    while (n < 0 && errno == EINTR);
    return n == 1 ? 0 : -1;
}

/* ---- nodes -------------------------------------------------------------- */

/* Create a node named `want`; if another user of the domain already has
 * that name, let the library pick a unique one instead. */
static int make_node(const rpc_config *cfg, const char *want, rpc_node **out)
{
    int rc = rpc_node_create(cfg, want, out);
    if (rc == RPC_EEXIST)
        rc = rpc_node_create(cfg, NULL, out);
    return rc;
}

/* One line: "domain lists 3 nodes: parent-a (pid 10), ...". */
static int print_nodes(const rpc_config *cfg)
{
    rpc_node_info info[16];
    char line[512];
    size_t used = 0;
    int i, n = rpc_domain_list_nodes(cfg, info, 16);
    if (n < 0)
        return failed("rpc_domain_list_nodes", n);
    for (i = 0; i < n && i < 16 && used < sizeof line; i++)
        used += (size_t)snprintf(line + used, sizeof line - used, "%s%s (pid %d%s)",
                                 i ? ", " : "", info[i].name, (int)info[i].pid,
                                 info[i].alive ? "" : ", dead");
    say("domain lists %d node%s: %s%s", n, n == 1 ? "" : "s", n ? line : "-",
        n > 16 ? ", ..." : "");
    return 0;
}

/* ---- the child ---------------------------------------------------------- */

/* to_parent: write end; from_parent: read end. */
static int child_main(const rpc_config *cfg, uint64_t parent_segment, int to_parent,
                      int from_parent)
{
    rpc_node *node = NULL;
    char name[RPC_NODE_NAME_MAX + 1];
    int rc;
    g_role = "child";
    if ((rc = make_node(cfg, "child-a", &node)) != 0)
        return failed("rpc_node_create", rc);
    say("created node %s, %s", rpc_node_name(node),
        rpc_node_segment_id(node) == parent_segment ? "in the parent's segment"
                                                    : "in a DIFFERENT segment (split brain!)");
    if (rpc_node_segment_id(node) != parent_segment || print_nodes(cfg) != 0 ||
        signal_peer(to_parent) != 0)
        goto fail;
    if (wait_peer(from_parent) != 0) {   /* the parent has left */
        say("lost the parent");
        goto fail;
    }
    if (print_nodes(cfg) != 0)
        goto fail;
    snprintf(name, sizeof name, "%s", rpc_node_name(node));
    rc = rpc_node_destroy(node);
    node = NULL;
    if (rc != 0)
        return failed("rpc_node_destroy", rc);
    say("destroyed %s, the last node of the demo", name);
    return 0;
fail:
    rpc_node_destroy(node);
    return 1;
}

/* ---- the parent --------------------------------------------------------- */

/* Before joining: say what is there already.  If others use the domain,
 * the segment will outlive the demo, which report_segment() then says. */
static void describe_domain(const rpc_config *cfg, const char *name)
{
    rpc_domain_info d;
    int rc = rpc_domain_stat(cfg, &d);
    if (rc != 0) {
        printf("librpc demo: domain %s (cannot examine it: %s)\n", name, rpc_strerror(rc));
        return;
    }
    if (!d.exists)
        printf("librpc demo: domain %s (no segment yet)\n", name);
    else if (d.attached)
        printf("librpc demo: domain %s is in use by %u other process(es), %u node(s)\n", name,
               d.live_processes, d.live_nodes);
    else
        printf("librpc demo: domain %s has an orphaned segment (%s); joining repairs it\n",
               name, d.valid ? "left by a crash" : rpc_strerror(d.status));
}

/* After both left: is the segment gone? */
static int report_segment(const rpc_config *cfg, const char *name)
{
    rpc_domain_info d;
    struct stat st;
    char path[300];
    int rc = rpc_domain_stat(cfg, &d);
    if (rc != 0)
        return failed("rpc_domain_stat", rc);
    if (!d.exists) {
        snprintf(path, sizeof path, "/dev/shm%s", name);
        if (stat(path, &st) == 0) {
            printf("segment %s: %s still exists ✘\n", name, path);
            return 1;
        }
        printf("segment %s: removed by the last node ✔ (%s does not exist)\n", name, path);
        return 0;
    }
    if (d.attached) {
        printf("segment %s: other processes are attached (%u node(s)), so it stays ✔\n", name,
               d.live_nodes);
        return 0;
    }
    printf("segment %s: still exists although nobody is attached ✘\n", name);
    return 1;
}

/* Reap the child within the step deadline; a child that hangs is killed
 * (its node is then dead, and the clean-up in main removes the orphan). */
static int wait_child(pid_t pid)
{
    int status, waited_ms = 0;
    pid_t r;
    while ((r = waitpid(pid, &status, WNOHANG)) == 0 && waited_ms < STEP_TIMEOUT_MS) {
        poll(NULL, 0, 10);
        waited_ms += 10;
    }
    if (r == 0) {
        say("the child did not finish within %d s: killing it", STEP_TIMEOUT_MS / 1000);
        kill(pid, SIGKILL);
        r = waitpid(pid, &status, 0);
    }
    if (r != pid)
        return -1;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

int main(void)
{
    rpc_config *cfg = NULL;
    rpc_node *a = NULL, *b = NULL;
    int to_child[2], to_parent[2];
    const char *name;
    uint64_t segment;
    pid_t pid;
    int rc, status, bad = 0;

    /* Output piped into e.g. head must not kill us before we clean up. */
    signal(SIGPIPE, SIG_IGN);
    /* The configuration picks up $LIBRPC_SHM_NAME, if set. */
    if ((rc = rpc_config_create(&cfg)) != 0)
        return failed("rpc_config_create", rc);
    name = rpc_config_shm_name(cfg);
    describe_domain(cfg, name);

    if ((rc = make_node(cfg, "parent-a", &a)) != 0 || (rc = make_node(cfg, "parent-b", &b)) != 0) {
        failed("rpc_node_create", rc);
        rpc_node_destroy(a);
        rpc_config_destroy(cfg);
        return 1;
    }
    say("created nodes %s and %s", rpc_node_name(a), rpc_node_name(b));

    if (pipe(to_child) != 0 || pipe(to_parent) != 0) {
        perror("pipe");
        bad = 1;
        goto out;
    }
    segment = rpc_node_segment_id(a);   /* the child checks it joins this one */
    fflush(stdout);   /* or the child would print the parent's buffer too */
    if ((pid = fork()) < 0) {
        perror("fork");
        bad = 1;
        goto out;
    }
    if (pid == 0) {
        /* a and b are the parent's nodes: the child works with a node of
         * its own.  (Calls on a or b here would fail with RPC_EFORKED.) */
        close(to_child[1]);
        close(to_parent[0]);
        status = child_main(cfg, segment, to_parent[1], to_child[0]);
        /* In a child, destroy only frees the inherited copy of a handle's
         * memory; the parent's nodes are not affected. */
        rpc_node_destroy(a);
        rpc_node_destroy(b);
        rpc_config_destroy(cfg);
        return status;
    }
    close(to_child[0]);
    close(to_parent[1]);
    say("forked child %ld", (long)pid);

    if (wait_peer(to_parent[0]) != 0) {
        say("the child did not get ready");
        bad = 1;
    } else if (print_nodes(cfg) != 0) {
        bad = 1;
    }
    rc = rpc_node_destroy(a);
    a = NULL;
    if (rc == 0)
        rc = rpc_node_destroy(b);
    b = NULL;
    if (rc != 0)
        bad = failed("rpc_node_destroy", rc);
    else
        say("destroyed its nodes; the segment stays while the child is attached");
    signal_peer(to_child[1]);
    close(to_child[1]);   /* EOF also tells a waiting child we are done */

    status = wait_child(pid);
    say("child exited with status %d", status);
    if (status != 0)
        bad = 1;
    close(to_parent[0]);
    if (status != 0)   /* a crashed child leaves an orphan: remove it */
        rpc_domain_cleanup(cfg, 0);
    if (report_segment(cfg, name) != 0)
        bad = 1;
out:
    rpc_node_destroy(a);
    rpc_node_destroy(b);
    rpc_config_destroy(cfg);
    return bad;
}
