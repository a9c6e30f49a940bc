/*
 * poll_loop.c - a node inside the application's own poll() loop.
 *
 *   poll_loop [--count N] [--thread]
 *
 * The loop watches a timerfd (every 100 ms it publishes "tick <i>") and
 * standard input (each line typed is published too); the node subscribes to
 * the same topic, so what the loop publishes comes back through the node's
 * callback, which prints it.  It stops after N ticks came back (default
 * 10), or on Ctrl-C.  The domain is $LIBRPC_SHM_NAME, else /librpc_shm.
 *
 * librpc has no file descriptor that becomes readable when a message
 * arrives (receivers sleep on a futex in the shared segment), so there are
 * two honest ways to drive a node from a poll()/epoll loop:
 *
 * 1. The default here: a node in RPC_RECEIVE_MANUAL mode.  poll() waits on
 *    the application's own descriptors with a short timeout (10 ms), then
 *    rpc_node_poll(node, 0) runs the callbacks of whatever has arrived.
 *    Callbacks run on the loop's thread: no locks, no extra thread.  The
 *    cost: a message waits up to one timeout before it is handled, and an
 *    idle loop still wakes 100 times a second (cheap, but not zero).
 *
 * 2. --thread: a node in the default RPC_RECEIVE_THREAD mode whose
 *    callback copies the message into a locked list and writes to an
 *    eventfd that the loop watches.  The loop then sleeps with no timeout
 *    and handles messages as soon as they come; the price is one copy, a
 *    lock and an eventfd write per message, and callbacks that run on
 *    another thread.
 *
 * Pick 1 when a few milliseconds of latency are fine (timers, UI, control
 * messages), 2 when the loop must sleep indefinitely or react at once.
 */
#define _GNU_SOURCE   /* timerfd, eventfd */
#include <librpc/librpc.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define GROUP "example"
#define TOPIC "loop"
#define IDLE_POLL_MS 10   /* mode 1: the longest a message waits */

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

struct app {
    long ticks_back;                /* "tick" messages that came back */
    /* --thread only: messages handed over by the receive thread */
    pthread_mutex_t mu;
    struct pending *head, **tail;
    int efd;
};

struct pending {
    struct pending *next;
    size_t size;
    char data[];
};

/* Handle one message on the loop's thread (both modes end up here). */
static void handle(struct app *app, const char *data, size_t size)
{
    printf("got: %.*s\n", (int)size, data);
    if (size > 5 && memcmp(data, "tick ", 5) == 0)
        app->ticks_back++;
}

/* Mode 1: runs inside rpc_node_poll(), i.e. on the loop's own thread. */
static void on_message_manual(rpc_node *node, const rpc_message *msg, void *user)
{
    (void)node;
    handle(user, msg->data, msg->size);
}

/* Mode 2: runs on the library's receive thread.  Copy the message (its
 * bytes are valid only during the callback), queue it, poke the loop. */
static void on_message_thread(rpc_node *node, const rpc_message *msg, void *user)
{
    struct app *app = user;
    struct pending *p = malloc(sizeof *p + msg->size);
    uint64_t one = 1;
    (void)node;
    if (p == NULL)
        return;   /* out of memory: this message is lost */
    p->next = NULL;
    p->size = msg->size;
    memcpy(p->data, msg->data, msg->size);
    pthread_mutex_lock(&app->mu);
    *app->tail = p;
    app->tail = &p->next;
    pthread_mutex_unlock(&app->mu);
    if (write(app->efd, &one, sizeof one) < 0)
        perror("eventfd write");
}

/* Mode 2, on the loop's thread: take everything queued and handle it. */
static void drain_pending(struct app *app)
{
    struct pending *p, *next;
    uint64_t n;
    if (read(app->efd, &n, sizeof n) < 0 && errno != EAGAIN)
        perror("eventfd read");
    pthread_mutex_lock(&app->mu);
    p = app->head;
    app->head = NULL;
    app->tail = &app->head;
    pthread_mutex_unlock(&app->mu);
    for (; p != NULL; p = next) {
        next = p->next;
        handle(app, p->data, p->size);
        free(p);
    }
}

/* Publish without waiting.  In mode 1 this thread is also the node's
 * receiver: waiting for room in a queue to ourselves would wait forever,
 * since only our next rpc_node_poll() empties it. */
static void publish(rpc_node *node, const char *text, size_t len)
{
    int rc = rpc_publish(node, GROUP, TOPIC, text, len, RPC_NO_WAIT);
    if (rc != 0)
        fprintf(stderr, "publish: %s\n", rpc_strerror(rc));
}

/* Publish each line of what read() returned (a line split across two
 * reads goes out in two pieces: good enough for a demonstration). */
static void publish_lines(rpc_node *node, const char *buf, size_t len)
{
    const char *p = buf, *end = buf + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl != NULL ? nl : end) - p);
        publish(node, p, n);
        p += n + 1;
    }
}

static int make_node(int threaded, struct app *app, rpc_node **out)
{
    rpc_config *cfg;
    char name[32];
    int rc = rpc_config_create(&cfg);   /* picks up $LIBRPC_SHM_NAME */
    if (rc != 0)
        return rc;
    if (!threaded)
        rc = rpc_config_set_receive_mode(cfg, RPC_RECEIVE_MANUAL);
    snprintf(name, sizeof name, "poll-loop-%ld", (long)getpid());
    if (rc == 0)
        rc = rpc_node_create(cfg, name, out);
    rpc_config_destroy(cfg);   /* the node keeps its own copy */
    if (rc == 0 && (rc = rpc_subscribe(*out, GROUP, TOPIC,
                                       threaded ? on_message_thread : on_message_manual,
                                       app)) != 0)
        rpc_node_destroy(*out);
    return rc;
}

int main(int argc, char **argv)
{
    struct app app = { 0, PTHREAD_MUTEX_INITIALIZER, NULL, NULL, -1 };
    struct itimerspec every_100ms = { { 0, 100000000L }, { 0, 100000000L } };
    struct pollfd fds[3];
    struct sigaction sa;
    rpc_node *node;
    long count = 10, ticks = 0;
    int i, rc, threaded = 0, tfd, nfds;
    char line[256];

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
            count = atol(argv[++i]);
        else if (strcmp(argv[i], "--thread") == 0)
            threaded = 1;
        else {
            fprintf(stderr, "usage: %s [--count N] [--thread]\n", argv[0]);
            return 2;
        }
    }
    app.tail = &app.head;
    setvbuf(stdout, NULL, _IOLBF, 0);
    memset(&sa, 0, sizeof sa);   /* no SA_RESTART: a signal ends poll() */
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    app.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (tfd < 0 || app.efd < 0 || timerfd_settime(tfd, 0, &every_100ms, NULL) != 0) {
        perror("timerfd/eventfd");
        return 1;
    }
    if ((rc = make_node(threaded, &app, &node)) != 0) {
        fprintf(stderr, "poll_loop: %s (%s)\n", rpc_strerror(rc), rpc_errdetail());
        return 1;
    }
    printf("poll_loop: node %s, %s mode; type a line to publish it\n", rpc_node_name(node),
           threaded ? "receive-thread + eventfd" : "manual");

    fds[0] = (struct pollfd){ .fd = tfd, .events = POLLIN };
    fds[1] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
    fds[2] = (struct pollfd){ .fd = app.efd, .events = POLLIN };
    nfds = threaded ? 3 : 2;

    while (!g_stop && app.ticks_back < count) {
        /* Mode 1 must come back every IDLE_POLL_MS to look at the node;
         * mode 2 is woken through the eventfd and can sleep indefinitely. */
        int n = poll(fds, (nfds_t)nfds, threaded ? -1 : IDLE_POLL_MS);
        if (n < 0 && errno != EINTR) {
            perror("poll");
            break;
        }
        if (n > 0 && (fds[0].revents & POLLIN)) {   /* the timer */
            uint64_t expirations;
            if (read(tfd, &expirations, sizeof expirations) == sizeof expirations) {
                int len = snprintf(line, sizeof line, "tick %ld", ++ticks);
                publish(node, line, (size_t)len);
            }
        }
        if (n > 0 && fds[1].revents != 0) {   /* a line, EOF, or no stdin at all */
            ssize_t len = read(STDIN_FILENO, line, sizeof line);
            if (len > 0)
                publish_lines(node, line, (size_t)len);
            else   /* EOF or error: poll() ignores negative descriptors */
                fds[1].fd = -1;
        }
        if (threaded) {
            if (n > 0 && (fds[2].revents & POLLIN))
                drain_pending(&app);
        } else if ((rc = rpc_node_poll(node, 0)) < 0) {   /* run what has arrived */
            fprintf(stderr, "rpc_node_poll: %s\n", rpc_strerror(rc));
            break;
        }
    }

    printf("poll_loop: %ld of %ld ticks came back\n", app.ticks_back, count);
    rc = rpc_node_destroy(node);   /* stops the receive thread, if any */
    if (threaded)
        drain_pending(&app);   /* free what arrived after the loop ended */
    close(tfd);
    close(app.efd);
    return rc == 0 && app.ticks_back >= count ? 0 : 1;
}
