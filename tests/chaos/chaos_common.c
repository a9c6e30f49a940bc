/*
 * chaos_common.c - segment shape, clocks, randomness, the message format
 * and the counter lines shared by chaos_driver and chaos_worker.
 */
#include "chaos_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *const chaos_counter_names[CC_COUNT] = {
    [CC_CHECKED] = "checked",     [CC_PUBLISHED] = "published", [CC_PUB_TIMEOUT] = "pub_timeout",
    [CC_CALLS] = "calls",         [CC_CHURN] = "churn",         [CC_LOSS] = "loss",
    [CC_DUP] = "dup",             [CC_REORDER] = "reorder",     [CC_CORRUPT] = "corrupt",
    [CC_OVERRUN] = "overrun",     [CC_EARLY] = "early_timeout", [CC_ERROR] = "error",
    [CC_MISSING] = "missing",     [CC_EXCESS_US] = "excess_us", [CC_MAX_CALL_US] = "max_call_us",
    [CC_WALL_EXCESS_US] = "wall_excess_us", [CC_MAX_RUNQ_US] = "max_runq_us",
};

int chaos_config(const char *name, int receive_mode, rpc_config **out)
{
    rpc_config *cfg;
    int rc = rpc_config_create(&cfg);
    if (rc != 0)
        return rc;
    /* Order matters: each setter checks the others' current values, so
     * shrink the message size before the queue that must hold two. */
    if ((rc = rpc_config_set_shm_name(cfg, name)) != 0 ||
        (rc = rpc_config_set_shm_size(cfg, CHAOS_SHM_SIZE)) != 0 ||
        (rc = rpc_config_set_max_nodes(cfg, CHAOS_MAX_NODES)) != 0 ||
        (rc = rpc_config_set_max_subs(cfg, CHAOS_MAX_SUBS)) != 0 ||
        (rc = rpc_config_set_max_msg_size(cfg, CHAOS_MAX_MSG)) != 0 ||
        (rc = rpc_config_set_queue_size(cfg, CHAOS_QUEUE_SIZE)) != 0 ||
        (rc = rpc_config_set_receive_mode(cfg, receive_mode)) != 0) {
        rpc_config_destroy(cfg);
        return rc;
    }
    *out = cfg;
    return 0;
}

const char *chaos_topic(unsigned i)
{
    static const char *const names[CHAOS_NTOPICS] = {"t0", "t1", "t2", "t3", "t4", "t5"};
    return i < CHAOS_NTOPICS ? names[i] : "t?";
}

/* ---- clocks and randomness --------------------------------------------- */

uint64_t chaos_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int64_t chaos_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void chaos_sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    /* A signal (the worker's SIGTERM) may cut the nap short: that is fine,
     * every caller re-checks its condition. */
    (void)nanosleep(&ts, NULL);
}

uint64_t chaos_rand(uint64_t *state)
{
    uint64_t x = *state ? *state : UINT64_C(0x9E3779B97F4A7C15);
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * UINT64_C(2685821657736338717);
}

uint64_t chaos_below(uint64_t *state, uint64_t n)
{
    return chaos_rand(state) % n;
}

uint64_t chaos_fresh_seed(void)
{
    uint64_t s = chaos_mono_ns() ^ ((uint64_t)chaos_wall_ns() << 17) ^ ((uint64_t)getpid() << 32);
    (void)chaos_rand(&s);
    return s ? s : 1;
}

/* ---- messages -------------------------------------------------------- */

static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    while (len--)
        h = (h ^ *p++) * UINT64_C(0x100000001b3);
    return h;
}

static void fill_body(unsigned char *p, size_t len, const struct chaos_msg *h)
{
    uint64_t st = h->uid ^ (h->seq * UINT64_C(0x9E3779B97F4A7C15)) ^ h->topic;
    while (len > 0) {
        uint64_t r = chaos_rand(&st);
        size_t n = len < sizeof r ? len : sizeof r;
        memcpy(p, &r, n);
        p += n;
        len -= n;
    }
}

static uint64_t msg_sum(const struct chaos_msg *h, const unsigned char *body, size_t len)
{
    struct chaos_msg z = *h;
    z.sum = 0;
    return fnv(fnv(UINT64_C(0xcbf29ce484222325), &z, sizeof z), body, len);
}

void chaos_msg_fill(void *buf, size_t size, const struct chaos_msg *hdr)
{
    struct chaos_msg h = *hdr;
    unsigned char *body = (unsigned char *)buf + sizeof h;
    size_t len = size - sizeof h;
    h.magic = CHAOS_MAGIC;
    h.size = (uint32_t)size;
    fill_body(body, len, &h);
    h.sum = msg_sum(&h, body, len);
    memcpy(buf, &h, sizeof h);
}

int chaos_msg_check(const void *data, size_t size, struct chaos_msg *hdr, char *why,
                    size_t whylen)
{
    unsigned char expect[CHAOS_MAX_MSG];
    const unsigned char *body = (const unsigned char *)data + sizeof *hdr;
    size_t len;
    memset(hdr, 0, sizeof *hdr);
    if (data == NULL || size < sizeof *hdr) {
        snprintf(why, whylen, "%zu bytes: shorter than the header", size);
        return -1;
    }
    memcpy(hdr, data, sizeof *hdr);
    hdr->publisher[CHAOS_NAME_LEN - 1] = '\0';
    len = size - sizeof *hdr;
    if (hdr->magic != CHAOS_MAGIC) {
        snprintf(why, whylen, "bad magic %016llx", (unsigned long long)hdr->magic);
        return -1;
    }
    if (hdr->size != size || size > CHAOS_MAX_MSG) {
        snprintf(why, whylen, "size %zu, header says %u", size, hdr->size);
        return -1;
    }
    if (msg_sum(hdr, body, len) != hdr->sum) {
        fill_body(expect, len, hdr);
        size_t off = 0;
        while (off < len && expect[off] == body[off])
            off++;
        snprintf(why, whylen, "checksum mismatch (first bad body byte at %zu of %zu)", off, len);
        return -1;
    }
    return 0;
}

/* ---- counters ---------------------------------------------------------- */

void chaos_format_counters(const int64_t c[CC_COUNT], char *buf, size_t len)
{
    size_t off = 0;
    unsigned i;
    buf[0] = '\0';
    for (i = 0; i < CC_COUNT && off < len; i++) {
        int n = snprintf(buf + off, len - off, "%s%s=%lld", i ? " " : "", chaos_counter_names[i],
                         (long long)c[i]);
        if (n < 0)
            break;
        off += (size_t)n;
    }
}

int chaos_parse_counters(const char *s, int64_t c[CC_COUNT])
{
    int parsed = 0;
    while (*s != '\0') {
        char key[32];
        long long v;
        int used = 0;
        unsigned i;
        while (*s == ' ')
            s++;
        if (sscanf(s, "%31[a-z_]=%lld%n", key, &v, &used) != 2 || used == 0)
            break;
        s += used;
        for (i = 0; i < CC_COUNT; i++)
            if (strcmp(key, chaos_counter_names[i]) == 0) {
                c[i] = v;
                parsed++;
            }
    }
    return parsed;
}
