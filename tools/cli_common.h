/*
 * cli_common.h - what rpcctl and test_shm_cleanup share: choosing the
 * domain, the exit codes, one-line error messages that say what to do,
 * and small formatting helpers (JSON strings, sizes, times, user names).
 *
 * Both programs follow the same exit-code contract, so a script can treat
 * them alike:
 *
 *   0  success
 *   1  the segment does not exist (nothing to show, nothing to remove)
 *   2  usage error (unknown flag or argument, invalid segment name)
 *   3  refused: live processes are attached (clean-up without --force)
 *   4  bad segment: not librpc, wrong layout version, damaged, owned by
 *      another user, permission denied, not a regular file
 *   5  any other error
 *   6  incomplete: some message copies were dropped because a subscriber's
 *      queue was full (rpcctl pub)
 */
#ifndef LIBRPC_TOOLS_CLI_COMMON_H
#define LIBRPC_TOOLS_CLI_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <librpc/librpc.h>

/* Where Linux keeps POSIX shared memory: segment "/x" is the file
 * CLI_SHM_DIR "/x".  Only the --all commands and some advice depend on it. */
#define CLI_SHM_DIR "/dev/shm"

enum cli_exit {
    CLI_EXIT_OK = 0,
    CLI_EXIT_NOENT = 1,
    CLI_EXIT_USAGE = 2,
    CLI_EXIT_BUSY = 3,
    CLI_EXIT_BADSEG = 4,
    CLI_EXIT_OTHER = 5,
    CLI_EXIT_DROPPED = 6
};

/*
 * How a program talks about itself in error messages: its name (the
 * "rpcctl: " prefix), how its user picks another domain ("with --name
 * /other"), and its clean-up commands, which the advice names.
 */
typedef struct cli_ctx {
    const char *prog;
    const char *rename_hint;
    const char *cleanup_cmd;
    const char *force_cmd;
} cli_ctx;

/* cli_exit_code - the exit code for an RPC_E* code (0 for success). */
int cli_exit_code(int err);

/* cli_errname - "RPC_EBUSY" etc. for an error code; "RPC_OK" for 0. */
const char *cli_errname(int err);

/*
 * cli_config - a configuration for the domain named by `name` when it is
 * not NULL, else by $LIBRPC_SHM_NAME, else the default.  On failure prints
 * one error line and returns the exit code (CLI_EXIT_USAGE for a bad name);
 * on success returns 0 and sets *out.
 */
int cli_config(const cli_ctx *ctx, const char *name, rpc_config **out);

/*
 * cli_report - print the one-line error for `err` (a failed librpc call on
 * the domain of cfg) on stderr, saying what to do, and return its exit
 * code.  `detail` is the rpc_errdetail() text saved right after the
 * failure (may be NULL or empty).  For a damaged segment it looks whether
 * anybody is attached, since the advice differs.
 */
int cli_report(const cli_ctx *ctx, const rpc_config *cfg, int err, const char *detail);

/*
 * cli_cleanup_error - cli_report() for a failed rpc_domain_cleanup(),
 * which may describe a name that is not a regular file as RPC_ESYS.
 */
int cli_cleanup_error(const cli_ctx *ctx, const rpc_config *cfg, int err, const char *detail);

/* cli_error - print "prog: <formatted text>" and a newline on stderr. */
void cli_error(const cli_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* cli_user_name - the login name of uid into buf, or "?" if unknown. */
const char *cli_user_name(uid_t uid, char *buf, size_t len);

/* cli_format_size - "33554432 bytes (32.0 MiB)" into buf. */
const char *cli_format_size(uint64_t bytes, char *buf, size_t len);

/* cli_format_time - UTC ISO 8601 with milliseconds; "-" for 0. */
const char *cli_format_time(int64_t unix_ns, char *buf, size_t len);

/*
 * cli_utf8_len - length (1..4) of the valid UTF-8 sequence at s, of which
 * avail bytes may be read; 0 if the bytes are not one (overlong forms,
 * surrogates and values past U+10FFFF are not).
 */
size_t cli_utf8_len(const unsigned char *s, size_t avail);

/* cli_json_string - write s as a JSON string literal, escaped. */
void cli_json_string(FILE *f, const char *s);

/* cli_json_mem - the same for len bytes that need no NUL; a NUL byte is
 * written as \u0000 and bytes that are not UTF-8 as U+FFFD. */
void cli_json_mem(FILE *f, const void *data, size_t len);

/*
 * cli_list_nodes - all registered nodes of the domain: *out is a malloc'ed
 * array (free it) of *count entries.  Returns 0 or an RPC_E* code.
 */
int cli_list_nodes(const rpc_config *cfg, rpc_node_info **out, unsigned *count);

/* cli_list_endpoints - the same for rpc_domain_list_endpoints(). */
int cli_list_endpoints(const rpc_config *cfg, rpc_endpoint_info **out, unsigned *count);

#endif
