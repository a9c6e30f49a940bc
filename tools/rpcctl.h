/*
 * rpcctl.h - what the parts of rpcctl share: the parsed command line, the
 * usage-error printer and the commands that live outside rpcctl.c.
 *
 * rpcctl.c owns the command line, the read-only commands (status, nodes,
 * cleanup of one segment) and main(); rpcctl_pubsub.c owns pub and echo,
 * the only commands that join the domain as a node; rpcctl_view.c owns
 * topics and monitor; rpcctl_scan.c finds the librpc segments of this user
 * (cleanup --all); rpcctl_watch.c owns watch, the orphan watcher.
 */
#ifndef LIBRPC_TOOLS_RPCCTL_H
#define LIBRPC_TOOLS_RPCCTL_H

#include "cli_common.h"

/* Options a command may accept (struct command.accepts). */
enum {
    OPT_JSON = 1u << 0,
    OPT_FORCE = 1u << 1,
    OPT_COUNT = 1u << 2,
    OPT_RATE = 1u << 3,
    OPT_SIZE = 1u << 4,
    OPT_TIMEOUT = 1u << 5,
    OPT_ALL = 1u << 6,
    OPT_CLEANUP = 1u << 7,
    OPT_INTERVAL = 1u << 8
};

/*
 * The command line as parsed, before the command checks it.  Option values
 * stay strings: each command gives them its own meaning and range (pub's
 * --timeout is in milliseconds, echo's in seconds).
 */
struct opts {
    const char *cmd;
    const char *name;
    int json;
    int force;
    int all;                   /* --all: every librpc segment of this user */
    int cleanup;               /* watch --cleanup */
    int help;
    int version;
    unsigned given;            /* OPT_* seen on the line */
    const char *count;
    const char *rate;
    const char *size;
    const char *timeout;
    const char *interval;
    char **args;               /* operands after the command */
    int nargs;
};

extern const cli_ctx rpcctl_ctx;

/* A usage error: one line saying what was wrong, then the usage text.
 * Returns CLI_EXIT_USAGE. */
int rpcctl_usage_error(const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

extern const char rpcctl_usage_pub[];
extern const char rpcctl_usage_echo[];

int rpcctl_run_pub(const struct opts *o, rpc_config *cfg);
int rpcctl_run_echo(const struct opts *o, rpc_config *cfg);

extern const char rpcctl_usage_topics[];
extern const char rpcctl_usage_monitor[];
extern const char rpcctl_usage_watch[];

int rpcctl_run_topics(const struct opts *o, rpc_config *cfg);
int rpcctl_run_monitor(const struct opts *o, rpc_config *cfg);
int rpcctl_run_watch(const struct opts *o, rpc_config *cfg);
/* cleanup --all (rpcctl_scan.c); cfg is unused: every segment is looked at. */
int rpcctl_run_cleanup_all(const struct opts *o);

/* JSON null, or the error object {"code", "name", "message", "detail"}. */
void rpcctl_json_error(FILE *f, int err, const char *detail);

/*
 * JSON "exists" after a failed listing: "false" for RPC_ENOENT, "true" when
 * the failure describes a segment that is there but bad, "null" when nothing
 * could be learnt (permission, not a regular file, system errors).
 */
const char *rpcctl_exists_json(int err);

/*
 * An aligned table (rpcctl_table.c): add a row, set its cells (printf
 * formats; copied), print.  right[c] != 0 right-aligns column c (numbers);
 * right may be NULL.  After an allocation failure oom is set and the calls
 * do nothing; the table prints what it has.
 */
#define RPCCTL_TABLE_MAX_COLS 16

struct rpcctl_table {
    unsigned ncols;
    const char *const *titles;
    const unsigned char *right;
    unsigned nrows, cap;
    char **cells;              /* nrows * ncols, row-major; NULL prints as "" */
    int oom;
};

void rpcctl_table_init(struct rpcctl_table *t, unsigned ncols, const char *const *titles,
                       const unsigned char *right);
int rpcctl_table_row(struct rpcctl_table *t);
void rpcctl_table_set(struct rpcctl_table *t, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void rpcctl_table_print(FILE *f, const struct rpcctl_table *t, const char *indent);
void rpcctl_table_free(struct rpcctl_table *t);

/*
 * The files of the shared-memory directory as --all sees them
 * (rpcctl_scan.c).  Only SCAN_LIVE and SCAN_ORPHAN are librpc segments of
 * this user; the others are left alone.
 */
enum scan_kind {
    SCAN_LIVE,                 /* librpc segment, live processes attached */
    SCAN_ORPHAN,               /* librpc segment (valid, damaged or half-made), nobody attached */
    SCAN_FOREIGN,              /* another user's file */
    SCAN_NOT_LIBRPC,           /* other contents, a semaphore, not a regular file */
    SCAN_UNKNOWN,              /* empty or too small to tell */
    SCAN_UNREADABLE,           /* could not be examined */
    SCAN_GONE                  /* removed while we looked */
};

/* The word for each kind in tables and JSON: "live", "orphaned", ... */
extern const char *const rpcctl_scan_reasons[];

struct scan_entry {
    char name[RPC_SHM_NAME_MAX + 2]; /* the segment name: "/" + file name */
    enum scan_kind kind;
    char detail[640];          /* why, for people */
    rpc_domain_info info;      /* what rpc_domain_stat said, when it was asked */
};

/* Classify the file FILE (a name in CLI_SHM_DIR, without '/'). */
void rpcctl_scan_classify(const char *file, struct scan_entry *e);

/* Classify every file of CLI_SHM_DIR; *out (free it) sorted by name.
 * Returns 0 or a negative errno. */
int rpcctl_scan_all(struct scan_entry **out, size_t *count);

/* The smallest size a sized librpc segment can have. */
size_t rpcctl_scan_min_size(void);

/* A decimal number > 0 and <= max ("0.5", "100", "1e3"; not hex); 0 or -1. */
int rpcctl_parse_positive(const char *s, double max, double *out);
/* A decimal integer in [min, max], nothing else; 0 or -1. */
int rpcctl_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Set when the reader of stdout went away on purpose (echo | head): main
 * then does not report the unwritten output as an error. */
extern int rpcctl_stdout_gone;

#endif
