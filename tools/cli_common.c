/*
 * cli_common.c - the helpers rpcctl and test_shm_cleanup share: exit-code
 * mapping, one-line error messages with advice, and formatting.
 *
 * Every error a tool prints is one line on stderr of the form
 * "prog: what happened (library detail): what to do", so that a person
 * reading a cron mail or a script reading stderr gets the whole story.
 */
#define _POSIX_C_SOURCE 200809L

#include "cli_common.h"

#include <pwd.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int cli_exit_code(int err)
{
    switch (err) {
    case RPC_OK:
        return CLI_EXIT_OK;
    case RPC_ENOENT:
        return CLI_EXIT_NOENT;
    case RPC_EBADNAME:
        return CLI_EXIT_USAGE;
    case RPC_EBUSY:
        return CLI_EXIT_BUSY;
    case RPC_EBADMAGIC:
    case RPC_EVERSION:
    case RPC_ESIZE:
    case RPC_ETRUNCATED:
    case RPC_EUNINIT:
    case RPC_ECORRUPT:
    case RPC_EOWNER:
    case RPC_EACCES:
    case RPC_ENOTREG:
        return CLI_EXIT_BADSEG;
    default:
        return CLI_EXIT_OTHER;
    }
}

const char *cli_errname(int err)
{
    static const char *const names[] = {
        "RPC_OK", "RPC_EINVAL", "RPC_ENOMEM", "RPC_ESYS", "RPC_EBADNAME",
        "RPC_EBADSIZE", "RPC_EBADMODE", "RPC_EBADNODENAME", "RPC_ENOENT",
        "RPC_EEXIST", "RPC_EFULL", "RPC_EBUSY", "RPC_EBADMAGIC", "RPC_EVERSION",
        "RPC_ESIZE", "RPC_ETRUNCATED", "RPC_EUNINIT", "RPC_ECORRUPT",
        "RPC_EOWNER", "RPC_EACCES", "RPC_ENOTREG", "RPC_ETIMEDOUT",
        "RPC_EFORKED", "RPC_EAGAIN", "RPC_EMSGSIZE", "RPC_EBADTOPIC",
        "RPC_ENOSPC", "RPC_ENOTSUB", "RPC_EMODE", "RPC_ECLOSED", "RPC_ELIMIT",
        "RPC_EINTR",
    };
    unsigned idx = err <= 0 ? (unsigned)-err : ~0u;
    return idx < sizeof names / sizeof names[0] ? names[idx] : "RPC_EUNKNOWN";
}

void cli_error(const cli_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", ctx->prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_config(const cli_ctx *ctx, const char *name, rpc_config **out)
{
    rpc_config *cfg = NULL;
    int err = rpc_config_create(&cfg);

    *out = NULL;
    if (err == RPC_EBADNAME) {
        const char *env = getenv(RPC_ENV_SHM_NAME);
        cli_error(ctx, "$%s is '%s': %s: unset it or set it to a name such as /librpc_test",
                  RPC_ENV_SHM_NAME, env ? env : "", rpc_strerror(err));
        return CLI_EXIT_USAGE;
    }
    if (err < 0) {
        cli_error(ctx, "cannot create a configuration: %s", rpc_strerror(err));
        return cli_exit_code(err);
    }
    if (name) {
        err = rpc_config_set_shm_name(cfg, name);
        if (err < 0) {
            cli_error(ctx, "segment name '%s': %s: give a name such as /librpc_test, not a path",
                      name, rpc_strerror(err));
            rpc_config_destroy(cfg);
            return err == RPC_EBADNAME ? CLI_EXIT_USAGE : cli_exit_code(err);
        }
    }
    *out = cfg;
    return CLI_EXIT_OK;
}

/*
 * The library's detail, cleaned for a one-line message: control characters
 * replaced, and the "segment NAME: " it starts with dropped, since our
 * messages name the segment already.
 */
static const char *clean_detail(const char *detail, const char *shm, char *buf, size_t len)
{
    size_t i, sl = strlen(shm);

    if (!detail)
        detail = "";
    if (strncmp(detail, "segment ", 8) == 0 && strncmp(detail + 8, shm, sl) == 0 &&
        detail[8 + sl] == ':' && detail[9 + sl] == ' ')
        detail += 10 + sl;
    for (i = 0; detail[i] && i + 1 < len; i++) {
        unsigned char c = (unsigned char)detail[i];
        buf[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    buf[i] = '\0';
    return buf;
}

/*
 * Print "prog: WHAT (DETAIL): ADVICE", leaving the detail out when it is
 * empty or WHAT says it already.
 */
static void emit(const cli_ctx *ctx, const char *what, const char *detail, const char *advice)
{
    if (detail[0] && !strstr(what, detail))
        cli_error(ctx, "%s (%s): %s", what, detail, advice);
    else
        cli_error(ctx, "%s: %s", what, advice);
}

/*
 * The owner of the name's file, found without opening it (which may be
 * denied): Linux keeps POSIX shared memory under /dev/shm.  0 on success.
 */
static int file_owner(const char *shm, uid_t *uid)
{
    char path[RPC_SHM_NAME_MAX + 16];
    struct stat st;

    snprintf(path, sizeof path, CLI_SHM_DIR "%s", shm);
    if (lstat(path, &st) != 0)
        return -1;
    *uid = st.st_uid;
    return 0;
}

/* "segment X is owned by uid N (user), not you (uid M)", or without the
 * owner when it cannot be found. */
static void owner_what(const char *shm, char *what, size_t len)
{
    char user[64];
    uid_t uid;

    if (file_owner(shm, &uid) == 0 && uid != geteuid())
        snprintf(what, len, "segment %s is owned by uid %u (%s), not you (uid %u)", shm,
                 (unsigned)uid, cli_user_name(uid, user, sizeof user), (unsigned)geteuid());
    else
        snprintf(what, len, "segment %s is owned by another user", shm);
}

/*
 * An invalid segment (err) that nobody is attached to: plain clean-up
 * removes it, so say that instead of "stop the processes using it".
 */
static void report_orphan(const cli_ctx *ctx, const rpc_config *cfg, int err, const char *detail)
{
    const char *shm = rpc_config_shm_name(cfg);
    char det[512], what[768], advice[256];

    clean_detail(detail, shm, det, sizeof det);
    /* The detail says what was found; the generic text of RPC_EUNINIT
     * ("in use") would mislead about an orphan. */
    snprintf(what, sizeof what, "segment %s is invalid", shm);
    if (!det[0])
        snprintf(det, sizeof det, "%s", rpc_strerror(err));
    snprintf(advice, sizeof advice, "nobody is attached, so '%s' removes it", ctx->cleanup_cmd);
    emit(ctx, what, det, advice);
}

/* Whether the segment exists and no live process is attached. */
static int is_orphaned(const rpc_config *cfg)
{
    rpc_domain_info info;
    return rpc_domain_stat(cfg, &info) == 0 && info.exists && info.orphaned;
}

int cli_report(const cli_ctx *ctx, const rpc_config *cfg, int err, const char *detail)
{
    const char *shm = rpc_config_shm_name(cfg);
    char det[512], what[768], advice[512];

    clean_detail(detail, shm, det, sizeof det);
    advice[0] = '\0';
    switch (err) {
    case RPC_ENOENT:
        /* The library's detail only repeats the name here. */
        det[0] = '\0';
        snprintf(what, sizeof what, "shared memory: does not exist (segment %s)", shm);
        snprintf(advice, sizeof advice, "no node runs in this domain; check the name or choose it %s",
                 ctx->rename_hint);
        break;
    case RPC_EBUSY:
        snprintf(what, sizeof what, "segment %s is in use by live processes", shm);
        snprintf(advice, sizeof advice, "stop them first, or use '%s' only if you know they are stuck (it splits the domain)",
                 ctx->force_cmd);
        break;
    case RPC_EOWNER:
        owner_what(shm, what, sizeof what);
        if (strstr(what, "(uid"))
            det[0] = '\0'; /* says all the detail would */
        snprintf(advice, sizeof advice, "run as that user or choose another name %s", ctx->rename_hint);
        break;
    case RPC_EACCES: {
        char owner[768];
        owner_what(shm, owner, sizeof owner);
        snprintf(what, sizeof what, "permission denied on segment %s%s%s", shm,
                 strstr(owner, "(uid") ? ", which" : "",
                 strstr(owner, "(uid") ? owner + strlen("segment ") + strlen(shm) : "");
        snprintf(advice, sizeof advice, "run as its owner (or root), or choose another name %s",
                 ctx->rename_hint);
        break;
    }
    case RPC_ENOTREG:
        snprintf(what, sizeof what, "%s is not a regular shared-memory file", shm);
        snprintf(advice, sizeof advice, "look at it in /dev/shm and remove it by hand, or choose another name %s",
                 ctx->rename_hint);
        break;
    case RPC_EBADMAGIC:
        snprintf(what, sizeof what, "segment %s is not a librpc segment", shm);
        snprintf(advice, sizeof advice, "choose another name %s, or remove it with '%s' if you are sure nothing uses it",
                 ctx->rename_hint, ctx->force_cmd);
        break;
    case RPC_EVERSION:
        if (is_orphaned(cfg)) {
            report_orphan(ctx, cfg, err, detail);
            return cli_exit_code(err);
        }
        snprintf(what, sizeof what, "segment %s was made by an incompatible librpc layout version", shm);
        snprintf(advice, sizeof advice, "stop the programs built with the other version, then run '%s'",
                 ctx->cleanup_cmd);
        break;
    case RPC_ESIZE:
    case RPC_ETRUNCATED:
    case RPC_ECORRUPT:
    case RPC_EUNINIT:
        if (is_orphaned(cfg)) {
            report_orphan(ctx, cfg, err, detail);
            return cli_exit_code(err);
        }
        snprintf(what, sizeof what, "segment %s is damaged: %s", shm, rpc_strerror(err));
        snprintf(advice, sizeof advice, "stop the processes using it, then run '%s' ('%s' if it refuses)",
                 ctx->cleanup_cmd, ctx->force_cmd);
        break;
    case RPC_ETIMEDOUT:
        snprintf(what, sizeof what, "timed out waiting for the life-cycle lock of segment %s", shm);
        snprintf(advice, sizeof advice, "a process may be stuck inside librpc; retry later");
        break;
    case RPC_EBADNAME:
        snprintf(what, sizeof what, "segment name '%s': %s", shm, rpc_strerror(err));
        snprintf(advice, sizeof advice, "give a name such as /librpc_test, not a path");
        break;
    default:
        snprintf(what, sizeof what, "segment %s: %s", shm, rpc_strerror(err));
        snprintf(advice, sizeof advice, "see the detail, then retry");
        break;
    }
    emit(ctx, what, det, advice);
    return cli_exit_code(err);
}

int cli_cleanup_error(const cli_ctx *ctx, const rpc_config *cfg, int err, const char *detail)
{
    rpc_domain_info info;

    /* rpc_domain_cleanup() reports a directory or symlink under the name
     * as a system error; rpc_domain_stat() recognises it. */
    if (err == RPC_ESYS && rpc_domain_stat(cfg, &info) == RPC_ENOTREG)
        err = RPC_ENOTREG;
    return cli_report(ctx, cfg, err, detail);
}

const char *cli_user_name(uid_t uid, char *buf, size_t len)
{
    struct passwd pw, *res = NULL;
    char tmp[4096];

    if (getpwuid_r(uid, &pw, tmp, sizeof tmp, &res) == 0 && res && res->pw_name)
        snprintf(buf, len, "%s", res->pw_name);
    else
        snprintf(buf, len, "?");
    return buf;
}

const char *cli_format_size(uint64_t bytes, char *buf, size_t len)
{
    static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
    double v = (double)bytes;
    unsigned u = 0;

    if (bytes < 1024) {
        snprintf(buf, len, "%llu bytes", (unsigned long long)bytes);
        return buf;
    }
    v /= 1024.0;
    while (v >= 1024.0 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1024.0;
        u++;
    }
    snprintf(buf, len, "%llu bytes (%.1f %s)", (unsigned long long)bytes, v, units[u]);
    return buf;
}

const char *cli_format_time(int64_t unix_ns, char *buf, size_t len)
{
    time_t secs = (time_t)(unix_ns / 1000000000);
    int ms = (int)((unix_ns % 1000000000) / 1000000);
    struct tm tm;

    if (unix_ns <= 0 || !gmtime_r(&secs, &tm)) {
        snprintf(buf, len, "-");
        return buf;
    }
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    return buf;
}

size_t cli_utf8_len(const unsigned char *s, size_t avail)
{
    size_t n, i;
    unsigned cp;

    if (avail == 0)
        return 0;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        n = 2;
        cp = s[0] & 0x1Fu;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        n = 3;
        cp = s[0] & 0x0Fu;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        n = 4;
        cp = s[0] & 0x07u;
    } else {
        return 0;
    }
    if (n > avail)
        return 0;
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    /* Reject overlong forms, surrogates and values past U+10FFFF. */
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
        return 0;
    return n;
}

void cli_json_mem(FILE *f, const void *data, size_t len)
{
    const unsigned char *p = data, *end = p + len;

    fputc('"', f);
    while (p < end) {
        size_t n;
        switch (*p) {
        case '"':  fputs("\\\"", f); p++; continue;
        case '\\': fputs("\\\\", f); p++; continue;
        case '\b': fputs("\\b", f); p++; continue;
        case '\f': fputs("\\f", f); p++; continue;
        case '\n': fputs("\\n", f); p++; continue;
        case '\r': fputs("\\r", f); p++; continue;
        case '\t': fputs("\\t", f); p++; continue;
        default: break;
        }
        if (*p < 0x20 || *p == 0x7f) {
            fprintf(f, "\\u%04x", *p);
            p++;
            continue;
        }
        n = cli_utf8_len(p, (size_t)(end - p));
        if (n == 0) {
            fputs("\\ufffd", f); /* not UTF-8: keep the output valid JSON */
            p++;
            continue;
        }
        fwrite(p, 1, n, f);
        p += n;
    }
    fputc('"', f);
}

void cli_json_string(FILE *f, const char *s)
{
    if (!s)
        s = "";
    cli_json_mem(f, s, strlen(s));
}

/*
 * Call a listing function with a growing array until everything fits.  The
 * list can grow between two calls (a node subscribes, the segment is
 * replaced), so a few rounds are allowed, each with some room to spare.
 */
typedef int (*list_fn)(const rpc_config *cfg, void *out, unsigned cap);

static int list_all(const rpc_config *cfg, list_fn fn, size_t elem, unsigned cap, void **out,
                    unsigned *count)
{
    void *buf = NULL;
    int tries;

    *out = NULL;
    *count = 0;
    for (tries = 0; tries < 8; tries++) {
        void *nb = realloc(buf, (size_t)(cap ? cap : 1) * elem);
        int n;
        if (!nb) {
            free(buf);
            return RPC_ENOMEM;
        }
        buf = nb;
        n = fn(cfg, buf, cap);
        if (n < 0) {
            free(buf);
            return n;
        }
        if ((unsigned)n <= cap) {
            *out = buf;
            *count = (unsigned)n;
            return 0;
        }
        cap = (unsigned)n + (unsigned)n / 4 + 8;
    }
    free(buf);
    return RPC_ECORRUPT;
}

static int nodes_fn(const rpc_config *cfg, void *out, unsigned cap)
{
    return rpc_domain_list_nodes(cfg, out, cap);
}

static int endpoints_fn(const rpc_config *cfg, void *out, unsigned cap)
{
    return rpc_domain_list_endpoints(cfg, out, cap);
}

int cli_list_nodes(const rpc_config *cfg, rpc_node_info **out, unsigned *count)
{
    void *p;
    int err = list_all(cfg, nodes_fn, sizeof **out, RPC_DEFAULT_MAX_NODES, &p, count);
    *out = p;
    return err;
}

int cli_list_endpoints(const rpc_config *cfg, rpc_endpoint_info **out, unsigned *count)
{
    void *p;
    int err = list_all(cfg, endpoints_fn, sizeof **out, 64, &p, count);
    *out = p;
    return err;
}
