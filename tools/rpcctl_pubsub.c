/*
 * rpcctl_pubsub.c - `rpcctl pub` and `rpcctl echo`: the two commands that
 * join a domain as a node, to publish messages or to print the messages
 * published on some topics as they arrive.
 *
 * Both leave the domain cleanly whatever stops them: SIGINT, SIGTERM and
 * SIGHUP only set a flag that the main loop checks (no call waits longer
 * than ECHO_SLICE_MS or one publish timeout), and SIGPIPE is ignored so a
 * closed output is an error the loop sees rather than a death that would
 * leave a dead node for the survivors to reclaim.
 */
#define _POSIX_C_SOURCE 200809L

#include "rpcctl.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char rpcctl_usage_pub[] =
    "Usage: rpcctl pub GROUP TOPIC [MESSAGE] [--count N] [--rate HZ]\n"
    "                  [--size BYTES] [--timeout MS] [--name /NAME]\n"
    "\n"
    "Join the domain as node \"rpcctl-pub-<pid>\", publish, and leave.  MESSAGE\n"
    "is sent --count times; without MESSAGE each line of standard input\n"
    "(without its newline) is one message, until the end of the input.\n"
    "A MESSAGE that starts with '-' goes after '--'.\n"
    "\n"
    "Publishing is fire-and-forget and there is no history: only nodes that\n"
    "are subscribed when a message is published get it.  Start the\n"
    "subscribers (e.g. 'rpcctl echo GROUP TOPIC') first.  When the segment\n"
    "does not exist nobody can be subscribed: pub says so and exits 1\n"
    "without creating it.\n"
    "\n"
    "  GROUP, TOPIC   1-63 printable ASCII characters, no spaces\n"
    "  --count N      send MESSAGE N times (default 1); with standard input,\n"
    "                 send at most N lines (default: all of them)\n"
    "  --rate HZ      messages per second, e.g. 100 or 0.5 (default: as fast as\n"
    "                 possible).  Paced against absolute times, so the average\n"
    "                 rate holds; after a stall longer than one period the\n"
    "                 schedule restarts rather than catching up in a burst.\n"
    "  --size BYTES   payload of exactly BYTES bytes: MESSAGE (or the line)\n"
    "                 repeated and cut to fit; an empty one gives zero bytes.\n"
    "                 At most the segment's maximum (64 KiB by default).\n"
    "  --timeout MS   how long one publish waits for room when a subscriber's\n"
    "                 queue is full (default 1000; -1: as long as the\n"
    "                 subscriber lives).  0 never waits: the copy for that\n"
    "                 subscriber is dropped at once and counted.\n"
    "\n"
    "At the end one line on stderr sums up: messages published, copies\n"
    "delivered (one per subscriber and message), copies dropped, and how many\n"
    "messages found a full queue.  SIGINT, SIGTERM and SIGHUP stop early; the\n"
    "summary is still printed.\n"
    "\n"
    "Exit: 0 every copy delivered (also when nobody was subscribed), 1 the\n"
    "segment does not exist, 2 usage, 4 bad segment, 5 other error (e.g. a\n"
    "message larger than the segment allows), 6 some copies were dropped.\n";

const char rpcctl_usage_echo[] =
    "Usage: rpcctl echo GROUP TOPIC... [--count N] [--timeout S] [--json]\n"
    "                   [--name /NAME]\n"
    "\n"
    "Join the domain as node \"rpcctl-echo-<pid>\", subscribe to each TOPIC of\n"
    "GROUP and print every message as it arrives, one line each:\n"
    "\n"
    "  [GROUP/TOPIC] seq=N from=PUBLISHER size=S: TEXT\n"
    "  [GROUP/TOPIC] seq=N from=PUBLISHER size=S hex: 00ff01...\n"
    "\n"
    "TEXT is the payload when it is printable: UTF-8 without control\n"
    "characters (tabs are allowed).  Otherwise the hex digits of its first 64\n"
    "bytes are shown, then \"...\" if there are more.  seq numbers each\n"
    "publisher's messages from 1.  At least one TOPIC is required: librpc has\n"
    "no wildcards.\n"
    "\n"
    "Only messages published after the subscriptions are in place arrive\n"
    "(there is no history).  echo then prints one line on stderr,\n"
    "\"rpcctl: echo: node NAME listening on GROUP/TOPIC ...\": a script can\n"
    "start its publishers once that line is there.  When the segment does not\n"
    "exist echo creates it; when echo was its last node, leaving removes it.\n"
    "\n"
    "  --count N     stop after N messages\n"
    "  --timeout S   stop when no message arrived for S seconds (e.g. 5, 0.5)\n"
    "  --json        one JSON object per line: {\"group\", \"topic\", \"seq\",\n"
    "                \"publisher\", \"size\", \"text\"} for a printable payload; for\n"
    "                another, \"hex\" (all of it, not only 64 bytes) instead of\n"
    "                \"text\".  seq may exceed 2^53.\n"
    "\n"
    "Standard output is flushed after each message, so pipes see each at once.\n"
    "SIGINT, SIGTERM and SIGHUP stop echo cleanly (its node leaves the\n"
    "domain); so does a closed output (e.g. '| head -n 3').\n"
    "\n"
    "Exit: 0 --count messages arrived; or stopped by a signal or a closed\n"
    "output; or, without --count, --timeout passed after at least one\n"
    "message.  1 --timeout passed before any message, or with --count before\n"
    "the N-th.  2 usage, 4 bad segment, 5 other error.\n";

/* How often echo looks at its stop flag while no message comes. */
#define ECHO_SLICE_MS 100
/* Bytes of a non-printable payload that a human-readable line shows. */
#define HEX_PREVIEW 64
/* Largest payload the library allows in any configuration. */
#define MAX_PAYLOAD ((uint64_t)16 << 20)

/* ---- signals ---- */

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

/*
 * No SA_RESTART: a blocking read or sleep returns EINTR so the loop sees
 * the flag at once.  A signal the caller ignores stays ignored (nohup, or
 * SIGINT for a background job of a non-interactive shell).
 */
static void catch_signals(void)
{
    static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
    struct sigaction sa, old;
    size_t i;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
            sigaction(sigs[i], &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

/* ---- arguments ---- */

/* A decimal integer in [min, max], nothing else (no sign, no blanks). */
int rpcctl_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* A decimal number > 0 and <= max ("0.5", "100", "1e3"; not hex). */
int rpcctl_parse_positive(const char *s, double max, double *out)
{
    char *end;
    double v;

    if (((s[0] < '0' || s[0] > '9') && s[0] != '.') || strpbrk(s, "xX"))
        return -1;
    errno = 0;
    v = strtod(s, &end);
    if (errno || *end || !(v > 0.0) || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Group and topic names as the library takes them: 1..63 printable ASCII
 * bytes without spaces.  Checked here so a typo is a usage error before
 * anything joins the domain. */
static int check_name(const char *usage, const char *what, const char *s)
{
    size_t i, len = strlen(s);

    for (i = 0; i < len && s[i] > ' ' && s[i] < 0x7f; i++)
        ;
    if (len == 0 || len > RPC_TOPIC_NAME_MAX || i < len)
        return rpcctl_usage_error(usage, "%s '%s': want 1-%d printable ASCII characters without spaces",
                                  what, s, RPC_TOPIC_NAME_MAX);
    return 0;
}

/* ---- time ---- */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Sleep until the monotonic time t; returns early on a stop signal. */
static void sleep_until(uint64_t t)
{
    struct timespec ts;

    ts.tv_sec = (time_t)(t / 1000000000u);
    ts.tv_nsec = (long)(t % 1000000000u);
    while (!stop_signal && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

/* ---- joining ---- */

/* Create this command's node, "rpcctl-<role>-<pid>"; 0 or an exit code. */
static int join(const rpc_config *cfg, const char *role, rpc_node **out)
{
    char name[RPC_NODE_NAME_MAX + 1], detail[512];
    int err;

    snprintf(name, sizeof name, "rpcctl-%s-%ld", role, (long)getpid());
    err = rpc_node_create(cfg, name, out);
    if (err == 0)
        return 0;
    snprintf(detail, sizeof detail, "%s", rpc_errdetail());
    return cli_report(&rpcctl_ctx, cfg, err, detail);
}

static int leave(rpc_node *node, int code)
{
    if (rpc_node_destroy(node) != 0 && code == CLI_EXIT_OK) {
        cli_error(&rpcctl_ctx, "could not leave the domain cleanly (%s): the other nodes reclaim the slot",
                  rpc_errdetail());
        code = CLI_EXIT_OTHER;
    }
    return code;
}

/* ---- pub ---- */

struct pub {
    rpc_node *node;
    const rpc_config *cfg;
    const char *group;
    const char *topic;
    int timeout_ms;
    int sized;                 /* --size given */
    size_t size;
    unsigned char *buf;        /* the padded payload when sized */
    uint64_t published;        /* rpc_publish calls that went through */
    uint64_t full;             /* of those, how many found a full queue */
};

/* Parse pub's options into p and the pacing; 0 or an exit code. */
static int pub_options(const struct opts *o, struct pub *p, uint64_t *count, double *period_ns)
{
    uint64_t v;
    double rate;

    *count = 0;
    *period_ns = 0;
    p->timeout_ms = 1000;
    if (o->count && rpcctl_parse_u64(o->count, 1, UINT64_MAX, count) != 0)
        return rpcctl_usage_error(rpcctl_usage_pub, "--count '%s': want a whole number >= 1", o->count);
    if (o->rate) {
        if (rpcctl_parse_positive(o->rate, 1e9, &rate) != 0)
            return rpcctl_usage_error(rpcctl_usage_pub, "--rate '%s': want messages per second > 0 (at most 1e9)",
                                      o->rate);
        *period_ns = 1e9 / rate;
    }
    if (o->size) {
        if (rpcctl_parse_u64(o->size, 0, MAX_PAYLOAD, &v) != 0)
            return rpcctl_usage_error(rpcctl_usage_pub, "--size '%s': want bytes, 0 to %llu", o->size,
                                      (unsigned long long)MAX_PAYLOAD);
        p->sized = 1;
        p->size = (size_t)v;
    }
    if (o->timeout) {
        if (strcmp(o->timeout, "-1") == 0)
            p->timeout_ms = RPC_WAIT_FOREVER;
        else if (rpcctl_parse_u64(o->timeout, 0, INT_MAX, &v) == 0)
            p->timeout_ms = (int)v;
        else
            return rpcctl_usage_error(rpcctl_usage_pub, "--timeout '%s': want milliseconds >= 0, or -1 to wait as long as the subscriber lives",
                                      o->timeout);
    }
    return 0;
}

/* Publish one message (padded to --size); 0 or an exit code. */
static int pub_one(struct pub *p, const void *msg, size_t len)
{
    char detail[512];
    int err;

    if (p->sized) {
        size_t i;
        if (len == 0)
            memset(p->buf, 0, p->size);
        for (i = 0; len > 0 && i < p->size; i += len)
            memcpy(p->buf + i, msg, p->size - i < len ? p->size - i : len);
        msg = p->buf;
        len = p->size;
    }
    err = rpc_publish(p->node, p->group, p->topic, msg, len, p->timeout_ms);
    if (err == 0 || err == RPC_EAGAIN || err == RPC_ETIMEDOUT) {
        p->published++;
        p->full += err != 0;
        return 0;
    }
    snprintf(detail, sizeof detail, "%s", rpc_errdetail());
    if (err == RPC_EMSGSIZE) {
        cli_error(&rpcctl_ctx, "message of %zu bytes is larger than segment %s allows (%s): send less, or make the segment with a larger maximum",
                  len, rpc_config_shm_name(p->cfg), detail);
        return CLI_EXIT_OTHER;
    }
    return cli_report(&rpcctl_ctx, p->cfg, err, detail);
}

/*
 * Wait for the slot of message i of a paced run: t0 + i periods.  A run
 * that fell more than a period behind (a full queue, a stopped terminal)
 * moves t0 instead of sending the missed messages in a burst.
 */
static void pace(uint64_t *t0, uint64_t i, double period_ns)
{
    uint64_t target, now;

    if (period_ns <= 0)
        return;
    target = *t0 + (uint64_t)((double)i * period_ns);
    now = now_ns();
    if (now > target + (uint64_t)period_ns) {
        *t0 += now - target;
        return;
    }
    sleep_until(target);
}

/* MESSAGE count times; 0 or an exit code. */
static int pub_message(struct pub *p, const char *msg, uint64_t count, double period_ns)
{
    uint64_t i, t0 = now_ns();
    int code = 0;

    if (count == 0)
        count = 1;
    for (i = 0; i < count && !stop_signal && code == 0; i++) {
        pace(&t0, i, period_ns);
        if (!stop_signal)
            code = pub_one(p, msg, strlen(msg));
    }
    return code;
}

/* Each line of standard input, at most count (0: all); 0 or an exit code. */
static int pub_lines(struct pub *p, uint64_t count, double period_ns)
{
    char *line = NULL;
    size_t cap = 0;
    uint64_t i = 0, t0 = now_ns();
    int code = 0;

    while (!stop_signal && code == 0 && (count == 0 || i < count)) {
        ssize_t n = getline(&line, &cap, stdin);
        if (n < 0) {
            if (ferror(stdin) && errno == EINTR && !stop_signal) {
                clearerr(stdin);
                continue;
            }
            if (ferror(stdin) && !stop_signal) {
                cli_error(&rpcctl_ctx, "cannot read standard input: %s", strerror(errno));
                code = CLI_EXIT_OTHER;
            }
            break;
        }
        if (n > 0 && line[n - 1] == '\n')
            n--;
        pace(&t0, i, period_ns);
        if (!stop_signal)
            code = pub_one(p, line, (size_t)n);
        i++;
    }
    free(line);
    return code;
}

/* The one-line summary on stderr; returns the exit code it implies. */
static int pub_summary(const struct pub *p, int code)
{
    rpc_node_stats st;
    char extra[256] = "";

    memset(&st, 0, sizeof st);
    rpc_node_get_stats(p->node, &st);
    if (p->full)
        snprintf(extra, sizeof extra, "; %llu message%s found a full queue (%s)",
                 (unsigned long long)p->full, p->full == 1 ? "" : "s",
                 p->timeout_ms == 0 ? "--timeout 0: not waited for" : "timed out");
    else if (p->published > 0 && st.delivered == 0 && st.dropped == 0)
        snprintf(extra, sizeof extra, "; nobody is subscribed: start the subscribers (e.g. 'rpcctl echo %s %s') first, there is no history",
                 p->group, p->topic);
    fprintf(stderr, "%s: pub %s/%s: %llu message%s published, %llu cop%s delivered, %llu dropped%s%s\n",
            rpcctl_ctx.prog, p->group, p->topic, (unsigned long long)p->published,
            p->published == 1 ? "" : "s", (unsigned long long)st.delivered,
            st.delivered == 1 ? "y" : "ies", (unsigned long long)st.dropped, extra,
            stop_signal ? " (interrupted)" : "");
    if (code == 0 && st.dropped > 0)
        code = CLI_EXIT_DROPPED;
    return code;
}

/* pub refuses to create a domain: nobody could be subscribed in a new one,
 * and a mistyped --name would only make and remove a segment. */
static int pub_check_domain(const rpc_config *cfg)
{
    rpc_domain_info info;

    if (rpc_domain_stat(cfg, &info) != 0 || info.exists)
        return 0; /* problems are reported when the node joins */
    cli_error(&rpcctl_ctx, "shared memory: does not exist (segment %s): nobody can be subscribed, so nothing was published; start the subscribers first, or choose the domain %s",
              rpc_config_shm_name(cfg), rpcctl_ctx.rename_hint);
    return CLI_EXIT_NOENT;
}

int rpcctl_run_pub(const struct opts *o, rpc_config *cfg)
{
    struct pub p;
    uint64_t count;
    double period_ns;
    int code;

    memset(&p, 0, sizeof p);
    if (o->nargs < 2)
        return rpcctl_usage_error(rpcctl_usage_pub, "missing %s", o->nargs ? "TOPIC" : "GROUP and TOPIC");
    p.group = o->args[0];
    p.topic = o->args[1];
    p.cfg = cfg;
    if ((code = check_name(rpcctl_usage_pub, "GROUP", p.group)) != 0 ||
        (code = check_name(rpcctl_usage_pub, "TOPIC", p.topic)) != 0 ||
        (code = pub_options(o, &p, &count, &period_ns)) != 0)
        return code;
    if (p.sized && (p.buf = malloc(p.size ? p.size : 1)) == NULL) {
        cli_error(&rpcctl_ctx, "out of memory for a %zu-byte payload", p.size);
        return CLI_EXIT_OTHER;
    }
    if ((code = pub_check_domain(cfg)) == 0) {
        catch_signals();
        code = join(cfg, "pub", &p.node);
    }
    if (code == 0) {
        if (o->nargs > 2)
            code = pub_message(&p, o->args[2], count, period_ns);
        else
            code = pub_lines(&p, count, period_ns);
        code = leave(p.node, pub_summary(&p, code));
    }
    free(p.buf);
    return code;
}

/* ---- echo ---- */

struct echo {
    int json;
    uint64_t want;             /* --count, 0: no limit */
    uint64_t got;
    int out_err;               /* errno of a failed write to stdout */
};

/* Printable: UTF-8 without control characters (C0, DEL, C1) but tab. */
static int printable(const unsigned char *p, size_t len)
{
    const unsigned char *end = p + len;

    while (p < end) {
        size_t n;
        if (*p == '\t') {
            p++;
            continue;
        }
        if (*p < 0x20 || *p == 0x7f)
            return 0;
        n = cli_utf8_len(p, (size_t)(end - p));
        if (n == 0 || (n == 2 && p[0] == 0xC2 && p[1] < 0xA0))
            return 0;
        p += n;
    }
    return 1;
}

static void put_hex(const unsigned char *p, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < len; i++) {
        putchar(digits[p[i] >> 4]);
        putchar(digits[p[i] & 15]);
    }
}

/* A name from the segment, shown with anything odd replaced. */
static void put_name(const char *s)
{
    if (!s || !*s)
        s = "?";
    for (; *s; s++)
        putchar(*s > ' ' && *s < 0x7f ? *s : '?');
}

static void print_json(const rpc_message *m, int text)
{
    fputs("{\"group\": ", stdout);
    cli_json_string(stdout, m->group);
    fputs(", \"topic\": ", stdout);
    cli_json_string(stdout, m->topic);
    printf(", \"seq\": %llu, \"publisher\": ", (unsigned long long)m->seq);
    cli_json_string(stdout, m->publisher);
    printf(", \"size\": %zu, \"%s\": ", m->size, text ? "text" : "hex");
    if (text) {
        cli_json_mem(stdout, m->data, m->size);
    } else {
        putchar('"');
        put_hex(m->data, m->size);
        putchar('"');
    }
    fputs("}\n", stdout);
}

static void print_line(const rpc_message *m, int text)
{
    putchar('[');
    put_name(m->group);
    putchar('/');
    put_name(m->topic);
    printf("] seq=%llu from=", (unsigned long long)m->seq);
    put_name(m->publisher);
    printf(" size=%zu%s: ", m->size, text ? "" : " hex");
    if (text) {
        fwrite(m->data, 1, m->size, stdout);
    } else {
        put_hex(m->data, m->size < HEX_PREVIEW ? m->size : HEX_PREVIEW);
        if (m->size > HEX_PREVIEW)
            fputs("...", stdout);
    }
    putchar('\n');
}

/* The callback: runs inside rpc_node_poll() on the main thread. */
static void on_message(rpc_node *node, const rpc_message *m, void *user)
{
    struct echo *e = user;
    int text = printable(m->data, m->size);

    (void)node;
    /* One poll may run a batch: what comes after the count is not shown. */
    if (e->out_err || (e->want && e->got >= e->want))
        return;
    if (e->json)
        print_json(m, text);
    else
        print_line(m, text);
    e->got++;
    if (fflush(stdout) != 0 || ferror(stdout))
        e->out_err = errno ? errno : EIO;
}

/* Subscribe to every topic and say so on stderr; 0 or an exit code. */
static int echo_subscribe(rpc_node *node, const rpc_config *cfg, const struct opts *o,
                          struct echo *e)
{
    char detail[512];
    int i, err;

    for (i = 1; i < o->nargs; i++) {
        err = rpc_subscribe(node, o->args[0], o->args[i], on_message, e);
        if (err == RPC_EEXIST)
            continue; /* the same TOPIC twice */
        if (err != 0) {
            snprintf(detail, sizeof detail, "%s", rpc_errdetail());
            cli_error(&rpcctl_ctx, "cannot subscribe to %s/%s:", o->args[0], o->args[i]);
            return cli_report(&rpcctl_ctx, cfg, err, detail);
        }
    }
    fprintf(stderr, "%s: echo: node %s listening on", rpcctl_ctx.prog, rpc_node_name(node));
    for (i = 1; i < o->nargs; i++)
        fprintf(stderr, " %s/%s", o->args[0], o->args[i]);
    fputc('\n', stderr);
    return 0;
}

/*
 * Poll until --count messages, a signal, a closed output or --timeout of
 * silence.  Returns 0, or an exit code after printing why.
 */
static int echo_loop(rpc_node *node, const rpc_config *cfg, struct echo *e, uint64_t idle_ns,
                     const char *timeout_text)
{
    uint64_t last = now_ns();

    while (!stop_signal && !e->out_err && !(e->want && e->got >= e->want)) {
        uint64_t before = e->got, now = now_ns(), slice = ECHO_SLICE_MS * 1000000ull;
        int rc;
        if (idle_ns) {
            uint64_t idle = now - last;
            slice = idle >= idle_ns ? 0 : (idle_ns - idle < slice ? idle_ns - idle : slice);
        }
        rc = rpc_node_poll(node, (int)((slice + 999999) / 1000000));
        if (rc < 0) {
            char detail[512];
            snprintf(detail, sizeof detail, "%s", rpc_errdetail());
            return cli_report(&rpcctl_ctx, cfg, rc, detail);
        }
        /* Time out only after a poll that found nothing, so a process
         * that was stopped (SIGSTOP, a suspended laptop) still prints
         * what arrived meanwhile. */
        if (e->got != before)
            last = now_ns();
        else if (idle_ns && now_ns() - last >= idle_ns)
            break;
    }
    if (e->out_err && e->out_err != EPIPE) {
        cli_error(&rpcctl_ctx, "cannot write to standard output: %s", strerror(e->out_err));
        return CLI_EXIT_OTHER;
    }
    if (e->out_err == EPIPE)
        rpcctl_stdout_gone = 1;   /* the reader left: a normal way to stop */
    if (stop_signal || e->out_err || (e->want && e->got >= e->want))
        return 0;
    /* --timeout passed. */
    if (e->want) {
        cli_error(&rpcctl_ctx, "echo: no message for %s s: got %llu of %llu", timeout_text,
                  (unsigned long long)e->got, (unsigned long long)e->want);
        return CLI_EXIT_NOENT;
    }
    if (e->got == 0) {
        cli_error(&rpcctl_ctx, "echo: no message arrived within %s s", timeout_text);
        return CLI_EXIT_NOENT;
    }
    return 0;
}

int rpcctl_run_echo(const struct opts *o, rpc_config *cfg)
{
    struct echo e;
    uint64_t idle_ns = 0;
    double secs;
    rpc_node *node = NULL;
    int i, code;

    memset(&e, 0, sizeof e);
    e.json = o->json;
    if (o->nargs < 2)
        return rpcctl_usage_error(rpcctl_usage_echo, "missing %s (librpc has no wildcards: name at least one topic)",
                                  o->nargs ? "TOPIC" : "GROUP and TOPIC");
    for (i = 0; i < o->nargs; i++)
        if ((code = check_name(rpcctl_usage_echo, i ? "TOPIC" : "GROUP", o->args[i])) != 0)
            return code;
    if (o->count && rpcctl_parse_u64(o->count, 1, UINT64_MAX, &e.want) != 0)
        return rpcctl_usage_error(rpcctl_usage_echo, "--count '%s': want a whole number >= 1", o->count);
    if (o->timeout) {
        if (rpcctl_parse_positive(o->timeout, 1e9, &secs) != 0)
            return rpcctl_usage_error(rpcctl_usage_echo, "--timeout '%s': want seconds > 0, e.g. 5 or 0.5",
                                      o->timeout);
        idle_ns = (uint64_t)(secs * 1e9);
        if (idle_ns == 0)
            idle_ns = 1;
    }
    if (rpc_config_set_receive_mode(cfg, RPC_RECEIVE_MANUAL) != 0) {
        cli_error(&rpcctl_ctx, "cannot configure a manual receive mode: %s", rpc_errdetail());
        return CLI_EXIT_OTHER;
    }
    catch_signals();
    if ((code = join(cfg, "echo", &node)) != 0)
        return code;
    code = echo_subscribe(node, cfg, o, &e);
    if (code == 0)
        code = echo_loop(node, cfg, &e, idle_ns, o->timeout);
    return leave(node, code);
}
