/*
 * psutil.c - message format, tracker, pipes and sizing for the
 * publish/subscribe tests (see psutil.h).
 */
#include "psutil.h"

#include <errno.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- message format ------------------------------------------------------ */

struct ps_hdr {
    uint32_t magic;
    uint32_t pub;
    uint64_t seq;
    uint32_t size;
    uint32_t reserved;
    uint64_t sum;
};
_Static_assert(sizeof(struct ps_hdr) == PS_HDR_SIZE, "header size");

static uint64_t mix64(uint64_t x)
{
    /* splitmix64 finaliser: every input bit affects every output bit. */
    x += UINT64_C(0x9e3779b97f4a7c15);
    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

static uint64_t stream_seed(uint32_t pub, uint64_t seq)
{
    return mix64(((uint64_t)pub << 48) ^ seq ^ UINT64_C(0x5155424c49425250));
}

static int sizes_uniform;

void ps_sizes_uniform(int on)
{
    sizes_uniform = on;
}

size_t ps_msg_size(uint32_t pub, uint64_t seq, size_t max)
{
    uint64_t r = mix64(stream_seed(pub, seq) ^ 0x51ull);
    unsigned pick = (unsigned)(r % 1000);
    size_t cap;
    /* Fixed points so every run has both extremes. */
    if (seq % 997 == 1)
        return max;
    if (seq % 997 == 2)
        return 0;
    r >>= 10;
    if (sizes_uniform || pick < 10)
        cap = max;            /* 1 %: anything up to the maximum */
    else if (pick < 100)
        cap = 4096;           /* 9 %: up to a page */
    else
        cap = 256;            /* 90 %: small */
    if (cap > max)
        cap = max;
    return (size_t)(r % ((uint64_t)cap + 1));
}

/* The pseudo-random bytes of (pub, seq): 8 at a time. */
static void stream_fill(unsigned char *p, size_t n, uint64_t state)
{
    while (n >= 8) {
        uint64_t w = mix64(state++);
        memcpy(p, &w, 8);
        p += 8;
        n -= 8;
    }
    if (n > 0) {
        uint64_t w = mix64(state);
        memcpy(p, &w, n);
    }
}

uint64_t ps_fnv(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    /* Word at a time for speed; bytes for the tail.  Any changed bit
     * changes the result. */
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * UINT64_C(0x100000001b3);
        h ^= h >> 29;
        p += 8;
        len -= 8;
    }
    while (len-- > 0)
        h = (h ^ *p++) * UINT64_C(0x100000001b3);
    return h;
}

static uint64_t msg_sum(const struct ps_hdr *h, const unsigned char *body, size_t body_len)
{
    struct ps_hdr z = *h;
    z.sum = 0;
    return ps_fnv(ps_fnv(PS_FNV_INIT, &z, sizeof z), body, body_len);
}

void ps_fill(void *buf, size_t size, uint32_t pub, uint64_t seq)
{
    unsigned char *p = buf;
    struct ps_hdr h;
    if (size < PS_HDR_SIZE) {
        stream_fill(p, size, stream_seed(pub, seq));
        return;
    }
    memset(&h, 0, sizeof h);
    h.magic = PS_MAGIC;
    h.pub = pub;
    h.seq = seq;
    h.size = (uint32_t)size;
    stream_fill(p + PS_HDR_SIZE, size - PS_HDR_SIZE, stream_seed(pub, seq));
    h.sum = msg_sum(&h, p + PS_HDR_SIZE, size - PS_HDR_SIZE);
    memcpy(p, &h, sizeof h);
}

uint64_t ps_hdr_seq(const void *data, size_t size)
{
    struct ps_hdr h;
    if (size < PS_HDR_SIZE)
        return 0;
    memcpy(&h, data, sizeof h);
    return h.magic == PS_MAGIC ? h.seq : 0;
}

int ps_check(const void *data, size_t size, uint32_t pub, uint64_t seq, char *why, size_t len)
{
    const unsigned char *p = data;
    struct ps_hdr h;
    if (size > 0 && data == NULL) {
        snprintf(why, len, "NULL data with size %zu", size);
        return -1;
    }
    if (size < PS_HDR_SIZE) {
        unsigned char want[PS_HDR_SIZE];
        stream_fill(want, size, stream_seed(pub, seq));
        if (size > 0 && memcmp(want, p, size) != 0) {
            snprintf(why, len, "short message pub %u seq %llu (%zu bytes): wrong bytes", pub,
                     (unsigned long long)seq, size);
            return -1;
        }
        return 0;
    }
    memcpy(&h, p, sizeof h);
    if (h.magic != PS_MAGIC || h.pub != pub || h.seq != seq || h.size != size) {
        snprintf(why, len, "header {magic %#x pub %u seq %llu size %u}, want {pub %u seq %llu "
                 "size %zu}", h.magic, h.pub, (unsigned long long)h.seq, h.size, pub,
                 (unsigned long long)seq, size);
        return -1;
    }
    if (msg_sum(&h, p + PS_HDR_SIZE, size - PS_HDR_SIZE) != h.sum) {
        snprintf(why, len, "checksum mismatch: pub %u seq %llu size %zu (torn or corrupt)", pub,
                 (unsigned long long)seq, size);
        return -1;
    }
    return 0;
}

/* ---- tracker --------------------------------------------------------------- */

void ps_track_init(struct ps_track *t, size_t max, unsigned flags)
{
    memset(t, 0, sizeof *t);
    t->max = max;
    t->flags = flags;
    for (int i = 0; i < PS_MAX_PUBS; i++)
        t->seqhash[i] = PS_FNV_INIT;
}

static void track_error(struct ps_track *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void track_error(struct ps_track *t, const char *fmt, ...)
{
    if (t->errors++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(t->first_error, sizeof t->first_error, fmt, ap);
        va_end(ap);
    }
}

void ps_track(struct ps_track *t, uint32_t pub, const rpc_message *m)
{
    char why[200];
    uint64_t want;
    t->total++;
    if (pub >= PS_MAX_PUBS) {
        track_error(t, "message from unknown publisher \"%s\"", m->publisher);
        return;
    }
    want = t->last[pub] + 1;
    if ((t->flags & PS_TRACK_LATE) && t->last[pub] == 0 && m->seq > 0)
        want = m->seq;
    if (m->seq < want) {
        track_error(t, "publisher %u: seq %llu after %llu (duplicate or reordered)", pub,
                    (unsigned long long)m->seq, (unsigned long long)t->last[pub]);
        return;
    }
    if (m->seq > want && !(t->flags & PS_TRACK_GAPS)) {
        track_error(t, "publisher %u: seq %llu after %llu (%llu lost)", pub,
                    (unsigned long long)m->seq, (unsigned long long)t->last[pub],
                    (unsigned long long)(m->seq - want));
        /* Go on from here so one loss is reported once. */
    }
    t->last[pub] = m->seq;
    if (t->max != 0 && m->size != ps_msg_size(pub, m->seq, t->max)) {
        track_error(t, "publisher %u seq %llu: size %zu, want %zu", pub,
                    (unsigned long long)m->seq, m->size, ps_msg_size(pub, m->seq, t->max));
        return;
    }
    if (ps_check(m->data, m->size, pub, m->seq, why, sizeof why) != 0) {
        track_error(t, "%s", why);
        return;
    }
    t->count[pub]++;
    t->seqhash[pub] = ps_fnv(t->seqhash[pub], &m->seq, sizeof m->seq);
}

int ps_pub_id(const char *name)
{
    size_t n = name != NULL ? strlen(name) : 0, i = n;
    while (i > 0 && name[i - 1] >= '0' && name[i - 1] <= '9')
        i--;
    if (i == n || n - i > 6)
        return -1;
    return atoi(name + i);
}

/* ---- pipes ------------------------------------------------------------------- */

void ps_chan_make(ps_chan *c)
{
    int fds[2];
    ASSERT(pipe(fds) == 0);
    c->rd = fds[0];
    c->wr = fds[1];
}

void ps_chan_send(ps_chan *c, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= (int)sizeof line - 1)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    /* One write below PIPE_BUF: atomic with respect to other writers. */
    if (write(c->wr, line, (size_t)n) != n)
        TU_FAIL("pipe write: %s", strerror(errno));
}

int ps_chan_try_recv(ps_chan *c, char *buf, size_t len, int timeout_ms)
{
    int64_t deadline = tu_now_ms() + timeout_ms;
    size_t used = 0;
    /* Byte at a time: lines of several writers share the pipe, and a
     * byte read too many would belong to the next caller.  The timeout
     * is for the first byte; a line is written with one write(), so once
     * it starts the rest is there (the deadline then only guards against
     * a broken writer). */
    while (used + 1 < len) {
        struct pollfd pfd = {c->rd, POLLIN, 0};
        int64_t left = deadline - tu_now_ms();
        char ch;
        ssize_t r;
        if (left < 0)
            left = 0;
        r = poll(&pfd, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            ASSERT_MSG(used == 0, "half a line from a child: \"%.*s\"", (int)used, buf);
            return -1;
        }
        r = read(c->rd, &ch, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            ASSERT_MSG(used == 0, "half a line from a child: \"%.*s\"", (int)used, buf);
            return -1;
        }
        if (ch == '\n')
            break;
        if (used == 0)
            deadline = tu_now_ms() + tu_timeout_ms(10000);
        buf[used++] = ch;
    }
    buf[used] = '\0';
    return 0;
}

void ps_chan_recv(ps_chan *c, char *buf, size_t len, int timeout_ms)
{
    ASSERT_MSG(ps_chan_try_recv(c, buf, len, timeout_ms) == 0,
               "no line from a child within %d ms (hung or died)", timeout_ms);
}

void ps_chan_close(ps_chan *c)
{
    if (c->rd >= 0)
        close(c->rd);
    if (c->wr >= 0)
        close(c->wr);
    c->rd = c->wr = -1;
}

/* ---- segments -------------------------------------------------------------- */

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define PS_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define PS_SANITIZED 1
#endif
#endif

#ifdef PS_SANITIZED
#include <sanitizer/common_interface_defs.h>
#endif

#define PS_MAX_NAMES 16
static char ps_names[PS_MAX_NAMES][RPC_SHM_NAME_MAX + 1];
static int ps_n_names;
static pid_t ps_main_pid;

#ifdef PS_SANITIZED
static void on_sanitizer_death(void)
{
    if (getpid() != ps_main_pid)
        return;   /* a child: the test process cleans up */
    for (int i = 0; i < ps_n_names; i++)
        shm_unlink(ps_names[i]);
}
#endif

void ps_init(const char *test_name)
{
    tu_init(test_name);
    ps_main_pid = getpid();
#ifdef PS_SANITIZED
    __sanitizer_set_death_callback(on_sanitizer_death);
#endif
}

const char *ps_shm_name(const char *tag)
{
    const char *name = tu_shm_name(tag);
    if (ps_n_names < PS_MAX_NAMES)
        snprintf(ps_names[ps_n_names++], sizeof ps_names[0], "%s", name);
    return name;
}

rpc_config *ps_config(const char *name, unsigned queues)
{
    rpc_config *cfg = tu_config(name);
    size_t base = rpc_config_required_shm_size(cfg);   /* tables + 2 queues */
    /* Each queue is its data plus a 192-byte header; round generously to a
     * page per queue so a layout change of a few bytes cannot bite. */
    size_t per_queue = rpc_config_queue_size(cfg) + 4096;
    size_t want = base + (size_t)queues * per_queue;
    if (want < rpc_config_shm_size(cfg))
        want = rpc_config_shm_size(cfg);
    ASSERT_OK(rpc_config_set_shm_size(cfg, want));
    return cfg;
}

void ps_config_mode(rpc_config *cfg, int mode, int spin_us)
{
    ASSERT_OK(rpc_config_set_receive_mode(cfg, mode));
    ASSERT_OK(rpc_config_set_spin_us(cfg, spin_us));
}

uint64_t ps_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int ps_slow_factor(void)
{
#ifdef PS_SANITIZED
    int sanitized = 1;
#else
    int sanitized = 0;
#endif
    if (tu_under_valgrind())
        return 5;
    return sanitized ? 3 : 1;
}

long ps_arg_num(const char *s)
{
    char *end;
    long v = strtol(s, &end, 0);
    ASSERT_MSG(*s != '\0' && *end == '\0' && v >= 0, "bad number \"%s\"", s);
    return v;
}

/* ---- children ------------------------------------------------------------ */

#define PS_MAX_CHILDREN 128
static pid_t reaped[PS_MAX_CHILDREN];
static int n_reaped;

static int is_reaped(pid_t pid)
{
    for (int i = 0; i < n_reaped; i++)
        if (reaped[i] == pid)
            return 1;
    return 0;
}

/* Reap children that ended; fail on any abnormal end. */
static void check_children(const pid_t *pids, int n)
{
    for (int i = 0; i < n; i++) {
        int st;
        if (is_reaped(pids[i]) || waitpid(pids[i], &st, WNOHANG) != pids[i])
            continue;
        tu_forget_child(pids[i]);
        if (n_reaped < PS_MAX_CHILDREN)
            reaped[n_reaped++] = pids[i];
        if (WIFSIGNALED(st))
            TU_FAIL("child %ld died by signal %d", (long)pids[i], WTERMSIG(st));
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            TU_FAIL("child %ld exited with status %d", (long)pids[i], WEXITSTATUS(st));
    }
}

void ps_collect(ps_chan *c, int lines, int timeout_ms, const pid_t *pids, int n,
                void (*on_line)(const char *line, void *arg), void *arg)
{
    int64_t deadline = tu_now_ms() + timeout_ms;
    int got = 0;
    while (got < lines) {
        char line[512];
        if (ps_chan_try_recv(c, line, sizeof line, 100) == 0) {
            got++;
            if (on_line != NULL)
                on_line(line, arg);
            continue;
        }
        check_children(pids, n);
        ASSERT_MSG(tu_now_ms() < deadline, "only %d of %d result lines within %d ms", got,
                   lines, timeout_ms);
    }
}

void ps_reap_all(const pid_t *pids, int n, int timeout_ms)
{
    for (int i = 0; i < n; i++)
        if (!is_reaped(pids[i]))
            TU_EXPECT_EXIT0(pids[i], timeout_ms);
}
