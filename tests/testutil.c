/*
 * testutil.c - the shared test harness (see testutil.h).
 *
 * Owns the process-wide test state: the test's name, the segment names it
 * must remove, and the children it must not leave behind.  The exit handler
 * runs only in the process that called tu_init(), never in a forked child,
 * because a child exiting must not unlink a segment its siblings still use.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TU_MAX_NAMES 64
#define TU_MAX_CHILDREN 128

static char test_name[64] = "test";
static pid_t test_pid;
static char names[TU_MAX_NAMES][RPC_SHM_NAME_MAX + 1];
static int n_names;
static pid_t children[TU_MAX_CHILDREN];
static int name_counter;

/* ---- errors and messages -------------------------------------------- */

const char *tu_errname(int err)
{
    static const char *const tab[] = {
        "RPC_OK", "RPC_EINVAL", "RPC_ENOMEM", "RPC_ESYS", "RPC_EBADNAME", "RPC_EBADSIZE",
        "RPC_EBADMODE", "RPC_EBADNODENAME", "RPC_ENOENT", "RPC_EEXIST", "RPC_EFULL",
        "RPC_EBUSY", "RPC_EBADMAGIC", "RPC_EVERSION", "RPC_ESIZE", "RPC_ETRUNCATED",
        "RPC_EUNINIT", "RPC_ECORRUPT", "RPC_EOWNER", "RPC_EACCES", "RPC_ENOTREG",
        "RPC_ETIMEDOUT", "RPC_EFORKED", "RPC_EAGAIN", "RPC_EMSGSIZE", "RPC_EBADTOPIC",
        "RPC_ENOSPC", "RPC_ENOTSUB", "RPC_EMODE", "RPC_ECLOSED", "RPC_ELIMIT",
        "RPC_EINTR"};
    if (err <= 0 && -err < (int)(sizeof tab / sizeof tab[0]))
        return tab[-err];
    return "?";
}

static void vreport(const char *prefix, const char *fmt, va_list ap)
{
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    fprintf(stderr, "[%s %ld] %s%s\n", test_name, (long)getpid(), prefix, msg);
    fflush(stderr);
}

void tu_fail_at(const char *file, int line, const char *fmt, ...)
{
    char where[512];
    va_list ap;
    snprintf(where, sizeof where, "FAIL %s:%d: ", file, line);
    va_start(ap, fmt);
    vreport(where, fmt, ap);
    va_end(ap);
    exit(1);
}

void tu_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport("", fmt, ap);
    va_end(ap);
}

void tu_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport("SKIP: ", fmt, ap);
    va_end(ap);
    exit(TU_EXIT_SKIP);
}

/* ---- clean-up at exit ------------------------------------------------ */

static void kill_children(void)
{
    for (int i = 0; i < TU_MAX_CHILDREN; i++) {
        if (children[i] > 0) {
            kill(children[i], SIGKILL);
            waitpid(children[i], NULL, 0);
            children[i] = 0;
        }
    }
}

/* Remove every registered name; returns how many still existed. */
static int unlink_names(void)
{
    int left = 0;
    for (int i = 0; i < n_names; i++) {
        char path[512];
        struct stat st;
        tu_shm_path(names[i], path, sizeof path);
        if (lstat(path, &st) != 0)
            continue;
        left++;
        /* shm_unlink for segments; planted directories and links by path. */
        if (S_ISDIR(st.st_mode))
            rmdir(path);
        else if (shm_unlink(names[i]) != 0)
            unlink(path);
    }
    return left;
}

static void at_exit(void)
{
    if (getpid() != test_pid)
        return; /* a forked child: its parent cleans up */
    kill_children();
    unlink_names();
}

void tu_init(const char *name)
{
    snprintf(test_name, sizeof test_name, "%s", name);
    test_pid = getpid();
    setvbuf(stdout, NULL, _IONBF, 0);
    unsetenv(RPC_ENV_SHM_NAME);
    unsetenv("LIBRPC_TEST_CRASH_AT");
    signal(SIGPIPE, SIG_IGN);
    atexit(at_exit);
}

const char *tu_shm_name(const char *tag)
{
    char buf[RPC_SHM_NAME_MAX + 1];
    snprintf(buf, sizeof buf, "/librpc_t_%s_%s_%ld_%d", test_name, tag, (long)getpid(),
             name_counter++);
    tu_register_name(buf);
    return names[n_names - 1];
}

void tu_register_name(const char *name)
{
    ASSERT_MSG(n_names < TU_MAX_NAMES, "too many segment names");
    snprintf(names[n_names], sizeof names[n_names], "%s", name);
    n_names++;
}

const char *tu_shm_path(const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "/dev/shm%s", name);
    return buf;
}

int tu_shm_exists(const char *name)
{
    char path[512];
    struct stat st;
    return lstat(tu_shm_path(name, path, sizeof path), &st) == 0;
}

void tu_shm_remove(const char *name)
{
    char path[512];
    struct stat st;
    tu_shm_path(name, path, sizeof path);
    ASSERT_MSG(lstat(path, &st) == 0, "%s does not exist", path);
    ASSERT_MSG((S_ISDIR(st.st_mode) ? rmdir(path) : unlink(path)) == 0, "remove %s: %s", path,
               strerror(errno));
}

/* Every configuration made here stays reachable from this table.  A forked
 * child that exits while its parent's configurations are live would
 * otherwise have valgrind count them as definitely lost: gcc does not keep
 * callee-saved registers (where the parent's frame held the pointer) alive
 * across calls that never return. */
rpc_config *tu_live_configs[256]; /* not static: the stores must not be optimised away */
static int n_configs;

rpc_config *tu_config(const char *name)
{
    rpc_config *cfg = NULL;
    ASSERT_OK(rpc_config_create(&cfg));
    if (name != NULL)
        ASSERT_OK(rpc_config_set_shm_name(cfg, name));
    tu_live_configs[n_configs++ % 256] = cfg;
    return cfg;
}

int tu_done(void)
{
    int left;
    kill_children();
    left = unlink_names();
    ASSERT_MSG(left == 0, "%d segment(s) of this test were left in /dev/shm", left);
    tu_log("PASS");
    return 0;
}

/* ---- time -------------------------------------------------------------- */

int64_t tu_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void tu_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int tu_under_valgrind(void)
{
    const char *a = getenv("RUNNING_ON_VALGRIND");
    const char *b = getenv("LIBRPC_TEST_VALGRIND");
    return (a != NULL && *a != '\0' && strcmp(a, "0") != 0) ||
           (b != NULL && *b != '\0' && strcmp(b, "0") != 0);
}

int tu_timeout_ms(int ms)
{
    return tu_under_valgrind() ? ms * 5 : ms;
}

int tu_reclaim_deadline_ms(void)
{
    return tu_under_valgrind() ? 5000 : 1000;
}

int tu_wait_until(int (*cond)(void *arg), void *arg, int timeout_ms)
{
    int64_t start = tu_now_ms();
    for (;;) {
        int64_t now;
        if (cond(arg))
            return (int)(tu_now_ms() - start);
        now = tu_now_ms();
        if (now - start > timeout_ms)
            return -1;
        tu_sleep_ms(5);
    }
}

/* ---- processes ---------------------------------------------------------- */

static void remember_child(pid_t pid)
{
    for (int i = 0; i < TU_MAX_CHILDREN; i++) {
        if (children[i] == 0) {
            children[i] = pid;
            return;
        }
    }
    TU_FAIL("too many children");
}

void tu_track_child(pid_t pid)
{
    ASSERT(pid > 0);
    remember_child(pid);
}

void tu_forget_child(pid_t pid)
{
    for (int i = 0; i < TU_MAX_CHILDREN; i++)
        if (children[i] == pid)
            children[i] = 0;
}

pid_t tu_fork(unsigned flags)
{
    pid_t parent = getpid();
    pid_t pid;
    fflush(NULL);
    pid = fork();
    ASSERT_MSG(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        /* The child tracks its own children only. */
        memset(children, 0, sizeof children);
        if (!(flags & TU_FORK_KEEP_ALIVE)) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent)
                _exit(1); /* the parent died before we armed the signal */
        }
        return 0;
    }
    remember_child(pid);
    return pid;
}

const char *tu_bindir(void)
{
    static char dir[PATH_MAX];
    const char *env = getenv("LIBRPC_TEST_BINDIR");
    ssize_t n;
    char *slash;
    if (env != NULL && *env != '\0')
        return env;
    if (dir[0] != '\0')
        return dir;
    n = readlink("/proc/self/exe", dir, sizeof dir - 1);
    ASSERT_MSG(n > 0, "readlink /proc/self/exe: %s", strerror(errno));
    dir[n] = '\0';
    slash = strrchr(dir, '/');
    if (slash != NULL)
        *slash = '\0';
    return dir;
}

static void apply_env(const char *const env[])
{
    for (int i = 0; env != NULL && env[i] != NULL; i++) {
        char key[256];
        const char *eq = strchr(env[i], '=');
        size_t klen = eq ? (size_t)(eq - env[i]) : strlen(env[i]);
        if (klen >= sizeof key)
            _exit(126);
        memcpy(key, env[i], klen);
        key[klen] = '\0';
        if (eq == NULL || eq[1] == '\0')
            unsetenv(key);
        else
            setenv(key, eq + 1, 1);
    }
}

pid_t tu_spawn(const char *prog, char *const argv[], const char *const env[], int stdout_fd)
{
    char path[PATH_MAX];
    pid_t pid;
    if (strchr(prog, '/') != NULL)
        snprintf(path, sizeof path, "%s", prog);
    else
        snprintf(path, sizeof path, "%s/%s", tu_bindir(), prog);
    pid = tu_fork(0);
    if (pid == 0) {
        apply_env(env);
        if (stdout_fd >= 0) {
            dup2(stdout_fd, 1);
            dup2(stdout_fd, 2);
        }
        execv(path, argv);
        fprintf(stderr, "exec %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    return pid;
}

int tu_wait_child(pid_t pid, int timeout_ms)
{
    int64_t deadline = tu_now_ms() + timeout_ms;
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            tu_forget_child(pid);
            return status;
        }
        ASSERT_MSG(r == 0, "waitpid %ld: %s", (long)pid, strerror(errno));
        if (tu_now_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            tu_forget_child(pid);
            TU_FAIL("child %ld did not exit within %d ms (killed)", (long)pid, timeout_ms);
        }
        tu_sleep_ms(5);
    }
}

void tu_expect_exit0_at(const char *file, int line, pid_t pid, int timeout_ms)
{
    int st = tu_wait_child(pid, timeout_ms);
    if (WIFSIGNALED(st))
        tu_fail_at(file, line, "child %ld died by signal %d", (long)pid, WTERMSIG(st));
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        tu_fail_at(file, line, "child %ld exited with status %d", (long)pid, WEXITSTATUS(st));
}

void tu_kill9(pid_t pid)
{
    ASSERT_MSG(kill(pid, SIGKILL) == 0, "kill %ld: %s", (long)pid, strerror(errno));
    (void)tu_wait_child(pid, tu_timeout_ms(20000));
}

int tu_run_capture(const char *prog, char *const argv[], const char *const env[], char *buf,
                   size_t len, int timeout_ms)
{
    int fds[2];
    size_t used = 0;
    pid_t pid;
    int st;
    ASSERT(pipe(fds) == 0);
    pid = tu_spawn(prog, argv, env, fds[1]);
    close(fds[1]);
    for (;;) {
        char tmp[4096];
        ssize_t n = read(fds[0], tmp, sizeof tmp);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (used + 1 < len) {
            size_t k = (size_t)n < len - 1 - used ? (size_t)n : len - 1 - used;
            memcpy(buf + used, tmp, k);
            used += k;
        }
    }
    close(fds[0]);
    if (len > 0)
        buf[used] = '\0';
    st = tu_wait_child(pid, timeout_ms);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void tu_gate_make(tu_gate *g)
{
    int fds[2];
    ASSERT(pipe(fds) == 0);
    g->rd = fds[0];
    g->wr = fds[1];
}

void tu_gate_wait(tu_gate *g)
{
    char c;
    ssize_t n;
    close(g->wr);
    do
        n = read(g->rd, &c, 1);
    while (n < 0 && errno == EINTR);
    close(g->rd);
    if (n != 1)
        _exit(2); /* the test ended without opening the gate */
}

void tu_gate_open(tu_gate *g, int waiters)
{
    char buf[256];
    ASSERT(waiters > 0 && waiters <= (int)sizeof buf);
    memset(buf, 'g', sizeof buf);
    /* One write makes every byte readable at once, so all waiters wake
     * together; the parent keeps no end open afterwards. */
    ASSERT(write(g->wr, buf, (size_t)waiters) == waiters);
    close(g->wr);
    close(g->rd);
}

/* ---- segment inspection -------------------------------------------- */

int tu_domain_has_node(const rpc_config *cfg, const char *node)
{
    rpc_node_info info[RPC_MAX_NODES_LIMIT];
    int n = rpc_domain_list_nodes(cfg, info, RPC_MAX_NODES_LIMIT);
    if (n < 0)
        return n;
    for (int i = 0; i < n && i < (int)RPC_MAX_NODES_LIMIT; i++)
        if (strcmp(info[i].name, node) == 0)
            return 1;
    return 0;
}

uint64_t tu_shm_inode(const char *name)
{
    char path[512];
    struct stat st;
    if (stat(tu_shm_path(name, path, sizeof path), &st) != 0)
        return 0;
    return (uint64_t)st.st_ino;
}

uint64_t tu_mapped_inode(const char *name, int *deleted)
{
    char path[512], line[1024];
    uint64_t found = 0;
    FILE *f = fopen("/proc/self/maps", "r");
    size_t plen;
    *deleted = 0;
    if (f == NULL)
        return 0;
    tu_shm_path(name, path, sizeof path);
    plen = strlen(path);
    while (fgets(line, sizeof line, f) != NULL) {
        unsigned long long ino;
        int off = 0;
        char *p;
        if (sscanf(line, "%*s %*s %*s %*s %llu %n", &ino, &off) != 1 || off == 0)
            continue;
        p = line + off;
        if (strncmp(p, path, plen) != 0 || (p[plen] != '\n' && p[plen] != ' '))
            continue;
        if (strstr(p + plen, "(deleted)") != NULL)
            *deleted = 1;
        if (found != 0 && found != ino)
            found = UINT64_MAX; /* two different files mapped under one name */
        else if (found == 0)
            found = ino;
    }
    fclose(f);
    return found;
}

/* ---- peers ---------------------------------------------------------------- */

#define PEER_MAX_NODES 64

struct peer_state {
    rpc_config *cfg;
    const char *shm_name;
    rpc_node *nodes[PEER_MAX_NODES];
};

static rpc_node **peer_find(struct peer_state *ps, const char *name)
{
    for (int i = 0; i < PEER_MAX_NODES; i++)
        if (ps->nodes[i] != NULL && strcmp(rpc_node_name(ps->nodes[i]), name) == 0)
            return &ps->nodes[i];
    return NULL;
}

/* The split-brain check for one process: while we hold nodes, the file at
 * the path must be the segment our nodes live in. */
static int peer_check(struct peer_state *ps)
{
    int violations = 0;
    for (int i = 0; i < PEER_MAX_NODES; i++) {
        rpc_domain_info info;
        uint64_t path_ino, map_ino;
        int deleted;
        if (ps->nodes[i] == NULL)
            continue;
        if (rpc_domain_stat(ps->cfg, &info) != 0 || !info.exists ||
            info.segment_id != rpc_node_segment_id(ps->nodes[i]))
            violations++;
        path_ino = tu_shm_inode(ps->shm_name);
        map_ino = tu_mapped_inode(ps->shm_name, &deleted);
        if (path_ino == 0 || map_ino != path_ino || deleted)
            violations++;
    }
    return violations;
}

static int peer_destroy_all(struct peer_state *ps)
{
    int bad = 0;
    for (int i = 0; i < PEER_MAX_NODES; i++) {
        if (ps->nodes[i] != NULL && rpc_node_destroy(ps->nodes[i]) != 0)
            bad = 1;
        ps->nodes[i] = NULL;
    }
    return bad;
}

static void peer_reply(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void peer_reply(FILE *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
    fputc('\n', out);
    fflush(out);
}

static int peer_waitgone(struct peer_state *ps, const char *name, int ms)
{
    int64_t start = tu_now_ms();
    for (;;) {
        if (tu_domain_has_node(ps->cfg, name) == 0)
            return (int)(tu_now_ms() - start);
        if (tu_now_ms() - start > ms)
            return -1;
        tu_sleep_ms(2);
    }
}

static void peer_create(struct peer_state *ps, FILE *out, const char *arg)
{
    int slot = -1, rc;
    rpc_node *node = NULL;
    for (int i = 0; i < PEER_MAX_NODES && slot < 0; i++)
        if (ps->nodes[i] == NULL)
            slot = i;
    if (slot < 0) {
        peer_reply(out, "%d peer full", RPC_ELIMIT);
        return;
    }
    rc = rpc_node_create(ps->cfg, strcmp(arg, "-") == 0 ? NULL : arg, &node);
    if (rc == 0) {
        ps->nodes[slot] = node;
        peer_reply(out, "0 %s", rpc_node_name(node));
    } else {
        peer_reply(out, "%d %s", rc, rpc_errdetail());
    }
}

static int peer_registered(struct peer_state *ps)
{
    rpc_domain_info info;
    int rc = rpc_domain_stat(ps->cfg, &info);
    return rc != 0 ? rc : (int)info.registered_nodes;
}

/* Execute one command; returns 0 to go on, 1 to quit. */
static int peer_exec(struct peer_state *ps, FILE *out, char *line)
{
    char cmd[32] = "", arg[128] = "";
    int ms = 0;
    rpc_node **slot;
    line[strcspn(line, "\n")] = '\0';
    if (sscanf(line, "%31s %127s %d", cmd, arg, &ms) < 1)
        return 0;
    if (strcmp(cmd, "quit") == 0)
        return 1;
    if (strcmp(cmd, "create") == 0) {
        peer_create(ps, out, arg);
    } else if (strcmp(cmd, "destroy") == 0) {
        slot = peer_find(ps, arg);
        if (slot == NULL) {
            peer_reply(out, "%d no such node", RPC_EINVAL);
        } else {
            int rc = rpc_node_destroy(*slot);
            *slot = NULL;
            peer_reply(out, "%d", rc);
        }
    } else if (strcmp(cmd, "segid") == 0) {
        slot = peer_find(ps, arg);
        peer_reply(out, "%llu", slot ? (unsigned long long)rpc_node_segment_id(*slot) : 0ull);
    } else if (strcmp(cmd, "active") == 0) {
        peer_reply(out, "%d", rpc_domain_active_nodes(ps->cfg));
    } else if (strcmp(cmd, "registered") == 0) {
        peer_reply(out, "%d", peer_registered(ps));
    } else if (strcmp(cmd, "has") == 0) {
        peer_reply(out, "%d", tu_domain_has_node(ps->cfg, arg));
    } else if (strcmp(cmd, "waitgone") == 0) {
        peer_reply(out, "%d", peer_waitgone(ps, arg, ms));
    } else if (strcmp(cmd, "check") == 0) {
        peer_reply(out, "%d", peer_check(ps));
    } else {
        peer_reply(out, "%d unknown command", RPC_EINVAL);
    }
    return 0;
}

static void peer_main(const char *shm_name, int cmd_fd, int reply_fd)
{
    struct peer_state ps;
    FILE *in = fdopen(cmd_fd, "r");
    FILE *out = fdopen(reply_fd, "w");
    char line[512];
    int bad;
    memset(&ps, 0, sizeof ps);
    if (in == NULL || out == NULL)
        _exit(3);
    ps.cfg = tu_config(shm_name);
    ps.shm_name = rpc_config_shm_name(ps.cfg);
    while (fgets(line, sizeof line, in) != NULL)
        if (peer_exec(&ps, out, line))
            break;
    bad = peer_destroy_all(&ps);
    rpc_config_destroy(ps.cfg);
    fclose(in);
    fclose(out);
    exit(bad ? 1 : 0);
}

void tu_peer_start(tu_peer *p, const char *name, unsigned fork_flags)
{
    int to_child[2], from_child[2];
    ASSERT(pipe(to_child) == 0 && pipe(from_child) == 0);
    p->pid = tu_fork(fork_flags);
    if (p->pid == 0) {
        close(to_child[1]);
        close(from_child[0]);
        peer_main(name, to_child[0], from_child[1]);
    }
    close(to_child[0]);
    close(from_child[1]);
    p->cmd_fd = to_child[1];
    p->reply_fd = from_child[0];
    p->reply = fdopen(p->reply_fd, "r");
    p->last_cmd[0] = '\0';
    ASSERT(p->reply != NULL);
}

static int wait_readable(int fd, int timeout_ms)
{
    struct pollfd pfd = {fd, POLLIN, 0};
    int64_t deadline = tu_now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - tu_now_ms();
        int r;
        if (left < 0)
            left = 0;
        r = poll(&pfd, 1, (int)left);
        if (r > 0)
            return 1;
        if (r == 0)
            return 0;
        if (errno != EINTR)
            return 0;
    }
}

void tu_peer_send(tu_peer *p, const char *fmt, ...)
{
    char cmd[512];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(cmd, sizeof cmd - 1, fmt, ap);
    va_end(ap);
    ASSERT(n > 0 && n < (int)sizeof cmd - 1);
    snprintf(p->last_cmd, sizeof p->last_cmd, "%.120s", cmd);
    cmd[n++] = '\n';
    ASSERT_MSG(write(p->cmd_fd, cmd, (size_t)n) == n, "peer %ld: write: %s", (long)p->pid,
               strerror(errno));
}

long long tu_peer_recv(tu_peer *p, char *text, size_t text_len)
{
    char line[1024];
    long long value;
    char *end;
    /* The peer answers every command; no answer in time means it hung. */
    ASSERT_MSG(wait_readable(p->reply_fd, tu_timeout_ms(60000)),
               "peer %ld did not answer '%s' within %d ms", (long)p->pid, p->last_cmd,
               tu_timeout_ms(60000));
    ASSERT_MSG(fgets(line, sizeof line, p->reply) != NULL, "peer %ld gave no answer to '%s'",
               (long)p->pid, p->last_cmd);
    line[strcspn(line, "\n")] = '\0';
    if (strncmp(p->last_cmd, "segid", 5) == 0)
        value = (long long)strtoull(line, &end, 10);
    else
        value = strtoll(line, &end, 10);
    ASSERT_MSG(end != line, "peer %ld: bad answer '%s' to '%s'", (long)p->pid, line,
               p->last_cmd);
    if (text != NULL && text_len > 0)
        snprintf(text, text_len, "%s", *end == ' ' ? end + 1 : end);
    return value;
}

long long tu_peer_cmd(tu_peer *p, char *text, size_t text_len, const char *fmt, ...)
{
    char cmd[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    tu_peer_send(p, "%s", cmd);
    return tu_peer_recv(p, text, text_len);
}

uint64_t tu_peer_segid(tu_peer *p, const char *node)
{
    return (uint64_t)tu_peer_cmd(p, NULL, 0, "segid %s", node);
}

void tu_peer_quit(tu_peer *p)
{
    ASSERT(write(p->cmd_fd, "quit\n", 5) == 5);
    close(p->cmd_fd);
    TU_EXPECT_EXIT0(p->pid, tu_timeout_ms(20000));
    fclose(p->reply);
    p->pid = 0;
}

void tu_peer_kill(tu_peer *p)
{
    tu_kill9(p->pid);
    close(p->cmd_fd);
    fclose(p->reply);
    p->pid = 0;
}
