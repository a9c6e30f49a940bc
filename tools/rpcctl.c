/*
 * rpcctl.c - the command-line view of a librpc domain: status, nodes and
 * clean-up of its shared-memory segment, and the command line of all
 * commands (pub and echo live in rpcctl_pubsub.c, topics and monitor in
 * rpcctl_view.c, cleanup --all in rpcctl_scan.c, watch in rpcctl_watch.c).
 *
 * status, nodes and cleanup only use the read-only domain queries
 * (rpc_domain_stat, rpc_domain_list_nodes), which take no membership, so
 * looking at a domain never keeps its segment alive; `cleanup` uses
 * rpc_domain_cleanup(), which never removes a segment a live process uses
 * unless forced.
 *
 * The JSON that `status --json` prints is an interface: one object, every
 * key always present, in this order (null where the value is unknown):
 *
 *   schema            1 (bumped if a key changes meaning or goes away)
 *   name              segment name, e.g. "/librpc_shm"
 *   exists            true/false; null when the name could not be examined
 *   size              file size in bytes
 *   mode              permission bits in octal, e.g. "0600"
 *   uid, user, gid    owner uid, its login name (null if unknown), group id
 *   valid             true when it is a librpc segment of this layout version
 *   error             null, or {"code", "name", "message", "detail"}: why the
 *                     segment is invalid or could not be examined
 *   attached          true when at least one live process holds membership
 *   orphaned          true when it exists and no live process is attached
 *   live_processes    processes with at least one live node
 *   live_nodes        nodes whose process is alive
 *   registered_nodes  occupied node slots, dead or alive
 *   max_nodes         node-table size
 *   segment_id        "0x" and 16 hex digits, new at every initialisation
 *   layout_version    layout version recorded in the header
 *   created_unix_ns   initialisation time, ns since the epoch
 *   created           the same as UTC ISO 8601, e.g. "2025-01-02T03:04:05.678Z"
 *   nodes             [{"slot", "name", "pid", "state" ("alive"/"dead"),
 *                       "alive", "owner_id" (hex string), "joined_unix_ns",
 *                       "joined", "stats"}], in slot order; stats is
 *                       {"published", "delivered", "dropped", "received",
 *                       "bytes_out", "bytes_in"} (rpc_node_stats)
 *
 * For an invalid segment whose header could not be read, the fields that
 * come from the header or the node table (live_processes to created) are
 * null and nodes is [].  `nodes --json` prints {"schema", "name", "exists",
 * "error", "nodes"} with the same meanings; there exists is null when the
 * name could not be examined (permission, not a regular file).
 *
 * Keys may be added (stats was) without a schema change; a schema bump
 * means a key changed meaning or went away.
 */
#define _POSIX_C_SOURCE 200809L

#include "rpcctl.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const cli_ctx rpcctl_ctx = {
    .prog = "rpcctl",
    .rename_hint = "with --name /other",
    .cleanup_cmd = "rpcctl cleanup",
    .force_cmd = "rpcctl cleanup --force",
};

/* ---- help texts ---- */

static const char usage_main[] =
    "Usage: rpcctl [--name /NAME] COMMAND [OPTIONS] [ARGUMENTS]\n"
    "       rpcctl COMMAND --help\n"
    "       rpcctl --help | --version\n"
    "\n"
    "Inspect, watch and clean up a librpc domain (one POSIX shared-memory\n"
    "segment), and publish to or listen on its topics.  Only pub and echo join\n"
    "the domain (as a node, for as long as they run); the other commands never\n"
    "attach to it, so they never keep a segment alive.\n"
    "\n"
    "Commands:\n"
    "  status [--json]    the segment: size, mode, owner, validity, attached and\n"
    "                     orphaned state, live processes, nodes and counters\n"
    "  nodes [--json]     the registered nodes: SLOT NAME PID STATE and their\n"
    "                     message counters\n"
    "  topics [--json]    each (group, topic) with its publishers and subscribers\n"
    "  monitor [--interval S] [--count N]\n"
    "                     a live view of nodes, rates, drops, queues and topics\n"
    "  cleanup [--force]  remove the segment if it is orphaned (no live process\n"
    "                     attached); --force removes it anyway (dangerous)\n"
    "  cleanup --all [--json]\n"
    "                     remove every orphaned librpc segment of this user in\n"
    "                     /dev/shm; list what was removed and what was left\n"
    "  watch [--cleanup] [--all]\n"
    "                     wait (no busy loop) for the domain's last process to\n"
    "                     die and log it; --cleanup removes the orphan at once\n"
    "  pub GROUP TOPIC [MESSAGE] [--count N] [--rate HZ] [--size BYTES]\n"
    "                     [--timeout MS]\n"
    "                     publish MESSAGE, or each line of standard input\n"
    "  echo GROUP TOPIC... [--count N] [--timeout S] [--json]\n"
    "                     print the messages published on the topics\n"
    "  help [COMMAND]     this text, or a command's\n"
    "\n"
    "Options (anywhere on the line; '--' ends the options):\n"
    "  --name /NAME       the domain's segment name: '/' then 1-254 characters\n"
    "                     and no other '/' (a name, not a path); default:\n"
    "                     $LIBRPC_SHM_NAME if set, else /librpc_shm\n"
    "  -h, --help         show help and exit 0 (also 'rpcctl COMMAND --help')\n"
    "  -V, --version      print the librpc version and exit 0\n"
    "\n"
    "Exit codes:\n"
    "  0  success (status: the segment exists and is valid; cleanup: removed)\n"
    "  1  the segment does not exist (cleanup: nothing to remove; pub: nobody\n"
    "     to publish to); echo: fewer messages than wanted arrived in time\n"
    "  2  usage error: unknown option or argument, invalid segment name\n"
    "  3  cleanup refused: live processes are attached\n"
    "  4  bad segment: not a librpc segment, incompatible layout version,\n"
    "     damaged, owned by another user, permission denied, not a regular file\n"
    "  5  any other error\n"
    "  6  pub: some copies were dropped because a subscriber's queue was full\n"
    "Each error is one line on stderr that says what to do.  See rpcctl(1).\n";

static const char usage_status[] =
    "Usage: rpcctl status [--json] [--name /NAME]\n"
    "\n"
    "Show whether the segment exists and, if it does: size, mode, owner (uid\n"
    "and user), group, whether it is a valid librpc segment (and why not),\n"
    "whether live processes are attached or it is orphaned, the number of live\n"
    "processes and nodes, the node table with each node's message counters,\n"
    "segment id, layout version and creation time.  Read-only: takes no lock\n"
    "and no membership.\n"
    "\n"
    "Exit: 0 exists and valid, 1 does not exist (prints \"shared memory: does\n"
    "not exist\"), 2 usage, 4 exists but invalid or unreadable, 5 other error.\n"
    "\n"
    "--json prints one JSON object; every key is always present, null when\n"
    "unknown, in this order:\n"
    "  schema (1), name, exists, size, mode (octal string, \"0600\"), uid, user,\n"
    "  gid, valid, error (null or {code, name, message, detail}), attached,\n"
    "  orphaned, live_processes, live_nodes, registered_nodes, max_nodes,\n"
    "  segment_id (\"0x\" + 16 hex digits), layout_version, created_unix_ns,\n"
    "  created (UTC ISO 8601), nodes: [{slot, name, pid, state (\"alive\" or\n"
    "  \"dead\"), alive, owner_id (hex string), joined_unix_ns, joined, stats}].\n"
    "stats is {published, delivered, dropped, received, bytes_out, bytes_in}:\n"
    "  published  rpc_publish calls by the node\n"
    "  delivered  copies it queued to subscribers (one per subscriber)\n"
    "  dropped    copies it lost to full subscriber queues\n"
    "  received   messages passed to its callbacks\n"
    "  bytes_out  payload bytes it queued; bytes_in: payload bytes it received\n"
    "When the segment does not exist, exists is false, the segment fields are\n"
    "null and nodes is [].  For an invalid segment whose header could not be\n"
    "read, live_processes through created are null and nodes is [].\n"
    "64-bit integers (created_unix_ns, joined_unix_ns, the counters) may\n"
    "exceed 2^53.  New keys may be added in later versions with the same\n"
    "schema number; the schema changes only if a key changes meaning or goes.\n";

static const char usage_nodes[] =
    "Usage: rpcctl nodes [--json] [--name /NAME]\n"
    "\n"
    "List the registered nodes of the domain, in slot order, as a table\n"
    "SLOT NAME PID STATE PUBLISHED DELIVERED DROPPED RECEIVED BYTES_OUT\n"
    "BYTES_IN.  STATE is alive, or dead: its process died and the survivors\n"
    "have not reclaimed the slot yet.  The PID is informative only: it is the\n"
    "pid in the creator's PID namespace.  The counters are described in\n"
    "'rpcctl status --help'.\n"
    "\n"
    "Exit: 0 listed (possibly no nodes), 1 the segment does not exist, 2 usage,\n"
    "4 bad segment, 5 other error.\n"
    "\n"
    "--json prints {\"schema\": 1, \"name\", \"exists\", \"error\" (null or {code,\n"
    "name, message, detail}), \"nodes\": [{slot, name, pid, state, alive,\n"
    "owner_id, joined_unix_ns, joined, stats: {published, delivered, dropped,\n"
    "received, bytes_out, bytes_in}}]}.\n";

static const char usage_cleanup[] =
    "Usage: rpcctl cleanup [--force] [--name /NAME]\n"
    "       rpcctl cleanup --all [--json]\n"
    "\n"
    "Remove the segment if it is orphaned: no live process is attached (all\n"
    "of them exited or were killed).  Safe at any time, e.g. from cron: it\n"
    "never removes a segment a live process uses.  Prints one line saying\n"
    "what happened (on stdout when removed or nothing to remove, on stderr\n"
    "when refused or failed).\n"
    "\n"
    "--force  remove the segment whatever its state or contents.  DANGEROUS:\n"
    "         live processes keep working in the unlinked copy while new ones\n"
    "         create a new segment, so the domain splits in two.  Use it only\n"
    "         for processes you know are stuck, or for a segment that is not\n"
    "         librpc's.\n"
    "\n"
    "Exit: 0 removed, 1 nothing to remove, 2 usage, 3 refused (live processes\n"
    "attached), 4 bad segment (not librpc without --force, other owner, ...),\n"
    "5 other error.\n"
    "\n"
    "--all    look at every file in /dev/shm instead of one name: remove each\n"
    "         librpc segment of this user that no live process is attached to\n"
    "         (valid, damaged, of another layout version, or half-initialised\n"
    "         by a creator that died), and leave the rest.  Prints one line per\n"
    "         file, ACTION NAME REASON DETAIL, then a summary.  REASON is, for\n"
    "         removed files, \"orphaned\"; for files left alone, \"live\" (processes\n"
    "         are attached), \"foreign\" (another user's), \"not-librpc\" (other\n"
    "         contents, a semaphore, a small file, a directory...), \"unknown\"\n"
    "         (an empty file: remove it by name with 'rpcctl --name /NAME\n"
    "         cleanup' if it is librpc's), \"unreadable\", \"vanished\" (gone\n"
    "         meanwhile) or \"failed\" (the removal failed: see DETAIL).  Never\n"
    "         forced.\n"
    "--json   with --all: {\"schema\": 1, \"directory\", \"uid\", \"removed\" (count),\n"
    "         \"left\" (count), \"segments\": [{\"name\", \"action\" (\"removed\" or\n"
    "         \"left\"), \"reason\", \"detail\", \"error\" (null or {code, name,\n"
    "         message, detail})}]}, sorted by name.\n"
    "Exit with --all: 0 every orphaned librpc segment found was removed (also\n"
    "when there was none), 2 usage, 5 /dev/shm cannot be read; else the code\n"
    "of the first failed removal (e.g. 5 for a timeout).\n";

/* ---- command line ---- */

struct command {
    const char *name;
    const char *usage;
    unsigned accepts;          /* OPT_* the command takes */
    int max_args;              /* operands it takes at most; -1: any number */
    int (*run)(const struct opts *o, rpc_config *cfg);
};

static int run_status(const struct opts *o, rpc_config *cfg);
static int run_nodes(const struct opts *o, rpc_config *cfg);
static int run_cleanup(const struct opts *o, rpc_config *cfg);

static const struct command commands[] = {
    { "status", usage_status, OPT_JSON, 0, run_status },
    { "nodes", usage_nodes, OPT_JSON, 0, run_nodes },
    { "topics", rpcctl_usage_topics, OPT_JSON, 0, rpcctl_run_topics },
    { "monitor", rpcctl_usage_monitor, OPT_INTERVAL | OPT_COUNT, 0, rpcctl_run_monitor },
    { "cleanup", usage_cleanup, OPT_FORCE | OPT_ALL | OPT_JSON, 0, run_cleanup },
    { "watch", rpcctl_usage_watch, OPT_ALL | OPT_CLEANUP, 0, rpcctl_run_watch },
    { "pub", rpcctl_usage_pub, OPT_COUNT | OPT_RATE | OPT_SIZE | OPT_TIMEOUT, 3, rpcctl_run_pub },
    { "echo", rpcctl_usage_echo, OPT_COUNT | OPT_TIMEOUT | OPT_JSON, -1, rpcctl_run_echo },
};

/* The options that take a value, and where parse_args keeps it. */
static const struct value_opt {
    const char *flag;
    unsigned bit;
    size_t field;
} value_opts[] = {
    { "--name", 0, offsetof(struct opts, name) },
    { "--count", OPT_COUNT, offsetof(struct opts, count) },
    { "--rate", OPT_RATE, offsetof(struct opts, rate) },
    { "--size", OPT_SIZE, offsetof(struct opts, size) },
    { "--timeout", OPT_TIMEOUT, offsetof(struct opts, timeout) },
    { "--interval", OPT_INTERVAL, offsetof(struct opts, interval) },
};

static const struct command *find_command(const char *name)
{
    size_t i;
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

int rpcctl_usage_error(const char *usage, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", rpcctl_ctx.prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'rpcctl --help')\n\n%s", usage);
    return CLI_EXIT_USAGE;
}

/*
 * If argv[*i] is an option with a value ("--count 5" or "--count=5"), store
 * the value and return 1 (advancing *i past a separate value); 0 if it is
 * not one; an exit code (> 1) after printing the error.
 */
static int take_value(int argc, char **argv, int *i, struct opts *o)
{
    const char *a = argv[*i];
    size_t k;

    for (k = 0; k < sizeof value_opts / sizeof value_opts[0]; k++) {
        const struct value_opt *v = &value_opts[k];
        size_t len = strlen(v->flag);
        const char **field = (const char **)((char *)o + v->field);
        if (strncmp(a, v->flag, len) != 0 || (a[len] != '\0' && a[len] != '='))
            continue;
        if (a[len] == '=') {
            *field = a + len + 1;
        } else if (*i + 1 < argc) {
            *field = argv[++*i];
        } else {
            return rpcctl_usage_error(usage_main, "option '%s' needs a %s", a,
                                      v->bit ? "value" : "segment name");
        }
        o->given |= v->bit;
        return 1;
    }
    return 0;
}

/*
 * Parse argv into o; returns 0 or an exit code after printing the error.
 * The operands after the command are gathered at the front of argv (each
 * moves only towards the start, so none is overwritten before it is read)
 * and o->args points at them.
 */
static int parse_args(int argc, char **argv, struct opts *o)
{
    int i, rc, nargs = 0, options_done = 0;

    memset(o, 0, sizeof *o);
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (options_done || a[0] != '-' || a[1] == '\0') {
            if (!o->cmd)
                o->cmd = a;
            else
                argv[nargs++] = argv[i];
        } else if (strcmp(a, "--") == 0) {
            options_done = 1;
        } else if ((rc = take_value(argc, argv, &i, o)) != 0) {
            if (rc != 1)
                return rc;
        } else if (strcmp(a, "--json") == 0) {
            o->json = 1;
            o->given |= OPT_JSON;
        } else if (strcmp(a, "--force") == 0) {
            o->force = 1;
            o->given |= OPT_FORCE;
        } else if (strcmp(a, "--all") == 0) {
            o->all = 1;
            o->given |= OPT_ALL;
        } else if (strcmp(a, "--cleanup") == 0) {
            o->cleanup = 1;
            o->given |= OPT_CLEANUP;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            o->help = 1;
        } else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
            o->version = 1;
        } else {
            return rpcctl_usage_error(usage_main, "unknown option '%s'", a);
        }
    }
    o->args = argv;
    o->nargs = nargs;
    if (o->cmd && strcmp(o->cmd, "help") == 0 && nargs > 0) {
        o->help = 1; /* "help CMD" is "CMD --help" */
        o->cmd = o->args[0];
        o->args++;
        o->nargs--;
    }
    return 0;
}

/* Check the options and operands against the command; 0 or an exit code. */
static int check_opts(const struct opts *o, const struct command *c)
{
    /* Indexed by the bit number of OPT_*. */
    static const char *const flags[] = { "--json", "--force", "--count", "--rate", "--size",
                                         "--timeout", "--all", "--cleanup", "--interval" };
    size_t k;

    for (k = 0; k < sizeof flags / sizeof flags[0]; k++)
        if ((o->given & (1u << k)) && !(c->accepts & (1u << k)))
            return rpcctl_usage_error(c->usage, "option '%s' does not apply to '%s'", flags[k],
                                      c->name);
    if (c->max_args >= 0 && o->nargs > c->max_args)
        return rpcctl_usage_error(c->usage, "unexpected argument '%s'", o->args[c->max_args]);
    if (o->all && o->name)
        return rpcctl_usage_error(c->usage, "--all looks at every segment: leave out --name %s",
                                  o->name);
    return 0;
}
/* ---- output helpers ---- */

void rpcctl_json_error(FILE *f, int err, const char *detail)
{
    if (err == 0) {
        fputs("null", f);
        return;
    }
    fprintf(f, "{\"code\": %d, \"name\": ", err);
    cli_json_string(f, cli_errname(err));
    fputs(", \"message\": ", f);
    cli_json_string(f, rpc_strerror(err));
    fputs(", \"detail\": ", f);
    cli_json_string(f, detail);
    fputc('}', f);
}

static void json_stats(FILE *f, const rpc_node_stats *st)
{
    fprintf(f, "{\"published\": %llu, \"delivered\": %llu, \"dropped\": %llu, "
               "\"received\": %llu, \"bytes_out\": %llu, \"bytes_in\": %llu}",
            (unsigned long long)st->published, (unsigned long long)st->delivered,
            (unsigned long long)st->dropped, (unsigned long long)st->received,
            (unsigned long long)st->bytes_out, (unsigned long long)st->bytes_in);
}

static void json_nodes(FILE *f, const rpc_node_info *nodes, unsigned n)
{
    char when[64];
    unsigned i;

    fputc('[', f);
    for (i = 0; i < n; i++) {
        const rpc_node_info *ni = &nodes[i];
        fprintf(f, "%s\n    {\"slot\": %u, \"name\": ", i ? "," : "", (unsigned)ni->slot);
        cli_json_string(f, ni->name);
        fprintf(f, ", \"pid\": %ld, \"state\": \"%s\", \"alive\": %s, ",
                (long)ni->pid, ni->alive ? "alive" : "dead", ni->alive ? "true" : "false");
        fprintf(f, "\"owner_id\": \"0x%016llx\", \"joined_unix_ns\": %lld, \"joined\": ",
                (unsigned long long)ni->owner_id, (long long)ni->joined_unix_ns);
        cli_json_string(f, cli_format_time(ni->joined_unix_ns, when, sizeof when));
        fputs(", \"stats\": ", f);
        json_stats(f, &ni->stats);
        fputc('}', f);
    }
    fputs(n ? "\n  ]" : "]", f);
}

/*
 * The node table.  Each column is as wide as its widest cell; text columns
 * are left-aligned, numbers right-aligned.
 */
enum { COL_SLOT, COL_NAME, COL_PID, COL_STATE, COL_PUB, COL_DELIV, COL_DROP, COL_RECV,
       COL_BOUT, COL_BIN, NCOLS };

static const struct column {
    const char *title;
    int left;
} columns[NCOLS] = {
    { "SLOT", 1 }, { "NAME", 1 }, { "PID", 1 }, { "STATE", 1 }, { "PUBLISHED", 0 },
    { "DELIVERED", 0 }, { "DROPPED", 0 }, { "RECEIVED", 0 }, { "BYTES_OUT", 0 },
    { "BYTES_IN", 0 },
};

static void node_cell(const rpc_node_info *ni, int col, char *buf, size_t len)
{
    const rpc_node_stats *st = &ni->stats;
    unsigned long long v = 0;

    switch (col) {
    case COL_SLOT: snprintf(buf, len, "%u", (unsigned)ni->slot); return;
    case COL_NAME: snprintf(buf, len, "%s", ni->name); return;
    case COL_PID: snprintf(buf, len, "%ld", (long)ni->pid); return;
    case COL_STATE: snprintf(buf, len, "%s", ni->alive ? "alive" : "dead"); return;
    case COL_PUB: v = st->published; break;
    case COL_DELIV: v = st->delivered; break;
    case COL_DROP: v = st->dropped; break;
    case COL_RECV: v = st->received; break;
    case COL_BOUT: v = st->bytes_out; break;
    default: v = st->bytes_in; break;
    }
    snprintf(buf, len, "%llu", v);
}

static void print_row(const char *indent, const int *width, char cells[NCOLS][RPC_NODE_NAME_MAX + 1])
{
    int c;

    fputs(indent, stdout);
    for (c = 0; c < NCOLS; c++) {
        const char *sep = c + 1 < NCOLS ? "  " : "";
        if (c + 1 == NCOLS && columns[c].left)
            printf("%s", cells[c]); /* no trailing blanks */
        else
            printf(columns[c].left ? "%-*s%s" : "%*s%s", width[c], cells[c], sep);
    }
    fputc('\n', stdout);
}

static void print_node_table(const rpc_node_info *nodes, unsigned n, const char *indent)
{
    char cells[NCOLS][RPC_NODE_NAME_MAX + 1];
    int width[NCOLS];
    unsigned i;
    int c;

    for (c = 0; c < NCOLS; c++) {
        width[c] = (int)strlen(columns[c].title);
        snprintf(cells[c], sizeof cells[c], "%s", columns[c].title);
    }
    for (i = 0; i < n; i++) {
        for (c = 0; c < NCOLS; c++) {
            char buf[RPC_NODE_NAME_MAX + 1];
            int l;
            node_cell(&nodes[i], c, buf, sizeof buf);
            l = (int)strlen(buf);
            if (l > width[c])
                width[c] = l;
        }
    }
    print_row(indent, width, cells);
    for (i = 0; i < n; i++) {
        for (c = 0; c < NCOLS; c++)
            node_cell(&nodes[i], c, cells[c], sizeof cells[c]);
        print_row(indent, width, cells);
    }
}

/* ---- status ---- */

/* What status found: the stat result, the node list and their errors. */
struct report {
    const char *name;
    int stat_err;              /* rpc_domain_stat failed: nothing else known */
    rpc_domain_info info;
    int seg_err;               /* why the segment is invalid, or list failed */
    char detail[512];
    rpc_node_info *nodes;
    unsigned n_nodes;
};

static void save_detail(struct report *r)
{
    snprintf(r->detail, sizeof r->detail, "%s", rpc_errdetail());
}

static void gather(const rpc_config *cfg, struct report *r)
{
    int err;

    memset(r, 0, sizeof *r);
    r->name = rpc_config_shm_name(cfg);
    err = rpc_domain_stat(cfg, &r->info);
    if (err < 0) {
        r->stat_err = err;
        save_detail(r);
        return;
    }
    if (!r->info.exists)
        return;
    if (!r->info.valid) {
        r->seg_err = r->info.status ? r->info.status : RPC_ECORRUPT;
        save_detail(r);
        return;
    }
    err = cli_list_nodes(cfg, &r->nodes, &r->n_nodes);
    if (err == RPC_ENOENT) {
        /* Removed by its last node between the two calls: report that. */
        memset(&r->info, 0, sizeof r->info);
    } else if (err < 0) {
        r->seg_err = err;
        save_detail(r);
    }
}

/*
 * Whether the header-derived fields of info mean anything: always for a
 * valid segment; for an invalid one only if the library could read its
 * header (e.g. a segment of another owner), which leaves max_nodes set.
 */
static int header_read(const rpc_domain_info *in)
{
    return in->valid || in->max_nodes != 0;
}

static void json_uint(const char *key, unsigned long long v, int known)
{
    if (known)
        printf("  \"%s\": %llu,\n", key, v);
    else
        printf("  \"%s\": null,\n", key);
}

static void json_bool(const char *key, int v, int known)
{
    printf("  \"%s\": %s,\n", key, known ? (v ? "true" : "false") : "null");
}

static void print_status_json(const struct report *r)
{
    const rpc_domain_info *in = &r->info;
    int known = !r->stat_err && in->exists;
    int hdr = known && header_read(in);
    char buf[64];

    printf("{\n  \"schema\": 1,\n  \"name\": ");
    cli_json_string(stdout, r->name);
    printf(",\n");
    json_bool("exists", in->exists, !r->stat_err);
    json_uint("size", in->size, known);
    if (known)
        printf("  \"mode\": \"%04o\",\n", in->mode & 07777u);
    else
        printf("  \"mode\": null,\n");
    json_uint("uid", in->uid, known);
    printf("  \"user\": ");
    if (known && strcmp(cli_user_name(in->uid, buf, sizeof buf), "?") != 0)
        cli_json_string(stdout, buf);
    else
        fputs("null", stdout);
    printf(",\n");
    json_uint("gid", in->gid, known);
    json_bool("valid", in->valid, known);
    printf("  \"error\": ");
    rpcctl_json_error(stdout, r->stat_err ? r->stat_err : r->seg_err, r->detail);
    printf(",\n");
    json_bool("attached", in->attached, known);
    json_bool("orphaned", in->orphaned, known);
    json_uint("live_processes", in->live_processes, hdr);
    json_uint("live_nodes", in->live_nodes, hdr);
    json_uint("registered_nodes", in->registered_nodes, hdr);
    json_uint("max_nodes", in->max_nodes, hdr);
    if (hdr)
        printf("  \"segment_id\": \"0x%016llx\",\n", (unsigned long long)in->segment_id);
    else
        printf("  \"segment_id\": null,\n");
    json_uint("layout_version", in->layout_version, hdr);
    if (hdr)
        printf("  \"created_unix_ns\": %lld,\n  \"created\": ", (long long)in->created_unix_ns);
    else
        printf("  \"created_unix_ns\": null,\n  \"created\": ");
    if (hdr)
        cli_json_string(stdout, cli_format_time(in->created_unix_ns, buf, sizeof buf));
    else
        fputs("null", stdout);
    printf(",\n  \"nodes\": ");
    json_nodes(stdout, r->nodes, r->n_nodes);
    printf("\n}\n");
}

static void kv(const char *key, const char *value)
{
    printf("  %-16s %s\n", key, value);
}

static void print_status_text(const struct report *r)
{
    const rpc_domain_info *in = &r->info;
    char buf[640], user[64];

    if (r->stat_err) {
        printf("shared memory: unknown (cannot examine it)\n");
        kv("name", r->name);
        return;
    }
    if (!in->exists) {
        printf("shared memory: does not exist\n");
        kv("name", r->name);
        return;
    }
    printf("shared memory: exists\n");
    kv("name", r->name);
    kv("size", cli_format_size(in->size, buf, sizeof buf));
    snprintf(buf, sizeof buf, "%04o", in->mode & 07777u);
    kv("mode", buf);
    snprintf(buf, sizeof buf, "%u (%s)", (unsigned)in->uid, cli_user_name(in->uid, user, sizeof user));
    kv("owner", buf);
    snprintf(buf, sizeof buf, "%u", (unsigned)in->gid);
    kv("group", buf);
    if (in->valid)
        snprintf(buf, sizeof buf, "yes");
    else
        snprintf(buf, sizeof buf, "no: %s", rpc_strerror(r->seg_err));
    kv("valid", buf);
    kv("attached", in->attached ? "yes" : "no");
    kv("orphaned", in->orphaned ? "yes" : "no");
    if (!header_read(in))
        return;
    snprintf(buf, sizeof buf, "%u", in->live_processes);
    kv("live processes", buf);
    snprintf(buf, sizeof buf, "%u", in->live_nodes);
    kv("live nodes", buf);
    snprintf(buf, sizeof buf, "%u of %u slots", in->registered_nodes, in->max_nodes);
    kv("registered nodes", buf);
    snprintf(buf, sizeof buf, "0x%016llx", (unsigned long long)in->segment_id);
    kv("segment id", buf);
    snprintf(buf, sizeof buf, "%u", (unsigned)in->layout_version);
    kv("layout version", buf);
    kv("created", cli_format_time(in->created_unix_ns, buf, sizeof buf));
    if (in->valid && !r->seg_err) {
        printf("\nnodes:\n");
        print_node_table(r->nodes, r->n_nodes, "  ");
    }
}

static int run_status(const struct opts *o, rpc_config *cfg)
{
    struct report r;
    int code = CLI_EXIT_OK;

    gather(cfg, &r);
    if (o->json)
        print_status_json(&r);
    else
        print_status_text(&r);
    (void)fflush(stdout);
    if (r.stat_err || r.seg_err)
        code = cli_report(&rpcctl_ctx, cfg, r.stat_err ? r.stat_err : r.seg_err, r.detail);
    else if (!r.info.exists)
        code = CLI_EXIT_NOENT;
    free(r.nodes);
    return code;
}

/* ---- nodes ---- */

const char *rpcctl_exists_json(int err)
{
    if (err == 0)
        return "true";
    if (err == RPC_ENOENT)
        return "false";
    if (cli_exit_code(err) == CLI_EXIT_BADSEG && err != RPC_EACCES && err != RPC_ENOTREG)
        return "true";
    return "null";
}

static int run_nodes(const struct opts *o, rpc_config *cfg)
{
    rpc_node_info *nodes = NULL;
    unsigned n = 0;
    char detail[512] = "";
    int err = cli_list_nodes(cfg, &nodes, &n);

    if (err < 0)
        snprintf(detail, sizeof detail, "%s", rpc_errdetail());
    if (o->json) {
        printf("{\n  \"schema\": 1,\n  \"name\": ");
        cli_json_string(stdout, rpc_config_shm_name(cfg));
        printf(",\n  \"exists\": %s,\n  \"error\": ", rpcctl_exists_json(err));
        rpcctl_json_error(stdout, err == RPC_ENOENT ? 0 : err, detail);
        printf(",\n  \"nodes\": ");
        json_nodes(stdout, nodes, n);
        printf("\n}\n");
    } else if (err == 0) {
        print_node_table(nodes, n, "");
    }
    (void)fflush(stdout);
    free(nodes);
    return err < 0 ? cli_report(&rpcctl_ctx, cfg, err, detail) : CLI_EXIT_OK;
}

/* ---- cleanup ---- */

static int cleanup_refused(const rpc_config *cfg)
{
    const char *shm = rpc_config_shm_name(cfg);
    rpc_domain_info info;

    if (rpc_domain_stat(cfg, &info) == 0 && info.exists && info.live_processes > 0) {
        cli_error(&rpcctl_ctx, "refused: %u live process%s attached to segment %s (%u live node%s): stop %s first, or use --force only if you know they are stuck (it splits the domain)",
                  info.live_processes, info.live_processes == 1 ? " is" : "es are", shm,
                  info.live_nodes, info.live_nodes == 1 ? "" : "s",
                  info.live_processes == 1 ? "it" : "them");
    } else {
        cli_error(&rpcctl_ctx, "refused: live processes are attached to segment %s: stop them first, or use --force only if you know they are stuck (it splits the domain)",
                  shm);
    }
    return CLI_EXIT_BUSY;
}

static int run_cleanup(const struct opts *o, rpc_config *cfg)
{
    const char *shm;
    rpc_domain_info before;
    int have_before;
    int err;

    if (o->all && o->force)
        return rpcctl_usage_error(usage_cleanup, "--all never forces: remove a live or foreign segment by name with 'rpcctl --name /NAME cleanup --force'");
    if (o->all)
        return rpcctl_run_cleanup_all(o);
    if (o->json)
        return rpcctl_usage_error(usage_cleanup, "--json goes with --all only");
    shm = rpc_config_shm_name(cfg);
    have_before = rpc_domain_stat(cfg, &before) == 0;

    if (o->force)
        cli_error(&rpcctl_ctx, "warning: --force removes %s even if live processes use it; they keep running in the unlinked copy while newcomers create a new one (the domain splits)",
                  shm);
    err = rpc_domain_cleanup(cfg, o->force ? RPC_CLEANUP_FORCE : 0);
    if (err == 0) {
        if (!o->force)
            printf("removed orphaned segment %s\n", shm);
        else if (have_before && before.exists && before.live_processes > 0)
            printf("removed segment %s (forced; %u live process%s kept the unlinked copy)\n",
                   shm, before.live_processes, before.live_processes == 1 ? "" : "es");
        else
            printf("removed segment %s (forced)\n", shm);
        return CLI_EXIT_OK;
    }
    if (err == RPC_ENOENT) {
        printf("nothing to remove: segment %s does not exist\n", shm);
        return CLI_EXIT_NOENT;
    }
    if (err == RPC_EBUSY)
        return cleanup_refused(cfg);
    {
        char detail[512];
        snprintf(detail, sizeof detail, "%s", rpc_errdetail());
        return cli_cleanup_error(&rpcctl_ctx, cfg, err, detail);
    }
}

/* ---- main ---- */

int rpcctl_stdout_gone;

static int run(int argc, char **argv)
{
    const struct command *c;
    rpc_config *cfg = NULL;
    struct opts o;
    int code = parse_args(argc, argv, &o);

    if (code)
        return code;
    if (o.version) {
        printf("rpcctl (librpc) %s\n", rpc_version());
        return CLI_EXIT_OK;
    }
    if (!o.cmd || strcmp(o.cmd, "help") == 0) {
        if (o.help || o.cmd) {
            fputs(usage_main, stdout);
            return CLI_EXIT_OK;
        }
        fprintf(stderr, "%s: no command given (see 'rpcctl --help')\n\n%s", rpcctl_ctx.prog, usage_main);
        return CLI_EXIT_USAGE;
    }
    c = find_command(o.cmd);
    if (!c)
        return rpcctl_usage_error(usage_main, "unknown command '%s'", o.cmd);
    if (o.help) {
        fputs(c->usage, stdout);
        return CLI_EXIT_OK;
    }
    code = check_opts(&o, c);
    if (code)
        return code;
    /* --all names no domain: $LIBRPC_SHM_NAME does not matter then (and
     * must not make each segment's configuration fail). */
    if (o.all) {
        unsetenv(RPC_ENV_SHM_NAME);
        return c->run(&o, NULL);
    }
    code = cli_config(&rpcctl_ctx, o.name, &cfg);
    if (code)
        return code;
    code = c->run(&o, cfg);
    rpc_config_destroy(cfg);
    return code;
}

/* Output that never reached stdout (a full disk, a closed pipe) is a failure,
 * whatever the command found: say so instead of exiting as if all was said. */
int main(int argc, char **argv)
{
    int code = run(argc, argv);
    if ((fflush(stdout) != 0 || ferror(stdout)) && !rpcctl_stdout_gone) {
        fprintf(stderr, "rpcctl: cannot write to standard output: check where it goes\n");
        return 5;
    }
    return code;
}
