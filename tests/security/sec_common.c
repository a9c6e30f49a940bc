/*
 * sec_common.c - identities, channels and file checks for the access-control
 * tests (see sec_common.h).
 */
#include "sec_common.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

const sec_user sec_root = { "root", 0, 0, 0, { 0 } };
const sec_user sec_nobody = { "nobody", SEC_UID_NOBODY, SEC_GID_NOGROUP, 0, { 0 } };
const sec_user sec_alice = { "alice", SEC_UID_A, SEC_UID_A, 1, { SEC_GID_SHARED } };
const sec_user sec_bob = { "bob", SEC_UID_B, SEC_UID_B, 1, { SEC_GID_SHARED } };
const sec_user sec_carol = { "carol", SEC_UID_C, SEC_UID_C, 0, { 0 } };
const sec_user sec_dave = { "dave", SEC_UID_D, SEC_UID_D, 0, { 0 } };

/* ---- identities -------------------------------------------------------- */

static int try_become(const sec_user *u)
{
    if (setgroups((size_t)u->ngroups, u->groups) != 0 || setresgid(u->gid, u->gid, u->gid) != 0 ||
        setresuid(u->uid, u->uid, u->uid) != 0)
        return -errno;
    return 0;
}

void sec_become(const sec_user *u)
{
    pid_t parent = getppid();
    int rc = try_become(u);
    ASSERT_MSG(rc == 0, "cannot become %s (uid %u): %s", u->label, (unsigned)u->uid,
               strerror(-rc));
    ASSERT(getuid() == u->uid && geteuid() == u->uid && getegid() == u->gid);
    /* A change of credentials clears the parent-death signal and the
     * dumpable flag; LeakSanitizer needs the latter to inspect us. */
    ASSERT(prctl(PR_SET_PDEATHSIG, SIGKILL) == 0);
    ASSERT(prctl(PR_SET_DUMPABLE, 1) == 0);
    if (getppid() != parent)
        _exit(1); /* the parent died before the signal was armed again */
}

void sec_require_root(void)
{
    const sec_user *const all[] = { &sec_nobody, &sec_alice, &sec_bob, &sec_carol, &sec_dave };
    size_t i;
    if (geteuid() != 0)
        tu_skip("needs root, to act as other users (uid %u)", (unsigned)geteuid());
    /* In a user namespace without these ids mapped, setresuid fails: skip
     * rather than report a failure of the library. */
    for (i = 0; i < sizeof all / sizeof all[0]; i++) {
        pid_t pid = tu_fork(0);
        int st;
        if (pid == 0)
            _exit(try_become(all[i]) == 0 ? 0 : 3);
        st = tu_wait_child(pid, tu_timeout_ms(20000));
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            tu_skip("cannot switch to uid %u here", (unsigned)all[i]->uid);
    }
}

pid_t sec_run_as(const sec_user *u, void (*fn)(void *arg), void *arg)
{
    pid_t pid = tu_fork(0);
    if (pid == 0) {
        sec_become(u);
        fn(arg);
        exit(0);
    }
    return pid;
}

void sec_call_as(const sec_user *u, void (*fn)(void *arg), void *arg)
{
    TU_EXPECT_EXIT0(sec_run_as(u, fn, arg), tu_timeout_ms(60000));
}

/* ---- channels ---------------------------------------------------------- */

void sec_chan_make(sec_chan *c)
{
    int fds[2];
    ASSERT_MSG(pipe2(fds, O_CLOEXEC) == 0, "pipe: %s", strerror(errno));
    c->rd = fds[0];
    c->wr = fds[1];
}

void sec_chan_close(sec_chan *c)
{
    close(c->rd);
    close(c->wr);
    c->rd = c->wr = -1;
}

void sec_say(sec_chan *c, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    ASSERT(n >= 0 && (size_t)n < sizeof line - 1);
    line[n++] = '\n';
    /* One write of less than PIPE_BUF bytes: atomic, never interleaved. */
    ASSERT_MSG(write(c->wr, line, (size_t)n) == n, "write: %s", strerror(errno));
}

void sec_hear(sec_chan *c, char *buf, size_t len, int timeout_ms)
{
    int64_t deadline = tu_now_ms() + timeout_ms;
    size_t used = 0;
    for (;;) {
        struct pollfd p = { .fd = c->rd, .events = POLLIN };
        int64_t left = deadline - tu_now_ms();
        char ch;
        ssize_t n;
        ASSERT_MSG(left > 0, "no message within %d ms (got \"%.*s\" so far)", timeout_ms,
                   (int)used, buf);
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        n = read(c->rd, &ch, 1);
        if (n < 0 && errno == EINTR)
            continue;
        ASSERT_MSG(n == 1, "channel closed (got \"%.*s\")", (int)used, buf);
        if (ch == '\n')
            break;
        ASSERT(used + 1 < len);
        buf[used++] = ch;
    }
    buf[used] = '\0';
}

void sec_expect(sec_chan *c, const char *want, int timeout_ms)
{
    char got[512];
    sec_hear(c, got, sizeof got, timeout_ms);
    ASSERT_MSG(strcmp(got, want) == 0, "expected \"%s\", heard \"%s\"", want, got);
}

/* ---- files and details ------------------------------------------------- */

int sec_shm_lstat(const char *name, struct stat *st)
{
    char path[512];
    return lstat(tu_shm_path(name, path, sizeof path), st) == 0 ? 0 : -1;
}

int sec_contains(const char *haystack, const char *needle)
{
    return haystack != NULL && strstr(haystack, needle) != NULL;
}

void sec_detail_has_at(const char *file, int line, const char *first, ...)
{
    const char *detail = rpc_errdetail();
    const char *want;
    va_list ap;
    va_start(ap, first);
    for (want = first; want != NULL; want = va_arg(ap, const char *))
        if (!sec_contains(detail, want))
            tu_fail_at(file, line, "detail \"%s\" does not say \"%s\"", detail, want);
    va_end(ap);
}

int sec_tool(char *out, size_t len, const char *const env[], const char *prog, ...)
{
    int timeout_ms = tu_timeout_ms(30000);
    int64_t deadline = tu_now_ms() + timeout_ms;
    char *argv[20];
    size_t used = 0;
    int argc = 0, fds[2], st;
    va_list ap;
    pid_t pid;
    argv[argc++] = (char *)prog;
    va_start(ap, prog);
    for (;;) {
        char *a = va_arg(ap, char *);
        ASSERT(argc < 20);
        argv[argc++] = a;
        if (a == NULL)
            break;
    }
    va_end(ap);
    ASSERT(len > 0);
    ASSERT_MSG(pipe2(fds, O_CLOEXEC) == 0, "pipe: %s", strerror(errno));
    pid = tu_spawn(prog, argv, env, fds[1]);
    close(fds[1]);
    for (;;) {
        struct pollfd p = { .fd = fds[0], .events = POLLIN };
        int64_t left = deadline - tu_now_ms();
        char tmp[4096];
        ssize_t n;
        if (left <= 0) {
            kill(pid, SIGKILL);
            (void)tu_wait_child(pid, timeout_ms);
            out[used] = '\0';
            TU_FAIL("%s %s did not end within %d ms (killed); output: %s", prog,
                    argc > 2 ? argv[1] : "", timeout_ms, out);
        }
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        n = read(fds[0], tmp, sizeof tmp);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (used + 1 < len) {
            size_t k = (size_t)n < len - 1 - used ? (size_t)n : len - 1 - used;
            memcpy(out + used, tmp, k);
            used += k;
        }
    }
    close(fds[0]);
    out[used] = '\0';
    st = tu_wait_child(pid, timeout_ms);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int sec_tools_usable(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/rpcctl", tu_bindir());
    if (access(path, X_OK) != 0)
        return 0;
    snprintf(path, sizeof path, "%s/test_shm_cleanup", tu_bindir());
    return access(path, X_OK) == 0;
}

void sec_snap_take(const char *path, sec_snap *s)
{
    struct stat st;
    int fd;
    memset(s, 0, sizeof *s);
    ASSERT_MSG(lstat(path, &st) == 0, "lstat %s: %s", path, strerror(errno));
    s->dev = st.st_dev;
    s->ino = st.st_ino;
    s->mode = st.st_mode;
    s->uid = st.st_uid;
    s->gid = st.st_gid;
    s->size = st.st_size;
    s->mtime = st.st_mtim;
    s->ctime = st.st_ctim;
    if (S_ISREG(st.st_mode) && (fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
        ssize_t n = read(fd, s->head, sizeof s->head - 1);
        (void)n; /* a short or failed read leaves zeros, compared alike */
        close(fd);
    }
}

void sec_snap_same_at(const char *file, int line, const char *path, const sec_snap *s)
{
    struct stat st;
    sec_snap now;
    if (lstat(path, &st) != 0)
        tu_fail_at(file, line, "%s is gone: %s", path, strerror(errno));
    sec_snap_take(path, &now);
    if (now.dev != s->dev || now.ino != s->ino || now.mode != s->mode || now.uid != s->uid ||
        now.gid != s->gid || now.size != s->size ||
        now.mtime.tv_sec != s->mtime.tv_sec || now.mtime.tv_nsec != s->mtime.tv_nsec ||
        now.ctime.tv_sec != s->ctime.tv_sec || now.ctime.tv_nsec != s->ctime.tv_nsec ||
        memcmp(now.head, s->head, sizeof s->head) != 0)
        tu_fail_at(file, line, "%s was changed (mode %o->%o, uid %u->%u, size %lld->%lld)", path,
                   (unsigned)s->mode, (unsigned)now.mode, (unsigned)s->uid, (unsigned)now.uid,
                   (long long)s->size, (long long)now.size);
}
