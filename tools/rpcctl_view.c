/*
 * rpcctl_view.c - `rpcctl topics` and `rpcctl monitor`: who publishes and
 * subscribes to what, and a live view of a domain refreshed in place.
 *
 * Both only read (rpc_domain_stat, rpc_domain_list_nodes and
 * rpc_domain_list_endpoints take no lock and no membership), so watching a
 * domain never keeps its segment alive.  monitor computes rates from the
 * difference of the nodes' counters between two refreshes; a node counts as
 * the same node in both when its slot, name, owner id and join time match,
 * so a reused slot starts over instead of showing a negative rate.
 *
 * The JSON that `topics --json` prints is an interface (schema 1), every
 * key always present:
 *
 *   {"schema": 1, "name", "exists", "error",
 *    "topics": [{"group", "topic",
 *                "publishers": [{"node", "slot"}],
 *                "subscribers": [{"node", "slot"}]}]}
 *
 * exists and error mean what they mean for `nodes --json`.  Topics are
 * sorted by group, then topic (bytewise); the endpoints of a topic by slot.
 * A publisher is a node that has published on the topic at least once.
 */
#define _POSIX_C_SOURCE 200809L

#include "rpcctl.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

const char rpcctl_usage_topics[] =
    "Usage: rpcctl topics [--json] [--name /NAME]\n"
    "\n"
    "List each (group, topic) of the domain with its publishers and\n"
    "subscribers, as a table GROUP TOPIC PUBLISHERS SUBSCRIBERS sorted by group\n"
    "and topic.  PUBLISHERS and SUBSCRIBERS are node names separated by commas,\n"
    "\"-\" when there are none.  A publisher is a node that has published on the\n"
    "topic at least once (librpc records it at the first rpc_publish); a\n"
    "subscriber is subscribed now.  A node that both publishes and subscribes\n"
    "is in both columns.  Read-only: takes no lock and no membership.\n"
    "\n"
    "Exit: 0 listed (possibly no topics), 1 the segment does not exist,\n"
    "2 usage, 4 bad segment, 5 other error.\n"
    "\n"
    "--json prints one object, every key always present:\n"
    "  {\"schema\": 1, \"name\", \"exists\", \"error\" (null or {code, name, message,\n"
    "   detail}), \"topics\": [{\"group\", \"topic\", \"publishers\": [{\"node\",\n"
    "   \"slot\"}], \"subscribers\": [{\"node\", \"slot\"}]}]}\n"
    "exists is false when the segment does not exist, null when it could not be\n"
    "examined.  Topics are sorted by group then topic (bytewise), endpoints by\n"
    "slot.  Keys may be added with the same schema number; the schema changes\n"
    "only if a key changes meaning or goes.\n";

const char rpcctl_usage_monitor[] =
    "Usage: rpcctl monitor [--interval S] [--count N] [--name /NAME]\n"
    "\n"
    "A live view of the domain, refreshed every S seconds (default 1):\n"
    "  - the segment: size, valid or why not, attached or orphaned, live\n"
    "    processes and nodes, queues in use of the queues it has room for,\n"
    "    queue size and largest message;\n"
    "  - the nodes: SLOT NAME PID STATE, messages published and received per\n"
    "    second (MSG_OUT/S, MSG_IN/S), payload bytes per second (BYTES_OUT/S,\n"
    "    BYTES_IN/S; K, M, G are powers of 1024), copies dropped in all\n"
    "    (DROPPED) and per second (DROP/S);\n"
    "  - the topics with their publishers and subscribers (as 'rpcctl topics').\n"
    "Rates are the change of the nodes' counters between two refreshes, so the\n"
    "first refresh shows \"-\"; so does a node that joined since the last one.\n"
    "\n"
    "When standard output is a terminal the view is redrawn in place, like\n"
    "top(1), and cut to the window; otherwise each refresh is printed as a block\n"
    "followed by an empty line.  A segment that does not exist (yet) or is\n"
    "removed is shown as such and monitor keeps going: it sees the segment\n"
    "appear.  Read-only: takes no lock and no membership.\n"
    "\n"
    "  --interval S  seconds between refreshes, e.g. 2 or 0.5 (0.01 to 86400)\n"
    "  --count N     stop after N refreshes (default: until interrupted)\n"
    "\n"
    "SIGINT (Ctrl-C), SIGTERM, SIGHUP or a closed output stop it.\n"
    "Exit: 0 stopped, 2 usage, 5 standard output could not be written.\n";

/* ---- signals and time ---- */

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

/* No SA_RESTART, so a sleep ends at once; signals already ignored (nohup)
 * stay ignored. */
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

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_until(uint64_t t)
{
    struct timespec ts;

    ts.tv_sec = (time_t)(t / 1000000000u);
    ts.tv_nsec = (long)(t % 1000000000u);
    while (!stop_signal && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

/* ---- endpoints grouped by topic ---- */

static int ep_cmp(const void *pa, const void *pb)
{
    const rpc_endpoint_info *a = pa, *b = pb;
    int c = strcmp(a->group, b->group);

    if (c == 0)
        c = strcmp(a->topic, b->topic);
    if (c == 0)
        c = (a->slot > b->slot) - (a->slot < b->slot);
    if (c == 0)
        c = b->publisher - a->publisher;
    return c;
}

/* Sort by (group, topic, slot, role) and drop exact duplicates; returns
 * the new count. */
static unsigned sort_endpoints(rpc_endpoint_info *eps, unsigned n)
{
    unsigned i, out = 0;

    if (n == 0)
        return 0;
    qsort(eps, n, sizeof *eps, ep_cmp);
    for (i = 0; i < n; i++)
        if (out == 0 || ep_cmp(&eps[out - 1], &eps[i]) != 0)
            eps[out++] = eps[i];
    return out;
}

/* The length of the run of endpoints of the same (group, topic) at eps[i]. */
static unsigned topic_run(const rpc_endpoint_info *eps, unsigned n, unsigned i)
{
    unsigned j = i + 1;

    while (j < n && strcmp(eps[j].group, eps[i].group) == 0 &&
           strcmp(eps[j].topic, eps[i].topic) == 0)
        j++;
    return j - i;
}

/* A name from the segment, with anything unprintable replaced, so that a
 * damaged table cannot garble a terminal. */
static void put_safe(FILE *f, const char *s)
{
    if (!*s)
        s = "?";
    for (; *s; s++)
        fputc(*s > ' ' && *s < 0x7f ? *s : '?', f);
}

/* The cell "a,b,c" (or "-") of the publishers or subscribers of a run. */
static void names_cell(struct rpcctl_table *t, unsigned col, const rpc_endpoint_info *run,
                       unsigned n, int publishers)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    unsigned i, k = 0;

    if (!m) {
        rpcctl_table_set(t, col, "?");
        return;
    }
    for (i = 0; i < n; i++) {
        if (!run[i].publisher != !publishers)
            continue;
        if (k++)
            fputc(',', m);
        put_safe(m, run[i].node);
    }
    if (k == 0)
        fputc('-', m);
    /* Closing a memory stream is what finalises buf: on failure it is not
     * usable. */
    if (fclose(m) != 0) {
        free(buf);
        buf = NULL;
    }
    rpcctl_table_set(t, col, "%s", buf ? buf : "?");
    free(buf);
}

static void safe_cell(struct rpcctl_table *t, unsigned col, const char *s)
{
    char buf[RPC_TOPIC_NAME_MAX + RPC_NODE_NAME_MAX + 2];
    size_t i;

    for (i = 0; s[i] && i + 1 < sizeof buf; i++)
        buf[i] = s[i] > ' ' && s[i] < 0x7f ? s[i] : '?';
    buf[i] = '\0';
    rpcctl_table_set(t, col, "%s", i ? buf : "?");
}

/* The topic table of sorted endpoints. */
static void print_topic_table(FILE *f, const rpc_endpoint_info *eps, unsigned n,
                              const char *indent)
{
    static const char *const titles[] = { "GROUP", "TOPIC", "PUBLISHERS", "SUBSCRIBERS" };
    struct rpcctl_table t;
    unsigned i, len;

    rpcctl_table_init(&t, 4, titles, NULL);
    for (i = 0; i < n; i += len) {
        len = topic_run(eps, n, i);
        if (rpcctl_table_row(&t) != 0)
            break;
        safe_cell(&t, 0, eps[i].group);
        safe_cell(&t, 1, eps[i].topic);
        names_cell(&t, 2, &eps[i], len, 1);
        names_cell(&t, 3, &eps[i], len, 0);
    }
    rpcctl_table_print(f, &t, indent);
    rpcctl_table_free(&t);
}

static void json_endpoints(FILE *f, const rpc_endpoint_info *run, unsigned n, int publishers)
{
    unsigned i, k = 0;

    fputc('[', f);
    for (i = 0; i < n; i++) {
        if (!run[i].publisher != !publishers)
            continue;
        fputs(k++ ? ", {\"node\": " : "{\"node\": ", f);
        cli_json_string(f, run[i].node);
        fprintf(f, ", \"slot\": %u}", (unsigned)run[i].slot);
    }
    fputc(']', f);
}

static void print_topics_json(const rpc_config *cfg, int err, const char *detail,
                              const rpc_endpoint_info *eps, unsigned n)
{
    unsigned i, len, k = 0;

    printf("{\n  \"schema\": 1,\n  \"name\": ");
    cli_json_string(stdout, rpc_config_shm_name(cfg));
    printf(",\n  \"exists\": %s,\n  \"error\": ", rpcctl_exists_json(err));
    rpcctl_json_error(stdout, err == RPC_ENOENT ? 0 : err, detail);
    printf(",\n  \"topics\": [");
    for (i = 0; i < n; i += len) {
        len = topic_run(eps, n, i);
        printf("%s\n    {\"group\": ", k++ ? "," : "");
        cli_json_string(stdout, eps[i].group);
        fputs(", \"topic\": ", stdout);
        cli_json_string(stdout, eps[i].topic);
        fputs(",\n     \"publishers\": ", stdout);
        json_endpoints(stdout, &eps[i], len, 1);
        fputs(",\n     \"subscribers\": ", stdout);
        json_endpoints(stdout, &eps[i], len, 0);
        fputc('}', stdout);
    }
    printf(k ? "\n  ]\n}\n" : "]\n}\n");
}

int rpcctl_run_topics(const struct opts *o, rpc_config *cfg)
{
    rpc_endpoint_info *eps = NULL;
    unsigned n = 0;
    char detail[512] = "";
    int err = cli_list_endpoints(cfg, &eps, &n);

    if (err < 0)
        snprintf(detail, sizeof detail, "%s", rpc_errdetail());
    else
        n = sort_endpoints(eps, n);
    if (o->json)
        print_topics_json(cfg, err, detail, eps, n);
    else if (err == 0)
        print_topic_table(stdout, eps, n, "");
    (void)fflush(stdout);
    free(eps);
    return err < 0 ? cli_report(&rpcctl_ctx, cfg, err, detail) : CLI_EXIT_OK;
}

/* ---- monitor: samples ---- */

/* One look at the domain. */
struct sample {
    uint64_t t_ns;             /* monotonic time of the look */
    int err;                   /* why nothing more is known, or 0 */
    char detail[512];
    rpc_domain_info info;
    rpc_node_info *nodes;
    unsigned n_nodes;
    rpc_endpoint_info *eps;
    unsigned n_eps;
};

static void sample_free(struct sample *s)
{
    free(s->nodes);
    free(s->eps);
    memset(s, 0, sizeof *s);
}

static void sample_fail(struct sample *s, int err)
{
    s->err = err;
    snprintf(s->detail, sizeof s->detail, "%s", rpc_errdetail());
}

static void sample_take(const rpc_config *cfg, struct sample *s)
{
    int err;

    memset(s, 0, sizeof *s);
    s->t_ns = mono_ns();
    err = rpc_domain_stat(cfg, &s->info);
    if (err < 0) {
        sample_fail(s, err);
        return;
    }
    if (!s->info.exists)
        return;
    if (!s->info.valid) {
        sample_fail(s, s->info.status ? s->info.status : RPC_ECORRUPT);
        return;
    }
    err = cli_list_nodes(cfg, &s->nodes, &s->n_nodes);
    if (err == 0)
        err = cli_list_endpoints(cfg, &s->eps, &s->n_eps);
    if (err == RPC_ENOENT) {
        /* Removed by its last node between two calls: show it gone. */
        sample_free(s);
        s->t_ns = mono_ns();
    } else if (err < 0) {
        sample_fail(s, err);
    } else {
        s->n_eps = sort_endpoints(s->eps, s->n_eps);
    }
}

/* The same node in the previous sample, or NULL. */
static const rpc_node_info *find_prev(const struct sample *prev, const rpc_node_info *ni)
{
    unsigned i;

    for (i = 0; i < prev->n_nodes; i++) {
        const rpc_node_info *p = &prev->nodes[i];
        if (p->slot == ni->slot && p->owner_id == ni->owner_id &&
            p->joined_unix_ns == ni->joined_unix_ns && strcmp(p->name, ni->name) == 0)
            return p;
    }
    return NULL;
}

/* ---- monitor: formatting ---- */

/* A count per second: "0", "12.5", "980", "1.2k", "3.4M". */
static void fmt_rate(char *buf, size_t len, double v)
{
    if (v < 0.05)
        snprintf(buf, len, "0");
    else if (v < 100)
        snprintf(buf, len, "%.1f", v);
    else if (v < 1e4)
        snprintf(buf, len, "%.0f", v);
    else if (v < 1e7)
        snprintf(buf, len, "%.1fk", v / 1e3);
    else
        snprintf(buf, len, "%.1fM", v / 1e6);
}

/* Bytes (per second): "0", "512", "1.5K", "2.0M", "1.1G" (powers of 1024). */
static void fmt_bytes(char *buf, size_t len, double v)
{
    static const char units[] = "KMGT";
    int u = -1;

    if (v < 0.5) {
        snprintf(buf, len, "0");
        return;
    }
    while (v >= 1024 && u < 3) {
        v /= 1024;
        u++;
    }
    if (u < 0)
        snprintf(buf, len, "%.0f", v);
    else
        snprintf(buf, len, "%.1f%c", v, units[u]);
}

/* A size for people: "256 KiB", "1.5 MiB", "100 bytes". */
static void fmt_size(char *buf, size_t len, uint64_t v)
{
    static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
    unsigned u = 0;
    uint64_t div = 1024;

    if (v < 1024) {
        snprintf(buf, len, "%llu bytes", (unsigned long long)v);
        return;
    }
    while (u + 1 < 4 && v >= div * 1024) {
        div *= 1024;
        u++;
    }
    if (v % div == 0)
        snprintf(buf, len, "%llu %s", (unsigned long long)(v / div), units[u]);
    else
        snprintf(buf, len, "%.1f %s", (double)v / (double)div, units[u]);
}

/* A rate column from two counter readings, or "-" when not known. */
static void rate_cell(struct rpcctl_table *t, unsigned col, const rpc_node_info *prev,
                      uint64_t now, uint64_t before, double dt, int bytes)
{
    char buf[32];
    double v;

    if (!prev || dt <= 0 || now < before) {
        rpcctl_table_set(t, col, "-");
        return;
    }
    v = (double)(now - before) / dt;
    if (bytes)
        fmt_bytes(buf, sizeof buf, v);
    else
        fmt_rate(buf, sizeof buf, v);
    rpcctl_table_set(t, col, "%s", buf);
}

enum { MC_SLOT, MC_NAME, MC_PID, MC_STATE, MC_OUT, MC_IN, MC_BOUT, MC_BIN, MC_DROP, MC_DROPS,
       MC_NCOLS };

static void print_monitor_nodes(FILE *f, const struct sample *cur, const struct sample *prev)
{
    static const char *const titles[MC_NCOLS] = { "SLOT", "NAME", "PID", "STATE", "MSG_OUT/S",
                                                  "MSG_IN/S", "BYTES_OUT/S", "BYTES_IN/S",
                                                  "DROPPED", "DROP/S" };
    static const unsigned char right[MC_NCOLS] = { 1, 0, 1, 0, 1, 1, 1, 1, 1, 1 };
    double dt = prev ? (double)(cur->t_ns - prev->t_ns) / 1e9 : 0;
    struct rpcctl_table t;
    unsigned i;

    rpcctl_table_init(&t, MC_NCOLS, titles, right);
    for (i = 0; i < cur->n_nodes; i++) {
        const rpc_node_info *ni = &cur->nodes[i];
        const rpc_node_info *p = prev ? find_prev(prev, ni) : NULL;
        const rpc_node_stats *st = &ni->stats, *ps = p ? &p->stats : st;
        if (rpcctl_table_row(&t) != 0)
            break;
        rpcctl_table_set(&t, MC_SLOT, "%u", (unsigned)ni->slot);
        safe_cell(&t, MC_NAME, ni->name);
        rpcctl_table_set(&t, MC_PID, "%ld", (long)ni->pid);
        rpcctl_table_set(&t, MC_STATE, "%s", ni->alive ? "alive" : "dead");
        rate_cell(&t, MC_OUT, p, st->published, ps->published, dt, 0);
        rate_cell(&t, MC_IN, p, st->received, ps->received, dt, 0);
        rate_cell(&t, MC_BOUT, p, st->bytes_out, ps->bytes_out, dt, 1);
        rate_cell(&t, MC_BIN, p, st->bytes_in, ps->bytes_in, dt, 1);
        rpcctl_table_set(&t, MC_DROP, "%llu", (unsigned long long)st->dropped);
        rate_cell(&t, MC_DROPS, p, st->dropped, ps->dropped, dt, 0);
    }
    rpcctl_table_print(f, &t, "  ");
    rpcctl_table_free(&t);
}

/* The segment's lines: what it is, who is attached, its queues. */
static void print_segment(FILE *f, const rpc_config *cfg, const struct sample *s)
{
    const rpc_domain_info *in = &s->info;
    char size[64], qsize[64], msg[64];
    double pct;

    if (s->err && !in->exists) {
        fprintf(f, "segment: cannot be examined: %s (%s)\n", rpc_strerror(s->err), s->detail);
        return;
    }
    if (!in->exists) {
        fprintf(f, "segment: does not exist (waiting for %s to appear)\n",
                rpc_config_shm_name(cfg));
        return;
    }
    cli_format_size(in->size, size, sizeof size);
    if (s->err) {
        fprintf(f, "segment: %s, invalid: %s (%s); %s\n", size, rpc_strerror(s->err), s->detail,
                in->attached ? "live processes are attached" : "orphaned: nobody is attached");
        return;
    }
    fprintf(f, "segment: %s, %s; %u live process%s, %u live node%s (%u registered, %u slots)\n",
            size, in->attached ? "attached" : "orphaned (no live process attached)",
            in->live_processes, in->live_processes == 1 ? "" : "es", in->live_nodes,
            in->live_nodes == 1 ? "" : "s", in->registered_nodes, in->max_nodes);
    fmt_size(qsize, sizeof qsize, in->queue_size);
    fmt_size(msg, sizeof msg, in->max_msg_size);
    pct = in->queues_total ? 100.0 * in->queues_used / in->queues_total : 0;
    fprintf(f, "queues:  %u of %u in use (%.1f%%), %s each; largest message %s\n",
            in->queues_used, in->queues_total, pct, qsize, msg);
}

static void print_frame(FILE *f, const rpc_config *cfg, const struct sample *cur,
                        const struct sample *prev, double interval, uint64_t n)
{
    char when[64];

    fprintf(f, "rpcctl monitor  %s  %s  every %g s  refresh %llu\n", rpc_config_shm_name(cfg),
            cli_format_time(wall_ns(), when, sizeof when), interval, (unsigned long long)n);
    print_segment(f, cfg, cur);
    if (!cur->info.exists || cur->err)
        return;
    fprintf(f, "\nnodes:\n");
    print_monitor_nodes(f, cur, prev);
    fprintf(f, "\ntopics:\n");
    print_topic_table(f, cur->eps, cur->n_eps, "  ");
}

/* ---- monitor: output ---- */

static void window_size(unsigned *rows, unsigned *cols)
{
    struct winsize ws;

    *rows = 24;
    *cols = 80;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
        *rows = ws.ws_row;
        *cols = ws.ws_col;
    }
}

/*
 * Redraw a terminal in place: home, each line cut to the window and ended
 * by "clear to end of line", then "clear to end of screen".  Lines beyond
 * the window are summed up on the last row so the screen never scrolls.
 */
static void draw_tty(const char *buf, size_t len, int first)
{
    unsigned rows, cols, row = 0, total = 0;
    size_t i;

    for (i = 0; i < len; i++)
        total += buf[i] == '\n';
    window_size(&rows, &cols);
    fputs(first ? "\033[?25l\033[H\033[2J" : "\033[H", stdout);
    for (i = 0; i < len && row + 1 < rows;) {
        const char *nl = memchr(buf + i, '\n', len - i);
        size_t l = nl ? (size_t)(nl - (buf + i)) : len - i;
        if (row + 2 == rows && total > rows - 1) {
            printf("... %u more lines: enlarge the window\033[K\n", total - row);
            break;
        }
        fwrite(buf + i, 1, l < cols - 1 ? l : cols - 1, stdout);
        fputs("\033[K\n", stdout);
        row++;
        i += l + 1;
    }
    fputs("\033[J", stdout);
}

/* Show one frame; 0, or the errno of a failed write. */
static int show(const char *buf, size_t len, int tty, int first)
{
    errno = 0;
    if (tty)
        draw_tty(buf, len, first);
    else {
        fwrite(buf, 1, len, stdout);
        fputc('\n', stdout);
    }
    if (fflush(stdout) != 0 || ferror(stdout))
        return errno ? errno : EIO;
    return 0;
}

/* Parse --interval and --count; 0 or an exit code. */
static int monitor_options(const struct opts *o, double *interval, uint64_t *count)
{
    *interval = 1.0;
    *count = 0;
    if (o->interval && (rpcctl_parse_positive(o->interval, 86400, interval) != 0 || *interval < 0.01))
        return rpcctl_usage_error(rpcctl_usage_monitor, "--interval '%s': want seconds from 0.01 to 86400, e.g. 2 or 0.5",
                                  o->interval);
    if (o->count && rpcctl_parse_u64(o->count, 1, UINT64_MAX, count) != 0)
        return rpcctl_usage_error(rpcctl_usage_monitor, "--count '%s': want a whole number >= 1",
                                  o->count);
    return 0;
}

/* Take a sample and show it with the rates since prev; 0 or an errno. */
static int refresh(const rpc_config *cfg, struct sample *cur, const struct sample *prev,
                   double interval, uint64_t n, int tty)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m;
    int err;

    sample_take(cfg, cur);
    m = open_memstream(&buf, &len);
    if (!m)
        return ENOMEM;
    print_frame(m, cfg, cur, prev && prev->t_ns ? prev : NULL, interval, n);
    if (fclose(m) != 0) {   /* buf is only complete once the stream closed */
        free(buf);
        buf = NULL;
    }
    err = buf ? show(buf, len, tty, n == 1) : ENOMEM;
    free(buf);
    return err;
}

int rpcctl_run_monitor(const struct opts *o, rpc_config *cfg)
{
    struct sample s[2];
    double interval;
    uint64_t count, n, next, step;
    int tty = isatty(STDOUT_FILENO), code, err = 0, cur = 0;

    if ((code = monitor_options(o, &interval, &count)) != 0)
        return code;
    catch_signals();
    memset(s, 0, sizeof s);
    step = (uint64_t)(interval * 1e9);
    next = mono_ns();
    for (n = 1; !stop_signal; n++) {
        err = refresh(cfg, &s[cur], &s[!cur], interval, n, tty);
        sample_free(&s[!cur]);
        cur = !cur;
        if (err || (count && n >= count))
            break;
        /* Absolute times keep the pace; after a stall, start again. */
        next += step;
        if (next < mono_ns())
            next = mono_ns() + step;
        sleep_until(next);
    }
    sample_free(&s[0]);
    sample_free(&s[1]);
    if (tty) {
        fputs("\033[?25h", stdout);
        (void)fflush(stdout);
    }
    if (err && err != EPIPE) {
        cli_error(&rpcctl_ctx, "cannot write to standard output: %s", strerror(err));
        return CLI_EXIT_OTHER;
    }
    return CLI_EXIT_OK;
}
