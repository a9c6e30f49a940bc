/*
 * rpcctl.h - what the parts of rpcctl share: the parsed command line, the
 * usage-error printer and the messaging commands (rpcctl_pubsub.c).
 *
 * rpcctl.c owns the command line, the read-only commands (status, nodes,
 * cleanup) and main(); rpcctl_pubsub.c owns pub and echo, the only
 * commands that join the domain as a node.
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
    OPT_TIMEOUT = 1u << 5
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
    int help;
    int version;
    unsigned given;            /* OPT_* seen on the line */
    const char *count;
    const char *rate;
    const char *size;
    const char *timeout;
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

#endif
