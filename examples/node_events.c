/*
 * node_events.c - being told when other nodes join, leave or die.
 *
 *   node_events            a demonstration: two child processes join; one
 *                          leaves cleanly, the other is killed with SIGKILL
 *   node_events --watch    print the events of the domain until Ctrl-C
 *
 * rpc_node_set_event_cb() reports every node that joins or leaves the
 * domain after the call.  A node that dies is reported once a surviving
 * process has reclaimed it, about 100 ms after the death.  The callback
 * runs where the node's message callbacks run: here, on the node's receive
 * thread.  The domain is $LIBRPC_SHM_NAME, else /librpc_shm.
 *
 * Exit status: 0 when every expected event arrived (demonstration) or on
 * Ctrl-C (--watch), 1 otherwise.
 */
#define _POSIX_C_SOURCE 200809L   /* fork, kill, sigaction, clock_gettime */
#include <librpc/librpc.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EVENT_WAIT_S 20   /* generous: loaded machines, valgrind */

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static const char *kind_name(int kind)
{
    switch (kind) {
    case RPC_EVENT_NODE_JOINED: return "joined";
    case RPC_EVENT_NODE_LEFT: return "left";
    case RPC_EVENT_NODE_DIED: return "died";
    case RPC_EVENT_NODE_GONE: return "gone";   /* left; its slot reused before we looked */
    default: return "?";
    }
}

/* The events seen so far, for the demonstration to wait on. */
#define LOG_MAX 32
struct seen {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int n;
    struct { int kind; char name[RPC_NODE_NAME_MAX + 1]; } log[LOG_MAX];
};

/* Runs on the node's receive thread.  ev->name is valid during the call. */
static void on_event(rpc_node *node, const rpc_node_event *ev, void *user)
{
    struct seen *s = user;
    (void)node;
    printf("event: node %-12s %-6s (pid %d, slot %u)\n", ev->name, kind_name(ev->kind),
           (int)ev->pid, (unsigned)ev->slot);
    pthread_mutex_lock(&s->mu);
    if (s->n < LOG_MAX) {
        s->log[s->n].kind = ev->kind;
        snprintf(s->log[s->n].name, sizeof s->log[s->n].name, "%s", ev->name);
        s->n++;
    }
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
}

/* Has (kind, name) been seen?  Called with s->mu held. */
static int seen_locked(const struct seen *s, int kind, const char *name)
{
    int i;
    for (i = 0; i < s->n; i++)
        if (s->log[i].kind == kind && strcmp(s->log[i].name, name) == 0)
            return 1;
    return 0;
}

/* Wait until the event (kind, name) has been seen, up to EVENT_WAIT_S. */
static int wait_event(struct seen *s, int kind, const char *name)
{
    struct timespec deadline;
    int found, rc = 0;
    clock_gettime(CLOCK_REALTIME, &deadline);   /* condvars count in realtime */
    deadline.tv_sec += EVENT_WAIT_S;
    pthread_mutex_lock(&s->mu);
    while (!(found = seen_locked(s, kind, name)) && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&s->cond, &s->mu, &deadline);
    pthread_mutex_unlock(&s->mu);
    if (!found)
        fprintf(stderr, "no \"%s %s\" event within %d s\n", name, kind_name(kind),
                EVENT_WAIT_S);
    return found ? 0 : -1;
}

/* ---- the demonstration's child processes -------------------------------- */

/* A worker waits for a byte on `cmd` before each step: 'j' creates its node,
 * 'l' destroys it and exits, 'k' dies by SIGKILL without destroying it.
 * EOF (the parent is gone) ends it. */
static int worker(const char *name, int cmd)
{
    rpc_node *node = NULL;
    char c;
    while (read(cmd, &c, 1) == 1) {
        if (c == 'j' && rpc_node_create(NULL, name, &node) != 0)
            return 1;
        if (c == 'l')
            return rpc_node_destroy(node) != 0;
        if (c == 'k')
            raise(SIGKILL);
    }
    rpc_node_destroy(node);
    return 1;
}

static pid_t start_worker(const char *name, int *cmd_fd)
{
    int p[2];
    pid_t pid;
    if (pipe(p) != 0)
        return -1;
    if ((pid = fork()) == 0) {
        close(p[1]);
        _exit(worker(name, p[0]));
    }
    close(p[0]);
    *cmd_fd = p[1];
    return pid;
}

static int tell(int fd, char c)
{
    return write(fd, &c, 1) == 1 ? 0 : -1;
}

static int demonstrate(struct seen *s, const int cmds[2])
{
    /* Each step waits for the event it causes, so the order is certain. */
    if (tell(cmds[0], 'j') || wait_event(s, RPC_EVENT_NODE_JOINED, "worker-a") ||
        tell(cmds[1], 'j') || wait_event(s, RPC_EVENT_NODE_JOINED, "worker-b") ||
        tell(cmds[0], 'l') || wait_event(s, RPC_EVENT_NODE_LEFT, "worker-a") ||
        tell(cmds[1], 'k') || wait_event(s, RPC_EVENT_NODE_DIED, "worker-b"))
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    static struct seen s = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, { { 0, "" } } };
    int watch = argc > 1 && strcmp(argv[1], "--watch") == 0;
    pid_t pids[2] = { -1, -1 };
    int cmds[2] = { -1, -1 }, i, rc, bad = 0;
    struct sigaction sa;
    rpc_node *node;

    if (argc > 2 || (argc == 2 && !watch)) {
        fprintf(stderr, "usage: %s [--watch]\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* Fork the workers before this process has nodes and threads: a child
     * of a multi-threaded process may only do little before exec(). */
    if (!watch && ((pids[0] = start_worker("worker-a", &cmds[0])) < 0 ||
                   (pids[1] = start_worker("worker-b", &cmds[1])) < 0)) {
        perror("fork");
        bad = 1;
        goto reap;
    }

    if ((rc = rpc_node_create(NULL, watch ? NULL : "watcher", &node)) != 0) {
        fprintf(stderr, "rpc_node_create: %s (%s)\n", rpc_strerror(rc), rpc_errdetail());
        bad = 1;
        goto reap;
    }
    /* Nodes already present produce no event; only changes from now on. */
    if ((rc = rpc_node_set_event_cb(node, on_event, &s)) != 0) {
        fprintf(stderr, "rpc_node_set_event_cb: %s\n", rpc_strerror(rc));
        bad = 1;
    } else if (watch) {
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        printf("watching %s as %s; Ctrl-C stops\n", rpc_node_shm_name(node),
               rpc_node_name(node));
        while (!g_stop)
            pause();   /* events arrive on the receive thread */
    } else if (demonstrate(&s, cmds) != 0) {
        bad = 1;
    }
    rpc_node_destroy(node);   /* stops the receive thread: no event after this */

reap:
    for (i = 0; i < 2; i++) {
        if (pids[i] <= 0)
            continue;
        close(cmds[i]);   /* EOF ends a worker still waiting for a command */
        waitpid(pids[i], NULL, 0);
    }
    if (!watch) {
        rc = rpc_domain_active_nodes(NULL);
        printf("all nodes gone; segment %s\n", rc == RPC_ENOENT ? "removed" : "still in use");
        if (rc != RPC_ENOENT && !bad)
            bad = 1;
    }
    return bad;
}
