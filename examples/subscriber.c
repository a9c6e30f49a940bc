/*
 * subscriber.c - print the messages of a topic (pair: publisher.c).
 *
 *   subscriber [--count N] [--timeout S]
 *
 * Joins the domain ($LIBRPC_SHM_NAME, else /librpc_shm) as node
 * "subscriber-<pid>", subscribes to (example, greetings) and prints every
 * message.  It stops after N messages (default: never), after S seconds
 * (default: never), or on Ctrl-C.
 *
 * The node has the default receive mode: a thread of the library runs the
 * callback, one message at a time, in the order each publisher sent them.
 * The main thread only waits; poll_loop.c shows the other mode, where the
 * application runs the callbacks from its own loop.
 *
 * Exit status: 0 when N messages arrived (or, without --count, on Ctrl-C),
 * 1 otherwise.
 */
#define _POSIX_C_SOURCE 200809L   /* sigaction, clock_gettime */
#include <librpc/librpc.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define GROUP "example"
#define TOPIC "greetings"

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* Shared between the receive thread (callback) and the main thread. */
struct inbox {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    long received;
};

/* Runs on the node's receive thread.  msg and its bytes are valid only
 * until we return: copy what you want to keep. */
static void on_message(rpc_node *node, const rpc_message *msg, void *user)
{
    struct inbox *in = user;
    (void)node;
    /* The payload is bytes, not a string: print it with its length. */
    printf("%s/%s #%llu from %s: %.*s\n", msg->group, msg->topic,
           (unsigned long long)msg->seq, msg->publisher, (int)msg->size,
           (const char *)msg->data);
    pthread_mutex_lock(&in->mu);
    in->received++;
    pthread_cond_signal(&in->cond);
    pthread_mutex_unlock(&in->mu);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Wait until `count` messages arrived (0: forever), the deadline passed
 * (timeout_s 0: none) or a signal came.  Waits in slices of 100 ms, since a
 * signal handler may not touch a condition variable. */
static void wait_for_messages(struct inbox *in, long count, long timeout_s)
{
    double deadline = now_s() + (double)timeout_s;
    pthread_mutex_lock(&in->mu);
    while (!g_stop && (count == 0 || in->received < count) &&
           (timeout_s == 0 || now_s() < deadline)) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);   /* condvars count in realtime */
        until.tv_nsec += 100 * 1000 * 1000;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_nsec -= 1000000000L;
            until.tv_sec++;
        }
        pthread_cond_timedwait(&in->cond, &in->mu, &until);
    }
    pthread_mutex_unlock(&in->mu);
}

int main(int argc, char **argv)
{
    struct inbox in = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };
    long count = 0, timeout_s = 0, got;
    struct sigaction sa;
    rpc_node *node;
    char name[32];
    int i, rc;

    for (i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--count") == 0)
            count = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--timeout") == 0)
            timeout_s = atol(argv[i + 1]);
        else
            break;
    }
    if (i != argc || count < 0 || timeout_s < 0) {
        fprintf(stderr, "usage: %s [--count N] [--timeout S]\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);   /* a line at a time, also into a pipe */

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    snprintf(name, sizeof name, "subscriber-%ld", (long)getpid());
    if ((rc = rpc_node_create(NULL, name, &node)) != 0) {
        fprintf(stderr, "subscriber: %s (%s)\n", rpc_strerror(rc), rpc_errdetail());
        return 1;
    }
    /* From here on, every message published on the topic reaches us. */
    if ((rc = rpc_subscribe(node, GROUP, TOPIC, on_message, &in)) != 0) {
        fprintf(stderr, "subscriber: %s (%s)\n", rpc_strerror(rc), rpc_errdetail());
        rpc_node_destroy(node);
        return 1;
    }
    printf("subscriber: %s subscribed to %s/%s in %s\n", name, GROUP, TOPIC,
           rpc_node_shm_name(node));

    wait_for_messages(&in, count, timeout_s);

    /* Destroy stops the receive thread first: no callback runs after it,
     * so `in` is ours alone again. */
    rc = rpc_node_destroy(node);
    got = in.received;
    printf("subscriber: received %ld message(s)%s\n", got,
           count > 0 && got < count ? ", fewer than wanted" : "");
    if (rc != 0 || (count > 0 && got < count))
        return 1;
    return 0;
}
