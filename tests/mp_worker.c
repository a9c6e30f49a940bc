/*
 * mp_worker.c - a worker process for the multi-process tests and for
 * run_multiprocess_test.sh.
 *
 *   mp_worker [--name /SHM] [--nodes N] [--cycles C] [--hold-ms MS]
 *             [--hold-max-ms MS] [--wait] [--seed S] [--size BYTES]
 *             [--max-nodes N]
 *
 * It joins the domain (--name, else $LIBRPC_SHM_NAME, else the default),
 * creates N nodes "mpw-<pid>-<i>", checks that the segment at the path is
 * the one its nodes are in, holds them, destroys them, and does all that C
 * times.  After the first nodes exist it prints "ready <pid> <segment id>"
 * on stdout.  The hold is MS, or a random 0..MS with --hold-max-ms; with
 * --wait it holds the first nodes until SIGTERM/SIGINT (or is SIGKILLed,
 * which is what the crash tests want).
 *
 * Exit status: 0 all went well; 1 a librpc call failed (printed on
 * stderr); 2 usage; 3 a split-brain check failed.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <librpc/librpc.h>

#define MAX_NODES 64

struct opts {
    const char *name;
    int nodes, cycles, hold_ms, hold_random, wait;
    unsigned seed;
    size_t size;
    unsigned max_nodes;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void usage(void)
{
    fprintf(stderr, "usage: mp_worker [--name /SHM] [--nodes N] [--cycles C] [--hold-ms MS]\n"
                    "                 [--hold-max-ms MS] [--wait] [--seed S] [--size BYTES]\n"
                    "                 [--max-nodes N]\n");
    exit(2);
}

static long num_arg(int argc, char **argv, int *i)
{
    char *end;
    long v;
    if (*i + 1 >= argc)
        usage();
    v = strtol(argv[++*i], &end, 0);
    if (*end != '\0' || v < 0)
        usage();
    return v;
}

static void parse(int argc, char **argv, struct opts *o)
{
    memset(o, 0, sizeof *o);
    o->nodes = 1;
    o->cycles = 1;
    o->seed = (unsigned)getpid() ^ (unsigned)time(NULL);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
            o->name = argv[++i];
        else if (strcmp(argv[i], "--nodes") == 0)
            o->nodes = (int)num_arg(argc, argv, &i);
        else if (strcmp(argv[i], "--cycles") == 0)
            o->cycles = (int)num_arg(argc, argv, &i);
        else if (strcmp(argv[i], "--hold-ms") == 0)
            o->hold_ms = (int)num_arg(argc, argv, &i);
        else if (strcmp(argv[i], "--hold-max-ms") == 0) {
            o->hold_ms = (int)num_arg(argc, argv, &i);
            o->hold_random = 1;
        } else if (strcmp(argv[i], "--wait") == 0)
            o->wait = 1;
        else if (strcmp(argv[i], "--seed") == 0)
            o->seed = (unsigned)num_arg(argc, argv, &i);
        else if (strcmp(argv[i], "--size") == 0)
            o->size = (size_t)num_arg(argc, argv, &i);
        else if (strcmp(argv[i], "--max-nodes") == 0)
            o->max_nodes = (unsigned)num_arg(argc, argv, &i);
        else
            usage();
    }
    if (o->nodes < 1 || o->nodes > MAX_NODES || o->cycles < 1)
        usage();
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "mp_worker %ld: %s: %s (%s)\n", (long)getpid(), what, rpc_strerror(rc),
            rpc_errdetail());
    return 1;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !stop)
        ;
}

/* Sleep until SIGTERM or SIGINT, without the race of a signal that lands
 * between the check and the sleep. */
static void wait_for_stop(void)
{
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &old);
    while (!stop)
        sigsuspend(&old);
    sigprocmask(SIG_SETMASK, &old, NULL);
}

/* The segment at the path must be the one our node is in. */
static int same_segment(const rpc_config *cfg, const rpc_node *node)
{
    rpc_domain_info info;
    return rpc_domain_stat(cfg, &info) == 0 && info.exists &&
           info.segment_id == rpc_node_segment_id(node);
}

static rpc_config *make_config(const struct opts *o)
{
    rpc_config *cfg = NULL;
    int rc = rpc_config_create(&cfg);
    if (rc == 0 && o->name != NULL)
        rc = rpc_config_set_shm_name(cfg, o->name);
    /* max_nodes first: the default size fits any table, and the size check
     * then uses the final node count. */
    if (rc == 0 && o->max_nodes != 0)
        rc = rpc_config_set_max_nodes(cfg, o->max_nodes);
    if (rc == 0 && o->size != 0)
        rc = rpc_config_set_shm_size(cfg, o->size);
    if (rc != 0) {
        fail("configuration", rc);
        rpc_config_destroy(cfg);
        exit(2);
    }
    return cfg;
}

/* One cycle: create, check, hold, destroy.  Returns an exit status. */
static int cycle(const rpc_config *cfg, struct opts *o, int first)
{
    rpc_node *nodes[MAX_NODES] = {NULL};
    int status = 0, rc, n;
    for (n = 0; n < o->nodes; n++) {
        char nm[RPC_NODE_NAME_MAX + 1];
        snprintf(nm, sizeof nm, "mpw-%ld-%d", (long)getpid(), n);
        if ((rc = rpc_node_create(cfg, nm, &nodes[n])) != 0) {
            status = fail("rpc_node_create", rc);
            break;
        }
    }
    if (status == 0 && !same_segment(cfg, nodes[0])) {
        fprintf(stderr, "mp_worker %ld: split brain: the segment at the path is not ours\n",
                (long)getpid());
        status = 3;
    }
    if (status == 0 && first) {
        printf("ready %ld %016" PRIx64 "\n", (long)getpid(), rpc_node_segment_id(nodes[0]));
        fflush(stdout);
    }
    if (status == 0 && first && o->wait) {
        wait_for_stop();
    } else if (status == 0 && o->hold_ms > 0) {
        sleep_ms(o->hold_random ? (int)(rand_r(&o->seed) % (unsigned)(o->hold_ms + 1))
                                : o->hold_ms);
    }
    if (status == 0 && !same_segment(cfg, nodes[0])) {
        fprintf(stderr, "mp_worker %ld: split brain before leaving\n", (long)getpid());
        status = 3;
    }
    for (int i = 0; i < n; i++)
        if (nodes[i] != NULL && (rc = rpc_node_destroy(nodes[i])) != 0 && status == 0)
            status = fail("rpc_node_destroy", rc);
    return status;
}

int main(int argc, char **argv)
{
    struct opts o;
    struct sigaction sa;
    rpc_config *cfg;
    int status = 0;

    parse(argc, argv, &o);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    cfg = make_config(&o);
    for (int c = 0; c < o.cycles && status == 0 && !(stop && c > 0); c++)
        status = cycle(cfg, &o, c == 0);
    rpc_config_destroy(cfg);
    return status;
}
