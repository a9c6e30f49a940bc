/*
 * publisher.c - publish N messages at a steady rate (pair: subscriber.c).
 *
 *   publisher [--count N] [--rate HZ] [--subscribers K]
 *
 * Joins the domain ($LIBRPC_SHM_NAME, else /librpc_shm) as node
 * "publisher-<pid>" and publishes "hello <i>" on (example, greetings).
 *
 * There is no history in librpc: a message reaches only the nodes that are
 * subscribed when it is published.  So before the first message the
 * publisher waits (up to 30 s) until K nodes (default 1; 0: do not wait)
 * subscribe to the topic, which it sees in the domain's endpoint table.
 *
 * Each publish waits up to a second for room when a subscriber's queue is
 * full (a slow subscriber); after that the copy for that subscriber is
 * dropped and counted, and the others still get the message.
 *
 * Exit status: 0 when every message reached every subscriber, 1 otherwise.
 */
#define _POSIX_C_SOURCE 200809L   /* clock_nanosleep, sigaction */
#include <librpc/librpc.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define GROUP "example"
#define TOPIC "greetings"
#define SUBSCRIBER_WAIT_MS 30000
#define PUBLISH_TIMEOUT_MS 1000

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* Number of nodes subscribed to GROUP/TOPIC, from the domain's table. */
static int count_subscribers(void)
{
    rpc_endpoint_info *eps = NULL;
    int i, n, cap = 0, subs = 0;
    /* The table may grow between the two calls: retry until it fits. */
    while ((n = rpc_domain_list_endpoints(NULL, eps, (unsigned)cap)) > cap) {
        free(eps);
        cap = n + 8;
        if ((eps = malloc((size_t)cap * sizeof *eps)) == NULL)
            return RPC_ENOMEM;
    }
    for (i = 0; i < n; i++)
        if (!eps[i].publisher && strcmp(eps[i].group, GROUP) == 0 &&
            strcmp(eps[i].topic, TOPIC) == 0)
            subs++;
    free(eps);
    return n < 0 ? n : subs;
}

static int wait_for_subscribers(int want)
{
    const struct timespec tick = { 0, 10 * 1000 * 1000 };
    int waited_ms, n = 0;
    for (waited_ms = 0; waited_ms < SUBSCRIBER_WAIT_MS && !g_stop; waited_ms += 10) {
        if ((n = count_subscribers()) >= want)
            return 0;
        nanosleep(&tick, NULL);
    }
    fprintf(stderr, "publisher: %d of %d subscriber(s) after %d s\n", n < 0 ? 0 : n, want,
            SUBSCRIBER_WAIT_MS / 1000);
    return -1;
}

/* Sleep until `next` (absolute, CLOCK_MONOTONIC), then move it one period
 * on: absolute deadlines keep the rate exact however long publishing took. */
static void pace(struct timespec *next, long period_ns)
{
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, next, NULL) == EINTR && !g_stop)
        ;
    next->tv_nsec += period_ns;
    while (next->tv_nsec >= 1000000000L) {
        next->tv_nsec -= 1000000000L;
        next->tv_sec++;
    }
}

int main(int argc, char **argv)
{
    long count = 10, rate = 10, want = 1, i, failed = 0;
    struct sigaction sa;
    struct timespec next;
    rpc_node_stats st;
    rpc_node *node;
    char name[32], text[64];
    int rc;

    for (i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--count") == 0)
            count = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--rate") == 0)   /* messages per second; 0: no pause */
            rate = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--subscribers") == 0)
            want = atol(argv[i + 1]);
        else
            break;
    }
    if (i != argc || count < 0 || rate < 0 || want < 0) {
        fprintf(stderr, "usage: %s [--count N] [--rate HZ] [--subscribers K]\n", argv[0]);
        return 2;
    }

    /* Ctrl-C stops publishing; the node is still destroyed properly. */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    snprintf(name, sizeof name, "publisher-%ld", (long)getpid());
    if ((rc = rpc_node_create(NULL, name, &node)) != 0) {
        fprintf(stderr, "publisher: %s (%s)\n", rpc_strerror(rc), rpc_errdetail());
        return 1;
    }
    if (want > 0 && wait_for_subscribers((int)want) != 0) {
        rpc_node_destroy(node);
        return 1;
    }

    clock_gettime(CLOCK_MONOTONIC, &next);
    for (i = 1; i <= count && !g_stop; i++) {
        int len = snprintf(text, sizeof text, "hello %ld", i);
        rc = rpc_publish(node, GROUP, TOPIC, text, (size_t)len, PUBLISH_TIMEOUT_MS);
        if (rc != 0) {   /* RPC_ETIMEDOUT: a queue stayed full; that copy is lost */
            fprintf(stderr, "publisher: message %ld: %s\n", i, rpc_strerror(rc));
            failed = 1;
        }
        if (rate > 0 && i < count)
            pace(&next, 1000000000L / rate);
    }

    if (rpc_node_get_stats(node, &st) == 0)
        printf("publisher: published %llu message(s), %llu copies delivered, %llu dropped\n",
               (unsigned long long)st.published, (unsigned long long)st.delivered,
               (unsigned long long)st.dropped);
    /* Destroying the node is what leaves the domain; the last node of the
     * last process removes the segment. */
    if (rpc_node_destroy(node) != 0)
        failed = 1;
    return failed || g_stop;
}
