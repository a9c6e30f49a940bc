/*
 * rpcctl_scan.c - finding the librpc segments of this user among the files
 * of the shared-memory directory, and `rpcctl cleanup --all`.
 *
 * --all must be more careful than a clean-up by name.  Given a name, the
 * user says "this is a librpc domain", and the library then removes an
 * orphaned empty or half-made file too.  Walking /dev/shm, every other
 * program's files pass by, and some of them look like a half-made librpc
 * segment to the library: an empty file, or a small one full of zeros (a
 * POSIX semaphore of value 0 is 32 zero bytes).  So a file counts as librpc's
 * only if the library recognises its contents (valid, another layout
 * version, damaged past the magic) or it is a half-made segment at least as
 * large as the smallest segment librpc can make.  Anything else is left
 * alone, with the reason.  Whether a librpc segment is orphaned is decided
 * by the library, under the life-cycle lock, never here: --all never forces.
 */
#define _POSIX_C_SOURCE 200809L

#include "rpcctl.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const rpcctl_scan_reasons[] = {
    [SCAN_LIVE] = "live",
    [SCAN_ORPHAN] = "orphaned",
    [SCAN_FOREIGN] = "foreign",
    [SCAN_NOT_LIBRPC] = "not-librpc",
    [SCAN_UNKNOWN] = "unknown",
    [SCAN_UNREADABLE] = "unreadable",
    [SCAN_GONE] = "vanished",
};

/*
 * The smallest segment librpc can make (one node, one subscription, the
 * smallest queues): anything smaller, or empty, cannot be a sized librpc
 * segment.  Larger than the header, so a file this large that the library
 * calls truncated or half-made has had its header checked.
 */
static size_t min_size = 4096;
static pthread_once_t min_size_once = PTHREAD_ONCE_INIT;

static void compute_min_size(void)
{
    rpc_config *cfg;

    if (rpc_config_create(&cfg) != 0)
        return;
    if (rpc_config_set_max_nodes(cfg, 1) == 0 && rpc_config_set_max_subs(cfg, 1) == 0 &&
        rpc_config_set_max_msg_size(cfg, 0) == 0 && rpc_config_set_queue_size(cfg, 4096) == 0)
        min_size = rpc_config_required_shm_size(cfg);
    rpc_config_destroy(cfg);
}

size_t rpcctl_scan_min_size(void)
{
    pthread_once(&min_size_once, compute_min_size); /* watch asks from many threads */
    return min_size;
}

static void set_reason(struct scan_entry *e, enum scan_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_reason(struct scan_entry *e, enum scan_kind kind, const char *fmt, ...)
{
    va_list ap;

    e->kind = kind;
    va_start(ap, fmt);
    vsnprintf(e->detail, sizeof e->detail, fmt, ap);
    va_end(ap);
}

/* A librpc segment (valid or damaged): live or orphaned, as the kernel's
 * locks say now. */
static void librpc_state(struct scan_entry *e, const char *what)
{
    const rpc_domain_info *in = &e->info;

    if (in->attached && e->info.valid && in->live_processes == 0)
        set_reason(e, SCAN_LIVE, "attached, no live node yet (a process is joining)");
    else if (in->attached && e->info.valid)
        set_reason(e, SCAN_LIVE, "%u live process%s, %u live node%s", in->live_processes,
                   in->live_processes == 1 ? "" : "es", in->live_nodes,
                   in->live_nodes == 1 ? "" : "s");
    else if (in->attached)
        set_reason(e, SCAN_LIVE, "%s, live processes attached", what);
    else if (e->info.valid)
        set_reason(e, SCAN_ORPHAN, "no live process; %u registered node%s, none alive",
                   in->registered_nodes, in->registered_nodes == 1 ? "" : "s");
    else
        set_reason(e, SCAN_ORPHAN, "%s, no live process", what);
}

/* Classify from rpc_domain_stat's view of a regular file of ours. */
static void classify_contents(struct scan_entry *e)
{
    const rpc_domain_info *in = &e->info;
    int big = in->size >= rpcctl_scan_min_size();
    char what[160];

    switch (in->status) {
    case 0:
        librpc_state(e, "valid");
        return;
    case RPC_EVERSION:
        snprintf(what, sizeof what, "layout version %u (not this librpc's)",
                 (unsigned)in->layout_version);
        librpc_state(e, what);
        return;
    case RPC_ESIZE:
    case RPC_ECORRUPT:
        snprintf(what, sizeof what, "damaged: %s", rpc_strerror(in->status));
        librpc_state(e, what);
        return;
    case RPC_ETRUNCATED:
        if (big) {
            librpc_state(e, "damaged: shorter than its header says");
            return;
        }
        break;
    case RPC_EUNINIT:
        if (big) {
            librpc_state(e, "half-initialised");
            return;
        }
        break;
    case RPC_EBADMAGIC:
        set_reason(e, SCAN_NOT_LIBRPC, "other contents (no librpc magic)");
        return;
    case RPC_EOWNER:
        set_reason(e, SCAN_FOREIGN, "owned by uid %u", (unsigned)in->uid);
        return;
    default:
        set_reason(e, SCAN_UNREADABLE, "%s", rpc_strerror(in->status));
        return;
    }
    /* librpc sizes a file it creates in one step, so only an empty one
     * can be its; a small one is somebody else's. */
    if (in->size == 0)
        set_reason(e, SCAN_UNKNOWN, "empty file: cannot tell whose it is");
    else
        set_reason(e, SCAN_NOT_LIBRPC, "%llu bytes: too small for a librpc segment",
                   (unsigned long long)in->size);
}

void rpcctl_scan_classify(const char *file, struct scan_entry *e)
{
    char path[sizeof CLI_SHM_DIR + RPC_SHM_NAME_MAX + 1], user[64];
    struct stat st;
    rpc_config *cfg = NULL;
    int err;

    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "/%s", file);
    if (strlen(file) + 1 > RPC_SHM_NAME_MAX) {
        set_reason(e, SCAN_NOT_LIBRPC, "name too long for a segment");
        return;
    }
    snprintf(path, sizeof path, "%s/%s", CLI_SHM_DIR, file);
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            set_reason(e, SCAN_GONE, "removed meanwhile");
        else
            set_reason(e, SCAN_UNREADABLE, "%s", strerror(errno));
        return;
    }
    if (!S_ISREG(st.st_mode)) {
        set_reason(e, SCAN_NOT_LIBRPC, "not a regular file");
        return;
    }
    if (st.st_uid != geteuid()) {
        set_reason(e, SCAN_FOREIGN, "owned by uid %u (%s)", (unsigned)st.st_uid,
                   cli_user_name(st.st_uid, user, sizeof user));
        return;
    }
    if (strncmp(file, "sem.", 4) == 0) {
        set_reason(e, SCAN_NOT_LIBRPC, "a POSIX named semaphore");
        return;
    }
    if (rpc_config_create(&cfg) != 0 || rpc_config_set_shm_name(cfg, e->name) != 0) {
        rpc_config_destroy(cfg);
        set_reason(e, SCAN_NOT_LIBRPC, "not a valid segment name");
        return;
    }
    err = rpc_domain_stat(cfg, &e->info);
    rpc_config_destroy(cfg);
    if (err == RPC_ENOTREG)
        set_reason(e, SCAN_NOT_LIBRPC, "not a regular file");
    else if (err < 0)
        set_reason(e, SCAN_UNREADABLE, "%s (%s)", rpc_strerror(err), rpc_errdetail());
    else if (!e->info.exists)
        set_reason(e, SCAN_GONE, "removed meanwhile");
    else
        classify_contents(e);
}

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const struct scan_entry *)a)->name, ((const struct scan_entry *)b)->name);
}

int rpcctl_scan_all(struct scan_entry **out, size_t *count)
{
    struct scan_entry *list = NULL;
    size_t n = 0, cap = 0;
    struct dirent *d;
    DIR *dir = opendir(CLI_SHM_DIR);

    *out = NULL;
    *count = 0;
    if (!dir)
        return -errno;
    while ((errno = 0, d = readdir(dir)) != NULL) {
        if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 32;
            struct scan_entry *nl = realloc(list, nc * sizeof *nl);
            if (!nl) {
                free(list);
                closedir(dir);
                return -ENOMEM;
            }
            list = nl;
            cap = nc;
        }
        rpcctl_scan_classify(d->d_name, &list[n]);
        if (list[n].kind != SCAN_GONE)
            n++;
    }
    if (errno) {
        int e = errno;
        free(list);
        closedir(dir);
        return -e;
    }
    closedir(dir);
    if (n)
        qsort(list, n, sizeof *list, entry_cmp);
    *out = list;
    *count = n;
    return 0;
}

/* ---- cleanup --all ---- */

/* What became of one file. */
struct outcome {
    int removed;
    const char *reason;        /* a word of rpcctl_scan_reasons, or "failed" */
    int err;                   /* the failed removal's code */
    char errdetail[512];
};

/* Remove an orphan found by the scan; the library decides again. */
static void remove_orphan(struct scan_entry *e, struct outcome *oc)
{
    rpc_config *cfg = NULL;
    int err;

    oc->reason = rpcctl_scan_reasons[SCAN_ORPHAN];
    if (rpc_config_create(&cfg) != 0 || rpc_config_set_shm_name(cfg, e->name) != 0) {
        rpc_config_destroy(cfg);
        oc->reason = "failed";
        oc->err = RPC_ENOMEM;
        return;
    }
    err = rpc_domain_cleanup(cfg, 0);
    if (err == 0) {
        oc->removed = 1;
    } else if (err == RPC_EBUSY) {
        oc->reason = rpcctl_scan_reasons[SCAN_LIVE];
        snprintf(e->detail, sizeof e->detail, "a process joined meanwhile");
    } else if (err == RPC_ENOENT) {
        oc->reason = rpcctl_scan_reasons[SCAN_GONE];
        snprintf(e->detail, sizeof e->detail, "removed meanwhile");
    } else {
        oc->reason = "failed";
        oc->err = err;
        snprintf(oc->errdetail, sizeof oc->errdetail, "%s", rpc_errdetail());
        snprintf(e->detail, sizeof e->detail, "%s (%s)", rpc_strerror(err), oc->errdetail);
    }
    rpc_config_destroy(cfg);
}

static void print_all_json(const struct scan_entry *list, const struct outcome *oc, size_t n,
                           unsigned removed)
{
    size_t i;

    printf("{\n  \"schema\": 1,\n  \"directory\": ");
    cli_json_string(stdout, CLI_SHM_DIR);
    printf(",\n  \"uid\": %u,\n  \"removed\": %u,\n  \"left\": %u,\n  \"segments\": [",
           (unsigned)geteuid(), removed, (unsigned)(n - removed));
    for (i = 0; i < n; i++) {
        printf("%s\n    {\"name\": ", i ? "," : "");
        cli_json_string(stdout, list[i].name);
        printf(", \"action\": \"%s\", \"reason\": \"%s\", \"detail\": ",
               oc[i].removed ? "removed" : "left", oc[i].reason);
        cli_json_string(stdout, list[i].detail);
        fputs(", \"error\": ", stdout);
        rpcctl_json_error(stdout, oc[i].err, oc[i].errdetail);
        fputc('}', stdout);
    }
    printf(n ? "\n  ]\n}\n" : "]\n}\n");
}

static void print_all_table(const struct scan_entry *list, const struct outcome *oc, size_t n,
                            unsigned removed)
{
    static const char *const titles[] = { "ACTION", "NAME", "REASON", "DETAIL" };
    struct rpcctl_table t;
    size_t i;

    rpcctl_table_init(&t, 4, titles, NULL);
    for (i = 0; i < n; i++) {
        if (rpcctl_table_row(&t) != 0)
            break;
        rpcctl_table_set(&t, 0, "%s", oc[i].removed ? "removed" : "left");
        rpcctl_table_set(&t, 1, "%s", list[i].name);
        rpcctl_table_set(&t, 2, "%s", oc[i].reason);
        rpcctl_table_set(&t, 3, "%s", list[i].detail);
    }
    if (n)
        rpcctl_table_print(stdout, &t, "");
    rpcctl_table_free(&t);
    printf("%sremoved %u orphaned librpc segment%s of uid %u in %s; left %u file%s\n",
           n ? "\n" : "", removed, removed == 1 ? "" : "s", (unsigned)geteuid(), CLI_SHM_DIR,
           (unsigned)(n - removed), n - removed == 1 ? "" : "s");
}

int rpcctl_run_cleanup_all(const struct opts *o)
{
    struct scan_entry *list;
    struct outcome *oc;
    size_t n, i;
    unsigned removed = 0;
    int err = rpcctl_scan_all(&list, &n), code = CLI_EXIT_OK;

    if (err < 0) {
        cli_error(&rpcctl_ctx, "cannot list %s: %s: --all needs the shared-memory directory; clean up by name with 'rpcctl --name /NAME cleanup'",
                  CLI_SHM_DIR, strerror(-err));
        return CLI_EXIT_OTHER;
    }
    oc = calloc(n ? n : 1, sizeof *oc);
    if (!oc) {
        free(list);
        cli_error(&rpcctl_ctx, "out of memory");
        return CLI_EXIT_OTHER;
    }
    for (i = 0; i < n; i++) {
        if (list[i].kind == SCAN_ORPHAN)
            remove_orphan(&list[i], &oc[i]);
        else
            oc[i].reason = rpcctl_scan_reasons[list[i].kind];
        removed += oc[i].removed;
        if (oc[i].err && code == CLI_EXIT_OK)
            code = cli_exit_code(oc[i].err);
    }
    if (o->json)
        print_all_json(list, oc, n, removed);
    else
        print_all_table(list, oc, n, removed);
    (void)fflush(stdout);
    for (i = 0; i < n; i++)
        if (oc[i].err)
            cli_error(&rpcctl_ctx, "could not remove orphaned segment %s: %s: retry, or see 'rpcctl --name %s status'",
                      list[i].name, list[i].detail, list[i].name);
    free(oc);
    free(list);
    return code;
}
